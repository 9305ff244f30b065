"""Computing figures from facts (private: :mod:`itil_incident.reporting.kpis` documents
every figure)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from itil_incident.policies.sla import SlaCalendar
from itil_incident.reporting import _arguments as check
from itil_incident.reporting._arguments import KeyFunction
from itil_incident.reporting._results import (
    AgeBucket,
    Backlog,
    BacklogFigures,
    BacklogGroup,
    KpiFigures,
    Rate,
    SlaCompliance,
    Stat,
)
from itil_incident.reporting.facts import IncidentFacts

__all__ = ["backlog_of", "kpi_figures"]

_METRICS = ("response", "resolution")
_MET, _BREACHED = "met", "breached"


# -- figures -----------------------------------------------------------------------------------


def _quantile(ordered: list[float], q: float) -> float:
    position = q * (len(ordered) - 1)
    low = int(position)
    if low + 1 >= len(ordered):
        return ordered[-1]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (position - low)


def _stat(values: list[float], incidents: int) -> Stat:
    count = len(values)
    if not count:
        return Stat(0, incidents, None, None, None)
    values.sort()
    return Stat(count, incidents - count, math.fsum(values) / count, _quantile(values, 0.5),
                _quantile(values, 0.9))


def _business(calendar: SlaCalendar, pairs: list[tuple[float, float]]) -> list[float]:
    moment = datetime.fromtimestamp
    between = calendar.between
    return [between(moment(a, UTC), moment(b, UTC)).total_seconds() for a, b in pairs]


def _sla(facts: Sequence[IncidentFacts], metrics: Iterable[str], incidents: int
         ) -> tuple[SlaCompliance, ...]:
    """Compliance rows of ``metrics`` from the incidents that have SLA outcomes (``facts``) out
    of ``incidents`` incidents."""
    result: list[SlaCompliance] = []
    for metric in metrics:
        per_priority: dict[int, list[int]] = {}  # priority -> [met, breached, other]
        for item in facts:
            for outcome in item.sla:
                if outcome.metric == metric:
                    counts = per_priority.setdefault(outcome.priority, [0, 0, 0])
                    status = outcome.status
                    counts[0 if status == _MET else 1 if status == _BREACHED else 2] += 1
        met = sum(c[0] for c in per_priority.values())
        breached = sum(c[1] for c in per_priority.values())
        result.append(SlaCompliance(metric, None, met, breached, incidents - met - breached))
        result.extend(SlaCompliance(metric, p, c[0], c[1], c[2])
                      for p, c in sorted(per_priority.items()))
    return tuple(result)


def _business_stats(calendar: SlaCalendar, facts: Sequence[IncidentFacts], incidents: int
                    ) -> list[Stat | None]:
    return [_stat(_business(calendar, pairs), incidents) for pairs in (
        [(f.logged, f.acknowledged) for f in facts if f.acknowledged is not None],
        [(f.logged, f.first_resolved) for f in facts if f.first_resolved is not None],
        [(f.logged, f.resolved) for f in facts if f.resolved is not None],
    )]


def kpi_figures(facts: Iterable[IncidentFacts], *, calendar: SlaCalendar | None = None,
                sla_metrics: Iterable[str] | None = None) -> KpiFigures:
    """Every KPI of ``facts`` (one record per incident; see the module documentation).

    Business durations need ``calendar``. SLA compliance is reported for ``sla_metrics``
    (default: the metrics found in the facts). One pass over the facts (plus one per business
    duration with a calendar), then a sort per distribution.
    """
    checked = check.calendar(calendar)
    facts = facts if isinstance(facts, list) else list(facts)
    acknowledged: list[float] = []
    first: list[float] = []
    final: list[float] = []
    hops: list[float] = []
    scores: list[float] = []
    with_sla: list[IncidentFacts] = []
    first_contact = reopened = reassigned = escalated = functional = hierarchical = 0
    major = closed = scored = 0
    for item in facts:
        logged = item.logged
        if item.acknowledged is not None:
            acknowledged.append(item.acknowledged - logged)
        if item.first_resolved is not None:
            first.append(item.first_resolved - logged)
            if item.first_contact:
                first_contact += 1
            if item.reopens:
                reopened += 1
        if item.resolved is not None:
            final.append(item.resolved - logged)
        hops.append(float(item.reassignments))
        if item.reassignments:
            reassigned += 1
        if item.functional_escalations or item.hierarchical_escalations:
            escalated += 1
            functional += item.functional_escalations > 0
            hierarchical += item.hierarchical_escalations > 0
        if item.major:
            major += 1
        if item.satisfaction is not None:
            scores.append(float(item.satisfaction))
        if item.closed is not None:
            closed += 1
            scored += item.satisfaction is not None
        if item.sla:
            with_sla.append(item)
    incidents, resolved = len(facts), len(first)
    business = ([None, None, None] if checked is None
                else _business_stats(checked, facts, incidents))
    if sla_metrics is None:
        found = {outcome.metric for item in with_sla for outcome in item.sla}
        sla_metrics = [m for m in _METRICS if m in found] + sorted(found - set(_METRICS))
    return KpiFigures(
        incidents=incidents,
        time_to_acknowledge=_stat(acknowledged, incidents),
        time_to_resolve=_stat(first, incidents),
        time_to_final_resolution=_stat(final, incidents),
        business_time_to_acknowledge=business[0],
        business_time_to_resolve=business[1],
        business_time_to_final_resolution=business[2],
        first_contact_resolution=Rate(first_contact, resolved, incidents - resolved),
        reopen=Rate(reopened, resolved, incidents - resolved),
        reassignment=Rate(reassigned, incidents, 0),
        hops=_stat(hops, incidents),
        escalation=Rate(escalated, incidents, 0),
        functional_escalation=Rate(functional, incidents, 0),
        hierarchical_escalation=Rate(hierarchical, incidents, 0),
        major_incidents=major,
        satisfaction=_stat(scores, incidents),
        satisfaction_response=Rate(scored, closed, incidents - closed),
        sla=_sla(with_sla, sla_metrics, incidents),
    )


def _age_label(lower: float | None, upper: float | None) -> str:
    if lower is None:
        return f"<{_duration(upper)}"
    if upper is None:
        return f">={_duration(lower)}"
    return f"{_duration(lower)}-{_duration(upper)}"


def _duration(seconds: float | None) -> str:
    value = seconds or 0.0
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if value >= size and value % size == 0:
            return f"{int(value // size)}{unit}"
    return f"{value:g}s"


def _backlog_figures(ages: list[float], edges: tuple[float, ...]) -> BacklogFigures:
    counts = [0] * (len(edges) + 1)
    for age in ages:
        counts[bisect_right(edges, age)] += 1
    bounds = (None, *edges, None)
    buckets = tuple(
        AgeBucket(_age_label(bounds[i], bounds[i + 1]), bounds[i] or 0.0, bounds[i + 1],
                  counts[i])
        for i in range(len(counts)))
    return BacklogFigures(len(ages), buckets, _stat(ages, len(ages)))


def _open_at(facts: Iterable[IncidentFacts], instant: float) -> list[IncidentFacts]:
    result = []
    for item in facts:
        if item.logged > instant:
            continue
        changes = item.open_changes
        if not changes or changes[0] > instant or bisect_right(changes, instant) % 2 == 0:
            result.append(item)
    return result


def backlog_of(facts: Sequence[IncidentFacts], at: datetime, edges: tuple[float, ...],
             functions: tuple[tuple[str, KeyFunction], ...]) -> Backlog:
    instant = at.timestamp()
    backlog_facts = _open_at(facts, instant)
    total = _backlog_figures([instant - f.logged for f in backlog_facts], edges)
    groups: tuple[BacklogGroup, ...] = ()
    if functions:
        groups = tuple(
            BacklogGroup(key, _backlog_figures([instant - f.logged for f in members], edges))
            for key, members in check.group(backlog_facts, [f for _, f in functions]))
    return Backlog(at, tuple(name for name, _ in functions), total, groups)


