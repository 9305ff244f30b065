"""State snapshots: an incident's or problem's current state as one JSON text, written with
every save (the ``snapshot`` column of its state row) and read back without folding events.

The events stay the audit log and the truth: a snapshot is what folding them gives (a test
checks it), and a record whose snapshot is missing, or was written by a library whose
:class:`~itil_incident.Incident` had other fields, is rebuilt from its events instead.

The text is a JSON array: a format tag naming the class and a fingerprint of its fields and
their types, then one value per public field in declaration order, chosen by the field's
type: text, an integer or a flag is itself; an instant is its ISO 8601 text (UTC); the custom
attributes are an object of the codec's forms
(:func:`~itil_incident.adapters.sql.codec.value_to_json`); anything else (a value object, an
enum member, a tuple) is the JSON text of its codec form, decoded once per distinct text and
field and then shared (these values are immutable).

A record read from its snapshot holds a :class:`StoredHistory`: its events are read from the
database the first time something needs them (the timeline, notes, SLA stages); new events
are appended without reading the stored ones.
"""

from __future__ import annotations

import hashlib
import json
import threading
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, SupportsIndex, TypeVar, overload

import attrs

from itil_incident.adapters.sql.codec import (
    _checker,
    _instant,
    value_from_json,
    value_to_json,
)
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ValidationError

__all__ = ["StoredHistory", "decode_snapshot", "encode_snapshot"]

R = TypeVar("R", Incident, Problem)
E = TypeVar("E", bound=DomainEvent)

_FILLING: Final = threading.Lock()
_CACHE_LIMIT: Final = 4096
_MISS: Final = object()


class _Field:
    """How one public field of an entity class is written and read.

    ``kind`` is ``"plain"`` (text, an integer or a flag, maybe None: itself; a value of
    another type, its codec form), ``"instant"``
    (its ISO 8601 text), ``"mapping"`` (the custom attributes: an object of codec forms) or
    ``"token"`` (anything else, immutable and hashable: value objects, enum members, tuples;
    written as the JSON text of its codec form, and read back through a cache of this field,
    since the same few values recur: the same Impact, Channel, empty tuple, ...).
    """

    __slots__ = ("check", "hint", "kind", "name", "plain", "read", "texts", "values")

    def __init__(self, name: str, hint: Any) -> None:
        self.name = name
        self.hint = hint
        arguments = [a for a in typing.get_args(hint) if a is not type(None)]
        core = arguments[0] if len(arguments) == 1 else hint
        self.plain: type | None = None
        if core in (str, int, bool) and typing.get_origin(hint) in (
                None, typing.Union, types.UnionType):
            self.kind, self.plain = "plain", core
        elif core is datetime:
            self.kind = "instant"
        elif typing.get_origin(hint) is dict:
            self.kind = "mapping"
        else:
            self.kind = "token"
        #: Whether a decoded value has the field's type (a mapping's is checked as decoded).
        self.check: Callable[[object], bool] = (
            (lambda value: True) if self.kind == "mapping" else _checker(hint))
        self.texts: dict[Any, str] = {}  # token: value -> text
        self.values: dict[str, Any] = {}  # token: text -> value (checked)
        self.read = {"plain": self._plain, "instant": _decode_instant,
                     "mapping": _decode_mapping, "token": self._token}[self.kind]

    def encode(self, value: Any) -> Any:
        """The JSON value of ``value`` in a snapshot."""
        if value is None:
            return None
        if self.kind == "instant":
            return _encode_instant(value)
        if self.kind == "mapping":
            return {str(key): value_to_json(item, f"custom.{key}")
                    for key, item in sorted(value.items())}
        if self.kind == "plain":  # another type (a str enum, say): its codec form
            return value if type(value) is self.plain else value_to_json(value, self.name)
        text = self.texts.get(value)
        if text is None:
            text = json.dumps(value_to_json(value, self.name))
            if len(self.texts) >= _CACHE_LIMIT:
                self.texts.clear()
            self.texts[value] = text
        return text

    def decode(self, data: Any) -> Any:
        """The checked value of ``data`` (ValidationError when it is not one)."""
        value = self.read(data)
        if not self.check(value):
            raise ValidationError(f"{self.name} cannot be {value!r}", field="snapshot")
        return value

    def _plain(self, data: Any) -> Any:
        if data is None or type(data) is self.plain:
            return data
        return value_from_json(data, self.name)  # a value of another type: its codec form

    def _token(self, data: Any) -> Any:
        if data is None:
            return None
        value = self.values.get(data) if type(data) is str else None
        if value is None:
            if type(data) is not str:
                raise ValidationError(f"{self.name}: expected JSON text, got {data!r}",
                                      field="snapshot")
            try:
                value = value_from_json(json.loads(data), self.name)
            except json.JSONDecodeError as exc:
                raise ValidationError(f"{self.name}: bad JSON text {data!r}: {exc}",
                                      field="snapshot") from None
            if not self.check(value):
                raise ValidationError(f"{self.name} cannot be {value!r}", field="snapshot")
            if len(self.values) >= _CACHE_LIMIT:
                self.values.clear()
            self.values[data] = value
        return value


def _encode_instant(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"cannot encode a naive datetime ({value})", field="snapshot")
    return value.astimezone(UTC).isoformat()


def _decode_instant(data: Any) -> datetime | None:
    if data is None:
        return None
    try:
        return _instant(data, "snapshot")
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"not an instant: {data!r} ({exc})", field="snapshot") from None


def _decode_mapping(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError(f"expected a JSON object, got {data!r}", field="snapshot")
    return {name: value_from_json(item, f"custom.{name}") for name, item in data.items()}


class _Layout:
    """The public fields of an entity class, in order, with the format tag of its snapshots
    and a writer and a reader written out once for them (straight-line code, as attrs writes
    ``__init__``: a loop over the fields costs several times as much)."""

    def __init__(self, cls: type[Incident | Problem]) -> None:
        hints = typing.get_type_hints(cls, localns={"Workflow": Workflow})
        self.fields = tuple(_Field(f.name, hints[f.name]) for f in attrs.fields(cls)
                            if not f.name.startswith("_"))
        if not all(field.name.isidentifier() for field in self.fields):  # pragma: no cover
            raise TypeError(f"unexpected field names on {cls.__name__}")  # attrs prevents it
        shape = ";".join(f"{f.name}:{f.hint!r}" for f in self.fields)
        digest = hashlib.sha256(shape.encode()).hexdigest()[:12]
        self.tag = f"{cls.__name__.lower()}/{digest}"
        self.cls = cls
        self.fill = self._filler()
        self.dump = self._dumper()

    def _dumper(self) -> Callable[[Any], list[Any]]:
        """``dump(record)``: the snapshot's values, tag first."""
        items = []
        namespace: dict[str, Any] = {"_tag": self.tag, "_datetime": datetime, "_UTC": UTC}
        for index, field in enumerate(self.fields):
            namespace[f"f{index}"] = field
            namespace[f"t{index}"] = field.texts
            namespace[f"p{index}"] = field.plain
            get = f"record.{field.name}"
            if field.kind == "plain":
                items.append(f"{get} if type({get}) is p{index} or {get} is None "
                             f"else f{index}.encode({get})")
            elif field.kind == "instant":
                items.append(f"{get}.isoformat() if type({get}) is _datetime and "
                             f"{get}.tzinfo is _UTC else f{index}.encode({get})")
            elif field.kind == "token":
                items.append(f"None if {get} is None else "
                             f"t{index}.get({get}) or f{index}.encode({get})")
            else:  # the custom attributes: mostly none
                items.append(f"{{}} if type({get}) is dict and not {get} "
                             f"else f{index}.encode({get})")
        body = ",\n        ".join(["_tag", *items])
        exec(f"def dump(record):\n    return [\n        {body}]", namespace)  # names: fields
        dump: Callable[[Any], list[Any]] = namespace["dump"]
        return dump

    def _filler(self) -> Callable[[Any, list[Any]], None]:
        """``fill(record, values)``: decode, check and set every field from ``values`` (the
        snapshot's values after the tag). Raises ValidationError, TypeError or ValueError."""
        lines = ["def fill(record, values):"]
        namespace: dict[str, Any] = {"_iso": datetime.fromisoformat, "_UTC": UTC,
                                     "_MISS": _MISS}
        for index, field in enumerate(self.fields):
            namespace[f"f{index}"] = field
            namespace[f"v{index}"] = field.values
            namespace[f"p{index}"] = field.plain
            lines.append(f"    v = values[{index}]")
            if field.kind == "plain":
                test = f"type(v) is not p{index}"
                if field.check(None):
                    test = f"v is not None and {test}"
                lines.append(f"    if {test}: v = f{index}.decode(v)")
            elif field.kind == "instant":
                indent = "    "
                if field.check(None):
                    lines.append("    if v is not None:")
                    indent = "        "
                lines.append(f"{indent}v = _iso(v) if type(v) is str else f{index}.decode(v)")
                lines.append(f"{indent}if v.tzinfo is not _UTC: "
                             f"v = f{index}.decode(values[{index}])")
            elif field.kind == "token":
                indent = "    "
                if field.check(None):
                    lines.append("    if v is not None:")
                    indent = "        "
                lines.append(f"{indent}w = v{index}.get(v, _MISS) if type(v) is str else _MISS")
                lines.append(f"{indent}v = f{index}.decode(v) if w is _MISS else w")
            else:
                lines.append(f"    v = {{}} if v == {{}} else f{index}.decode(v)")
            lines.append(f"    record.{field.name} = v")
        exec("\n".join(lines), namespace)  # names come from attrs fields, checked above
        fill: Callable[[Any, list[Any]], None] = namespace["fill"]
        return fill


_dumps: Final = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
_LAYOUTS: Final = {Incident: _Layout(Incident), Problem: _Layout(Problem)}


def encode_snapshot(record: Incident | Problem) -> str:
    """The snapshot text of ``record``'s current state."""
    return _dumps(_LAYOUTS[type(record)].dump(record))


def decode_snapshot(cls: type[R], text: object, workflow: Workflow,
                    history: StoredHistory[Any]) -> R | None:
    """The record that ``text`` describes, holding ``history`` as its events; None when the
    snapshot was written for another layout of ``cls`` or is not of the row's version
    (rebuild the record from its events then).

    Raises ValidationError when the text is not a snapshot this library can read.
    """
    layout = _LAYOUTS[cls]
    if not isinstance(text, str):
        raise ValidationError(f"a snapshot is JSON text, got {type(text).__name__}",
                              field="snapshot")
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"a snapshot is not JSON: {exc}", field="snapshot") from None
    if not isinstance(values, list) or not values or not isinstance(values[0], str):
        raise ValidationError("a snapshot is a JSON array starting with its format",
                              field="snapshot")
    if values[0] != layout.tag:
        if values[0].partition("/")[0] != layout.tag.partition("/")[0]:
            raise ValidationError(f"a {cls.__name__} snapshot cannot be {values[0]!r}",
                                  field="snapshot")
        return None
    fields = layout.fields
    if len(values) != len(fields) + 1:
        raise ValidationError(f"a snapshot holds {len(values) - 1} values for "
                              f"{len(fields)} fields", field="snapshot")
    record: R = cls.__new__(cls)
    del values[0]
    try:
        layout.fill(record, values)
    except (TypeError, ValueError) as exc:  # a bad instant text, an unhashable value, ...
        raise ValidationError(f"a snapshot value cannot be read: {exc}",
                              field="snapshot") from None
    if history.stored != record.version:
        return None  # the row moved on without its snapshot (a host's own write)
    record._workflow = workflow
    record._history = history
    record._saved_version = record.version
    return record


class StoredHistory(list[E]):
    """A record's event list whose first ``stored`` events stay in the database until read.

    Appending (a new event) and reading the events after the stored ones (the pending events
    of a commit) do not read them; anything else reads them once, through ``load``, which
    returns exactly the ``stored`` events, oldest first (it raises a library error
    otherwise).
    """

    __slots__ = ("_load", "indexed", "links", "stored")

    def __init__(self, load: Callable[[], list[E]], stored: int) -> None:
        super().__init__()
        self._load: Callable[[], list[E]] | None = load
        self.stored = stored
        #: The record's link rows when it was read (set by the repository; None: unknown).
        self.links: object = None
        #: The indexed columns of its state row as stored (set by the repository; None:
        #: unknown, every column is written).
        self.indexed: dict[str, Any] | None = None

    def _fill(self) -> None:
        load = self._load
        if load is not None:
            events = load()  # two threads may both read: the first to finish fills
            with _FILLING:
                if self._load is not None:
                    super().__setitem__(slice(0, 0), events)
                    self._load = None

    @property
    def loaded(self) -> bool:
        """Whether the stored events have been read."""
        return self._load is None

    def __len__(self) -> int:
        if self._load is not None:
            return self.stored + super().__len__()
        return super().__len__()

    @overload
    def __getitem__(self, index: SupportsIndex) -> E: ...
    @overload
    def __getitem__(self, index: slice) -> list[E]: ...
    def __getitem__(self, index: SupportsIndex | slice) -> E | list[E]:
        if (self._load is not None and isinstance(index, slice) and index.step is None
                and index.stop is None and isinstance(index.start, int)
                and index.start >= self.stored):
            return super().__getitem__(slice(index.start - self.stored, None))
        self._fill()
        return super().__getitem__(index)

    def __iter__(self) -> Iterator[E]:
        self._fill()
        return super().__iter__()

    def __reversed__(self) -> Iterator[E]:
        self._fill()
        return super().__reversed__()

    def __contains__(self, item: object) -> bool:
        self._fill()
        return super().__contains__(item)

    def __eq__(self, other: object) -> bool:
        self._fill()
        if isinstance(other, StoredHistory):
            other._fill()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # a list is unhashable

    def __reduce__(self) -> tuple[type[list[E]], tuple[list[E]]]:
        """Copied or pickled as a plain list of every event (never with its loader)."""
        self._fill()
        return list, (list(super().__iter__()),)

    def __repr__(self) -> str:
        self._fill()
        return super().__repr__()

    def __add__(self, other: list[E]) -> list[E]:  # type: ignore[override]  # as list's
        self._fill()
        return list(super().__iter__()) + list(other)

    def copy(self) -> list[E]:
        self._fill()
        return list(super().__iter__())

    def index(self, value: E, start: SupportsIndex = 0, stop: SupportsIndex = 2**62) -> int:
        self._fill()
        return super().index(value, start, stop)

    def count(self, value: E) -> int:
        self._fill()
        return super().count(value)

    def _refused(self, *_args: object, **_kwargs: object) -> Any:
        raise TypeError("an event history is append-only")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refused
    insert = pop = remove = clear = sort = reverse = extend = _refused


def loaded_events(events: Sequence[E], stored: int, record_id: str) -> list[E]:
    """``events`` when they are exactly versions 1 .. ``stored`` of ``record_id``."""
    if len(events) != stored or any(event.version != number or event.aggregate_id != record_id
                                    for number, event in enumerate(events, 1)):
        raise ValidationError(f"the stored events of {record_id} are not versions 1 to "
                              f"{stored}", field="events")
    return list(events)
