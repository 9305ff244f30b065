"""The incident as an event saw it: the values subscriptions and templates work from.

Fields come from the incident as loaded, overlaid with the "after" values of the fields the
event changed (so an ``incident.assigned`` notification names the assignee of that
assignment, even when a later change is already stored). ``status``, ``event``, ``actor``,
``at`` and ``version`` come from the event itself.
"""

from __future__ import annotations

from datetime import datetime
from string import Template as _StringTemplate
from typing import Any
from urllib.parse import quote

from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.errors import DefinitionError, ValidationError

__all__ = ["FIELDS", "check_url_pattern", "snapshot", "text_values"]

_INCIDENT_FIELDS = (
    "title", "description", "service", "caller", "assignee", "assignment_group", "priority",
    "impact", "urgency", "category", "hold_reason", "resolution_code", "resolution_notes",
)

#: Every ``$field`` a template may use; nothing else can be reached from a template.
FIELDS: frozenset[str] = frozenset(
    {*_INCIDENT_FIELDS, "id", "status", "previous_status", "event", "actor", "at", "version",
     "url"}
)


def snapshot(event: DomainEvent, incident: Incident) -> dict[str, Any]:
    """The raw values of :data:`FIELDS` (``url`` aside) as of ``event``."""
    if event.aggregate_id != incident.id:
        raise ValidationError(
            f"event of {event.aggregate_id} paired with incident {incident.id}", field="incident")
    values: dict[str, Any] = {name: getattr(incident, name, None) for name in _INCIDENT_FIELDS}
    for field, (_before, after) in event.changes().items():
        if field in values:
            values[field] = after
    values.update(
        id=event.aggregate_id, status=event.to_status, previous_status=event.from_status,
        event=event.name, actor=event.actor, at=event.at, version=event.version,
    )
    return values


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def check_url_pattern(pattern: str | None) -> _StringTemplate | None:
    """A link pattern such as ``https://desk.example/incidents/$id``; only ``$id`` is allowed."""
    if pattern is None:
        return None
    if not isinstance(pattern, str):
        raise DefinitionError("the incident link must be a string", culprit="incident_url")
    template = _StringTemplate(pattern)
    if not template.is_valid() or set(template.get_identifiers()) - {"id"}:
        raise DefinitionError(
            f"the incident link may only use $id: {pattern!r}", culprit="incident_url")
    return template


def text_values(values: dict[str, Any], link: _StringTemplate | None) -> dict[str, str]:
    """Every field of :data:`FIELDS` as text ('' for none), with ``url`` built from ``link``."""
    result = {name: _text(values.get(name)) for name in FIELDS}
    if link is not None:
        result["url"] = link.substitute(id=quote(result["id"], safe=""))
    return result
