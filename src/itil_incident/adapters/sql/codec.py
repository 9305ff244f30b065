"""A JSON codec for domain events: every event to a plain dict and back, exactly.

The dict holds the event's ``name`` (its stable class attribute, such as
``"incident.assigned"``) and one key per attrs field of the event class, so the codec follows
the event classes without a line per class: a new event class is covered as soon as it exists.
Field values become JSON values:

- ``None``, ``bool``, ``int``, ``str`` and finite ``float`` as they are; tuples as lists;
- everything else as a one-key object naming its type, so that decoding is exact even where a
  field is typed ``Any`` (the ``updates`` of :class:`~itil_incident.IncidentDetailsUpdated`, a
  custom attribute's value):

  ``{"$datetime": "2026-01-05T09:00:00+00:00"}`` (aware only; an instant, written and read
  back in UTC, as the domain holds every instant),
  ``{"$float": "nan"}`` (``"inf"``, ``"-inf"``), ``{"$set": [...]}`` (a frozenset),
  ``{"$enum": "Channel", "value": "phone"}`` (the library's string enums),
  ``{"$value": "Priority", "fields": {"level": 1, "label": "Critical"}}`` (the library's value
  objects: Actor, CategoryPath, Impact, Urgency, Priority, Satisfaction, KnownError,
  PostIncidentReview, ReviewAction).

Decoding refuses what it does not know (an unknown event name, type tag or field, a missing
field) with a :class:`~itil_incident.ValidationError`; it never returns a half-built event.
"""

from __future__ import annotations

import enum
import json
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.domain.events import DomainEvent, IncidentEvent
from itil_incident.domain.major import (
    MajorBasis,
    MajorStatus,
    PostIncidentReview,
    ReviewAction,
    UpdateAudience,
)
from itil_incident.domain.problem_events import KnownError, ProblemEvent
from itil_incident.domain.problem_link_events import LinkedChange
from itil_incident.domain.values import (
    Actor,
    CategoryPath,
    Channel,
    EscalationKind,
    HoldReason,
    Impact,
    LinkKind,
    NoteVisibility,
    Priority,
    Satisfaction,
    Urgency,
)
from itil_incident.errors import ValidationError

__all__ = [
    "event_classes",
    "event_json",
    "event_from_dict",
    "event_to_dict",
    "value_from_json",
    "value_to_json",
]

_EVENT_BASES: Final = (IncidentEvent, ProblemEvent)

_VALUE_TYPES: Final[dict[str, type[attrs.AttrsInstance]]] = {
    cls.__name__: cls
    for cls in (Actor, CategoryPath, Impact, Urgency, Priority, Satisfaction, KnownError,
                # major incidents
                PostIncidentReview, ReviewAction,
                # problem change links (stored in problem snapshots)
                LinkedChange)
}
_ENUM_TYPES: Final[dict[str, type[enum.Enum]]] = {
    cls.__name__: cls for cls in (Channel, HoldReason, NoteVisibility, EscalationKind, LinkKind,
                                  # major incidents
                                  MajorBasis, MajorStatus, UpdateAudience,
                                  # monitoring alerts
                                  AlertSeverity)
}
_FLOAT_NAMES: Final = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _subclasses(base: type[DomainEvent]) -> list[type[DomainEvent]]:
    """The event classes below ``base``, as their modules define them.

    ``__subclasses__()`` also lists the class objects that attrs replaced by slotted ones until
    the garbage collector frees them; only the class a module actually holds counts.
    """
    found: list[type[DomainEvent]] = []
    for sub in base.__subclasses__():
        if getattr(sys.modules.get(sub.__module__), sub.__qualname__, None) is sub:
            found.append(sub)
            found.extend(_subclasses(sub))
    return found


def _registry() -> dict[str, type[DomainEvent]]:
    registry: dict[str, type[DomainEvent]] = {}
    for base in _EVENT_BASES:
        for cls in _subclasses(base):
            other = registry.setdefault(cls.name, cls)
            if other is not cls:  # pragma: no cover - a programming error in the event modules
                raise TypeError(f"{cls.__qualname__} and {other.__qualname__} share the event "
                                f"name {cls.name!r}")
    return registry


_EVENTS: Final = _registry()


def event_classes() -> frozenset[type[DomainEvent]]:
    """Every event class the codec knows: all subclasses of the incident and problem event
    bases."""
    return frozenset(_EVENTS.values())


# ----------------------------------------------------------------- encoding


def event_to_dict(event: DomainEvent) -> dict[str, Any]:
    """``event`` as a JSON-ready dict: ``{"name": ..., <field>: <value>, ...}``."""
    cls = type(event)
    if _EVENTS.get(getattr(cls, "name", "")) is not cls:
        raise ValidationError(f"not a known incident or problem event: {event!r}",
                              field="event")
    data: dict[str, Any] = {"name": cls.name}
    for field in attrs.fields(cls):
        data[field.name] = value_to_json(getattr(event, field.name), field.name)
    return data


def value_to_json(value: object, where: str = "value") -> Any:
    """One field value as a JSON value (see the module documentation for the forms)."""
    if isinstance(value, enum.Enum):
        if _ENUM_TYPES.get(type(value).__name__) is not type(value):
            raise ValidationError(f"{where}: cannot encode enum {value!r}", field=where)
        return {"$enum": type(value).__name__, "value": value.value}
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(f"{where}: cannot encode a naive datetime ({value})",
                                  field=where)
        return {"$datetime": value.astimezone(UTC).isoformat()}
    if isinstance(value, tuple):
        return [value_to_json(item, where) for item in value]
    if isinstance(value, frozenset):
        items = [value_to_json(item, where) for item in value]
        return {"$set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    name = type(value).__name__
    value_type = _VALUE_TYPES.get(name)
    if value_type is type(value) and value_type is not None:
        return {
            "$value": name,
            "fields": {f.name: value_to_json(getattr(value, f.name), where)
                       for f in attrs.fields(value_type)},
        }
    raise ValidationError(f"{where}: cannot encode a {name} ({value!r})", field=where)


def event_json(event: DomainEvent) -> str:
    """``json.dumps(event_to_dict(event))``, the same text, built by an encoder made once per
    event class (the repository's hot path: one JSON text for the event row and the outbox
    row). Fields take a shortcut by the type of their value (a plain JSON scalar, a UTC
    instant, a value object seen before) and the general form otherwise."""
    cls = type(event)
    encoder = _JSON_ENCODERS.get(cls)
    if encoder is None:
        if _EVENTS.get(getattr(cls, "name", "")) is not cls:
            raise ValidationError(f"not a known incident or problem event: {event!r}",
                                  field="event")
        encoder = _JSON_ENCODERS[cls] = _json_encoder(cls)
    return encoder(event)


#: Immutable values whose JSON text is kept once built, by type and value (value objects of
#: text and integer fields, enum members): equal ones of one type have the same JSON text.
_CACHED_VALUES: Final = frozenset({Actor, CategoryPath, Impact, Urgency, Priority})
_VALUE_TEXTS: Final[dict[tuple[type, object], str]] = {}
_JSON_ENCODERS: Final[dict[type, Callable[[DomainEvent], str]]] = {}
_json_text: Final = json.dumps
_json_string: Final = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str


def _value_text(value: object, where: str) -> str:
    """``json.dumps(value_to_json(value))``, the text of one field value, by the shortest
    path for its type (the same text as a whole ``json.dumps`` writes for it)."""
    kind = type(value)
    if kind is str:
        return _json_string(value)  # type: ignore[arg-type]  # a str, as just checked
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is datetime and value.tzinfo is UTC:  # type: ignore[attr-defined]  # a datetime, as just checked
        return f'{{"$datetime": "{value.isoformat()}"}}'  # type: ignore[attr-defined]  # as above
    if kind is tuple and not value:
        return "[]"
    if kind in _CACHED_VALUES or isinstance(value, enum.Enum):
        key = (kind, value)
        text = _VALUE_TEXTS.get(key)
        if text is None:
            text = _json_text(value_to_json(value, where))
            if len(_VALUE_TEXTS) >= 4096:
                _VALUE_TEXTS.clear()
            _VALUE_TEXTS[key] = text
        return text
    return _json_text(value_to_json(value, where))


def _json_encoder(cls: type[DomainEvent]) -> Callable[[DomainEvent], str]:
    """``encode(event)``: the JSON text of an event of ``cls``, its fields' texts joined as
    ``json.dumps`` joins them (written out once per class: straight-line code)."""
    names = tuple(field.name for field in attrs.fields(cls))
    if not all(name.isidentifier() for name in names):  # pragma: no cover  # attrs names
        raise TypeError(f"unexpected field names on {cls.__name__}")
    parts = [repr("{" + f'"name": {_json_string(cls.name)}')]
    for name in names:
        parts.append(repr(f", {_json_string(name)}: "))
        parts.append(f"_text(event.{name}, {name!r})")
    parts.append(repr("}"))
    namespace: dict[str, Any] = {"_text": _value_text}
    exec("def encode(event):\n    return ''.join((" + ", ".join(parts) + "))",
         namespace)  # names: attrs fields, checked above
    encode: Callable[[DomainEvent], str] = namespace["encode"]
    return encode


# ----------------------------------------------------------------- decoding


def event_from_dict(data: Mapping[str, Any]) -> DomainEvent:
    """The event that :func:`event_to_dict` turned into ``data``."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"an event must be a mapping, got {type(data).__name__}",
                              field="event")
    name = data.get("name")
    cls = _EVENTS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValidationError(f"unknown event name {name!r}", field="name")
    fields = attrs.fields(cls)
    known = {f.name for f in fields}
    unknown = sorted(str(key) for key in data if key != "name" and key not in known)
    if unknown:
        raise ValidationError(f"{name}: unknown field(s) {', '.join(unknown)}",
                              field=unknown[0])
    missing = [f.name for f in fields if f.name not in data and f.default is attrs.NOTHING]
    if missing:
        raise ValidationError(f"{name}: missing field(s) {', '.join(missing)}",
                              field=missing[0])
    event: DomainEvent = _build(cls, {f.name: value_from_json(data[f.name], f.name)
                                      for f in fields if f.name in data}, cls.name)
    return event


def value_from_json(data: Any, where: str = "value") -> Any:
    """The value that :func:`value_to_json` turned into ``data``."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return tuple(value_from_json(item, where) for item in data)
    if isinstance(data, Mapping):
        return _tagged(data, where)
    raise ValidationError(f"{where}: unexpected JSON value {data!r}", field=where)


def _tagged(data: Mapping[str, Any], where: str) -> Any:
    keys = set(data)
    try:
        if keys == {"$datetime"}:
            return _instant(data["$datetime"], where)
        if keys == {"$float"}:
            return _FLOAT_NAMES[data["$float"]]
        if keys == {"$set"} and isinstance(data["$set"], list):
            return frozenset(value_from_json(item, where) for item in data["$set"])
        if keys == {"$enum", "value"}:
            return _ENUM_TYPES[data["$enum"]](data["value"])
        if keys == {"$value", "fields"} and isinstance(data["fields"], Mapping):
            cls = _VALUE_TYPES[data["$value"]]
            return _build(cls, {str(key): value_from_json(value, where)
                                for key, value in data["fields"].items()}, where)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: cannot decode {dict(data)!r} ({exc!r})",
                              field=where) from None
    raise ValidationError(f"{where}: unknown JSON form {dict(data)!r}", field=where)


def _build(cls: type[Any], values: Mapping[str, Any], where: str) -> Any:
    """``cls(**values)`` once every value has its field's declared type (attrs checks none)."""
    hints = _hints(cls)
    fields = {f.name: f for f in attrs.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ValidationError(f"{where}: {cls.__name__} has no field {key!r}", field=where)
        if not _conforms(value, hints[key]):
            raise ValidationError(f"{where}: {cls.__name__}.{key} cannot be {value!r}",
                                  field=key)
    try:
        return cls(**{fields[key].alias: value for key, value in values.items()})
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: {exc}", field=where) from None


_HINTS: Final[dict[type, dict[str, Any]]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _conforms(value: object, hint: Any) -> bool:
    """Whether ``value`` has the type ``hint`` (the forms the event classes use)."""
    checker = _CHECKERS.get(hint)
    if checker is None:
        checker = _CHECKERS[hint] = _checker(hint)
    return checker(value)


_CHECKERS: Final[dict[Any, Callable[[object], bool]]] = {}


def _checker(hint: Any) -> Callable[[object], bool]:
    """A check of ``hint``, built once per hint."""
    if hint is Any:
        return lambda value: True
    if hint is None or hint is type(None):
        return lambda value: value is None
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        parts = tuple(_checker(argument) for argument in arguments)
        return lambda value: any(part(value) for part in parts)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            item = _checker(arguments[0])
            return lambda value: isinstance(value, tuple) and all(item(v) for v in value)
        items = tuple(_checker(argument) for argument in arguments)
        return lambda value: (isinstance(value, tuple) and len(value) == len(items)
                              and all(c(v) for c, v in zip(items, value, strict=True)))
    if origin is frozenset:
        member = _checker(arguments[0])
        return lambda value: isinstance(value, frozenset) and all(member(v) for v in value)
    if hint is int or hint is float:
        return lambda value: type(value) is hint  # not a bool for an int, not an int for a float
    if isinstance(hint, type):
        return lambda value: isinstance(value, hint)
    return lambda value: False


def _instant(text: object, where: str) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"not an ISO 8601 text: {text!r}")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"a naive datetime: {text!r}")
    if value.utcoffset() == UTC.utcoffset(None):
        return value.replace(tzinfo=UTC)
    return value
