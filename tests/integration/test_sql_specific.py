"""What the SQL repository promises beyond the Repository contract: SQLite's WAL mode and
``BEGIN IMMEDIATE``, the outbox written in the commit's transaction, the schema version, an
index behind every query, verbatim text, and library errors instead of driver errors.

Tests marked with the ``engine`` fixture run on a SQLite file and on PostgreSQL (skipped with a
reason when ``ITIL_INCIDENT_POSTGRES_URL`` is unset); each PostgreSQL repository lives in a
schema of its own, dropped afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from itil_incident import (
    Actor,
    CategoryPath,
    ConcurrencyError,
    DeskPolicies,
    Incident,
    IncidentOrder,
    IncidentQuery,
    LinkKind,
    NotFoundError,
    Priority,
    ProblemOrder,
    ProblemQuery,
    ServiceDesk,
    TransitionDef,
    ValidationError,
    Workflow,
    default_incident_workflow,
    default_problem_workflow,
)
from itil_incident.adapters.sql import (
    SCHEMA_VERSION,
    SqlRepository,
    StorageError,
    create_schema,
    event_from_dict,
    event_to_dict,
    metadata,
    schema_version,
)
from itil_incident.adapters.sql.repository import _indexed_values as indexed_values
from itil_incident.adapters.sql.repository import _state_row as state_row
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.testing import FrozenClock, make_desk
from itil_incident.testing import strategies as its

POSTGRES_URL = os.environ.get("ITIL_INCIDENT_POSTGRES_URL", "")
NO_POSTGRES = ("PostgreSQL tests need ITIL_INCIDENT_POSTGRES_URL, e.g. "
               "postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)")
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ALICE = Actor("alice", "Alice", frozenset({"agent"}))
BOB = Actor("bob", "Bob", frozenset({"agent"}))

MakeRepository = Callable[..., SqlRepository]


# ----------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def postgres_admin() -> Iterator[sa.Engine]:
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    yield engine
    engine.dispose()


@pytest.fixture
def make_sqlite(tmp_path: Path) -> Iterator[MakeRepository]:
    """Repositories on new SQLite files: ``make(busy_timeout=..., schema=True)``."""
    made: list[SqlRepository] = []

    def make(*, busy_timeout: float = 5.0, schema: bool = True,
             workflows: tuple[Workflow, ...] | None = None) -> SqlRepository:
        url = f"sqlite:///{tmp_path / f'desk-{len(made)}.db'}"
        repository = (SqlRepository.from_url(url, busy_timeout=busy_timeout)
                      if workflows is None else
                      SqlRepository.from_url(url, busy_timeout=busy_timeout,
                                             workflows=workflows))
        if schema:
            create_schema(repository.engine)
        made.append(repository)
        return repository

    yield make
    for repository in made:
        repository.close()


@pytest.fixture
def make_postgres(postgres_admin: sa.Engine) -> Iterator[MakeRepository]:
    """Repositories in new schemas of the PostgreSQL test database."""
    made: list[tuple[SqlRepository, str]] = []

    def make(*, busy_timeout: float = 5.0, schema: bool = True,
             workflows: tuple[Workflow, ...] | None = None) -> SqlRepository:
        name = f"itil_sql_test_{uuid.uuid4().hex[:12]}"
        with postgres_admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        # statement_timeout: a test waiting on a lock fails instead of hanging the run
        options = f"-csearch_path={name},public -cstatement_timeout=20000"
        engine = sa.create_engine(POSTGRES_URL, connect_args={"options": options})
        if schema:
            create_schema(engine)
        repository = (SqlRepository(engine, busy_timeout=busy_timeout) if workflows is None
                      else SqlRepository(engine, busy_timeout=busy_timeout,
                                         workflows=workflows))
        made.append((repository, name))
        return repository

    yield make
    for repository, name in made:
        repository.engine.dispose()
        with postgres_admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def make(request: pytest.FixtureRequest) -> MakeRepository:
    """Repositories on SQLite, then on PostgreSQL."""
    if request.param == "postgresql" and not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    fixture: MakeRepository = request.getfixturevalue(f"make_{request.param.replace('ql', '')}"
                                                     if request.param == "postgresql"
                                                     else "make_sqlite")
    return fixture


def desk_on(repository: SqlRepository, *, policies: DeskPolicies | None = None
            ) -> tuple[ServiceDesk, FrozenClock]:
    clock = FrozenClock(START)
    return make_desk(repository=repository, clock=clock, policies=policies), clock


def rows(repository: SqlRepository, table: str, **where: str) -> list[dict[str, Any]]:
    """Rows of ``table`` (a host's own query, as a relay or a report would run it)."""
    selected = metadata.tables[table]
    statement = sa.select(selected).where(
        *(selected.c[name] == value for name, value in where.items()))
    with repository.engine.connect() as connection:
        return [dict(row) for row in connection.execute(statement).mappings()]


def stale_pair(repository: SqlRepository) -> tuple[ServiceDesk, Incident, Incident]:
    """An incident loaded twice; the first copy is then saved with a change."""
    desk, clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    clock.advance(minutes=5)
    winner = repository.get_incident(incident_id)
    loser = repository.get_incident(incident_id)
    winner.start_work(actor=ALICE, at=clock.now())
    repository.commit([winner])
    loser.cancel(reason="Logged in error", actor=BOB, at=clock.now())
    return desk, winner, loser


# ----------------------------------------------------------------- SQLite specifics


def test_sqlite_connections_use_wal_foreign_keys_and_the_busy_timeout(
        make_sqlite: MakeRepository) -> None:
    repository = make_sqlite(busy_timeout=1.5)
    with repository.engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert (journal, foreign_keys, busy) == ("wal", 1, 1500)


def test_sqlite_writes_begin_immediate_and_reads_begin_deferred(
        make_sqlite: MakeRepository) -> None:
    repository = make_sqlite()
    # Logging without the read of the known errors, so that its first statement is the write.
    desk, _clock = desk_on(repository, policies=DeskPolicies(known_errors_on_log=False))
    statements: list[str] = []

    def trace(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # What SQLite itself runs, whoever sends it (SQLAlchemy or the driver directly).
        dbapi_connection.set_trace_callback(statements.append)

    repository.engine.dispose()  # new connections, each traced from its checkout
    sa.event.listen(repository.engine, "checkout", trace)

    def kinds(found: list[str]) -> list[str]:
        return [" ".join(s.split()[:2]) if s.startswith("BEGIN") else s.split()[0]
                for s in found if not s.startswith("PRAGMA")]

    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    writes = kinds(statements)
    statements.clear()
    repository.list_incidents(IncidentQuery())
    reads = kinds(statements)
    statements.clear()
    repository.get_incident(incident_id)
    single = kinds(statements)
    # the write: one transaction, taking the write lock first; the state, event and outbox
    # rows go in it
    assert writes[0] == "BEGIN IMMEDIATE"
    assert writes.count("BEGIN IMMEDIATE") == 1
    assert writes.count("INSERT") == 3
    assert writes[-1] == "COMMIT"
    # a read of several statements: one consistent view, no write lock
    assert reads == ["BEGIN", "SELECT", "ROLLBACK"]
    # a read of one statement is its own consistent view: no transaction around it
    assert single == ["SELECT"]


def test_a_postgres_read_of_one_statement_runs_in_autocommit_and_leaves_the_pool_as_it_was(
        make_postgres: MakeRepository) -> None:
    repository = make_postgres()
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    levels: list[bool] = []

    def record(conn: Any, *_rest: Any) -> None:
        levels.append(bool(conn.connection.driver_connection.autocommit))

    sa.event.listen(repository.engine, "before_cursor_execute", record)
    repository.get_incident(incident_id)
    sa.event.remove(repository.engine, "before_cursor_execute", record)
    assert levels == [True]
    with repository.engine.connect() as connection:  # the pooled connection, reset
        driver = connection.connection.driver_connection
        assert driver is not None
        assert driver.autocommit is False
        assert connection.get_isolation_level() == "READ COMMITTED"


def test_a_hosts_own_transactions_on_the_repositorys_sqlite_engine_stay_atomic(
        make_sqlite: MakeRepository) -> None:
    # The repository starts its own transactions itself: the engine's other users keep
    # the driver's transaction handling, so a host's failed transaction leaves nothing.
    repository = make_sqlite()
    desk, _clock = desk_on(repository)
    desk.log_incident(actor=ALICE, title="VPN drops")
    with repository.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE host_notes (id INTEGER PRIMARY KEY, text TEXT)")

    def failing_host_transaction() -> None:
        with repository.engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO host_notes (text) VALUES ('first')")
            connection.exec_driver_sql("INSERT INTO host_notes (text) VALUES ('second')")
            raise RuntimeError("the host's own failure")

    with pytest.raises(RuntimeError):
        failing_host_transaction()
    with repository.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM host_notes").scalar() == 0
    assert [i.title for i in repository.list_incidents(IncidentQuery())] == ["VPN drops"]


def hold_write_lock(path: str) -> sqlite3.Connection:
    """Another process's writer: a raw sqlite3 connection inside BEGIN IMMEDIATE."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def database_path(repository: SqlRepository) -> str:
    database = repository.engine.url.database
    assert database is not None
    return database


def test_a_second_sqlite_writer_fails_cleanly_after_the_busy_timeout_storing_nothing(
        make_sqlite: MakeRepository) -> None:
    repository = make_sqlite(busy_timeout=0.3)
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    other = hold_write_lock(database_path(repository))
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="locked"):
            desk.add_work_note(incident_id, "Blocked", actor=ALICE)
        waited = time.monotonic() - started
    finally:
        other.rollback()
        other.close()
    assert waited >= 0.25
    assert repository.get_incident(incident_id).version == 1
    assert len(repository.pending_outbox(10)) == 1
    assert desk.add_work_note(incident_id, "Free again", actor=ALICE).version == 2


def test_a_second_sqlite_writer_waits_for_the_first_and_then_succeeds(
        make_sqlite: MakeRepository) -> None:
    repository = make_sqlite(busy_timeout=10)
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    other = hold_write_lock(database_path(repository))
    releaser = threading.Timer(0.3, other.rollback)
    releaser.start()
    try:
        started = time.monotonic()
        incident = desk.add_work_note(incident_id, "Waited my turn", actor=ALICE)
        waited = time.monotonic() - started
    finally:
        releaser.join()
        other.close()
    assert waited >= 0.25
    assert incident.version == repository.get_incident(incident_id).version == 2


def test_a_postgres_writer_blocked_by_a_row_lock_fails_cleanly_after_the_busy_timeout(
        make_postgres: MakeRepository) -> None:
    repository = make_postgres(busy_timeout=0.3)
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    incidents = metadata.tables["itil_incidents"]
    with repository.engine.connect() as other, other.begin():  # another writer's row lock
        other.execute(sa.select(incidents.c.id).where(incidents.c.id == incident_id)
                      .with_for_update())
        started = time.monotonic()
        with pytest.raises(StorageError, match="locked"):
            desk.add_work_note(incident_id, "Blocked", actor=ALICE)
        waited = time.monotonic() - started
    assert waited >= 0.25
    assert repository.get_incident(incident_id).version == 1
    assert len(repository.pending_outbox(10)) == 1
    assert desk.add_work_note(incident_id, "Free again", actor=ALICE).version == 2


def test_a_database_without_the_schema_raises_a_storage_error_naming_create_schema(
        make: MakeRepository) -> None:
    repository = make(schema=False)
    with pytest.raises(StorageError, match="create_schema"):
        repository.get_incident("INC0000001")
    desk, _clock = desk_on(repository)
    with pytest.raises(StorageError, match="create_schema"):
        desk.log_incident(actor=ALICE, title="VPN drops")


# ----------------------------------------------------------------- versions and atomicity


def test_a_stale_save_raises_a_concurrency_error_and_stores_no_row(
        make: MakeRepository) -> None:
    repository = make()
    _desk, winner, loser = stale_pair(repository)
    before = {table: rows(repository, table) for table in
              ("itil_incidents", "itil_incident_events", "itil_outbox", "itil_links")}
    with pytest.raises(ConcurrencyError) as raised:
        repository.commit([loser])
    assert (raised.value.identifier, raised.value.expected, raised.value.actual) == (
        winner.id, 1, 2)
    after = {table: rows(repository, table) for table in before}
    assert after == before
    assert loser.saved_version == 1


def test_committing_no_record_is_harmless(make: MakeRepository) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    repository.commit([])
    assert repository.get_incident(incident_id).version == 1
    assert len(repository.pending_outbox(10)) == 1


def test_two_writers_of_the_same_new_id_one_wins_the_other_gets_a_concurrency_error(
        make: MakeRepository) -> None:
    repository = make()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(actor: Actor) -> None:
        incident = Incident.log(incident_id="INC0000001", workflow=default_incident_workflow(),
                                matrix=PriorityMatrix.servicenow(), actor=actor, at=START,
                                title=f"Logged by {actor.id}")
        barrier.wait(timeout=10)
        try:
            repository.commit([incident])
            outcomes.append("won")
        except ConcurrencyError as error:
            outcomes.append(f"lost: expected {error.expected}, found {error.actual}")

    threads = [threading.Thread(target=write, args=(actor,)) for actor in (ALICE, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["lost: expected 0, found 1", "won"]
    assert len(repository.history_of("INC0000001")) == 1
    assert len(rows(repository, "itil_outbox")) == 1


# ----------------------------------------------------------------- outbox


def test_a_commit_that_does_not_publish_stores_events_but_no_outbox_message(
        make: MakeRepository) -> None:
    repository = make()
    incident = Incident.log(incident_id="INC0000001", workflow=default_incident_workflow(),
                            matrix=PriorityMatrix.servicenow(), actor=ALICE, at=START,
                            title="Imported from an old desk")
    incident.start_work(actor=ALICE, at=START)
    repository.commit([incident], publish=False)
    assert len(rows(repository, "itil_incident_events")) == 2
    assert rows(repository, "itil_outbox") == []
    stored = repository.get_incident("INC0000001")
    stored.add_note("Looked again.", actor=ALICE, at=START)
    repository.commit([stored])  # published: only its own new event
    assert [row["version"] for row in rows(repository, "itil_outbox")] == [3]


def test_publish_must_be_a_flag_and_a_refused_commit_stores_nothing(
        make: MakeRepository) -> None:
    repository = make()
    incident = Incident.log(incident_id="INC0000001", workflow=default_incident_workflow(),
                            matrix=PriorityMatrix.servicenow(), actor=ALICE, at=START,
                            title="VPN drops")
    with pytest.raises(ValidationError, match="publish"):
        repository.commit([incident], publish=0)  # type: ignore[arg-type]  # the check under test
    assert rows(repository, "itil_incidents") == []
    assert incident.saved_version == 0



def test_every_committed_event_gets_an_outbox_message_in_order(make: MakeRepository) -> None:
    repository = make()
    desk, clock = desk_on(repository)
    incident = desk.log_incident(actor=ALICE, title="VPN drops", category="Network/VPN")
    clock.advance(minutes=5)
    desk.start_work(incident.id, actor=ALICE)
    desk.put_on_hold(incident.id, "awaiting_caller", actor=ALICE, note="Which client?")
    problem = desk.open_problem(actor=ALICE, title="Tunnels drop", incident_ids=[incident.id])
    events = [*repository.history_of(incident.id), *repository.history_of(problem.id)]
    messages = repository.pending_outbox(100)
    by_key = {message.idempotency_key: message for message in messages}
    assert [m.id for m in messages] == sorted(m.id for m in messages)
    assert sorted(by_key) == sorted(f"{e.aggregate_id}:{e.version}" for e in events)
    for event in events:
        message = by_key[f"{event.aggregate_id}:{event.version}"]
        assert (message.record_id, message.version, message.event_name) == (
            event.aggregate_id, event.version, event.name)
        assert message.payload == event_to_dict(event)
        assert event_from_dict(message.payload) == event
        assert (message.attempts, message.delivered_at) == (0, None)
        assert message.created_at.tzinfo is not None
    # The last commit linked the incident to the problem: its messages come last, together.
    assert [m.event_name for m in messages[-2:]] == ["problem.opened",
                                                     "incident.linked_to_problem"]


def test_pending_outbox_reads_undelivered_messages_only_up_to_the_limit(
        make: MakeRepository) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    for number in range(4):
        desk.add_work_note(incident_id, f"Note {number}", actor=ALICE)
    first_two = repository.pending_outbox(2)
    outbox = metadata.tables["itil_outbox"]
    with repository.engine.begin() as connection:  # what a relay does after delivering
        connection.execute(sa.update(outbox).where(outbox.c.id == first_two[0].id)
                           .values(delivered_at=START, attempts=1))
    pending = repository.pending_outbox(10)
    assert [m.version for m in first_two] == [1, 2]
    assert [m.version for m in pending] == [2, 3, 4, 5]


def test_a_commit_failing_on_its_outbox_rows_leaves_no_event_state_or_message(
        make: MakeRepository) -> None:
    repository = make()
    desk, clock = desk_on(repository)
    first = desk.log_incident(actor=ALICE, title="VPN drops").id
    refused = "INC0999999"
    with repository.engine.begin() as connection:  # the database refuses this one message
        if repository.engine.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_outbox BEFORE INSERT ON itil_outbox "
                f"WHEN NEW.record_id = '{refused}' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF NEW.record_id = '{refused}' THEN RAISE EXCEPTION 'refused'; END IF;"
                " RETURN NEW; END $$")
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_outbox BEFORE INSERT ON itil_outbox FOR EACH ROW "
                "EXECUTE FUNCTION refuse_outbox()")
    clock.advance(minutes=5)
    changed = repository.get_incident(first)
    changed.start_work(actor=ALICE, at=clock.now())
    newcomer = Incident.log(incident_id=refused, workflow=default_incident_workflow(),
                            matrix=PriorityMatrix.servicenow(), actor=ALICE, at=clock.now(),
                            title="Refused by the outbox")
    outbox_before = rows(repository, "itil_outbox")
    with pytest.raises(StorageError, match="refused"):
        repository.commit([changed, newcomer])
    assert rows(repository, "itil_outbox") == outbox_before
    assert len(repository.history_of(first)) == 1
    assert rows(repository, "itil_incidents", id=first)[0]["version"] == 1
    assert rows(repository, "itil_incident_events", record_id=refused) == []
    with pytest.raises(NotFoundError):
        repository.get_incident(refused)
    assert (changed.saved_version, newcomer.saved_version) == (1, 0)


def test_a_commit_with_a_stale_record_writes_no_outbox_message_for_the_others(
        make: MakeRepository) -> None:
    repository = make()
    _desk, _winner, loser = stale_pair(repository)
    newcomer = Incident.log(incident_id="INC0999999", workflow=default_incident_workflow(),
                            matrix=PriorityMatrix.servicenow(), actor=ALICE, at=START,
                            title="Created in the same unit of work")
    before = rows(repository, "itil_outbox")
    with pytest.raises(ConcurrencyError):
        repository.commit([newcomer, loser])
    assert rows(repository, "itil_outbox") == before
    assert rows(repository, "itil_incidents", id="INC0999999") == []


# ----------------------------------------------------------------- schema


def test_create_schema_records_the_schema_version_once(make: MakeRepository) -> None:
    repository = make(schema=False)
    assert schema_version(repository.engine) is None
    create_schema(repository.engine)
    create_schema(repository.engine)
    assert schema_version(repository.engine) == SCHEMA_VERSION == 2
    assert rows(repository, "itil_schema") == [{"version": 2}]


def test_create_schema_refuses_a_database_of_another_schema_version(
        make: MakeRepository) -> None:
    repository = make()
    with repository.engine.begin() as connection:
        connection.execute(sa.update(metadata.tables["itil_schema"]).values(version=3))
    with pytest.raises(StorageError, match="version 3"):
        create_schema(repository.engine)


def test_the_metadata_creates_every_table_in_a_hosts_database(make: MakeRepository) -> None:
    repository = make(schema=False)
    metadata.create_all(repository.engine)  # what a host's migration does
    with repository.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert set(metadata.tables) <= tables
    assert schema_version(repository.engine) == SCHEMA_VERSION


# ----------------------------------------------------------------- queries use indexes

INCIDENT_QUERIES: dict[str, tuple[IncidentQuery | ProblemQuery, str]] = {
    "status": (IncidentQuery(status=frozenset({"new", "assigned"})),
               "ix_itil_incidents_status"),
    "priority": (IncidentQuery(priority=frozenset({Priority(1)})), "ix_itil_incidents_priority"),
    # Either index leading with the group seeks it (the planner picks by its estimates).
    "assignment group": (IncidentQuery(assignment_group="Network Support"),
                         "ix_itil_incidents_assignment_group|ix_itil_incidents_group_status"),
    "assignee": (IncidentQuery(assignee="bob"), "ix_itil_incidents_assignee"),
    "category": (IncidentQuery(category=CategoryPath.parse("Network")),
                 "ix_itil_incidents_category"),
    "service": (IncidentQuery(service="vpn"), "ix_itil_incidents_service"),
    "open": (IncidentQuery(open=True),
             "ix_itil_incidents_open|ix_itil_incidents_open_priority"),
    # (the composite indexes: test_a_page_of_a_combined_filter_is_a_seek_of_its_...)
    "text": (IncidentQuery(text="vpn"), "ix_itil_incidents_{text}"),
    "limit": (IncidentQuery(limit=3), "{primary key}"),
    "problem status": (ProblemQuery(status=frozenset({"new"})), "ix_itil_problems_status"),
    "problem service": (ProblemQuery(service="email"), "ix_itil_problems_service"),
    "known error": (ProblemQuery(known_error=True), "ix_itil_problems_known_error"),
    "problem open": (ProblemQuery(open=False), "ix_itil_problems_open"),
    "problem text": (ProblemQuery(text="queue"), "ix_itil_problems_{text}"),
}


def expected_indexes(pattern: str, dialect: str, query: IncidentQuery | ProblemQuery
                     ) -> list[str]:
    table = "itil_incidents" if isinstance(query, IncidentQuery) else "itil_problems"
    if pattern == "{primary key}":
        return [f"sqlite_autoindex_{table}_1" if dialect == "sqlite" else f"{table}_pkey"]
    if dialect == "sqlite":
        return [pattern.format(text="text")]
    return [pattern.format(text="title_trgm"), pattern.format(text="description_trgm")]


def seeded(make: MakeRepository) -> SqlRepository:
    """A repository holding a dozen incidents and a dozen problems."""
    repository = make()
    desk, clock = desk_on(repository)
    for number in range(12):
        desk.log_incident(actor=ALICE, title=f"VPN drops {number}", category="Network/VPN",
                          service="vpn", impact=1 + number % 3, urgency=1 + number % 2)
        desk.open_problem(actor=ALICE, title=f"Mail queue stalls {number}", service="email",
                          impact=1 + number % 3)
        clock.advance(minutes=number % 2)
    return repository


def plan_of(repository: SqlRepository, query: IncidentQuery | ProblemQuery) -> list[str]:
    """The plan of the very statement the repository runs for ``query``, one line per node.

    PostgreSQL plans a few rows as a sequential scan whatever the indexes; sequential scans
    are switched off for the EXPLAIN, to ask which index can serve the query.
    """
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any
                ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    sa.event.listen(repository.engine, "before_cursor_execute", capture)
    if isinstance(query, IncidentQuery):
        repository.list_incidents(query)
    else:
        repository.list_problems(query)
    sa.event.remove(repository.engine, "before_cursor_execute", capture)
    ((statement, parameters),) = captured
    with repository.engine.connect() as connection:
        if repository.engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}",
                                              parameters).all()
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
    return [str(row[-1]) for row in plan]


@pytest.mark.parametrize(("query", "index"), INCIDENT_QUERIES.values(),
                         ids=INCIDENT_QUERIES.keys())
def test_each_query_is_served_by_its_index(make: MakeRepository,
                                           query: IncidentQuery | ProblemQuery,
                                           index: str) -> None:
    """The plan of the very statement the repository runs names the index."""
    repository = seeded(make)
    text = "\n".join(plan_of(repository, query))
    for name in expected_indexes(index, repository.engine.dialect.name, query):
        assert any(alternative in text for alternative in name.split("|")), text


ORDER_INDEXES: dict[str, str] = {
    "incident id": "{primary key}",
    "incident logged_at": "ix_itil_incidents_logged_at",
    "incident updated_at": "ix_itil_incidents_updated_at",
    "incident priority": "ix_itil_incidents_priority",
    "problem id": "{primary key}",
    "problem opened_at": "ix_itil_problems_opened_at",
    "problem updated_at": "ix_itil_problems_updated_at",
    "problem priority": "ix_itil_problems_priority",
}
ORDER_CASES = [(kind, order, descending, paged)
               for kind, orders in (("incident", list(IncidentOrder)),
                                    ("problem", list(ProblemOrder)))
               for order in orders for descending in (False, True) for paged in (False, True)]


@pytest.mark.parametrize(("kind", "order", "descending", "paged"), ORDER_CASES,
                         ids=[f"{kind}-{order.value}-{'desc' if descending else 'asc'}"
                              f"{'-after' if paged else ''}"
                              for kind, order, descending, paged in ORDER_CASES])
def test_each_order_is_read_from_its_index_without_a_sort(
        make: MakeRepository, kind: str, order: IncidentOrder | ProblemOrder, descending: bool,
        paged: bool) -> None:
    """A page in each order, first or after a cursor, is the first rows of an index walked
    forwards or backwards: the index's name is in the plan and no sort comes between the
    limit and the index (SQLite: no temporary B-tree for the ORDER BY; PostgreSQL: the node
    under the Limit is the index scan). The outer sort PostgreSQL plans puts the events of
    the page's few records in (record, version) order."""
    repository = seeded(make)
    dialect = repository.engine.dialect.name
    query: IncidentQuery | ProblemQuery
    if kind == "incident":
        base = IncidentQuery(order_by=order, descending=descending)
        after = base.cursor_after(repository.list_incidents(base)[3]) if paged else None
        query = IncidentQuery(order_by=order, descending=descending, after=after, limit=3)
    else:
        problems = ProblemQuery(order_by=order, descending=descending)
        after = problems.cursor_after(repository.list_problems(problems)[3]) if paged else None
        query = ProblemQuery(order_by=order, descending=descending, after=after, limit=3)
    pattern = ORDER_INDEXES[f"{kind} {order.value}"]
    (index,) = (expected_indexes(pattern, dialect, query) if pattern == "{primary key}"
                else [pattern])
    plan = plan_of(repository, query)
    text = "\n".join(plan)
    assert index in text, text
    if dialect == "sqlite":
        assert "TEMP B-TREE" not in text, text
        (scan,) = [line for line in plan if index in line]
        assert ("SEARCH" if paged else "SCAN") in scan, text  # a cursor is a seek
    else:
        (limit,) = [number for number, line in enumerate(plan) if "Limit" in line]
        scan = plan[limit + 1]
        assert "Index" in scan, text
        assert f"using {index} " in scan, text
        assert ("Backward" in scan) == descending, text
        if paged:
            assert "Index Cond" in plan[limit + 2], text  # a cursor is a seek


def test_rows_that_match_in_sql_but_not_exactly_are_skipped_and_the_page_filled_in_order(
        make: MakeRepository) -> None:
    """A derived search column that says more than the record (here set by hand) makes the
    repository read on, in the query's order, until the page is full."""
    repository = make()
    desk, clock = desk_on(repository)
    ids = []
    for number in range(8):
        title = f"VPN drops {number}" if number % 2 else f"Printer jams {number}"
        ids.append(desk.log_incident(actor=ALICE, title=title).id)
        clock.advance(minutes=1)
    with repository.engine.begin() as connection:
        connection.execute(sa.update(metadata.tables["itil_incidents"]).values(
            title_search="vpn drops"))
    query = IncidentQuery(text="vpn", order_by=IncidentOrder.LOGGED_AT, descending=True,
                          limit=2)
    first = repository.list_incidents(query)
    second = repository.list_incidents(IncidentQuery(
        text="vpn", order_by=IncidentOrder.LOGGED_AT, descending=True, limit=2,
        after=query.cursor_after(first[-1])))
    assert [i.id for i in first + second] == [ids[7], ids[5], ids[3], ids[1]]


# ----------------------------------------------------------------- verbatim text

# Text the domain accepts but storage might mangle. NUL and surrogates are refused by the
# domain before they reach a repository (tests/unit/test_bad_input.py); line breaks are refused
# in titles and identifiers, so those get the text on one line (see ``one_line``).
HOSTILE = [
    "Robert'); DROP TABLE itil_incidents; --",
    "100% _done_ ! \\ ' \" ` ; -- /* */",
    "controls \x01\x02\x1b[31m\x7f and C1 \x80\x9b\x9f next to U+FFFD \ufffd",
    "astral \U0001d518\U0001f9ef, noncharacters \ufdd0\ufffe\uffff\U0010ffff, BOM \ufeff",
    "Straße ΣΊΣΥΦΟΣ İstanbul ǅ ﬁ",
    "emoji 🧯🔥 and RTL \u202eabc\u202c and zero\u200bwidth",
    "line\r\nbreaks\tand\ttabs\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029end",
    "e\u0301 vs \u00e9",
]
#: Every line break the domain refuses in a title or an identifier (str.splitlines' set).
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def one_line(text: str) -> str:
    """``text`` with each line break replaced by a space (itself when it has none)."""
    return text.translate(dict.fromkeys(map(ord, LINE_BREAKS), " "))


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_round_trips_verbatim(make: MakeRepository, text: str) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    line = one_line(text)
    incident = desk.log_incident(actor=Actor(line, line), title=line, description=text + text,
                                 service=line, custom={line: text})
    desk.add_work_note(incident.id, text, actor=ALICE)
    loaded = repository.get_incident(incident.id)
    assert loaded.title == loaded.service == line
    assert loaded.description == text + text
    assert loaded.notes[0].text == text
    assert (loaded.logged_by.id, loaded.logged_by.name) == (line, line)
    assert loaded.custom == {line: text}
    assert loaded.timeline() == desk.get_incident(incident.id).timeline()


def look_alike(text: str) -> str:
    """``text`` with LIKE's special characters replaced."""
    return "".join("x" if char in "%_!\\" else char for char in text)


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_text_search_finds_hostile_text_and_not_its_look_alike(make: MakeRepository,
                                                               text: str) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    line = one_line(text)
    hostile = desk.log_incident(actor=ALICE, title=f"[{line}]").id
    if look_alike(line) != line:
        desk.log_incident(actor=ALICE, title=f"[{look_alike(line)}]")
    desk.log_incident(actor=ALICE, title="plain title")
    found = repository.list_incidents(IncidentQuery(text=line.upper()))
    limited = repository.list_incidents(IncidentQuery(text=line.upper(), limit=1))
    assert [i.id for i in found] == [i.id for i in limited] == [hostile]


def test_text_search_finds_a_line_break_in_a_description(make: MakeRepository) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    text = HOSTILE[6]
    hostile = desk.log_incident(actor=ALICE, title="Breaks", description=f"[{text}]").id
    desk.log_incident(actor=ALICE, title="Look-alike", description=f"[{one_line(text)}]")
    found = repository.list_incidents(IncidentQuery(text=text.upper()))
    assert [i.id for i in found] == [hostile]


# ----------------------------------------------------------------- state rows and links


class _RandomDesks:
    """SQLite repositories for the Hypothesis test above, one file per example."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="itil-sql-")
        self._count = 0
        self.current: SqlRepository

    def new(self) -> SqlRepository:
        if self._count:
            self.current.close()
        self._count += 1
        self.current = SqlRepository.from_url(
            f"sqlite:///{self._directory.name}/desk-{self._count}.db")
        create_schema(self.current.engine)
        return self.current

    def close(self) -> None:
        if self._count:
            self.current.close()
        self._directory.cleanup()


RANDOM_DESKS = _RandomDesks()


COMBINED_PAGES: dict[str, tuple[IncidentQuery, str]] = {
    "a group's queue by status": (
        IncidentQuery(assignment_group="Network Support", status=frozenset({"new"}), limit=3),
        "ix_itil_incidents_group_status"),
    "open ones by priority": (
        IncidentQuery(open=True, priority=frozenset({Priority(2)}), limit=3),
        "ix_itil_incidents_open_priority"),
}


@pytest.mark.parametrize(("query", "index"), COMBINED_PAGES.values(),
                         ids=COMBINED_PAGES.keys())
def test_a_page_of_a_combined_filter_is_a_seek_of_its_composite_index_without_a_sort(
        make: MakeRepository, query: IncidentQuery, index: str) -> None:
    """Schema version 2's composite indexes: both filters are the seek (Index Cond), and the
    page comes in id order straight from the index (no sort under the limit)."""
    repository = seeded(make)
    table = metadata.tables["itil_incidents"]
    with repository.engine.begin() as connection:
        # 3,000 state rows more, in 20 groups, 6 statuses, 5 priorities, a tenth open, with
        # the statistics a host's database has: what makes a planner pick by selectivity.
        (model,) = connection.execute(sa.select(table).limit(1)).mappings().all()
        statuses = ["new", "assigned", "in_progress", "on_hold", "resolved", "closed"]
        connection.execute(sa.insert(table), [
            dict(model, id=f"INC9{number:06d}", status=statuses[number % 6],
                 assignment_group="Network Support" if number % 20 == 0 else f"G{number % 20}",
                 priority_level=1 + number % 5, is_open=number % 10 == 0)
            for number in range(3000)])
        connection.exec_driver_sql("ANALYZE")
    plan = plan_of(repository, query)
    text = "\n".join(plan)
    assert index in text, text
    if repository.engine.dialect.name == "sqlite":
        assert "TEMP B-TREE" not in text, text
        (scan,) = [line for line in plan if index in line]
        assert "SEARCH" in scan, text
        assert "AND" in scan, text  # a seek on both columns
    else:
        (limit,) = [number for number, line in enumerate(plan) if "Limit" in line]
        assert f"Index Scan using {index} " in plan[limit + 1], text
        condition = plan[limit + 2]
        assert "Index Cond" in condition, text
        assert " AND " in condition, text  # a seek on both columns



@pytest.fixture(scope="module", autouse=True)
def _clean_random_desks() -> Iterator[None]:
    yield
    RANDOM_DESKS.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=its.incidents(lambda: make_desk(repository=RANDOM_DESKS.new())))
def test_the_stored_state_row_of_a_random_incident_is_what_its_history_says(
        data: Incident) -> None:
    repository = RANDOM_DESKS.current
    stored = rows(repository, "itil_incidents", id=data.id)[0]
    assert stored["version"] == data.version == len(repository.history_of(data.id))
    assert stored["status"] == data.status
    assert stored["is_open"] == data.is_open
    assert stored["priority_level"] == data.priority.level
    assert (stored["impact_level"], stored["urgency_level"]) == (data.impact.level,
                                                                 data.urgency.level)
    assert (stored["assignment_group"], stored["assignee"]) == (data.assignment_group,
                                                                data.assignee)
    assert stored["category"] == (None if data.category is None else str(data.category))
    # The domain refuses NUL and surrogates, which the derived column would turn into U+FFFD.
    assert stored["title_search"] == data.title.casefold()
    assert repository.list_incidents(IncidentQuery(status=frozenset({data.status}),
                                                   open=data.is_open)) == [data]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=its.incidents(lambda: make_desk(repository=RANDOM_DESKS.new())))
def test_every_column_of_a_stored_state_row_is_what_a_whole_row_write_stores(
        data: Incident) -> None:
    # The desk's commits write through the driver, and leave out the indexed columns that
    # did not change: the row must hold what SQLAlchemy stores for the whole row.
    repository = RANDOM_DESKS.current
    stored = rows(repository, "itil_incidents", id=data.id)[0]
    whole = state_row(data)
    whole["id"] = f"{data.id}-whole"
    table = metadata.tables["itil_incidents"]
    with repository.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(sa.insert(table), whole)
        written = dict(connection.execute(
            sa.select(table).where(table.c.id == whole["id"])).mappings().one())
        transaction.rollback()
    stored.pop("id")
    written.pop("id")
    assert stored == written


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_an_update_sets_only_the_indexed_columns_that_changed(
        engine: str, request: pytest.FixtureRequest) -> None:
    if engine == "postgresql" and not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    repository = request.getfixturevalue("make_postgres" if engine == "postgresql"
                                         else "make_sqlite")()
    desk, clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    updates: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE ITIL_INCIDENTS"):
            updates.append(statement.split(" WHERE ")[0])

    sa.event.listen(repository.engine, "before_cursor_execute", record)
    clock.advance(minutes=1)
    desk.add_work_note(incident_id, "Checked the gateway.", actor=ALICE)
    clock.advance(minutes=1)
    desk.assign(incident_id, group="Security Operations", actor=ALICE)
    sa.event.remove(repository.engine, "before_cursor_execute", record)

    def set_columns(statement: str) -> set[str]:
        assignments = statement.split(" SET ", 1)[1]
        return {part.split("=")[0].strip() for part in assignments.split(", ")}

    note, assign = (set_columns(statement) for statement in updates)
    indexed = {"status", "is_open", "priority_level", "assignment_group", "assignee",
               "category_key", "service", "title_search", "description_search", "logged_at"}
    assert {"version", "updated_at", "snapshot"} <= note
    assert not note & indexed
    assert "assignment_group" in assign
    assert "logged_at" not in assign
    stored = rows(repository, "itil_incidents", id=incident_id)[0]
    assert stored["assignment_group"] == "Security Operations"
    assert repository.list_incidents(IncidentQuery(assignment_group="Security Operations")) == [
        repository.get_incident(incident_id)]


def test_the_indexed_columns_a_commit_may_leave_out_are_those_of_the_indexes() -> None:
    # Every column of a secondary index of a state table but id and updated_at (which every
    # save moves) is compared before it is left out of an update.
    desk = make_desk()
    incident = desk.log_incident(actor=ALICE, title="VPN drops")
    columns = {column.name for index in metadata.tables["itil_incidents"].indexes
               for column in index.columns} - {"id", "updated_at"}
    assert columns == set(indexed_values(incident))
    problem = desk.open_problem(actor=ALICE, title="VPN gateway crashes")
    columns = {column.name for index in metadata.tables["itil_problems"].indexes
               for column in index.columns} - {"id", "updated_at"}
    assert columns == set(indexed_values(problem))


def test_the_links_table_holds_every_current_link(make: MakeRepository) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    parent = desk.log_incident(actor=ALICE, title="Site outage").id
    child = desk.log_incident(actor=ALICE, title="VPN drops").id
    desk.set_parent(child, parent, actor=ALICE)
    desk.link_change(child, "CHG0001", actor=ALICE, caused_by=True)
    problem = desk.open_problem(actor=ALICE, title="Gateway crashes", incident_ids=[child]).id
    found = {(r["record_kind"], r["record_id"], r["relation"], r["target_id"])
             for r in rows(repository, "itil_links")}
    assert found == {
        ("incident", parent, "child", child),
        ("incident", child, "parent", parent),
        ("incident", child, "caused_by_change", "CHG0001"),
        ("incident", child, "problem", problem),
        ("problem", problem, "incident", child),
    }
    desk.set_parent(child, None, actor=ALICE)
    assert ("incident", child, "parent", parent) not in {
        (r["record_kind"], r["record_id"], r["relation"], r["target_id"])
        for r in rows(repository, "itil_links")}


def test_links_changed_and_changed_back_on_one_loaded_record_are_stored_each_time(
        make: MakeRepository) -> None:
    repository = make()
    desk, clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    incident = repository.get_incident(incident_id)

    def stored() -> set[str]:
        return {r["target_id"] for r in rows(repository, "itil_links")}

    incident.add_link(LinkKind.RELATED_CHANGE, "CHG0001", actor=ALICE, at=clock.now())
    repository.commit([incident])
    assert stored() == {"CHG0001"}
    incident.remove_link(LinkKind.RELATED_CHANGE, "CHG0001", actor=ALICE, at=clock.now())
    repository.commit([incident])
    assert stored() == set()
    incident.add_note("No link change.", actor=ALICE, at=clock.now())
    repository.commit([incident])
    assert stored() == set()


# ----------------------------------------------------------------- workflows and errors


def test_records_of_a_host_workflow_load_when_the_repository_knows_it(
        make: MakeRepository) -> None:
    default = default_incident_workflow()
    host = Workflow("host_incident", default.states.values(),
                    (*default.transitions, TransitionDef("acknowledge", "new")))
    repository = make(workflows=(host, default_problem_workflow()))
    desk, _clock = desk_on(repository, policies=DeskPolicies(incident_workflow=host))
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    desk.transition(incident_id, "acknowledge", actor=ALICE)
    loaded = repository.get_incident(incident_id)
    assert loaded.workflow is host
    assert loaded.version == 2
    reader = SqlRepository(repository.engine)  # knows only the default workflows
    with pytest.raises(StorageError, match="'host_incident'"):
        reader.get_incident(incident_id)
    with pytest.raises(StorageError, match="'host_incident'"):
        reader.list_incidents(IncidentQuery())


def test_a_record_of_a_workflow_the_repository_does_not_know_is_not_stored(
        make: MakeRepository) -> None:
    default = default_incident_workflow()
    host = Workflow("host_incident", default.states.values(), default.transitions)
    repository = make()
    incident = Incident.log(incident_id="INC0000001", workflow=host,
                            matrix=PriorityMatrix.servicenow(), actor=ALICE, at=START,
                            title="VPN drops")
    with pytest.raises(StorageError, match="'host_incident'"):
        repository.commit([incident])
    assert rows(repository, "itil_incident_events") == []
    assert incident.saved_version == 0


def test_an_unreadable_stored_event_raises_a_storage_error(make: MakeRepository) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    events = metadata.tables["itil_incident_events"]
    with repository.engine.begin() as connection:
        connection.execute(sa.update(events).values(payload={"name": "incident.teleported"}))
    loaded = repository.get_incident(incident_id)  # read from its snapshot: no event read yet
    with pytest.raises(StorageError, match=r"incident\.teleported"):
        loaded.timeline()  # the events, read on first use
    with pytest.raises(StorageError, match=r"incident\.teleported"):
        repository.history_of(incident_id)
    with repository.engine.begin() as connection:  # no snapshot: folded from its events
        connection.execute(sa.update(metadata.tables["itil_incidents"]).values(snapshot=None))
    with pytest.raises(StorageError, match=r"incident\.teleported"):
        repository.get_incident(incident_id)


DAMAGED_SNAPSHOTS: dict[str, Callable[[list[Any]], str]] = {
    "truncated": lambda values: json.dumps(values[:-1]),
    "a value of the wrong type": lambda values: json.dumps([*values[:4], 17, *values[5:]]),
    "a bad instant": lambda values: json.dumps(
        [value if not (isinstance(value, str) and value.startswith("2026-")) else "yesterday"
         for value in values]),
    "not JSON": lambda values: "not json",
    "an object": lambda values: '{"a": 1}',
    "a problem's": lambda values: json.dumps(["problem/0", *values[1:]]),
    "empty": lambda values: "[]",
}


@pytest.mark.parametrize("damage", DAMAGED_SNAPSHOTS.values(), ids=DAMAGED_SNAPSHOTS.keys())
def test_an_unreadable_snapshot_raises_a_storage_error(
        make: MakeRepository, damage: Callable[[list[Any]], str]) -> None:
    repository = make()
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    snapshot = damage(json.loads(rows(repository, "itil_incidents")[0]["snapshot"]))
    with repository.engine.begin() as connection:
        connection.execute(sa.update(metadata.tables["itil_incidents"])
                           .values(snapshot=snapshot))
    reader = SqlRepository(repository.engine)
    with pytest.raises(StorageError, match="snapshot"):
        reader.get_incident(incident_id)
    with pytest.raises(StorageError, match="snapshot"):
        reader.list_incidents(IncidentQuery())


def test_a_snapshot_behind_its_row_is_ignored_and_the_events_folded(
        make: MakeRepository) -> None:
    """A host that writes a state row and events without the snapshot (the row's version
    moved on) gets the record its events say."""
    repository = make()
    desk, _clock = desk_on(repository)
    incident_id = desk.log_incident(actor=ALICE, title="VPN drops").id
    old = rows(repository, "itil_incidents", id=incident_id)[0]["snapshot"]
    desk.add_work_note(incident_id, "Checked the logs.", actor=ALICE)
    with repository.engine.begin() as connection:
        connection.execute(sa.update(metadata.tables["itil_incidents"]).values(snapshot=old))
    loaded = repository.get_incident(incident_id)
    assert loaded.version == 2
    assert [note.text for note in loaded.notes] == ["Checked the logs."]


def test_an_unreachable_database_raises_a_storage_error() -> None:
    repository = SqlRepository.from_url("sqlite:////nonexistent-directory/desk.db")
    with pytest.raises(StorageError):
        repository.list_problems(ProblemQuery())
    repository.close()


# ----------------------------------------------------------------- packaging


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=60)


def test_importing_the_library_does_not_import_sqlalchemy() -> None:
    result = run_python("import sys, itil_incident; print('sqlalchemy' in sys.modules)")
    assert result.stdout.strip() == "False", result.stderr


def test_the_sql_adapter_imports_in_a_fresh_process() -> None:
    result = run_python("from itil_incident.adapters.sql import codec; "
                        "print(len(codec.event_classes()))")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 2


def test_importing_the_sql_adapter_without_sqlalchemy_says_what_to_install() -> None:
    result = run_python("import sys; sys.modules['sqlalchemy'] = None; "
                        "import itil_incident.adapters.sql")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "pip install 'itil-incident[sql]'" in result.stderr
