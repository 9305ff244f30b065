"""Checking report arguments, gathering facts and grouping them (private to the reporting
package: :mod:`itil_incident.reporting.kpis` documents the behaviour)."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from itil_incident.domain._time import utc_instant
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ValidationError
from itil_incident.policies.sla import SlaCalendar, SlaPolicy
from itil_incident.reporting import facts as _facts
from itil_incident.reporting._results import Key
from itil_incident.reporting.facts import IncidentFacts

__all__ = [
    "ANCHORS",
    "BUCKETS",
    "DEFAULT_AGE_BUCKETS",
    "DIMENSIONS",
    "GroupBy",
    "KeyFunction",
    "age_edges",
    "bucketer",
    "calendar",
    "choice",
    "gather",
    "group",
    "instant",
    "key_functions",
    "period",
    "sort_key",
    "zone",
]

#: Maps an incident's facts to a group key value.
KeyFunction = Callable[[IncidentFacts], Key]
#: One part of a group key: a dimension name, a ``(name, function)`` pair or a function.
GroupBy = str | KeyFunction | tuple[str, KeyFunction]
#: The built-in dimensions.
DIMENSIONS: Final = ("category", "priority", "service", "channel", "group")
#: Time buckets: local day, ISO week, month.
BUCKETS: Final = ("day", "week", "month")
#: The instants that place an incident in a period.
ANCHORS: Final = ("logged", "resolved", "closed")
#: Backlog age bucket edges: <1d, 1d-3d, 3d-7d, 7d-30d, >=30d.
DEFAULT_AGE_BUCKETS: Final = (timedelta(days=1), timedelta(days=3), timedelta(days=7),
                              timedelta(days=30))

# -- arguments ---------------------------------------------------------------------------------


def instant(value: datetime | None, field: str) -> datetime | None:
    return None if value is None else utc_instant(value, field)


def period(value: object) -> tuple[datetime, datetime] | None:
    if value is None:
        return None
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValidationError("period must be a (start, end) pair of aware datetimes",
                              field="period")
    start, end = utc_instant(value[0], "period"), utc_instant(value[1], "period")
    if end <= start:
        raise ValidationError("period must end after it starts", field="period")
    return start, end


def choice(value: object, known: tuple[str, ...], field: str) -> str:
    if not isinstance(value, str) or value not in known:
        raise ValidationError(f"unknown {field} {value!r} (known: {', '.join(known)})",
                              field=field)
    return value


def zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ValidationError(f"time_zone must be an IANA zone name, got {name!r}",
                              field="time_zone")
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, LookupError):
        raise ValidationError(f"unknown time zone {name!r}", field="time_zone") from None


def calendar(value: object) -> SlaCalendar | None:
    if value is not None and not isinstance(value, SlaCalendar):
        raise ValidationError("calendar must be a business calendar (BusinessCalendar) or None",
                              field="calendar")
    return value


def age_edges(value: object) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError("age_buckets must be a sequence of timedeltas", field="age_buckets")
    edges = tuple(value)
    if not all(isinstance(e, timedelta) and e > timedelta(0) for e in edges) or any(
            a >= b for a, b in itertools.pairwise(edges)):
        raise ValidationError("age_buckets must be increasing positive timedeltas",
                              field="age_buckets")
    return tuple(e.total_seconds() for e in edges)


def key_functions(group_by: object) -> tuple[tuple[str, KeyFunction], ...]:
    items = ([group_by] if isinstance(group_by, str) or callable(group_by)
             else group_by if isinstance(group_by, Sequence) else None)
    if items is None:
        raise ValidationError("group_by must be a sequence of dimensions or key functions",
                              field="group_by")
    result: list[tuple[str, KeyFunction]] = []
    for item in items:
        if isinstance(item, str):
            choice(item, DIMENSIONS, "dimension")
            result.append((item, operator.attrgetter(item)))
        elif (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
              and callable(item[1])):
            result.append((item[0], item[1]))
        elif callable(item):
            result.append((getattr(item, "__name__", "key"), item))
        else:
            raise ValidationError(f"cannot group by {item!r}: give a dimension name, a function "
                                  "or a (name, function) pair", field="group_by")
    names = [name for name, _ in result]
    if len(set(names)) != len(names) or "period" in names:
        raise ValidationError(f"group key names must be unique and not 'period': {names}",
                              field="group_by")
    return tuple(result)


def bucketer(bucket: str, zone: ZoneInfo) -> Callable[[float], str]:
    """The period label of an instant (epoch seconds) in ``zone``."""
    stamp = datetime.fromtimestamp
    labels: dict[int, str] = {}  # local date ordinal -> label: formatting once per local day
    if bucket == "day":
        def name(day: date) -> str:
            return day.isoformat()
    elif bucket == "month":
        def name(day: date) -> str:
            return f"{day.year:04d}-{day.month:02d}"
    else:
        def name(day: date) -> str:
            year, week, _ = day.isocalendar()
            return f"{year:04d}-W{week:02d}"

    def label(seconds: float) -> str:
        local = stamp(seconds, zone)
        ordinal = local.toordinal()
        found = labels.get(ordinal)
        if found is None:
            found = labels[ordinal] = name(local.date())
        return found

    return label


# -- facts -------------------------------------------------------------------------------------


def gather(incidents: Iterable[Any], workflow: Workflow, at: datetime | None,
            fcr_window: float | None, sla: SlaPolicy | None) -> list[IncidentFacts]:
    if isinstance(incidents, (str, bytes)) or not isinstance(incidents, Iterable):
        raise ValidationError("incidents must be an iterable of incidents, histories or facts",
                              field="incidents")
    at_seconds = None if at is None else at.timestamp()
    derive, flags_of = _facts.derive, _facts.flags_of
    flags = flags_of(workflow)
    gathered: list[IncidentFacts] = []
    append = gathered.append
    for item in incidents:
        kind = type(item)
        if kind is IncidentFacts:
            append(item)
        elif kind is tuple or kind is list:
            append(derive(item, workflow, flags, at_seconds, at, fcr_window, sla))
        else:
            history, own = _facts.history_of(item)
            chosen = own or workflow
            append(derive(history, chosen, flags_of(chosen), at_seconds, at, fcr_window, sla))
    return gathered


# -- grouping ----------------------------------------------------------------------------------


def sort_key(key: tuple[Key, ...]) -> tuple[tuple[int, str, Key], ...]:
    return tuple((1, "", "") if v is None else (0, type(v).__name__, v) for v in key)


def group(facts: Iterable[IncidentFacts], functions: Sequence[KeyFunction]
           ) -> list[tuple[tuple[Key, ...], list[IncidentFacts]]]:
    groups: dict[tuple[Key, ...], list[IncidentFacts]] = {}
    try:
        for item in facts:
            key = tuple([function(item) for function in functions])
            members = groups.get(key)
            if members is None:
                groups[key] = [item]
            else:
                members.append(item)
    except TypeError as error:  # an unhashable key
        raise ValidationError(f"a group key function returned an unusable key: {error}",
                              field="group_by") from None
    for key in groups:
        for value in key:
            if value is not None and not isinstance(value, (str, int)):
                raise ValidationError(f"group key values must be str, int or None, got "
                                      f"{value!r}", field="group_by")
    return sorted(groups.items(), key=lambda pair: sort_key(pair[0]))


