"""Problem events: frozen, past-tense records of every change to a problem."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from itil_incident.domain.events import DomainEvent
from itil_incident.domain.values import CategoryPath, Impact, Priority, Urgency

if TYPE_CHECKING:
    from itil_incident.domain.problem import Problem

__all__ = [
    "KnownError",
    "ProblemAssigned",
    "ProblemCancelled",
    "ProblemClosed",
    "ProblemEvent",
    "ProblemIncidentLinked",
    "ProblemIncidentUnlinked",
    "ProblemInvestigationStarted",
    "ProblemMarkedKnownError",
    "ProblemNoteAdded",
    "ProblemOpened",
    "ProblemReopened",
    "ProblemReprioritized",
    "ProblemResolved",
    "ProblemRootCauseRecorded",
    "ProblemTransitioned",
    "ProblemWorkaroundRecorded",
]


@attrs.frozen
class KnownError:
    """A known-error record: the symptoms, and the root cause and/or workaround that explain
    and relieve them."""

    problem_id: str
    symptoms: str
    root_cause: str | None
    workaround: str | None
    identified_at: datetime


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemEvent(DomainEvent):
    """Base of every problem event."""

    name: ClassVar[str] = "problem.event"
    problem_id: str

    @property
    def aggregate_id(self) -> str:
        return self.problem_id

    def apply(self, problem: Problem) -> None:
        """Fold this event into ``problem`` (used by the entity; do not call directly)."""
        self._fold(problem)


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemOpened(ProblemEvent):
    """The problem was opened: the event holds its whole initial state."""

    name: ClassVar[str] = "problem.opened"
    workflow: str
    title: str
    description: str
    service: str | None
    configuration_items: tuple[str, ...]
    category: CategoryPath | None
    impact: Impact
    urgency: Urgency
    priority: Priority
    assignment_group: str | None
    incident_ids: tuple[str, ...]

    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = tuple(
        (f, f, "")
        for f in (
            "title", "description", "service", "configuration_items", "category", "impact",
            "urgency", "priority", "assignment_group", "incident_ids",
        )
    )

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["status"] = (None, self.to_status)
        return result

    def apply(self, problem: Problem) -> None:
        problem.id = self.problem_id
        problem.workflow_name = self.workflow
        problem.opened_at = self.at
        problem.opened_by = self.actor
        super().apply(problem)


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemIncidentLinked(ProblemEvent):
    """An incident was linked to this problem."""

    name: ClassVar[str] = "problem.incident_linked"
    incident_id: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["incident_ids"] = (None, self.incident_id)
        return result

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.incident_ids = (*problem.incident_ids, self.incident_id)


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemIncidentUnlinked(ProblemEvent):
    """An incident was unlinked from this problem."""

    name: ClassVar[str] = "problem.incident_unlinked"
    incident_id: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["incident_ids"] = (self.incident_id, None)
        return result

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.incident_ids = tuple(i for i in problem.incident_ids if i != self.incident_id)


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemAssigned(ProblemEvent):
    """The problem's group or owner changed."""

    name: ClassVar[str] = "problem.assigned"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("assignment_group", "assignment_group", "previous_assignment_group"),
        ("assignee", "assignee", "previous_assignee"),
    )
    assignment_group: str | None
    assignee: str | None
    previous_assignment_group: str | None
    previous_assignee: str | None


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemInvestigationStarted(ProblemEvent):
    """Root-cause investigation started."""

    name: ClassVar[str] = "problem.investigation_started"


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemRootCauseRecorded(ProblemEvent):
    """The root cause (and its category) was recorded or revised."""

    name: ClassVar[str] = "problem.root_cause_recorded"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("root_cause", "root_cause", "previous_root_cause"),
        ("root_cause_category", "root_cause_category", "previous_root_cause_category"),
    )
    root_cause: str
    root_cause_category: CategoryPath | None
    previous_root_cause: str | None
    previous_root_cause_category: CategoryPath | None


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemWorkaroundRecorded(ProblemEvent):
    """A workaround was recorded or revised."""

    name: ClassVar[str] = "problem.workaround_recorded"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("workaround", "workaround", "previous_workaround"),
    )
    workaround: str
    previous_workaround: str | None


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemMarkedKnownError(ProblemEvent):
    """The problem became a known error; ``record`` is its known-error record."""

    name: ClassVar[str] = "problem.marked_known_error"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("known_error_record", "record", "previous_record"),
    )
    record: KnownError
    previous_record: KnownError | None = None

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.known_error = True


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemReprioritized(ProblemEvent):
    """Impact or urgency changed, and with them the priority."""

    name: ClassVar[str] = "problem.reprioritized"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("impact", "impact", "previous_impact"),
        ("urgency", "urgency", "previous_urgency"),
        ("priority", "priority", "previous_priority"),
    )
    impact: Impact
    urgency: Urgency
    priority: Priority
    previous_impact: Impact
    previous_urgency: Urgency
    previous_priority: Priority


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemNoteAdded(ProblemEvent):
    """An investigation note was added."""

    name: ClassVar[str] = "problem.note_added"
    text: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["note"] = (None, self.text)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemResolved(ProblemEvent):
    """The root cause was removed (typically by a change)."""

    name: ClassVar[str] = "problem.resolved"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (("resolution", "resolution", ""),)
    resolution: str

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.resolved_at = self.at


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemClosed(ProblemEvent):
    """The problem was closed."""

    name: ClassVar[str] = "problem.closed"

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.closed_at = self.at


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemReopened(ProblemEvent):
    """The problem was reopened; the previous resolution is kept here."""

    name: ClassVar[str] = "problem.reopened"
    reason: str
    previous_resolution: str | None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["resolution"] = (self.previous_resolution, None)
        return result

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.resolution = None
        problem.resolved_at = None
        problem.reopen_count += 1


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemCancelled(ProblemEvent):
    """The problem was cancelled."""

    name: ClassVar[str] = "problem.cancelled"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("cancellation_reason", "reason", ""),
    )
    reason: str

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.closed_at = self.at


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemTransitioned(ProblemEvent):
    """A workflow trigger with no dedicated command fired (host-defined workflows)."""

    name: ClassVar[str] = "problem.transitioned"
    trigger: str
