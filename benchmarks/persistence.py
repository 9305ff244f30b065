"""Persistence benchmark: ``SqlRepository`` on SQLite (a file) and PostgreSQL, against the raw
driver writing and reading the same rows.

Run from the repository root::

    .venv/bin/python benchmarks/persistence.py                     # both engines, default sizes
    .venv/bin/python benchmarks/persistence.py --engine sqlite --incidents 20000 --large 100000
    .venv/bin/python benchmarks/persistence.py --json /tmp/persistence.json

PostgreSQL runs when ``ITIL_INCIDENT_POSTGRES_URL`` is set (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); otherwise it is skipped with the reason.
It works in a uniquely named schema (``itil_bench_<hex>``, ``search_path`` set to it and
``public``, where ``pg_trgm`` lives), dropped at the end. SQLite works in files of a temporary
directory, deleted at the end.

Three measurements per engine:

``batch save`` (``--incidents`` new incidents, ``--batch`` per transaction)
    ``repository``: incidents built at domain level (``Incident.log``, outside the timing) and
    stored with ``SqlRepository.commit(batch)``: per incident one state row, one event row and
    one outbox row. ``raw``: the same rows written with the driver's ``executemany`` (SQLite:
    ``sqlite3``; PostgreSQL: ``psycopg``, which pipelines it), one ``executemany`` per table and
    batch, in as many transactions. The raw rows are the rows the repository stored, read back
    from its database (so the same values and bytes, checked once row by row); they are ready
    before the clock starts. ``raw + encoding``: the same, but the rows are built inside the
    timing from the incidents (the JSON codec ``event_to_dict`` + ``json.dumps``, the state
    columns, the driver's value formats): the least any code storing these rows must do.
    ``raw COPY`` (PostgreSQL): the prepared rows through ``COPY ... FROM STDIN``. Each variant
    starts from an empty schema; the variants rotate over ``--repeats`` rounds; medians.
``one command`` (``--commands`` per variant, history length and commit setting)
    ``desk``: ``ServiceDesk.add_work_note`` (over the repository, ``FrozenClock``,
    ``NullNotifier``) on an incident stored earlier: it loads the incident (reads its state
    row and decodes its snapshot; schema version 2), checks, records the event, then commits
    the state row (every column, the new snapshot included),
    the event row and the outbox row in one transaction, after the version check. ``load``:
    ``repository.get_incident`` alone, the read half of ``desk``. ``raw``: one transaction
    with the driver doing the least equivalent work: read the version and status, insert the
    event row (the same JSON, from a template), update version and ``updated_at`` where the
    version is still the one read, insert the outbox row, commit. Each command is timed on its
    own; every command targets a different incident; measured on incidents with a history of
    1 event (just logged) and of 10 events (worked on); with the default, durable commits and
    with commits that do not wait for the disk (``relaxed``: SQLite ``synchronous = NORMAL``,
    PostgreSQL ``synchronous_commit = off``, for both sides), which shows the work of the
    code rather than the disk's.
``reads`` (``--large`` incidents)
    The table is filled with the raw driver (SQLite ``executemany``, PostgreSQL ``COPY``), with
    rows generated from real domain objects: ``Incident.log`` and lifecycle commands (30 % new,
    20 % assigned, 20 % in progress, 10 % on hold, 10 % resolved, 10 % closed; 2.6 events per
    incident), events encoded with the library's codec, state columns as the repository writes
    them (checked first: a sample stored by the repository and by the loader gives identical
    rows). Secondary indexes and the foreign key are dropped before the load and rebuilt after
    it; PostgreSQL then runs ``VACUUM ANALYZE``, SQLite nothing (what a host gets). No outbox
    rows (reads never touch the outbox). Then, cache warm, in rounds: ``get by id``
    (``repository.get_incident``, random ids) and ``page of 50`` (``list_incidents(IncidentQuery(
    status={"in_progress"}, assignment_group=<one of 20 groups>, limit=50))``), each against
    the raw driver running the very statement the repository ran (captured), fetching the rows
    without decoding them. The query plans are printed.

Times are wall-clock (``time.perf_counter``); the garbage collector runs as in any program and
collects before each timed run. Performance is never asserted: the figures are printed (and
written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

import itil_incident
from itil_incident import (
    Actor,
    CategoryPath,
    FrozenClock,
    Incident,
    IncidentQuery,
    NullNotifier,
    PriorityMatrix,
    ServiceDesk,
    default_incident_workflow,
    format_id,
)
from itil_incident.adapters.sql import SqlRepository, create_schema, event_to_dict, metadata
from itil_incident.adapters.sql._snapshot import encode_snapshot
from itil_incident.adapters.sql.codec import value_to_json

T0: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MINUTE: Final = timedelta(minutes=1)
WORKFLOW: Final = default_incident_workflow()
MATRIX: Final = PriorityMatrix.servicenow()
AGENT: Final = Actor("alice", "Alice Agent", frozenset({"agent"}))
GROUPS: Final = tuple(f"group-{n:02d}" for n in range(20))
SERVICES: Final = tuple(f"service-{n:02d}" for n in range(50))
CATEGORIES: Final = tuple(CategoryPath.of(path) for path in (
    "Network/VPN", "Network/Wi-Fi", "Hardware/Laptop", "Software/E-mail", "Access/Password"))
#: Lifecycle stages of the large table, with their weights (per 10).
STAGES: Final = ("new", "assigned", "in_progress", "on_hold", "resolved", "closed")
STAGE_WEIGHTS: Final = (3, 2, 2, 1, 1, 1)
NOTE: Final = "Called the user back; the gateway was restarted."
PAGE_STATUS: Final = "in_progress"
POSTGRES_URL_VARIABLE: Final = "ITIL_INCIDENT_POSTGRES_URL"
#: Commits that do not wait for the disk, for both the repository and the driver: SQLite's
#: ``synchronous = NORMAL`` (in WAL mode: no sync per commit, still consistent after a crash)
#: and PostgreSQL's ``synchronous_commit = off`` (the last commits may be lost in a crash).
RELAXED_SQLITE: Final = "NORMAL"

INCIDENTS: Final = metadata.tables["itil_incidents"]
EVENTS: Final = metadata.tables["itil_incident_events"]
OUTBOX: Final = metadata.tables["itil_outbox"]
STATE_COLUMNS: Final = tuple(c.name for c in INCIDENTS.columns)
EVENT_COLUMNS: Final = tuple(c.name for c in EVENTS.columns)
#: The outbox columns the repository writes (the others take their defaults or stay NULL).
OUTBOX_COLUMNS: Final = ("record_id", "version", "event_name", "payload", "attempts",
                         "idempotency_key")
#: (table, columns, order) of the three tables one new incident writes to.
WRITTEN: Final = (
    (INCIDENTS.name, STATE_COLUMNS, "id"),
    (EVENTS.name, EVENT_COLUMNS, "record_id, version"),
    (OUTBOX.name, OUTBOX_COLUMNS, "id"),
)

Row = tuple[Any, ...]


# -- domain data --------------------------------------------------------------------------------


def logged(number: int, *, group: int | None = None) -> Incident:
    """A new incident, the same for the same number: ``INC<number>``, logged at ``T0 + number
    seconds``, its group, service, category, caller, impact and urgency spread by number."""
    return Incident.log(
        incident_id=format_id("INC", number),
        workflow=WORKFLOW,
        matrix=MATRIX,
        actor=AGENT,
        at=T0 + timedelta(seconds=number),
        title=f"VPN drops every few minutes on laptop {number}",
        description="The VPN client disconnects every few minutes since this morning; "
                    "reconnecting works for a while.",
        service=SERVICES[number % len(SERVICES)],
        caller=f"user{number % 5000:04d}",
        impact=1 + number % 3,
        urgency=1 + (number // 3) % 3,
        category=CATEGORIES[number % len(CATEGORIES)],
        assignment_group=GROUPS[number % len(GROUPS) if group is None else group],
    )


def staged(number: int, stage: int, group: int) -> Incident:
    """An incident of the large table, taken to ``STAGES[stage]`` by the domain commands."""
    incident = logged(number, group=group)
    at = T0 + timedelta(seconds=number)
    if stage >= 1:
        incident.assign(actor=AGENT, at=at + MINUTE, assignee=f"agent{number % 50:02d}")
    if stage >= 2:
        incident.start_work(actor=AGENT, at=at + 2 * MINUTE)
    if stage == 3:
        incident.put_on_hold("awaiting_caller", actor=AGENT, at=at + 3 * MINUTE)
    if stage >= 4:
        incident.resolve(code="solved", notes="Restarted the VPN gateway.", actor=AGENT,
                         at=at + 4 * MINUTE)
    if stage == 5:
        incident.close(actor=AGENT, at=at + 5 * MINUTE)
    return incident


def worked(number: int) -> Incident:
    """An incident with a history of 10 events: logged, assigned, started, on hold, resumed and
    five work notes."""
    incident = logged(number)
    at = T0 + timedelta(seconds=number)
    incident.assign(actor=AGENT, at=at + MINUTE, assignee="bob")
    incident.start_work(actor=AGENT, at=at + 2 * MINUTE)
    incident.put_on_hold("awaiting_caller", actor=AGENT, at=at + 3 * MINUTE)
    incident.resume(actor=AGENT, at=at + 4 * MINUTE)
    for step in range(5):
        incident.add_note(f"Step {step}: checked the logs.", actor=AGENT,
                          at=at + (5 + step) * MINUTE)
    return incident


def state_values(incident: Incident) -> dict[str, Any]:
    """The state row as the repository writes it (Python values, before the driver's formats).
    The benchmark's texts hold no NUL or lone surrogate, so no text needs sanitizing."""
    category = None if incident.category is None else str(incident.category)
    return {
        "id": incident.id,
        "workflow_name": incident.workflow_name,
        "version": incident.version,
        "status": incident.status,
        "is_open": incident.is_open,
        "priority_level": incident.priority.level,
        "impact_level": incident.impact.level,
        "urgency_level": incident.urgency.level,
        "assignment_group": incident.assignment_group,
        "assignee": incident.assignee,
        "category": category,
        "category_key": None if category is None else category + "/",
        "service": incident.service,
        "caller": incident.caller,
        "title": incident.title,
        "description": incident.description,
        "title_search": incident.title.casefold(),
        "description_search": incident.description.casefold(),
        "problem_id": incident.problem_id,
        "parent_id": incident.parent_id,
        "custom": json.dumps({name: value_to_json(value, f"custom.{name}")
                              for name, value in sorted(incident.custom.items())}),
        "logged_at": incident.logged_at,
        "updated_at": incident.updated_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "snapshot": encode_snapshot(incident),
    }


@dataclass
class Rows:
    """Rows of the three tables, in the driver-neutral form (datetimes, booleans, JSON text)."""

    state: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    outbox: list[Row] = field(default_factory=list)


def encode(incidents: Sequence[Incident], rows: Rows, *, outbox: bool = True) -> None:
    """Append the rows of ``incidents`` (all their events) to ``rows``."""
    for incident in incidents:
        values = state_values(incident)
        rows.state.append(tuple(values[name] for name in STATE_COLUMNS))
        key = incident.id
        for event in incident.timeline():
            payload = json.dumps(event_to_dict(event))
            rows.events.append((key, event.version, event.name, event.at, event.actor.id,
                                payload))
            if outbox:
                rows.outbox.append((key, event.version, event.name, payload, 0,
                                    f"{key}:{event.version}"))


def _indices(table: sa.Table, kind: type[sa.types.TypeEngine[Any]],
             columns: Sequence[str]) -> tuple[int, ...]:
    return tuple(i for i, name in enumerate(columns) if isinstance(table.c[name].type, kind))


STATE_INSTANTS: Final = _indices(INCIDENTS, sa.DateTime, STATE_COLUMNS)
STATE_FLAGS: Final = _indices(INCIDENTS, sa.Boolean, STATE_COLUMNS)
EVENT_INSTANTS: Final = _indices(EVENTS, sa.DateTime, EVENT_COLUMNS)


def sqlite_instant(value: datetime | None) -> str | None:
    """A datetime as SQLAlchemy stores it in SQLite (the UTC wall time, no offset)."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def for_sqlite(rows: list[Row], instants: tuple[int, ...], flags: tuple[int, ...] = ()
               ) -> list[Row]:
    """Rows in the values SQLite stores: datetimes as text, booleans as 0 / 1."""
    converted = []
    for row in rows:
        values = list(row)
        for i in instants:
            values[i] = sqlite_instant(values[i])
        for i in flags:
            values[i] = int(values[i])
        converted.append(tuple(values))
    return converted


# -- databases and raw connections --------------------------------------------------------------


class Raw:
    """A raw DB-API connection to one benchmark database (the driver, no SQLAlchemy)."""

    mark = "?"

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def fetch(self, sql: str, params: Any = ()) -> list[Row]:
        raise NotImplementedError

    def execute(self, sql: str, params: Any = ()) -> int:
        """Run one statement; its row count."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def text_rows(self, table: str, columns: Sequence[str], order: str) -> list[Row]:
        """Every row of ``table`` in the form that re-inserts it unchanged (SQLite: the stored
        values; PostgreSQL: each value's text)."""
        raise NotImplementedError

    def plan(self, statement: str, params: Any) -> list[str]:
        raise NotImplementedError

    def insert(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join([self.mark] * len(columns))
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


class SqliteRaw(Raw):
    def __init__(self, path: Path, *, durable: bool = True) -> None:
        # As the repository configures its connections: WAL, foreign keys, busy timeout; the
        # default synchronous level (FULL: a sync per commit) unless not ``durable``.
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA busy_timeout = 5000")
        self.connection.execute("PRAGMA foreign_keys = ON")
        self.connection.execute("PRAGMA journal_mode = WAL")
        if not durable:
            self.connection.execute(f"PRAGMA synchronous = {RELAXED_SQLITE}")

    def begin(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("COMMIT")

    def fetch(self, sql: str, params: Any = ()) -> list[Row]:
        return self.connection.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Any = ()) -> int:
        return self.connection.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        self.connection.executemany(sql, rows)

    def close(self) -> None:
        self.connection.close()

    def text_rows(self, table: str, columns: Sequence[str], order: str) -> list[Row]:
        return self.fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")

    def plan(self, statement: str, params: Any) -> list[str]:
        rows = self.fetch(f"EXPLAIN QUERY PLAN {statement}", params)
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        return lines


class PostgresRaw(Raw):
    mark = "%s"

    def __init__(self, conninfo: str, options: str) -> None:
        import psycopg  # only needed with PostgreSQL

        self.connection: Any = psycopg.connect(conninfo, options=options)

    def begin(self) -> None:
        pass  # psycopg opens the transaction with the first statement

    def commit(self) -> None:
        self.connection.commit()

    def fetch(self, sql: str, params: Any = ()) -> list[Row]:
        rows: list[Row] = self.connection.execute(sql, params).fetchall()
        return rows

    def execute(self, sql: str, params: Any = ()) -> int:
        count: int = self.connection.execute(sql, params).rowcount
        return count

    def executemany(self, sql: str, rows: Sequence[Row]) -> None:
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def copy(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        with self.connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        self.connection.close()

    def text_rows(self, table: str, columns: Sequence[str], order: str) -> list[Row]:
        selected = ", ".join(f"{name}::text" for name in columns)
        rows = self.fetch(f"SELECT {selected} FROM {table} ORDER BY {order}")
        self.commit()
        return rows

    def plan(self, statement: str, params: Any) -> list[str]:
        rows = self.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {statement}",
                          params)
        self.commit()
        return [str(line) for (line,) in rows]


class Database:
    """An empty database with the repository's schema, for one engine."""

    dialect = ""

    def engine(self, *, durable: bool = True) -> sa.Engine:
        """An engine; not ``durable``: commits do not wait for the disk (see ``RELAXED``)."""
        raise NotImplementedError

    def raw(self, *, durable: bool = True) -> Raw:
        raise NotImplementedError

    def reset(self) -> None:
        """Drop everything, then create the schema with ``create_schema``."""
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def repository(self, *, durable: bool = True) -> SqlRepository:
        """A repository on a new engine (dispose of ``repository.engine`` when done)."""
        return SqlRepository(self.engine(durable=durable))

    def secondary_indexes(self, raw: Raw) -> list[tuple[str, str]]:
        """(name, DDL) of every index of the incident and event tables but the primary keys."""
        raise NotImplementedError

    def foreign_keys(self, raw: Raw) -> list[tuple[str, str]]:
        """(drop, add) statements of the event table's foreign key ([] when not droppable)."""
        return []

    def load(self, raw: Raw, rows: Rows) -> None:
        """Write state and event rows in one transaction, the fastest honest way."""
        raise NotImplementedError

    def after_load(self, raw: Raw) -> str:
        """What runs after a bulk load (statistics); its description."""
        return "nothing"


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / f"{name}.db"

    def engine(self, *, durable: bool = True) -> sa.Engine:
        engine = sa.create_engine(f"sqlite:///{self.path}")
        if not durable:
            def relax(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute(f"PRAGMA synchronous = {RELAXED_SQLITE}")

            sa.event.listen(engine, "connect", relax)
        return engine

    def raw(self, *, durable: bool = True) -> SqliteRaw:
        return SqliteRaw(self.path, durable=durable)

    def reset(self) -> None:
        self.drop()
        repository = self.repository()
        create_schema(repository.engine)
        repository.engine.dispose()

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def secondary_indexes(self, raw: Raw) -> list[tuple[str, str]]:
        found = raw.fetch("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                          f"tbl_name IN ('{INCIDENTS.name}', '{EVENTS.name}') "
                          "AND sql IS NOT NULL ORDER BY name")
        return [(str(name), str(sql)) for name, sql in found]

    def load(self, raw: Raw, rows: Rows) -> None:
        raw.begin()
        raw.executemany(raw.insert(INCIDENTS.name, STATE_COLUMNS),
                        for_sqlite(rows.state, STATE_INSTANTS, STATE_FLAGS))
        raw.executemany(raw.insert(EVENTS.name, EVENT_COLUMNS),
                        for_sqlite(rows.events, EVENT_INSTANTS))
        raw.commit()

    def after_load(self, raw: Raw) -> str:
        return "nothing (no ANALYZE: what a host gets; the foreign key was checked on insert)"


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self.options = f"-csearch_path={schema},public"
        parsed = sa.make_url(url)
        self.conninfo = parsed.set(drivername="postgresql").render_as_string(
            hide_password=False)

    def _options(self, durable: bool) -> str:
        return self.options if durable else f"{self.options} -csynchronous_commit=off"

    def engine(self, *, durable: bool = True) -> sa.Engine:
        return sa.create_engine(self.url, connect_args={"options": self._options(durable)})

    def raw(self, *, durable: bool = True) -> PostgresRaw:
        return PostgresRaw(self.conninfo, self._options(durable))

    def _admin(self, *statements: str) -> None:
        admin = sa.create_engine(self.url)
        try:
            with admin.begin() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
        finally:
            admin.dispose()

    def reset(self) -> None:
        self._admin("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
                    f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE',
                    f'CREATE SCHEMA "{self.schema}"')
        engine = self.engine()
        create_schema(engine)
        engine.dispose()

    def drop(self) -> None:
        self._admin(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def secondary_indexes(self, raw: Raw) -> list[tuple[str, str]]:
        found = raw.fetch(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary "
            f"AND t.relname IN ('{INCIDENTS.name}', '{EVENTS.name}') ORDER BY 1")
        raw.commit()
        return [(str(name), str(ddl)) for name, ddl in found]

    def foreign_keys(self, raw: Raw) -> list[tuple[str, str]]:
        found = raw.fetch(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = '{EVENTS.name}'::regclass AND contype = 'f'")
        raw.commit()
        return [(f'ALTER TABLE {EVENTS.name} DROP CONSTRAINT "{name}"',
                 f'ALTER TABLE {EVENTS.name} ADD CONSTRAINT "{name}" {definition}')
                for name, definition in found]

    def load(self, raw: Raw, rows: Rows) -> None:
        assert isinstance(raw, PostgresRaw)
        raw.copy(INCIDENTS.name, STATE_COLUMNS, rows.state)
        raw.copy(EVENTS.name, EVENT_COLUMNS, rows.events)
        raw.commit()

    def after_load(self, raw: Raw) -> str:
        assert isinstance(raw, PostgresRaw)
        raw.commit()
        raw.connection.autocommit = True  # VACUUM runs outside a transaction
        raw.execute(f"VACUUM ANALYZE {INCIDENTS.name}")
        raw.execute(f"VACUUM ANALYZE {EVENTS.name}")
        raw.connection.autocommit = False
        return "VACUUM ANALYZE of both tables"


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Series:
    """Samples of one measured quantity (seconds), with per-round medians when the samples are
    single operations."""

    samples: list[float] = field(default_factory=list)
    rounds: list[float] = field(default_factory=list)

    def add_round(self, samples: Sequence[float]) -> None:
        self.samples.extend(samples)
        self.rounds.append(statistics.median(samples))

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def spread(self) -> tuple[float, float]:
        chosen = self.rounds if len(self.rounds) > 1 else self.samples
        return min(chosen), max(chosen)

    def as_json(self, scale: float) -> dict[str, Any]:
        low, high = self.spread()
        return {"median": self.median * scale, "round_min": low * scale,
                "round_max": high * scale, "count": len(self.samples)}


def rotate(names: Sequence[str], round_number: int) -> list[str]:
    shift = round_number % len(names)
    return [*names[shift:], *names[:shift]]


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def source_fingerprint() -> str:
    """A short hash of the library's source files: which code the figures belong to."""
    root = Path(itil_incident.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- batch save ---------------------------------------------------------------------------------


def raw_rows(database: Database) -> dict[str, list[Row]]:
    raw = database.raw()
    try:
        return {table: raw.text_rows(table, columns, order) for table, columns, order in WRITTEN}
    finally:
        raw.close()


def batch_save(database: Database, count: int, batch: int, repeats: int) -> dict[str, Any]:
    variants = ["repository", "raw", "raw + encoding"]
    if database.dialect == "postgresql":
        variants.append("raw COPY")
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    stored: dict[str, list[Row]] = {}
    checked: dict[str, bool] = {}
    starts = range(0, count, batch)

    def through_repository() -> None:
        repository = database.repository()
        incidents = [logged(number) for number in range(1, count + 1)]

        def commit_all() -> None:
            for i in starts:
                repository.commit(incidents[i:i + batch])

        seconds["repository"].append(timed(commit_all))
        repository.engine.dispose()

    def through_driver(name: str) -> None:
        raw = database.raw()
        incidents = [logged(number) for number in range(1, count + 1)] if (
            name == "raw + encoding") else []
        prepared = {table: stored[table] for table, _columns, _order in WRITTEN}
        statements = [raw.insert(table, columns) for table, columns, _order in WRITTEN]

        def write_prepared() -> None:
            for i in starts:
                raw.begin()
                for statement, (table, _columns, _order) in zip(statements, WRITTEN,
                                                                  strict=True):
                    raw.executemany(statement, prepared[table][i:i + batch])
                raw.commit()

        def copy_prepared() -> None:
            assert isinstance(raw, PostgresRaw)
            for i in starts:
                for table, columns, _order in WRITTEN:
                    raw.copy(table, columns, prepared[table][i:i + batch])
                raw.commit()

        def encode_and_write() -> None:
            sqlite = database.dialect == "sqlite"
            for i in starts:
                rows = Rows()
                encode(incidents[i:i + batch], rows)
                state, events = rows.state, rows.events
                if sqlite:
                    state = for_sqlite(state, STATE_INSTANTS, STATE_FLAGS)
                    events = for_sqlite(events, EVENT_INSTANTS)
                raw.begin()
                raw.executemany(statements[0], state)
                raw.executemany(statements[1], events)
                raw.executemany(statements[2], rows.outbox)
                raw.commit()

        run = {"raw": write_prepared, "raw COPY": copy_prepared,
               "raw + encoding": encode_and_write}[name]
        seconds[name].append(timed(run))
        raw.close()

    for round_number in range(repeats):
        # The repository's rows are read back after its first run: it goes first in round 0.
        for name in (variants if round_number == 0 else rotate(variants, round_number)):
            database.reset()
            if name == "repository":
                through_repository()
            else:
                through_driver(name)
            if not stored:
                stored = raw_rows(database)
            elif name not in checked:
                checked[name] = raw_rows(database) == stored
            progress(f"batch save, round {round_number + 1}, {name}: "
                     f"{seconds[name][-1]:.2f} s")
    database.reset()  # free the space
    text_bytes = sum(len(str(value).encode()) for rows in stored.values() for row in rows
                     for value in row if value is not None)
    payload_bytes = sum(len(row[-1].encode()) for row in stored[EVENTS.name])
    rows_written = sum(len(rows) for rows in stored.values())
    if rows_written != 3 * count:
        raise SystemExit(f"expected {3 * count} rows, the repository wrote {rows_written}")
    return {
        "incidents": count, "batch": batch, "transactions": len(starts),
        "rows": rows_written, "text_bytes": text_bytes, "payload_bytes_per_event":
            payload_bytes / count,
        "identical_rows": checked,
        "seconds": seconds,
    }


# -- one command --------------------------------------------------------------------------------


def note_template() -> dict[str, Any]:
    incident = logged(1)
    incident.add_note(NOTE, actor=AGENT, at=T0 + timedelta(days=1))
    return event_to_dict(incident.timeline()[-1])


def raw_command(raw: Raw, template: Mapping[str, Any], incident_id: str, at: datetime,
                at_value: Any) -> None:
    """One command with the driver alone: read, insert the event, update with the version
    check, insert the outbox row, commit."""
    m = raw.mark
    raw.begin()
    found = raw.fetch(f"SELECT version, status FROM {INCIDENTS.name} WHERE id = {m}",
                      (incident_id,))
    stored_version, status = found[0]
    new_version = int(stored_version) + 1
    payload = dict(template, version=new_version, incident_id=incident_id,
                   from_status=status, to_status=status,
                   at={"$datetime": at.isoformat()})
    text = json.dumps(payload)
    raw.execute(f"INSERT INTO {EVENTS.name} (record_id, version, name, at, actor_id, payload) "
                f"VALUES ({m}, {m}, {m}, {m}, {m}, {m})",
                (incident_id, new_version, template["name"], at_value, AGENT.id, text))
    if raw.execute(f"UPDATE {INCIDENTS.name} SET version = {m}, updated_at = {m} "
                   f"WHERE id = {m} AND version = {m}",
                   (new_version, at_value, incident_id, stored_version)) != 1:
        raise RuntimeError(f"{incident_id} moved")
    raw.execute(f"INSERT INTO {OUTBOX.name} (record_id, version, event_name, payload, "
                f"attempts, idempotency_key) VALUES ({m}, {m}, {m}, {m}, 0, {m})",
                (incident_id, new_version, template["name"], text,
                 f"{incident_id}:{new_version}"))
    raw.commit()


def one_command(database: Database, commands: int, repeats: int, *, durable: bool
                ) -> dict[str, Any]:
    histories = {"1 event": logged, "10 events": worked}
    variants = ("desk", "load", "raw")
    database.reset()
    repository = database.repository(durable=durable)
    pools: dict[tuple[str, str], list[str]] = {}
    number = 0
    for history, build in histories.items():
        for variant in variants:
            incidents = [build(number + i + 1) for i in range(commands)]
            number += commands
            for i in range(0, commands, 1000):
                repository.commit(incidents[i:i + 1000])
            pools[(history, variant)] = [incident.id for incident in incidents]
    at = T0 + timedelta(days=60)
    desk = ServiceDesk(repository, clock=FrozenClock(at), notifier=NullNotifier())
    raw = database.raw(durable=durable)
    at_value = sqlite_instant(at) if database.dialect == "sqlite" else at
    template = note_template()
    series = {key: Series() for key in pools}
    per_round = -(-commands // repeats)
    for round_number in range(repeats):
        for history in histories:
            for variant in rotate(variants, round_number):
                ids = pools[(history, variant)][round_number * per_round:
                                                (round_number + 1) * per_round]
                if not ids:
                    continue
                samples = []
                gc.collect()
                for incident_id in ids:
                    start = time.perf_counter()
                    if variant == "desk":
                        desk.add_work_note(incident_id, NOTE, actor=AGENT)
                    elif variant == "load":
                        repository.get_incident(incident_id)
                    else:
                        raw_command(raw, template, incident_id, at, at_value)
                    samples.append(time.perf_counter() - start)
                series[(history, variant)].add_round(samples)
        progress(f"one command ({'durable' if durable else 'relaxed'}), round "
                 f"{round_number + 1} done")
    # Both variants stored the same thing: the note is the last event, version + 1.
    for history in histories:
        for variant in ("desk", "raw"):
            incident = repository.get_incident(pools[(history, variant)][0])
            last = incident.timeline()[-1]
            if last.name != template["name"] or incident.notes[-1].text != NOTE:
                raise SystemExit(f"{variant} did not store the note as the desk does")
    raw.close()
    repository.engine.dispose()
    database.reset()
    return {"commands": commands, "durable": durable, "series": series}


# -- reads on a large table ---------------------------------------------------------------------


def large_plan(count: int) -> tuple[bytes, bytes]:
    """The stage and the group of incidents 1..count (index 0 unused), seeded."""
    rng = random.Random(20260105)
    stages = bytes([0, *rng.choices(range(len(STAGES)), weights=STAGE_WEIGHTS, k=count)])
    groups = bytes([0, *rng.choices(range(len(GROUPS)), k=count)])
    return stages, groups


def generate(numbers: range, stages: bytes, groups: bytes) -> tuple[list[Incident], Rows]:
    incidents = [staged(n, stages[n], groups[n]) for n in numbers]
    rows = Rows()
    encode(incidents, rows, outbox=False)
    return incidents, rows


def check_loader(database: Database, stages: bytes, groups: bytes) -> None:
    """The loader writes the rows the repository writes: the same sample both ways."""
    sample = range(1, min(len(stages), 61))
    dumps = []
    for writer in ("repository", "loader"):
        database.reset()
        incidents, rows = generate(sample, stages, groups)
        if writer == "repository":
            repository = database.repository()
            repository.commit(incidents)
            repository.engine.dispose()
        else:
            raw = database.raw()
            database.load(raw, rows)
            raw.close()
        dumps.append(raw_rows(database))
    dumps[0].pop(OUTBOX.name)
    dumps[1].pop(OUTBOX.name)
    if dumps[0] != dumps[1]:
        for table in dumps[0]:
            for ours, theirs in zip(dumps[1][table], dumps[0][table], strict=False):
                if ours != theirs:
                    raise SystemExit(f"the loader's {table} row differs from the "
                                     f"repository's:\n  {ours}\n  {theirs}")
        raise SystemExit("the loader's rows differ from the repository's")


def populate(databases: Sequence[Database], count: int, stages: bytes, groups: bytes
             ) -> dict[str, dict[str, float | str]]:
    """Fill the large table of every database, chunk by chunk; each step timed."""
    report: dict[str, dict[str, float | str]] = {d.dialect: {} for d in databases}
    raws: dict[str, Raw] = {}
    rebuild: dict[str, list[str]] = {}
    for database in databases:
        check_loader(database, stages, groups)
        database.reset()
        raw = raws[database.dialect] = database.raw()
        keys = database.foreign_keys(raw)
        indexes = database.secondary_indexes(raw)
        for drop, _add in keys:
            raw.execute(drop)
        for name, _ddl in indexes:
            raw.execute(f"DROP INDEX {name}")
        raw.commit()
        rebuild[database.dialect] = [ddl for _name, ddl in indexes] + [
            add for _drop, add in keys]
        report[database.dialect].update(load_s=0.0)
    generating = 0.0
    chunk = 20_000
    for first in range(1, count + 1, chunk):
        start = time.perf_counter()
        _incidents, rows = generate(range(first, min(first + chunk, count + 1)), stages,
                                    groups)
        generating += time.perf_counter() - start
        for database in databases:
            start = time.perf_counter()
            database.load(raws[database.dialect], rows)
            report[database.dialect]["load_s"] = float(
                report[database.dialect]["load_s"]) + time.perf_counter() - start
        if (first - 1) % 200_000 == 0:
            progress(f"large table: {first - 1 + len(rows.state):,} incidents generated")
    events = 0
    for database in databases:
        raw = raws[database.dialect]
        start = time.perf_counter()
        for ddl in rebuild[database.dialect]:
            raw.execute(ddl)
        raw.commit()
        report[database.dialect]["index_s"] = time.perf_counter() - start
        start = time.perf_counter()
        report[database.dialect]["after_load"] = database.after_load(raw)
        report[database.dialect]["after_load_s"] = time.perf_counter() - start
        events = int(raw.fetch(f"SELECT count(*) FROM {EVENTS.name}")[0][0])
        raw.commit()
        raw.close()
        progress(f"large table loaded in {database.dialect}: {report[database.dialect]}")
    for database in databases:
        report[database.dialect].update(generate_s=generating, events=events)
    return report


def expected_page(stages: bytes, groups: bytes, group: int) -> list[str]:
    wanted = STAGES.index(PAGE_STATUS)
    found = []
    for number in range(1, len(stages)):
        if stages[number] == wanted and groups[number] == group:
            found.append(format_id("INC", number))
            if len(found) == 50:
                break
    return found


class Capture:
    """The statements an engine runs (to replay them raw and to explain them)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any]] = []

    def __enter__(self) -> Capture:
        sa.event.listen(self.engine, "before_cursor_execute", self._hook)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._hook)

    def _hook(self, _connection: Any, _cursor: Any, statement: str, parameters: Any,
              _context: Any, _executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))


def reads(database: Database, stages: bytes, groups: bytes, repeats: int, gets: int,
          pages: int) -> dict[str, Any]:
    count = len(stages) - 1
    repository = database.repository()
    raw = database.raw()
    rng = random.Random(7)
    ids = [format_id("INC", rng.randint(1, count)) for _ in range(gets)]
    page_groups = [i % len(GROUPS) for i in range(pages)]
    queries = [IncidentQuery(status=frozenset({PAGE_STATUS}), assignment_group=GROUPS[g],
                             limit=50) for g in page_groups]
    # Warm-up, checks, and the statements the repository runs.
    get_statements: list[tuple[str, Any]] = []
    for incident_id in ids:
        with Capture(repository.engine) as capture:
            incident = repository.get_incident(incident_id)
        number = int(incident_id[3:])
        if incident.status != STAGES[stages[number]] or (
                incident.assignment_group != GROUPS[groups[number]]):
            raise SystemExit(f"{incident_id} does not read back as generated")
        get_statements.append(capture.statements[-1])
    page_statements: list[tuple[str, Any]] = []
    for group, query in zip(page_groups, queries, strict=True):
        with Capture(repository.engine) as capture:
            found = repository.list_incidents(query)
        if [incident.id for incident in found] != expected_page(stages, groups, group):
            raise SystemExit(f"the page of {GROUPS[group]} is not the expected one")
        page_statements.append(capture.statements[-1])
    if database.dialect == "postgresql":
        raw.commit()
    series = {name: Series() for name in ("get", "get raw", "page", "page raw")}

    def repository_get(i: int) -> object:
        return repository.get_incident(ids[i])

    def raw_get(i: int) -> object:
        return raw.fetch(*get_statements[i])

    def repository_page(i: int) -> object:
        return repository.list_incidents(queries[i])

    def raw_page(i: int) -> object:
        return raw.fetch(*page_statements[i])

    runs: dict[str, tuple[Callable[[int], object], int]] = {
        "get": (repository_get, gets), "get raw": (raw_get, gets),
        "page": (repository_page, pages), "page raw": (raw_page, pages)}
    for round_number in range(repeats):
        for name in rotate(list(runs), round_number):
            run, calls = runs[name]
            samples = []
            gc.collect()
            for i in range(calls):
                start = time.perf_counter()
                run(i)
                samples.append(time.perf_counter() - start)
            if database.dialect == "postgresql":
                raw.commit()  # end the raw reads' transaction
            series[name].add_round(samples)
        progress(f"reads, round {round_number + 1} done")
    plans = {"get by id": raw.plan(*get_statements[0]),
             "page of 50": raw.plan(*page_statements[0])}
    raw.close()
    repository.engine.dispose()
    return {"series": series, "plans": plans, "statements": {
        "get by id": get_statements[0][0], "page of 50": page_statements[0][0]}}


def index_used(dialect: str, plan: Sequence[str]) -> bool:
    """Whether the plan reads both tables through an index (no full scan of a big table)."""
    text = "\n".join(plan)
    if dialect == "sqlite":
        scans = [line for line in plan if "SCAN " in line and " USING " not in line]
        return not scans and " USING " in text
    return "Seq Scan" not in text and "Index" in text


# -- report -------------------------------------------------------------------------------------


def run_engine(target: Target, args: argparse.Namespace, stages: bytes, groups: bytes,
               large_report: Mapping[str, Any]) -> dict[str, Any]:
    print(f"\n== {target.dialect} ==", flush=True)
    read = reads(target.large, stages, groups, args.repeats, args.gets, args.pages)
    target.large.drop()
    saved = batch_save(target.work, args.incidents, args.batch, args.repeats)
    commands = [one_command(target.work, args.commands, args.repeats, durable=durable)
                for durable in (True, False)]
    target.work.drop()
    return {"batch": saved, "commands": commands, "reads": read, "large": large_report}


def print_engine(dialect: str, result: Mapping[str, Any]) -> dict[str, Any]:
    saved = result["batch"]
    count = saved["incidents"]
    seconds: dict[str, list[float]] = saved["seconds"]
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    print(f"\n### {dialect}: batch save of {count:,} new incidents, {saved['batch']:,} per "
          f"transaction ({saved['transactions']} transactions, {saved['rows']:,} rows, "
          f"{saved['text_bytes'] / 1e6:.1f} MB of values as text, "
          f"{saved['payload_bytes_per_event']:.0f} B of JSON per event)\n")
    print("| variant | wall s (median) | min-max | incidents/s | rows/s | "
          "repository rows/s as % of this |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, values in seconds.items():
        rate = count / medians[name]
        print(f"| {name} | {medians[name]:.2f} | {min(values):.2f}-{max(values):.2f} | "
              f"{rate:,.0f} | {3 * rate:,.0f} | "
              f"{medians[name] / medians['repository']:.1%} |")
    print(f"\nrows identical to those of the repository's first run: "
          f"{saved['identical_rows']}")
    commands: list[dict[str, Any]] = result["commands"]
    print(f"\n### {dialect}: one command (add_work_note), {commands[0]['commands']:,} per "
          "variant, history length and commit setting\n")
    print("| commit | history | variant | median µs | round medians min-max | this / raw |")
    print("|---|---|---|---:|---:|---:|")
    command_ratios: dict[str, float] = {}
    command_json: dict[str, Any] = {}
    for command in commands:
        setting = "durable" if command["durable"] else "relaxed"
        series: dict[tuple[str, str], Series] = command["series"]
        for (history, variant), s in series.items():
            low, high = s.spread()
            ratio = s.median / series[(history, "raw")].median
            if variant == "desk":
                command_ratios[f"{history}, {setting}"] = ratio
            command_json[f"{setting} / {history} / {variant}"] = s.as_json(1e6)
            print(f"| {setting} | {history} | {variant} | {s.median * 1e6:,.0f} | "
                  f"{low * 1e6:,.0f}-{high * 1e6:,.0f} | {ratio:.2f} |")
    print("\ndesk: ServiceDesk.add_work_note; load: repository.get_incident alone (the read "
          "half of the desk command); raw: the driver's single-row transaction. durable: "
          "default commits; relaxed: commits that do not wait for the disk (SQLite "
          f"synchronous={RELAXED_SQLITE}, PostgreSQL synchronous_commit=off), both sides.")
    read = result["reads"]
    large = result["large"]
    rseries: dict[str, Series] = read["series"]
    print(f"\n### {dialect}: reads among {large['count']:,} incidents ({large['events']:,} "
          f"events); loaded in {large['load_s']:.0f} s + indexes {large['index_s']:.0f} s + "
          f"{large['after_load']} {large['after_load_s']:.0f} s (rows generated in "
          f"{large['generate_s']:.0f} s, shared by the engines)\n")
    print("| read | calls | median | round medians min-max | raw driver median | "
          "repository / raw |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, label in (("get", "get by id"), ("page", "page of 50")):
        s, r = rseries[name], rseries[f"{name} raw"]
        low, high = s.spread()
        print(f"| {label} | {len(s.samples):,} | {s.median * 1e3:.3f} ms | "
              f"{low * 1e3:.3f}-{high * 1e3:.3f} ms | {r.median * 1e3:.3f} ms | "
              f"{s.median / r.median:.1f} |")
    used = {}
    for label, plan in read["plans"].items():
        used[label] = index_used(dialect, plan)
        print(f"\n{label}: {read['statements'][label]}\n  plan:")
        for line in plan:
            print(f"    {line}")
    batch_target = "batch save at least 50 % of raw rows/s"
    targets: dict[str, float] = {batch_target: medians["raw"] / medians["repository"]}
    met: dict[str, bool] = {batch_target: targets[batch_target] >= 0.5}
    for case, ratio in command_ratios.items():
        targets[f"one command within 3x of raw ({case})"] = ratio
        met[f"one command within 3x of raw ({case})"] = ratio <= 3
    for name, label in (("get", "get by id"), ("page", "page of 50")):
        targets[f"{label} under 2 ms, index used"] = rseries[name].median * 1e3
        met[f"{label} under 2 ms, index used"] = rseries[name].median < 0.002 and used[label]
    print(f"\n### {dialect}: targets\n")
    print("| target | measured | met |")
    print("|---|---:|---|")
    for name, value in targets.items():
        shown = f"{value:.1%}" if "50 %" in name else (
            f"{value:.2f}x" if "3x" in name else f"{value:.3f} ms")
        print(f"| {name} | {shown} | {'yes' if met[name] else 'NO'} |")
    return {
        "batch_save": {**{k: v for k, v in saved.items() if k != "seconds"},
                       "variants": {name: {"median_s": medians[name],
                                           "min_s": min(values), "max_s": max(values),
                                           "incidents_per_s": count / medians[name],
                                           "rows_per_s": 3 * count / medians[name]}
                                    for name, values in seconds.items()}},
        "one_command": command_json,
        "reads": {"large": dict(large),
                  **{name: s.as_json(1e3) for name, s in rseries.items()},
                  "plans": read["plans"], "index_used": used},
        "targets": {name: {"measured": targets[name], "met": met[name]} for name in targets},
        "units": {"one_command": "µs", "reads": "ms"},
    }


@dataclass
class Target:
    """One engine: a database for the writes, another for the large table."""

    dialect: str
    work: Database
    large: Database

    def drop(self) -> None:
        self.work.drop()
        self.large.drop()


def open_targets(engine: str, directory: Path) -> Iterator[Target]:
    token = uuid.uuid4().hex[:10]
    if engine in ("sqlite", "both"):
        yield Target("sqlite", SqliteDatabase(directory, f"work-{token}"),
                     SqliteDatabase(directory, f"large-{token}"))
    if engine in ("postgresql", "both"):
        url = os.environ.get(POSTGRES_URL_VARIABLE, "")
        if not url:
            print(f"PostgreSQL skipped: {POSTGRES_URL_VARIABLE} is not set (for example "
                  "postgresql+psycopg://postgres@127.0.0.1:5432/test)", flush=True)
        else:
            yield Target("postgresql", PostgresDatabase(url, f"itil_bench_{token}"),
                         PostgresDatabase(url, f"itil_bench_{token}_large"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--incidents", type=int, default=100_000,
                        help="new incidents of the batch save (default 100,000)")
    parser.add_argument("--batch", type=int, default=1_000,
                        help="incidents per transaction of the batch save (default 1,000)")
    parser.add_argument("--commands", type=int, default=1_000,
                        help="commands per variant and history length (default 1,000)")
    parser.add_argument("--large", type=int, default=1_000_000,
                        help="incidents of the read benchmark (default 1,000,000)")
    parser.add_argument("--gets", type=int, default=1_000,
                        help="random ids read per round (default 1,000)")
    parser.add_argument("--pages", type=int, default=100,
                        help="pages of 50 read per round (default 100)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.incidents, args.batch, args.commands, args.large, args.gets, args.pages,
           args.repeats) < 1:
        parser.error("every size must be at least 1")
    started = time.perf_counter()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    directory = Path(tempfile.mkdtemp(prefix="itil-persistence-"))
    targets = list(open_targets(args.engine, directory))
    if not targets:
        shutil.rmtree(directory, ignore_errors=True)
        return 0
    meta: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "sqlalchemy": version("sqlalchemy"),
        "sqlite": sqlite3.sqlite_version,
        "itil_incident": version("itil-incident"),
        "source_sha256": source_fingerprint(),
        "sqlite_directory": str(directory),
        "command": " ".join([".venv/bin/python", "benchmarks/persistence.py",
                             *(argv if argv is not None else sys.argv[1:])]),
    }
    results: dict[str, Any] = {}
    raw_results: dict[str, dict[str, Any]] = {}
    try:
        for target in targets:
            if target.dialect == "postgresql":
                target.large.reset()
                engine = target.large.engine()
                with engine.connect() as connection:
                    meta["postgresql"] = str(
                        connection.exec_driver_sql("SHOW server_version").scalar())
                engine.dispose()
                meta["psycopg"] = version("psycopg")
        stages, groups = large_plan(args.large)
        print(f"large table: generating and loading {args.large:,} incidents "
              f"({', '.join(t.dialect for t in targets)})", flush=True)
        loaded = populate([t.large for t in targets], args.large, stages, groups)
        for target in targets:
            large = {"count": args.large, **loaded[target.dialect]}
            raw_results[target.dialect] = run_engine(target, args, stages, groups, large)
    finally:
        for target in targets:
            target.drop()
        shutil.rmtree(directory, ignore_errors=True)
    meta["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nPython {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs, load "
          f"average {meta['load_average_at_start']} at start; SQLAlchemy "
          f"{meta['sqlalchemy']}, SQLite {meta['sqlite']}"
          + (f", PostgreSQL {meta['postgresql']} (psycopg {meta['psycopg']})"
             if "postgresql" in meta else "")
          + f"; itil_incident source {meta['source_sha256']}; SQLite files in "
          f"{meta['sqlite_directory']}")
    for dialect, result in raw_results.items():
        results[dialect] = print_engine(dialect, result)
    meta["total_s"] = time.perf_counter() - started
    print(f"\ntotal {meta['total_s']:.0f} s; load average at end {meta['load_average_at_end']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2,
                                              default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
