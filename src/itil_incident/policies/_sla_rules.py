"""The vocabulary of SLA clocks: metrics, the calendar they run on, and when they run.

Re-exported by :mod:`itil_incident.policies.sla`; import from there.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from itil_incident.errors import DefinitionError
from itil_incident.policies import _sla_checks as check

__all__ = ["ClockRules", "SlaCalendar", "SlaMetric", "clock_rules", "default_clock_rules",
           "to_metric"]


class SlaMetric(enum.StrEnum):
    """What a clock measures: time to respond (own / acknowledge) and time to resolve."""

    RESPONSE = "response"
    RESOLUTION = "resolution"


_METRICS = frozenset(m.value for m in SlaMetric)


@runtime_checkable
class SlaCalendar(Protocol):
    """The business calendar a target is measured on (``BusinessCalendar`` implements it).

    Instants in and out are aware UTC datetimes; periods are half-open ``[start, end)``.
    ``add`` gives the earliest instant at which ``duration`` of business time has passed since
    ``start``; ``between`` the business time in ``[start, end)``; ``working_periods`` the
    business periods inside ``[start, end)``, in order, clipped to it.
    """

    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def between(self, start: datetime, end: datetime) -> timedelta: ...

    def working_periods(
        self, start: datetime, end: datetime
    ) -> Sequence[tuple[datetime, datetime]]: ...


def to_metric(value: object) -> SlaMetric:
    if isinstance(value, str) and value in _METRICS:
        return SlaMetric(value)
    known = ", ".join(m.value for m in SlaMetric)
    raise DefinitionError(f"unknown SLA metric {value!r} (known: {known})", culprit="targets")


@attrs.frozen(kw_only=True)
class ClockRules:
    """When one metric's clock starts, stops and resumes (ITIL defaults: :meth:`response`,
    :meth:`resolution`).

    - **start**: at the first event named in ``start_events`` (event ``name`` such as
      ``"incident.logged"``) or entering a state in ``start_states``.
    - **stop**: at an event named in ``stop_events``; at an event that assigns a person when
      ``stop_on_assignee`` (an ``incident.assigned`` event with an assignee); on entering a state in
      ``stop_states``; on entering a state flagged ``resolved`` when ``stop_on_resolved``.
    - **resume** (a new cycle, elapsed time kept): when ``resume_on_reopen`` and the incident
      moves from a state flagged ``resolved`` to a state neither resolved nor terminal.
    - **pause**: when ``pause`` is true the agreement's pause rule applies (see
      :class:`SlaAgreement`); when false the clock never pauses.
    - **cancel** (not configurable): entering a terminal state that is not flagged ``resolved``
      cancels a clock that has not stopped.
    """

    start_events: frozenset[str] = attrs.field(default=frozenset({"incident.logged"}),
                                               converter=check.names)
    start_states: frozenset[str] = attrs.field(default=frozenset(), converter=check.names)
    stop_events: frozenset[str] = attrs.field(default=frozenset(), converter=check.names)
    stop_on_assignee: bool = False
    stop_states: frozenset[str] = attrs.field(default=frozenset(), converter=check.names)
    stop_on_resolved: bool = True
    resume_on_reopen: bool = False
    pause: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.start_events and not self.start_states:
            raise DefinitionError("clock rules need a start event or a start state",
                                  culprit="start_events")
        for name in ("stop_on_assignee", "stop_on_resolved", "resume_on_reopen", "pause"):
            if type(getattr(self, name)) is not bool:
                raise DefinitionError(f"ClockRules.{name} must be True or False", culprit=name)

    @classmethod
    def response(cls) -> ClockRules:
        """ITIL time to own: starts when logged; stops at the first assignment to a person, when
        work starts, or at resolution if that comes first; a reopen does not resume it."""
        return cls(stop_events=frozenset({"incident.work_started"}), stop_on_assignee=True)

    @classmethod
    def resolution(cls) -> ClockRules:
        """ITIL time to resolve: starts when logged; stops on entering a state flagged
        ``resolved``; a reopen resumes it with the elapsed time kept."""
        return cls(resume_on_reopen=True)


def default_clock_rules() -> Mapping[SlaMetric, ClockRules]:
    return types.MappingProxyType({
        SlaMetric.RESPONSE: ClockRules.response(),
        SlaMetric.RESOLUTION: ClockRules.resolution(),
    })


def clock_rules(value: object) -> Mapping[SlaMetric, ClockRules]:
    if not isinstance(value, Mapping):
        raise DefinitionError("clock_rules must map a metric to ClockRules", culprit="clock_rules")
    result = dict(default_clock_rules())
    for key, rules in value.items():
        if not isinstance(rules, ClockRules):
            raise DefinitionError(f"clock_rules[{key!r}] must be ClockRules, got {rules!r}",
                                  culprit="clock_rules")
        result[to_metric(key)] = rules
    return types.MappingProxyType(result)
