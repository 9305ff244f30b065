"""Values of major-incident management: where a major incident stands, why it was proposed,
who a status update is for, and the post-incident review with its actions.

A major incident is an incident whose impact calls for a separate, faster procedure: it is
*proposed* (by a policy or by hand, with a reason), then *accepted* or *rejected* by an
incident manager. Once accepted it gets roles (commander, communications lead, ...), regular
status updates and, before it closes, a post-incident review.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = [
    "MajorBasis",
    "MajorStatus",
    "PostIncidentReview",
    "ReviewAction",
    "TimelineEntry",
    "UpdateAudience",
]


class MajorStatus(enum.StrEnum):
    """Where an incident stands as a major incident (``None`` on the incident: never
    proposed)."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class MajorBasis(enum.StrEnum):
    """Why an incident was proposed as major: its priority, the criticality of its service, a
    cluster of incidents on one service or configuration item, or a person's judgement."""

    PRIORITY = "priority"
    SERVICE = "service"
    CLUSTER = "cluster"
    MANUAL = "manual"


class UpdateAudience(enum.StrEnum):
    """Who a status update of a major incident is written for."""

    INTERNAL = "internal"
    STAKEHOLDERS = "stakeholders"
    AFFECTED_USERS = "affected_users"


@attrs.frozen
class PostIncidentReview:
    """What a post-incident review found: the impact, the root cause, what went well and what
    went badly. ``revision`` counts the times it was recorded (1 for the first); the last
    recording replaces the earlier ones.

    >>> from datetime import datetime, UTC
    >>> review = PostIncidentReview("Payroll late by 2 h", "Expired certificate",
    ...                             "Fast diagnosis", "No certificate monitoring", 1,
    ...                             datetime(2026, 1, 6, tzinfo=UTC), "mia")
    >>> review.revision, review.recorded_by
    (1, 'mia')
    """

    impact: str
    root_cause: str
    went_well: str | None
    went_badly: str | None
    revision: int
    recorded_at: datetime
    recorded_by: str


@attrs.frozen
class ReviewAction:
    """An improvement action decided by a post-incident review, with its owner and due date;
    ``completed_at`` and ``completed_by`` are set once it is done.

    >>> from datetime import datetime, UTC
    >>> action = ReviewAction("A1", "Monitor certificate expiry", "ops-team",
    ...                       datetime(2026, 2, 1, tzinfo=UTC))
    >>> action.is_done
    False
    """

    action_id: str
    description: str
    owner: str
    due_at: datetime
    completed_at: datetime | None = None
    completed_by: str | None = None

    @property
    def is_done(self) -> bool:
        """Whether the action was completed."""
        return self.completed_at is not None

    def is_overdue(self, at: datetime) -> bool:
        """Whether the action is still open after its due date, at ``at``."""
        return self.completed_at is None and at > self.due_at


@attrs.frozen
class TimelineEntry:
    """One line of a post-incident review's timeline, built from the incident's history.

    ``kind`` is the name of the event it comes from (such as ``"incident.major_accepted"``),
    or ``"incident.occurred"`` / ``"incident.detected"`` for the instants the logged event
    reports; ``version`` is that event's version; ``actor`` is the id of who acted (None for
    the reported instants); ``summary`` says what happened in one line.
    """

    at: datetime
    kind: str
    summary: str
    actor: str | None = None
    version: int | None = None
