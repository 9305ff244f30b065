"""The Hypothesis strategies of itil_incident.testing generate what they promise."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    CategoryPath,
    CategoryTree,
    Channel,
    FrozenClock,
    Incident,
    ItilIncidentError,
    PriorityMatrix,
    ServiceDesk,
    ValidationError,
    testing,
)
from itil_incident.testing import make_desk
from itil_incident.testing import strategies as its

_QUICK = settings(max_examples=40, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
# For find(): look for an example without shrinking it (shrinking an incident is slow).
_SEARCH = settings(max_examples=1000, phases=[Phase.generate], deadline=None, database=None,
                   derandomize=True)  # a fixed draw: the search cannot flake
_AGENT = Actor("alice", "Alice", {"agent"})
#: What the domain refuses in any stored text: NUL and the surrogates.
_NOT_TEXT = frozenset({"\x00"}) | {chr(code) for code in range(0xD800, 0xE000)}
#: Every raw line break a single-line value (a title, an identifier) may not hold: what
#: ``str.splitlines`` splits on.
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def _texts(value: object) -> list[str]:
    """Every string inside ``value`` (mapping keys and values, collection items)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for pair in value.items() for item in pair for text in _texts(item)]
    if isinstance(value, list | tuple | set | frozenset):
        return [text for item in value for text in _texts(item)]
    return []


def _is_text(text: str) -> bool:
    """Whether the domain accepts ``text`` as stored text: no NUL, no surrogate."""
    return _NOT_TEXT.isdisjoint(text)


def _is_line(text: str) -> bool:
    """Whether ``text`` is valid text on a single line, checked two independent ways."""
    single = _LINE_BREAKS.isdisjoint(text)
    assert single == (text.splitlines() == [text] or text == "")
    return single and _is_text(text)


@_QUICK
@given(its.log_arguments(), its.actors())
def test_log_arguments_always_log_a_new_incident(arguments: dict[str, Any], actor: Actor
                                                 ) -> None:
    assert all(_is_text(text) for text in _texts(arguments))
    for name in ("title", "service", "caller", "configuration_items"):
        assert all(_is_line(text) for text in _texts(arguments.get(name)))
    assert _is_line(actor.id)
    assert _is_line(actor.name)
    desk = make_desk()
    incident = desk.log_incident(actor=actor, **arguments)
    assert (incident.status, incident.version) == ("new", 1)
    assert incident.title == arguments["title"]
    assert desk.get_incident(incident.id).logged_by == actor


@_QUICK
@given(its.naive_datetimes())
def test_naive_datetimes_are_refused_by_log_incident(instant: datetime) -> None:
    assert instant.tzinfo is None
    with pytest.raises(ValidationError) as refused:
        make_desk().log_incident(actor=_AGENT, title="Printer jams", occurred_at=instant)
    assert refused.value.field == "occurred_at"


@_QUICK
@given(its.aware_datetimes())
def test_aware_datetimes_have_an_offset_and_start_a_frozen_clock(instant: datetime) -> None:
    assert instant.utcoffset() is not None
    assert FrozenClock(instant).now() == instant.astimezone(UTC)


def test_aware_datetimes_include_fixed_offsets_other_than_utc() -> None:
    found = find(its.aware_datetimes(),
                 lambda d: d.utcoffset() not in (None, timedelta(0)) and d.dst() is None)
    assert found.utcoffset() != timedelta(0)


def test_aware_datetimes_include_named_zones_and_utc() -> None:
    named = find(its.aware_datetimes(), lambda d: d.tzname() == "CET")
    utc = find(its.aware_datetimes(), lambda d: d.tzinfo is UTC)
    assert named.utcoffset() == timedelta(hours=1)
    assert utc.utcoffset() == timedelta(0)


@_QUICK
@given(its.titles())
def test_titles_are_non_blank_short_single_lines_without_nul_or_surrogates_and_accepted(
        title: str) -> None:
    assert title.strip()
    assert len(title) <= 300
    assert "\x00" not in title
    assert not any(unicodedata.category(char) == "Cs" for char in title)
    assert not _LINE_BREAKS.intersection(title)
    assert title.splitlines() == [title]
    desk = make_desk()
    assert desk.log_incident(actor=_AGENT, title=title).title == title
    assert desk.open_problem(actor=_AGENT, title=title).title == title


def _bidi_rtl(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL", "RLO", "RLE", "RLI")


@pytest.mark.parametrize(("kind", "has"), [
    ("a control character other than NUL and the line breaks",
     lambda c: unicodedata.category(c) == "Cc" and c not in _LINE_BREAKS and c != "\x00"),
    ("a format character (BOM, zero-width, bidi override)",
     lambda c: unicodedata.category(c) == "Cf"),
    ("an emoji beyond the BMP", lambda c: ord(c) >= 0x1F300 and unicodedata.category(c) == "So"),
    ("a right-to-left character", _bidi_rtl),
    ("a combining mark", lambda c: unicodedata.category(c) == "Mn"),
], ids=["control", "format", "emoji", "rtl", "combining"])
def test_titles_stay_rich_in_everything_the_domain_accepts(
        kind: str, has: Callable[[str], bool]) -> None:
    # The few fixed example titles are plain ASCII: what is found here was drawn.
    found = find(its.titles(), lambda t: any(map(has, t)), settings=_SEARCH)
    assert any(map(has, found)), kind


def test_multi_line_texts_hold_line_breaks_where_the_domain_allows_them() -> None:
    found = find(its.log_arguments(),
                 lambda a: not _LINE_BREAKS.isdisjoint(a.get("description", "")),
                 settings=_SEARCH)
    assert not _LINE_BREAKS.isdisjoint(found["description"])
    note = find(its.commands(["add_work_note"]),
                lambda c: not _LINE_BREAKS.isdisjoint(str(c.kwargs["text"])), settings=_SEARCH)
    assert not _LINE_BREAKS.isdisjoint(str(note.kwargs["text"]))


@_QUICK
@given(its.actors())
def test_actors_are_valid_actors_with_a_single_line_id_and_name(actor: Actor) -> None:
    assert isinstance(actor, Actor)
    assert actor.id.strip()
    assert _is_line(actor.id)
    assert _is_line(actor.name)


@_QUICK
@given(its.channels())
def test_channels_are_channels(channel: Channel) -> None:
    assert channel in set(Channel)


@_QUICK
@given(st.data())
def test_levels_are_the_labelled_levels_of_the_given_matrix(data: st.DataObject) -> None:
    matrix = PriorityMatrix.itop()
    impact = data.draw(its.impacts(matrix))
    urgency = data.draw(its.urgencies(matrix))
    priority = data.draw(its.priorities(matrix))
    assert (impact.label, urgency.label, priority.label) == (
        matrix.impact(impact.level).label,
        matrix.urgency(urgency.level).label,
        matrix.priority(priority.level).label,
    )


def test_levels_default_to_the_servicenow_matrix_and_reach_every_level() -> None:
    matrix = PriorityMatrix.servicenow()
    assert find(its.urgencies(), lambda u: u.level == 3).label == matrix.urgencies[2].label
    assert find(its.priorities(), lambda p: p.level == 5).label == "Planning"
    assert find(its.impacts(), lambda i: i.level == 1).label == matrix.impacts[0].label


def test_itop_urgencies_reach_its_fourth_level() -> None:
    assert find(its.urgencies(PriorityMatrix.itop()), lambda u: u.level == 4).level == 4


@_QUICK
@given(its.category_paths())
def test_category_paths_are_known_to_the_default_tree(path: CategoryPath) -> None:
    assert path in CategoryTree.default()


def test_category_paths_follow_the_given_tree() -> None:
    tree = CategoryTree(["Facilities/Heating", "Facilities/Lifts"])
    for name in ("Facilities", "Facilities/Heating", "Facilities/Lifts"):
        path = CategoryPath.parse(name)
        assert find(its.category_paths(tree), path.__eq__) == path


def _named(name: str) -> Callable[[its.Command], bool]:
    return lambda command: command.name == name


@pytest.mark.parametrize("name", its.COMMAND_NAMES)
def test_commands_cover_every_desk_command(name: str) -> None:
    assert find(its.commands(), _named(name), settings=_SEARCH).name == name


def test_commands_can_be_restricted_to_some_names() -> None:
    found = find(st.lists(its.commands(["resolve", "close"]), min_size=20), lambda _: True)
    assert {command.name for command in found} <= {"resolve", "close"}


def test_commands_refuse_unknown_names() -> None:
    with pytest.raises(ValidationError):
        its.commands(["reboot"])


@_QUICK
@given(its.log_arguments(), st.lists(its.commands(), max_size=15), its.actors())
def test_commands_apply_raising_nothing_but_library_errors(
    arguments: dict[str, Any], commands: list[its.Command], actor: Actor
) -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    desk = make_desk(clock=clock)
    incident_id = desk.log_incident(actor=actor, **arguments).id
    for command in commands:
        assert all(_is_text(text) for text in _texts(dict(command.kwargs)))
        clock.advance(minutes=5)
        try:
            changed = its.apply_command(desk, incident_id, actor, command)
        except ItilIncidentError:
            continue
        assert changed.id == incident_id


def _outcomes(commands: list[its.Command]) -> set[bool]:
    desk = make_desk()
    incident_id = desk.log_incident(actor=_AGENT, title="VPN drops").id
    accepted: set[bool] = set()
    for command in commands:
        try:
            its.apply_command(desk, incident_id, _AGENT, command)
        except ItilIncidentError:
            accepted.add(False)
        else:
            accepted.add(True)
    return accepted


def test_command_sequences_reach_accepted_and_refused_commands() -> None:
    found = find(st.lists(its.commands(), max_size=10), lambda cs: _outcomes(cs) == {True, False})
    assert _outcomes(found) == {True, False}


def test_apply_command_refuses_an_unknown_command() -> None:
    desk = make_desk()
    incident_id = desk.log_incident(actor=_AGENT, title="VPN drops").id
    with pytest.raises(ValidationError):
        its.apply_command(desk, incident_id, _AGENT, its.Command("reboot", {}))


def test_a_command_is_a_frozen_hashable_value_that_shows_its_arguments() -> None:
    command = its.Command("resolve", {"code": "duplicate", "notes": "Same as INC1"})
    assert command == its.Command("resolve", {"notes": "Same as INC1", "code": "duplicate"})
    assert hash(command) == hash(its.Command("resolve", {"code": "duplicate", "notes": "x"}))
    assert repr(command) == "resolve(code='duplicate', notes='Same as INC1')"
    with pytest.raises(TypeError):
        command.kwargs["code"] = "other"  # type: ignore[index]  # proving it is read-only


@_QUICK
@given(its.incidents())
def test_incidents_are_consistent_with_their_history(incident: Incident) -> None:
    assert incident.version == len(incident.timeline())
    folded = Incident.from_history(incident.timeline(), incident.workflow)
    assert folded.snapshot() == incident.snapshot()


@pytest.mark.parametrize("status", ["new", "assigned", "in_progress", "on_hold", "resolved",
                                    "closed", "cancelled"])
def test_incidents_reach_every_state_of_the_default_lifecycle(status: str) -> None:
    found = find(its.incidents(), lambda i: i.status == status, settings=_SEARCH)
    assert found.status == status


def test_incidents_use_the_given_desk_factory() -> None:
    desks: list[ServiceDesk] = []

    def factory() -> ServiceDesk:
        desks.append(make_desk())
        return desks[-1]

    incident = find(its.incidents(factory), lambda _: True, settings=_SEARCH)
    assert desks
    assert desks[-1].get_incident(incident.id).snapshot() == incident.snapshot()


@pytest.mark.parametrize("missing", ["hypothesis", "pytest"])
def test_importing_the_kit_without_its_extra_says_how_to_install_it(missing: str) -> None:
    program = (f"import sys; sys.modules[{missing!r}] = None\n"
               "try:\n    import itil_incident.testing.strategies\n"
               "except ImportError as error:\n    print(error)\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            check=True)
    assert "pip install 'itil-incident[testing]'" in result.stdout
    assert missing in result.stdout


def test_the_kit_exports_a_sorted_all_of_names_it_defines() -> None:
    assert testing.__all__ == sorted(testing.__all__)
    assert all(hasattr(testing, name) for name in testing.__all__)
    assert testing.strategies is its
