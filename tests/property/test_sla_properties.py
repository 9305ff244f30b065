"""Properties of SLA clocks over random desk histories.

Each example drives a real desk through random commands separated by random, strictly positive
steps of time, on a Paris office calendar with a lunch break (daylight saving included) for the
SLA and a UTC office calendar for the OLAs, then checks the clocks at many instants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import Actor, ServiceDesk
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.lifecycles import default_incident_workflow
from itil_incident.errors import ItilIncidentError
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.sla import SlaAgreement, SlaMetric, SlaPolicy, SlaPolicyVersion
from itil_incident.policies.sla_clock import ClockState, ClockStatus, evaluate
from itil_incident.testing import FrozenClock, make_desk

R, X = SlaMetric.RESPONSE, SlaMetric.RESOLUTION
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent", "incident_manager"}))
PARIS = BusinessCalendar.office("Europe/Paris", lunch=(time(12), time(13)))
UTC_OFFICE = BusinessCalendar.office("UTC")
START = datetime(2026, 3, 23, 8, tzinfo=UTC)  # a Monday, six days before Paris springs forward

POLICY = SlaPolicy.single("support", SlaPolicyVersion(
    version=1,
    effective_from=datetime(2025, 1, 1, tzinfo=UTC),
    agreements=(
        SlaAgreement(name="standard", calendar=PARIS, stages=(0.25, 0.5, 0.75, 1.0, 1.5),
                     targets={R: {1: HOUR / 4, 2: HOUR, 3: 2 * HOUR, 4: 4 * HOUR},
                              X: {1: 2 * HOUR, 2: 4 * HOUR, 3: 8 * HOUR, 4: 16 * HOUR}}),
        SlaAgreement(name="desk-ola", calendar=UTC_OFFICE, group="Desk",
                     targets={R: dict.fromkeys(range(1, 5), HOUR),
                              X: dict.fromkeys(range(1, 5), 6 * HOUR)}),
        SlaAgreement(name="network-ola", calendar=UTC_OFFICE, group="Network",
                     targets={X: dict.fromkeys(range(1, 5), 12 * HOUR)}),
    ),
    fallback="standard",
))

Command = Callable[[ServiceDesk, str], object]


def _commands() -> st.SearchStrategy[Command]:
    groups = st.sampled_from(["Desk", "Network", "L3"])
    holds = st.sampled_from(["awaiting_caller", "awaiting_caller", "awaiting_vendor"]).map(
        lambda r: lambda d, i: d.put_on_hold(i, r, actor=AGENT))
    return st.one_of(
        groups.map(lambda g: lambda d, i: d.assign(i, actor=AGENT, group=g)),
        st.sampled_from(["bob", "nina"]).map(
            lambda p: lambda d, i: d.assign(i, actor=AGENT, assignee=p)),
        st.just(lambda d, i: d.start_work(i, actor=AGENT)),
        holds, holds,
        st.just(lambda d, i: d.resume(i, actor=AGENT)),
        st.just(lambda d, i: d.resolve(i, actor=AGENT, code="solved_remotely", notes="Done.")),
        st.just(lambda d, i: d.reopen(i, actor=AGENT, reason="Not fixed.")),
        st.integers(1, 4).map(lambda p: lambda d, i: d.override_priority(
            i, p, actor=AGENT, justification="Re-assessed.")),
        groups.map(lambda g: lambda d, i: d.escalate(i, actor=AGENT, reason="Help.", group=g)),
        st.just(lambda d, i: d.add_work_note(i, "Looked at it.", actor=AGENT)),
        st.sampled_from([
            lambda d, i: d.close(i, actor=AGENT),
            lambda d, i: d.cancel(i, actor=AGENT, reason="Duplicate."),
        ]),
    )


# Mostly minutes to hours, sometimes days (nights, weekends and long holds).
_steps = st.one_of(st.integers(1, 4 * 3600), st.integers(1, 4 * 3600),
                   st.integers(1, 3 * 24 * 3600)).map(lambda s: timedelta(seconds=s))


@dataclass
class History:
    """A desk run: the events, and after each accepted command its instant and event count."""

    events: list[DomainEvent]
    checkpoints: list[tuple[datetime, int]]

    def clocks(self, at: datetime, upto: int | None = None) -> tuple[ClockState, ...]:
        events = self.events if upto is None else self.events[:upto]
        return evaluate(events, POLICY, default_incident_workflow(), at)

    def instants(self, extra: list[timedelta]) -> list[datetime]:
        """Every checkpoint and, after each, a few random later instants; sorted."""
        found = {at for at, _ in self.checkpoints}
        last = self.checkpoints[-1][0]
        found.update(at + delta for at, _ in self.checkpoints for delta in extra)
        found.update(last + delta * 7 for delta in extra)
        return sorted(found)

    def next_event_after(self, at: datetime) -> datetime | None:
        later = [event.at for event in self.events if event.at > at]
        return min(later) if later else None


@st.composite
def histories(draw: st.DrawFn) -> History:
    clock = FrozenClock(START + draw(_steps))
    desk = make_desk(clock=clock, policies=DeskPolicies(categorizer=None, routing=None))
    incident_id = desk.log_incident(actor=AGENT, title="VPN drops",
                                    assignment_group=draw(st.sampled_from([None, "Desk"]))).id
    checkpoints = [(clock.now(), 1)]
    for command in draw(st.lists(_commands(), max_size=14)):
        clock.advance(draw(_steps))
        try:
            command(desk, incident_id)
        except ItilIncidentError:
            continue
        checkpoints.append((clock.now(), len(desk.timeline(incident_id))))
    return History(desk.timeline(incident_id), checkpoints)


def _key(clock: ClockState) -> tuple[str | None, SlaMetric]:
    return clock.group, clock.metric


_extra = st.lists(_steps, min_size=1, max_size=4)


@settings(deadline=None, max_examples=150)
@given(histories())
def test_evaluating_a_replayed_history_at_each_step_reproduces_the_live_clocks(
    history: History,
) -> None:
    for at, count in history.checkpoints:
        assert history.clocks(at) == history.clocks(at, upto=count)


@settings(deadline=None, max_examples=150)
@given(histories(), _extra)
def test_elapsed_time_never_decreases_as_the_evaluation_instant_moves_forward(
    history: History, extra: list[timedelta],
) -> None:
    seen: dict[tuple[str | None, SlaMetric], ClockState] = {}
    for at in history.instants(extra):
        for clock in history.clocks(at):
            before = seen.get(_key(clock))
            if before is not None:
                assert clock.business_elapsed >= before.business_elapsed
                assert clock.wall_elapsed >= before.wall_elapsed
            seen[_key(clock)] = clock


@settings(deadline=None, max_examples=150)
@given(histories(), _extra)
def test_elapsed_plus_remaining_is_the_target_and_percent_used_their_ratio(
    history: History, extra: list[timedelta],
) -> None:
    for at in history.instants(extra):
        for clock in history.clocks(at):
            assert clock.business_elapsed + clock.remaining == clock.target
            assert clock.percent_used == 100 * (clock.business_elapsed / clock.target)
            assert sum((b - a for a, b in clock.counted), timedelta(0)) == clock.business_elapsed


@settings(deadline=None, max_examples=150)
@given(histories(), _extra, st.floats(0.0, 1.0))
def test_a_paused_clock_with_time_left_does_not_change_while_paused(
    history: History, extra: list[timedelta], share: float,
) -> None:
    for at in history.instants(extra):
        following = history.next_event_after(at)
        gap = (following - at - US) if following is not None else 30 * 24 * HOUR
        later = at + gap * share
        paused = {_key(c): c for c in history.clocks(at)
                  if c.status is ClockStatus.PAUSED and c.remaining > timedelta(0)}
        for clock in history.clocks(later):
            if _key(clock) in paused:
                assert clock == paused[_key(clock)]


@settings(deadline=None, max_examples=150)
@given(histories(), _extra)
def test_a_running_clock_left_alone_uses_its_target_exactly_at_its_due_instant(
    history: History, extra: list[timedelta],
) -> None:
    for at in history.instants(extra):
        for clock in history.clocks(at):
            if clock.status is not ClockStatus.RUNNING:
                continue
            due = clock.due_at
            assert due is not None
            following = history.next_event_after(at)
            if following is not None and following <= due + US:
                continue
            at_due = {_key(c): c for c in history.clocks(due)}[_key(clock)]
            after = {_key(c): c for c in history.clocks(due + US)}[_key(clock)]
            assert (at_due.status, at_due.remaining) == (ClockStatus.RUNNING, timedelta(0))
            assert after.status is ClockStatus.BREACHED
            assert after.due_at == due


@settings(deadline=None, max_examples=150)
@given(histories(), _extra)
def test_stages_are_reached_in_order_and_never_after_the_evaluation_instant(
    history: History, extra: list[timedelta],
) -> None:
    for at in history.instants(extra):
        for clock in history.clocks(at):
            reached = [s.reached_at for s in clock.stages]
            hits = [instant for instant in reached if instant is not None]
            assert reached[: len(hits)] == hits
            assert hits == sorted(hits)
            assert all(instant <= at for instant in hits)
            full = {s.fraction: s.reached_at for s in clock.stages}[1.0]
            if clock.status is ClockStatus.BREACHED:
                assert full is not None
