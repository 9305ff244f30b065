"""Duplicates, parents and children, known errors and workarounds, changes linked to problems,
and recurring-incident detection: ``duplicate``, ``parent``, ``known-errors``,
``workaround apply``, ``problem change-link|change-unlink|recurring``."""

from __future__ import annotations

from typing import Any

import click

from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._data import echo_json, incident_data, problem_data
from itil_incident.cli._problems import problem_group
from itil_incident.cli._render import console, table_with, when
from itil_incident.config._issues import DURATION_EXPECTED, parse_duration
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.reporting.recurring import RECURRING_KEYS, find_recurring

__all__ = ["COMMANDS"]

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (instants in UTC).")


def _done(incident: Incident, message: str, as_json: bool) -> None:
    if as_json:
        echo_json(incident_data(incident))
    else:
        console().print(f"{incident.id} {message} (status {incident.status}, "
                        f"version {incident.version})")


def _problem_done(problem: Problem, message: str, as_json: bool) -> None:
    if as_json:
        echo_json(problem_data(problem))
    else:
        console().print(f"{problem.id} {message} (status {problem.status}, "
                        f"version {problem.version})")


@click.command("duplicate")
@click.argument("incident_id", metavar="ID")
@click.argument("original_id", metavar="ORIGINAL")
@click.option("--notes", help="The resolution notes [default: Duplicate of ORIGINAL].")
@json_option
@pass_session
def duplicate_command(session: Session, incident_id: str, original_id: str,
                      notes: str | None, as_json: bool) -> None:
    """Mark ID as a duplicate of ORIGINAL: it closes with a reference, and its caller
    watches the original."""
    incident = session.desk().mark_duplicate(incident_id, original_id, actor=session.actor,
                                             notes=notes)
    _done(incident, f"closed as a duplicate of {original_id}", as_json)


@click.command("parent")
@click.argument("child_id", metavar="CHILD")
@click.argument("parent_id", metavar="PARENT", required=False)
@click.option("--detach", is_flag=True, help="Detach CHILD from its parent.")
@json_option
@pass_session
def parent_command(session: Session, child_id: str, parent_id: str | None, detach: bool,
                   as_json: bool) -> None:
    """Make CHILD a child of PARENT (resolving the parent resolves its open children), or
    --detach it."""
    if (parent_id is None) != detach:
        raise click.UsageError("give PARENT, or --detach")
    incident = session.desk().set_parent(child_id, parent_id, actor=session.actor)
    _done(incident, "detached from its parent" if detach else f"is a child of {parent_id}",
          as_json)


@click.command("known-errors")
@click.argument("incident_id", metavar="ID")
@json_option
@pass_session
def known_errors_command(session: Session, incident_id: str, as_json: bool) -> None:
    """The open known errors that match an incident, best first, with their score and
    reasons; the workarounds of the best ones are offered to an open incident."""
    matches = session.desk().known_error_matches(incident_id, actor=session.actor)
    if as_json:
        echo_json([{"problem_id": match.problem_id, "title": match.title,
                    "score": match.score, "reasons": list(match.reasons),
                    "workaround": match.workaround} for match in matches])
        return
    table = table_with(f"{len(matches)} known error(s) match {incident_id}")
    for name in ("Problem", "Score", "Title", "Reasons", "Workaround"):
        table.add_column(name, no_wrap=name in ("Problem", "Score"), overflow="fold")
    for match in matches:
        table.add_row(match.problem_id, str(match.score), match.title, "; ".join(match.reasons),
                      match.workaround or "-")
    console().print(table)


@click.group("workaround")
def workaround_group() -> None:
    """Known-error workarounds on incidents."""


@workaround_group.command("apply")
@click.argument("incident_id", metavar="ID")
@click.argument("problem_id", metavar="PROBLEM")
@json_option
@pass_session
def workaround_apply_command(session: Session, incident_id: str, problem_id: str,
                             as_json: bool) -> None:
    """Record that the workaround of the known error PROBLEM was applied to the incident
    (it is linked to PROBLEM when linked to none)."""
    incident = session.desk().apply_workaround(incident_id, problem_id, actor=session.actor)
    _done(incident, f"workaround of {problem_id} applied", as_json)


# ----------------------------------------------------------------- problem additions


@problem_group.command("change-link")
@click.argument("problem_id", metavar="ID")
@click.argument("change_id", metavar="CHANGE")
@click.option("--title", required=True, help="The change's title.")
@json_option
@pass_session
def change_link_command(session: Session, problem_id: str, change_id: str, title: str,
                        as_json: bool) -> None:
    """Link a CHANGE raised to fix the problem (the change lives elsewhere: its id and
    title are enough)."""
    problem = session.desk().link_problem_change(problem_id, change_id, actor=session.actor,
                                                 title=title)
    _problem_done(problem, f"linked to change {change_id}", as_json)


@problem_group.command("change-unlink")
@click.argument("problem_id", metavar="ID")
@click.argument("change_id", metavar="CHANGE")
@json_option
@pass_session
def change_unlink_command(session: Session, problem_id: str, change_id: str,
                          as_json: bool) -> None:
    """Remove a change linked to the problem."""
    problem = session.desk().unlink_problem_change(problem_id, change_id, actor=session.actor)
    _problem_done(problem, f"unlinked from change {change_id}", as_json)


def _window(ctx: click.Context, param: click.Parameter, value: str) -> Any:
    span = parse_duration(value)
    if span is None:
        raise click.BadParameter(f"give {DURATION_EXPECTED}")
    return span


@problem_group.command("recurring")
@click.option("--by", "by", multiple=True, type=click.Choice(RECURRING_KEYS),
              help="Group incidents by these parts (repeatable) [default: all three].")
@click.option("--min-count", type=click.IntRange(min=2), default=3, show_default=True,
              help="At least this many incidents within the window.")
@click.option("--window", default="7d", show_default=True, callback=_window,
              help="The span the incidents recur within, such as 7d or 12h.")
@click.option("--similarity", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="How alike titles must be (0 ignores titles).")
@click.option("--open", "open_", is_flag=True,
              help="Open the proposed problems (linking their open incidents).")
@json_option
@pass_session
def recurring_command(session: Session, by: tuple[str, ...], min_count: int,
                      window: Any, similarity: float, open_: bool, as_json: bool) -> None:
    """Find recurring incidents (same service / configuration item / category, similar
    titles, at least --min-count within --window) and propose a problem for each group no
    problem covers yet; with --open, open them. Running it again proposes nothing new."""
    desk = session.desk()
    report = find_recurring(desk.list_incidents(), by=by or RECURRING_KEYS,
                            min_count=min_count, window=window, title_similarity=similarity,
                            known_problems=desk.list_problems())
    opened: dict[int, Problem] = {}
    if open_:
        for number, group in enumerate(report.groups):
            if group.proposal is not None:
                opened[number] = desk.open_problem(actor=session.actor,
                                                   **group.proposal.arguments())
    if as_json:
        data = report.to_dict()
        for number, group_data in enumerate(data["groups"]):
            problem = opened.get(number)
            group_data["opened"] = None if problem is None else problem.id
        echo_json(data)
        return
    screen = console()
    table = table_with(f"{len(report.groups)} recurring group(s), {len(report.proposed)} "
                       f"proposed, among {report.considered} incident(s)")
    for name in ("Key", "Count", "First", "Last", "Incidents", "Problem"):
        table.add_column(name, no_wrap=name in ("Count", "First", "Last"), overflow="fold")
    for number, group in enumerate(report.groups):
        problem = opened.get(number)
        if problem is not None:
            state = f"opened {problem.id}: {problem.title}"
        elif group.proposal is not None:
            state = f"proposed: {group.proposal.title}"
        else:
            state = f"covered by {group.covered_by}"
        table.add_row(group.label, str(len(group.incidents)), when(group.first_at),
                      when(group.last_at), " ".join(group.incident_ids), state)
    screen.print(table)
    if open_:
        screen.print(f"{len(opened)} problem(s) opened")
    elif report.proposed:
        screen.print("Run again with --open to open the proposed problem(s).")


COMMANDS: tuple[click.Command, ...] = (
    duplicate_command, parent_command, known_errors_command, workaround_group,
)
