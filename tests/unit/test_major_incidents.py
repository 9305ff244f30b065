"""Major incidents at the service desk: proposals (automatic and by hand), the incident
manager's decision, roles and hand-overs, status updates, the review required before closure,
review actions, the review timeline and the queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itil_incident import (
    Actor,
    ClusterRule,
    DefinitionError,
    DeskPolicies,
    FrozenClock,
    Incident,
    IncidentMajorAccepted,
    IncidentMajorProposed,
    IncidentMajorRoleAssigned,
    IncidentStatusUpdatePosted,
    InvalidTransitionError,
    ItilIncidentError,
    MajorBasis,
    MajorIncidentPolicy,
    MajorStatus,
    NotFoundError,
    PermissionDeniedError,
    RecordingNotifier,
    RoleBasedAuthorizer,
    ServiceDesk,
    TransitionDef,
    UpdateAudience,
    ValidationError,
    Workflow,
    default_incident_workflow,
)
from itil_incident.testing import make_desk

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
MANAGER = Actor("mia", "Mia Manager", frozenset({"incident_manager"}))
POLICY = MajorIncidentPolicy(priorities={1}, critical_services={"payroll"},
                             cluster=ClusterRule(threshold=3, window=30 * MINUTE))


class Scene:
    """A desk with the policy above (or the one given), a frozen clock and a recording
    notifier."""

    def __init__(self, policy: MajorIncidentPolicy | None = POLICY,
                 policies: DeskPolicies | None = None) -> None:
        self.clock = FrozenClock(T0)
        self.notifier = RecordingNotifier()
        self.desk = make_desk(clock=self.clock, notifier=self.notifier,
                              policies=policies or DeskPolicies(major=policy))

    def log(self, title: str = "Mail is slow", **fields: object) -> Incident:
        return self.desk.log_incident(actor=AGENT, title=title, **fields)  # type: ignore[arg-type]  # test fields are the desk's keyword arguments

    def major(self, title: str = "Mail is down for everyone") -> str:
        """An accepted major incident (proposed because of its priority)."""
        incident = self.log(title, impact=1, urgency=1)
        self.desk.accept_major(incident.id, actor=MANAGER)
        return incident.id

    def stored(self, incident_id: str) -> Incident:
        return self.desk.get_incident(incident_id)


def refused(scene: Scene, incident_id: str, error: type[ItilIncidentError],
            attempt: object) -> ItilIncidentError:
    """Call ``attempt`` (a zero-argument callable) and check that it raised ``error`` and
    stored nothing."""
    before = scene.stored(incident_id).timeline()
    notified = len(scene.notifier.events)
    assert callable(attempt)
    with pytest.raises(error) as caught:
        attempt()
    assert scene.stored(incident_id).timeline() == before
    assert len(scene.notifier.events) == notified
    return caught.value


# ----------------------------------------------------------------- automatic proposals


def test_an_incident_logged_at_a_major_priority_is_proposed_in_the_same_save() -> None:
    scene = Scene()
    incident = scene.log(impact=1, urgency=1)
    assert incident.major_status is MajorStatus.PROPOSED
    proposed = incident.timeline()[-1]
    assert isinstance(proposed, IncidentMajorProposed)
    assert (proposed.version, proposed.basis, proposed.actor.id) == (2, MajorBasis.PRIORITY,
                                                                     "system")
    assert proposed.at == incident.logged_at
    assert [e.name for e in scene.notifier.events] == ["incident.logged",
                                                       "incident.major_proposed"]
    assert scene.stored(incident.id).major_status is MajorStatus.PROPOSED


def test_raising_impact_and_urgency_to_a_major_priority_proposes_the_incident() -> None:
    scene = Scene()
    incident = scene.log()
    assert incident.major_status is None
    scene.clock.advance(minutes=5)
    changed = scene.desk.change_impact_urgency(incident.id, actor=AGENT, impact=1, urgency=1)
    assert changed.major_status is MajorStatus.PROPOSED
    assert [e.name for e in changed.timeline()[-2:]] == ["incident.reprioritized",
                                                         "incident.major_proposed"]


def test_overriding_the_priority_to_a_major_level_proposes_the_incident() -> None:
    scene = Scene()
    incident = scene.log()
    changed = scene.desk.override_priority(incident.id, 1, actor=AGENT,
                                           justification="The CEO cannot send mail")
    assert changed.major_status is MajorStatus.PROPOSED


def test_an_incident_on_a_critical_service_is_proposed_when_logged_or_moved_there() -> None:
    scene = Scene()
    logged = scene.log(service="payroll")
    assert logged.major_proposal is not None
    assert logged.major_proposal.basis is MajorBasis.SERVICE
    other = scene.log(service="printing")
    assert other.major_status is None
    moved = scene.desk.update_details(other.id, actor=AGENT, service="payroll")
    assert moved.major_status is MajorStatus.PROPOSED


def test_the_third_incident_on_a_service_within_the_window_is_proposed_as_a_cluster() -> None:
    scene = Scene()
    first = scene.log(service="vpn")
    scene.clock.advance(minutes=10)
    second = scene.log(service="vpn")
    scene.clock.advance(minutes=10)
    third = scene.log(service="vpn")
    assert (first.major_status, second.major_status) == (None, None)
    proposal = third.major_proposal
    assert proposal is not None
    assert proposal.basis is MajorBasis.CLUSTER
    assert proposal.evidence == (first.id, second.id)
    assert scene.stored(first.id).major_status is None  # only the new incident is proposed


def test_incidents_outside_the_window_or_no_longer_open_make_no_cluster() -> None:
    scene = Scene()
    old = scene.log(service="vpn")
    scene.clock.advance(minutes=31)
    resolved = scene.log(service="vpn")
    scene.desk.resolve(resolved.id, actor=AGENT, code="solved_remotely", notes="Rebooted")
    recent = scene.log(service="vpn")
    newest = scene.log(service="vpn")
    assert old.major_status is None
    assert recent.major_status is None
    assert newest.major_status is None  # 2 open in the window: old is too old, one resolved


def test_a_cluster_by_configuration_item_spans_services() -> None:
    scene = Scene()
    scene.log(service="vpn", configuration_items=["gw-1"])
    scene.log(service="remote", configuration_items=["gw-1", "gw-2"])
    third = scene.log(service="intranet", configuration_items=["gw-1"])
    assert third.major_proposal is not None
    assert "gw-1" in third.major_proposal.reason


def test_the_cluster_query_pages_through_many_open_incidents_in_the_window() -> None:
    policy = MajorIncidentPolicy(cluster=ClusterRule(threshold=250, window=timedelta(hours=2)))
    scene = Scene(policy)
    ids = [scene.log(service="vpn").id for _ in range(249)]
    assert all(scene.stored(i).major_status is None for i in ids[-3:])
    last = scene.log(service="vpn")
    assert last.major_proposal is not None
    assert len(last.major_proposal.evidence) == 249


def test_an_incident_joining_a_cluster_with_a_major_incident_is_not_proposed() -> None:
    scene = Scene()
    major = scene.major("VPN down")
    scene.desk.update_details(major, actor=AGENT, service="vpn")
    scene.log(service="vpn")
    third = scene.log(service="vpn")
    assert third.major_status is None


def test_a_rejected_incident_is_not_proposed_again_automatically_but_may_be_by_hand() -> None:
    scene = Scene()
    incident = scene.log(service="payroll")
    scene.desk.reject_major(incident.id, actor=MANAGER, reason="Only one payslip is wrong")
    scene.desk.change_impact_urgency(incident.id, actor=AGENT, impact=1, urgency=1)
    assert scene.stored(incident.id).major_status is MajorStatus.REJECTED
    again = scene.desk.propose_major(incident.id, actor=AGENT, reason="Now every payslip")
    assert again.major_status is MajorStatus.PROPOSED
    assert again.major_proposal is not None
    assert again.major_proposal.previous_major_status is MajorStatus.REJECTED


def test_without_a_policy_nothing_is_proposed_and_the_commands_say_it_is_off() -> None:
    scene = Scene(policy=None)
    incident = scene.log(impact=1, urgency=1)
    assert incident.major_status is None
    error = refused(scene, incident.id, DefinitionError,
                    lambda: scene.desk.propose_major(incident.id, actor=AGENT, reason="Big"))
    assert "MajorIncidentPolicy" in str(error)
    assert scene.desk.major_incidents() == []
    assert scene.desk.status_update_due(incident.id) is None


# ----------------------------------------------------------------- proposal by hand, decision


def test_a_manual_proposal_records_its_reason_and_evidence() -> None:
    scene = Scene()
    first = scene.log()
    second = scene.log()
    proposed = scene.desk.propose_major(second.id, actor=AGENT, reason="Half the floor",
                                        evidence=[first.id])
    event = proposed.timeline()[-1]
    assert isinstance(event, IncidentMajorProposed)
    assert (event.basis, event.reason, event.evidence, event.actor) == (
        MajorBasis.MANUAL, "Half the floor", (first.id,), AGENT)


@pytest.mark.parametrize(("reason", "evidence", "error"), [
    ("", (), ValidationError),
    ("Big", ("INC9999999",), NotFoundError),
    ("Big", "INC0000001", ValidationError),
])
def test_a_manual_proposal_needs_a_reason_and_existing_evidence(
        reason: str, evidence: tuple[str, ...], error: type[ItilIncidentError]) -> None:
    scene = Scene()
    incident = scene.log()
    refused(scene, incident.id, error,
            lambda: scene.desk.propose_major(incident.id, actor=AGENT, reason=reason,
                                             evidence=evidence))


def test_an_incident_already_proposed_or_accepted_or_resolved_cannot_be_proposed() -> None:
    scene = Scene()
    proposed = scene.log(impact=1, urgency=1).id
    accepted = scene.major()
    resolved = scene.log().id
    scene.desk.resolve(resolved, actor=AGENT, code="solved_remotely", notes="Done")
    refused(scene, proposed, ValidationError,
            lambda: scene.desk.propose_major(proposed, actor=AGENT, reason="Again"))
    refused(scene, accepted, ValidationError,
            lambda: scene.desk.propose_major(accepted, actor=AGENT, reason="Again"))
    refused(scene, resolved, InvalidTransitionError,
            lambda: scene.desk.propose_major(resolved, actor=AGENT, reason="Late"))


def test_only_an_incident_manager_accepts_or_rejects_a_proposal() -> None:
    scene = Scene()
    incident = scene.log(impact=1, urgency=1).id
    error = refused(scene, incident, PermissionDeniedError,
                    lambda: scene.desk.accept_major(incident, actor=AGENT))
    assert "incident_manager" in str(error)
    refused(scene, incident, PermissionDeniedError,
            lambda: scene.desk.reject_major(incident, actor=AGENT, reason="No"))
    accepted = scene.desk.accept_major(incident, actor=MANAGER)
    event = accepted.timeline()[-1]
    assert isinstance(event, IncidentMajorAccepted)
    assert event.actor == MANAGER
    assert event.review_required
    assert accepted.is_major
    assert accepted.major_review_required


def test_the_manager_role_is_the_policy_s_and_the_authorizer_is_asked_too() -> None:
    policy = MajorIncidentPolicy(manager_role="duty_manager")
    authorizer = RoleBasedAuthorizer({"*": {"agent", "duty_manager"},
                                      "accept_major": {"supervisor"}})
    desk = ServiceDesk(make_desk().repository, policies=DeskPolicies(major=policy),
                       authorizer=authorizer, clock=FrozenClock(T0))
    incident = desk.log_incident(actor=AGENT, title="ERP down")
    desk.propose_major(incident.id, actor=AGENT, reason="Plants stopped")
    duty = Actor("dan", roles={"duty_manager"})
    with pytest.raises(PermissionDeniedError, match="accept_major"):
        desk.accept_major(incident.id, actor=duty)  # holds the role, but the authorizer says no
    with pytest.raises(PermissionDeniedError, match="duty_manager"):
        desk.accept_major(incident.id, actor=MANAGER)  # incident_manager is not the role here
    desk.accept_major(incident.id, actor=Actor("sue", roles={"duty_manager", "supervisor"}))
    assert desk.get_incident(incident.id).is_major


def test_a_rejection_needs_a_reason_and_a_decision_needs_a_proposal() -> None:
    scene = Scene()
    incident = scene.log().id
    refused(scene, incident, ValidationError,
            lambda: scene.desk.accept_major(incident, actor=MANAGER))
    scene.desk.propose_major(incident, actor=AGENT, reason="Looks big")
    refused(scene, incident, ValidationError,
            lambda: scene.desk.reject_major(incident, actor=MANAGER, reason="  "))
    rejected = scene.desk.reject_major(incident, actor=MANAGER, reason="Two users only")
    assert rejected.major_status is MajorStatus.REJECTED
    refused(scene, incident, ValidationError,
            lambda: scene.desk.accept_major(incident, actor=MANAGER))


# ----------------------------------------------------------------- roles and status updates


def test_a_role_handed_over_records_the_previous_holder() -> None:
    scene = Scene()
    incident = scene.major()
    scene.desk.assign_major_role(incident, "commander", "mia", actor=MANAGER)
    handed = scene.desk.assign_major_role(incident, "commander", "noah", actor=MANAGER)
    event = handed.timeline()[-1]
    assert isinstance(event, IncidentMajorRoleAssigned)
    assert (event.role, event.person, event.previous_holder) == ("commander", "noah", "mia")
    assert handed.role_holders("commander") == ("noah",)
    assert handed.major_roles == (("commander", "noah"),)


def test_a_shared_role_gains_holders_and_loses_them_one_by_one() -> None:
    scene = Scene()
    incident = scene.major()
    scene.desk.assign_major_role(incident, "resolver_group", "Network Support", actor=MANAGER)
    both = scene.desk.assign_major_role(incident, "resolver_group", "Mail Team", actor=MANAGER)
    assert both.role_holders("resolver_group") == ("Network Support", "Mail Team")
    assert all(isinstance(e, IncidentMajorRoleAssigned) and e.previous_holder is None
               for e in both.timeline()[-2:])
    left = scene.desk.release_major_role(incident, "resolver_group", "Network Support",
                                         actor=MANAGER)
    assert left.role_holders("resolver_group") == ("Mail Team",)


def test_roles_are_refused_when_unknown_already_held_or_not_on_a_major_incident() -> None:
    scene = Scene()
    incident = scene.major()
    scene.desk.assign_major_role(incident, "scribe", "sam", actor=MANAGER)
    refused(scene, incident, ValidationError,
            lambda: scene.desk.assign_major_role(incident, "astronaut", "sam", actor=MANAGER))
    refused(scene, incident, ValidationError,
            lambda: scene.desk.assign_major_role(incident, "scribe", "sam", actor=MANAGER))
    refused(scene, incident, ValidationError,
            lambda: scene.desk.release_major_role(incident, "scribe", "noah", actor=MANAGER))
    proposed = scene.log(impact=1, urgency=1).id
    refused(scene, proposed, ValidationError,
            lambda: scene.desk.assign_major_role(proposed, "scribe", "sam", actor=MANAGER))


def test_status_updates_are_counted_and_restart_the_cadence() -> None:
    scene = Scene()
    incident = scene.major()
    assert scene.desk.status_update_due(incident) == T0 + 30 * MINUTE
    scene.clock.advance(minutes=20)
    first = scene.desk.post_status_update(incident, "stakeholders", "Engineers engaged",
                                          actor=MANAGER)
    scene.clock.advance(minutes=20)
    second = scene.desk.post_status_update(incident, UpdateAudience.AFFECTED_USERS,
                                           "Mail is back for most of you", actor=MANAGER)
    assert (first.status_update_count, second.status_update_count) == (1, 2)
    assert second.last_status_update_at == T0 + 40 * MINUTE
    event = second.timeline()[-1]
    assert isinstance(event, IncidentStatusUpdatePosted)
    assert (event.audience, event.number, event.previous_update_at) == (
        UpdateAudience.AFFECTED_USERS, 2, T0 + 20 * MINUTE)
    assert [u.text for u in second.status_updates] == ["Engineers engaged",
                                                       "Mail is back for most of you"]
    assert scene.desk.status_update_due(incident) == T0 + 70 * MINUTE


def test_a_status_update_needs_a_known_audience_text_and_an_accepted_major_incident() -> None:
    scene = Scene()
    incident = scene.major()
    refused(scene, incident, ValidationError,
            lambda: scene.desk.post_status_update(incident, "press", "Hello", actor=MANAGER))
    refused(scene, incident, ValidationError,
            lambda: scene.desk.post_status_update(incident, "internal", "", actor=MANAGER))
    plain = scene.log().id
    refused(scene, plain, ValidationError,
            lambda: scene.desk.post_status_update(plain, "internal", "Hi", actor=MANAGER))


# ----------------------------------------------------------------- review and closure


def resolved_major(scene: Scene) -> str:
    incident = scene.major()
    scene.desk.resolve(incident, actor=AGENT, code="solved_permanently", notes="Queue drained")
    return incident


def test_an_accepted_major_incident_cannot_close_before_its_review() -> None:
    scene = Scene()
    incident = resolved_major(scene)
    error = refused(scene, incident, InvalidTransitionError,
                    lambda: scene.desk.close(incident, actor=AGENT))
    assert "post-incident review" in str(error)
    assert scene.stored(incident).awaits_review
    scene.desk.record_review(incident, actor=MANAGER, impact="No mail for 2 h",
                             root_cause="A full disk on the relay")
    closed = scene.desk.close(incident, actor=AGENT)
    assert closed.status == "closed"


def test_a_policy_without_the_review_requirement_lets_a_major_incident_close() -> None:
    scene = Scene(MajorIncidentPolicy(priorities={1}, review_required=False))
    incident = resolved_major(scene)
    assert not scene.stored(incident).awaits_review
    assert scene.desk.close(incident, actor=AGENT).status == "closed"


def test_the_requirement_recorded_at_acceptance_holds_when_the_policy_is_removed() -> None:
    scene = Scene()
    incident = resolved_major(scene)
    later = ServiceDesk(scene.desk.repository, policies=DeskPolicies(),
                        clock=scene.clock)
    with pytest.raises(InvalidTransitionError):
        later.close(incident, actor=AGENT)


def test_a_major_incident_logged_in_error_may_still_be_cancelled_without_a_review() -> None:
    scene = Scene()
    incident = scene.major()
    assert scene.desk.cancel(incident, actor=AGENT, reason="Logged twice").status == "cancelled"


def test_a_host_trigger_into_a_terminal_state_also_waits_for_the_review() -> None:
    base = default_incident_workflow()
    workflow = Workflow("fast_close", base.states.values(),
                        [*base.transitions, TransitionDef("archive", "resolved", "closed")])
    scene = Scene(policies=DeskPolicies(incident_workflow=workflow, major=POLICY))
    incident = resolved_major(scene)
    refused(scene, incident, InvalidTransitionError,
            lambda: scene.desk.transition(incident, "archive", actor=AGENT))
    scene.desk.record_review(incident, actor=MANAGER, impact="i", root_cause="c")
    assert scene.desk.transition(incident, "archive", actor=AGENT).status == "closed"


def test_a_revised_review_replaces_the_first_and_the_event_keeps_it() -> None:
    scene = Scene()
    incident = scene.major()
    first = scene.desk.record_review(incident, actor=MANAGER, impact="2 h", root_cause="Disk",
                                     went_well="Fast triage")
    assert first.review is not None
    revised = scene.desk.record_review(incident, actor=AGENT, impact="2 h, 900 users",
                                       root_cause="Disk full: no alert", went_badly="Alerting")
    review = revised.review
    assert review is not None
    assert (review.revision, review.impact, review.went_well, review.went_badly,
            review.recorded_by) == (2, "2 h, 900 users", None, "Alerting", "alice")
    assert revised.timeline()[-1].changes()["review"] == (first.review, review)


def test_a_review_needs_impact_and_root_cause_on_an_accepted_major_incident() -> None:
    scene = Scene()
    incident = scene.major()
    refused(scene, incident, ValidationError,
            lambda: scene.desk.record_review(incident, actor=MANAGER, impact="",
                                             root_cause="Disk"))
    plain = scene.log().id
    refused(scene, plain, ValidationError,
            lambda: scene.desk.record_review(plain, actor=MANAGER, impact="i", root_cause="c"))


def test_review_actions_are_numbered_tracked_and_completed_once() -> None:
    scene = Scene()
    incident = scene.major()
    due = T0 + timedelta(days=14)
    scene.desk.add_review_action(incident, "Alert on relay disk", actor=MANAGER,
                                 owner="mailops", due_at=due)
    both = scene.desk.add_review_action(incident, "Runbook for the relay", actor=MANAGER,
                                        owner="servicedesk", due_at=due + timedelta(days=7))
    assert [a.action_id for a in both.review_actions] == ["A1", "A2"]
    assert both.review_actions[0].is_overdue(due + MINUTE)
    scene.clock.advance(hours=3)
    done = scene.desk.complete_review_action(incident, "A1", actor=AGENT)
    action = done.review_actions[0]
    assert (action.completed_at, action.completed_by) == (T0 + timedelta(hours=3), "alice")
    assert not action.is_overdue(due + MINUTE)
    assert [a.action_id for a in done.open_review_actions] == ["A2"]
    refused(scene, incident, ValidationError,
            lambda: scene.desk.complete_review_action(incident, "A1", actor=AGENT))
    refused(scene, incident, ValidationError,
            lambda: scene.desk.complete_review_action(incident, "A9", actor=AGENT))


def test_a_review_action_needs_an_owner_and_an_aware_due_date() -> None:
    scene = Scene()
    incident = scene.major()
    refused(scene, incident, ValidationError,
            lambda: scene.desk.add_review_action(incident, "Fix", actor=MANAGER, owner="",
                                                 due_at=T0))
    refused(scene, incident, ValidationError,
            lambda: scene.desk.add_review_action(incident, "Fix", actor=MANAGER, owner="ops",
                                                 due_at=datetime(2026, 2, 1)))


# ----------------------------------------------------------------- timeline and queries


def test_the_review_timeline_tells_the_story_in_time_order() -> None:
    scene = Scene()
    incident = scene.log("Mail is down", impact=1, urgency=1,
                         occurred_at=T0 - timedelta(minutes=40),
                         detected_at=T0 - timedelta(minutes=25)).id
    scene.clock.advance(minutes=5)
    scene.desk.accept_major(incident, actor=MANAGER)
    scene.desk.assign_major_role(incident, "commander", "mia", actor=MANAGER)
    scene.desk.assign_major_role(incident, "commander", "noah", actor=MANAGER)
    scene.clock.advance(minutes=10)
    scene.desk.post_status_update(incident, "stakeholders", "Relay disk full\nFreeing space",
                                  actor=MANAGER)
    timeline = scene.desk.review_timeline(incident)
    assert [entry.kind for entry in timeline] == [
        "incident.occurred", "incident.detected", "incident.logged", "incident.major_proposed",
        "incident.major_accepted", "incident.major_role_assigned",
        "incident.major_role_assigned", "incident.status_update_posted"]
    assert [entry.at for entry in timeline] == sorted(entry.at for entry in timeline)
    assert timeline[0].actor is None
    assert timeline[2].actor == "alice"
    assert timeline[6].summary == "noah became commander, handed over by mia"
    assert timeline[7].summary == "Status update to stakeholders: Relay disk full…"
    assert [entry.version for entry in timeline[2:]] == list(range(1, 7))


def test_major_incidents_lists_them_by_status_and_openness() -> None:
    scene = Scene()
    proposed = scene.log(impact=1, urgency=1).id
    scene.log()
    accepted = scene.major()
    resolved = resolved_major(scene)
    assert [i.id for i in scene.desk.major_incidents()] == [proposed, accepted, resolved]
    assert [i.id for i in scene.desk.major_incidents(status="accepted", open=True)] == [
        accepted]
    assert [i.id for i in scene.desk.major_incidents(open=False)] == [resolved]
    with pytest.raises(ValidationError):
        scene.desk.major_incidents(status="huge")


def test_no_update_is_due_without_a_cadence_for_the_priority_or_once_resolved() -> None:
    scene = Scene(MajorIncidentPolicy(cadence={1: 30 * MINUTE}))
    incident = scene.log(impact=2, urgency=1).id  # priority 2: no cadence here
    scene.desk.propose_major(incident, actor=AGENT, reason="Big")
    scene.desk.accept_major(incident, actor=MANAGER)
    assert scene.desk.status_update_due(incident) is None
    major = scene.log(impact=1, urgency=1).id
    scene.desk.propose_major(major, actor=AGENT, reason="Bigger")
    scene.desk.accept_major(major, actor=MANAGER)
    assert scene.desk.status_update_due(major) == T0 + 30 * MINUTE
    scene.desk.resolve(major, actor=AGENT, code="solved_remotely", notes="Done")
    assert scene.desk.status_update_due(major) is None
