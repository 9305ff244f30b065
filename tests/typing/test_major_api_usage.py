"""Realistic use of the major-incident API, checked by ``mypy --strict`` and run by pytest.

Everything is imported from the package root; the ``assert_type`` calls pin the types the API
promises.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import assert_type

from itil_incident import (
    Actor,
    ClusterRule,
    DeskPolicies,
    DueReport,
    FrozenClock,
    Incident,
    IncidentStatusUpdateMissed,
    InMemoryRepository,
    MajorIncidentPolicy,
    MajorProposal,
    MajorStatus,
    PostIncidentReview,
    ReviewAction,
    ServiceDesk,
    TimelineEntry,
    UpdateAudience,
)

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
MANAGER = Actor("mia", "Mia Manager", frozenset({"incident_manager"}))


def test_a_host_runs_a_major_incident_with_typed_results() -> None:
    policy = MajorIncidentPolicy(priorities={1},
                                 cluster=ClusterRule(threshold=3, window=timedelta(hours=1)))
    clock = FrozenClock(START)
    desk = ServiceDesk(InMemoryRepository(), policies=DeskPolicies(major=policy), clock=clock)
    incident = desk.log_incident(actor=AGENT, title="Mail is down", impact=1, urgency=1)
    assert_type(incident.major_status, MajorStatus | None)
    proposal = policy.proposal_for(priority=1, service=None)
    assert_type(proposal, MajorProposal | None)
    accepted = desk.accept_major(incident.id, actor=MANAGER)
    assert_type(accepted, Incident)
    desk.post_status_update(incident.id, UpdateAudience.STAKEHOLDERS, "On it", actor=MANAGER)
    clock.advance(hours=1)
    report = desk.process_due()
    assert_type(report, DueReport)
    missed = report.missed_status_updates
    assert_type(missed, tuple[IncidentStatusUpdateMissed, ...])
    assert len(missed) == 2
    reviewed = desk.record_review(incident.id, actor=MANAGER, impact="1 h without mail",
                                  root_cause="Relay disk full")
    assert_type(reviewed.review, PostIncidentReview | None)
    desk.add_review_action(incident.id, "Alert on the disk", actor=MANAGER, owner="ops",
                           due_at=START + timedelta(days=7))
    actions = desk.get_incident(incident.id).review_actions
    assert_type(actions, tuple[ReviewAction, ...])
    timeline = desk.review_timeline(incident.id)
    assert_type(timeline, list[TimelineEntry])
    assert timeline[0].kind == "incident.logged"
    due = desk.status_update_due(incident.id)
    assert_type(due, datetime | None)
    assert due == START + timedelta(minutes=30)
    assert [i.id for i in desk.major_incidents(status=MajorStatus.ACCEPTED)] == [incident.id]
