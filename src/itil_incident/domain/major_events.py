"""Major-incident events: proposal and decision, roles, status updates, the post-incident
review and its actions.

Like every incident event they are frozen, past tense, fold themselves into the incident
(``apply``) and report what they changed (``changes()``). The incident methods that record
them are in :class:`~itil_incident.Incident` (``propose_major``, ``accept_major``, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from itil_incident.domain.events import IncidentEvent
from itil_incident.domain.major import (
    MajorBasis,
    MajorStatus,
    PostIncidentReview,
    ReviewAction,
    UpdateAudience,
)

if TYPE_CHECKING:
    from itil_incident.domain.incident import Incident

__all__ = [
    "IncidentMajorAccepted",
    "IncidentMajorProposed",
    "IncidentMajorRejected",
    "IncidentMajorRoleAssigned",
    "IncidentMajorRoleReleased",
    "IncidentReviewActionAdded",
    "IncidentReviewActionCompleted",
    "IncidentReviewRecorded",
    "IncidentStatusUpdateMissed",
    "IncidentStatusUpdatePosted",
]


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentMajorProposed(IncidentEvent):
    """The incident was proposed as a major incident, on ``basis`` (a policy criterion or by
    hand) for ``reason``; ``evidence`` holds the ids of related incidents (a cluster)."""

    name: ClassVar[str] = "incident.major_proposed"
    basis: MajorBasis
    reason: str
    evidence: tuple[str, ...] = ()
    previous_major_status: MajorStatus | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["major_status"] = (self.previous_major_status, MajorStatus.PROPOSED)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.major_status = MajorStatus.PROPOSED


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentMajorAccepted(IncidentEvent):
    """An incident manager accepted the proposal: the incident is a major incident.
    ``review_required`` records whether the policy then required a post-incident review
    before the incident may close."""

    name: ClassVar[str] = "incident.major_accepted"
    review_required: bool

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["major_status"] = (MajorStatus.PROPOSED, MajorStatus.ACCEPTED)
        if self.review_required:
            result["major_review_required"] = (False, True)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.major_status = MajorStatus.ACCEPTED
        incident.major_review_required = self.review_required


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentMajorRejected(IncidentEvent):
    """An incident manager rejected the proposal, for ``reason``."""

    name: ClassVar[str] = "incident.major_rejected"
    reason: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["major_status"] = (MajorStatus.PROPOSED, MajorStatus.REJECTED)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.major_status = MajorStatus.REJECTED


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentMajorRoleAssigned(IncidentEvent):
    """``person`` took ``role`` on the major incident; a hand-over names the
    ``previous_holder`` (None: the role was vacant, or it is a role several people share)."""

    name: ClassVar[str] = "incident.major_role_assigned"
    role: str
    person: str
    previous_holder: str | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        before = None if self.previous_holder is None else (self.role, self.previous_holder)
        result["major_roles"] = (before, (self.role, self.person))
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        if self.previous_holder is None:
            incident.major_roles = (*incident.major_roles, (self.role, self.person))
        else:
            old = (self.role, self.previous_holder)
            incident.major_roles = tuple((self.role, self.person) if pair == old else pair
                                         for pair in incident.major_roles)


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentMajorRoleReleased(IncidentEvent):
    """``person`` no longer holds ``role`` on the major incident (nobody took it over)."""

    name: ClassVar[str] = "incident.major_role_released"
    role: str
    person: str

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["major_roles"] = ((self.role, self.person), None)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.major_roles = tuple(pair for pair in incident.major_roles
                                     if pair != (self.role, self.person))


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentStatusUpdatePosted(IncidentEvent):
    """A status update of the major incident was posted for ``audience``; ``number`` counts
    the updates (1 for the first), ``previous_update_at`` is when the one before was posted."""

    name: ClassVar[str] = "incident.status_update_posted"
    audience: UpdateAudience
    text: str
    number: int
    previous_update_at: datetime | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["status_update_count"] = (self.number - 1, self.number)
        result["last_status_update_at"] = (self.previous_update_at, self.at)
        result[f"status_update.{self.audience}"] = (None, self.text)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.status_update_count = self.number
        incident.last_status_update_at = self.at


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentStatusUpdateMissed(IncidentEvent):
    """No status update was posted in the ``interval``-th cadence interval after ``since``
    (the last update, or the acceptance when there was none): one was due at ``due_at``.

    A history holds at most one such event per ``since`` and ``interval``.
    """

    name: ClassVar[str] = "incident.status_update_missed"
    since: datetime
    interval: int
    due_at: datetime

    @property
    def key(self) -> tuple[datetime, int]:
        """What identifies the missed interval in a history: ``since`` and ``interval``."""
        return (self.since, self.interval)

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["status_update_missed"] = (None, self.interval)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentReviewRecorded(IncidentEvent):
    """The post-incident review was recorded (``revision`` 1) or revised (2, 3, ...):
    impact, root cause, what went well and what went badly."""

    name: ClassVar[str] = "incident.review_recorded"
    impact: str
    root_cause: str
    went_well: str | None
    went_badly: str | None
    revision: int
    previous_review: PostIncidentReview | None = None

    @property
    def review(self) -> PostIncidentReview:
        """The review as this event records it."""
        return PostIncidentReview(self.impact, self.root_cause, self.went_well,
                                  self.went_badly, self.revision, self.at, self.actor.id)

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["review"] = (self.previous_review, self.review)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.review = self.review


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentReviewActionAdded(IncidentEvent):
    """The review decided an improvement action, with an owner and a due date."""

    name: ClassVar[str] = "incident.review_action_added"
    action_id: str
    description: str
    owner: str
    due_at: datetime

    @property
    def action(self) -> ReviewAction:
        """The action as added (open)."""
        return ReviewAction(self.action_id, self.description, self.owner, self.due_at)

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["review_actions"] = (None, self.action)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        incident.review_actions = (*incident.review_actions, self.action)


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentReviewActionCompleted(IncidentEvent):
    """A review action was completed; ``action`` is the action as it stood before."""

    name: ClassVar[str] = "incident.review_action_completed"
    action: ReviewAction

    @property
    def completed(self) -> ReviewAction:
        """The action once completed."""
        return attrs.evolve(self.action, completed_at=self.at, completed_by=self.actor.id)

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["review_actions"] = (self.action, self.completed)
        return result

    def apply(self, incident: Incident) -> None:
        super().apply(incident)
        done = self.completed
        incident.review_actions = tuple(done if action.action_id == done.action_id else action
                                        for action in incident.review_actions)
