"""Links through the service desk: changes, related incidents, parent and child, problems.
Both sides of a link are updated in one commit, and a refusal leaves both sides as they were."""

from __future__ import annotations

import pytest

from itil_incident import (
    Actor,
    InvalidTransitionError,
    ItilIncidentError,
    LinkKind,
    RecordingNotifier,
    ServiceDesk,
    ValidationError,
)


def observe(desk: ServiceDesk, notifier: RecordingNotifier) -> object:
    return (
        [(i.id, i.version, i.snapshot(), i.timeline()) for i in desk.list_incidents()],
        [(p.id, p.version, p.snapshot(), p.timeline()) for p in desk.list_problems()],
        list(notifier.events),
    )


@pytest.fixture
def three(desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier) -> tuple[str, str, str]:
    """Three open incidents; the notifier has been cleared."""
    made = tuple(desk.log_incident(actor=agent, title=t).id
                 for t in ("VPN down in Lyon", "VPN down in Oslo", "VPN down in Porto"))
    notifier.clear()
    return made[0], made[1], made[2]


# -- changes -----------------------------------------------------------------------------------


def test_a_change_that_caused_the_incident_is_linked_as_the_cause(
    desk: ServiceDesk, agent: Actor, three: tuple[str, str, str]
) -> None:
    incident = desk.link_change(three[0], "CHG0000042", actor=agent, caused_by=True)
    assert incident.links == ((LinkKind.CAUSED_BY_CHANGE, "CHG0000042"),)
    assert incident.change_ids == ("CHG0000042",)


def test_a_change_is_linked_as_related_unless_it_is_the_cause(
    desk: ServiceDesk, agent: Actor, three: tuple[str, str, str]
) -> None:
    incident = desk.link_change(three[0], "CHG0000043", actor=agent)
    assert incident.links == ((LinkKind.RELATED_CHANGE, "CHG0000043"),)


def test_linking_the_same_change_twice_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    desk.link_change(three[0], "CHG0000042", actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="already linked"):
        desk.link_change(three[0], "CHG0000042", actor=agent)
    assert observe(desk, notifier) == before


# -- related incidents -------------------------------------------------------------------------


def test_relating_two_incidents_updates_both_in_one_commit(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    first, second, _ = three
    desk.link_related(first, second, actor=agent)
    assert desk.get_incident(first).related_incident_ids == (second,)
    assert desk.get_incident(second).related_incident_ids == (first,)
    assert [(e.aggregate_id, e.name) for e in notifier.events] == [
        (first, "incident.link_added"), (second, "incident.link_added")]


def test_relating_an_incident_to_itself_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="itself"):
        desk.link_related(three[0], three[0], actor=agent)
    assert observe(desk, notifier) == before


def test_relating_to_a_cancelled_incident_is_refused_and_neither_side_changes(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    first, second, _ = three
    desk.cancel(second, actor=agent, reason="Duplicate")
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError):
        desk.link_related(first, second, actor=agent)
    assert observe(desk, notifier) == before


# -- parent and child --------------------------------------------------------------------------


def test_setting_a_parent_updates_the_child_and_the_parents_child_list(
    desk: ServiceDesk, agent: Actor, three: tuple[str, str, str]
) -> None:
    parent, child, _ = three
    desk.set_parent(child, parent, actor=agent)
    assert desk.get_incident(child).parent_id == parent
    assert desk.get_incident(parent).child_ids == (child,)


def test_moving_a_child_to_another_parent_removes_it_from_the_old_parent(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    old, child, new = three
    desk.set_parent(child, old, actor=agent)
    notifier.clear()
    desk.set_parent(child, new, actor=agent)
    assert desk.get_incident(child).parent_id == new
    assert (desk.get_incident(old).child_ids, desk.get_incident(new).child_ids) == ((),
                                                                                    (child,))
    assert sorted(e.name for e in notifier.events) == [
        "incident.child_linked", "incident.child_unlinked", "incident.parent_set"]


def test_detaching_a_child_clears_both_sides(
    desk: ServiceDesk, agent: Actor, three: tuple[str, str, str]
) -> None:
    parent, child, _ = three
    desk.set_parent(child, parent, actor=agent)
    desk.set_parent(child, None, actor=agent)
    assert desk.get_incident(child).parent_id is None
    assert desk.get_incident(parent).child_ids == ()


def test_a_parent_cannot_become_the_child_of_its_own_child(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    parent, child, _ = three
    desk.set_parent(child, parent, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="is a child of"):
        desk.set_parent(parent, child, actor=agent)
    assert observe(desk, notifier) == before


def test_a_cycle_of_parents_through_a_grandchild_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    grandparent, parent, child = three
    desk.set_parent(parent, grandparent, actor=agent)
    desk.set_parent(child, parent, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(ValidationError):
        desk.set_parent(grandparent, child, actor=agent)
    assert observe(desk, notifier) == before


def test_a_closed_parent_is_refused_and_the_child_keeps_its_old_parent(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    old, child, closed = three
    desk.set_parent(child, old, actor=agent)
    desk.resolve(closed, actor=agent, code="duplicate", notes="Dup")
    desk.close(closed, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError):
        desk.set_parent(child, closed, actor=agent)
    assert observe(desk, notifier) == before


# -- problems ----------------------------------------------------------------------------------


def test_linking_to_a_problem_updates_the_incident_and_the_problems_list(
    desk: ServiceDesk, agent: Actor, three: tuple[str, str, str]
) -> None:
    problem = desk.open_problem(actor=agent, title="VPN concentrator firmware")
    incident = desk.link_to_problem(three[0], problem.id, actor=agent)
    assert incident.problem_id == problem.id
    assert desk.get_problem(problem.id).incident_ids == (three[0],)


def test_linking_to_another_problem_moves_the_link(
    desk: ServiceDesk, agent: Actor, three: tuple[str, str, str]
) -> None:
    first = desk.open_problem(actor=agent, title="Firmware", incident_ids=[three[0]])
    second = desk.open_problem(actor=agent, title="Licence server")
    desk.link_to_problem(three[0], second.id, actor=agent)
    assert desk.get_incident(three[0]).problem_id == second.id
    assert desk.get_problem(first.id).incident_ids == ()
    assert desk.get_problem(second.id).incident_ids == (three[0],)


def test_unlinking_from_a_problem_clears_both_sides(
    desk: ServiceDesk, agent: Actor, three: tuple[str, str, str]
) -> None:
    problem = desk.open_problem(actor=agent, title="Firmware", incident_ids=[three[0]])
    desk.unlink_from_problem(three[0], actor=agent)
    assert desk.get_incident(three[0]).problem_id is None
    assert desk.get_problem(problem.id).incident_ids == ()


def test_unlinking_an_incident_that_has_no_problem_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="not linked to a problem"):
        desk.unlink_from_problem(three[0], actor=agent)
    assert observe(desk, notifier) == before


def test_linking_to_a_closed_problem_is_refused_and_the_incident_keeps_its_link(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    current = desk.open_problem(actor=agent, title="Firmware", incident_ids=[three[0]])
    done = desk.open_problem(actor=agent, title="Old licence issue")
    desk.start_investigation(done.id, actor=agent)
    desk.resolve_problem(done.id, "Renewed", actor=agent)
    desk.close_problem(done.id, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(ItilIncidentError):
        desk.link_to_problem(three[0], done.id, actor=agent)
    assert observe(desk, notifier) == before
    assert desk.get_incident(three[0]).problem_id == current.id


def test_linking_to_the_problem_it_is_already_linked_to_is_refused(
    desk: ServiceDesk, notifier: RecordingNotifier, agent: Actor, three: tuple[str, str, str]
) -> None:
    problem = desk.open_problem(actor=agent, title="Firmware", incident_ids=[three[0]])
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match="already linked"):
        desk.link_to_problem(three[0], problem.id, actor=agent)
    assert observe(desk, notifier) == before
