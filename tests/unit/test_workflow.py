"""The workflow engine: firing triggers, allowed triggers, the raw table, guards and states."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from transitions import Machine

from itil_incident.domain.workflow import FieldLookup, StateDef, TransitionDef, Workflow
from itil_incident.errors import InvalidTransitionError, ValidationError


def approver_is_senior(fields: FieldLookup) -> bool:
    return fields("approver") == "senior"


def review_workflow() -> Workflow:
    """draft -> review -> done, with a reflexive comment, a guarded approval and a drop."""
    return Workflow(
        "review",
        [
            StateDef("draft", initial=True),
            StateDef("review", "Under review", required={"reviewer"}),
            StateDef("done", terminal=True, resolved=True, required={"summary", "outcome"}),
            StateDef("dropped", terminal=True),
        ],
        [
            TransitionDef("submit", "draft", "review"),
            TransitionDef("comment", ("draft", "review")),
            TransitionDef("approve", "review", "done", guards=("approver_is_senior",)),
            TransitionDef("drop", ("draft", "review"), "dropped"),
        ],
        guards={"approver_is_senior": approver_is_senior},
    )


def lookup(**values: object) -> FieldLookup:
    table: Mapping[str, object] = values
    return table.get


# -- fire ---------------------------------------------------------------------------------------


def test_fire_returns_the_target_state_of_the_transition() -> None:
    assert review_workflow().fire("draft", "submit") == "review"


def test_fire_without_fields_consults_the_table_only_and_skips_guards_and_required_fields() -> None:
    workflow = review_workflow()

    assert workflow.fire("review", "approve") == "done"
    assert workflow.fire("draft", "submit") == "review"


def test_a_trigger_the_state_does_not_allow_is_refused_with_the_allowed_triggers() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("draft", "approve")

    assert caught.value.state == "draft"
    assert caught.value.trigger == "approve"
    assert caught.value.allowed == ("submit", "comment", "drop")
    assert caught.value.reason is None


def test_an_unknown_trigger_is_refused_like_a_trigger_the_state_does_not_allow() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("review", "publish")

    assert caught.value.trigger == "publish"
    assert caught.value.allowed == ("comment", "approve", "drop")


def test_no_trigger_may_fire_in_a_terminal_state() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("done", "comment")

    assert caught.value.allowed == ()


def test_the_refusal_message_names_the_state_the_trigger_and_the_allowed_triggers() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("draft", "approve")

    assert (
        str(caught.value)
        == "cannot 'approve' in state 'draft' (allowed there: submit, comment, drop)"
    )


def test_firing_from_an_unknown_state_is_a_validation_error_naming_the_state_and_known_states() -> (
    None
):
    with pytest.raises(ValidationError) as caught:
        review_workflow().fire("archived", "submit")

    assert caught.value.field == "status"
    assert "'archived'" in str(caught.value)
    assert "draft, review, done, dropped" in str(caught.value)


def test_a_reflexive_transition_stays_in_the_source_state() -> None:
    workflow = review_workflow()

    assert workflow.fire("draft", "comment") == "draft"
    assert workflow.fire("review", "comment") == "review"


def test_a_reflexive_transition_does_not_check_the_required_fields_of_the_state_again() -> None:
    assert review_workflow().fire("review", "comment", lookup()) == "review"


def test_a_guard_that_returns_false_refuses_the_transition_naming_the_guard() -> None:
    fields = lookup(approver="junior", summary="s", outcome="o")

    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("review", "approve", fields)

    assert caught.value.reason == "guard 'approver_is_senior' refused"
    assert "guard 'approver_is_senior' refused" in str(caught.value)


def test_a_refusal_by_a_guard_lists_only_the_triggers_whose_guards_pass() -> None:
    fields = lookup(approver="junior", summary="s", outcome="o")

    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("review", "approve", fields)

    assert caught.value.allowed == ("comment", "drop")


def test_a_transition_fires_when_its_guards_pass_and_the_required_fields_are_set() -> None:
    fields = lookup(approver="senior", summary="s", outcome="o")

    assert review_workflow().fire("review", "approve", fields) == "done"


def test_entering_a_state_with_a_required_field_unset_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("draft", "submit", lookup())

    assert caught.value.reason == "'review' requires reviewer"
    assert caught.value.allowed == ("submit", "comment", "drop")


def test_the_required_field_refusal_names_every_missing_field_sorted() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("review", "approve", lookup(approver="senior"))

    assert caught.value.reason == "'done' requires outcome, summary"


def test_the_required_field_refusal_names_only_the_fields_that_are_missing() -> None:
    fields = lookup(approver="senior", outcome="fixed")

    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("review", "approve", fields)

    assert caught.value.reason == "'done' requires summary"


def test_an_empty_string_counts_as_a_missing_required_field() -> None:
    with pytest.raises(InvalidTransitionError, match="'review' requires reviewer"):
        review_workflow().fire("draft", "submit", lookup(reviewer=""))


@pytest.mark.parametrize("value", [0, False, " ", "ann"])
def test_any_value_other_than_none_or_the_empty_string_sets_a_required_field(
    value: object,
) -> None:
    assert review_workflow().fire("draft", "submit", lookup(reviewer=value)) == "review"


def test_guards_are_checked_before_required_fields() -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        review_workflow().fire("review", "approve", lookup())

    assert caught.value.reason == "guard 'approver_is_senior' refused"


# -- allowed --------------------------------------------------------------------------------------


def test_allowed_lists_the_triggers_of_a_state_in_definition_order() -> None:
    assert review_workflow().allowed("review") == ("comment", "approve", "drop")


def test_allowed_without_fields_ignores_guards() -> None:
    assert "approve" in review_workflow().allowed("review")


def test_allowed_with_fields_leaves_out_triggers_whose_guard_refuses() -> None:
    assert review_workflow().allowed("review", lookup(approver="junior")) == ("comment", "drop")


def test_allowed_with_fields_does_not_check_required_fields() -> None:
    assert review_workflow().allowed("draft", lookup()) == ("submit", "comment", "drop")


def test_allowed_in_a_terminal_state_is_empty() -> None:
    assert review_workflow().allowed("dropped") == ()


def test_allowed_in_an_unknown_state_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="'archived'"):
        review_workflow().allowed("archived")


# -- target, state, is_terminal, reachable_from ---------------------------------------------------


def test_target_gives_the_raw_table_entry_ignoring_guards() -> None:
    assert review_workflow().target("review", "approve") == "done"


def test_target_is_none_when_the_trigger_cannot_fire_in_the_state() -> None:
    workflow = review_workflow()

    assert workflow.target("draft", "approve") is None
    assert workflow.target("draft", "publish") is None


def test_target_of_a_reflexive_transition_is_the_state_itself() -> None:
    assert review_workflow().target("review", "comment") == "review"


def test_target_from_an_unknown_state_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        review_workflow().target("archived", "submit")


def test_state_gives_the_definition_of_a_state_by_name() -> None:
    assert review_workflow().state("review") == StateDef(
        "review", "Under review", required={"reviewer"}
    )


def test_state_of_an_unknown_name_is_a_validation_error_on_the_status_field() -> None:
    with pytest.raises(ValidationError) as caught:
        review_workflow().state("archived")

    assert caught.value.field == "status"


def test_is_terminal_tells_final_states_from_the_others() -> None:
    workflow = review_workflow()

    assert [workflow.is_terminal(s) for s in workflow.states] == [False, False, True, True]


def test_reachable_from_gives_the_state_itself_and_every_state_its_transitions_lead_to() -> None:
    workflow = review_workflow()

    assert workflow.reachable_from("draft") == {"draft", "review", "done", "dropped"}
    assert workflow.reachable_from("review") == {"review", "done", "dropped"}


def test_nothing_but_itself_is_reachable_from_a_terminal_state() -> None:
    assert review_workflow().reachable_from("done") == {"done"}


# -- the definition -------------------------------------------------------------------------------


def test_a_workflow_exposes_its_name_initial_state_and_states_in_definition_order() -> None:
    workflow = review_workflow()

    assert workflow.name == "review"
    assert workflow.initial == "draft"
    assert list(workflow.states) == ["draft", "review", "done", "dropped"]


def test_the_states_of_a_workflow_cannot_be_changed() -> None:
    states = review_workflow().states

    with pytest.raises(TypeError):
        states["x"] = StateDef("x")  # type: ignore[index]  # writing a read-only mapping on purpose


def test_triggers_are_unique_and_in_definition_order() -> None:
    workflow = Workflow(
        "w",
        [StateDef("a", initial=True), StateDef("b"), StateDef("z", terminal=True)],
        [
            TransitionDef("go", "a", "b"),
            TransitionDef("end", "a", "z"),
            TransitionDef("go", "b", "z"),
        ],
    )

    assert workflow.triggers == ("go", "end")


def test_the_workflow_keeps_one_transitions_machine_without_models() -> None:
    workflow = review_workflow()

    assert isinstance(workflow.machine, Machine)
    assert workflow.machine.models == []
    assert not workflow.machine.auto_transitions
    assert list(workflow.machine.events) == list(workflow.triggers)
    assert list(workflow.machine.states) == list(workflow.states)


def test_the_table_is_read_once_from_the_machine_when_the_workflow_is_built() -> None:
    workflow = review_workflow()
    workflow.machine.events["submit"].transitions["draft"][0].dest = "dropped"

    # The machine is read once when the workflow is built; later changes to it are not seen.
    assert workflow.fire("draft", "submit") == "review"
    assert review_workflow().machine.events["submit"].transitions["draft"][0].dest == "review"


def test_two_workflows_with_the_same_definition_are_equal_and_hash_alike() -> None:
    assert review_workflow() == review_workflow()
    assert hash(review_workflow()) == hash(review_workflow())


def test_guards_are_compared_by_name_not_by_function() -> None:
    original = review_workflow()
    other = Workflow(
        "review",
        original.states.values(),
        original.transitions,
        guards={"approver_is_senior": lambda fields: True},
    )

    assert other == original


def test_workflows_that_differ_in_name_are_not_equal() -> None:
    original = review_workflow()

    assert (
        Workflow(
            "other",
            original.states.values(),
            original.transitions,
            guards={"approver_is_senior": approver_is_senior},
        )
        != original
    )


def test_a_workflow_is_not_equal_to_its_plain_data() -> None:
    workflow = review_workflow()

    assert workflow != workflow.to_dict()


# -- StateDef and TransitionDef ------------------------------------------------------------------


def test_a_state_displays_its_label() -> None:
    assert StateDef("review", "Under review").display == "Under review"


def test_a_state_without_label_displays_its_name_made_readable() -> None:
    assert StateDef("in_progress").display == "In progress"


def test_required_fields_accept_any_iterable_of_names() -> None:
    assert StateDef("s", required=["a", "b", "a"]).required == frozenset({"a", "b"})


def test_a_single_required_field_name_is_one_field_not_its_letters() -> None:
    assert StateDef("s", required="owner").required == frozenset({"owner"})


def test_a_single_source_becomes_a_one_element_tuple() -> None:
    assert TransitionDef("go", "a", "b").sources == ("a",)


def test_a_list_of_sources_becomes_a_tuple() -> None:
    assert TransitionDef("go", ["a", "b"], "c").sources == ("a", "b")
