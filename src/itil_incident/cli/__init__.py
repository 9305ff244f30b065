"""``itil-incident``: an ITIL service desk on the command line (the ``cli`` extra).

Install with ``pip install 'itil-incident[cli]'``; run ``itil-incident --help`` or
``python -m itil_incident --help``. The desk lives in an SQLite file (``--db PATH``, the
environment variable ``ITIL_INCIDENT_DB``, default ``./itil-incident.sqlite3``) or in
PostgreSQL (``--db postgresql+psycopg://user@host/db``). The acting user is ``--as USER``,
``ITIL_INCIDENT_USER`` or the login name. Policies come from a configuration file
(``--config FILE`` or ``ITIL_INCIDENT_CONFIG``), else from the one shipped with the package
(ITIL workflows, matrix, categories and routing; Gold and Silver SLAs on Paris office hours;
escalation rules); ``config show`` prints the one in force, ``config check FILE`` validates a
file.

Commands: ``init``; ``log``, ``list``, ``show``; ``assign``, ``start``, ``hold``, ``resume``,
``note``, ``resolve``, ``close``, ``reopen``, ``cancel``, ``escalate``, ``priority``,
``categorize``; ``problem open|show|list|investigate|root-cause|workaround|known-error|
resolve|close``; ``sla``; ``tick``; ``workflow show``; ``export``, ``import``; ``demo``;
``config show|check``; ``report``.
Read commands take ``--json`` (instants in ISO 8601 UTC).

Exit codes:

- 0: done.
- 1: the command was refused (the workflow does not allow it, a value is not accepted, the
  action is not permitted); nothing changed.
- 2: usage error (an unknown option, a missing argument).
- 3: no incident or problem with that id.
- 4: the record changed meanwhile (or an imported record exists already); nothing changed.
- 5: the database cannot be used: not initialised (run ``itil-incident init`` first),
  unreachable, locked, another schema version, or its driver is missing.
- 6: the configuration file cannot be read or is invalid (``itil-incident config check FILE``
  lists every problem with its key path).

An error is one line on stderr, ``error: ...``, never a traceback.
"""

from __future__ import annotations

from itil_incident.cli._alerts import alert_group
from itil_incident.cli._app import app
from itil_incident.cli._config_commands import config_group
from itil_incident.cli._demo_command import demo_command
from itil_incident.cli._exit import ExitCode
from itil_incident.cli._family import COMMANDS as _FAMILY_COMMANDS
from itil_incident.cli._incidents import COMMANDS as _INCIDENT_COMMANDS
from itil_incident.cli._major import major_group
from itil_incident.cli._operations import COMMANDS as _DESK_COMMANDS
from itil_incident.cli._problems import problem_group
from itil_incident.cli._report import report_command

__all__ = ["ExitCode", "app", "main"]

for _command in (*_INCIDENT_COMMANDS, problem_group, *_DESK_COMMANDS, demo_command,
                 config_group):
    app.add_command(_command)
# Reports.
app.add_command(report_command)
# Major incidents, monitoring alerts, duplicates / parents / known errors.
for _command in (major_group, alert_group, *_FAMILY_COMMANDS):
    app.add_command(_command)


def main() -> None:
    """The console script ``itil-incident``."""
    app(prog_name="itil-incident")
