"""Ids numbered by the database: :class:`SqlIdFactory`, the :class:`~itil_incident.IdFactory`
port for desks stored in SQLite or PostgreSQL.

Every process (and, on PostgreSQL, every host) that numbers records through the same database
draws from one counter per kind of record and id prefix, a row of ``itil_id_counters``:

- ``kind`` (``"incident"`` or ``"problem"``) and ``prefix`` (``"INC"``, ``"PRB"``) are its key;
- ``last_number`` is the highest number handed out so far.

Taking a number is one short write transaction: ``UPDATE itil_id_counters SET last_number =
last_number + :block ... RETURNING last_number``. The update is atomic (SQLite serializes
writers with ``BEGIN IMMEDIATE``; PostgreSQL locks the row until the commit), so no two
transactions ever get the same number, whatever the number of processes or hosts. The counter
row is made on first use, after the highest id of that shape already stored (a database that
was numbered by another id factory, or filled by an import, goes on after its records); two
processes making it at once cannot both insert it (primary key), and the loser takes the next
number from the winner's row. Each number is also checked against the stored records in the
same transaction: an id taken meanwhile by another id factory (a process that still numbers
on its own) moves the counter past the highest stored id instead of handing the id out.

Numbers are never handed out twice; they may leave gaps: a number taken by a command that then
fails (refused, or a lost connection) is not used again, and a reserved ``block`` (see
:class:`SqlIdFactory`) that a process does not use up is lost when it ends.

Why a counter table rather than "the highest stored id plus one": that reading is not a
reservation. Two processes reading it at once pick the same id; one commit then fails with a
:class:`~itil_incident.ConcurrencyError` and the command has to be run again, with no bound on
how often under load. The counter row is the reservation.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from itil_incident.adapters.ids import format_id
from itil_incident.adapters.sql.repository import (
    _SQLITE_TIMEOUTS,
    SqlRepository,
    _configure_sqlite,
    _start,
)
from itil_incident.adapters.sql.schema import (
    SCHEMA_VERSION,
    StorageError,
    incidents,
    metadata,
    problems,
    schema_version,
    version_error,
)
from itil_incident.errors import DefinitionError
from itil_incident.ports import IncidentQuery

__all__ = ["SqlIdFactory", "id_counters"]

_Key = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")

#: The counters: the last number handed out per kind of record and id prefix.
id_counters: Final = sa.Table(
    "itil_id_counters",
    metadata,
    sa.Column("kind", sa.Text, primary_key=True),  # "incident" or "problem"
    sa.Column("prefix", _Key, primary_key=True),
    sa.Column("last_number", sa.BigInteger, nullable=False),
)

#: The largest block of numbers a process may reserve at once.
MAX_BLOCK: Final = 10_000
#: The characters of an id prefix.
_PREFIX_CHARACTERS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS: Final = frozenset("0123456789")
#: Rows read per round when the highest stored id of a shape is looked for.
_SCAN: Final = 100

_WHERE = (id_counters.c.kind == sa.bindparam("b_kind"),
          id_counters.c.prefix == sa.bindparam("b_prefix"))
_ADVANCE: Final = sa.update(id_counters).where(*_WHERE).values(
    last_number=id_counters.c.last_number + sa.bindparam("block", type_=sa.BigInteger))
_ADVANCE_RETURNING: Final = _ADVANCE.returning(id_counters.c.last_number)
_LAST: Final = sa.select(id_counters.c.last_number).where(*_WHERE)
_SET: Final = sa.update(id_counters).where(*_WHERE).values(
    last_number=sa.bindparam("number", type_=sa.BigInteger))
_CREATE: Final = sa.insert(id_counters)
_STATE = {"incident": incidents, "problem": problems}
_TAKEN: Final = {kind: sa.select(table.c.id).where(
    table.c.id.in_(sa.bindparam("ids", expanding=True))) for kind, table in _STATE.items()}
_SHAPED: Final = {kind: sa.select(table.c.id).where(
    table.c.id >= sa.bindparam("low"), table.c.id < sa.bindparam("below"),
    sa.func.length(table.c.id) == sa.bindparam("size")).order_by(table.c.id.desc())
    .limit(_SCAN) for kind, table in _STATE.items()}


class _CounterRaceError(Exception):
    """Another transaction made the counter row first: take the number again."""


def _prefix(value: object, culprit: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 20 or not set(value) <= (
            _PREFIX_CHARACTERS):
        raise DefinitionError(f"{culprit} must be 1 to 20 ASCII letters, digits, '_' or '-', "
                              f"got {value!r}", culprit=culprit)
    return value


class SqlIdFactory:
    """Hands out incident and problem ids (``INC0000001``, ``PRB0000001``) from counters in the
    database, so that every process and host sharing it numbers records in one sequence and
    never hands out an id twice (see :mod:`itil_incident.adapters.sql.ids`).

    A :class:`~itil_incident.ServiceDesk` on a :class:`SqlRepository` uses one by default
    (``SqlIdFactory.for_repository(repository)``); build one yourself for other prefixes, a
    width, or a ``block``. :func:`~itil_incident.adapters.sql.create_schema` creates its table
    with the others.

    - ``width``: the digits of a number (7: up to ``INC9999999``; beyond, ids grow longer).
    - ``incident_prefix`` / ``problem_prefix``: 1 to 20 ASCII letters, digits, ``_`` or
      ``-``; each prefix of each kind has a counter of its own.
    - ``block``: how many numbers one transaction reserves for this factory (1, the default:
      a transaction per id, ids in the order the records are created across processes). A
      larger block saves transactions when a process logs many records, at the cost of ids
      out of creation order across processes and of the unused rest of a block being lost
      (a gap) when the process ends. Numbers are never handed out twice either way.
    - ``busy_timeout`` (seconds): how long taking a number waits for another writer (SQLite's
      busy timeout, PostgreSQL's ``lock_timeout``); None keeps the SQLite settings of a
      repository on the same engine, and is 5 seconds otherwise.

    Thread-safe. Raises :class:`~itil_incident.adapters.sql.StorageError` when the database
    cannot hand out a number (locked past the timeout, unreachable, or without the schema;
    :class:`~itil_incident.adapters.sql.SchemaVersionError` for a database of an older schema
    version). A factory of :meth:`for_repository` lets the repository check the schema first
    (and upgrade it, when the repository was built with ``upgrade=True``).

    >>> from itil_incident.adapters.sql import SqlIdFactory
    >>> ids = SqlIdFactory.for_repository(repository)  # doctest: +SKIP
    >>> ids.next_incident_id()  # doctest: +SKIP
    'INC0000042'
    """

    def __init__(self, engine: Engine, *, width: int = 7, incident_prefix: str = "INC",
                 problem_prefix: str = "PRB", block: int = 1,
                 busy_timeout: float | None = None) -> None:
        if not isinstance(engine, Engine):
            raise DefinitionError(f"engine must be a SQLAlchemy Engine, got {engine!r}",
                                  culprit="engine")
        if type(width) is not int or not 1 <= width <= 20:
            raise DefinitionError(f"width must be an integer from 1 to 20, got {width!r}",
                                  culprit="width")
        if type(block) is not int or not 1 <= block <= MAX_BLOCK:
            raise DefinitionError(f"block must be an integer from 1 to {MAX_BLOCK}, got "
                                  f"{block!r}", culprit="block")
        if busy_timeout is not None and (isinstance(busy_timeout, bool) or not isinstance(
                busy_timeout, (int, float)) or busy_timeout < 0):
            raise DefinitionError(f"busy_timeout must be seconds >= 0 or None, got "
                                  f"{busy_timeout!r}", culprit="busy_timeout")
        self._engine = engine
        self._width = width
        self._block = block
        self._prefixes = {"incident": _prefix(incident_prefix, "incident_prefix"),
                          "problem": _prefix(problem_prefix, "problem_prefix")}
        self._reserved: dict[str, Iterator[int]] = {"incident": iter(()), "problem": iter(())}
        #: The repository of :meth:`for_repository`, until it has checked its schema.
        self._repository: SqlRepository | None = None
        self._lock = threading.Lock()
        self._returning = bool(engine.dialect.update_returning)
        self._lock_timeout: str | None = None
        timeout = 5.0 if busy_timeout is None else float(busy_timeout)
        if engine.dialect.name == "sqlite":
            if busy_timeout is not None or engine not in _SQLITE_TIMEOUTS:
                _configure_sqlite(engine, timeout)
        elif engine.dialect.name == "postgresql":
            self._lock_timeout = f"SET LOCAL lock_timeout = {max(1, int(timeout * 1000))}"

    @classmethod
    def for_repository(cls, repository: SqlRepository, *, block: int = 1) -> SqlIdFactory:
        """A factory numbering in the database of ``repository`` (the default prefixes and
        width)."""
        if not isinstance(repository, SqlRepository):
            raise DefinitionError("for_repository needs a SqlRepository", culprit="repository")
        factory = cls(repository.engine, block=block)
        factory._repository = repository
        return factory

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine."""
        return self._engine

    def next_incident_id(self) -> str:
        """A new incident id, after every one this database handed out or stores."""
        return self._next("incident")

    def next_problem_id(self) -> str:
        """A new problem id, after every one this database handed out or stores."""
        return self._next("problem")

    # ----------------------------------------------------------------- internals

    def _next(self, kind: str) -> str:
        with self._lock:
            number = next(self._reserved[kind], None)
            if number is None:
                numbers = self._reserve(kind)
                number = numbers[0]
                self._reserved[kind] = iter(numbers[1:])
        return format_id(self._prefixes[kind], number, self._width)

    def _reserve(self, kind: str) -> range:
        """The next ``block`` numbers of the counter, in one transaction."""
        if self._repository is not None:
            # The repository checks the schema in its first read (and, built with
            # upgrade=True, upgrades it first): before the counters are used.
            self._repository.list_incidents(IncidentQuery(limit=1))
            self._repository = None
        for _attempt in range(5):
            try:
                with self._writing() as connection:
                    return self._take(connection, kind)
            except _CounterRaceError:
                continue
        raise StorageError(f"cannot make the {self._prefixes[kind]} id counter: other "
                           "processes kept making it at the same time")  # pragma: no cover

    def _take(self, connection: Connection, kind: str) -> range:
        key = {"b_kind": kind, "b_prefix": self._prefixes[kind]}
        last = self._advance(connection, key)
        if last is None:  # the first number of this counter: after the records stored
            last = self._highest(connection, kind) + self._block
            try:
                connection.execute(_CREATE, {"kind": kind, "prefix": self._prefixes[kind],
                                             "last_number": last})
            except sa.exc.IntegrityError:  # made meanwhile (PostgreSQL): start again
                raise _CounterRaceError from None
        numbers = range(last - self._block + 1, last + 1)
        ids = [format_id(self._prefixes[kind], number, self._width) for number in numbers]
        if connection.execute(_TAKEN[kind], {"ids": ids}).first() is not None:
            # stored by another id factory: go on after the highest stored id
            last = max(last, self._highest(connection, kind)) + self._block
            connection.execute(_SET, {**key, "number": last})
            numbers = range(last - self._block + 1, last + 1)
        return numbers

    def _advance(self, connection: Connection, key: dict[str, str]) -> int | None:
        """The counter moved on by a block: its new last number (None: no counter yet)."""
        values = {**key, "block": self._block}
        if self._returning:
            found = connection.execute(_ADVANCE_RETURNING, values).scalar()
            return None if found is None else int(found)
        if connection.execute(_ADVANCE, values).rowcount != 1:  # pragma: no cover - old SQLite
            return None
        return int(connection.execute(_LAST, key).scalar_one())  # pragma: no cover

    def _highest(self, connection: Connection, kind: str) -> int:
        """The number of the highest stored id of this factory's shape (prefix and width
        digits), 0 when none."""
        prefix = self._prefixes[kind]
        # every id of the prefix and a digit sorts from prefix + "0..." to before prefix + ":"
        params = {"low": prefix + "0" * self._width, "below": prefix + ":",
                  "size": len(prefix) + self._width}
        while True:
            ids = connection.execute(_SHAPED[kind], params).scalars().all()
            for stored in ids:
                digits = stored[len(prefix):]
                if set(digits) <= _DIGITS:
                    return int(digits)
            if len(ids) < _SCAN:
                return 0
            params["below"] = ids[-1]  # a hundred odd ids in a row: read on

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection, connection.begin():
                _start(connection, write=True)
                if self._lock_timeout is not None:
                    connection.exec_driver_sql(self._lock_timeout)
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error(self._engine, exc) from exc


def _storage_error(engine: Engine, exc: sa.exc.SQLAlchemyError) -> StorageError:
    detail = str(getattr(exc, "orig", None) or exc)
    if "no such table" in detail or "does not exist" in detail:
        try:
            found = schema_version(engine)
        except StorageError:
            found = None
        if found is not None and found != SCHEMA_VERSION:  # an older (or newer) database
            return version_error(found)
        return StorageError("cannot take an id: the schema is missing or incomplete; call "
                            f"create_schema(engine): {detail}")
    if any(sign in detail for sign in ("locked", "busy", "lock timeout")):
        return StorageError("cannot take an id: the database is locked by another writer "
                            f"(still after the busy timeout): {detail}")
    return StorageError(f"cannot take an id: {detail}")
