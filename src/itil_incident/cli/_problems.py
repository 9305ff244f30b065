"""Problem commands: ``itil-incident problem ...``."""

from __future__ import annotations

import click

from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._data import echo_json, event_data, problem_data
from itil_incident.cli._render import console, problem_table, problem_view
from itil_incident.domain.problem import Problem

__all__ = ["problem_group"]

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (instants in UTC).")


def _done(problem: Problem, message: str, as_json: bool) -> None:
    if as_json:
        echo_json(problem_data(problem))
    else:
        console().print(f"{problem.id} {message} (status {problem.status}, "
                        f"version {problem.version})")


@click.group("problem")
def problem_group() -> None:
    """Problems: the causes behind incidents, root causes, workarounds, known errors."""


@problem_group.command("open")
@click.argument("title")
@click.option("--incident", "incident_ids", multiple=True, metavar="ID",
              help="An incident caused by this problem (repeatable); it is linked.")
@click.option("-d", "--description", default="", help="What is known so far.")
@click.option("--service", help="The service [default: the first incident's].")
@click.option("--category", help="Category path [default: the first incident's].")
@click.option("--impact", help="Impact level or label.")
@click.option("--urgency", help="Urgency level or label.")
@click.option("--group", help="The group that investigates.")
@json_option
@pass_session
def open_command(session: Session, title: str, incident_ids: tuple[str, ...],
                 description: str, service: str | None, category: str | None,
                 impact: str | None, urgency: str | None, group: str | None,
                 as_json: bool) -> None:
    """Open a problem called TITLE, optionally from incidents."""
    problem = session.desk().open_problem(
        actor=session.actor, title=title, description=description, incident_ids=incident_ids,
        service=service, category=category, impact=impact, urgency=urgency,
        assignment_group=group)
    linked = f", linked to {', '.join(problem.incident_ids)}" if problem.incident_ids else ""
    _done(problem, f"opened{linked}", as_json)


@problem_group.command("show")
@click.argument("problem_id", metavar="ID")
@json_option
@pass_session
def show_command(session: Session, problem_id: str, as_json: bool) -> None:
    """Show a problem: its fields and timeline."""
    problem = session.desk().get_problem(problem_id)
    if as_json:
        data = problem_data(problem)
        data["timeline"] = [event_data(event) for event in problem.timeline()]
        echo_json(data)
    else:
        console().print(problem_view(problem, problem.timeline()))


@problem_group.command("list")
@click.option("--status", multiple=True, help="Only in this state (repeatable).")
@click.option("--service", help="Only for this service.")
@click.option("--known-error/--not-known-error", "known_error", default=None,
              help="Only known errors, or only the others.")
@click.option("--open/--closed", "open_", default=None,
              help="Only open problems, or only resolved, closed and cancelled ones.")
@click.option("--text", help="Only with this text in the title or description.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@json_option
@pass_session
def list_command(session: Session, status: tuple[str, ...], service: str | None,
                 known_error: bool | None, open_: bool | None, text: str | None,
                 limit: int | None, as_json: bool) -> None:
    """List problems (by id), filtered."""
    problems = session.desk().list_problems(status=status or None, service=service,
                                            known_error=known_error, open=open_, text=text,
                                            limit=limit)
    if as_json:
        echo_json([problem_data(problem) for problem in problems])
    else:
        console().print(problem_table(problems))


@problem_group.command("investigate")
@click.argument("problem_id", metavar="ID")
@json_option
@pass_session
def investigate_command(session: Session, problem_id: str, as_json: bool) -> None:
    """Start the root-cause analysis of a problem."""
    _done(session.desk().start_investigation(problem_id, actor=session.actor),
          "under investigation", as_json)


@problem_group.command("root-cause")
@click.argument("problem_id", metavar="ID")
@click.argument("root_cause")
@click.option("--category", help="Root-cause category path.")
@json_option
@pass_session
def root_cause_command(session: Session, problem_id: str, root_cause: str,
                       category: str | None, as_json: bool) -> None:
    """Record (or revise) the ROOT_CAUSE of a problem."""
    _done(session.desk().record_root_cause(problem_id, root_cause, actor=session.actor,
                                           category=category), "root cause recorded", as_json)


@problem_group.command("workaround")
@click.argument("problem_id", metavar="ID")
@click.argument("workaround")
@json_option
@pass_session
def workaround_command(session: Session, problem_id: str, workaround: str,
                       as_json: bool) -> None:
    """Record (or revise) a WORKAROUND for a problem."""
    _done(session.desk().record_workaround(problem_id, workaround, actor=session.actor),
          "workaround recorded", as_json)


@problem_group.command("known-error")
@click.argument("problem_id", metavar="ID")
@click.option("--symptoms", help="How the known error shows [default: the title].")
@json_option
@pass_session
def known_error_command(session: Session, problem_id: str, symptoms: str | None,
                        as_json: bool) -> None:
    """Publish a problem as a known error (it needs a root cause or a workaround)."""
    _done(session.desk().mark_known_error(problem_id, actor=session.actor, symptoms=symptoms),
          "is a known error", as_json)


@problem_group.command("resolve")
@click.argument("problem_id", metavar="ID")
@click.argument("resolution")
@json_option
@pass_session
def resolve_command(session: Session, problem_id: str, resolution: str,
                    as_json: bool) -> None:
    """Resolve a problem: RESOLUTION says how the cause was removed."""
    _done(session.desk().resolve_problem(problem_id, resolution, actor=session.actor),
          "resolved", as_json)


@problem_group.command("close")
@click.argument("problem_id", metavar="ID")
@json_option
@pass_session
def close_command(session: Session, problem_id: str, as_json: bool) -> None:
    """Close a resolved problem."""
    _done(session.desk().close_problem(problem_id, actor=session.actor), "closed", as_json)
