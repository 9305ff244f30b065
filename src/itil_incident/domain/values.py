"""Value objects of the domain: levels, channels, actors, category paths and small enums.

Values are frozen and compare by value. Levels (:class:`Impact`, :class:`Urgency`,
:class:`Priority`) are ordered by ``level``, where 1 is the most severe, as in ITIL and
ServiceNow; a matrix of any size defines how many levels exist and what they are called.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import attrs

from itil_incident.domain._text import text_problem
from itil_incident.errors import ValidationError

__all__ = [
    "Actor",
    "CategoryPath",
    "Channel",
    "CustomValue",
    "EscalationKind",
    "HoldReason",
    "Impact",
    "LinkKind",
    "NoteVisibility",
    "Priority",
    "Satisfaction",
    "Urgency",
]

#: The types a host's custom attribute may hold.
CustomValue = str | int | float | bool | datetime | None


def _check_level(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or value < 1:
        raise ValidationError(
            f"{type(instance).__name__} level must be an integer >= 1, got {value!r}",
            field=attribute.name,
        )


def _check_label(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(
            f"{type(instance).__name__} label must be a string, got {value!r}",
            field=attribute.name,
        )


@attrs.frozen(order=True, repr=False)
class _Level:
    level: int = attrs.field(validator=_check_level)
    label: str = attrs.field(default="", eq=False, order=False, validator=_check_label)

    def __repr__(self) -> str:
        if self.label:
            return f"{type(self).__name__}({self.level}, {self.label!r})"
        return f"{type(self).__name__}({self.level})"

    def __str__(self) -> str:
        return f"{self.level} - {self.label}" if self.label else str(self.level)


class Impact(_Level):
    """How widely the service is affected. Level 1 is the widest impact.

    Equality and order use ``level`` only; ``label`` is for display.
    """

    __slots__ = ()


class Urgency(_Level):
    """How soon the business needs the service back. Level 1 is the most urgent."""

    __slots__ = ()


class Priority(_Level):
    """The order in which incidents are worked. Level 1 is the highest priority."""

    __slots__ = ()


class Channel(enum.StrEnum):
    """How an incident reached the service desk."""

    PHONE = "phone"
    EMAIL = "email"
    PORTAL = "portal"
    CHAT = "chat"
    WALK_IN = "walk_in"
    MONITORING = "monitoring"
    API = "api"


class HoldReason(enum.StrEnum):
    """The default reasons to put an incident on hold; hosts may configure more (plain strings)."""

    AWAITING_CALLER = "awaiting_caller"
    AWAITING_VENDOR = "awaiting_vendor"
    AWAITING_CHANGE = "awaiting_change"
    AWAITING_PROBLEM = "awaiting_problem"


class NoteVisibility(enum.StrEnum):
    """Who may read a note: the support staff only, or the caller too."""

    WORK_NOTE = "work_note"
    COMMENT = "comment"


class EscalationKind(enum.StrEnum):
    """Functional escalation moves the work to a more skilled group or the next tier;
    hierarchical escalation informs management."""

    FUNCTIONAL = "functional"
    HIERARCHICAL = "hierarchical"


class LinkKind(enum.StrEnum):
    """How an incident relates to another record."""

    CAUSED_BY_CHANGE = "caused_by_change"
    RELATED_CHANGE = "related_change"
    RELATED_INCIDENT = "related_incident"


def _roles(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise ValidationError("roles must be a collection of strings, not one string",
                              field="roles")
    try:
        roles = frozenset(value)
    except TypeError as exc:
        raise ValidationError(f"roles must be a collection of strings: {exc}",
                              field="roles") from None
    for role in roles:
        if not isinstance(role, str) or not role or text_problem(role, single_line=True):
            raise ValidationError(f"each role must be a non-empty single-line string, "
                                  f"got {role!r}", field="roles")
    return roles


def _non_empty_str(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty string, got {value!r}",
            field=attribute.name,
        )
    _single_line(instance, attribute, value)


def _plain_str(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise ValidationError(
            f"{type(instance).__name__}.{attribute.name} must be a string, got {value!r}",
            field=attribute.name,
        )
    _single_line(instance, attribute, value)


def _single_line(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    problem = text_problem(value, single_line=True)
    if problem is not None:
        raise ValidationError(f"{type(instance).__name__}.{attribute.name} {problem}",
                              field=attribute.name)


@attrs.frozen
class Actor:
    """Someone (or something) acting on the service desk: ``id`` is its stable identifier."""

    id: str = attrs.field(validator=_non_empty_str)
    name: str = attrs.field(default="", validator=_plain_str)
    roles: frozenset[str] = attrs.field(default=frozenset(), converter=_roles)

    def has_role(self, role: str) -> bool:
        """Whether the actor holds ``role``."""
        return role in self.roles

    def __str__(self) -> str:
        return self.name or self.id


#: The actor used for changes the library makes by itself (routing, time-driven rules).
SYSTEM: Final = Actor("system", "System", frozenset({"system"}))


def _parts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise ValidationError(
            f"category parts must be a tuple of strings, got {value!r}; "
            "use CategoryPath.parse('A/B') for text",
            field="category",
        )
    parts = tuple(value)
    if not parts:
        raise ValidationError("a category path needs at least one part", field="category")
    for part in parts:
        if (not isinstance(part, str) or not part.strip() or "/" in part
                or part != part.strip() or text_problem(part, single_line=True)):
            raise ValidationError(
                f"invalid category part {part!r}: parts are non-empty, trimmed, single-line "
                "text and contain no '/'",
                field="category",
            )
    return parts


@attrs.frozen(order=True, repr=False)
class CategoryPath:
    """A path in the category tree, such as ``Network/VPN``."""

    parts: tuple[str, ...] = attrs.field(converter=_parts)

    @classmethod
    def parse(cls, text: str) -> CategoryPath:
        """Parse ``"Network/VPN"``; surrounding spaces of each part are ignored."""
        if not isinstance(text, str):
            raise ValidationError(f"a category path must be text, got {text!r}", field="category")
        return cls(tuple(part.strip() for part in text.split("/")))

    @classmethod
    def of(cls, value: CategoryPath | str) -> CategoryPath:
        """Accept a path or its text form."""
        return value if isinstance(value, CategoryPath) else cls.parse(value)

    @property
    def name(self) -> str:
        """The last part."""
        return self.parts[-1]

    @property
    def depth(self) -> int:
        """The number of parts."""
        return len(self.parts)

    @property
    def parent(self) -> CategoryPath | None:
        """The path one level up, or None at the top."""
        return CategoryPath(self.parts[:-1]) if len(self.parts) > 1 else None

    def is_within(self, other: CategoryPath) -> bool:
        """Whether this path equals ``other`` or lies below it."""
        return self.parts[: len(other.parts)] == other.parts

    def child(self, name: str) -> CategoryPath:
        """The path of a sub-category."""
        return CategoryPath((*self.parts, name))

    def __str__(self) -> str:
        return "/".join(self.parts)

    def __repr__(self) -> str:
        return f"CategoryPath({str(self)!r})"


def _score(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 1 <= value <= 5:
        raise ValidationError(f"satisfaction must be an integer from 1 to 5, got {value!r}",
                              field="satisfaction")


def _optional_str(instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{attribute.name} must be a string or None, got {value!r}",
                              field=attribute.name)


@attrs.frozen
class Satisfaction:
    """The caller's rating when the incident closed: a ``score`` from 1 (poor) to 5 (excellent)."""

    score: int = attrs.field(validator=_score)
    comment: str | None = attrs.field(default=None, validator=_optional_str)
