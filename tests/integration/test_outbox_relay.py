"""The outbox relay on a SQLite file and on PostgreSQL: delivery, the backoff schedule, parking
(after ``max_attempts``, or at once for a failure that cannot heal), re-drive, leases, an
interrupted round, several relays at once, and the desk wired to a relay.

PostgreSQL cases need ``ITIL_INCIDENT_POSTGRES_URL`` (skipped with the reason otherwise); each
test has a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from itil_incident import (
    DefinitionError,
    DomainEvent,
    FrozenClock,
    NullNotifier,
    RecordingNotifier,
    ServiceDesk,
    ValidationError,
)
from itil_incident.adapters.sql import (
    Backoff,
    OutboxCounts,
    OutboxRelay,
    RelayReport,
    SqlRepository,
    StorageError,
    metadata,
)
from itil_incident.notifications import DeliveryError, DeliveryFailure, idempotency_key

if TYPE_CHECKING:  # mypy names the helper module after its path
    from tests.integration import _sql_support as support
else:  # pytest puts tests/integration on sys.path (rootdir-relative "prepend" import)
    import _sql_support as support

T0 = support.T0
AGENT = support.AGENT
OUTBOX = metadata.tables["itil_outbox"]
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[support.Database]:
    if not support.POSTGRES_URL:
        pytest.skip(support.NO_POSTGRES)
    with support.postgres_database() as opened:
        yield opened


@pytest.fixture
def repository(database: support.Database) -> Iterator[SqlRepository]:
    made = database.repository(busy_timeout=5.0)
    yield made
    made.engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def log_incidents(repository: SqlRepository, count: int, *, notes: int = 0) -> list[str]:
    """``count`` incidents, each with ``notes`` work notes: ``count * (1 + notes)`` messages."""
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(T0))
    made = []
    for number in range(count):
        incident_id = desk.log_incident(actor=AGENT, title=f"Incident {number}").id
        for note in range(notes):
            desk.add_work_note(incident_id, f"Note {note}", actor=AGENT)
        made.append(incident_id)
    return made


def outbox_rows(repository: SqlRepository) -> list[dict[str, Any]]:
    with repository.engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            sa.select(OUTBOX).order_by(OUTBOX.c.id)).mappings()]


def as_utc(row: dict[str, Any], column: str) -> Any:
    """A stored instant as an aware UTC datetime (SQLite hands back naive UTC)."""
    value = row[column]
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=T0.tzinfo)


class FailingNotifier:
    """Raises ``error`` for the events of the records in ``failing`` (all when None) and
    records the others."""

    def __init__(self, error: BaseException, failing: set[str] | None = None) -> None:
        self.error = error
        self.failing = failing
        self.delivered: list[DomainEvent] = []
        self.calls = 0

    def notify(self, events: Sequence[DomainEvent]) -> None:
        self.calls += 1
        for event in events:
            if self.failing is None or event.aggregate_id in self.failing:
                raise self.error
            self.delivered.append(event)


def transient() -> DeliveryError:
    return DeliveryError.of([DeliveryFailure("k", "smtp://mail:25", "421 try later",
                                             status=421)])


def permanent() -> DeliveryError:
    return DeliveryError.of([DeliveryFailure("k", "smtp://mail:25", "550 no such user",
                                             status=550, permanent=True)])


# ----------------------------------------------------------------- backoff


def test_backoff_grows_by_its_factor_from_base_up_to_its_cap() -> None:
    schedule = Backoff(timedelta(seconds=10), 3.0, timedelta(minutes=2))
    assert [schedule.delay(n) for n in (1, 2, 3, 4, 5, 1000)] == [
        timedelta(seconds=s) for s in (10, 30, 90, 120, 120, 120)]
    assert Backoff(timedelta(seconds=5), 1, timedelta(seconds=5)).delay(50) == timedelta(
        seconds=5)
    assert Backoff(timedelta(0), 2.0, timedelta(0)).delay(7) == timedelta(0)


@pytest.mark.parametrize("arguments", [
    (timedelta(seconds=-1), 2.0, timedelta(hours=1)),
    (timedelta(seconds=10), 0.5, timedelta(hours=1)),
    (timedelta(seconds=10), float("inf"), timedelta(hours=1)),
    (timedelta(seconds=10), True, timedelta(hours=1)),
    (timedelta(hours=2), 2.0, timedelta(hours=1)),
    (10, 2.0, timedelta(hours=1)),
], ids=["negative base", "factor below 1", "infinite factor", "bool factor", "cap below base",
        "seconds, not a timedelta"])
def test_a_malformed_backoff_is_refused(arguments: tuple[Any, Any, Any]) -> None:
    with pytest.raises(DefinitionError):
        Backoff(*arguments)


# ----------------------------------------------------------------- delivery


def test_the_desk_with_a_null_notifier_and_a_relay_deliver_every_event_once_in_order(
        repository: SqlRepository, clock: FrozenClock) -> None:
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=clock)
    incident = desk.log_incident(actor=AGENT, title="VPN drops", category="Network/VPN")
    desk.start_work(incident.id, actor=AGENT)
    problem = desk.open_problem(actor=AGENT, title="Tunnels drop", incident_ids=[incident.id])
    mail = RecordingNotifier()
    relay = OutboxRelay(repository, mail, clock=clock, batch_size=2)
    report = relay.drain()
    by_key = {idempotency_key(event): event for event in
              [*repository.history_of(incident.id), *repository.history_of(problem.id)]}
    committed = [by_key[row["idempotency_key"]] for row in outbox_rows(repository)]
    assert mail.events == committed  # commit order, each event once
    assert report == RelayReport(rounds=len(committed) // 2 + 1, claimed=len(committed),
                                 delivered=len(committed))
    assert all(as_utc(row, "delivered_at") == T0 and row["attempts"] == 1
               and row["claimed_by"] is None for row in outbox_rows(repository))
    assert relay.counts() == OutboxCounts(pending=0, claimed=0, retrying=0, parked=0,
                                          delivered=len(committed))
    assert relay.drain() == RelayReport(rounds=1)  # nothing twice


def test_a_relay_on_a_bare_sqlite_engine_claims_under_begin_immediate(tmp_path: Path) -> None:
    with support.sqlite_database(tmp_path) as database:
        repository = database.repository()
        log_incidents(repository, 2)
        engine = database.engine()  # not configured by any repository
        statements: list[str] = []
        # what SQLite itself runs, whoever sends it (SQLAlchemy or the driver directly)
        sa.event.listen(engine, "checkout",
                        lambda dbapi, _r, _p: dbapi.set_trace_callback(statements.append))
        relay = OutboxRelay(engine, RecordingNotifier(), clock=FrozenClock(T0))
        assert relay.run_once().delivered == 2
        assert statements.count("BEGIN IMMEDIATE") == 2  # the claim, then the outcomes
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        engine.dispose()
        repository.engine.dispose()


# ----------------------------------------------------------------- failures


def test_a_failing_message_is_retried_on_the_backoff_schedule_then_parked(
        repository: SqlRepository, clock: FrozenClock) -> None:
    log_incidents(repository, 1)
    notifier = FailingNotifier(ConnectionRefusedError("mail server down"))
    relay = OutboxRelay(repository, notifier, clock=clock, max_attempts=5,
                        backoff=Backoff(timedelta(seconds=10), 3.0, timedelta(minutes=2)))
    waits = []
    for attempt in range(1, 5):
        assert relay.run_once().retrying == 1
        (row,) = outbox_rows(repository)
        assert (row["attempts"], row["parked_at"], row["claimed_by"]) == (attempt, None, None)
        assert row["last_error"] == "ConnectionRefusedError: mail server down"
        due = as_utc(row, "next_attempt_at")
        waits.append(int((due - clock.now()).total_seconds()))
        clock.set(due - timedelta(microseconds=1))
        assert relay.run_once().claimed == 0  # not before it is due
        clock.set(due)
    assert waits == [10, 30, 90, 120]
    assert relay.run_once() == RelayReport(rounds=1, claimed=1, parked=1)
    (row,) = outbox_rows(repository)
    assert (row["attempts"], as_utc(row, "parked_at"), row["next_attempt_at"]) == (
        5, clock.now(), None)
    (parked,) = relay.parked()
    assert (parked.attempts, parked.last_error, parked.idempotency_key) == (
        5, "ConnectionRefusedError: mail server down", row["idempotency_key"])
    clock.advance(days=30)
    assert relay.run_once().claimed == 0  # parked: never tried again by itself
    assert notifier.calls == 5


@pytest.mark.parametrize("error", [permanent(), ValidationError("no address for the caller")],
                         ids=["permanent DeliveryError", "ValidationError"])
def test_a_message_that_can_never_be_sent_is_parked_at_once_and_the_rest_go_out(
        repository: SqlRepository, clock: FrozenClock, error: Exception) -> None:
    doomed, *others = log_incidents(repository, 4)
    notifier = FailingNotifier(error, failing={doomed})
    relay = OutboxRelay(repository, notifier, clock=clock, max_attempts=10)
    assert relay.run_once() == RelayReport(rounds=1, claimed=4, delivered=3, parked=1)
    assert [e.aggregate_id for e in notifier.delivered] == others
    (parked,) = relay.parked()
    assert (parked.record_id, parked.attempts) == (doomed, 1)
    assert parked.last_error is not None
    assert type(error).__name__ in parked.last_error


def test_a_transient_delivery_error_is_retried_not_parked(
        repository: SqlRepository, clock: FrozenClock) -> None:
    log_incidents(repository, 2)
    relay = OutboxRelay(repository, FailingNotifier(transient()), clock=clock, max_attempts=2)
    assert relay.run_once() == RelayReport(rounds=1, claimed=2, retrying=2)
    assert relay.counts() == OutboxCounts(pending=2, claimed=0, retrying=2, parked=0,
                                          delivered=0)
    assert relay.parked() == []


def test_a_message_whose_payload_cannot_be_decoded_is_parked_with_the_reason(
        repository: SqlRepository, clock: FrozenClock) -> None:
    first, _second = log_incidents(repository, 2)
    with repository.engine.begin() as connection:
        connection.execute(sa.update(OUTBOX).where(OUTBOX.c.record_id == first)
                           .values(payload={"name": "incident.exploded"}))
    mail = RecordingNotifier()
    relay = OutboxRelay(repository, mail, clock=clock)
    assert relay.run_once() == RelayReport(rounds=1, claimed=2, delivered=1, parked=1)
    (parked,) = relay.parked()
    assert parked.record_id == first
    assert parked.last_error is not None
    assert parked.last_error.startswith("cannot decode the stored event")
    assert mail.names() == ["incident.logged"]


def test_redrive_puts_parked_messages_back_and_they_are_delivered(
        repository: SqlRepository, clock: FrozenClock) -> None:
    incidents = log_incidents(repository, 3)
    failing = OutboxRelay(repository, FailingNotifier(permanent()), clock=clock)
    assert failing.run_once().parked == 3
    first, *rest = failing.parked()
    mail = RecordingNotifier()
    relay = OutboxRelay(repository, mail, clock=clock)
    assert relay.redrive([first.id, 10_000]) == 1  # an unknown id is ignored
    (row, *_others) = outbox_rows(repository)
    assert (row["parked_at"], row["attempts"], row["next_attempt_at"]) == (None, 0, None)
    assert relay.run_once().delivered == 1
    assert relay.redrive([first.id]) == 0  # delivered: not parked any more
    assert [p.id for p in relay.parked()] == [p.id for p in rest]
    assert relay.redrive() == 2
    assert relay.redrive([]) == 0
    assert relay.drain().delivered == 2
    assert [e.aggregate_id for e in mail.events] == incidents
    assert relay.parked() == []


@pytest.mark.parametrize("ids", ["123", [1, "2"], [True], 7],
                         ids=["a string", "a str id", "a bool id", "not iterable"])
def test_redrive_refuses_what_is_not_a_list_of_ids(repository: SqlRepository,
                                                   ids: Any) -> None:
    with pytest.raises(ValidationError):
        OutboxRelay(repository, RecordingNotifier()).redrive(ids)


# ----------------------------------------------------------------- leases


def test_a_dead_relays_claim_is_left_alone_until_its_lease_ends(
        repository: SqlRepository, clock: FrozenClock) -> None:
    log_incidents(repository, 3)
    ends = T0 + timedelta(minutes=5)
    with repository.engine.begin() as connection:  # what a relay killed mid-round leaves
        connection.execute(sa.update(OUTBOX).values(claimed_by="dead", claimed_until=ends))
    mail = RecordingNotifier()
    relay = OutboxRelay(repository, mail, clock=clock, relay_id="heir")
    assert relay.counts().claimed == 3
    clock.set(ends - timedelta(microseconds=1))
    assert relay.run_once().claimed == 0
    clock.set(ends)
    assert relay.run_once() == RelayReport(rounds=1, claimed=3, delivered=3)
    assert len(mail.events) == 3


def test_a_relay_whose_lease_ran_out_mid_round_finds_its_messages_taken_over(
        repository: SqlRepository, clock: FrozenClock) -> None:
    log_incidents(repository, 2)
    heir_mail = RecordingNotifier()
    heir = OutboxRelay(repository, heir_mail, clock=clock, relay_id="heir")
    reports: list[RelayReport] = []

    class SlowNotifier:
        """Takes longer than the lease: meanwhile the heir claims and delivers the batch."""

        def __init__(self) -> None:
            self.events: list[DomainEvent] = []

        def notify(self, events: Sequence[DomainEvent]) -> None:
            if not reports:
                clock.advance(minutes=6)
                reports.append(heir.run_once())
            self.events.extend(events)

    slow = SlowNotifier()
    relay = OutboxRelay(repository, slow, clock=clock, lease=timedelta(minutes=5),
                        relay_id="slow")
    assert relay.run_once() == RelayReport(rounds=1, claimed=2, lost=2)
    assert reports == [RelayReport(rounds=1, claimed=2, delivered=2)]
    assert slow.events == heir_mail.events  # delivered twice, with the same keys
    assert relay.counts().delivered == 2


def test_a_failure_recorded_after_the_lease_was_taken_over_does_not_touch_the_message(
        repository: SqlRepository, clock: FrozenClock) -> None:
    log_incidents(repository, 1)
    heir = OutboxRelay(repository, RecordingNotifier(), clock=clock, relay_id="heir")

    class LateFailure:
        def notify(self, events: Sequence[DomainEvent]) -> None:
            clock.advance(minutes=6)
            assert heir.run_once().delivered == 1
            raise ConnectionResetError("too late anyway")

    relay = OutboxRelay(repository, LateFailure(), clock=clock, lease=timedelta(minutes=5))
    assert relay.run_once() == RelayReport(rounds=1, claimed=1, lost=1)
    (row,) = outbox_rows(repository)
    assert (row["attempts"], row["last_error"], row["next_attempt_at"]) == (1, None, None)
    assert row["delivered_at"] is not None


def test_an_interrupted_round_records_what_was_delivered_and_releases_the_rest(
        repository: SqlRepository, clock: FrozenClock) -> None:
    incidents = log_incidents(repository, 5)

    class Interrupted(RecordingNotifier):
        def notify(self, events: Sequence[DomainEvent]) -> None:
            if len(self.events) == 2:
                raise SystemExit("stopping")
            super().notify(events)

    interrupted = Interrupted()
    relay = OutboxRelay(repository, interrupted, clock=clock)
    with pytest.raises(SystemExit):
        relay.run_once()
    rows = outbox_rows(repository)
    assert [row["delivered_at"] is not None for row in rows] == [True, True, False, False, False]
    assert {row["claimed_by"] for row in rows} == {None}  # released: no need to wait
    mail = RecordingNotifier()
    assert OutboxRelay(repository, mail, clock=clock).run_once().delivered == 3
    assert [e.aggregate_id for e in [*interrupted.events, *mail.events]] == incidents


# ----------------------------------------------------------------- several relays


def test_three_relay_processes_deliver_each_of_300_messages_exactly_once(
        database: support.Database, repository: SqlRepository, tmp_path: Path) -> None:
    log_incidents(repository, 100, notes=2)
    log = tmp_path / "delivered.log"
    barrier = SPAWN.Barrier(3)
    results: Any = SPAWN.Queue()
    relays: list[BaseProcess] = [
        SPAWN.Process(target=support.relay_concurrently,
                      args=(database, log, f"relay-{n}", barrier, results), daemon=True)
        for n in range(3)]
    began = time.perf_counter()
    try:
        for relay in relays:
            relay.start()
        reports = sorted(results.get(timeout=120) for _ in relays)
        for relay in relays:
            relay.join(timeout=120)
            assert relay.exitcode == 0
    finally:
        for relay in relays:
            if relay.is_alive():
                relay.kill()
                relay.join(timeout=120)
    elapsed = time.perf_counter() - began
    lines = [line.split() for line in support.read_lines(log)]
    delivered = Counter(key for key, _who in lines)
    by_relay = Counter(who for _key, who in lines)
    print(f"\n{database.dialect}: 3 relay processes, 300 messages in {elapsed:.1f} s: "
          f"per relay (delivered, rounds) {reports}")
    assert sorted(delivered) == sorted(row["idempotency_key"] for row in outbox_rows(repository))
    assert set(delivered.values()) == {1}
    assert sum(report[1] for report in reports) == 300
    assert len(by_relay) >= 2  # they did run side by side
    assert all(row["delivered_at"] is not None for row in outbox_rows(repository))


def test_a_postgres_claim_skips_rows_another_relay_is_claiming_instead_of_waiting(
        postgres: support.Database, clock: FrozenClock) -> None:
    repository = postgres.repository(busy_timeout=1.0)
    log_incidents(repository, 6)
    other = postgres.engine()
    try:
        with other.begin() as connection:  # another relay in the middle of its claim
            locked = connection.execute(sa.select(OUTBOX.c.id).order_by(OUTBOX.c.id).limit(3)
                                        .with_for_update()).scalars().all()
            mail = RecordingNotifier()
            began = time.perf_counter()
            report = OutboxRelay(repository, mail, clock=clock).run_once()
            waited = time.perf_counter() - began
            assert report == RelayReport(rounds=1, claimed=3, delivered=3)
            assert waited < 1.0
            assert {row["id"] for row in outbox_rows(repository)
                    if row["delivered_at"] is None} == set(locked)
    finally:
        other.dispose()
        repository.engine.dispose()


# ----------------------------------------------------------------- running and operating


def test_run_stops_when_told_and_sleeps_only_when_idle(repository: SqlRepository,
                                                       clock: FrozenClock) -> None:
    log_incidents(repository, 5)
    mail = RecordingNotifier()
    relay = OutboxRelay(repository, mail, clock=clock, batch_size=2)
    began = time.perf_counter()
    report = relay.run(until=lambda: len(mail.events) == 5, idle_sleep=30.0)
    assert time.perf_counter() - began < 10.0  # full batches: no sleep; then it was told
    assert (report.rounds, report.delivered) == (3, 5)
    assert relay.run(until=lambda: False, idle_sleep=0.01, max_rounds=3) == RelayReport(
        rounds=3)
    assert relay.run(until=T0, max_rounds=5) == RelayReport()  # the deadline has come


def test_run_logs_a_storage_error_and_carries_on(tmp_path: Path, clock: FrozenClock,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")
    relay = OutboxRelay(engine, RecordingNotifier(), clock=clock)
    with pytest.raises(StorageError, match="create_schema"):
        relay.run_once()
    report = relay.run(until=lambda: False, idle_sleep=0.0, max_rounds=2)
    assert report == RelayReport(rounds=2, errors=2)
    assert "a round failed" in caplog.text
    engine.dispose()


def test_delivered_messages_can_be_purged(repository: SqlRepository,
                                          clock: FrozenClock) -> None:
    log_incidents(repository, 3)
    relay = OutboxRelay(repository, RecordingNotifier(), clock=clock, batch_size=2)
    relay.run_once()
    clock.advance(hours=1)
    relay.run_once()
    assert relay.purge_delivered(before=T0 + timedelta(minutes=30)) == 2
    assert relay.purge_delivered(before=T0 + timedelta(days=1)) == 1
    assert outbox_rows(repository) == []


@pytest.mark.parametrize(("option", "value"), [
    ("batch_size", 0), ("max_attempts", 0), ("batch_size", 2.0), ("lease", timedelta(0)),
    ("relay_id", " "), ("backoff", (1, 2, 3)), ("clock", object()), ("busy_timeout", -1),
])
def test_a_relay_refuses_a_malformed_option(repository: SqlRepository, option: str,
                                            value: Any) -> None:
    with pytest.raises(DefinitionError, match=option):
        OutboxRelay(repository, RecordingNotifier(), **{option: value})


def test_a_relay_refuses_what_is_not_a_notifier_or_a_database(
        repository: SqlRepository) -> None:
    with pytest.raises(DefinitionError, match="notifier"):
        OutboxRelay(repository, object())  # type: ignore[arg-type]  # refused at run time
    with pytest.raises(DefinitionError, match="source"):
        OutboxRelay("sqlite:///x.db", RecordingNotifier())  # type: ignore[arg-type]  # refused at run time
