"""The timeline of a post-incident review, built from an incident's history (pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from itil_incident.domain.events import (
    IncidentEvent,
    IncidentLogged,
    IncidentNoteAdded,
    IncidentResolved,
)
from itil_incident.domain.major import TimelineEntry
from itil_incident.domain.major_events import (
    IncidentMajorAccepted,
    IncidentMajorProposed,
    IncidentMajorRejected,
    IncidentMajorRoleAssigned,
    IncidentMajorRoleReleased,
    IncidentReviewActionAdded,
    IncidentReviewActionCompleted,
    IncidentReviewRecorded,
    IncidentStatusUpdateMissed,
    IncidentStatusUpdatePosted,
)

__all__ = ["review_timeline"]

_WIDTH = 200


def _short(value: object) -> str:
    """One line of at most :data:`_WIDTH` characters."""
    text = str(value)
    lines = text.splitlines() or [""]
    line = lines[0]
    if len(lines) > 1 or len(line) > _WIDTH:
        line = line[:_WIDTH - 1].rstrip() + "…"
    return line


def _logged(e: IncidentLogged) -> str:
    where = f" on {e.service}" if e.service is not None else ""
    return f"Logged{where}: {_short(e.title)} (priority {e.priority})"


def _proposed(e: IncidentMajorProposed) -> str:
    evidence = f"; related: {', '.join(e.evidence)}" if e.evidence else ""
    return f"Proposed as a major incident ({e.basis}): {_short(e.reason)}{evidence}"


def _accepted(e: IncidentMajorAccepted) -> str:
    review = " (review required before closure)" if e.review_required else ""
    return f"Accepted as a major incident{review}"


def _role(e: IncidentMajorRoleAssigned) -> str:
    handover = f", handed over by {e.previous_holder}" if e.previous_holder else ""
    return f"{e.person} became {e.role}{handover}"


def _missed(e: IncidentStatusUpdateMissed) -> str:
    return (f"Status update {e.interval} since {e.since.isoformat()} missed "
            f"(due {e.due_at.isoformat()})")


_SUMMARIES: dict[type[IncidentEvent], Callable[[Any], str]] = {
    IncidentLogged: _logged,
    IncidentMajorProposed: _proposed,
    IncidentMajorAccepted: _accepted,
    IncidentMajorRejected: lambda e: f"Major-incident proposal rejected: {_short(e.reason)}",
    IncidentMajorRoleAssigned: _role,
    IncidentMajorRoleReleased: lambda e: f"{e.person} no longer {e.role}",
    IncidentStatusUpdatePosted: lambda e: f"Status update to {e.audience}: {_short(e.text)}",
    IncidentStatusUpdateMissed: _missed,
    IncidentReviewRecorded: lambda e: f"Post-incident review recorded (revision {e.revision})",
    IncidentReviewActionAdded: lambda e: (f"Review action {e.action_id} for {e.owner}, due "
                                          f"{e.due_at.date().isoformat()}: "
                                          f"{_short(e.description)}"),
    IncidentReviewActionCompleted: lambda e: f"Review action {e.action.action_id} completed",
    IncidentNoteAdded: lambda e: f"{str(e.visibility).replace('_', ' ').capitalize()}: "
                                 f"{_short(e.text)}",
    IncidentResolved: lambda e: f"Resolved ({e.resolution_code}): {_short(e.resolution_notes)}",
}


def _generic(event: IncidentEvent) -> str:
    """The event's name in words, then what it changed."""
    words = event.name.split(".", 1)[-1].replace("_", " ").capitalize()
    parts = [f"{field} {_short(before)} → {_short(after)}" if before is not None
             else f"{field} {_short(after)}"
             for field, (before, after) in event.changes().items()]
    return _short(f"{words}: {'; '.join(parts)}" if parts else words)


def review_timeline(events: Iterable[IncidentEvent]) -> list[TimelineEntry]:
    """Every event of the history as a line, plus the instants the incident occurred and was
    detected (when the logged event reports them), ordered by time (the history's order for
    equal instants)."""
    entries: list[TimelineEntry] = []
    for event in events:
        summary = _SUMMARIES.get(type(event), _generic)(event)
        entries.append(TimelineEntry(event.at, event.name, summary, event.actor.id,
                                     event.version))
        if isinstance(event, IncidentLogged):
            if event.occurred_at is not None:
                entries.append(TimelineEntry(event.occurred_at, "incident.occurred",
                                             "The interruption began"))
            if event.detected_at is not None:
                entries.append(TimelineEntry(event.detected_at, "incident.detected",
                                             "The interruption was detected"))
    entries.sort(key=lambda entry: entry.at)  # stable: the history's order for equal times
    return entries
