"""Ports: the narrow interfaces through which the service desk talks to the world.

Each is a :class:`typing.Protocol`; implement one by writing a class with the same methods (no
base class needed). The contract of each method is in its docstring, and
:mod:`itil_incident.testing` ships contract test suites that check an implementation against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor, CategoryPath, Priority

__all__ = [
    "Authorizer",
    "Clock",
    "IdFactory",
    "IncidentQuery",
    "Notifier",
    "ProblemQuery",
    "Repository",
]


@attrs.frozen(kw_only=True)
class IncidentQuery:
    """Filters for listing incidents; every given filter must match (AND).

    ``status`` matches any of the given states; ``category`` matches that category and all
    below it; ``open`` is True for incidents that are neither resolved nor terminal, False for
    the others; ``text`` is a case-insensitive substring of the title or description. Results
    are ordered by id; ``limit`` caps their number.
    """

    status: frozenset[str] | None = None
    priority: frozenset[Priority] | None = None
    assignment_group: str | None = None
    assignee: str | None = None
    category: CategoryPath | None = None
    service: str | None = None
    open: bool | None = None
    text: str | None = None
    limit: int | None = None

    def matches(self, incident: Incident) -> bool:
        """Whether ``incident`` passes every filter (``limit`` aside)."""
        if self.status is not None and incident.status not in self.status:
            return False
        if self.priority is not None and incident.priority not in self.priority:
            return False
        if self.assignment_group is not None and incident.assignment_group != self.assignment_group:
            return False
        if self.assignee is not None and incident.assignee != self.assignee:
            return False
        if self.category is not None and (
            incident.category is None or not incident.category.is_within(self.category)
        ):
            return False
        if self.service is not None and incident.service != self.service:
            return False
        if self.open is not None and incident.is_open != self.open:
            return False
        return self.text is None or _contains(self.text, incident.title, incident.description)


@attrs.frozen(kw_only=True)
class ProblemQuery:
    """Filters for listing problems (AND); ``known_error`` selects known errors or the rest."""

    status: frozenset[str] | None = None
    service: str | None = None
    known_error: bool | None = None
    open: bool | None = None
    text: str | None = None
    limit: int | None = None

    def matches(self, problem: Problem) -> bool:
        """Whether ``problem`` passes every filter (``limit`` aside)."""
        if self.status is not None and problem.status not in self.status:
            return False
        if self.service is not None and problem.service != self.service:
            return False
        if self.known_error is not None and problem.known_error != self.known_error:
            return False
        if self.open is not None and problem.is_open != self.open:
            return False
        return self.text is None or _contains(self.text, problem.title, problem.description)


def _contains(needle: str, *haystacks: str) -> bool:
    folded = needle.casefold()
    return any(folded in text.casefold() for text in haystacks)


@runtime_checkable
class Repository(Protocol):
    """Stores incidents and problems with their histories; a unit of work per ``commit``.

    Contract:

    - ``get_incident`` / ``get_problem`` return an independent object (changing it changes
      nothing stored) whose ``saved_version`` equals its ``version``, or raise
      :class:`~itil_incident.errors.NotFoundError`.
    - ``commit(records)`` stores, all or nothing, each record's pending events
      (``record.pending_events()``) and its new state, provided that the stored version of each
      equals ``record.saved_version`` (0 for a record that does not exist yet); otherwise it
      raises :class:`~itil_incident.errors.ConcurrencyError` and stores nothing. On success it
      calls ``record.mark_saved()`` on each. A record with no pending events is not written
      but its version is still checked. The same record twice in one commit is refused with
      :class:`~itil_incident.errors.ValidationError`.
    - ``list_incidents`` / ``list_problems`` return independent objects matching the query.
    - ``history_of`` returns the stored events of a record, oldest first.
    - No exception other than the library's errors escapes.
    """

    def get_incident(self, incident_id: str) -> Incident:
        """The incident ``incident_id``."""
        ...

    def get_problem(self, problem_id: str) -> Problem:
        """The problem ``problem_id``."""
        ...

    def commit(self, records: Sequence[Incident | Problem]) -> None:
        """Store the records' pending events atomically, checking expected versions."""
        ...

    def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """Incidents matching ``query``, ordered by id."""
        ...

    def list_problems(self, query: ProblemQuery) -> list[Problem]:
        """Problems matching ``query``, ordered by id."""
        ...

    def history_of(self, record_id: str) -> list[DomainEvent]:
        """The stored events of an incident or problem, oldest first."""
        ...


@runtime_checkable
class Notifier(Protocol):
    """Hears of committed events.

    Contract: ``notify`` is called after a successful commit with that commit's events, in
    order. It must not raise for a delivery problem it can handle itself; an exception it does
    raise is logged by the desk (logger ``itil_incident.desk``) and never undoes the committed
    change.
    """

    def notify(self, events: Sequence[DomainEvent]) -> None:
        """Deliver (or queue) notifications for ``events``."""
        ...


@runtime_checkable
class Clock(Protocol):
    """Tells the time. Contract: ``now()`` returns a timezone-aware datetime that never goes
    backwards between calls."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


@runtime_checkable
class IdFactory(Protocol):
    """Makes readable, unique ids. Contract: never returns the same id twice for a kind."""

    def next_incident_id(self) -> str:
        """A new incident id, such as ``INC0001234``."""
        ...

    def next_problem_id(self) -> str:
        """A new problem id, such as ``PRB0000042``."""
        ...


@runtime_checkable
class Authorizer(Protocol):
    """Decides who may do what.

    Contract: ``is_allowed`` returns True when ``actor`` may perform ``action`` (the desk
    command's name, such as ``"resolve"``) on ``subject`` (None for commands that create a
    record); it has no side effects. The desk raises
    :class:`~itil_incident.errors.PermissionDeniedError` on False, before anything changes.
    """

    def is_allowed(self, actor: Actor, action: str, subject: Incident | Problem | None) -> bool:
        """Whether ``actor`` may perform ``action`` on ``subject``."""
        ...
