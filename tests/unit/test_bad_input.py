"""Bad input at the service desk: every refusal is a typed library error that changes nothing.

The first part pins down named cases (naive datetimes, unknown categories and ids, out-of-range
levels, empty titles, wrong types, missing required fields, ...). The second part throws
arbitrary values at every public command and query of :class:`ServiceDesk`, discovered with
``inspect`` so that a new command is covered as soon as it exists.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itil_incident import (
    SYSTEM,
    Actor,
    AlertInput,
    BusinessCalendar,
    CategoryPath,
    Channel,
    DefinitionError,
    DeskPolicies,
    EscalationAction,
    EscalationKind,
    EscalationRule,
    FrozenClock,
    Impact,
    IncidentOrder,
    IncidentState,
    InMemoryRepository,
    ItilIncidentError,
    MajorIncidentPolicy,
    NotFoundError,
    PageCursor,
    Priority,
    ProblemOrder,
    RecordingNotifier,
    RetryPolicy,
    Satisfaction,
    ServiceDesk,
    SlaAgreement,
    SlaPolicy,
    SlaPolicyVersion,
    TransitionDef,
    Urgency,
    ValidationError,
    Workflow,
    default_incident_workflow,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
MANAGER = Actor("mia", "Mia Manager", frozenset({"incident_manager"}))

# ---------------------------------------------------------------------------------------------
# Named cases
# ---------------------------------------------------------------------------------------------

Observed = tuple[object, int]


def observe(desk: ServiceDesk, notifier: RecordingNotifier) -> Observed:
    """The stored records (snapshots, versions, timelines) and how many events were notified."""
    records = (
        [(i.id, i.version, i.snapshot(), i.timeline()) for i in desk.list_incidents()],
        [(p.id, p.version, p.snapshot(), p.timeline()) for p in desk.list_problems()],
    )
    return records, len(notifier.events)


def refuse(
    desk: ServiceDesk,
    notifier: RecordingNotifier,
    attempt: Callable[[], object],
    error: type[ItilIncidentError],
) -> ItilIncidentError:
    """Run ``attempt``, which must raise ``error``, and check that it changed nothing."""
    before = observe(desk, notifier)
    with pytest.raises(error) as raised:
        attempt()
    assert observe(desk, notifier) == before
    return raised.value


@pytest.fixture
def incident_id(desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier) -> str:
    """An incident in progress (logged and started)."""
    incident = desk.log_incident(actor=agent, title="VPN drops every few minutes")
    desk.start_work(incident.id, actor=agent)
    return incident.id


def test_a_naive_occurrence_time_is_refused_with_a_hint_to_attach_a_time_zone(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down", occurred_at=datetime(2026, 1, 5, 8, 0)),
        ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "occurred_at"
    assert "timezone-aware" in str(error)


def test_a_naive_custom_datetime_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.set_custom_attribute(
        incident_id, "noticed", datetime(2026, 1, 5, 8, 0), actor=agent), ValidationError)
    assert "timezone-aware" in str(error)


def test_an_occurrence_in_the_future_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down", occurred_at=T0 + timedelta(hours=1)),
        ValidationError)
    assert "after the logging time" in str(error)


def test_a_detection_before_the_occurrence_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down", occurred_at=T0 - timedelta(hours=1),
        detected_at=T0 - timedelta(hours=2)), ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "detected_at"


def test_an_aware_datetime_at_the_edge_of_the_calendar_is_refused_with_a_library_error(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down",
        occurred_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))), ValidationError)


def test_a_custom_datetime_at_the_edge_of_the_calendar_is_refused_with_a_library_error(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    refuse(desk, notifier, lambda: desk.set_custom_attribute(
        incident_id, "noticed", datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
        actor=agent), ValidationError)


def test_an_unknown_category_is_refused_and_the_closest_known_one_is_suggested(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Tunnel down", category="Network/VPM"), ValidationError)
    assert "unknown category 'Network/VPM'" in str(error)
    assert "Network/VPN" in str(error)


def test_recategorizing_to_an_unknown_category_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.categorize(incident_id, "Plumbing/Leak",
                                                           actor=agent), ValidationError)
    assert "Plumbing/Leak" in str(error)


def test_an_unknown_incident_id_is_refused_with_not_found_naming_the_id(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.add_work_note("INC0000404", "hello",
                                                              actor=agent), NotFoundError)
    assert isinstance(error, NotFoundError)
    assert (error.kind, error.identifier) == ("incident", "INC0000404")
    assert "INC0000404" in str(error)


def test_an_unknown_problem_id_is_refused_with_not_found_naming_the_id(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.link_to_problem(incident_id, "PRB0000404",
                                                                actor=agent), NotFoundError)
    assert "PRB0000404" in str(error)


def test_the_timeline_of_an_unknown_record_is_refused_with_not_found(
    desk: ServiceDesk, notifier: RecordingNotifier
) -> None:
    refuse(desk, notifier, lambda: desk.timeline("INC0000404"), NotFoundError)


def test_an_out_of_range_impact_is_refused_with_the_valid_levels_listed(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down", impact=4), ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "impact"
    assert "out of range" in str(error)
    assert "1 High" in str(error)


def test_changing_to_an_out_of_range_urgency_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.change_impact_urgency(
        incident_id, actor=agent, urgency=0), ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "urgency"


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_an_empty_title_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, title: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(actor=agent, title=title),
                   ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "title"
    assert "title must not be empty" in str(error)


def test_a_title_longer_than_300_characters_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(actor=agent, title="x" * 301),
                   ValidationError)
    assert "300" in str(error)


def test_a_title_of_the_wrong_type_is_refused_naming_the_type(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    bad: Any = 42
    error = refuse(desk, notifier, lambda: desk.log_incident(actor=agent, title=bad),
                   ValidationError)
    assert "title must be a string, got int" in str(error)


def test_an_actor_given_as_a_plain_string_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, incident_id: str
) -> None:
    bad: Any = "alice"
    error = refuse(desk, notifier, lambda: desk.add_comment(incident_id, "hi", actor=bad),
                   ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "actor"


def test_an_unknown_channel_is_refused_with_the_known_channels_listed(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down", channel="pigeon"), ValidationError)
    assert "pigeon" in str(error)
    assert "phone" in str(error)


def test_resolving_without_notes_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.resolve(
        incident_id, actor=agent, code="solved_permanently", notes="  "), ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "notes"


def test_resolving_with_notes_missing_altogether_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    missing: Any = None
    error = refuse(desk, notifier, lambda: desk.resolve(
        incident_id, actor=agent, code="solved_permanently", notes=missing), ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "notes"


def test_resolving_with_an_unknown_resolution_code_is_refused_listing_the_known_codes(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.resolve(
        incident_id, actor=agent, code="magic", notes="It works now."), ValidationError)
    assert "magic" in str(error)
    assert "solved_permanently" in str(error)


def test_holding_for_an_unknown_reason_is_refused_listing_the_known_reasons(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.put_on_hold(incident_id, "lunch", actor=agent),
                   ValidationError)
    assert "lunch" in str(error)
    assert "awaiting_caller" in str(error)


def test_overriding_the_priority_without_a_justification_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.override_priority(
        incident_id, 1, actor=agent, justification=""), ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == "justification"


def test_a_satisfaction_score_outside_one_to_five_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    desk.resolve(incident_id, actor=agent, code="solved_remotely", notes="Reset the tunnel.")
    error = refuse(desk, notifier, lambda: desk.close(incident_id, actor=agent, satisfaction=6),
                   ValidationError)
    assert "1 to 5" in str(error)


def test_a_satisfaction_comment_without_a_score_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    desk.resolve(incident_id, actor=agent, code="solved_remotely", notes="Reset the tunnel.")
    refuse(desk, notifier, lambda: desk.close(incident_id, actor=agent,
                                              satisfaction_comment="Great"), ValidationError)


def test_a_satisfaction_comment_next_to_a_satisfaction_value_is_refused_not_dropped(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    desk.resolve(incident_id, actor=agent, code="solved_remotely", notes="Reset the tunnel.")
    refuse(desk, notifier, lambda: desk.close(incident_id, actor=agent,
                                              satisfaction=Satisfaction(4),
                                              satisfaction_comment="Great"), ValidationError)


def test_an_unknown_escalation_kind_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    error = refuse(desk, notifier, lambda: desk.escalate(
        incident_id, actor=agent, reason="Stuck", kind="sideways"), ValidationError)
    assert "sideways" in str(error)


def test_listing_by_an_unknown_status_is_refused_with_the_known_states_listed(
    desk: ServiceDesk, notifier: RecordingNotifier
) -> None:
    error = refuse(desk, notifier, lambda: desk.list_incidents(status="done"), ValidationError)
    assert "done" in str(error)
    assert "in_progress" in str(error)


def test_listing_with_a_limit_of_zero_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier
) -> None:
    refuse(desk, notifier, lambda: desk.list_incidents(limit=0), ValidationError)


def test_an_undeclared_custom_attribute_is_refused_when_the_host_declares_a_schema(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock, notifier=notifier,
                       policies=DeskPolicies(custom_fields={"site": str}))
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down", custom={"colour": "red"}), ValidationError)
    assert "colour" in str(error)
    assert "site" in str(error)


def test_a_custom_attribute_of_the_wrong_type_is_refused(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock, notifier=notifier,
                       policies=DeskPolicies(custom_fields={"seats": int}))
    incident = desk.log_incident(actor=agent, title="Mail is down")
    error = refuse(desk, notifier, lambda: desk.set_custom_attribute(
        incident.id, "seats", "forty", actor=agent), ValidationError)
    assert "must be int, got str" in str(error)


# What is not text: NUL, and surrogate code points, alone or as a pair written as two code
# points (a JSON codec would read the pair back as the one character it encodes).
NOT_TEXT = {
    "NUL": "Mail\x00down",
    "lone high surrogate": "Mail \ud800 down",
    "lone low surrogate": "Mail \udfff down",
    "surrogate pair": "Mail \ud83d\ude00 down",
}
# (the desk call, given the desk, an incident id, the actor and the text; the field refused)
TEXT_FIELDS: dict[str, tuple[Callable[[ServiceDesk, str, Actor, str], object], str]] = {
    "incident title": (lambda d, _i, a, t: d.log_incident(actor=a, title=t), "title"),
    "description": (lambda d, _i, a, t: d.log_incident(actor=a, title="Mail is down",
                                                       description=t), "description"),
    "work note": (lambda d, i, a, t: d.add_work_note(i, t, actor=a), "text"),
    "comment": (lambda d, i, a, t: d.add_comment(i, t, actor=a), "text"),
    "custom string value at logging": (lambda d, _i, a, t: d.log_incident(
        actor=a, title="Mail is down", custom={"site": t}), "custom.site"),
    "custom string value": (lambda d, i, a, t: d.set_custom_attribute(i, "site", t, actor=a),
                            "custom.site"),
    "cancellation reason": (lambda d, i, a, t: d.cancel(i, reason=t, actor=a), "reason"),
    "note when holding": (lambda d, i, a, t: d.put_on_hold(i, reason="awaiting_caller", note=t,
                                                            actor=a), "text"),
    "problem title": (lambda d, _i, a, t: d.open_problem(actor=a, title=t), "title"),
    "problem description": (lambda d, _i, a, t: d.open_problem(
        actor=a, title="Gateway crashes", description=t), "description"),
}


@pytest.mark.parametrize("text", NOT_TEXT.values(), ids=NOT_TEXT.keys())
@pytest.mark.parametrize(("call", "field"), TEXT_FIELDS.values(), ids=TEXT_FIELDS.keys())
def test_text_holding_nul_or_a_surrogate_is_refused_and_nothing_changes(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str,
    call: Callable[[ServiceDesk, str, Actor, str], object], field: str, text: str,
) -> None:
    error = refuse(desk, notifier, lambda: call(desk, incident_id, agent, text),
                   ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == field
    assert "not text" in str(error)


#: Every raw line break: what str.splitlines splits on.
LINE_BREAKS = ["\r", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
               "\u2029"]


@pytest.mark.parametrize("line_break", LINE_BREAKS, ids=repr)
def test_a_title_with_a_raw_line_break_is_refused_and_nothing_changes(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, line_break: str
) -> None:
    title = f"Mail is down{line_break}Bcc: everyone@example.org"
    assert len(title.splitlines()) == 2
    for attempt in (lambda: desk.log_incident(actor=agent, title=title),
                    lambda: desk.open_problem(actor=agent, title=title)):
        error = refuse(desk, notifier, attempt, ValidationError)
        assert isinstance(error, ValidationError)
        assert error.field == "title"
        assert "single line" in str(error)


@pytest.mark.parametrize("line_break", LINE_BREAKS, ids=repr)
@pytest.mark.parametrize("field", ["service", "caller"])
def test_an_identifier_with_a_raw_line_break_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, field: str, line_break: str
) -> None:
    given: dict[str, Any] = {field: f"mail{line_break}x"}
    error = refuse(desk, notifier, lambda: desk.log_incident(
        actor=agent, title="Mail is down", **given), ValidationError)
    assert isinstance(error, ValidationError)
    assert error.field == field


def test_line_breaks_and_other_control_characters_are_kept_where_the_domain_allows_them(
    desk: ServiceDesk, agent: Actor
) -> None:
    breaks = "".join(LINE_BREAKS)
    title = "Mail\tis \x01\x1b[31mdown \x7f\x9f \u202eRTL\u202c e\u0301 \U0001f6a8"
    incident = desk.log_incident(actor=agent, title=title, description=f"a{breaks}b",
                                 custom={"site": f"c{breaks}d"})
    desk.add_work_note(incident.id, f"e{breaks}f", actor=agent)
    stored = desk.get_incident(incident.id)
    assert (stored.title, stored.description, stored.custom["site"]) == (
        title, f"a{breaks}b", f"c{breaks}d")
    assert stored.notes[0].text == f"e{breaks}f"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=repr)
def test_a_custom_value_that_is_not_a_finite_number_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str,
    value: float,
) -> None:
    for attempt in (
        lambda: desk.log_incident(actor=agent, title="Mail is down", custom={"ratio": value}),
        lambda: desk.set_custom_attribute(incident_id, "ratio", value, actor=agent),
    ):
        error = refuse(desk, notifier, attempt, ValidationError)
        assert isinstance(error, ValidationError)
        assert error.field == "custom.ratio"
        assert "finite" in str(error)


def test_a_refused_command_on_one_record_of_a_pair_leaves_both_unchanged(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, incident_id: str
) -> None:
    other = desk.log_incident(actor=agent, title="VPN slow")
    desk.cancel(other.id, actor=agent, reason="Duplicate")
    refuse(desk, notifier, lambda: desk.link_related(incident_id, other.id, actor=agent),
           ItilIncidentError)


def test_a_refused_log_does_not_use_up_an_incident_id(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    refuse(desk, notifier, lambda: desk.log_incident(actor=agent, title="Mail", impact=9),
           ValidationError)
    assert desk.log_incident(actor=agent, title="Mail is down").id == "INC0000001"


def test_a_desk_given_something_that_is_not_a_repository_is_refused(
    clock: FrozenClock,
) -> None:
    bad: Any = object()
    with pytest.raises(DefinitionError, match="repository"):
        ServiceDesk(bad, clock=clock)


def test_a_desk_given_no_repository_is_refused_when_built(clock: FrozenClock) -> None:
    missing: Any = None
    with pytest.raises(DefinitionError, match="repository"):
        ServiceDesk(missing, clock=clock)


def test_a_desk_given_policies_of_the_wrong_type_is_refused(
    repository: InMemoryRepository,
) -> None:
    bad: Any = {"priority_matrix": None}
    with pytest.raises(DefinitionError, match="policies"):
        ServiceDesk(repository, policies=bad)


# ---------------------------------------------------------------------------------------------
# A small world: one record in each state a command needs, built through the desk.
# ---------------------------------------------------------------------------------------------

def _workflow_with_acknowledge() -> Workflow:
    """The default incident workflow plus a host trigger, ``acknowledge``, that stays put."""
    base = default_incident_workflow()
    s = IncidentState
    return Workflow(
        "itil_incident_with_ack",
        base.states.values(),
        [*base.transitions,
         TransitionDef("acknowledge", (s.NEW, s.ASSIGNED, s.IN_PROGRESS, s.ON_HOLD))],
    )


def _sla() -> SlaPolicy:
    """Every incident gets response and resolution clocks on office hours."""
    hour = timedelta(hours=1)
    standard = SlaAgreement(
        name="standard", calendar=BusinessCalendar.office("UTC"),
        targets={"response": dict.fromkeys(range(1, 5), hour),
                 "resolution": dict.fromkeys(range(1, 5), 4 * hour)})
    return SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=datetime(2025, 1, 1, tzinfo=UTC), agreements=(standard,),
        fallback="standard"))


# Time-driven processing is switched on (SLA clocks, one rule of each kind, auto-close and
# reminders) so that process_due, sla_status and list_by_sla evaluate the world's real clocks.
# process_due may not look past the world's clock (T0), where nothing is due yet.
POLICIES = DeskPolicies(
    incident_workflow=_workflow_with_acknowledge(),
    custom_fields={"site": str, "seats": int},
    sla=_sla(),
    escalation_rules=(
        EscalationRule.acknowledgement_timeout("ack", EscalationAction.hierarchical()),
        EscalationRule(name="late", action=EscalationAction.functional(), stage=0.75,
                       metric="resolution"),
        EscalationRule(name="breach", action=EscalationAction.raise_priority(), stage=1.0,
                       metric="resolution"),
    ),
    auto_close_after=timedelta(hours=2),
    hold_reminder_every=timedelta(hours=1),
    major=MajorIncidentPolicy(priorities={1}),  # major incidents
)


@attrs.define
class World:
    """A desk over fakes, and the ids of records prepared for each command."""

    desk: ServiceDesk
    notifier: RecordingNotifier
    ids: dict[str, str]


def build_world() -> World:
    notifier = RecordingNotifier()
    desk = ServiceDesk(InMemoryRepository(), policies=POLICIES, clock=FrozenClock(T0),
                       notifier=notifier)
    log = desk.log_incident
    ids: dict[str, str] = {}
    working = log(actor=AGENT, title="VPN drops every few minutes", service="VPN").id
    desk.start_work(working, actor=AGENT)
    ids["working"] = working
    ids["new"] = log(actor=AGENT, title="Printer jams on tray 2").id
    resolved = log(actor=AGENT, title="Outlook does not start").id
    desk.resolve(resolved, actor=AGENT, code="solved_remotely", notes="Repaired the profile.")
    ids["resolved"] = resolved
    on_hold = log(actor=AGENT, title="Laptop battery swells").id
    desk.start_work(on_hold, actor=AGENT)
    desk.put_on_hold(on_hold, "awaiting_vendor", actor=AGENT)
    ids["on_hold"] = on_hold
    overridden = log(actor=AGENT, title="Payroll run fails").id
    desk.override_priority(overridden, 1, actor=AGENT, justification="Payday is tomorrow")
    ids["overridden"] = overridden
    investigating = desk.open_problem(actor=AGENT, title="VPN concentrator drops sessions").id
    desk.start_investigation(investigating, actor=AGENT)
    desk.record_root_cause(investigating, "Firmware bug in the concentrator", actor=AGENT)
    ids["investigating"] = investigating
    ids["fresh_problem"] = desk.open_problem(actor=AGENT, title="Printers jam").id
    done = desk.open_problem(actor=AGENT, title="Mail profile corruption").id
    desk.start_investigation(done, actor=AGENT)
    desk.resolve_problem(done, "Patched the mail client", actor=AGENT)
    ids["resolved_problem"] = done
    linked = log(actor=AGENT, title="VPN disconnects at login").id
    desk.link_to_problem(linked, investigating, actor=AGENT)
    ids["linked"] = linked
    # parent, child and duplicate incidents; problem management in depth
    known = desk.open_problem(actor=AGENT, title="Printer tray 2 jams", service="Printing").id
    desk.record_workaround(known, "Feed paper through tray 1", actor=AGENT)
    desk.mark_known_error(known, actor=AGENT)
    ids["known_error"] = known
    desk.link_problem_change(investigating, "CHG0000007", actor=AGENT,
                             title="Upgrade the concentrator firmware")
    # major incidents: one proposed, one accepted with a commander and a review action
    proposed = log(actor=AGENT, title="Payroll run fails for everyone").id
    desk.propose_major(proposed, actor=AGENT, reason="All staff are affected")
    ids["proposed"] = proposed
    major = log(actor=AGENT, title="Mail is down", impact=1, urgency=1).id
    desk.accept_major(major, actor=MANAGER)
    desk.assign_major_role(major, "commander", "mia", actor=MANAGER)
    desk.add_review_action(major, "Add a mail canary", actor=MANAGER, owner="mailops",
                           due_at=T0 + timedelta(days=14))
    ids["major"] = major
    # monitoring alerts: a key with an open incident
    desk.ingest_alert("nagios", "vpn-gw-1/cpu", "warning", "CPU high on vpn-gw-1", at=T0)
    notifier.clear()
    return World(desk, notifier, ids)


@attrs.frozen
class Ref:
    """A baseline argument that names one of the world's prepared records."""

    role: str


# Values for required parameters, by parameter name, used unless a command overrides them.
GENERIC: dict[str, object] = {
    "actor": AGENT,
    "incident_id": Ref("working"),
    "problem_id": Ref("investigating"),
    "record_id": Ref("working"),
    "text": "Checked the logs; nothing unusual.",
    "reason": "Requested by the caller",
    "title": "Cannot reach the intranet",
    "justification": "The CEO is affected",
    "notes": "Replaced the faulty cable.",
    "code": "solved_permanently",
    "resolution": "Deployed the fixed firmware",
    "root_cause": "A memory leak in the firmware",
    "workaround": "Restart the concentrator nightly",
}

# Cursors of real pages: after a priority-4 incident (descending), and after a problem opened
# before the world's first instant.
PRIORITY_CURSOR = PageCursor(IncidentOrder.PRIORITY, True, (4, "INC9999999")).encode()
OPENED_CURSOR = PageCursor(ProblemOrder.OPENED_AT, False,
                           (datetime(2020, 1, 1, tzinfo=UTC), "PRB0000000"))

# Per command: the arguments of a call that succeeds on a fresh world. Optional parameters
# listed here are passed too, so that replacing them replaces a real value.
OVERRIDES: dict[str, dict[str, object]] = {
    "log_incident": {
        "title": "VPN is down for the whole branch", "description": "Since 08:00",
        "service": "VPN", "configuration_items": ["vpn-gw-1"], "caller": "carol",
        "channel": "phone", "impact": 2, "urgency": 1, "category": "Network/VPN",
        "assignment_group": "Network Support", "occurred_at": T0 - timedelta(hours=1),
        "detected_at": T0 - timedelta(minutes=30), "custom": {"site": "HQ", "seats": 40},
    },
    "update_details": {
        "title": "VPN drops hourly", "description": "Worse after lunch", "service": "Remote",
        "configuration_items": ["vpn-gw-2"], "caller": "dave",
    },
    "categorize": {"category": "Network/LAN", "reroute": True},
    "change_impact_urgency": {"impact": 1, "urgency": 2},
    "override_priority": {"priority": 1},
    "clear_priority_override": {"incident_id": Ref("overridden")},
    "assign": {"group": "Network Engineering", "assignee": "bob"},
    "start_work": {"incident_id": Ref("new")},
    "put_on_hold": {"reason": "awaiting_caller", "note": "Which client version do you use?"},
    "resume": {"incident_id": Ref("on_hold")},
    "close": {"incident_id": Ref("resolved"), "code": "solved", "caller_confirmed": True,
              "satisfaction": 4, "satisfaction_comment": "Quick and friendly"},
    "reopen": {"incident_id": Ref("resolved")},
    "escalate": {"kind": "functional", "group": "Network Engineering"},
    "transition": {"trigger": "acknowledge"},
    "set_custom_attribute": {"name": "site", "value": "Branch 7"},
    "link_change": {"change_id": "CHG0000042", "caused_by": True},
    "link_related": {"other_id": Ref("new")},
    "set_parent": {"child_id": Ref("new"), "parent_id": Ref("working")},
    "link_to_problem": {"problem_id": Ref("fresh_problem")},
    "unlink_from_problem": {"incident_id": Ref("linked")},
    "list_incidents": {"status": "in_progress", "priority": 4, "assignment_group":
                       "Network Support", "assignee": "alice", "category": "Network",
                       "service": "VPN", "open": True, "text": "vpn", "order_by": "priority",
                       "descending": True, "after": PRIORITY_CURSOR, "limit": 10},
    "page_incidents": {"status": "in_progress", "open": True, "text": "vpn",
                       "order_by": "priority", "descending": True, "after": PRIORITY_CURSOR,
                       "limit": 10},
    "open_problem": {
        "description": "Several VPN incidents", "incident_ids": [Ref("working")],
        "service": "VPN", "configuration_items": ["vpn-gw-1"], "category": "Network/VPN",
        "impact": 2, "urgency": 2, "assignment_group": "Network Engineering",
    },
    "assign_problem": {"group": "Network Engineering", "assignee": "bob"},
    "start_investigation": {"problem_id": Ref("fresh_problem")},
    "record_root_cause": {"category": "Network/VPN"},
    "mark_known_error": {"symptoms": "Sessions drop after about ten minutes"},
    "change_problem_impact_urgency": {"impact": 1, "urgency": 1},
    "close_problem": {"problem_id": Ref("resolved_problem")},
    "reopen_problem": {"problem_id": Ref("resolved_problem")},
    "list_problems": {"status": ["new", "under_investigation"], "service": "VPN",
                      "known_error": False, "open": True, "text": "vpn",
                      "order_by": "opened_at", "descending": False, "after": OPENED_CURSOR,
                      "limit": 5},
    "page_problems": {"status": ["new", "under_investigation"], "open": True,
                      "order_by": "opened_at", "after": OPENED_CURSOR, "limit": 5},
    "with_retry": {"retry": RetryPolicy(attempts=2, backoff=0.0)},
    "process_due": {"now": T0},
    "sla_status": {"at": T0 + timedelta(hours=2)},
    "list_by_sla": {"state": "breached", "at": T0 + timedelta(hours=2),
                    "at_risk_fraction": 0.5, "limit": 3},
    # parent, child and duplicate incidents; problem management in depth
    "mark_duplicate": {"incident_id": Ref("new"), "original_id": Ref("working"),
                       "notes": "Same outage as the VPN incident"},
    "known_error_matches": {"incident_id": Ref("new")},
    "apply_workaround": {"incident_id": Ref("new"), "problem_id": Ref("known_error")},
    "link_problem_change": {"change_id": "CHG0000042", "title": "Replace the concentrator"},
    "unlink_problem_change": {"change_id": "CHG0000007"},
    # major incidents
    "propose_major": {"incident_id": Ref("new"), "evidence": [Ref("working")]},
    "accept_major": {"incident_id": Ref("proposed"), "actor": MANAGER},
    "reject_major": {"incident_id": Ref("proposed"), "actor": MANAGER},
    "assign_major_role": {"incident_id": Ref("major"), "role": "communications_lead",
                          "person": "noah"},
    "release_major_role": {"incident_id": Ref("major"), "role": "commander", "person": "mia"},
    "post_status_update": {"incident_id": Ref("major"), "audience": "stakeholders"},
    "record_review": {"incident_id": Ref("major"), "impact": "No mail for 2 hours",
                      "went_well": "Fast diagnosis", "went_badly": "Late first update"},
    "add_review_action": {"incident_id": Ref("major"), "description": "Monitor the queue",
                          "owner": "mailops", "due_at": T0 + timedelta(days=7)},
    "complete_review_action": {"incident_id": Ref("major"), "action_id": "A1"},
    "major_incidents": {"status": "accepted", "open": True},
    "status_update_due": {"incident_id": Ref("major")},
    # monitoring alerts
    "ingest_alert": {"source": "nagios", "dedup_key": "vpn-gw-1/cpu", "severity": "critical",
                     "summary": "CPU high on vpn-gw-1", "service": "VPN",
                     "configuration_item": "vpn-gw-1", "payload": {"cpu": 99.5},
                     "at": T0 - timedelta(minutes=1)},
    "ingest_alerts": {"alerts": [AlertInput("nagios", "vpn-gw-1/cpu", "critical",
                                            "CPU high on vpn-gw-1", payload={"cpu": 99.5},
                                            at=T0 - timedelta(minutes=1))]},
    "alert_group": {"dedup_key": "vpn-gw-1/cpu"},
    "alert_groups": {"flapping": False},
}


def _public_members() -> dict[str, Callable[..., Any]]:
    return {
        name: member
        for name, member in inspect.getmembers(ServiceDesk, inspect.isfunction)
        if not name.startswith("_")
    }


COMMANDS = _public_members()
PARAMETERS = {
    name: [p for p in inspect.signature(f).parameters.values() if p.name != "self"]
    for name, f in COMMANDS.items()
}
CASES = [(name, p.name) for name, params in PARAMETERS.items() for p in params]


def baseline(world: World, command: str) -> dict[str, object]:
    """Keyword arguments of a call to ``command`` that succeeds on ``world``."""
    overrides = OVERRIDES.get(command, {})
    kwargs: dict[str, object] = {}
    for parameter in PARAMETERS[command]:
        if parameter.name in overrides:
            kwargs[parameter.name] = overrides[parameter.name]
        elif parameter.default is inspect.Parameter.empty:
            assert parameter.name in GENERIC, (
                f"no baseline value for the required parameter {parameter.name!r} of "
                f"ServiceDesk.{command}: add one to GENERIC or OVERRIDES"
            )
            kwargs[parameter.name] = GENERIC[parameter.name]
    return {key: _resolve(world, value) for key, value in kwargs.items()}


def _resolve(world: World, value: object) -> object:
    if isinstance(value, Ref):
        return world.ids[value.role]
    if isinstance(value, list):
        return [_resolve(world, item) for item in value]
    return value


def state_of(world: World) -> object:
    """Everything observable about the stored records."""
    desk = world.desk
    return (
        [(i.id, i.version, i.snapshot(), i.timeline()) for i in desk.list_incidents()],
        [(p.id, p.version, p.snapshot(), p.timeline()) for p in desk.list_problems()],
    )


def call(world: World, command: str, kwargs: Mapping[str, object]) -> object:
    return getattr(world.desk, command)(**kwargs)


def attempt(world: World, command: str, kwargs: Mapping[str, object]) -> Exception | None:
    """Call ``command``; return what it raised, or None when it succeeded."""
    try:
        call(world, command, kwargs)
    except Exception as error:  # every kind is wanted here: the caller judges it
        return error
    return None


# ---------------------------------------------------------------------------------------------
# The fuzz: one argument at a time replaced by anything.
# ---------------------------------------------------------------------------------------------

def test_the_discovered_desk_surface_is_the_whole_api() -> None:
    expected_core = {
        "log_incident", "update_details", "categorize", "change_impact_urgency",
        "override_priority", "clear_priority_override", "assign", "start_work",
        "put_on_hold", "resume", "add_work_note", "add_comment", "resolve", "close", "reopen",
        "cancel", "escalate", "transition", "set_custom_attribute", "link_change",
        "link_related", "set_parent", "link_to_problem", "unlink_from_problem",
        "open_problem", "assign_problem", "start_investigation", "record_root_cause",
        "record_workaround", "mark_known_error", "change_problem_impact_urgency",
        "add_problem_note", "resolve_problem", "close_problem", "reopen_problem",
        "cancel_problem", "get_incident", "get_problem", "list_incidents", "list_problems",
        "timeline", "process_due", "sla_status", "list_by_sla",
    }
    assert expected_core <= set(COMMANDS)
    assert len(CASES) > 120


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_baseline_call_succeeds_on_a_fresh_world(command: str) -> None:
    world = build_world()
    call(world, command, baseline(world, command))


class LongText(str):
    """Text over every length limit, with a short repr (so a failure report stays readable)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"LongText(<{len(self)} characters>)"


TRICKY: list[object] = [
    "", "   ", "\n", "two\nlines", LongText("x" * 100_001), LongText("y" * 301),
    "INC0000001", "PRB0000001", "INC9999999",
    "Network/VPN", "Network//VPN", "/", "resolved", "closed", "resolve", 0, -1, 10**30,
    float("nan"), float("inf"), Impact(1), Urgency(7), Priority(9), CategoryPath(("Nope",)),
    Actor("eve"), SYSTEM, Channel.PHONE, EscalationKind.HIERARCHICAL, Satisfaction(3),
    b"", (), {}, [None], [""], ["INC0000001", "INC0000001"], {"site": object()},
    {"": 1}, {"nope": "x"}, {"seats": "many"}, datetime(2026, 1, 5, 9, 0),
    datetime(2030, 1, 1, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC),
]

ANYTHING = st.one_of(
    st.none(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(),
    st.booleans(),
    st.lists(st.integers()),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(), st.integers()),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    # Offsets away from UTC, inside the calendar (its edges are pinned down separately).
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                 timezones=st.sampled_from([timezone(timedelta(hours=5)),
                                            timezone(timedelta(hours=-11))])),
    st.builds(object),
    st.tuples(st.text(max_size=5), st.integers()),
    st.frozensets(st.text(max_size=5), max_size=3),
    st.sampled_from(TRICKY),
)


@pytest.mark.parametrize(("command", "parameter"), CASES)
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(value=ANYTHING)
def test_any_argument_is_refused_with_a_library_error_that_changes_nothing(
    command: str, parameter: str, value: object
) -> None:
    world = build_world()
    kwargs = baseline(world, command)
    kwargs[parameter] = value
    before = state_of(world)
    error = attempt(world, command, kwargs)
    if error is None:  # the value happened to be acceptable
        return
    assert isinstance(error, ItilIncidentError), (
        f"ServiceDesk.{command}({parameter}={value!r}) raised "
        f"{type(error).__name__}: {error}")
    assert str(error).strip(), "a refusal must say what was wrong"
    assert state_of(world) == before
    assert world.notifier.events == []
