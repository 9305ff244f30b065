"""Argument checks shared by the entities: each raises ValidationError naming the field."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import cast

from itil_incident.domain._text import LINE_BREAK, NOT_TEXT
from itil_incident.domain._time import utc_instant
from itil_incident.domain.values import Actor, CustomValue
from itil_incident.errors import ValidationError

__all__ = [
    "actor",
    "custom_value",
    "identifier",
    "line",
    "optional_instant",
    "optional_text",
    "text",
    "text_tuple",
    "valid_text",
]

#: Bounds that keep one record reasonable; longer input is refused, not truncated.
MAX_TITLE = 300
MAX_TEXT = 100_000


def valid_text(value: str, field: str) -> str:
    """Refuse NUL and surrogate code points: everything stored must be valid Unicode text."""
    if value.isascii() and value.isprintable():  # the common case, decided in C
        return value
    if NOT_TEXT.search(value):
        raise ValidationError(f"{field} holds NUL or a surrogate code point, which is not text",
                              field=field)
    return value


def text(value: object, field: str, *, limit: int = MAX_TEXT) -> str:
    """A required, non-blank string of valid text (kept as given)."""
    if type(value) is not str and not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, got {type(value).__name__}",
                              field=field)
    if not value.strip():
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters", field=field)
    return valid_text(value, field)


def line(value: object, field: str, *, limit: int = MAX_TITLE) -> str:
    """A required, non-blank, single-line string (a title): no line breaks of any kind."""
    result = text(value, field, limit=limit)
    if not (result.isascii() and result.isprintable()) and LINE_BREAK.search(result):
        raise ValidationError(f"{field} must be a single line", field=field)
    return result


def optional_text(value: object, field: str, *, limit: int = MAX_TEXT) -> str | None:
    """None, or a non-blank string."""
    return None if value is None else text(value, field, limit=limit)


def identifier(value: object, field: str) -> str:
    """A non-blank single-line string, such as a group name or an id."""
    return line(value, field, limit=200)


def text_tuple(value: object, field: str) -> tuple[str, ...]:
    """A collection of identifiers, duplicates removed, order kept."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(f"{field} must be a collection of strings, got {value!r}",
                              field=field)
    return tuple(dict.fromkeys(identifier(item, field) for item in value))


def actor(value: object) -> Actor:
    """An :class:`Actor`."""
    if type(value) is not Actor and not isinstance(value, Actor):
        raise ValidationError(f"actor must be an Actor, got {type(value).__name__}",
                              field="actor")
    return value


def optional_instant(value: object, field: str) -> datetime | None:
    """None, or an aware datetime in UTC."""
    return None if value is None else utc_instant(value, field)


_CUSTOM_TYPES: tuple[type, ...] = (str, int, float, bool, datetime)


def custom_value(name: object, value: object, schema: Mapping[str, type] | None) -> CustomValue:
    """Check one host-defined attribute against ``schema`` (name -> type), when given."""
    key = identifier(name, "custom attribute name")
    if value is None:
        return None
    if not isinstance(value, _CUSTOM_TYPES):
        raise ValidationError(
            f"custom attribute {key!r} must be str, int, float, bool or datetime, "
            f"got {type(value).__name__}",
            field=f"custom.{key}",
        )
    if isinstance(value, datetime):
        value = utc_instant(value, f"custom.{key}")
    elif isinstance(value, str):
        valid_text(value, f"custom.{key}")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"custom attribute {key!r} must be a finite number, got {value!r}",
                              field=f"custom.{key}")
    if schema is not None:
        if key not in schema:
            known = ", ".join(sorted(schema)) or "none"
            raise ValidationError(f"unknown custom attribute {key!r} (declared: {known})",
                                  field=f"custom.{key}")
        expected = schema[key]
        ok = (type(value) is expected) or (expected is float and type(value) is int)
        if not ok:
            raise ValidationError(
                f"custom attribute {key!r} must be {expected.__name__}, "
                f"got {type(value).__name__}",
                field=f"custom.{key}",
            )
    return cast(CustomValue, value)
