"""``itil-incident demo``: a working week simulated on a fresh database, then its summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from itil_incident.adapters.clocks import FrozenClock
from itil_incident.cli._app import Session, build_desk, database_url, pass_session
from itil_incident.cli._data import echo_json
from itil_incident.cli._demo import PARIS, WorkingWeek
from itil_incident.cli._demo_engine import MirroredRepository
from itil_incident.cli._exit import Failure
from itil_incident.cli._render import console
from itil_incident.cli._summary import summarize, summary_view

__all__ = ["demo_command"]

#: Where the demo writes when neither its --db nor the global --db names a database.
DEMO_DB: Final = "./itil-incident-demo.sqlite3"


def _fresh(session: Session, force: bool) -> None:
    """Make room for the demo: an SQLite file is replaced with ``force`` (refused without);
    another database must hold no incident yet."""
    url = database_url(session.db)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists():
            if not force:
                raise Failure(f"{session.shown} exists; pass --force to replace it with the "
                              "demo")
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        return
    if session.desk(create=True).list_incidents(limit=1):
        raise Failure(f"{session.shown} already holds incidents; the demo needs an empty "
                      "database (a server database is never wiped)")


@click.command("demo")
@click.option("--db", "demo_db", metavar="PATH|URL",
              help=f"Where to write the demo [default: the global --db if given, else "
                   f"{DEMO_DB}].")
@click.option("--seed", type=int, default=7, show_default=True,
              help="The same seed gives the same week.")
@click.option("--force", is_flag=True, help="Replace an existing demo file.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_session
def demo_command(session: Session, demo_db: str | None, seed: int, force: bool,
                 as_json: bool) -> None:
    """Simulate a working week at a service desk on a fresh database, then summarize it.

    About 200 incidents arrive through every channel from Monday to Friday, on Paris office
    hours with Gold and Silver SLAs; they are worked, put on hold, escalated, resolved,
    reopened and closed. Monitoring alerts open incidents, repeats fold into them, recoveries
    resolve them and a flapping key is held. A major outage is accepted as a major incident,
    with its roles, status updates and post-incident review, and becomes a problem; the daily
    recurring-incident review raises a problem for a printer that keeps jamming.
    """
    if demo_db is not None:
        session.db = demo_db
    elif not session.db_given:
        session.db = DEMO_DB
    session.db_given = True
    _fresh(session, force)
    repository = session.repository(create=True, durable=False)
    desk = build_desk(MirroredRepository(repository), repository.engine,
                      FrozenClock(WorkingWeek.START), session.config.policies)
    week = WorkingWeek(desk, seed)
    out = console(stderr=True)
    with Progress(TextColumn("Simulating the week"), BarColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=out,
                  transient=True, disable=as_json or not sys.stderr.isatty()) as progress:
        task = progress.add_task("", total=len(week.ticks()))

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done,
                            description=desk.clock.now().astimezone(PARIS).strftime("%a %H:%M"))

        week.play(advance)
    # The summary reads the database afresh, at the end of the week.
    summary = summarize(session.desk(clock=desk.clock))
    summary["database"] = session.shown
    summary["seed"] = seed
    summary["refused_steps"] = len(week.refused)
    summary["recurring_problems"] = list(week.recurring_problems)
    if as_json:
        echo_json(summary)
        return
    screen = console()
    start, end = (instant.astimezone(PARIS).strftime("%a %d %b %H:%M")
                  for instant in (WorkingWeek.START, WorkingWeek.END))
    screen.print(f"[bold]A working week at the service desk[/bold]: {start} to {end} "
                 f"{WorkingWeek.END.year} (Paris time), seed {seed}")
    screen.print(summary_view(summary))
    end_iso = WorkingWeek.END.astimezone(PARIS).isoformat()
    screen.print("\nExplore it as of the end of the week:\n"
                 f"  export ITIL_INCIDENT_DB={session.shown} ITIL_INCIDENT_NOW={end_iso}\n"
                 "  itil-incident list --open\n  itil-incident sla --breached\n"
                 "  itil-incident show INC0000001\n  itil-incident problem list\n"
                 "  itil-incident major list\n  itil-incident alert list",
                 soft_wrap=True)
