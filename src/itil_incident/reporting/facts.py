"""Per-incident facts: what the KPIs need from one incident, read in one pass over its history.

:func:`incident_facts` walks an incident's events once, oldest first, and returns an
:class:`IncidentFacts`: a compact, immutable record (a named tuple) of instants as epoch seconds
(floats, UTC), counts and the dimensions reports group by. Every KPI in
:mod:`itil_incident.reporting.kpis` is computed from these records, never from history rows, so
each incident weighs the same whatever the number of its updates.

The history is the truth: states, resolutions and reopens are read from the events and the
workflow's state flags (``resolved``, ``terminal``), not from the incident's current fields.
With ``at``, events after that instant are ignored: the facts are what the history said then.

Definitions (the KPI module's documentation explains how each becomes a figure):

``acknowledged``
    The first of: an ``IncidentAssigned`` naming an assignee, an ``IncidentWorkStarted``, or
    the first resolution (an incident resolved before anyone took it was acknowledged by its
    resolution).
``first_resolved`` / ``first_resolved_by``
    When (and by whom) the incident first entered a state flagged ``resolved`` from one that is
    not (``IncidentResolved`` in the default lifecycle; any event in a host workflow).
``resolved``
    The final resolution: the last entry into a resolved state, kept only while the incident is
    still resolved (or closed) at the end of the history; None after a reopen not yet resolved
    again.
``closed`` / ``cancelled``
    Entry into a terminal state: ``closed`` when the incident was resolved before or by that
    event, ``cancelled`` otherwise.
``open_changes``
    The instants at which the incident stopped or started being *open* (in a state neither
    resolved nor terminal), alternately, starting open at ``logged``: ``(resolved,)`` for an
    incident resolved once, ``(resolved, reopened, resolved again)`` after a reopen. Backlog
    questions at any instant are answered from it.
``reopens``
    Moves from a resolved state back to an open one (``IncidentReopened`` in the default
    lifecycle).
``reassignments``
    Changes of support group away from a group that was set, as the entity counts them: an
    ``IncidentAssigned`` to another group, or a functional escalation. The first group given
    to an incident logged without one is not a reassignment.
``functional_escalations`` / ``hierarchical_escalations``
    ``IncidentEscalated`` events of each kind.
``major``
    Whether the priority level was 1 at any time (at logging, after a reprioritization, an
    override or its withdrawal). The library has no major-incident flag yet; when it gets one,
    this fact will follow the flag.
``first_contact``
    None when never resolved; otherwise True exactly when the first resolution was made by the
    actor who logged the incident, within ``fcr_window`` of logging (no limit when None), with
    no reassignment and no escalation (of either kind) before it, and the incident was never
    reopened.
``satisfaction`` / ``caller_confirmed``
    From the last ``IncidentClosed`` (None when not closed or not given).
``channel``, ``category``, ``service``, ``group``, ``priority``, ``caller``, ``custom``
    The values at the end of the history (category as its ``A/B`` text, priority as its
    level, group the assignment group).
``sla``
    Only when an SLA policy is given: one :class:`SlaOutcome` per customer SLA clock
    (response, resolution) from :func:`~itil_incident.policies.sla_clock.evaluate` at ``at`` (or
    at the last event when ``at`` is None). That evaluation is a second walk over the history;
    OLA clocks are not reported.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from itil_incident.domain._time import utc_instant
from itil_incident.domain.events import (
    IncidentAssigned,
    IncidentCategorized,
    IncidentClosed,
    IncidentCustomAttributeSet,
    IncidentDetailsUpdated,
    IncidentEscalated,
    IncidentLogged,
    IncidentPriorityOverridden,
    IncidentPriorityOverrideCleared,
    IncidentReprioritized,
    IncidentWorkStarted,
)
from itil_incident.domain.incident import Incident
from itil_incident.domain.lifecycles import default_incident_workflow
from itil_incident.domain.values import CustomValue, EscalationKind
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ValidationError
from itil_incident.policies.sla import SlaPolicy
from itil_incident.policies.sla_clock import evaluate

__all__ = [
    "DEFAULT_FCR_WINDOW",
    "IncidentFacts",
    "SlaOutcome",
    "incident_facts",
]

#: How soon after logging a resolution by the logging actor counts as first-contact resolution.
DEFAULT_FCR_WINDOW = timedelta(minutes=30)

_FUNCTIONAL = EscalationKind.FUNCTIONAL
_PRIORITY_EVENTS = (IncidentReprioritized, IncidentPriorityOverridden,
                    IncidentPriorityOverrideCleared)


class SlaOutcome(NamedTuple):
    """One customer SLA clock of an incident: ``metric`` (``"response"`` or
    ``"resolution"``), its ``status`` (a :class:`~itil_incident.ClockStatus` value) and the
    ``priority`` level whose target it was measured against."""

    metric: str
    status: str
    priority: int


class IncidentFacts(NamedTuple):
    """What the KPIs need from one incident; instants are epoch seconds (UTC floats).

    A named tuple: immutable, one slot per field, ``_asdict()`` for a dict. See the module
    documentation for the definition of each field; ``channel`` holds the
    :class:`~itil_incident.Channel` value (a ``str``).
    """

    incident_id: str
    logged: float
    logged_by: str
    channel: str
    category: str | None
    service: str | None
    group: str | None
    priority: int
    caller: str | None
    acknowledged: float | None
    first_resolved: float | None
    first_resolved_by: str | None
    resolved: float | None
    closed: float | None
    cancelled: float | None
    open_changes: tuple[float, ...]
    reopens: int
    reassignments: int
    functional_escalations: int
    hierarchical_escalations: int
    major: bool
    first_contact: bool | None
    satisfaction: int | None
    caller_confirmed: bool | None
    last_event: float
    sla: tuple[SlaOutcome, ...] = ()
    custom: tuple[tuple[str, CustomValue], ...] = ()

    def is_open_at(self, instant: float) -> bool:
        """Whether the incident was logged and open (neither resolved nor terminal) at
        ``instant`` (epoch seconds), as its history says."""
        if instant < self.logged:
            return False
        changes = self.open_changes
        return not changes or bisect_right(changes, instant) % 2 == 0


class _Flags(NamedTuple):
    open: frozenset[str]
    resolved: frozenset[str]
    terminal: frozenset[str]


_FLAG_CACHE: dict[int, tuple[Workflow, _Flags]] = {}


def flags_of(workflow: Workflow) -> _Flags:
    """The workflow's state flags as sets (workflows are shared; read once per workflow)."""
    entry = _FLAG_CACHE.get(id(workflow))
    if entry is not None and entry[0] is workflow:
        return entry[1]
    states = workflow.states.values()
    flags = _Flags(
        frozenset(s.name for s in states if not (s.resolved or s.terminal)),
        frozenset(s.name for s in states if s.resolved),
        frozenset(s.name for s in states if s.terminal),
    )
    if len(_FLAG_CACHE) >= 64:
        _FLAG_CACHE.clear()
    _FLAG_CACHE[id(workflow)] = (workflow, flags)
    return flags


def check_workflow(workflow: object) -> Workflow:
    """``workflow``, or the default incident workflow for None."""
    if workflow is None:
        return default_incident_workflow()
    if not isinstance(workflow, Workflow):
        raise ValidationError(f"workflow must be a Workflow, got {type(workflow).__name__}",
                              field="workflow")
    return workflow


def check_fcr_window(value: object) -> float | None:
    """The first-contact window in seconds (None: no limit)."""
    if value is None:
        return None
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError(f"fcr_window must be a timedelta >= 0 or None, got {value!r}",
                              field="fcr_window")
    return value.total_seconds()


def check_sla(value: object) -> SlaPolicy | None:
    if value is not None and not isinstance(value, SlaPolicy):
        raise ValidationError(f"sla must be an SlaPolicy or None, got {type(value).__name__}",
                              field="sla")
    return value


def history_of(source: object) -> tuple[Sequence[object], Workflow | None]:
    """The events of ``source`` (an incident or a sequence of events) and the incident's own
    workflow (None for a bare sequence)."""
    if isinstance(source, Incident):
        return source.timeline(), source.workflow
    if isinstance(source, (str, bytes)) or not isinstance(source, Sequence):
        raise ValidationError("expected an Incident or a sequence of its events, got "
                              f"{type(source).__name__}", field="incidents")
    return source, None


def incident_facts(
    source: Incident | Sequence[object],
    *,
    workflow: Workflow | None = None,
    at: datetime | None = None,
    fcr_window: timedelta | None = DEFAULT_FCR_WINDOW,
    sla: SlaPolicy | None = None,
) -> IncidentFacts:
    """The facts of one incident, from an :class:`~itil_incident.Incident` or its events
    (oldest first, starting with ``IncidentLogged``, as ``ServiceDesk.timeline`` gives them).

    ``workflow`` gives the state flags for a bare history (default: the default incident
    workflow); an incident brings its own. With ``at`` (aware), later events are ignored
    (an incident logged after ``at`` keeps its logging facts; reports leave it out).
    ``fcr_window`` bounds first-contact resolution; ``sla`` adds SLA outcomes. A history that
    does not start with ``IncidentLogged`` raises :class:`~itil_incident.ValidationError`.
    """
    history, own = history_of(source)
    checked = check_workflow(workflow)
    chosen = own if own is not None else checked
    when = None if at is None else utc_instant(at, "at")
    return derive(history, chosen, flags_of(chosen), None if when is None else when.timestamp(),
                  when, check_fcr_window(fcr_window), check_sla(sla))


def derive(history: Sequence[object], workflow: Workflow, flags: _Flags, at: float | None,
           when: datetime | None, fcr_window: float | None, sla: SlaPolicy | None
           ) -> IncidentFacts:
    """:func:`incident_facts` with checked arguments (the report calls it once per incident;
    ``flags`` are ``flags_of(workflow)``)."""
    try:
        first = history[0]
    except IndexError:
        raise ValidationError("an incident history cannot be empty", field="history") from None
    if not isinstance(first, IncidentLogged):
        raise ValidationError(f"an incident history starts with IncidentLogged, got "
                              f"{type(first).__name__}", field="history")
    try:
        return _walk(first, history, flags, at, fcr_window, sla, workflow, when)
    except AttributeError as error:
        raise ValidationError(f"not an incident event in the history of {first.incident_id}: "
                              f"{error}", field="history") from None


def _walk(first: IncidentLogged, history: Sequence[object], flags: _Flags, at: float | None,
          fcr_window: float | None, sla: SlaPolicy | None, workflow: Workflow,
          when: datetime | None) -> IncidentFacts:
    open_states, resolved_states, terminal_states = flags
    logged = first.at.timestamp()
    logged_by = first.actor.id
    status = first.to_status
    is_open = status in open_states
    changes: list[float] = [] if is_open else [logged]
    priority = first.priority.level
    major = priority == 1
    category = None if first.category is None else str(first.category)
    service, caller, group, custom = (first.service, first.caller, first.assignment_group,
                                      first.custom)
    acknowledged = first_resolved = resolved = closed = cancelled = None
    first_resolved_by: str | None = None
    reopens = reassignments = functional = hierarchical = 0
    disturbed = False  # a reassignment or an escalation before the first resolution
    satisfaction: int | None = None
    confirmed: bool | None = None
    last = logged
    # Events are read duck-typed for speed: a foreign object raises AttributeError, which
    # derive() reports as a ValidationError.
    events: Iterator[Any] = iter(history)
    next(events)
    for event in events:
        kind = type(event)
        stamp = event.at.timestamp()
        if at is not None and stamp > at:
            break
        last = stamp
        target: str = event.to_status
        if target != status:
            now_open = target in open_states
            if now_open != is_open:
                changes.append(stamp)
                is_open = now_open
            was_resolved = status in resolved_states
            if target in resolved_states:
                if not was_resolved:
                    if first_resolved is None:
                        first_resolved = stamp
                        first_resolved_by = event.actor.id
                        if acknowledged is None:
                            acknowledged = stamp
                    resolved = stamp
            elif was_resolved and now_open:
                reopens += 1
                resolved = None
            if target in terminal_states:
                if was_resolved or target in resolved_states:
                    closed = stamp
                else:
                    cancelled = stamp
            status = target
        if kind is IncidentAssigned:
            assigned: IncidentAssigned = event
            if acknowledged is None and assigned.assignee is not None:
                acknowledged = stamp
            previous = assigned.previous_assignment_group
            group = assigned.assignment_group
            if previous is not None and group != previous:
                reassignments += 1
                disturbed = disturbed or first_resolved is None
        elif kind is IncidentWorkStarted:
            if acknowledged is None:
                acknowledged = stamp
        elif kind is IncidentClosed:
            closing: IncidentClosed = event
            rating = closing.satisfaction
            satisfaction = None if rating is None else rating.score
            confirmed = closing.caller_confirmed
        elif kind is IncidentEscalated:
            escalation: IncidentEscalated = event
            disturbed = disturbed or first_resolved is None
            if escalation.kind is _FUNCTIONAL:
                functional += 1
                if escalation.previous_assignment_group is not None:
                    reassignments += 1
                group = escalation.assignment_group
            else:
                hierarchical += 1
        elif kind in _PRIORITY_EVENTS:
            priority = event.priority.level
            major = major or priority == 1
        elif kind is IncidentCategorized:
            category = str(event.category)
        elif kind is IncidentDetailsUpdated:
            for field, _before, after in event.updates:
                if field == "service":
                    service = after
                elif field == "caller":
                    caller = after
        elif kind is IncidentCustomAttributeSet:
            custom = _set_custom(custom, event)
    first_contact = None
    if first_resolved is not None:
        first_contact = (first_resolved_by == logged_by and not disturbed and reopens == 0
                         and (fcr_window is None or first_resolved - logged <= fcr_window))
    outcomes: tuple[SlaOutcome, ...] = ()
    if sla is not None:
        outcomes = _sla_outcomes(history, sla, workflow, when, last)
    return IncidentFacts(
        first.incident_id, logged, logged_by, first.channel, category, service, group,
        priority, caller, acknowledged, first_resolved, first_resolved_by, resolved, closed,
        cancelled, tuple(changes), reopens, reassignments, functional, hierarchical, major,
        first_contact, satisfaction, confirmed, last, outcomes, custom,
    )


def _set_custom(custom: tuple[tuple[str, CustomValue], ...], event: IncidentCustomAttributeSet
                ) -> tuple[tuple[str, CustomValue], ...]:
    values = dict(custom)
    if event.value is None:
        values.pop(event.attribute, None)
    else:
        values[event.attribute] = event.value
    return tuple(sorted(values.items()))


def _sla_outcomes(history: Sequence[object], sla: SlaPolicy, workflow: Workflow,
                  when: datetime | None, last: float) -> tuple[SlaOutcome, ...]:
    instant = when if when is not None else datetime.fromtimestamp(last, UTC)
    clocks = evaluate(history, sla, workflow, instant)  # type: ignore[arg-type]  # checked events
    return tuple(SlaOutcome(c.metric.value, c.status.value, c.priority)
                 for c in clocks if c.group is None)
