"""The history of one incident, walked once, and where each clock went (no agreement yet).

Private helpers of :mod:`itil_incident.policies.sla_clock`.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from itil_incident.domain.events import (
    DomainEvent,
    IncidentAssigned,
    IncidentCancelled,
    IncidentCategorized,
    IncidentCustomAttributeSet,
    IncidentDetailsUpdated,
    IncidentEscalated,
    IncidentEvent,
    IncidentLogged,
    IncidentPriorityOverridden,
    IncidentPriorityOverrideCleared,
    IncidentPutOnHold,
    IncidentReprioritized,
    IncidentResolved,
    IncidentResumed,
)
from itil_incident.domain.values import CategoryPath, CustomValue
from itil_incident.errors import ValidationError
from itil_incident.policies.sla import ClockRules

__all__ = ["ACTIVE", "CANCELLED", "NOT_STARTED", "STOPPED", "Flags", "Snap", "Trace", "reach",
           "snapshots"]

_ZERO = timedelta(0)


class Snap(NamedTuple):
    """The facts a clock needs, as they stand after one event."""

    at: datetime
    name: str
    status: str
    previous: str | None  # the status before the event (None for the logging)
    hold: str | None
    group: str | None
    person: bool  # the event assigned a person
    priority: int
    service: str | None
    category: CategoryPath | None
    customer: str | None


def _customer(custom: CustomValue, caller: str | None) -> str | None:
    return custom if isinstance(custom, str) else caller


def snapshots(history: Sequence[DomainEvent], at: datetime,
              states: Container[str]) -> list[Snap]:
    """The facts after each event at or before ``at``; ``states`` are the workflow's."""
    if not history:
        return []
    first = history[0]
    if not isinstance(first, IncidentLogged):
        raise ValidationError("an incident history starts with IncidentLogged, got "
                              f"{type(first).__name__}", field="history")
    if first.at > at:
        return []
    custom = dict(first.custom).get("customer")
    caller = first.caller
    status, hold, group = first.to_status, None, first.assignment_group
    priority, service, category = first.priority.level, first.service, first.category
    snaps = [Snap(first.at, first.name, status, None, hold, group, False, priority, service,
                   category, _customer(custom, caller))]
    last = first.at
    for index in range(1, len(history)):
        event = history[index]
        if not isinstance(event, IncidentEvent) or event.incident_id != first.incident_id:
            raise ValidationError(f"history[{index}] is not an event of {first.incident_id}",
                                  field="history")
        when = event.at
        if when > at:
            break
        if when < last:
            raise ValidationError(f"history[{index}] is earlier than the event before it",
                                  field="history")
        last = when
        previous, status, person = status, event.to_status, False
        if isinstance(event, IncidentAssigned):
            group, person = event.assignment_group, event.assignee is not None
        elif isinstance(event, IncidentPutOnHold):
            hold = event.hold_reason
        elif isinstance(event, IncidentResumed | IncidentResolved | IncidentCancelled):
            hold = None
        elif isinstance(event, IncidentEscalated):
            group = event.assignment_group
        elif isinstance(event, IncidentReprioritized | IncidentPriorityOverridden
                        | IncidentPriorityOverrideCleared):
            priority = event.priority.level
        elif isinstance(event, IncidentCategorized):
            category = event.category
        elif isinstance(event, IncidentDetailsUpdated):
            for field, _before, after in event.updates:
                if field == "service":
                    service = after
                elif field == "caller":
                    caller = after
        elif isinstance(event, IncidentCustomAttributeSet) and event.attribute == "customer":
            custom = event.value
        snaps.append(Snap(when, event.name, status, previous, hold, group, person, priority,
                           service, category, _customer(custom, caller)))
    for snap in snaps:
        if snap.status not in states:
            raise ValidationError(f"history names state {snap.status!r}, unknown to the "
                                  "workflow", field="history")
    return snaps


NOT_STARTED, ACTIVE, STOPPED, CANCELLED = range(4)
Flags = dict[str, tuple[bool, bool, bool]]  # state -> (pauses_sla, resolved, terminal)


class Trace:
    """Where one metric's clock went, before any agreement is applied."""

    __slots__ = ("cycle", "cycle_started_at", "intervals", "phase", "ref", "started_at",
                 "stopped_at")

    def __init__(self, snaps: list[Snap], rules: ClockRules, flags: Flags,
                 group: str | None, at: datetime) -> None:
        phase, seen = NOT_STARTED, False
        started: datetime | None = None
        stopped: datetime | None = None
        cycle_start: datetime | None = None
        cycle, ref = 0, len(snaps) - 1
        # intervals in which the clock was active: (start, end, facts in force)
        intervals: list[tuple[datetime, datetime, Snap]] = []
        for index, snap in enumerate(snaps):
            if phase == ACTIVE:
                before = snaps[index - 1]
                intervals.append((before.at, snap.at, before))
            entered = snap.status != snap.previous
            _pauses, resolved, terminal = flags[snap.status]
            with_group = group is None or snap.group == group
            if phase == NOT_STARTED:
                seen = seen or snap.name in rules.start_events or (
                    entered and snap.status in rules.start_states)
                if seen and with_group:
                    phase, started, cycle_start, cycle = ACTIVE, snap.at, snap.at, 1
            if phase in (NOT_STARTED, ACTIVE) and entered and terminal and not resolved:
                phase, stopped, ref = CANCELLED, snap.at, index
                break
            if phase == ACTIVE:
                if (entered and (snap.status in rules.stop_states
                                 or (rules.stop_on_resolved and resolved))) or (
                        with_group and (snap.name in rules.stop_events
                                        or (rules.stop_on_assignee and snap.person))):
                    phase, stopped, ref = STOPPED, snap.at, index
            elif (phase == STOPPED and rules.resume_on_reopen and entered
                  and snap.previous is not None and flags[snap.previous][1]
                  and not resolved and not terminal):
                phase, stopped, cycle_start, ref = ACTIVE, None, snap.at, len(snaps) - 1
                cycle += 1
        if phase == ACTIVE:
            intervals.append((snaps[-1].at, at, snaps[-1]))
        self.phase, self.started_at, self.stopped_at = phase, started, stopped
        self.cycle, self.cycle_started_at, self.ref = cycle, cycle_start, ref
        self.intervals = intervals


def reach(counted: list[tuple[datetime, datetime]], amount: timedelta) -> datetime | None:
    """The first instant at which the counted business time reaches ``amount``."""
    total = _ZERO
    for start, end in counted:
        span = end - start
        if total + span >= amount:
            return start + (amount - total)
        total += span
    return None
