"""Sorting and keyset pagination of listed incidents and problems.

A list is ordered by one column and then by id, so that no two records tie and every
repository gives the same order (:func:`incident_sort_key` / :func:`problem_sort_key` say
what that order is). A :class:`PageCursor` holds the sort key of the last record of a page;
the next page holds the records that come after it in that order (keyset pagination), so a
record added, changed or removed meanwhile never makes another one appear twice or go missing,
as long as its own sort column did not change.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Final, Generic, TypeVar

import attrs

from itil_incident.domain._text import NOT_TEXT
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.errors import ValidationError

__all__ = [
    "MAX_PAGE_SIZE",
    "IncidentOrder",
    "Page",
    "PageCursor",
    "ProblemOrder",
    "SortKey",
    "as_cursor",
    "incident_sort_key",
    "page_of",
    "page_size",
    "problem_sort_key",
]

#: The most records one page may hold.
MAX_PAGE_SIZE: Final = 1000

#: A record's place in an order: the order column's value (none for ``id``), then the id.
SortKey = tuple[int | str | datetime, ...]

T = TypeVar("T")


class IncidentOrder(enum.StrEnum):
    """What incidents are listed by; ties are always broken by id.

    ``priority`` is the priority level, so the highest priority (level 1) comes first unless
    the order is descending.
    """

    ID = "id"
    LOGGED_AT = "logged_at"
    UPDATED_AT = "updated_at"
    PRIORITY = "priority"


class ProblemOrder(enum.StrEnum):
    """What problems are listed by; ties are always broken by id (``priority``: level 1
    first unless descending)."""

    ID = "id"
    OPENED_AT = "opened_at"
    UPDATED_AT = "updated_at"
    PRIORITY = "priority"


def incident_sort_key(incident: Incident, order_by: IncidentOrder) -> SortKey:
    """Where ``incident`` goes in ``order_by`` (ascending): the column, then the id."""
    if order_by is IncidentOrder.ID:
        return (incident.id,)
    if order_by is IncidentOrder.LOGGED_AT:
        return (incident.logged_at, incident.id)
    if order_by is IncidentOrder.UPDATED_AT:
        return (incident.updated_at, incident.id)
    return (incident.priority.level, incident.id)


def problem_sort_key(problem: Problem, order_by: ProblemOrder) -> SortKey:
    """Where ``problem`` goes in ``order_by`` (ascending): the column, then the id."""
    if order_by is ProblemOrder.ID:
        return (problem.id,)
    if order_by is ProblemOrder.OPENED_AT:
        return (problem.opened_at, problem.id)
    if order_by is ProblemOrder.UPDATED_AT:
        return (problem.updated_at, problem.id)
    return (problem.priority.level, problem.id)


# What the value before the id is, per order name (the same for incidents and problems).
_INSTANT_ORDERS: Final = frozenset({"logged_at", "opened_at", "updated_at"})
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,4096}")
_FORMAT: Final = 1
_KINDS: Final[dict[str, type[IncidentOrder] | type[ProblemOrder]]] = {
    "i": IncidentOrder, "p": ProblemOrder}


def _bad(reason: str) -> ValidationError:
    return ValidationError(f"not a valid page cursor: {reason}", field="after")


def _key_part(value: object, order_name: str, position: int) -> int | str | datetime:
    """Check one part of a key (``position`` 0 of a 2-part key is the order column)."""
    if position == 1 or order_name == "id":
        if not isinstance(value, str) or not value or len(value) > 1000 or NOT_TEXT.search(value):
            raise _bad(f"the id in it must be text, got {value!r}")
        return value
    if order_name in _INSTANT_ORDERS:
        if (not isinstance(value, datetime) or value.tzinfo is None
                or value.utcoffset() is None):
            raise _bad(f"{order_name} must be an aware datetime, got {value!r}")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise _bad(f"{order_name} is out of range: {value!r}") from None
    if type(value) is not int or not 0 < value < 1000:
        raise _bad(f"a priority level must be a positive integer, got {value!r}")
    return value


def _as_key(value: Iterable[int | str | datetime]) -> SortKey:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise _bad(f"key must be a tuple, got {value!r}")
    return tuple(value)


@attrs.frozen
class PageCursor:
    """Where the next page starts: just after the record whose sort key is ``key``, in the
    order ``order_by`` (ascending, or ``descending``).

    Get one from :attr:`Page.next_cursor` (or :meth:`IncidentQuery.cursor_after`); pass it
    back as ``after``, or carry it through a URL as :meth:`encode` / :meth:`decode`. A cursor
    only continues the order it was made for: using it with another order, direction or kind
    of record raises :class:`~itil_incident.ValidationError`.

    >>> from itil_incident import IncidentOrder, PageCursor
    >>> cursor = PageCursor(IncidentOrder.PRIORITY, False, (2, "INC0000042"))
    >>> PageCursor.decode(cursor.encode()) == cursor
    True
    """

    order_by: IncidentOrder | ProblemOrder
    descending: bool
    key: SortKey = attrs.field(converter=_as_key)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.order_by, (IncidentOrder, ProblemOrder)):
            raise _bad(f"order_by must be an IncidentOrder or a ProblemOrder, "
                       f"got {self.order_by!r}")
        if type(self.descending) is not bool:
            raise _bad(f"descending must be True or False, got {self.descending!r}")
        name = self.order_by.value
        size = 1 if name == "id" else 2
        if len(self.key) != size:
            raise _bad(f"a key for the order {name!r} has {size} part(s), got {self.key!r}")
        checked = tuple(_key_part(part, name, position + (2 - size))
                        for position, part in enumerate(self.key))
        object.__setattr__(self, "key", checked)  # normalized (UTC); the instance is frozen

    @property
    def kind(self) -> str:
        """``"incident"`` or ``"problem"``: what the cursor pages through."""
        return "incident" if isinstance(self.order_by, IncidentOrder) else "problem"

    def encode(self) -> str:
        """The cursor as a short, URL-safe string (no padding); :meth:`decode` reads it."""
        parts = [part.isoformat() if isinstance(part, datetime) else part for part in self.key]
        data = [_FORMAT, self.kind[0], self.order_by.value, int(self.descending), parts]
        raw = json.dumps(data, separators=(",", ":")).encode("utf-8")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, token: str) -> PageCursor:
        """The cursor that :meth:`encode` wrote as ``token``; ValidationError for anything
        else."""
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise _bad("expected the URL-safe string that PageCursor.encode() returns")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError, RecursionError):
            raise _bad("it does not decode") from None
        if (not isinstance(data, list) or len(data) != 5 or type(data[0]) is not int
                or data[0] != _FORMAT or not isinstance(data[1], str) or data[1] not in _KINDS
                or not isinstance(data[2], str) or type(data[3]) is not int
                or data[3] not in (0, 1) or not isinstance(data[4], list)):
            raise _bad("unknown layout")
        orders = _KINDS[data[1]]
        try:
            order_by = orders(data[2])
        except ValueError:
            raise _bad(f"unknown order {data[2]!r}") from None
        parts: list[object] = list(data[4])
        if order_by.value in _INSTANT_ORDERS and parts and isinstance(parts[0], str):
            try:
                parts[0] = datetime.fromisoformat(parts[0])
            except ValueError:
                raise _bad(f"not an instant: {parts[0]!r}") from None
        return cls(order_by, bool(data[3]), tuple(parts))  # type: ignore[arg-type]  # each part is checked by __attrs_post_init__


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its ``items`` in order, and the cursor of the next page (None on
    the last page)."""

    items: tuple[T, ...]
    next_cursor: PageCursor | None


def as_cursor(value: object) -> PageCursor | None:
    """A desk's ``after`` argument: None, a PageCursor, or its encoded string."""
    if value is None or isinstance(value, PageCursor):
        return value
    if isinstance(value, str):
        return PageCursor.decode(value)
    raise ValidationError(f"after must be a PageCursor or its encoded string, got "
                          f"{type(value).__name__}", field="after")


def page_size(value: object) -> int:
    """A desk's page ``limit``: 1 to :data:`MAX_PAGE_SIZE`."""
    if type(value) is not int or not 1 <= value <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, "
                              f"got {value!r}", field="limit")
    return value


def page_of(found: list[T], size: int, cursor_after: Callable[[T], PageCursor]) -> Page[T]:
    """The page of ``size`` items out of ``found`` (up to ``size + 1`` of them: one more
    tells that there is a next page)."""
    items = tuple(found[:size])
    more = len(found) > size and bool(items)
    return Page(items, cursor_after(items[-1]) if more else None)
