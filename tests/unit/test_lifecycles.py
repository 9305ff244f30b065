"""The default incident and problem lifecycles."""

from __future__ import annotations

import itertools

import pytest

from itil_incident.domain.lifecycles import (
    IncidentState,
    IncidentTrigger,
    ProblemState,
    ProblemTrigger,
    default_incident_workflow,
    default_problem_workflow,
    has_root_cause_or_workaround,
)
from itil_incident.domain.workflow import FieldLookup, Workflow
from itil_incident.errors import InvalidTransitionError

IS, IT = IncidentState, IncidentTrigger
P, PT = ProblemState, ProblemTrigger

INCIDENT_STATES = [
    IS.NEW,
    IS.ASSIGNED,
    IS.IN_PROGRESS,
    IS.ON_HOLD,
    IS.RESOLVED,
    IS.CLOSED,
    IS.CANCELLED,
]
INCIDENT_TRIGGERS = [
    IT.ASSIGN,
    IT.START,
    IT.HOLD,
    IT.RESUME,
    IT.RESOLVE,
    IT.CLOSE,
    IT.REOPEN,
    IT.CANCEL,
]
# Every allowed (state, trigger) pair and where it leads; every other pair is refused.
INCIDENT_TABLE = {
    (IS.NEW, IT.ASSIGN): IS.ASSIGNED,
    (IS.NEW, IT.START): IS.IN_PROGRESS,
    (IS.NEW, IT.RESOLVE): IS.RESOLVED,
    (IS.NEW, IT.CANCEL): IS.CANCELLED,
    (IS.ASSIGNED, IT.ASSIGN): IS.ASSIGNED,
    (IS.ASSIGNED, IT.START): IS.IN_PROGRESS,
    (IS.ASSIGNED, IT.HOLD): IS.ON_HOLD,
    (IS.ASSIGNED, IT.RESOLVE): IS.RESOLVED,
    (IS.ASSIGNED, IT.CANCEL): IS.CANCELLED,
    (IS.IN_PROGRESS, IT.ASSIGN): IS.IN_PROGRESS,
    (IS.IN_PROGRESS, IT.HOLD): IS.ON_HOLD,
    (IS.IN_PROGRESS, IT.RESOLVE): IS.RESOLVED,
    (IS.IN_PROGRESS, IT.CANCEL): IS.CANCELLED,
    (IS.ON_HOLD, IT.ASSIGN): IS.ON_HOLD,
    (IS.ON_HOLD, IT.RESUME): IS.IN_PROGRESS,
    (IS.ON_HOLD, IT.RESOLVE): IS.RESOLVED,
    (IS.ON_HOLD, IT.CANCEL): IS.CANCELLED,
    (IS.RESOLVED, IT.CLOSE): IS.CLOSED,
    (IS.RESOLVED, IT.REOPEN): IS.IN_PROGRESS,
}

PROBLEM_STATES = [
    P.NEW,
    P.UNDER_INVESTIGATION,
    P.KNOWN_ERROR,
    P.RESOLVED,
    P.CLOSED,
    P.CANCELLED,
]
PROBLEM_TRIGGERS = [
    PT.INVESTIGATE,
    PT.MARK_KNOWN_ERROR,
    PT.RESOLVE,
    PT.CLOSE,
    PT.REOPEN,
    PT.CANCEL,
]
PROBLEM_TABLE = {
    (P.NEW, PT.INVESTIGATE): P.UNDER_INVESTIGATION,
    (P.NEW, PT.MARK_KNOWN_ERROR): P.KNOWN_ERROR,
    (P.NEW, PT.CANCEL): P.CANCELLED,
    (P.UNDER_INVESTIGATION, PT.MARK_KNOWN_ERROR): P.KNOWN_ERROR,
    (P.UNDER_INVESTIGATION, PT.RESOLVE): P.RESOLVED,
    (P.UNDER_INVESTIGATION, PT.CANCEL): P.CANCELLED,
    (P.KNOWN_ERROR, PT.RESOLVE): P.RESOLVED,
    (P.KNOWN_ERROR, PT.CANCEL): P.CANCELLED,
    (P.RESOLVED, PT.CLOSE): P.CLOSED,
    (P.RESOLVED, PT.REOPEN): P.UNDER_INVESTIGATION,
}


def lookup(**values: object) -> FieldLookup:
    return values.get


def check_pair(
    workflow: Workflow, table: dict[tuple[str, str], str], state: str, trigger: str
) -> None:
    expected = table.get((state, trigger))
    if expected is None:
        with pytest.raises(InvalidTransitionError) as caught:
            workflow.fire(state, trigger)
        assert caught.value.allowed == workflow.allowed(state)
        assert trigger not in workflow.allowed(state)
    else:
        assert workflow.fire(state, trigger) == expected
        assert trigger in workflow.allowed(state)


# -- the incident lifecycle -----------------------------------------------------------------------


def test_the_default_incident_workflow_is_one_shared_object() -> None:
    assert default_incident_workflow() is default_incident_workflow()


def test_the_default_incident_workflow_is_named_itil_incident_and_starts_new() -> None:
    workflow = default_incident_workflow()

    assert workflow.name == "itil_incident"
    assert workflow.initial == IS.NEW
    assert list(workflow.states) == INCIDENT_STATES
    assert workflow.triggers == tuple(INCIDENT_TRIGGERS)


@pytest.mark.parametrize(
    ("state", "trigger"), list(itertools.product(INCIDENT_STATES, INCIDENT_TRIGGERS))
)
def test_the_incident_workflow_allows_or_refuses_each_trigger_in_each_state_as_specified(
    state: str, trigger: str
) -> None:
    check_pair(default_incident_workflow(), INCIDENT_TABLE, state, trigger)


def test_the_incident_states_carry_their_labels() -> None:
    labels = [s.label for s in default_incident_workflow().states.values()]

    assert labels == [
        "New",
        "Assigned",
        "In Progress",
        "On Hold",
        "Resolved",
        "Closed",
        "Cancelled",
    ]


def test_only_on_hold_pauses_the_incident_sla_clocks() -> None:
    states = default_incident_workflow().states.values()

    assert [s.name for s in states if s.pauses_sla] == [IS.ON_HOLD]


def test_service_counts_as_restored_in_resolved_and_closed_incidents() -> None:
    states = default_incident_workflow().states.values()

    assert [s.name for s in states if s.resolved] == [IS.RESOLVED, IS.CLOSED]


def test_closed_and_cancelled_are_the_terminal_incident_states() -> None:
    states = default_incident_workflow().states.values()

    assert [s.name for s in states if s.terminal] == [IS.CLOSED, IS.CANCELLED]


def test_the_incident_states_require_their_fields_on_entry() -> None:
    required = {s.name: s.required for s in default_incident_workflow().states.values()}

    assert required == {
        IS.NEW: frozenset(),
        IS.ASSIGNED: {"assignment_group"},
        IS.IN_PROGRESS: frozenset(),
        IS.ON_HOLD: {"hold_reason"},
        IS.RESOLVED: {"resolution_code", "resolution_notes"},
        IS.CLOSED: frozenset(),
        IS.CANCELLED: frozenset(),
    }


def test_resolving_an_incident_without_resolution_is_refused_naming_the_missing_fields() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        default_incident_workflow().fire(IS.IN_PROGRESS, IT.RESOLVE, lookup())

    assert caught.value.reason == "'resolved' requires resolution_code, resolution_notes"


def test_resolving_an_incident_with_code_and_notes_succeeds() -> None:
    fields = lookup(resolution_code="fixed", resolution_notes="restarted the service")

    assert default_incident_workflow().fire(IS.ON_HOLD, IT.RESOLVE, fields) == IS.RESOLVED


def test_assigning_a_new_incident_requires_an_assignment_group() -> None:
    with pytest.raises(InvalidTransitionError, match="'assigned' requires assignment_group"):
        default_incident_workflow().fire(IS.NEW, IT.ASSIGN, lookup(assignment_group=None))


def test_putting_an_incident_on_hold_requires_a_hold_reason() -> None:
    with pytest.raises(InvalidTransitionError, match="'on_hold' requires hold_reason"):
        default_incident_workflow().fire(IS.IN_PROGRESS, IT.HOLD, lookup())


@pytest.mark.parametrize("state", [IS.IN_PROGRESS, IS.ON_HOLD])
def test_reassigning_an_incident_in_progress_or_on_hold_keeps_its_state(state: str) -> None:
    assert default_incident_workflow().fire(state, IT.ASSIGN, lookup()) == state


def test_the_refusal_message_names_the_incident_state_trigger_and_allowed_triggers() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        default_incident_workflow().fire(IS.NEW, IT.CLOSE)

    assert str(caught.value) == (
        "cannot 'close' in state 'new' (allowed there: assign, start, resolve, cancel)"
    )


def test_a_hand_written_toml_of_the_incident_lifecycle_equals_the_default() -> None:
    text = """
    name = "itil_incident"

    [[states]]
    name = "new"
    label = "New"
    initial = true

    [[states]]
    name = "assigned"
    label = "Assigned"
    required = ["assignment_group"]

    [[states]]
    name = "in_progress"
    label = "In Progress"

    [[states]]
    name = "on_hold"
    label = "On Hold"
    pauses_sla = true
    required = ["hold_reason"]

    [[states]]
    name = "resolved"
    label = "Resolved"
    resolved = true
    required = ["resolution_code", "resolution_notes"]

    [[states]]
    name = "closed"
    label = "Closed"
    terminal = true
    resolved = true

    [[states]]
    name = "cancelled"
    label = "Cancelled"
    terminal = true

    [[transitions]]
    trigger = "assign"
    source = ["new", "assigned"]
    target = "assigned"

    [[transitions]]
    trigger = "assign"
    source = ["in_progress", "on_hold"]

    [[transitions]]
    trigger = "start"
    source = ["new", "assigned"]
    target = "in_progress"

    [[transitions]]
    trigger = "hold"
    source = ["assigned", "in_progress"]
    target = "on_hold"

    [[transitions]]
    trigger = "resume"
    source = "on_hold"
    target = "in_progress"

    [[transitions]]
    trigger = "resolve"
    source = ["new", "assigned", "in_progress", "on_hold"]
    target = "resolved"

    [[transitions]]
    trigger = "close"
    source = "resolved"
    target = "closed"

    [[transitions]]
    trigger = "reopen"
    source = "resolved"
    target = "in_progress"

    [[transitions]]
    trigger = "cancel"
    source = ["new", "assigned", "in_progress", "on_hold"]
    target = "cancelled"
    """

    assert Workflow.from_toml(text) == default_incident_workflow()


def test_the_incident_lifecycle_round_trips_through_plain_data() -> None:
    workflow = default_incident_workflow()

    assert Workflow.from_dict(workflow.to_dict()) == workflow


def test_the_mermaid_drawing_of_the_incident_lifecycle_shows_its_transitions() -> None:
    lines = default_incident_workflow().to_mermaid().splitlines()

    assert lines[0] == "stateDiagram-v2"
    assert '    state "In Progress" as in_progress' in lines
    assert "    [*] --> new" in lines
    assert "    new --> assigned : assign" in lines
    assert "    on_hold --> on_hold : assign" in lines
    assert "    on_hold --> in_progress : resume" in lines
    assert "    resolved --> in_progress : reopen" in lines
    assert "    closed --> [*]" in lines
    assert "    cancelled --> [*]" in lines
    assert len([line for line in lines if " : " in line]) == len(INCIDENT_TABLE)


# -- the problem lifecycle ------------------------------------------------------------------------


def test_the_default_problem_workflow_is_one_shared_object() -> None:
    assert default_problem_workflow() is default_problem_workflow()


def test_the_default_problem_workflow_is_named_itil_problem_and_starts_new() -> None:
    workflow = default_problem_workflow()

    assert workflow.name == "itil_problem"
    assert workflow.initial == P.NEW
    assert list(workflow.states) == PROBLEM_STATES
    assert workflow.triggers == tuple(PROBLEM_TRIGGERS)


@pytest.mark.parametrize(
    ("state", "trigger"), list(itertools.product(PROBLEM_STATES, PROBLEM_TRIGGERS))
)
def test_the_problem_workflow_allows_or_refuses_each_trigger_in_each_state_as_specified(
    state: str, trigger: str
) -> None:
    check_pair(default_problem_workflow(), PROBLEM_TABLE, state, trigger)


def test_the_problem_states_carry_their_flags() -> None:
    states = default_problem_workflow().states.values()

    assert [s.name for s in states if s.terminal] == [P.CLOSED, P.CANCELLED]
    assert [s.name for s in states if s.resolved] == [P.RESOLVED, P.CLOSED]
    assert [s.name for s in states if s.required] == [P.RESOLVED]
    assert default_problem_workflow().state(P.RESOLVED).required == {"resolution"}
    assert default_problem_workflow().state(P.KNOWN_ERROR).display == "Known Error"


@pytest.mark.parametrize(
    ("root_cause", "workaround", "expected"),
    [
        (None, None, False),
        ("", "", False),
        ("disk full", None, True),
        (None, "restart nightly", True),
        ("disk full", "restart nightly", True),
        (42, None, False),
    ],
)
def test_has_root_cause_or_workaround_needs_a_non_empty_string_in_either_field(
    root_cause: object, workaround: object, expected: bool
) -> None:
    fields = lookup(root_cause=root_cause, workaround=workaround)

    assert has_root_cause_or_workaround(fields) is expected


def test_marking_a_known_error_without_root_cause_or_workaround_is_refused_by_the_guard() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        default_problem_workflow().fire(P.UNDER_INVESTIGATION, PT.MARK_KNOWN_ERROR, lookup())

    assert caught.value.reason == "guard 'has_root_cause_or_workaround' refused"
    assert caught.value.allowed == (PT.RESOLVE, PT.CANCEL)


def test_marking_a_known_error_with_a_workaround_succeeds() -> None:
    fields = lookup(workaround="restart nightly")

    assert default_problem_workflow().fire(P.NEW, PT.MARK_KNOWN_ERROR, fields) == P.KNOWN_ERROR


def test_resolving_a_problem_requires_a_resolution() -> None:
    with pytest.raises(InvalidTransitionError, match="'resolved' requires resolution"):
        default_problem_workflow().fire(P.KNOWN_ERROR, PT.RESOLVE, lookup(resolution=""))


def test_the_problem_lifecycle_round_trips_through_plain_data_with_its_guard() -> None:
    workflow = default_problem_workflow()
    guards = {"has_root_cause_or_workaround": has_root_cause_or_workaround}

    assert Workflow.from_dict(workflow.to_dict(), guards=guards) == workflow


def test_the_mermaid_drawing_of_the_problem_lifecycle_shows_the_guard() -> None:
    lines = default_problem_workflow().to_mermaid().splitlines()

    assert "    new --> known_error : mark_known_error [has_root_cause_or_workaround]" in lines
