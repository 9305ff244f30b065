"""Exit codes, and how a refused command becomes one line on stderr.

Every :class:`~itil_incident.ItilIncidentError` (and a database that cannot serve the command)
ends the command with a :class:`Failure`: one line, ``error: <what happened; what to do>``,
and the exit code of its kind. Click's own usage errors keep click's code 2.
"""

from __future__ import annotations

import enum
import shlex
from typing import IO, Any

import click

from itil_incident.adapters.sql import StorageError
from itil_incident.config import ConfigError
from itil_incident.errors import (
    ConcurrencyError,
    DefinitionError,
    ItilIncidentError,
    NotFoundError,
)

__all__ = [
    "EXIT_CODES_HELP",
    "ConfigFailure",
    "ConflictFailure",
    "DatabaseFailure",
    "ExitCode",
    "Failure",
    "NotFoundFailure",
    "failure_for",
]


class ExitCode(enum.IntEnum):
    """What the process exit status of ``itil-incident`` means."""

    OK = 0
    #: The library refused the command (a transition the workflow does not allow, a value it
    #: does not accept, an action not permitted); nothing changed.
    REFUSED = 1
    #: The command line itself is wrong (click's usage errors).
    USAGE = 2
    #: No incident or problem has that id.
    NOT_FOUND = 3
    #: Someone else changed the record meanwhile; nothing changed: run the command again.
    CONFLICT = 4
    #: The database cannot serve the command: not initialised, unreachable, locked, another
    #: schema version, or its driver is not installed.
    DATABASE = 5
    #: The configuration file (``--config`` / ``ITIL_INCIDENT_CONFIG``, or the file given to
    #: ``config check``) cannot be read or is invalid; ``config check FILE`` lists every problem.
    CONFIG = 6


#: The exit codes in words, for ``--help`` (click rewraps it) and the module documentation.
EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 the command was refused (nothing changed); 2 usage error; "
    "3 no record with that id; 4 the record changed meanwhile (run the command again); "
    "5 the database cannot be used (not initialised: run `itil-incident init` first); "
    "6 the configuration file is invalid (see `itil-incident config check FILE`)."
)


class Failure(click.ClickException):
    """A refused command: one line on stderr, exit code 1; the subclasses below carry the
    other exit codes."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the message held

    def show(self, file: IO[Any] | None = None) -> None:
        click.secho(f"error: {self.format_message()}", file=file, err=file is None, fg="red")


class NotFoundFailure(Failure):
    """No record with that id (exit code 3)."""

    exit_code = ExitCode.NOT_FOUND


class ConflictFailure(Failure):
    """The record changed meanwhile, or already exists (exit code 4)."""

    exit_code = ExitCode.CONFLICT


class DatabaseFailure(Failure):
    """The database cannot serve the command (exit code 5)."""

    exit_code = ExitCode.DATABASE


class ConfigFailure(Failure):
    """The configuration file cannot be read or is invalid (exit code 6)."""

    exit_code = ExitCode.CONFIG


def failure_for(error: ItilIncidentError) -> Failure:
    """The failure that reports ``error``: its message, a hint, and its exit code."""
    if isinstance(error, NotFoundError):
        where = ("itil-incident problem list" if error.kind == "problem"
                 else "itil-incident list")
        return NotFoundFailure(f"{error} (see `{where}`)")
    if isinstance(error, ConcurrencyError):
        return ConflictFailure(f"{error}; nothing was changed: run the command again")
    if isinstance(error, ConfigError):
        source = error.source or "the configuration"
        first = error.issues[0] if error.issues else "no details"
        more = len(error.issues) - 1
        also = f" (and {more} more)" if more > 0 else ""
        hint = (f"; run `itil-incident config check {shlex.quote(error.source)}` to list every "
                "problem") if error.source else ""
        return ConfigFailure(f"{source} is invalid: {first}{also}{hint}")
    if isinstance(error, StorageError):
        return DatabaseFailure(str(error))
    if isinstance(error, DefinitionError) and error.culprit == "major" and str(
            error).startswith("major-incident management is off"):
        return Failure("major-incident management is off in the configuration in force: add "
                       "a [major] section to it (`itil-incident config show --shipped` has one)")
    return Failure(str(error))
