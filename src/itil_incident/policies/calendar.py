"""Business calendars: working windows in a named time zone, holidays and one-off closures.

A :class:`BusinessCalendar` answers the questions an SLA clock asks: when is a target due
(:meth:`~BusinessCalendar.add`), how much business time lies between two instants
(:meth:`~BusinessCalendar.between`), is an instant working time
(:meth:`~BusinessCalendar.is_working`) and when does work resume
(:meth:`~BusinessCalendar.next_working`).

How it computes: instants become integer microseconds since the Unix epoch; each local date's
working intervals are computed once from the zone's offset changes and cached (a dict per
calendar); long durations skip whole weeks at a time (a week without holidays, closures or
offset changes holds exactly the weekly working time), so the cost grows with the holidays and
offset changes crossed, not with the length of the target. ``zoneinfo`` validates the zone and
tells its offset changes, which are looked up once per zone and 128 days and shared by all
calendars; the hot paths are integer arithmetic on cached tuples.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import zoneinfo
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from itil_incident.domain._time import utc_instant
from itil_incident.errors import DefinitionError, ValidationError

__all__ = ["BusinessCalendar"]

_US = 1_000_000
_DAY = 86_400 * _US
_ONE_US = timedelta(microseconds=1)
_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CHUNK_DAYS = 128  # offset changes and "special" dates are looked up per 128-day chunk
_CHUNK = _CHUNK_DAYS * _DAY
_SCAN_STEP = 12 * 3600  # seconds; offset changes in tzdata (1900-2100) are >= 4 days apart
_MAX_IDLE_DAYS = 3653  # ten years without working time: give up instead of looping on
_MIN_DAY = date(2, 1, 1).toordinal() - _EPOCH_ORDINAL
_MAX_DAY = date(9998, 12, 31).toordinal() - _EPOCH_ORDINAL
_CACHE_LIMIT = 20_000  # cached days per calendar (about 55 years); the cache restarts beyond
_EXTRA = "pip install 'itil-incident[calendars]'"

_Window = tuple[time, time]
#: A UTC span of the zone's timeline with a constant offset: (start, end, offset), in µs.
_Segment = tuple[int, int, int]
#: A cached day: where its instants start and end (UTC µs), and its working intervals as a base
#: and flat (start, end, ...) edges to add to it; a plain day shares its weekday's edges.
_Block = tuple[int, int, int, tuple[int, ...]]


# -- the zone's offset changes -------------------------------------------------------------------


def _offset_at_second(tz: zoneinfo.ZoneInfo, second: int) -> int:
    """The zone's UTC offset (µs) at ``second`` seconds after the epoch."""
    offset = (_EPOCH + timedelta(seconds=second)).astimezone(tz).utcoffset()
    return 0 if offset is None else offset // _ONE_US


@functools.lru_cache(maxsize=8192)
def _zone_chunk(key: str, chunk: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """The offset changes of zone ``key`` in UTC chunk ``chunk`` (128 days).

    Returns the offset just before the chunk, the instants (µs) at which the offset changes
    inside the chunk and the offset from each of them on. Found by sampling every 12 hours and
    bisecting to the second (tzdata transitions fall on whole seconds).
    """
    tz = zoneinfo.ZoneInfo(key)
    start = chunk * (_CHUNK // _US)
    end = start + _CHUNK // _US
    second = start - 1
    before = previous = _offset_at_second(tz, second)
    instants: list[int] = []
    offsets: list[int] = []
    while second < end - 1:
        following = min(second + _SCAN_STEP, end - 1)
        offset = _offset_at_second(tz, following)
        if offset != previous:
            low, high = second, following
            while high - low > 1:
                middle = (low + high) // 2
                if _offset_at_second(tz, middle) == previous:
                    low = middle
                else:
                    high = middle
            instants.append(high * _US)
            offsets.append(_offset_at_second(tz, high))
            previous = offset
        second = following
    return before, tuple(instants), tuple(offsets)


def _offset_at(key: str, instant: int) -> int:
    before, instants, offsets = _zone_chunk(key, instant // _CHUNK)
    index = bisect_right(instants, instant)
    return offsets[index - 1] if index else before


def _segments(key: str, low: int, high: int) -> list[_Segment]:
    """Split ``[low, high)`` (UTC µs) into spans of constant offset."""
    chunk = low // _CHUNK
    before, instants, offsets = _zone_chunk(key, chunk)
    index = bisect_right(instants, low)
    offset = offsets[index - 1] if index else before
    segments: list[_Segment] = []
    start = low
    while True:
        for position in range(index, len(instants)):
            change = instants[position]
            if change >= high:
                break
            segments.append((start, change, offset))
            start, offset = change, offsets[position]
        chunk += 1
        if chunk * _CHUNK >= high:
            segments.append((start, high, offset))
            return segments
        _, instants, offsets = _zone_chunk(key, chunk)
        index = 0


def _first_reaching(segments: list[_Segment], wall: int) -> int:
    """The first instant whose wall-clock reading is ``wall`` or later."""
    for low, high, offset in segments:
        candidate = max(low, wall - offset)
        if candidate < high:
            return candidate
    return segments[-1][1]


# -- definition checks ---------------------------------------------------------------------------


def _time_text(value: time, *, end: bool = False) -> str:
    if end and value == time(0):
        return "24:00"
    if value.second or value.microsecond:
        return value.isoformat()
    return value.strftime("%H:%M")


def _micros_of_day(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * _US + value.microsecond


def _joined_edges(spans: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """A day's windows as flat (start, end, start, end, ...) µs, touching windows joined."""
    edges: list[int] = []
    for start, end in spans:
        if edges and edges[-1] == start:
            edges[-1] = end
        else:
            edges += (start, end)
    return tuple(edges)


def _check_zone(name: object) -> str:
    if not isinstance(name, str) or not name or name == "localtime":
        raise DefinitionError(
            f"timezone must be an IANA time zone name such as 'Europe/Paris', got {name!r}",
            culprit="timezone",
        )
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise DefinitionError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Paris'",
            culprit="timezone",
        ) from None
    return name


def _check_windows(windows: object) -> tuple[tuple[_Window, ...], ...]:
    if not isinstance(windows, Mapping):
        raise DefinitionError(
            f"windows must map weekdays (0=Monday..6=Sunday) to windows, got {windows!r}",
            culprit="windows",
        )
    days: list[tuple[_Window, ...]] = [()] * 7
    for weekday, spans in windows.items():
        if type(weekday) is not int or not 0 <= weekday <= 6:
            raise DefinitionError(
                f"a window weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}",
                culprit=f"windows[{weekday!r}]",
            )
        where = f"windows.{_WEEKDAYS[weekday]}"
        if isinstance(spans, str | bytes) or not isinstance(spans, Sequence):
            raise DefinitionError(
                f"{where} must be a sequence of (start, end) times, got {spans!r}", culprit=where
            )
        checked: list[_Window] = []
        for position, span in enumerate(spans):
            here = f"{where}[{position}]"
            if not isinstance(span, Sequence) or len(span) != 2:
                raise DefinitionError(
                    f"{here} must be a (start, end) pair of times, got {span!r}", culprit=here
                )
            start, end = span
            for value in (start, end):
                if not isinstance(value, time) or value.tzinfo is not None:
                    raise DefinitionError(
                        f"{here} must hold naive local datetime.time values, got {value!r}",
                        culprit=here,
                    )
            if end != time(0) and end <= start:
                raise DefinitionError(
                    f"{here} ends before it starts: {_time_text(start)}-{_time_text(end, end=True)}"
                    " (an end of 00:00 means midnight at the end of the day)",
                    culprit=here,
                )
            checked.append((start, end))
        checked.sort()
        for (start, end), (next_start, next_end) in itertools.pairwise(checked):
            if end == time(0) or next_start < end:
                raise DefinitionError(
                    f"{where} has overlapping windows: "
                    f"{_time_text(start)}-{_time_text(end, end=True)} and "
                    f"{_time_text(next_start)}-{_time_text(next_end, end=True)}",
                    culprit=where,
                )
        days[weekday] = tuple(checked)
    if not any(days):
        raise DefinitionError(
            "the calendar has no working time: give at least one window", culprit="windows"
        )
    return tuple(days)


def _check_holidays(values: Iterable[object]) -> tuple[date, ...]:
    checked: set[date] = set()
    for value in values:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise DefinitionError(
                f"a holiday must be a datetime.date, got {value!r}", culprit="holidays"
            )
        checked.add(value)
    return tuple(sorted(checked))


def _check_yearly(values: Iterable[object]) -> tuple[tuple[int, int], ...]:
    checked: set[tuple[int, int]] = set()
    for value in values:
        pair = _month_day(value)
        if pair is None:
            raise DefinitionError(
                f"a yearly holiday must be a valid (month, day) pair of ints, got {value!r}",
                culprit="yearly_holidays",
            )
        checked.add(pair)
    return tuple(sorted(checked))


def _month_day(value: object) -> tuple[int, int] | None:
    if not isinstance(value, tuple) or len(value) != 2:
        return None
    month, day = value
    if type(month) is not int or type(day) is not int:
        return None
    try:
        date(2000, month, day)  # a leap year: 29 February is a valid yearly holiday
    except ValueError:
        return None
    return month, day


def _check_closures(values: Iterable[object]) -> tuple[tuple[datetime, datetime], ...]:
    spans: list[tuple[datetime, datetime]] = []
    for position, value in enumerate(values):
        here = f"closures[{position}]"
        if not isinstance(value, Sequence) or len(value) != 2:
            raise DefinitionError(
                f"{here} must be a (start, end) pair of aware datetimes, got {value!r}",
                culprit=here,
            )
        try:
            start, end = utc_instant(value[0], "start"), utc_instant(value[1], "end")
        except ValidationError as exc:
            raise DefinitionError(f"{here}: {exc}", culprit=here) from None
        if end <= start:
            raise DefinitionError(
                f"{here} ends before it starts: {start.isoformat()} to {end.isoformat()}",
                culprit=here,
            )
        spans.append((start, end))
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _holidays_module() -> Any:
    try:
        return importlib.import_module("holidays")
    except ImportError:
        raise DefinitionError(
            f"public holidays by country need the optional 'holidays' package: {_EXTRA}",
            culprit="country",
        ) from None


def _check_country(country: object, subdivision: object) -> None:
    if country is None:
        if subdivision is not None:
            raise DefinitionError("a subdivision needs a country", culprit="subdivision")
        return
    if not isinstance(country, str) or not country:
        raise DefinitionError(
            f"country must be an ISO 3166 code such as 'FR', got {country!r}", culprit="country"
        )
    if subdivision is not None and (not isinstance(subdivision, str) or not subdivision):
        raise DefinitionError(
            f"subdivision must be a code such as 'BY', got {subdivision!r}", culprit="subdivision"
        )
    module = _holidays_module()
    try:
        module.country_holidays(country)
    except NotImplementedError as exc:
        raise DefinitionError(f"unknown country {country!r}: {exc}", culprit="country") from None
    if subdivision is not None:
        try:
            module.country_holidays(country, subdiv=subdivision)
        except NotImplementedError as exc:
            raise DefinitionError(
                f"unknown subdivision {subdivision!r} of {country!r}: {exc}",
                culprit="subdivision",
            ) from None


# -- plain data (from_dict) ---------------------------------------------------------------------

_KEYS = (
    "name", "timezone", "windows", "holidays", "yearly_holidays", "closures", "country",
    "subdivision",
)  # fmt: skip


def _parse(data: object) -> dict[str, Any]:
    """Keyword arguments for :class:`BusinessCalendar` from plain (TOML-like) data."""
    if not isinstance(data, Mapping):
        raise DefinitionError(f"a calendar must be a mapping, got {data!r}", culprit="calendar")
    for key in data:
        if key not in _KEYS:
            raise DefinitionError(
                f"unknown calendar key {key!r} (known: {', '.join(_KEYS)})", culprit=str(key)
            )
    for key in ("name", "timezone", "windows"):
        if key not in data:
            raise DefinitionError(f"a calendar needs {key!r}", culprit=key)
    windows = data["windows"]
    if not isinstance(windows, Mapping):
        raise DefinitionError(
            f"windows must map weekday names to [start, end] pairs, got {windows!r}",
            culprit="windows",
        )
    return {
        "name": data["name"],
        "timezone": data["timezone"],
        "windows": _parse_windows(windows),
        "holidays": [
            _parse_date(value, f"holidays[{i}]")
            for i, value in enumerate(_list(data.get("holidays", []), "holidays"))
        ],
        "yearly_holidays": [
            _parse_yearly(value, f"yearly_holidays[{i}]")
            for i, value in enumerate(_list(data.get("yearly_holidays", []), "yearly_holidays"))
        ],
        "closures": [
            tuple(
                _parse_instant(v, f"closures[{i}][{j}]")
                for j, v in enumerate(_pair(value, f"closures[{i}]"))
            )
            for i, value in enumerate(_list(data.get("closures", []), "closures"))
        ],
        "country": data.get("country"),
        "subdivision": data.get("subdivision"),
    }


def _list(value: object, where: str) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise DefinitionError(f"{where} must be a list, got {value!r}", culprit=where)
    return list(value)


def _pair(value: object, where: str) -> list[Any]:
    items = _list(value, where)
    if len(items) != 2:
        raise DefinitionError(f"{where} must be a [start, end] pair, got {value!r}", culprit=where)
    return items


def _parse_windows(windows: Mapping[Any, Any]) -> dict[int, list[_Window]]:
    parsed: dict[int, list[_Window]] = {}
    for key, value in windows.items():
        weekday, spans = _parse_day(key, value)
        if weekday in parsed:
            where = f"windows.{_WEEKDAYS[weekday]}"
            raise DefinitionError(f"{where} is given twice", culprit=where)
        parsed[weekday] = spans
    return parsed


def _parse_day(key: object, value: object) -> tuple[int, list[_Window]]:
    if type(key) is int and 0 <= key <= 6:
        weekday = key
    elif isinstance(key, str) and key.lower() in _WEEKDAYS:
        weekday = _WEEKDAYS.index(key.lower())
    else:
        raise DefinitionError(
            f"unknown weekday {key!r}: use monday .. sunday", culprit=f"windows.{key}"
        )
    where = f"windows.{_WEEKDAYS[weekday]}"
    spans: list[_Window] = []
    for i, span in enumerate(_list(value, where)):
        start, end = _pair(span, f"{where}[{i}]")
        spans.append((_parse_time(start, f"{where}[{i}][0]"), _parse_time(end, f"{where}[{i}][1]")))
    return weekday, spans


def _parse_time(value: object, where: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        if value == "24:00":
            return time(0)
        try:
            if len(value) >= 5 and value[2] == ":":
                return time.fromisoformat(value)
        except ValueError:
            pass
    raise DefinitionError(
        f"{where} must be a local time such as '09:00' (or '24:00'), got {value!r}", culprit=where
    )


def _parse_date(value: object, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise DefinitionError(
        f"{where} must be a date such as '2026-12-25', got {value!r}", culprit=where
    )


def _parse_yearly(value: object, where: str) -> tuple[int, int]:
    pair: object = None
    if isinstance(value, str) and len(value) == 5 and value[2] == "-":
        month, day = value[:2], value[3:]
        if month.isdigit() and day.isdigit():
            pair = (int(month), int(day))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        pair = tuple(value)
    checked = _month_day(pair)
    if checked is not None:
        return checked
    raise DefinitionError(
        f"{where} must be a month-day such as '12-25', got {value!r}", culprit=where
    )


def _parse_instant(value: object, where: str) -> datetime:
    parsed = value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if isinstance(parsed, datetime) and parsed.utcoffset() is not None:
        return parsed
    raise DefinitionError(
        f"{where} must be an instant with an offset such as '2026-03-02T08:00:00+00:00', "
        f"got {value!r}",
        culprit=where,
    )


# -- the calendar --------------------------------------------------------------------------------


class BusinessCalendar:
    """Working time in a named IANA time zone: weekly windows, holidays and closures.

    ``windows`` maps a weekday (0 = Monday .. 6 = Sunday) to its local ``[start, end)``
    windows; an end of ``time(0)`` means midnight at the end of that day (24:00). Windows of a
    day must not overlap (touching is fine) and the week must hold some working time.
    ``holidays`` are local dates without work, ``yearly_holidays`` ``(month, day)`` pairs
    without work every year (29 February only in leap years), ``closures`` one-off
    ``[start, end)`` spans of aware instants without work, and ``country`` / ``subdivision``
    add the public holidays listed by the optional ``holidays`` package (observed days
    included; install with ``pip install 'itil-incident[calendars]'``).

    **The local-time rule.** An instant is working time when its wall-clock reading in the
    calendar's zone falls inside a window of the weekday of that reading's date, that date is
    not a holiday, and no closure covers the instant. Everything follows from this one rule:

    * Non-existent local times (spring forward): a window boundary the clock skips falls on
      the instant the clock jumps. In Europe/Paris on 29 March 2026 (02:00 -> 03:00) a window
      02:30-04:00 starts at 03:00 CEST and holds one hour.
    * Ambiguous local times (fall back): the repeated wall-clock times are working time each
      time they occur, so a window boundary in the repeated hour takes effect at both of its
      occurrences. In Europe/Paris on 25 October 2026 (03:00 CEST -> 02:00 CET) a window
      00:00-06:00 holds seven hours (it gains the repeated hour); a window 02:30-08:00 works
      02:30-03:00 CEST, pauses while the clock shows 02:00-02:30 the second time and resumes
      at 02:30 CET; a window 01:00-02:30 works 01:00-02:30 CEST and again 02:00-02:30 CET.
    * Each instant belongs to exactly one local date, so nothing is counted twice, even where
      midnight itself is skipped or repeated (Havana, Cairo; St. John's fell back across
      midnight until 2011: the repeated minutes belong to the earlier date).

    Durations are exact to the microsecond. Inputs may be any aware ``datetime`` (standard
    library or pendulum); naive ones raise :class:`ValidationError`. Results are standard
    ``datetime`` values in UTC. Instants must lie in the years 0002 to 9998. When holidays
    and closures leave no working time for more than ten years, the operations raise
    :class:`ValidationError` instead of searching forever.
    """

    __slots__ = (
        "_blocks",
        "_chunks",
        "_closure_ends",
        "_closure_starts",
        "_closures",
        "_country_years",
        "_dated_holidays",
        "_definition",
        "_edges",
        "_holiday_days",
        "_holiday_list",
        "_holidays",
        "_spans",
        "_weekly",
        "_windows",
        "_yearly",
        "country",
        "name",
        "subdivision",
        "timezone",
    )

    def __init__(
        self,
        *,
        name: str,
        timezone: str,
        windows: Mapping[int, Sequence[tuple[time, time]]],
        holidays: Iterable[date] = (),
        yearly_holidays: Iterable[tuple[int, int]] = (),
        closures: Iterable[tuple[datetime, datetime]] = (),
        country: str | None = None,
        subdivision: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError(
                f"a calendar name must be a non-empty string, got {name!r}", culprit="name"
            )
        self.name: str = name
        self.timezone: str = _check_zone(timezone)
        self._windows = _check_windows(windows)
        self._holidays = _check_holidays(holidays)
        self._yearly = _check_yearly(yearly_holidays)
        self._closures = _check_closures(closures)
        _check_country(country, subdivision)
        self.country: str | None = country
        self.subdivision: str | None = subdivision
        self._definition = (
            name, timezone, self._windows, self._holidays, self._yearly, self._closures,
            country, subdivision,
        )  # fmt: skip
        self._spans = tuple(
            tuple((_micros_of_day(s), _micros_of_day(e) if e != time(0) else _DAY) for s, e in day)
            for day in self._windows
        )
        self._edges = tuple(_joined_edges(day) for day in self._spans)
        self._weekly = sum(end - start for day in self._spans for start, end in day)
        self._holiday_list = tuple(d.toordinal() - _EPOCH_ORDINAL for d in self._holidays)
        self._closure_starts = tuple((s - _EPOCH) // _ONE_US for s, _ in self._closures)
        self._closure_ends = tuple((e - _EPOCH) // _ONE_US for _, e in self._closures)
        self._blocks: dict[int, _Block] = {}
        self._holiday_days = frozenset(self._holiday_list)
        self._dated_holidays = bool(self._yearly) or country is not None
        self._chunks: dict[int, tuple[int, ...]] = {}
        self._country_years: dict[int, frozenset[date]] = {}

    # -- building -----------------------------------------------------------------------------

    @classmethod
    def always(cls) -> BusinessCalendar:
        """The 24x7 calendar: every instant is working time (UTC, named ``"24x7"``)."""
        whole_day = [(time(0), time(0))]
        return cls(name="24x7", timezone="UTC", windows=dict.fromkeys(range(7), whole_day))

    @classmethod
    def office(
        cls,
        timezone: str,
        *,
        start: time = time(9),
        end: time = time(17),
        weekdays: Iterable[int] = range(5),
        lunch: tuple[time, time] | None = None,
        name: str | None = None,
        holidays: Iterable[date] = (),
        yearly_holidays: Iterable[tuple[int, int]] = (),
        closures: Iterable[tuple[datetime, datetime]] = (),
        country: str | None = None,
        subdivision: str | None = None,
    ) -> BusinessCalendar:
        """Office hours: ``start``-``end`` on ``weekdays`` (Monday to Friday by default).

        ``lunch`` is a ``(start, end)`` break inside the day. The name defaults to
        ``"office hours (<timezone>)"``.
        """
        day: list[_Window] = [(start, end)]
        if lunch is not None:
            lunch_start, lunch_end = lunch
            inside = start < lunch_start < lunch_end and (end == time(0) or lunch_end < end)
            if not inside:
                raise DefinitionError(
                    f"lunch {_time_text(lunch_start)}-{_time_text(lunch_end, end=True)} must lie"
                    f" strictly inside {_time_text(start)}-{_time_text(end, end=True)}",
                    culprit="lunch",
                )
            day = [(start, lunch_start), (lunch_end, end)]
        return cls(
            name=name if name is not None else f"office hours ({timezone})",
            timezone=timezone,
            windows=dict.fromkeys(weekdays, day),
            holidays=holidays,
            yearly_holidays=yearly_holidays,
            closures=closures,
            country=country,
            subdivision=subdivision,
        )

    # -- questions ----------------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of business time has passed since ``start``.

        This is the earliest instant ``due`` with ``between(start, due) == duration``: a target
        that runs out exactly at the end of a window is due then, not when the next one opens.
        A zero duration is due at ``start``.
        """
        moment = self._micros(start, "start")
        if not isinstance(duration, timedelta):
            raise ValidationError(
                f"duration must be a timedelta, got {duration!r}", field="duration"
            )
        if duration < _ZERO:
            raise ValidationError(
                f"duration must not be negative, got {duration}", field="duration"
            )
        remaining = duration // _ONE_US
        if remaining == 0:
            return _instant(moment)
        day = self._day_of(moment, "start")
        last_work = day
        weekly = self._weekly
        blocks = self._blocks
        while True:
            block_start, _, base, edges = blocks.get(day) or self._block(day)
            if remaining > weekly and block_start >= moment:
                weeks = min((self._next_special(day) - day) // 7, (remaining - 1) // weekly)
                if weeks > 0:
                    remaining -= weeks * weekly
                    day += 7 * weeks
                    last_work = day
                    continue
            for position in range(0, len(edges), 2):
                low, high = base + edges[position], base + edges[position + 1]
                if high <= moment:
                    continue
                low = max(low, moment)
                span = high - low
                if remaining <= span:
                    return _instant(low + remaining)
                remaining -= span
                last_work = day
            day += 1
            if day - last_work > _MAX_IDLE_DAYS or day > _MAX_DAY:
                self._check_progress(day, last_work)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The business time in ``[start, end)``; zero when ``end`` is not after ``start``."""
        low = self._micros(start, "start")
        high = self._micros(end, "end")
        if high <= low:
            return _ZERO
        day = self._day_of(low, "start")
        last = self._day_of(high, "end")
        total = 0
        blocks = self._blocks
        while day <= last:
            block_start, _, base, edges = blocks.get(day) or self._block(day)
            if day + 7 <= last and block_start >= low:
                weeks = min((self._next_special(day) - day) // 7, (last - day) // 7)
                if weeks > 0:
                    total += weeks * self._weekly
                    day += 7 * weeks
                    continue
            for position in range(0, len(edges), 2):
                a = max(base + edges[position], low)
                b = min(base + edges[position + 1], high)
                if a < b:
                    total += b - a
            day += 1
        return _ONE_US * total

    def is_working(self, instant: datetime) -> bool:
        """Whether ``instant`` is working time."""
        moment = self._micros(instant, "instant")
        _, _, base, edges = self._block(self._day_of(moment, "instant"))
        for position in range(0, len(edges), 2):
            if base + edges[position] <= moment < base + edges[position + 1]:
                return True
        return False

    def next_working(self, instant: datetime) -> datetime:
        """The first working instant at or after ``instant`` (``instant`` itself if working)."""
        moment = self._micros(instant, "instant")
        day = self._day_of(moment, "instant")
        first = day
        while True:
            _, _, base, edges = self._block(day)
            for position in range(0, len(edges), 2):
                if base + edges[position + 1] > moment:
                    return _instant(max(base + edges[position], moment))
            day += 1
            self._check_progress(day, first)

    def working_periods(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working intervals counted in ``[start, end)``, in UTC, for explanations.

        Intervals that touch (for instance across midnight) are joined; their total is
        :meth:`between`.
        """
        low = self._micros(start, "start")
        high = self._micros(end, "end")
        spans: list[list[int]] = []
        if high <= low:
            return []
        for day in range(self._day_of(low, "start"), self._day_of(high, "end") + 1):
            _, _, base, edges = self._block(day)
            for position in range(0, len(edges), 2):
                a = max(base + edges[position], low)
                b = min(base + edges[position + 1], high)
                if a >= b:
                    continue
                if spans and spans[-1][1] == a:
                    spans[-1][1] = b
                else:
                    spans.append([a, b])
        return [(_instant(a), _instant(b)) for a, b in spans]

    # -- plain data ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain, TOML-friendly data (``"09:00"`` times, ISO dates)."""
        data: dict[str, Any] = {
            "name": self.name,
            "timezone": self.timezone,
            "windows": {
                _WEEKDAYS[weekday]: [
                    [_time_text(start), _time_text(end, end=True)] for start, end in windows
                ]
                for weekday, windows in enumerate(self._windows)
                if windows
            },
            "holidays": [day.isoformat() for day in self._holidays],
            "yearly_holidays": [f"{month:02d}-{day:02d}" for month, day in self._yearly],
            "closures": [[s.isoformat(), e.isoformat()] for s, e in self._closures],
        }
        if self.country is not None:
            data["country"] = self.country
        if self.subdivision is not None:
            data["subdivision"] = self.subdivision
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build a calendar from :meth:`to_dict` data (or the same shape read from TOML).

        Times may be ``"HH:MM"`` / ``"HH:MM:SS"`` text (``"24:00"`` for a window ending at
        midnight) or ``datetime.time`` values; dates ISO text or ``datetime.date``; yearly
        holidays ``"MM-DD"``; closures pairs of ISO instants with an offset or aware
        ``datetime`` values. Malformed data raises :class:`DefinitionError` whose ``culprit`` is
        the key path, e.g. ``windows.monday[1][0]``.
        """
        return cls(**_parse(data))

    # -- identity -----------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._definition == other._definition

    def __hash__(self) -> int:
        return hash(self._definition)

    def __repr__(self) -> str:
        return f"BusinessCalendar(name={self.name!r}, timezone={self.timezone!r})"

    # -- internals ----------------------------------------------------------------------------

    def _micros(self, value: object, field: str) -> int:
        """``value`` as µs since the epoch; anything but an aware datetime is refused."""
        if type(value) is datetime and value.tzinfo is not None:
            try:
                return (value - _EPOCH) // _ONE_US
            except TypeError:  # its tzinfo gives no offset: utc_instant says why it is refused
                pass
        return (utc_instant(value, field) - _EPOCH) // _ONE_US

    def _day_of(self, moment: int, field: str) -> int:
        """The cached day (local date, days since the epoch) whose span holds ``moment``."""
        day = (moment + _offset_at(self.timezone, moment)) // _DAY
        if not _MIN_DAY <= day <= _MAX_DAY:
            raise ValidationError(
                f"{field} {_instant(moment).isoformat()} is outside the supported years 0002-9998",
                field=field,
            )
        while moment >= self._block(day)[1]:
            day += 1
        while moment < self._block(day)[0]:
            day -= 1
        return day

    def _check_progress(self, day: int, last_work: int) -> None:
        if day - last_work > _MAX_IDLE_DAYS:
            raise ValidationError(
                f"calendar {self.name!r} has no working time for more than ten years "
                "(holidays and closures exclude everything)",
                field="calendar",
            )
        if day > _MAX_DAY:
            raise ValidationError("the result lies beyond the year 9998", field="duration")

    def _block(self, day: int) -> _Block:
        block = self._blocks.get(day)
        if block is None:
            block = self._compute_block(day)
            if len(self._blocks) >= _CACHE_LIMIT:
                self._blocks.clear()
            self._blocks[day] = block
        return block

    def _compute_block(self, day: int) -> _Block:
        """The UTC span of local date ``day`` and its working intervals (µs).

        The span runs from the first instant whose wall clock reads ``day`` 00:00 or later to
        the same instant of the next date. Most days have one offset throughout and take the
        short way; around an offset change the general way follows the rule of the class
        docstring (in the rare zones whose clock falls back across midnight, a span also holds
        the repeated minutes of the previous date).
        """
        wall = day * _DAY
        low, high = wall - 2 * _DAY, wall + 3 * _DAY
        chunk = low // _CHUNK
        if (high - 1) // _CHUNK == chunk:
            before, instants, offsets = _zone_chunk(self.timezone, chunk)
            index = bisect_right(instants, low)
            if index == bisect_left(instants, high):  # one offset from two days before to after
                start = wall - (offsets[index - 1] if index else before)
                edges = self._edges[(day + 3) % 7]
                if not edges or (
                    day in self._holiday_days or (self._dated_holidays and self._is_holiday(day))
                ):
                    return start, start + _DAY, start, ()
                if self._closures:
                    flat = self._without_closures([start + e for e in edges], start, start + _DAY)
                    return start, start + _DAY, 0, tuple(flat)
                return start, start + _DAY, start, edges
        segments = _segments(self.timezone, low, high)
        start = _first_reaching(segments, wall)
        end = _first_reaching(segments, wall + _DAY)
        pieces: list[tuple[int, int]] = []
        for segment_low, segment_high, offset in segments:
            low, high = max(segment_low, start), min(segment_high, end)
            if low >= high:
                continue
            for local_day in range((low + offset) // _DAY, (high - 1 + offset) // _DAY + 1):
                if self._is_holiday(local_day):
                    continue
                base = local_day * _DAY - offset
                for span_start, span_end in self._spans[(local_day + 3) % 7]:
                    a, b = max(low, base + span_start), min(high, base + span_end)
                    if a < b:
                        pieces.append((a, b))
        pieces.sort()
        flat = []
        for a, b in pieces:
            if flat and a <= flat[-1]:
                flat[-1] = max(flat[-1], b)
            else:
                flat += (a, b)
        if self._closures and flat:
            flat = self._without_closures(flat, start, end)
        return start, end, 0, tuple(flat)

    def _without_closures(self, flat: list[int], start: int, end: int) -> list[int]:
        first = bisect_right(self._closure_ends, start)
        last = bisect_left(self._closure_starts, end)
        if first >= last:
            return flat
        closures = list(
            zip(self._closure_starts[first:last], self._closure_ends[first:last], strict=True)
        )
        result: list[int] = []
        for position in range(0, len(flat), 2):
            a, b = flat[position], flat[position + 1]
            for closed_from, closed_to in closures:
                if closed_to <= a or closed_from >= b:
                    continue
                if closed_from > a:
                    result += (a, closed_from)
                a = max(a, closed_to)
                if a >= b:
                    break
            if a < b:
                result += (a, b)
        return result

    def _is_holiday(self, day: int) -> bool:
        if day in self._holiday_days:
            return True
        if not self._yearly and self.country is None:
            return False
        local = date.fromordinal(day + _EPOCH_ORDINAL)
        if (local.month, local.day) in self._yearly:
            return True
        return self.country is not None and local in self._country_holidays(local.year)

    def _specials(self, chunk: int) -> tuple[int, ...]:
        """The special days of 128-day chunk ``chunk``, sorted (see :meth:`_compute_specials`)."""
        found = self._chunks.get(chunk)
        if found is None:
            found = self._compute_specials(chunk)
            if len(self._chunks) >= _CACHE_LIMIT:
                self._chunks.clear()
            self._chunks[chunk] = found
        return found

    def _compute_specials(self, chunk: int) -> tuple[int, ...]:
        """The days of a chunk whose work is not the plain weekly pattern.

        Special are the holidays on days with windows, the days a closure touches and the days
        around an offset change (two days either side, whatever the offset).
        """
        low = chunk * _CHUNK_DAYS
        high = low + _CHUNK_DAYS
        listed = self._holiday_list
        holidays = set(listed[bisect_left(listed, low) : bisect_left(listed, high)])
        if self._yearly or self.country is not None:
            first_year = date.fromordinal(low + _EPOCH_ORDINAL).year
            last_year = date.fromordinal(high - 1 + _EPOCH_ORDINAL).year
            found: set[date] = set()
            for year in range(first_year, last_year + 1):
                for month, day in self._yearly:
                    if month != 2 or day != 29 or _leap(year):
                        found.add(date(year, month, day))
                if self.country is not None:
                    found.update(self._country_holidays(year))
            days = (d.toordinal() - _EPOCH_ORDINAL for d in found)
            holidays.update(d for d in days if low <= d < high)
        special = {d for d in holidays if self._edges[(d + 3) % 7]}
        first = bisect_right(self._closure_ends, (low - 3) * _DAY)
        last = bisect_left(self._closure_starts, (high + 3) * _DAY)
        for closed_from, closed_to in zip(
            self._closure_starts[first:last], self._closure_ends[first:last], strict=True
        ):
            special.update(
                range(max(low, closed_from // _DAY - 2), min(high, closed_to // _DAY + 3))
            )
        for _, change, _ in _segments(self.timezone, (low - 3) * _DAY, (high + 3) * _DAY)[:-1]:
            special.update(range(max(low, change // _DAY - 2), min(high, change // _DAY + 3)))
        return tuple(sorted(special))

    def _country_holidays(self, year: int) -> frozenset[date]:
        found = self._country_years.get(year)
        if found is None:
            module = _holidays_module()
            listed = module.country_holidays(self.country, subdiv=self.subdivision, years=year)
            found = frozenset(listed)
            self._country_years[year] = found
        return found

    def _next_special(self, day: int) -> int:
        """The first special date at or after ``day`` (see :meth:`_compute_specials`).

        The search looks at most eight 128-day chunks ahead and returns the end of the last one
        if it finds nothing, so a jump never runs further than that.
        """
        chunk = day // _CHUNK_DAYS
        for ahead in range(chunk, min(chunk + 8, _MAX_DAY // _CHUNK_DAYS)):
            specials = self._specials(ahead)
            index = bisect_left(specials, day)
            if index < len(specials):
                return specials[index]
        return min(chunk + 8, _MAX_DAY // _CHUNK_DAYS) * _CHUNK_DAYS


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _instant(moment: int) -> datetime:
    return _EPOCH + _ONE_US * moment
