"""Routing: which support group (and tier) gets an incident, and where it escalates to.

A :class:`RoutingTable` holds the :class:`SupportGroup` values, ordered :class:`RoutingRule`
values and an optional default group. It is validated when built: unknown groups, duplicate
names, escalation cycles and escalations that do not climb a tier are refused.

Route order (:meth:`RoutingTable.route`), most specific first:

1. a rule that names both a service and a category, and both match;
2. a rule that names only a category, and it matches (the category or anything below it);
3. a rule that names only a service, and it matches;

within 1 and 2 the rule with the deeper category wins; remaining ties go to the rule defined
first. When no rule matches, the default group is returned (``rule`` is None), or None when the
table has no default group.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from itil_incident.domain.values import CategoryPath
from itil_incident.errors import DefinitionError, ValidationError

__all__ = ["Route", "RoutingRule", "RoutingTable", "SupportGroup"]

_T = TypeVar("_T", "SupportGroup", "RoutingRule")


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty string, got {value!r}",
            culprit=attribute.name,
        )


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _text(instance, attribute, value)


def _tier(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 1:
        raise DefinitionError(
            f"{type(instance).__name__}.tier must be an integer >= 1, got {value!r}",
            culprit="tier",
        )


def _optional_category(value: object) -> CategoryPath | None:
    if value is None or isinstance(value, CategoryPath):
        return value
    if not isinstance(value, str):
        raise DefinitionError(
            f"a routing category must be a CategoryPath or text, got {value!r}",
            culprit="category",
        )
    try:
        return CategoryPath.parse(value)
    except ValidationError as exc:
        raise DefinitionError(
            f"invalid routing category {value!r}: {exc}", culprit="category"
        ) from None


@attrs.frozen
class SupportGroup:
    """A team that works incidents at a ``tier`` (1 = service desk / first line).

    ``escalates_to`` names the group that takes a functional escalation; ``manager_role`` is the
    role told of a hierarchical escalation.
    """

    name: str = attrs.field(validator=_text)
    tier: int = attrs.field(default=1, validator=_tier)
    escalates_to: str | None = attrs.field(default=None, validator=_optional_text)
    manager_role: str | None = attrs.field(default=None, validator=_optional_text)

    def to_dict(self) -> dict[str, Any]:
        """Plain data without ``None`` values (TOML friendly)."""
        data: dict[str, Any] = {"name": self.name, "tier": self.tier}
        if self.escalates_to is not None:
            data["escalates_to"] = self.escalates_to
        if self.manager_role is not None:
            data["manager_role"] = self.manager_role
        return data


@attrs.frozen
class RoutingRule:
    """Send incidents of ``category`` (and every category below it) and/or of ``service`` to
    ``group``. A rule needs at least one of the two; with both, both must match."""

    name: str = attrs.field(validator=_text)
    group: str = attrs.field(validator=_text)
    category: CategoryPath | None = attrs.field(default=None, converter=_optional_category)
    service: str | None = attrs.field(default=None, validator=_optional_text)

    def __attrs_post_init__(self) -> None:
        if self.category is None and self.service is None:
            raise DefinitionError(
                f"routing rule {self.name!r} needs a category, a service or both",
                culprit=self.name,
            )

    def matches(self, category: CategoryPath | None, service: str | None) -> bool:
        """Whether the rule applies to an incident of ``category`` and ``service``."""
        if self.service is not None and service != self.service:
            return False
        return self.category is None or (category is not None and category.is_within(self.category))

    def to_dict(self) -> dict[str, Any]:
        """Plain data without ``None`` values (TOML friendly)."""
        data: dict[str, Any] = {"name": self.name, "group": self.group}
        if self.category is not None:
            data["category"] = str(self.category)
        if self.service is not None:
            data["service"] = self.service
        return data


@attrs.frozen
class Route:
    """Where an incident goes: the ``group``, its ``tier``, and the ``rule`` that chose it
    (None when the table's default group was used)."""

    group: str
    tier: int
    rule: str | None


def _specificity(indexed: tuple[int, RoutingRule]) -> tuple[int, int, int]:
    """Sort key, most specific first: service and category, category only, service only;
    then the deeper category; then definition order."""
    index, rule = indexed
    if rule.category is None:
        return (2, 0, index)
    return (0 if rule.service is not None else 1, -rule.category.depth, index)


class RoutingTable:
    """Support groups, ordered routing rules and an optional default group.

    Malformed tables raise :class:`~itil_incident.errors.DefinitionError` whose ``culprit`` names
    the group or rule at fault: a duplicate group or rule name; a rule, ``escalates_to`` or
    ``default_group`` naming an unknown group; an escalation cycle; an escalation to a group whose
    tier is not higher. See the module documentation for the order in which rules are tried.
    """

    __slots__ = ("_default", "_groups", "_ordered", "_rules")

    def __init__(
        self,
        groups: Iterable[SupportGroup],
        rules: Sequence[RoutingRule] = (),
        *,
        default_group: str | None = None,
    ) -> None:
        table: dict[str, SupportGroup] = {}
        for group in groups:
            if not isinstance(group, SupportGroup):
                raise DefinitionError(
                    f"expected a SupportGroup, got {group!r}", culprit=repr(group)
                )
            if group.name in table:
                raise DefinitionError(f"duplicate group name {group.name!r}", culprit=group.name)
            table[group.name] = group
        if not table:
            raise DefinitionError("a routing table needs at least one group", culprit="groups")
        rule_names: set[str] = set()
        for rule in rules:
            if not isinstance(rule, RoutingRule):
                raise DefinitionError(f"expected a RoutingRule, got {rule!r}", culprit=repr(rule))
            if rule.name in rule_names:
                raise DefinitionError(f"duplicate rule name {rule.name!r}", culprit=rule.name)
            rule_names.add(rule.name)
            if rule.group not in table:
                raise DefinitionError(
                    f"rule {rule.name!r} routes to unknown group {rule.group!r}", culprit=rule.name
                )
        if default_group is not None and default_group not in table:
            raise DefinitionError(
                f"default group {default_group!r} is not a known group", culprit="default_group"
            )
        _check_escalations(table)
        self._groups = types.MappingProxyType(table)
        self._rules = tuple(rules)
        self._ordered = tuple(rule for _, rule in sorted(enumerate(self._rules), key=_specificity))
        self._default = default_group

    @property
    def groups(self) -> Mapping[str, SupportGroup]:
        """The groups by name (read-only), in definition order."""
        return self._groups

    @property
    def rules(self) -> tuple[RoutingRule, ...]:
        """The rules in definition order."""
        return self._rules

    @property
    def default_group(self) -> str | None:
        return self._default

    def route(self, *, category: CategoryPath | None, service: str | None) -> Route | None:
        """The group for an incident of ``category`` and ``service``: the most specific matching
        rule (see the module documentation), else the default group, else None."""
        if category is not None and not isinstance(category, CategoryPath):
            raise ValidationError(
                f"category must be a CategoryPath or None, got {category!r}", field="category"
            )
        if service is not None and not isinstance(service, str):
            raise ValidationError(
                f"service must be a string or None, got {service!r}", field="service"
            )
        for rule in self._ordered:
            if rule.matches(category, service):
                return Route(rule.group, self._groups[rule.group].tier, rule.name)
        if self._default is None:
            return None
        return Route(self._default, self._groups[self._default].tier, None)

    def group(self, name: str) -> SupportGroup:
        """The group called ``name``; an unknown name raises ValidationError (field "group")."""
        try:
            return self._groups[name]
        except (KeyError, TypeError):
            known = ", ".join(repr(known) for known in self._groups)
            raise ValidationError(
                f"unknown support group {name!r} (known: {known})", field="group"
            ) from None

    def next_group(self, name: str) -> SupportGroup | None:
        """The group a functional escalation from ``name`` goes to, or None at the top."""
        target = self.group(name).escalates_to
        return None if target is None else self._groups[target]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (no ``None`` values: TOML friendly) that :meth:`from_dict` reads back."""
        data: dict[str, Any] = {
            "groups": [group.to_dict() for group in self._groups.values()],
            "rules": [rule.to_dict() for rule in self._rules],
        }
        if self._default is not None:
            data["default_group"] = self._default
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoutingTable:
        """A table from plain data: ``{"groups": [{"name", "tier", "escalates_to",
        "manager_role"}], "rules": [{"name", "group", "category", "service"}],
        "default_group": ...}``. Malformed data raises
        :class:`~itil_incident.errors.DefinitionError` naming the key path (``groups[1].tier``).
        """
        if not isinstance(data, Mapping):
            raise DefinitionError(
                f"a routing table must be a mapping, got {data!r}", culprit="routing"
            )
        _only_keys(data, "", {"groups", "rules", "default_group"})
        if "groups" not in data:
            raise DefinitionError("groups: missing", culprit="groups")
        groups = [
            _build(
                SupportGroup,
                item,
                where,
                {"name": str, "tier": int, "escalates_to": str, "manager_role": str},
                required=("name",),
            )
            for where, item in _items(data["groups"], "groups")
        ]
        rules = [
            _build(
                RoutingRule,
                item,
                where,
                {"name": str, "group": str, "category": str, "service": str},
                required=("name", "group"),
            )
            for where, item in _items(data.get("rules", []), "rules")
        ]
        default = data.get("default_group")
        if default is not None and not isinstance(default, str):
            raise DefinitionError(
                f"default_group: expected a group name, got {default!r}", culprit="default_group"
            )
        return cls(groups, rules, default_group=default)

    @classmethod
    def default(cls) -> RoutingTable:
        """An ITIL-style table for :meth:`CategoryTree.default
        <itil_incident.policies.categorization.CategoryTree.default>`: the Service Desk (tier 1,
        the default group), support groups at tier 2 and engineering groups at tier 3."""
        return _default_table()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RoutingTable):
            return NotImplemented
        return (tuple(self._groups.values()), self._rules, self._default) == (
            tuple(other._groups.values()),
            other._rules,
            other._default,
        )

    def __hash__(self) -> int:
        return hash((tuple(self._groups.values()), self._rules, self._default))

    def __repr__(self) -> str:
        return (
            f"RoutingTable({len(self._groups)} groups, {len(self._rules)} rules, "
            f"default_group={self._default!r})"
        )


def _check_escalations(groups: Mapping[str, SupportGroup]) -> None:
    for group in groups.values():
        if group.escalates_to is not None and group.escalates_to not in groups:
            raise DefinitionError(
                f"group {group.name!r} escalates to unknown group {group.escalates_to!r}",
                culprit=group.name,
            )
    for start in groups.values():
        seen: list[str] = []
        current: SupportGroup | None = start
        while current is not None and current.name not in seen:
            seen.append(current.name)
            current = groups[current.escalates_to] if current.escalates_to is not None else None
        if current is not None:  # came back to a group already on the path: a cycle
            cycle = [*seen[seen.index(current.name) :], current.name]
            raise DefinitionError(f"escalation cycle: {' -> '.join(cycle)}", culprit=current.name)
    for group in groups.values():
        if group.escalates_to is not None:
            target = groups[group.escalates_to]
            if target.tier <= group.tier:
                raise DefinitionError(
                    f"group {group.name!r} (tier {group.tier}) escalates to {target.name!r} "
                    f"(tier {target.tier}): an escalation must go to a higher tier",
                    culprit=group.name,
                )


def _only_keys(data: Mapping[str, Any], where: str, known: set[str]) -> None:
    for key in data:
        if key not in known:
            at = f"{where}.{key}" if where else str(key)
            raise DefinitionError(
                f"{at}: unknown key (known: {', '.join(sorted(known))})", culprit=at
            )


def _items(value: object, where: str) -> list[tuple[str, Mapping[str, Any]]]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise DefinitionError(f"{where}: expected a list of tables, got {value!r}", culprit=where)
    items: list[tuple[str, Mapping[str, Any]]] = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            raise DefinitionError(f"{at}: expected a table, got {item!r}", culprit=at)
        items.append((at, item))
    return items


def _build(
    kind: type[_T],
    item: Mapping[str, Any],
    where: str,
    fields: Mapping[str, type],
    *,
    required: tuple[str, ...],
) -> _T:
    _only_keys(item, where, set(fields))
    for key in required:
        if key not in item:
            raise DefinitionError(f"{where}.{key}: missing", culprit=f"{where}.{key}")
    for key, expected in fields.items():
        if key in item and (not isinstance(item[key], expected) or isinstance(item[key], bool)):
            raise DefinitionError(
                f"{where}.{key}: expected {'an integer' if expected is int else 'a string'}, "
                f"got {item[key]!r}",
                culprit=f"{where}.{key}",
            )
    try:
        return kind(**dict(item))
    except DefinitionError as exc:
        at = f"{where}.{exc.culprit}" if exc.culprit in fields else where
        raise DefinitionError(f"{at}: {exc}", culprit=at) from None


@functools.cache
def _default_table() -> RoutingTable:
    groups = [
        SupportGroup("Service Desk", 1, "Technical Support", "service_desk_manager"),
        SupportGroup("Technical Support", 2, None, "incident_manager"),
        SupportGroup("Desktop Support", 2, "Infrastructure Engineering", "incident_manager"),
        SupportGroup("Network Support", 2, "Network Engineering", "incident_manager"),
        SupportGroup("Network Engineering", 3, None, "incident_manager"),
        SupportGroup("Application Support", 2, "Application Engineering", "incident_manager"),
        SupportGroup("Application Engineering", 3, None, "incident_manager"),
        SupportGroup("Infrastructure Support", 2, "Infrastructure Engineering", "incident_manager"),
        SupportGroup("Infrastructure Engineering", 3, None, "incident_manager"),
        SupportGroup("Security Operations", 2, "Security Engineering", "incident_manager"),
        SupportGroup("Security Engineering", 3, None, "incident_manager"),
    ]
    rules = [
        RoutingRule("hardware", "Infrastructure Support", "Hardware"),
        RoutingRule("end-user-desktop", "Desktop Support", "Hardware/Desktop"),
        RoutingRule("end-user-laptop", "Desktop Support", "Hardware/Laptop"),
        RoutingRule("end-user-printer", "Desktop Support", "Hardware/Printer"),
        RoutingRule("software", "Application Support", "Software"),
        RoutingRule("network", "Network Support", "Network"),
        RoutingRule("security", "Security Operations", "Security"),
        RoutingRule("access", "Service Desk", "Access"),
        RoutingRule("database", "Infrastructure Support", "Database"),
        RoutingRule("inquiry", "Service Desk", "Inquiry"),
    ]
    return RoutingTable(groups, rules, default_group="Service Desk")
