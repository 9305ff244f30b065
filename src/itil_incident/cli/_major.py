"""Major-incident commands: ``itil-incident major ...``.

Accepting or rejecting a proposal needs the major-incident policy's manager role
(``incident_manager`` by default): ``itil-incident --role incident_manager major accept ID``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._blocks import major_data, major_table, review_timeline_table
from itil_incident.cli._data import echo_json, incident_data, plain
from itil_incident.cli._render import console
from itil_incident.domain.incident import Incident
from itil_incident.domain.major import MajorStatus, UpdateAudience

__all__ = ["major_group"]

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (instants in UTC).")


def _done(session: Session, incident: Incident, message: str, as_json: bool) -> None:
    """Report a change: one line, or the incident with its major-incident block as JSON."""
    if as_json:
        data = incident_data(incident)
        data["major"] = major_data(incident, session.desk().status_update_due(incident.id))
        echo_json(data)
    else:
        major = incident.major_status or "not major"
        console().print(f"{incident.id} {message} (major {major}, version {incident.version})")


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise click.BadParameter("give an ISO 8601 instant with its offset, such as "
                                 "2026-03-09T17:00:00+01:00")
    return instant.astimezone(UTC)


@click.group("major")
def major_group() -> None:
    """Major incidents: proposal and decision, roles, status updates, the post-incident
    review and its actions."""


@major_group.command("propose")
@click.argument("incident_id", metavar="ID")
@click.option("--reason", required=True, help="Why it is a major incident.")
@click.option("--evidence", multiple=True, metavar="ID",
              help="A related incident (repeatable).")
@json_option
@pass_session
def propose_command(session: Session, incident_id: str, reason: str,
                    evidence: tuple[str, ...], as_json: bool) -> None:
    """Propose an open incident as a major incident."""
    incident = session.desk().propose_major(incident_id, actor=session.actor, reason=reason,
                                            evidence=evidence)
    _done(session, incident, "proposed as a major incident", as_json)


@major_group.command("accept")
@click.argument("incident_id", metavar="ID")
@json_option
@pass_session
def accept_command(session: Session, incident_id: str, as_json: bool) -> None:
    """Accept the proposal (needs the manager role: --role incident_manager)."""
    incident = session.desk().accept_major(incident_id, actor=session.actor)
    review = ", review required before closure" if incident.awaits_review else ""
    _done(session, incident, f"accepted as a major incident{review}", as_json)


@major_group.command("reject")
@click.argument("incident_id", metavar="ID")
@click.option("--reason", required=True, help="Why it is not a major incident.")
@json_option
@pass_session
def reject_command(session: Session, incident_id: str, reason: str, as_json: bool) -> None:
    """Reject the proposal (needs the manager role: --role incident_manager)."""
    incident = session.desk().reject_major(incident_id, actor=session.actor, reason=reason)
    _done(session, incident, "rejected as a major incident", as_json)


@major_group.command("role")
@click.argument("incident_id", metavar="ID")
@click.argument("role")
@click.argument("person")
@json_option
@pass_session
def role_command(session: Session, incident_id: str, role: str, person: str,
                 as_json: bool) -> None:
    """Give ROLE (commander, communications_lead, scribe, resolver_group) to PERSON; a role
    held by one person at a time is handed over."""
    incident = session.desk().assign_major_role(incident_id, role, person,
                                                actor=session.actor)
    _done(session, incident, f"{role}: {', '.join(incident.role_holders(role))}", as_json)


@major_group.command("release")
@click.argument("incident_id", metavar="ID")
@click.argument("role")
@click.argument("person")
@json_option
@pass_session
def release_command(session: Session, incident_id: str, role: str, person: str,
                    as_json: bool) -> None:
    """PERSON no longer holds ROLE, and nobody takes over."""
    incident = session.desk().release_major_role(incident_id, role, person,
                                                 actor=session.actor)
    _done(session, incident, f"{person} released from {role}", as_json)


@major_group.command("update")
@click.argument("incident_id", metavar="ID")
@click.argument("text")
@click.option("--audience", type=click.Choice([a.value for a in UpdateAudience]),
              default=UpdateAudience.STAKEHOLDERS.value, show_default=True,
              help="Who the update is written for.")
@json_option
@pass_session
def update_command(session: Session, incident_id: str, text: str, audience: str,
                   as_json: bool) -> None:
    """Post a status update TEXT of an accepted major incident; the cadence counts from it."""
    desk = session.desk()
    incident = desk.post_status_update(incident_id, audience, text, actor=session.actor)
    due = desk.status_update_due(incident.id)
    following = "" if due is None else f", next due {due.isoformat()}"
    _done(session, incident, f"status update {incident.status_update_count} posted to "
                             f"{audience}{following}", as_json)


@major_group.command("review")
@click.argument("incident_id", metavar="ID")
@click.option("--impact", required=True, help="What the outage did to the business.")
@click.option("--root-cause", required=True, help="Why it happened.")
@click.option("--went-well", help="What went well.")
@click.option("--went-badly", help="What went badly.")
@json_option
@pass_session
def review_command(session: Session, incident_id: str, impact: str, root_cause: str,
                   went_well: str | None, went_badly: str | None, as_json: bool) -> None:
    """Record (or revise) the post-incident review."""
    incident = session.desk().record_review(incident_id, actor=session.actor, impact=impact,
                                            root_cause=root_cause, went_well=went_well,
                                            went_badly=went_badly)
    revision = 0 if incident.review is None else incident.review.revision
    _done(session, incident, f"review recorded (revision {revision})", as_json)


@major_group.command("action-add")
@click.argument("incident_id", metavar="ID")
@click.argument("description")
@click.option("--owner", required=True, help="Who carries the action out.")
@click.option("--due", required=True, callback=_instant, metavar="INSTANT",
              help="When it is due (ISO 8601 with offset).")
@json_option
@pass_session
def action_add_command(session: Session, incident_id: str, description: str, owner: str,
                       due: datetime, as_json: bool) -> None:
    """Add an improvement action of the review, with its owner and due date."""
    incident = session.desk().add_review_action(incident_id, description,
                                                actor=session.actor, owner=owner, due_at=due)
    action = incident.review_actions[-1]
    _done(session, incident, f"action {action.action_id} added for {action.owner}", as_json)


@major_group.command("action-done")
@click.argument("incident_id", metavar="ID")
@click.argument("action_id", metavar="ACTION")
@json_option
@pass_session
def action_done_command(session: Session, incident_id: str, action_id: str,
                        as_json: bool) -> None:
    """Mark a review ACTION (A1, A2, ...) as done."""
    incident = session.desk().complete_review_action(incident_id, action_id,
                                                     actor=session.actor)
    left = len(incident.open_review_actions)
    _done(session, incident, f"action {action_id} done ({left} open)", as_json)


@major_group.command("timeline")
@click.argument("incident_id", metavar="ID")
@json_option
@pass_session
def timeline_command(session: Session, incident_id: str, as_json: bool) -> None:
    """The incident's timeline for its post-incident review, built from its history."""
    entries = session.desk().review_timeline(incident_id)
    if as_json:
        echo_json([plain(entry) for entry in entries])
    else:
        console().print(review_timeline_table(entries))


@major_group.command("list")
@click.option("--status", type=click.Choice([s.value for s in MajorStatus]),
              help="Only proposed, accepted or rejected ones.")
@click.option("--open/--closed", "open_", default=None,
              help="Only open incidents, or only resolved, closed and cancelled ones.")
@json_option
@pass_session
def list_command(session: Session, status: str | None, open_: bool | None,
                 as_json: bool) -> None:
    """List the incidents proposed, accepted or rejected as major, by id."""
    desk = session.desk()
    incidents = desk.major_incidents(status=status, open=open_)
    if as_json:
        echo_json([incident_data(incident)
                   | {"major": major_data(incident, desk.status_update_due(incident.id))}
                   for incident in incidents])
    else:
        console().print(major_table(incidents))
