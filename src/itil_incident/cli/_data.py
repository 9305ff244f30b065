"""Records, clocks, events and reports as plain, JSON-ready dicts (``--json`` output).

Instants are ISO 8601 in UTC; durations are seconds (keys ending in ``_seconds``); levels are
``{"level": 2, "label": "High"}``; actors are their id; category paths their text.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import attrs
import click

from itil_incident._due_report import DueReport
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor, CategoryPath, Impact, Priority, Urgency
from itil_incident.policies.sla_clock import ClockState

__all__ = [
    "clock_data",
    "echo_json",
    "event_data",
    "incident_data",
    "plain",
    "problem_data",
    "report_data",
]

_BASE_EVENT_FIELDS = frozenset({"version", "at", "actor", "from_status", "to_status",
                                "incident_id", "problem_id"})


def plain(value: object) -> Any:
    """``value`` as JSON-ready data (see the module documentation)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (Impact, Urgency, Priority)):
        return {"level": value.level, "label": value.label}
    if isinstance(value, (CategoryPath, Actor)):
        return str(value) if isinstance(value, CategoryPath) else value.id
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(item) for item in value)
    if isinstance(value, (tuple, list)):
        return [plain(item) for item in value]
    if attrs.has(type(value)):
        record = cast(attrs.AttrsInstance, value)
        return {field.name: plain(getattr(record, field.name))
                for field in attrs.fields(type(record))}
    return str(value)


def incident_data(incident: Incident) -> dict[str, Any]:
    """Every public field of the incident."""
    data: dict[str, Any] = plain(incident.snapshot())
    data["links"] = [{"kind": plain(kind), "target": target} for kind, target in incident.links]
    data["notes"] = [{"at": plain(note.at), "author": note.author.id,
                      "visibility": note.visibility.value, "text": note.text}
                     for note in incident.notes]
    data["allowed"] = list(incident.allowed_triggers())
    return data


def problem_data(problem: Problem) -> dict[str, Any]:
    """Every public field of the problem."""
    data: dict[str, Any] = plain(problem.snapshot())
    data["notes"] = list(problem.notes)
    data["allowed"] = list(problem.allowed_triggers())
    return data


def clock_data(clock: ClockState) -> dict[str, Any]:
    """One SLA or OLA clock at one instant."""
    return {
        "metric": clock.metric.value,
        "agreement": clock.agreement,
        "group": clock.group,
        "status": clock.status.value,
        "priority": clock.priority,
        "policy_version": clock.policy_version,
        "target_seconds": clock.target.total_seconds(),
        "business_elapsed_seconds": clock.business_elapsed.total_seconds(),
        "wall_elapsed_seconds": clock.wall_elapsed.total_seconds(),
        "remaining_seconds": clock.remaining.total_seconds(),
        "percent_used": round(clock.percent_used, 2),
        "started_at": plain(clock.started_at),
        "stopped_at": plain(clock.stopped_at),
        "due_at": plain(clock.due_at),
        "cycle": clock.cycle,
        "stages_reached": [stage.fraction for stage in clock.stages if stage.reached],
    }


def event_data(event: DomainEvent) -> dict[str, Any]:
    """An event of a timeline: who, when, the status move, what changed and its own fields."""
    details = {field.name: plain(getattr(event, field.name))
               for field in attrs.fields(type(event)) if field.name not in _BASE_EVENT_FIELDS}
    return {
        "version": event.version,
        "name": event.name,
        "at": plain(event.at),
        "actor": event.actor.id,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "changes": {field: [plain(before), plain(after)]
                    for field, (before, after) in event.changes().items()},
        "details": details,
    }


def report_data(report: DueReport) -> dict[str, Any]:
    """What one ``process_due`` run did."""
    return {
        "at": plain(report.at),
        "examined": report.examined,
        "stages": [{"incident_id": s.incident_id, "metric": s.metric, "group": s.group,
                    "agreement": s.agreement, "fraction": s.fraction, "cycle": s.cycle,
                    "reached_at": plain(s.reached_at)} for s in report.stages],
        "escalations": [{"incident_id": e.incident_id, "rule": e.rule,
                         "kind": e.event.kind.value,
                         "assignment_group": e.event.assignment_group,
                         "notified_role": e.event.notified_role} for e in report.escalations],
        "priority_raises": [{"incident_id": r.incident_id, "rule": r.rule,
                             "priority": plain(r.event.priority)}
                            for r in report.priority_raises],
        "auto_closes": [event.incident_id for event in report.auto_closes],
        "reminders": [{"incident_id": r.incident_id, "kind": r.kind, "number": r.number}
                      for r in report.reminders],
        "skipped": [{"incident_id": s.incident_id, "rule": s.rule, "reason": s.reason}
                    for s in report.skipped],
    }


def echo_json(data: object) -> None:
    """Print ``data`` as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
