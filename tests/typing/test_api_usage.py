"""Realistic use of the public API, checked by ``mypy --strict`` and run by pytest.

Everything is imported from the package root, the way a host application would. The
``assert_type`` calls cost nothing at run time; under mypy they pin the types the API promises.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import assert_type

import pytest

from itil_incident import (
    Actor,
    Authorizer,
    CategorizationRule,
    Categorizer,
    CategoryPath,
    CategoryTree,
    Channel,
    Clock,
    DeskPolicies,
    DomainEvent,
    EscalationKind,
    FrozenClock,
    IdFactory,
    Impact,
    Incident,
    IncidentResolved,
    IncidentState,
    InMemoryRepository,
    InvalidTransitionError,
    ItilIncidentError,
    KnownError,
    Notifier,
    PermissionDeniedError,
    Priority,
    PriorityMatrix,
    Problem,
    ProblemState,
    RecordingNotifier,
    Repository,
    RoleBasedAuthorizer,
    RoutingRule,
    RoutingTable,
    Satisfaction,
    SequentialIdFactory,
    ServiceDesk,
    SupportGroup,
    TransitionDef,
    Urgency,
    Workflow,
    default_incident_workflow,
)

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
ENGINEER = Actor("bob", "Bob Engineer", frozenset({"agent", "network"}))
MANAGER = Actor("mia", "Mia Manager", frozenset({"agent", "incident_manager"}))
ANALYST = Actor("pat", "Pat Analyst", frozenset({"problem_manager"}))


class OutboxNotifier:
    """A host's notifier: keeps event names in an outbox (a real one would send mail)."""

    def __init__(self) -> None:
        self.outbox: list[str] = []

    def notify(self, events: Sequence[DomainEvent]) -> None:
        self.outbox.extend(f"{e.name} {e.aggregate_id} v{e.version}" for e in events)


def company_policies() -> DeskPolicies:
    """A host's own categories, rules, groups, matrix, workflow and attributes."""
    tree = CategoryTree(["Network/VPN", "Network/Wi-Fi", "Apps/Payroll", "Apps/CRM"])
    categorizer = Categorizer(
        [
            CategorizationRule("vpn", "Network/VPN", keywords=("vpn", "tunnel")),
            CategorizationRule("payroll", "Apps/Payroll", keywords=("payslip", "payroll")),
            CategorizationRule("monitoring-wifi", "Network/Wi-Fi",
                               pattern=r"\bap-\d+\b", channel=Channel.MONITORING),
        ],
        tree=tree,
    )
    routing = RoutingTable(
        [
            SupportGroup("Helpdesk", 1, "Network Ops", "helpdesk_lead"),
            SupportGroup("Network Ops", 2, "Network Architects", "incident_manager"),
            SupportGroup("Network Architects", 3),
            SupportGroup("Apps Team", 2),
        ],
        [
            RoutingRule("network", "Network Ops", "Network"),
            RoutingRule("apps", "Apps Team", CategoryPath.parse("Apps")),
        ],
        default_group="Helpdesk",
    )
    base = default_incident_workflow()
    workflow = Workflow(
        "incident_with_triage",
        base.states.values(),
        [*base.transitions,
         TransitionDef("acknowledge", (IncidentState.NEW, IncidentState.ASSIGNED))],
    )
    return DeskPolicies(
        incident_workflow=workflow,
        priority_matrix=PriorityMatrix.itil(),
        categories=tree,
        categorizer=categorizer,
        routing=routing,
        hold_reasons={"awaiting_caller", "awaiting_vendor", "awaiting_parts"},
        resolution_codes={"fixed", "workaround", "duplicate"},
        custom_fields={"site": str, "affected_users": int},
        escalation_role="duty_manager",
    )


def build_desk() -> tuple[ServiceDesk, FrozenClock, OutboxNotifier]:
    clock = FrozenClock(START)
    notifier = OutboxNotifier()
    repository: Repository = InMemoryRepository()
    ports: tuple[Clock, Notifier, IdFactory, Authorizer] = (
        clock,
        notifier,
        SequentialIdFactory(incident_prefix="INC", problem_prefix="PRB"),
        RoleBasedAuthorizer({"override_priority": {"incident_manager"},
                             "open_problem": {"problem_manager"},
                             "*": {"agent", "problem_manager"}}),
    )
    desk = ServiceDesk(repository, policies=company_policies(), clock=ports[0],
                       notifier=ports[1], ids=ports[2], authorizer=ports[3])
    return desk, clock, notifier


def test_an_incident_from_logging_to_closure() -> None:
    desk, clock, notifier = build_desk()

    incident = desk.log_incident(
        actor=AGENT, title="VPN tunnel drops every ten minutes", caller="carol",
        channel=Channel.PHONE, impact=Impact(2), urgency="High", service="Remote Access",
        configuration_items=["vpn-gw-1"], custom={"site": "Lyon", "affected_users": 40},
        occurred_at=START - timedelta(hours=1),
    )
    assert_type(incident, Incident)
    assert incident.category == CategoryPath.parse("Network/VPN")
    assert (incident.assignment_group, incident.support_tier) == ("Network Ops", 2)
    priority: Priority = incident.priority
    assert priority.level == 2

    clock.advance(minutes=5)
    incident = desk.transition(incident.id, "acknowledge", actor=ENGINEER)
    incident = desk.start_work(incident.id, actor=ENGINEER)
    assert incident.assignee == ENGINEER.id
    incident = desk.override_priority(incident.id, 1, actor=MANAGER,
                                      justification="Whole branch offline")
    with pytest.raises(PermissionDeniedError) as refused:
        desk.override_priority(incident.id, 3, actor=ENGINEER, justification="Not so bad")
    assert_type(refused.value, PermissionDeniedError)
    assert refused.value.action == "override_priority"

    clock.advance(minutes=20)
    incident = desk.put_on_hold(incident.id, "awaiting_vendor", actor=ENGINEER,
                                note="Waiting for the vendor's firmware")
    incident = desk.resume(incident.id, actor=ENGINEER)
    incident = desk.escalate(incident.id, actor=ENGINEER, reason="Needs an architect")
    assert incident.assignment_group == "Network Architects"
    incident = desk.escalate(incident.id, actor=ENGINEER, reason="Branch offline",
                             kind=EscalationKind.HIERARCHICAL)
    incident = desk.add_work_note(incident.id, "Firmware 2.2 fixes it", actor=ENGINEER)
    incident = desk.set_custom_attribute(incident.id, "affected_users", 55, actor=AGENT)

    clock.advance(hours=2)
    incident = desk.resolve(incident.id, actor=ENGINEER, code="fixed",
                            notes="Upgraded the gateway firmware to 2.2")
    with pytest.raises(ItilIncidentError, match="1 to 5"):
        desk.close(incident.id, actor=AGENT, satisfaction=9)
    incident = desk.close(incident.id, actor=AGENT, caller_confirmed=True,
                          satisfaction=Satisfaction(5, "Quick and clear"))
    assert incident.status == IncidentState.CLOSED
    assert incident.satisfaction == Satisfaction(5, "Quick and clear")

    history = desk.timeline(incident.id)
    assert_type(history, list[DomainEvent])
    resolved = [e for e in history if isinstance(e, IncidentResolved)]
    assert resolved[0].resolution_code == "fixed"
    changes = resolved[0].changes()
    assert changes["status"][1] == IncidentState.RESOLVED
    assert notifier.outbox[-1] == f"incident.closed {incident.id} v{incident.version}"

    with pytest.raises(InvalidTransitionError) as final:
        desk.reopen(incident.id, actor=AGENT, reason="Again")
    assert final.value.state == IncidentState.CLOSED

    rebuilt = Incident.from_history(
        incident.timeline(), desk.policies.incident_workflow)
    assert rebuilt.snapshot() == incident.snapshot()


def test_a_problem_from_incidents_to_a_known_error_and_closure() -> None:
    desk, clock, _notifier = build_desk()
    first = desk.log_incident(actor=AGENT, title="Payroll shows no payslip")
    second = desk.log_incident(actor=AGENT, title="Payslip missing for March")

    problem = desk.open_problem(actor=ANALYST, title="Payslips not generated",
                                incident_ids=[first.id, second.id], impact=1, urgency=2)
    assert_type(problem, Problem)
    assert problem.category == CategoryPath.parse("Apps/Payroll")
    assert desk.get_incident(first.id).problem_id == problem.id

    clock.advance(hours=1)
    problem = desk.assign_problem(problem.id, actor=ANALYST, group="Apps Team", assignee="dan")
    problem = desk.start_investigation(problem.id, actor=ANALYST)
    problem = desk.record_root_cause(problem.id, "Batch job runs before the cut-off",
                                     actor=ANALYST, category="Apps/Payroll")
    problem = desk.record_workaround(problem.id, "Rerun the batch by hand", actor=ANALYST)
    problem = desk.mark_known_error(problem.id, actor=ANALYST)
    record = problem.known_error_record
    assert_type(record, KnownError | None)
    assert record is not None
    assert record.workaround == "Rerun the batch by hand"
    problem = desk.add_problem_note(problem.id, "Change CHG0000101 raised", actor=ANALYST)
    problem = desk.resolve_problem(problem.id, "Moved the batch after the cut-off",
                                   actor=ANALYST)
    problem = desk.close_problem(problem.id, actor=ANALYST)
    assert problem.status == ProblemState.CLOSED

    known = desk.list_problems(known_error=True, open=False)
    assert [p.id for p in known] == [problem.id]
    linked = desk.list_incidents(category="Apps", open=True, limit=10)
    assert {i.id for i in linked} == {first.id, second.id}


def test_values_and_a_custom_matrix() -> None:
    matrix = PriorityMatrix(
        name="two_by_two",
        impacts=[Impact(1, "Company"), Impact(2, "Team")],
        urgencies=[Urgency(1, "Now"), Urgency(2, "Later")],
        priorities=[Priority(1, "P1"), Priority(2, "P2"), Priority(3, "P3")],
        cells={(1, 1): 1, (1, 2): 2, (2, 1): 2, (2, 2): 3},
    )
    assert matrix.priority_for(matrix.impact("Team"), matrix.urgency(1)) == Priority(2)
    assert Priority(1) < Priority(2)
    recorder = RecordingNotifier()
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(START), notifier=recorder,
                       policies=DeskPolicies(priority_matrix=matrix))
    incident = desk.log_incident(actor=AGENT, title="Printer offline")
    assert (incident.priority.level, incident.priority.label) == (3, "P3")
    assert recorder.names() == ["incident.logged"]


# parent, child and duplicate incidents; problem management in depth
def test_families_known_errors_and_problem_changes() -> None:
    from itil_incident import (
        KnownErrorMatch,
        KnownErrorMatcher,
        LinkedChange,
        OnProblemResolved,
    )

    policies = DeskPolicies(known_errors=KnownErrorMatcher(min_score=3),
                            on_problem_resolved=OnProblemResolved.RESOLVE)
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(START), policies=policies)
    parent = desk.log_incident(actor=AGENT, title="Mail is down", service="mail")
    child = desk.set_parent(desk.log_incident(actor=AGENT, title="No mail").id, parent.id,
                            actor=AGENT)
    copy = desk.mark_duplicate(desk.log_incident(actor=AGENT, title="Mail down").id,
                               parent.id, actor=AGENT)
    assert_type(copy.duplicate_of, str | None)
    assert_type(desk.get_incident(parent.id).duplicate_ids, tuple[str, ...])
    desk.resolve(parent.id, actor=AGENT, code="solved_permanently", notes="Relay restarted")
    assert desk.get_incident(child.id).status == "resolved"
    problem = desk.open_problem(actor=AGENT, title="Mail relay stalls", service="mail")
    desk.record_workaround(problem.id, "Restart the relay", actor=AGENT)
    desk.mark_known_error(problem.id, actor=AGENT)
    stalled = desk.log_incident(actor=AGENT, title="Mail relay stalls", service="mail")
    matches = desk.known_error_matches(stalled.id, actor=AGENT)
    assert_type(matches, list[KnownErrorMatch])
    assert [m.problem_id for m in matches] == [problem.id]
    applied = desk.apply_workaround(stalled.id, problem.id, actor=AGENT)
    assert_type(applied, Incident)
    linked = desk.link_problem_change(problem.id, "CHG0000001", actor=AGENT, title="Fix it")
    assert_type(linked.change_links, tuple[LinkedChange, ...])
