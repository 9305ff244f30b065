"""What-if simulation of SLA policies: how would other targets, calendars or pause rules have
done on the same incident histories?

:func:`what_if` evaluates every incident's customer SLA clocks (response and resolution) with
:func:`~itil_incident.policies.sla_clock.evaluate` under the ``original`` policy and under each
alternative, and counts the outcomes side by side per metric, priority level and month. It only
reads histories: stored incidents, their events and their recorded SLA stages are never
changed, so it runs safely on a live repository's query or on an import.

Counting
    One clock per incident, metric and policy, in its status at the evaluation instant: ``at``
    when given, else the incident's last event (for closed incidents every clock is final then).
    The clock's priority is the level its target was taken from; the month is the incident's
    logging month in ``time_zone``. An incident to which a policy gives no clock for a metric
    counts in that policy's ``without_clock``. With ``period`` ``(start, end)`` only incidents
    logged in ``[start, end)`` count. OLA clocks are left out.

>>> from datetime import timedelta
>>> from itil_incident import Actor, BusinessCalendar, SlaAgreement, SlaMetric, SlaPolicy
>>> from itil_incident import SlaPolicyVersion
>>> from itil_incident.testing import FrozenClock, make_desk, DEFAULT_START
>>> def policy(hours):
...     return SlaPolicy.single("support", SlaPolicyVersion(
...         version=1, effective_from=DEFAULT_START - timedelta(days=1), fallback="all",
...         agreements=[SlaAgreement(name="all", calendar=BusinessCalendar.always(),
...             targets={SlaMetric.RESOLUTION: dict.fromkeys(range(1, 6),
...                                                          timedelta(hours=hours))})]))
>>> clock = FrozenClock(DEFAULT_START)
>>> desk = make_desk(clock=clock)
>>> incident = desk.log_incident(actor=Actor("alice"), title="Printer jams")
>>> _ = clock.advance(hours=6)
>>> _ = desk.resolve(incident.id, actor=Actor("alice"), code="solved_permanently", notes="Ok")
>>> report = what_if(desk.list_incidents(), original=policy(4), alternatives={"8h": policy(8)})
>>> [(c.policy, c.met, c.breached) for c in report.totals("resolution")]
[('original', 0, 1), ('8h', 1, 0)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from itil_incident.domain.incident import Incident
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import NotFoundError, ValidationError
from itil_incident.policies._sla_rules import SlaMetric, to_metric
from itil_incident.policies._sla_state import ClockStatus
from itil_incident.policies.sla import SlaAgreement, SlaCalendar, SlaPolicy
from itil_incident.policies.sla_clock import evaluate
from itil_incident.reporting import _arguments as check
from itil_incident.reporting import facts as _facts
from itil_incident.reporting._results import Cell, _Table

__all__ = ["ORIGINAL", "ClockCounts", "WhatIfCell", "WhatIfReport", "adjusted_policy",
           "what_if"]

#: The name of the original policy in a :class:`WhatIfReport`.
ORIGINAL = "original"
_METRICS = ("response", "resolution")
_STATUSES = tuple(status.value for status in ClockStatus)


@attrs.frozen
class ClockCounts:
    """The clocks of one metric, priority and month under one ``policy``, by status.
    ``rate`` is ``met / (met + breached)`` (None without a final clock)."""

    policy: str
    met: int = 0
    breached: int = 0
    running: int = 0
    paused: int = 0
    not_started: int = 0
    cancelled: int = 0

    @property
    def clocks(self) -> int:
        return (self.met + self.breached + self.running + self.paused + self.not_started
                + self.cancelled)

    @property
    def rate(self) -> float | None:
        final = self.met + self.breached
        return self.met / final if final else None

    def to_dict(self) -> dict[str, Cell]:
        return {"policy": self.policy, "met": self.met, "breached": self.breached,
                "running": self.running, "paused": self.paused,
                "not_started": self.not_started, "cancelled": self.cancelled,
                "rate": self.rate}


@attrs.frozen
class WhatIfCell:
    """The clocks of ``metric`` at ``priority`` for incidents logged in ``month``
    (``YYYY-MM``), one :class:`ClockCounts` per policy in report order."""

    metric: str
    priority: int
    month: str
    counts: tuple[ClockCounts, ...]

    def of(self, policy: str) -> ClockCounts:
        """The counts of ``policy`` (NotFoundError for an unknown name)."""
        for item in self.counts:
            if item.policy == policy:
                return item
        raise NotFoundError("policy", policy)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "priority": self.priority, "month": self.month,
                "policies": [item.to_dict() for item in self.counts]}

    def row(self) -> dict[str, Cell]:
        row: dict[str, Cell] = {"metric": self.metric, "priority": self.priority,
                                "month": self.month}
        for item in self.counts:
            values = item.to_dict()
            del values["policy"]
            row.update({f"{item.policy}_{name}": value for name, value in values.items()})
        return row


@attrs.frozen
class WhatIfReport(_Table):
    """The outcome of :func:`what_if`: ``policies`` (``"original"`` first, then the
    alternatives in the order given), the cells sorted by metric, priority and month,
    ``incidents`` counted, and per policy and metric the incidents ``without_clock``."""

    policies: tuple[str, ...]
    at: datetime | None
    time_zone: str
    incidents: int
    excluded: int
    cells: tuple[WhatIfCell, ...]
    without_clock: Mapping[str, Mapping[str, int]]

    def totals(self, metric: str, *, priority: int | None = None,
               month: str | None = None) -> tuple[ClockCounts, ...]:
        """Per policy, the counts of ``metric`` summed over every priority and month (or only
        the ``priority`` / ``month`` given)."""
        sums = {name: dict.fromkeys(_STATUSES, 0) for name in self.policies}
        for cell in self.cells:
            if cell.metric != metric or (priority is not None and cell.priority != priority) or (
                    month is not None and cell.month != month):
                continue
            for item in cell.counts:
                values = sums[item.policy]
                for status in _STATUSES:
                    values[status] += getattr(item, status)
        return tuple(ClockCounts(name, **sums[name]) for name in self.policies)

    def to_dict(self) -> dict[str, Any]:
        return {"policies": list(self.policies),
                "at": None if self.at is None else self.at.isoformat(),
                "time_zone": self.time_zone, "incidents": self.incidents,
                "excluded": self.excluded,
                "without_clock": {name: dict(values)
                                  for name, values in self.without_clock.items()},
                "totals": {metric: [item.to_dict() for item in self.totals(metric)]
                           for metric in _METRICS},
                "cells": [cell.to_dict() for cell in self.cells]}

    def rows(self) -> list[dict[str, Cell]]:
        return [cell.row() for cell in self.cells]


def _policies(original: object, alternatives: object) -> dict[str, SlaPolicy]:
    if not isinstance(original, SlaPolicy):
        raise ValidationError(f"original must be an SlaPolicy, got {type(original).__name__}",
                              field="original")
    if not isinstance(alternatives, Mapping) or not alternatives:
        raise ValidationError("alternatives must map at least one name to an SlaPolicy",
                              field="alternatives")
    chosen = {ORIGINAL: original}
    for name, policy in alternatives.items():
        if not isinstance(name, str) or not name.strip() or name == ORIGINAL or not (
                name.isprintable()):
            raise ValidationError(f"an alternative's name must be a printable, non-blank "
                                  f"string other than {ORIGINAL!r}, got {name!r}",
                                  field="alternatives")
        if not isinstance(policy, SlaPolicy):
            raise ValidationError(f"alternative {name!r} must be an SlaPolicy, got "
                                  f"{type(policy).__name__}", field="alternatives")
        chosen[name] = policy
    return chosen


def what_if(
    incidents: Iterable[Incident | Sequence[object]],
    *,
    original: SlaPolicy,
    alternatives: Mapping[str, SlaPolicy],
    at: datetime | None = None,
    period: tuple[datetime, datetime] | None = None,
    time_zone: str = "UTC",
    workflow: Workflow | None = None,
) -> WhatIfReport:
    """Outcomes of the customer SLA clocks of ``incidents`` (``Incident`` objects or event
    histories) under ``original`` and each of ``alternatives`` (see the module
    documentation). ``workflow`` gives the state flags of bare histories (default: the
    default incident workflow). Bad arguments raise :class:`~itil_incident.ValidationError`;
    a history that does not fit a policy's workflow raises it too.
    """
    policies = _policies(original, alternatives)
    when = check.instant(at, "at")
    span = check.period(period)
    zone = check.zone(time_zone)
    default = _facts.check_workflow(workflow)
    if isinstance(incidents, (str, bytes)) or not isinstance(incidents, Iterable):
        raise ValidationError("incidents must be an iterable of incidents or histories",
                              field="incidents")
    low, high = (-math.inf, math.inf) if span is None else (span[0].timestamp(),
                                                           span[1].timestamp())
    month_of = check.bucketer("month", zone)
    counts: dict[tuple[str, int, str], dict[str, dict[str, int]]] = {}
    without = {name: dict.fromkeys(_METRICS, 0) for name in policies}
    counted = excluded = 0
    for item in incidents:
        history, own = _facts.history_of(item)
        chosen = own or default
        if not history:
            raise ValidationError("an incident history cannot be empty", field="incidents")
        first: Any = history[0]
        try:
            logged = first.at.timestamp()
        except AttributeError:
            raise ValidationError(f"not an incident history: starts with "
                                  f"{type(first).__name__}", field="incidents") from None
        if not low <= logged < high or (when is not None and logged > when.timestamp()):
            excluded += 1
            continue
        counted += 1
        instant = when if when is not None else _last(history)
        month = month_of(logged)
        for name, policy in policies.items():
            clocks = evaluate(history, policy, chosen, instant)  # type: ignore[arg-type]  # checked by evaluate
            seen = set()
            for clock in clocks:
                if clock.group is not None:
                    continue
                metric = clock.metric.value
                seen.add(metric)
                cell = counts.setdefault((metric, clock.priority, month), {})
                statuses = cell.setdefault(name, dict.fromkeys(_STATUSES, 0))
                statuses[clock.status.value] += 1
            for metric in _METRICS:
                if metric not in seen:
                    without[name][metric] += 1
    cells = tuple(
        WhatIfCell(metric, priority, month, tuple(
            ClockCounts(name, **counts[(metric, priority, month)].get(
                name, dict.fromkeys(_STATUSES, 0))) for name in policies))
        for metric, priority, month in sorted(counts, key=lambda k: (_METRICS.index(k[0]),
                                                                      k[1], k[2])))
    return WhatIfReport(tuple(policies), when, time_zone, counted, excluded, cells, without)


def _last(history: Sequence[object]) -> datetime:
    stamp: Any = history[-1]
    try:
        instant: datetime = stamp.at
    except AttributeError:
        raise ValidationError(f"not an incident event: {type(stamp).__name__}",
                              field="incidents") from None
    return instant.astimezone(UTC)


def adjusted_policy(
    policy: SlaPolicy,
    *,
    scale: float | None = None,
    targets: Mapping[str, Mapping[int, timedelta]] | None = None,
    calendar: SlaCalendar | None = None,
    pause_hold_reasons: Iterable[str] | None = None,
) -> SlaPolicy:
    """A copy of ``policy`` with every agreement (of every version) changed alike, to
    simulate with :func:`what_if`: targets multiplied by ``scale`` (rounded to the second),
    then the ``targets`` given (``{metric: {priority level: target}}``) put in place, the
    ``calendar`` and the ``pause_hold_reasons`` replaced. Rules, clock rules and versions are
    kept. Bad values raise :class:`~itil_incident.ValidationError` (an unknown metric
    :class:`~itil_incident.DefinitionError`, as the policy's own checks do).

    >>> from itil_incident import BusinessCalendar, SlaPolicyVersion
    >>> policy = SlaPolicy.single("support", SlaPolicyVersion(
    ...     version=1, effective_from=datetime(2026, 1, 1, tzinfo=UTC), fallback="all",
    ...     agreements=[SlaAgreement(name="all", calendar=BusinessCalendar.always(),
    ...                              targets={"resolution": {1: timedelta(hours=4)}})]))
    >>> looser = adjusted_policy(policy, scale=1.5, targets={"response": {1: timedelta(hours=1)}})
    >>> agreement = looser.latest.agreement("all")
    >>> agreement.target(SlaMetric.RESOLUTION, 1), agreement.target(SlaMetric.RESPONSE, 1)
    (datetime.timedelta(seconds=21600), datetime.timedelta(seconds=3600))
    """
    if not isinstance(policy, SlaPolicy):
        raise ValidationError(f"policy must be an SlaPolicy, got {type(policy).__name__}",
                              field="policy")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                              or not 0 < scale < 1e6):
        raise ValidationError(f"scale must be a positive number, got {scale!r}", field="scale")
    replaced = _targets(targets)
    if calendar is not None and not isinstance(calendar, SlaCalendar):
        raise ValidationError("calendar must be a business calendar", field="calendar")
    reasons = None
    if pause_hold_reasons is not None:
        if isinstance(pause_hold_reasons, (str, bytes)) or not isinstance(pause_hold_reasons,
                                                                          Iterable):
            raise ValidationError("pause_hold_reasons must be a collection of hold reasons",
                                  field="pause_hold_reasons")
        listed = list(pause_hold_reasons)
        if not all(isinstance(reason, str) and reason.strip() for reason in listed):
            raise ValidationError("every hold reason must be a non-blank string",
                                  field="pause_hold_reasons")
        reasons = frozenset(listed)

    def adjust(agreement: SlaAgreement) -> SlaAgreement:
        new: dict[SlaMetric, dict[int, timedelta]] = {
            metric: {level: (target if scale is None
                             else timedelta(seconds=round(target.total_seconds() * scale)))
                     for level, target in levels.items()}
            for metric, levels in agreement.targets.items()}
        for metric, levels in replaced.items():
            new.setdefault(metric, {}).update(levels)
        changes: dict[str, Any] = {"targets": new}
        if calendar is not None:
            changes["calendar"] = calendar
        if reasons is not None:
            changes["pause_hold_reasons"] = reasons
        return attrs.evolve(agreement, **changes)

    return SlaPolicy(policy.name, [
        attrs.evolve(version, agreements=tuple(adjust(a) for a in version.agreements))
        for version in policy.versions])


def _targets(value: object) -> dict[SlaMetric, dict[int, timedelta]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("targets must map a metric to {priority level: timedelta}",
                              field="targets")
    result: dict[SlaMetric, dict[int, timedelta]] = {}
    for metric, levels in value.items():
        if not isinstance(levels, Mapping) or not all(
                type(level) is int and isinstance(target, timedelta) and target > timedelta(0)
                for level, target in levels.items()):
            raise ValidationError(f"targets of {metric!r} must map priority levels (int) to "
                                  "positive timedeltas", field="targets")
        result[to_metric(metric)] = dict(levels)
    return result
