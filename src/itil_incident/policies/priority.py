"""The priority matrix: impact x urgency -> priority, of any size.

A :class:`PriorityMatrix` is built once, validated when built (every level labelled, every cell
in range, total or completed by a fallback) and then only read. :meth:`PriorityMatrix.priority_for`
is a precomputed table lookup. Ready profiles follow ServiceNow, the ITIL sample coding, GLPI and
iTop; :meth:`PriorityMatrix.from_dict` loads a host's own matrix from plain data (TOML, JSON).

Levels follow the library's convention: level 1 is the most severe impact, the most urgent
urgency and the highest priority. An overridden priority is not the matrix's business; the
incident records it, and :meth:`PriorityMatrix.priority` validates the chosen level.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from itil_incident.domain.values import Impact, Priority, Urgency
from itil_incident.errors import DefinitionError, ValidationError

__all__ = ["PriorityMatrix", "glpi_half_up"]

_L = TypeVar("_L", Impact, Urgency, Priority)

#: ``(impact level, urgency level) -> priority level`` for the cells a matrix leaves empty.
Fallback = Callable[[int, int], int]


def glpi_half_up(impact: int, urgency: int) -> int:
    """GLPI's rule for an empty cell, in this library's numbering (1 = most severe).

    GLPI computes ``round((urgency + impact) / 2)`` on its own scale (5 = most severe) with PHP's
    ``round``, which rounds halves up, not to even as Python's does. Our impact/urgency level is
    ``6 - GLPI value`` and our priority level is ``7 - GLPI priority``.
    """
    glpi_priority = (6 - impact + 6 - urgency + 1) // 2
    return 7 - glpi_priority


#: Fallbacks that :meth:`PriorityMatrix.to_dict` / :meth:`PriorityMatrix.from_dict` know by name.
_NAMED_FALLBACKS: dict[str, Fallback] = {"glpi_half_up": glpi_half_up}


class _Scale(Generic[_L]):
    """The labelled levels of one axis, with their lookups."""

    __slots__ = ("by_label", "field", "kind", "levels")

    def __init__(self, kind: type[_L], field: str, culprit: str, levels: object) -> None:
        self.kind: type[_L] = kind
        self.field = field
        if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence):
            raise DefinitionError(
                f"{culprit}: expected a sequence of {kind.__name__} values, got {levels!r}",
                culprit=culprit,
            )
        if not levels:
            raise DefinitionError(f"{culprit}: at least one level is needed", culprit=culprit)
        by_label: dict[str, _L] = {}
        for position, item in enumerate(levels, start=1):
            if not isinstance(item, kind):
                raise DefinitionError(
                    f"{culprit}[{position - 1}]: expected {_a(kind.__name__)}, got {item!r}",
                    culprit=culprit,
                )
            if item.level != position:
                raise DefinitionError(
                    f"{culprit}: levels must be exactly 1..{len(levels)} in order, "
                    f"found level {item.level} at position {position}",
                    culprit=culprit,
                )
            if not item.label.strip():
                raise DefinitionError(
                    f"{culprit}: level {position} needs a non-empty label", culprit=culprit
                )
            key = item.label.strip().casefold()
            if key in by_label:
                raise DefinitionError(
                    f"{culprit}: label {item.label!r} is used by levels "
                    f"{by_label[key].level} and {position}",
                    culprit=culprit,
                )
            by_label[key] = item
        self.levels: tuple[_L, ...] = tuple(levels)
        self.by_label: dict[str, _L] = by_label

    @property
    def size(self) -> int:
        return len(self.levels)

    def describe(self) -> str:
        labels = ", ".join(f"{item.level} {item.label}" for item in self.levels)
        return f"1..{self.size} ({labels})"

    def get(self, value: object) -> _L:
        """The labelled level for a level, a level number or a label; else ValidationError."""
        if isinstance(value, self.kind):
            if value.level <= self.size:
                return self.levels[value.level - 1]
        elif isinstance(value, int) and not isinstance(value, bool):
            if 1 <= value <= self.size:
                return self.levels[value - 1]
        elif isinstance(value, str):
            found = self.by_label.get(value.strip().casefold())
            if found is not None:
                return found
            text = value.strip()
            if text.isdecimal() and text.isascii() and 1 <= int(text) <= self.size:
                return self.levels[int(text) - 1]
        if isinstance(value, (self.kind, int)) and not isinstance(value, bool):
            level = value if isinstance(value, int) else value.level
            problem = f"level {level} is out of range"
        else:
            problem = f"{value!r} is not a level of this scale"
        raise ValidationError(
            f"{self.field} {problem}: valid levels are {self.describe()}, given as "
            f"{_a(self.kind.__name__)}, a level number or a label",
            field=self.field,
        )


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0].lower() in "aeiou" else f"a {noun}"


class PriorityMatrix:
    """Impact x urgency -> priority, of any size.

    ``impacts``, ``urgencies`` and ``priorities`` list the labelled levels ``1..n`` of each axis,
    most severe first. ``cells`` maps ``(impact level, urgency level)`` to a priority level. Without
    a ``fallback`` the matrix must be total; with one, ``fallback(impact, urgency)`` fills every
    missing cell, and its answers are checked when the matrix is built. Any problem raises
    :class:`~itil_incident.errors.DefinitionError` whose ``culprit`` names the part at fault.
    """

    __slots__ = (
        "_cells",
        "_fallback",
        "_grid",
        "_impacts",
        "_name",
        "_priorities",
        "_table",
        "_urgencies",
    )

    def __init__(
        self,
        *,
        name: str,
        impacts: Sequence[Impact],
        urgencies: Sequence[Urgency],
        priorities: Sequence[Priority],
        cells: Mapping[tuple[int, int], int],
        fallback: Fallback | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError(f"a matrix needs a non-empty name, got {name!r}", culprit="name")
        self._name = name
        self._impacts = _Scale(Impact, "impact", "impacts", impacts)
        self._urgencies = _Scale(Urgency, "urgency", "urgencies", urgencies)
        self._priorities = _Scale(Priority, "priority", "priorities", priorities)
        if fallback is not None and not callable(fallback):
            raise DefinitionError(
                f"fallback must be callable, got {fallback!r}", culprit="fallback"
            )
        self._fallback = fallback
        self._cells = self._check_cells(cells)
        self._table = self._complete()
        # grid[impact level - 1][urgency level - 1] -> labelled Priority. Levels are >= 1 (the
        # value classes check it), so an index is never negative; too large raises IndexError.
        prio = self._priorities.levels
        self._grid: tuple[tuple[Priority, ...], ...] = tuple(
            tuple(prio[self._table[(i, u)] - 1] for u in range(1, self._urgencies.size + 1))
            for i in range(1, self._impacts.size + 1)
        )

    def _check_cells(self, cells: object) -> dict[tuple[int, int], int]:
        if not isinstance(cells, Mapping):
            raise DefinitionError(f"cells must be a mapping, got {cells!r}", culprit="cells")
        checked: dict[tuple[int, int], int] = {}
        n_imp, n_urg, n_prio = self._impacts.size, self._urgencies.size, self._priorities.size
        for key, value in cells.items():
            if (
                not isinstance(key, tuple)
                or len(key) != 2
                or not all(type(part) is int for part in key)
            ):
                raise DefinitionError(
                    f"cell keys are (impact level, urgency level) pairs of integers, got {key!r}",
                    culprit=f"cell {key!r}",
                )
            i, u = key
            culprit = f"cell ({i}, {u})"
            if not (1 <= i <= n_imp and 1 <= u <= n_urg):
                raise DefinitionError(
                    f"{culprit} is outside the matrix: impact levels are 1..{n_imp}, "
                    f"urgency levels 1..{n_urg}",
                    culprit=culprit,
                )
            if type(value) is not int or not 1 <= value <= n_prio:
                raise DefinitionError(
                    f"{culprit}: priority must be an integer level 1..{n_prio}, got {value!r}",
                    culprit=culprit,
                )
            checked[(i, u)] = value
        return checked

    def _complete(self) -> dict[tuple[int, int], int]:
        table: dict[tuple[int, int], int] = {}
        n_prio = self._priorities.size
        for i in range(1, self._impacts.size + 1):
            for u in range(1, self._urgencies.size + 1):
                if (i, u) in self._cells:
                    table[(i, u)] = self._cells[(i, u)]
                    continue
                culprit = f"cell ({i}, {u})"
                where = (
                    f"impact {i} ({self._impacts.levels[i - 1].label}), "
                    f"urgency {u} ({self._urgencies.levels[u - 1].label})"
                )
                if self._fallback is None:
                    raise DefinitionError(
                        f"matrix {self._name!r} has no priority for {where} and no fallback",
                        culprit=culprit,
                    )
                try:
                    value = self._fallback(i, u)
                except Exception as exc:
                    raise DefinitionError(
                        f"the fallback failed for {where}: {exc!r}", culprit=culprit
                    ) from exc
                if type(value) is not int or not 1 <= value <= n_prio:
                    raise DefinitionError(
                        f"the fallback gives {value!r} for {where}; "
                        f"expected an integer priority level 1..{n_prio}",
                        culprit=culprit,
                    )
                table[(i, u)] = value
        return table

    # -- reading -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def impacts(self) -> tuple[Impact, ...]:
        return self._impacts.levels

    @property
    def urgencies(self) -> tuple[Urgency, ...]:
        return self._urgencies.levels

    @property
    def priorities(self) -> tuple[Priority, ...]:
        return self._priorities.levels

    @property
    def default_impact(self) -> Impact:
        """The least severe impact (the last level)."""
        return self._impacts.levels[-1]

    @property
    def default_urgency(self) -> Urgency:
        """The least urgent urgency (the last level)."""
        return self._urgencies.levels[-1]

    def priority_for(self, impact: Impact, urgency: Urgency) -> Priority:
        """The labelled priority of ``impact`` x ``urgency``.

        Raises :class:`~itil_incident.errors.ValidationError` (``field`` ``"impact"`` or
        ``"urgency"``) for a value of the wrong type or a level outside this matrix.
        """
        if type(impact) is Impact and type(urgency) is Urgency:
            try:
                return self._grid[impact.level - 1][urgency.level - 1]
            except IndexError:
                pass
        return self._priority_for_slow(impact, urgency)

    def _priority_for_slow(self, impact: object, urgency: object) -> Priority:
        """Check the arguments one by one (impact first) and explain what is wrong."""
        levels: list[int] = []
        for value, scale in ((impact, self._impacts), (urgency, self._urgencies)):
            if not isinstance(value, scale.kind):
                raise ValidationError(
                    f"{scale.field} must be {_a(scale.kind.__name__)} ({scale.describe()}), "
                    f"got {value!r}; use PriorityMatrix.{scale.field}() to convert a number "
                    "or a label",
                    field=scale.field,
                )
            levels.append(scale.get(value).level)
        return self._priorities.levels[self._table[(levels[0], levels[1])] - 1]

    def impact(self, value: Impact | int | str) -> Impact:
        """The labelled :class:`Impact` of this matrix for a level, a level number or a label."""
        return self._impacts.get(value)

    def urgency(self, value: Urgency | int | str) -> Urgency:
        """The labelled :class:`Urgency` of this matrix for a level, a level number or a label."""
        return self._urgencies.get(value)

    def priority(self, value: Priority | int | str) -> Priority:
        """The labelled :class:`Priority` for a level, a level number or a label.

        Use it to validate a priority chosen by hand (an override), which may be a level the
        matrix itself never yields.
        """
        return self._priorities.get(value)

    # -- plain data ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back (TOML / JSON friendly).

        ``cells`` holds rows by impact, columns by urgency; ``0`` marks a cell left to a named
        fallback. A fallback that has no name is written out as explicit cells instead.
        """
        fallback_name = next(
            (key for key, func in _NAMED_FALLBACKS.items() if func is self._fallback), None
        )
        source = self._table if fallback_name is None else self._cells
        data: dict[str, Any] = {
            "name": self._name,
            "impacts": [item.label for item in self.impacts],
            "urgencies": [item.label for item in self.urgencies],
            "priorities": [item.label for item in self.priorities],
            "cells": [
                [source.get((i, u), 0) for u in range(1, self._urgencies.size + 1)]
                for i in range(1, self._impacts.size + 1)
            ],
        }
        if fallback_name is not None:
            data["fallback"] = fallback_name
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriorityMatrix:
        """Build a matrix from the plain data :meth:`to_dict` writes.

        ``{"name": ..., "impacts": [labels], "urgencies": [...], "priorities": [...],
        "cells": [[p, ...], ...], "fallback": "glpi_half_up"}``; ``cells`` rows go by impact and
        columns by urgency; ``0`` or a missing cell uses the fallback. Malformed data raises
        :class:`~itil_incident.errors.DefinitionError` naming the key path.
        """
        if not isinstance(data, Mapping):
            raise DefinitionError(f"a matrix must be a mapping, got {data!r}", culprit="matrix")
        known = {"name", "impacts", "urgencies", "priorities", "cells", "fallback"}
        for key in data:
            if key not in known:
                raise DefinitionError(
                    f"{key}: unknown key (known: {', '.join(sorted(known))})", culprit=str(key)
                )
        for key in ("name", "impacts", "urgencies", "priorities"):
            if key not in data:
                raise DefinitionError(f"{key}: missing", culprit=key)
        name = data["name"]
        if not isinstance(name, str):
            raise DefinitionError(f"name: expected a string, got {name!r}", culprit="name")
        impacts = _labels_from(data, "impacts", Impact)
        urgencies = _labels_from(data, "urgencies", Urgency)
        priorities = _labels_from(data, "priorities", Priority)
        # Check the axes (labels unique, ...) before the cells, whose checks rely on them.
        _Scale(Impact, "impact", "impacts", impacts)
        _Scale(Urgency, "urgency", "urgencies", urgencies)
        _Scale(Priority, "priority", "priorities", priorities)
        fallback: Fallback | None = None
        if "fallback" in data:
            fname = data["fallback"]
            if not isinstance(fname, str) or fname not in _NAMED_FALLBACKS:
                raise DefinitionError(
                    f"fallback: unknown fallback {fname!r} "
                    f"(known: {', '.join(sorted(_NAMED_FALLBACKS))})",
                    culprit="fallback",
                )
            fallback = _NAMED_FALLBACKS[fname]
        rows = data.get("cells", [])
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise DefinitionError(
                f"cells: expected a list of rows (one per impact), got {rows!r}", culprit="cells"
            )
        if len(rows) > len(impacts):
            raise DefinitionError(
                f"cells: {len(rows)} rows but only {len(impacts)} impacts", culprit="cells"
            )
        cells: dict[tuple[int, int], int] = {}
        for r, row in enumerate(rows):
            where = f"cells[{r}]"
            if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
                raise DefinitionError(
                    f"{where}: expected a list of priority levels, got {row!r}", culprit=where
                )
            if len(row) > len(urgencies):
                raise DefinitionError(
                    f"{where}: {len(row)} columns but only {len(urgencies)} urgencies",
                    culprit=where,
                )
            for c, value in enumerate(row):
                at = f"{where}[{c}]"
                if type(value) is not int:
                    raise DefinitionError(
                        f"{at}: expected an integer priority level, got {value!r}", culprit=at
                    )
                if not 0 <= value <= len(priorities):
                    raise DefinitionError(
                        f"{at}: priority {value} is out of range 1..{len(priorities)} "
                        "(0 = use the fallback)",
                        culprit=at,
                    )
                if value:
                    cells[(r + 1, c + 1)] = value
        return cls(
            name=name,
            impacts=impacts,
            urgencies=urgencies,
            priorities=priorities,
            cells=cells,
            fallback=fallback,
        )

    @classmethod
    def from_mapping(
        cls,
        name: str,
        table: Mapping[tuple[str | int, str | int], str | int],
        impacts: Sequence[str | Impact],
        urgencies: Sequence[str | Urgency],
        priorities: Sequence[str | Priority],
        *,
        fallback: Fallback | None = None,
    ) -> PriorityMatrix:
        """A custom matrix from ``{(impact, urgency): priority}`` given by labels or levels.

        ``impacts``, ``urgencies`` and ``priorities`` list the labels, most severe first (labelled
        levels are accepted too). Keys and values may mix labels and level numbers.
        """
        imp = _Scale(Impact, "impact", "impacts", _levels_of(Impact, "impacts", impacts))
        urg = _Scale(Urgency, "urgency", "urgencies", _levels_of(Urgency, "urgencies", urgencies))
        pri = _Scale(
            Priority, "priority", "priorities", _levels_of(Priority, "priorities", priorities)
        )
        if not isinstance(table, Mapping):
            raise DefinitionError(f"table must be a mapping, got {table!r}", culprit="table")
        cells: dict[tuple[int, int], int] = {}
        for key, value in table.items():
            culprit = f"cell {key!r}"
            try:
                if not isinstance(key, tuple) or len(key) != 2:
                    raise ValidationError(f"expected an (impact, urgency) pair, got {key!r}")
                pair = (imp.get(key[0]).level, urg.get(key[1]).level)
                level = pri.get(value).level
            except ValidationError as exc:
                raise DefinitionError(f"{culprit}: {exc}", culprit=culprit) from None
            if pair in cells:
                raise DefinitionError(
                    f"{culprit}: cell (impact {pair[0]}, urgency {pair[1]}) is given twice",
                    culprit=culprit,
                )
            cells[pair] = level
        return cls(
            name=name,
            impacts=imp.levels,
            urgencies=urg.levels,
            priorities=pri.levels,
            cells=cells,
            fallback=fallback,
        )

    # -- display and comparison -----------------------------------------------------------------

    def to_markdown(self) -> str:
        """The matrix as a Markdown table: rows by impact, columns by urgency."""

        def cell(text: object) -> str:
            return str(text).replace("|", "\\|")

        header = ["Impact \\ Urgency", *(f"{u.level} {u.label}" for u in self.urgencies)]
        lines = [
            "| " + " | ".join(cell(h) for h in header) + " |",
            "|" + "---|" * len(header),
        ]
        for impact, row in zip(self.impacts, self._grid, strict=True):
            values = [f"{impact.level} {impact.label}", *(f"{p.level} {p.label}" for p in row)]
            lines.append("| " + " | ".join(cell(v) for v in values) + " |")
        return "\n".join(lines) + "\n"

    def _key(self) -> tuple[object, ...]:
        return (
            self._name,
            tuple(item.label for item in self.impacts),
            tuple(item.label for item in self.urgencies),
            tuple(item.label for item in self.priorities),
            tuple(sorted(self._table.items())),
        )

    def __eq__(self, other: object) -> bool:
        """Matrices are equal when their names, labels and every cell's priority are."""
        if not isinstance(other, PriorityMatrix):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"PriorityMatrix(name={self._name!r}, {self._impacts.size} impacts x "
            f"{self._urgencies.size} urgencies -> {self._priorities.size} priorities)"
        )

    # -- ready profiles ------------------------------------------------------------------------

    @classmethod
    def servicenow(cls) -> PriorityMatrix:
        """ServiceNow's default incident matrix (the library's default): 3 x 3 -> 5 priorities.

        Priority 5 Planning exists but only an override reaches it: Low x Low is 4 Low.
        """
        return _profile("servicenow")

    @classmethod
    def itil(cls) -> PriorityMatrix:
        """The ITIL sample coding: as :meth:`servicenow`, but Low x Low is 5 Planning."""
        return _profile("itil")

    @classmethod
    def servicenow_problem(cls) -> PriorityMatrix:
        """ServiceNow's problem matrix: as :meth:`servicenow`, but Low x Low is 5 Planning."""
        return _profile("servicenow_problem")

    @classmethod
    def itop(cls) -> PriorityMatrix:
        """iTop's incident matrix: 3 impacts x 4 urgencies -> 4 priorities."""
        return _profile("itop")

    @classmethod
    def glpi(cls, cells: Mapping[tuple[int, int], int] | None = None) -> PriorityMatrix:
        """GLPI's 5 x 5 matrix, in this library's numbering (1 = most severe).

        Our impact/urgency level is ``6 - GLPI value``; our priority 1 is GLPI's "Major" (6),
        reachable only by override, and our 2..6 are GLPI's 5..1. Without ``cells`` this is GLPI's
        default table. ``cells`` are given as GLPI stores them: in GLPI numbering, keyed
        ``(urgency, impact)``, values 1..5; a missing cell falls back to GLPI's rule
        (:func:`glpi_half_up`: the mean of urgency and impact, halves rounded up).
        """
        if cells is None:
            return _profile("glpi")
        if not isinstance(cells, Mapping):
            raise DefinitionError(f"cells must be a mapping, got {cells!r}", culprit="cells")
        ours: dict[tuple[int, int], int] = {}
        for key, value in cells.items():
            if (
                not isinstance(key, tuple)
                or len(key) != 2
                or not all(type(part) is int and 1 <= part <= 5 for part in key)
            ):
                raise DefinitionError(
                    f"GLPI cells are keyed (urgency, impact), each 1..5; got {key!r}",
                    culprit=f"cell {key!r}",
                )
            if type(value) is not int or not 1 <= value <= 5:
                raise DefinitionError(
                    f"GLPI cell {key!r}: priority must be 1..5, got {value!r}",
                    culprit=f"cell {key!r}",
                )
            urgency, impact = key
            ours[(6 - impact, 6 - urgency)] = 7 - value
        return _glpi(ours, "glpi-custom")


def _labels_from(data: Mapping[str, Any], key: str, kind: type[_L]) -> list[_L]:
    labels = data[key]
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        raise DefinitionError(f"{key}: expected a list of labels, got {labels!r}", culprit=key)
    if not labels:
        raise DefinitionError(f"{key}: at least one level is needed", culprit=key)
    levels: list[_L] = []
    for position, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise DefinitionError(
                f"{key}[{position}]: expected a non-empty label, got {label!r}", culprit=key
            )
        levels.append(kind(position + 1, label))
    return levels


def _levels_of(kind: type[_L], culprit: str, values: object) -> list[_L]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise DefinitionError(
            f"{culprit}: expected a list of labels, got {values!r}", culprit=culprit
        )
    levels: list[_L] = []
    for position, value in enumerate(values, start=1):
        if isinstance(value, str):
            levels.append(kind(position, value))
        elif isinstance(value, kind):
            levels.append(value)
        else:
            raise DefinitionError(
                f"{culprit}[{position - 1}]: expected a label, got {value!r}", culprit=culprit
            )
    return levels


_SN_IMPACTS = (Impact(1, "High"), Impact(2, "Medium"), Impact(3, "Low"))
_SN_URGENCIES = (Urgency(1, "High"), Urgency(2, "Medium"), Urgency(3, "Low"))
_SN_PRIORITIES = (
    Priority(1, "Critical"),
    Priority(2, "High"),
    Priority(3, "Moderate"),
    Priority(4, "Low"),
    Priority(5, "Planning"),
)


def _rows(rows: Sequence[Sequence[int]]) -> dict[tuple[int, int], int]:
    """Cells from rows by impact, columns by urgency."""
    return {(i, u): p for i, row in enumerate(rows, 1) for u, p in enumerate(row, 1)}


#: GLPI's default matrix as GLPI stores it: [urgency][impact] -> priority, 5 = most severe.
_GLPI_DEFAULT = (
    (1, 1, 2, 2, 2),
    (1, 2, 2, 3, 3),
    (2, 2, 3, 4, 4),
    (2, 3, 4, 4, 5),
    (2, 3, 4, 5, 5),
)
_GLPI_LABELS = ("Very high", "High", "Medium", "Low", "Very low")
_ITOP_LEVELS = ("Critical", "High", "Medium", "Low")


def _glpi(cells: Mapping[tuple[int, int], int], name: str) -> PriorityMatrix:
    return PriorityMatrix(
        name=name,
        impacts=[Impact(n, label) for n, label in enumerate(_GLPI_LABELS, 1)],
        urgencies=[Urgency(n, label) for n, label in enumerate(_GLPI_LABELS, 1)],
        priorities=[Priority(1, "Major")]
        + [Priority(n, label) for n, label in enumerate(_GLPI_LABELS, 2)],
        cells=cells,
        fallback=glpi_half_up,
    )


@functools.cache
def _profile(name: str) -> PriorityMatrix:
    if name == "glpi":
        return _glpi(
            {
                (6 - impact, 6 - urgency): 7 - _GLPI_DEFAULT[urgency - 1][impact - 1]
                for urgency in range(1, 6)
                for impact in range(1, 6)
            },
            "glpi",
        )
    if name == "itop":
        return PriorityMatrix(
            name="itop",
            impacts=[Impact(1, "A department"), Impact(2, "A service"), Impact(3, "A person")],
            urgencies=[Urgency(n, label) for n, label in enumerate(_ITOP_LEVELS, 1)],
            priorities=[Priority(n, label) for n, label in enumerate(_ITOP_LEVELS, 1)],
            cells=_rows([(1, 1, 2, 4), (1, 2, 3, 4), (2, 3, 3, 4)]),
        )
    low_low = 4 if name == "servicenow" else 5
    return PriorityMatrix(
        name=name,
        impacts=_SN_IMPACTS,
        urgencies=_SN_URGENCIES,
        priorities=_SN_PRIORITIES,
        cells=_rows([(1, 2, 3), (2, 3, 4), (3, 4, low_low)]),
    )
