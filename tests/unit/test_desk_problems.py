"""Problem management through the service desk: open from incidents, investigate, known errors,
reprioritize, resolve, close, reopen, cancel, and list."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from itil_incident import (
    Actor,
    CategoryPath,
    DeskPolicies,
    FrozenClock,
    InMemoryRepository,
    InvalidTransitionError,
    KnownError,
    NotFoundError,
    PermissionDeniedError,
    PriorityMatrix,
    Problem,
    ProblemState,
    RecordingNotifier,
    RoleBasedAuthorizer,
    ServiceDesk,
    ValidationError,
)

S = ProblemState


def observe(desk: ServiceDesk, notifier: RecordingNotifier) -> object:
    return (
        [(i.id, i.version, i.snapshot(), i.timeline()) for i in desk.list_incidents()],
        [(p.id, p.version, p.snapshot(), p.timeline()) for p in desk.list_problems()],
        list(notifier.events),
    )


@pytest.fixture
def vpn_incidents(desk: ServiceDesk, agent: Actor) -> list[str]:
    return [
        desk.log_incident(actor=agent, title="VPN drops in Lyon", service="Remote Access",
                          configuration_items=["vpn-gw-1"]).id,
        desk.log_incident(actor=agent, title="VPN drops in Oslo").id,
    ]


@pytest.fixture
def investigating(desk: ServiceDesk, agent: Actor) -> Problem:
    problem = desk.open_problem(actor=agent, title="VPN concentrator drops sessions")
    return desk.start_investigation(problem.id, actor=agent)


# -- opening -----------------------------------------------------------------------------------


def test_opening_a_problem_from_incidents_links_both_sides_in_one_commit(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, vpn_incidents: list[str]
) -> None:
    notifier.clear()
    problem = desk.open_problem(actor=agent, title="VPN concentrator",
                                incident_ids=vpn_incidents)
    assert (problem.id, problem.status) == ("PRB0000001", S.NEW)
    assert problem.incident_ids == tuple(vpn_incidents)
    assert [desk.get_incident(i).problem_id for i in vpn_incidents] == [problem.id] * 2
    assert notifier.names() == ["problem.opened", "incident.linked_to_problem",
                                "incident.linked_to_problem"]


def test_a_problem_takes_service_items_and_category_from_its_first_incident(
    desk: ServiceDesk, agent: Actor, vpn_incidents: list[str]
) -> None:
    problem = desk.open_problem(actor=agent, title="VPN concentrator",
                                incident_ids=vpn_incidents)
    assert (problem.service, problem.configuration_items, problem.category) == (
        "Remote Access", ("vpn-gw-1",), CategoryPath.parse("Network/VPN"))


def test_a_problem_gets_its_priority_from_the_problem_matrix(
    desk: ServiceDesk, agent: Actor
) -> None:
    low = desk.open_problem(actor=agent, title="Cosmetic glitch")
    high = desk.open_problem(actor=agent, title="Outage", impact=1, urgency=1)
    assert (low.priority.level, low.priority.label) == (5, "Planning")
    assert high.priority.level == 1


def test_problems_are_numbered_apart_from_incidents(
    desk: ServiceDesk, agent: Actor, vpn_incidents: list[str]
) -> None:
    ids = [desk.open_problem(actor=agent, title=f"Problem {n}").id for n in range(2)]
    assert ids == ["PRB0000001", "PRB0000002"]


def test_opening_a_problem_from_a_closed_incident_is_refused_and_nothing_is_stored(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, vpn_incidents: list[str]
) -> None:
    desk.resolve(vpn_incidents[1], actor=agent, code="duplicate", notes="Dup")
    desk.close(vpn_incidents[1], actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="closed"):
        desk.open_problem(actor=agent, title="VPN", incident_ids=vpn_incidents)
    assert observe(desk, notifier) == before


def test_opening_a_problem_from_an_unknown_incident_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor
) -> None:
    before = observe(desk, notifier)
    with pytest.raises(NotFoundError, match="INC0000404"):
        desk.open_problem(actor=agent, title="VPN", incident_ids=["INC0000404"])
    assert observe(desk, notifier) == before


def test_opening_a_problem_from_an_incident_of_another_problem_moves_its_link(
    desk: ServiceDesk, agent: Actor, vpn_incidents: list[str]
) -> None:
    old = desk.open_problem(actor=agent, title="Guess", incident_ids=vpn_incidents[:1])
    new = desk.open_problem(actor=agent, title="Better guess", incident_ids=vpn_incidents[:1])
    assert desk.get_incident(vpn_incidents[0]).problem_id == new.id
    assert desk.get_problem(old.id).incident_ids == ()


def test_opening_a_problem_from_two_incidents_of_the_same_old_problem_unlinks_both_from_it(
    desk: ServiceDesk, agent: Actor, vpn_incidents: list[str]
) -> None:
    old = desk.open_problem(actor=agent, title="Guess", incident_ids=vpn_incidents)
    desk.open_problem(actor=agent, title="Better guess", incident_ids=vpn_incidents)
    assert desk.get_problem(old.id).incident_ids == ()


# -- the lifecycle -----------------------------------------------------------------------------


def test_assigning_a_problem_sets_group_and_owner(
    desk: ServiceDesk, agent: Actor, investigating: Problem
) -> None:
    assigned = desk.assign_problem(investigating.id, actor=agent, group="Network Engineering",
                                   assignee="bob")
    assert (assigned.assignment_group, assigned.assignee) == ("Network Engineering", "bob")


def test_starting_the_investigation_moves_the_problem_under_investigation(
    investigating: Problem,
) -> None:
    assert investigating.status == S.UNDER_INVESTIGATION


def test_a_root_cause_category_is_checked_against_the_category_tree(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, investigating: Problem
) -> None:
    recorded = desk.record_root_cause(investigating.id, "Firmware leak", actor=agent,
                                      category="network/vpn")
    assert recorded.root_cause_category == CategoryPath.parse("Network/VPN")
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="unknown category"):
        desk.record_root_cause(investigating.id, "Other", actor=agent, category="Cosmic/Rays")
    assert observe(desk, notifier) == before


def test_marking_a_known_error_needs_a_root_cause_or_a_workaround(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, investigating: Problem
) -> None:
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError, match="has_root_cause_or_workaround"):
        desk.mark_known_error(investigating.id, actor=agent)
    assert observe(desk, notifier) == before
    desk.record_workaround(investigating.id, "Reconnect every hour", actor=agent)
    known = desk.mark_known_error(investigating.id, actor=agent, symptoms="Drops hourly")
    assert (known.status, known.known_error) == (S.KNOWN_ERROR, True)
    assert known.known_error_record == KnownError(
        problem_id=investigating.id, symptoms="Drops hourly", root_cause=None,
        workaround="Reconnect every hour", identified_at=known.updated_at)


def test_a_problems_priority_follows_its_impact_and_urgency(
    desk: ServiceDesk, agent: Actor, investigating: Problem
) -> None:
    changed = desk.change_problem_impact_urgency(investigating.id, actor=agent, impact=1,
                                                 urgency=2)
    assert changed.priority.level == 2


def test_investigation_notes_are_kept(
    desk: ServiceDesk, agent: Actor, investigating: Problem
) -> None:
    desk.add_problem_note(investigating.id, "Captured packets", actor=agent)
    assert desk.get_problem(investigating.id).notes == ("Captured packets",)


def test_resolving_closing_and_reopening_a_problem(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, investigating: Problem,
    clock: FrozenClock
) -> None:
    resolved = desk.resolve_problem(investigating.id, "Firmware 2.1 deployed", actor=agent)
    assert (resolved.status, resolved.resolution, resolved.resolved_at) == (
        S.RESOLVED, "Firmware 2.1 deployed", clock.now())
    reopened = desk.reopen_problem(investigating.id, actor=agent, reason="Seen again")
    assert (reopened.status, reopened.reopen_count) == (S.UNDER_INVESTIGATION, 1)
    desk.resolve_problem(investigating.id, "Firmware 2.2 deployed", actor=agent)
    closed = desk.close_problem(investigating.id, actor=agent)
    assert (closed.status, closed.is_terminal) == (S.CLOSED, True)
    assert notifier.names()[-4:] == ["problem.resolved", "problem.reopened",
                                     "problem.resolved", "problem.closed"]


def test_closing_a_problem_that_is_not_resolved_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, investigating: Problem
) -> None:
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError, match="close"):
        desk.close_problem(investigating.id, actor=agent)
    assert observe(desk, notifier) == before


def test_a_cancelled_problem_refuses_further_work(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, investigating: Problem
) -> None:
    cancelled = desk.cancel_problem(investigating.id, actor=agent, reason="Not reproducible")
    assert (cancelled.status, cancelled.cancellation_reason) == (S.CANCELLED,
                                                                 "Not reproducible")
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError):
        desk.add_problem_note(investigating.id, "Late note", actor=agent)
    assert observe(desk, notifier) == before


def test_problem_commands_are_authorized_by_their_own_names(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    analyst = Actor("pat", roles=frozenset({"problem_manager"}))
    desk = ServiceDesk(repository, clock=clock, notifier=notifier, authorizer=RoleBasedAuthorizer(
        {"open_problem": {"problem_manager"}, "cancel_problem": {"problem_manager"},
         "*": {"agent"}}))
    problem = desk.open_problem(actor=analyst, title="VPN")
    before = observe(desk, notifier)
    with pytest.raises(PermissionDeniedError, match="cancel_problem"):
        desk.cancel_problem(problem.id, actor=agent, reason="Nah")
    assert observe(desk, notifier) == before


def test_a_desk_with_its_own_problem_matrix_uses_it_for_problems_only(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock,
                       policies=DeskPolicies(problem_priority_matrix=PriorityMatrix.itop()))
    problem = desk.open_problem(actor=agent, title="VPN")
    incident = desk.log_incident(actor=agent, title="VPN")
    assert (problem.urgency.level, problem.priority.level) == (4, 4)
    assert incident.priority.level == 4


# -- listing -----------------------------------------------------------------------------------


def ids(problems: Sequence[Problem]) -> list[str]:
    return [p.id for p in problems]


@pytest.fixture
def problems(desk: ServiceDesk, agent: Actor) -> list[str]:
    new = desk.open_problem(actor=agent, title="Printers jam", service="Printing").id
    known = desk.open_problem(actor=agent, title="VPN leaks", service="Remote Access",
                              description="Concentrator firmware").id
    desk.record_workaround(known, "Restart nightly", actor=agent)
    desk.mark_known_error(known, actor=agent)
    done = desk.open_problem(actor=agent, title="Mail profile corruption").id
    desk.start_investigation(done, actor=agent)
    desk.resolve_problem(done, "Patched", actor=agent)
    return [new, known, done]


def test_listing_problems_by_status(desk: ServiceDesk, problems: list[str]) -> None:
    assert ids(desk.list_problems(status="known_error")) == [problems[1]]
    assert ids(desk.list_problems(status=["new", "resolved"])) == [problems[0], problems[2]]


def test_listing_known_errors_or_the_rest(desk: ServiceDesk, problems: list[str]) -> None:
    assert ids(desk.list_problems(known_error=True)) == [problems[1]]
    assert ids(desk.list_problems(known_error=False)) == [problems[0], problems[2]]


def test_listing_open_problems(desk: ServiceDesk, problems: list[str]) -> None:
    assert ids(desk.list_problems(open=True)) == problems[:2]
    assert ids(desk.list_problems(open=False)) == problems[2:]


def test_listing_problems_by_service_text_and_limit(
    desk: ServiceDesk, problems: list[str]
) -> None:
    assert ids(desk.list_problems(service="Printing")) == [problems[0]]
    assert ids(desk.list_problems(text="FIRMWARE")) == [problems[1]]
    assert ids(desk.list_problems(limit=1)) == [problems[0]]


def test_listing_problems_by_an_unknown_status_is_refused(
    desk: ServiceDesk, problems: list[str]
) -> None:
    with pytest.raises(ValidationError, match="unknown state 'solved'"):
        desk.list_problems(status="solved")


def test_the_timeline_query_also_serves_problems(
    desk: ServiceDesk, problems: list[str]
) -> None:
    assert [e.name for e in desk.timeline(problems[1])] == [
        "problem.opened", "problem.workaround_recorded", "problem.marked_known_error"]
