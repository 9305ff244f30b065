"""The problem entity: the underlying cause of one or more incidents.

A problem with a documented root cause and/or workaround can be marked a known error. Like
incidents, every change is a method that records one event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from itil_incident.domain import _checks as check
from itil_incident.domain._entity import Entity
from itil_incident.domain._time import utc_instant
from itil_incident.domain.problem_events import (
    KnownError,
    ProblemAssigned,
    ProblemCancelled,
    ProblemClosed,
    ProblemEvent,
    ProblemIncidentLinked,
    ProblemIncidentUnlinked,
    ProblemInvestigationStarted,
    ProblemMarkedKnownError,
    ProblemNoteAdded,
    ProblemOpened,
    ProblemReopened,
    ProblemReprioritized,
    ProblemResolved,
    ProblemRootCauseRecorded,
    ProblemTransitioned,
    ProblemWorkaroundRecorded,
)
from itil_incident.domain.problem_link_events import (
    LinkedChange,
    ProblemChangeLinked,
    ProblemChangeUnlinked,
)
from itil_incident.domain.values import Actor, CategoryPath, Impact, Priority, Urgency
from itil_incident.errors import ValidationError

if TYPE_CHECKING:
    from itil_incident.domain.workflow import Workflow
    from itil_incident.policies.priority import PriorityMatrix

__all__ = ["Problem"]

_DEDICATED = frozenset({"investigate", "mark_known_error", "resolve", "close", "reopen", "cancel"})


@attrs.define(init=False, eq=False, repr=False, weakref_slot=False)
class Problem(Entity[ProblemEvent]):  # type: ignore[override]  # built by folding events, never via attrs' init
    """The cause of one or more incidents, investigated until it is removed."""

    title: str
    description: str
    service: str | None
    configuration_items: tuple[str, ...]
    category: CategoryPath | None
    impact: Impact
    urgency: Urgency
    priority: Priority
    assignment_group: str | None
    assignee: str | None
    opened_at: datetime
    opened_by: Actor
    root_cause: str | None
    root_cause_category: CategoryPath | None
    workaround: str | None
    known_error: bool
    known_error_record: KnownError | None
    resolution: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    cancellation_reason: str | None
    reopen_count: int
    incident_ids: tuple[str, ...]
    # changes raised to fix the problem
    change_links: tuple[LinkedChange, ...]

    @classmethod
    def _blank(cls, workflow: Workflow) -> Problem:
        self = cls.__new__(cls)
        self._init_entity(workflow)
        self.assignee = None
        self.root_cause = self.workaround = self.resolution = None
        self.root_cause_category = None
        self.known_error = False
        self.known_error_record = None
        self.resolved_at = self.closed_at = None
        self.cancellation_reason = None
        self.reopen_count = 0
        # changes raised to fix the problem
        self.change_links = ()
        return self

    @classmethod
    def open(
        cls,
        *,
        problem_id: str | Callable[[], str],
        workflow: Workflow,
        matrix: PriorityMatrix,
        actor: Actor,
        at: datetime,
        title: str,
        description: str = "",
        service: str | None = None,
        configuration_items: Iterable[str] = (),
        category: CategoryPath | None = None,
        impact: Impact | int | str | None = None,
        urgency: Urgency | int | str | None = None,
        assignment_group: str | None = None,
        incident_ids: Iterable[str] = (),
    ) -> Problem:
        """Open a problem, optionally from incidents; priority comes from ``matrix``.

        ``problem_id`` may be a function, called only once every argument has been checked.
        """
        at = utc_instant(at, "at")
        actor = check.actor(actor)
        if category is not None and not isinstance(category, CategoryPath):
            raise ValidationError(f"category must be a CategoryPath, got {category!r}",
                                  field="category")
        if not isinstance(description, str):
            raise ValidationError("description must be a string", field="description")
        check.valid_text(description, "description")
        impact_value = matrix.default_impact if impact is None else matrix.impact(impact)
        urgency_value = matrix.default_urgency if urgency is None else matrix.urgency(urgency)
        # Keyword arguments are evaluated in order: the id is taken last, after every check.
        event = ProblemOpened(
            version=1,
            at=at,
            actor=actor,
            from_status=workflow.initial,
            to_status=workflow.initial,
            workflow=workflow.name,
            title=check.line(title, "title"),
            description=description,
            service=None if service is None else check.identifier(service, "service"),
            configuration_items=check.text_tuple(configuration_items, "configuration_items"),
            category=category,
            impact=impact_value,
            urgency=urgency_value,
            priority=matrix.priority_for(impact_value, urgency_value),
            assignment_group=(None if assignment_group is None
                              else check.identifier(assignment_group, "assignment_group")),
            incident_ids=check.text_tuple(incident_ids, "incident_ids"),
            problem_id=check.identifier(
                problem_id() if callable(problem_id) else problem_id, "problem_id"),
        )
        problem = cls._blank(workflow)
        problem._record(event)
        return problem

    @classmethod
    def from_history(cls, events: Iterable[ProblemEvent], workflow: Workflow, *,
                     stored: bool = True) -> Problem:
        """Rebuild a problem by folding its events, oldest first (``stored=False``: every
        event counts as pending, for an import)."""
        problem = cls._blank(workflow)
        for event in events:
            problem._record(problem._check_history(event, ProblemOpened, ProblemEvent))
        if problem.version == 0:
            raise ValidationError("a problem history cannot be empty", field="events")
        problem._saved_version = problem.version if stored else 0
        return problem

    @property
    def notes(self) -> tuple[str, ...]:
        """Investigation notes, oldest first."""
        return tuple(e.text for e in self._history if isinstance(e, ProblemNoteAdded))

    def _base(self, actor: Actor, at: datetime, *, to_status: str | None = None
              ) -> dict[str, Any]:
        return {
            "problem_id": self.id,
            "version": self.version + 1,
            "at": at,
            "actor": actor,
            "from_status": self.status,
            "to_status": self.status if to_status is None else to_status,
        }

    # ----------------------------------------------------------------- commands

    def link_incident(self, incident_id: str, *, actor: Actor, at: datetime
                      ) -> ProblemIncidentLinked:
        """Record that ``incident_id`` is caused by this problem."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("link_incident")
        incident_id = check.identifier(incident_id, "incident_id")
        if incident_id in self.incident_ids:
            raise ValidationError(f"{incident_id} is already linked to {self.id}",
                                  field="incident_id")
        event = ProblemIncidentLinked(**self._base(actor, at), incident_id=incident_id)
        self._record(event)
        return event

    def unlink_incident(self, incident_id: str, *, actor: Actor, at: datetime
                        ) -> ProblemIncidentUnlinked:
        """Remove an incident from this problem."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("unlink_incident")
        if incident_id not in self.incident_ids:
            raise ValidationError(f"{incident_id!r} is not linked to {self.id}",
                                  field="incident_id")
        event = ProblemIncidentUnlinked(**self._base(actor, at), incident_id=incident_id)
        self._record(event)
        return event

    def assign(self, *, actor: Actor, at: datetime, group: str | None = None,
               assignee: str | None = None) -> ProblemAssigned:
        """Give the problem to a group and/or an owner."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("assign")
        if group is None and assignee is None:
            raise ValidationError("assign needs a group, an assignee or both", field="group")
        new_group = self.assignment_group if group is None else check.identifier(group, "group")
        new_assignee = (self.assignee if assignee is None
                        else check.identifier(assignee, "assignee"))
        if (new_group, new_assignee) == (self.assignment_group, self.assignee):
            raise ValidationError(f"{self.id} is already assigned so", field="group")
        event = ProblemAssigned(**self._base(actor, at), assignment_group=new_group,
                                assignee=new_assignee,
                                previous_assignment_group=self.assignment_group,
                                previous_assignee=self.assignee)
        self._record(event)
        return event

    def start_investigation(self, *, actor: Actor, at: datetime) -> ProblemInvestigationStarted:
        """Start root-cause analysis (fires ``investigate``)."""
        actor, at = self._stamp(actor, at)
        target = self._fire("investigate")
        event = ProblemInvestigationStarted(**self._base(actor, at, to_status=target))
        self._record(event)
        return event

    def record_root_cause(self, root_cause: str, *, actor: Actor, at: datetime,
                          category: CategoryPath | None = None) -> ProblemRootCauseRecorded:
        """Record (or revise) the root cause, optionally with a root-cause category."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("record_root_cause")
        text = check.text(root_cause, "root_cause")
        if category is not None and not isinstance(category, CategoryPath):
            raise ValidationError(f"category must be a CategoryPath, got {category!r}",
                                  field="category")
        if text == self.root_cause and category == self.root_cause_category:
            raise ValidationError("root cause unchanged", field="root_cause")
        event = ProblemRootCauseRecorded(
            **self._base(actor, at), root_cause=text, root_cause_category=category,
            previous_root_cause=self.root_cause,
            previous_root_cause_category=self.root_cause_category,
        )
        self._record(event)
        return event

    def record_workaround(self, workaround: str, *, actor: Actor, at: datetime
                          ) -> ProblemWorkaroundRecorded:
        """Record (or revise) a workaround that relieves the incidents."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("record_workaround")
        text = check.text(workaround, "workaround")
        if text == self.workaround:
            raise ValidationError("workaround unchanged", field="workaround")
        event = ProblemWorkaroundRecorded(**self._base(actor, at), workaround=text,
                                          previous_workaround=self.workaround)
        self._record(event)
        return event

    def mark_known_error(self, *, actor: Actor, at: datetime, symptoms: str | None = None
                         ) -> ProblemMarkedKnownError:
        """Publish a known-error record (fires ``mark_known_error``; the default workflow
        requires a root cause or a workaround)."""
        actor, at = self._stamp(actor, at)
        text = self.title if symptoms is None else check.text(symptoms, "symptoms")
        target = self._fire("mark_known_error")
        record = KnownError(problem_id=self.id, symptoms=text, root_cause=self.root_cause,
                            workaround=self.workaround, identified_at=at)
        event = ProblemMarkedKnownError(**self._base(actor, at, to_status=target), record=record,
                                        previous_record=self.known_error_record)
        self._record(event)
        return event

    def reprioritize(self, matrix: PriorityMatrix, *, actor: Actor, at: datetime,
                     impact: Impact | int | str | None = None,
                     urgency: Urgency | int | str | None = None) -> ProblemReprioritized:
        """Change impact and/or urgency; the priority follows the problem matrix."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("reprioritize")
        new_impact = self.impact if impact is None else matrix.impact(impact)
        new_urgency = self.urgency if urgency is None else matrix.urgency(urgency)
        if new_impact == self.impact and new_urgency == self.urgency:
            raise ValidationError("impact and urgency are unchanged", field="impact")
        event = ProblemReprioritized(
            **self._base(actor, at), impact=new_impact, urgency=new_urgency,
            priority=matrix.priority_for(new_impact, new_urgency),
            previous_impact=self.impact, previous_urgency=self.urgency,
            previous_priority=self.priority,
        )
        self._record(event)
        return event

    def add_note(self, text: str, *, actor: Actor, at: datetime) -> ProblemNoteAdded:
        """Add an investigation note."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("add_note")
        event = ProblemNoteAdded(**self._base(actor, at), text=check.text(text, "text"))
        self._record(event)
        return event

    def resolve(self, resolution: str, *, actor: Actor, at: datetime) -> ProblemResolved:
        """The root cause is removed (fires ``resolve``)."""
        actor, at = self._stamp(actor, at)
        text = check.text(resolution, "resolution")
        target = self._fire("resolve", {"resolution": text})
        event = ProblemResolved(**self._base(actor, at, to_status=target), resolution=text)
        self._record(event)
        return event

    def close(self, *, actor: Actor, at: datetime) -> ProblemClosed:
        """Close a resolved problem (fires ``close``)."""
        actor, at = self._stamp(actor, at)
        target = self._fire("close")
        event = ProblemClosed(**self._base(actor, at, to_status=target))
        self._record(event)
        return event

    def reopen(self, *, reason: str, actor: Actor, at: datetime) -> ProblemReopened:
        """Reopen a resolved problem (fires ``reopen``)."""
        actor, at = self._stamp(actor, at)
        text = check.text(reason, "reason")
        target = self._fire("reopen", {"resolution": None})
        event = ProblemReopened(**self._base(actor, at, to_status=target), reason=text,
                                previous_resolution=self.resolution)
        self._record(event)
        return event

    def cancel(self, *, reason: str, actor: Actor, at: datetime) -> ProblemCancelled:
        """Cancel the problem (fires ``cancel``)."""
        actor, at = self._stamp(actor, at)
        text = check.text(reason, "reason")
        target = self._fire("cancel", {"cancellation_reason": text})
        event = ProblemCancelled(**self._base(actor, at, to_status=target), reason=text)
        self._record(event)
        return event

    def transition(self, trigger: str, *, actor: Actor, at: datetime) -> ProblemTransitioned:
        """Fire a host-defined ``trigger`` that has no dedicated command."""
        actor, at = self._stamp(actor, at)
        trigger = check.identifier(trigger, "trigger")
        if trigger in _DEDICATED:
            raise ValidationError(f"{trigger!r} has its own command; call it instead",
                                  field="trigger")
        target = self._fire(trigger)
        event = ProblemTransitioned(**self._base(actor, at, to_status=target), trigger=trigger)
        self._record(event)
        return event

    # ----------------------------------------------------------------- changes raised to fix it

    @property
    def change_ids(self) -> tuple[str, ...]:
        """The ids of the changes raised to fix this problem, in the order they were linked."""
        return tuple(link.change_id for link in self.change_links)

    def link_change(self, change_id: str, *, title: str, actor: Actor, at: datetime
                    ) -> ProblemChangeLinked:
        """Link a change (owned by the host) raised to fix this problem."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("link_change")
        change = check.identifier(change_id, "change_id")
        text = check.line(title, "title")
        if change in self.change_ids:
            raise ValidationError(f"{change} is already linked to {self.id}", field="change_id")
        event = ProblemChangeLinked(**self._base(actor, at), change_id=change, title=text)
        self._record(event)
        return event

    def unlink_change(self, change_id: str, *, actor: Actor, at: datetime
                      ) -> ProblemChangeUnlinked:
        """Remove a change linked with :meth:`link_change`."""
        actor, at = self._stamp(actor, at)
        self._require_changeable("unlink_change")
        for link in self.change_links:
            if link.change_id == change_id:
                event = ProblemChangeUnlinked(**self._base(actor, at), change_id=link.change_id,
                                              title=link.title)
                self._record(event)
                return event
        raise ValidationError(f"{change_id!r} is not linked to {self.id}", field="change_id")
