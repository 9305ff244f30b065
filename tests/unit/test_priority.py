"""The priority matrix: profiles, fallbacks, validation and plain-data loading."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itil_incident.domain.values import Impact, Priority, Urgency
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies.priority import PriorityMatrix, glpi_half_up

# -- the tables of DOMAIN.md, written out independently of the implementation ------------------

# (impact, urgency) -> priority, our numbering (1 = most severe)
SERVICENOW = {
    (1, 1): 1, (1, 2): 2, (1, 3): 3,
    (2, 1): 2, (2, 2): 3, (2, 3): 4,
    (3, 1): 3, (3, 2): 4, (3, 3): 4,
}  # fmt: skip
ITIL = {**SERVICENOW, (3, 3): 5}
SERVICENOW_PROBLEM = {**SERVICENOW, (3, 3): 5}
ITOP = {
    (1, 1): 1, (1, 2): 1, (1, 3): 2, (1, 4): 4,
    (2, 1): 1, (2, 2): 2, (2, 3): 3, (2, 4): 4,
    (3, 1): 2, (3, 2): 3, (3, 3): 3, (3, 4): 4,
}  # fmt: skip
# GLPI as DOMAIN.md prints it: GLPI_TABLE[urgency - 1][impact - 1], GLPI numbering (5 = most severe)
GLPI_TABLE = (
    (1, 1, 2, 2, 2),
    (1, 2, 2, 3, 3),
    (2, 2, 3, 4, 4),
    (2, 3, 4, 4, 5),
    (2, 3, 4, 5, 5),
)

PROFILES = {
    "servicenow": PriorityMatrix.servicenow,
    "itil": PriorityMatrix.itil,
    "servicenow_problem": PriorityMatrix.servicenow_problem,
    "itop": PriorityMatrix.itop,
    "glpi": PriorityMatrix.glpi,
}


def _cases(profile: str, table: dict[tuple[int, int], int]) -> list[Any]:
    return [pytest.param(profile, i, u, p, id=f"{profile}-{i}x{u}") for (i, u), p in table.items()]


@pytest.mark.parametrize(
    ("profile", "impact", "urgency", "expected"),
    _cases("servicenow", SERVICENOW)
    + _cases("itil", ITIL)
    + _cases("servicenow_problem", SERVICENOW_PROBLEM)
    + _cases("itop", ITOP),
)
def test_each_profile_cell_gives_the_documented_priority(
    profile: str, impact: int, urgency: int, expected: int
) -> None:
    matrix = PROFILES[profile]()
    assert matrix.priority_for(Impact(impact), Urgency(urgency)).level == expected


@pytest.mark.parametrize(
    ("glpi_urgency", "glpi_impact"), [(u, i) for u in range(1, 6) for i in range(1, 6)]
)
def test_each_glpi_cell_gives_glpi_default_priority_in_our_numbering(
    glpi_urgency: int, glpi_impact: int
) -> None:
    matrix = PriorityMatrix.glpi()
    priority = matrix.priority_for(Impact(6 - glpi_impact), Urgency(6 - glpi_urgency))
    assert priority.level == 7 - GLPI_TABLE[glpi_urgency - 1][glpi_impact - 1]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_profile_is_exactly_its_documented_size(profile: str) -> None:
    sizes = {
        "servicenow": (3, 3, 5),
        "itil": (3, 3, 5),
        "servicenow_problem": (3, 3, 5),
        "itop": (3, 4, 4),
        "glpi": (5, 5, 6),
    }
    matrix = PROFILES[profile]()
    assert (len(matrix.impacts), len(matrix.urgencies), len(matrix.priorities)) == sizes[profile]


def test_servicenow_labels_follow_servicenow() -> None:
    matrix = PriorityMatrix.servicenow()
    labels = ["Critical", "High", "Moderate", "Low", "Planning"]
    assert [p.label for p in matrix.priorities] == labels
    assert [i.label for i in matrix.impacts] == ["High", "Medium", "Low"]
    assert [u.label for u in matrix.urgencies] == ["High", "Medium", "Low"]


def test_servicenow_incident_matrix_never_yields_planning() -> None:
    matrix = PriorityMatrix.servicenow()
    yielded = {matrix.priority_for(i, u).level for i in matrix.impacts for u in matrix.urgencies}
    assert 5 not in yielded
    assert matrix.priority(5).label == "Planning"


def test_glpi_labels_put_major_first_outside_the_matrix() -> None:
    matrix = PriorityMatrix.glpi()
    labels = ["Major", "Very high", "High", "Medium", "Low", "Very low"]
    assert [p.label for p in matrix.priorities] == labels
    assert [i.label for i in matrix.impacts] == labels[1:]
    yielded = {matrix.priority_for(i, u).level for i in matrix.impacts for u in matrix.urgencies}
    assert 1 not in yielded


def test_itop_labels_follow_itop() -> None:
    matrix = PriorityMatrix.itop()
    assert [i.label for i in matrix.impacts] == ["A department", "A service", "A person"]
    assert [u.label for u in matrix.urgencies] == ["Critical", "High", "Medium", "Low"]
    assert [p.label for p in matrix.priorities] == ["Critical", "High", "Medium", "Low"]


def test_priority_for_returns_the_labelled_priority() -> None:
    priority = PriorityMatrix.servicenow().priority_for(Impact(1), Urgency(2))
    assert (priority.level, priority.label) == (2, "High")


def test_profiles_are_built_once() -> None:
    assert PriorityMatrix.servicenow() is PriorityMatrix.servicenow()
    assert PriorityMatrix.glpi() is PriorityMatrix.glpi()


# -- GLPI fallback --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glpi_urgency", "glpi_impact", "glpi_priority"),
    [(2, 3, 3), (1, 2, 2), (4, 5, 5), (3, 3, 3), (1, 1, 1), (5, 5, 5)],
)
def test_glpi_fallback_rounds_halves_up_not_to_even(
    glpi_urgency: int, glpi_impact: int, glpi_priority: int
) -> None:
    matrix = PriorityMatrix.glpi(cells={})
    priority = matrix.priority_for(Impact(6 - glpi_impact), Urgency(6 - glpi_urgency))
    assert priority.level == 7 - glpi_priority


@given(st.integers(1, 5), st.integers(1, 5))
def test_glpi_empty_cells_match_glpi_half_up_reference(glpi_urgency: int, glpi_impact: int) -> None:
    matrix = PriorityMatrix.glpi(cells={})
    reference = (glpi_urgency + glpi_impact + 1) // 2
    priority = matrix.priority_for(Impact(6 - glpi_impact), Urgency(6 - glpi_urgency))
    assert priority.level == 7 - reference


@given(st.integers(1, 5), st.integers(1, 5))
def test_glpi_half_up_function_matches_the_reference(impact: int, urgency: int) -> None:
    assert glpi_half_up(impact, urgency) == 7 - ((6 - impact) + (6 - urgency) + 1) // 2


def test_glpi_given_cells_win_over_the_fallback() -> None:
    matrix = PriorityMatrix.glpi(cells={(5, 5): 3, (1, 2): 4})  # GLPI (urgency, impact) -> prio
    assert matrix.priority_for(Impact(1), Urgency(1)).level == 7 - 3
    assert matrix.priority_for(Impact(4), Urgency(5)).level == 7 - 4
    assert matrix.priority_for(Impact(2), Urgency(4)).level == 7 - 3  # fallback: (2 + 4) / 2


@pytest.mark.parametrize(
    "cells",
    [{(0, 1): 1}, {(1, 6): 1}, {(1, 1): 6}, {(1, 1): 0}, {(1,): 1}, {(1, 1): "3"}],
    ids=repr,
)
def test_glpi_rejects_cells_outside_glpi_ranges(cells: Any) -> None:
    with pytest.raises(DefinitionError):
        PriorityMatrix.glpi(cells=cells)


# -- building and validation -------------------------------------------------------------------

LEVELS3 = ("High", "Medium", "Low")


def _matrix(cells: Any, **kwargs: Any) -> PriorityMatrix:
    options: dict[str, Any] = {
        "name": "test",
        "impacts": [Impact(n, label) for n, label in enumerate(LEVELS3, 1)],
        "urgencies": [Urgency(n, label) for n, label in enumerate(LEVELS3, 1)],
        "priorities": [Priority(n, label) for n, label in enumerate(LEVELS3, 1)],
        "cells": cells,
    }
    options.update(kwargs)
    return PriorityMatrix(**options)


FULL3: dict[Any, Any] = {(i, u): max(i, u) for i in range(1, 4) for u in range(1, 4)}


def test_a_matrix_without_fallback_must_be_total_and_names_the_first_missing_cell() -> None:
    cells = {key: value for key, value in FULL3.items() if key not in {(2, 3), (3, 1)}}
    message = re.escape("impact 2 (Medium), urgency 3 (Low)")
    with pytest.raises(DefinitionError, match=message) as info:
        _matrix(cells)
    assert info.value.culprit == "cell (2, 3)"


def test_a_fallback_fills_only_the_missing_cells() -> None:
    calls: list[tuple[int, int]] = []

    def fallback(impact: int, urgency: int) -> int:
        calls.append((impact, urgency))
        return 3

    matrix = _matrix({(1, 1): 1}, fallback=fallback)
    assert matrix.priority_for(Impact(1), Urgency(1)).level == 1
    assert matrix.priority_for(Impact(2), Urgency(2)).level == 3
    assert (1, 1) not in calls
    assert len(calls) == 8


def test_fallback_results_are_checked_when_the_matrix_is_built() -> None:
    with pytest.raises(DefinitionError, match="fallback gives 9") as info:
        _matrix({(1, 1): 1}, fallback=lambda i, u: 9 if (i, u) == (2, 1) else 1)
    assert info.value.culprit == "cell (2, 1)"


def test_a_failing_fallback_becomes_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="fallback failed") as info:
        _matrix({}, fallback=lambda i, u: 1 // 0)
    assert info.value.culprit == "cell (1, 1)"


@pytest.mark.parametrize(
    ("cells", "culprit"),
    [
        ({**FULL3, (4, 1): 1}, "cell (4, 1)"),
        ({**FULL3, (1, 0): 1}, "cell (1, 0)"),
        ({**FULL3, (1, 1): 4}, "cell (1, 1)"),
        ({**FULL3, (1, 1): 0}, "cell (1, 1)"),
        ({**FULL3, (1, 1): "1"}, "cell (1, 1)"),
        ({**FULL3, (1, 1): True}, "cell (1, 1)"),
        ({**FULL3, "1,1": 1}, "cell '1,1'"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_cells_out_of_range_are_refused_naming_the_cell(cells: Any, culprit: str) -> None:
    with pytest.raises(DefinitionError) as info:
        _matrix(cells)
    assert info.value.culprit == culprit


@pytest.mark.parametrize(
    ("axis", "levels", "message"),
    [
        ("impacts", [], "at least one level"),
        ("impacts", [Impact(1, "High"), Impact(3, "Low")], "exactly 1..2 in order"),
        ("impacts", [Impact(2, "High"), Impact(1, "Low")], "exactly 1..2 in order"),
        ("impacts", [Impact(1, "High"), Impact(2, " ")], "non-empty label"),
        ("impacts", [Urgency(1, "High")], "expected an Impact"),
        ("impacts", "High", "expected a sequence"),
        ("urgencies", [Urgency(1, "High"), Urgency(2, "high")], "label 'high'"),
        ("priorities", [Priority(1)], "non-empty label"),
    ],
)
def test_axes_must_be_labelled_levels_one_to_n(axis: str, levels: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)) as info:
        _matrix({}, fallback=lambda i, u: 1, **{axis: levels})
    assert info.value.culprit == axis


def test_a_matrix_needs_a_name() -> None:
    with pytest.raises(DefinitionError) as info:
        _matrix(FULL3, name=" ")
    assert info.value.culprit == "name"


# -- looking up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("impact", "urgency", "field"),
    [
        (Impact(4), Urgency(1), "impact"),
        (Impact(1), Urgency(9), "urgency"),
        (1, Urgency(1), "impact"),
        (Impact(1), "High", "urgency"),
        (Urgency(1), Urgency(1), "impact"),
        (Impact(1), Impact(1), "urgency"),
        (None, None, "impact"),
    ],
    ids=repr,
)
def test_priority_for_refuses_wrong_types_and_levels_outside_the_matrix(
    impact: Any, urgency: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        PriorityMatrix.servicenow().priority_for(impact, urgency)
    assert info.value.field == field
    assert "1..3" in str(info.value)


def test_impact_accepts_a_level_number_a_label_in_any_case_or_an_impact() -> None:
    matrix = PriorityMatrix.servicenow()
    expected = Impact(2, "Medium")
    for value in (2, "medium", " MEDIUM ", "2", Impact(2), Impact(2, "whatever")):
        result = matrix.impact(value)
        assert (result, result.label) == (expected, "Medium")


def test_urgency_and_priority_normalise_like_impact() -> None:
    matrix = PriorityMatrix.itop()
    assert matrix.urgency("low") == Urgency(4)
    assert matrix.urgency(4).label == "Low"
    assert matrix.priority("critical").label == "Critical"
    assert matrix.priority(Priority(3)).label == "Medium"


@pytest.mark.parametrize(
    "value", [0, 4, -1, True, "4", "Huge", 2.0, None, Urgency(1), b"1"], ids=repr
)
def test_impact_refuses_anything_else_with_the_valid_range(value: Any) -> None:
    with pytest.raises(ValidationError, match=re.escape("1..3 (1 High, 2 Medium, 3 Low)")) as info:
        PriorityMatrix.servicenow().impact(value)
    assert info.value.field == "impact"


def test_default_impact_and_urgency_are_the_least_severe_levels() -> None:
    matrix = PriorityMatrix.itop()
    assert (matrix.default_impact.level, matrix.default_impact.label) == (3, "A person")
    assert (matrix.default_urgency.level, matrix.default_urgency.label) == (4, "Low")


ANYTHING = st.one_of(
    st.from_type(object),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from(["high", "LOW", " Medium ", "1", "3", "planning"]),
    st.builds(Impact, st.integers(1, 8), st.text(max_size=5)),
    st.builds(Urgency, st.integers(1, 8)),
    st.builds(Priority, st.integers(1, 8)),
    st.none(),
    st.booleans(),
    st.floats(),
)
MATRICES = st.sampled_from([factory() for factory in PROFILES.values()])


@given(MATRICES, ANYTHING, ANYTHING)
def test_priority_for_returns_the_cell_or_raises_validation_error_for_anything_else(
    matrix: PriorityMatrix, impact: Any, urgency: Any
) -> None:
    valid_impact = isinstance(impact, Impact) and impact.level <= len(matrix.impacts)
    valid_urgency = isinstance(urgency, Urgency) and urgency.level <= len(matrix.urgencies)
    if valid_impact and valid_urgency:
        priority = matrix.priority_for(impact, urgency)
        assert priority in matrix.priorities
        assert priority.label == matrix.priorities[priority.level - 1].label
    else:
        with pytest.raises(ValidationError) as info:
            matrix.priority_for(impact, urgency)
        assert info.value.field == ("urgency" if valid_impact else "impact")


@given(MATRICES, ANYTHING, st.sampled_from(["impact", "urgency", "priority"]))
def test_normalisers_return_a_level_of_the_matrix_or_raise_validation_error(
    matrix: PriorityMatrix, value: Any, which: str
) -> None:
    scale = {"impact": matrix.impacts, "urgency": matrix.urgencies, "priority": matrix.priorities}
    outcome: object
    try:
        outcome = getattr(matrix, which)(value)
    except ValidationError as exc:
        outcome = exc
    if isinstance(outcome, ValidationError):
        assert outcome.field == which
    else:
        assert outcome in scale[which]
        assert outcome.label == scale[which][outcome.level - 1].label


@given(MATRICES, st.data())
def test_raising_impact_or_urgency_severity_never_lowers_priority_severity(
    matrix: PriorityMatrix, data: st.DataObject
) -> None:
    n_imp, n_urg = len(matrix.impacts), len(matrix.urgencies)
    worse_i = data.draw(st.integers(1, n_imp))
    better_i = data.draw(st.integers(worse_i, n_imp))
    worse_u = data.draw(st.integers(1, n_urg))
    better_u = data.draw(st.integers(worse_u, n_urg))
    severe = matrix.priority_for(Impact(worse_i), Urgency(worse_u))
    milder = matrix.priority_for(Impact(better_i), Urgency(better_u))
    assert severe.level <= milder.level


# -- plain data -----------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profiles_round_trip_through_plain_data(profile: str) -> None:
    matrix = PROFILES[profile]()
    data = json.loads(json.dumps(matrix.to_dict()))
    again = PriorityMatrix.from_dict(data)
    assert again == matrix
    assert again.to_dict() == matrix.to_dict()


def test_a_named_fallback_is_written_by_name_with_zero_cells() -> None:
    data = PriorityMatrix.glpi(cells={(5, 5): 5}).to_dict()
    assert data["fallback"] == "glpi_half_up"
    assert data["cells"][0][0] == 2
    assert sum(value != 0 for row in data["cells"] for value in row) == 1
    assert PriorityMatrix.from_dict(data) == PriorityMatrix.glpi(cells={(5, 5): 5})


def test_an_unnamed_fallback_is_written_out_as_explicit_cells() -> None:
    matrix = _matrix({(1, 1): 1}, fallback=lambda i, u: 3)
    data = matrix.to_dict()
    assert "fallback" not in data
    assert data["cells"] == [[1, 3, 3], [3, 3, 3], [3, 3, 3]]
    assert PriorityMatrix.from_dict(data) == matrix


def test_from_dict_reads_short_rows_as_fallback_cells() -> None:
    data = PriorityMatrix.glpi().to_dict()
    data["cells"] = [[2]]
    matrix = PriorityMatrix.from_dict(data)
    assert matrix.priority_for(Impact(1), Urgency(1)).level == 2
    assert matrix.priority_for(Impact(5), Urgency(5)).level == glpi_half_up(5, 5)


def _sn_data(**changes: Any) -> dict[str, Any]:
    data = PriorityMatrix.servicenow().to_dict()
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_sn_data(cells=[[1, 2, 3], [2, 3, "x"], [3, 4, 4]]),
         "cells[1][2]: expected an integer priority level, got 'x'"),
        (_sn_data(cells=[[1, 2, 3], [2, 3, 4], [3, 4, True]]),
         "cells[2][2]: expected an integer priority level, got True"),
        (_sn_data(cells=[[9, 2, 3], [2, 3, 4], [3, 4, 4]]),
         "cells[0][0]: priority 9 is out of range"),
        (_sn_data(cells=[[1, 2, 3, 4], [2, 3, 4], [3, 4, 4]]), "cells[0]: 4 columns"),
        (_sn_data(cells=[[1], [2], [3], [4]]), "cells: 4 rows"),
        (_sn_data(cells=[[1, 2, 3], "abc", [3, 4, 4]]), "cells[1]: expected a list"),
        (_sn_data(cells="1,2,3"), "cells: expected a list of rows"),
        (_sn_data(cells=[[1, 2, 3], [2, 3, 0], [3, 4, 4]]), "impact 2 (Medium), urgency 3 (Low)"),
        (_sn_data(impacts="High"), "impacts: expected a list of labels"),
        (_sn_data(impacts=["High", ""]), "impacts[1]: expected a non-empty label"),
        (_sn_data(urgencies=[]), "urgencies: at least one level"),
        (_sn_data(priorities=["A", "a"]), "priorities: label 'a'"),
        (_sn_data(fallback="nearest"), "fallback: unknown fallback 'nearest'"),
        (_sn_data(name=3), "name: expected a string"),
        (_sn_data(cell=[]), "cell: unknown key"),
        ({"impacts": [], "urgencies": [], "priorities": []}, "name: missing"),
        ([["High"]], "a matrix must be a mapping"),
    ],
)  # fmt: skip
def test_from_dict_reports_malformed_data_with_its_key_path(data: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        PriorityMatrix.from_dict(data)


def test_from_mapping_builds_a_matrix_from_labels_or_levels() -> None:
    matrix = PriorityMatrix.from_mapping(
        "two-by-two",
        {("Wide", "Now"): "P1", ("wide", 2): 2, (2, "now"): "p2", ("Narrow", "Later"): 2},
        impacts=["Wide", "Narrow"],
        urgencies=["Now", "Later"],
        priorities=["P1", "P2"],
    )
    assert matrix.priority_for(Impact(1), Urgency(1)) == Priority(1)
    assert [matrix.priority_for(Impact(i), Urgency(u)).level for i in (1, 2) for u in (1, 2)] == [
        1,
        2,
        2,
        2,
    ]
    assert matrix.impact("narrow").label == "Narrow"


@pytest.mark.parametrize(
    "table",
    [
        {("Wide", "Soon"): 1},
        {("Wide", "Now"): "P3"},
        {("Wide", "Now"): 1, (1, 1): 1},
        {"Wide": 1},
    ],
    ids=repr,
)
def test_from_mapping_refuses_unknown_labels_and_repeated_cells(table: Any) -> None:
    with pytest.raises(DefinitionError):
        PriorityMatrix.from_mapping(
            "x", table, impacts=["Wide"], urgencies=["Now"], priorities=["P1", "P2"]
        )


def test_to_markdown_draws_the_table_of_the_domain_notes() -> None:
    lines = PriorityMatrix.servicenow().to_markdown().splitlines()
    assert lines == [
        "| Impact \\ Urgency | 1 High | 2 Medium | 3 Low |",
        "|---|---|---|---|",
        "| 1 High | 1 Critical | 2 High | 3 Moderate |",
        "| 2 Medium | 2 High | 3 Moderate | 4 Low |",
        "| 3 Low | 3 Moderate | 4 Low | 4 Low |",
    ]


def test_to_markdown_escapes_pipes_in_labels() -> None:
    matrix = PriorityMatrix.from_mapping(
        "pipes", {(1, 1): 1}, impacts=["a|b"], urgencies=["u"], priorities=["p"]
    )
    assert "a\\|b" in matrix.to_markdown()


def test_matrices_differing_in_one_cell_are_not_equal() -> None:
    assert PriorityMatrix.servicenow() != PriorityMatrix.servicenow_problem()
    itil_cells = PriorityMatrix.itil().to_dict()["cells"]
    assert itil_cells == PriorityMatrix.servicenow_problem().to_dict()["cells"]
