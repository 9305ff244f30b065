"""Value objects: levels, channels, actors, readable ids, category paths, satisfaction."""

from __future__ import annotations

from typing import Any, Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from itil_incident import (
    SYSTEM,
    Actor,
    CategoryPath,
    Channel,
    HoldReason,
    Impact,
    Priority,
    Satisfaction,
    SequentialIdFactory,
    Urgency,
    ValidationError,
    format_id,
)

LEVEL_KINDS = [Impact, Urgency, Priority]
levels = st.integers(min_value=1, max_value=1000)
labels = st.text(max_size=10)
# Category parts: any single-line text without "/", NUL or surrogates (what the domain stores).
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
parts = st.text(
    st.characters(exclude_categories=SURROGATES, exclude_characters="\x00/"), min_size=1,
    max_size=12,
).map(str.strip).filter(lambda p: p != "" and p.splitlines() == [p])
paths = st.lists(parts, min_size=1, max_size=4).map(lambda ps: CategoryPath(tuple(ps)))

# -- levels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LEVEL_KINDS)
@given(a=levels, b=levels, label_a=labels, label_b=labels)
def test_levels_are_equal_exactly_when_their_numbers_are_whatever_the_labels(
    kind: type[Impact], a: int, b: int, label_a: str, label_b: str
) -> None:
    assert (kind(a, label_a) == kind(b, label_b)) == (a == b)


@pytest.mark.parametrize("kind", LEVEL_KINDS)
@given(a=levels, b=levels, label_a=labels, label_b=labels)
def test_levels_order_by_number_so_the_most_severe_sorts_first(
    kind: type[Impact], a: int, b: int, label_a: str, label_b: str
) -> None:
    assert (kind(a, label_a) < kind(b, label_b)) == (a < b)


@pytest.mark.parametrize("kind", LEVEL_KINDS)
def test_equal_levels_with_different_labels_hash_alike(kind: type[Impact]) -> None:
    assert len({kind(1, "Critical"), kind(1), kind(1, "Top")}) == 1


def test_levels_of_different_kinds_are_never_equal() -> None:
    impact: object = Impact(1)
    assert impact != Urgency(1)
    assert impact != Priority(1)


@pytest.mark.parametrize("kind", LEVEL_KINDS)
@pytest.mark.parametrize("bad", [0, -1, True, 1.0, "1", None])
def test_a_level_must_be_an_integer_of_at_least_one(kind: type[Impact], bad: Any) -> None:
    with pytest.raises(ValidationError, match="level must be an integer >= 1") as raised:
        kind(bad)
    assert raised.value.field == "level"


def test_a_level_label_must_be_text() -> None:
    bad: Any = 1
    with pytest.raises(ValidationError, match="label must be a string"):
        Priority(1, bad)


def test_a_level_cannot_be_changed_once_made() -> None:
    priority = Priority(1, "Critical")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        priority.level = 2  # type: ignore[misc]  # assigning a frozen field is the point


def test_a_labelled_level_reads_as_number_and_label() -> None:
    assert str(Priority(1, "Critical")) == "1 - Critical"
    assert str(Priority(3)) == "3"
    assert repr(Impact(2, "Medium")) == "Impact(2, 'Medium')"


# -- channels and small enums ------------------------------------------------------------------


def test_the_channels_are_those_an_incident_can_arrive_through() -> None:
    assert {c.value for c in Channel} == {
        "phone", "email", "portal", "chat", "walk_in", "monitoring", "api"
    }


def test_a_channel_is_its_text() -> None:
    assert Channel("phone") is Channel.PHONE
    assert isinstance(Channel.EMAIL, str)
    assert f"{Channel.EMAIL}" == "email"


def test_the_default_hold_reasons_are_awaiting_caller_vendor_change_and_problem() -> None:
    assert {r.value for r in HoldReason} == {
        "awaiting_caller", "awaiting_vendor", "awaiting_change", "awaiting_problem"
    }


# -- actors ------------------------------------------------------------------------------------


def test_an_actor_has_an_id_a_name_and_roles() -> None:
    actor = Actor("alice", "Alice Agent", frozenset({"agent", "admin"}))
    assert (actor.id, actor.name, actor.roles) == ("alice", "Alice Agent",
                                                   frozenset({"agent", "admin"}))
    assert actor.has_role("agent")
    assert not actor.has_role("engineer")


def test_actor_roles_may_be_given_as_any_collection_of_names() -> None:
    assert Actor("alice", roles=["agent", "agent"]).roles == frozenset({"agent"})


def test_actors_are_equal_by_value() -> None:
    assert Actor("alice", "Alice", frozenset({"a"})) == Actor("alice", "Alice", frozenset({"a"}))
    assert Actor("alice") != Actor("bob")


@pytest.mark.parametrize("bad", ["", "   ", None, 7])
def test_an_actor_needs_a_non_empty_id(bad: Any) -> None:
    with pytest.raises(ValidationError, match="id must be a non-empty string") as raised:
        Actor(bad)
    assert raised.value.field == "id"


def test_actor_roles_given_as_one_string_are_refused() -> None:
    bad: Any = "agent"
    with pytest.raises(ValidationError, match="not one string"):
        Actor("alice", roles=bad)


@pytest.mark.parametrize("bad", [[""], [3], 5])
def test_actor_roles_must_be_non_empty_names(bad: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        Actor("alice", roles=bad)
    assert raised.value.field == "roles"


def test_an_actor_reads_as_its_name_or_else_its_id() -> None:
    assert str(Actor("alice", "Alice Agent")) == "Alice Agent"
    assert str(Actor("alice")) == "alice"


def test_the_system_actor_holds_the_system_role() -> None:
    assert SYSTEM.id == "system"
    assert SYSTEM.has_role("system")


# -- readable ids ------------------------------------------------------------------------------


def test_ids_are_a_prefix_and_a_zero_padded_number() -> None:
    assert format_id("INC", 42) == "INC0000042"
    assert format_id("PRB", 7, width=3) == "PRB007"


def test_the_id_factory_numbers_incidents_and_problems_separately_from_one() -> None:
    ids = SequentialIdFactory()
    assert [ids.next_incident_id(), ids.next_incident_id()] == ["INC0000001", "INC0000002"]
    assert ids.next_problem_id() == "PRB0000001"


def test_the_id_factory_takes_a_start_a_width_and_prefixes() -> None:
    ids = SequentialIdFactory(start=1000, width=5, incident_prefix="SEC", problem_prefix="RCA")
    assert (ids.next_incident_id(), ids.next_problem_id()) == ("SEC01000", "RCA01000")


@given(count=st.integers(min_value=1, max_value=300))
def test_the_id_factory_never_repeats_an_id(count: int) -> None:
    ids = SequentialIdFactory()
    made = [ids.next_incident_id() for _ in range(count)]
    assert len(set(made)) == count
    assert made == sorted(made)


@pytest.mark.parametrize(("start", "width"), [(-1, 7), (1, 0), (1, 21), (True, 7)])
def test_the_id_factory_refuses_a_negative_start_or_an_unreasonable_width(
    start: Any, width: Any
) -> None:
    with pytest.raises(ValidationError):
        SequentialIdFactory(start=start, width=width)


# -- category paths ----------------------------------------------------------------------------


def test_a_category_path_parses_from_slash_separated_text() -> None:
    path = CategoryPath.parse("Network/VPN")
    assert path.parts == ("Network", "VPN")
    assert str(path) == "Network/VPN"


def test_spaces_around_category_parts_are_ignored() -> None:
    assert CategoryPath.parse(" Network / VPN ") == CategoryPath(("Network", "VPN"))


@given(path=paths)
def test_a_category_path_survives_a_round_trip_through_its_text(path: CategoryPath) -> None:
    assert CategoryPath.parse(str(path)) == path
    assert CategoryPath.of(str(path)) == path


def test_a_category_path_knows_its_name_depth_and_parent() -> None:
    path = CategoryPath.parse("Software/Email/Outlook")
    assert (path.name, path.depth) == ("Outlook", 3)
    assert path.parent == CategoryPath.parse("Software/Email")
    assert CategoryPath.parse("Software").parent is None


def test_a_child_path_lies_within_its_parent_but_not_the_other_way_round() -> None:
    network = CategoryPath.parse("Network")
    vpn = network.child("VPN")
    assert vpn == CategoryPath.parse("Network/VPN")
    assert vpn.is_within(network)
    assert vpn.is_within(vpn)
    assert not network.is_within(vpn)
    assert not CategoryPath.parse("Networking").is_within(network)


@pytest.mark.parametrize("text", ["", "/", "Network//VPN", "Network/ /VPN", "/VPN"])
def test_a_category_path_with_an_empty_part_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CategoryPath.parse(text)
    assert raised.value.field == "category"


def test_category_parts_given_as_one_string_are_refused_with_a_hint_to_parse() -> None:
    bad: Any = "Network/VPN"
    with pytest.raises(ValidationError, match=r"CategoryPath\.parse"):
        CategoryPath(bad)


def test_parsing_a_category_from_something_other_than_text_is_refused() -> None:
    bad: Any = 42
    with pytest.raises(ValidationError, match="must be text"):
        CategoryPath.parse(bad)


# -- satisfaction ------------------------------------------------------------------------------


@given(score=st.integers(min_value=1, max_value=5))
def test_a_satisfaction_score_from_one_to_five_is_accepted(score: int) -> None:
    assert Satisfaction(score, "ok").score == score


@given(score=st.one_of(st.integers(max_value=0), st.integers(min_value=6), st.booleans(),
                       st.floats()))
def test_any_other_satisfaction_score_is_refused(score: Any) -> None:
    with pytest.raises(ValidationError, match="1 to 5"):
        Satisfaction(score)


def test_a_satisfaction_comment_must_be_text() -> None:
    bad: Any = 5
    with pytest.raises(ValidationError):
        Satisfaction(4, bad)


@pytest.mark.parametrize("part", ["VP\nN", "VPN\u2028", "V\x00PN", "VP\ud800N"])
def test_a_category_part_that_is_not_single_line_text_is_refused(part: str) -> None:
    with pytest.raises(ValidationError, match="invalid category part"):
        CategoryPath(("Network", part))


@pytest.mark.parametrize(("field", "value"), [("id", "al\nice"), ("id", "al\x00ice"),
                                              ("name", "Alice\u2029Smith"), ("name", "\udc00")])
def test_an_actor_id_or_name_that_is_not_single_line_text_is_refused(field: str, value: str
                                                                    ) -> None:
    arguments = {"id": "alice", "name": "Alice", field: value}
    with pytest.raises(ValidationError) as refused:
        Actor(**arguments)
    assert refused.value.field == field
