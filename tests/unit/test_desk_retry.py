"""The desk's bounded retry after a concurrent change: which commands it retries, how often,
and that a retried command is committed and notified once."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from itil_incident import (
    Actor,
    ConcurrencyError,
    DefinitionError,
    DeskPolicies,
    FrozenClock,
    Incident,
    InMemoryRepository,
    ItilIncidentError,
    Problem,
    RecordingNotifier,
    RetryPolicy,
    ServiceDesk,
    ValidationError,
)

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ALICE = Actor("alice", "Alice", frozenset({"agent"}))
BOB = Actor("bob", "Bob", frozenset({"agent"}))
NO_WAIT = RetryPolicy(attempts=3, backoff=0.0)

Interference = Callable[[Any, datetime], object]


def bob_adds_a_note(record: Incident | Problem, at: datetime) -> None:
    record.add_note("Meanwhile, on another screen", actor=BOB, at=at)


class RacingRepository(InMemoryRepository):
    """An in-memory repository where another user changes ``victim`` just before each of the
    desk's next ``races`` commits that include it (None: before every one of them)."""

    def __init__(self, clock: FrozenClock) -> None:
        super().__init__()
        self.clock = clock
        self.victim: str | None = None
        self.races: int | None = 0
        self.interfere: Interference = bob_adds_a_note
        self.tries = 0  # the desk's commits that included the victim

    def race(self, victim: str, races: int | None = 1,
             interfere: Interference = bob_adds_a_note) -> None:
        self.victim, self.races, self.interfere, self.tries = victim, races, interfere, 0

    def commit(self, records: Sequence[Incident | Problem]) -> None:
        victim = self.victim
        if victim is not None and any(record.id == victim for record in records):
            self.tries += 1
            if self.races is None or self.races > 0:
                if self.races is not None:
                    self.races -= 1
                other: Incident | Problem = (self.get_incident(victim) if victim.startswith("INC")
                                             else self.get_problem(victim))
                self.interfere(other, self.clock.now())
                super().commit([other])
        super().commit(records)


class Scene:
    """A desk on a racing repository, with an incident, another incident and a problem."""

    def __init__(self, retry: RetryPolicy | None = NO_WAIT, **policies: Any) -> None:
        self.clock = FrozenClock(START)
        self.notifier = RecordingNotifier()
        self.repository = RacingRepository(self.clock)
        self.desk = ServiceDesk(self.repository, clock=self.clock, notifier=self.notifier,
                                retry=retry, policies=DeskPolicies(**policies))
        self.incident = self.desk.log_incident(actor=ALICE, title="VPN drops", caller="carol",
                                               assignment_group="Network Support").id
        self.other = self.desk.log_incident(actor=ALICE, title="VPN slow").id
        self.problem = self.desk.open_problem(actor=ALICE, title="VPN concentrator leaks").id
        self.clock.advance(minutes=5)
        self.notifier.clear()

    def history(self, record_id: str) -> list[tuple[int, str, str]]:
        return [(e.version, e.name, e.actor.id) for e in self.repository.history_of(record_id)]


# What each command does to the scene: (name, call, record it changes).
Command = tuple[str, Callable[[ServiceDesk, Scene], object], str]
RETRYABLE: list[Command] = [
    ("add_work_note", lambda d, s: d.add_work_note(s.incident, "Checked", actor=ALICE),
     "incident"),
    ("add_comment", lambda d, s: d.add_comment(s.incident, "On it", actor=ALICE), "incident"),
    ("assign", lambda d, s: d.assign(s.incident, actor=ALICE, group="Network Engineering",
                                     assignee="alice"), "incident"),
    ("categorize", lambda d, s: d.categorize(s.incident, "Network/LAN", actor=ALICE,
                                             reroute=True), "incident"),
    ("set_custom_attribute",
     lambda d, s: d.set_custom_attribute(s.incident, "site", "Lyon", actor=ALICE), "incident"),
    ("link_change", lambda d, s: d.link_change(s.incident, "CHG0000042", actor=ALICE),
     "incident"),
    ("link_related", lambda d, s: d.link_related(s.incident, s.other, actor=ALICE),
     "incident"),
    ("assign_problem", lambda d, s: d.assign_problem(s.problem, actor=ALICE,
                                                     group="Network Engineering"), "problem"),
    ("add_problem_note", lambda d, s: d.add_problem_note(s.problem, "Seen at 02:00",
                                                         actor=ALICE), "problem"),
]
NOT_RETRYABLE: list[Command] = [
    ("update_details", lambda d, s: d.update_details(s.incident, actor=ALICE,
                                                     description="Since 08:00"), "incident"),
    ("change_impact_urgency", lambda d, s: d.change_impact_urgency(s.incident, actor=ALICE,
                                                                   impact=1), "incident"),
    ("override_priority", lambda d, s: d.override_priority(
        s.incident, 1, actor=ALICE, justification="The CEO is affected"), "incident"),
    ("start_work", lambda d, s: d.start_work(s.incident, actor=ALICE), "incident"),
    ("resolve", lambda d, s: d.resolve(s.incident, actor=ALICE, code="solved_remotely",
                                       notes="Rebooted the gateway"), "incident"),
    ("cancel", lambda d, s: d.cancel(s.incident, actor=ALICE, reason="Duplicate"), "incident"),
    ("escalate", lambda d, s: d.escalate(s.incident, actor=ALICE, reason="Stuck",
                                         group="Network Engineering"), "incident"),
    ("link_to_problem", lambda d, s: d.link_to_problem(s.incident, s.problem, actor=ALICE),
     "incident"),
    ("set_parent", lambda d, s: d.set_parent(s.incident, s.other, actor=ALICE), "incident"),
    ("record_root_cause", lambda d, s: d.record_root_cause(s.problem, "A memory leak",
                                                           actor=ALICE), "problem"),
    ("start_investigation", lambda d, s: d.start_investigation(s.problem, actor=ALICE),
     "problem"),
]


def target(scene: Scene, record: str) -> str:
    return scene.incident if record == "incident" else scene.problem


# ----------------------------------------------------------------- which commands


def test_every_retryable_command_is_a_desk_command_and_the_lists_here_cover_them() -> None:
    commands = {name for name, _ in inspect.getmembers(ServiceDesk, inspect.isfunction)
                if not name.startswith("_")}
    listed = {name for name, _, _ in RETRYABLE} | {"process_due"}
    assert commands >= ServiceDesk.RETRYABLE_COMMANDS
    assert listed == ServiceDesk.RETRYABLE_COMMANDS
    assert not {name for name, _, _ in NOT_RETRYABLE} & ServiceDesk.RETRYABLE_COMMANDS


@pytest.mark.parametrize(("name", "command", "record"), RETRYABLE,
                         ids=[name for name, _, _ in RETRYABLE])
def test_a_retryable_command_succeeds_on_the_second_try_after_a_concurrent_change(
        name: str, command: Callable[[ServiceDesk, Scene], object], record: str) -> None:
    scene = Scene()
    victim = target(scene, record)
    scene.repository.race(victim)
    command(scene.desk, scene)
    history = scene.history(victim)
    assert scene.repository.tries == 2
    assert [version for version, _, _ in history] == list(range(1, len(history) + 1))
    assert history[-2][2] == "bob"  # the competing change, then ours, once
    ours = [event for event in scene.notifier.events if event.aggregate_id == victim]
    assert [(e.version, e.name, e.actor.id) for e in ours] == history[-len(ours):]
    assert all(actor == "alice" for _, _, actor in history[-len(ours):])
    assert len(scene.notifier.events) == len({(e.aggregate_id, e.version)
                                              for e in scene.notifier.events})


@pytest.mark.parametrize(("name", "command", "record"), NOT_RETRYABLE,
                         ids=[name for name, _, _ in NOT_RETRYABLE])
def test_a_command_that_is_not_retryable_raises_the_concurrency_error_at_once(
        name: str, command: Callable[[ServiceDesk, Scene], object], record: str) -> None:
    scene = Scene()
    victim = target(scene, record)
    scene.repository.race(victim)
    with pytest.raises(ConcurrencyError):
        command(scene.desk, scene)
    assert scene.repository.tries == 1
    assert [actor for _, _, actor in scene.history(victim)][1:] == ["bob"]
    assert scene.notifier.events == []


# ----------------------------------------------------------------- how often


@pytest.mark.parametrize("attempts", [1, 2, 5])
def test_a_record_that_always_changes_meanwhile_gives_up_after_the_allowed_attempts(
        attempts: int) -> None:
    scene = Scene(retry=RetryPolicy(attempts=attempts, backoff=0.0))
    scene.repository.race(scene.incident, races=None)
    with pytest.raises(ConcurrencyError):
        scene.desk.add_work_note(scene.incident, "Checked", actor=ALICE)
    assert scene.repository.tries == attempts
    assert [actor for _, _, actor in scene.history(scene.incident)][1:] == ["bob"] * attempts
    assert scene.notifier.events == []


def test_retries_wait_longer_each_time_up_to_the_maximum_and_not_after_the_last() -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=5, backoff=0.1, max_backoff=0.3, sleep=waits.append)
    scene = Scene(retry=policy)
    scene.repository.race(scene.incident, races=None)
    with pytest.raises(ConcurrencyError):
        scene.desk.add_comment(scene.incident, "On it", actor=ALICE)
    assert waits == pytest.approx([0.1, 0.2, 0.3, 0.3])


def test_a_desk_without_a_retry_policy_never_retries() -> None:
    scene = Scene(retry=None)
    scene.repository.race(scene.incident)
    with pytest.raises(ConcurrencyError):
        scene.desk.add_work_note(scene.incident, "Checked", actor=ALICE)
    assert scene.repository.tries == 1


def test_with_retry_gives_a_desk_that_retries_and_leaves_the_first_one_as_it_was() -> None:
    scene = Scene(retry=None)
    retrying = scene.desk.with_retry(NO_WAIT)
    scene.repository.race(scene.incident)
    retrying.add_work_note(scene.incident, "Checked", actor=ALICE)
    scene.repository.race(scene.incident)
    with pytest.raises(ConcurrencyError):
        scene.desk.add_work_note(scene.incident, "Checked again", actor=ALICE)
    assert (retrying.retry, scene.desk.retry.attempts) == (NO_WAIT, 1)
    assert retrying.repository is scene.desk.repository
    assert scene.desk.with_retry(None).retry.attempts == 1


# ----------------------------------------------------------------- what a retry sees


def test_a_retry_that_the_fresh_state_refuses_raises_that_refusal_not_a_concurrency_error(
) -> None:
    scene = Scene()

    def bob_cancels(incident: Incident, at: datetime) -> None:
        incident.cancel(reason="Duplicate", actor=BOB, at=at)

    scene.repository.race(scene.incident, interfere=bob_cancels)
    with pytest.raises(ItilIncidentError) as refused:
        scene.desk.add_work_note(scene.incident, "Checked", actor=ALICE)
    assert not isinstance(refused.value, ConcurrencyError)
    assert scene.repository.get_incident(scene.incident).status == "cancelled"
    assert scene.notifier.events == []


def test_a_retry_applies_the_command_to_the_state_that_won() -> None:
    scene = Scene()

    def bob_assigns(incident: Incident, at: datetime) -> None:
        incident.assign(actor=BOB, at=at, assignee="bob")

    scene.repository.race(scene.incident, interfere=bob_assigns)
    scene.desk.link_change(scene.incident, "CHG0000042", actor=ALICE)
    stored = scene.repository.get_incident(scene.incident)
    assert stored.assignee == "bob"
    assert [target for _, target in stored.links] == ["CHG0000042"]


def test_a_retry_asks_the_authorizer_again() -> None:
    asked: list[tuple[str, str]] = []

    class CountingAuthorizer:
        def is_allowed(self, actor: Actor, action: str, subject: Incident | Problem | None
                       ) -> bool:
            asked.append((actor.id, action))
            return True

    clock = FrozenClock(START)
    repository = RacingRepository(clock)
    desk = ServiceDesk(repository, clock=clock, retry=NO_WAIT,
                       authorizer=CountingAuthorizer())
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    asked.clear()
    repository.race(incident_id)
    desk.add_work_note(incident_id, "Checked", actor=ALICE)
    assert asked == [("alice", "add_work_note")] * 2


def test_process_due_works_out_an_incident_again_after_a_concurrent_change() -> None:
    scene = Scene(auto_close_after=timedelta(days=3))
    scene.desk.resolve(scene.incident, actor=ALICE, code="solved_remotely", notes="Rebooted")
    scene.clock.advance(days=4)
    scene.notifier.clear()
    scene.repository.race(scene.incident)
    report = scene.desk.process_due()
    assert [close.aggregate_id for close in report.auto_closes] == [scene.incident]
    assert report.skipped == ()
    assert scene.repository.tries == 2
    assert [name for _, name, _ in scene.history(scene.incident)][-2:] == [
        "incident.note_added", "incident.closed"]
    assert scene.notifier.names() == ["incident.closed"]


def test_process_due_without_retries_reports_the_conflict_as_skipped() -> None:
    scene = Scene(retry=None, auto_close_after=timedelta(days=3))
    scene.desk.resolve(scene.incident, actor=ALICE, code="solved_remotely", notes="Rebooted")
    scene.clock.advance(days=4)
    scene.repository.race(scene.incident)
    report = scene.desk.process_due()
    assert report.auto_closes == ()
    assert [type(skip.error) for skip in report.skipped] == [ConcurrencyError]


# ----------------------------------------------------------------- the policy value


@pytest.mark.parametrize("fields", [
    {"attempts": 0}, {"attempts": 11}, {"attempts": "3"}, {"attempts": True},
    {"attempts": 2.0}, {"backoff": -0.1}, {"backoff": float("nan")}, {"backoff": "1"},
    {"max_backoff": float("inf")}, {"max_backoff": 61}, {"sleep": "time.sleep"},
], ids=repr)
def test_a_retry_policy_out_of_bounds_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(**fields)  # type: ignore[arg-type]  # wrong values on purpose


def test_a_desk_given_something_other_than_a_retry_policy_is_refused() -> None:
    with pytest.raises(DefinitionError):
        ServiceDesk(InMemoryRepository(), retry=3)  # type: ignore[arg-type]  # on purpose
    with pytest.raises(ValidationError):
        ServiceDesk(InMemoryRepository()).with_retry(3)  # type: ignore[arg-type]  # on purpose


def test_the_delay_doubles_from_the_backoff_up_to_the_maximum() -> None:
    policy = RetryPolicy(attempts=10, backoff=0.05, max_backoff=0.3)
    assert [policy.delay(n) for n in range(1, 6)] == pytest.approx([0.05, 0.1, 0.2, 0.3, 0.3])
