"""Sorting and keyset pagination through the desk: orders, pages, cursors and their encoding.

The Repository contract (``itil_incident.testing.RepositoryContract``) checks each repository's
side; these tests check the desk's ``list_*`` / ``page_*`` and the cursor value, and that the
in-memory and the SQL repository page identically through random data.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itil_incident import (
    MAX_PAGE_SIZE,
    Actor,
    FrozenClock,
    Incident,
    IncidentOrder,
    IncidentQuery,
    InMemoryRepository,
    Page,
    PageCursor,
    ProblemOrder,
    ProblemQuery,
    Repository,
    ServiceDesk,
    ValidationError,
)
from itil_incident.testing import make_desk

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ALICE = Actor("alice", "Alice", frozenset({"agent"}))


def desk_with(priorities: list[tuple[int, int]], repository: Repository | None = None,
              steps: list[int] | None = None) -> tuple[ServiceDesk, list[str]]:
    """A desk with one incident per (impact, urgency), logged ``steps`` minutes apart."""
    clock = FrozenClock(START)
    desk = make_desk(repository=repository, clock=clock)
    ids = []
    for number, (impact, urgency) in enumerate(priorities):
        if steps is not None:
            clock.advance(minutes=steps[number % len(steps)])
        ids.append(desk.log_incident(actor=ALICE, title=f"Incident {number}", impact=impact,
                                     urgency=urgency).id)
    return desk, ids


def walk(desk: ServiceDesk, size: int, **options: object) -> Iterator[Page[Incident]]:
    after: object = None
    while True:
        page = desk.page_incidents(after=after, limit=size, **options)  # type: ignore[arg-type]  # options of the right types
        yield page
        if page.next_cursor is None:
            return
        after = page.next_cursor.encode()


# ----------------------------------------------------------------- pages through the desk


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8])
def test_pages_hold_every_incident_once_and_the_last_page_has_no_next_cursor(size: int
                                                                            ) -> None:
    desk, ids = desk_with([(n % 3 + 1, n % 2 + 1) for n in range(7)], steps=[0, 1])
    pages = list(walk(desk, size, order_by="priority"))
    listed = [incident.id for page in pages for incident in page.items]
    expected = [i.id for i in sorted((desk.get_incident(i) for i in ids),
                                     key=lambda i: (i.priority.level, i.id))]
    assert listed == expected
    assert all(len(page.items) == size for page in pages[:-1])
    assert 1 <= len(pages[-1].items) <= size  # no empty page after a full last one
    assert pages[-1].next_cursor is None


def test_an_empty_list_is_one_empty_page() -> None:
    desk = make_desk()
    assert desk.page_incidents() == Page((), None)
    assert desk.page_problems(order_by="opened_at") == Page((), None)


def test_list_incidents_orders_by_priority_highest_first_and_descending_reverses() -> None:
    desk, ids = desk_with([(3, 3), (1, 1), (2, 2), (1, 1)])
    ascending = [i.id for i in desk.list_incidents(order_by=IncidentOrder.PRIORITY)]
    descending = [i.id for i in desk.list_incidents(order_by="priority", descending=True)]
    assert ascending == [ids[1], ids[3], ids[2], ids[0]]
    assert descending == ascending[::-1]


def test_list_incidents_continues_after_a_cursor_given_as_a_string_or_a_value() -> None:
    desk, ids = desk_with([(3, 3)] * 5)
    first = desk.page_incidents(limit=2)
    assert first.next_cursor is not None
    as_value = desk.list_incidents(after=first.next_cursor)
    as_text = desk.list_incidents(after=first.next_cursor.encode(), limit=2)
    assert [i.id for i in as_value] == ids[2:]
    assert [i.id for i in as_text] == ids[2:4]


def test_page_problems_pages_by_the_problem_orders() -> None:
    clock = FrozenClock(START)
    desk = make_desk(clock=clock)
    ids = []
    for number in range(5):
        clock.advance(minutes=number % 2)
        ids.append(desk.open_problem(actor=ALICE, title=f"Problem {number}",
                                     impact=3 - number % 3).id)
    first = desk.page_problems(order_by=ProblemOrder.PRIORITY, limit=3)
    assert first.next_cursor is not None
    rest = desk.page_problems(order_by="priority", after=first.next_cursor, limit=3)
    problems = [desk.get_problem(i) for i in ids]
    expected = [p.id for p in sorted(problems, key=lambda p: (p.priority.level, p.id))]
    assert [p.id for p in first.items + rest.items] == expected
    assert rest.next_cursor is None
    assert [p.id for p in desk.list_problems(order_by="opened_at", descending=True)] == [
        p.id for p in sorted(problems, key=lambda p: (p.opened_at, p.id), reverse=True)]


# ----------------------------------------------------------------- refusals


def test_a_cursor_of_another_order_or_direction_is_refused_naming_both() -> None:
    desk, _ids = desk_with([(3, 3)] * 3)
    cursor = desk.page_incidents(order_by="priority", limit=1).next_cursor
    with pytest.raises(ValidationError, match=r"by priority.*by id") as refused:
        desk.page_incidents(after=cursor)
    assert refused.value.field == "after"
    with pytest.raises(ValidationError):
        desk.list_incidents(order_by="priority", descending=True, after=cursor)
    with pytest.raises(ValidationError):
        desk.page_problems(order_by="priority", after=cursor)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1, 2.0, True, "10"])
def test_a_page_size_out_of_bounds_is_refused(limit: object) -> None:
    desk = make_desk()
    with pytest.raises(ValidationError, match="limit"):
        desk.page_incidents(limit=limit)  # type: ignore[arg-type]  # wrong values on purpose
    with pytest.raises(ValidationError, match="limit"):
        desk.page_problems(limit=limit)  # type: ignore[arg-type]  # wrong values on purpose


def test_an_unknown_order_is_refused_listing_the_known_ones() -> None:
    desk = make_desk()
    with pytest.raises(ValidationError, match="logged_at, updated_at, priority"):
        desk.list_incidents(order_by="due_at")
    with pytest.raises(ValidationError, match="opened_at"):
        desk.list_problems(order_by="logged_at")
    with pytest.raises(ValidationError):
        IncidentQuery(order_by=3)  # type: ignore[arg-type]  # a wrong value on purpose
    with pytest.raises(ValidationError):
        ProblemQuery(descending=1)  # type: ignore[arg-type]  # a wrong value on purpose


def _token(data: object) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("token", [
    "", "!!!", "a" * 5000, "bm90IGEgY3Vyc29y", "////",
    _token([1, "i", "id", 0]),
    _token([2, "i", "id", 0, ["INC0000001"]]),
    _token([1, "x", "id", 0, ["INC0000001"]]),
    _token([1, "i", "due_at", 0, ["INC0000001"]]),
    _token([1, "i", "id", 2, ["INC0000001"]]),
    _token([1, "i", "id", False, ["INC0000001"]]),
    _token([1, "i", "id", 0, [7]]),
    _token([1, "i", "id", 0, ["INC\u0000"]]),
    _token([1, "i", "id", 0, ["\ud800"]]),
    _token([1, "i", "id", 0, []]),
    _token([1, "i", "priority", 0, ["1", "INC0000001"]]),
    _token([1, "i", "priority", 0, [True, "INC0000001"]]),
    _token([1, "i", "logged_at", 0, ["2026-03-02T08:30:00", "INC0000001"]]),
    _token([1, "i", "logged_at", 0, ["yesterday", "INC0000001"]]),
    _token([1, "i", "logged_at", 0, ["0001-01-01T00:00:00+05:00", "INC0000001"]]),
    _token([1, "p", "opened_at", 0, [17, "PRB0000001"]]),
    _token({"order": "id"}),
    _token([[[[[[]]]]]] * 3),
], ids=repr)
def test_a_cursor_that_does_not_decode_to_a_valid_one_is_refused(token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PageCursor.decode(token)
    assert refused.value.field == "after"
    with pytest.raises(ValidationError):
        make_desk().list_incidents(after=token)


def test_a_cursor_that_is_neither_a_cursor_nor_text_is_refused() -> None:
    for wrong in (3, b"abc", ["INC0000001"], object()):
        with pytest.raises(ValidationError, match="after"):
            make_desk().page_incidents(after=wrong)  # type: ignore[arg-type]  # on purpose


@given(st.text(max_size=200) | st.from_regex(r"[A-Za-z0-9_-]{0,80}", fullmatch=True))
def test_decoding_any_text_gives_a_cursor_or_a_validation_error(token: str) -> None:
    try:
        cursor = PageCursor.decode(token)
    except ValidationError:
        return
    assert PageCursor.decode(cursor.encode()) == cursor


# ----------------------------------------------------------------- the cursor value

KEYS = {
    IncidentOrder.ID: st.tuples(st.text(min_size=1, max_size=20).filter(
        lambda s: "\x00" not in s and not any("\ud800" <= c <= "\udfff" for c in s))),
    IncidentOrder.PRIORITY: st.tuples(st.integers(1, 999), st.just("INC0000001")),
    IncidentOrder.UPDATED_AT: st.tuples(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))])),
        st.just("INC0000001")),
}


@given(st.data())
def test_a_cursor_survives_encoding_and_holds_utc_instants(data: st.DataObject) -> None:
    order = data.draw(st.sampled_from(sorted(KEYS)))
    key = data.draw(KEYS[order])
    descending = data.draw(st.booleans())
    cursor = PageCursor(order, descending, key)
    token = cursor.encode()
    assert token.isascii()
    assert "=" not in token
    assert PageCursor.decode(token) == cursor
    assert all(part.tzinfo is UTC for part in cursor.key if isinstance(part, datetime))
    assert cursor.kind == "incident"


def test_a_problem_cursor_is_not_an_incident_cursor() -> None:
    incident = PageCursor(IncidentOrder.ID, False, ("X1",))
    problem = PageCursor(ProblemOrder.ID, False, ("X1",))
    assert problem.kind == "problem"
    assert PageCursor.decode(problem.encode()).kind == "problem"
    assert PageCursor.decode(incident.encode()).kind == "incident"


# ----------------------------------------------------------------- memory and SQL agree


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    priorities=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 3)), min_size=1,
                        max_size=12),
    steps=st.lists(st.integers(0, 2), min_size=1, max_size=4),
    order=st.sampled_from(list(IncidentOrder)),
    descending=st.booleans(),
    size=st.integers(1, 5),
    open_only=st.booleans(),
)
def test_the_memory_and_the_sql_repository_give_the_same_pages(
        priorities: list[tuple[int, int]], steps: list[int], order: IncidentOrder,
        descending: bool, size: int, open_only: bool) -> None:
    sql = pytest.importorskip("itil_incident.adapters.sql")
    repository = sql.SqlRepository.from_url("sqlite://")
    sql.create_schema(repository.engine)
    try:
        memory, ids = desk_with(priorities, InMemoryRepository(), steps)
        stored, _ = desk_with(priorities, repository, steps)
        for number, incident_id in enumerate(ids):
            if number % 3 == 1:
                for desk in (memory, stored):
                    desk.cancel(incident_id, actor=ALICE, reason="Duplicate")
        options = {"order_by": order, "descending": descending,
                   "open": True if open_only else None}
        pages = [[(page.items and [i.id for i in page.items]),
                  page.next_cursor and page.next_cursor.encode()]
                 for page in walk(memory, size, **options)]
        assert pages == [[(page.items and [i.id for i in page.items]),
                          page.next_cursor and page.next_cursor.encode()]
                         for page in walk(stored, size, **options)]
        assert [i.id for page in walk(memory, size, **options) for i in page.items] == [
            i.id for i in memory.list_incidents(**options)]  # type: ignore[arg-type]  # options of the right types
    finally:
        repository.close()
