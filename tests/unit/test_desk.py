"""The service desk's incident commands and queries, over fakes: load, authorize, change through
the entity, save with the expected version, then notify."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    CategoryPath,
    ConcurrencyError,
    DeskPolicies,
    DomainEvent,
    EscalationKind,
    FrozenClock,
    Incident,
    IncidentEscalated,
    IncidentEvent,
    IncidentLogged,
    IncidentState,
    InMemoryRepository,
    InvalidTransitionError,
    ItilIncidentError,
    NoteVisibility,
    PermissionDeniedError,
    Priority,
    PriorityMatrix,
    Problem,
    ProblemEvent,
    RecordingNotifier,
    RoleBasedAuthorizer,
    Satisfaction,
    ServiceDesk,
    TransitionDef,
    ValidationError,
    Workflow,
    default_incident_workflow,
)

S = IncidentState
# For Hypothesis tests, which build their own desk (function-scoped fixtures do not mix with
# @given): the same instant and agent as the shared fixtures.
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))


def _fresh_desk() -> tuple[ServiceDesk, RecordingNotifier]:
    notifier = RecordingNotifier()
    return ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0), notifier=notifier), notifier


def observe(desk: ServiceDesk, notifier: RecordingNotifier) -> object:
    """The stored records (snapshots, versions, timelines) and the notified events."""
    return (
        [(i.id, i.version, i.snapshot(), i.timeline()) for i in desk.list_incidents()],
        [(p.id, p.version, p.snapshot(), p.timeline()) for p in desk.list_problems()],
        list(notifier.events),
    )


@pytest.fixture
def vpn(desk: ServiceDesk, agent: Actor) -> Incident:
    """A freshly logged VPN incident (categorized Network/VPN, routed to Network Support)."""
    return desk.log_incident(actor=agent, title="VPN drops every few minutes")


@pytest.fixture
def working(desk: ServiceDesk, engineer: Actor, vpn: Incident) -> Incident:
    """The VPN incident, taken and in progress."""
    return desk.start_work(vpn.id, actor=engineer)


# -- logging -----------------------------------------------------------------------------------


def test_logging_stores_a_new_incident_with_a_readable_id_and_notifies_its_logged_event(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, clock: FrozenClock
) -> None:
    incident = desk.log_incident(actor=agent, title="Mail is slow", caller="carol",
                                 channel="email")
    assert (incident.id, incident.status, incident.version) == ("INC0000001", S.NEW, 1)
    assert (incident.logged_at, incident.logged_by, incident.caller) == (
        clock.now(), agent, "carol")
    assert desk.get_incident(incident.id).snapshot() == incident.snapshot()
    assert notifier.names() == ["incident.logged"]


def test_each_logged_incident_gets_the_next_number(desk: ServiceDesk, agent: Actor) -> None:
    ids = [desk.log_incident(actor=agent, title=f"Issue {n}").id for n in range(3)]
    assert ids == ["INC0000001", "INC0000002", "INC0000003"]


class PrefixedIds:
    """An id factory fake: ids from a host's own numbering."""

    def __init__(self) -> None:
        self.made = 0

    def next_incident_id(self) -> str:
        self.made += 1
        return f"SEC-{self.made}"

    def next_problem_id(self) -> str:
        self.made += 1
        return f"RCA-{self.made}"


def test_the_desk_takes_ids_from_the_id_factory_it_is_given(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock, ids=PrefixedIds())
    incident = desk.log_incident(actor=agent, title="Phishing mail")
    problem = desk.open_problem(actor=agent, title="Phishing wave")
    assert (incident.id, problem.id) == ("SEC-1", "RCA-2")
    assert desk.get_incident("SEC-1").title == "Phishing mail"


def test_logging_without_a_category_lets_the_categorizer_choose_and_names_its_rule(
    desk: ServiceDesk, agent: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="Outlook crashes on start")
    event = incident.timeline()[0]
    assert isinstance(event, IncidentLogged)
    assert (incident.category, event.category_rule) == (CategoryPath.parse("Software/Email"),
                                                        "email")


def test_logging_with_a_category_keeps_it_and_names_no_rule(
    desk: ServiceDesk, agent: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="Outlook crashes",
                                 category="Hardware/Laptop")
    event = incident.timeline()[0]
    assert isinstance(event, IncidentLogged)
    assert (incident.category, event.category_rule) == (CategoryPath.parse("Hardware/Laptop"),
                                                        None)


def test_a_category_differing_only_in_letter_case_is_stored_in_the_trees_spelling(
    desk: ServiceDesk, agent: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="Tunnel", category="network/vpn")
    assert str(incident.category) == "Network/VPN"


def test_logging_routes_to_the_group_and_tier_the_routing_table_gives(
    desk: ServiceDesk, agent: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="VPN drops")
    event = incident.timeline()[0]
    assert isinstance(event, IncidentLogged)
    assert (incident.assignment_group, incident.support_tier, event.routing_rule) == (
        "Network Support", 2, "network")
    assert incident.status == S.NEW
    assert incident.reassignment_count == 0


def test_an_uncategorized_incident_goes_to_the_default_group(
    desk: ServiceDesk, agent: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="Coffee machine broken")
    assert (incident.category, incident.assignment_group, incident.support_tier) == (
        None, "Service Desk", 1)


def test_logging_to_a_named_group_takes_its_tier_from_the_routing_table(
    desk: ServiceDesk, agent: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="VPN drops",
                                 assignment_group="Network Engineering")
    assert (incident.assignment_group, incident.support_tier) == ("Network Engineering", 3)


def test_with_categorization_and_routing_switched_off_nothing_is_chosen_for_the_caller(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock,
                       policies=DeskPolicies(categorizer=None, routing=None, categories=None))
    incident = desk.log_incident(actor=agent, title="VPN drops", category="Anything/Goes")
    other = desk.log_incident(actor=agent, title="VPN drops")
    assert incident.category == CategoryPath.parse("Anything/Goes")
    assert (other.category, other.assignment_group, other.support_tier) == (None, None, None)


def test_impact_and_urgency_default_to_the_least_severe_and_give_priority_low(
    vpn: Incident,
) -> None:
    assert (vpn.impact.level, vpn.urgency.level, vpn.priority) == (3, 3, Priority(4, "Low"))


def test_a_high_impact_high_urgency_incident_is_critical(desk: ServiceDesk, agent: Actor) -> None:
    incident = desk.log_incident(actor=agent, title="Site down", impact="High", urgency=1)
    assert (incident.priority.level, incident.priority.label) == (1, "Critical")


# -- classification ----------------------------------------------------------------------------


def test_updating_details_changes_only_the_fields_given(
    desk: ServiceDesk, agent: Actor, vpn: Incident
) -> None:
    updated = desk.update_details(vpn.id, actor=agent, service="Remote Access",
                                  configuration_items=["vpn-gw-1", "vpn-gw-1", "vpn-gw-2"])
    assert (updated.title, updated.service, updated.configuration_items) == (
        vpn.title, "Remote Access", ("vpn-gw-1", "vpn-gw-2"))
    assert desk.get_incident(vpn.id).version == 2


def test_recategorizing_without_reroute_keeps_the_group(
    desk: ServiceDesk, agent: Actor, vpn: Incident
) -> None:
    changed = desk.categorize(vpn.id, "Software/Email", actor=agent)
    assert (str(changed.category), changed.assignment_group) == ("Software/Email",
                                                                 "Network Support")


def test_recategorizing_with_reroute_moves_to_the_new_categorys_group_as_a_reassignment(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, vpn: Incident
) -> None:
    notifier.clear()
    changed = desk.categorize(vpn.id, "Software/Email", actor=agent, reroute=True)
    assert (changed.assignment_group, changed.support_tier) == ("Application Support", 2)
    assert changed.reassignment_count == 1
    assert notifier.names() == ["incident.categorized", "incident.assigned"]


def test_rerouting_to_the_group_it_already_has_only_recategorizes(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, vpn: Incident
) -> None:
    notifier.clear()
    changed = desk.categorize(vpn.id, "Network/LAN", actor=agent, reroute=True)
    assert changed.reassignment_count == 0
    assert notifier.names() == ["incident.categorized"]


# -- priority ----------------------------------------------------------------------------------


def test_the_priority_follows_impact_and_urgency_changes(
    desk: ServiceDesk, agent: Actor, vpn: Incident
) -> None:
    assert desk.change_impact_urgency(vpn.id, actor=agent, impact=1).priority.level == 3
    assert desk.change_impact_urgency(vpn.id, actor=agent, urgency=1).priority.level == 1
    assert desk.change_impact_urgency(vpn.id, actor=agent, impact=2,
                                      urgency=2).priority.level == 3


def test_an_override_is_recorded_with_its_justification_and_notified(
    desk: ServiceDesk, notifier: RecordingNotifier, manager: Actor, vpn: Incident
) -> None:
    changed = desk.override_priority(vpn.id, 1, actor=manager, justification="CEO affected")
    assert (changed.priority.level, changed.priority_overridden,
            changed.priority_justification) == (1, True, "CEO affected")
    assert notifier.events[-1].name == "incident.priority_overridden"
    assert notifier.events[-1].actor == manager


def test_while_overridden_impact_and_urgency_changes_keep_the_overridden_priority(
    desk: ServiceDesk, agent: Actor, manager: Actor, vpn: Incident
) -> None:
    desk.override_priority(vpn.id, 2, actor=manager, justification="Board meeting")
    changed = desk.change_impact_urgency(vpn.id, actor=agent, impact=1, urgency=1)
    assert (changed.impact.level, changed.urgency.level, changed.priority.level) == (1, 1, 2)


def test_clearing_the_override_lets_the_matrix_decide_again(
    desk: ServiceDesk, agent: Actor, manager: Actor, vpn: Incident
) -> None:
    desk.override_priority(vpn.id, 5, actor=manager, justification="Cosmetic")
    desk.change_impact_urgency(vpn.id, actor=agent, impact=1, urgency=1)
    cleared = desk.clear_priority_override(vpn.id, actor=manager)
    assert (cleared.priority.level, cleared.priority_overridden) == (1, False)


def _flat_matrix() -> PriorityMatrix:
    """Every cell gives priority 1: a host's very different matrix."""
    base = PriorityMatrix.servicenow()
    return PriorityMatrix(name="everything_critical", impacts=base.impacts,
                          urgencies=base.urgencies, priorities=base.priorities,
                          cells={(i, u): 1 for i in (1, 2, 3) for u in (1, 2, 3)})


def test_a_desk_with_another_matrix_never_rewrites_the_priorities_in_the_history(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    first = ServiceDesk(repository, clock=clock)
    incident = first.log_incident(actor=agent, title="VPN drops")
    first.change_impact_urgency(incident.id, actor=agent, impact=2)
    history = first.timeline(incident.id)
    second = ServiceDesk(repository, clock=clock,
                         policies=DeskPolicies(priority_matrix=_flat_matrix()))
    assert second.get_incident(incident.id).priority.level == 4
    changed = second.change_impact_urgency(incident.id, actor=agent, urgency=2)
    assert changed.priority.level == 1
    assert second.timeline(incident.id)[: len(history)] == history
    assert [getattr(e, "priority", None) for e in history] == [Priority(4), Priority(4)]


# -- assignment and work -----------------------------------------------------------------------


def test_assigning_to_a_group_and_a_person_moves_a_new_incident_to_assigned(
    desk: ServiceDesk, agent: Actor, vpn: Incident
) -> None:
    changed = desk.assign(vpn.id, actor=agent, group="Network Engineering", assignee="bob")
    assert (changed.status, changed.assignment_group, changed.assignee,
            changed.support_tier) == (S.ASSIGNED, "Network Engineering", "bob", 3)


def test_assigning_to_a_group_the_routing_table_does_not_know_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, vpn: Incident
) -> None:
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="unknown support group 'Plumbers'"):
        desk.assign(vpn.id, actor=agent, group="Plumbers")
    assert observe(desk, notifier) == before


def test_the_reassignment_count_counts_group_changes_after_the_first_group(
    desk: ServiceDesk, agent: Actor, vpn: Incident
) -> None:
    desk.assign(vpn.id, actor=agent, assignee="bob")
    desk.assign(vpn.id, actor=agent, group="Network Engineering")
    desk.assign(vpn.id, actor=agent, group="Service Desk", assignee="carl")
    assert desk.get_incident(vpn.id).reassignment_count == 2


def test_starting_work_on_an_unassigned_incident_takes_it(
    desk: ServiceDesk, engineer: Actor, vpn: Incident
) -> None:
    changed = desk.start_work(vpn.id, actor=engineer)
    assert (changed.status, changed.assignee) == (S.IN_PROGRESS, engineer.id)


def test_starting_work_on_an_assigned_incident_keeps_the_assignee(
    desk: ServiceDesk, agent: Actor, engineer: Actor, vpn: Incident
) -> None:
    desk.assign(vpn.id, actor=agent, assignee="carl")
    assert desk.start_work(vpn.id, actor=engineer).assignee == "carl"


def test_putting_on_hold_with_a_note_adds_a_caller_visible_comment_in_the_same_commit(
    desk: ServiceDesk, notifier: RecordingNotifier, engineer: Actor, working: Incident
) -> None:
    notifier.clear()
    held = desk.put_on_hold(working.id, "awaiting_caller", actor=engineer,
                            note="Which VPN client version do you run?")
    assert (held.status, held.hold_reason) == (S.ON_HOLD, "awaiting_caller")
    assert [(n.text, n.visibility) for n in held.notes] == [
        ("Which VPN client version do you run?", NoteVisibility.COMMENT)]
    assert notifier.names() == ["incident.put_on_hold", "incident.note_added"]
    assert desk.get_incident(working.id).version == working.version + 2


def test_a_host_adds_hold_reasons_through_the_policies(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    policies = DeskPolicies(hold_reasons={"awaiting_caller", "awaiting_parts"})
    desk = ServiceDesk(repository, clock=clock, policies=policies)
    incident = desk.log_incident(actor=agent, title="Laptop screen cracked")
    desk.start_work(incident.id, actor=agent)
    assert desk.put_on_hold(incident.id, "awaiting_parts", actor=agent).status == S.ON_HOLD


def test_resuming_returns_to_in_progress_without_a_hold_reason(
    desk: ServiceDesk, engineer: Actor, working: Incident
) -> None:
    desk.put_on_hold(working.id, "awaiting_vendor", actor=engineer)
    resumed = desk.resume(working.id, actor=engineer)
    assert (resumed.status, resumed.hold_reason) == (S.IN_PROGRESS, None)


def test_work_notes_and_comments_are_kept_apart_by_visibility(
    desk: ServiceDesk, agent: Actor, engineer: Actor, vpn: Incident
) -> None:
    desk.add_work_note(vpn.id, "Gateway CPU at 100 %", actor=engineer)
    changed = desk.add_comment(vpn.id, "We are looking into it", actor=agent)
    assert [(n.text, n.visibility, n.author) for n in changed.notes] == [
        ("Gateway CPU at 100 %", NoteVisibility.WORK_NOTE, engineer),
        ("We are looking into it", NoteVisibility.COMMENT, agent),
    ]


# -- resolution and closure --------------------------------------------------------------------


def test_resolving_records_the_code_and_notes(
    desk: ServiceDesk, engineer: Actor, working: Incident, clock: FrozenClock
) -> None:
    clock.advance(minutes=42)
    done = desk.resolve(working.id, actor=engineer, code="solved_remotely",
                        notes="Restarted the gateway.")
    assert (done.status, done.resolution_code, done.resolution_notes) == (
        S.RESOLVED, "solved_remotely", "Restarted the gateway.")
    assert (done.resolved_at, done.resolved_by) == (clock.now(), engineer.id)


def test_closing_records_the_callers_confirmation_and_satisfaction(
    desk: ServiceDesk, agent: Actor, engineer: Actor, working: Incident
) -> None:
    desk.resolve(working.id, actor=engineer, code="solved_remotely", notes="Restarted.")
    closed = desk.close(working.id, actor=agent, caller_confirmed=True, satisfaction=5,
                        satisfaction_comment="Fast, thanks")
    assert (closed.status, closed.caller_confirmed, closed.satisfaction) == (
        S.CLOSED, True, Satisfaction(5, "Fast, thanks"))
    assert closed.is_terminal


@given(score=st.integers(1, 5))
@settings(max_examples=10, deadline=None)
def test_any_satisfaction_from_one_to_five_is_accepted_on_closure(score: int) -> None:
    desk, _notifier = _fresh_desk()
    incident = desk.log_incident(actor=AGENT, title="Mail down")
    desk.resolve(incident.id, actor=AGENT, code="duplicate", notes="Known outage")
    closed = desk.close(incident.id, actor=AGENT, satisfaction=score)
    assert closed.satisfaction == Satisfaction(score)


def test_closing_an_incident_that_is_not_resolved_is_refused_and_changes_nothing(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, working: Incident
) -> None:
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError, match="cannot 'close' in state 'in_progress'"):
        desk.close(working.id, actor=agent, caller_confirmed=True)
    assert observe(desk, notifier) == before


def test_a_closed_incident_cannot_be_reopened(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, working: Incident
) -> None:
    desk.resolve(working.id, actor=agent, code="duplicate", notes="Dup of INC0000009")
    desk.close(working.id, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError):
        desk.reopen(working.id, actor=agent, reason="Back")
    assert observe(desk, notifier) == before


def test_reopening_a_resolved_incident_counts_a_reopen(
    desk: ServiceDesk, agent: Actor, working: Incident
) -> None:
    desk.resolve(working.id, actor=agent, code="solved_remotely", notes="Restarted.")
    reopened = desk.reopen(working.id, actor=agent, reason="Drops again")
    assert (reopened.status, reopened.reopen_count, reopened.resolution_code) == (
        S.IN_PROGRESS, 1, None)


def test_cancelling_an_open_incident_is_final(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, vpn: Incident
) -> None:
    cancelled = desk.cancel(vpn.id, actor=agent, reason="Logged twice")
    assert (cancelled.status, cancelled.cancellation_reason) == (S.CANCELLED, "Logged twice")
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError):
        desk.add_comment(vpn.id, "Hello?", actor=agent)
    assert observe(desk, notifier) == before


# -- escalation --------------------------------------------------------------------------------


def test_functional_escalation_goes_to_the_next_group_clears_the_assignee_and_counts_a_hop(
    desk: ServiceDesk, engineer: Actor, working: Incident
) -> None:
    escalated = desk.escalate(working.id, actor=engineer, reason="Needs packet captures")
    assert (escalated.assignment_group, escalated.support_tier, escalated.assignee) == (
        "Network Engineering", 3, None)
    assert (escalated.reassignment_count, escalated.functional_escalations) == (1, 1)


def test_functional_escalation_to_a_named_group_takes_its_tier(
    desk: ServiceDesk, engineer: Actor, working: Incident
) -> None:
    escalated = desk.escalate(working.id, actor=engineer, reason="Security angle",
                              group="Security Engineering")
    assert (escalated.assignment_group, escalated.support_tier) == ("Security Engineering", 3)


def test_functional_escalation_from_the_top_tier_without_a_group_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, engineer: Actor, working: Incident
) -> None:
    desk.escalate(working.id, actor=engineer, reason="Needs captures")
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="no next group"):
        desk.escalate(working.id, actor=engineer, reason="Still stuck")
    assert observe(desk, notifier) == before


def test_hierarchical_escalation_notifies_the_groups_manager_role_and_reassigns_nothing(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="Coffee machine broken")
    escalated = desk.escalate(incident.id, actor=agent, reason="VIP floor",
                              kind=EscalationKind.HIERARCHICAL)
    event = notifier.events[-1]
    assert isinstance(event, IncidentEscalated)
    assert (event.kind, event.notified_role) == (EscalationKind.HIERARCHICAL,
                                                 "service_desk_manager")
    assert (escalated.assignment_group, escalated.reassignment_count,
            escalated.hierarchical_escalations) == ("Service Desk", 0, 1)


def test_hierarchical_escalation_without_a_known_group_notifies_the_policy_role(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock, notifier=notifier,
                       policies=DeskPolicies(routing=None, escalation_role="duty_manager"))
    incident = desk.log_incident(actor=agent, title="Mail down")
    desk.escalate(incident.id, actor=agent, reason="Outage", kind="hierarchical")
    event = notifier.events[-1]
    assert isinstance(event, IncidentEscalated)
    assert event.notified_role == "duty_manager"


# -- custom workflows and attributes -----------------------------------------------------------


def _workflow_with_acknowledge() -> Workflow:
    base = default_incident_workflow()
    return Workflow("itil_with_ack", base.states.values(), [
        *base.transitions, TransitionDef("acknowledge", S.NEW, S.ASSIGNED)])


def test_a_host_trigger_fires_through_transition(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock, notifier=notifier,
                       policies=DeskPolicies(incident_workflow=_workflow_with_acknowledge()))
    incident = desk.log_incident(actor=agent, title="VPN drops")
    moved = desk.transition(incident.id, "acknowledge", actor=agent)
    assert moved.status == S.ASSIGNED
    assert notifier.names()[-1] == "incident.transitioned"


def test_custom_attributes_follow_the_hosts_schema(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock,
                       policies=DeskPolicies(custom_fields={"site": str, "seats": int,
                                                            "cost": float}))
    incident = desk.log_incident(actor=agent, title="VPN drops", custom={"site": "HQ"})
    desk.set_custom_attribute(incident.id, "seats", 40, actor=agent)
    changed = desk.set_custom_attribute(incident.id, "cost", 12, actor=agent)
    assert changed.custom == {"site": "HQ", "seats": 40, "cost": 12}
    assert desk.set_custom_attribute(incident.id, "site", None, actor=agent).custom == {
        "seats": 40, "cost": 12}


# -- queries -----------------------------------------------------------------------------------


@attrs.frozen
class Population:
    vpn: str
    mail: str
    printer: str
    wifi: str


@pytest.fixture
def population(desk: ServiceDesk, agent: Actor, engineer: Actor) -> Population:
    vpn = desk.log_incident(actor=agent, title="VPN gateway drops", service="Remote Access",
                            impact=1, urgency=1).id
    desk.start_work(vpn, actor=engineer)
    mail = desk.log_incident(actor=agent, title="Outlook crashes",
                             description="Since the gateway update").id
    printer = desk.log_incident(actor=agent, title="Printer jams").id
    desk.resolve(printer, actor=agent, code="solved_permanently", notes="New roller")
    wifi = desk.log_incident(actor=agent, title="Wi-Fi weak on floor 3").id
    desk.cancel(wifi, actor=agent, reason="Duplicate")
    return Population(vpn, mail, printer, wifi)


def ids(incidents: Sequence[Incident]) -> list[str]:
    return [i.id for i in incidents]


def test_getting_an_incident_gives_an_independent_copy(
    desk: ServiceDesk, agent: Actor, vpn: Incident
) -> None:
    copy = desk.get_incident(vpn.id)
    copy.add_note("Only on my copy", actor=agent, at=copy.updated_at)
    assert desk.get_incident(vpn.id).version == 1


def test_listing_without_filters_gives_every_incident_ordered_by_id(
    desk: ServiceDesk, population: Population
) -> None:
    assert ids(desk.list_incidents()) == [population.vpn, population.mail, population.printer,
                                          population.wifi]


def test_listing_by_status_takes_one_state_or_several(
    desk: ServiceDesk, population: Population
) -> None:
    assert ids(desk.list_incidents(status="in_progress")) == [population.vpn]
    assert ids(desk.list_incidents(status=["new", "resolved"])) == [population.mail,
                                                                    population.printer]


def test_listing_by_priority_takes_a_level_or_several(
    desk: ServiceDesk, population: Population
) -> None:
    assert ids(desk.list_incidents(priority=1)) == [population.vpn]
    assert ids(desk.list_incidents(priority=[Priority(1), 4])) == ids(desk.list_incidents())


def test_listing_by_group_and_by_assignee(
    desk: ServiceDesk, population: Population, engineer: Actor
) -> None:
    assert ids(desk.list_incidents(assignment_group="Network Support")) == [
        population.vpn, population.wifi]
    assert ids(desk.list_incidents(assignee=engineer.id)) == [population.vpn]


def test_listing_by_category_includes_the_categories_below_it(
    desk: ServiceDesk, population: Population
) -> None:
    assert ids(desk.list_incidents(category="Network")) == [population.vpn, population.wifi]
    assert ids(desk.list_incidents(category="Network/VPN")) == [population.vpn]


def test_listing_by_service(desk: ServiceDesk, population: Population) -> None:
    assert ids(desk.list_incidents(service="Remote Access")) == [population.vpn]


def test_listing_open_incidents_leaves_out_resolved_and_terminal_ones(
    desk: ServiceDesk, population: Population
) -> None:
    assert ids(desk.list_incidents(open=True)) == [population.vpn, population.mail]
    assert ids(desk.list_incidents(open=False)) == [population.printer, population.wifi]


def test_listing_by_text_searches_title_and_description_ignoring_case(
    desk: ServiceDesk, population: Population
) -> None:
    assert ids(desk.list_incidents(text="GATEWAY")) == [population.vpn, population.mail]


def test_listing_filters_combine_and_a_limit_caps_the_result(
    desk: ServiceDesk, population: Population
) -> None:
    assert ids(desk.list_incidents(text="gateway", open=True, category="Network")) == [
        population.vpn]
    assert ids(desk.list_incidents(limit=2)) == [population.vpn, population.mail]


def test_the_timeline_query_gives_the_stored_events_oldest_first(
    desk: ServiceDesk, population: Population
) -> None:
    timeline = desk.timeline(population.printer)
    assert [e.name for e in timeline] == ["incident.logged", "incident.resolved"]
    assert tuple(timeline) == desk.get_incident(population.printer).timeline()


# -- authorization -----------------------------------------------------------------------------


@pytest.fixture
def guarded(repository: InMemoryRepository, clock: FrozenClock,
            notifier: RecordingNotifier) -> ServiceDesk:
    """A desk where only incident managers may override priorities and agents do the rest."""
    authorizer = RoleBasedAuthorizer({"override_priority": {"incident_manager"},
                                      "*": {"agent"}})
    return ServiceDesk(repository, clock=clock, notifier=notifier, authorizer=authorizer)


def test_a_refused_actor_gets_permission_denied_and_nothing_changes(
    guarded: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    incident = guarded.log_incident(actor=agent, title="VPN drops")
    before = observe(guarded, notifier)
    with pytest.raises(PermissionDeniedError) as raised:
        guarded.override_priority(incident.id, 1, actor=agent, justification="I want it")
    assert (raised.value.actor_id, raised.value.action, raised.value.subject) == (
        "alice", "override_priority", incident.id)
    assert "'alice' is not allowed to override_priority" in str(raised.value)
    assert observe(guarded, notifier) == before


def test_an_actor_with_the_listed_role_is_allowed(
    guarded: ServiceDesk, agent: Actor, manager: Actor
) -> None:
    incident = guarded.log_incident(actor=agent, title="VPN drops")
    assert guarded.override_priority(incident.id, 1, actor=manager,
                                     justification="CEO").priority.level == 1


def test_logging_can_be_refused_before_anything_is_stored(
    guarded: ServiceDesk, notifier: RecordingNotifier, caller: Actor
) -> None:
    with pytest.raises(PermissionDeniedError, match="log_incident"):
        guarded.log_incident(actor=caller, title="VPN drops")
    assert guarded.list_incidents() == []
    assert notifier.events == []


def test_an_admin_may_do_everything(
    guarded: ServiceDesk, agent: Actor
) -> None:
    admin = Actor("root", roles=frozenset({"admin"}))
    incident = guarded.log_incident(actor=admin, title="VPN drops")
    assert guarded.override_priority(incident.id, 2, actor=admin,
                                     justification="Ops").priority.level == 2


def test_by_default_every_actor_is_allowed_everything(
    desk: ServiceDesk, caller: Actor
) -> None:
    incident = desk.log_incident(actor=caller, title="VPN drops")
    desk.override_priority(incident.id, 1, actor=caller, justification="Me")
    assert desk.cancel(incident.id, actor=caller, reason="Fixed itself").status == S.CANCELLED


# -- concurrency and notification --------------------------------------------------------------


def test_committing_a_stale_copy_after_another_change_raises_a_concurrency_error(
    desk: ServiceDesk, repository: InMemoryRepository, agent: Actor, vpn: Incident
) -> None:
    stale = desk.get_incident(vpn.id)
    desk.add_work_note(vpn.id, "Someone else's change", actor=agent)
    stale.add_note("My change", actor=agent, at=stale.updated_at)
    with pytest.raises(ConcurrencyError) as raised:
        repository.commit([stale])
    assert (raised.value.identifier, raised.value.expected, raised.value.actual) == (
        vpn.id, 1, 2)
    assert [n.text for n in desk.get_incident(vpn.id).notes] == ["Someone else's change"]


class RacingRepository(InMemoryRepository):
    """An in-memory repository in which, once armed, another desk changes the record between
    a command's load and its commit."""

    def __init__(self) -> None:
        super().__init__()
        self.race: Callable[[], object] | None = None

    def commit(self, records: Sequence[Incident | Problem]) -> None:
        race, self.race = self.race, None
        if race is not None:
            race()
        super().commit(records)


def test_a_command_that_loses_a_race_raises_a_concurrency_error_and_notifies_nothing(
    clock: FrozenClock, agent: Actor, engineer: Actor
) -> None:
    repository = RacingRepository()
    notifier = RecordingNotifier()
    desk = ServiceDesk(repository, clock=clock, notifier=notifier)
    rival = ServiceDesk(repository, clock=clock)
    incident = desk.log_incident(actor=agent, title="VPN drops")
    notifier.clear()
    repository.race = lambda: rival.add_work_note(incident.id, "Rival note", actor=engineer)
    with pytest.raises(ConcurrencyError, match="changed concurrently"):
        desk.add_comment(incident.id, "Losing comment", actor=agent)
    assert notifier.events == []
    assert [n.text for n in desk.get_incident(incident.id).notes] == ["Rival note"]


def test_the_notifier_hears_each_commands_new_events_in_order(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, engineer: Actor
) -> None:
    incident = desk.log_incident(actor=agent, title="VPN drops")
    desk.start_work(incident.id, actor=engineer)
    desk.resolve(incident.id, actor=engineer, code="solved_remotely", notes="Restarted.")
    assert notifier.names() == ["incident.logged", "incident.work_started",
                                "incident.resolved"]
    assert [e.version for e in notifier.events] == [1, 2, 3]
    assert list(notifier.events) == desk.timeline(incident.id)


class BrokenNotifier:
    """A notifier whose delivery always fails."""

    def notify(self, events: Sequence[DomainEvent]) -> None:
        raise ConnectionError("SMTP server unreachable")


def test_a_failing_notifier_does_not_undo_the_change_and_the_failure_is_logged(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor,
    caplog: pytest.LogCaptureFixture
) -> None:
    desk = ServiceDesk(repository, clock=clock, notifier=BrokenNotifier())
    with caplog.at_level(logging.ERROR, logger="itil_incident.desk"):
        incident = desk.log_incident(actor=agent, title="VPN drops")
    assert desk.get_incident(incident.id).version == 1
    assert "notifier failed" in caplog.text
    assert "SMTP server unreachable" in caplog.text


# -- rebuilding from events, over random command sequences through the desk ---------------------

Command = Callable[[ServiceDesk, str, str], object]

COMMANDS: dict[str, Command] = {
    "details": lambda d, i, p: d.update_details(i, actor=AGENT, title="VPN drops hourly"),
    "categorize": lambda d, i, p: d.categorize(i, "Software/Email", actor=AGENT, reroute=True),
    "impact": lambda d, i, p: d.change_impact_urgency(i, actor=AGENT, impact=1),
    "urgency": lambda d, i, p: d.change_impact_urgency(i, actor=AGENT, urgency=2),
    "override": lambda d, i, p: d.override_priority(i, 5, actor=AGENT, justification="j"),
    "clear": lambda d, i, p: d.clear_priority_override(i, actor=AGENT),
    "assign": lambda d, i, p: d.assign(i, actor=AGENT, group="Service Desk"),
    "take": lambda d, i, p: d.assign(i, actor=AGENT, assignee="bob"),
    "start": lambda d, i, p: d.start_work(i, actor=AGENT),
    "hold": lambda d, i, p: d.put_on_hold(i, "awaiting_caller", actor=AGENT, note="Q?"),
    "resume": lambda d, i, p: d.resume(i, actor=AGENT),
    "work_note": lambda d, i, p: d.add_work_note(i, "Checked", actor=AGENT),
    "comment": lambda d, i, p: d.add_comment(i, "On it", actor=AGENT),
    "resolve": lambda d, i, p: d.resolve(i, actor=AGENT, code="duplicate", notes="Dup"),
    "close": lambda d, i, p: d.close(i, actor=AGENT, satisfaction=3),
    "reopen": lambda d, i, p: d.reopen(i, actor=AGENT, reason="Again"),
    "cancel": lambda d, i, p: d.cancel(i, actor=AGENT, reason="Dup"),
    "escalate": lambda d, i, p: d.escalate(i, actor=AGENT, reason="Stuck"),
    "escalate_up": lambda d, i, p: d.escalate(i, actor=AGENT, reason="VIP",
                                              kind="hierarchical"),
    "custom": lambda d, i, p: d.set_custom_attribute(i, "site", "HQ", actor=AGENT),
    "change": lambda d, i, p: d.link_change(i, "CHG0000001", actor=AGENT, caused_by=True),
    "related": lambda d, i, p: d.link_related(i, "INC0000001", actor=AGENT),
    "parent": lambda d, i, p: d.set_parent(i, "INC0000001", actor=AGENT),
    "orphan": lambda d, i, p: d.set_parent(i, None, actor=AGENT),
    "problem": lambda d, i, p: d.link_to_problem(i, p, actor=AGENT),
    "unproblem": lambda d, i, p: d.unlink_from_problem(i, actor=AGENT),
    "investigate": lambda d, i, p: d.start_investigation(p, actor=AGENT),
    "root_cause": lambda d, i, p: d.record_root_cause(p, "Leak", actor=AGENT),
    "known_error": lambda d, i, p: d.mark_known_error(p, actor=AGENT),
    "problem_note": lambda d, i, p: d.add_problem_note(p, "Looked", actor=AGENT),
    "resolve_problem": lambda d, i, p: d.resolve_problem(p, "Fixed", actor=AGENT),
    "close_problem": lambda d, i, p: d.close_problem(p, actor=AGENT),
    "reopen_problem": lambda d, i, p: d.reopen_problem(p, actor=AGENT, reason="Again"),
    "new_problem": lambda d, i, p: d.open_problem(actor=AGENT, title="Another",
                                                  incident_ids=[i]),
}

steps = st.lists(st.tuples(st.sampled_from(sorted(COMMANDS)),
                           st.sampled_from(["INC0000001", "INC0000002", "INC0000003"]),
                           st.sampled_from(["PRB0000001", "PRB0000002"]),
                           st.integers(0, 90)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(program=steps)
def test_rebuilding_any_record_from_its_events_gives_the_state_the_desk_stored(
    program: list[tuple[str, str, str, int]],
) -> None:
    desk, notifier = _fresh_desk()
    clock = desk.clock
    assert isinstance(clock, FrozenClock)
    for title in ("VPN drops", "Outlook crashes", "Printer jams"):
        desk.log_incident(actor=AGENT, title=title)
    desk.open_problem(actor=AGENT, title="VPN leaks", incident_ids=["INC0000001"])
    for name, incident_id, problem_id, wait in program:
        clock.advance(minutes=wait)
        with contextlib.suppress(ItilIncidentError):  # refusals are part of the program
            COMMANDS[name](desk, incident_id, problem_id)
    stored: list[DomainEvent] = []
    for incident in desk.list_incidents():
        events = [e for e in desk.timeline(incident.id) if isinstance(e, IncidentEvent)]
        assert [e.version for e in events] == list(range(1, incident.version + 1))
        rebuilt = Incident.from_history(events, desk.policies.incident_workflow)
        assert rebuilt.snapshot() == incident.snapshot()
        stored.extend(events)
    for problem in desk.list_problems():
        problem_events = [e for e in desk.timeline(problem.id) if isinstance(e, ProblemEvent)]
        assert [e.version for e in problem_events] == list(range(1, problem.version + 1))
        rebuilt_problem = Problem.from_history(problem_events, desk.policies.problem_workflow)
        assert rebuilt_problem.snapshot() == problem.snapshot()
        stored.extend(problem_events)
    assert sorted(notifier.events, key=_key) == sorted(stored, key=_key)


def _key(event: DomainEvent) -> tuple[str, int]:
    return event.aggregate_id, event.version

