"""Configuration files, as properties: whatever valid configuration is written as TOML reads
back equal, and a bad value anywhere in a file is reported at (or above) its own key path."""

from __future__ import annotations

import copy
import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import DeskPolicies
from itil_incident.config import ConfigError, DeskConfig, default_config, dump_config, load_config
from itil_incident.config._issues import format_duration, parse_duration
from itil_incident.domain.values import Impact, Priority, Urgency
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.sla import SlaAgreement, SlaMetric, SlaPolicy, SlaPolicyVersion

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney")

labels = st.text(alphabet="abcdefXYZ 0123-/é'\"", min_size=1, max_size=10).filter(
    lambda text: text.strip() == text and text != "")


@st.composite
def matrices(draw: st.DrawFn) -> PriorityMatrix:
    sizes = [draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 6))]
    axes = [draw(st.lists(labels, min_size=size, max_size=size,
                          unique_by=lambda text: text.casefold())) for size in sizes]
    cells = {(i, u): draw(st.integers(1, sizes[2]))
             for i in range(1, sizes[0] + 1) for u in range(1, sizes[1] + 1)}
    return PriorityMatrix(
        name=draw(labels),
        impacts=[Impact(n, label) for n, label in enumerate(axes[0], 1)],
        urgencies=[Urgency(n, label) for n, label in enumerate(axes[1], 1)],
        priorities=[Priority(n, label) for n, label in enumerate(axes[2], 1)],
        cells=cells)


@st.composite
def day_windows(draw: st.DrawFn) -> list[tuple[time, time]]:
    edges = sorted(draw(st.lists(st.integers(0, 96), unique=True, max_size=6)))
    edges = edges[: len(edges) // 2 * 2]

    def clock(quarter: int) -> time:
        return time(0) if quarter == 96 else time(quarter // 4, quarter % 4 * 15)

    return [(clock(a), clock(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    windows = {day: draw(day_windows()) for day in range(7)}
    windows = {day: spans for day, spans in windows.items() if spans}
    if not windows:
        windows = {draw(st.integers(0, 6)): [(time(9), time(17))]}
    start = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
    offset = timezone(timedelta(minutes=draw(st.integers(-12 * 4, 14 * 4)) * 15))
    length = timedelta(minutes=draw(st.integers(1, 60 * 24 * 10)))
    closures = [(start.replace(tzinfo=offset), (start + length).replace(tzinfo=offset))]
    return BusinessCalendar(
        name=draw(labels), timezone=draw(st.sampled_from(ZONES)), windows=windows,
        holidays=draw(st.lists(st.dates(date(2020, 1, 1), date(2030, 12, 31)), max_size=4)),
        yearly_holidays=draw(st.lists(st.tuples(st.integers(1, 12), st.integers(1, 28)),
                                      max_size=3)),
        closures=closures if draw(st.booleans()) else ())


def round_trip(config: DeskConfig) -> DeskConfig:
    return load_config(dump_config(config))


@given(matrices(), matrices())
def test_any_valid_priority_matrices_read_back_equal(incident: PriorityMatrix,
                                                     problem: PriorityMatrix) -> None:
    config = DeskConfig(policies=DeskPolicies(priority_matrix=incident,
                                              problem_priority_matrix=problem))
    loaded = round_trip(config)
    assert loaded == config
    assert loaded.policies.priority_matrix == incident
    assert loaded.policies.problem_priority_matrix == problem


@given(calendars(), st.text(min_size=1, max_size=12), st.integers(1, 10**6))
def test_any_valid_calendar_reads_back_equal_under_its_name(
        calendar: BusinessCalendar, name: str, seconds: int) -> None:
    policies = DeskPolicies(auto_close_after=timedelta(seconds=seconds),
                            auto_close_calendar=calendar)
    config = DeskConfig(policies=policies, calendars={name: calendar})
    loaded = round_trip(config)
    assert loaded == config
    assert loaded.calendars[name] == calendar
    assert loaded.policies.auto_close_calendar is loaded.calendars[name]
    assert loaded.policies.auto_close_after == timedelta(seconds=seconds)


targets = st.dictionaries(st.sampled_from(list(SlaMetric)),
                          st.dictionaries(st.integers(1, 5),
                                          st.integers(1, 10**6).map(
                                              lambda s: timedelta(seconds=s)),
                                          min_size=1), min_size=1)


@given(st.lists(targets, min_size=1, max_size=3),
       st.lists(st.floats(0.01, 5, allow_nan=False), min_size=1, max_size=4, unique=True))
def test_any_valid_sla_targets_and_stages_read_back_equal(
        versions: list[dict[SlaMetric, dict[int, timedelta]]], stages: list[float]) -> None:
    always = BusinessCalendar.always()
    policy = SlaPolicy("p", [SlaPolicyVersion(
        version=number, effective_from=datetime(2026, number, 1, tzinfo=UTC),
        agreements=[SlaAgreement(name="a", calendar=always, targets=per_metric,
                                 stages=sorted(stages))], fallback="a")
        for number, per_metric in enumerate(versions, 1)])
    config = DeskConfig(policies=DeskPolicies(sla=policy))
    loaded = round_trip(config)
    assert loaded == config
    assert loaded.policies.sla == policy


@given(st.integers(1, 10**8))
def test_a_written_duration_reads_back_the_same(seconds: int) -> None:
    span = timedelta(seconds=seconds)
    assert parse_duration(format_duration(span)) == span


# -- a bad value anywhere ------------------------------------------------------------------------


def leaves(data: Any, path: str = "", *, tables: bool = False
           ) -> list[tuple[str, tuple[str | int, ...]]]:
    """Every scalar of ``data`` (and every table and array, with ``tables``): its key path (as
    issues write it) and its location."""
    found: list[tuple[str, tuple[str | int, ...]]] = []

    def walk(value: Any, text: str, where: tuple[str | int, ...]) -> None:
        if tables and where and isinstance(value, (dict, list)):
            found.append((text, where))
        if isinstance(value, dict):
            for name, item in value.items():
                bare = name.replace("-", "").replace("_", "").isalnum() and name.isascii()
                shown = name if bare else '"' + name + '"'
                walk(item, f"{text}.{shown}" if text else shown, (*where, name))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                walk(item, f"{text}[{position}]", (*where, position))
        else:
            found.append((text, where))

    walk(data, path, ())
    return found


DEFAULT_DATA = default_config().to_dict()
DEFAULT_LEAVES = leaves(DEFAULT_DATA)
DEFAULT_NODES = leaves(DEFAULT_DATA, tables=True)


def is_within(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith((outer + ".", outer + "["))


@settings(max_examples=300)
@given(st.sampled_from(DEFAULT_LEAVES))
def test_a_bad_value_anywhere_is_reported_at_or_above_its_path(
        leaf: tuple[str, tuple[str | int, ...]]) -> None:
    path, where = leaf
    data = copy.deepcopy(DEFAULT_DATA)
    holder: Any = data
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = math.nan
    with pytest.raises(ConfigError) as caught:
        load_config(data)
    issues = caught.value.issues
    assert any(issue.path and is_within(path, issue.path) for issue in issues), (
        path, [str(issue) for issue in issues])


odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
    st.datetimes(), st.dates(), st.times(),
    st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=4)),
                    max_size=2))


@settings(max_examples=400)
@given(st.sampled_from(DEFAULT_NODES), odd_values)
def test_any_value_anywhere_is_accepted_or_refused_with_a_config_error(
        leaf: tuple[str, tuple[str | int, ...]], value: object) -> None:
    _, where = leaf
    data = copy.deepcopy(DEFAULT_DATA)
    holder: Any = data
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = value
    issues: tuple[object, ...] = ()
    try:
        config: DeskConfig | None = load_config(data)
    except ConfigError as error:
        config, issues = None, error.issues
    assert (config is None) == bool(issues)


def test_the_default_has_many_places_to_go_wrong() -> None:
    assert len(DEFAULT_LEAVES) > 400
