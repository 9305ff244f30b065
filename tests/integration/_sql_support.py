"""What the SQL reliability and relay tests share: a database per test (a SQLite file, or a
PostgreSQL schema of its own, dropped afterwards) that a spawned process can open by itself,
counts of stored rows, and the workers that run in child processes.

Workers are module-level functions of this light module (no pytest import) so that processes
started with the ``spawn`` method can import them. Test modules import it as::

    if TYPE_CHECKING:  # mypy names this file after its path
        from tests.integration import _sql_support as support
    else:  # pytest puts tests/integration on sys.path (rootdir-relative "prepend" import)
        import _sql_support as support
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection as Pipe
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Final

import attrs
import sqlalchemy as sa

from itil_incident import (
    Actor,
    ConcurrencyError,
    FrozenClock,
    NullNotifier,
    ServiceDesk,
    SystemClock,
)
from itil_incident.adapters.sql import OutboxRelay, SqlRepository, create_schema, metadata
from itil_incident.domain.events import DomainEvent
from itil_incident.notifications import idempotency_key

POSTGRES_URL: Final = os.environ.get("ITIL_INCIDENT_POSTGRES_URL", "")
NO_POSTGRES: Final = ("PostgreSQL tests need ITIL_INCIDENT_POSTGRES_URL, e.g. "
                      "postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)")
#: The instant the frozen clocks of these tests start at.
T0: Final = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
AGENT: Final = Actor("agent", "Agent", frozenset({"agent"}))


@attrs.frozen
class Database:
    """A test database: a SQLite file (``schema`` None) or a PostgreSQL schema. Picklable, so
    that each process opens engines of its own."""

    url: str
    schema: str | None = None

    @property
    def dialect(self) -> str:
        return "sqlite" if self.schema is None else "postgresql"

    def engine(self) -> sa.Engine:
        """A new engine; a PostgreSQL statement waiting on a lock fails after 60 s instead of
        hanging the run."""
        if self.schema is None:
            return sa.create_engine(self.url)
        options = f"-csearch_path={self.schema},public -cstatement_timeout=60000"
        return sa.create_engine(self.url, connect_args={"options": options})

    def repository(self, *, busy_timeout: float = 30.0) -> SqlRepository:
        """A repository on a new engine (dispose of ``repository.engine`` when done)."""
        return SqlRepository(self.engine(), busy_timeout=busy_timeout)


@contextmanager
def sqlite_database(directory: Path) -> Iterator[Database]:
    """A new SQLite file with the schema."""
    database = Database(f"sqlite:///{directory / f'desk-{uuid.uuid4().hex[:8]}.db'}")
    repository = database.repository()
    create_schema(repository.engine)
    repository.engine.dispose()
    yield database


@contextmanager
def postgres_database() -> Iterator[Database]:
    """A new schema with the tables in the PostgreSQL test database, dropped afterwards."""
    admin = sa.create_engine(POSTGRES_URL)
    name = f"itil_sql_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            # pg_trgm once per database, in public (on every test schema's search_path)
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA "
                                       "public")
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        database = Database(POSTGRES_URL, name)
        engine = database.engine()
        create_schema(engine)
        engine.dispose()
        yield database
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


@contextmanager
def open_database(dialect: str, directory: Path) -> Iterator[Database]:
    """``sqlite_database`` or ``postgres_database`` by name (the caller skips PostgreSQL when
    :data:`POSTGRES_URL` is empty)."""
    if dialect == "sqlite":
        with sqlite_database(directory) as database:
            yield database
    else:
        with postgres_database() as database:
            yield database


def table_rows(engine: sa.Engine, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """``columns`` of every row of ``table``, ordered by them."""
    selected = metadata.tables[table]
    chosen = [selected.c[name] for name in columns]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(*chosen).order_by(*chosen))]


def append_line(path: Path, line: str) -> None:
    """Append one line with a single ``write`` on an ``O_APPEND`` descriptor: whole lines even
    when several processes append at once, and on disk before a SIGKILL can stop us."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, (line + "\n").encode("utf-8"))
    finally:
        os.close(descriptor)


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


class KeyFileNotifier:
    """Appends ``"{idempotency key} {who}"`` per event to a file that every process shares.

    ``kill_at`` (1-based count of events this notifier saw) SIGKILLs the process itself,
    ``"before"`` or ``"after"`` writing that event's line: a relay dying before or after it
    sent a message, and before it could record anything. ``pause`` seconds per event make
    concurrent relays overlap.
    """

    def __init__(self, path: Path, who: str, *, kill_at: int | None = None,
                 kill: str = "after", pause: float = 0.0) -> None:
        self.path = path
        self.who = who
        self.kill_at = kill_at
        self.kill = kill
        self.pause = pause
        self.seen = 0

    def notify(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self.seen += 1
            dying = self.seen == self.kill_at
            if dying and self.kill == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            append_line(self.path, f"{idempotency_key(event)} {self.who}")
            if dying:
                os.kill(os.getpid(), signal.SIGKILL)
            if self.pause:
                time.sleep(self.pause)


# ----------------------------------------------------------------- child-process workers


def hammer_notes(database: Database, incident_id: str, number: int, commands: int,
                 barrier: Barrier, results: Queue[tuple[int, int, int, list[str]]]) -> None:
    """``commands`` work notes on one incident through a desk of its own, started together
    with the other workers; reports (worker, successes, concurrency errors, other errors)."""
    repository = database.repository()
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=SystemClock())
    actor = Actor(f"worker-{number}", f"Worker {number}", frozenset({"agent"}))
    successes = conflicts = 0
    errors: list[str] = []
    barrier.wait(timeout=60)
    for command in range(commands):
        try:
            desk.add_work_note(incident_id, f"note {command} of worker {number}", actor=actor)
        except ConcurrencyError:
            conflicts += 1
        except Exception as exc:  # reported to the test, which expects none
            errors.append(f"{type(exc).__name__}: {exc}")
        else:
            successes += 1
    repository.engine.dispose()
    results.put((number, successes, conflicts, errors))


class StallError(Exception):
    """The parent did not kill a stalled writer in time."""


def _stall_at_the_outbox(pipe: Pipe, record_id: str, version: int) -> Any:
    """A ``before_cursor_execute`` hook: at the outbox insert, tell the parent and wait to be
    killed, inside the transaction."""

    def stall(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ITIL_OUTBOX"):
            pipe.send(("in transaction", record_id, version))
            time.sleep(60)  # killed here
            raise StallError("the parent did not kill this writer within 60 s")

    return stall


def write_until_killed(database: Database, pipe: Pipe, stall_at: int | None) -> None:
    """Log incidents and add notes, sending ``("done", id, version)`` after each command
    returned. With ``stall_at``, command number ``stall_at`` (a note on the first incident)
    announces ``("stalling", id, version it would reach)``, then stops inside its transaction,
    after its state row and events were written, at the outbox insert: the parent kills it
    there. At most 5,000 commands either way."""
    repository = database.repository()
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(T0))
    first = desk.log_incident(actor=AGENT, title="First").id
    pipe.send(("done", first, 1))
    incidents = [first]
    for command in range(2, 5001):
        if command == stall_at:
            version = repository.get_incident(first).version
            pipe.send(("stalling", first, version + 1))
            sa.event.listen(repository.engine, "before_cursor_execute",
                            _stall_at_the_outbox(pipe, first, version + 1))
            desk.add_work_note(first, "never committed", actor=AGENT)
        if command % 3 == 0:
            incident = desk.log_incident(actor=AGENT, title=f"Incident {command}")
            incidents.append(incident.id)
        else:
            incident = desk.add_work_note(incidents[command % len(incidents)],
                                          f"Note {command}", actor=AGENT)
        pipe.send(("done", incident.id, incident.version))


def relay_until_killed(database: Database, log: Path, kill_at: int, kill: str,
                       batch_size: int) -> None:
    """A relay at :data:`T0` whose notifier kills the process at the ``kill_at``-th event."""
    repository = database.repository()
    notifier = KeyFileNotifier(log, "first", kill_at=kill_at, kill=kill)
    relay = OutboxRelay(repository, notifier, clock=FrozenClock(T0), batch_size=batch_size,
                        lease=timedelta(minutes=5), relay_id="doomed")
    relay.drain(max_rounds=100)


def relay_concurrently(database: Database, log: Path, relay_id: str, barrier: Barrier,
                       results: Queue[tuple[str, int, int]]) -> None:
    """One of several relays started together, each until it finds nothing due; reports
    (relay id, messages delivered, rounds)."""
    repository = database.repository()
    relay = OutboxRelay(repository, KeyFileNotifier(log, relay_id, pause=0.002),
                        batch_size=5, relay_id=relay_id)
    barrier.wait(timeout=60)
    report = relay.drain(max_rounds=1000)
    repository.engine.dispose()
    results.put((relay_id, report.delivered, report.rounds))
