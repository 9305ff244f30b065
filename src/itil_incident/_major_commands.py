"""The service desk's major-incident commands (mixed into :class:`ServiceDesk`).

Major-incident management is on when ``DeskPolicies.major`` holds a
:class:`~itil_incident.MajorIncidentPolicy`; the commands refuse with a
:class:`~itil_incident.DefinitionError` otherwise. The queries work either way.

Automatic proposals
    Every commit of the desk passes through :meth:`MajorCommands._commit`: an open incident
    never proposed as major, whose pending events log it or change its priority, impact,
    urgency or details, is proposed (by ``SYSTEM``, in the same commit) when the policy's
    priority or service criterion applies to it as it now stands, or, when it is being logged,
    when it completes a cluster (the repository is asked for the open incidents logged within
    the cluster window, newest first).
Cadence
    :func:`record_missed_updates` is what ``process_due`` does for each accepted, open major
    incident: one :class:`~itil_incident.IncidentStatusUpdateMissed` per cadence interval
    elapsed since the last status update (or the acceptance) and not recorded yet, for the
    last :data:`MAX_MISSED_INTERVALS` intervals at most.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

import attrs

from itil_incident._desk_core import DeskCore
from itil_incident._paging import IncidentOrder
from itil_incident.domain import _checks as check
from itil_incident.domain._major_timeline import review_timeline
from itil_incident.domain.events import (
    IncidentDetailsUpdated,
    IncidentLogged,
    IncidentPriorityOverridden,
    IncidentPriorityOverrideCleared,
    IncidentReprioritized,
)
from itil_incident.domain.incident import Incident
from itil_incident.domain.major import MajorBasis, MajorStatus, TimelineEntry, UpdateAudience
from itil_incident.domain.major_events import IncidentStatusUpdateMissed
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import SYSTEM, Actor
from itil_incident.errors import DefinitionError, PermissionDeniedError, ValidationError
from itil_incident.policies.major import ClusterRule, MajorIncidentPolicy
from itil_incident.ports import IncidentQuery

__all__ = ["MAX_MISSED_INTERVALS", "MajorCommands", "record_missed_updates"]

#: At most this many of the latest missed cadence intervals are recorded for an incident;
#: older ones (after a long pause of the time-driven processing) are not caught up.
MAX_MISSED_INTERVALS: Final = 48

#: Pending events after which the desk checks whether an incident is to be proposed as major.
_TRIGGERS: Final = (IncidentLogged, IncidentReprioritized, IncidentPriorityOverridden,
                    IncidentPriorityOverrideCleared, IncidentDetailsUpdated)
#: Incidents read per query while looking for a cluster.
_BATCH: Final = 200


class MajorCommands(DeskCore):
    """Major incidents: proposal and decision, roles, status updates, the post-incident
    review and its actions."""

    # ----------------------------------------------------------------- proposal and decision

    def propose_major(self, incident_id: str, *, actor: Actor, reason: str,
                      evidence: Iterable[str] = ()) -> Incident:
        """Propose an open incident as a major incident, for ``reason``; ``evidence`` names
        related incidents (each must exist). A rejected incident may be proposed again."""
        self._major_policy()
        related = check.text_tuple(evidence, "evidence")
        for other in related:
            self._incident(other)
        return self._on_incident(
            "propose_major", incident_id, actor,
            lambda i, a, t: i.propose_major(basis=MajorBasis.MANUAL, reason=reason,
                                            evidence=related, actor=a, at=t))

    def accept_major(self, incident_id: str, *, actor: Actor) -> Incident:
        """Accept the proposal: the incident is a major incident. The actor must hold the
        policy's ``manager_role`` (PermissionDeniedError otherwise)."""
        policy = self._major_policy()
        self._require_manager(actor, "accept_major", incident_id, policy)
        return self._on_incident(
            "accept_major", incident_id, actor,
            lambda i, a, t: i.accept_major(review_required=policy.review_required, actor=a,
                                           at=t))

    def reject_major(self, incident_id: str, *, actor: Actor, reason: str) -> Incident:
        """Reject the proposal, for ``reason``. The actor must hold the policy's
        ``manager_role`` (PermissionDeniedError otherwise)."""
        policy = self._major_policy()
        self._require_manager(actor, "reject_major", incident_id, policy)
        return self._on_incident("reject_major", incident_id, actor,
                                 lambda i, a, t: i.reject_major(reason=reason, actor=a, at=t))

    # ----------------------------------------------------------------- roles and updates

    def assign_major_role(self, incident_id: str, role: str, person: str, *,
                          actor: Actor) -> Incident:
        """Give one of the policy's roles on an accepted major incident to ``person`` (a
        person, or a group for a shared role such as ``resolver_group``). A role held by one
        person at a time is handed over, and the previous holder is recorded."""
        policy = self._major_policy()
        name = policy.role(role)
        return self._on_incident(
            "assign_major_role", incident_id, actor,
            lambda i, a, t: i.assign_major_role(name, person, shared=policy.is_shared(name),
                                                actor=a, at=t))

    def release_major_role(self, incident_id: str, role: str, person: str, *,
                           actor: Actor) -> Incident:
        """``person`` no longer holds ``role`` on the major incident, and nobody takes over."""
        name = self._major_policy().role(role)
        return self._on_incident(
            "release_major_role", incident_id, actor,
            lambda i, a, t: i.release_major_role(name, person, actor=a, at=t))

    def post_status_update(self, incident_id: str, audience: UpdateAudience | str, text: str,
                           *, actor: Actor) -> Incident:
        """Post a status update of an accepted major incident for ``audience``
        (``"internal"``, ``"stakeholders"`` or ``"affected_users"``); the cadence counts
        from it."""
        self._major_policy()
        return self._on_incident(
            "post_status_update", incident_id, actor,
            lambda i, a, t: i.post_status_update(audience, text, actor=a, at=t))

    # ----------------------------------------------------------------- review

    def record_review(
        self, incident_id: str, *, actor: Actor, impact: str, root_cause: str,
        went_well: str | None = None, went_badly: str | None = None,
    ) -> Incident:
        """Record the post-incident review of an accepted major incident (or revise it)."""
        self._major_policy()
        return self._on_incident(
            "record_review", incident_id, actor,
            lambda i, a, t: i.record_review(impact=impact, root_cause=root_cause,
                                            went_well=went_well, went_badly=went_badly,
                                            actor=a, at=t))

    def add_review_action(self, incident_id: str, description: str, *, actor: Actor,
                          owner: str, due_at: datetime) -> Incident:
        """Add an improvement action of the review, with its owner and due date; its id
        (``A1``, ``A2``, ...) is in ``incident.review_actions``."""
        self._major_policy()
        return self._on_incident(
            "add_review_action", incident_id, actor,
            lambda i, a, t: i.add_review_action(description, owner=owner, due_at=due_at,
                                                actor=a, at=t))

    def complete_review_action(self, incident_id: str, action_id: str, *,
                               actor: Actor) -> Incident:
        """Mark a review action as done (before the incident closes)."""
        return self._on_incident(
            "complete_review_action", incident_id, actor,
            lambda i, a, t: i.complete_review_action(action_id, actor=a, at=t))

    # ----------------------------------------------------------------- queries

    def review_timeline(self, incident_id: str) -> list[TimelineEntry]:
        """The incident's timeline for its post-incident review, built from its history:
        one entry per event, plus when it occurred and was detected, ordered by time."""
        return review_timeline(self._incident(incident_id).timeline())

    def major_incidents(self, *, status: MajorStatus | str | None = None,
                        open: bool | None = None,  # the natural name for this filter
                        ) -> list[Incident]:
        """Incidents proposed, accepted or rejected as major (or only those of ``status``),
        open or not (``open``), by id. The major status is read from each incident's
        history, so this lists the incidents (open ones only, with ``open=True``) and keeps
        the major ones."""
        wanted: MajorStatus | None = None
        if status is not None:
            try:
                wanted = MajorStatus(status)
            except ValueError:
                known = ", ".join(s.value for s in MajorStatus)
                raise ValidationError(f"unknown major status {status!r} (known: {known})",
                                      field="status") from None
        is_open = None if open is None else self._flag(open, "open")
        return [incident for incident in self.repository.list_incidents(IncidentQuery(
                    open=is_open))
                if incident.major_status is not None
                and (wanted is None or incident.major_status is wanted)]

    def status_update_due(self, incident_id: str) -> datetime | None:
        """When the next status update of the major incident is due (in the past when it is
        overdue): one cadence interval after the last update, or after the acceptance. None
        when no cadence applies (not an accepted major incident, not open, no cadence for
        its priority, or no major-incident policy)."""
        incident = self._incident(incident_id)
        policy = self.policies.major
        since = incident.cadence_since
        if policy is None or since is None or not incident.is_open:
            return None
        every = policy.cadence_for(incident.priority.level)
        return None if every is None else since + every

    # ----------------------------------------------------------------- plumbing

    def _major_policy(self) -> MajorIncidentPolicy:
        policy = self.policies.major
        if policy is None:
            raise DefinitionError("major-incident management is off: give the desk "
                                  "DeskPolicies(major=MajorIncidentPolicy(...))",
                                  culprit="major")
        return policy

    def _require_manager(self, actor: object, action: str, incident_id: object,
                         policy: MajorIncidentPolicy) -> None:
        who = check.actor(actor)
        if not who.has_role(policy.manager_role):
            raise PermissionDeniedError(who.id, f"{action} (it needs the role "
                                                f"{policy.manager_role!r})",
                                        incident_id if isinstance(incident_id, str) else None)

    def _commit(self, records: Sequence[Incident | Problem]) -> None:
        policy = self.policies.major
        if policy is not None:
            for record in records:
                if isinstance(record, Incident):
                    self._propose_automatically(record, policy)
        super()._commit(records)

    def _propose_automatically(self, incident: Incident, policy: MajorIncidentPolicy) -> None:
        if incident.major_status is not None or not incident.is_open:
            return
        pending = incident.pending_events()
        if not any(isinstance(event, _TRIGGERS) for event in pending):
            return
        proposal = policy.proposal_for(priority=incident.priority.level,
                                       service=incident.service)
        if (proposal is None and policy.cluster is not None
                and any(isinstance(event, IncidentLogged) for event in pending)):
            nearby = self._logged_near(incident, policy.cluster)
            proposal = policy.cluster_proposal(incident, nearby)
        if proposal is not None:
            incident.propose_major(basis=proposal.basis, reason=proposal.reason,
                                   evidence=proposal.evidence, actor=SYSTEM,
                                   at=incident.updated_at)

    def _logged_near(self, incident: Incident, rule: ClusterRule) -> list[Incident]:
        """The open incidents logged within the rule's window before ``incident`` (on its
        service only, when the rule does not look at configuration items)."""
        by_item = rule.by_configuration_item and bool(incident.configuration_items)
        if not by_item and incident.service is None:
            return []
        start = incident.logged_at - rule.window
        query = IncidentQuery(open=True, service=None if by_item else incident.service,
                              order_by=IncidentOrder.LOGGED_AT, descending=True, limit=_BATCH)
        found: list[Incident] = []
        while True:
            batch = self.repository.list_incidents(query)
            for other in batch:
                if other.logged_at < start:
                    return found
                found.append(other)
            if len(batch) < _BATCH:
                return found
            query = attrs.evolve(query, after=query.cursor_after(batch[-1]))


def record_missed_updates(incident: Incident, policy: MajorIncidentPolicy, now: datetime
                          ) -> list[IncidentStatusUpdateMissed]:
    """Record on ``incident`` (as ``SYSTEM``, dated ``now``) each cadence interval missed
    since its last status update or its acceptance and not recorded yet; the events."""
    since = incident.cadence_since
    if since is None or not incident.is_open:
        return []
    every = policy.cadence_for(incident.priority.level)
    missed = policy.missed_intervals(priority=incident.priority.level, since=since, now=now)
    if every is None or missed < 1:
        return []
    recorded = {event.key for event in incident.status_updates_missed}
    events: list[IncidentStatusUpdateMissed] = []
    for interval in range(max(1, missed - MAX_MISSED_INTERVALS + 1), missed + 1):
        if (since, interval) in recorded:
            continue
        events.append(incident.record_missed_status_update(
            since=since, interval=interval, due_at=since + interval * every, actor=SYSTEM,
            at=now))
    return events
