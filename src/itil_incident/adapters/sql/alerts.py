"""SQL storage for alert groups: the :class:`~itil_incident.AlertStore` port on SQLite and
PostgreSQL, in the same database (and the same :data:`~itil_incident.adapters.sql.metadata`)
as the incidents.

Tables:

- ``itil_alert_groups``: one row per deduplication key, with its ``version`` (the
  optimistic-concurrency check), the incident holding it, the counts and instants of its
  current alerts, its firing / flapping state (``onsets``: a JSON array of ISO instants) and
  its outcome counters.
- ``itil_alert_refusals``: the number of refused alerts per reason.

Each call is one short transaction: a repeated alert costs one ``SELECT`` of the group and one
``UPDATE ... WHERE version = ...``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from itil_incident.adapters.sql.repository import (
    SqlRepository,
    _aware,
    _configure_sqlite,
    _start,
    _storage_error,
)
from itil_incident.adapters.sql.schema import metadata
from itil_incident.alerts._store import GROUP_OUTCOMES, AlertGroup
from itil_incident.alerts._values import AlertOutcomeKind, AlertRefusal
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.errors import ConcurrencyError, DefinitionError, ValidationError

__all__ = ["SqlAlertStore", "alert_groups", "alert_refusals"]

_Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_Instant = sa.DateTime(timezone=True)

alert_groups: Final = sa.Table(
    "itil_alert_groups",
    metadata,
    sa.Column("dedup_key", _Key, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("incident_id", sa.Text),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("first_seen", _Instant),
    sa.Column("last_seen", _Instant),
    sa.Column("highest", sa.Text),
    sa.Column("firing", sa.Boolean, nullable=False),
    sa.Column("flapping", sa.Boolean, nullable=False),
    sa.Column("onsets", sa.JSON, nullable=False),
    sa.Column("held_since", _Instant),
    *(sa.Column(kind.value, sa.Integer, nullable=False) for kind in GROUP_OUTCOMES),
)
sa.Index("ix_itil_alert_groups_flapping", alert_groups.c.flapping, alert_groups.c.dedup_key)

alert_refusals: Final = sa.Table(
    "itil_alert_refusals",
    metadata,
    sa.Column("reason", sa.Text, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

_COLUMNS: Final = tuple(column.name for column in alert_groups.columns)
_SELECT: Final = sa.select(alert_groups).where(
    alert_groups.c.dedup_key == sa.bindparam("key"))
_INSERT: Final = sa.insert(alert_groups)
_UPDATE: Final = sa.update(alert_groups).where(
    alert_groups.c.dedup_key == sa.bindparam("b_key"),
    alert_groups.c.version == sa.bindparam("b_expected"),
).values({name: sa.bindparam(name) for name in _COLUMNS if name != "dedup_key"})
_VERSION: Final = sa.select(alert_groups.c.version).where(
    alert_groups.c.dedup_key == sa.bindparam("key"))
_DELETE: Final = sa.delete(alert_groups).where(
    alert_groups.c.dedup_key == sa.bindparam("key"),
    alert_groups.c.version == sa.bindparam("version"))
_AT = sa.bindparam("at", type_=_Instant)
_FOLD: Final = sa.update(alert_groups).where(
    alert_groups.c.dedup_key == sa.bindparam("key"),
    alert_groups.c.version == sa.bindparam("expected"),
).values(
    count=alert_groups.c.count + 1,
    folded=alert_groups.c.folded + 1,
    version=alert_groups.c.version + 1,
    last_seen=sa.case((sa.or_(alert_groups.c.last_seen.is_(None),
                              alert_groups.c.last_seen < _AT), _AT),
                      else_=alert_groups.c.last_seen),
    first_seen=sa.case((sa.or_(alert_groups.c.first_seen.is_(None),
                               alert_groups.c.first_seen > _AT), _AT),
                       else_=alert_groups.c.first_seen),
)
_LIST: Final = sa.select(alert_groups).order_by(alert_groups.c.dedup_key)
_SUMS: Final = sa.select(*(sa.func.coalesce(sa.func.sum(alert_groups.c[kind.value]), 0)
                           for kind in GROUP_OUTCOMES))
_REFUSALS: Final = sa.select(alert_refusals.c.reason, alert_refusals.c.count)


def _count_refusal(dialect: Any) -> Any:
    insert = dialect.insert(alert_refusals).values(reason=sa.bindparam("reason"), count=1)
    return insert.on_conflict_do_update(index_elements=[alert_refusals.c.reason],
                                        set_={"count": alert_refusals.c.count + 1})


_COUNT_REFUSAL: Final = {"sqlite": _count_refusal(sqlite),
                         "postgresql": _count_refusal(postgresql)}


class SqlAlertStore:
    """Alert groups in SQLite or PostgreSQL (the :class:`~itil_incident.AlertStore` port).

    Build it on the engine of your :class:`SqlRepository` (``SqlAlertStore(repository.engine)``
    or :meth:`for_repository`); :func:`~itil_incident.adapters.sql.create_schema` creates its
    tables with the others. Errors are as for the repository: a moved version raises
    :class:`~itil_incident.ConcurrencyError`, a database problem
    :class:`~itil_incident.adapters.sql.StorageError`; nothing is stored when either is raised.
    """

    def __init__(self, engine: Engine, *, busy_timeout: float = 5.0) -> None:
        if not isinstance(engine, Engine):
            raise DefinitionError(f"engine must be a SQLAlchemy Engine, got {engine!r}",
                                  culprit="engine")
        dialect = engine.dialect.name
        if dialect not in _COUNT_REFUSAL:
            raise DefinitionError(f"SqlAlertStore supports SQLite and PostgreSQL, not {dialect}",
                                  culprit="engine")
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)) or (
                busy_timeout < 0):
            raise DefinitionError(f"busy_timeout must be seconds >= 0, got {busy_timeout!r}",
                                  culprit="busy_timeout")
        self._engine = engine
        self._count = _COUNT_REFUSAL[dialect]
        self._lock_timeout: str | None = None
        if dialect == "sqlite":
            _configure_sqlite(engine, busy_timeout)
        else:
            self._lock_timeout = f"SET LOCAL lock_timeout = {max(1, int(busy_timeout * 1000))}"

    @classmethod
    def for_repository(cls, repository: SqlRepository) -> SqlAlertStore:
        """A store in the database of ``repository``."""
        if not isinstance(repository, SqlRepository):
            raise DefinitionError("for_repository needs a SqlRepository", culprit="repository")
        return cls(repository.engine)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine."""
        return self._engine

    # ----------------------------------------------------------------- the port

    def get_group(self, dedup_key: str) -> AlertGroup | None:
        """The group of ``dedup_key``, or None."""
        if type(dedup_key) is not str:
            return None
        with self._reading() as connection:
            row = connection.execute(_SELECT, {"key": dedup_key}).mappings().first()
        return None if row is None else _group(row)

    def save_group(self, group: AlertGroup) -> None:
        """Insert or update the group's row, checking its version (ConcurrencyError)."""
        if type(group) is not AlertGroup:
            raise ValidationError(f"cannot store {type(group).__name__}", field="group")
        values = _row(group)
        conflict = False
        with self._writing() as connection:
            if group.saved_version == 0:
                exists = connection.execute(_VERSION, {"key": group.dedup_key}).first()
                if exists is None:
                    connection.execute(_INSERT, values)
                else:
                    conflict = True
            else:
                del values["dedup_key"]
                values.update(b_key=group.dedup_key, b_expected=group.saved_version)
                conflict = connection.execute(_UPDATE, values).rowcount != 1
            if conflict:
                connection.rollback()
        if conflict:
            raise ConcurrencyError(f"alert group {group.dedup_key}", group.saved_version,
                                   self._stored_version(group.dedup_key))
        group.mark_saved()

    def peek_group(self, dedup_key: str) -> AlertGroup | None:
        """As :meth:`get_group` (a row read is a fresh object anyway)."""
        return self.get_group(dedup_key)

    def record_fold(self, dedup_key: str, version: int, at: datetime) -> bool:
        """One ``UPDATE ... WHERE version = ...``: True when the group was at ``version``."""
        with self._writing() as connection:
            done = connection.execute(_FOLD, {"key": dedup_key, "expected": version, "at": at})
            return bool(done.rowcount == 1)

    def discard_group(self, dedup_key: str, version: int) -> None:
        """Remove the group if it is stored at ``version``."""
        with self._writing() as connection:
            connection.execute(_DELETE, {"key": dedup_key, "version": version})

    def count_refusal(self, reason: AlertRefusal) -> None:
        """Add one to the refused alerts of ``reason``."""
        reason = AlertRefusal(reason)
        with self._writing() as connection:
            connection.execute(self._count, {"reason": reason.value})

    def refusal_counts(self) -> dict[AlertRefusal, int]:
        """Refused alerts by reason."""
        with self._reading() as connection:
            rows = connection.execute(_REFUSALS).all()
        return {AlertRefusal(reason): int(count) for reason, count in rows}

    def list_groups(self, *, flapping: bool | None = None) -> list[AlertGroup]:
        """Groups ordered by key; only flapping ones (True) or the others (False) if asked."""
        statement = _LIST if flapping is None else _LIST.where(
            alert_groups.c.flapping == bool(flapping))
        with self._reading() as connection:
            rows = connection.execute(statement).mappings().all()
        return [_group(row) for row in rows]

    def outcome_counts(self) -> dict[AlertOutcomeKind, int]:
        """Accepted alerts by outcome, summed over the groups."""
        with self._reading() as connection:
            sums = connection.execute(_SUMS).one()
        return {kind: int(total) for kind, total in zip(GROUP_OUTCOMES, sums, strict=True)}

    # ----------------------------------------------------------------- internals

    def _stored_version(self, dedup_key: str) -> int | None:
        with self._reading() as connection:
            found = connection.execute(_VERSION, {"key": dedup_key}).scalar()
        return None if found is None else int(found)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection:
                _start(connection, write=False)
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error("alert store read", exc) from exc

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection, connection.begin():
                _start(connection, write=True)
                if self._lock_timeout is not None:
                    connection.exec_driver_sql(self._lock_timeout)
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error("alert store write", exc) from exc


def _row(group: AlertGroup) -> dict[str, Any]:
    highest = group.highest
    return {
        "dedup_key": group.dedup_key,
        "version": group.version,
        "source": group.source,
        "incident_id": group.incident_id,
        "count": group.count,
        "first_seen": group.first_seen,
        "last_seen": group.last_seen,
        "highest": None if highest is None else highest.value,
        "firing": group.firing,
        "flapping": group.flapping,
        "onsets": [instant.isoformat() for instant in group.onsets],
        "held_since": group.held_since,
        **{kind.value: getattr(group, kind.value) for kind in GROUP_OUTCOMES},
    }


def _instant(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _group(row: sa.RowMapping) -> AlertGroup:
    highest = row["highest"]
    version = int(row["version"])
    return AlertGroup(
        dedup_key=row["dedup_key"], source=row["source"], incident_id=row["incident_id"],
        count=int(row["count"]), first_seen=_instant(row["first_seen"]),
        last_seen=_instant(row["last_seen"]),
        highest=None if highest is None else AlertSeverity(highest),
        firing=bool(row["firing"]), flapping=bool(row["flapping"]),
        onsets=tuple(_aware(datetime.fromisoformat(text)) for text in row["onsets"]),
        held_since=_instant(row["held_since"]),
        **{kind.value: int(row[kind.value]) for kind in GROUP_OUTCOMES},
        version=version, saved_version=version,
    )
