"""Reading one record through a mapping: typed values, or row errors naming row and column.

Values that repeat (timestamps, levels, actors, categories) are parsed once and cached: an
audit log repeats them on every row of an incident.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from itil_incident.domain.values import Actor, CategoryPath, Channel, Impact, Priority, Urgency
from itil_incident.errors import ItilIncidentError
from itil_incident.reporting.importing.mapping import LogMapping, Step
from itil_incident.reporting.importing.report import IMPORT_ACTOR, RowError

__all__ = ["Row", "RowReader"]

_LEVEL = re.compile(r"\s*(\d+)\s*-")  # "2 - Medium" -> 2
_CACHE_LIMIT = 500_000


class Row:
    """One readable record: who, when, which label, and the incident fields it states (None:
    the row does not say)."""

    __slots__ = (
        "actor",
        "assignee",
        "at",
        "caller",
        "case",
        "category",
        "channel",
        "code",
        "custom",
        "group",
        "impact",
        "label",
        "number",
        "opened_text",
        "priority",
        "service",
        "step",
        "tier",
        "urgency",
    )

    def __init__(self, number: int, case: str, at: datetime, label: str, step: Step | None,
                 actor: Actor) -> None:
        self.number = number
        self.case = case
        self.at = at
        self.label = label
        self.step = step
        self.actor = actor
        self.opened_text: str | None = None
        self.caller: str | None = None
        self.channel: Channel | None = None
        self.category: CategoryPath | None = None
        self.service: str | None = None
        self.impact: Impact | None = None
        self.urgency: Urgency | None = None
        self.priority: Priority | None = None
        self.group: str | None = None
        self.assignee: str | None = None
        self.tier: int | None = None
        self.code: str | None = None
        self.custom: dict[str, str] = {}


class _Times:
    """Text -> aware UTC instant, by the mapping's format and zone, cached."""

    def __init__(self, time_format: str | None, zone: tzinfo | None) -> None:
        self._format = time_format
        self._zone = zone
        self._cache: dict[str, datetime] = {}

    def parse(self, text: str) -> datetime:
        """The instant, or ValueError with a sentence saying why not."""
        found = self._cache.get(text)
        if found is not None:
            return found
        try:
            if self._format is None:
                value = datetime.fromisoformat(text.strip())
            else:
                value = datetime.strptime(text.strip(), self._format)
        except ValueError:
            expected = "ISO 8601" if self._format is None else repr(self._format)
            raise ValueError(f"not a time in the format {expected}") from None
        if value.tzinfo is None or value.utcoffset() is None:
            if self._zone is None:
                raise ValueError("a time without a UTC offset, and the mapping gives no "
                                 "time zone to read it in")
            value = value.replace(tzinfo=self._zone)
        try:
            instant = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of the supported range of instants") from None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[text] = instant
        return instant


class RowReader:
    """Turns records into :class:`Row` values for one mapping."""

    def __init__(self, mapping: LogMapping) -> None:
        self.mapping = mapping
        self._missing = mapping.missing
        self._times = _Times(mapping.time_format, mapping.timezone)
        self._opened = _Times(mapping.time_format, mapping.timezone)
        self._actors: dict[str, Actor] = {}
        self._levels: dict[tuple[str, str], Impact | Urgency | Priority] = {}
        self._categories: dict[tuple[str, ...], CategoryPath] = {}
        self._single = mapping.label[0] if len(mapping.label) == 1 else None

    def _get(self, values: Mapping[str, str], column: str | None) -> str | None:
        if column is None:
            return None
        value = values.get(column)
        if value is None or value in self._missing:
            return None
        return value

    def read(self, number: int, values: Mapping[str, str], errors: list[RowError]
             ) -> Row | None:
        """The row, or None when it cannot be replayed; problems are appended to ``errors``."""
        m = self.mapping
        case = self._get(values, m.case)
        if case is None or not case.strip():
            errors.append(RowError(number, "no case id", column=m.case,
                                   value=values.get(m.case)))
            return None
        text = self._get(values, m.timestamp)
        if text is None:
            errors.append(RowError(number, "no time", column=m.timestamp, case=case,
                                   value=values.get(m.timestamp)))
            return None
        try:
            at = self._times.parse(text)
        except ValueError as exc:
            errors.append(RowError(number, f"{text!r} is {exc}", column=m.timestamp,
                                   value=text, case=case))
            return None
        label = self._label(values)
        if label is None:
            errors.append(RowError(number, "no label", column=m.label[0], case=case))
            return None
        row = Row(number, case, at, label, m.steps.get(label), self._actor(values))
        self._fields(row, values, errors)
        return row

    def opened_at(self, row: Row, errors: list[RowError]) -> datetime | None:
        """When the row says its incident was logged (read for a case's first row only)."""
        text = row.opened_text
        if text is None:
            return None
        try:
            return self._opened.parse(text)
        except ValueError as exc:
            column = self.mapping.opened_at or ""
            self._field_error(row, errors, column, text, f"{text!r} is {exc}")
            return None

    def _label(self, values: Mapping[str, str]) -> str | None:
        if self._single is not None:
            return self._get(values, self._single)
        parts: list[str] = []
        for column in self.mapping.label:
            part = self._get(values, column)
            if part is None:
                return None
            parts.append(part)
        return self.mapping.label_separator.join(parts)

    def _actor(self, values: Mapping[str, str]) -> Actor:
        name = self._get(values, self.mapping.actor)
        if name is None or not name.strip():
            return IMPORT_ACTOR
        actor = self._actors.get(name)
        if actor is None:
            actor = self._actors[name] = Actor(name.strip())
        return actor

    def _fields(self, row: Row, values: Mapping[str, str], errors: list[RowError]) -> None:
        m, get = self.mapping, self._get
        row.opened_text = get(values, m.opened_at)
        row.caller = get(values, m.caller)
        row.service = get(values, m.service)
        row.group = get(values, m.assignment_group)
        row.assignee = get(values, m.assignee)
        row.code = get(values, m.resolution_code)
        if m.channel is not None and (text := get(values, m.channel)) is not None:
            channel = m.channels.get(text)
            if channel is None:
                try:
                    channel = Channel(text.strip().lower())
                except ValueError:
                    self._field_error(row, errors, m.channel, text, "not a known channel")
            row.channel = channel
        if m.category:
            row.category = self._category(row, values, errors)
        matrix = m.matrix
        for column, kind in ((m.impact, "impact"), (m.urgency, "urgency"),
                             (m.priority, "priority")):
            if column is None or (text := get(values, column)) is None:
                continue
            key = (kind, text)
            level = self._levels.get(key)
            if level is None:
                match = _LEVEL.match(text)
                given: str | int = int(match.group(1)) if match else text
                try:
                    level = getattr(matrix, kind)(given)
                except ItilIncidentError as exc:
                    self._field_error(row, errors, column, text, str(exc))
                    continue
                self._levels[key] = level
            setattr(row, kind, level)
        if m.tier is not None and (text := get(values, m.tier)) is not None:
            tier = m.tiers.get(text)
            if tier is None:
                tier = int(text) if text.strip().isdecimal() else None
            if tier is None or tier < 1:
                self._field_error(row, errors, m.tier, text, "not a support tier")
            else:
                row.tier = tier
        for column, attribute in m.custom.items():
            if (text := get(values, column)) is not None:
                row.custom[attribute] = text

    def _category(self, row: Row, values: Mapping[str, str], errors: list[RowError]
                  ) -> CategoryPath | None:
        parts: list[str] = []
        for column in self.mapping.category:
            text = self._get(values, column)
            if text is None:
                break
            parts.append(text.strip())
        if not parts:
            return None
        key = tuple(parts)
        path = self._categories.get(key)
        if path is None:
            try:
                path = self._categories[key] = CategoryPath(key)
            except ItilIncidentError as exc:
                self._field_error(row, errors, self.mapping.category[0], "/".join(parts),
                                  str(exc))
                return None
        return path

    @staticmethod
    def _field_error(row: Row, errors: list[RowError], column: str, value: str,
                     message: str) -> None:
        errors.append(RowError(row.number, f"{message}; field ignored", column=column,
                               value=value, case=row.case, skipped=False))
