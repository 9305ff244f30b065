"""What :meth:`ServiceDesk.process_due <itil_incident.ServiceDesk.process_due>` reports: the
work it did, and what it skipped and why. Re-exported by the package root."""

from __future__ import annotations

from datetime import datetime

import attrs

from itil_incident.domain.events import (
    IncidentClosed,
    IncidentEscalated,
    IncidentEvent,
    IncidentPriorityOverridden,
    IncidentReminderSent,
    IncidentSlaStageReached,
)
from itil_incident.domain.major_events import IncidentStatusUpdateMissed
from itil_incident.errors import ItilIncidentError

__all__ = ["DueReport", "EscalationApplied", "PriorityRaised", "SkippedIncident"]


@attrs.frozen
class EscalationApplied:
    """Escalation rule ``rule`` escalated ``incident_id`` (functionally or hierarchically)
    when ``stage`` was recorded."""

    incident_id: str
    rule: str
    stage: IncidentSlaStageReached
    event: IncidentEscalated


@attrs.frozen
class PriorityRaised:
    """Escalation rule ``rule`` raised the priority of ``incident_id`` when ``stage`` was
    recorded."""

    incident_id: str
    rule: str
    stage: IncidentSlaStageReached
    event: IncidentPriorityOverridden


@attrs.frozen
class SkippedIncident:
    """Something due on ``incident_id`` was not done, and why.

    With ``rule`` None the whole incident was skipped (nothing of it was committed; the next
    call tries again), for instance after a concurrent change (``error`` is then a
    :class:`~itil_incident.errors.ConcurrencyError`). With ``rule`` set only that escalation
    rule's action was not applied; the rest was committed and the rule is not retried.
    """

    incident_id: str
    reason: str
    rule: str | None = None
    error: ItilIncidentError | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class DueReport:
    """What one :meth:`ServiceDesk.process_due` call did at instant ``at``.

    ``examined`` counts the incidents looked at. The report is false when nothing was recorded
    and nothing was skipped: a second call for the same instant gives a false report.
    """

    at: datetime
    examined: int = 0
    stages: tuple[IncidentSlaStageReached, ...] = ()
    escalations: tuple[EscalationApplied, ...] = ()
    priority_raises: tuple[PriorityRaised, ...] = ()
    auto_closes: tuple[IncidentClosed, ...] = ()
    reminders: tuple[IncidentReminderSent, ...] = ()
    skipped: tuple[SkippedIncident, ...] = ()
    # major incidents: one event per status update missed (cadence interval)
    missed_status_updates: tuple[IncidentStatusUpdateMissed, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.stages or self.escalations or self.priority_raises
                    or self.auto_closes or self.reminders or self.skipped
                    or self.missed_status_updates)

    @property
    def events(self) -> tuple[IncidentEvent, ...]:
        """Every event recorded, by incident id then version."""
        found: list[IncidentEvent] = [*self.stages, *self.auto_closes, *self.reminders,
                                      *self.missed_status_updates]
        found.extend(item.event for item in self.escalations)
        found.extend(item.event for item in self.priority_raises)
        return tuple(sorted(found, key=lambda e: (e.incident_id, e.version)))
