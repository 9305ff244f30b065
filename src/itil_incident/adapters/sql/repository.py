"""The SQL repository: SQLite and PostgreSQL through one SQLAlchemy Core code path."""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from itil_incident.adapters.sql import schema
from itil_incident.adapters.sql._driver import DriverStatements
from itil_incident.adapters.sql._snapshot import (
    StoredHistory,
    decode_snapshot,
    encode_snapshot,
    loaded_events,
)
from itil_incident.adapters.sql.codec import event_from_dict, event_json, value_to_json
from itil_incident.adapters.sql.schema import SchemaVersionError, StorageError
from itil_incident.domain.events import DomainEvent, IncidentLogged
from itil_incident.domain.incident import Incident
from itil_incident.domain.lifecycles import default_incident_workflow, default_problem_workflow
from itil_incident.domain.problem import Problem
from itil_incident.domain.problem_events import ProblemOpened
from itil_incident.domain.values import CategoryPath
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import (
    ConcurrencyError,
    DefinitionError,
    ItilIncidentError,
    NotFoundError,
    ValidationError,
)
from itil_incident.ports import IncidentQuery, ProblemQuery

__all__ = ["OutboxMessage", "SqlRepository", "StorageError"]

R = TypeVar("R", Incident, Problem)

#: The key, in a pooled SQLite connection's ``info``, of the busy timeout it was set up with.
_CONFIGURED: Final = "itil_incident_busy_timeout"
_ESCAPE: Final = "!"

# ----------------------------------------------------------------- statements, built once

_HISTORY: Final = {
    kind: sa.select(table.c.payload)
    .where(table.c.record_id == sa.bindparam("record_id"))
    .order_by(table.c.version)
    for kind, table in schema.events.items()
}
_STORED_HISTORY: Final = {
    kind: sa.select(table.c.payload)
    .where(table.c.record_id == sa.bindparam("record_id"),
           table.c.version <= sa.bindparam("stored"))
    .order_by(table.c.version)
    for kind, table in schema.events.items()
}
_STATE: Final = {"incident": schema.incidents, "problem": schema.problems}
#: What a record is read from: its version, workflow and snapshot.
_SNAPSHOT_COLUMNS: Final = ("id", "version", "workflow_name", "snapshot")
_SNAPSHOT: Final = {
    kind: sa.select(*(table.c[name] for name in _SNAPSHOT_COLUMNS))
    .where(table.c.id == sa.bindparam("record_id"))
    for kind, table in _STATE.items()
}
_TAKEN: Final = {
    kind: sa.select(table.c.id).where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
    for kind, table in _STATE.items()
}
_INSERT_STATE: Final = {kind: sa.insert(table) for kind, table in _STATE.items()}
_UPDATE_STATE: Final = {
    kind: sa.update(table).where(table.c.id == sa.bindparam("b_id"),
                                 table.c.version == sa.bindparam("b_expected"))
    for kind, table in _STATE.items()
}
_VERSION: Final = {
    kind: sa.select(table.c.version).where(table.c.id == sa.bindparam("record_id"))
    for kind, table in _STATE.items()
}
_VERSION_LOCKED: Final = {kind: stmt.with_for_update(read=True) for kind, stmt in _VERSION.items()}
_DELETE_LINKS: Final = sa.delete(schema.links).where(
    schema.links.c.record_kind == sa.bindparam("kind"),
    schema.links.c.record_id == sa.bindparam("record_id"),
)
_INSERT_LINKS: Final = sa.insert(schema.links)


def _json_text(dialect: str) -> sa.ColumnElement[Any]:
    """A parameter holding JSON text already encoded (one ``json.dumps`` for the event row
    and the outbox row); PostgreSQL casts it to ``json``."""
    text = sa.bindparam("payload", type_=sa.Text())
    return sa.cast(text, sa.JSON) if dialect == "postgresql" else text


@functools.cache
def _insert_events(kind: str, dialect: str) -> sa.Insert:
    table = schema.events[kind]
    values: dict[str, Any] = {name: sa.bindparam(name) for name in (
        "record_id", "version", "name", "at", "actor_id")}
    values["payload"] = _json_text(dialect)
    return sa.insert(table).values(values)


@functools.cache
def _insert_outbox(dialect: str) -> sa.Insert:
    values: dict[str, Any] = {name: sa.bindparam(name) for name in (
        "record_id", "version", "event_name", "attempts", "idempotency_key")}
    values["payload"] = _json_text(dialect)
    return sa.insert(schema.outbox).values(values)
_PENDING: Final = (
    sa.select(schema.outbox)
    .where(schema.outbox.c.delivered_at.is_(None))
    .order_by(schema.outbox.c.id)
    .limit(sa.bindparam("limit"))
)


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """One row of the outbox: a committed event waiting for delivery."""

    id: int
    record_id: str
    version: int
    event_name: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    delivered_at: datetime | None
    idempotency_key: str


class SqlRepository:
    """Stores incidents and problems in SQLite or PostgreSQL (the Repository port).

    Each record is read from the snapshot of its state row (written with every save; see
    :mod:`itil_incident.adapters.sql.schema`), with the workflow its row names; pass
    ``workflows`` when yours are not the defaults. Its events are read the first time
    something needs them (``timeline()``, notes, SLA stages), from the same database; a
    record without a usable snapshot is rebuilt from its events (``Incident.from_history``).
    A ``commit`` writes the state rows (snapshot included), the new events and one outbox
    message per event in one transaction, after checking each record's expected version.

    The database must hold this library's schema version (:data:`SCHEMA_VERSION`): on its
    first use the repository checks it and raises
    :class:`~itil_incident.adapters.sql.SchemaVersionError` for another version, saying to
    run :func:`~itil_incident.adapters.sql.upgrade_schema`; with ``upgrade=True`` it runs
    the upgrade itself instead.

    ``busy_timeout`` (seconds) bounds how long a write waits for another writer: SQLite's
    busy timeout, PostgreSQL's ``lock_timeout`` for the commit's transaction. On SQLite the
    repository configures every connection (``journal_mode=WAL``, ``foreign_keys=ON``,
    ``busy_timeout``) and starts each of its writes with ``BEGIN IMMEDIATE`` and each of its
    reads of several statements with ``BEGIN`` (a read of one statement is its own
    consistent view; on PostgreSQL it runs in autocommit mode); the engine's other users
    keep the driver's own transaction handling. Build it before the engine hands out
    connections, or use :meth:`from_url`.

    >>> from itil_incident.adapters.sql import SqlRepository, create_schema
    >>> repository = SqlRepository.from_url("sqlite:///desk.db")  # doctest: +SKIP
    >>> create_schema(repository.engine)  # doctest: +SKIP

    Errors: a moved version (or a new record whose id is taken) raises
    :class:`~itil_incident.ConcurrencyError`; a database that is locked past ``busy_timeout``
    seconds, unreachable or without the schema raises :class:`StorageError`. Nothing is stored
    when either is raised, and no driver error escapes.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        workflows: Iterable[Workflow] = (default_incident_workflow(),
                                         default_problem_workflow()),
        busy_timeout: float = 5.0,
        upgrade: bool = False,
    ) -> None:
        if not isinstance(engine, Engine):
            raise DefinitionError(f"engine must be a SQLAlchemy Engine, got {engine!r}",
                                  culprit="engine")
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)) or (
                busy_timeout < 0):
            raise DefinitionError(f"busy_timeout must be seconds >= 0, got {busy_timeout!r}",
                                  culprit="busy_timeout")
        self._workflows: dict[str, Workflow] = {}
        for workflow in workflows:
            if not isinstance(workflow, Workflow):
                raise DefinitionError(f"not a Workflow: {workflow!r}", culprit="workflows")
            known = self._workflows.setdefault(workflow.name, workflow)
            if known is not workflow:
                raise DefinitionError(f"two workflows are named {workflow.name!r}",
                                      culprit="workflows")
        if not isinstance(upgrade, bool):
            raise DefinitionError(f"upgrade must be True or False, got {upgrade!r}",
                                  culprit="upgrade")
        self._engine = engine
        self._owns_engine = False
        self._upgrade = upgrade
        self._schema_checked = False
        self._lock_timeout: str | None = None
        self._statements = DriverStatements(engine.dialect)
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, busy_timeout)
        elif engine.dialect.name == "postgresql":
            # lock_timeout 0 would mean "wait for ever"; busy_timeout 0 means "do not wait"
            self._lock_timeout = f"SET LOCAL lock_timeout = {max(1, int(busy_timeout * 1000))}"

    @classmethod
    def from_url(
        cls,
        url: str | sa.URL,
        *,
        workflows: Iterable[Workflow] = (default_incident_workflow(),
                                         default_problem_workflow()),
        busy_timeout: float = 5.0,
        upgrade: bool = False,
    ) -> SqlRepository:
        """A repository on a new engine for ``url``: ``sqlite:///path/to/desk.db`` or
        ``postgresql+psycopg://user@host/db``. :meth:`close` disposes of the engine."""
        try:
            engine = sa.create_engine(url)
        except ModuleNotFoundError as missing:
            if "psycopg" in str(missing.name):
                raise ImportError(f"{missing.name} is not installed: use a postgresql+psycopg:// "
                                  "URL and install psycopg 3 with: "
                                  "pip install 'itil-incident[postgres]'") from missing
            raise ImportError(f"the database driver {missing.name} is not installed; the sql "
                              "extra covers SQLite: pip install 'itil-incident[sql]'"
                              ) from missing
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise ValidationError(f"not a usable database URL: {exc}", field="url") from None
        repository = cls(engine, workflows=workflows, busy_timeout=busy_timeout,
                         upgrade=upgrade)
        repository._owns_engine = True
        return repository

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (to create the schema, or for a host's own queries)."""
        return self._engine

    def close(self) -> None:
        """Close the pooled connections of an engine made by :meth:`from_url`."""
        if self._owns_engine:
            self._engine.dispose()

    # ----------------------------------------------------------------- reading

    def get_incident(self, incident_id: str) -> Incident:
        """The incident ``incident_id``, read from its snapshot; NotFoundError if none."""
        with self._reading(one_statement=True) as connection:
            return self._load(connection, Incident, incident_id)

    def get_problem(self, problem_id: str) -> Problem:
        """The problem ``problem_id``, read from its snapshot; NotFoundError if none."""
        with self._reading(one_statement=True) as connection:
            return self._load(connection, Problem, problem_id)

    def history_of(self, record_id: str) -> list[DomainEvent]:
        """The stored events of an incident or problem, oldest first."""
        if isinstance(record_id, str):
            with self._reading() as connection:
                for kind in ("incident", "problem"):
                    found = self._history(connection, kind, record_id)
                    if found:
                        return found
        raise NotFoundError("record", str(record_id))

    def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """The incidents matching ``query``, in its order, after its cursor."""
        if not isinstance(query, IncidentQuery):
            raise ValidationError("query must be an IncidentQuery", field="query")
        return self._list(Incident, query, _incident_filters(query))

    def list_problems(self, query: ProblemQuery) -> list[Problem]:
        """The problems matching ``query``, in its order, after its cursor."""
        if not isinstance(query, ProblemQuery):
            raise ValidationError("query must be a ProblemQuery", field="query")
        return self._list(Problem, query, _problem_filters(query))

    def pending_outbox(self, limit: int = 100) -> list[OutboxMessage]:
        """Up to ``limit`` undelivered outbox messages, oldest first."""
        if type(limit) is not int or limit < 1:
            raise ValidationError(f"limit must be a positive integer, got {limit!r}",
                                  field="limit")
        with self._reading() as connection:
            rows = connection.execute(_PENDING, {"limit": limit}).mappings().all()
        return [
            OutboxMessage(
                id=row["id"], record_id=row["record_id"], version=row["version"],
                event_name=row["event_name"], payload=row["payload"],
                created_at=_aware(row["created_at"]), attempts=row["attempts"],
                delivered_at=(None if row["delivered_at"] is None
                              else _aware(row["delivered_at"])),
                idempotency_key=row["idempotency_key"],
            )
            for row in rows
        ]

    # ----------------------------------------------------------------- writing

    def commit(self, records: Sequence[Incident | Problem], *, publish: bool = True) -> None:
        """Store every record's pending events and new state, or nothing.

        With ``publish=False`` the events get no outbox message: for histories brought in
        from elsewhere (an imported event log), which no relay should announce.

        Raises ConcurrencyError, storing nothing, when a stored version is not the record's
        ``saved_version``.
        """
        if not isinstance(publish, bool):
            raise ValidationError(f"publish must be True or False, got {publish!r}",
                                  field="publish")
        checked: list[tuple[str, Incident | Problem]] = []
        seen: set[tuple[str, str]] = set()
        for record in records:
            if isinstance(record, Incident):
                checked.append(("incident", record))
            elif isinstance(record, Problem):
                checked.append(("problem", record))
            else:
                raise ValidationError(f"cannot store {type(record).__name__}", field="records")
            key = (checked[-1][0], record.id)
            if key in seen:
                raise ValidationError(f"{record.id} appears twice in one commit",
                                      field="records")
            seen.add(key)
            if record.workflow_name not in self._workflows:
                raise StorageError(self._unknown_workflow(record.id, record.workflow_name))
        if not checked:
            return
        conflict: tuple[str, str, int] | None = None
        try:
            if self._upgrade and not self._schema_checked:
                self._upgrade_schema()
            dialect = self._engine.dialect.name
            with self._engine.connect() as connection, connection.begin():
                _start(connection, write=True)
                if self._lock_timeout is not None:  # bounded waits, as on SQLite
                    connection.exec_driver_sql(self._lock_timeout)
                if not self._schema_checked:
                    self._check_schema(connection)
                # State rows first, in id order (one lock order for every writer): the new
                # records' rows in one statement per kind, then each update; then links,
                # events and outbox messages, in the order the records were given.
                ordered = sorted(checked, key=lambda pair: (pair[0], pair[1].id))
                new: dict[str, list[Incident | Problem]] = {}
                for kind, record in ordered:
                    if record.saved_version == 0:
                        new.setdefault(kind, []).append(record)
                for kind, records_of_kind in new.items():
                    try:
                        self._write(connection, ("state", kind), _INSERT_STATE[kind],
                                    [_state_row(record) for record in records_of_kind])
                    except sa.exc.IntegrityError:  # an id is taken: all is rolled back
                        conflict = (kind, "", 0)
                        raise _ConflictError from None
                link_rows: list[dict[str, Any]] = []
                for kind, record in ordered:
                    conflict = self._write_state(connection, kind, record, link_rows)
                    if conflict is not None:
                        raise _ConflictError
                if link_rows:
                    self._write(connection, ("links",), _INSERT_LINKS, link_rows)
                outbox: list[dict[str, Any]] = []
                event_rows: dict[str, list[dict[str, Any]]] = {}
                for kind, record in checked:
                    _write_events(kind, record, outbox, event_rows.setdefault(kind, []))
                for kind, rows in event_rows.items():
                    if rows:
                        self._write(connection, ("events", kind),
                                    _insert_events(kind, dialect), rows)
                if outbox and publish:
                    self._write(connection, ("outbox",), _insert_outbox(dialect), outbox)
        except _ConflictError:
            pass
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error("commit", exc) from exc
        if conflict is not None:
            kind, record_id, expected = conflict
            if not record_id:  # which new id was taken?
                record_id = self._taken_id(kind, [r.id for k, r in checked
                                                  if k == kind and r.saved_version == 0])
            raise ConcurrencyError(record_id, expected, self._stored_version(kind, record_id))
        for _kind, record in checked:
            record.mark_saved()
            if isinstance(record._history, StoredHistory):
                record._history.links = _link_state(record)  # what the link rows now hold
                record._history.indexed = _indexed_values(record)  # and the indexed columns

    # ----------------------------------------------------------------- internals

    def _write(self, connection: Connection, key: tuple[str, ...],
               statement: sa.Insert | sa.Update, rows: list[dict[str, Any]], *,
               set_columns: bool = False) -> sa.CursorResult[Any]:
        """Run ``statement`` once per row of ``rows`` (all of one shape) through the driver:
        an insert of the rows' columns, or (``set_columns``) an update setting the row's
        columns but its ``b_*`` parameters."""
        names = tuple(rows[0])
        columns = [name for name in names if not name.startswith("b_")] if set_columns \
            else list(names)
        compiled = self._statements.get((*key, names), statement, columns)
        return compiled.execute(connection, rows)

    def _write_state(self, connection: Connection, kind: str, record: Incident | Problem,
                     link_rows: list[dict[str, Any]]) -> tuple[str, str, int] | None:
        """Check the version of a stored record and update its state row (new records' rows are
        inserted already); collect the link rows to insert. The conflict, if any."""
        expected = record.saved_version
        key = _column_text(record.id)
        if record.version == expected:
            stored = connection.execute(_VERSION_LOCKED[kind], {"record_id": key}).scalar()
            if (0 if stored is None else stored) != expected:
                return kind, record.id, expected
            return None
        if expected != 0:
            row = _state_row(record)
            row["b_id"] = row.pop("id")
            row["b_expected"] = expected
            history = record._history
            indexed = history.indexed if isinstance(history, StoredHistory) else None
            if indexed is not None:
                # Leave out the indexed columns that keep the value they were read with: an
                # UPDATE that sets one rewrites its index entries (SQLite), even to the same value.
                for column, value in indexed.items():
                    if row[column] == value and type(row[column]) is type(value):
                        del row[column]
            if self._write(connection, ("update", kind), _UPDATE_STATE[kind], [row],
                           set_columns=True).rowcount != 1:
                return kind, record.id, expected
            if isinstance(history, StoredHistory) and history.links == _link_state(record):
                return None  # its links are those it was read with: the stored rows hold
            connection.execute(_DELETE_LINKS, {"kind": kind, "record_id": key})
        # a new record has no links yet; a stored one's were deleted just above
        link_rows += [{"record_kind": kind, "record_id": key, "relation": relation,
                       "target_id": _column_text(target)} for relation, target in _links(record)]
        return None

    @contextmanager
    def _reading(self, *, one_statement: bool = False) -> Iterator[Connection]:
        """A connection to read with, in a transaction; ``one_statement``: a read of one
        statement (its own consistent view), which runs without ``BEGIN`` (SQLite) or in
        autocommit mode (PostgreSQL): one round trip instead of three."""
        try:
            if self._upgrade and not self._schema_checked:
                self._upgrade_schema()
            with self._engine.connect() as connection:
                if not one_statement or not self._schema_checked:
                    _start(connection, write=False)
                elif self._engine.dialect.name == "postgresql":  # no BEGIN, no ROLLBACK
                    connection.execution_options(isolation_level="AUTOCOMMIT")
                if not self._schema_checked:
                    self._check_schema(connection)
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error("read", exc) from exc

    def _check_schema(self, connection: Connection) -> None:
        """Once per repository, in its first transaction: the database holds this library's
        schema version."""
        found = schema.check_layout(connection)
        if found is None:
            raise StorageError("the schema is missing: call create_schema(engine) (no "
                               "itil_schema table)")
        if found != schema.SCHEMA_VERSION:
            error = schema.version_error(found)
            if found < schema.SCHEMA_VERSION:
                error = SchemaVersionError(f"{error}, or build the repository with "
                                           "SqlRepository(..., upgrade=True)", found=found)
            raise error
        self._schema_checked = True

    def _upgrade_schema(self) -> None:
        """``upgrade=True``: bring an older schema to this library's version, before the
        first transaction."""
        from itil_incident.adapters.sql.upgrade import upgrade_schema

        if schema.schema_version(self._engine) is not None:
            upgrade_schema(self._engine, workflows=tuple(self._workflows.values()))

    def _stored_version(self, kind: str, record_id: str) -> int | None:
        with self._reading(one_statement=True) as connection:
            found = connection.execute(_VERSION[kind], {"record_id": _column_text(record_id)})
            version = found.scalar()
        return None if version is None else int(version)

    def _taken_id(self, kind: str, ids: list[str]) -> str:
        """The first of ``ids`` (new records) that is stored already."""
        keys = {_column_text(record_id): record_id for record_id in ids}
        with self._reading() as connection:
            taken = {key for (key,) in connection.execute(_TAKEN[kind], {"ids": list(keys)})}
        return next((record_id for key, record_id in sorted(keys.items()) if key in taken),
                    ids[0])

    def _history(self, connection: Connection, kind: str, record_id: str) -> list[DomainEvent]:
        rows = connection.execute(_HISTORY[kind], {"record_id": _column_text(record_id)})
        history = [_decode(payload, record_id) for (payload,) in rows]
        if history and history[0].aggregate_id != record_id:
            return []  # another id that reads the same once sanitized
        return history

    def _stored_events(self, kind: str, record_id: str, stored: int) -> list[DomainEvent]:
        """Versions 1 .. ``stored`` of ``record_id`` (a StoredHistory's loader)."""
        with self._reading(one_statement=True) as connection:
            rows = connection.execute(_STORED_HISTORY[kind],
                                      {"record_id": _column_text(record_id), "stored": stored})
            history = [_decode(payload, record_id) for (payload,) in rows]
        try:
            return loaded_events(history, stored, record_id)
        except ValidationError as exc:
            raise StorageError(f"the stored history of {record_id} cannot be read: {exc}"
                               ) from exc

    def _load(self, connection: Connection, cls: type[R], record_id: str) -> R:
        kind = "incident" if cls is Incident else "problem"
        if isinstance(record_id, str):
            query = self._statements.get(("snapshot", kind), _SNAPSHOT[kind])
            row = query.execute(connection, [{"record_id": _column_text(record_id)}]).first()
            if row is not None:
                record = self._from_row(connection, cls, kind, row)
                if record.id == record_id:  # not another id that reads the same sanitized
                    if isinstance(record._history, StoredHistory):
                        record._history.indexed = _indexed_values(record)
                    return record
        raise NotFoundError(kind, str(record_id))

    def _from_row(self, connection: Connection, cls: type[R], kind: str,
                  row: Sequence[Any]) -> R:
        """The record of a state row: from its snapshot, or else from its events."""
        key, version, workflow_name, text = row
        workflow = self._workflows.get(workflow_name)
        if workflow is None:
            raise StorageError(self._unknown_workflow(key, workflow_name))
        if text is not None:
            history: StoredHistory[Any] = StoredHistory(
                functools.partial(self._stored_events, kind, key, version), version)
            try:
                record = decode_snapshot(cls, text, workflow, history)
            except ValidationError as exc:
                raise StorageError(f"the stored snapshot of {key} cannot be read: {exc}"
                                   ) from exc
            if record is not None:
                if record.id != key:  # sanitized in the row: read the events by the real id
                    history._load = functools.partial(self._stored_events, kind, record.id,
                                                      version)
                history.links = _link_state(record)
                return record
        events = self._history(connection, kind, key)
        if not events:
            raise StorageError(f"{key} has a state row but no events")
        return self._rebuild(cls, events)

    def _rebuild(self, cls: type[R], history: list[DomainEvent]) -> R:
        first = history[0]
        if not isinstance(first, (IncidentLogged, ProblemOpened)):
            raise StorageError(f"the stored history of {first.aggregate_id} starts with "
                               f"{first.name}")
        workflow = self._workflows.get(first.workflow)
        if workflow is None:
            raise StorageError(self._unknown_workflow(first.aggregate_id, first.workflow))
        try:
            record: R = cls.from_history(history, workflow)  # type: ignore[arg-type]  # the history of a kind holds that kind's events; from_history checks each one
        except ItilIncidentError as exc:
            raise StorageError(f"the stored history of {first.aggregate_id} cannot be "
                               f"replayed: {exc}") from exc
        return record

    def _unknown_workflow(self, record_id: str, name: str) -> str:
        known = ", ".join(sorted(self._workflows)) or "none"
        return (f"{record_id} follows the workflow {name!r}, which this repository was not "
                f"given (known: {known}); pass it in SqlRepository(..., workflows=[...])")

    def _list(self, cls: type[R], query: IncidentQuery | ProblemQuery,
              filters: tuple[tuple[str, ...], dict[str, Any]]) -> list[R]:
        shape: tuple[str, ...] = filters[0]
        limit = query.limit
        kind = "incident" if cls is Incident else "problem"
        order: str = query.order_by.value
        descending = query.descending
        key = query.sort_key
        found: list[R] = []
        page: dict[str, Any] = dict(filters[1], limit=limit)
        statement = _list_statement(kind, shape, limit is not None, order, descending)
        with self._reading() as connection:
            while True:
                rows = connection.execute(statement, page).all()
                batch = sorted((self._from_row(connection, cls, kind, row) for row in rows),
                               key=key, reverse=descending)  # type: ignore[arg-type]  # an IncidentQuery is paired with incidents, a ProblemQuery with problems
                # The SQL filters are exact but for sanitized text; this keeps the result
                # exactly what the query says.
                found += [record for record in batch
                          if query.matches(record) and query.is_after_cursor(record)]  # type: ignore[arg-type]  # as above
                if limit is None or len(found) >= limit or len(rows) < limit:
                    return found[:limit] if limit is not None else found
                # Some rows matched in SQL but not exactly (sanitized text): read on from the
                # last row read, in the same order.
                page.update(_after_params(key(batch[-1])))  # type: ignore[arg-type]  # as above
                statement = _list_statement(kind, tuple(sorted({*shape, *_AFTER[order]})),
                                            True, order, descending)

    # monitoring alerts: a cheap check that reads one state row
    _IS_OPEN: Final = sa.select(schema.incidents.c.is_open).where(
        schema.incidents.c.id == sa.bindparam("record_id"))

    def is_incident_open(self, incident_id: str) -> bool:
        """Whether the incident exists and is neither resolved nor closed or cancelled (its
        state row's ``is_open``), without loading its history."""
        if type(incident_id) is not str:
            return False
        with self._reading(one_statement=True) as connection:
            found = connection.execute(self._IS_OPEN,
                                       {"record_id": _column_text(incident_id)}).scalar()
        return bool(found)

    # known errors: the ids and versions of the open ones, read from two indexed columns
    _KNOWN_ERROR_VERSIONS: Final = sa.select(
        schema.problems.c.id, schema.problems.c.version).where(
        schema.problems.c.known_error == sa.true(), schema.problems.c.is_open == sa.true())

    def known_error_versions(self) -> dict[str, int]:
        """The id and version of every open known error (the state rows with ``known_error``
        and ``is_open``), read without a snapshot."""
        with self._reading(one_statement=True) as connection:
            rows = connection.execute(self._KNOWN_ERROR_VERSIONS).all()
        return {key: int(version) for key, version in rows}


class _ConflictError(Exception):
    """A version check failed: roll back, then raise ConcurrencyError."""


# ----------------------------------------------------------------- writing helpers


def _write_events(kind: str, record: Incident | Problem, outbox: list[dict[str, Any]],
                  rows: list[dict[str, Any]]) -> None:
    pending = record.pending_events()
    if not pending:
        return
    key = _column_text(record.id)
    for event in pending:
        payload = event_json(event)
        rows.append({"record_id": key, "version": event.version, "name": event.name,
                     "at": event.at, "actor_id": _column_text(event.actor.id),
                     "payload": payload})
        outbox.append({"record_id": key, "version": event.version, "event_name": event.name,
                       "payload": payload, "attempts": 0,
                       "idempotency_key": _column_text(f"{record.id}:{event.version}")})


def _link_state(record: Incident | Problem) -> tuple[object, ...]:
    """The fields that the link rows of ``record`` are made of (immutable values)."""
    if isinstance(record, Problem):
        return (record.incident_ids,)
    return (record.links, record.problem_id, record.parent_id, record.child_ids)


def _links(record: Incident | Problem) -> dict[tuple[str, str], None]:
    found: dict[tuple[str, str], None] = {}
    if isinstance(record, Problem):
        for incident_id in record.incident_ids:
            found[("incident", incident_id)] = None
        return found
    for link_kind, target in record.links:
        found[(str(link_kind), target)] = None
    if record.problem_id is not None:
        found[("problem", record.problem_id)] = None
    if record.parent_id is not None:
        found[("parent", record.parent_id)] = None
    for child_id in record.child_ids:
        found[("child", child_id)] = None
    return found


def _indexed_values(record: Incident | Problem) -> dict[str, Any]:
    """The values of ``record``'s state row in the columns of its secondary indexes
    (``updated_at``, which every save moves, aside): part of what :func:`_state_row` writes,
    and what an update compares to leave out the ones that did not change."""
    if isinstance(record, Incident):
        values: dict[str, Any] = {
            "status": _column_text(record.status),
            "is_open": record.is_open,
            "priority_level": record.priority.level,
            "assignment_group": _optional_text(record.assignment_group),
            "assignee": _optional_text(record.assignee),
            "category_key": _category_key(record.category),
            "service": _optional_text(record.service),
            "logged_at": record.logged_at,
        }
    else:
        values = {
            "status": _column_text(record.status),
            "is_open": record.is_open,
            "known_error": record.known_error,
            "priority_level": record.priority.level,
            "service": _optional_text(record.service),
            "opened_at": record.opened_at,
        }
    values["title_search"] = _column_text(record.title.casefold())
    values["description_search"] = _column_text(record.description.casefold())
    return values


def _state_row(record: Incident | Problem) -> dict[str, Any]:
    return _incident_row(record) if isinstance(record, Incident) else _problem_row(record)


def _incident_row(incident: Incident) -> dict[str, Any]:
    return {
        "id": _column_text(incident.id),
        "workflow_name": _column_text(incident.workflow_name),
        "version": incident.version,
        **_indexed_values(incident),
        "impact_level": incident.impact.level,
        "urgency_level": incident.urgency.level,
        "category": _category(incident.category),
        "caller": _optional_text(incident.caller),
        "title": _column_text(incident.title),
        "description": _column_text(incident.description),
        "problem_id": _optional_text(incident.problem_id),
        "parent_id": _optional_text(incident.parent_id),
        "custom": {name: value_to_json(value, f"custom.{name}")
                   for name, value in sorted(incident.custom.items())},
        "updated_at": incident.updated_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "snapshot": encode_snapshot(incident),
    }


def _problem_row(problem: Problem) -> dict[str, Any]:
    return {
        "id": _column_text(problem.id),
        "workflow_name": _column_text(problem.workflow_name),
        "version": problem.version,
        **_indexed_values(problem),
        "impact_level": problem.impact.level,
        "urgency_level": problem.urgency.level,
        "assignment_group": _optional_text(problem.assignment_group),
        "assignee": _optional_text(problem.assignee),
        "category": _category(problem.category),
        "category_key": _category_key(problem.category),
        "title": _column_text(problem.title),
        "description": _column_text(problem.description),
        "updated_at": problem.updated_at,
        "resolved_at": problem.resolved_at,
        "closed_at": problem.closed_at,
        "snapshot": encode_snapshot(problem),
    }


# ----------------------------------------------------------------- queries


#: The parameters of a keyset condition, per order: the order column's value, then the id.
_AFTER: Final = {
    "id": ("after_id",),
    "logged_at": ("after_id", "after_value"),
    "opened_at": ("after_id", "after_value"),
    "updated_at": ("after_id", "after_value"),
    "priority": ("after_id", "after_value"),
}


def _after_params(key: tuple[Any, ...]) -> dict[str, Any]:
    """The keyset parameters that start a page after the record of sort key ``key``."""
    *value, record_id = key
    params: dict[str, Any] = {"after_id": _column_text(record_id)}
    if value:
        params["after_value"] = value[0]
    return params


def _incident_filters(query: IncidentQuery) -> tuple[tuple[str, ...], dict[str, Any]]:
    params: dict[str, Any] = {}
    if query.status is not None:
        params["status"] = sorted(_column_text(s) for s in query.status)
    if query.priority is not None:
        params["priority"] = sorted(p.level for p in query.priority)
    for name in ("assignment_group", "assignee", "service"):
        value = getattr(query, name)
        if value is not None:
            params[name] = _column_text(value)
    if query.category is not None:
        path = _column_text(str(query.category))
        params.update(category=True, category_low=path + "/", category_high=path + "0")
    if query.open is not None:
        params["is_open"] = query.open
    if query.text is not None:
        params["text"] = _pattern(query.text)
    if query.after is not None:
        params.update(_after_params(query.after.key))
    return tuple(sorted(params)), params


def _problem_filters(query: ProblemQuery) -> tuple[tuple[str, ...], dict[str, Any]]:
    params: dict[str, Any] = {}
    if query.status is not None:
        params["status"] = sorted(_column_text(s) for s in query.status)
    if query.service is not None:
        params["service"] = _column_text(query.service)
    if query.known_error is not None:
        params["known_error"] = query.known_error
    if query.open is not None:
        params["is_open"] = query.open
    if query.text is not None:
        params["text"] = _pattern(query.text)
    if query.after is not None:
        params.update(_after_params(query.after.key))
    return tuple(sorted(params)), params


def _order_column(table: sa.Table, order: str) -> sa.Column[Any]:
    """The column of ``order``; every one of them has an index on (column, id)."""
    return table.c.priority_level if order == "priority" else table.c[order]


@functools.cache
def _list_statement(kind: str, shape: tuple[str, ...], limited: bool, order: str = "id",
                    descending: bool = False) -> sa.Select[Any]:
    """The snapshot rows of the records matching the filters named in ``shape`` (one
    statement per shape and order, built once). With a limit, they are the first ones in
    ``order`` (an index on (column, id) serves it); without, the records are sorted once
    read."""
    table = _STATE[kind]
    c = table.c
    column = _order_column(table, order)
    conditions: list[sa.ColumnElement[bool]] = []
    for name in shape:
        if name == "after_id":  # keyset: after the last row, in the order's direction
            after_id = sa.bindparam("after_id", type_=c.id.type)
            if order == "id":
                conditions.append(c.id < after_id if descending else c.id > after_id)
            else:
                mark = sa.tuple_(sa.bindparam("after_value", type_=column.type), after_id)
                here = sa.tuple_(column, c.id)
                conditions.append(here < mark if descending else here > mark)
        elif name == "status":
            conditions.append(c.status.in_(sa.bindparam("status", expanding=True)))
        elif name == "priority":
            conditions.append(c.priority_level.in_(sa.bindparam("priority", expanding=True)))
        elif name == "category":  # the path or below: ["A/B/", "A/B0") holds "A/B/..."
            conditions.append(sa.and_(c.category_key >= sa.bindparam("category_low"),
                                      c.category_key < sa.bindparam("category_high")))
        elif name == "text":
            pattern = sa.bindparam("text", type_=sa.Text())
            conditions.append(sa.or_(c.title_search.like(pattern, escape=_ESCAPE),
                                     c.description_search.like(pattern, escape=_ESCAPE)))
        elif name in ("assignment_group", "assignee", "service", "is_open", "known_error"):
            conditions.append(c[name] == sa.bindparam(name))
    snapshots = [c[name] for name in _SNAPSHOT_COLUMNS]
    # Text search: SQLite scans the narrow covering index of the search columns for the ids,
    # then reads their rows (a scan of the table's wide rows would cost more).
    matching = sa.select(*([c.id] if "text" in shape else snapshots)).where(*conditions)
    if limited:  # the first ones in order; otherwise the records are sorted once read
        columns = [c.id] if order == "id" else [column, c.id]
        matching = matching.order_by(*(col.desc() if descending else col for col in columns))
        matching = matching.limit(sa.bindparam("limit"))
    if "text" in shape:
        return sa.select(*snapshots).where(c.id.in_(matching.scalar_subquery()))
    return matching


def _pattern(text: str) -> str:
    folded = _column_text(text.casefold())
    for special in (_ESCAPE, "%", "_"):
        folded = folded.replace(special, _ESCAPE + special)
    return f"%{folded}%"


# ----------------------------------------------------------------- values


def _column_text(text: str) -> str:
    """``text`` as a derived column holds it: NUL and lone surrogates become U+FFFD (one
    character each, so equality and substrings carry over)."""
    if text.isascii():  # no surrogate: only a NUL to replace
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)
    return text


def _category(path: CategoryPath | None) -> str | None:
    return None if path is None else _column_text(str(path))


def _category_key(path: CategoryPath | None) -> str | None:
    return None if path is None else _column_text(str(path)) + "/"


def _optional_text(text: str | None) -> str | None:
    return None if text is None else _column_text(text)


def _decode(payload: object, record_id: str) -> DomainEvent:
    try:
        if not isinstance(payload, Mapping):
            raise ValidationError(f"payload is not a JSON object: {payload!r}", field="payload")
        return event_from_dict(payload)
    except ValidationError as exc:
        raise StorageError(f"a stored event of {record_id} cannot be read: {exc}") from exc


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones in the session's zone."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _storage_error(action: str, exc: sa.exc.SQLAlchemyError) -> StorageError:
    detail = str(getattr(exc, "orig", None) or exc)
    if any(sign in detail for sign in ("locked", "busy", "lock timeout")):
        return StorageError(f"{action} failed: the database is locked by another writer "
                            f"(still after the busy timeout): {detail}")
    if "no such table" in detail or "does not exist" in detail:
        return StorageError(f"{action} failed: the schema is missing or incomplete; call "
                            f"create_schema(engine): {detail}")
    return StorageError(f"{action} failed: {detail}")


# ----------------------------------------------------------------- SQLite set-up


#: The busy timeout (ms) of each configured SQLite engine; configured once per engine.
_SQLITE_TIMEOUTS: Final[weakref.WeakKeyDictionary[Engine, list[int]]] = (
    weakref.WeakKeyDictionary())


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    """WAL, foreign keys and a busy timeout on every connection of ``engine`` (the
    transactions of this library's reads and writes are started by :func:`_start`)."""
    setting = _SQLITE_TIMEOUTS.get(engine)
    if setting is not None:  # another repository on this engine: just update the timeout
        setting[0] = int(busy_timeout * 1000)
        return
    setting = _SQLITE_TIMEOUTS[engine] = [int(busy_timeout * 1000)]

    def on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        milliseconds = setting[0]
        if record.info.get(_CONFIGURED) == milliseconds:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {milliseconds}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()
        record.info[_CONFIGURED] = milliseconds

    sa.event.listen(engine, "checkout", on_checkout)


def _start(connection: Connection, *, write: bool) -> None:
    """Start the transaction of ``connection`` as this library needs it, as its first
    statement. SQLite: ``BEGIN IMMEDIATE`` for a write (the write lock is taken first, so two
    writers never both hold a read lock that each needs to upgrade), ``BEGIN`` for a read of
    several statements (one consistent view); the driver then sees the transaction open and
    adds none of its own. PostgreSQL: the driver begins by itself.

    It is done here, not in an engine ``begin`` listener, so that the engine's other users
    keep the driver's own transaction handling and no statement pays for SQLAlchemy's event
    dispatch."""
    if connection.dialect.name == "sqlite":  # straight to the driver: no statement event
        driver = connection.connection.driver_connection
        assert driver is not None  # a checked-out connection has its driver connection
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        dbapi_error = connection.dialect.loaded_dbapi.Error
        try:
            driver.execute(statement)
        except dbapi_error as exc:  # as SQLAlchemy wraps it (busy: an OperationalError)
            raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi_error) from exc
