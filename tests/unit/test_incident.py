"""The incident entity, driven directly: every change is one method that checks, mutates, bumps
the version and records one frozen past-tense event; the history rebuilds the same state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    CategoryPath,
    EscalationKind,
    Incident,
    IncidentAssigned,
    IncidentEvent,
    IncidentLogged,
    IncidentNoteAdded,
    IncidentReopened,
    IncidentState,
    InvalidTransitionError,
    ItilIncidentError,
    LinkKind,
    NoteVisibility,
    Priority,
    PriorityMatrix,
    Satisfaction,
    StateDef,
    TransitionDef,
    ValidationError,
    Workflow,
    default_incident_workflow,
)

WORKFLOW = default_incident_workflow()
MATRIX = PriorityMatrix.servicenow()
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
ENGINEER = Actor("bob", "Bob Engineer", frozenset({"engineer"}))
S = IncidentState

# DOMAIN.md's ServiceNow table, (impact, urgency) -> priority, written out independently.
SERVICENOW = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 4,
}  # fmt: skip


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def log(**fields: Any) -> Incident:
    """A new incident logged at T0 by the agent; ``fields`` override the defaults."""
    arguments: dict[str, Any] = {
        "incident_id": "INC0000001", "workflow": WORKFLOW, "matrix": MATRIX, "actor": AGENT,
        "at": T0, "title": "VPN drops every few minutes",
    }
    arguments.update(fields)
    return Incident.log(**arguments)


def in_progress() -> Incident:
    incident = log(assignment_group="Network Support", support_tier=2)
    incident.start_work(actor=AGENT, at=minutes(1))
    return incident


def resolved() -> Incident:
    incident = in_progress()
    incident.resolve(code="solved_remotely", notes="Reset the tunnel.", actor=AGENT,
                     at=minutes(2))
    return incident


def closed() -> Incident:
    incident = resolved()
    incident.close(actor=AGENT, at=minutes(3))
    return incident


def cancelled() -> Incident:
    incident = log()
    incident.cancel(reason="Logged twice", actor=AGENT, at=minutes(1))
    return incident


def unchanged(incident: Incident, attempt: Callable[[], object],
              error: type[ItilIncidentError] = ItilIncidentError) -> ItilIncidentError:
    """``attempt`` must raise ``error`` and leave the incident exactly as it was."""
    before = (incident.snapshot(), incident.timeline(), incident.pending_events())
    with pytest.raises(error) as raised:
        attempt()
    assert (incident.snapshot(), incident.timeline(), incident.pending_events()) == before
    return raised.value


# -- logging -----------------------------------------------------------------------------------


def test_a_logged_incident_is_new_at_version_one_with_one_logged_event() -> None:
    incident = log()
    assert (incident.id, incident.status, incident.version) == ("INC0000001", S.NEW, 1)
    (event,) = incident.timeline()
    assert isinstance(event, IncidentLogged)
    assert (event.version, event.at, event.actor) == (1, T0, AGENT)
    assert (incident.logged_at, incident.logged_by, incident.updated_at) == (T0, AGENT, T0)


def test_the_logged_event_holds_the_whole_initial_state() -> None:
    incident = log(description="Since 08:00", service="VPN", configuration_items=["gw-1"],
                   caller="carol", channel="phone", impact=2, urgency=1,
                   category=CategoryPath.parse("Network/VPN"), category_rule="vpn",
                   assignment_group="Network Support", support_tier=2, routing_rule="network",
                   occurred_at=minutes(-60), detected_at=minutes(-30), custom={"site": "HQ"})
    event = incident.timeline()[0]
    assert isinstance(event, IncidentLogged)
    assert (event.category, event.category_rule) == (CategoryPath.parse("Network/VPN"), "vpn")
    assert (event.assignment_group, event.support_tier, event.routing_rule) == (
        "Network Support", 2, "network")
    assert (incident.service, incident.configuration_items, incident.caller) == (
        "VPN", ("gw-1",), "carol")
    assert (incident.occurred_at, incident.detected_at) == (minutes(-60), minutes(-30))
    assert incident.custom == {"site": "HQ"}


def test_impact_and_urgency_default_to_the_least_severe_levels() -> None:
    incident = log()
    assert (incident.impact.level, incident.urgency.level, incident.priority.level) == (3, 3, 4)


@given(impact=st.integers(1, 3), urgency=st.integers(1, 3))
def test_the_logged_priority_is_the_matrix_cell_of_impact_and_urgency(
    impact: int, urgency: int
) -> None:
    incident = log(impact=impact, urgency=urgency)
    assert incident.priority.level == SERVICENOW[(impact, urgency)]
    assert incident.priority.label == MATRIX.priorities[incident.priority.level - 1].label


def test_logging_stores_instants_in_utc() -> None:
    paris_winter = timezone(timedelta(hours=1))
    incident = log(at=datetime(2026, 1, 5, 10, 0, tzinfo=paris_winter))
    assert incident.logged_at == T0
    assert incident.logged_at.tzinfo is UTC


def test_a_freshly_logged_incident_has_its_logged_event_pending_until_saved() -> None:
    incident = log()
    assert len(incident.pending_events()) == 1
    assert incident.saved_version == 0
    incident.mark_saved()
    assert incident.pending_events() == ()
    assert incident.saved_version == 1


# -- one method, one event ---------------------------------------------------------------------


def test_a_command_returns_the_event_it_recorded_and_bumps_the_version_by_one() -> None:
    incident = log()
    event = incident.add_note("Asked for logs", actor=ENGINEER, at=minutes(5))
    assert incident.version == 2
    assert incident.timeline()[-1] is event
    assert (event.version, event.actor, event.at) == (2, ENGINEER, minutes(5))
    assert incident.updated_at == minutes(5)


def test_a_change_dated_before_the_last_change_is_refused() -> None:
    incident = in_progress()
    error = unchanged(incident, lambda: incident.add_note("x", actor=AGENT, at=T0),
                      ValidationError)
    assert "history is never rewritten" in str(error)


def test_a_naive_time_is_refused() -> None:
    incident = log()
    unchanged(incident, lambda: incident.add_note("x", actor=AGENT,
                                                  at=datetime(2026, 1, 5, 10)), ValidationError)


# -- lifecycle ---------------------------------------------------------------------------------


def test_assigning_a_new_incident_to_a_group_moves_it_to_assigned() -> None:
    incident = log()
    event = incident.assign(actor=AGENT, at=minutes(1), group="Network Support", tier=2)
    assert isinstance(event, IncidentAssigned)
    assert (incident.status, incident.assignment_group, incident.support_tier) == (
        S.ASSIGNED, "Network Support", 2)


def test_assigning_a_new_incident_to_a_person_without_a_group_is_refused() -> None:
    incident = log()
    error = unchanged(incident, lambda: incident.assign(actor=AGENT, at=minutes(1),
                                                        assignee="bob"), InvalidTransitionError)
    assert "assignment_group" in str(error)


def test_assigning_with_neither_group_nor_person_is_refused() -> None:
    incident = log()
    unchanged(incident, lambda: incident.assign(actor=AGENT, at=minutes(1)), ValidationError)


def test_assigning_exactly_as_already_assigned_is_refused() -> None:
    incident = log(assignment_group="Network Support")
    unchanged(incident, lambda: incident.assign(actor=AGENT, at=minutes(1),
                                                group="Network Support"), ValidationError)


def test_a_new_group_without_a_new_assignee_clears_the_assignee() -> None:
    incident = in_progress()
    assert incident.assignee == "alice"
    incident.assign(actor=AGENT, at=minutes(2), group="Desktop Support")
    assert incident.assignee is None


def test_starting_work_on_an_unassigned_incident_makes_the_actor_the_assignee() -> None:
    incident = log()
    incident.start_work(actor=ENGINEER, at=minutes(1))
    assert (incident.status, incident.assignee) == (S.IN_PROGRESS, "bob")


def test_starting_work_keeps_an_existing_assignee() -> None:
    incident = log(assignment_group="Network Support")
    incident.assign(actor=AGENT, at=minutes(1), assignee="carl")
    incident.start_work(actor=ENGINEER, at=minutes(2))
    assert incident.assignee == "carl"


def test_putting_on_hold_records_the_reason() -> None:
    incident = in_progress()
    incident.put_on_hold("awaiting_caller", actor=AGENT, at=minutes(2))
    assert (incident.status, incident.hold_reason) == (S.ON_HOLD, "awaiting_caller")


def test_a_hold_reason_outside_the_allowed_ones_is_refused() -> None:
    incident = in_progress()
    unchanged(incident, lambda: incident.put_on_hold(
        "lunch", actor=AGENT, at=minutes(2), allowed={"awaiting_caller"}), ValidationError)


def test_a_new_incident_cannot_be_put_on_hold() -> None:
    incident = log()
    error = unchanged(incident, lambda: incident.put_on_hold("awaiting_caller", actor=AGENT,
                                                             at=minutes(1)),
                      InvalidTransitionError)
    assert isinstance(error, InvalidTransitionError)
    assert (error.state, error.trigger) == (S.NEW, "hold")
    assert "start" in error.allowed


def test_resuming_returns_to_in_progress_and_clears_the_hold_reason() -> None:
    incident = in_progress()
    incident.put_on_hold("awaiting_vendor", actor=AGENT, at=minutes(2))
    event = incident.resume(actor=AGENT, at=minutes(3))
    assert (incident.status, incident.hold_reason) == (S.IN_PROGRESS, None)
    assert event.previous_hold_reason == "awaiting_vendor"


def test_resolving_records_code_notes_time_and_resolver() -> None:
    incident = in_progress()
    incident.resolve(code="solved_remotely", notes="Reset the tunnel.", actor=ENGINEER,
                     at=minutes(9))
    assert (incident.status, incident.resolution_code, incident.resolution_notes) == (
        S.RESOLVED, "solved_remotely", "Reset the tunnel.")
    assert (incident.resolved_at, incident.resolved_by) == (minutes(9), "bob")
    assert not incident.is_open
    assert not incident.is_terminal


def test_resolving_an_incident_on_hold_clears_the_hold_reason() -> None:
    incident = in_progress()
    incident.put_on_hold("awaiting_vendor", actor=AGENT, at=minutes(2))
    incident.resolve(code="solved_workaround", notes="Vendor patch.", actor=AGENT,
                     at=minutes(3))
    assert incident.hold_reason is None


@pytest.mark.parametrize(("code", "notes"), [("", "fine"), ("solved", ""), ("solved", "   ")])
def test_resolving_without_a_code_or_notes_is_refused(code: str, notes: str) -> None:
    incident = in_progress()
    unchanged(incident, lambda: incident.resolve(code=code, notes=notes, actor=AGENT,
                                                 at=minutes(2)), ValidationError)


def test_resolving_with_a_code_outside_the_allowed_ones_is_refused() -> None:
    incident = in_progress()
    unchanged(incident, lambda: incident.resolve(code="magic", notes="n", actor=AGENT,
                                                 at=minutes(2), codes={"duplicate"}),
              ValidationError)


def test_closing_records_confirmation_satisfaction_and_time() -> None:
    incident = resolved()
    incident.close(actor=AGENT, at=minutes(30), code="solved", caller_confirmed=True,
                   satisfaction=Satisfaction(5, "Great"))
    assert (incident.status, incident.closure_code, incident.caller_confirmed) == (
        S.CLOSED, "solved", True)
    assert incident.satisfaction == Satisfaction(5, "Great")
    assert incident.closed_at == minutes(30)
    assert incident.is_terminal


@pytest.mark.parametrize("make", [log, in_progress])
def test_closing_an_incident_that_is_not_resolved_is_refused_and_changes_nothing(
    make: Callable[[], Incident]
) -> None:
    incident = make()
    error = unchanged(incident, lambda: incident.close(actor=AGENT, at=minutes(5)),
                      InvalidTransitionError)
    assert "close" in str(error)


def test_reopening_a_resolved_incident_counts_a_reopen_and_clears_the_resolution() -> None:
    incident = resolved()
    event = incident.reopen(reason="Drops again", actor=AGENT, at=minutes(10))
    assert isinstance(event, IncidentReopened)
    assert (incident.status, incident.reopen_count) == (S.IN_PROGRESS, 1)
    assert (incident.resolution_code, incident.resolution_notes, incident.resolved_at) == (
        None, None, None)
    assert (event.previous_resolution_code, event.previous_resolution_notes) == (
        "solved_remotely", "Reset the tunnel.")


def test_an_incident_in_progress_cannot_be_reopened() -> None:
    incident = in_progress()
    unchanged(incident, lambda: incident.reopen(reason="x", actor=AGENT, at=minutes(5)),
              InvalidTransitionError)


def test_cancelling_an_open_incident_records_the_reason_and_is_final() -> None:
    incident = cancelled()
    assert (incident.status, incident.cancellation_reason) == (S.CANCELLED, "Logged twice")
    assert incident.is_terminal
    assert incident.allowed_triggers() == ()


def test_a_resolved_incident_cannot_be_cancelled() -> None:
    incident = resolved()
    unchanged(incident, lambda: incident.cancel(reason="x", actor=AGENT, at=minutes(5)),
              InvalidTransitionError)


FINAL_ATTEMPTS: dict[str, Callable[[Incident], object]] = {
    "reopen": lambda i: i.reopen(reason="again", actor=AGENT, at=minutes(60)),
    "assign": lambda i: i.assign(actor=AGENT, at=minutes(60), group="Service Desk"),
    "note": lambda i: i.add_note("late", actor=AGENT, at=minutes(60)),
    "details": lambda i: i.update_details(actor=AGENT, at=minutes(60), title="Other"),
    "reprioritize": lambda i: i.reprioritize(MATRIX, actor=AGENT, at=minutes(60), impact=1),
    "override": lambda i: i.override_priority(1, MATRIX, justification="x", actor=AGENT,
                                              at=minutes(60)),
    "categorize": lambda i: i.categorize(CategoryPath.parse("Software"), actor=AGENT,
                                         at=minutes(60)),
    "escalate": lambda i: i.escalate_hierarchically(notified_role="boss", reason="x",
                                                    actor=AGENT, at=minutes(60)),
    "custom": lambda i: i.set_custom("site", "HQ", actor=AGENT, at=minutes(60)),
    "link": lambda i: i.add_link(LinkKind.RELATED_CHANGE, "CHG1", actor=AGENT, at=minutes(60)),
    "problem": lambda i: i.link_problem("PRB0000001", actor=AGENT, at=minutes(60)),
    "parent": lambda i: i.set_parent("INC0000009", actor=AGENT, at=minutes(60)),
    "cancel": lambda i: i.cancel(reason="x", actor=AGENT, at=minutes(60)),
    "close": lambda i: i.close(actor=AGENT, at=minutes(60)),
}


@pytest.mark.parametrize("make", [closed, cancelled])
@pytest.mark.parametrize("attempt", sorted(FINAL_ATTEMPTS))
def test_a_closed_or_cancelled_incident_refuses_every_change(
    make: Callable[[], Incident], attempt: str
) -> None:
    incident = make()
    unchanged(incident, lambda: FINAL_ATTEMPTS[attempt](incident), InvalidTransitionError)


# -- assignment counters and escalation --------------------------------------------------------


def test_the_first_group_is_not_a_reassignment_but_each_later_group_change_is() -> None:
    incident = log()
    incident.assign(actor=AGENT, at=minutes(1), group="Service Desk")
    assert incident.reassignment_count == 0
    incident.assign(actor=AGENT, at=minutes(2), group="Network Support")
    incident.assign(actor=AGENT, at=minutes(3), group="Service Desk")
    assert incident.reassignment_count == 2


def test_changing_only_the_assignee_is_not_a_reassignment() -> None:
    incident = log(assignment_group="Service Desk")
    incident.assign(actor=AGENT, at=minutes(1), assignee="bob")
    incident.assign(actor=AGENT, at=minutes(2), assignee="carl")
    assert incident.reassignment_count == 0


def test_functional_escalation_moves_to_the_group_clears_the_assignee_and_counts_a_hop() -> None:
    incident = in_progress()
    event = incident.escalate_functionally(group="Network Engineering", tier=3,
                                           reason="Needs packet captures", actor=AGENT,
                                           at=minutes(5))
    assert event.kind is EscalationKind.FUNCTIONAL
    assert (incident.assignment_group, incident.support_tier, incident.assignee) == (
        "Network Engineering", 3, None)
    assert (incident.reassignment_count, incident.functional_escalations) == (1, 1)
    assert incident.status == S.IN_PROGRESS


def test_functional_escalation_to_the_current_group_is_refused() -> None:
    incident = in_progress()
    unchanged(incident, lambda: incident.escalate_functionally(
        group="Network Support", tier=2, reason="x", actor=AGENT, at=minutes(5)),
        ValidationError)


def test_hierarchical_escalation_names_the_notified_role_and_keeps_the_assignment() -> None:
    incident = in_progress()
    before = (incident.assignment_group, incident.assignee, incident.reassignment_count)
    event = incident.escalate_hierarchically(notified_role="incident_manager",
                                             reason="VIP affected", actor=AGENT, at=minutes(5))
    assert (event.kind, event.notified_role) == (EscalationKind.HIERARCHICAL, "incident_manager")
    assert (incident.assignment_group, incident.assignee, incident.reassignment_count) == before
    assert incident.hierarchical_escalations == 1


def test_a_resolved_incident_cannot_be_escalated() -> None:
    incident = resolved()
    error = unchanged(incident, lambda: incident.escalate_hierarchically(
        notified_role="boss", reason="x", actor=AGENT, at=minutes(5)), InvalidTransitionError)
    assert "reopen it first" in str(error)


# -- priority ----------------------------------------------------------------------------------


@given(impact=st.integers(1, 3), urgency=st.integers(1, 3))
def test_the_priority_follows_impact_and_urgency_changes(impact: int, urgency: int) -> None:
    incident = log(impact=1 if impact != 1 else 2)
    incident.reprioritize(MATRIX, actor=AGENT, at=minutes(1), impact=impact, urgency=urgency)
    assert incident.priority.level == SERVICENOW[(impact, urgency)]


def test_reprioritizing_to_the_same_impact_and_urgency_is_refused() -> None:
    incident = log(impact=2, urgency=2)
    unchanged(incident, lambda: incident.reprioritize(MATRIX, actor=AGENT, at=minutes(1),
                                                      impact=2, urgency=2), ValidationError)


def test_an_override_sets_the_priority_and_records_the_justification() -> None:
    incident = log()
    event = incident.override_priority(1, MATRIX, justification="CEO laptop", actor=AGENT,
                                       at=minutes(1))
    assert (incident.priority, incident.priority_overridden) == (Priority(1), True)
    assert incident.priority_justification == "CEO laptop"
    assert (event.previous_priority, event.justification) == (Priority(4), "CEO laptop")


def test_an_override_may_choose_a_priority_the_matrix_never_yields() -> None:
    incident = log()
    incident.override_priority("Planning", MATRIX, justification="Cosmetic", actor=AGENT,
                               at=minutes(1))
    assert incident.priority.level == 5


@pytest.mark.parametrize("justification", ["", "   "])
def test_an_override_without_a_justification_is_refused(justification: str) -> None:
    incident = log()
    unchanged(incident, lambda: incident.override_priority(
        1, MATRIX, justification=justification, actor=AGENT, at=minutes(1)), ValidationError)


@given(impact=st.integers(1, 3), urgency=st.integers(1, 2), forced=st.integers(1, 5))
def test_while_overridden_impact_and_urgency_changes_keep_the_overridden_priority(
    impact: int, urgency: int, forced: int
) -> None:
    incident = log()
    incident.override_priority(forced, MATRIX, justification="Manager says", actor=AGENT,
                               at=minutes(1))
    incident.reprioritize(MATRIX, actor=AGENT, at=minutes(2), impact=impact, urgency=urgency)
    assert incident.priority.level == forced
    assert (incident.impact.level, incident.urgency.level) == (impact, urgency)


def test_clearing_the_override_lets_the_matrix_decide_again() -> None:
    incident = log()
    incident.override_priority(5, MATRIX, justification="Cosmetic", actor=AGENT, at=minutes(1))
    incident.reprioritize(MATRIX, actor=AGENT, at=minutes(2), impact=1, urgency=1)
    incident.clear_priority_override(MATRIX, actor=AGENT, at=minutes(3))
    assert (incident.priority.level, incident.priority_overridden) == (1, False)
    assert incident.priority_justification is None


def test_clearing_an_override_that_does_not_exist_is_refused() -> None:
    incident = log()
    unchanged(incident, lambda: incident.clear_priority_override(MATRIX, actor=AGENT,
                                                                 at=minutes(1)),
              ValidationError)


# -- details, category, notes, links, custom attributes ----------------------------------------


def test_updating_details_changes_only_the_fields_given() -> None:
    incident = log(description="Since 08:00", caller="carol")
    event = incident.update_details(actor=AGENT, at=minutes(1), title="VPN drops hourly",
                                    description="Since 08:00")
    assert (incident.title, incident.description, incident.caller) == (
        "VPN drops hourly", "Since 08:00", "carol")
    assert event.updates == (("title", "VPN drops every few minutes", "VPN drops hourly"),)


def test_updating_details_to_the_values_they_have_is_refused() -> None:
    incident = log()
    unchanged(incident, lambda: incident.update_details(
        actor=AGENT, at=minutes(1), title="VPN drops every few minutes"), ValidationError)


def test_categorizing_records_the_previous_category() -> None:
    incident = log(category=CategoryPath.parse("Network"))
    event = incident.categorize(CategoryPath.parse("Network/VPN"), actor=AGENT, at=minutes(1))
    assert incident.category == CategoryPath.parse("Network/VPN")
    assert event.previous_category == CategoryPath.parse("Network")


def test_categorizing_into_the_current_category_is_refused() -> None:
    incident = log(category=CategoryPath.parse("Network"))
    unchanged(incident, lambda: incident.categorize(CategoryPath.parse("Network"),
                                                    actor=AGENT, at=minutes(1)),
              ValidationError)


def test_work_notes_and_comments_are_kept_with_author_time_and_visibility() -> None:
    incident = log()
    incident.add_note("Checked the gateway", actor=ENGINEER, at=minutes(1))
    incident.add_note("We are on it", actor=AGENT, at=minutes(2),
                      visibility=NoteVisibility.COMMENT)
    assert [(n.text, n.visibility, n.author.id, n.at) for n in incident.notes] == [
        ("Checked the gateway", NoteVisibility.WORK_NOTE, "bob", minutes(1)),
        ("We are on it", NoteVisibility.COMMENT, "alice", minutes(2)),
    ]


def test_links_to_changes_and_related_incidents_are_listed_by_kind() -> None:
    incident = log()
    incident.add_link(LinkKind.CAUSED_BY_CHANGE, "CHG0000001", actor=AGENT, at=minutes(1))
    incident.add_link(LinkKind.RELATED_INCIDENT, "INC0000002", actor=AGENT, at=minutes(2))
    assert incident.change_ids == ("CHG0000001",)
    assert incident.related_incident_ids == ("INC0000002",)
    incident.remove_link(LinkKind.CAUSED_BY_CHANGE, "CHG0000001", actor=AGENT, at=minutes(3))
    assert "CHG0000001" not in incident.change_ids


def test_an_incident_cannot_be_linked_to_itself_or_twice_to_the_same_record() -> None:
    incident = log()
    unchanged(incident, lambda: incident.add_link(LinkKind.RELATED_INCIDENT, "INC0000001",
                                                  actor=AGENT, at=minutes(1)), ValidationError)
    incident.add_link(LinkKind.RELATED_CHANGE, "CHG1", actor=AGENT, at=minutes(1))
    unchanged(incident, lambda: incident.add_link(LinkKind.RELATED_CHANGE, "CHG1",
                                                  actor=AGENT, at=minutes(2)), ValidationError)


def test_an_incident_cannot_be_its_own_parent() -> None:
    incident = log()
    unchanged(incident, lambda: incident.set_parent("INC0000001", actor=AGENT, at=minutes(1)),
              ValidationError)


def test_a_custom_attribute_is_set_and_removed_with_none() -> None:
    incident = log()
    incident.set_custom("seats", 40, actor=AGENT, at=minutes(1))
    assert incident.custom == {"seats": 40}
    incident.set_custom("seats", None, actor=AGENT, at=minutes(2))
    assert incident.custom == {}


def test_setting_a_custom_attribute_to_its_current_value_is_refused() -> None:
    incident = log(custom={"seats": 40})
    unchanged(incident, lambda: incident.set_custom("seats", 40, actor=AGENT, at=minutes(1)),
              ValidationError)


# -- custom workflows --------------------------------------------------------------------------


def _triage_workflow() -> Workflow:
    return Workflow(
        "triage",
        [StateDef("new", initial=True), StateDef("triaged"), StateDef("resolved", resolved=True),
         StateDef("closed", terminal=True)],
        [TransitionDef("triage", "new", "triaged"), TransitionDef("resolve", "triaged",
                                                                   "resolved"),
         TransitionDef("close", "resolved", "closed")],
    )


def test_a_host_trigger_moves_the_incident_along_a_custom_workflow() -> None:
    incident = log(workflow=_triage_workflow())
    event = incident.transition("triage", actor=AGENT, at=minutes(1))
    assert (incident.status, event.trigger) == ("triaged", "triage")
    assert event.changes() == {"status": ("new", "triaged")}


def test_a_trigger_with_its_own_command_is_refused_by_transition() -> None:
    incident = log(workflow=_triage_workflow())
    incident.transition("triage", actor=AGENT, at=minutes(1))
    error = unchanged(incident, lambda: incident.transition("resolve", actor=AGENT,
                                                            at=minutes(2)), ValidationError)
    assert "own command" in str(error)


def test_a_trigger_the_workflow_does_not_have_is_refused() -> None:
    incident = log(workflow=_triage_workflow())
    unchanged(incident, lambda: incident.transition("explode", actor=AGENT, at=minutes(1)),
              InvalidTransitionError)


# -- rebuilding from the history ---------------------------------------------------------------


def test_rebuilding_from_the_history_gives_the_same_state_and_nothing_pending() -> None:
    incident = resolved()
    incident.reopen(reason="Again", actor=AGENT, at=minutes(5))
    rebuilt = Incident.from_history(incident.timeline(), WORKFLOW)
    assert rebuilt.snapshot() == incident.snapshot()
    assert rebuilt.pending_events() == ()
    assert rebuilt.saved_version == rebuilt.version == 4


def test_an_empty_history_is_refused() -> None:
    with pytest.raises(ValidationError, match="cannot be empty"):
        Incident.from_history([], WORKFLOW)


def test_a_history_that_does_not_start_with_the_logged_event_is_refused() -> None:
    events = in_progress().timeline()
    with pytest.raises(ValidationError, match="starts with IncidentLogged"):
        Incident.from_history(events[1:], WORKFLOW)


def test_a_history_with_a_gap_in_versions_is_refused() -> None:
    incident = resolved()
    events = incident.timeline()
    with pytest.raises(ValidationError, match="does not follow"):
        Incident.from_history([events[0], events[2]], WORKFLOW)


def test_a_history_mixing_two_incidents_is_refused() -> None:
    first = in_progress()
    second = log(incident_id="INC0000002")
    second.start_work(actor=AGENT, at=minutes(1))
    with pytest.raises(ValidationError, match="INC0000002"):
        Incident.from_history([first.timeline()[0], second.timeline()[1]], WORKFLOW)


def test_a_history_holding_something_other_than_incident_events_is_refused() -> None:
    bad: Any = ["not an event"]
    with pytest.raises(ValidationError, match="not a IncidentEvent"):
        Incident.from_history(bad, WORKFLOW)


def test_incidents_are_equal_by_id() -> None:
    incident = in_progress()
    assert incident == Incident.from_history(incident.timeline()[:1], WORKFLOW)
    assert incident != log(incident_id="INC0000002")


def test_a_clone_is_independent_of_the_original() -> None:
    incident = log()
    copy = incident.clone()
    copy.set_custom("site", "HQ", actor=AGENT, at=minutes(1))
    assert (incident.version, incident.custom) == (1, {})


# -- the invariants, over random command sequences ---------------------------------------------

GROUPS = ["Service Desk", "Network Support", "Network Engineering"]
PATHS = [CategoryPath.parse(p) for p in ("Network", "Network/VPN", "Software/Email")]
Op = Callable[[Incident, datetime], IncidentEvent]


def _ops(data: st.DataObject) -> Op:
    """Draw one entity command with its arguments (valid or not for the current state)."""
    name = data.draw(st.sampled_from([
        "assign", "start", "hold", "resume", "resolve", "close", "reopen", "cancel",
        "reprioritize", "override", "clear", "categorize", "note", "escalate_f", "escalate_h",
        "details", "custom", "link", "problem", "unlink_problem",
    ]))
    pick = data.draw
    if name == "assign":
        group = pick(st.sampled_from([None, *GROUPS]))
        who = pick(st.sampled_from([None, "alice", "bob"]))
        return lambda i, t: i.assign(actor=AGENT, at=t, group=group, assignee=who)
    if name == "start":
        return lambda i, t: i.start_work(actor=ENGINEER, at=t)
    if name == "hold":
        reason = pick(st.sampled_from(["awaiting_caller", "awaiting_vendor"]))
        return lambda i, t: i.put_on_hold(reason, actor=AGENT, at=t)
    if name == "resume":
        return lambda i, t: i.resume(actor=AGENT, at=t)
    if name == "resolve":
        return lambda i, t: i.resolve(code="solved_remotely", notes="Fixed", actor=AGENT, at=t)
    if name == "close":
        score = pick(st.sampled_from([None, 1, 5]))
        rating = None if score is None else Satisfaction(score)
        return lambda i, t: i.close(actor=AGENT, at=t, caller_confirmed=True,
                                    satisfaction=rating)
    if name == "reopen":
        return lambda i, t: i.reopen(reason="Back again", actor=AGENT, at=t)
    if name == "cancel":
        return lambda i, t: i.cancel(reason="Duplicate", actor=AGENT, at=t)
    if name == "reprioritize":
        impact, urgency = pick(st.integers(1, 3)), pick(st.integers(1, 3))
        return lambda i, t: i.reprioritize(MATRIX, actor=AGENT, at=t, impact=impact,
                                           urgency=urgency)
    if name == "override":
        level = pick(st.integers(1, 5))
        return lambda i, t: i.override_priority(level, MATRIX, justification="Said so",
                                                actor=AGENT, at=t)
    if name == "clear":
        return lambda i, t: i.clear_priority_override(MATRIX, actor=AGENT, at=t)
    if name == "categorize":
        path = pick(st.sampled_from(PATHS))
        return lambda i, t: i.categorize(path, actor=AGENT, at=t)
    if name == "note":
        kind = pick(st.sampled_from(list(NoteVisibility)))
        return lambda i, t: i.add_note("Looked into it", actor=AGENT, at=t, visibility=kind)
    if name == "escalate_f":
        group = pick(st.sampled_from(GROUPS))
        return lambda i, t: i.escalate_functionally(group=group, tier=2, reason="Stuck",
                                                    actor=AGENT, at=t)
    if name == "escalate_h":
        return lambda i, t: i.escalate_hierarchically(notified_role="incident_manager",
                                                      reason="VIP", actor=AGENT, at=t)
    if name == "details":
        title = pick(st.sampled_from(["VPN drops", "VPN down"]))
        return lambda i, t: i.update_details(actor=AGENT, at=t, title=title)
    if name == "custom":
        value = pick(st.sampled_from([None, "HQ", 3]))
        return lambda i, t: i.set_custom("site", value, actor=AGENT, at=t)
    if name == "link":
        target = pick(st.sampled_from(["CHG1", "CHG2"]))
        return lambda i, t: i.add_link(LinkKind.RELATED_CHANGE, target, actor=AGENT, at=t)
    if name == "problem":
        problem = pick(st.sampled_from(["PRB0000001", "PRB0000002"]))
        return lambda i, t: i.link_problem(problem, actor=AGENT, at=t)
    return lambda i, t: i.unlink_problem(actor=AGENT, at=t)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), steps=st.integers(1, 25))
def test_every_accepted_command_records_one_event_and_every_refused_one_changes_nothing(
    data: st.DataObject, steps: int
) -> None:
    incident = log(assignment_group=data.draw(st.sampled_from([None, "Service Desk"])))
    hops = 0
    for step in range(1, steps + 1):
        op = _ops(data)
        at = minutes(step)
        before = (incident.snapshot(), incident.timeline())
        try:
            event = op(incident, at)
        except ItilIncidentError:
            assert (incident.snapshot(), incident.timeline()) == before
            continue
        old_group = before[0]["assignment_group"]
        if old_group is not None and incident.assignment_group != old_group:
            hops += 1
        assert incident.version == before[0]["version"] + 1 == event.version
        assert incident.timeline() == (*before[1], event)
        assert (event.at, incident.updated_at) == (at, at)
        assert (event.from_status, event.to_status) == (before[0]["status"], incident.status)
        assert before[0]["status"] not in (S.CLOSED, S.CANCELLED)
        assert incident.status in WORKFLOW.states
        if not incident.priority_overridden:
            assert incident.priority == MATRIX.priority_for(incident.impact, incident.urgency)
    assert incident.reassignment_count == hops
    assert incident.reopen_count == sum(isinstance(e, IncidentReopened)
                                        for e in incident.timeline())
    assert len(incident.notes) == sum(isinstance(e, IncidentNoteAdded)
                                      for e in incident.timeline())
    rebuilt = Incident.from_history(incident.timeline(), WORKFLOW)
    assert rebuilt.snapshot() == incident.snapshot()


def test_a_history_rebuilt_as_not_stored_counts_every_event_as_pending() -> None:
    workflow = WORKFLOW
    agent = Actor("alice")
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    original = Incident.log(incident_id="INC0000001", workflow=workflow, matrix=MATRIX,
                            actor=agent, at=at, title="Jam")
    original.add_note("Paper tray 2", actor=agent, at=at)
    imported = Incident.from_history(original.timeline(), workflow, stored=False)
    stored = Incident.from_history(original.timeline(), workflow)
    assert imported.saved_version == 0
    assert imported.pending_events() == original.timeline()
    assert stored.saved_version == stored.version == 2
    assert stored.pending_events() == ()
