"""Per-incident facts: what one pass over a history says about an incident.

Histories come from a real desk (in-memory repository, frozen clock) unless a test needs a
host workflow, which it drives at domain level.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itil_incident import (
    Actor,
    BusinessCalendar,
    DeskPolicies,
    FrozenClock,
    Incident,
    PriorityMatrix,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    StateDef,
    TransitionDef,
    ValidationError,
    Workflow,
)
from itil_incident.reporting import IncidentFacts, SlaOutcome, incident_facts
from itil_incident.testing import make_desk

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CODE = "solved_permanently"


def seconds(instant: datetime) -> float:
    return instant.timestamp()


def log(desk: ServiceDesk, actor: Actor, **fields: object) -> str:
    fields.setdefault("assignment_group", "Service Desk")
    return desk.log_incident(actor=actor, title="VPN drops", **fields).id  # type: ignore[arg-type]  # test fields


def resolve(desk: ServiceDesk, incident_id: str, actor: Actor) -> None:
    desk.resolve(incident_id, actor=actor, code=CODE, notes="Restarted the concentrator")


def facts_of(desk: ServiceDesk, incident_id: str, **options: object) -> IncidentFacts:
    return incident_facts(desk.timeline(incident_id), **options)  # type: ignore[arg-type]  # test options


# -- logging and acknowledgement ---------------------------------------------------------------


def test_logging_instant_and_actor_are_recorded(desk: ServiceDesk, agent: Actor) -> None:
    facts = facts_of(desk, log(desk, agent))
    assert (facts.logged, facts.logged_by) == (seconds(T0), "alice")


def test_an_incident_nobody_took_has_no_acknowledgement(desk: ServiceDesk, agent: Actor) -> None:
    assert facts_of(desk, log(desk, agent)).acknowledged is None


def test_assigning_a_group_without_an_assignee_does_not_acknowledge(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(minutes=5)
    desk.assign(incident_id, actor=agent, group="Network Support")
    assert facts_of(desk, incident_id).acknowledged is None


def test_assigning_an_assignee_acknowledges(desk: ServiceDesk, clock: FrozenClock,
                                            agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(minutes=5)
    desk.assign(incident_id, actor=agent, assignee="bob")
    assert facts_of(desk, incident_id).acknowledged == seconds(T0 + timedelta(minutes=5))


def test_starting_work_acknowledges(desk: ServiceDesk, clock: FrozenClock,
                                    agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(minutes=7)
    desk.start_work(incident_id, actor=agent)
    assert facts_of(desk, incident_id).acknowledged == seconds(T0 + timedelta(minutes=7))


def test_a_resolution_before_anyone_took_the_incident_acknowledges_it(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(minutes=3)
    resolve(desk, incident_id, agent)
    assert facts_of(desk, incident_id).acknowledged == seconds(T0 + timedelta(minutes=3))


# -- resolution, closure, reopening ------------------------------------------------------------


@pytest.fixture
def reopened(desk: ServiceDesk, clock: FrozenClock, agent: Actor, engineer: Actor) -> str:
    """Logged at T0, resolved at +1 h, reopened at +2 h, resolved again at +5 h."""
    incident_id = log(desk, agent)
    clock.advance(hours=1)
    resolve(desk, incident_id, engineer)
    clock.advance(hours=1)
    desk.reopen(incident_id, actor=agent, reason="It dropped again")
    clock.advance(hours=3)
    resolve(desk, incident_id, engineer)
    return incident_id


def test_the_first_resolution_is_kept_after_a_reopen(desk: ServiceDesk, reopened: str) -> None:
    facts = facts_of(desk, reopened)
    assert (facts.first_resolved, facts.first_resolved_by) == (
        seconds(T0 + timedelta(hours=1)), "bob")


def test_the_final_resolution_is_the_last_one(desk: ServiceDesk, reopened: str) -> None:
    assert facts_of(desk, reopened).resolved == seconds(T0 + timedelta(hours=5))


def test_a_reopened_incident_not_resolved_again_has_no_final_resolution(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    resolve(desk, incident_id, agent)
    clock.advance(hours=1)
    desk.reopen(incident_id, actor=agent, reason="Not fixed")
    assert facts_of(desk, incident_id).resolved is None


def test_each_move_from_resolved_back_to_open_counts_a_reopen(desk: ServiceDesk,
                                                              reopened: str) -> None:
    assert facts_of(desk, reopened).reopens == 1


def test_open_changes_alternate_between_resolution_and_reopen(desk: ServiceDesk,
                                                              reopened: str) -> None:
    hours = (1, 2, 5)
    assert facts_of(desk, reopened).open_changes == tuple(
        seconds(T0 + timedelta(hours=h)) for h in hours)


@pytest.mark.parametrize(("hours", "expected"), [
    (-1.0, False), (0.0, True), (0.5, True), (1.0, False), (1.5, False), (2.0, True),
    (4.0, True), (5.0, False), (9.0, False),
])
def test_whether_the_incident_was_open_at_an_instant_comes_from_its_history(
        desk: ServiceDesk, reopened: str, hours: float, expected: bool) -> None:
    instant = seconds(T0 + timedelta(hours=hours))
    assert facts_of(desk, reopened).is_open_at(instant) is expected


def test_closing_records_the_closure_and_keeps_the_resolution(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    resolve(desk, incident_id, agent)
    clock.advance(days=2)
    desk.close(incident_id, actor=agent)
    facts = facts_of(desk, incident_id)
    assert (facts.closed, facts.resolved, facts.cancelled) == (
        seconds(T0 + timedelta(days=2)), seconds(T0), None)


def test_cancelling_records_a_cancellation_not_a_closure(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(hours=1)
    desk.cancel(incident_id, actor=agent, reason="Logged twice")
    facts = facts_of(desk, incident_id)
    assert (facts.cancelled, facts.closed, facts.open_changes) == (
        seconds(T0 + timedelta(hours=1)), None, (seconds(T0 + timedelta(hours=1)),))


def test_satisfaction_and_confirmation_come_from_the_closure(desk: ServiceDesk,
                                                             agent: Actor) -> None:
    incident_id = log(desk, agent)
    resolve(desk, incident_id, agent)
    desk.close(incident_id, actor=agent, caller_confirmed=True, satisfaction=4)
    facts = facts_of(desk, incident_id)
    assert (facts.satisfaction, facts.caller_confirmed) == (4, True)


# -- reassignment, escalation, priority --------------------------------------------------------


def test_reassignments_and_escalations_agree_with_the_entity_counters(
        desk: ServiceDesk, agent: Actor) -> None:
    incident_id = log(desk, agent)
    desk.assign(incident_id, actor=agent, group="Network Support")
    desk.escalate(incident_id, actor=agent, reason="Needs engineering",
                  group="Network Engineering")
    desk.escalate(incident_id, actor=agent, reason="VIP caller", kind="hierarchical")
    incident = desk.get_incident(incident_id)
    facts = facts_of(desk, incident_id)
    assert (facts.reassignments, facts.functional_escalations,
            facts.hierarchical_escalations) == (
        incident.reassignment_count, incident.functional_escalations,
        incident.hierarchical_escalations) == (2, 1, 1)


def test_the_first_group_given_to_an_unassigned_incident_is_not_a_reassignment(
        agent: Actor) -> None:
    desk = make_desk(policies=DeskPolicies(routing=None))
    incident_id = desk.log_incident(actor=agent, title="Printer jams").id
    desk.assign(incident_id, actor=agent, group="Desktop Support")
    assert facts_of(desk, incident_id).reassignments == 0


def test_priority_level_one_at_any_time_marks_a_major_incident(desk: ServiceDesk,
                                                               agent: Actor) -> None:
    incident_id = log(desk, agent, impact=3, urgency=3)
    desk.change_impact_urgency(incident_id, actor=agent, impact=1, urgency=1)
    desk.change_impact_urgency(incident_id, actor=agent, impact=3, urgency=3)
    facts = facts_of(desk, incident_id)
    assert (facts.major, facts.priority) == (True, 4)


def test_an_incident_never_at_priority_one_is_not_major(desk: ServiceDesk,
                                                        agent: Actor) -> None:
    assert facts_of(desk, log(desk, agent, impact=2, urgency=2)).major is False


def test_dimensions_are_the_values_at_the_end_of_the_history(
        desk: ServiceDesk, agent: Actor) -> None:
    incident_id = log(desk, agent, service="vpn", channel="phone", category="Network/VPN")
    desk.categorize(incident_id, "Network/Wi-Fi", actor=agent)
    desk.update_details(incident_id, actor=agent, service="wifi", caller="carol")
    desk.assign(incident_id, actor=agent, group="Network Support")
    facts = facts_of(desk, incident_id)
    assert (facts.category, facts.service, facts.caller, facts.group, facts.channel) == (
        "Network/Wi-Fi", "wifi", "carol", "Network Support", "phone")


def test_custom_attributes_follow_the_history(desk: ServiceDesk, agent: Actor) -> None:
    incident_id = log(desk, agent, custom={"customer": "acme", "site": "Lyon"})
    desk.set_custom_attribute(incident_id, "site", None, actor=agent)
    desk.set_custom_attribute(incident_id, "floor", 3, actor=agent)
    assert facts_of(desk, incident_id).custom == (("customer", "acme"), ("floor", 3))


# -- first-contact resolution ------------------------------------------------------------------


def test_a_quick_resolution_by_the_logging_actor_is_first_contact(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    desk.start_work(incident_id, actor=agent)
    clock.advance(minutes=30)
    resolve(desk, incident_id, agent)
    assert facts_of(desk, incident_id).first_contact is True


def test_a_resolution_by_another_actor_is_not_first_contact(
        desk: ServiceDesk, agent: Actor, engineer: Actor) -> None:
    incident_id = log(desk, agent)
    resolve(desk, incident_id, engineer)
    assert facts_of(desk, incident_id).first_contact is False


def test_a_resolution_after_the_window_is_not_first_contact(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(minutes=31)
    resolve(desk, incident_id, agent)
    assert facts_of(desk, incident_id).first_contact is False


def test_the_window_is_configurable_and_none_lifts_it(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(days=3)
    resolve(desk, incident_id, agent)
    assert [facts_of(desk, incident_id, fcr_window=w).first_contact
            for w in (timedelta(days=1), timedelta(days=3), None)] == [False, True, True]


def test_a_reassignment_before_the_resolution_is_not_first_contact(
        desk: ServiceDesk, agent: Actor) -> None:
    incident_id = log(desk, agent)
    desk.assign(incident_id, actor=agent, group="Network Support")
    resolve(desk, incident_id, agent)
    assert facts_of(desk, incident_id).first_contact is False


def test_an_escalation_before_the_resolution_is_not_first_contact(
        desk: ServiceDesk, agent: Actor) -> None:
    incident_id = log(desk, agent)
    desk.escalate(incident_id, actor=agent, reason="VIP", kind="hierarchical")
    resolve(desk, incident_id, agent)
    assert facts_of(desk, incident_id).first_contact is False


def test_a_reopened_incident_is_not_first_contact(desk: ServiceDesk, agent: Actor) -> None:
    incident_id = log(desk, agent)
    resolve(desk, incident_id, agent)
    desk.reopen(incident_id, actor=agent, reason="Back again")
    resolve(desk, incident_id, agent)
    assert facts_of(desk, incident_id).first_contact is False


def test_an_unresolved_incident_has_no_first_contact_value(desk: ServiceDesk,
                                                           agent: Actor) -> None:
    assert facts_of(desk, log(desk, agent)).first_contact is None


# -- reading the history -----------------------------------------------------------------------


def test_events_after_the_instant_are_ignored(desk: ServiceDesk, reopened: str) -> None:
    facts = facts_of(desk, reopened, at=T0 + timedelta(hours=1, minutes=30))
    assert (facts.resolved, facts.reopens, facts.open_changes, facts.last_event) == (
        seconds(T0 + timedelta(hours=1)), 0, (seconds(T0 + timedelta(hours=1)),),
        seconds(T0 + timedelta(hours=1)))


def test_an_incident_gives_the_same_facts_as_its_timeline(desk: ServiceDesk,
                                                          reopened: str) -> None:
    assert incident_facts(desk.get_incident(reopened)) == facts_of(desk, reopened)


def test_a_host_workflow_decides_through_its_state_flags(agent: Actor) -> None:
    workflow = Workflow("host", [
        StateDef("open", initial=True), StateDef("fixed", resolved=True),
        StateDef("done", terminal=True),
    ], [
        TransitionDef("fix", "open", "fixed"), TransitionDef("unfix", "fixed", "open"),
        TransitionDef("finish", "fixed", "done"),
    ])
    incident = Incident.log(incident_id="H1", workflow=workflow,
                            matrix=PriorityMatrix.servicenow(), actor=agent, at=T0, title="x")
    for hours, trigger in ((1, "fix"), (2, "unfix"), (3, "fix"), (4, "finish")):
        incident.transition(trigger, actor=agent, at=T0 + timedelta(hours=hours))
    facts = incident_facts(incident)
    assert (facts.first_resolved, facts.reopens, facts.closed, facts.cancelled) == (
        seconds(T0 + timedelta(hours=1)), 1, seconds(T0 + timedelta(hours=4)), None)


def test_sla_outcomes_report_the_customer_clocks(desk: ServiceDesk, clock: FrozenClock,
                                                 agent: Actor) -> None:
    policy = SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=T0 - timedelta(days=1), fallback="standard",
        agreements=(SlaAgreement(
            name="standard", calendar=BusinessCalendar.always(),
            targets={SlaMetric.RESPONSE: {4: timedelta(hours=1)},
                     SlaMetric.RESOLUTION: {4: timedelta(hours=4)}}),)))
    incident_id = log(desk, agent)
    clock.advance(hours=2)
    desk.assign(incident_id, actor=agent, assignee="bob")
    clock.advance(hours=1)
    resolve(desk, incident_id, agent)
    assert facts_of(desk, incident_id, sla=policy).sla == (
        SlaOutcome("response", "breached", 4), SlaOutcome("resolution", "met", 4))


def test_facts_have_no_sla_outcomes_without_a_policy(desk: ServiceDesk, agent: Actor) -> None:
    assert facts_of(desk, log(desk, agent)).sla == ()


@pytest.mark.parametrize("history", [[], ["not an event"], (object(),)],
                         ids=["empty", "text", "object"])
def test_a_history_that_does_not_start_with_logging_is_refused(history: object) -> None:
    with pytest.raises(ValidationError):
        incident_facts(history)  # type: ignore[arg-type]  # deliberately wrong


def test_a_foreign_object_inside_a_history_is_refused(desk: ServiceDesk, agent: Actor) -> None:
    history = [*desk.timeline(log(desk, agent)), "note"]
    with pytest.raises(ValidationError, match="not an incident event"):
        incident_facts(history)


@pytest.mark.parametrize("options", [
    {"at": datetime(2026, 1, 5, 9)}, {"fcr_window": 30}, {"fcr_window": -timedelta(1)},
    {"sla": "gold"}, {"workflow": "itil"},
], ids=["naive at", "window number", "negative window", "sla text", "workflow text"])
def test_bad_options_are_refused(desk: ServiceDesk, agent: Actor,
                                 options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        facts_of(desk, log(desk, agent), **options)


def test_a_text_is_not_taken_for_a_history() -> None:
    with pytest.raises(ValidationError, match="sequence of its events"):
        incident_facts("INC0000001")
