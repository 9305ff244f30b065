"""The problem entity, driven directly: New, Under Investigation, Known Error (needs a root cause
or a workaround), Resolved, Closed, Cancelled; one event per change; the history rebuilds it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    CategoryPath,
    InvalidTransitionError,
    ItilIncidentError,
    KnownError,
    PriorityMatrix,
    Problem,
    ProblemEvent,
    ProblemOpened,
    ProblemReopened,
    ProblemState,
    ValidationError,
    default_problem_workflow,
)

WORKFLOW = default_problem_workflow()
MATRIX = PriorityMatrix.servicenow_problem()
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANALYST = Actor("pat", "Pat Analyst", frozenset({"problem_manager"}))
S = ProblemState


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def open_problem(**fields: Any) -> Problem:
    arguments: dict[str, Any] = {
        "problem_id": "PRB0000001", "workflow": WORKFLOW, "matrix": MATRIX, "actor": ANALYST,
        "at": T0, "title": "VPN concentrator drops sessions",
    }
    arguments.update(fields)
    return Problem.open(**arguments)


def investigating() -> Problem:
    problem = open_problem()
    problem.start_investigation(actor=ANALYST, at=minutes(1))
    return problem


def known_error() -> Problem:
    problem = investigating()
    problem.record_root_cause("Firmware leaks sessions", actor=ANALYST, at=minutes(2))
    problem.mark_known_error(actor=ANALYST, at=minutes(3))
    return problem


def resolved() -> Problem:
    problem = known_error()
    problem.resolve("Upgraded the firmware", actor=ANALYST, at=minutes(4))
    return problem


def closed() -> Problem:
    problem = resolved()
    problem.close(actor=ANALYST, at=minutes(5))
    return problem


def cancelled() -> Problem:
    problem = open_problem()
    problem.cancel(reason="Not a problem", actor=ANALYST, at=minutes(1))
    return problem


def unchanged(problem: Problem, attempt: Callable[[], object],
              error: type[ItilIncidentError] = ItilIncidentError) -> ItilIncidentError:
    before = (problem.snapshot(), problem.timeline())
    with pytest.raises(error) as raised:
        attempt()
    assert (problem.snapshot(), problem.timeline()) == before
    return raised.value


def test_an_opened_problem_is_new_at_version_one_with_its_incidents_listed() -> None:
    problem = open_problem(incident_ids=["INC0000001", "INC0000002", "INC0000001"],
                           service="VPN", category=CategoryPath.parse("Network/VPN"))
    assert (problem.status, problem.version) == (S.NEW, 1)
    assert problem.incident_ids == ("INC0000001", "INC0000002")
    (event,) = problem.timeline()
    assert isinstance(event, ProblemOpened)
    assert (problem.opened_at, problem.opened_by) == (T0, ANALYST)


def test_a_problem_of_low_impact_and_urgency_gets_the_planning_priority() -> None:
    problem = open_problem()
    assert (problem.priority.level, problem.priority.label) == (5, "Planning")


def test_an_empty_problem_title_is_refused() -> None:
    with pytest.raises(ValidationError, match="title"):
        open_problem(title=" ")


def test_starting_the_investigation_moves_a_new_problem_under_investigation() -> None:
    problem = investigating()
    assert problem.status == S.UNDER_INVESTIGATION


def test_a_problem_under_investigation_cannot_start_investigating_again() -> None:
    problem = investigating()
    unchanged(problem, lambda: problem.start_investigation(actor=ANALYST, at=minutes(2)),
              InvalidTransitionError)


def test_the_root_cause_is_recorded_with_its_category_and_may_be_revised() -> None:
    problem = investigating()
    problem.record_root_cause("Leak", actor=ANALYST, at=minutes(2),
                              category=CategoryPath.parse("Network/VPN"))
    event = problem.record_root_cause("Session table leak", actor=ANALYST, at=minutes(3))
    assert (problem.root_cause, problem.root_cause_category) == ("Session table leak", None)
    assert event.previous_root_cause == "Leak"


def test_recording_the_same_root_cause_again_is_refused() -> None:
    problem = investigating()
    problem.record_root_cause("Leak", actor=ANALYST, at=minutes(2))
    unchanged(problem, lambda: problem.record_root_cause("Leak", actor=ANALYST, at=minutes(3)),
              ValidationError)


def test_a_workaround_is_recorded_and_may_be_revised() -> None:
    problem = investigating()
    problem.record_workaround("Reconnect", actor=ANALYST, at=minutes(2))
    problem.record_workaround("Restart nightly", actor=ANALYST, at=minutes(3))
    assert problem.workaround == "Restart nightly"


def test_marking_a_known_error_without_root_cause_or_workaround_is_refused() -> None:
    problem = investigating()
    error = unchanged(problem, lambda: problem.mark_known_error(actor=ANALYST, at=minutes(2)),
                      InvalidTransitionError)
    assert "has_root_cause_or_workaround" in str(error)


@pytest.mark.parametrize("document", ["root_cause", "workaround"])
def test_a_root_cause_or_a_workaround_is_enough_for_a_known_error(document: str) -> None:
    problem = investigating()
    if document == "root_cause":
        problem.record_root_cause("Leak", actor=ANALYST, at=minutes(2))
    else:
        problem.record_workaround("Reconnect", actor=ANALYST, at=minutes(2))
    problem.mark_known_error(actor=ANALYST, at=minutes(3))
    assert (problem.status, problem.known_error) == (S.KNOWN_ERROR, True)


def test_the_known_error_record_holds_symptoms_root_cause_workaround_and_time() -> None:
    problem = investigating()
    problem.record_root_cause("Leak", actor=ANALYST, at=minutes(2))
    problem.record_workaround("Reconnect", actor=ANALYST, at=minutes(3))
    problem.mark_known_error(actor=ANALYST, at=minutes(4), symptoms="Drops after 10 min")
    assert problem.known_error_record == KnownError(
        problem_id="PRB0000001", symptoms="Drops after 10 min", root_cause="Leak",
        workaround="Reconnect", identified_at=minutes(4))


def test_the_known_error_symptoms_default_to_the_title() -> None:
    problem = known_error()
    assert problem.known_error_record is not None
    assert problem.known_error_record.symptoms == "VPN concentrator drops sessions"


def test_a_new_problem_cannot_be_resolved_before_it_is_investigated() -> None:
    problem = open_problem()
    unchanged(problem, lambda: problem.resolve("Fixed", actor=ANALYST, at=minutes(1)),
              InvalidTransitionError)


@pytest.mark.parametrize("make", [investigating, known_error])
def test_a_problem_under_investigation_or_known_is_resolved_with_a_resolution(
    make: Callable[[], Problem]
) -> None:
    problem = make()
    problem.resolve("Upgraded the firmware", actor=ANALYST, at=minutes(9))
    assert (problem.status, problem.resolution, problem.resolved_at) == (
        S.RESOLVED, "Upgraded the firmware", minutes(9))
    assert not problem.is_open


def test_resolving_without_a_resolution_is_refused() -> None:
    problem = investigating()
    unchanged(problem, lambda: problem.resolve("", actor=ANALYST, at=minutes(2)),
              ValidationError)


def test_closing_needs_a_resolved_problem_and_is_final() -> None:
    problem = investigating()
    unchanged(problem, lambda: problem.close(actor=ANALYST, at=minutes(2)),
              InvalidTransitionError)
    problem = closed()
    assert (problem.status, problem.closed_at, problem.is_terminal) == (
        S.CLOSED, minutes(5), True)


def test_reopening_a_resolved_problem_returns_it_to_investigation_and_counts() -> None:
    problem = resolved()
    event = problem.reopen(reason="Drops again", actor=ANALYST, at=minutes(9))
    assert isinstance(event, ProblemReopened)
    assert (problem.status, problem.reopen_count, problem.resolution) == (
        S.UNDER_INVESTIGATION, 1, None)
    assert event.previous_resolution == "Upgraded the firmware"


def test_cancelling_records_the_reason_and_is_final() -> None:
    problem = cancelled()
    assert (problem.status, problem.cancellation_reason) == (S.CANCELLED, "Not a problem")
    assert problem.is_terminal


FINAL_ATTEMPTS: dict[str, Callable[[Problem], object]] = {
    "assign": lambda p: p.assign(actor=ANALYST, at=minutes(60), group="Problem Management"),
    "note": lambda p: p.add_note("late", actor=ANALYST, at=minutes(60)),
    "root_cause": lambda p: p.record_root_cause("Other", actor=ANALYST, at=minutes(60)),
    "workaround": lambda p: p.record_workaround("Other", actor=ANALYST, at=minutes(60)),
    "reprioritize": lambda p: p.reprioritize(MATRIX, actor=ANALYST, at=minutes(60), impact=1),
    "link": lambda p: p.link_incident("INC0000009", actor=ANALYST, at=minutes(60)),
    "reopen": lambda p: p.reopen(reason="x", actor=ANALYST, at=minutes(60)),
    "cancel": lambda p: p.cancel(reason="x", actor=ANALYST, at=minutes(60)),
}


@pytest.mark.parametrize("make", [closed, cancelled])
@pytest.mark.parametrize("attempt", sorted(FINAL_ATTEMPTS))
def test_a_closed_or_cancelled_problem_refuses_every_change(
    make: Callable[[], Problem], attempt: str
) -> None:
    problem = make()
    unchanged(problem, lambda: FINAL_ATTEMPTS[attempt](problem), InvalidTransitionError)


def test_assigning_a_problem_sets_group_and_owner() -> None:
    problem = open_problem()
    problem.assign(actor=ANALYST, at=minutes(1), group="Network Engineering", assignee="bob")
    assert (problem.assignment_group, problem.assignee) == ("Network Engineering", "bob")
    assert problem.status == S.NEW


def test_assigning_a_problem_exactly_as_it_is_assigned_is_refused() -> None:
    problem = open_problem(assignment_group="Network Engineering")
    unchanged(problem, lambda: problem.assign(actor=ANALYST, at=minutes(1),
                                              group="Network Engineering"), ValidationError)


@given(impact=st.integers(1, 3), urgency=st.integers(1, 3))
def test_reprioritizing_a_problem_follows_the_problem_matrix(impact: int, urgency: int) -> None:
    problem = open_problem(impact=1 if impact != 1 else 2)
    problem.reprioritize(MATRIX, actor=ANALYST, at=minutes(1), impact=impact, urgency=urgency)
    expected = {(1, 1): 1, (1, 2): 2, (1, 3): 3, (2, 1): 2, (2, 2): 3, (2, 3): 4,
                (3, 1): 3, (3, 2): 4, (3, 3): 5}[(impact, urgency)]
    assert problem.priority.level == expected


def test_investigation_notes_are_kept_in_order() -> None:
    problem = investigating()
    problem.add_note("Captured packets", actor=ANALYST, at=minutes(2))
    problem.add_note("Vendor case opened", actor=ANALYST, at=minutes(3))
    assert problem.notes == ("Captured packets", "Vendor case opened")


def test_linking_and_unlinking_incidents_updates_the_list() -> None:
    problem = open_problem(incident_ids=["INC0000001"])
    problem.link_incident("INC0000002", actor=ANALYST, at=minutes(1))
    problem.unlink_incident("INC0000001", actor=ANALYST, at=minutes(2))
    assert problem.incident_ids == ("INC0000002",)


def test_linking_an_incident_twice_is_refused() -> None:
    problem = open_problem(incident_ids=["INC0000001"])
    unchanged(problem, lambda: problem.link_incident("INC0000001", actor=ANALYST,
                                                     at=minutes(1)), ValidationError)


def test_unlinking_an_incident_that_is_not_linked_is_refused() -> None:
    problem = open_problem()
    unchanged(problem, lambda: problem.unlink_incident("INC0000001", actor=ANALYST,
                                                       at=minutes(1)), ValidationError)


def test_a_dedicated_trigger_is_refused_by_transition() -> None:
    problem = open_problem()
    unchanged(problem, lambda: problem.transition("investigate", actor=ANALYST, at=minutes(1)),
              ValidationError)


def test_rebuilding_a_problem_from_its_history_gives_the_same_state() -> None:
    problem = resolved()
    problem.reopen(reason="Again", actor=ANALYST, at=minutes(6))
    rebuilt = Problem.from_history(problem.timeline(), WORKFLOW)
    assert rebuilt.snapshot() == problem.snapshot()
    assert rebuilt.pending_events() == ()


def test_an_empty_problem_history_is_refused() -> None:
    with pytest.raises(ValidationError, match="cannot be empty"):
        Problem.from_history([], WORKFLOW)


def test_a_problem_history_that_does_not_start_with_the_opened_event_is_refused() -> None:
    with pytest.raises(ValidationError, match="starts with ProblemOpened"):
        Problem.from_history(investigating().timeline()[1:], WORKFLOW)


# -- invariants over random command sequences --------------------------------------------------

Op = Callable[[Problem, datetime], ProblemEvent]

OPS: dict[str, Op] = {
    "investigate": lambda p, t: p.start_investigation(actor=ANALYST, at=t),
    "root_cause": lambda p, t: p.record_root_cause(f"Cause {t.minute}", actor=ANALYST, at=t),
    "workaround": lambda p, t: p.record_workaround(f"Workaround {t.minute}", actor=ANALYST,
                                                   at=t),
    "known_error": lambda p, t: p.mark_known_error(actor=ANALYST, at=t),
    "resolve": lambda p, t: p.resolve("Fixed", actor=ANALYST, at=t),
    "close": lambda p, t: p.close(actor=ANALYST, at=t),
    "reopen": lambda p, t: p.reopen(reason="Again", actor=ANALYST, at=t),
    "cancel": lambda p, t: p.cancel(reason="Gone", actor=ANALYST, at=t),
    "assign": lambda p, t: p.assign(actor=ANALYST, at=t, assignee=f"owner{t.minute % 2}"),
    "reprioritize": lambda p, t: p.reprioritize(MATRIX, actor=ANALYST, at=t,
                                                impact=t.minute % 3 + 1),
    "note": lambda p, t: p.add_note("Looked", actor=ANALYST, at=t),
    "link": lambda p, t: p.link_incident(f"INC000000{t.minute % 3}", actor=ANALYST, at=t),
    "unlink": lambda p, t: p.unlink_incident(f"INC000000{t.minute % 3}", actor=ANALYST, at=t),
}


@settings(max_examples=100, deadline=None)
@given(names=st.lists(st.sampled_from(sorted(OPS)), max_size=25))
def test_problem_commands_record_one_event_each_and_refusals_change_nothing(
    names: list[str],
) -> None:
    problem = open_problem()
    for step, name in enumerate(names, start=1):
        before = (problem.snapshot(), problem.timeline())
        try:
            event = OPS[name](problem, minutes(step))
        except ItilIncidentError:
            assert (problem.snapshot(), problem.timeline()) == before
            continue
        assert problem.version == event.version == before[0]["version"] + 1
        assert problem.timeline() == (*before[1], event)
        if problem.status == S.KNOWN_ERROR:
            assert problem.root_cause or problem.workaround
    assert problem.reopen_count == sum(isinstance(e, ProblemReopened)
                                       for e in problem.timeline())
    assert Problem.from_history(problem.timeline(), WORKFLOW).snapshot() == problem.snapshot()
