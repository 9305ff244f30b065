"""Incident commands: log, list, show, and every step of the lifecycle."""

from __future__ import annotations

import click

from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._blocks import extras_data, extras_view
from itil_incident.cli._data import clock_data, echo_json, event_data, incident_data
from itil_incident.cli._render import console, incident_table, incident_view
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import Channel, EscalationKind

__all__ = ["COMMANDS"]

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (instants in UTC).")


def _done(incident: Incident, message: str, as_json: bool) -> None:
    """Report a change: one line for people, or the whole incident as JSON."""
    if as_json:
        echo_json(incident_data(incident))
    else:
        console().print(f"{incident.id} {message} (status {incident.status}, "
                        f"version {incident.version})")


# ----------------------------------------------------------------- logging and reading


@click.command("log")
@click.argument("title")
@click.option("-d", "--description", default="", help="What happens, in the caller's words.")
@click.option("--service", help="The affected service, such as Email.")
@click.option("--ci", "configuration_items", multiple=True, metavar="CI",
              help="An affected configuration item (repeatable).")
@click.option("--caller", help="Who reported it.")
@click.option("--channel", type=click.Choice([c.value for c in Channel]),
              help="How it reached the desk [default: portal].")
@click.option("--impact", help="Impact level or label (1 High .. 3 Low).")
@click.option("--urgency", help="Urgency level or label (1 High .. 3 Low).")
@click.option("--category", help="Category path, such as Network/VPN [default: by rule].")
@click.option("--group", help="Support group [default: the routing table's].")
@json_option
@pass_session
def log_command(session: Session, title: str, description: str, service: str | None,
                configuration_items: tuple[str, ...], caller: str | None,
                channel: str | None, impact: str | None, urgency: str | None,
                category: str | None, group: str | None, as_json: bool) -> None:
    """Log a new incident called TITLE; it is categorized and routed by the desk's rules."""
    incident = session.desk().log_incident(
        actor=session.actor, title=title, description=description, service=service,
        configuration_items=configuration_items, caller=caller,
        channel=channel or Channel.PORTAL, impact=impact, urgency=urgency,
        category=category, assignment_group=group)
    if as_json:
        echo_json(incident_data(incident))
        return
    tier = f" (tier {incident.support_tier})" if incident.support_tier else ""
    console().print(f"{incident.id} logged: priority {incident.priority}, "
                    f"{incident.category or 'no category'} -> "
                    f"{incident.assignment_group or 'no group'}{tier}")


@click.command("list")
@click.option("--status", multiple=True, help="Only in this state (repeatable).")
@click.option("--priority", multiple=True, help="Only of this priority (repeatable).")
@click.option("--group", help="Only assigned to this support group.")
@click.option("--assignee", help="Only assigned to this person.")
@click.option("--category", help="Only in this category or below it.")
@click.option("--service", help="Only for this service.")
@click.option("--open/--closed", "open_", default=None,
              help="Only open incidents, or only resolved, closed and cancelled ones.")
@click.option("--text", help="Only with this text in the title or description.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@json_option
@pass_session
def list_command(session: Session, status: tuple[str, ...], priority: tuple[str, ...],
                 group: str | None, assignee: str | None, category: str | None,
                 service: str | None, open_: bool | None, text: str | None,
                 limit: int | None, as_json: bool) -> None:
    """List incidents (by id), filtered."""
    desk = session.desk()
    matrix = desk.policies.priority_matrix
    incidents = desk.list_incidents(
        status=status or None,
        priority=[matrix.priority(p) for p in priority] or None,
        assignment_group=group, assignee=assignee, category=category, service=service,
        open=open_, text=text, limit=limit)
    if as_json:
        echo_json([incident_data(incident) for incident in incidents])
    else:
        screen = console()
        screen.print(incident_table(incidents, screen.width))


@click.command("show")
@click.argument("incident_id", metavar="ID")
@json_option
@pass_session
def show_command(session: Session, incident_id: str, as_json: bool) -> None:
    """Show an incident: its fields, SLA clocks and timeline; its major-incident block,
    alert group, duplicates and workaround offers when it has them."""
    desk = session.desk()
    incident = desk.get_incident(incident_id)
    clocks = desk.sla_status(incident.id)
    events = incident.timeline()
    if as_json:
        data = incident_data(incident)
        data["sla"] = [clock_data(clock) for clock in clocks]
        data["timeline"] = [event_data(event) for event in events]
        data.update(extras_data(desk, incident))
        echo_json(data)
    else:
        console().print(incident_view(incident, clocks, events,
                                      extras_view(desk, incident, desk.clock.now())))


# ----------------------------------------------------------------- the lifecycle


@click.command("assign")
@click.argument("incident_id", metavar="ID")
@click.option("--group", help="The support group.")
@click.option("--assignee", "--to", "assignee", help="The person.")
@json_option
@pass_session
def assign_command(session: Session, incident_id: str, group: str | None,
                   assignee: str | None, as_json: bool) -> None:
    """Assign an incident to a support group and/or a person."""
    if group is None and assignee is None:
        raise click.UsageError("give --group, --assignee or both")
    incident = session.desk().assign(incident_id, actor=session.actor, group=group,
                                     assignee=assignee)
    who = " / ".join(x for x in (incident.assignment_group, incident.assignee) if x)
    _done(incident, f"assigned to {who}", as_json)


@click.command("start")
@click.argument("incident_id", metavar="ID")
@json_option
@pass_session
def start_command(session: Session, incident_id: str, as_json: bool) -> None:
    """Start working on an incident (you take it when nobody is assigned)."""
    incident = session.desk().start_work(incident_id, actor=session.actor)
    _done(incident, f"in progress with {incident.assignee or incident.assignment_group}",
          as_json)


@click.command("hold")
@click.argument("incident_id", metavar="ID")
@click.argument("reason")
@click.option("--comment", help="A comment for the caller (the question waited on).")
@json_option
@pass_session
def hold_command(session: Session, incident_id: str, reason: str, comment: str | None,
                 as_json: bool) -> None:
    """Put an incident on hold for REASON (awaiting_caller, awaiting_vendor,
    awaiting_change, awaiting_problem)."""
    incident = session.desk().put_on_hold(incident_id, reason, actor=session.actor,
                                          note=comment)
    _done(incident, f"on hold ({reason})", as_json)


@click.command("resume")
@click.argument("incident_id", metavar="ID")
@json_option
@pass_session
def resume_command(session: Session, incident_id: str, as_json: bool) -> None:
    """Resume work on an incident on hold."""
    _done(session.desk().resume(incident_id, actor=session.actor), "resumed", as_json)


@click.command("note")
@click.argument("incident_id", metavar="ID")
@click.argument("text")
@click.option("--comment", is_flag=True,
              help="A comment the caller sees (default: a work note for the staff).")
@json_option
@pass_session
def note_command(session: Session, incident_id: str, text: str, comment: bool,
                 as_json: bool) -> None:
    """Add a work note (or, with --comment, a comment the caller sees)."""
    desk = session.desk()
    if comment:
        incident = desk.add_comment(incident_id, text, actor=session.actor)
    else:
        incident = desk.add_work_note(incident_id, text, actor=session.actor)
    _done(incident, "comment added" if comment else "work note added", as_json)


@click.command("resolve")
@click.argument("incident_id", metavar="ID")
@click.option("--code", required=True,
              help="Resolution code: solved_permanently, solved_workaround, solved_remotely, "
                   "not_reproducible, resolved_by_caller, duplicate.")
@click.option("--notes", required=True, help="What was done.")
@json_option
@pass_session
def resolve_command(session: Session, incident_id: str, code: str, notes: str,
                    as_json: bool) -> None:
    """Resolve an incident: service is restored."""
    incident = session.desk().resolve(incident_id, actor=session.actor, code=code, notes=notes)
    _done(incident, f"resolved ({code})", as_json)


@click.command("close")
@click.argument("incident_id", metavar="ID")
@click.option("--confirmed/--not-confirmed", default=None,
              help="Whether the caller confirmed that service is restored.")
@click.option("--satisfaction", type=click.IntRange(1, 5), help="The caller's rating, 1-5.")
@click.option("--comment", help="The caller's comment on the rating.")
@click.option("--code", default="solved", show_default=True, help="Closure code.")
@json_option
@pass_session
def close_command(session: Session, incident_id: str, confirmed: bool | None,
                  satisfaction: int | None, comment: str | None, code: str,
                  as_json: bool) -> None:
    """Close a resolved incident."""
    incident = session.desk().close(incident_id, actor=session.actor, code=code,
                                    caller_confirmed=confirmed, satisfaction=satisfaction,
                                    satisfaction_comment=comment)
    rated = "" if satisfaction is None else f", satisfaction {satisfaction}/5"
    _done(incident, f"closed{rated}", as_json)


@click.command("reopen")
@click.argument("incident_id", metavar="ID")
@click.option("--reason", required=True, help="Why it is not fixed.")
@json_option
@pass_session
def reopen_command(session: Session, incident_id: str, reason: str, as_json: bool) -> None:
    """Reopen a resolved incident."""
    incident = session.desk().reopen(incident_id, actor=session.actor, reason=reason)
    _done(incident, f"reopened ({incident.reopen_count}x)", as_json)


@click.command("cancel")
@click.argument("incident_id", metavar="ID")
@click.option("--reason", required=True, help="Why (duplicate, logged in error, ...).")
@json_option
@pass_session
def cancel_command(session: Session, incident_id: str, reason: str, as_json: bool) -> None:
    """Cancel an open incident."""
    _done(session.desk().cancel(incident_id, actor=session.actor, reason=reason),
          "cancelled", as_json)


@click.command("escalate")
@click.argument("incident_id", metavar="ID")
@click.option("--reason", required=True, help="Why it needs escalating.")
@click.option("--hierarchical", is_flag=True,
              help="Inform management instead of moving the work to another group.")
@click.option("--group", help="Escalate to this group [default: the next tier].")
@json_option
@pass_session
def escalate_command(session: Session, incident_id: str, reason: str, hierarchical: bool,
                     group: str | None, as_json: bool) -> None:
    """Escalate an incident: functionally (to the next tier or --group) or --hierarchical."""
    if hierarchical and group is not None:
        raise click.UsageError("--group goes with a functional escalation, not --hierarchical")
    kind = EscalationKind.HIERARCHICAL if hierarchical else EscalationKind.FUNCTIONAL
    incident = session.desk().escalate(incident_id, actor=session.actor, reason=reason,
                                       kind=kind, group=group)
    message = ("escalated to management" if hierarchical else
               f"escalated to {incident.assignment_group} (tier {incident.support_tier})")
    _done(incident, message, as_json)


@click.command("priority")
@click.argument("incident_id", metavar="ID")
@click.option("--impact", help="New impact level or label.")
@click.option("--urgency", help="New urgency level or label.")
@click.option("--override", "level", metavar="LEVEL", help="Set the priority by hand.")
@click.option("--justification", help="Why the priority is overridden (with --override).")
@click.option("--clear", is_flag=True, help="Let the matrix decide the priority again.")
@json_option
@pass_session
def priority_command(session: Session, incident_id: str, impact: str | None,
                     urgency: str | None, level: str | None, justification: str | None,
                     clear: bool, as_json: bool) -> None:
    """Change the priority: through --impact/--urgency, or --override LEVEL --justification."""
    chosen = sum((impact is not None or urgency is not None, level is not None, clear))
    if chosen != 1:
        raise click.UsageError("give --impact/--urgency, or --override with --justification, "
                               "or --clear")
    desk = session.desk()
    if level is not None:
        if justification is None:
            raise click.UsageError("--override needs --justification")
        incident = desk.override_priority(incident_id, level, actor=session.actor,
                                          justification=justification)
    elif clear:
        incident = desk.clear_priority_override(incident_id, actor=session.actor)
    else:
        incident = desk.change_impact_urgency(incident_id, actor=session.actor, impact=impact,
                                              urgency=urgency)
    _done(incident, f"priority {incident.priority}", as_json)


@click.command("categorize")
@click.argument("incident_id", metavar="ID")
@click.argument("category")
@click.option("--reroute", is_flag=True, help="Reassign to the group the category routes to.")
@json_option
@pass_session
def categorize_command(session: Session, incident_id: str, category: str, reroute: bool,
                       as_json: bool) -> None:
    """Set the CATEGORY of an incident (a path such as Network/VPN)."""
    incident = session.desk().categorize(incident_id, category, actor=session.actor,
                                         reroute=reroute)
    _done(incident, f"categorized {incident.category} ({incident.assignment_group})", as_json)


COMMANDS: tuple[click.Command, ...] = (
    log_command, list_command, show_command, assign_command, start_command, hold_command,
    resume_command, note_command, resolve_command, close_command, reopen_command,
    cancel_command, escalate_command, priority_command, categorize_command,
)
