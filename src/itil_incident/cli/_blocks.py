"""The major-incident, alert-group and family blocks of an incident: as JSON-ready data
(``show --json``, ``major ... --json``) and as rich renderables (``show``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from itil_incident.alerts import AlertGroup
from itil_incident.cli._data import plain
from itil_incident.cli._render import _fields, table_with, when
from itil_incident.desk import ServiceDesk
from itil_incident.domain.incident import Incident
from itil_incident.domain.major import TimelineEntry
from itil_incident.errors import NotFoundError

__all__ = [
    "alert_group_data",
    "alert_group_of",
    "alert_groups_table",
    "extras_data",
    "extras_view",
    "family_data",
    "major_data",
    "major_table",
    "review_timeline_table",
]


def major_data(incident: Incident, update_due: datetime | None) -> dict[str, Any] | None:
    """The major-incident block of ``incident`` (None: never proposed as major)."""
    if incident.major_status is None:
        return None
    proposal = incident.major_proposal
    last = incident.status_updates[-1] if incident.status_updates else None
    review = incident.review
    return {
        "status": incident.major_status.value,
        "basis": None if proposal is None else proposal.basis.value,
        "reason": None if proposal is None else proposal.reason,
        "evidence": [] if proposal is None else list(proposal.evidence),
        "accepted_at": plain(incident.major_accepted_at),
        "review_required": incident.major_review_required,
        "awaits_review": incident.awaits_review,
        "roles": [{"role": role, "holder": holder} for role, holder in incident.major_roles],
        "status_updates": incident.status_update_count,
        "last_update": None if last is None else {
            "at": plain(last.at), "audience": last.audience.value, "text": last.text,
            "by": last.actor.id},
        "updates_missed": len(incident.status_updates_missed),
        "next_update_due": plain(update_due),
        "review": None if review is None else plain(review),
        "actions": [plain(action) | {"done": action.is_done}
                    for action in incident.review_actions],
    }


def alert_group_of(desk: ServiceDesk, incident: Incident) -> AlertGroup | None:
    """The alert group whose key the incident holds (None: it holds none)."""
    key = incident.alert_key
    if key is None:
        return None
    try:
        return desk.alert_group(key)
    except NotFoundError:
        return None


def alert_group_data(group: AlertGroup) -> dict[str, Any]:
    """One alert group: its key, incident, current alerts and lifetime outcome counts."""
    return {
        "dedup_key": group.dedup_key,
        "source": group.source,
        "incident_id": group.incident_id,
        "count": group.count,
        "first_seen": plain(group.first_seen),
        "last_seen": plain(group.last_seen),
        "highest": None if group.highest is None else group.highest.value,
        "firing": group.firing,
        "flapping": group.flapping,
        "held_since": plain(group.held_since),
        "outcomes": {kind.value: count for kind, count in group.outcome_counts().items()},
        "total": group.total,
    }


def family_data(incident: Incident) -> dict[str, Any]:
    """Parent, children, duplicates and known-error workarounds of the incident."""
    return {
        "parent_id": incident.parent_id,
        "child_ids": list(incident.child_ids),
        "duplicate_of": incident.duplicate_of,
        "duplicate_ids": list(incident.duplicate_ids),
        "workaround_offers": [{"problem_id": offer.problem_id, "workaround": offer.workaround,
                               "score": offer.score, "reasons": list(offer.reasons),
                               "at": plain(offer.at)} for offer in incident.workaround_offers],
        "workarounds_applied": [{"problem_id": applied.problem_id,
                                 "workaround": applied.workaround, "at": plain(applied.at),
                                 "by": applied.actor.id}
                                for applied in incident.applied_workarounds],
    }


def extras_data(desk: ServiceDesk, incident: Incident) -> dict[str, Any]:
    """The blocks ``show --json`` adds: ``major``, ``alert_group`` and ``family``."""
    group = alert_group_of(desk, incident)
    return {
        "major": major_data(incident, desk.status_update_due(incident.id)),
        "alert_group": None if group is None else alert_group_data(group),
        "family": family_data(incident),
    }


def _major_view(incident: Incident, update_due: datetime | None,
                now: datetime) -> RenderableType:
    data = major_data(incident, update_due) or {}
    last = incident.status_updates[-1] if incident.status_updates else None
    review = incident.review
    due = None
    if update_due is not None:
        due = Text(when(update_due) + ("  OVERDUE" if update_due <= now else ""),
                   style="bold red" if update_due <= now else "")
    roles = "; ".join(f"{role}: {holder}" for role, holder in incident.major_roles)
    grid = _fields([
        ("Major incident", Text(data["status"], style="bold red"
                                if data["status"] == "accepted" else "bold")),
        ("Proposed", None if data["basis"] is None else f"{data['basis']}: {data['reason']}"
         + (f" (evidence {', '.join(data['evidence'])})" if data["evidence"] else "")),
        ("Accepted", None if incident.major_accepted_at is None
         else when(incident.major_accepted_at)),
        ("Roles", roles or None),
        ("Status updates", None if incident.major_accepted_at is None else
         f"{incident.status_update_count} posted, {data['updates_missed']} missed"),
        ("Last update", None if last is None else
         f"{when(last.at)} to {last.audience.value} by {last.actor.id}: {last.text}"),
        ("Next update due", due),
        ("Review", ("required, not recorded yet" if incident.awaits_review else None)
         if review is None else
         f"impact: {review.impact}; root cause: {review.root_cause}"
         + (f"; went well: {review.went_well}" if review.went_well else "")
         + (f"; went badly: {review.went_badly}" if review.went_badly else "")),
    ])
    if not incident.review_actions:
        return grid
    actions = table_with("Review actions")
    for name in ("Action", "Description", "Owner", "Due", "Done"):
        actions.add_column(name, no_wrap=name != "Description")
    for action in incident.review_actions:
        done = ("-" if action.completed_at is None
                else f"{when(action.completed_at)} by {action.completed_by}")
        overdue = action.is_overdue(now)
        actions.add_row(action.action_id, action.description, action.owner,
                        Text(when(action.due_at), style="red" if overdue else ""), done)
    return Group(grid, actions)


def _alert_view(group: AlertGroup) -> RenderableType:
    state = "flapping (held)" if group.flapping else ("firing" if group.firing else "recovered")
    return _fields([
        ("Alert group", Text(group.dedup_key, style="bold")),
        ("Alerts", f"{group.count} from {group.source}, highest severity "
                   f"{'-' if group.highest is None else group.highest.value}, {state}"),
        ("Seen", f"first {when(group.first_seen)}, last {when(group.last_seen)}"),
    ])


def _family_view(incident: Incident) -> RenderableType | None:
    rows: list[tuple[str, Any]] = [
        ("Duplicate of", incident.duplicate_of),
        ("Duplicates", ", ".join(incident.duplicate_ids)),
    ]
    for offer in incident.workaround_offers:
        rows.append((f"Workaround offered ({offer.problem_id}, score {offer.score})",
                     f"{offer.workaround} [{'; '.join(offer.reasons)}]"))
    for applied in incident.applied_workarounds:
        rows.append((f"Workaround applied ({applied.problem_id})",
                     f"{applied.workaround} ({when(applied.at)} by {applied.actor.id})"))
    if all(value in (None, "") for _label, value in rows):
        return None
    return _fields(rows)


def extras_view(desk: ServiceDesk, incident: Incident, now: datetime
                ) -> list[RenderableType]:
    """The blocks ``show`` adds after the fields, when the incident has them."""
    parts: list[RenderableType] = []
    if incident.major_status is not None:
        parts.append(_major_view(incident, desk.status_update_due(incident.id), now))
    group = alert_group_of(desk, incident)
    if group is not None:
        parts.append(_alert_view(group))
    family = _family_view(incident)
    if family is not None:
        parts.append(family)
    return parts


def major_table(incidents: Sequence[Incident]) -> Table:
    """One row per major incident (proposed, accepted or rejected)."""
    table = table_with(f"{len(incidents)} major incident(s)")
    for name in ("ID", "Major", "Status", "Priority", "Title", "Commander", "Updates",
                 "Review"):
        table.add_column(name, no_wrap=name not in ("Title",))
    for incident in incidents:
        commander = ", ".join(incident.role_holders("commander")) or "-"
        review = ("done" if incident.review is not None else
                  "required" if incident.awaits_review else "-")
        table.add_row(incident.id, str(incident.major_status), incident.status,
                      f"{incident.priority.level} {incident.priority.label}".strip(),
                      incident.title, commander, str(incident.status_update_count), review)
    return table


def review_timeline_table(entries: Sequence[TimelineEntry]) -> Table:
    """The post-incident review's timeline."""
    table = table_with("Review timeline")
    for name in ("When", "Event", "By", "What"):
        table.add_column(name, no_wrap=name != "What", overflow="fold")
    for entry in entries:
        table.add_row(when(entry.at), entry.kind, entry.actor or "-", entry.summary)
    return table


def alert_groups_table(groups: Sequence[AlertGroup]) -> Table:
    """One row per alert group."""
    table = table_with(f"{len(groups)} alert group(s)")
    for name in ("Key", "Source", "Incident", "Count", "Highest", "State", "First seen",
                 "Last seen", "Total"):
        table.add_column(name, no_wrap=True)
    for group in groups:
        state = ("flapping" if group.flapping else "firing" if group.firing else "clear")
        table.add_row(group.dedup_key, group.source, group.incident_id or "-",
                      str(group.count), "-" if group.highest is None else group.highest.value,
                      Text(state, style="bold red" if group.flapping else ""),
                      when(group.first_seen), when(group.last_seen), str(group.total))
    return table
