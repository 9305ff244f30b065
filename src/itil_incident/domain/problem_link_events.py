"""Events of duplicates, known-error workarounds and changes raised to fix problems.

Incident side: an incident marked as a duplicate of another (:class:`IncidentMarkedDuplicate`),
the original recording it (:class:`IncidentDuplicateRecorded`, which may add the duplicate's
caller as a watcher), a known error's workaround offered to an incident
(:class:`IncidentWorkaroundOffered`) and applied to it (:class:`IncidentWorkaroundApplied`).
Problem side: a change raised to fix the problem linked and unlinked
(:class:`ProblemChangeLinked`, :class:`ProblemChangeUnlinked`); the change itself belongs to
the host, the problem keeps its id and title.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from itil_incident.domain.events import IncidentEvent
from itil_incident.domain.problem_events import ProblemEvent

if TYPE_CHECKING:
    from itil_incident.domain.incident import Incident
    from itil_incident.domain.problem import Problem

__all__ = [
    "IncidentDuplicateRecorded",
    "IncidentMarkedDuplicate",
    "IncidentWorkaroundApplied",
    "IncidentWorkaroundOffered",
    "LinkedChange",
    "ProblemChangeLinked",
    "ProblemChangeUnlinked",
]


@attrs.frozen
class LinkedChange:
    """A change (owned by the host) raised to fix a problem: its id and title."""

    change_id: str
    title: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentMarkedDuplicate(IncidentEvent):
    """The incident was found to duplicate ``original_id``; it is then closed (or cancelled)
    by the events that follow it."""

    name: ClassVar[str] = "incident.marked_duplicate"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("duplicate_of", "original_id", ""),
    )
    original_id: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentDuplicateRecorded(IncidentEvent):
    """``duplicate_id`` was marked as a duplicate of this incident; ``watcher`` (the
    duplicate's caller, None when there is none or they already hear of this incident) now
    watches this incident."""

    name: ClassVar[str] = "incident.duplicate_recorded"
    duplicate_id: str
    watcher: str | None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["duplicate_ids"] = (None, self.duplicate_id)
        if self.watcher is not None:
            result["watchers"] = (None, self.watcher)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.duplicate_ids = (*incident.duplicate_ids, self.duplicate_id)
        if self.watcher is not None:
            incident.watchers = (*incident.watchers, self.watcher)


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentWorkaroundOffered(IncidentEvent):
    """The known error ``problem_id`` matched the incident (``score``, explained by
    ``reasons``) and its ``workaround`` was offered; recorded once per problem."""

    name: ClassVar[str] = "incident.workaround_offered"
    problem_id: str
    workaround: str
    score: int
    reasons: tuple[str, ...]

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result[f"workaround_offered.{self.problem_id}"] = (None, self.workaround)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentWorkaroundApplied(IncidentEvent):
    """The ``workaround`` of the known error ``problem_id`` was applied to the incident."""

    name: ClassVar[str] = "incident.workaround_applied"
    problem_id: str
    workaround: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result[f"workaround_applied.{self.problem_id}"] = (None, self.workaround)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemChangeLinked(ProblemEvent):
    """A change raised to fix the problem was linked to it."""

    name: ClassVar[str] = "problem.change_linked"
    change_id: str
    title: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["change_links"] = (None, LinkedChange(self.change_id, self.title))
        return result

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.change_links = (*problem.change_links, LinkedChange(self.change_id, self.title))


@attrs.frozen(kw_only=True, weakref_slot=False)
class ProblemChangeUnlinked(ProblemEvent):
    """A change was unlinked from the problem (``title`` as it was linked)."""

    name: ClassVar[str] = "problem.change_unlinked"
    change_id: str
    title: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["change_links"] = (LinkedChange(self.change_id, self.title), None)
        return result

    def apply(self, problem: Problem) -> None:
        super().apply(problem)
        problem.change_links = tuple(
            link for link in problem.change_links if link.change_id != self.change_id)
