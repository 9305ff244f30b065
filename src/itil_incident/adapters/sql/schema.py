"""The SQL schema, public as SQLAlchemy :data:`metadata` so that a host can create it in its own
database and carry it in its own migrations.

Tables (all prefixed ``itil_`` to live beside a host's own tables):

- ``itil_incidents`` / ``itil_problems``: one state row per record, holding its ``version`` (the
  optimistic-concurrency check) and the columns the queries filter and sort on (an index on
  (column, id) behind each filter and each order of a list), and the ``snapshot`` of the
  record's current state that it is read from (version 2). They are derived data: the truth
  is the events, and folding them gives the same record (a NULL snapshot means "fold them").
- ``itil_incident_events`` / ``itil_problem_events``: the append-only history, one row per event
  (record id, version, event name, instant, actor id, JSON payload from
  :func:`~itil_incident.adapters.sql.event_to_dict`).
- ``itil_links``: the current links of each record (changes, related incidents, parent and
  children, incident <-> problem), for a host's own reverse look-ups.
- ``itil_outbox``: one message per committed event, written in the same transaction, for
  :class:`~itil_incident.adapters.sql.OutboxRelay` to deliver at least once (idempotency key
  ``"{record_id}:{version}"``). The relay's bookkeeping: ``claimed_by`` / ``claimed_until``
  (the lease of the relay delivering it), ``attempts``, ``next_attempt_at`` (NULL: due now),
  ``last_error``, ``delivered_at``, and ``parked_at`` (set once it failed for good: it waits
  for a re-drive and blocks nothing else).
- ``itil_id_counters``: the last number handed out per kind of record and id prefix, for
  :class:`~itil_incident.adapters.sql.SqlIdFactory` (defined in
  :mod:`itil_incident.adapters.sql.ids`, version 2).
- ``itil_schema``: one row holding the schema version (:data:`SCHEMA_VERSION`); see
  :mod:`itil_incident.adapters.sql.upgrade` for the versions and the upgrade path.

Version 2 adds the ``snapshot`` column of the state rows (the record's current state as JSON
text, read without folding its events; NULL means "fold the events"), two composite
indexes, ``(assignment_group, status, id)`` and ``(is_open, priority_level, id)``, and the
tables of the alert store and of the id counters.

Derived text columns hold the text with NUL (U+0000) and lone surrogates replaced by U+FFFD,
since PostgreSQL text cannot hold them; the events keep the exact text. The ``*_search``
columns hold the case-folded title and description that text search matches.

PostgreSQL needs the ``pg_trgm`` extension (shipped with PostgreSQL, "trusted" since 13) for
the trigram indexes that serve text search; :func:`create_schema` (``metadata.create_all``)
creates it when missing. In a host's migrations, run ``CREATE EXTENSION IF NOT EXISTS pg_trgm``
first. On PostgreSQL the id and ``category_key`` columns use the ``C`` collation, so that order
by id is code-point order (as everywhere else) and the range ``["A/B/", "A/B0")`` over
``category_key`` (the path and a ``/``) finds exactly a category and its sub-categories.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from itil_incident.errors import ItilIncidentError

__all__ = [
    "SCHEMA_VERSION",
    "SchemaVersionError",
    "StorageError",
    "create_schema",
    "events",
    "incident_events",
    "incidents",
    "links",
    "metadata",
    "outbox",
    "problem_events",
    "problems",
    "schema_info",
    "schema_version",
]

#: The version of the schema this library reads and writes.
SCHEMA_VERSION: Final = 2


class StorageError(ItilIncidentError):
    """The database could not serve the request: it is locked past the busy timeout,
    unreachable, missing the schema, or holds data this library cannot read.

    Nothing was stored when a write raises it. ``__cause__`` is the driver's error, if any.
    """


class SchemaVersionError(StorageError):
    """The database holds a schema this library cannot use as it is: an older version (run
    :func:`~itil_incident.adapters.sql.upgrade_schema`), a newer one (upgrade the library),
    or tables of an unknown layout.

    ``found`` is the version the database records (None when it records none), ``expected``
    the version of this library (:data:`SCHEMA_VERSION`).
    """

    def __init__(self, message: str, *, found: int | None, expected: int = SCHEMA_VERSION) -> None:
        super().__init__(message)
        self.found = found
        self.expected = expected


metadata: Final = sa.MetaData()

#: Keys that are compared and ordered: code-point order on every engine.
_Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_Instant = sa.DateTime(timezone=True)
_Json = sa.JSON(none_as_null=True)
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _trigram(name: str, column: sa.Column[str]) -> sa.Index:
    """A trigram (GIN) index on PostgreSQL: serves ``LIKE '%text%'``."""
    return sa.Index(name, column, postgresql_using="gin",
                    postgresql_ops={column.name: "gin_trgm_ops"}).ddl_if(dialect="postgresql")


incidents: Final = sa.Table(
    "itil_incidents",
    metadata,
    sa.Column("id", _Key, primary_key=True),
    sa.Column("workflow_name", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("is_open", sa.Boolean, nullable=False),
    sa.Column("priority_level", sa.Integer, nullable=False),
    sa.Column("impact_level", sa.Integer, nullable=False),
    sa.Column("urgency_level", sa.Integer, nullable=False),
    sa.Column("assignment_group", sa.Text),
    sa.Column("assignee", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("category_key", _Key),  # the path and a "/", for range scans: "Network/VPN/"
    sa.Column("service", sa.Text),
    sa.Column("caller", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("title_search", sa.Text, nullable=False),
    sa.Column("description_search", sa.Text, nullable=False),
    sa.Column("problem_id", sa.Text),
    sa.Column("parent_id", sa.Text),
    sa.Column("custom", _Json, nullable=False),
    sa.Column("logged_at", _Instant, nullable=False),
    sa.Column("updated_at", _Instant, nullable=False),
    sa.Column("resolved_at", _Instant),
    sa.Column("closed_at", _Instant),
    # version 2: the current state, read without folding the events (NULL: fold them)
    sa.Column("snapshot", sa.Text),
)
sa.Index("ix_itil_incidents_status", incidents.c.status, incidents.c.id)
sa.Index("ix_itil_incidents_priority", incidents.c.priority_level, incidents.c.id)
sa.Index("ix_itil_incidents_assignment_group", incidents.c.assignment_group, incidents.c.id)
sa.Index("ix_itil_incidents_assignee", incidents.c.assignee, incidents.c.id)
sa.Index("ix_itil_incidents_category", incidents.c.category_key, incidents.c.id)
sa.Index("ix_itil_incidents_service", incidents.c.service, incidents.c.id)
sa.Index("ix_itil_incidents_open", incidents.c.is_open, incidents.c.id)
# The orders of a list (IncidentOrder): each column, then the id, read forwards or backwards.
# Order by id is the primary key's; order by priority is ix_itil_incidents_priority's.
sa.Index("ix_itil_incidents_logged_at", incidents.c.logged_at, incidents.c.id)
sa.Index("ix_itil_incidents_updated_at", incidents.c.updated_at, incidents.c.id)
# SQLite cannot seek a '%text%' pattern; it scans this narrow covering index instead of the
# table. PostgreSQL seeks the trigram indexes.
sa.Index("ix_itil_incidents_text", incidents.c.title_search, incidents.c.description_search,
         incidents.c.id).ddl_if(dialect="sqlite")
# version 2: the common combined filters (a group's queue by status; open ones by priority),
# seeked on both columns and read in id order without a sort.
sa.Index("ix_itil_incidents_group_status", incidents.c.assignment_group, incidents.c.status,
         incidents.c.id)
sa.Index("ix_itil_incidents_open_priority", incidents.c.is_open, incidents.c.priority_level,
         incidents.c.id)
_trigram("ix_itil_incidents_title_trgm", incidents.c.title_search)
_trigram("ix_itil_incidents_description_trgm", incidents.c.description_search)

problems: Final = sa.Table(
    "itil_problems",
    metadata,
    sa.Column("id", _Key, primary_key=True),
    sa.Column("workflow_name", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("is_open", sa.Boolean, nullable=False),
    sa.Column("known_error", sa.Boolean, nullable=False),
    sa.Column("priority_level", sa.Integer, nullable=False),
    sa.Column("impact_level", sa.Integer, nullable=False),
    sa.Column("urgency_level", sa.Integer, nullable=False),
    sa.Column("assignment_group", sa.Text),
    sa.Column("assignee", sa.Text),
    sa.Column("category", sa.Text),
    sa.Column("category_key", _Key),
    sa.Column("service", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("title_search", sa.Text, nullable=False),
    sa.Column("description_search", sa.Text, nullable=False),
    sa.Column("opened_at", _Instant, nullable=False),
    sa.Column("updated_at", _Instant, nullable=False),
    sa.Column("resolved_at", _Instant),
    sa.Column("closed_at", _Instant),
    # version 2: as for incidents
    sa.Column("snapshot", sa.Text),
)
sa.Index("ix_itil_problems_status", problems.c.status, problems.c.id)
sa.Index("ix_itil_problems_service", problems.c.service, problems.c.id)
sa.Index("ix_itil_problems_known_error", problems.c.known_error, problems.c.id)
sa.Index("ix_itil_problems_open", problems.c.is_open, problems.c.id)
# The orders of a list (ProblemOrder), as for incidents.
sa.Index("ix_itil_problems_opened_at", problems.c.opened_at, problems.c.id)
sa.Index("ix_itil_problems_updated_at", problems.c.updated_at, problems.c.id)
sa.Index("ix_itil_problems_priority", problems.c.priority_level, problems.c.id)
sa.Index("ix_itil_problems_text", problems.c.title_search, problems.c.description_search,
         problems.c.id).ddl_if(dialect="sqlite")
_trigram("ix_itil_problems_title_trgm", problems.c.title_search)
_trigram("ix_itil_problems_description_trgm", problems.c.description_search)


def _events(name: str, parent: sa.Table) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("record_id", _Key, sa.ForeignKey(parent.c.id), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("at", _Instant, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("payload", _Json, nullable=False),
    )


incident_events: Final = _events("itil_incident_events", incidents)
problem_events: Final = _events("itil_problem_events", problems)

links: Final = sa.Table(
    "itil_links",
    metadata,
    sa.Column("record_kind", sa.Text, primary_key=True),  # "incident" or "problem"
    sa.Column("record_id", _Key, primary_key=True),
    # a LinkKind value, or "problem", "parent", "child" (incidents), "incident" (problems)
    sa.Column("relation", sa.Text, primary_key=True),
    sa.Column("target_id", _Key, primary_key=True),
)
sa.Index("ix_itil_links_target", links.c.target_id, links.c.relation)

outbox: Final = sa.Table(
    "itil_outbox",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("record_id", _Key, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_name", sa.Text, nullable=False),
    sa.Column("payload", _Json, nullable=False),
    sa.Column("created_at", _Instant, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("delivered_at", _Instant),
    sa.Column("idempotency_key", sa.Text, nullable=False),
    # The relay's bookkeeping (itil_incident.adapters.sql.relay); NULL in a new message.
    sa.Column("next_attempt_at", _Instant),  # NULL: due now; else not before this instant
    sa.Column("claimed_by", sa.Text),  # the relay holding the lease
    sa.Column("claimed_until", _Instant),  # its lease ends: then another relay may claim it
    sa.Column("last_error", sa.Text),  # why the last attempt failed
    sa.Column("parked_at", _Instant),  # failed for good: waits for a re-drive
)
sa.Index("ix_itil_outbox_pending", outbox.c.id,
         sqlite_where=outbox.c.delivered_at.is_(None),
         postgresql_where=outbox.c.delivered_at.is_(None))
sa.Index("ix_itil_outbox_parked", outbox.c.id,
         sqlite_where=outbox.c.parked_at.isnot(None),
         postgresql_where=outbox.c.parked_at.isnot(None))

schema_info: Final = sa.Table(
    "itil_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
)

#: The event table of each kind of record.
events: Final = {"incident": incident_events, "problem": problem_events}

sa.event.listen(
    metadata, "before_create",
    sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(  # type: ignore[no-untyped-call]  # SQLAlchemy's DDL() is not annotated
        dialect="postgresql"),
)
sa.event.listen(
    schema_info, "after_create",
    sa.DDL(f"INSERT INTO %(fullname)s (version) VALUES ({SCHEMA_VERSION})"),  # type: ignore[no-untyped-call]  # SQLAlchemy's DDL() is not annotated
)


#: The tables of the first released schema (version 1).
V1_TABLES: Final = ("itil_incidents", "itil_problems", "itil_incident_events",
                    "itil_problem_events", "itil_links", "itil_outbox", "itil_schema")
#: The columns added to the state rows by version 2.
V2_STATE_COLUMNS: Final = ("snapshot",)


def create_schema(engine: Engine) -> None:
    """Create every table and index that does not exist yet, and the version row.

    Safe to call on every start. Raises :class:`SchemaVersionError`, creating nothing, when
    the database holds another schema version than this library's (an older one: run
    :func:`~itil_incident.adapters.sql.upgrade_schema`) or tables of an unknown layout.
    """
    try:
        with engine.connect() as connection:
            found = check_layout(connection)
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"cannot read the schema version: {exc}") from exc
    if found is not None and found != SCHEMA_VERSION:
        raise version_error(found)
    try:
        metadata.create_all(engine)
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"cannot create the schema: {exc}") from exc
    found = schema_version(engine)
    if found != SCHEMA_VERSION:
        raise version_error(found)


def schema_version(engine: Engine) -> int | None:
    """The schema version recorded in the database, or None when there is no schema."""
    try:
        with engine.connect() as connection:
            return recorded_version(connection)
    except sa.exc.SQLAlchemyError as exc:
        raise StorageError(f"cannot read the schema version: {exc}") from exc


def recorded_version(connection: sa.Connection) -> int | None:
    """The version in ``itil_schema`` (None when the table is missing); SchemaVersionError
    when the table holds no row or several."""
    if not sa.inspect(connection).has_table(schema_info.name, schema_info.schema):
        return None
    found = [int(version) for (version,) in connection.execute(sa.select(schema_info.c.version))]
    if len(found) != 1:
        raise SchemaVersionError(f"{schema_info.name} must hold one version row, it holds "
                                 f"{sorted(found)}: an unknown layout", found=None)
    return found[0]


def check_layout(connection: sa.Connection) -> int | None:
    """The schema version of the database after checking that its tables are that version's:
    None for a database without any of this library's tables; SchemaVersionError for tables
    of an unknown layout (some missing, the state rows' columns not those of the version)."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names(schema=schema_info.schema))
    version = recorded_version(connection)
    if version is None:
        ours = sorted(present & set(metadata.tables) | present & set(V1_TABLES))
        if ours:
            raise SchemaVersionError(f"the database holds {', '.join(ours)} but no schema "
                                     f"version ({schema_info.name}): an unknown layout",
                                     found=None)
        return None
    if version > SCHEMA_VERSION:
        return version
    if version < 1:
        raise SchemaVersionError(f"the database records schema version {version}: an "
                                 "unknown layout", found=version)
    required = set(V1_TABLES) if version == 1 else set(metadata.tables)
    missing = sorted(required - present)
    if missing:
        raise SchemaVersionError(f"the database records schema version {version} but lacks "
                                 f"{', '.join(missing)}: an unknown layout", found=version)
    for table in (incidents, problems):
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        expected = set(table.c.keys())
        if version == 1:
            expected -= set(V2_STATE_COLUMNS)
        if columns != expected:
            odd = sorted(columns ^ expected)
            raise SchemaVersionError(f"{table.name} is not as schema version {version} has it "
                                     f"(columns {', '.join(odd)}): an unknown layout",
                                     found=version)
    return version


def version_error(found: int | None) -> SchemaVersionError:
    """The error for a database of schema version ``found`` (not this library's)."""
    if found is None:
        return SchemaVersionError("the database has no schema: call create_schema(engine)",
                                  found=None)
    if found > SCHEMA_VERSION:
        return SchemaVersionError(f"the database holds schema version {found}, newer than "
                                  f"this library's version {SCHEMA_VERSION}: upgrade "
                                  "itil-incident to use it", found=found)
    return SchemaVersionError(f"the database holds schema version {found}; this library uses "
                              f"version {SCHEMA_VERSION}: run "
                              "itil_incident.adapters.sql.upgrade_schema(engine) once to "
                              "upgrade it (back it up first)", found=found)
