"""Workflow definitions: validation when built, plain data, TOML and Mermaid."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itil_incident.domain.workflow import FieldLookup, Guard, StateDef, TransitionDef, Workflow
from itil_incident.errors import InvalidTransitionError, WorkflowDefinitionError


def always(fields: FieldLookup) -> bool:
    return True


def build(
    states: Sequence[StateDef],
    transitions: Sequence[TransitionDef],
    *,
    name: str = "w",
    guards: Mapping[str, Guard] | None = None,
) -> Workflow:
    return Workflow(name, states, transitions, guards=guards)


OPEN = StateDef("open", initial=True)
WORK = StateDef("work")
DONE = StateDef("done", terminal=True)
STATES = (OPEN, WORK, DONE)
TRANSITIONS = (TransitionDef("start", "open", "work"), TransitionDef("finish", "work", "done"))


def refusal(
    states: Sequence[StateDef],
    transitions: Sequence[TransitionDef],
    *,
    name: str = "w",
    guards: Mapping[str, Guard] | None = None,
) -> WorkflowDefinitionError:
    with pytest.raises(WorkflowDefinitionError) as caught:
        build(states, transitions, name=name, guards=guards)
    return caught.value


def test_a_valid_definition_builds() -> None:
    assert build(STATES, TRANSITIONS).initial == "open"


# -- validation, in the documented order ---------------------------------------------------------


def test_a_workflow_without_a_name_is_refused() -> None:
    error = refusal(STATES, TRANSITIONS, name="")

    assert error.culprit is None
    assert "name" in str(error)


def test_a_workflow_without_states_is_refused() -> None:
    error = refusal([], TRANSITIONS)

    assert error.culprit is None
    assert "no states" in str(error)


def test_two_states_with_the_same_name_are_refused_naming_the_state() -> None:
    error = refusal([*STATES, StateDef("work")], TRANSITIONS)

    assert error.culprit == "work"
    assert "'work'" in str(error)


@pytest.mark.parametrize("name", ["in progress", "", "tab\there", "*", "="])
def test_a_state_name_that_is_empty_has_whitespace_or_is_a_wildcard_is_refused(name: str) -> None:
    error = refusal([*STATES, StateDef(name)], TRANSITIONS)

    assert error.culprit == name
    assert repr(name) in str(error)


def test_a_workflow_without_an_initial_state_is_refused() -> None:
    error = refusal([StateDef("open"), WORK, DONE], TRANSITIONS)

    assert error.culprit is None
    assert "no initial state" in str(error)


def test_a_workflow_with_two_initial_states_is_refused_naming_the_second() -> None:
    error = refusal([OPEN, StateDef("work", initial=True), DONE], TRANSITIONS)

    assert error.culprit == "work"
    assert "open, work" in str(error)


def test_a_workflow_without_a_terminal_state_is_refused() -> None:
    error = refusal([OPEN, WORK, StateDef("done")], TRANSITIONS)

    assert error.culprit is None
    assert "no terminal state" in str(error)


def test_a_terminal_state_that_is_also_initial_is_refused_naming_it() -> None:
    error = refusal([StateDef("only", initial=True, terminal=True)], [])

    assert error.culprit == "only"
    assert "'only'" in str(error)


def test_a_transition_without_sources_is_refused_naming_its_trigger() -> None:
    error = refusal(STATES, [*TRANSITIONS, TransitionDef("jump", (), "done")])

    assert error.culprit == "jump"
    assert "'jump'" in str(error)


@pytest.mark.parametrize("trigger", ["", "go on"])
def test_an_empty_trigger_or_one_with_whitespace_is_refused(trigger: str) -> None:
    error = refusal(STATES, [*TRANSITIONS, TransitionDef(trigger, "open", "done")])

    assert error.culprit == trigger


def test_a_transition_from_an_unknown_state_is_refused_naming_the_trigger_and_the_state() -> None:
    error = refusal(STATES, [*TRANSITIONS, TransitionDef("skip", ("open", "limbo"), "done")])

    assert error.culprit == "skip from limbo"
    assert "'skip'" in str(error)
    assert "'limbo'" in str(error)


def test_a_transition_to_an_unknown_state_is_refused_naming_the_trigger_and_the_state() -> None:
    error = refusal(STATES, [*TRANSITIONS, TransitionDef("skip", "open", "limbo")])

    assert error.culprit == "skip"
    assert "'skip'" in str(error)
    assert "'limbo'" in str(error)


def test_a_guard_name_that_was_not_given_is_refused_naming_trigger_and_guard() -> None:
    transitions = [TransitionDef("start", "open", "work", guards="ready"), TRANSITIONS[1]]

    error = refusal(STATES, transitions, guards={"other": always})

    assert error.culprit == "start"
    assert "'ready'" in str(error)


def test_the_same_trigger_twice_from_the_same_source_is_refused() -> None:
    error = refusal(STATES, [*TRANSITIONS, TransitionDef("start", ("work", "open"), "done")])

    assert error.culprit == "start from open"
    assert "'start'" in str(error)
    assert "'open'" in str(error)


def test_the_same_trigger_from_different_sources_is_allowed() -> None:
    workflow = build(STATES, [*TRANSITIONS, TransitionDef("start", "work", "done")])

    assert workflow.target("work", "start") == "done"


def test_a_transition_leaving_a_terminal_state_is_refused() -> None:
    error = refusal(STATES, [*TRANSITIONS, TransitionDef("reopen", "done", "work")])

    assert error.culprit == "reopen from done"
    assert "terminal" in str(error)


def test_states_that_cannot_be_reached_from_the_initial_state_are_refused_all_named() -> None:
    states = [*STATES, StateDef("lost"), StateDef("forgotten", terminal=True)]
    transitions = [*TRANSITIONS, TransitionDef("end", "lost", "forgotten")]

    error = refusal(states, transitions)

    assert error.culprit == "lost, forgotten"
    assert "lost, forgotten" in str(error)


def test_states_from_which_no_terminal_state_can_be_reached_are_refused_all_named() -> None:
    states = [*STATES, StateDef("loop"), StateDef("trap")]
    transitions = [
        *TRANSITIONS,
        TransitionDef("stray", "open", "loop"),
        TransitionDef("fall", "loop", "trap"),
        TransitionDef("climb", "trap", "loop"),
    ]

    error = refusal(states, transitions)

    assert error.culprit == "loop, trap"
    assert "no terminal state can be reached from loop, trap" in str(error)


def test_the_first_problem_in_the_documented_order_is_reported() -> None:
    # An unknown guard (check 10) and an unreachable state (check 13): the guard is reported.
    states = [*STATES, StateDef("lost")]
    transitions = [TransitionDef("start", "open", "work", guards="ready"), TRANSITIONS[1]]

    error = refusal(states, transitions)

    assert error.culprit == "start"


def test_a_reflexive_transition_does_not_make_a_dead_end_reach_a_terminal_state() -> None:
    states = [*STATES, StateDef("stuck")]
    transitions = [
        *TRANSITIONS,
        TransitionDef("wander", "open", "stuck"),
        TransitionDef("wait", "stuck"),
    ]

    assert refusal(states, transitions).culprit == "stuck"


# -- plain data ---------------------------------------------------------------------------------


def review_workflow() -> Workflow:
    return build(
        [
            StateDef("draft", initial=True),
            StateDef("review", "Under review", pauses_sla=True, required={"reviewer"}),
            StateDef("done", terminal=True, resolved=True, required={"summary", "outcome"}),
        ],
        [
            TransitionDef("submit", "draft", "review"),
            TransitionDef("comment", ("draft", "review")),
            TransitionDef("approve", "review", "done", guards=("senior",)),
        ],
        name="review",
        guards={"senior": always},
    )


def test_to_dict_gives_plain_data_in_the_documented_format() -> None:
    data = review_workflow().to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data["states"][1] == {
        "name": "review",
        "label": "Under review",
        "initial": False,
        "terminal": False,
        "pauses_sla": True,
        "resolved": False,
        "required": ["reviewer"],
    }
    assert data["transitions"][1] == {
        "trigger": "comment",
        "source": ["draft", "review"],
        "target": None,
        "guards": [],
    }


def test_from_dict_of_to_dict_builds_an_equal_workflow() -> None:
    original = review_workflow()

    assert Workflow.from_dict(original.to_dict(), guards={"senior": always}) == original


def test_from_dict_accepts_the_minimal_form_with_defaults() -> None:
    data = {
        "name": "w",
        "states": [{"name": "open", "initial": True}, {"name": "done", "terminal": True}],
        "transitions": [{"trigger": "finish", "source": "open", "target": "done"}],
    }

    workflow = Workflow.from_dict(data)

    assert workflow.state("open") == StateDef("open", initial=True)
    assert workflow.transitions == (TransitionDef("finish", ("open",), "done"),)


def test_from_dict_reads_an_absent_target_as_a_reflexive_transition() -> None:
    data = review_workflow().to_dict()
    del data["transitions"][1]["target"]

    workflow = Workflow.from_dict(data, guards={"senior": always})

    assert workflow.target("review", "comment") == "review"


def test_from_dict_accepts_sources_as_the_key_for_the_source_list() -> None:
    data = review_workflow().to_dict()
    data["transitions"][1]["sources"] = data["transitions"][1].pop("source")

    assert Workflow.from_dict(data, guards={"senior": always}) == review_workflow()


def test_from_dict_still_validates_the_definition() -> None:
    data = review_workflow().to_dict()
    data["transitions"][0]["target"] = "limbo"

    with pytest.raises(WorkflowDefinitionError) as caught:
        Workflow.from_dict(data, guards={"senior": always})

    assert caught.value.culprit == "submit"


def test_from_dict_without_the_guards_refuses_the_guard_names() -> None:
    with pytest.raises(WorkflowDefinitionError, match="'senior'"):
        Workflow.from_dict(review_workflow().to_dict())


def mangled(path: Sequence[str | int], value: Any) -> dict[str, Any]:
    data: Any = copy.deepcopy(review_workflow().to_dict())
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return dict(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            mangled(["states", 2, "terminal"], "yes"),
            "states[2].terminal: expected a boolean, got 'yes'",
        ),
        (mangled(["states", 0, "name"], 7), "states[0].name: expected a string, got 7"),
        (mangled(["states", 1, "colour"], "red"), "states[1].colour: unknown key"),
        (mangled(["states"], "draft"), "states: expected a list, got 'draft'"),
        (mangled(["states", 1], ["review"]), "states[1]: expected a table, got ['review']"),
        (
            mangled(["states", 1, "required"], ["reviewer", None]),
            "states[1].required[1]: expected a string, got None",
        ),
        (
            mangled(["transitions", 1, "source"], ["draft", 3]),
            "transitions[1].source[1]: expected a string, got 3",
        ),
        (
            mangled(["transitions", 0, "target"], 1),
            "transitions[0].target: expected a string, got 1",
        ),
        (
            mangled(["transitions", 2, "guards"], "senior"),
            "transitions[2].guards: expected a list, got 'senior'",
        ),
        (mangled(["version"], 2), "version: unknown key"),
    ],
)
def test_malformed_data_is_refused_with_the_key_path_of_the_problem(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        Workflow.from_dict(data, guards={"senior": always})

    assert str(caught.value) == message
    assert caught.value.culprit == message.split(":")[0]


def test_a_missing_required_key_is_refused_with_its_key_path() -> None:
    data = review_workflow().to_dict()
    del data["transitions"][0]["trigger"]

    with pytest.raises(WorkflowDefinitionError) as caught:
        Workflow.from_dict(data, guards={"senior": always})

    assert str(caught.value) == "transitions[0].trigger: missing"
    assert caught.value.culprit == "transitions[0].trigger"


def test_a_transition_without_source_is_refused_with_its_key_path() -> None:
    data = review_workflow().to_dict()
    del data["transitions"][2]["source"]

    with pytest.raises(WorkflowDefinitionError) as caught:
        Workflow.from_dict(data, guards={"senior": always})

    assert caught.value.culprit == "transitions[2].source"


def test_a_transition_with_both_source_and_sources_is_refused() -> None:
    data = review_workflow().to_dict()
    data["transitions"][0]["sources"] = ["draft"]

    with pytest.raises(WorkflowDefinitionError, match="either 'source' or 'sources'") as caught:
        Workflow.from_dict(data, guards={"senior": always})

    assert caught.value.culprit == "transitions[0].sources"


def test_data_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(WorkflowDefinitionError, match="expected a table"):
        Workflow.from_dict(["not", "a", "table"])  # type: ignore[arg-type]  # wrong on purpose


def test_a_missing_top_level_key_is_refused_with_its_name() -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        Workflow.from_dict({"name": "w", "states": []})

    assert caught.value.culprit == "transitions"


# -- TOML ---------------------------------------------------------------------------------------

REVIEW_TOML = """
name = "review"

[[states]]
name = "draft"
initial = true

[[states]]
name = "review"
label = "Under review"
pauses_sla = true
required = ["reviewer"]

[[states]]
name = "done"
terminal = true
resolved = true
required = ["outcome", "summary"]

[[transitions]]
trigger = "submit"
source = "draft"
target = "review"

[[transitions]]
trigger = "comment"
sources = ["draft", "review"]

[[transitions]]
trigger = "approve"
source = ["review"]
target = "done"
guards = ["senior"]
"""


def test_from_toml_builds_the_workflow_described_by_the_toml_tables() -> None:
    assert Workflow.from_toml(REVIEW_TOML, guards={"senior": always}) == review_workflow()


def test_a_toml_syntax_error_is_a_workflow_definition_error() -> None:
    with pytest.raises(WorkflowDefinitionError, match="invalid TOML"):
        Workflow.from_toml('name = "review"\n[[states]\nname = "draft"\n')


def test_a_toml_value_of_the_wrong_type_is_refused_with_its_key_path() -> None:
    text = REVIEW_TOML.replace("initial = true", 'initial = "yes"')

    with pytest.raises(WorkflowDefinitionError) as caught:
        Workflow.from_toml(text, guards={"senior": always})

    assert str(caught.value) == "states[0].initial: expected a boolean, got 'yes'"


# -- Mermaid ------------------------------------------------------------------------------------


def test_to_mermaid_draws_states_transitions_start_and_ends() -> None:
    assert review_workflow().to_mermaid().splitlines() == [
        "stateDiagram-v2",
        '    state "Under review" as review',
        "    [*] --> draft",
        "    draft --> review : submit",
        "    draft --> draft : comment",
        "    review --> review : comment",
        "    review --> done : approve [senior]",
        "    done --> [*]",
    ]


def test_to_mermaid_escapes_quotes_in_labels() -> None:
    workflow = build(
        [StateDef("open", 'Say "hi"', initial=True), DONE],
        [TransitionDef("finish", "open", "done")],
    )

    assert '    state "Say #quot;hi#quot;" as open' in workflow.to_mermaid().splitlines()


# -- properties of random valid workflows --------------------------------------------------------

FIELD_NAMES = st.sampled_from(["owner", "reason", "code", "notes"])
LABELS = st.text(st.characters(categories=["L", "N", "Zs"]), max_size=12)


@st.composite
def valid_workflows(draw: st.DrawFn) -> Workflow:
    """A chain s0 -> s1 -> ... -> terminal, plus random extra transitions between the states."""
    count = draw(st.integers(min_value=2, max_value=7))
    names = [f"s{index}" for index in range(count)]
    states = [
        StateDef(
            name,
            draw(LABELS),
            initial=index == 0,
            terminal=index == count - 1,
            pauses_sla=draw(st.booleans()),
            resolved=draw(st.booleans()),
            required=draw(st.frozensets(FIELD_NAMES, max_size=2)),
        )
        for index, name in enumerate(names)
    ]
    transitions = [TransitionDef("next", names[i], names[i + 1]) for i in range(count - 1)]
    used = {(names[i], "next") for i in range(count - 1)}
    extras = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["go", "back", "wait", "jump"]),
                st.lists(st.sampled_from(names[:-1]), min_size=1, max_size=3, unique=True),
                st.none() | st.sampled_from(names),
                st.booleans(),
            ),
            max_size=6,
        )
    )
    for trigger, sources, target, guarded in extras:
        fresh = tuple(source for source in sources if (source, trigger) not in used)
        if fresh:
            used.update((source, trigger) for source in fresh)
            guards = ("ok",) if guarded else ()
            transitions.append(TransitionDef(trigger, fresh, target, guards))
    return Workflow(
        draw(st.sampled_from(["flow", "itil"])), states, transitions, guards={"ok": always}
    )


@given(valid_workflows())
def test_any_valid_workflow_round_trips_through_plain_data(workflow: Workflow) -> None:
    rebuilt = Workflow.from_dict(workflow.to_dict(), guards={"ok": always})

    assert rebuilt == workflow
    assert rebuilt.to_dict() == workflow.to_dict()


@given(valid_workflows())
def test_the_mermaid_drawing_of_any_valid_workflow_has_a_line_per_transition(
    workflow: Workflow,
) -> None:
    lines = workflow.to_mermaid().splitlines()

    for transition in workflow.transitions:
        text = transition.trigger + (" [ok]" if transition.guards else "")
        for source in transition.sources:
            target = transition.target or source
            assert f"    {source} --> {target} : {text}" in lines


@given(valid_workflows())
def test_fire_without_fields_agrees_with_target_and_allowed_for_any_valid_workflow(
    workflow: Workflow,
) -> None:
    for state in workflow.states:
        allowed = workflow.allowed(state)
        assert allowed == tuple(t for t in workflow.triggers if workflow.target(state, t))
        for trigger in workflow.triggers:
            target = workflow.target(state, trigger)
            if target is None:
                with pytest.raises(InvalidTransitionError, match=repr(trigger)):
                    workflow.fire(state, trigger)
            else:
                assert workflow.fire(state, trigger) == target
