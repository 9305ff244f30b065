"""The incident entity.

Every change goes through a method that checks its arguments and the workflow, builds one
frozen past-tense event, and records it (:meth:`Incident._record`): the event mutates the
entity, the version goes up by one, and the event joins the history. Fields are read-only by
convention: never assign them directly, call a method.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs

from itil_incident.domain import _checks as check
from itil_incident.domain._entity import Entity
from itil_incident.domain._time import utc_instant
from itil_incident.domain.alert_events import (
    AlertSeverity,
    IncidentAlertGroupOpened,
    IncidentAlertGroupReleased,
    IncidentAlertRecovered,
    IncidentAlertSeverityRaised,
)
from itil_incident.domain.events import (
    IncidentAssigned,
    IncidentCancelled,
    IncidentCategorized,
    IncidentChildLinked,
    IncidentChildUnlinked,
    IncidentClosed,
    IncidentCustomAttributeSet,
    IncidentDetailsUpdated,
    IncidentEscalated,
    IncidentEvent,
    IncidentLinkAdded,
    IncidentLinkedToProblem,
    IncidentLinkRemoved,
    IncidentLogged,
    IncidentNoteAdded,
    IncidentParentSet,
    IncidentPriorityOverridden,
    IncidentPriorityOverrideCleared,
    IncidentPutOnHold,
    IncidentReminderSent,
    IncidentReopened,
    IncidentReprioritized,
    IncidentResolved,
    IncidentResumed,
    IncidentSlaStageReached,
    IncidentTransitioned,
    IncidentUnlinkedFromProblem,
    IncidentWorkStarted,
)
from itil_incident.domain.major import (
    MajorBasis,
    MajorStatus,
    PostIncidentReview,
    ReviewAction,
    UpdateAudience,
)
from itil_incident.domain.major_events import (
    IncidentMajorAccepted,
    IncidentMajorProposed,
    IncidentMajorRejected,
    IncidentMajorRoleAssigned,
    IncidentMajorRoleReleased,
    IncidentReviewActionAdded,
    IncidentReviewActionCompleted,
    IncidentReviewRecorded,
    IncidentStatusUpdateMissed,
    IncidentStatusUpdatePosted,
)
from itil_incident.domain.problem_link_events import (
    IncidentDuplicateRecorded,
    IncidentMarkedDuplicate,
    IncidentWorkaroundApplied,
    IncidentWorkaroundOffered,
)
from itil_incident.domain.values import (
    Actor,
    CategoryPath,
    Channel,
    CustomValue,
    EscalationKind,
    HoldReason,
    Impact,
    LinkKind,
    NoteVisibility,
    Priority,
    Satisfaction,
    Urgency,
)
from itil_incident.errors import InvalidTransitionError, ValidationError

if TYPE_CHECKING:
    from itil_incident.domain.workflow import Workflow
    from itil_incident.policies.priority import PriorityMatrix

__all__ = ["Incident", "Note"]

#: Triggers the desk's dedicated commands use; other triggers go through ``transition``.
_DEDICATED = frozenset(
    {"assign", "start", "hold", "resume", "resolve", "close", "reopen", "cancel"}
)


@attrs.frozen
class Note:
    """A work note or a caller-visible comment, as read from the history."""

    text: str
    visibility: NoteVisibility
    author: Actor
    at: datetime


@attrs.define(init=False, eq=False, repr=False, weakref_slot=False)
class Incident(Entity[IncidentEvent]):  # type: ignore[override]  # built by folding events, never via attrs' init
    """An unplanned interruption of an IT service, or a reduction in its quality.

    Create one with :meth:`Incident.log` (or through the service desk); rebuild one from its
    events with :meth:`Incident.from_history`. ``version`` equals the number of events.
    """

    title: str
    description: str
    service: str | None
    configuration_items: tuple[str, ...]
    caller: str | None
    channel: Channel
    occurred_at: datetime | None
    detected_at: datetime | None
    logged_at: datetime
    logged_by: Actor
    category: CategoryPath | None
    impact: Impact
    urgency: Urgency
    priority: Priority
    priority_overridden: bool
    priority_justification: str | None
    assignment_group: str | None
    assignee: str | None
    support_tier: int | None
    hold_reason: str | None
    resolution_code: str | None
    resolution_notes: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    closure_code: str | None
    caller_confirmed: bool | None
    satisfaction: Satisfaction | None
    closed_at: datetime | None
    cancellation_reason: str | None
    reopen_count: int
    reassignment_count: int
    functional_escalations: int
    hierarchical_escalations: int
    problem_id: str | None
    links: tuple[tuple[LinkKind, str], ...]
    parent_id: str | None
    child_ids: tuple[str, ...]
    custom: dict[str, CustomValue]
    # duplicates and watchers (parent, child and duplicate incidents)
    duplicate_of: str | None
    duplicate_ids: tuple[str, ...]
    watchers: tuple[str, ...]
    # major incidents (see the "major incidents" block of methods below)
    major_status: MajorStatus | None
    major_review_required: bool
    major_roles: tuple[tuple[str, str], ...]
    status_update_count: int
    last_status_update_at: datetime | None
    review: PostIncidentReview | None
    review_actions: tuple[ReviewAction, ...]

    # ----------------------------------------------------------------- construction

    @classmethod
    def _blank(cls, workflow: Workflow) -> Incident:
        self = cls.__new__(cls)
        self._init_entity(workflow)
        self.priority_overridden = False
        self.priority_justification = None
        self.assignee = None
        self.hold_reason = None
        self.resolution_code = self.resolution_notes = self.resolved_by = None
        self.resolved_at = self.closed_at = None
        self.closure_code = None
        self.caller_confirmed = None
        self.satisfaction = None
        self.cancellation_reason = None
        self.reopen_count = self.reassignment_count = 0
        self.functional_escalations = self.hierarchical_escalations = 0
        self.problem_id = self.parent_id = None
        self.links = ()
        self.child_ids = ()
        # duplicates and watchers
        self.duplicate_of = None
        self.duplicate_ids = self.watchers = ()
        self._blank_major()
        return self

    @classmethod
    def log(
        cls,
        *,
        incident_id: str | Callable[[], str],
        workflow: Workflow,
        matrix: PriorityMatrix,
        actor: Actor,
        at: datetime,
        title: str,
        description: str = "",
        service: str | None = None,
        configuration_items: Iterable[str] = (),
        caller: str | None = None,
        channel: Channel | str = Channel.PORTAL,
        impact: Impact | int | str | None = None,
        urgency: Urgency | int | str | None = None,
        occurred_at: datetime | None = None,
        detected_at: datetime | None = None,
        category: CategoryPath | None = None,
        category_rule: str | None = None,
        assignment_group: str | None = None,
        support_tier: int | None = None,
        routing_rule: str | None = None,
        custom: Mapping[str, CustomValue] | None = None,
        custom_schema: Mapping[str, type] | None = None,
    ) -> Incident:
        """Log a new incident in the workflow's initial state; priority comes from ``matrix``.

        ``incident_id`` may be a function (an id factory's method): it is called only once
        every argument has been checked, so a refused log consumes no id.
        """
        if type(at) is not datetime or at.tzinfo is not UTC:
            at = utc_instant(at, "at")
        if type(actor) is not Actor:
            actor = check.actor(actor)
        occurred = check.optional_instant(occurred_at, "occurred_at")
        detected = check.optional_instant(detected_at, "detected_at")
        if occurred is not None or detected is not None:
            _check_occurrence(occurred, detected, at)
        channel_value = channel if type(channel) is Channel else _channel(channel)
        impact_value = matrix.default_impact if impact is None else matrix.impact(impact)
        urgency_value = matrix.default_urgency if urgency is None else matrix.urgency(urgency)
        if category is not None and not isinstance(category, CategoryPath):
            raise ValidationError(f"category must be a CategoryPath, got {category!r}",
                                  field="category")
        if support_tier is not None and (type(support_tier) is not int or support_tier < 1):
            raise ValidationError(f"support_tier must be an integer >= 1, got {support_tier!r}",
                                  field="support_tier")
        custom_values: dict[str, CustomValue] = {}
        if custom:
            if not isinstance(custom, Mapping):
                raise ValidationError("custom must be a mapping of attribute names to values",
                                      field="custom")
            for key, value in custom.items():
                checked = check.custom_value(key, value, custom_schema)
                if checked is not None:
                    custom_values[key] = checked
        # Keyword arguments are evaluated in order: the id is taken last, after every check.
        event = IncidentLogged(
            version=1,
            at=at,
            actor=actor,
            from_status=workflow.initial,
            to_status=workflow.initial,
            workflow=workflow.name,
            title=check.line(title, "title"),
            description=_description(description),
            service=None if service is None else check.identifier(service, "service"),
            configuration_items=(() if configuration_items == ()
                                 else check.text_tuple(configuration_items, "configuration_items")),
            caller=None if caller is None else check.identifier(caller, "caller"),
            channel=channel_value,
            occurred_at=occurred,
            detected_at=detected,
            category=category,
            category_rule=category_rule,
            impact=impact_value,
            urgency=urgency_value,
            priority=matrix.priority_for(impact_value, urgency_value),
            assignment_group=(None if assignment_group is None
                              else check.identifier(assignment_group, "assignment_group")),
            support_tier=support_tier,
            routing_rule=routing_rule,
            custom=custom_values,
            incident_id=check.identifier(
                incident_id() if callable(incident_id) else incident_id, "incident_id"),
        )
        incident = cls._blank(workflow)
        incident._record(event)
        return incident

    @classmethod
    def from_history(cls, events: Iterable[IncidentEvent], workflow: Workflow, *,
                     stored: bool = True) -> Incident:
        """Rebuild an incident by folding its events, oldest first.

        The history must start with :class:`IncidentLogged` and number its versions 1, 2, ...
        With ``stored=False`` (an import) every event counts as pending, so that a repository
        commit stores the whole record as new.
        """
        incident = cls._blank(workflow)
        for event in events:
            incident._record(incident._check_history(event, IncidentLogged, IncidentEvent))
        if incident.version == 0:
            raise ValidationError("an incident history cannot be empty", field="events")
        incident._saved_version = incident.version if stored else 0
        return incident

    # ----------------------------------------------------------------- reading

    def clone(self) -> Incident:
        """An independent copy sharing the (immutable) events; used by in-memory stores."""
        other: Incident = super().clone()
        other.custom = dict(self.custom)
        return other

    @property
    def notes(self) -> tuple[Note, ...]:
        """Work notes and comments, oldest first."""
        return tuple(
            Note(e.text, e.visibility, e.actor, e.at)
            for e in self._history
            if isinstance(e, IncidentNoteAdded)
        )

    @property
    def sla_stages(self) -> tuple[IncidentSlaStageReached, ...]:
        """The SLA and OLA alert stages recorded so far, oldest first."""
        return tuple(e for e in self._history if isinstance(e, IncidentSlaStageReached))

    @property
    def status_since(self) -> datetime:
        """When the incident entered its current status (or was last put on hold, which starts
        a new wait even where a workflow holds without changing state)."""
        return self._history[self._situation_start()].at

    def reminders_sent(self, kind: str) -> int:
        """The number of the last ``kind`` reminder recorded since :attr:`status_since`
        (0: none)."""
        last = 0
        for event in self._history[self._situation_start() + 1:]:
            if isinstance(event, IncidentReminderSent) and event.kind == kind:
                last = max(last, event.number)
        return last

    def _situation_start(self) -> int:
        history = self._history
        for index in range(len(history) - 1, 0, -1):
            event = history[index]
            if event.from_status != event.to_status or isinstance(event, IncidentPutOnHold):
                return index
        return 0

    @property
    def change_ids(self) -> tuple[str, ...]:
        """Changes linked to this incident (caused by, or related)."""
        return tuple(t for k, t in self.links
                     if k in (LinkKind.CAUSED_BY_CHANGE, LinkKind.RELATED_CHANGE))

    @property
    def related_incident_ids(self) -> tuple[str, ...]:
        """Incidents related to this one (not parent or child)."""
        return tuple(t for k, t in self.links if k is LinkKind.RELATED_INCIDENT)

    # ----------------------------------------------------------------- commands

    def update_details(
        self,
        *,
        actor: Actor,
        at: datetime,
        title: str | None = None,
        description: str | None = None,
        service: str | None = None,
        configuration_items: Iterable[str] | None = None,
        caller: str | None = None,
    ) -> IncidentDetailsUpdated:
        """Change descriptive fields; only those given (not None) change."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("update_details")
        candidates: list[tuple[str, Any]] = []
        if title is not None:
            candidates.append(("title", check.line(title, "title")))
        if description is not None:
            candidates.append(("description", _description(description)))
        if service is not None:
            candidates.append(("service", check.identifier(service, "service")))
        if configuration_items is not None:
            candidates.append(("configuration_items",
                               check.text_tuple(configuration_items, "configuration_items")))
        if caller is not None:
            candidates.append(("caller", check.identifier(caller, "caller")))
        updates = tuple((f, getattr(self, f), v) for f, v in candidates if getattr(self, f) != v)
        if not updates:
            raise ValidationError("nothing to update: every given value equals the current one",
                                  field=None)
        event = IncidentDetailsUpdated(**self._base(actor, at), updates=updates)
        self._record(event)
        return event

    def categorize(
        self, category: CategoryPath, *, actor: Actor, at: datetime, rule: str | None = None
    ) -> IncidentCategorized:
        """Set or change the category (already checked against the category tree)."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("categorize")
        if not isinstance(category, CategoryPath):
            raise ValidationError(f"category must be a CategoryPath, got {category!r}",
                                  field="category")
        if category == self.category:
            raise ValidationError(f"{self.id} is already in category {category}",
                                  field="category")
        event = IncidentCategorized(**self._base(actor, at), category=category,
                                    previous_category=self.category, rule=rule)
        self._record(event)
        return event

    def reprioritize(
        self,
        matrix: PriorityMatrix,
        *,
        actor: Actor,
        at: datetime,
        impact: Impact | int | str | None = None,
        urgency: Urgency | int | str | None = None,
    ) -> IncidentReprioritized:
        """Change impact and/or urgency; the priority follows the matrix unless overridden."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("reprioritize")
        new_impact = self.impact if impact is None else matrix.impact(impact)
        new_urgency = self.urgency if urgency is None else matrix.urgency(urgency)
        if new_impact == self.impact and new_urgency == self.urgency:
            raise ValidationError("impact and urgency are unchanged", field="impact")
        priority = (self.priority if self.priority_overridden
                    else matrix.priority_for(new_impact, new_urgency))
        event = IncidentReprioritized(
            **self._base(actor, at), impact=new_impact, urgency=new_urgency, priority=priority,
            previous_impact=self.impact, previous_urgency=self.urgency,
            previous_priority=self.priority,
        )
        self._record(event)
        return event

    def override_priority(
        self,
        priority: Priority | int | str,
        matrix: PriorityMatrix,
        *,
        justification: str,
        actor: Actor,
        at: datetime,
    ) -> IncidentPriorityOverridden:
        """Set the priority by hand; a justification is required and recorded."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("override_priority")
        value = matrix.priority(priority)
        reason = check.text(justification, "justification")
        event = IncidentPriorityOverridden(**self._base(actor, at), priority=value,
                                           previous_priority=self.priority,
                                           justification=reason,
                                           previous_justification=self.priority_justification)
        self._record(event)
        return event

    def clear_priority_override(
        self, matrix: PriorityMatrix, *, actor: Actor, at: datetime
    ) -> IncidentPriorityOverrideCleared:
        """Withdraw a manual priority: the matrix decides again from impact and urgency."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("clear_priority_override")
        if not self.priority_overridden:
            raise ValidationError(f"{self.id} has no priority override", field="priority")
        event = IncidentPriorityOverrideCleared(
            **self._base(actor, at), priority=matrix.priority_for(self.impact, self.urgency),
            previous_priority=self.priority,
            previous_justification=self.priority_justification,
        )
        self._record(event)
        return event

    def assign(
        self,
        *,
        actor: Actor,
        at: datetime,
        group: str | None = None,
        assignee: str | None = None,
        tier: int | None = None,
    ) -> IncidentAssigned:
        """Assign to a group and/or a person (fires ``assign``). A new group without a new
        assignee clears the assignee."""
        actor, at = self._stamp(actor, at)
        if group is None and assignee is None:
            raise ValidationError("assign needs a group, an assignee or both", field="group")
        new_group = self.assignment_group if group is None else check.identifier(group, "group")
        if assignee is not None:
            new_assignee: str | None = check.identifier(assignee, "assignee")
        elif new_group != self.assignment_group:
            new_assignee = None
        else:
            new_assignee = self.assignee
        if tier is not None and (type(tier) is not int or tier < 1):
            raise ValidationError(f"tier must be an integer >= 1, got {tier!r}", field="tier")
        new_tier = self.support_tier if tier is None else tier
        if (new_group, new_assignee, new_tier) == (
            self.assignment_group, self.assignee, self.support_tier
        ):
            raise ValidationError(f"{self.id} is already assigned so", field="group")
        target = self._fire("assign", {"assignment_group": new_group, "assignee": new_assignee})
        event = IncidentAssigned(
            incident_id=self.id, version=self.version + 1, at=at, actor=actor,
            from_status=self.status, to_status=target,
            assignment_group=new_group, assignee=new_assignee, support_tier=new_tier,
            previous_assignment_group=self.assignment_group, previous_assignee=self.assignee,
            previous_support_tier=self.support_tier,
        )
        self._record(event)
        return event

    def start_work(self, *, actor: Actor, at: datetime) -> IncidentWorkStarted:
        """Start working (fires ``start``); with nobody assigned, the actor takes it."""
        actor, at = self._stamp(actor, at)
        assignee = self.assignee if self.assignee is not None else actor.id
        target = self._fire("start", {"assignee": assignee})
        event = IncidentWorkStarted(
            incident_id=self.id, version=self.version + 1, at=at, actor=actor,
            from_status=self.status, to_status=target,
            assignee=assignee, previous_assignee=self.assignee,
        )
        self._record(event)
        return event

    def put_on_hold(
        self, reason: str, *, actor: Actor, at: datetime, allowed: Collection[str] | None = None
    ) -> IncidentPutOnHold:
        """Put on hold (fires ``hold``) for ``reason``, one of ``allowed`` when given."""
        actor, at = self._stamp(actor, at)
        reason = check.identifier(reason, "reason")
        if allowed is not None and reason not in allowed:
            known = ", ".join(sorted(allowed))
            raise ValidationError(f"unknown hold reason {reason!r} (known: {known})",
                                  field="reason")
        target = self._fire("hold", {"hold_reason": reason})
        event = IncidentPutOnHold(
            incident_id=self.id, version=self.version + 1, at=at, actor=actor,
            from_status=self.status, to_status=target, hold_reason=reason,
        )
        self._record(event)
        return event

    def resume(self, *, actor: Actor, at: datetime) -> IncidentResumed:
        """Resume work after a hold (fires ``resume``)."""
        actor, at = self._stamp(actor, at)
        target = self._fire("resume", {"hold_reason": None})
        event = IncidentResumed(
            incident_id=self.id, version=self.version + 1, at=at, actor=actor,
            from_status=self.status, to_status=target, previous_hold_reason=self.hold_reason,
        )
        self._record(event)
        return event

    def add_note(
        self,
        text: str,
        *,
        actor: Actor,
        at: datetime,
        visibility: NoteVisibility = NoteVisibility.WORK_NOTE,
    ) -> IncidentNoteAdded:
        """Add a work note (support only) or a comment (the caller sees it)."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("add_note")
        body = check.text(text, "text")
        try:
            kind = NoteVisibility(visibility)
        except ValueError:
            raise ValidationError(f"unknown note visibility {visibility!r}",
                                  field="visibility") from None
        event = IncidentNoteAdded(**self._base(actor, at), text=body, visibility=kind)
        self._record(event)
        return event

    def resolve(
        self, *, code: str, notes: str, actor: Actor, at: datetime,
        codes: Collection[str] | None = None,
    ) -> IncidentResolved:
        """Resolve (fires ``resolve``): resolution code and notes are required."""
        actor, at = self._stamp(actor, at)
        code = check.identifier(code, "code")
        if codes is not None and code not in codes:
            raise ValidationError(f"unknown resolution code {code!r} "
                                  f"(known: {', '.join(sorted(codes))})", field="code")
        notes = check.text(notes, "notes")
        target = self._fire("resolve", {"resolution_code": code, "resolution_notes": notes})
        event = IncidentResolved(
            incident_id=self.id, version=self.version + 1, at=at, actor=actor,
            from_status=self.status, to_status=target,
            resolution_code=code, resolution_notes=notes,
            previous_hold_reason=self.hold_reason,
        )
        self._record(event)
        return event

    def close(
        self,
        *,
        actor: Actor,
        at: datetime,
        code: str = "solved",
        caller_confirmed: bool | None = None,
        satisfaction: Satisfaction | None = None,
    ) -> IncidentClosed:
        """Close (fires ``close``), recording the caller's confirmation and satisfaction."""
        actor, at = self._stamp(actor, at)
        code = check.identifier(code, "code")
        if caller_confirmed is not None and type(caller_confirmed) is not bool:
            raise ValidationError("caller_confirmed must be True, False or None",
                                  field="caller_confirmed")
        if satisfaction is not None and not isinstance(satisfaction, Satisfaction):
            raise ValidationError("satisfaction must be a Satisfaction", field="satisfaction")
        target = self._fire("close", {"closure_code": code})
        self._require_review("close", target)
        event = IncidentClosed(
            incident_id=self.id, version=self.version + 1, at=at, actor=actor,
            from_status=self.status, to_status=target, closure_code=code,
            caller_confirmed=caller_confirmed, satisfaction=satisfaction,
        )
        self._record(event)
        return event

    def reopen(self, *, reason: str, actor: Actor, at: datetime) -> IncidentReopened:
        """Reopen a resolved incident (fires ``reopen``); counts a reopen."""
        actor, at = self._stamp(actor, at)
        reason = check.text(reason, "reason")
        target = self._fire("reopen", {"resolution_code": None, "resolution_notes": None})
        event = IncidentReopened(
            **self._base(actor, at, to_status=target), reason=reason,
            previous_resolution_code=self.resolution_code,
            previous_resolution_notes=self.resolution_notes,
        )
        self._record(event)
        return event

    def cancel(self, *, reason: str, actor: Actor, at: datetime) -> IncidentCancelled:
        """Cancel (fires ``cancel``): logged in error, a duplicate, not an incident."""
        actor, at = self._stamp(actor, at)
        reason = check.text(reason, "reason")
        target = self._fire("cancel", {"cancellation_reason": reason})
        event = IncidentCancelled(**self._base(actor, at, to_status=target), reason=reason,
                                  previous_hold_reason=self.hold_reason)
        self._record(event)
        return event

    def escalate_functionally(
        self, *, group: str, tier: int | None, reason: str, actor: Actor, at: datetime
    ) -> IncidentEscalated:
        """Move the incident to a more skilled ``group`` (a reassignment; the assignee is
        cleared so that the new group picks someone)."""
        actor, at = self._stamp(actor, at)
        self._require_open("escalate")
        group = check.identifier(group, "group")
        reason = check.text(reason, "reason")
        if group == self.assignment_group:
            raise ValidationError(f"{self.id} is already with {group}", field="group")
        if tier is not None and (type(tier) is not int or tier < 1):
            raise ValidationError(f"tier must be an integer >= 1, got {tier!r}", field="tier")
        event = IncidentEscalated(
            **self._base(actor, at), kind=EscalationKind.FUNCTIONAL, reason=reason,
            assignment_group=group, support_tier=tier,
            previous_assignment_group=self.assignment_group,
            previous_support_tier=self.support_tier, previous_assignee=self.assignee,
        )
        self._record(event)
        return event

    def escalate_hierarchically(
        self, *, notified_role: str, reason: str, actor: Actor, at: datetime
    ) -> IncidentEscalated:
        """Inform management (``notified_role``); the assignment does not change."""
        actor, at = self._stamp(actor, at)
        self._require_open("escalate")
        role = check.identifier(notified_role, "notified_role")
        reason = check.text(reason, "reason")
        event = IncidentEscalated(
            **self._base(actor, at), kind=EscalationKind.HIERARCHICAL, reason=reason,
            assignment_group=self.assignment_group, support_tier=self.support_tier,
            previous_assignment_group=self.assignment_group,
            previous_support_tier=self.support_tier, previous_assignee=self.assignee,
            notified_role=role,
        )
        self._record(event)
        return event

    def transition(self, trigger: str, *, actor: Actor, at: datetime) -> IncidentTransitioned:
        """Fire a host-defined ``trigger`` that has no dedicated command."""
        actor, at = self._stamp(actor, at)
        trigger = check.identifier(trigger, "trigger")
        if trigger in _DEDICATED:
            raise ValidationError(f"{trigger!r} has its own command; call it instead",
                                  field="trigger")
        target = self._fire(trigger)
        self._require_review(trigger, target)
        event = IncidentTransitioned(**self._base(actor, at, to_status=target), trigger=trigger)
        self._record(event)
        return event

    def link_problem(self, problem_id: str, *, actor: Actor, at: datetime
                     ) -> IncidentLinkedToProblem:
        """Link to the problem that causes this incident (replacing a previous link)."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("link_problem")
        problem_id = check.identifier(problem_id, "problem_id")
        if problem_id == self.problem_id:
            raise ValidationError(f"{self.id} is already linked to {problem_id}",
                                  field="problem_id")
        event = IncidentLinkedToProblem(**self._base(actor, at), problem_id=problem_id,
                                        previous_problem_id=self.problem_id)
        self._record(event)
        return event

    def unlink_problem(self, *, actor: Actor, at: datetime) -> IncidentUnlinkedFromProblem:
        """Remove the link to a problem."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("unlink_problem")
        if self.problem_id is None:
            raise ValidationError(f"{self.id} is not linked to a problem", field="problem_id")
        event = IncidentUnlinkedFromProblem(**self._base(actor, at),
                                            previous_problem_id=self.problem_id)
        self._record(event)
        return event

    def add_link(self, kind: LinkKind, target: str, *, actor: Actor, at: datetime
                 ) -> IncidentLinkAdded:
        """Link a change or a related incident."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("add_link")
        try:
            link_kind = LinkKind(kind)
        except ValueError:
            raise ValidationError(f"unknown link kind {kind!r}", field="kind") from None
        target = check.identifier(target, "target")
        if target == self.id:
            raise ValidationError("an incident cannot be linked to itself", field="target")
        if (link_kind, target) in self.links:
            raise ValidationError(f"{self.id} is already linked to {target}", field="target")
        event = IncidentLinkAdded(**self._base(actor, at), link_kind=link_kind, target=target)
        self._record(event)
        return event

    def remove_link(self, kind: LinkKind, target: str, *, actor: Actor, at: datetime
                    ) -> IncidentLinkRemoved:
        """Remove a link added with :meth:`add_link`."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("remove_link")
        try:
            link_kind = LinkKind(kind)
        except ValueError:
            raise ValidationError(f"unknown link kind {kind!r}", field="kind") from None
        if (link_kind, target) not in self.links:
            raise ValidationError(f"{self.id} has no {link_kind} link to {target!r}",
                                  field="target")
        event = IncidentLinkRemoved(**self._base(actor, at), link_kind=link_kind, target=target)
        self._record(event)
        return event

    def set_parent(self, parent_id: str | None, *, actor: Actor, at: datetime
                   ) -> IncidentParentSet:
        """Make this incident a child of ``parent_id`` (None: detach it)."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("set_parent")
        parent = None if parent_id is None else check.identifier(parent_id, "parent_id")
        if parent == self.id:
            raise ValidationError("an incident cannot be its own parent", field="parent_id")
        if parent == self.parent_id:
            raise ValidationError(f"{self.id} already has that parent", field="parent_id")
        if parent is not None and parent in self.child_ids:
            raise ValidationError(f"{parent} is a child of {self.id}", field="parent_id")
        event = IncidentParentSet(**self._base(actor, at), parent_id=parent,
                                  previous_parent_id=self.parent_id)
        self._record(event)
        return event

    def link_child(self, child_id: str, *, actor: Actor, at: datetime) -> IncidentChildLinked:
        """Record ``child_id`` as a child of this incident."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("link_child")
        child = check.identifier(child_id, "child_id")
        if child == self.id or child == self.parent_id:
            raise ValidationError(f"{child} cannot be a child of {self.id}", field="child_id")
        if child in self.child_ids:
            raise ValidationError(f"{child} is already a child of {self.id}", field="child_id")
        event = IncidentChildLinked(**self._base(actor, at), child_id=child)
        self._record(event)
        return event

    def unlink_child(self, child_id: str, *, actor: Actor, at: datetime
                     ) -> IncidentChildUnlinked:
        """Forget ``child_id`` as a child of this incident."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("unlink_child")
        if child_id not in self.child_ids:
            raise ValidationError(f"{child_id!r} is not a child of {self.id}", field="child_id")
        event = IncidentChildUnlinked(**self._base(actor, at), child_id=child_id)
        self._record(event)
        return event

    def set_custom(
        self,
        name: str,
        value: CustomValue,
        *,
        actor: Actor,
        at: datetime,
        schema: Mapping[str, type] | None = None,
    ) -> IncidentCustomAttributeSet:
        """Set a host-defined attribute (None removes it), checked against ``schema``."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("set_custom")
        checked = check.custom_value(name, value, schema)
        previous = self.custom.get(name)
        if previous == checked and type(previous) is type(checked):
            raise ValidationError(f"custom attribute {name!r} already has that value",
                                  field=f"custom.{name}")
        event = IncidentCustomAttributeSet(**self._base(actor, at), attribute=name,
                                           value=checked, previous_value=previous)
        self._record(event)
        return event

    def record_sla_stage(
        self,
        *,
        metric: str,
        group: str | None,
        agreement: str,
        cycle: int,
        fraction: float,
        reached_at: datetime,
        due_at: datetime | None,
        actor: Actor,
        at: datetime,
    ) -> IncidentSlaStageReached:
        """Record that a clock reached an alert stage (``group`` None: the SLA clock, else the
        OLA clock of that group) in clock cycle ``cycle``.

        ``reached_at`` may be earlier than ``at`` but not later. A stage already recorded
        (same metric, group, cycle and fraction) is refused, so recording is idempotent by
        construction.
        """
        actor, at = self._stamp(actor, at)
        self._require_changeable("record_sla_stage")
        metric = str(check.identifier(metric, "metric"))
        group = None if group is None else str(check.identifier(group, "group"))
        agreement = str(check.identifier(agreement, "agreement"))
        if type(cycle) is not int or cycle < 1:
            raise ValidationError(f"cycle must be an integer >= 1, got {cycle!r}", field="cycle")
        if (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
                or not math.isfinite(fraction) or fraction <= 0):
            raise ValidationError(f"fraction must be a finite number > 0, got {fraction!r}",
                                  field="fraction")
        reached = utc_instant(reached_at, "reached_at")
        if reached > at:
            raise ValidationError(f"reached_at ({reached.isoformat()}) is after the time of "
                                  f"recording ({at.isoformat()})", field="reached_at")
        due = check.optional_instant(due_at, "due_at")
        key = (metric, group, cycle, float(fraction))
        if any(isinstance(e, IncidentSlaStageReached) and e.key == key for e in self._history):
            raise ValidationError(
                f"{self.id}: the {metric} stage {float(fraction):g} of cycle {cycle}"
                f"{'' if group is None else ' for group ' + repr(group)} is already recorded",
                field="fraction")
        event = IncidentSlaStageReached(
            **self._base(actor, at), metric=metric, group=group, agreement=agreement,
            cycle=cycle, fraction=float(fraction), reached_at=reached, due_at=due,
        )
        self._record(event)
        return event

    def send_reminder(self, kind: str, number: int, *, actor: Actor, at: datetime
                      ) -> IncidentReminderSent:
        """Record a follow-up reminder of ``kind`` (such as ``"awaiting_caller"``); ``number``
        must exceed that of the last reminder of this kind since :attr:`status_since`
        (:meth:`reminders_sent`)."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("send_reminder")
        kind = str(check.identifier(kind, "kind"))
        if type(number) is not int or number < 1:
            raise ValidationError(f"number must be an integer >= 1, got {number!r}",
                                  field="number")
        last = self.reminders_sent(kind)
        if number <= last:
            raise ValidationError(f"{self.id}: {kind} reminder {last} was already sent; "
                                  f"number must be above it, got {number}", field="number")
        event = IncidentReminderSent(**self._base(actor, at), kind=kind, number=number)
        self._record(event)
        return event

    # ----------------------------------------------------------------- helpers

    def _base(self, actor: Actor, at: datetime, *, to_status: str | None = None
              ) -> dict[str, Any]:
        return {
            "incident_id": self.id,
            "version": self.version + 1,
            "at": at,
            "actor": actor,
            "from_status": self.status,
            "to_status": self.status if to_status is None else to_status,
        }

    # ----------------------------------------------------------------- duplicates, cascade,
    # known-error workarounds (parent, child and duplicate incidents; problem management)

    @property
    def workaround_offers(self) -> tuple[IncidentWorkaroundOffered, ...]:
        """The known-error workarounds offered to this incident, oldest first."""
        return tuple(e for e in self._history if isinstance(e, IncidentWorkaroundOffered))

    @property
    def applied_workarounds(self) -> tuple[IncidentWorkaroundApplied, ...]:
        """The known-error workarounds applied to this incident, oldest first."""
        return tuple(e for e in self._history if isinstance(e, IncidentWorkaroundApplied))

    def resolve_cascaded(self, *, parent_id: str, code: str, notes: str, actor: Actor,
                         at: datetime) -> IncidentResolved:
        """Resolve this child because its parent ``parent_id`` was resolved, with the parent's
        resolution code and notes (fires ``resolve``)."""
        actor, at = self._stamp(actor, at)
        parent = check.identifier(parent_id, "parent_id")
        if parent != self.parent_id:
            raise ValidationError(f"{parent} is not the parent of {self.id}", field="parent_id")
        return self._resolved_because(code, notes, actor, at, None, cascaded_from=parent)

    def resolve_for_problem(self, *, problem_id: str, code: str, notes: str, actor: Actor,
                            at: datetime, codes: Collection[str] | None = None
                            ) -> IncidentResolved:
        """Resolve this incident, on hold awaiting ``problem_id``, because that problem was
        resolved (fires ``resolve``)."""
        actor, at = self._stamp(actor, at)
        problem = self._awaited(problem_id)
        return self._resolved_because(code, notes, actor, at, codes, awaited_problem=problem)

    def resume_for_problem(self, *, problem_id: str, actor: Actor, at: datetime
                           ) -> IncidentResumed:
        """Resume this incident, on hold awaiting ``problem_id``, because that problem was
        resolved (fires ``resume``)."""
        actor, at = self._stamp(actor, at)
        problem = self._awaited(problem_id)
        target = self._fire("resume", {"hold_reason": None})
        event = IncidentResumed(**self._base(actor, at, to_status=target),
                                previous_hold_reason=self.hold_reason, awaited_problem=problem)
        self._record(event)
        return event

    def mark_duplicate(self, original_id: str, *, actor: Actor, at: datetime
                       ) -> IncidentMarkedDuplicate:
        """Record that this open incident duplicates ``original_id`` (the desk then closes or
        cancels it). An incident that others duplicate cannot become a duplicate itself: no
        chains."""
        actor, at = self._stamp(actor, at)
        self._require_open("mark_duplicate")
        original = check.identifier(original_id, "original_id")
        if original == self.id:
            raise ValidationError("an incident cannot duplicate itself", field="original_id")
        if self.duplicate_ids:
            raise ValidationError(
                f"{self.id} is the original of {', '.join(self.duplicate_ids)}: it cannot "
                "become a duplicate (no chains of duplicates)", field="incident_id")
        event = IncidentMarkedDuplicate(**self._base(actor, at), original_id=original)
        self._record(event)
        return event

    def record_duplicate(self, duplicate_id: str, *, caller: str | None, actor: Actor,
                         at: datetime) -> IncidentDuplicateRecorded:
        """Record ``duplicate_id`` as a duplicate of this incident; its ``caller`` becomes a
        watcher unless they are this incident's caller or a watcher already."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("record_duplicate")
        duplicate = check.identifier(duplicate_id, "duplicate_id")
        if duplicate == self.id:
            raise ValidationError("an incident cannot duplicate itself", field="original_id")
        if self.duplicate_of is not None:
            raise ValidationError(
                f"{self.id} is itself a duplicate of {self.duplicate_of}; mark the duplicate "
                f"against {self.duplicate_of}", field="original_id")
        if duplicate in self.duplicate_ids:
            raise ValidationError(f"{duplicate} is already a duplicate of {self.id}",
                                  field="incident_id")
        who = None if caller is None else check.identifier(caller, "caller")
        if who == self.caller or who in self.watchers:
            who = None
        event = IncidentDuplicateRecorded(**self._base(actor, at), duplicate_id=duplicate,
                                          watcher=who)
        self._record(event)
        return event

    def offer_workaround(self, *, problem_id: str, workaround: str, score: int,
                         reasons: Iterable[str], actor: Actor, at: datetime
                         ) -> IncidentWorkaroundOffered:
        """Record that the workaround of the known error ``problem_id`` was offered (once per
        problem, to an open incident)."""
        actor, at = self._stamp(actor, at)
        self._require_open("offer_workaround")
        problem = check.identifier(problem_id, "problem_id")
        if any(offer.problem_id == problem for offer in self.workaround_offers):
            raise ValidationError(f"the workaround of {problem} was already offered to "
                                  f"{self.id}", field="problem_id")
        if type(score) is not int or score < 0:
            raise ValidationError(f"score must be an integer >= 0, got {score!r}",
                                  field="score")
        event = IncidentWorkaroundOffered(
            **self._base(actor, at), problem_id=problem,
            workaround=check.text(workaround, "workaround"), score=score,
            reasons=tuple(check.text(r, "reasons") for r in reasons))
        self._record(event)
        return event

    def apply_workaround(self, *, problem_id: str, workaround: str, actor: Actor,
                         at: datetime) -> IncidentWorkaroundApplied:
        """Record that the workaround of the known error ``problem_id`` was applied."""
        actor, at = self._stamp(actor, at)
        self._require_open("apply_workaround")
        event = IncidentWorkaroundApplied(
            **self._base(actor, at), problem_id=check.identifier(problem_id, "problem_id"),
            workaround=check.text(workaround, "workaround"))
        self._record(event)
        return event

    def _awaited(self, problem_id: str) -> str:
        problem = check.identifier(problem_id, "problem_id")
        if self.hold_reason != HoldReason.AWAITING_PROBLEM or self.problem_id != problem:
            raise ValidationError(f"{self.id} is not on hold awaiting {problem}",
                                  field="problem_id")
        return problem

    def _resolved_because(self, code: str, notes: str, actor: Actor, at: datetime,
                          codes: Collection[str] | None, *, cascaded_from: str | None = None,
                          awaited_problem: str | None = None) -> IncidentResolved:
        code = check.identifier(code, "code")
        if codes is not None and code not in codes:
            raise ValidationError(f"unknown resolution code {code!r} "
                                  f"(known: {', '.join(sorted(codes))})", field="code")
        notes = check.text(notes, "notes")
        target = self._fire("resolve", {"resolution_code": code, "resolution_notes": notes})
        event = IncidentResolved(
            **self._base(actor, at, to_status=target), resolution_code=code,
            resolution_notes=notes, previous_hold_reason=self.hold_reason,
            cascaded_from=cascaded_from, awaited_problem=awaited_problem,
        )
        self._record(event)
        return event

    # ----------------------------------------------------------------- major incidents

    def _blank_major(self) -> None:
        self.major_status = None
        self.major_review_required = False
        self.major_roles = ()
        self.status_update_count = 0
        self.last_status_update_at = None
        self.review = None
        self.review_actions = ()

    @property
    def is_major(self) -> bool:
        """Whether the incident was accepted as a major incident."""
        return self.major_status is MajorStatus.ACCEPTED

    @property
    def awaits_review(self) -> bool:
        """Whether the incident is an accepted major incident that may not close before a
        post-incident review is recorded."""
        return self.is_major and self.major_review_required and self.review is None

    @property
    def major_proposal(self) -> IncidentMajorProposed | None:
        """The last proposal of the incident as major (None: never proposed)."""
        for event in reversed(self._history):
            if isinstance(event, IncidentMajorProposed):
                return event
        return None

    @property
    def major_accepted_at(self) -> datetime | None:
        """When the incident was accepted as a major incident (None: it was not)."""
        for event in self._history:
            if isinstance(event, IncidentMajorAccepted):
                return event.at
        return None

    @property
    def cadence_since(self) -> datetime | None:
        """Where the status-update cadence counts from: the last status update, else the
        acceptance (None: not a major incident)."""
        return self.last_status_update_at or self.major_accepted_at

    @property
    def status_updates(self) -> tuple[IncidentStatusUpdatePosted, ...]:
        """The status updates posted, oldest first."""
        return tuple(e for e in self._history if isinstance(e, IncidentStatusUpdatePosted))

    @property
    def status_updates_missed(self) -> tuple[IncidentStatusUpdateMissed, ...]:
        """The cadence intervals recorded as missed, oldest first."""
        return tuple(e for e in self._history if isinstance(e, IncidentStatusUpdateMissed))

    @property
    def open_review_actions(self) -> tuple[ReviewAction, ...]:
        """The review actions not completed yet."""
        return tuple(action for action in self.review_actions if not action.is_done)

    def role_holders(self, role: str) -> tuple[str, ...]:
        """Who holds ``role`` on the major incident, in the order they took it."""
        return tuple(person for name, person in self.major_roles if name == role)

    def propose_major(
        self, *, basis: MajorBasis | str, reason: str, actor: Actor, at: datetime,
        evidence: Iterable[str] = (),
    ) -> IncidentMajorProposed:
        """Propose the open incident as a major incident, on ``basis`` for ``reason``, with the
        ids of related incidents as ``evidence``. Refused when it is already proposed or
        accepted; a rejected incident may be proposed again."""
        actor, at = self._stamp(actor, at)
        self._require_open("propose_major")
        try:
            kind = MajorBasis(basis)
        except ValueError:
            known = ", ".join(b.value for b in MajorBasis)
            raise ValidationError(f"unknown basis {basis!r} (known: {known})",
                                  field="basis") from None
        reason = check.text(reason, "reason", limit=check.MAX_TITLE * 10)
        related = check.text_tuple(evidence, "evidence")
        if self.id in related:
            raise ValidationError(f"{self.id} cannot be evidence for itself", field="evidence")
        if self.major_status in (MajorStatus.PROPOSED, MajorStatus.ACCEPTED):
            raise ValidationError(f"{self.id} is already {self.major_status} as major",
                                  field="major_status")
        event = IncidentMajorProposed(**self._base(actor, at), basis=kind, reason=reason,
                                      evidence=related,
                                      previous_major_status=self.major_status)
        self._record(event)
        return event

    def accept_major(self, *, review_required: bool, actor: Actor, at: datetime
                     ) -> IncidentMajorAccepted:
        """Accept the proposal: the incident becomes a major incident. ``review_required``
        (the policy's) decides whether it may close without a post-incident review."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("accept_major", MajorStatus.PROPOSED)
        if type(review_required) is not bool:
            raise ValidationError("review_required must be True or False",
                                  field="review_required")
        event = IncidentMajorAccepted(**self._base(actor, at), review_required=review_required)
        self._record(event)
        return event

    def reject_major(self, *, reason: str, actor: Actor, at: datetime) -> IncidentMajorRejected:
        """Reject the proposal, for ``reason``."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("reject_major", MajorStatus.PROPOSED)
        reason = check.text(reason, "reason", limit=check.MAX_TITLE * 10)
        event = IncidentMajorRejected(**self._base(actor, at), reason=reason)
        self._record(event)
        return event

    def assign_major_role(self, role: str, person: str, *, shared: bool, actor: Actor,
                          at: datetime) -> IncidentMajorRoleAssigned:
        """Give ``role`` to ``person``. A ``shared`` role gains a holder; any other role is
        handed over from its holder, who is recorded."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("assign_major_role", MajorStatus.ACCEPTED)
        role = check.identifier(role, "role")
        person = check.identifier(person, "person")
        holders = self.role_holders(role)
        if person in holders:
            raise ValidationError(f"{person} already holds {role} on {self.id}", field="person")
        previous = None if shared or not holders else holders[0]
        event = IncidentMajorRoleAssigned(**self._base(actor, at), role=role, person=person,
                                          previous_holder=previous)
        self._record(event)
        return event

    def release_major_role(self, role: str, person: str, *, actor: Actor, at: datetime
                           ) -> IncidentMajorRoleReleased:
        """``person`` gives ``role`` up, and nobody takes it over."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("release_major_role", MajorStatus.ACCEPTED)
        if (role, person) not in self.major_roles:
            raise ValidationError(f"{person!r} does not hold {role!r} on {self.id}",
                                  field="person")
        event = IncidentMajorRoleReleased(**self._base(actor, at), role=role, person=person)
        self._record(event)
        return event

    def post_status_update(self, audience: UpdateAudience | str, text: str, *, actor: Actor,
                           at: datetime) -> IncidentStatusUpdatePosted:
        """Post a status update of the major incident for ``audience``."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("post_status_update", MajorStatus.ACCEPTED)
        try:
            kind = UpdateAudience(audience)
        except ValueError:
            known = ", ".join(a.value for a in UpdateAudience)
            raise ValidationError(f"unknown audience {audience!r} (known: {known})",
                                  field="audience") from None
        body = check.text(text, "text")
        event = IncidentStatusUpdatePosted(
            **self._base(actor, at), audience=kind, text=body,
            number=self.status_update_count + 1,
            previous_update_at=self.last_status_update_at)
        self._record(event)
        return event

    def record_missed_status_update(self, *, since: datetime, interval: int, due_at: datetime,
                                    actor: Actor, at: datetime) -> IncidentStatusUpdateMissed:
        """Record that the ``interval``-th update after ``since`` (due at ``due_at``, not
        after ``at``) was not posted. An interval already recorded is refused, so recording
        is idempotent by construction."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("record_missed_status_update", MajorStatus.ACCEPTED)
        start = utc_instant(since, "since")
        due = utc_instant(due_at, "due_at")
        if type(interval) is not int or interval < 1:
            raise ValidationError(f"interval must be an integer >= 1, got {interval!r}",
                                  field="interval")
        if not start < due <= at:
            raise ValidationError("due_at must be after since and not after the time of "
                                  "recording", field="due_at")
        if any(e.key == (start, interval) for e in self.status_updates_missed):
            raise ValidationError(f"{self.id}: missed update {interval} after "
                                  f"{start.isoformat()} is already recorded", field="interval")
        event = IncidentStatusUpdateMissed(**self._base(actor, at), since=start,
                                           interval=interval, due_at=due)
        self._record(event)
        return event

    def record_review(
        self, *, impact: str, root_cause: str, actor: Actor, at: datetime,
        went_well: str | None = None, went_badly: str | None = None,
    ) -> IncidentReviewRecorded:
        """Record the post-incident review of the major incident, or revise it (the new
        recording replaces the previous one, which the event keeps)."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("record_review", MajorStatus.ACCEPTED)
        event = IncidentReviewRecorded(
            **self._base(actor, at), impact=check.text(impact, "impact"),
            root_cause=check.text(root_cause, "root_cause"),
            went_well=check.optional_text(went_well, "went_well"),
            went_badly=check.optional_text(went_badly, "went_badly"),
            revision=1 if self.review is None else self.review.revision + 1,
            previous_review=self.review)
        self._record(event)
        return event

    def add_review_action(self, description: str, *, owner: str, due_at: datetime,
                          actor: Actor, at: datetime) -> IncidentReviewActionAdded:
        """Add an improvement action with its ``owner`` and due date; its id is ``A1``,
        ``A2``, ... in the order added."""
        actor, at = self._stamp(actor, at)
        self._require_major_status("add_review_action", MajorStatus.ACCEPTED)
        event = IncidentReviewActionAdded(
            **self._base(actor, at), action_id=f"A{len(self.review_actions) + 1}",
            description=check.text(description, "description", limit=check.MAX_TITLE * 10),
            owner=check.identifier(owner, "owner"), due_at=utc_instant(due_at, "due_at"))
        self._record(event)
        return event

    def complete_review_action(self, action_id: str, *, actor: Actor, at: datetime
                               ) -> IncidentReviewActionCompleted:
        """Mark the review action ``action_id`` as done."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("complete_review_action")
        for action in self.review_actions:
            if action.action_id == action_id:
                break
        else:
            raise ValidationError(f"{self.id} has no review action {action_id!r}",
                                  field="action_id")
        if action.is_done:
            raise ValidationError(f"review action {action_id} of {self.id} is already done",
                                  field="action_id")
        event = IncidentReviewActionCompleted(**self._base(actor, at), action=action)
        self._record(event)
        return event

    def _require_major_status(self, command: str, wanted: MajorStatus) -> None:
        self._require_changeable(command)
        if self.major_status is not wanted:
            now = "not proposed" if self.major_status is None else str(self.major_status)
            raise ValidationError(f"{command}: {self.id} is {now} as a major incident; it "
                                  f"must be {wanted}", field="major_status")

    def _require_review(self, trigger: str, target: str) -> None:
        """Refuse a move into a terminal state while a required review is missing."""
        if self.awaits_review and self._workflow.is_terminal(target):
            raise InvalidTransitionError(
                self.status, trigger,
                (t for t in self.allowed_triggers() if t != trigger),
                reason=f"{self.id} is a major incident and needs a post-incident review "
                       "before it closes")
    # ----------------------------------------------------------------- monitoring alerts

    @property
    def alert_key(self) -> str | None:
        """The monitoring alert deduplication key this incident holds (None: none), from
        :meth:`open_alert_group` until :meth:`release_alert_group`."""
        for event in reversed(self._history):
            if isinstance(event, IncidentAlertGroupOpened):
                return event.dedup_key
            if isinstance(event, IncidentAlertGroupReleased):
                return None
        return None

    @property
    def alert_severity(self) -> AlertSeverity | None:
        """The highest alert severity recorded since the incident took its alert key."""
        for event in reversed(self._history):
            if isinstance(event, (IncidentAlertGroupOpened, IncidentAlertSeverityRaised)):
                return event.severity
            if isinstance(event, IncidentAlertGroupReleased):
                return None
        return None

    def open_alert_group(
        self, *, source: str, dedup_key: str, severity: AlertSeverity, summary: str,
        alert_at: datetime, payload: str | None, actor: Actor, at: datetime,
    ) -> IncidentAlertGroupOpened:
        """Record that a monitoring alert of ``source`` opened this incident, which takes the
        alert's ``dedup_key`` (``payload``: canonical JSON text or None)."""
        actor, at = self._stamp(actor, at)
        self._require_open("open_alert_group")
        if self.alert_key is not None:
            raise ValidationError(f"{self.id} already holds the alert key {self.alert_key!r}",
                                  field="dedup_key")
        if type(severity) is not AlertSeverity or severity.is_recovery:
            raise ValidationError(f"an alert group opens at a problem severity, got "
                                  f"{severity!r}", field="severity")
        if payload is not None and type(payload) is not str:
            raise ValidationError("payload must be JSON text or None", field="payload")
        event = IncidentAlertGroupOpened(
            **self._base(actor, at), source=check.identifier(source, "source"),
            dedup_key=check.identifier(dedup_key, "dedup_key"), severity=severity,
            summary=check.line(summary, "summary"), alert_at=utc_instant(alert_at, "alert_at"),
            payload=payload)
        self._record(event)
        return event

    def raise_alert_severity(self, severity: AlertSeverity, *, alert_at: datetime,
                             actor: Actor, at: datetime) -> IncidentAlertSeverityRaised:
        """Record an alert of this incident's key at a higher severity than any before."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("raise_alert_severity")
        key, current = self._held_alert_key("raise_alert_severity")
        if type(severity) is not AlertSeverity or not severity > current:
            raise ValidationError(f"{self.id}: severity {severity!r} is not above "
                                  f"{current.value}", field="severity")
        event = IncidentAlertSeverityRaised(
            **self._base(actor, at), dedup_key=key, severity=severity,
            previous_severity=current, alert_at=utc_instant(alert_at, "alert_at"))
        self._record(event)
        return event

    def record_alert_recovery(self, *, alert_at: datetime, alert_count: int, actor: Actor,
                              at: datetime) -> IncidentAlertRecovered:
        """Record the recovery alert of this incident's key (``alert_count`` alerts of the key
        in all, the recovery included)."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("record_alert_recovery")
        key, _current = self._held_alert_key("record_alert_recovery")
        event = IncidentAlertRecovered(**self._base(actor, at), dedup_key=key,
                                       alert_at=utc_instant(alert_at, "alert_at"),
                                       alert_count=_count(alert_count))
        self._record(event)
        return event

    def release_alert_group(self, *, reason: str, alert_count: int, actor: Actor,
                            at: datetime) -> IncidentAlertGroupReleased:
        """Give up this incident's alert key (another incident takes it)."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("release_alert_group")
        key, _current = self._held_alert_key("release_alert_group")
        event = IncidentAlertGroupReleased(**self._base(actor, at), dedup_key=key,
                                           reason=check.text(reason, "reason"),
                                           alert_count=_count(alert_count))
        self._record(event)
        return event

    def _held_alert_key(self, command: str) -> tuple[str, AlertSeverity]:
        key, severity = self.alert_key, self.alert_severity
        if key is None or severity is None:
            raise ValidationError(f"{self.id} holds no alert key: cannot {command}",
                                  field="dedup_key")
        return key, severity


def _check_occurrence(occurred: datetime | None, detected: datetime | None, at: datetime
                      ) -> None:
    for name, instant in (("occurred_at", occurred), ("detected_at", detected)):
        if instant is not None and instant > at:
            raise ValidationError(f"{name} ({instant.isoformat()}) is after the logging "
                                  f"time ({at.isoformat()})", field=name)
    if occurred is not None and detected is not None and detected < occurred:
        raise ValidationError("detected_at is before occurred_at", field="detected_at")


def _channel(value: object) -> Channel:
    if isinstance(value, str):
        try:
            return Channel(value)
        except ValueError:
            pass
    known = ", ".join(c.value for c in Channel)
    raise ValidationError(f"unknown channel {value!r} (known: {known})", field="channel")


def _description(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"description must be a string, got {type(value).__name__}",
                              field="description")
    if len(value) > check.MAX_TEXT:
        raise ValidationError(f"description is longer than {check.MAX_TEXT} characters",
                              field="description")
    return check.valid_text(value, "description")


def _count(value: object) -> int:
    if type(value) is not int or value < 1:
        raise ValidationError(f"alert_count must be an integer >= 1, got {value!r}",
                              field="alert_count")
    return value
