"""Parent, child and duplicate incidents: the cascade of a parent's resolution to its open
children, and duplicates (mixed into :class:`ServiceDesk` through the problem commands)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from itil_incident._desk_core import DeskCore
from itil_incident.domain import _checks as check
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import Actor
from itil_incident.errors import InvalidTransitionError, ValidationError

__all__ = ["FamilyCommands", "IncidentBatch"]


class IncidentBatch:
    """The incidents one command changes, each loaded once (an identity map), in the order
    they were first loaded: the records of one atomic commit."""

    def __init__(self, load: Callable[[str], Incident], *first: Incident) -> None:
        self._load = load
        self.incidents: dict[str, Incident] = {incident.id: incident for incident in first}

    def get(self, incident_id: str) -> Incident:
        """The incident ``incident_id``, loaded on first use."""
        incident = self.incidents.get(incident_id)
        if incident is None:
            incident = self.incidents[incident_id] = self._load(incident_id)
        return incident

    def changed(self) -> list[Incident]:
        """The incidents with events to save."""
        return [i for i in self.incidents.values() if i.version != i.saved_version]


class FamilyCommands(DeskCore):
    """Cascading resolution from parents to children, and duplicates."""

    def mark_duplicate(self, incident_id: str, original_id: str, *, actor: Actor,
                       notes: str | None = None) -> Incident:
        """Mark the open incident ``incident_id`` as a duplicate of ``original_id``.

        The duplicate records the reference (``incident.marked_duplicate``), is resolved with
        ``policies.duplicate_resolution_code`` (``notes``, by default "Duplicate of <original>")
        and closed with ``policies.duplicate_closure_code``. The original lists it in
        ``duplicate_ids`` and gains the duplicate's caller as a watcher
        (``incident.duplicate_recorded``), so that notifications about the original reach
        them (:meth:`~itil_incident.Recipient.watchers`). Both records are saved atomically.

        Refused, changing nothing: an incident as its own duplicate; an original that is
        closed or cancelled (:class:`~itil_incident.InvalidTransitionError`); an original
        that is itself a duplicate, or a duplicate that others duplicate (no chains); a
        duplicate that is resolved, closed or cancelled already, or that has open children
        (move or resolve them first).
        """
        actor = check.actor(actor)
        text = check.optional_text(notes, "notes")
        duplicate = self._incident(incident_id)
        original = self._incident(original_id)
        self._authorize(actor, "mark_duplicate", duplicate)
        if original.id == duplicate.id:
            raise ValidationError("an incident cannot duplicate itself", field="original_id")
        if original.is_terminal:
            raise InvalidTransitionError(
                original.status, "mark_duplicate", (),
                reason=f"the original {original.id} is {original.status}; a duplicate needs "
                       "an original that is still open or resolved")
        if original.duplicate_of is not None:
            raise ValidationError(
                f"{original.id} is itself a duplicate of {original.duplicate_of}; mark "
                f"{duplicate.id} as a duplicate of {original.duplicate_of} instead",
                field="original_id")
        batch = IncidentBatch(self._incident, duplicate, original)
        open_children = [c for c in duplicate.child_ids
                         if (child := batch.get(c)).parent_id == duplicate.id and child.is_open]
        if open_children:
            raise ValidationError(
                f"{duplicate.id} has open children ({', '.join(open_children)}): move or "
                "resolve them before marking it a duplicate", field="incident_id")
        now = self._now()
        policies = self.policies
        duplicate.mark_duplicate(original.id, actor=actor, at=now)
        original.record_duplicate(duplicate.id, caller=duplicate.caller, actor=actor, at=now)
        duplicate.resolve(code=policies.duplicate_resolution_code,
                          notes=text or f"Duplicate of {original.id}: {original.title}",
                          actor=actor, at=now, codes=policies.resolution_codes)
        duplicate.close(actor=actor, at=now, code=policies.duplicate_closure_code)
        self._commit([duplicate, original])
        return duplicate

    # ----------------------------------------------------------------- the cascade

    def _refuse_reopen_under_closed_parent(self, incident: Incident) -> None:
        """With the cascade on, a child of a closed parent is not reopened (the parent could
        no longer resolve it): it must be detached first."""
        parent_id = incident.parent_id
        if not self.policies.cascade_resolution or parent_id is None:
            return
        parent = self._incident(parent_id)
        if parent.is_terminal and parent.workflow.state(parent.status).resolved:
            raise InvalidTransitionError(
                incident.status, "reopen", incident.allowed_triggers(),
                reason=f"{incident.id} is a child of {parent.id}, which is {parent.status}; "
                       f"detach it first (set_parent({incident.id!r}, None))")

    def _on_family(self, action: str, incident_id: str, actor: Actor,
                   change: Callable[[Incident, Actor, datetime], object]) -> Incident:
        """Like ``_on_incident``, then (with ``policies.cascade_resolution``) resolve the open
        children of the incident when it is resolved or closed; one atomic commit."""
        actor = check.actor(actor)

        def attempt() -> Incident:
            incident = self._incident(incident_id)
            self._authorize(actor, action, incident)
            now = self._now()
            change(incident, actor, now)
            batch = IncidentBatch(self._incident, incident)
            if self.policies.cascade_resolution:
                self._cascade(incident, batch, actor, now)
            self._commit(batch.changed())
            return incident

        return self._attempt(action, attempt)

    def _cascade(self, parent: Incident, batch: IncidentBatch, actor: Actor, now: datetime
                 ) -> None:
        """Resolve the open children of ``parent`` (resolved or closed) with its resolution
        code and notes, then theirs, breadth first.

        A child the workflow cannot resolve from its state refuses the whole command (an
        :class:`~itil_incident.InvalidTransitionError` naming the child): nothing is saved,
        and the child is never skipped silently. Children resolved, closed or cancelled
        already, and children that moved to another parent, are left alone.
        """
        pending = [parent]
        seen = {parent.id}
        while pending:
            current = pending.pop(0)
            code, notes = current.resolution_code, current.resolution_notes
            if code is None or notes is None or not current.workflow.state(
                    current.status).resolved:
                continue
            for child_id in current.child_ids:
                if child_id in seen:
                    continue
                seen.add(child_id)
                child = batch.get(child_id)
                if child.parent_id != current.id or not child.is_open:
                    continue
                self._authorize(actor, "resolve", child)
                try:
                    child.resolve_cascaded(parent_id=current.id, code=code, notes=notes,
                                           actor=actor, at=now)
                except InvalidTransitionError as refused:
                    raise InvalidTransitionError(
                        child.status, "resolve", refused.allowed,
                        reason=f"{child.id}, a child of {current.id}, cannot be resolved "
                               f"from {child.status!r} ({refused.reason or 'not allowed'}); "
                               "resolve or detach it first, or switch "
                               "policies.cascade_resolution off") from None
                pending.append(child)
