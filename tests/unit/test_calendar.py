"""Business calendars: the worked examples, the local-time rule at offset changes, holidays,
closures, refusals of bad definitions, and plain data."""

from __future__ import annotations

import sys
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
import pytest

from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies.calendar import BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
HOUR = timedelta(hours=1)
WHOLE_DAY = [(time(0), time(0))]


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def office() -> BusinessCalendar:
    """Monday to Friday, 09:00-17:00, Paris time."""
    return BusinessCalendar.office("Europe/Paris")


def sundays(zone: str, *windows: tuple[time, time]) -> BusinessCalendar:
    return BusinessCalendar(name="sunday", timezone=zone, windows={6: list(windows)})


# -- the worked examples (DOMAIN.md, "SLA clocks in use") ---------------------------------------


def test_started_at_14_00_an_sla_has_3_business_and_19_actual_hours_at_09_00_next_working_day(
    office: BusinessCalendar,
) -> None:
    started = paris(2026, 1, 5, 14)  # Monday
    next_morning = office.next_working(paris(2026, 1, 5, 17))
    assert next_morning == paris(2026, 1, 6, 9)
    assert office.between(started, next_morning) == 3 * HOUR
    assert next_morning - started == 19 * HOUR


def test_8_business_hours_from_friday_16_00_are_due_monday_16_00(
    office: BusinessCalendar,
) -> None:
    assert office.add(paris(2026, 1, 9, 16), 8 * HOUR) == paris(2026, 1, 12, 16)


def test_without_a_schedule_10_hours_from_10_30_are_due_at_20_30_the_same_day() -> None:
    assert BusinessCalendar.always().add(utc(2026, 1, 5, 10, 30), 10 * HOUR) == utc(
        2026, 1, 5, 20, 30
    )


def test_24_business_hours_from_monday_09_00_are_due_wednesday_17_00(
    office: BusinessCalendar,
) -> None:
    assert office.add(paris(2026, 1, 5, 9), 24 * HOUR) == paris(2026, 1, 7, 17)


def test_friday_16_00_to_monday_10_00_holds_2_business_hours(office: BusinessCalendar) -> None:
    assert office.between(paris(2026, 1, 9, 16), paris(2026, 1, 12, 10)) == 2 * HOUR


# -- the operations ------------------------------------------------------------------------------


def test_a_target_that_runs_out_at_the_end_of_a_window_is_due_then(
    office: BusinessCalendar,
) -> None:
    assert office.add(paris(2026, 1, 5, 9), 8 * HOUR) == paris(2026, 1, 5, 17)


def test_a_zero_duration_is_due_at_the_start_even_outside_working_time(
    office: BusinessCalendar,
) -> None:
    assert office.add(paris(2026, 1, 10, 12), timedelta(0)) == paris(2026, 1, 10, 12)


def test_a_target_started_outside_working_time_counts_from_the_next_window(
    office: BusinessCalendar,
) -> None:
    assert office.add(paris(2026, 1, 10, 12), HOUR) == paris(2026, 1, 12, 10)


def test_business_time_is_zero_when_the_end_is_not_after_the_start(
    office: BusinessCalendar,
) -> None:
    assert office.between(paris(2026, 1, 5, 12), paris(2026, 1, 5, 10)) == timedelta(0)


def test_a_lunch_break_is_not_business_time() -> None:
    calendar = BusinessCalendar.office("Europe/Paris", lunch=(time(12), time(13)))
    assert calendar.between(paris(2026, 1, 5), paris(2026, 1, 6)) == 7 * HOUR
    assert not calendar.is_working(paris(2026, 1, 5, 12, 30))
    assert calendar.add(paris(2026, 1, 5, 11), 2 * HOUR) == paris(2026, 1, 5, 14)


def test_a_window_start_is_working_and_its_end_is_not(office: BusinessCalendar) -> None:
    assert office.is_working(paris(2026, 1, 5, 9))
    assert not office.is_working(paris(2026, 1, 5, 17))


def test_the_next_working_instant_of_a_working_instant_is_itself(
    office: BusinessCalendar,
) -> None:
    instant = paris(2026, 1, 5, 10, 17)
    assert office.next_working(instant) == instant


def test_the_working_periods_explain_the_business_time(office: BusinessCalendar) -> None:
    assert office.working_periods(paris(2026, 1, 9, 16), paris(2026, 1, 12, 10)) == [
        (utc(2026, 1, 9, 15), utc(2026, 1, 9, 16)),
        (utc(2026, 1, 12, 8), utc(2026, 1, 12, 9)),
    ]


def test_working_periods_that_touch_across_midnight_are_joined() -> None:
    periods = BusinessCalendar.always().working_periods(utc(2026, 1, 1), utc(2026, 4, 1))
    assert periods == [(utc(2026, 1, 1), utc(2026, 4, 1))]


def test_results_are_standard_utc_datetimes_whatever_the_input_type(
    office: BusinessCalendar,
) -> None:
    start = pendulum.datetime(2026, 1, 9, 16, tz="Europe/Paris")
    due = office.add(start, 8 * HOUR)
    assert type(due) is datetime
    assert due.tzinfo is UTC
    assert due == utc(2026, 1, 12, 15)
    assert office.between(start, pendulum.datetime(2026, 1, 12, 10, tz="Europe/Paris")) == (
        2 * HOUR
    )


def test_durations_and_instants_are_exact_to_the_microsecond(office: BusinessCalendar) -> None:
    start = paris(2026, 1, 5, 16) + timedelta(microseconds=3)
    duration = HOUR + timedelta(microseconds=999_999)
    due = office.add(start, duration)
    assert due == paris(2026, 1, 6, 9) + timedelta(seconds=1, microseconds=2)
    assert office.between(start, due) == duration


def test_a_year_of_business_days_is_due_on_the_last_working_day_of_the_year() -> None:
    calendar = BusinessCalendar.office("Europe/Paris", yearly_holidays=[(1, 1), (12, 25)])
    # 2026 has 261 weekdays; 1 January (Thursday) and 25 December (Friday) are holidays.
    assert calendar.add(paris(2026, 1, 1), 259 * 8 * HOUR) == paris(2026, 12, 31, 17)
    assert calendar.between(paris(2026, 1, 1), paris(2027, 1, 1)) == 259 * 8 * HOUR


def test_long_targets_skip_whole_weeks_instead_of_visiting_every_day(
    office: BusinessCalendar,
) -> None:
    ten_years = 10 * 52 * 5 * 8 * HOUR
    office.add(paris(2026, 1, 5, 9), ten_years)
    # Only days near offset changes and the week ends around them are looked at one by one.
    assert len(office._blocks) < 3653 / 5


# -- offset changes (the local-time rule) --------------------------------------------------------


def test_a_paris_day_open_all_day_lasts_23_hours_in_spring_and_25_in_autumn() -> None:
    calendar = sundays("Europe/Paris", (time(0), time(0)))
    assert calendar.between(paris(2026, 3, 29), paris(2026, 3, 30)) == 23 * HOUR
    assert calendar.between(paris(2026, 10, 25), paris(2026, 10, 26)) == 25 * HOUR


def test_a_window_boundary_the_clock_skips_falls_on_the_instant_the_clock_jumps() -> None:
    calendar = sundays("Europe/Paris", (time(2, 30), time(4)))
    # 29 March 2026: 02:00 CET -> 03:00 CEST at 01:00 UTC; the window opens at 03:00 CEST.
    assert calendar.working_periods(paris(2026, 3, 29), paris(2026, 3, 30)) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    ]


def test_a_window_that_spans_the_repeated_hour_in_paris_gains_it() -> None:
    calendar = sundays("Europe/Paris", (time(0), time(6)))
    # 25 October 2026: 03:00 CEST -> 02:00 CET at 01:00 UTC.
    assert calendar.working_periods(paris(2026, 10, 25), paris(2026, 10, 26)) == [
        (utc(2026, 10, 24, 22), utc(2026, 10, 25, 5))
    ]
    assert calendar.add(paris(2026, 10, 25), 7 * HOUR) == utc(2026, 10, 25, 5)


def test_a_window_starting_in_the_repeated_hour_pauses_while_the_clock_shows_earlier_times() -> (
    None
):
    calendar = sundays("Europe/Paris", (time(2, 30), time(8)))
    assert calendar.working_periods(paris(2026, 10, 25), paris(2026, 10, 26)) == [
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1)),  # 02:30-03:00 CEST
        (utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 7)),  # 02:30-08:00 CET
    ]
    assert not calendar.is_working(utc(2026, 10, 25, 1, 15))  # 02:15 CET, the second time


def test_a_window_ending_in_the_repeated_hour_works_again_when_the_clock_shows_it_again() -> None:
    calendar = sundays("Europe/Paris", (time(1), time(2, 30)))
    assert calendar.working_periods(paris(2026, 10, 25), paris(2026, 10, 26)) == [
        (utc(2026, 10, 24, 23), utc(2026, 10, 25, 0, 30)),  # 01:00-02:30 CEST
        (utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 30)),  # 02:00-02:30 CET
    ]


def test_office_hours_follow_the_local_clock_across_the_new_york_spring_change() -> None:
    calendar = BusinessCalendar.office("America/New_York")
    assert calendar.next_working(datetime(2026, 3, 1, 12, tzinfo=NEW_YORK)) == utc(2026, 3, 2, 14)
    assert calendar.next_working(datetime(2026, 3, 8, 12, tzinfo=NEW_YORK)) == utc(2026, 3, 9, 13)
    friday = datetime(2026, 3, 6, 16, tzinfo=NEW_YORK)
    assert calendar.add(friday, 2 * HOUR) == utc(2026, 3, 9, 14)  # Monday 10:00 EDT


def test_a_night_window_loses_the_skipped_hour_in_new_york() -> None:
    calendar = sundays("America/New_York", (time(1), time(5)))
    start = datetime(2026, 3, 8, 1, tzinfo=NEW_YORK)  # 06:00 UTC; 02:00 EST -> 03:00 EDT
    assert calendar.working_periods(start, start + 6 * HOUR) == [
        (utc(2026, 3, 8, 6), utc(2026, 3, 8, 9))
    ]
    assert calendar.add(start, 2 * HOUR) == utc(2026, 3, 8, 8)  # 04:00 EDT


def test_a_new_york_window_starting_in_the_repeated_hour_works_each_time_the_clock_shows_it() -> (
    None
):
    calendar = sundays("America/New_York", (time(1, 30), time(3)))
    # 1 November 2026: 02:00 EDT -> 01:00 EST at 06:00 UTC.
    assert calendar.working_periods(utc(2026, 11, 1), utc(2026, 11, 2)) == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6)),  # 01:30-02:00 EDT
        (utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 8)),  # 01:30-03:00 EST
    ]


def test_lord_howe_days_last_24_and_a_half_hours_in_april_and_23_and_a_half_in_october() -> None:
    calendar = sundays("Australia/Lord_Howe", (time(0), time(0)))
    april = datetime(2026, 4, 5, tzinfo=LORD_HOWE)  # 02:00 +11:00 -> 01:30 +10:30
    october = datetime(2026, 10, 4, tzinfo=LORD_HOWE)  # 02:00 +10:30 -> 02:30 +11:00
    assert calendar.between(april, april + 2 * 24 * HOUR) == timedelta(hours=24, minutes=30)
    assert calendar.between(october, october + 2 * 24 * HOUR) == timedelta(hours=23, minutes=30)


def test_lord_howe_half_hour_changes_move_window_boundaries_by_half_an_hour() -> None:
    skipped = sundays("Australia/Lord_Howe", (time(2), time(3)))
    assert skipped.working_periods(utc(2026, 10, 3), utc(2026, 10, 5)) == [
        (utc(2026, 10, 3, 15, 30), utc(2026, 10, 3, 16))  # opens at 02:30 +11:00
    ]
    repeated = sundays("Australia/Lord_Howe", (time(1), time(2)))
    assert repeated.working_periods(utc(2026, 4, 4), utc(2026, 4, 6)) == [
        (utc(2026, 4, 4, 14), utc(2026, 4, 4, 15, 30))  # 01:00 +11:00 to 02:00 +10:30
    ]


def test_where_the_clock_falls_back_across_midnight_the_repeated_minutes_keep_their_date() -> None:
    # St. John's, 29 October 2006: 00:01 NDT -> 23:01 NST on the 28th (a Saturday).
    calendar = BusinessCalendar(
        name="saturday", timezone="America/St_Johns", windows={5: WHOLE_DAY}
    )
    assert calendar.working_periods(utc(2006, 10, 27), utc(2006, 10, 31)) == [
        (utc(2006, 10, 28, 2, 30), utc(2006, 10, 29, 2, 30)),
        (utc(2006, 10, 29, 2, 31), utc(2006, 10, 29, 3, 30)),
    ]
    assert calendar.add(utc(2006, 10, 29, 2, 29), 2 * timedelta(minutes=1)) == utc(
        2006, 10, 29, 2, 32
    )


# -- holidays and closures -----------------------------------------------------------------------


def test_a_holiday_date_has_no_business_time() -> None:
    calendar = BusinessCalendar.office("Europe/Paris", holidays=[date(2026, 1, 7)])
    assert calendar.add(paris(2026, 1, 6, 16), 2 * HOUR) == paris(2026, 1, 8, 10)
    assert not calendar.is_working(paris(2026, 1, 7, 10))


def test_a_yearly_holiday_recurs_every_year() -> None:
    calendar = BusinessCalendar.office("Europe/Paris", yearly_holidays=[(12, 25)])
    assert calendar.between(paris(2026, 12, 25), paris(2026, 12, 26)) == timedelta(0)
    assert calendar.between(paris(2030, 12, 25), paris(2030, 12, 26)) == timedelta(0)
    assert calendar.between(paris(2030, 12, 24), paris(2030, 12, 25)) == 8 * HOUR


def test_a_yearly_holiday_on_29_february_applies_in_leap_years_only() -> None:
    calendar = BusinessCalendar.office("Europe/Paris", weekdays=range(7), yearly_holidays=[(2, 29)])
    assert calendar.between(paris(2028, 2, 29), paris(2028, 3, 1)) == timedelta(0)
    assert calendar.between(paris(2027, 2, 28), paris(2027, 3, 2)) == 16 * HOUR


def test_a_holiday_is_a_local_date_of_the_calendar_zone() -> None:
    calendar = BusinessCalendar(
        name="all day", timezone="Pacific/Auckland", windows=dict.fromkeys(range(7), WHOLE_DAY),
        holidays=[date(2026, 1, 6)],
    )  # fmt: skip
    auckland = ZoneInfo("Pacific/Auckland")
    assert calendar.working_periods(utc(2026, 1, 5), utc(2026, 1, 7)) == [
        (utc(2026, 1, 5), datetime(2026, 1, 6, tzinfo=auckland)),
        (datetime(2026, 1, 7, tzinfo=auckland), utc(2026, 1, 7)),
    ]


def test_public_holidays_of_a_country_come_from_the_holidays_package() -> None:
    pytest.importorskip("holidays", reason="the optional 'holidays' package is not installed")
    calendar = BusinessCalendar.office("Europe/Paris", country="FR")
    # Friday 1 May 2026 is Labour Day in France.
    assert calendar.add(paris(2026, 4, 30, 16), 2 * HOUR) == paris(2026, 5, 4, 10)


def test_public_holidays_of_a_subdivision_apply_only_there() -> None:
    pytest.importorskip("holidays", reason="the optional 'holidays' package is not installed")
    bavaria = BusinessCalendar.office("Europe/Berlin", country="DE", subdivision="BY")
    germany = BusinessCalendar.office("Europe/Berlin", country="DE")
    berlin = ZoneInfo("Europe/Berlin")
    epiphany = datetime(2026, 1, 6, tzinfo=berlin), datetime(2026, 1, 7, tzinfo=berlin)
    assert bavaria.between(*epiphany) == timedelta(0)
    assert germany.between(*epiphany) == 8 * HOUR


def test_country_holidays_without_the_holidays_package_say_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)  # makes `import holidays` fail
    with pytest.raises(DefinitionError, match=r"pip install 'itil-incident\[calendars\]'") as info:
        BusinessCalendar.office("Europe/Paris", country="FR")
    assert info.value.culprit == "country"


def test_a_closure_removes_business_time_inside_a_day() -> None:
    calendar = BusinessCalendar.office(
        "Europe/Paris", closures=[(paris(2026, 1, 7, 10), paris(2026, 1, 7, 12))]
    )
    assert calendar.between(paris(2026, 1, 7), paris(2026, 1, 8)) == 6 * HOUR
    assert not calendar.is_working(paris(2026, 1, 7, 11))
    assert calendar.next_working(paris(2026, 1, 7, 11)) == paris(2026, 1, 7, 12)
    assert calendar.add(paris(2026, 1, 7, 9), 2 * HOUR) == paris(2026, 1, 7, 13)


def test_a_closure_over_several_days_given_in_another_zone_pushes_the_due_instant_back() -> None:
    closed = (datetime(2026, 1, 12, 6, tzinfo=NEW_YORK), datetime(2026, 1, 14, 6, tzinfo=NEW_YORK))
    calendar = BusinessCalendar.office("Europe/Paris", closures=[closed])
    # Closed from Monday 12:00 to Wednesday 12:00, Paris time.
    assert calendar.add(paris(2026, 1, 12, 9), 8 * HOUR) == paris(2026, 1, 14, 17)


def test_a_closure_weeks_ahead_is_not_skipped_by_a_long_target() -> None:
    closed = (paris(2026, 3, 2), paris(2026, 3, 7))
    calendar = BusinessCalendar.office("Europe/Paris", closures=[closed])
    plain = BusinessCalendar.office("Europe/Paris")
    start, target = paris(2026, 1, 5, 9), 20 * 5 * 8 * HOUR
    assert calendar.add(start, target) == plain.add(start, target) + 7 * 24 * HOUR
    assert calendar.between(start, paris(2026, 6, 1)) == plain.between(start, paris(2026, 6, 1)) - (
        5 * 8 * HOUR
    )


def test_a_calendar_closed_for_more_than_ten_years_is_refused_instead_of_searched_forever() -> None:
    closed = (paris(2026, 1, 1), paris(2040, 1, 1))
    calendar = BusinessCalendar.office("Europe/Paris", closures=[closed])
    with pytest.raises(ValidationError, match="ten years"):
        calendar.add(paris(2026, 1, 5), HOUR)
    with pytest.raises(ValidationError, match="ten years"):
        calendar.next_working(paris(2026, 1, 5))
    assert calendar.between(paris(2026, 1, 1), paris(2040, 1, 1)) == timedelta(0)


# -- the built-in calendars ----------------------------------------------------------------------


def test_the_24x7_calendar_counts_every_instant_in_utc() -> None:
    calendar = BusinessCalendar.always()
    assert (calendar.name, calendar.timezone) == ("24x7", "UTC")
    instant = utc(2026, 1, 10, 3, 17)
    assert calendar.is_working(instant)
    assert calendar.next_working(instant) == instant
    assert calendar.between(instant, instant + 100 * HOUR) == 100 * HOUR


def test_office_hours_default_to_monday_to_friday_9_to_5() -> None:
    calendar = BusinessCalendar.office("Europe/Paris")
    assert calendar.name == "office hours (Europe/Paris)"
    assert calendar.between(paris(2026, 1, 5), paris(2026, 1, 12)) == 40 * HOUR


# -- refusals ------------------------------------------------------------------------------------


def _calendar(**changes: Any) -> BusinessCalendar:
    arguments: dict[str, Any] = {
        "name": "test",
        "timezone": "Europe/Paris",
        "windows": {0: [(time(9), time(17))]},
    }
    arguments.update(changes)
    return BusinessCalendar(**arguments)


@pytest.mark.parametrize(
    ("changes", "culprit", "message"),
    [
        (
            {"windows": {0: [(time(9), time(12)), (time(11), time(13))]}},
            "windows.monday",
            "overlap",
        ),
        ({"windows": {0: [(time(9), time(0)), (time(11), time(13))]}}, "windows.monday", "overlap"),
        ({"windows": {2: [(time(17), time(9))]}}, "windows.wednesday[0]", "ends before it starts"),
        ({"windows": {2: [(time(9), time(9))]}}, "windows.wednesday[0]", "ends before it starts"),
        ({"timezone": "Europe/Atlantis"}, "timezone", "unknown time zone"),
        ({"timezone": "Europe"}, "timezone", "unknown time zone"),
        ({"timezone": ""}, "timezone", "IANA"),
        ({"windows": {}}, "windows", "no working time"),
        ({"windows": {0: [], 6: []}}, "windows", "no working time"),
        ({"windows": {7: [(time(9), time(17))]}}, "windows[7]", "weekday"),
        ({"windows": {0: [(time(9, tzinfo=UTC), time(17))]}}, "windows.monday[0]", "naive"),
        ({"windows": {0: [(time(9),)]}}, "windows.monday[0]", "pair"),
        ({"holidays": [datetime(2026, 1, 1)]}, "holidays", "date"),
        ({"yearly_holidays": [(2, 30)]}, "yearly_holidays", "month, day"),
        ({"closures": [(utc(2026, 1, 2), utc(2026, 1, 1))]}, "closures[0]", "ends before"),
        ({"closures": [(datetime(2026, 1, 1), utc(2026, 1, 2))]}, "closures[0]", "aware"),
        ({"subdivision": "BY"}, "subdivision", "needs a country"),
        ({"name": " "}, "name", "non-empty"),
    ],
)
def test_a_bad_definition_is_refused_with_the_culprit_named(
    changes: dict[str, Any], culprit: str, message: str
) -> None:
    with pytest.raises(DefinitionError, match=message) as info:
        _calendar(**changes)
    assert info.value.culprit == culprit


def test_a_lunch_break_outside_the_day_is_refused() -> None:
    with pytest.raises(DefinitionError, match="inside") as info:
        BusinessCalendar.office("Europe/Paris", lunch=(time(8), time(9, 30)))
    assert info.value.culprit == "lunch"


@pytest.mark.parametrize(
    ("country", "subdivision", "culprit"), [("XX", None, "country"), ("FR", "ZZ", "subdivision")]
)
def test_an_unknown_country_or_subdivision_is_refused(
    country: str, subdivision: str | None, culprit: str
) -> None:
    pytest.importorskip("holidays", reason="the optional 'holidays' package is not installed")
    with pytest.raises(DefinitionError, match="unknown") as info:
        _calendar(country=country, subdivision=subdivision)
    assert info.value.culprit == culprit


def test_a_naive_instant_is_refused(office: BusinessCalendar) -> None:
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        office.add(datetime(2026, 1, 5, 9), HOUR)
    assert info.value.field == "start"
    with pytest.raises(ValidationError) as info:
        office.is_working(datetime(2026, 1, 5, 9))
    assert info.value.field == "instant"


@pytest.mark.parametrize("duration", [timedelta(microseconds=-1), 3600])
def test_a_negative_or_non_timedelta_duration_is_refused(
    office: BusinessCalendar, duration: Any
) -> None:
    with pytest.raises(ValidationError) as info:
        office.add(paris(2026, 1, 5, 9), duration)
    assert info.value.field == "duration"


# -- plain data and identity ---------------------------------------------------------------------


def _rich() -> BusinessCalendar:
    return BusinessCalendar(
        name="support",
        timezone="Europe/Paris",
        windows={
            0: [(time(8), time(12)), (time(13), time(17, 30))],
            5: [(time(22), time(0))],
        },
        holidays=[date(2026, 5, 14)],
        yearly_holidays=[(12, 25), (1, 1)],
        closures=[(paris(2026, 2, 2, 8), paris(2026, 2, 2, 10))],
    )


def test_to_dict_gives_toml_friendly_text() -> None:
    assert _rich().to_dict() == {
        "name": "support",
        "timezone": "Europe/Paris",
        "windows": {
            "monday": [["08:00", "12:00"], ["13:00", "17:30"]],
            "saturday": [["22:00", "24:00"]],
        },
        "holidays": ["2026-05-14"],
        "yearly_holidays": ["01-01", "12-25"],
        "closures": [["2026-02-02T07:00:00+00:00", "2026-02-02T09:00:00+00:00"]],
    }


def test_a_calendar_survives_the_round_trip_through_plain_data() -> None:
    calendar = _rich()
    assert BusinessCalendar.from_dict(calendar.to_dict()) == calendar


def test_a_calendar_reads_from_a_toml_document() -> None:
    document = tomllib.loads(
        """
        name = "support"
        timezone = "Europe/Paris"
        holidays = [2026-05-14]
        yearly_holidays = ["12-25", "01-01"]
        closures = [[2026-02-02T08:00:00+01:00, "2026-02-02T10:00:00+01:00"]]
        [windows]
        monday = [["08:00", "12:00"], [13:00:00, "17:30"]]
        saturday = [["22:00", "24:00"]]
        """
    )
    assert BusinessCalendar.from_dict(document) == _rich()


def test_country_holidays_survive_the_round_trip_through_plain_data() -> None:
    pytest.importorskip("holidays", reason="the optional 'holidays' package is not installed")
    calendar = BusinessCalendar.office("Europe/Berlin", country="DE", subdivision="BY")
    data = calendar.to_dict()
    assert (data["country"], data["subdivision"]) == ("DE", "BY")
    assert BusinessCalendar.from_dict(data) == calendar


@pytest.mark.parametrize(
    ("change", "culprit"),
    [
        ({"windows": {"monday": [["09:00", "25:00"]]}}, "windows.monday[0][1]"),
        ({"windows": {"monday": [["09:00"]]}}, "windows.monday[0]"),
        ({"windows": {"funday": [["09:00", "17:00"]]}}, "windows.funday"),
        ({"windows": ["09:00", "17:00"]}, "windows"),
        ({"holidays": ["2026-01-01", "2026-13-01"]}, "holidays[1]"),
        ({"holidays": "2026-01-01"}, "holidays"),
        ({"windows": {"monday": [["09:00", "12:00"]], 0: [["13:00", "17:00"]]}}, "windows.monday"),
        ({"yearly_holidays": ["12/25"]}, "yearly_holidays[0]"),
        ({"yearly_holidays": ["12-25", "02-30"]}, "yearly_holidays[1]"),
        ({"closures": [["2026-01-01T08:00:00", "2026-01-01T10:00:00+00:00"]]}, "closures[0][0]"),
        ({"closures": [["2026-01-01T08:00:00+00:00"]]}, "closures[0]"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_malformed_plain_data_is_refused_with_the_key_path(
    change: dict[str, Any], culprit: str
) -> None:
    data = {"name": "x", "timezone": "UTC", "windows": {"monday": [["09:00", "17:00"]]}}
    data.update(change)
    with pytest.raises(DefinitionError) as info:
        BusinessCalendar.from_dict(data)
    assert info.value.culprit == culprit


def test_plain_data_without_a_time_zone_is_refused() -> None:
    with pytest.raises(DefinitionError, match="timezone") as info:
        BusinessCalendar.from_dict({"name": "x", "windows": {"monday": [["09:00", "17:00"]]}})
    assert info.value.culprit == "timezone"


def test_calendars_with_the_same_definition_are_equal_and_hash_alike() -> None:
    assert _rich() == _rich()
    assert hash(_rich()) == hash(_rich())
    assert len({_rich(), _rich(), BusinessCalendar.always()}) == 2


def test_calendars_that_differ_in_any_part_of_their_definition_are_not_equal() -> None:
    base = BusinessCalendar.office("Europe/Paris")
    assert base != BusinessCalendar.office("Europe/Paris", name="other")
    assert base != BusinessCalendar.office("Europe/Berlin", name=base.name)
    assert base != BusinessCalendar.office("Europe/Paris", end=time(18))
    assert base != BusinessCalendar.office("Europe/Paris", holidays=[date(2026, 1, 2)])
