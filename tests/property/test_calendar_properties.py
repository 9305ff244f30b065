"""Business calendars against a brute-force oracle, and the laws their answers obey.

The oracle reads the rule straight from the calendar's definition: a minute is working time when
its wall-clock reading in the zone falls inside a window of that reading's weekday, the reading's
date is not a holiday and no closure covers the minute. It steps minute by minute, so the
scenarios keep every boundary on a whole minute (windows, closures, starts; the zones' offset
changes since 2005 all fall on whole minutes) and the spans short.

Scenarios cluster around the zones' offset changes: spring forward and fall back in both
hemispheres, Lord Howe's 30-minute shift, Havana's and Cairo's changes at midnight,
Newfoundland's fall back across midnight (until 2010) and Apia's skipped day (2011).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident.policies.calendar import BusinessCalendar

ZONES = (
    "UTC",
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/St_Johns",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Asuncion",
    "Africa/Cairo",
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
)
FIRST = datetime(2005, 1, 1, tzinfo=UTC)
LAST = datetime(2031, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
#: How far the oracle walks before giving up on finding a due or working instant.
ORACLE_LIMIT = timedelta(days=4)


@dataclass(frozen=True)
class Scenario:
    """A calendar definition, kept as plain data for the oracle, and an instant near a change."""

    zone: str
    windows: dict[int, list[tuple[time, time]]]
    start: datetime
    holidays: list[date] = field(default_factory=list)
    yearly: list[tuple[int, int]] = field(default_factory=list)
    closures: list[tuple[datetime, datetime]] = field(default_factory=list)

    @functools.cached_property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(
            name="scenario",
            timezone=self.zone,
            windows=self.windows,
            holidays=self.holidays,
            yearly_holidays=self.yearly,
            closures=self.closures,
        )

    def oracle_working(self, minute: datetime) -> bool:
        """The rule itself, evaluated for one minute."""
        local = minute.astimezone(ZoneInfo(self.zone))
        if local.date() in self.holidays or (local.month, local.day) in self.yearly:
            return False
        if any(start <= minute < end for start, end in self.closures):
            return False
        now = local.time().replace(tzinfo=None)
        return any(
            start <= now and (end == time(0) or now < end)
            for start, end in self.windows.get(local.weekday(), ())
        )

    def oracle_between(self, start: datetime, end: datetime) -> timedelta:
        minutes = 0
        minute = start
        while minute < end:
            minutes += self.oracle_working(minute)
            minute += MINUTE
        return minutes * MINUTE

    def oracle_add(self, start: datetime, duration: timedelta) -> datetime | None:
        """The due instant, or None when it lies beyond ``start + ORACLE_LIMIT``."""
        if duration == timedelta(0):
            return start
        needed = duration // MINUTE
        minute = start
        while minute < start + ORACLE_LIMIT:
            if self.oracle_working(minute):
                needed -= 1
                if needed == 0:
                    return minute + MINUTE
            minute += MINUTE
        return None

    def oracle_next_working(self, start: datetime) -> datetime | None:
        minute = start
        while minute < start + ORACLE_LIMIT:
            if self.oracle_working(minute):
                return minute
            minute += MINUTE
        return None


@functools.cache
def offset_changes(zone: str) -> tuple[datetime, ...]:
    """The instants (whole minutes) at which ``zone`` changes its UTC offset, 2005-2030."""
    tz = ZoneInfo(zone)
    changes: list[datetime] = []
    day = FIRST
    while day < LAST:  # changes are at least four days apart: sample every three days
        following = day + timedelta(days=3)
        if day.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            low, high = 0, 3 * 1440  # minutes after `day`: offset as at `day` / at `following`
            before = day.astimezone(tz).utcoffset()
            while high - low > 1:
                middle = (low + high) // 2
                if (day + middle * MINUTE).astimezone(tz).utcoffset() == before:
                    low = middle
                else:
                    high = middle
            changes.append(day + high * MINUTE)
        day = following
    return tuple(changes)


def _day_windows(minutes: list[int]) -> list[tuple[time, time]]:
    edges = sorted(minutes)
    return [(_clock(edges[i]), _clock(edges[i + 1])) for i in range(0, len(edges) - 1, 2)]


def _clock(minute: int) -> time:
    return time(0) if minute == 1440 else time(minute // 60, minute % 60)


#: Window edges on a quarter-hour grid: office hours as well as the 02:00 / 02:30 / 02:45 / 03:00
#: local times at which Europe, America, Lord Howe and Chatham change their offsets.
day_edges = st.lists(
    st.integers(0, 96).map(lambda quarter: quarter * 15), unique=True, min_size=2, max_size=6
)


@st.composite
def weekly_windows(draw: st.DrawFn) -> dict[int, list[tuple[time, time]]]:
    """Two day patterns (the first never empty) spread over the week, plus days off."""
    patterns = [_day_windows(draw(day_edges)), _day_windows(draw(day_edges)), []]
    chosen = draw(st.lists(st.integers(0, 2), min_size=7, max_size=7))
    chosen[draw(st.integers(0, 6))] = 0
    return {day: patterns[pick] for day, pick in enumerate(chosen) if patterns[pick]}


full_week = {day: [(time(0), time(0))] for day in range(7)}


@st.composite
def scenarios(draw: st.DrawFn, *, special_days: bool = True) -> Scenario:
    """A random calendar in a random zone and a start instant (whole minute) near a change."""
    zone = draw(st.sampled_from(ZONES))
    changes = offset_changes(zone)
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        anchor = draw(st.sampled_from(changes))
    else:
        anchor = FIRST + draw(st.integers(0, (LAST - FIRST) // MINUTE - 1)) * MINUTE
    start = anchor + draw(st.integers(-3 * 1440, 1440)) * MINUTE
    windows = draw(weekly_windows())
    if not special_days:
        return Scenario(zone, windows, start)
    near = start.astimezone(ZoneInfo(zone)).date()
    # Near the start for the oracle's short spans, or up to four months on for long targets.
    some_days = (st.integers(-1, 6) | st.integers(-60, 120)).map(lambda k: near + timedelta(days=k))
    holidays = draw(st.lists(some_days, max_size=3))
    yearly = [(d.month, d.day) for d in draw(st.lists(some_days, max_size=1))]
    begins = st.integers(-600, 4 * 1440) | st.integers(0, 120 * 1440)
    closures = [
        (start + begin * MINUTE, start + (begin + length) * MINUTE)
        for begin, length in draw(st.lists(st.tuples(begins, st.integers(1, 2 * 1440)), max_size=2))
    ]
    return Scenario(zone, windows, start, holidays, yearly, closures)


minutes_span = st.integers(0, 3 * 1440).map(lambda n: n * MINUTE)
business_minutes = st.integers(0, 2 * 1440).map(lambda n: n * MINUTE)


def long_spans(max_days: int) -> st.SearchStrategy[timedelta]:
    """Whole days (drawn evenly; a huge integer range would favour tiny values) plus a part."""
    return st.builds(
        lambda days, micros: timedelta(days=days, microseconds=micros),
        st.integers(0, max_days),
        st.integers(0, 86_400 * 10**6 - 1),
    )


#: Up to 400 hours of business time (50 days of office hours), to the microsecond.
any_duration = st.builds(
    lambda hours, micros: timedelta(hours=hours, microseconds=micros),
    st.integers(0, 400),
    st.integers(0, 3_600 * 10**6 - 1),
)
jitter = st.integers(0, 59_999_999).map(lambda n: timedelta(microseconds=n))

ORACLE = settings(max_examples=300, deadline=None)
CHEAP = settings(max_examples=400, deadline=None)


# -- agreement with the minute-stepping oracle ----------------------------------------------------


@ORACLE
@given(scenarios(), minutes_span)
def test_business_time_between_two_instants_matches_the_oracle(
    scenario: Scenario, span: timedelta
) -> None:
    start = scenario.start
    assert scenario.calendar.between(start, start + span) == scenario.oracle_between(
        start, start + span
    )


@ORACLE
@given(scenarios(), business_minutes)
def test_the_due_instant_matches_the_oracle(scenario: Scenario, duration: timedelta) -> None:
    due = scenario.calendar.add(scenario.start, duration)
    expected = scenario.oracle_add(scenario.start, duration)
    if expected is None:
        assert due > scenario.start + ORACLE_LIMIT
    else:
        assert due == expected


@ORACLE
@given(scenarios(), minutes_span, jitter)
def test_is_working_matches_the_oracle(
    scenario: Scenario, offset: timedelta, within: timedelta
) -> None:
    minute = scenario.start + offset
    assert scenario.calendar.is_working(minute + within) == scenario.oracle_working(minute)


@ORACLE
@given(scenarios())
def test_the_next_working_instant_matches_the_oracle(scenario: Scenario) -> None:
    found = scenario.calendar.next_working(scenario.start)
    expected = scenario.oracle_next_working(scenario.start)
    if expected is None:
        assert found >= scenario.start + ORACLE_LIMIT
    else:
        assert found == expected


# -- laws, on arbitrary (microsecond) instants and long durations ---------------------------------


@CHEAP
@given(scenarios(), jitter, any_duration)
def test_the_due_instant_is_the_first_at_which_the_duration_has_passed(
    scenario: Scenario, within: timedelta, duration: timedelta
) -> None:
    start = scenario.start + within
    due = scenario.calendar.add(start, duration)
    assert scenario.calendar.between(start, due) == duration
    if duration:
        assert scenario.calendar.is_working(due - timedelta(microseconds=1))


@CHEAP
@given(scenarios(), long_spans(100), long_spans(150))
def test_business_time_over_months_is_the_sum_of_its_days(
    scenario: Scenario, before: timedelta, length: timedelta
) -> None:
    # Spans of a day are computed day by day (their parts agree with the oracle); long spans
    # jump whole weeks, so this checks the jumps against the days they skip. Starting up to 100
    # days before the scenario's start puts its offset change, holidays and closures inside.
    start = scenario.start - before
    end = start + length
    calendar = scenario.calendar
    day = timedelta(days=1)
    days = [start + k * day for k in range((end - start) // day + 1)] + [end]
    total = sum((calendar.between(a, b) for a, b in itertools.pairwise(days)), timedelta(0))
    assert calendar.between(start, end) == total


@CHEAP
@given(scenarios(), jitter, any_duration, any_duration)
def test_due_instants_never_move_earlier_as_the_duration_grows(
    scenario: Scenario, within: timedelta, first: timedelta, second: timedelta
) -> None:
    start = scenario.start + within
    shorter, longer = sorted((first, second))
    assert scenario.calendar.add(start, shorter) <= scenario.calendar.add(start, longer)


@CHEAP
@given(scenarios(), jitter, st.lists(minutes_span, min_size=3, max_size=3))
def test_elapsed_business_time_adds_up_and_never_decreases_as_the_end_moves_forward(
    scenario: Scenario, within: timedelta, spans: list[timedelta]
) -> None:
    first, middle, last = (scenario.start + within + span for span in sorted(spans))
    calendar = scenario.calendar
    assert calendar.between(first, middle) <= calendar.between(first, last)
    assert calendar.between(first, middle) + calendar.between(middle, last) == calendar.between(
        first, last
    )


@CHEAP
@given(scenarios(), minutes_span, jitter)
def test_an_instant_is_working_exactly_when_the_next_microsecond_counts(
    scenario: Scenario, offset: timedelta, within: timedelta
) -> None:
    instant = scenario.start + offset + within
    tiny = timedelta(microseconds=1)
    calendar = scenario.calendar
    assert calendar.is_working(instant) == (calendar.between(instant, instant + tiny) == tiny)


@CHEAP
@given(scenarios(), minutes_span, jitter)
def test_the_next_working_instant_is_working_and_nothing_before_it_is(
    scenario: Scenario, offset: timedelta, within: timedelta
) -> None:
    instant = scenario.start + offset + within
    found = scenario.calendar.next_working(instant)
    assert found >= instant
    assert scenario.calendar.is_working(found)
    assert scenario.calendar.between(instant, found) == timedelta(0)


@CHEAP
@given(scenarios(), jitter, minutes_span)
def test_the_working_periods_are_ordered_and_add_up_to_the_business_time(
    scenario: Scenario, within: timedelta, span: timedelta
) -> None:
    start = scenario.start + within
    periods = scenario.calendar.working_periods(start, start + span)
    assert all(a < b for a, b in periods)
    assert all(b < c for (_, b), (c, _) in itertools.pairwise(periods))
    total = sum((b - a for a, b in periods), timedelta(0))
    assert total == scenario.calendar.between(start, start + span)


@CHEAP
@given(scenarios(special_days=False), jitter, long_spans(40))
def test_a_calendar_open_all_day_every_day_counts_every_instant(
    scenario: Scenario, within: timedelta, span: timedelta
) -> None:
    calendar = BusinessCalendar(name="all day", timezone=scenario.zone, windows=full_week)
    start = scenario.start + within
    assert calendar.between(start, start + span) == span
    assert calendar.add(start, span) == start + span


@CHEAP
@given(scenarios())
def test_a_calendar_survives_the_round_trip_through_plain_data(scenario: Scenario) -> None:
    calendar = scenario.calendar
    assert BusinessCalendar.from_dict(calendar.to_dict()) == calendar
