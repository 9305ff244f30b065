"""``itil-incident``: an ITIL service desk on the command line (the ``cli`` extra).

Install with ``pip install 'itil-incident[cli]'``; run ``itil-incident --help`` or
``python -m itil_incident --help``. The desk lives in an SQLite file (``--db PATH``, the
environment variable ``ITIL_INCIDENT_DB``, default ``./itil-incident.sqlite3``) or in
PostgreSQL (``--db postgresql+psycopg://user@host/db``); monitoring-alert groups live in the
same database, so alerts are deduplicated across commands. The acting user is ``--as USER``,
``ITIL_INCIDENT_USER`` or the login name, holding the roles of ``--role ROLE`` (repeatable) or
``ITIL_INCIDENT_ROLES`` (accepting or rejecting a major incident needs ``incident_manager``).
Policies come from a configuration file (``--config FILE`` or ``ITIL_INCIDENT_CONFIG``), else
from the one shipped with the package (ITIL workflows, matrix, categories and routing; Gold and
Silver SLAs on Paris office hours; escalation rules); ``config show`` prints the one in force,
``config check FILE`` validates a file. Major-incident management is on: the configuration file
has no section for it, so the desk runs with the command line's policy (priority 1 incidents,
and five or more open incidents on one service or configuration item within 30 minutes, are
proposed; status updates every 30 minutes at priority 1, hourly at priority 2; a post-incident
review before closure).

Commands: ``init``; ``log``, ``list``, ``show``; ``assign``, ``start``, ``hold``, ``resume``,
``note``, ``resolve``, ``close``, ``reopen``, ``cancel``, ``escalate``, ``priority``,
``categorize``; ``duplicate``, ``parent``, ``known-errors``, ``workaround apply``;
``problem open|show|list|investigate|root-cause|workaround|known-error|resolve|close|
change-link|change-unlink|recurring``; ``major propose|accept|reject|role|release|update|
review|action-add|action-done|timeline|list``; ``alert ingest|list|stats``; ``sla``; ``tick``;
``workflow show``; ``export``, ``import``; ``import-log`` (replays a real event log:
ServiceNow, Volvo IT, help desk); ``demo``; ``config show|check``; ``report``.
Read commands take ``--json`` (instants in ISO 8601 UTC).

Exit codes:

- 0: done.
- 1: the command was refused (the workflow does not allow it, a value is not accepted, the
  action is not permitted); nothing changed. ``alert ingest --file`` ingests every acceptable
  alert, reports each refused one with its reason, and ends with 1 when any was refused.
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
from itil_incident.cli._import import import_log_command
from itil_incident.cli._incidents import COMMANDS as _INCIDENT_COMMANDS
from itil_incident.cli._major import major_group
from itil_incident.cli._operations import COMMANDS as _DESK_COMMANDS
from itil_incident.cli._problems import problem_group
from itil_incident.cli._report import report_command

__all__ = ["ExitCode", "app", "main"]

for _command in (*_INCIDENT_COMMANDS, problem_group, *_DESK_COMMANDS, demo_command,
                 config_group):
    app.add_command(_command)
# Reports; real event logs replayed into the desk.
app.add_command(report_command)
app.add_command(import_log_command)
# Major incidents, monitoring alerts, duplicates / parents / known errors.
for _command in (major_group, alert_group, *_FAMILY_COMMANDS):
    app.add_command(_command)


def main() -> None:
    """The console script ``itil-incident``."""
    app(prog_name="itil-incident")
