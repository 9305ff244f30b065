"""Incident events: frozen, past-tense records of every change.

Each event carries who (``actor``), when (``at``), the ``version`` it produced and the status
before and after (``from_status``, ``to_status``; equal when the status did not move), plus the
fields it changed with their previous values. ``changes()`` gives what changed as
``{field: (before, after)}``.

An event also knows how to fold itself into an incident (``apply``): the entity's state is, by
construction, the fold of its history, and :meth:`Incident.from_history` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from itil_incident.domain.values import (
    Actor,
    CategoryPath,
    Channel,
    CustomValue,
    EscalationKind,
    Impact,
    LinkKind,
    NoteVisibility,
    Priority,
    Satisfaction,
    Urgency,
)

if TYPE_CHECKING:
    from itil_incident.domain.incident import Incident

__all__ = [
    "DomainEvent",
    "IncidentAssigned",
    "IncidentCancelled",
    "IncidentCategorized",
    "IncidentChildLinked",
    "IncidentChildUnlinked",
    "IncidentClosed",
    "IncidentCustomAttributeSet",
    "IncidentDetailsUpdated",
    "IncidentEscalated",
    "IncidentEvent",
    "IncidentLinkAdded",
    "IncidentLinkRemoved",
    "IncidentLinkedToProblem",
    "IncidentLogged",
    "IncidentNoteAdded",
    "IncidentParentSet",
    "IncidentPriorityOverridden",
    "IncidentPriorityOverrideCleared",
    "IncidentPutOnHold",
    "IncidentReopened",
    "IncidentReminderSent",
    "IncidentReprioritized",
    "IncidentResolved",
    "IncidentResumed",
    "IncidentSlaStageReached",
    "IncidentTransitioned",
    "IncidentUnlinkedFromProblem",
    "IncidentWorkStarted",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class DomainEvent:
    """Base of every event: who (``actor``), when (``at``), the ``version`` it produced and the
    status before and after.

    ``name`` (a class attribute) is the stable, dotted event name used in notifications and
    storage, such as ``"incident.assigned"``.
    """

    name: ClassVar[str] = "event"
    #: (field on the entity, attribute of the event holding its new value, attribute holding
    #: the previous value or ""); drives ``changes()`` and the default fold.
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    version: int
    at: datetime
    actor: Actor
    from_status: str
    to_status: str

    @property
    def aggregate_id(self) -> str:
        """The id of the incident or problem this event belongs to."""
        raise NotImplementedError

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """What this event changed: ``{field: (before, after)}``."""
        result: dict[str, tuple[Any, Any]] = {}
        if self.from_status != self.to_status:
            result["status"] = (self.from_status, self.to_status)
        for field, after, before in self._fields:
            old = getattr(self, before) if before else None
            new = getattr(self, after)
            if old != new:
                result[field] = (old, new)
        return result

    def _fold(self, entity: Any) -> None:
        entity.status = self.to_status
        entity.updated_at = self.at
        for field, after, _before in self._fields:
            setattr(entity, field, getattr(self, after))


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentEvent(DomainEvent):
    """Base of every incident event."""

    name: ClassVar[str] = "incident.event"
    incident_id: str

    @property
    def aggregate_id(self) -> str:
        return self.incident_id

    def apply(self, incident: Incident) -> None:
        """Fold this event into ``incident`` (used by the entity; do not call directly)."""
        self._fold(incident)


def _pairs(value: Mapping[str, CustomValue] | tuple[tuple[str, CustomValue], ...]
           ) -> tuple[tuple[str, CustomValue], ...]:
    if not value:
        return ()
    if isinstance(value, Mapping):
        return tuple(sorted(value.items()))
    return value


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentLogged(IncidentEvent):
    """The incident was logged: the event holds its whole initial state."""

    name: ClassVar[str] = "incident.logged"

    workflow: str
    title: str
    description: str
    service: str | None
    configuration_items: tuple[str, ...]
    caller: str | None
    channel: Channel
    occurred_at: datetime | None
    detected_at: datetime | None
    category: CategoryPath | None
    category_rule: str | None
    impact: Impact
    urgency: Urgency
    priority: Priority
    assignment_group: str | None
    support_tier: int | None
    routing_rule: str | None
    custom: tuple[tuple[str, CustomValue], ...] = attrs.field(default=(), converter=_pairs)

    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = tuple(
        (f, f, "")
        for f in (
            "title", "description", "service", "configuration_items", "caller", "channel",
            "occurred_at", "detected_at", "category", "impact", "urgency", "priority",
            "assignment_group", "support_tier",
        )
    )

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["status"] = (None, self.to_status)
        for key, value in self.custom:
            result[f"custom.{key}"] = (None, value)
        return result

    def apply(self, incident: Incident) -> None:
        # Written out (not the generic fold): every incident starts here.
        incident.id = self.incident_id
        incident.workflow_name = self.workflow
        incident.status = self.to_status
        incident.logged_at = incident.updated_at = self.at
        incident.logged_by = self.actor
        incident.custom = dict(self.custom)
        incident.title = self.title
        incident.description = self.description
        incident.service = self.service
        incident.configuration_items = self.configuration_items
        incident.caller = self.caller
        incident.channel = self.channel
        incident.occurred_at = self.occurred_at
        incident.detected_at = self.detected_at
        incident.category = self.category
        incident.impact = self.impact
        incident.urgency = self.urgency
        incident.priority = self.priority
        incident.assignment_group = self.assignment_group
        incident.support_tier = self.support_tier


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentDetailsUpdated(IncidentEvent):
    """Descriptive fields changed (title, description, service, configuration items, caller,
    occurred / detected times): ``updates`` holds ``(field, before, after)`` triples."""

    name: ClassVar[str] = "incident.details_updated"
    updates: tuple[tuple[str, Any, Any], ...]

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        for field, before, after in self.updates:
            result[field] = (before, after)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        for field, _before, after in self.updates:
            setattr(incident, field, after)


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentCategorized(IncidentEvent):
    """The category was set or changed; ``rule`` names the categorization rule, if any."""

    name: ClassVar[str] = "incident.categorized"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("category", "category", "previous_category"),
    )
    category: CategoryPath
    previous_category: CategoryPath | None
    rule: str | None = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentReprioritized(IncidentEvent):
    """Impact or urgency changed, and with them the priority (unless overridden)."""

    name: ClassVar[str] = "incident.reprioritized"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("impact", "impact", "previous_impact"),
        ("urgency", "urgency", "previous_urgency"),
        ("priority", "priority", "previous_priority"),
    )
    impact: Impact
    urgency: Urgency
    priority: Priority
    previous_impact: Impact
    previous_urgency: Urgency
    previous_priority: Priority


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentPriorityOverridden(IncidentEvent):
    """Someone set the priority by hand, with a justification."""

    name: ClassVar[str] = "incident.priority_overridden"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("priority", "priority", "previous_priority"),
        ("priority_justification", "justification", "previous_justification"),
    )
    priority: Priority
    previous_priority: Priority
    justification: str
    previous_justification: str | None = None

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.priority_overridden = True


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentPriorityOverrideCleared(IncidentEvent):
    """The manual priority was withdrawn; the matrix decides again."""

    name: ClassVar[str] = "incident.priority_override_cleared"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("priority", "priority", "previous_priority"),
    )
    priority: Priority
    previous_priority: Priority
    previous_justification: str | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        if self.previous_justification is not None:
            result["priority_justification"] = (self.previous_justification, None)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.priority_overridden = False
        incident.priority_justification = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentAssigned(IncidentEvent):
    """The assignment group, assignee or tier changed.

    A change of group after the first one counts as a reassignment (a "hop").
    """

    name: ClassVar[str] = "incident.assigned"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("assignment_group", "assignment_group", "previous_assignment_group"),
        ("assignee", "assignee", "previous_assignee"),
        ("support_tier", "support_tier", "previous_support_tier"),
    )
    assignment_group: str | None
    assignee: str | None
    support_tier: int | None
    previous_assignment_group: str | None
    previous_assignee: str | None
    previous_support_tier: int | None

    def apply(self, incident: Incident) -> None:
        # Written out (not the generic fold): this is the hot path of every lifecycle.
        incident.status = self.to_status
        incident.updated_at = self.at
        incident.assignment_group = self.assignment_group
        incident.assignee = self.assignee
        incident.support_tier = self.support_tier
        if (
            self.previous_assignment_group is not None
            and self.assignment_group != self.previous_assignment_group
        ):
            incident.reassignment_count += 1


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentWorkStarted(IncidentEvent):
    """Work started; when nobody was assigned, the actor took the incident."""

    name: ClassVar[str] = "incident.work_started"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("assignee", "assignee", "previous_assignee"),
    )
    assignee: str | None
    previous_assignee: str | None

    def apply(self, incident: Incident) -> None:
        incident.status = self.to_status
        incident.updated_at = self.at
        incident.assignee = self.assignee


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentPutOnHold(IncidentEvent):
    """The incident waits for someone else; ``hold_reason`` says for whom."""

    name: ClassVar[str] = "incident.put_on_hold"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (("hold_reason", "hold_reason", ""),)
    hold_reason: str

    def apply(self, incident: Incident) -> None:
        incident.status = self.to_status
        incident.updated_at = self.at
        incident.hold_reason = self.hold_reason


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentResumed(IncidentEvent):
    """Work resumed after a hold (``awaited_problem``: because that problem was resolved)."""

    name: ClassVar[str] = "incident.resumed"
    previous_hold_reason: str | None
    # problem resolution: the problem whose resolution ended the wait, if that was the cause
    awaited_problem: str | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["hold_reason"] = (self.previous_hold_reason, None)
        return result

    def apply(self, incident: Incident) -> None:
        incident.status = self.to_status
        incident.updated_at = self.at
        incident.hold_reason = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentNoteAdded(IncidentEvent):
    """A work note (support staff only) or a comment (visible to the caller) was added."""

    name: ClassVar[str] = "incident.note_added"
    text: str
    visibility: NoteVisibility

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result[str(self.visibility)] = (None, self.text)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentResolved(IncidentEvent):
    """Service was restored; the resolution is documented.

    ``cascaded_from`` names the parent incident whose resolution resolved this child (with the
    parent's code and notes); ``awaited_problem`` the problem whose resolution resolved this
    incident, which was on hold awaiting it. Both are None for a resolution by hand.
    """

    name: ClassVar[str] = "incident.resolved"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("resolution_code", "resolution_code", ""),
        ("resolution_notes", "resolution_notes", ""),
    )
    resolution_code: str
    resolution_notes: str
    previous_hold_reason: str | None = None
    # parent/child cascade and problem resolution: why the incident was resolved, if not by hand
    cascaded_from: str | None = None
    awaited_problem: str | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        if self.previous_hold_reason is not None:
            result["hold_reason"] = (self.previous_hold_reason, None)
        return result

    def apply(self, incident: Incident) -> None:
        incident.status = self.to_status
        incident.updated_at = incident.resolved_at = self.at
        incident.resolution_code = self.resolution_code
        incident.resolution_notes = self.resolution_notes
        incident.resolved_by = self.actor.id
        incident.hold_reason = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentClosed(IncidentEvent):
    """The incident was closed; the caller's confirmation and satisfaction are recorded."""

    name: ClassVar[str] = "incident.closed"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("closure_code", "closure_code", ""),
        ("caller_confirmed", "caller_confirmed", ""),
        ("satisfaction", "satisfaction", ""),
    )
    closure_code: str
    caller_confirmed: bool | None
    satisfaction: Satisfaction | None

    def apply(self, incident: Incident) -> None:
        incident.status = self.to_status
        incident.updated_at = incident.closed_at = self.at
        incident.closure_code = self.closure_code
        incident.caller_confirmed = self.caller_confirmed
        incident.satisfaction = self.satisfaction


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentReopened(IncidentEvent):
    """The caller (or support) found the resolution did not hold; counts a reopen.

    The previous resolution is cleared and kept here.
    """

    name: ClassVar[str] = "incident.reopened"
    reason: str
    previous_resolution_code: str | None
    previous_resolution_notes: str | None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["resolution_code"] = (self.previous_resolution_code, None)
        result["resolution_notes"] = (self.previous_resolution_notes, None)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.reopen_count += 1
        incident.resolution_code = None
        incident.resolution_notes = None
        incident.resolved_at = None
        incident.resolved_by = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentCancelled(IncidentEvent):
    """The incident was cancelled (logged in error, not an incident, ...)."""

    name: ClassVar[str] = "incident.cancelled"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("cancellation_reason", "reason", ""),
    )
    reason: str
    previous_hold_reason: str | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        if self.previous_hold_reason is not None:
            result["hold_reason"] = (self.previous_hold_reason, None)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.closed_at = self.at
        incident.hold_reason = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentEscalated(IncidentEvent):
    """Escalated functionally (to another group or tier: a reassignment) or hierarchically
    (management informed: ``notified_role``)."""

    name: ClassVar[str] = "incident.escalated"
    kind: EscalationKind
    reason: str
    assignment_group: str | None
    support_tier: int | None
    previous_assignment_group: str | None
    previous_support_tier: int | None
    previous_assignee: str | None
    notified_role: str | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        if self.kind is EscalationKind.FUNCTIONAL:
            for field, before, after in (
                ("assignment_group", self.previous_assignment_group, self.assignment_group),
                ("support_tier", self.previous_support_tier, self.support_tier),
                ("assignee", self.previous_assignee, None),
            ):
                if before != after:
                    result[field] = (before, after)
        else:
            result["notified_role"] = (None, self.notified_role)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        if self.kind is EscalationKind.FUNCTIONAL:
            incident.functional_escalations += 1
            incident.assignment_group = self.assignment_group
            incident.support_tier = self.support_tier
            incident.assignee = None
            if self.previous_assignment_group is not None:
                incident.reassignment_count += 1
        else:
            incident.hierarchical_escalations += 1


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentTransitioned(IncidentEvent):
    """A workflow trigger with no dedicated command fired (host-defined workflows)."""

    name: ClassVar[str] = "incident.transitioned"
    trigger: str


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentLinkedToProblem(IncidentEvent):
    """The incident was linked to the problem that causes it."""

    name: ClassVar[str] = "incident.linked_to_problem"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("problem_id", "problem_id", "previous_problem_id"),
    )
    problem_id: str
    previous_problem_id: str | None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentUnlinkedFromProblem(IncidentEvent):
    """The link to a problem was removed."""

    name: ClassVar[str] = "incident.unlinked_from_problem"
    previous_problem_id: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["problem_id"] = (self.previous_problem_id, None)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.problem_id = None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentLinkAdded(IncidentEvent):
    """A link to a change or a related incident was added."""

    name: ClassVar[str] = "incident.link_added"
    link_kind: LinkKind
    target: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result[f"links.{self.link_kind}"] = (None, self.target)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.links = (*incident.links, (self.link_kind, self.target))


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentLinkRemoved(IncidentEvent):
    """A link to a change or a related incident was removed."""

    name: ClassVar[str] = "incident.link_removed"
    link_kind: LinkKind
    target: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result[f"links.{self.link_kind}"] = (self.target, None)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.links = tuple(
            link for link in incident.links if link != (self.link_kind, self.target)
        )


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentParentSet(IncidentEvent):
    """The incident became a child of ``parent_id`` (None: no parent any more)."""

    name: ClassVar[str] = "incident.parent_set"
    _fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("parent_id", "parent_id", "previous_parent_id"),
    )
    parent_id: str | None
    previous_parent_id: str | None


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentChildLinked(IncidentEvent):
    """``child_id`` became a child of this incident."""

    name: ClassVar[str] = "incident.child_linked"
    child_id: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["child_ids"] = (None, self.child_id)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.child_ids = (*incident.child_ids, self.child_id)


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentChildUnlinked(IncidentEvent):
    """``child_id`` is no longer a child of this incident."""

    name: ClassVar[str] = "incident.child_unlinked"
    child_id: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["child_ids"] = (self.child_id, None)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.child_ids = tuple(c for c in incident.child_ids if c != self.child_id)


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentCustomAttributeSet(IncidentEvent):
    """A host-defined attribute was set (``value`` None removes it)."""

    name: ClassVar[str] = "incident.custom_attribute_set"
    attribute: str
    value: CustomValue
    previous_value: CustomValue

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result[f"custom.{self.attribute}"] = (self.previous_value, self.value)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        custom = dict(incident.custom)
        if self.value is None:
            custom.pop(self.attribute, None)
        else:
            custom[self.attribute] = self.value
        incident.custom = custom


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentSlaStageReached(IncidentEvent):
    """An SLA clock (``group`` None) or the OLA clock of support group ``group`` reached an
    alert stage: ``fraction`` of its target (1.0 = 100 %) in clock cycle ``cycle``.

    ``reached_at`` is when the stage was reached, which may be before ``at`` (when it was
    recorded); ``due_at`` is the clock's deadline as it stood then (None while paused). A
    history holds at most one such event per metric, group, cycle and fraction.
    """

    name: ClassVar[str] = "incident.sla_stage_reached"
    metric: str
    group: str | None
    agreement: str
    cycle: int
    fraction: float
    reached_at: datetime
    due_at: datetime | None

    @property
    def key(self) -> tuple[str, str | None, int, float]:
        """What identifies the stage in a history: metric, group, cycle and fraction."""
        return (self.metric, self.group, self.cycle, self.fraction)

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        clock = self.metric if self.group is None else f"{self.metric}@{self.group}"
        result[f"sla_stage.{clock}"] = (None, self.fraction)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentReminderSent(IncidentEvent):
    """A follow-up reminder of ``kind`` (such as ``"awaiting_caller"``) went out; ``number``
    counts the reminder intervals elapsed since the situation began."""

    name: ClassVar[str] = "incident.reminder_sent"
    kind: str
    number: int

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result[f"reminder.{self.kind}"] = (None, self.number)
        return result
