"""The event codec turns every incident and problem event into strict JSON and back, exactly:
same class, same field values, same value types (enum members, tuples, UTC datetimes, labels
of levels, which ``==`` ignores)."""

from __future__ import annotations

import enum
import json
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    SYSTEM,
    Actor,
    DeskPolicies,
    DomainEvent,
    HoldReason,
    Incident,
    IncidentEvent,
    IncidentLogged,
    IncidentPutOnHold,
    InMemoryRepository,
    ItilIncidentError,
    LinkKind,
    MajorIncidentPolicy,
    ProblemEvent,
    ServiceDesk,
    StateDef,
    TransitionDef,
    ValidationError,
    Workflow,
    default_incident_workflow,
    default_problem_workflow,
)
from itil_incident.adapters.sql.codec import (
    _ENUM_TYPES,
    _value_text,
    event_classes,
    event_from_dict,
    event_json,
    event_to_dict,
    value_from_json,
    value_to_json,
)
from itil_incident.domain.lifecycles import has_root_cause_or_workaround
from itil_incident.testing import FrozenClock, make_desk
from itil_incident.testing import strategies as its

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ALICE = Actor("alice", "Alice Agent", frozenset({"agent"}))
BOB = Actor("bob", "Bob Engineer", frozenset({"agent", "engineer"}))
MIA = Actor("mia", "Mia Manager", frozenset({"incident_manager"}))


def subclasses(base: type[DomainEvent]) -> set[type[DomainEvent]]:
    """Every class below ``base`` that its module defines (``__subclasses__()`` also lists the
    classes attrs replaced with slotted ones, until they are garbage-collected)."""
    found: set[type[DomainEvent]] = set()
    for sub in base.__subclasses__():
        if vars(sys.modules[sub.__module__]).get(sub.__name__) is sub:
            found |= {sub, *subclasses(sub)}
    return found


E = TypeVar("E", bound=DomainEvent)
ALL_EVENT_CLASSES = subclasses(IncidentEvent) | subclasses(ProblemEvent)


def same(left: object, right: object) -> bool:
    """Equal and of the same types all the way down, including fields that ``==`` skips."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left):
            return math.isnan(right)
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left == right and left.tzinfo is right.tzinfo
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, frozenset) and isinstance(right, frozenset):
        return len(left) == len(right) and all(
            same(a, b) for a, b in zip(sorted(left, key=repr), sorted(right, key=repr),
                                       strict=True))
    kind: type[Any] = type(left)
    if attrs.has(kind):
        return all(same(getattr(left, f.name), getattr(right, f.name))
                   for f in attrs.fields(kind))
    return left == right


def first_of(events: list[DomainEvent], cls: type[E]) -> E:
    return next(event for event in events if isinstance(event, cls))


def through_json(event: DomainEvent) -> DomainEvent:
    """Encode, write as strict JSON text (no NaN), read back, decode."""
    text = json.dumps(event_to_dict(event), allow_nan=False)
    return event_from_dict(json.loads(text))


# ----------------------------------------------------------------- every command


def host_workflows() -> tuple[Workflow, Workflow]:
    """The default lifecycles plus a host trigger each (no dedicated command)."""
    incident, problem = default_incident_workflow(), default_problem_workflow()
    return (
        Workflow("host_incident", incident.states.values(),
                 (*incident.transitions, TransitionDef("acknowledge", "new"))),
        Workflow("host_problem", problem.states.values(),
                 (*problem.transitions, TransitionDef("review", "new")),
                 guards={"has_root_cause_or_workaround": has_root_cause_or_workaround}),
    )


def every_command() -> tuple[InMemoryRepository, list[str]]:
    """Drive a desk through every command (and the entity methods the desk has no command
    for); the repository and the ids of every record."""
    repository = InMemoryRepository()
    clock = FrozenClock(START)
    incident_workflow, problem_workflow = host_workflows()
    policies = DeskPolicies(incident_workflow=incident_workflow,
                            problem_workflow=problem_workflow,
                            major=MajorIncidentPolicy())  # major incidents
    desk = make_desk(repository=repository, policies=policies, clock=clock)

    def later() -> datetime:
        return clock.advance(minutes=13)

    first = desk.log_incident(
        actor=ALICE, title="VPN drops every few minutes", description="Since the update",
        service="vpn", configuration_items=["gw-1"], caller="dave", channel="phone",
        impact=2, urgency=1, category="Network/VPN",
        occurred_at=START - timedelta(hours=2), detected_at=START - timedelta(hours=1),
        custom={"site": "Lyon", "seats": 12, "cost": 12.5, "vip": True,
                "due": datetime(2026, 1, 9, 17, 0, tzinfo=UTC)},
    ).id
    second = desk.log_incident(actor=BOB, title="VPN slow for the finance team").id
    third = desk.log_incident(actor=BOB, title="Gateway reboots", channel="monitoring").id
    later()
    desk.transition(first, "acknowledge", actor=ALICE)
    desk.update_details(first, actor=ALICE, title="VPN drops for everyone",
                        configuration_items=["gw-1", "gw-2"], caller="erin")
    desk.categorize(first, "Network/WAN", actor=ALICE)
    desk.change_impact_urgency(first, actor=ALICE, impact=1)
    desk.override_priority(first, 1, actor=ALICE, justification="The CEO is travelling")
    desk.clear_priority_override(first, actor=ALICE)
    desk.assign(first, actor=ALICE, group="Network Support", assignee="bob")
    later()
    desk.start_work(first, actor=BOB)
    desk.put_on_hold(first, HoldReason.AWAITING_VENDOR, actor=BOB, note="Asked the vendor")
    later()
    desk.resume(first, actor=BOB)
    desk.add_work_note(first, "Firmware 4.2 is suspect", actor=BOB)
    desk.escalate(first, actor=BOB, reason="Needs an engineer", group="Network Engineering")
    desk.escalate(first, actor=BOB, reason="Outage spreads", kind="hierarchical")
    for name, value in (("cost", 1e308), ("budget", -0.0),
                        ("due", datetime(2026, 1, 12, 8, 0, tzinfo=UTC)), ("seats", None),
                        ("ticket", 2**70)):
        desk.set_custom_attribute(first, name, value, actor=BOB)
    desk.link_change(first, "CHG0001", actor=BOB, caused_by=True)
    desk.link_change(first, "CHG0002", actor=BOB)
    desk.link_related(first, second, actor=BOB)
    # Major incidents: proposed, rejected, proposed again, accepted, run, an update missed
    # (process_due), reviewed twice, an action added and completed.
    desk.propose_major(first, actor=BOB, reason="Every site is affected", evidence=[second])
    desk.reject_major(first, actor=MIA, reason="Only the VPN")
    desk.propose_major(first, actor=BOB, reason="The branches are down too")
    desk.accept_major(first, actor=MIA)
    desk.assign_major_role(first, "commander", "mia", actor=MIA)
    desk.assign_major_role(first, "commander", "bob", actor=MIA)
    desk.assign_major_role(first, "resolver_group", "Network Support", actor=MIA)
    desk.release_major_role(first, "resolver_group", "Network Support", actor=MIA)
    desk.post_status_update(first, "affected_users", "We are on it", actor=MIA)
    clock.advance(minutes=31)
    assert desk.process_due().missed_status_updates
    desk.record_review(first, actor=MIA, impact="VPN down 3 h", root_cause="Firmware leak",
                       went_well="Quick triage")
    desk.record_review(first, actor=MIA, impact="VPN down 3 h", root_cause="Firmware 4.2 leak",
                       went_badly="Late updates")
    desk.add_review_action(first, "Alert on gateway memory", actor=MIA, owner="netops",
                           due_at=START + timedelta(days=30))
    desk.complete_review_action(first, "A1", actor=BOB)
    # Entity methods without a desk command: remove a link, record SLA stages and reminders.
    incident = repository.get_incident(first)
    incident.remove_link(LinkKind.RELATED_CHANGE, "CHG0002", actor=BOB, at=later())
    now = later()
    incident.record_sla_stage(metric="resolution", group=None, agreement="Gold", cycle=1,
                              fraction=0.75, reached_at=now - timedelta(minutes=2),
                              due_at=now + timedelta(hours=1), actor=SYSTEM, at=now)
    incident.record_sla_stage(metric="resolution", group="Network Support", agreement="OLA-2",
                              cycle=1, fraction=1.0, reached_at=now, due_at=None,
                              actor=SYSTEM, at=now)
    incident.send_reminder("awaiting_vendor", 1, actor=SYSTEM, at=now)
    repository.commit([incident])
    desk.set_parent(second, first, actor=BOB)
    desk.set_parent(second, third, actor=BOB)  # unlinks the child from the first parent
    problem = desk.open_problem(actor=BOB, title="Gateway firmware crashes",
                                incident_ids=[first], impact=2, urgency=2,
                                category="Network").id
    desk.link_to_problem(second, problem, actor=BOB)
    desk.unlink_from_problem(second, actor=BOB)
    record = repository.get_problem(problem)  # nor a command for a host problem trigger
    record.transition("review", actor=BOB, at=later())
    repository.commit([record])
    desk.assign_problem(problem, actor=BOB, group="Network Engineering", assignee="bob")
    desk.start_investigation(problem, actor=BOB)
    desk.record_root_cause(problem, "A memory leak in firmware 4.2", actor=BOB,
                           category="Network/VPN")
    desk.record_workaround(problem, "Reboot the gateway nightly", actor=BOB)
    desk.mark_known_error(problem, actor=BOB, symptoms="Tunnels drop every few minutes")
    desk.change_problem_impact_urgency(problem, actor=BOB, urgency=1)
    desk.add_problem_note(problem, "Vendor confirmed the leak", actor=BOB)
    later()
    desk.resolve_problem(problem, "Firmware 4.3 deployed", actor=BOB)
    desk.reopen_problem(problem, actor=BOB, reason="Leak seen again")
    desk.resolve_problem(problem, "Firmware 4.3.1 deployed", actor=BOB)
    desk.close_problem(problem, actor=BOB)
    duplicate = desk.open_problem(actor=ALICE, title="Tunnels drop").id
    desk.cancel_problem(duplicate, actor=ALICE, reason="Duplicate")
    later()
    desk.resolve(first, actor=BOB, code="solved_workaround", notes="Nightly reboot")
    desk.reopen(first, actor=ALICE, reason="Dropped again at noon")
    desk.resolve(first, actor=BOB, code="solved_permanently", notes="Firmware 4.3.1")
    desk.close(first, actor=ALICE, caller_confirmed=True, satisfaction=4,
               satisfaction_comment="Slow but solid")
    desk.cancel(third, actor=ALICE, reason="Logged in error")
    # parent, child and duplicate incidents; problem management in depth
    parent = desk.log_incident(actor=ALICE, title="Mail is down", service="mail",
                               caller="erin").id
    child = desk.log_incident(actor=BOB, title="Cannot send mail", caller="frank").id
    desk.set_parent(child, parent, actor=BOB)
    copy = desk.log_incident(actor=BOB, title="Mail down again", caller="gina").id
    desk.mark_duplicate(copy, parent, actor=BOB)
    later()
    desk.resolve(parent, actor=BOB, code="solved_permanently", notes="Restarted the relay")
    known = desk.open_problem(actor=BOB, title="Mail relay queue fills up",
                              service="mail").id
    desk.record_workaround(known, "Flush the relay queue", actor=BOB)
    desk.mark_known_error(known, actor=BOB, symptoms="Mail stuck in the outbox")
    desk.link_problem_change(known, "CHG0000003", actor=BOB, title="Enlarge the relay queue")
    desk.link_problem_change(known, "CHG0000004", actor=BOB, title="Move the relay")
    desk.unlink_problem_change(known, "CHG0000004", actor=BOB)
    stuck = desk.log_incident(actor=ALICE, title="Mail stuck in the outbox queue",
                              service="mail").id
    desk.apply_workaround(stuck, known, actor=ALICE)
    desk.start_work(stuck, actor=ALICE)
    desk.put_on_hold(stuck, HoldReason.AWAITING_PROBLEM, actor=ALICE)
    later()
    desk.resolve_problem(known, "Relay queue enlarged", actor=BOB)
    # monitoring alerts: open, raise, recover (and resolve), then a new incident takes the key
    alerted = desk.ingest_alert("nagios", "gw-1/cpu", "warning", "CPU high on gw-1",
                                service="vpn", configuration_item="gw-1",
                                payload={"cpu": 97.5, "tags": ["edge", None], "n": 2**70},
                                at=later()).incident_id
    desk.ingest_alert("nagios", "gw-1/cpu", "critical", "CPU high on gw-1", at=later())
    desk.ingest_alert("nagios", "gw-1/cpu", "clear", "CPU normal on gw-1", at=later())
    realerted = desk.ingest_alert("nagios", "gw-1/cpu", "major", "CPU high on gw-1",
                                  at=later()).incident_id
    assert alerted is not None
    assert realerted is not None
    return repository, [first, second, third, problem, duplicate, parent, child, copy, known,
                        stuck, alerted, realerted]


@pytest.fixture(scope="module")
def every_event() -> list[DomainEvent]:
    repository, ids = every_command()
    return [event for record_id in ids for event in repository.history_of(record_id)]


# ----------------------------------------------------------------- coverage


def test_the_story_produces_every_incident_and_problem_event_class(
        every_event: list[DomainEvent]) -> None:
    assert {type(event) for event in every_event} == ALL_EVENT_CLASSES


def test_the_codec_knows_every_event_class_found_by_introspection() -> None:
    assert event_classes() == ALL_EVENT_CLASSES


# ----------------------------------------------------------------- round trips


def test_every_event_round_trips_through_json_exactly(every_event: list[DomainEvent]) -> None:
    for event in every_event:
        decoded = through_json(event)
        assert same(decoded, event), (event, decoded)


def test_an_encoded_event_names_itself_and_holds_one_key_per_field(
        every_event: list[DomainEvent]) -> None:
    for event in every_event:
        data = event_to_dict(event)
        assert data["name"] == event.name
        assert set(data) == {"name"} | {f.name for f in attrs.fields(type(event))}


def test_enum_members_tuples_and_utc_instants_keep_their_types(
        every_event: list[DomainEvent]) -> None:
    hold = first_of(every_event, IncidentPutOnHold)
    logged = first_of(every_event, IncidentLogged)
    decoded_hold = through_json(hold)
    decoded_logged = through_json(logged)
    assert isinstance(decoded_hold, IncidentPutOnHold)
    assert isinstance(decoded_logged, IncidentLogged)
    assert type(decoded_hold.hold_reason) is HoldReason
    assert type(decoded_logged.configuration_items) is tuple
    assert decoded_logged.at.tzinfo is UTC
    assert decoded_logged.priority.label == logged.priority.label != ""


def test_the_json_of_an_event_is_readable_by_other_programs(
        every_event: list[DomainEvent]) -> None:
    logged = first_of(every_event, IncidentLogged)
    data = event_to_dict(logged)
    assert data["at"] == {"$datetime": "2026-01-05T09:00:00+00:00"}
    assert data["channel"] == {"$enum": "Channel", "value": "phone"}
    assert data["priority"]["fields"]["level"] == logged.priority.level
    assert data["title"] == "VPN drops every few minutes"


# ----------------------------------------------------------------- properties


def sql_free_desk() -> ServiceDesk:
    return make_desk(clock=FrozenClock(START))


@settings(max_examples=60, deadline=None)
@given(its.incidents(sql_free_desk))
def test_every_event_of_a_random_incident_round_trips(incident: Incident) -> None:
    for event in incident.timeline():
        assert same(through_json(event), event)


# Any text the domain accepts: every code point but NUL and the surrogates (refused at the
# boundary), including other control characters, private-use and unassigned ones, and line
# breaks in any form (in notes and descriptions).
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
STORABLE = st.characters(exclude_categories=SURROGATES, exclude_characters="\x00")
ANY_TEXT = st.text(STORABLE, min_size=1).filter(lambda text: text.strip() != "")
# Any title the domain accepts: the same, on a single line (no break that str.splitlines
# knows) and at most 300 characters long.
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
ANY_LINE = st.text(
    st.characters(exclude_categories=SURROGATES, exclude_characters="\x00" + LINE_BREAKS),
    min_size=1, max_size=300,
).filter(lambda text: text.strip() != "")
CUSTOM_VALUES = st.one_of(
    st.text(STORABLE),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    its.aware_datetimes(),
)
# What the codec itself carries, beyond what the domain accepts.
CODEC_VALUES = st.one_of(CUSTOM_VALUES, st.floats())


@settings(max_examples=150, deadline=None)
@given(title=ANY_LINE, note=ANY_TEXT, value=CUSTOM_VALUES, actor=its.actors())
def test_any_text_and_any_custom_value_round_trip(title: str, note: str, value: object,
                                                  actor: Actor) -> None:
    assert title.splitlines() == [title]
    incident = sql_free_desk().log_incident(actor=actor, title=title, description=note)
    incident.add_note(note, actor=actor, at=START)
    incident.set_custom("field", value, actor=actor, at=START)  # type: ignore[arg-type]  # the strategy draws only custom value types
    for event in incident.timeline():
        assert same(through_json(event), event)


@settings(max_examples=100, deadline=None)
@given(CODEC_VALUES)
def test_values_round_trip_on_their_own(value: object) -> None:
    decoded = value_from_json(json.loads(json.dumps(value_to_json(value), allow_nan=False)))
    if isinstance(value, datetime):  # an instant: read back in UTC, as the domain holds it
        assert same(decoded, value.astimezone(UTC))
    else:
        assert same(decoded, value)


def test_the_json_text_of_every_event_is_that_of_its_dict(every_event: list[DomainEvent]
                                                          ) -> None:
    # event_json writes the text field by field (the repository's hot path); twice, so that
    # the second pass reads the value texts it kept.
    for _ in range(2):
        for event in every_event:
            assert event_json(event) == json.dumps(event_to_dict(event))


@settings(max_examples=150, deadline=None)
@given(title=ANY_LINE, note=ANY_TEXT, value=CUSTOM_VALUES, actor=its.actors())
def test_the_json_text_of_any_text_and_custom_value_is_that_of_its_dict(
        title: str, note: str, value: object, actor: Actor) -> None:
    incident = sql_free_desk().log_incident(actor=actor, title=title, description=note)
    incident.add_note(note, actor=actor, at=START)
    incident.set_custom("field", value, actor=actor, at=START)  # type: ignore[arg-type]  # the strategy draws only custom value types
    for event in incident.timeline():
        assert event_json(event) == json.dumps(event_to_dict(event))


def test_equal_values_of_different_types_keep_their_own_json_text() -> None:
    # 1 == 1.0 == True, and a str-valued enum member equals its text: the texts kept for
    # values are kept per type, so no value is ever written as another equal one.
    values: list[object] = [1, 1.0, True, (1,), (1.0,), (True,), (), "portal"]
    values += [member for kind in _ENUM_TYPES.values() for member in kind]
    values += [value for value in values if isinstance(value, enum.Enum)]  # read back kept
    assert any(a == b and type(a) is not type(b) for a in values for b in values
               if isinstance(a, enum.Enum))
    for value in values:
        assert _value_text(value, "field") == json.dumps(value_to_json(value))


# ----------------------------------------------------------------- refusals

REFUSED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "an unknown event name": lambda d: {**d, "name": "incident.teleported"},
    "no event name": lambda d: {k: v for k, v in d.items() if k != "name"},
    "a missing field": lambda d: {k: v for k, v in d.items() if k != "title"},
    "an unknown field": lambda d: {**d, "colour": "red"},
    "an unknown type tag": lambda d: {**d, "at": {"$instant": "2026-01-05T09:00:00Z"}},
    "a naive instant": lambda d: {**d, "at": {"$datetime": "2026-01-05T09:00:00"}},
    "an unknown enum": lambda d: {**d, "channel": {"$enum": "Pigeon", "value": "coo"}},
    "an invalid level": lambda d: {**d, "priority": {"$value": "Priority",
                                                     "fields": {"level": 0, "label": ""}}},
    "a wrong field type": lambda d: {**d, "actor": 42},
}


@pytest.mark.parametrize("change", REFUSED.values(), ids=REFUSED.keys())
def test_decoding_refuses_malformed_data_with_a_library_error(
        every_event: list[DomainEvent], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    logged = first_of(every_event, IncidentLogged)
    with pytest.raises(ItilIncidentError):
        event_from_dict(change(event_to_dict(logged)))


def test_an_unknown_event_name_is_a_validation_error_naming_it() -> None:
    with pytest.raises(ValidationError, match=r"incident\.teleported"):
        event_from_dict({"name": "incident.teleported"})


def test_encoding_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValidationError, match="naive"):
        value_to_json(datetime(2026, 1, 5, 9, 0))


def test_encoding_refuses_an_object_it_does_not_know() -> None:
    with pytest.raises(ValidationError, match="StateDef"):
        value_to_json(StateDef("new"))
