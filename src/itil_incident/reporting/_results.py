"""The typed results of a KPI report, and their conversion to dicts, CSV and JSON.

Re-exported by :mod:`itil_incident.reporting`; import from there. Durations are seconds
(floats). ``to_dict()`` gives plain, JSON-ready data (instants as ISO 8601 text); ``to_csv()``
one row per group (``level`` ``"total"`` first, then ``"group"`` rows), an empty cell for
None; ``write_csv(path)`` writes that text in UTF-8; ``to_json()`` dumps ``to_dict()``.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from itil_incident.errors import NotFoundError

__all__ = [
    "AgeBucket",
    "Backlog",
    "BacklogFigures",
    "BacklogGroup",
    "Key",
    "KpiFigures",
    "KpiGroup",
    "KpiReport",
    "Rate",
    "SlaCompliance",
    "Stat",
    "Volumes",
]

#: A group key value: a dimension's value (None when the incident has none).
Key = str | int | None
#: A CSV cell.
Cell = str | int | float | bool | None


class _Table:
    """Conversions shared by every result: subclasses give ``to_dict`` and ``rows``."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def rows(self) -> list[dict[str, Cell]]:
        """The flat rows of :meth:`to_csv`."""
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def to_csv(self) -> str:
        """:meth:`rows` as CSV text with a header (columns in order of first appearance)."""
        rows = self.rows()
        fields: dict[str, None] = {}
        for row in rows:
            fields.update(dict.fromkeys(row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, list(fields), restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_csv` to ``path`` (UTF-8)."""
        Path(path).write_text(self.to_csv(), encoding="utf-8", newline="")


def _flat(prefix: str, values: Mapping[str, Cell]) -> dict[str, Cell]:
    return {f"{prefix}_{name}": value for name, value in values.items()}


@attrs.frozen
class Stat:
    """A distribution over incidents: ``n`` incidents have a value, ``missing`` have none
    (``n + missing`` is the number of incidents); ``mean``, ``median`` and ``p90`` (the 90th
    percentile, linear interpolation between closest ranks) are None when ``n`` is 0."""

    n: int
    missing: int
    mean: float | None
    median: float | None
    p90: float | None

    def to_dict(self) -> dict[str, Cell]:
        return {"n": self.n, "missing": self.missing, "mean": self.mean,
                "median": self.median, "p90": self.p90}


@attrs.frozen
class Rate:
    """``count`` of the ``n`` eligible incidents have the property; ``missing`` incidents are
    not eligible (``n + missing`` is the number of incidents). ``rate`` is ``count / n``, None
    when ``n`` is 0."""

    count: int
    n: int
    missing: int

    @property
    def rate(self) -> float | None:
        return self.count / self.n if self.n else None

    def to_dict(self) -> dict[str, Cell]:
        return {"count": self.count, "n": self.n, "missing": self.missing, "rate": self.rate}


@attrs.frozen
class SlaCompliance:
    """SLA clocks of one ``metric`` and ``priority`` level (None: every priority) that were
    ``met`` or ``breached``; ``missing`` counts the incidents without a final clock (running,
    paused, not started, cancelled, or no SLA at all: only in the every-priority row).
    ``rate`` is ``met / (met + breached)``."""

    metric: str
    priority: int | None
    met: int
    breached: int
    missing: int

    @property
    def rate(self) -> float | None:
        final = self.met + self.breached
        return self.met / final if final else None

    def to_dict(self) -> dict[str, Cell]:
        return {"metric": self.metric, "priority": self.priority, "met": self.met,
                "breached": self.breached, "missing": self.missing, "rate": self.rate}

    def row(self) -> dict[str, Cell]:
        prefix = f"sla_{self.metric}" + ("" if self.priority is None else f"_p{self.priority}")
        return _flat(prefix, {"met": self.met, "breached": self.breached,
                              "missing": self.missing, "rate": self.rate})


_STATS = ("time_to_acknowledge", "time_to_resolve", "time_to_final_resolution")
_BUSINESS = tuple(f"business_{name}" for name in _STATS)


@attrs.frozen
class KpiFigures:
    """Every KPI of one set of incidents (the whole report or one group); durations in
    seconds. The business durations are None when the report had no calendar."""

    incidents: int
    time_to_acknowledge: Stat
    time_to_resolve: Stat
    time_to_final_resolution: Stat
    business_time_to_acknowledge: Stat | None
    business_time_to_resolve: Stat | None
    business_time_to_final_resolution: Stat | None
    first_contact_resolution: Rate
    reopen: Rate
    reassignment: Rate
    hops: Stat
    escalation: Rate
    functional_escalation: Rate
    hierarchical_escalation: Rate
    major_incidents: int
    satisfaction: Stat
    satisfaction_response: Rate
    sla: tuple[SlaCompliance, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for field in attrs.fields(KpiFigures):
            value = getattr(self, field.name)
            if field.name == "sla":
                result["sla"] = [item.to_dict() for item in value]
            elif isinstance(value, (Stat, Rate)):
                result[field.name] = value.to_dict()
            else:
                result[field.name] = value
        return result

    def row(self) -> dict[str, Cell]:
        """The figures as one flat row (``<figure>_<part>`` columns)."""
        row: dict[str, Cell] = {}
        for field in attrs.fields(KpiFigures):
            value = getattr(self, field.name)
            if field.name == "sla":
                for item in value:
                    row.update(item.row())
            elif isinstance(value, (Stat, Rate)):
                row.update(_flat(field.name, value.to_dict()))
            elif value is not None or field.name not in _BUSINESS:
                row[field.name] = value
        return row


def _key_dict(columns: tuple[str, ...], key: tuple[Key, ...]) -> dict[str, Cell]:
    return dict(zip(columns, key, strict=True))


@attrs.frozen
class KpiGroup:
    """The figures of the incidents whose group key (one value per report column) is ``key``."""

    key: tuple[Key, ...]
    figures: KpiFigures


@attrs.frozen
class AgeBucket:
    """Backlog incidents whose age (time since logging) lies in ``[lower, upper)`` seconds
    (``upper`` None: no bound)."""

    label: str
    lower: float
    upper: float | None
    count: int

    def to_dict(self) -> dict[str, Cell]:
        return {"label": self.label, "lower": self.lower, "upper": self.upper,
                "count": self.count}


@attrs.frozen
class BacklogFigures:
    """The backlog of one set of incidents: how many are open, by age bucket, and their ages
    (a :class:`Stat` in seconds with ``missing`` 0)."""

    total: int
    ages: tuple[AgeBucket, ...]
    age: Stat

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "ages": [b.to_dict() for b in self.ages],
                "age": self.age.to_dict()}

    def row(self) -> dict[str, Cell]:
        row: dict[str, Cell] = {"backlog": self.total}
        row.update({f"age {bucket.label}": bucket.count for bucket in self.ages})
        row.update(_flat("age", self.age.to_dict()))
        return row


@attrs.frozen
class BacklogGroup:
    """The backlog of the incidents whose group key is ``key``."""

    key: tuple[Key, ...]
    figures: BacklogFigures


@attrs.frozen
class Backlog(_Table):
    """The incidents open at ``at`` (logged at or before it, neither resolved nor closed nor
    cancelled then, as their histories say), in total and per group (``columns`` name the key
    parts)."""

    at: datetime
    columns: tuple[str, ...]
    total: BacklogFigures
    groups: tuple[BacklogGroup, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "columns": list(self.columns),
            "total": self.total.to_dict(),
            "groups": [{"key": _key_dict(self.columns, g.key), **g.figures.to_dict()}
                       for g in self.groups],
        }

    def rows(self) -> list[dict[str, Cell]]:
        blank = dict.fromkeys(self.columns)
        rows = [{"level": "total", **blank, **self.total.row()}]
        rows.extend({"level": "group", **_key_dict(self.columns, g.key), **g.figures.row()}
                    for g in self.groups)
        return rows


@attrs.frozen
class Volumes(_Table):
    """Incident counts per value of each dimension (``category``, ``priority``, ``service``,
    ``channel``, ``group``, ``period``), largest first, ties in key order."""

    counts: Mapping[str, tuple[tuple[Key, int], ...]]

    def of(self, dimension: str) -> dict[Key, int]:
        """The counts of one dimension as a dict (NotFoundError for an unknown dimension)."""
        pairs = self.counts.get(dimension)
        if pairs is None:
            raise NotFoundError("volume dimension", dimension)
        return dict(pairs)

    def to_dict(self) -> dict[str, Any]:
        return {dimension: [{"key": key, "count": count} for key, count in pairs]
                for dimension, pairs in self.counts.items()}

    def rows(self) -> list[dict[str, Cell]]:
        return [{"dimension": dimension, "key": key, "count": count}
                for dimension, pairs in self.counts.items() for key, count in pairs]


@attrs.frozen
class KpiReport(_Table):
    """A KPI report: figures in ``total`` and per group, volumes, and the backlog at ``at``.

    ``considered`` incidents were given; ``excluded`` of them fell outside ``period`` (or had
    no ``anchor`` instant); the others form ``total``. ``columns`` name the parts of each
    group key: the dimensions, then ``"period"`` when the report has a time ``bucket``.
    ``to_csv()`` writes the figures (one row per group); the volumes and the backlog have
    their own ``to_csv()``; ``to_dict()`` and ``to_json()`` hold everything.
    """

    at: datetime
    period: tuple[datetime, datetime] | None
    anchor: str
    bucket: str | None
    time_zone: str
    columns: tuple[str, ...]
    considered: int
    excluded: int
    total: KpiFigures
    groups: tuple[KpiGroup, ...]
    volumes: Volumes
    backlog: Backlog

    def group(self, *key: Key) -> KpiFigures:
        """The figures of the group whose key is ``key`` (NotFoundError when there is none)."""
        for item in self.groups:
            if item.key == key:
                return item.figures
        raise NotFoundError("report group", repr(key))

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "period": (None if self.period is None
                       else [self.period[0].isoformat(), self.period[1].isoformat()]),
            "anchor": self.anchor,
            "bucket": self.bucket,
            "time_zone": self.time_zone,
            "columns": list(self.columns),
            "considered": self.considered,
            "excluded": self.excluded,
            "total": self.total.to_dict(),
            "groups": [{"key": _key_dict(self.columns, g.key), "figures": g.figures.to_dict()}
                       for g in self.groups],
            "volumes": self.volumes.to_dict(),
            "backlog": self.backlog.to_dict(),
        }

    def rows(self) -> list[dict[str, Cell]]:
        blank = dict.fromkeys(self.columns)
        rows = [{"level": "total", **blank, **self.total.row()}]
        rows.extend({"level": "group", **_key_dict(self.columns, g.key), **g.figures.row()}
                    for g in self.groups)
        return rows
