"""Business-calendar benchmark: due instants and business time, beside two baselines.

Run from the repository root::

    .venv/bin/python benchmarks/business_calendar.py                  # 200 starts, 5 rounds
    .venv/bin/python benchmarks/business_calendar.py --starts 50 --repeats 3 --json /tmp/cal.json

The calendar: Europe/Paris, Monday to Friday 09:00-12:00 and 13:00-17:00 (a lunch break, so
7 business hours a day), the French public holidays (fixed ones as yearly holidays, Easter
Monday, Ascension and Whit Monday of 2026-2027 as dates). Starts: ``--starts`` instants on whole
minutes spread over 2026 (every 1 day 19 h 7 min from Friday 2 January 08:13), in and out of
working time.

Operations, each timed call by call (``perf_counter_ns``) and reported as the median over all
starts and ``--repeats`` rounds (the order of the variants rotates each round):

``due``
    ``add(start, target)`` for targets of 1 business hour, 1, 5, 30 and 250 business days.
``quarter``
    ``between(start, start + 91 days)``.

Variants:

``library warm``
    ``BusinessCalendar.add`` / ``between`` once the calendar has seen the dates (a service that
    computes many due instants reuses the calendar's per-day cache).
``library cold``
    The same calls with the calendar's per-day cache emptied before each call (outside the
    timing): every local date the call needs is computed from scratch. The zone's offset
    changes, found once per process per zone and 128 days, stay cached.
``plain datetime``
    A straightforward interval-jumping implementation on standard-library ``datetime`` and
    ``zoneinfo``: for each local date from the start, each window's ends are converted to UTC
    and clipped; no cache, no week jumps.
``minute stepping``
    The brute-force oracle: one ``astimezone`` and a window check per minute. Measured on the
    1-hour, 1-day and 5-day targets only (``--oracle-starts`` starts), never extrapolated.

Before timing, the variants are checked to give the same answers on every measured input.
Performance is never asserted: the figures are printed (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import platform
import statistics
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from itil_incident.policies.calendar import BusinessCalendar

ZONE = "Europe/Paris"
TZ = ZoneInfo(ZONE)
WINDOWS = ((time(9), time(12)), (time(13), time(17)))
WORKDAYS = frozenset(range(5))
BUSINESS_DAY = timedelta(hours=7)
YEARLY = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
MOVABLE = (
    date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25),
    date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17),
)  # fmt: skip
TARGETS = {
    "1 h": timedelta(hours=1),
    "1 d": BUSINESS_DAY,
    "5 d": 5 * BUSINESS_DAY,
    "30 d": 30 * BUSINESS_DAY,
    "250 d": 250 * BUSINESS_DAY,
}
ORACLE_TARGETS = ("1 h", "1 d", "5 d")
QUARTER = timedelta(days=91)
FIRST_START = datetime(2026, 1, 2, 8, 13, tzinfo=TZ)
START_STEP = timedelta(days=1, hours=19, minutes=7)
MINUTE = timedelta(minutes=1)
ONE_DAY = timedelta(days=1)


def library_calendar() -> BusinessCalendar:
    return BusinessCalendar.office(
        ZONE, lunch=(time(12), time(13)), yearly_holidays=YEARLY, holidays=MOVABLE
    )


def holiday_dates() -> frozenset[date]:
    """The holidays as a set of dates, 2025-2029 (what the two baselines look up)."""
    fixed = {date(year, month, day) for year in range(2025, 2030) for month, day in YEARLY}
    return frozenset(fixed | set(MOVABLE))


# -- baseline: plain datetime interval jumping ----------------------------------------------------


class PlainCalendar:
    """Day by day from the start's local date: each window's ends to UTC, clipped, summed."""

    def __init__(self) -> None:
        self.holidays = holiday_dates()

    def _windows(self, day: date) -> list[tuple[datetime, datetime]]:
        if day.weekday() not in WORKDAYS or day in self.holidays:
            return []
        return [
            (
                datetime.combine(day, start, TZ).astimezone(UTC),
                datetime.combine(day, end, TZ).astimezone(UTC),
            )
            for start, end in WINDOWS
        ]

    def add(self, start: datetime, duration: timedelta) -> datetime:
        start = start.astimezone(UTC)
        remaining = duration
        day = start.astimezone(TZ).date()
        while True:
            for low, high in self._windows(day):
                if high <= start:
                    continue
                low = max(low, start)
                if remaining <= high - low:
                    return low + remaining
                remaining -= high - low
            day += ONE_DAY

    def between(self, start: datetime, end: datetime) -> timedelta:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        day, last = start.astimezone(TZ).date(), end.astimezone(TZ).date()
        while day <= last:
            for low, high in self._windows(day):
                low, high = max(low, start), min(high, end)
                if low < high:
                    total += high - low
            day += ONE_DAY
        return total


# -- oracle: minute stepping ----------------------------------------------------------------------


class MinuteStepper:
    """One minute at a time: is the minute's local reading inside a window of a working day?"""

    def __init__(self) -> None:
        self.holidays = holiday_dates()

    def working(self, minute: datetime) -> bool:
        local = minute.astimezone(TZ)
        if local.weekday() not in WORKDAYS or local.date() in self.holidays:
            return False
        now = local.time()
        return any(start <= now < end for start, end in WINDOWS)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        minute = start.astimezone(UTC)
        needed = duration // MINUTE
        while needed:
            if self.working(minute):
                needed -= 1
            minute += MINUTE
        return minute


# -- measuring ------------------------------------------------------------------------------------

Timed = Callable[[datetime], object]
VARIANTS = ("library warm", "library cold", "plain datetime", "minute stepping")


@dataclass(frozen=True)
class Operation:
    """One measured question, as each variant asks it for a start instant."""

    label: str
    library: Timed
    plain: Timed
    stepping: Timed | None  # minute stepping, for the small targets only


def over_a_quarter(between: Callable[[datetime, datetime], timedelta], start: datetime) -> object:
    return between(start, start + QUARTER)


def operations(
    calendar: BusinessCalendar, plain: PlainCalendar, oracle: MinuteStepper
) -> list[Operation]:
    measured = [
        Operation(
            f"due {name}",
            functools.partial(calendar.add, duration=target),
            functools.partial(plain.add, duration=target),
            functools.partial(oracle.add, duration=target) if name in ORACLE_TARGETS else None,
        )
        for name, target in TARGETS.items()
    ]
    measured.append(
        Operation(
            "between 91d",
            functools.partial(over_a_quarter, calendar.between),
            functools.partial(over_a_quarter, plain.between),
            None,
        )
    )
    return measured


def per_call_us(
    function: Timed, inputs: Sequence[datetime], before_each: Callable[[], None] | None = None
) -> list[float]:
    """Microseconds of each call, timed one by one; ``before_each`` runs outside the timing."""
    times: list[float] = []
    gc.collect()
    for start in inputs:
        if before_each is not None:
            before_each()
        began = clock.perf_counter_ns()
        function(start)
        times.append((clock.perf_counter_ns() - began) / 1000)
    return times


def starts(count: int) -> list[datetime]:
    return [FIRST_START + k * START_STEP for k in range(count)]


def check_agreement(
    measured: Sequence[Operation], all_starts: Sequence[datetime], oracle_starts: Sequence[datetime]
) -> None:
    """Stop unless the library, the baseline and the oracle agree on every measured input."""
    for operation in measured:
        for start in all_starts:
            if operation.library(start) != operation.plain(start):
                raise SystemExit(f"library and plain datetime disagree: {operation.label}, {start}")
        stepping = operation.stepping
        if stepping is None:
            continue
        for start in oracle_starts:
            if operation.library(start) != stepping(start):
                raise SystemExit(
                    f"library and minute stepping disagree: {operation.label}, {start}"
                )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--starts", type=int, default=200, help="start instants (default 200)")
    parser.add_argument("--oracle-starts", type=int, default=10,
                        help="start instants for minute stepping (default 10)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    for name in ("starts", "oracle_starts", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    calendar = library_calendar()
    measured = operations(calendar, PlainCalendar(), MinuteStepper())
    all_starts, oracle_starts = starts(args.starts), starts(args.oracle_starts)
    check_agreement(measured, all_starts, oracle_starts)

    def forget() -> None:
        """Empty the calendar's per-day caches (private; for the cold variant only)."""
        calendar._blocks.clear()
        calendar._chunks.clear()

    times: dict[str, dict[str, list[float]]] = {op.label: {} for op in measured}
    for round_number in range(args.repeats):
        shift = round_number % len(VARIANTS)
        for operation in measured:
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                if variant == "library warm":
                    for start in all_starts:  # let the calendar see the dates, untimed
                        operation.library(start)
                    found = per_call_us(operation.library, all_starts)
                elif variant == "library cold":
                    found = per_call_us(operation.library, all_starts, forget)
                elif variant == "plain datetime":
                    found = per_call_us(operation.plain, all_starts)
                elif operation.stepping is not None:
                    found = per_call_us(operation.stepping, oracle_starts)
                else:
                    continue
                times[operation.label].setdefault(variant, []).extend(found)

    days_computed: dict[str, float] = {}
    for operation in measured:
        counts = []
        for start in all_starts:
            forget()
            operation.library(start)
            counts.append(len(calendar._blocks))
        days_computed[operation.label] = statistics.mean(counts)
    medians = {
        label: {variant: statistics.median(found) for variant, found in by_variant.items()}
        for label, by_variant in times.items()
    }
    report(medians, days_computed, args)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "starts": args.starts,
                    "oracle_starts": args.oracle_starts,
                    "repeats": args.repeats,
                    "median_us_per_call": medians,
                    "days_computed_cold": days_computed,
                },
                indent=2,
            )
        )
    return 0


def report(
    medians: dict[str, dict[str, float]], days: dict[str, float], args: argparse.Namespace
) -> None:
    print(
        f"itil-incident business calendar: Python {platform.python_version()} "
        f"({platform.machine()}), {args.starts} starts ({args.oracle_starts} for minute "
        f"stepping) x {args.repeats} rounds; median µs per call"
    )
    columns = (*VARIANTS, "stepping/warm", "stepping/cold", "cold/plain", "days (cold)")
    print(f"{'operation':<13}" + "".join(f"{column:>16}" for column in columns))
    for label, row in medians.items():
        cells = [f"{row[v]:,.1f}" if v in row else "-" for v in VARIANTS]
        stepping = row.get("minute stepping")
        cells += (
            [f"{stepping / row['library warm']:,.0f}x", f"{stepping / row['library cold']:,.0f}x"]
            if stepping is not None
            else ["-", "-"]
        )
        cells += [f"{row['library cold'] / row['plain datetime']:.2f}x", f"{days[label]:.1f}"]
        print(f"{label:<13}" + "".join(f"{cell:>16}" for cell in cells))


if __name__ == "__main__":
    raise SystemExit(main())
