"""The ordering and keyset-pagination clauses of the Repository contract, mixed into
:class:`~itil_incident.testing.RepositoryContract` (see there)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from itil_incident._paging import IncidentOrder, PageCursor, ProblemOrder
from itil_incident.adapters.clocks import FrozenClock
from itil_incident.desk import ServiceDesk
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor
from itil_incident.errors import ValidationError
from itil_incident.ports import IncidentQuery, ProblemQuery, Repository

__all__ = ["OrderingContract"]

_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
_AGENT = Actor("alice", "Alice", {"agent"})
_SIZE = 17  # incidents in the ordered set; problems: 9

R = TypeVar("R", Incident, Problem)


class _ShuffledIds:
    """An IdFactory whose ids, sorted, are in another order than they were handed out."""

    def __init__(self, seed: int) -> None:
        chooser = random.Random(seed)
        self._incidents = iter(f"INC{n:07d}" for n in chooser.sample(range(1, 1000), 100))
        self._problems = iter(f"PRB{n:07d}" for n in chooser.sample(range(1, 1000), 100))

    def next_incident_id(self) -> str:
        return next(self._incidents)

    def next_problem_id(self) -> str:
        return next(self._problems)


#: What each order means, written out independently of the library's sort-key helpers.
_INCIDENT_KEYS: dict[IncidentOrder, Callable[[Incident], tuple[Any, ...]]] = {
    IncidentOrder.ID: lambda i: (i.id,),
    IncidentOrder.LOGGED_AT: lambda i: (i.logged_at, i.id),
    IncidentOrder.UPDATED_AT: lambda i: (i.updated_at, i.id),
    IncidentOrder.PRIORITY: lambda i: (i.priority.level, i.id),
}
_PROBLEM_KEYS: dict[ProblemOrder, Callable[[Problem], tuple[Any, ...]]] = {
    ProblemOrder.ID: lambda p: (p.id,),
    ProblemOrder.OPENED_AT: lambda p: (p.opened_at, p.id),
    ProblemOrder.UPDATED_AT: lambda p: (p.updated_at, p.id),
    ProblemOrder.PRIORITY: lambda p: (p.priority.level, p.id),
}
_DIRECTIONS = [False, True]


def _expected(records: Sequence[R], key: Callable[[R], tuple[Any, ...]], descending: bool
              ) -> list[str]:
    return [record.id for record in sorted(records, key=key, reverse=descending)]


def _walk(list_page: Callable[[int, PageCursor | None], list[R]],
          cursor_after: Callable[[R], PageCursor], sizes: Iterator[int],
          between: Callable[[int], None] | None = None) -> list[str]:
    """Ids listed page by page (sizes from ``sizes``) until a page is not full; calls
    ``between(page_number)`` after each full page."""
    seen: list[str] = []
    after: PageCursor | None = None
    for number in range(1, 200):
        size = next(sizes)
        page = list_page(size, after)
        assert len(page) <= size, f"page {number} holds {len(page)} records, limit {size}"
        seen += [record.id for record in page]
        if len(page) < size:
            return seen
        after = cursor_after(page[-1])
        if between is not None:
            between(number)
    raise AssertionError(f"still listing after 200 pages: {seen}")


def _random_sizes(seed: int) -> Iterator[int]:
    chooser = random.Random(seed)
    while True:
        yield chooser.randint(1, 6)


class OrderingContract:
    """Listing in order and by pages: each order, both directions, ties broken by id."""

    def make_repository(self) -> Repository:
        raise NotImplementedError("implement make_repository() in your subclass")

    # ----------------------------------------------------------------- data

    def _ordered_desk(self) -> tuple[Repository, ServiceDesk, FrozenClock, list[str]]:
        """Incidents with ties in every order column: three logged per instant, priorities
        repeated, updates in another order (two per instant); a few resolved or cancelled."""
        from itil_incident.testing import make_desk  # the package imports this module

        repository = self.make_repository()
        clock = FrozenClock(_START)
        desk = make_desk(repository=repository, clock=clock, ids=_ShuffledIds(11))
        chooser = random.Random(5)
        ids: list[str] = []
        for number in range(_SIZE):
            if number % 3 == 0:
                clock.advance(minutes=5)
            ids.append(desk.log_incident(actor=_AGENT, title=f"Incident {number}",
                                         impact=chooser.randint(1, 3),
                                         urgency=chooser.randint(1, 3)).id)
        for number, incident_id in enumerate(reversed(ids[::2])):
            if number % 2 == 0:
                clock.advance(minutes=1)
            desk.add_work_note(incident_id, f"Update {number}", actor=_AGENT)
        clock.advance(minutes=1)
        desk.resolve(ids[4], actor=_AGENT, code="solved_remotely", notes="Fixed")
        desk.cancel(ids[9], actor=_AGENT, reason="Duplicate")
        return repository, desk, clock, ids

    def _incidents_of(self, repository: Repository, ids: Sequence[str]) -> list[Incident]:
        return [repository.get_incident(incident_id) for incident_id in ids]

    # ----------------------------------------------------------------- incidents

    @pytest.mark.parametrize("descending", _DIRECTIONS, ids=["ascending", "descending"])
    @pytest.mark.parametrize("order_by", list(IncidentOrder), ids=[o.value for o in IncidentOrder])
    def test_list_incidents_in_each_order_breaking_ties_by_id(self, order_by: IncidentOrder,
                                                              descending: bool) -> None:
        repository, _desk, _clock, ids = self._ordered_desk()
        stored = self._incidents_of(repository, ids)
        key = _INCIDENT_KEYS[order_by]
        listed = repository.list_incidents(IncidentQuery(order_by=order_by,
                                                         descending=descending))
        first = repository.list_incidents(IncidentQuery(order_by=order_by,
                                                        descending=descending, limit=4))
        open_ = repository.list_incidents(IncidentQuery(order_by=order_by,
                                                        descending=descending, open=True))
        assert [i.id for i in listed] == _expected(stored, key, descending)
        assert [i.id for i in first] == _expected(stored, key, descending)[:4]
        assert [i.id for i in open_] == _expected([i for i in stored if i.is_open], key,
                                                  descending)

    @pytest.mark.parametrize("descending", _DIRECTIONS, ids=["ascending", "descending"])
    @pytest.mark.parametrize("order_by", list(IncidentOrder), ids=[o.value for o in IncidentOrder])
    def test_walking_pages_of_random_sizes_lists_each_incident_once_in_order(
            self, order_by: IncidentOrder, descending: bool) -> None:
        repository, _desk, _clock, ids = self._ordered_desk()
        stored = self._incidents_of(repository, ids)
        key = _INCIDENT_KEYS[order_by]
        for seed, open_ in ((1, None), (2, True), (3, False)):
            base = IncidentQuery(order_by=order_by, descending=descending, open=open_)

            def page(size: int, after: PageCursor | None, base: IncidentQuery = base
                     ) -> list[Incident]:
                return repository.list_incidents(
                    IncidentQuery(order_by=base.order_by, descending=base.descending,
                                  open=base.open, limit=size, after=after))

            walked = _walk(page, base.cursor_after, _random_sizes(seed))
            matching = [i for i in stored if open_ is None or i.is_open == open_]
            assert walked == _expected(matching, key, descending), f"open={open_}"

    @pytest.mark.parametrize("descending", _DIRECTIONS, ids=["ascending", "descending"])
    @pytest.mark.parametrize("order_by", [IncidentOrder.ID, IncidentOrder.LOGGED_AT,
                                          IncidentOrder.PRIORITY],
                             ids=["id", "logged_at", "priority"])
    def test_an_incident_changed_between_pages_is_listed_once_when_its_order_column_stays(
            self, order_by: IncidentOrder, descending: bool) -> None:
        repository, desk, clock, ids = self._ordered_desk()
        key = _INCIDENT_KEYS[order_by]
        expected = _expected(self._incidents_of(repository, ids), key, descending)
        query = IncidentQuery(order_by=order_by, descending=descending)
        sizes = iter([5, 5, 5, 5, 5, 5])

        changeable = {i.id for i in self._incidents_of(repository, ids) if i.is_open}

        def change(page_number: int) -> None:
            # The first and the last listed (the cursor's), and the last one not yet listed.
            listed, pending = expected[:5 * page_number], expected[5 * page_number:]
            clock.advance(minutes=1)
            for incident_id in {listed[0], listed[-1], *pending[-1:]} & changeable:
                desk.add_work_note(incident_id, f"Changed after page {page_number}",
                                   actor=_AGENT)

        def page(size: int, after: PageCursor | None) -> list[Incident]:
            return repository.list_incidents(IncidentQuery(
                order_by=order_by, descending=descending, limit=size, after=after))

        assert _walk(page, query.cursor_after, sizes, between=change) == expected

    def test_an_incident_logged_between_pages_is_listed_once_in_its_place(self) -> None:
        repository, desk, clock, ids = self._ordered_desk()
        query = IncidentQuery(order_by=IncidentOrder.LOGGED_AT)
        expected = _expected(self._incidents_of(repository, ids),
                             _INCIDENT_KEYS[IncidentOrder.LOGGED_AT], False)
        logged: list[str] = []

        def log(_page_number: int) -> None:
            clock.advance(minutes=1)
            logged.append(desk.log_incident(actor=_AGENT, title="Logged meanwhile").id)

        def page(size: int, after: PageCursor | None) -> list[Incident]:
            return repository.list_incidents(IncidentQuery(
                order_by=IncidentOrder.LOGGED_AT, limit=size, after=after))

        walked = _walk(page, query.cursor_after, iter([4] * 20), between=log)
        assert walked == expected + logged

    def test_a_cursor_past_the_last_incident_gives_nothing(self) -> None:
        repository, _desk, _clock, _ids = self._ordered_desk()
        for order_by in IncidentOrder:
            for descending in _DIRECTIONS:
                query = IncidentQuery(order_by=order_by, descending=descending)
                (last,) = repository.list_incidents(IncidentQuery(
                    order_by=order_by, descending=not descending, limit=1))
                assert repository.list_incidents(IncidentQuery(
                    order_by=order_by, descending=descending,
                    after=query.cursor_after(last))) == []

    def test_a_cursor_needs_no_record_behind_it(self) -> None:
        repository, _desk, _clock, ids = self._ordered_desk()
        stored = self._incidents_of(repository, ids)
        middle = datetime(2026, 3, 2, 8, 42, tzinfo=UTC)
        cursor = PageCursor(IncidentOrder.LOGGED_AT, False, (middle, "INC0000500"))
        found = repository.list_incidents(IncidentQuery(order_by=IncidentOrder.LOGGED_AT,
                                                        after=cursor))
        assert [i.id for i in found] == _expected(
            [i for i in stored if (i.logged_at, i.id) > (middle, "INC0000500")],
            _INCIDENT_KEYS[IncidentOrder.LOGGED_AT], False)

    def test_a_cursor_of_another_order_direction_or_kind_is_refused(self) -> None:
        repository, _desk, _clock, _ids = self._ordered_desk()
        (first,) = repository.list_incidents(IncidentQuery(limit=1))
        by_priority = IncidentQuery(order_by=IncidentOrder.PRIORITY).cursor_after(first)
        problem_cursor = PageCursor(ProblemOrder.ID, False, ("PRB0000001",))
        attempts: list[Callable[[], object]] = [
            lambda: repository.list_incidents(IncidentQuery(after=by_priority)),
            lambda: repository.list_incidents(IncidentQuery(
                order_by=IncidentOrder.PRIORITY, descending=True, after=by_priority)),
            lambda: repository.list_incidents(IncidentQuery(after=problem_cursor)),
            lambda: repository.list_problems(ProblemQuery(
                order_by=ProblemOrder.PRIORITY, after=by_priority)),
            lambda: repository.list_incidents(IncidentQuery(
                after=PageCursor.decode("bm90IGEgY3Vyc29y"))),
            lambda: repository.list_incidents(IncidentQuery(
                order_by=IncidentOrder.UPDATED_AT,
                after=PageCursor(IncidentOrder.UPDATED_AT, False, ("2026", "INC0000001")))),
            lambda: repository.list_incidents(IncidentQuery(order_by="due_at")),
        ]
        for attempt in attempts:
            with pytest.raises(ValidationError):
                attempt()

    # ----------------------------------------------------------------- problems

    def _ordered_problems(self) -> tuple[Repository, list[Problem]]:
        from itil_incident.testing import make_desk  # the package imports this module

        repository = self.make_repository()
        clock = FrozenClock(_START)
        desk = make_desk(repository=repository, clock=clock, ids=_ShuffledIds(12))
        ids: list[str] = []
        for number in range(9):
            if number % 2 == 0:
                clock.advance(minutes=5)
            ids.append(desk.open_problem(actor=_AGENT, title=f"Problem {number}",
                                         impact=1 + number % 3, urgency=1 + number % 2).id)
        for number, problem_id in enumerate(ids[::3]):
            clock.advance(minutes=number % 2)
            desk.add_problem_note(problem_id, "Investigating", actor=_AGENT)
        return repository, [repository.get_problem(problem_id) for problem_id in ids]

    @pytest.mark.parametrize("descending", _DIRECTIONS, ids=["ascending", "descending"])
    @pytest.mark.parametrize("order_by", list(ProblemOrder), ids=[o.value for o in ProblemOrder])
    def test_problems_list_and_page_in_each_order_breaking_ties_by_id(
            self, order_by: ProblemOrder, descending: bool) -> None:
        repository, stored = self._ordered_problems()
        expected = _expected(stored, _PROBLEM_KEYS[order_by], descending)
        query = ProblemQuery(order_by=order_by, descending=descending)

        def page(size: int, after: PageCursor | None) -> list[Problem]:
            return repository.list_problems(ProblemQuery(
                order_by=order_by, descending=descending, limit=size, after=after))

        assert [p.id for p in repository.list_problems(query)] == expected
        assert _walk(page, query.cursor_after, _random_sizes(4)) == expected
