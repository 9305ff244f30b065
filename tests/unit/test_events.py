"""Events: frozen, past-tense, uniquely and consistently named, and ``changes()`` tells what
changed as ``{field: (before, after)}``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import itil_incident
from itil_incident import (
    Actor,
    AlertSeverity,
    CategoryPath,
    DomainEvent,
    Impact,
    Incident,
    IncidentEscalated,
    IncidentEvent,
    IncidentState,
    ItilIncidentError,
    LinkKind,
    NoteVisibility,
    Priority,
    PriorityMatrix,
    Problem,
    ProblemEvent,
    ProblemState,
    Satisfaction,
    TransitionDef,
    Urgency,
    Workflow,
    default_incident_workflow,
    default_problem_workflow,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
MATRIX = PriorityMatrix.servicenow()
PROBLEM_MATRIX = PriorityMatrix.servicenow_problem()


def _incident_workflow() -> Workflow:
    base, s = default_incident_workflow(), IncidentState
    return Workflow("incident_with_ack", base.states.values(), [
        *base.transitions,
        TransitionDef("acknowledge", (s.NEW, s.ASSIGNED, s.IN_PROGRESS, s.ON_HOLD)),
    ])


def _problem_workflow() -> Workflow:
    base, s = default_problem_workflow(), ProblemState
    return Workflow("problem_with_defer", base.states.values(),
                    [*base.transitions, TransitionDef("defer", s.NEW)],
                    guards={"has_root_cause_or_workaround":
                            lambda f: bool(f("root_cause") or f("workaround"))})


INCIDENT_WORKFLOW = _incident_workflow()
PROBLEM_WORKFLOW = _problem_workflow()


class Tick:
    """Hands out one minute after another."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> datetime:
        self.n += 1
        return T0 + timedelta(minutes=self.n)


def _log(incident_id: str, **fields: Any) -> Incident:
    return Incident.log(incident_id=incident_id, workflow=INCIDENT_WORKFLOW, matrix=MATRIX,
                        actor=AGENT, at=T0, title="VPN drops", **fields)


def scenario() -> tuple[list[Incident], list[Problem]]:
    """Records whose histories hold every kind of event, including the tricky paths."""
    t = Tick()
    a = _log("INC0000001", assignment_group="Service Desk", support_tier=1,
             custom={"site": "HQ"})
    a.update_details(actor=AGENT, at=t(), title="VPN drops hourly", caller="carol")
    a.categorize(CategoryPath.parse("Network/VPN"), actor=AGENT, at=t(), rule="vpn")
    a.reprioritize(MATRIX, actor=AGENT, at=t(), impact=2)
    a.override_priority(1, MATRIX, justification="CEO affected", actor=AGENT, at=t())
    a.override_priority(2, MATRIX, justification="CEO has a spare", actor=AGENT, at=t())
    a.reprioritize(MATRIX, actor=AGENT, at=t(), urgency=1)
    a.clear_priority_override(MATRIX, actor=AGENT, at=t())
    a.assign(actor=AGENT, at=t(), group="Network Support", tier=2)
    a.start_work(actor=AGENT, at=t())
    a.transition("acknowledge", actor=AGENT, at=t())
    a.put_on_hold("awaiting_vendor", actor=AGENT, at=t())
    a.resume(actor=AGENT, at=t())
    a.add_note("Captured packets", actor=AGENT, at=t())
    a.add_note("We are on it", actor=AGENT, at=t(), visibility=NoteVisibility.COMMENT)
    a.escalate_functionally(group="Network Engineering", tier=3, reason="Needs captures",
                            actor=AGENT, at=t())
    a.escalate_hierarchically(notified_role="incident_manager", reason="VIP", actor=AGENT,
                              at=t())
    a.set_custom("site", "Branch 7", actor=AGENT, at=t())
    a.set_custom("site", None, actor=AGENT, at=t())
    a.add_link(LinkKind.CAUSED_BY_CHANGE, "CHG0000001", actor=AGENT, at=t())
    a.remove_link(LinkKind.CAUSED_BY_CHANGE, "CHG0000001", actor=AGENT, at=t())
    a.link_problem("PRB0000001", actor=AGENT, at=t())
    a.link_problem("PRB0000002", actor=AGENT, at=t())
    a.unlink_problem(actor=AGENT, at=t())
    a.link_child("INC0000002", actor=AGENT, at=t())
    a.unlink_child("INC0000002", actor=AGENT, at=t())
    a.set_parent("INC0000003", actor=AGENT, at=t())
    a.put_on_hold("awaiting_caller", actor=AGENT, at=t())
    a.send_reminder("awaiting_caller", 1, actor=AGENT, at=t())
    a.record_sla_stage(metric="resolution", group=None, agreement="standard", cycle=1,
                       fraction=0.5, reached_at=T0, due_at=None, actor=AGENT, at=t())
    # major incidents: proposed, rejected, proposed again, accepted, run and reviewed
    a.propose_major(basis="priority", reason="Priority 1", actor=AGENT, at=t())
    a.reject_major(reason="One user only", actor=AGENT, at=t())
    a.propose_major(basis="cluster", reason="Three VPN incidents", evidence=["INC0000002"],
                    actor=AGENT, at=t())
    a.accept_major(review_required=True, actor=AGENT, at=t())
    a.assign_major_role("commander", "mia", shared=False, actor=AGENT, at=t())
    a.assign_major_role("commander", "noah", shared=False, actor=AGENT, at=t())
    a.assign_major_role("resolver_group", "Network Support", shared=True, actor=AGENT, at=t())
    a.release_major_role("resolver_group", "Network Support", actor=AGENT, at=t())
    a.post_status_update("stakeholders", "Engineers are on it", actor=AGENT, at=t())
    since = a.cadence_since
    assert since is not None
    a.record_missed_status_update(since=since, interval=1, due_at=since + timedelta(seconds=30),
                                  actor=AGENT, at=t())
    a.record_review(impact="VPN down 2 h", root_cause="Firmware leak", went_well="Triage",
                    actor=AGENT, at=t())
    a.record_review(impact="VPN down 2 h for 300 users", root_cause="Firmware leak",
                    went_badly="Late status updates", actor=AGENT, at=t())
    a.add_review_action("Monitor gateway memory", owner="netops", due_at=T0 + timedelta(days=30),
                        actor=AGENT, at=t())
    a.complete_review_action("A1", actor=AGENT, at=t())
    a.resolve(code="solved_remotely", notes="New firmware", actor=AGENT, at=t())
    a.reopen(reason="Drops again", actor=AGENT, at=t())
    a.resolve(code="solved_permanently", notes="Replaced the box", actor=AGENT, at=t())
    a.close(actor=AGENT, at=t(), caller_confirmed=True, satisfaction=Satisfaction(4, "Fine"))
    b = _log("INC0000002")
    b.start_work(actor=AGENT, at=t())
    b.put_on_hold("awaiting_change", actor=AGENT, at=t())
    b.cancel(reason="Duplicate", actor=AGENT, at=t())
    p = Problem.open(problem_id="PRB0000001", workflow=PROBLEM_WORKFLOW,
                     matrix=PROBLEM_MATRIX, actor=AGENT, at=T0, title="VPN box leaks",
                     incident_ids=["INC0000001"])
    p.transition("defer", actor=AGENT, at=t())
    p.assign(actor=AGENT, at=t(), group="Network Engineering", assignee="bob")
    p.link_incident("INC0000002", actor=AGENT, at=t())
    p.unlink_incident("INC0000002", actor=AGENT, at=t())
    p.start_investigation(actor=AGENT, at=t())
    p.reprioritize(PROBLEM_MATRIX, actor=AGENT, at=t(), impact=1)
    p.add_note("Vendor case opened", actor=AGENT, at=t())
    p.record_root_cause("Session leak", actor=AGENT, at=t(),
                        category=CategoryPath.parse("Network/VPN"))
    p.record_workaround("Restart nightly", actor=AGENT, at=t())
    p.mark_known_error(actor=AGENT, at=t())
    p.resolve("Firmware 2.1", actor=AGENT, at=t())
    p.reopen(reason="Seen again", actor=AGENT, at=t())
    p.mark_known_error(actor=AGENT, at=t(), symptoms="Drops after an hour")
    p.resolve("Firmware 2.2", actor=AGENT, at=t())
    p.close(actor=AGENT, at=t())
    q = Problem.open(problem_id="PRB0000002", workflow=PROBLEM_WORKFLOW,
                     matrix=PROBLEM_MATRIX, actor=AGENT, at=T0, title="Printers jam")
    q.cancel(reason="Not a problem", actor=AGENT, at=t())
    # parent, child and duplicate incidents; problem management in depth
    c = _log("INC0000004", caller="dave")
    c.offer_workaround(problem_id="PRB0000001", workaround="Restart nightly", score=5,
                       reasons=("service vpn", "keywords: drops"), actor=AGENT, at=t())
    c.apply_workaround(problem_id="PRB0000001", workaround="Restart nightly", actor=AGENT,
                       at=t())
    c.mark_duplicate("INC0000005", actor=AGENT, at=t())
    d = _log("INC0000005", caller="erin")
    d.record_duplicate("INC0000004", caller="dave", actor=AGENT, at=t())
    r = Problem.open(problem_id="PRB0000003", workflow=PROBLEM_WORKFLOW,
                     matrix=PROBLEM_MATRIX, actor=AGENT, at=T0, title="Mail relay stalls")
    r.link_change("CHG0000009", title="Enlarge the relay queue", actor=AGENT, at=t())
    r.unlink_change("CHG0000009", actor=AGENT, at=t())
    # monitoring alerts: an incident holds an alert key, records a raise and a recovery, and
    # gives the key up
    e = _log("INC0000006", channel="monitoring")
    e.open_alert_group(source="nagios", dedup_key="gw-1/cpu", severity=AlertSeverity.WARNING,
                       summary="CPU high on gw-1", alert_at=T0, payload='{"cpu":97.5}',
                       actor=AGENT, at=t())
    e.raise_alert_severity(AlertSeverity.CRITICAL, alert_at=T0, actor=AGENT, at=t())
    e.record_alert_recovery(alert_at=T0, alert_count=3, actor=AGENT, at=t())
    e.release_alert_group(reason="INC0000004 holds the key now", alert_count=3, actor=AGENT,
                          at=t())
    return [a, b, c, d, e], [p, q, r]


def scenario_records() -> list[Incident | Problem]:
    incidents, problems = scenario()
    return [*incidents, *problems]


def all_events() -> list[DomainEvent]:
    events: list[DomainEvent] = []
    for record in scenario_records():
        events.extend(record.timeline())
    return events


def event_classes() -> list[type[DomainEvent]]:
    """Every concrete event class the package exports."""
    bases = {DomainEvent, IncidentEvent, ProblemEvent}
    found = [getattr(itil_incident, name) for name in itil_incident.__all__]
    return [c for c in found
            if isinstance(c, type) and issubclass(c, DomainEvent) and c not in bases]


EVENT_CLASSES = event_classes()
ONE_OF_EACH: dict[type[DomainEvent], DomainEvent] = {}
for _event in all_events():
    ONE_OF_EACH.setdefault(type(_event), _event)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# -- naming ------------------------------------------------------------------------------------


def test_the_scenario_produces_every_exported_event_class() -> None:
    assert len(EVENT_CLASSES) >= 40
    assert set(ONE_OF_EACH) == set(EVENT_CLASSES)


def test_event_names_are_unique() -> None:
    names = [c.name for c in EVENT_CLASSES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("kind", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_an_event_name_is_its_record_kind_dot_its_class_name_in_snake_case(
    kind: type[DomainEvent],
) -> None:
    prefix = "incident" if issubclass(kind, IncidentEvent) else "problem"
    assert issubclass(kind, (IncidentEvent, ProblemEvent))
    suffix = _snake(kind.__name__.removeprefix(prefix.capitalize()))
    assert kind.name == f"{prefix}.{suffix}"


@pytest.mark.parametrize("kind", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_an_event_name_is_in_the_past_tense(kind: type[DomainEvent]) -> None:
    words = kind.name.split(".", 1)[1].split("_")
    irregular = {"set", "put", "overridden", "sent"}
    assert any(word.endswith("ed") or word in irregular for word in words), kind.name


# -- immutability and stamps -------------------------------------------------------------------


@pytest.mark.parametrize("kind", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_an_event_cannot_be_changed_once_recorded(kind: type[DomainEvent]) -> None:
    event = ONE_OF_EACH[kind]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.version = 99  # type: ignore[misc]  # assigning a frozen field is the point
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.actor = AGENT  # type: ignore[misc]  # as above


def test_every_event_carries_its_actor_an_aware_utc_time_and_the_version_it_made() -> None:
    for record in scenario_records():
        timeline: Sequence[DomainEvent] = record.timeline()
        assert [e.version for e in timeline] == list(range(1, len(timeline) + 1))
        for event in timeline:
            assert event.actor == AGENT
            assert event.at.tzinfo is UTC
            assert event.aggregate_id == record.id


def test_event_times_never_go_backwards_within_a_history() -> None:
    for record in scenario_records():
        times = [e.at for e in record.timeline()]
        assert times == sorted(times)


# -- changes() ---------------------------------------------------------------------------------


def test_the_logged_event_reports_every_initial_field_as_new() -> None:
    event = _log("INC0000009", impact=1, custom={"site": "HQ"}).timeline()[0]
    changes = event.changes()
    assert changes["status"] == (None, "new")
    assert changes["title"] == (None, "VPN drops")
    assert changes["impact"] == (None, Impact(1))
    assert changes["priority"] == (None, Priority(3))
    assert changes["custom.site"] == (None, "HQ")
    assert "service" not in changes  # None before and after: nothing to report


def test_an_assignment_reports_status_group_and_only_what_moved() -> None:
    incident = _log("INC0000009")
    event = incident.assign(actor=AGENT, at=T0, group="Service Desk")
    assert event.changes() == {"status": ("new", "assigned"),
                               "assignment_group": (None, "Service Desk")}


def test_a_note_reports_its_text_under_its_visibility() -> None:
    incident = _log("INC0000009")
    work = incident.add_note("Checked", actor=AGENT, at=T0)
    comment = incident.add_note("On it", actor=AGENT, at=T0, visibility=NoteVisibility.COMMENT)
    assert work.changes() == {"work_note": (None, "Checked")}
    assert comment.changes() == {"comment": (None, "On it")}


def test_a_reprioritization_under_an_override_reports_no_priority_change() -> None:
    incident = _log("INC0000009")
    incident.override_priority(1, MATRIX, justification="VIP", actor=AGENT, at=T0)
    event = incident.reprioritize(MATRIX, actor=AGENT, at=T0, impact=2, urgency=2)
    assert event.changes() == {"impact": (Impact(3), Impact(2)),
                               "urgency": (Urgency(3), Urgency(2))}


def test_a_hierarchical_escalation_reports_the_notified_role_only() -> None:
    incident = _log("INC0000009", assignment_group="Service Desk")
    event = incident.escalate_hierarchically(notified_role="incident_manager", reason="VIP",
                                             actor=AGENT, at=T0)
    assert isinstance(event, IncidentEscalated)
    assert event.changes() == {"notified_role": (None, "incident_manager")}


def test_resuming_reports_the_hold_reason_as_cleared() -> None:
    incident = _log("INC0000009")
    incident.start_work(actor=AGENT, at=T0)
    incident.put_on_hold("awaiting_caller", actor=AGENT, at=T0)
    assert incident.resume(actor=AGENT, at=T0).changes() == {
        "status": ("on_hold", "in_progress"), "hold_reason": ("awaiting_caller", None)}


# The invariant: every key of changes() that names a field of the record tells that field's
# value before and after the event, and every field that moved is reported (bookkeeping that
# follows from the event itself is exempt). Collections report one element added or removed.
BOOKKEEPING = frozenset({
    "version", "updated_at", "resolved_at", "resolved_by", "closed_at", "reopen_count",
    "reassignment_count", "functional_escalations", "hierarchical_escalations",
    "priority_overridden", "known_error", "custom", "links", "child_ids", "incident_ids",
})
ELEMENT_KEYS = frozenset({"child_ids", "incident_ids",
                          # parent, child and duplicate incidents; problem management
                          "duplicate_ids", "watchers", "change_links",
                          "major_roles", "review_actions"})  # major incidents
# Fields left out of the generic check (none: every field must be reported exactly).
KNOWN_MISREPORTED: frozenset[str] = frozenset()

Rebuild = Callable[[Iterable[Any]], Incident | Problem]


def _rebuild_incident(events: Iterable[Any]) -> Incident:
    return Incident.from_history(events, INCIDENT_WORKFLOW)


def _rebuild_problem(events: Iterable[Any]) -> Problem:
    return Problem.from_history(events, PROBLEM_WORKFLOW)


def misreports(record: Incident | Problem, rebuild: Rebuild,
               skip: frozenset[str] = frozenset()) -> list[str]:
    """What ``changes()`` gets wrong along ``record``'s history, one line per mistake."""
    found: list[str] = []
    events = record.timeline()
    before: dict[str, Any] | None = None
    for index, event in enumerate(events):
        after = rebuild(events[: index + 1]).snapshot()
        reported = event.changes()
        for key, (old, new) in reported.items():
            if old == new:
                found.append(f"{event.name} v{event.version}: {key} reported unchanged {old!r}")
            if key not in after or key in ELEMENT_KEYS or key in skip:
                continue
            previous = None if before is None else before[key]
            if (previous, after[key]) != (old, new):
                found.append(f"{event.name} v{event.version}: {key} reported {(old, new)!r}, "
                             f"was {(previous, after[key])!r}")
        if before is not None:
            for key, value in after.items():
                moved = before[key] != value
                if moved and key not in reported and key not in BOOKKEEPING | skip:
                    found.append(f"{event.name} v{event.version}: {key} moved "
                                 f"{before[key]!r} -> {value!r} but is not reported")
        before = after
    return found


def test_changes_tell_each_field_before_and_after_along_the_whole_scenario() -> None:
    incidents, problems = scenario()
    mistakes = [m for i in incidents
                for m in misreports(i, _rebuild_incident, KNOWN_MISREPORTED)]
    mistakes += [m for p in problems
                 for m in misreports(p, _rebuild_problem, KNOWN_MISREPORTED)]
    assert mistakes == []


def test_a_second_override_reports_the_justification_it_replaced() -> None:
    incident = _log("INC0000009")
    incident.override_priority(1, MATRIX, justification="CEO affected", actor=AGENT, at=T0)
    event = incident.override_priority(2, MATRIX, justification="Spare laptop", actor=AGENT,
                                       at=T0)
    assert event.changes()["priority_justification"] == ("CEO affected", "Spare laptop")


def test_clearing_an_override_reports_the_justification_as_cleared() -> None:
    incident = _log("INC0000009")
    incident.override_priority(1, MATRIX, justification="CEO affected", actor=AGENT, at=T0)
    event = incident.clear_priority_override(MATRIX, actor=AGENT, at=T0)
    assert event.changes().get("priority_justification") == ("CEO affected", None)


@pytest.mark.parametrize("finish", ["resolve", "cancel"])
def test_resolving_or_cancelling_an_incident_on_hold_reports_the_hold_reason_as_cleared(
    finish: str,
) -> None:
    incident = _log("INC0000009")
    incident.start_work(actor=AGENT, at=T0)
    incident.put_on_hold("awaiting_vendor", actor=AGENT, at=T0)
    if finish == "resolve":
        event: IncidentEvent = incident.resolve(code="duplicate", notes="Dup", actor=AGENT,
                                                at=T0)
    else:
        event = incident.cancel(reason="Dup", actor=AGENT, at=T0)
    assert event.changes().get("hold_reason") == ("awaiting_vendor", None)


def test_marking_a_reopened_problem_known_again_reports_the_record_it_replaced() -> None:
    _, (problem, *_) = scenario()
    markings = [e for e in problem.timeline() if e.name == "problem.marked_known_error"]
    first, second = markings
    before, _after = second.changes()["known_error_record"]
    assert before == first.changes()["known_error_record"][1]


def test_a_functional_escalation_reports_only_what_changed() -> None:
    incident = _log("INC0000009", assignment_group="Service Desk", support_tier=1)
    event = incident.escalate_functionally(group="Network Support", tier=1, reason="r",
                                           actor=AGENT, at=T0)
    assert event.changes() == {"assignment_group": ("Service Desk", "Network Support")}


# -- the invariant over random histories -------------------------------------------------------

INCIDENT_OPS: dict[str, Callable[[Incident, datetime], object]] = {
    "assign": lambda i, t: i.assign(actor=AGENT, at=t, group=f"G{t.minute % 3}"),
    "take": lambda i, t: i.assign(actor=AGENT, at=t, assignee=f"p{t.minute % 2}"),
    "start": lambda i, t: i.start_work(actor=AGENT, at=t),
    "hold": lambda i, t: i.put_on_hold("awaiting_caller", actor=AGENT, at=t),
    "resume": lambda i, t: i.resume(actor=AGENT, at=t),
    "resolve": lambda i, t: i.resolve(code="duplicate", notes="n", actor=AGENT, at=t),
    "reopen": lambda i, t: i.reopen(reason="again", actor=AGENT, at=t),
    "close": lambda i, t: i.close(actor=AGENT, at=t),
    "cancel": lambda i, t: i.cancel(reason="dup", actor=AGENT, at=t),
    "impact": lambda i, t: i.reprioritize(MATRIX, actor=AGENT, at=t, impact=t.minute % 3 + 1),
    "override": lambda i, t: i.override_priority(t.minute % 5 + 1, MATRIX, justification="j",
                                                 actor=AGENT, at=t),
    "clear": lambda i, t: i.clear_priority_override(MATRIX, actor=AGENT, at=t),
    "escalate": lambda i, t: i.escalate_functionally(group=f"G{t.minute % 3}", tier=None,
                                                     reason="r", actor=AGENT, at=t),
    "title": lambda i, t: i.update_details(actor=AGENT, at=t, title=f"T{t.minute % 2}"),
    "problem": lambda i, t: i.link_problem(f"PRB{t.minute % 2}", actor=AGENT, at=t),
    "unproblem": lambda i, t: i.unlink_problem(actor=AGENT, at=t),
    "parent": lambda i, t: i.set_parent(f"INC{t.minute % 2}", actor=AGENT, at=t),
    # major incidents
    "propose": lambda i, t: i.propose_major(basis="manual", reason="r", actor=AGENT, at=t),
    "accept": lambda i, t: i.accept_major(review_required=t.minute % 2 == 0, actor=AGENT, at=t),
    "reject": lambda i, t: i.reject_major(reason="r", actor=AGENT, at=t),
    "role": lambda i, t: i.assign_major_role("commander", f"p{t.minute % 3}", shared=False,
                                             actor=AGENT, at=t),
    "update": lambda i, t: i.post_status_update("internal", "u", actor=AGENT, at=t),
    "review": lambda i, t: i.record_review(impact="i", root_cause=f"c{t.minute}", actor=AGENT,
                                           at=t),
    "action": lambda i, t: i.add_review_action("d", owner="o", due_at=t, actor=AGENT, at=t),
    "done": lambda i, t: i.complete_review_action("A1", actor=AGENT, at=t),
}


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.sampled_from(sorted(INCIDENT_OPS)), max_size=20))
def test_changes_tell_each_field_before_and_after_in_any_incident_history(
    names: list[str],
) -> None:
    incident = _log("INC0000009")
    for step, name in enumerate(names, start=1):
        try:
            INCIDENT_OPS[name](incident, T0 + timedelta(minutes=step))
        except ItilIncidentError:
            continue
    assert misreports(incident, _rebuild_incident, KNOWN_MISREPORTED) == []
