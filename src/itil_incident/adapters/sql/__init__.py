"""SQL storage for incidents and problems: SQLite (embedded, one file) and PostgreSQL, through
SQLAlchemy 2 Core.

- :class:`SqlRepository` implements the :class:`~itil_incident.Repository` port: events are the
  truth (one row each), state rows carry the query columns, and every committed event also gets
  an outbox row, all in one transaction.
- :data:`metadata` is the schema, public so that a host can put it in its own database and
  migrations; :func:`create_schema` creates it (the embedded case), :func:`schema_version`
  reads the version row and :func:`upgrade_schema` upgrades a database of an earlier
  version (see :mod:`itil_incident.adapters.sql.upgrade` and ``docs/how-to/upgrading.md``).
- :class:`SqlIdFactory` implements the :class:`~itil_incident.IdFactory` port from counters in
  the database: every process and host numbers records in one sequence, never handing out an
  id twice (a desk on a :class:`SqlRepository` uses it by default).
- :class:`OutboxRelay` delivers the outbox to a notifier, at least once, with retries, backoff,
  parking and re-drive; several relays may run at once.
- :func:`event_to_dict` / :func:`event_from_dict` are the JSON codec of the events.

Notifications with SQL storage go through the outbox: build the desk with a
:class:`~itil_incident.NullNotifier` (commands then only commit, their outbox messages included)
and run an :class:`OutboxRelay` with the real notifier, in the same process or another::

    desk = ServiceDesk(repository, notifier=NullNotifier())
    relay = OutboxRelay(repository, SmtpNotifier(...))
    relay.run(until=stopping.is_set)   # a worker; or relay.drain() from a cron job

This package needs the ``sql`` extra (and ``postgres`` for PostgreSQL)::

    pip install 'itil-incident[sql]'
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401  # imported only to check that the extra is installed
except ImportError as missing:  # pragma: no cover - exercised in an environment without it
    raise ImportError(
        "itil_incident.adapters.sql needs SQLAlchemy 2; "
        "install it with: pip install 'itil-incident[sql]' "
        "(or 'itil-incident[postgres]' for PostgreSQL)"
    ) from missing

# monitoring alerts: the alert-group tables join `metadata` when this module is imported
from itil_incident.adapters.sql.alerts import SqlAlertStore
from itil_incident.adapters.sql.codec import event_from_dict, event_to_dict

# database-backed ids: the id-counter table joins `metadata` when this module is imported
from itil_incident.adapters.sql.ids import SqlIdFactory
from itil_incident.adapters.sql.relay import (
    Backoff,
    OutboxCounts,
    OutboxRelay,
    ParkedMessage,
    RelayReport,
)
from itil_incident.adapters.sql.repository import OutboxMessage, SqlRepository, StorageError
from itil_incident.adapters.sql.schema import (
    SCHEMA_VERSION,
    SchemaVersionError,
    create_schema,
    metadata,
    schema_version,
)
from itil_incident.adapters.sql.upgrade import fill_snapshots, upgrade_schema

__all__ = [
    "SCHEMA_VERSION",
    "Backoff",
    "OutboxCounts",
    "OutboxMessage",
    "OutboxRelay",
    "ParkedMessage",
    "RelayReport",
    "SchemaVersionError",
    "SqlRepository",
    "StorageError",
    "create_schema",
    "event_from_dict",
    "event_to_dict",
    "fill_snapshots",
    "metadata",
    "schema_version",
    "upgrade_schema",
    # monitoring alerts
    "SqlAlertStore",
    # database-backed ids
    "SqlIdFactory",
]
