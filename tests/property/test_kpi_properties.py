"""Properties of KPI reports over random desk histories.

Each example logs a few incidents on a real desk (in-memory repository, frozen clock) at random
instants, then applies random desk commands (refused ones are skipped) separated by random
steps of time, zero included. The report is then checked against a naive reference computed
another way: by folding every prefix of each history into an ``Incident`` and reading the
entity's fields, then taking means and quantiles with :mod:`statistics`.
"""

from __future__ import annotations

import contextlib
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    BusinessCalendar,
    Incident,
    IncidentEvent,
    IncidentNoteAdded,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    default_incident_workflow,
)
from itil_incident.errors import ItilIncidentError
from itil_incident.reporting import DIMENSIONS, KpiFigures, Rate, Stat, backlog, kpi_report
from itil_incident.testing import FrozenClock, make_desk
from itil_incident.testing import strategies as its

START = datetime(2026, 3, 27, 8, tzinfo=UTC)  # a Friday, two days before Paris springs forward
AGENTS = (Actor("alice", "Alice", frozenset({"agent"})), Actor("bob", "Bob", frozenset({"agent"})))
GROUPS = ("Service Desk", "Network Support", "Desktop Support")
WORKFLOW = default_incident_workflow()
FCR_WINDOW = timedelta(minutes=30)
OFFICE = BusinessCalendar.office("Europe/Paris")
POLICY = SlaPolicy.single("support", SlaPolicyVersion(
    version=1, effective_from=START - timedelta(days=1), fallback="standard",
    agreements=(SlaAgreement(
        name="standard", calendar=OFFICE,
        targets={SlaMetric.RESPONSE: dict.fromkeys(range(1, 5), timedelta(hours=2)),
                 SlaMetric.RESOLUTION: {1: timedelta(hours=4), 2: timedelta(hours=8),
                                        3: timedelta(hours=16), 4: timedelta(hours=40)}}),)))
Histories = list[list[IncidentEvent]]


@dataclass
class World:
    desk: ServiceDesk
    end: datetime

    @property
    def histories(self) -> Histories:
        return [list(incident.timeline()) for incident in self.desk.list_incidents()]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    clock = FrozenClock(START)
    desk = make_desk(clock=clock)
    ids = []
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        clock.advance(minutes=draw(st.integers(min_value=0, max_value=600)))
        actor = draw(st.sampled_from(AGENTS))
        incident = desk.log_incident(
            actor=actor, title="Something broke",
            impact=draw(st.integers(1, 3)), urgency=draw(st.integers(1, 3)),
            channel=draw(its.channels()), service=draw(st.sampled_from([None, "vpn", "mail"])),
            assignment_group=draw(st.sampled_from(GROUPS)))
        desk.add_work_note(incident.id, "First look", actor=actor)
        ids.append(incident.id)
    # Each incident gets a few random commands, then mostly resolutions, reopens and
    # closures (so that reports have something to measure); all are shuffled together.
    busy = st.one_of(its.commands(["resolve", "assign", "start_work", "escalate"]),
                     its.commands())
    ending = st.one_of(its.commands(["resolve"]), its.commands(["resolve", "reopen", "close"]))
    scripts = [(index, command) for index in range(len(ids))
               for command in (draw(st.lists(busy, max_size=5))
                               + draw(st.lists(ending, min_size=1, max_size=4)))]
    steps = [(index, command, draw(st.sampled_from([0, 1, 10, 25, 45, 240, 1500, 5000])),
              draw(st.sampled_from(AGENTS)))
             for index, command in draw(st.permutations(scripts))]
    for index, command, minutes, actor in steps:
        clock.advance(minutes=minutes)
        with contextlib.suppress(ItilIncidentError):  # refused commands change nothing
            its.apply_command(desk, ids[index], actor, command)
    return World(desk, clock.now())


# -- the naive reference -------------------------------------------------------------------------


@dataclass
class Reference:
    acknowledged: float | None
    first_resolved: float | None
    final_resolved: float | None
    first_contact: bool | None
    reopened: bool
    reassignments: int
    escalated: bool
    major: bool
    closed: bool
    satisfaction: int | None


def _resolved(incident: Incident) -> bool:
    return WORKFLOW.state(incident.status).resolved


def reference(history: list[IncidentEvent]) -> Reference:
    """What the entity, folded over each prefix of the history, says."""
    states = [Incident.from_history(history[:k], WORKFLOW) for k in range(1, len(history) + 1)]
    logged = history[0].at
    last = states[-1]

    def since_logging(index: int | None) -> float | None:
        return None if index is None else (history[index].at - logged).total_seconds()

    acknowledged = next((k for k, s in enumerate(states)
                         if s.assignee is not None or _resolved(s)), None)
    first = next((k for k, s in enumerate(states) if _resolved(s)), None)
    first_contact = None
    if first is not None:
        before = states[first - 1]
        first_contact = (history[first].actor.id == history[0].actor.id
                         and before.reassignment_count == 0
                         and before.functional_escalations + before.hierarchical_escalations == 0
                         and last.reopen_count == 0
                         and history[first].at - logged <= FCR_WINDOW)
    final = None
    if _resolved(last) and last.resolved_at is not None:
        final = (last.resolved_at - logged).total_seconds()
    return Reference(
        acknowledged=since_logging(acknowledged), first_resolved=since_logging(first),
        final_resolved=final, first_contact=first_contact, reopened=last.reopen_count > 0,
        reassignments=last.reassignment_count,
        escalated=last.functional_escalations + last.hierarchical_escalations > 0,
        major=any(s.priority.level == 1 for s in states), closed=last.status == "closed",
        satisfaction=None if last.satisfaction is None else last.satisfaction.score,
    )


def check_stat(stat: Stat, values: list[float], incidents: int) -> None:
    assert (stat.n, stat.missing) == (len(values), incidents - len(values))
    if not values:
        assert (stat.mean, stat.median, stat.p90) == (None, None, None)
        return
    p90 = values[0] if len(values) == 1 else statistics.quantiles(values, n=10,
                                                                  method="inclusive")[8]
    assert stat.mean == pytest.approx(statistics.mean(values))
    assert stat.median == pytest.approx(statistics.median(values))
    assert stat.p90 == pytest.approx(p90)


def check_rate(rate: Rate, count: int, eligible: int, incidents: int) -> None:
    assert (rate.count, rate.n, rate.missing) == (count, eligible, incidents - eligible)


# -- properties ------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_figures_agree_with_the_naive_reference(world: World) -> None:
    references = [reference(h) for h in world.histories]
    total = kpi_report(world.desk.list_incidents()).total
    count = len(references)
    check_stat(total.time_to_acknowledge,
               [r.acknowledged for r in references if r.acknowledged is not None], count)
    check_stat(total.time_to_resolve,
               [r.first_resolved for r in references if r.first_resolved is not None], count)
    check_stat(total.time_to_final_resolution,
               [r.final_resolved for r in references if r.final_resolved is not None], count)
    check_stat(total.hops, [float(r.reassignments) for r in references], count)
    check_stat(total.satisfaction,
               [float(r.satisfaction) for r in references if r.satisfaction is not None], count)
    resolved = sum(r.first_resolved is not None for r in references)
    closed = sum(r.closed for r in references)
    check_rate(total.first_contact_resolution, sum(r.first_contact is True for r in references),
               resolved, count)
    check_rate(total.reopen, sum(r.reopened for r in references), resolved, count)
    check_rate(total.reassignment, sum(r.reassignments > 0 for r in references), count, count)
    check_rate(total.escalation, sum(r.escalated for r in references), count, count)
    check_rate(total.satisfaction_response,
               sum(r.closed and r.satisfaction is not None for r in references), closed, count)
    assert total.major_incidents == sum(r.major for r in references)


@settings(max_examples=100, deadline=None)
@given(worlds(), st.data())
def test_backlog_agrees_with_the_entity_folded_up_to_the_instant(world: World,
                                                                 data: st.DataObject) -> None:
    histories = world.histories
    span = (world.end - START).total_seconds()
    instant = START + timedelta(seconds=data.draw(st.floats(-60, span + 60)))
    instants = [instant, *(e.at for h in histories for e in h)]
    for at in instants:
        expected = sum(Incident.from_history([e for e in h if e.at <= at], WORKFLOW).is_open
                       for h in histories if h[0].at <= at)
        assert backlog(histories, at=at).total.total == expected


@settings(max_examples=100, deadline=None)
@given(worlds(), st.data())
def test_duplicating_note_rows_never_changes_any_figure(world: World,
                                                        data: st.DataObject) -> None:
    histories = world.histories
    target = data.draw(st.integers(0, len(histories) - 1))
    copies = data.draw(st.integers(1, 5))
    padded = [list(h) for h in histories]
    padded[target] = [copy for event in histories[target]
                      for copy in [event] * (1 + copies * isinstance(event, IncidentNoteAdded))]
    assert len(padded[target]) > len(histories[target])

    def figures(source: Histories) -> dict[str, object]:
        return kpi_report(source, calendar=OFFICE, sla=POLICY, group_by=["priority"],
                          bucket="day").to_dict()

    assert figures(padded) == figures(histories)


def _parts(figures: KpiFigures) -> list[Stat | Rate]:
    return [value for value in (getattr(figures, name) for name in KpiFigures.__annotations__)
            if isinstance(value, (Stat, Rate))]


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_rates_lie_between_zero_and_one_and_every_incident_is_counted(world: World) -> None:
    result = kpi_report(world.desk.list_incidents(), calendar=OFFICE, sla=POLICY,
                        group_by=["group"])
    for figures in [result.total, *(g.figures for g in result.groups)]:
        for part in _parts(figures):
            assert part.n + part.missing == figures.incidents
            if isinstance(part, Rate):
                assert part.rate is None or 0 <= part.rate <= 1
        for compliance in figures.sla:
            assert compliance.rate is None or 0 <= compliance.rate <= 1
            if compliance.priority is None:
                assert (compliance.met + compliance.breached + compliance.missing
                        == figures.incidents)


@settings(max_examples=100, deadline=None)
@given(worlds(), st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=3),
       st.sampled_from([None, "day", "week", "month"]))
def test_groups_partition_the_incidents(world: World, dimensions: list[str],
                                        bucket: str | None) -> None:
    result = kpi_report(world.desk.list_incidents(), group_by=dimensions, bucket=bucket,
                        time_zone="Europe/Paris", at=world.end)
    total = result.total
    if dimensions or bucket:
        groups = [g.figures for g in result.groups]
        assert sum(g.incidents for g in groups) == total.incidents
        assert sum(g.reopen.count for g in groups) == total.reopen.count
        assert sum(g.time_to_resolve.n for g in groups) == total.time_to_resolve.n
        assert len({g.key for g in result.groups}) == len(result.groups)
    for dimension in (*DIMENSIONS, "period"):
        assert sum(result.volumes.of(dimension).values()) == total.incidents
    if dimensions:
        assert sum(g.figures.total for g in result.backlog.groups) == result.backlog.total.total
