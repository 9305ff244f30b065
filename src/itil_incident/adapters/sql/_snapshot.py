"""State snapshots: an incident's or problem's current state as one JSON text, written with
every save (the ``snapshot`` column of its state row) and read back without folding events.

The events stay the audit log and the truth: a snapshot is what folding them gives (a test
checks it), and a record whose snapshot is missing, or was written by a library whose
:class:`~itil_incident.Incident` had other fields, is rebuilt from its events instead.

The text is a JSON array: a format tag naming the class and a fingerprint of its fields and
their types, then one value per public field in declaration order. Values take the codec's
JSON forms (:func:`~itil_incident.adapters.sql.codec.value_to_json`), but for three shortcuts
chosen by the field's type: an instant is its ISO 8601 text (UTC), a value object (Actor,
Priority, ...) is the JSON text of its codec form (decoded once per distinct text, then shared:
value objects are immutable), and a plain JSON scalar is itself.

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
    _VALUE_TYPES,
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

_PLAIN: Final = frozenset({str, int, bool, type(None)})
_FILLING: Final = threading.Lock()
_CACHE_LIMIT: Final = 4096


class _Field:
    """How one public field of an entity class is written and read."""

    __slots__ = ("check", "decode", "encode", "hint", "name")

    def __init__(self, name: str, hint: Any) -> None:
        self.name = name
        self.hint = hint
        arguments = {a for a in typing.get_args(hint) if a is not type(None)}
        core = next(iter(arguments)) if len(arguments) == 1 else hint
        self.encode: Callable[[Any], Any]
        self.decode: Callable[[Any], Any]
        if core is datetime:
            self.encode, self.decode = _encode_instant, _decode_instant
        elif isinstance(core, type) and _VALUE_TYPES.get(core.__name__) is core:
            self.encode, self.decode = _encode_value, _decode_value
        elif typing.get_origin(hint) is dict:
            self.encode, self.decode = _encode_mapping, _decode_mapping
        else:
            self.encode, self.decode = _encode_any, _decode_any
        #: Whether a decoded value has the field's type (a mapping's is checked as decoded).
        self.check: Callable[[object], bool] = (
            (lambda value: True) if typing.get_origin(hint) is dict else _checker(hint))


def _encode_instant(value: datetime | None) -> str | None:
    if value is None:
        return None
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


_VALUE_TEXTS: Final[dict[Any, str]] = {}
_VALUES: Final[dict[str, Any]] = {}


def _encode_value(value: Any) -> str | None:
    if value is None:
        return None
    text = _VALUE_TEXTS.get(value)
    if text is None:
        text = json.dumps(value_to_json(value, "snapshot"))
        if len(_VALUE_TEXTS) >= _CACHE_LIMIT:
            _VALUE_TEXTS.clear()
        _VALUE_TEXTS[value] = text
    return text


def _decode_value(data: Any) -> Any:
    if data is None:
        return None
    value = _VALUES.get(data)
    if value is None:
        if not isinstance(data, str):
            raise ValidationError(f"a value object must be JSON text, got {data!r}",
                                  field="snapshot")
        try:
            value = value_from_json(json.loads(data), "snapshot")
        except json.JSONDecodeError as exc:
            raise ValidationError(f"bad value object text {data!r}: {exc}",
                                  field="snapshot") from None
        if len(_VALUES) >= _CACHE_LIMIT:
            _VALUES.clear()
        _VALUES[data] = value
    return value


def _encode_mapping(value: dict[str, Any]) -> dict[str, Any]:
    return {str(name): value_to_json(item, f"custom.{name}")
            for name, item in sorted(value.items())}


def _decode_mapping(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError(f"expected a JSON object, got {data!r}", field="snapshot")
    return {name: value_from_json(item, f"custom.{name}") for name, item in data.items()}


def _encode_any(value: Any) -> Any:
    return value if type(value) in _PLAIN else value_to_json(value, "snapshot")


def _decode_any(data: Any) -> Any:
    return data if type(data) in _PLAIN else value_from_json(data, "snapshot")


class _Layout:
    """The public fields of an entity class, in order, with the format tag of its snapshots
    and a decoder written out once for them (straight-line code, as attrs writes
    ``__init__``: a loop over the fields costs twice as much)."""

    def __init__(self, cls: type[Incident | Problem]) -> None:
        hints = typing.get_type_hints(cls, localns={"Workflow": Workflow})
        self.fields = tuple(_Field(f.name, hints[f.name]) for f in attrs.fields(cls)
                            if not f.name.startswith("_"))
        shape = ";".join(f"{f.name}:{f.hint!r}" for f in self.fields)
        digest = hashlib.sha256(shape.encode()).hexdigest()[:12]
        self.tag = f"{cls.__name__.lower()}/{digest}"
        self.cls = cls
        self.fill = self._filler()
        self.dump = self._dumper()

    def _dumper(self) -> Callable[[Any], list[Any]]:
        """``dump(record)``: the snapshot's values, tag first."""
        items = []
        namespace: dict[str, Any] = {"_tag": self.tag, "_datetime": datetime, "_UTC": UTC,
                                     "_texts": _VALUE_TEXTS}
        for index, field in enumerate(self.fields):
            namespace[f"e{index}"] = field.encode
            get = f"record.{field.name}"
            plain = _plain_type(field.hint)
            if plain is not None:
                namespace[f"t{index}"] = plain[0]
                items.append(f"{get} if type({get}) is t{index} or {get} is None "
                             f"else e{index}({get})")
            elif field.encode is _encode_instant:
                items.append(f"{get}.isoformat() if type({get}) is _datetime and "
                             f"{get}.tzinfo is _UTC else e{index}({get})")
            elif field.encode is _encode_value:
                items.append(f"_texts.get({get}) or e{index}({get})")
            else:
                items.append(f"e{index}({get})")
        body = ",\n        ".join(["_tag", *items])
        exec(f"def dump(record):\n    return [\n        {body}]", namespace)  # as above
        dump: Callable[[Any], list[Any]] = namespace["dump"]
        return dump

    def _filler(self) -> Callable[[Any, list[Any]], None]:
        """``fill(record, values)``: decode, check and set every field from ``values`` (the
        snapshot's values after the tag)."""
        lines = ["def fill(record, values):"]
        namespace: dict[str, Any] = {"_slow": _slow_field, "_instant": _decode_instant,
                                     "_values": _VALUES, "_value": _decode_value}
        for index, field in enumerate(self.fields):
            if not field.name.isidentifier():  # pragma: no cover - attrs guarantees it
                raise TypeError(f"unexpected field name {field.name!r}")
            namespace[f"f{index}"] = field
            plain = _plain_type(field.hint)
            lines.append(f"    v = values[{index}]")
            if plain is not None:
                kind, optional = plain
                namespace[f"t{index}"] = kind
                test = f"type(v) is not t{index}"
                if optional:
                    test = f"v is not None and {test}"
                lines.append(f"    if {test}: v = _slow(f{index}, v)")
            elif field.decode is _decode_instant:
                lines.append("    if v is not None: v = _instant(v)")
            elif field.decode is _decode_value:
                lines.append("    if v is not None: "
                             "v = (_values.get(v) if type(v) is str else None) or _value(v)")
                lines.append(f"    if not f{index}.check(v): v = _slow(f{index}, v)")
            else:
                lines.append(f"    v = _slow(f{index}, v)")
            lines.append(f"    record.{field.name} = v")
        exec("\n".join(lines), namespace)  # names come from attrs fields, checked above
        fill: Callable[[Any, list[Any]], None] = namespace["fill"]
        return fill


def _plain_type(hint: Any) -> tuple[type, bool] | None:
    """(str, int or bool; whether None is allowed) for a plain field, else None."""
    arguments = typing.get_args(hint)
    optional = type(None) in arguments
    core = [a for a in arguments if a is not type(None)] if arguments else [hint]
    if len(core) == 1 and core[0] in (str, int, bool) and typing.get_origin(hint) in (
            None, typing.Union, types.UnionType):
        return core[0], optional
    return None


def _slow_field(field: _Field, data: Any) -> Any:
    """Decode and check one value the general way (or raise ValidationError)."""
    value = field.decode(data)
    if not field.check(value):
        raise ValidationError(f"{field.name} cannot be {value!r}", field="snapshot")
    return value


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
    layout.fill(record, values)
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

    __slots__ = ("_load", "links", "stored")

    def __init__(self, load: Callable[[], list[E]], stored: int) -> None:
        super().__init__()
        self._load: Callable[[], list[E]] | None = load
        self.stored = stored
        #: The record's link rows when it was read (set by the repository; None: unknown).
        self.links: object = None

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
