"""Escalation rules: what the desk does when an SLA or OLA clock reaches a stage.

An :class:`EscalationRule` names a stage of a clock (a fraction of its target: 1.0 = 100 %,
the deadline; an acknowledgement timeout is a stage of the response clock) and the incidents it
applies to (priority levels, services, categories including the ones below them, the clock's
metric, the SLA or an OLA group); its :class:`EscalationAction` is one of:

- **functional**: reassign to a named group, or to the next tier of the current group
  (``escalates_to`` in the routing table);
- **hierarchical**: notify a manager role (the one named, else the current group's
  ``manager_role``, else the desk's ``escalation_role``); nothing is reassigned;
- **raise priority**: override the priority to a given level, or one level up, with an
  automatic justification that names the rule. A priority never goes down this way.

``ServiceDesk.process_due`` applies a rule at most once per clock cycle: when it records the
stage for the clock (``IncidentSlaStageReached``), in the same commit. Rules are pure data,
validated when built; :func:`matching_rules` is a pure function.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from typing import Any, Final

import attrs

from itil_incident.domain.values import CategoryPath
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies.sla import SlaMetric

__all__ = [
    "ANY_OLA",
    "EscalationAction",
    "EscalationActionKind",
    "EscalationRule",
    "check_rules",
    "matching_rules",
]

#: ``EscalationRule.group`` value that matches the OLA clock of every group.
ANY_OLA: Final = "*"


class EscalationActionKind(enum.StrEnum):
    """What an escalation rule does."""

    FUNCTIONAL = "functional"
    HIERARCHICAL = "hierarchical"
    RAISE_PRIORITY = "raise_priority"


def _kind(value: object) -> EscalationActionKind:
    if isinstance(value, str):
        try:
            return EscalationActionKind(value)
        except ValueError:
            pass
    known = ", ".join(k.value for k in EscalationActionKind)
    raise DefinitionError(f"unknown escalation action {value!r} (known: {known})",
                          culprit="kind")


def _optional_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()
                              or "\n" in value or "\r" in value):
        raise DefinitionError(
            f"{type(instance).__name__}.{attribute.name} must be a non-empty single-line "
            f"string, got {value!r}", culprit=attribute.name)


def _name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        raise DefinitionError(f"{type(instance).__name__}.{attribute.name} is required",
                              culprit=attribute.name)
    _optional_name(instance, attribute, value)


def _level(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise DefinitionError(f"a priority level must be an integer >= 1, got {value!r}",
                              culprit=attribute.name)


@attrs.frozen(kw_only=True)
class EscalationAction:
    """What a rule does; build one with :meth:`functional`, :meth:`hierarchical` or
    :meth:`raise_priority`.

    ``group`` (functional only): the group to reassign to; None means the next tier of the
    incident's current group. ``role`` (hierarchical only): the role to notify; None means the
    current group's manager role, else the desk's ``escalation_role``. ``priority``
    (raise only): the level to raise to; None means one level up.
    """

    kind: EscalationActionKind = attrs.field(converter=_kind)
    group: str | None = attrs.field(default=None, validator=_optional_name)
    role: str | None = attrs.field(default=None, validator=_optional_name)
    priority: int | None = attrs.field(default=None, validator=_level)

    def __attrs_post_init__(self) -> None:
        for field, allowed in (("group", EscalationActionKind.FUNCTIONAL),
                               ("role", EscalationActionKind.HIERARCHICAL),
                               ("priority", EscalationActionKind.RAISE_PRIORITY)):
            if getattr(self, field) is not None and self.kind is not allowed:
                raise DefinitionError(f"a {self.kind} action takes no {field} (only a "
                                      f"{allowed} action does)", culprit=field)

    @classmethod
    def functional(cls, group: str | None = None) -> EscalationAction:
        """Reassign to ``group``, or to the next tier of the current group."""
        return cls(kind=EscalationActionKind.FUNCTIONAL, group=group)

    @classmethod
    def hierarchical(cls, role: str | None = None) -> EscalationAction:
        """Notify ``role``, or the current group's manager role (else the desk's
        ``escalation_role``)."""
        return cls(kind=EscalationActionKind.HIERARCHICAL, role=role)

    @classmethod
    def raise_priority(cls, to: int | None = None) -> EscalationAction:
        """Raise the priority to level ``to`` (1 = highest), or one level up."""
        return cls(kind=EscalationActionKind.RAISE_PRIORITY, priority=to)

    def describe(self) -> str:
        """The action in words."""
        if self.kind is EscalationActionKind.FUNCTIONAL:
            return (f"escalate to {self.group!r}" if self.group is not None
                    else "escalate to the next tier")
        if self.kind is EscalationActionKind.HIERARCHICAL:
            return (f"notify {self.role!r}" if self.role is not None
                    else "notify the group's manager")
        return (f"raise the priority to {self.priority}" if self.priority is not None
                else "raise the priority one level")


def _stage(value: object) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or value <= 0):
        raise DefinitionError(f"a rule's stage must be a fraction > 0 of the target (1.0 = "
                              f"100 %), got {value!r}", culprit="stage")
    return float(value)


def _metric(value: object) -> SlaMetric | None:
    if value is None or isinstance(value, SlaMetric):
        return value
    if isinstance(value, str):
        try:
            return SlaMetric(value)
        except ValueError:
            pass
    known = ", ".join(m.value for m in SlaMetric)
    raise DefinitionError(f"unknown SLA metric {value!r} (known: {known})", culprit="metric")


def _collection(value: object, culprit: str) -> tuple[object, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError(f"{culprit} must be a collection, got {value!r}", culprit=culprit)
    return tuple(value)


def _priorities(value: object) -> frozenset[int]:
    items = _collection(value, "priorities")
    for item in items:
        if type(item) is not int or item < 1:
            raise DefinitionError(f"priorities must be levels (integers >= 1), got {item!r}",
                                  culprit="priorities")
    return frozenset(items)  # type: ignore[arg-type]  # each item was checked to be an int


def _services(value: object) -> frozenset[str]:
    items = _collection(value, "services")
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise DefinitionError(f"services must be non-empty strings, got {item!r}",
                                  culprit="services")
    return frozenset(items)  # type: ignore[arg-type]  # each item was checked to be a str


def _categories(value: object) -> tuple[CategoryPath, ...]:
    result: list[CategoryPath] = []
    for item in _collection(value, "categories"):
        if isinstance(item, CategoryPath):
            result.append(item)
            continue
        if not isinstance(item, str):
            raise DefinitionError(f"categories must be paths such as 'Network/VPN', got "
                                  f"{item!r}", culprit="categories")
        try:
            result.append(CategoryPath.parse(item))
        except ValidationError as exc:
            raise DefinitionError(f"invalid category {item!r}: {exc}",
                                  culprit="categories") from None
    return tuple(result)


def _action(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, EscalationAction):
        raise DefinitionError(f"action must be an EscalationAction, got {value!r}",
                              culprit="action")


@attrs.frozen(kw_only=True)
class EscalationRule:
    """At ``stage`` (a fraction of the target) of a matching clock, do ``action``.

    Criteria (each empty or None matches everything; all given must match):

    - ``metric``: the clock's metric (``"response"`` or ``"resolution"``);
    - ``group``: None for the SLA's clocks, a support group's name for that group's OLA
      clocks, :data:`ANY_OLA` (``"*"``) for every OLA clock;
    - ``priorities``: the incident's priority level is one of these;
    - ``services``: the incident's service is one of these;
    - ``categories``: the incident's category is one of these or below one of them.

    The incident is matched as it stands when the stage is recorded.
    """

    name: str = attrs.field(validator=_name)
    action: EscalationAction = attrs.field(validator=_action)
    stage: float = attrs.field(default=1.0, converter=_stage)
    metric: SlaMetric | None = attrs.field(default=None, converter=_metric)
    group: str | None = attrs.field(default=None, validator=_optional_name)
    priorities: frozenset[int] = attrs.field(default=frozenset(), converter=_priorities)
    services: frozenset[str] = attrs.field(default=frozenset(), converter=_services)
    categories: tuple[CategoryPath, ...] = attrs.field(default=(), converter=_categories)

    @classmethod
    def acknowledgement_timeout(
        cls,
        name: str,
        action: EscalationAction,
        *,
        stage: float = 1.0,
        priorities: Iterable[int] = (),
        services: Iterable[str] = (),
        categories: Iterable[CategoryPath | str] = (),
        group: str | None = None,
    ) -> EscalationRule:
        """A rule on the response clock: nobody acknowledged the incident by ``stage`` of the
        response target (the deadline by default)."""
        return cls(name=name, action=action, stage=stage, metric=SlaMetric.RESPONSE,
                   group=group, priorities=frozenset(priorities), services=frozenset(services),
                   categories=tuple(categories))

    def applies_to_clock(self, metric: str, group: str | None) -> bool:
        """Whether the rule watches the clock of ``metric`` and ``group`` (None: the SLA)."""
        if self.metric is not None and metric != self.metric:
            return False
        if self.group is None:
            return group is None
        return group is not None and (self.group == ANY_OLA or self.group == group)

    def matches(
        self,
        *,
        metric: str,
        group: str | None,
        fraction: float,
        priority: int,
        service: str | None,
        category: CategoryPath | None,
    ) -> bool:
        """Whether the rule fires for stage ``fraction`` of the clock of ``metric`` and
        ``group`` on an incident of this priority level, service and category."""
        if fraction != self.stage or not self.applies_to_clock(metric, group):
            return False
        if self.priorities and priority not in self.priorities:
            return False
        if self.services and service not in self.services:
            return False
        return not self.categories or (
            category is not None and any(category.is_within(c) for c in self.categories))


def check_rules(value: object) -> tuple[EscalationRule, ...]:
    """``value`` as a tuple of rules with unique names (DefinitionError otherwise)."""
    rules = _collection(value, "escalation_rules")
    names: set[str] = set()
    for rule in rules:
        if not isinstance(rule, EscalationRule):
            raise DefinitionError(f"expected an EscalationRule, got {rule!r}",
                                  culprit="escalation_rules")
        if rule.name in names:
            raise DefinitionError(f"duplicate escalation rule name {rule.name!r}",
                                  culprit=rule.name)
        names.add(rule.name)
    return rules  # type: ignore[return-value]  # each item was checked to be a rule


def matching_rules(
    rules: Iterable[EscalationRule],
    *,
    metric: str,
    group: str | None,
    fraction: float,
    priority: int,
    service: str | None,
    category: CategoryPath | None,
) -> tuple[EscalationRule, ...]:
    """The rules, in order, that fire for stage ``fraction`` of the clock of ``metric`` and
    ``group`` (None: the SLA) on an incident of this priority level, service and category."""
    return tuple(rule for rule in rules
                 if rule.matches(metric=metric, group=group, fraction=fraction,
                                 priority=priority, service=service, category=category))
