"""Wiring: the root command group, where the database is, who acts, and the desk on them."""

from __future__ import annotations

import getpass
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import click
import sqlalchemy as sa

from itil_incident.adapters.clocks import FrozenClock, SystemClock
from itil_incident.adapters.notifiers import NullNotifier
from itil_incident.adapters.sql import SqlIdFactory, SqlRepository, create_schema
from itil_incident.adapters.sql import schema_version as stored_schema_version
from itil_incident.adapters.sql.alerts import SqlAlertStore
from itil_incident.alerts import AlertStore
from itil_incident.cli._exit import EXIT_CODES_HELP, DatabaseFailure, Failure, failure_for
from itil_incident.config import DeskConfig, default_config, load_config
from itil_incident.desk import ServiceDesk
from itil_incident.domain.values import Actor
from itil_incident.errors import ItilIncidentError, ValidationError
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.ports import Clock, Repository

__all__ = [
    "DEFAULT_DB",
    "DeskGroup",
    "Session",
    "build_desk",
    "database_url",
    "pass_session",
]

#: The SQLite file used when neither ``--db`` nor ``ITIL_INCIDENT_DB`` names a database.
DEFAULT_DB: Final = "./itil-incident.sqlite3"


def database_url(db: str) -> str:
    """``db`` as an SQLAlchemy URL: a URL as given, a path as an SQLite file URL."""
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for other databases and in-memory SQLite)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def build_desk(repository: Repository, engine: sa.Engine, clock: Clock,
               policies: DeskPolicies | None = None, *,
               alert_store: AlertStore | None = None) -> ServiceDesk:
    """A desk with the command line's defaults: ``policies`` (default: the shipped
    configuration's, :func:`~itil_incident.config.default_config`, major-incident management
    included), ids from the database's counters
    (:class:`~itil_incident.adapters.sql.SqlIdFactory` on ``engine``: the commands of every
    process number records in one sequence), alert groups in ``alert_store`` (default: a
    :class:`~itil_incident.adapters.sql.alerts.SqlAlertStore` on ``engine``, so that alerts
    are deduplicated across commands), a :class:`~itil_incident.NullNotifier` (the outbox
    keeps every message for a relay)."""
    return ServiceDesk(repository, policies=policies or default_config().policies,
                       notifier=NullNotifier(), clock=clock, ids=SqlIdFactory(engine),
                       alert_store=SqlAlertStore(engine) if alert_store is None
                       else alert_store)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in this environment (some containers)
        return "operator"


class Session:
    """What a command runs with: the database, the acting user and the clock; the desk is
    opened on first use and closed when the command ends."""

    def __init__(self, db: str, user: str | None, now: datetime | None, *,
                 db_given: bool = True, config_file: str | None = None,
                 roles: tuple[str, ...] = ()) -> None:
        self.db = db
        self.db_given = db_given
        self.user = user or _login_name()
        self.roles = roles
        self.now = now
        self.config_file = config_file
        self._config: DeskConfig | None = None
        self._repository: SqlRepository | None = None
        self._desk: ServiceDesk | None = None

    @property
    def config(self) -> DeskConfig:
        """The configuration in force: the ``--config`` file, else the shipped one; read on
        first use (an invalid file ends the command with exit code 6)."""
        if self._config is None:
            self._config = (default_config() if self.config_file is None
                            else load_config(Path(self.config_file)))
        return self._config

    @property
    def url(self) -> str:
        return database_url(self.db)

    @property
    def shown(self) -> str:
        """The database as it may be shown: a URL without its password."""
        if "://" not in self.db:
            return self.db
        try:
            return sa.engine.make_url(self.db).render_as_string(hide_password=True)
        except sa.exc.ArgumentError:
            return self.db

    @property
    def actor(self) -> Actor:
        """The acting user (``--as``, ``ITIL_INCIDENT_USER`` or the login name), with the
        roles of ``--role`` / ``ITIL_INCIDENT_ROLES``."""
        return Actor(self.user, roles=frozenset(self.roles))

    def clock(self) -> Clock:
        return SystemClock() if self.now is None else FrozenClock(self.now)

    def repository(self, *, create: bool = False, durable: bool = True) -> SqlRepository:
        """The repository on the database; with ``create`` the schema is created when
        missing, otherwise a database without it is refused (exit code 5). ``durable``
        False lets SQLite skip the sync to disk at each commit (``synchronous=NORMAL``: a
        power cut may lose the last commits, never consistency), for the demo's data."""
        if self._repository is None:
            file = _sqlite_file(self.url)
            if not create and file is not None and not file.exists():
                raise self._not_initialised()
            try:
                repository = SqlRepository.from_url(self.url)
            except ImportError as missing:
                raise DatabaseFailure(str(missing)) from None
            except ValidationError as error:
                raise DatabaseFailure(f"--db {self.shown}: {error}") from None
            if not durable and file is not None:
                sa.event.listen(repository.engine, "connect", _relaxed_sync)
            self._repository = repository
        if create:
            create_schema(self._repository.engine)
        elif stored_schema_version(self._repository.engine) is None:
            raise self._not_initialised()
        return self._repository

    def desk(self, *, clock: Clock | None = None, create: bool = False) -> ServiceDesk:
        """The service desk on the database (see :func:`build_desk`)."""
        if self._desk is None:
            repository = self.repository(create=create)
            self._desk = build_desk(repository, repository.engine, clock or self.clock(),
                                    self.config.policies)
        return self._desk

    def close(self) -> None:
        if self._repository is not None:
            self._repository.close()
            self._repository = None
            self._desk = None

    def _not_initialised(self) -> Failure:
        hint = ("itil-incident init" if not self.db_given
                else f"itil-incident --db {shlex.quote(self.shown)} init")
        return DatabaseFailure(f"the database {self.shown} is not initialised: "
                               f"run `{hint}` first")


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous = NORMAL")


pass_session = click.make_pass_decorator(Session)


class DeskGroup(click.Group):
    """A command group that turns library errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ItilIncidentError as error:
            raise failure_for(error) from None


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise click.BadParameter("give an ISO 8601 instant with its offset, such as "
                                 "2026-03-02T09:00:00+01:00")
    return instant.astimezone(UTC)


@click.group(cls=DeskGroup, epilog=EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", default=DEFAULT_DB, envvar="ITIL_INCIDENT_DB", show_default=True,
              metavar="PATH|URL",
              help="SQLite file, or a database URL such as postgresql+psycopg://user@host/db "
                   "[env ITIL_INCIDENT_DB]")
@click.option("--as", "user", envvar="ITIL_INCIDENT_USER", metavar="USER",
              help="Who acts [env ITIL_INCIDENT_USER; default: your login name]")
@click.option("--role", "roles", multiple=True, envvar="ITIL_INCIDENT_ROLES", metavar="ROLE",
              help="A role the acting user holds, such as incident_manager (repeatable) "
                   "[env ITIL_INCIDENT_ROLES, separated by spaces]")
@click.option("--now", callback=_instant, envvar="ITIL_INCIDENT_NOW", metavar="INSTANT",
              help="Act as if it were INSTANT (ISO 8601 with offset), for replays, demos and "
                   "tests [env ITIL_INCIDENT_NOW]")
@click.option("--config", "config_file", envvar="ITIL_INCIDENT_CONFIG", metavar="FILE",
              help="The configuration file (TOML) the desk runs with [env ITIL_INCIDENT_CONFIG; "
                   "default: the one shipped, see `itil-incident config show`]")
@click.version_option(package_name="itil-incident", prog_name="itil-incident")
@click.pass_context
def app(ctx: click.Context, db: str, user: str | None, roles: tuple[str, ...],
        now: datetime | None, config_file: str | None) -> None:
    """itil-incident: an ITIL service desk on the command line.

    Incidents and problems live in an SQLite file (or PostgreSQL); every change is an audited
    event. Start with `itil-incident init`, or try `itil-incident demo`.
    """
    source = ctx.get_parameter_source("db")
    given = source is not None and source is not click.core.ParameterSource.DEFAULT
    session = Session(db, user, now, db_given=given, config_file=config_file,
                      roles=tuple(role for role in roles if role.strip()))
    ctx.obj = session
    ctx.call_on_close(session.close)
