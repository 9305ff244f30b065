"""Statements compiled once per engine and run through the driver.

``Connection.execute(statement, rows)`` compiles each row's parameters in Python (about 15 µs
a row of a state table, more than the database takes to store it). A
:class:`DriverStatement` compiles its statement once for the engine's dialect, converts each
row with the column types' own bind processors (so the driver receives exactly what
``Connection.execute`` would pass it) in a function written out once for its parameters, and
runs it with ``Connection.exec_driver_sql``: same transaction, same events, one
``executemany`` for many rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Dialect

__all__ = ["DriverStatement", "DriverStatements"]


class DriverStatement:
    """One statement for one dialect; ``execute(connection, rows)`` runs it for each row (a
    mapping of parameter name to value, as ``Connection.execute`` takes it). A query's rows
    come back as the driver returns them (the repository reads only text and integers)."""

    __slots__ = ("convert", "sql")

    def __init__(self, statement: sa.Insert | sa.Update | sa.Select[Any], dialect: Dialect,
                 column_keys: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, for_executemany=True,
                                     column_keys=None if column_keys is None
                                     else list(column_keys))
        if compiled.escaped_bind_names:  # pragma: no cover  # the library's names are plain
            raise ValueError(f"escaped parameter names in {statement}")
        names = list(compiled.positiontup or ()) if compiled.positional else list(
            compiled.binds)
        namespace: dict[str, Any] = {}
        items = []
        for index, name in enumerate(names):
            if not name.isidentifier():  # pragma: no cover  # as above
                raise ValueError(f"unexpected parameter name {name!r}")
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            value = f"row[{name!r}]"
            if processor is not None:
                namespace[f"p{index}"] = processor
                value = f"p{index}({value})"
            items.append(value if compiled.positional else f"{name!r}: {value}")
        body = f"({', '.join(items)},)" if compiled.positional else f"{{{', '.join(items)}}}"
        exec(f"def convert(row):\n    return {body}", namespace)  # names checked above
        self.convert: Callable[[Mapping[str, Any]], Any] = namespace["convert"]
        self.sql = str(compiled)

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]
                ) -> CursorResult[Any]:
        """Run the statement once per row of ``rows`` (at least one), in ``connection``'s
        transaction."""
        convert = self.convert
        if len(rows) == 1:
            return connection.exec_driver_sql(self.sql, convert(rows[0]))
        return connection.exec_driver_sql(self.sql, [convert(row) for row in rows])


class DriverStatements:
    """The driver statements of one engine, compiled on first use."""

    __slots__ = ("_dialect", "_found")

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._found: dict[object, DriverStatement] = {}

    def get(self, key: object, statement: sa.Insert | sa.Update | sa.Select[Any],
            column_keys: Sequence[str] | None = None) -> DriverStatement:
        """``statement`` (with ``column_keys``), compiled the first time it is asked for
        under ``key``."""
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = DriverStatement(statement, self._dialect, column_keys)
        return found
