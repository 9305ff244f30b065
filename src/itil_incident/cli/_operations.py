"""Desk-wide commands: init, sla, tick, workflow show, export and import."""

from __future__ import annotations

import json
from typing import IO, Any

import click
import sqlalchemy as sa

from itil_incident import SlaListState
from itil_incident.adapters.sql import SCHEMA_VERSION, event_from_dict, event_to_dict, schema
from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._data import clock_data, echo_json, report_data
from itil_incident.cli._exit import ConflictFailure, Failure
from itil_incident.cli._render import console, report_view, sla_table
from itil_incident.domain.events import IncidentEvent, IncidentLogged
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.problem_events import ProblemEvent, ProblemOpened
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ItilIncidentError, NotFoundError

__all__ = ["COMMANDS"]

_STATES: dict[str, SlaListState] = {
    "breached": "breached", "at_risk": "at_risk", "paused": "paused", "running": "running"}

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (instants in UTC).")


@click.command("init")
@pass_session
def init_command(session: Session) -> None:
    """Create the database (or check that it is ready); safe to run again."""
    repository = session.repository(create=True)
    with repository.engine.connect() as connection:
        incidents = connection.execute(
            sa.select(sa.func.count()).select_from(schema.incidents)).scalar_one()
        problems = connection.execute(
            sa.select(sa.func.count()).select_from(schema.problems)).scalar_one()
    console().print(f"Service desk ready in {session.shown} (schema version {SCHEMA_VERSION}): "
                    f"{incidents} incident(s), {problems} problem(s).")


@click.command("sla")
@click.option("--breached", "state", flag_value="breached", help="Only breached clocks.")
@click.option("--at-risk", "state", flag_value="at_risk",
              help="Only running clocks past the at-risk fraction of their target.")
@click.option("--paused", "state", flag_value="paused", help="Only paused clocks.")
@click.option("--running", "state", flag_value="running", help="Only running clocks.")
@click.option("--at-risk-fraction", type=click.FloatRange(0, 1, min_open=True), default=0.75,
              show_default=True, help="The share of the target that puts a clock at risk.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many clocks.")
@json_option
@pass_session
def sla_command(session: Session, state: str | None, at_risk_fraction: float,
                limit: int | None, as_json: bool) -> None:
    """SLA clocks of open incidents, the least business time remaining first (without a
    filter: breached, running and paused ones)."""
    desk = session.desk()
    states: list[SlaListState] = (["breached", "running", "paused"] if state is None
                                  else [_STATES[state]])
    rows = []
    for name in states:
        rows += desk.list_by_sla(name, at_risk_fraction=at_risk_fraction)
    rows.sort(key=lambda row: (row[1].remaining, row[0].id))
    rows = rows[:limit]
    if as_json:
        echo_json([{"incident_id": incident.id, "title": incident.title,
                    "priority": incident.priority.level, "status": incident.status,
                    "clock": clock_data(clock)} for incident, clock in rows])
    else:
        console().print(sla_table(rows))


@click.command("tick")
@json_option
@pass_session
def tick_command(session: Session, as_json: bool) -> None:
    """Run the time-driven rules now: SLA stages, escalations, reminders, auto-close (run it
    from cron every few minutes)."""
    report = session.desk().process_due()
    if as_json:
        echo_json(report_data(report))
    else:
        console().print(report_view(report))


@click.group("workflow")
def workflow_group() -> None:
    """The lifecycles the desk follows."""


@workflow_group.command("show")
@click.option("--problem", is_flag=True, help="The problem lifecycle (default: incidents).")
@json_option
@pass_session
def workflow_show_command(session: Session, problem: bool, as_json: bool) -> None:
    """Print a lifecycle as a Mermaid state diagram."""
    policies = session.config.policies
    workflow = policies.problem_workflow if problem else policies.incident_workflow
    if as_json:
        data: dict[str, Any] = workflow.to_dict()
        data["mermaid"] = workflow.to_mermaid()
        echo_json(data)
    else:
        click.echo(workflow.to_mermaid(), nl=False)


@click.command("export")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write to this file [default: stdout].")
@pass_session
def export_command(session: Session, output: IO[str]) -> None:
    """Write every incident and problem as JSON lines: one record and its events per line."""
    desk = session.desk()
    records: list[Incident | Problem] = [*desk.list_incidents(), *desk.list_problems()]
    for record in records:
        kind = "incident" if isinstance(record, Incident) else "problem"
        line = {"kind": kind, "id": record.id,
                "events": [event_to_dict(event) for event in record.timeline()]}
        output.write(json.dumps(line, ensure_ascii=False) + "\n")
    incidents = sum(1 for record in records if isinstance(record, Incident))
    click.echo(f"exported {incidents} incident(s) and {len(records) - incidents} problem(s)",
               err=True)


@click.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"), metavar="FILE")
@pass_session
def import_command(session: Session, source: IO[str]) -> None:
    """Add the records of an export (FILE, or - for stdin) to the database, all or nothing;
    every record is rebuilt from its events, and none may exist already."""
    desk = session.desk()
    repository = desk.repository
    workflows = {w.name: w for w in (desk.policies.incident_workflow,
                                     desk.policies.problem_workflow)}
    records: list[Incident | Problem] = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = _rebuild(json.loads(line), workflows)
        except (ValueError, TypeError, KeyError, ItilIncidentError) as error:
            raise Failure(f"{source.name} line {number}: not an exported record: {error}; "
                          "nothing was imported") from None
        try:
            (repository.get_incident if isinstance(record, Incident)
             else repository.get_problem)(record.id)
        except NotFoundError:
            records.append(record)
            continue
        raise ConflictFailure(f"{record.id} (line {number}) already exists; "
                              "nothing was imported")
    repository.commit(records)
    incidents = sum(1 for record in records if isinstance(record, Incident))
    console().print(f"imported {incidents} incident(s) and {len(records) - incidents} "
                    f"problem(s) into {session.shown}")


def _rebuild(data: Any, workflows: dict[str, Workflow]) -> Incident | Problem:
    """A record from one exported line, ready to be stored as new."""
    events = [event_from_dict(item) for item in data["events"]]
    first = events[0] if events else None
    if not isinstance(first, (IncidentLogged, ProblemOpened)):
        raise ValueError("a record's events start with incident.logged or problem.opened")
    workflow = workflows.get(first.workflow)
    if workflow is None:
        raise ValueError(f"unknown workflow {first.workflow!r}")
    incident_events = [event for event in events if isinstance(event, IncidentEvent)]
    problem_events = [event for event in events if isinstance(event, ProblemEvent)]
    record: Incident | Problem
    if data["kind"] == "incident" and len(incident_events) == len(events):
        record = Incident.from_history(incident_events, workflow, stored=False)
    elif data["kind"] == "problem" and len(problem_events) == len(events):
        record = Problem.from_history(problem_events, workflow, stored=False)
    else:
        raise ValueError(f"the events are not all of a {data['kind']!r}")
    return record


COMMANDS: tuple[click.Command, ...] = (init_command, sla_command, tick_command, workflow_group,
                                       export_command, import_command)
