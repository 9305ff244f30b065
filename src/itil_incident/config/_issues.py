"""Problems found in a configuration, each at its key path, and the readers that find them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import attrs

from itil_incident.errors import DefinitionError, ItilIncidentError, ValidationError

__all__ = ["ConfigError", "ConfigIssue"]

_T = TypeVar("_T")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
MISSING: Any = object()
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


@attrs.frozen
class ConfigIssue:
    """One problem in a configuration: where (``path``, a TOML key path such as
    ``sla.versions[0].agreements[1].targets.resolution.3``), what was ``expected`` there, what
    was ``found``, and the library's ``reason`` when one of its definitions refused the value.

    >>> print(ConfigIssue("desk.escalation_role", "a string", "the integer 3"))
    desk.escalation_role: expected a string, found the integer 3
    """

    path: str
    expected: str
    found: str
    reason: str | None = None

    def __str__(self) -> str:
        where = self.path or "(top level)"
        text = f"{where}: expected {self.expected}, found {self.found}"
        return text if self.reason is None else f"{text}: {self.reason}"


class ConfigError(ValidationError):
    """A configuration is invalid; ``issues`` lists every problem found, section by section
    in the order of the file.

    Nothing is built from an invalid configuration. The message holds one line per issue;
    ``field`` is the key path of the first one.
    """

    def __init__(self, issues: Iterable[ConfigIssue], *, source: str | None = None) -> None:
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        self.source = source
        count = len(self.issues)
        head = f"{source or 'the configuration'} is invalid ({count} problem{'s' * (count != 1)})"
        super().__init__("\n".join([head, *(f"  {issue}" for issue in self.issues)]),
                         field=self.issues[0].path if self.issues else None)


# -- key paths and descriptions ------------------------------------------------------------------


def key(path: str, name: object) -> str:
    """``path`` extended by the table key ``name`` (quoted when it is not a bare key)."""
    text = str(name)
    if not _BARE_KEY.fullmatch(text):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{path}.{text}" if path else text


def index(path: str, position: int) -> str:
    return f"{path}[{position}]"


def describe(value: object) -> str:
    """``value`` as the issue's ``found`` text: its TOML type and a short rendering."""
    if value is MISSING:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the float {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {shown!r}"
    if isinstance(value, datetime):
        return f"the date-time {value.isoformat()}"
    if isinstance(value, (date, time)):
        return f"the {type(value).__name__} {value.isoformat()}"
    if isinstance(value, Mapping):
        return f"a table ({', '.join(map(str, list(value)[:6])) or 'empty'})"
    if isinstance(value, (list, tuple)):
        return f"an array of {len(value)} item{'s' * (len(value) != 1)}"
    return f"a {type(value).__name__}"


_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


def _value_at(value: object, below: str) -> object:
    """The value at the key path suffix ``below`` (``".windows.monday[0][1]"``) inside
    ``value``, or the missing marker when the path does not lead anywhere."""
    position = 0
    while position < len(below):
        step = _STEP.match(below, position)
        if step is None:
            return MISSING
        name, number = step.groups()
        if name is not None and isinstance(value, Mapping) and name in value:
            value = value[name]
        elif number is not None and isinstance(value, list) and int(number) < len(value):
            value = value[int(number)]
        else:
            return MISSING
        position = step.end()
    return value


# -- the collector -------------------------------------------------------------------------------


class Issues:
    """Collects issues while a configuration is read; readers report here and go on."""

    def __init__(self) -> None:
        self.items: list[ConfigIssue] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, path: str, expected: str, found: object, reason: str | None = None) -> None:
        self.items.append(ConfigIssue(path, expected, describe(found), reason))

    def refused(self, path: str, expected: str, value: object, error: ItilIncidentError,
                where: Callable[[str, str], str | None] | None = None) -> None:
        """Report a definition the library refused. ``where`` maps the error's culprit (and
        message) to the key path below ``path`` (a suffix such as ``".tier"`` or ``"[2]"``);
        None leaves the issue at ``path``."""
        culprit = error.culprit if isinstance(error, DefinitionError) else None
        below = where(culprit, str(error)) if culprit and where is not None else None
        found = _value_at(value, below) if below else value
        self.items.append(ConfigIssue(path + (below or ""), expected,
                                      describe(value if found is MISSING else found),
                                      str(error)))

    def unknown(self, path: str, known: Iterable[str]) -> None:
        """Report the key at ``path`` as unknown."""
        self.items.append(ConfigIssue(path, f"one of the keys {', '.join(known)}",
                                      "a key not among them", "unknown key"))

    def build(self, path: str, expected: str, value: object, factory: Callable[[], _T],
              where: Callable[[str, str], str | None] | None = None) -> _T | None:
        """``factory()``, or None after reporting the library's refusal at ``path``."""
        try:
            return factory()
        except ItilIncidentError as error:
            self.refused(path, expected, value, error, where)
            return None


# -- typed readers -------------------------------------------------------------------------------


def table(issues: Issues, value: object, path: str, known: Iterable[str],
          expected: str = "a table") -> Mapping[str, Any] | None:
    """``value`` as a table whose keys are all ``known``; unknown keys are reported."""
    if not isinstance(value, Mapping):
        issues.add(path, expected, value)
        return None
    names = tuple(known)
    for name in value:
        if name not in names:
            issues.unknown(key(path, name), names)
    return value


def array(issues: Issues, value: object, path: str, expected: str) -> list[Any] | None:
    if not isinstance(value, list):
        issues.add(path, expected, value)
        return None
    return value


def text(issues: Issues, data: Mapping[str, Any], name: str, path: str, *,
         required: bool = False) -> str | None:
    """The non-empty string at ``data[name]``; None when absent (reported when required)."""
    value = data.get(name, MISSING)
    if value is MISSING:
        if required:
            issues.add(key(path, name), "a non-empty string", value)
        return None
    if not isinstance(value, str) or not value.strip():
        issues.add(key(path, name), "a non-empty string", value)
        return None
    return value


def strings(issues: Issues, value: object, path: str) -> list[str] | None:
    """An array of non-empty strings, each bad item reported."""
    items = array(issues, value, path, "an array of strings")
    if items is None:
        return None
    good = True
    for position, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            issues.add(index(path, position), "a non-empty string", item)
            good = False
    return items if good else None


def integers(issues: Issues, value: object, path: str, expected: str) -> list[int] | None:
    items = array(issues, value, path, f"an array of {expected}")
    if items is None:
        return None
    good = True
    for position, item in enumerate(items):
        if type(item) is not int or item < 1:
            issues.add(index(path, position), expected, item)
            good = False
    return items if good else None


def parse_duration(value: object) -> timedelta | None:
    """``"4h"``, ``"1h30m"``, ``"7d"``, ``"2w"``, ``"90s"`` as a positive timedelta, else None.

    Units: ``w`` weeks, ``d`` days (24 hours), ``h``, ``m``, ``s``, largest first, each once.
    """
    if not isinstance(value, str):
        return None
    match = _DURATION.fullmatch(value.strip().replace(" ", ""))
    if match is None or not any(match.groups()):
        return None
    seconds = sum(int(amount) * size for amount, (_, size)
                  in zip(match.groups(), _UNITS, strict=True) if amount)
    try:
        return timedelta(seconds=seconds) if seconds > 0 else None
    except OverflowError:  # beyond timedelta's 999,999,999 days
        return None


def format_duration(value: timedelta) -> str:
    """A whole-second positive timedelta as :func:`parse_duration` text (``"1d"``, ``"2h30m"``);
    days are used only for whole days (``"36h"``, not ``"1d12h"``)."""
    seconds = int(value.total_seconds())
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400}d"
    parts: list[str] = []
    for unit, size in _UNITS[2:]:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


DURATION_EXPECTED = "a duration such as \"30m\", \"4h\", \"1h30m\" or \"7d\""


def duration(issues: Issues, value: object, path: str) -> timedelta | None:
    parsed = parse_duration(value)
    if parsed is None:
        issues.add(path, DURATION_EXPECTED, value)
    return parsed


def check_known(issues: Issues, names: Sequence[str], known: Iterable[str], path: str,
                what: str) -> None:
    """Report each name of ``names`` that is not among ``known``."""
    allowed = tuple(known)
    for position, name in enumerate(names):
        if name not in allowed:
            issues.add(index(path, position), f"one of the {what} {', '.join(allowed)}", name)


# -- records: a table read into the keyword arguments of a library class -------------------------


class Field:
    """How to read one key of a record: what is expected there and how to convert it
    (``read`` reports its own issues and returns :data:`BAD` when the value is unusable)."""

    __slots__ = ("expected", "read", "required")

    def __init__(self, expected: str, read: Callable[[Issues, object, str], object], *,
                 required: bool = False) -> None:
        self.expected = expected
        self.read = read
        self.required = required


BAD: Any = object()


def _simple(expected: str, accept: Callable[[object], bool]) -> Callable[..., Field]:
    def make(*, required: bool = False) -> Field:
        def read(issues: Issues, value: object, path: str) -> object:
            if accept(value):
                return value
            issues.add(path, expected, value)
            return BAD
        return Field(expected, read, required=required)
    return make


TEXT = _simple("a non-empty string", lambda v: isinstance(v, str) and bool(v.strip()))
LEVEL = _simple("an integer >= 1", lambda v: type(v) is int and v >= 1)
INTEGER = _simple("an integer", lambda v: type(v) is int)
FLAG = _simple("true or false", lambda v: type(v) is bool)
FRACTION = _simple("a number > 0", lambda v: not isinstance(v, bool)
                   and isinstance(v, (int, float)) and v > 0)


def list_of(expected: str, item: Field) -> Callable[..., Field]:
    def make(*, required: bool = False) -> Field:
        def read(issues: Issues, value: object, path: str) -> object:
            items = array(issues, value, path, expected)
            if items is None:
                return BAD
            read_items = [item.read(issues, one, index(path, i)) for i, one in enumerate(items)]
            return BAD if any(one is BAD for one in read_items) else read_items
        return Field(expected, read, required=required)
    return make


TEXTS = list_of("an array of non-empty strings", TEXT())
LEVELS = list_of("an array of integers >= 1", LEVEL())
FRACTIONS = list_of("an array of numbers > 0", FRACTION())


def record(issues: Issues, value: object, path: str, fields: Mapping[str, Field],
           expected: str, factory: Callable[..., _T]) -> _T | None:
    """Read a table into keyword arguments by ``fields`` and build ``factory(**kwargs)``;
    every problem is reported, and a refusal by ``factory`` is placed at the key its culprit
    names when that is one of ``fields``."""
    data = table(issues, value, path, fields, expected)
    if data is None:
        return None
    kwargs: dict[str, object] = {}
    usable = True
    for name, field in fields.items():
        if name not in data:
            if field.required:
                issues.add(key(path, name), field.expected, MISSING)
                usable = False
            continue
        got = field.read(issues, data[name], key(path, name))
        if got is BAD:
            usable = False
        else:
            kwargs[name] = got
    if not usable or any(name not in fields for name in data):
        return None
    return issues.build(path, expected, value, lambda: factory(**kwargs),
                        where=lambda culprit, _: "." + culprit if culprit in fields else None)
