"""Schema versions and the upgrade path: :func:`upgrade_schema` takes a database from any
released schema version to this library's (:data:`~itil_incident.adapters.sql.SCHEMA_VERSION`).

The version is the one row of the ``itil_schema`` table. The versions:

1. The first released schema: state rows, events, links, outbox, version row.
2. A ``snapshot`` column on ``itil_incidents`` and ``itil_problems`` (each record's current
   state, read without folding its events; NULL means "fold the events"), and the composite
   indexes ``ix_itil_incidents_group_status`` (assignment_group, status, id) and
   ``ix_itil_incidents_open_priority`` (is_open, priority_level, id); the tables of the
   alert store and ``itil_id_counters`` (:class:`~itil_incident.adapters.sql.SqlIdFactory`,
   which starts each counter after the highest id stored). The step fills the
   snapshot of every record whose workflow it is given (the defaults unless ``workflows``
   says otherwise); the others keep NULL and are folded when read, until their next save.

Each step runs in one transaction (SQLite ``BEGIN IMMEDIATE``; on PostgreSQL it first locks
``itil_schema``), re-reads the version inside it, and moves the version row last: a step that
fails or is interrupted leaves the database at the version before it, and running the upgrade
again (from several processes at once, even) is harmless. A database of a newer version than
the library's, or whose tables are not those of the version it records, is refused with
:class:`~itil_incident.adapters.sql.SchemaVersionError` and left untouched.

The embedded case, at start-up::

    engine = sqlalchemy.create_engine("sqlite:///desk.db")
    upgrade_schema(engine)      # a no-op when the schema is current
    create_schema(engine)       # creates it in an empty database
    repository = SqlRepository(engine)

A host that carries the schema in its own migrations (Alembic, ...) applies the same
changes there; the DDL of each version is in ``docs/how-to/upgrading.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from itil_incident.adapters.sql import schema
from itil_incident.adapters.sql._snapshot import encode_snapshot
from itil_incident.adapters.sql.repository import (
    _SQLITE_TIMEOUTS,
    _configure_sqlite,
    _decode,
    _start,
)
from itil_incident.adapters.sql.schema import SchemaVersionError, StorageError
from itil_incident.domain.events import IncidentLogged
from itil_incident.domain.incident import Incident
from itil_incident.domain.lifecycles import default_incident_workflow, default_problem_workflow
from itil_incident.domain.problem import Problem
from itil_incident.domain.problem_events import ProblemOpened
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import DefinitionError, ItilIncidentError

__all__ = ["fill_snapshots", "upgrade_schema"]

#: Records whose snapshot a step fills per statement.
_BATCH: Final = 500


@attrs.frozen
class _Step:
    """The change from version ``version - 1`` to ``version``."""

    version: int
    #: Tables new in this version, created from :data:`~itil_incident.adapters.sql.metadata`
    #: (with their indexes).
    new_tables: tuple[str, ...]
    #: Indexes new in this version on tables that existed before, by name.
    new_indexes: tuple[str, ...]
    #: Further changes, in the step's transaction.
    apply: Callable[[Connection, dict[str, Workflow]], None]


def _to_v2(connection: Connection, workflows: dict[str, Workflow]) -> None:
    preparer = connection.dialect.identifier_preparer
    for table in (schema.incidents, schema.problems):
        for name in schema.V2_STATE_COLUMNS:
            column = table.c[name]
            kind = column.type.compile(dialect=connection.dialect)
            connection.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} "
                                       f"ADD COLUMN {preparer.quote(name)} {kind}")
    _fill_snapshots(connection, "incident", Incident, workflows)
    _fill_snapshots(connection, "problem", Problem, workflows)


_STEPS: Final = (
    _Step(
        version=2,
        new_tables=("itil_alert_groups", "itil_alert_refusals",  # monitoring alerts
                    "itil_id_counters"),  # database-backed ids (SqlIdFactory)
        new_indexes=("ix_itil_incidents_group_status", "ix_itil_incidents_open_priority"),
        apply=_to_v2,
    ),
)


def upgrade_schema(engine: Engine, *, workflows: Iterable[Workflow] = (
        default_incident_workflow(), default_problem_workflow())) -> tuple[int, ...]:
    """Upgrade the schema of the database of ``engine`` to this library's version, one step
    per version, each in a transaction of its own; the versions reached (empty when the
    schema was current).

    ``workflows`` are those of the stored records (as given to
    :class:`~itil_incident.adapters.sql.SqlRepository`), needed to fill their snapshots.
    Raises :class:`~itil_incident.adapters.sql.SchemaVersionError` for a database without the
    schema (use :func:`~itil_incident.adapters.sql.create_schema`), of a newer version, or of
    an unknown layout, and :class:`~itil_incident.adapters.sql.StorageError` when a step
    fails (the database stays at the version before it).
    """
    if not isinstance(engine, Engine):
        raise DefinitionError(f"engine must be a SQLAlchemy Engine, got {engine!r}",
                              culprit="engine")
    known = _known(workflows)
    _configure(engine)
    reached: list[int] = []
    for step in _STEPS:
        try:
            with engine.connect() as connection, connection.begin():
                _start(connection, write=True)
                found = _locked_version(connection)
                if found >= step.version:
                    continue
                if found != step.version - 1:  # pragma: no cover - versions are 1, 2, ...
                    raise SchemaVersionError(f"no upgrade step from version {found}",
                                             found=found)
                _apply(connection, step, known)
        except sa.exc.SQLAlchemyError as exc:
            raise StorageError(f"the upgrade to schema version {step.version} failed, the "
                               f"database is unchanged: {exc}") from exc
        reached.append(step.version)
    return tuple(reached)


def fill_snapshots(engine: Engine, *, workflows: Iterable[Workflow] = (
        default_incident_workflow(), default_problem_workflow())) -> int:
    """Write the snapshot of every stored record that has none (a host that applied the
    version-2 DDL in its own migrations runs this once after them; ``upgrade_schema`` does it
    in its step); the number of records written. Records of a workflow not in ``workflows``
    keep none (they are read by folding their events until their next save).

    Raises :class:`~itil_incident.adapters.sql.SchemaVersionError` unless the database is at
    this library's schema version, :class:`~itil_incident.adapters.sql.StorageError` when a
    history cannot be folded (nothing is written then).
    """
    if not isinstance(engine, Engine):
        raise DefinitionError(f"engine must be a SQLAlchemy Engine, got {engine!r}",
                              culprit="engine")
    known = _known(workflows)
    _configure(engine)
    try:
        with engine.connect() as connection, connection.begin():
            _start(connection, write=True)
            found = schema.check_layout(connection)
            if found != schema.SCHEMA_VERSION:
                raise schema.version_error(found)
            return (_fill_snapshots(connection, "incident", Incident, known)
                    + _fill_snapshots(connection, "problem", Problem, known))
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"filling the snapshots failed, nothing was written: {exc}"
                           ) from exc


def _configure(engine: Engine) -> None:
    """SQLite: WAL, foreign keys and a busy timeout on the engine's connections (a
    repository's settings, when the engine has them already, stay as they are); each step
    starts with ``BEGIN IMMEDIATE``."""
    if engine.dialect.name == "sqlite" and engine not in _SQLITE_TIMEOUTS:
        _configure_sqlite(engine, 30.0)


def _known(workflows: Iterable[Workflow]) -> dict[str, Workflow]:
    known: dict[str, Workflow] = {}
    for workflow in workflows:
        if not isinstance(workflow, Workflow):
            raise DefinitionError(f"not a Workflow: {workflow!r}", culprit="workflows")
        known.setdefault(workflow.name, workflow)
    return known


def _locked_version(connection: Connection) -> int:
    """The version, read in the step's transaction after taking the schema lock."""
    if connection.dialect.name == "postgresql":
        table = connection.dialect.identifier_preparer.format_table(schema.schema_info)
        if sa.inspect(connection).has_table(schema.schema_info.name):
            connection.exec_driver_sql(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    found = schema.check_layout(connection)
    if found is None:
        raise schema.version_error(None)
    if found > schema.SCHEMA_VERSION:
        raise schema.version_error(found)
    return found


def _apply(connection: Connection, step: _Step, workflows: dict[str, Workflow]) -> None:
    for name in step.new_tables:
        table = schema.metadata.tables.get(name)
        if table is None:  # pragma: no cover - a programming error in _STEPS
            raise StorageError(f"the upgrade names table {name}, which the schema lacks")
        table.create(connection, checkfirst=True)
    indexes = {str(index.name): index for table in schema.metadata.tables.values()
               for index in table.indexes}
    for name in step.new_indexes:
        indexes[name].create(connection, checkfirst=True)
    step.apply(connection, workflows)
    connection.execute(sa.update(schema.schema_info).values(version=step.version))


def _fill_snapshots(connection: Connection, kind: str, cls: type[Incident | Problem],
                    workflows: dict[str, Workflow]) -> int:
    """Write the snapshot of every record (of a known workflow) that has none; how many."""
    state = schema.incidents if kind == "incident" else schema.problems
    events = schema.events[kind]
    names = list(workflows)
    pending = (sa.select(state.c.id).where(state.c.snapshot.is_(None),
                                           state.c.workflow_name.in_(names),
                                           state.c.id > sa.bindparam("after"))
               .order_by(state.c.id).limit(_BATCH))
    history = (sa.select(events.c.record_id, events.c.payload)
               .where(events.c.record_id.in_(sa.bindparam("ids", expanding=True)))
               .order_by(events.c.record_id, events.c.version))
    update = (sa.update(state).where(state.c.id == sa.bindparam("b_id"))
              .values(snapshot=sa.bindparam("b_snapshot")))
    after = ""
    written = 0
    while True:
        ids: Sequence[str] = connection.execute(pending, {"after": after}).scalars().all()
        if not ids:
            return written
        after = ids[-1]
        grouped: dict[str, list[object]] = {}
        for record_id, payload in connection.execute(history, {"ids": list(ids)}):
            grouped.setdefault(record_id, []).append(payload)
        rows = [{"b_id": record_id, "b_snapshot": encode_snapshot(
                    _fold(cls, record_id, payloads, workflows))}
                for record_id, payloads in grouped.items()]
        if rows:
            connection.execute(update, rows)
            written += len(rows)


def _fold(cls: type[Incident | Problem], record_id: str, payloads: list[object],
          workflows: dict[str, Workflow]) -> Incident | Problem:
    history = [_decode(payload, record_id) for payload in payloads]
    first = history[0]
    if not isinstance(first, (IncidentLogged, ProblemOpened)):
        raise StorageError(f"the stored history of {record_id} starts with {first.name}")
    try:
        return cls.from_history(history, workflows[first.workflow])  # type: ignore[arg-type]  # the history of a kind holds that kind's events; from_history checks each one
    except (ItilIncidentError, KeyError) as exc:
        raise StorageError(f"the stored history of {record_id} cannot be replayed: {exc!r}"
                           ) from exc
