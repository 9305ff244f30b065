"""Incident KPIs: over any incidents with their histories, at an instant or over a period.

:func:`kpi_report` takes incidents (``Incident`` objects from a repository query, event
histories from an import, or :class:`~itil_incident.reporting.IncidentFacts` computed before),
reads each history once into an ``IncidentFacts`` record (see
:mod:`itil_incident.reporting.facts` for the per-incident definitions), then aggregates the
records. Every figure is per incident, never per history row: an incident with a hundred
updates weighs what an incident with three does.

Which incidents
    The *cohort* is the incidents whose ``anchor`` instant exists and, with a ``period``
    ``(start, end)``, lies in ``[start, end)``: ``"logged"`` (default), ``"resolved"`` (first
    resolution) or ``"closed"``. With ``at``, events after ``at`` are ignored (the report says
    what the histories said then) and incidents logged after ``at`` are left out; facts given
    ready-made are used as they are. The incidents left out are counted in ``excluded``. The
    backlog looks at every incident given, not only the cohort.
Missing values
    A figure an incident has no value for (no acknowledgement yet, not resolved, no score) is
    counted in ``missing``, never dropped: for every :class:`Stat` and :class:`Rate`,
    ``n + missing`` is the number of incidents of the group.

The figures (durations in seconds; business durations on ``calendar``, when given, with
``calendar.between(start, end)``):

``time_to_acknowledge``
    From logging to acknowledgement: the first assignment naming an assignee, work started, or
    the first resolution if that came first. Mean, median and p90 (90th percentile, linear
    interpolation between closest ranks, as Excel's PERCENTILE.INC or numpy's default).
``time_to_resolve``
    From ``logged_at`` to the *first* resolution. Logging, not ``occurred_at``, starts it:
    ``occurred_at`` is optional and often a guess, logging is when the desk became accountable,
    and SLA clocks start there too. ``time_to_final_resolution``: to the last resolution, for
    incidents resolved (or closed) at the end of their history; a reopened incident not yet
    resolved again has none.
``first_contact_resolution``
    Resolved incidents (``n``) whose first resolution was made by the actor who logged them,
    within ``fcr_window`` (default 30 minutes; None: no limit) of logging, with no reassignment
    and no escalation before it, and that were never reopened (``count``).
``reopen``
    Incidents reopened at least once / incidents resolved at least once.
``reassignment`` and ``hops``
    Incidents with at least one reassignment (a change of group away from a set group, by
    assignment or functional escalation) / all incidents; ``hops`` is the distribution of the
    reassignment count over all incidents (its mean is the mean hops).
``escalation``
    Incidents escalated at least once (functionally or hierarchically) / all incidents; also
    ``functional_escalation`` and ``hierarchical_escalation`` separately.
``major_incidents``
    The number of incidents whose priority level was 1 at any time (there is no major-incident
    flag yet; when one exists, this count will follow it).
``satisfaction`` and ``satisfaction_response``
    The scores (1-5) given at closure; the response rate is closed incidents with a score /
    closed incidents.
``sla``
    With an SLA policy (``sla=``), per metric (response, resolution) and per priority level of
    the clock: customer SLA clocks met or breached at the evaluation instant (``at``, else each
    incident's last event); ``rate = met / (met + breached)``. Clocks still running, paused,
    not started or cancelled, and incidents without an SLA, are ``missing``.
Backlog at ``t``
    Incidents logged at or before ``t`` and, as their history says (not their current status),
    neither resolved, closed nor cancelled at ``t`` (after every event stamped ``t``). Ages
    (``t - logged_at``) fall in buckets ``[lower, upper)`` given by the ``age_buckets`` edges
    (default 1, 3, 7 and 30 days: ``<1d``, ``1d-3d``, ``3d-7d``, ``7d-30d``, ``>=30d``).
    ``t`` is ``at``, else the end of the period, else the last event of all incidents given.
Volumes
    Cohort counts per category (its full path), priority level, service, channel, assignment
    group (values at the end of each history; None when absent) and period (the report's
    ``bucket``, else month).
Grouping
    ``group_by`` takes dimension names (``"category"``, ``"priority"``, ``"service"``,
    ``"channel"``, ``"group"``), ``(name, function)`` pairs or functions (named by their
    ``__name__``) that map an ``IncidentFacts`` to a ``str``, an ``int`` (``bool`` included)
    or None; groups come sorted by key, None last. ``bucket``
    (``"day"``, ``"week"`` for ISO weeks such as ``2026-W02``, ``"month"``) adds a last key part
    ``"period"``: the anchor instant's local date in ``time_zone`` (an IANA name). Groups
    partition the cohort: their ``incidents`` add up to the total.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from itil_incident.domain._time import utc_instant
from itil_incident.domain.workflow import Workflow
from itil_incident.policies.sla import SlaCalendar, SlaPolicy
from itil_incident.reporting import _arguments as check
from itil_incident.reporting import facts as _facts
from itil_incident.reporting._arguments import (
    ANCHORS,
    BUCKETS,
    DEFAULT_AGE_BUCKETS,
    DIMENSIONS,
    GroupBy,
    KeyFunction,
)
from itil_incident.reporting._figures import backlog_of, kpi_figures
from itil_incident.reporting._results import Backlog, Key, KpiGroup, KpiReport, Volumes
from itil_incident.reporting.facts import DEFAULT_FCR_WINDOW, IncidentFacts

__all__ = [
    "ANCHORS",
    "BUCKETS",
    "DEFAULT_AGE_BUCKETS",
    "DIMENSIONS",
    "GroupBy",
    "KeyFunction",
    "backlog",
    "kpi_figures",
    "kpi_report",
]

_ANCHOR_FIELDS = {"logged": "logged", "resolved": "first_resolved", "closed": "closed"}
_METRICS = ("response", "resolution")


def backlog(
    incidents: Iterable[IncidentFacts | object],
    *,
    at: datetime,
    group_by: Sequence[GroupBy] = (),
    age_buckets: Sequence[timedelta] = DEFAULT_AGE_BUCKETS,
    workflow: Workflow | None = None,
) -> Backlog:
    """The incidents open at ``at`` and their ages, in total and per group (see the module
    documentation); ``incidents`` as for :func:`kpi_report`."""
    when = utc_instant(at, "at")
    edges = check.age_edges(age_buckets)
    functions = check.key_functions(group_by)
    facts = check.gather(incidents, _facts.check_workflow(workflow), when, None, None)
    return backlog_of(facts, when, edges, functions)


def _volumes(facts: Sequence[IncidentFacts], period: Callable[[IncidentFacts], str]
             ) -> Volumes:
    counts: dict[str, tuple[tuple[Key, int], ...]] = {}
    functions: list[tuple[str, KeyFunction]] = [(d, operator.attrgetter(d)) for d in DIMENSIONS]
    functions.append(("period", period))
    for name, function in functions:
        tally = Counter(map(function, facts))
        counts[name] = tuple(sorted(tally.items(),
                                    key=lambda pair: (-pair[1], check.sort_key((pair[0],)))))
    return Volumes(counts)


# -- the report --------------------------------------------------------------------------------


def kpi_report(
    incidents: Iterable[IncidentFacts | object],
    *,
    at: datetime | None = None,
    period: tuple[datetime, datetime] | None = None,
    anchor: str = "logged",
    group_by: Sequence[GroupBy] = (),
    bucket: str | None = None,
    time_zone: str = "UTC",
    calendar: SlaCalendar | None = None,
    age_buckets: Sequence[timedelta] = DEFAULT_AGE_BUCKETS,
    workflow: Workflow | None = None,
    sla: SlaPolicy | None = None,
    fcr_window: timedelta | None = DEFAULT_FCR_WINDOW,
) -> KpiReport:
    """The KPI report of ``incidents`` (``Incident`` objects, event histories oldest first,
    or ``IncidentFacts``); the module documentation defines every figure and argument.

    ``workflow`` gives the state flags of bare histories (default: the default incident
    workflow; an ``Incident`` brings its own); ``sla`` adds SLA compliance; ``fcr_window``
    bounds first-contact resolution. Bad arguments raise
    :class:`~itil_incident.ValidationError`.
    """
    when = check.instant(at, "at")
    span = check.period(period)
    anchor = check.choice(anchor, ANCHORS, "anchor")
    functions = check.key_functions(group_by)
    chosen_bucket = None if bucket is None else check.choice(bucket, BUCKETS, "bucket")
    zone = check.zone(time_zone)
    checked_calendar = check.calendar(calendar)
    edges = check.age_edges(age_buckets)
    policy = _facts.check_sla(sla)
    facts = check.gather(incidents, _facts.check_workflow(workflow), when,
                         _facts.check_fcr_window(fcr_window), policy)

    anchor_of = operator.attrgetter(_ANCHOR_FIELDS[anchor])
    low, high = (-math.inf, math.inf) if span is None else (span[0].timestamp(),
                                                           span[1].timestamp())
    if when is not None:  # an incident logged after ``at`` did not exist yet
        high = min(high, math.nextafter(when.timestamp(), math.inf))
    cohort = [f for f in facts if (a := anchor_of(f)) is not None and low <= a < high
              and f.logged < high]
    label = check.bucketer(chosen_bucket or "month", zone)

    def period_of(item: IncidentFacts) -> str:
        return label(anchor_of(item))

    keys = [function for _, function in functions]
    columns = tuple(name for name, _ in functions)
    if chosen_bucket is not None:
        keys.append(period_of)
        columns = (*columns, "period")
    metrics = _METRICS if policy is not None else None
    groups = tuple(KpiGroup(key, kpi_figures(members, calendar=checked_calendar,
                                             sla_metrics=metrics))
                   for key, members in (check.group(cohort, keys) if keys else ()))
    if when is not None:
        backlog_at = when
    elif span is not None:
        backlog_at = span[1]
    else:
        last = max((f.last_event for f in facts), default=0.0)
        backlog_at = datetime.fromtimestamp(last, UTC)
    return KpiReport(
        at=backlog_at, period=span, anchor=anchor, bucket=chosen_bucket,
        time_zone=time_zone, columns=columns, considered=len(facts),
        excluded=len(facts) - len(cohort),
        total=kpi_figures(cohort, calendar=checked_calendar, sla_metrics=metrics),
        groups=groups, volumes=_volumes(cohort, period_of),
        backlog=backlog_of(facts, backlog_at, edges, functions),
    )
