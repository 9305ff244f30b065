"""Ports: the narrow interfaces through which the service desk talks to the world.

Each is a :class:`typing.Protocol`; implement one by writing a class with the same methods (no
base class needed). The contract of each method is in its docstring, and
:mod:`itil_incident.testing` ships contract test suites that check an implementation against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from itil_incident._paging import (
    IncidentOrder,
    PageCursor,
    ProblemOrder,
    SortKey,
    incident_sort_key,
    problem_sort_key,
)
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor, CategoryPath, Priority
from itil_incident.errors import ValidationError

__all__ = [
    "Authorizer",
    "Clock",
    "IdFactory",
    "IncidentQuery",
    "KnownErrorVersions",
    "Notifier",
    "ProblemQuery",
    "Repository",
]


def _unknown_order(kind: type[IncidentOrder] | type[ProblemOrder], value: object
                   ) -> ValidationError:
    known = ", ".join(order.value for order in kind)
    return ValidationError(f"unknown order {value!r} (known: {known})", field="order_by")


def _incident_order(value: IncidentOrder | str) -> IncidentOrder:
    if isinstance(value, str):
        try:
            return IncidentOrder(value)
        except ValueError:
            pass
    raise _unknown_order(IncidentOrder, value)


def _problem_order(value: ProblemOrder | str) -> ProblemOrder:
    if isinstance(value, str):
        try:
            return ProblemOrder(value)
        except ValueError:
            pass
    raise _unknown_order(ProblemOrder, value)


@attrs.frozen(kw_only=True)
class IncidentQuery:
    """Filters for listing incidents; every given filter must match (AND), and the order and
    page of the result.

    ``status`` matches any of the given states; ``category`` matches that category and all
    below it; ``open`` is True for incidents that are neither resolved nor terminal, False for
    the others; ``text`` is a case-insensitive substring of the title or description.

    Results are ordered by ``order_by`` (a column, then the id: :meth:`sort_key`), ascending or
    ``descending``; with ``after`` (a cursor made for this order and direction) only the
    incidents that come after it are listed; ``limit`` caps their number. A cursor made for
    another order, direction or kind of record raises
    :class:`~itil_incident.ValidationError`.
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
    order_by: IncidentOrder = attrs.field(default=IncidentOrder.ID, converter=_incident_order)
    descending: bool = False
    after: PageCursor | None = None

    def __attrs_post_init__(self) -> None:
        _check_paging(self.order_by, self.descending, self.after)

    def matches(self, incident: Incident) -> bool:
        """Whether ``incident`` passes every filter (order, ``after`` and ``limit`` aside)."""
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

    def sort_key(self, incident: Incident) -> SortKey:
        """Where ``incident`` goes in this query's order, ascending (reverse it when
        ``descending``): the ``order_by`` column, then the id."""
        return incident_sort_key(incident, self.order_by)

    def is_after_cursor(self, incident: Incident) -> bool:
        """Whether ``incident`` comes after the ``after`` cursor (True without one)."""
        return _follows(self.sort_key(incident), self.after, self.descending)

    def cursor_after(self, incident: Incident) -> PageCursor:
        """The cursor of the page that continues after ``incident`` in this order."""
        return PageCursor(self.order_by, self.descending, self.sort_key(incident))


@attrs.frozen(kw_only=True)
class ProblemQuery:
    """Filters for listing problems (AND); ``known_error`` selects known errors or the rest.

    Ordering and pages work as for :class:`IncidentQuery`, by a :class:`ProblemOrder`.
    """

    status: frozenset[str] | None = None
    service: str | None = None
    known_error: bool | None = None
    open: bool | None = None
    text: str | None = None
    limit: int | None = None
    order_by: ProblemOrder = attrs.field(default=ProblemOrder.ID, converter=_problem_order)
    descending: bool = False
    after: PageCursor | None = None

    def __attrs_post_init__(self) -> None:
        _check_paging(self.order_by, self.descending, self.after)

    def matches(self, problem: Problem) -> bool:
        """Whether ``problem`` passes every filter (order, ``after`` and ``limit`` aside)."""
        if self.status is not None and problem.status not in self.status:
            return False
        if self.service is not None and problem.service != self.service:
            return False
        if self.known_error is not None and problem.known_error != self.known_error:
            return False
        if self.open is not None and problem.is_open != self.open:
            return False
        return self.text is None or _contains(self.text, problem.title, problem.description)

    def sort_key(self, problem: Problem) -> SortKey:
        """Where ``problem`` goes in this query's order, ascending: the column, then the id."""
        return problem_sort_key(problem, self.order_by)

    def is_after_cursor(self, problem: Problem) -> bool:
        """Whether ``problem`` comes after the ``after`` cursor (True without one)."""
        return _follows(self.sort_key(problem), self.after, self.descending)

    def cursor_after(self, problem: Problem) -> PageCursor:
        """The cursor of the page that continues after ``problem`` in this order."""
        return PageCursor(self.order_by, self.descending, self.sort_key(problem))


def _check_paging(order_by: IncidentOrder | ProblemOrder, descending: object,
                  after: object) -> None:
    if type(descending) is not bool:
        raise ValidationError(f"descending must be True or False, got {descending!r}",
                              field="descending")
    if after is None:
        return
    if not isinstance(after, PageCursor):
        raise ValidationError(f"after must be a PageCursor, got {type(after).__name__}",
                              field="after")
    if type(after.order_by) is not type(order_by) or after.order_by is not order_by or (
            after.descending is not descending):
        made = (f"{after.kind}s by {after.order_by.value}"
                f"{' descending' if after.descending else ''}")
        wanted = f"by {order_by.value}{' descending' if descending else ''}"
        raise ValidationError(f"this cursor continues a list of {made}; it cannot continue "
                              f"a list {wanted}", field="after")


def _follows(key: SortKey, after: PageCursor | None, descending: bool) -> bool:
    if after is None:
        return True
    return key < after.key if descending else key > after.key


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
    - ``list_incidents`` / ``list_problems`` return independent objects matching the query
      (``query.matches``) that come after its cursor (``query.is_after_cursor``), in the
      query's order (``query.sort_key``, reversed when ``query.descending``), at most
      ``query.limit`` of them.
    - ``history_of`` returns the stored events of a record, oldest first.
    - No exception other than the library's errors escapes.

    A repository may also implement the optional :class:`KnownErrorVersions` (both shipped
    repositories do): the desk then matches new incidents against known errors without
    listing them in full.
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
        """Incidents matching ``query``, in its order, after its cursor, up to its limit."""
        ...

    def list_problems(self, query: ProblemQuery) -> list[Problem]:
        """Problems matching ``query``, in its order, after its cursor, up to its limit."""
        ...

    def history_of(self, record_id: str) -> list[DomainEvent]:
        """The stored events of an incident or problem, oldest first."""
        ...


@runtime_checkable
class KnownErrorVersions(Protocol):
    """An optional repository method: the ids and versions of the open known errors.

    Contract: ``known_error_versions()`` returns a new mapping from the id of every stored
    problem that is a known error and open (``ProblemQuery(known_error=True, open=True)``
    matches it) to its stored version, and nothing else; no exception other than the
    library's errors escapes.

    A desk whose repository has this method keeps the facets of the known errors it has read
    and, on each match (``log_incident``, ``known_error_matches``), reads only those whose
    version it has not seen; without it, the desk lists the open known errors in full
    (``list_problems``) each time. Either way the matches are the same. It relies on what
    every repository guarantees already: a problem's content at a given version never
    changes.
    """

    def known_error_versions(self) -> Mapping[str, int]:
        """Each open known error's id, with its stored version."""
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
