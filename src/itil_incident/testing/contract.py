"""The Repository contract as a pytest test class.

Test your own repository with a two-line subclass in one of your test modules::

    class TestSqlRepository(RepositoryContract):
        def make_repository(self) -> Repository:
            return SqlRepository(create_engine("sqlite://"))

Each test calls ``make_repository()`` and expects a new, empty repository; set up and clean up
storage with an autouse fixture in the subclass when needed. The concurrency test uses one
repository from two threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from itil_incident.adapters.clocks import FrozenClock
from itil_incident.desk import ServiceDesk
from itil_incident.domain.incident import Incident
from itil_incident.domain.lifecycles import default_incident_workflow
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor, CategoryPath, Priority
from itil_incident.errors import ConcurrencyError, NotFoundError, ValidationError
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.ports import IncidentQuery, ProblemQuery, Repository
from itil_incident.testing._known_error_contract import KnownErrorContract
from itil_incident.testing._ordering_contract import OrderingContract

__all__ = ["RepositoryContract"]

_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
_AGENT = Actor("alice", "Alice", {"agent"})
_OTHER = Actor("bob", "Bob", {"agent"})

# Ids handed out out of order, so that storage order and id order differ.
_INCIDENT_IDS = ("INC0000040", "INC0000007", "INC0000023", "INC0000001", "INC0000016",
                 "INC0000035", "INC0000012", "INC0000029")
_PROBLEM_IDS = ("PRB0000030", "PRB0000004", "PRB0000017", "PRB0000009", "PRB0000025")


class _ScrambledIds:
    """An IdFactory that hands out the ids above, in that (unsorted) order."""

    def __init__(self) -> None:
        self._incidents: Iterator[str] = iter(_INCIDENT_IDS)
        self._problems: Iterator[str] = iter(_PROBLEM_IDS)

    def next_incident_id(self) -> str:
        return next(self._incidents)

    def next_problem_id(self) -> str:
        return next(self._problems)


class _Incidents:
    """Ids of a set of incidents built to tell every IncidentQuery filter apart."""

    def __init__(self, desk: ServiceDesk, clock: FrozenClock) -> None:
        log, a = desk.log_incident, _AGENT

        def step() -> None:
            clock.advance(minutes=7)

        self.vpn = log(actor=a, title="VPN drops every few minutes", service="vpn",
                       category="Network/VPN", assignment_group="Network Support",
                       impact=1, urgency=1).id                       # new, priority 1
        step()
        self.printer = log(actor=a, title="Printer jams on floor 3", service="printing",
                           category="Hardware/Printer", assignment_group="Desktop Support",
                           impact=3, urgency=3).id                   # assigned, priority 4
        desk.assign(self.printer, actor=a, assignee="bob")
        step()
        self.mailbox = log(actor=a, title="Mailbox full",
                           description="The user no longer receives vPN alerts",
                           service="email", category="Software/Email",
                           assignment_group="Application Support",
                           impact=2, urgency=2).id                   # in progress, priority 3
        desk.start_work(self.mailbox, actor=a)
        step()
        self.wifi = log(actor=a, title="Wi-Fi slow in the lobby", service="wifi",
                        category="Network/Wi-Fi", assignment_group="Network Support",
                        impact=2, urgency=1).id                      # resolved, priority 2
        desk.resolve(self.wifi, actor=a, code="solved_remotely", notes="Channel changed")
        step()
        self.outage = log(actor=a, title="Network outage in building B", service="vpn",
                          category="Network", assignment_group="Network Support",
                          impact=1, urgency=2).id                    # cancelled, priority 2
        desk.cancel(self.outage, actor=a, reason="Duplicate of a monitoring alert")
        step()
        self.laptop = log(actor=a, title="Laptop battery swells", service="hardware",
                          category="Hardware/Laptop", assignment_group="Desktop Support",
                          impact=3, urgency=2).id                    # on hold, priority 4
        desk.start_work(self.laptop, actor=a)
        desk.put_on_hold(self.laptop, "awaiting_vendor", actor=a)
        step()
        self.closed = log(actor=a, title="Password expired", service="directory",
                          category="Access/Password Reset", assignment_group="Service Desk",
                          impact=3, urgency=1).id                    # closed, priority 3
        desk.resolve(self.closed, actor=a, code="resolved_by_caller", notes="Reset it")
        desk.close(self.closed, actor=a)

    @property
    def all(self) -> list[str]:
        return sorted([self.vpn, self.printer, self.mailbox, self.wifi, self.outage,
                       self.laptop, self.closed])


class _Problems:
    """Ids of a set of problems built to tell every ProblemQuery filter apart."""

    def __init__(self, desk: ServiceDesk, clock: FrozenClock) -> None:
        a = _AGENT
        self.queue = desk.open_problem(actor=a, title="Mail queue stalls nightly",
                                       service="email").id            # new
        clock.advance(minutes=5)
        self.locks = desk.open_problem(actor=a, title="Database LOCKS pile up",
                                       description="Seen during month-end close",
                                       service="erp").id              # known error
        desk.start_investigation(self.locks, actor=a)
        desk.record_root_cause(self.locks, "A missing index", actor=a)
        desk.mark_known_error(self.locks, actor=a)
        clock.advance(minutes=5)
        self.certs = desk.open_problem(actor=a, title="Expired certificates",
                                       description="The mail relay locks out clients",
                                       service="email").id            # resolved
        desk.start_investigation(self.certs, actor=a)
        desk.resolve_problem(self.certs, "Renewal automated", actor=a)
        clock.advance(minutes=5)
        self.dup = desk.open_problem(actor=a, title="Duplicate of the queue problem",
                                     service="email").id              # cancelled
        desk.cancel_problem(self.dup, actor=a, reason="Duplicate")

    @property
    def all(self) -> list[str]:
        return sorted([self.queue, self.locks, self.certs, self.dup])


def _ids(records: list[Incident] | list[Problem]) -> list[str]:
    return [record.id for record in records]


def _race(repository: Repository, incident_id: str, clock: FrozenClock, text: str
          ) -> list[str]:
    """Two threads load the incident, both change it, then both commit at once; returns
    how each fared: "won", "lost" (ConcurrencyError) or "failed: <error>"."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def write(actor: Actor) -> None:
        try:
            incident = repository.get_incident(incident_id)
            barrier.wait(timeout=10)
            incident.add_note(text, actor=actor, at=clock.now())
            barrier.wait(timeout=10)
            repository.commit([incident])
            outcome = "won"
        except ConcurrencyError:
            outcome = "lost"
        except BaseException as exc:  # reported by the caller's assertion
            outcome = f"failed: {exc!r}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=write, args=(actor,)) for actor in (_AGENT, _OTHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


class RepositoryContract(OrderingContract, KnownErrorContract):
    """Tests every clause of the :class:`~itil_incident.Repository` contract, including
    listing in each order and by pages (keyset cursors), and the optional
    :class:`~itil_incident.ports.KnownErrorVersions` (skipped for a repository without it).

    Subclass it in a test module (name the subclass ``Test...`` so that pytest collects it)
    and implement :meth:`make_repository`. Records are built through a real
    :class:`~itil_incident.ServiceDesk` on top of the repository under test, with a frozen
    clock and the default policies.
    """

    def make_repository(self) -> Repository:
        """A new, empty repository to test."""
        raise NotImplementedError("implement make_repository() in your subclass")

    # ----------------------------------------------------------------- helpers

    def _desk(self, repository: Repository, *, scrambled: bool = False
              ) -> tuple[ServiceDesk, FrozenClock]:
        from itil_incident.testing import make_desk  # the package imports this module

        clock = FrozenClock(_START)
        desk = make_desk(repository=repository, clock=clock,
                         ids=_ScrambledIds() if scrambled else None)
        return desk, clock

    def _logged(self) -> tuple[Repository, ServiceDesk, FrozenClock, str]:
        repository = self.make_repository()
        desk, clock = self._desk(repository)
        incident = desk.log_incident(actor=_AGENT, title="VPN drops every few minutes",
                                     service="vpn", impact=2, urgency=2)
        clock.advance(minutes=5)
        return repository, desk, clock, incident.id

    # ----------------------------------------------------------------- reading

    def test_get_incident_returns_a_copy_whose_changes_are_not_stored(self) -> None:
        repository, _desk, clock, incident_id = self._logged()
        stored = repository.get_incident(incident_id).snapshot()
        copy = repository.get_incident(incident_id)
        copy.start_work(actor=_AGENT, at=clock.now())
        copy.custom["vip"] = True  # no method changes a dict in place; a careless copy shares it
        again = repository.get_incident(incident_id)
        assert again is not copy
        assert again.snapshot() == stored
        assert again.version == 1
        assert len(repository.history_of(incident_id)) == 1

    def test_a_loaded_record_is_saved_at_its_version(self) -> None:
        repository, desk, _clock, incident_id = self._logged()
        desk.add_work_note(incident_id, "Checked the gateway", actor=_AGENT)
        incident = repository.get_incident(incident_id)
        assert (incident.version, incident.saved_version) == (2, 2)
        assert incident.pending_events() == ()

    def test_a_committed_object_changed_afterwards_changes_nothing_stored(self) -> None:
        repository, desk, clock, incident_id = self._logged()
        incident = desk.add_comment(incident_id, "We are on it", actor=_AGENT)
        stored = repository.get_incident(incident_id).snapshot()
        incident.start_work(actor=_AGENT, at=clock.now())
        assert repository.get_incident(incident_id).snapshot() == stored

    def test_get_problem_returns_a_copy_whose_changes_are_not_stored(self) -> None:
        repository = self.make_repository()
        desk, clock = self._desk(repository)
        problem_id = desk.open_problem(actor=_AGENT, title="Mail queue stalls").id
        stored = repository.get_problem(problem_id).snapshot()
        copy = repository.get_problem(problem_id)
        copy.start_investigation(actor=_AGENT, at=clock.now())
        again = repository.get_problem(problem_id)
        assert again is not copy
        assert again.snapshot() == stored
        assert again.saved_version == again.version == 1

    # ----------------------------------------------------------------- saving

    def test_a_new_incident_loads_equal_to_what_was_saved(self) -> None:
        repository = self.make_repository()
        desk, clock = self._desk(repository)
        incident = desk.log_incident(
            actor=_AGENT, title="Cannot log in to the ERP", description="Since 8:00",
            service="erp", configuration_items=["erp-app-01", "erp-db-01"], caller="dave",
            channel="phone", impact="High", urgency=2, category="Software/Business Application",
            occurred_at=datetime(2026, 3, 2, 7, 55, tzinfo=UTC),
            custom={"site": "Lyon", "seats": 12, "vip": True},
        )
        clock.advance(minutes=3)
        desk.start_work(incident.id, actor=_OTHER)
        incident = desk.put_on_hold(incident.id, "awaiting_caller", actor=_OTHER,
                                    note="Which browser do you use?")
        loaded = repository.get_incident(incident.id)
        assert loaded.snapshot() == incident.snapshot()
        assert loaded.timeline() == incident.timeline()
        assert loaded.version == incident.version == 4
        assert loaded.status == "on_hold"

    def test_a_new_problem_loads_equal_to_what_was_saved(self) -> None:
        repository = self.make_repository()
        desk, clock = self._desk(repository)
        incident = desk.log_incident(actor=_AGENT, title="Mail queue stalls", service="email")
        problem = desk.open_problem(actor=_AGENT, title="Nightly mail queue stalls",
                                    incident_ids=[incident.id], impact=2, urgency=1)
        clock.advance(hours=1)
        desk.record_workaround(problem.id, "Restart the relay", actor=_AGENT)
        problem = desk.mark_known_error(problem.id, actor=_AGENT)
        loaded = repository.get_problem(problem.id)
        assert loaded.snapshot() == problem.snapshot()
        assert loaded.timeline() == problem.timeline()
        assert repository.get_incident(incident.id).problem_id == problem.id

    def test_a_successful_commit_marks_every_record_saved(self) -> None:
        repository, desk, clock, first_id = self._logged()
        second_id = desk.log_incident(actor=_AGENT, title="Printer jams").id
        first = repository.get_incident(first_id)
        second = repository.get_incident(second_id)
        first.start_work(actor=_AGENT, at=clock.now())
        second.add_note("Paper tray checked", actor=_AGENT, at=clock.now())
        second.cancel(reason="Logged in error", actor=_AGENT, at=clock.now())
        repository.commit([first, second])
        assert (first.saved_version, first.version) == (2, 2)
        assert (second.saved_version, second.version) == (3, 3)
        assert first.pending_events() == second.pending_events() == ()
        assert repository.get_incident(second_id).status == "cancelled"

    def test_text_with_any_character_the_domain_accepts_round_trips(self) -> None:
        # The domain refuses NUL and surrogate code points in every text, and line breaks in
        # titles and identifiers; everything else must come back exactly as it was given.
        line = ("tab\t, controls \x01\x1b[31m\x7f\x9f, emoji \U0001f6a8 "
                "\U0001f469\u200d\U0001f467, e\u0301 vs \u00e9, \u05e9\u05dc\u05d5\u05dd "
                "\u202eRTL\u202c, \ufeffBOM \u200bZW, 100% _x_ 'q' \"dq\" `bq` \\ "
                "'); DROP TABLE incidents; -- SELECT * FROM x WHERE a LIKE '%_'")
        text = (line + "\nline\r\nbreaks \r \x0b \x0c \x1c \x1d \x1e \x85 \u2028 "
                "\u2029 end\n")
        title = line + "x" * (300 - len(line))
        description = text * (99_000 // len(text))
        repository = self.make_repository()
        desk, _clock = self._desk(repository)
        incident = desk.log_incident(
            actor=Actor("\u00e9milie", "\u00c9milie \U0001f600", {"agent"}),
            title=title, description=description, caller="o'brien",
            service=line[:200], configuration_items=[line[:200], "CI-1"],
            custom={"note": text, "count": 2**53 + 1, "ratio": 0.1, "flag": False,
                    "due": datetime(2026, 3, 2, 12, 0, tzinfo=UTC)},
        )
        desk.add_comment(incident.id, text, actor=_AGENT)
        incident = desk.add_work_note(incident.id, description, actor=_AGENT)
        problem = desk.open_problem(actor=_AGENT, title=title, description=text,
                                    incident_ids=[incident.id])
        incident = desk.get_incident(incident.id)
        loaded = repository.get_incident(incident.id)
        assert loaded.snapshot() == incident.snapshot()
        assert loaded.timeline() == incident.timeline()
        assert (loaded.title, loaded.description) == (title, description)
        assert [note.text for note in loaded.notes] == [text, description]
        assert loaded.custom["note"] == text
        assert loaded.configuration_items == (line[:200], "CI-1")
        loaded_problem = repository.get_problem(problem.id)
        assert loaded_problem.snapshot() == problem.snapshot()
        assert loaded_problem.timeline() == problem.timeline()
        assert (loaded_problem.title, loaded_problem.description) == (title, text)

    def test_the_same_record_twice_in_one_commit_is_refused(self) -> None:
        repository, _desk, clock, incident_id = self._logged()
        incident = repository.get_incident(incident_id)
        twin = repository.get_incident(incident_id)
        unchanged = repository.get_incident(incident_id)
        incident.start_work(actor=_AGENT, at=clock.now())
        twin.cancel(reason="Logged in error", actor=_OTHER, at=clock.now())
        for records in ([incident, incident], [incident, twin], [unchanged, unchanged]):
            with pytest.raises(ValidationError):
                repository.commit(records)
        stored = repository.get_incident(incident_id)
        assert (stored.version, stored.status) == (1, "new")
        assert incident.saved_version == twin.saved_version == 1

    # ----------------------------------------------------------------- versions

    def test_a_stale_commit_raises_a_concurrency_error_and_stores_nothing(self) -> None:
        repository, _desk, clock, incident_id = self._logged()
        winner = repository.get_incident(incident_id)
        loser = repository.get_incident(incident_id)
        winner.start_work(actor=_AGENT, at=clock.now())
        repository.commit([winner])
        stored = repository.get_incident(incident_id).snapshot()
        loser.cancel(reason="Logged in error", actor=_OTHER, at=clock.now())
        with pytest.raises(ConcurrencyError):
            repository.commit([loser])
        after = repository.get_incident(incident_id)
        assert after.snapshot() == stored
        assert [e.version for e in repository.history_of(incident_id)] == [1, 2]
        assert loser.saved_version == 1

    def test_a_new_record_whose_id_is_taken_raises_a_concurrency_error(self) -> None:
        repository, _desk, clock, incident_id = self._logged()
        stored = repository.get_incident(incident_id).snapshot()
        impostor = Incident.log(incident_id=incident_id, workflow=default_incident_workflow(),
                                matrix=PriorityMatrix.servicenow(), actor=_OTHER,
                                at=clock.now(), title="Another incident with the same id")
        with pytest.raises(ConcurrencyError):
            repository.commit([impostor])
        assert repository.get_incident(incident_id).snapshot() == stored
        assert len(repository.history_of(incident_id)) == 1

    @pytest.mark.parametrize("stale_first", [False, True], ids=["stale-last", "stale-first"])
    def test_a_commit_with_one_stale_record_stores_none_of_them(self, stale_first: bool
                                                               ) -> None:
        repository, desk, clock, fresh_id = self._logged()
        stale_id = desk.log_incident(actor=_AGENT, title="Printer jams").id
        fresh = repository.get_incident(fresh_id)
        stale = repository.get_incident(stale_id)
        desk.add_work_note(stale_id, "Someone else got there first", actor=_OTHER)
        fresh_before = repository.get_incident(fresh_id).snapshot()
        stale_before = repository.get_incident(stale_id).snapshot()
        newcomer = Incident.log(incident_id="INC0999999", workflow=default_incident_workflow(),
                                matrix=PriorityMatrix.servicenow(), actor=_AGENT,
                                at=clock.now(), title="Created in the same unit of work")
        fresh.start_work(actor=_AGENT, at=clock.now())
        stale.start_work(actor=_AGENT, at=clock.now())
        records = [stale, newcomer, fresh] if stale_first else [newcomer, fresh, stale]
        with pytest.raises(ConcurrencyError):
            repository.commit(records)
        assert repository.get_incident(fresh_id).snapshot() == fresh_before
        assert repository.get_incident(stale_id).snapshot() == stale_before
        with pytest.raises(NotFoundError):
            repository.get_incident(newcomer.id)
        assert len(repository.history_of(fresh_id)) == 1
        assert (fresh.saved_version, newcomer.saved_version) == (1, 0)

    def test_a_record_without_pending_events_is_not_rewritten(self) -> None:
        repository, desk, _clock, incident_id = self._logged()
        desk.add_work_note(incident_id, "First look", actor=_AGENT)
        unchanged = repository.get_incident(incident_id)
        stored = repository.get_incident(incident_id).snapshot()
        history = repository.history_of(incident_id)
        repository.commit([unchanged])
        assert repository.get_incident(incident_id).snapshot() == stored
        assert repository.history_of(incident_id) == history
        assert unchanged.saved_version == unchanged.version == 2

    def test_a_record_without_pending_events_still_has_its_version_checked(self) -> None:
        repository, desk, clock, checked_id = self._logged()
        other_id = desk.log_incident(actor=_AGENT, title="Printer jams").id
        unchanged = repository.get_incident(checked_id)
        desk.add_work_note(checked_id, "Moved on meanwhile", actor=_OTHER)
        other = repository.get_incident(other_id)
        other.start_work(actor=_AGENT, at=clock.now())
        with pytest.raises(ConcurrencyError):
            repository.commit([unchanged])
        with pytest.raises(ConcurrencyError):
            repository.commit([other, unchanged])
        assert repository.get_incident(other_id).version == 1

    def test_exactly_one_of_two_concurrent_writers_wins(self) -> None:
        repository, _desk, clock, incident_id = self._logged()
        for round_number in range(10):
            start = repository.get_incident(incident_id).version
            outcomes = _race(repository, incident_id, clock, f"Round {round_number}")
            assert sorted(outcomes) == ["lost", "won"], outcomes
            assert repository.get_incident(incident_id).version == start + 1
            assert len(repository.history_of(incident_id)) == start + 1

    # ----------------------------------------------------------------- unknown ids

    def test_unknown_ids_raise_not_found(self) -> None:
        repository = self.make_repository()
        desk, _clock = self._desk(repository)
        problem_id = desk.open_problem(actor=_AGENT, title="Mail queue stalls").id
        incident_id = desk.log_incident(actor=_AGENT, title="Printer jams").id
        calls: list[Callable[[], object]] = [
            lambda: repository.get_incident("INC9999999"),
            lambda: repository.get_problem("PRB9999999"),
            lambda: repository.get_incident(problem_id),
            lambda: repository.get_problem(incident_id),
            lambda: repository.history_of("INC9999999"),
        ]
        for call in calls:
            with pytest.raises(NotFoundError):
                call()

    def test_odd_ids_raise_not_found_and_nothing_else(self) -> None:
        repository = self.make_repository()
        desk, _clock = self._desk(repository)
        desk.log_incident(actor=_AGENT, title="Printer jams")
        odd_ids = ["", " ", "\x00", "INC%", "INC_______", "INC0000001 ", "' OR '1'='1",
                   "x" * 10_000, "\U0001f6a8"]
        for odd in odd_ids:
            for call in (repository.get_incident, repository.get_problem,
                         repository.history_of):
                with pytest.raises(NotFoundError):
                    call(odd)

    # ----------------------------------------------------------------- history

    def test_history_of_returns_the_events_oldest_first(self) -> None:
        repository, desk, clock, incident_id = self._logged()
        desk.assign(incident_id, actor=_AGENT, assignee="bob")
        clock.advance(minutes=10)
        desk.start_work(incident_id, actor=_OTHER)
        clock.advance(minutes=10)
        desk.resolve(incident_id, actor=_OTHER, code="solved_remotely", notes="Rebooted")
        history = repository.history_of(incident_id)
        assert [event.name for event in history] == [
            "incident.logged", "incident.assigned", "incident.work_started",
            "incident.resolved",
        ]
        assert [event.version for event in history] == [1, 2, 3, 4]
        assert [event.at for event in history] == sorted(event.at for event in history)
        assert tuple(history) == repository.get_incident(incident_id).timeline()

    def test_history_of_a_problem_returns_its_events_oldest_first(self) -> None:
        repository = self.make_repository()
        desk, _clock = self._desk(repository)
        problem_id = desk.open_problem(actor=_AGENT, title="Mail queue stalls").id
        desk.start_investigation(problem_id, actor=_AGENT)
        desk.add_problem_note(problem_id, "Happens at 02:00", actor=_AGENT)
        history = repository.history_of(problem_id)
        assert [event.name for event in history] == [
            "problem.opened", "problem.investigation_started", "problem.note_added",
        ]
        assert [event.version for event in history] == [1, 2, 3]

    # ----------------------------------------------------------------- listing incidents

    def _incidents(self) -> tuple[Repository, _Incidents]:
        repository = self.make_repository()
        desk, clock = self._desk(repository, scrambled=True)
        return repository, _Incidents(desk, clock)

    def test_list_incidents_without_filters_gives_all_ordered_by_id(self) -> None:
        repository, made = self._incidents()
        assert _ids(repository.list_incidents(IncidentQuery())) == made.all

    def test_list_incidents_filters_by_status(self) -> None:
        repository, made = self._incidents()
        new = repository.list_incidents(IncidentQuery(status=frozenset({"new"})))
        working = repository.list_incidents(
            IncidentQuery(status=frozenset({"assigned", "in_progress", "on_hold"})))
        assert _ids(new) == [made.vpn]
        assert _ids(working) == sorted([made.printer, made.mailbox, made.laptop])

    def test_list_incidents_filters_by_priority(self) -> None:
        repository, made = self._incidents()
        high = repository.list_incidents(IncidentQuery(priority=frozenset({Priority(2)})))
        urgent = repository.list_incidents(
            IncidentQuery(priority=frozenset({Priority(1), Priority(3)})))
        assert _ids(high) == sorted([made.wifi, made.outage])
        assert _ids(urgent) == sorted([made.vpn, made.mailbox, made.closed])

    def test_list_incidents_filters_by_assignment_group(self) -> None:
        repository, made = self._incidents()
        found = repository.list_incidents(IncidentQuery(assignment_group="Network Support"))
        assert _ids(found) == sorted([made.vpn, made.wifi, made.outage])

    def test_list_incidents_filters_by_assignee(self) -> None:
        repository, made = self._incidents()
        alice = repository.list_incidents(IncidentQuery(assignee="alice"))
        bob = repository.list_incidents(IncidentQuery(assignee="bob"))
        assert _ids(alice) == sorted([made.mailbox, made.laptop])
        assert _ids(bob) == [made.printer]

    def test_list_incidents_filters_by_category_including_sub_categories(self) -> None:
        repository, made = self._incidents()
        network = repository.list_incidents(
            IncidentQuery(category=CategoryPath.parse("Network")))
        vpn = repository.list_incidents(IncidentQuery(category=CategoryPath.parse("Network/VPN")))
        hardware = repository.list_incidents(
            IncidentQuery(category=CategoryPath.parse("Hardware")))
        assert _ids(network) == sorted([made.vpn, made.wifi, made.outage])
        assert _ids(vpn) == [made.vpn]
        assert _ids(hardware) == sorted([made.printer, made.laptop])

    def test_list_incidents_filters_by_service(self) -> None:
        repository, made = self._incidents()
        found = repository.list_incidents(IncidentQuery(service="vpn"))
        assert _ids(found) == sorted([made.vpn, made.outage])

    def test_list_incidents_filters_open_and_not_open(self) -> None:
        repository, made = self._incidents()
        open_ = repository.list_incidents(IncidentQuery(open=True))
        done = repository.list_incidents(IncidentQuery(open=False))
        assert _ids(open_) == sorted([made.vpn, made.printer, made.mailbox, made.laptop])
        assert _ids(done) == sorted([made.wifi, made.outage, made.closed])

    def test_list_incidents_matches_text_in_title_or_description_ignoring_case(self) -> None:
        repository, made = self._incidents()
        vpn = repository.list_incidents(IncidentQuery(text="Vpn"))
        floor = repository.list_incidents(IncidentQuery(text="FLOOR 3"))
        assert _ids(vpn) == sorted([made.vpn, made.mailbox])
        assert _ids(floor) == [made.printer]

    def test_list_incidents_text_is_a_literal_caseless_substring(self) -> None:
        repository = self.make_repository()
        desk, _clock = self._desk(repository)
        titles = ["100% CPU on db01", "disk_full on db02", "\u00c9cran noir", "Stra\u00dfe closed",
                  "Plain title"]
        ids = {title: desk.log_incident(actor=_AGENT, title=title).id for title in titles}

        def found(text: str) -> list[str]:
            return _ids(repository.list_incidents(IncidentQuery(text=text)))

        assert found("%") == [ids["100% CPU on db01"]]
        assert found("_") == [ids["disk_full on db02"]]
        assert found("\u00e9CRAN") == [ids["\u00c9cran noir"]]
        assert found("STRASSE") == [ids["Stra\u00dfe closed"]]
        assert found("o%n") == found("[a-z]") == found("\\") == []

    def test_list_incidents_combines_filters(self) -> None:
        repository, made = self._incidents()
        found = repository.list_incidents(
            IncidentQuery(assignment_group="Network Support", open=False, service="vpn"))
        assert _ids(found) == [made.outage]

    def test_list_incidents_limit_keeps_the_first_by_id(self) -> None:
        repository, made = self._incidents()
        first_two = repository.list_incidents(IncidentQuery(limit=2))
        open_one = repository.list_incidents(IncidentQuery(open=False, limit=1))
        assert _ids(first_two) == made.all[:2]
        assert _ids(open_one) == sorted([made.wifi, made.outage, made.closed])[:1]

    def test_list_incidents_returns_copies_whose_changes_are_not_stored(self) -> None:
        repository, made = self._incidents()
        (listed,) = repository.list_incidents(IncidentQuery(status=frozenset({"new"})))
        stored = repository.get_incident(made.vpn).snapshot()
        listed.start_work(actor=_AGENT, at=datetime(2027, 1, 1, tzinfo=UTC))
        assert repository.get_incident(made.vpn).snapshot() == stored

    # ----------------------------------------------------------------- listing problems

    def _problems(self) -> tuple[Repository, _Problems]:
        repository = self.make_repository()
        desk, clock = self._desk(repository, scrambled=True)
        return repository, _Problems(desk, clock)

    def test_list_problems_without_filters_gives_all_ordered_by_id(self) -> None:
        repository, made = self._problems()
        assert _ids(repository.list_problems(ProblemQuery())) == made.all

    def test_list_problems_filters_by_status(self) -> None:
        repository, made = self._problems()
        found = repository.list_problems(
            ProblemQuery(status=frozenset({"new", "resolved"})))
        assert _ids(found) == sorted([made.queue, made.certs])

    def test_list_problems_filters_by_service(self) -> None:
        repository, made = self._problems()
        found = repository.list_problems(ProblemQuery(service="email"))
        assert _ids(found) == sorted([made.queue, made.certs, made.dup])

    def test_list_problems_filters_known_errors_and_the_rest(self) -> None:
        repository, made = self._problems()
        known = repository.list_problems(ProblemQuery(known_error=True))
        others = repository.list_problems(ProblemQuery(known_error=False))
        assert _ids(known) == [made.locks]
        assert _ids(others) == sorted([made.queue, made.certs, made.dup])

    def test_list_problems_filters_open_and_not_open(self) -> None:
        repository, made = self._problems()
        open_ = repository.list_problems(ProblemQuery(open=True))
        done = repository.list_problems(ProblemQuery(open=False))
        assert _ids(open_) == sorted([made.queue, made.locks])
        assert _ids(done) == sorted([made.certs, made.dup])

    def test_list_problems_matches_text_in_title_or_description_ignoring_case(self) -> None:
        repository, made = self._problems()
        found = repository.list_problems(ProblemQuery(text="locks"))
        assert _ids(found) == sorted([made.locks, made.certs])

    def test_list_problems_combines_filters_and_limits(self) -> None:
        repository, made = self._problems()
        found = repository.list_problems(ProblemQuery(service="email", open=False))
        first = repository.list_problems(ProblemQuery(limit=1))
        assert _ids(found) == sorted([made.certs, made.dup])
        assert _ids(first) == made.all[:1]

    def test_list_problems_returns_copies_whose_changes_are_not_stored(self) -> None:
        repository, made = self._problems()
        (listed,) = repository.list_problems(ProblemQuery(status=frozenset({"new"})))
        stored = repository.get_problem(made.queue).snapshot()
        listed.start_investigation(actor=_AGENT, at=datetime(2027, 1, 1, tzinfo=UTC))
        assert repository.get_problem(made.queue).snapshot() == stored
