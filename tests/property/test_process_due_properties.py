"""Properties of ``ServiceDesk.process_due`` over random desk histories and random schedules.

Each example drives a real desk (Paris office hours with a lunch break for the SLA, UTC office
hours for an OLA) through random commands, and calls ``process_due`` at random instants,
including instants earlier than ones already processed. Whatever the schedule:

- each alert stage is recorded exactly once per metric, group and cycle;
- each escalation rule acts at most once per clock cycle (per recorded stage);
- reminders are never sent twice for one interval of one hold, an incident closes at most once;
- histories are only appended to, never dated backwards;
- a second call for the same instant changes nothing and reports nothing;
- the order of the calls does not matter: the stages recorded equal those of one call at the
  latest instant.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    BusinessCalendar,
    DeskPolicies,
    DomainEvent,
    DueReport,
    EscalationAction,
    EscalationApplied,
    EscalationRule,
    IncidentReminderSent,
    IncidentSlaStageReached,
    ItilIncidentError,
    PriorityRaised,
    RoutingTable,
    ServiceDesk,
    SlaAgreement,
    SlaPolicy,
    SlaPolicyVersion,
    SupportGroup,
)
from itil_incident.testing import FrozenClock, make_desk

HOUR = timedelta(hours=1)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
PARIS = BusinessCalendar.office("Europe/Paris", lunch=(time(12), time(13)))
UTC_OFFICE = BusinessCalendar.office("UTC")
START = datetime(2026, 3, 23, 8, tzinfo=UTC)  # a Monday, six days before Paris springs forward
HORIZON = 5 * 24 * 60  # minutes of scheduling room after START

SLA = SlaPolicy.single("support", SlaPolicyVersion(
    version=1,
    effective_from=datetime(2025, 1, 1, tzinfo=UTC),
    agreements=(
        SlaAgreement(name="standard", calendar=PARIS, stages=(0.25, 0.5, 0.75, 1.0, 1.5),
                     targets={"response": {1: HOUR / 4, 2: HOUR, 3: 2 * HOUR, 4: 4 * HOUR},
                              "resolution": {1: 2 * HOUR, 2: 4 * HOUR, 3: 8 * HOUR,
                                             4: 16 * HOUR}}),
        SlaAgreement(name="network-ola", calendar=UTC_OFFICE, group="Network",
                     targets={"resolution": dict.fromkeys(range(1, 5), 6 * HOUR)}),
    ),
    fallback="standard",
))
ROUTING = RoutingTable([SupportGroup("Desk", 1, "Network", "desk_manager"),
                        SupportGroup("Network", 2, "L3"), SupportGroup("L3", 3)])
RULES = (
    EscalationRule.acknowledgement_timeout("ack", EscalationAction.hierarchical()),
    EscalationRule(name="tier-up", metric="resolution", stage=0.75,
                   action=EscalationAction.functional()),
    EscalationRule(name="bump", metric="resolution", stage=0.9,
                   action=EscalationAction.raise_priority()),
    EscalationRule(name="ola-late", group="Network", action=EscalationAction.hierarchical()),
)

Command = Callable[[ServiceDesk, str], object]
COMMANDS: dict[str, Command] = {
    "assign": lambda d, i: d.assign(i, actor=AGENT, group="Network"),
    "take": lambda d, i: d.assign(i, actor=AGENT, assignee="bob"),
    "start": lambda d, i: d.start_work(i, actor=AGENT),
    "hold": lambda d, i: d.put_on_hold(i, "awaiting_caller", actor=AGENT),
    "hold_vendor": lambda d, i: d.put_on_hold(i, "awaiting_vendor", actor=AGENT),
    "resume": lambda d, i: d.resume(i, actor=AGENT),
    "resolve": lambda d, i: d.resolve(i, actor=AGENT, code="solved_remotely", notes="Done"),
    "reopen": lambda d, i: d.reopen(i, actor=AGENT, reason="Again"),
    "comment": lambda d, i: d.add_comment(i, "Any news?", actor=AGENT),
    "urgent": lambda d, i: d.change_impact_urgency(i, actor=AGENT, impact=1, urgency=1),
}


def _desk(clock: FrozenClock, *, rules: bool) -> ServiceDesk:
    return make_desk(clock=clock, policies=DeskPolicies(
        categorizer=None, routing=ROUTING, sla=SLA, escalation_rules=RULES if rules else (),
        auto_close_after=20 * HOUR, hold_reminder_every=3 * HOUR))


def _log_all(desk: ServiceDesk, count: int) -> list[str]:
    return [desk.log_incident(actor=AGENT, title=f"Incident {n}", assignment_group="Desk").id
            for n in range(count)]


def _try(command: Command, desk: ServiceDesk, incident: str) -> None:
    """Run ``command``; one the incident's current state does not allow changes nothing."""
    with contextlib.suppress(ItilIncidentError):
        command(desk, incident)


def _stage_keys(history: list[DomainEvent]) -> list[tuple[str, str | None, int, float]]:
    return [e.key for e in history if isinstance(e, IncidentSlaStageReached)]


def _check_append_only(before: list[DomainEvent], after: list[DomainEvent]) -> None:
    assert after[: len(before)] == before
    times = [event.at for event in after]
    assert times == sorted(times)


human_steps = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(sorted(COMMANDS)), st.integers(1, 600)),
    max_size=12)


@settings(max_examples=60, deadline=None)
@given(incidents=st.integers(1, 3), steps=human_steps,
       calls=st.lists(st.integers(0, HORIZON), min_size=1, max_size=12))
def test_stages_are_recorded_once_whatever_the_order_of_the_calls(
    incidents: int, steps: list[tuple[int, str, int]], calls: list[int],
) -> None:
    histories: list[dict[str, list[DomainEvent]]] = []
    desks: list[ServiceDesk] = []
    clocks: list[FrozenClock] = []
    for _ in range(2):  # the desk under test, and a twin processed once at the latest instant
        clock = FrozenClock(START)
        clocks.append(clock)
        desk = _desk(clock, rules=False)
        ids = _log_all(desk, incidents)
        for target, name, minutes in steps:
            clock.advance(minutes=minutes)
            _try(COMMANDS[name], desk, ids[target % incidents])
        desks.append(desk)
        histories.append({i: desk.timeline(i) for i in ids})
    desk, twin = desks
    latest = START + timedelta(minutes=max(calls))
    for clock in clocks:
        clock.set(max(latest, clock.now()))
    for offset in calls:
        desk.process_due(START + timedelta(minutes=offset))
    twin.process_due(latest)
    assert not desk.process_due(latest)
    for incident, before in histories[0].items():
        after = desk.timeline(incident)
        _check_append_only(before, after)
        keys = _stage_keys(after)
        assert len(keys) == len(set(keys))
        assert set(keys) == set(_stage_keys(twin.timeline(incident)))


schedule = st.lists(
    st.one_of(
        st.tuples(st.just("human"), st.integers(0, 2), st.sampled_from(sorted(COMMANDS)),
                  st.integers(1, 300)),
        st.tuples(st.just("process"), st.just(0), st.just(""), st.integers(0, 600)),
        st.tuples(st.just("late"), st.just(0), st.just(""), st.integers(1, 900)),
    ),
    max_size=25)


@settings(max_examples=100, deadline=None)
@given(incidents=st.integers(1, 3), program=schedule)
def test_interleaved_work_and_processing_record_each_stage_and_rule_once_per_cycle(
    incidents: int, program: list[tuple[str, int, str, int]],
) -> None:
    clock = FrozenClock(START)
    desk = _desk(clock, rules=True)
    ids = _log_all(desk, incidents)
    reports: list[DueReport] = []
    for kind, target, name, minutes in program:
        before = {i: desk.timeline(i) for i in ids}
        if kind == "human":
            clock.advance(minutes=minutes)
            _try(COMMANDS[name], desk, ids[target % incidents])
        elif kind == "process":
            clock.advance(minutes=minutes)
            reports.append(desk.process_due())
            assert not desk.process_due()
        else:  # a call for an instant before the clock's: a late or skewed scheduler
            reports.append(desk.process_due(clock.now() - timedelta(minutes=minutes)))
        for incident in ids:
            _check_append_only(before[incident], desk.timeline(incident))
    for incident in ids:
        history = desk.timeline(incident)
        keys = _stage_keys(history)
        assert len(keys) == len(set(keys))
        _check_reminders_per_hold(history)
        assert sum(1 for e in history if e.name == "incident.closed") <= 1
    applied: list[EscalationApplied | PriorityRaised] = []
    for report in reports:
        applied += [*report.escalations, *report.priority_raises]
    fired = Counter((item.rule, item.incident_id, item.stage.key) for item in applied)
    assert set(fired.values()) <= {1}


def _check_reminders_per_hold(history: list[DomainEvent]) -> None:
    """Within one hold (from a status change or a new hold on), reminder numbers rise."""
    last = 0
    for event in history:
        if isinstance(event, IncidentReminderSent):
            assert event.number > last
            last = event.number
        elif event.from_status != event.to_status or event.name == "incident.put_on_hold":
            last = 0
