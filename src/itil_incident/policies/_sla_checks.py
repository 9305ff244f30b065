"""Field checks of the SLA definitions: each raises DefinitionError naming the culprit."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from itil_incident.domain._time import utc_instant
from itil_incident.domain.values import CategoryPath
from itil_incident.errors import DefinitionError, ValidationError

__all__ = ["category", "effective", "names", "optional_text", "stages", "text",
           "version_number"]


def text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty string, got {value!r}",
            culprit=attribute.name,
        )


def optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        text(instance, attribute, value)


def names(value: object) -> frozenset[str]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise DefinitionError(f"expected a collection of names, got {value!r}")
    names = frozenset(items)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError(f"names must be non-empty strings, got {name!r}")
    return names


def category(value: object) -> CategoryPath | None:
    if value is None or isinstance(value, CategoryPath):
        return value
    if not isinstance(value, str):
        raise DefinitionError(f"an SLA rule category must be a CategoryPath or text, got "
                              f"{value!r}", culprit="category")
    try:
        return CategoryPath.parse(value)
    except ValidationError as exc:
        raise DefinitionError(f"invalid SLA rule category {value!r}: {exc}",
                              culprit="category") from None


def stages(value: object) -> tuple[float, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError(f"stages must be a sequence of fractions, got {value!r}",
                              culprit="stages")
    stages = tuple(value)
    for stage in stages:
        if isinstance(stage, bool) or not isinstance(stage, (int, float)) or not stage > 0:
            raise DefinitionError(f"each stage must be a fraction > 0 of the target (1.0 = "
                                  f"100 %), got {stage!r}", culprit="stages")
    if any(b <= a for a, b in itertools.pairwise(stages)):
        raise DefinitionError(f"stages must be strictly increasing, got {stages!r}",
                              culprit="stages")
    return tuple(float(stage) for stage in stages)


def effective(value: object) -> datetime:
    try:
        return utc_instant(value, "effective_from")
    except ValidationError as exc:
        raise DefinitionError(str(exc), culprit="effective_from") from None


def version_number(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 1:
        raise DefinitionError(f"an SLA policy version must be an integer >= 1, got {value!r}",
                              culprit="version")
