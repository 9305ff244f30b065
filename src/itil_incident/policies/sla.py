"""SLA policies: what is promised, to whom, on which calendar, and when each clock runs.

A :class:`SlaPolicy` is a list of :class:`SlaPolicyVersion` values, each in force from its
``effective_from`` instant. A version holds:

- :class:`SlaAgreement` values: targets per metric and priority level, the business calendar
  they are measured on, the hold reasons that pause them and the alert stages. An agreement with
  a ``group`` is an OLA: an internal target for that support group.
- ordered :class:`SlaMatchRule` values that choose the customer-facing agreement (SLA) of an
  incident by service, category and customer; the first rule that matches wins, else the
  ``fallback`` agreement, else no SLA applies (never an error).
- :class:`ClockRules` per metric: when a clock starts, stops, resumes and is cancelled, in terms
  of event names and workflow states (ITIL defaults: :meth:`ClockRules.response`,
  :meth:`ClockRules.resolution`).

Evaluation lives in :mod:`itil_incident.policies.sla_clock`; its module documentation states
every rule a clock follows.
"""

from __future__ import annotations

import bisect
import types
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

from itil_incident.domain._time import utc_instant
from itil_incident.domain.values import CategoryPath, HoldReason
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies import _sla_checks as check
from itil_incident.policies._sla_rules import (
    ClockRules,
    SlaCalendar,
    SlaMetric,
    clock_rules,
    default_clock_rules,
    to_metric,
)

__all__ = [
    "ClockRules",
    "SlaAgreement",
    "SlaCalendar",
    "SlaMatchRule",
    "SlaMetric",
    "SlaPolicy",
    "SlaPolicyVersion",
    "SlaSelection",
]

_T = TypeVar("_T")


# -- field checks ----------------------------------------------------------------------------------


def _targets(value: object) -> Mapping[SlaMetric, Mapping[int, timedelta]]:
    if not isinstance(value, Mapping):
        raise DefinitionError("targets must map a metric to {priority level: timedelta}",
                              culprit="targets")
    result: dict[SlaMetric, Mapping[int, timedelta]] = {}
    for key, per_priority in value.items():
        metric = to_metric(key)
        if not isinstance(per_priority, Mapping):
            raise DefinitionError(f"targets[{metric}] must map priority levels to timedeltas",
                                  culprit=f"targets.{metric}")
        levels: dict[int, timedelta] = {}
        for level, target in per_priority.items():
            if type(level) is not int or level < 1:
                raise DefinitionError(f"targets[{metric}]: priority level must be an integer "
                                      f">= 1, got {level!r}", culprit=f"targets.{metric}")
            if not isinstance(target, timedelta) or target <= timedelta(0):
                raise DefinitionError(f"targets[{metric}][{level}] must be a positive timedelta, "
                                      f"got {target!r}", culprit=f"targets.{metric}.{level}")
            levels[level] = target
        result[metric] = types.MappingProxyType(levels)
    if not result:
        raise DefinitionError("an agreement needs at least one target", culprit="targets")
    return types.MappingProxyType(result)


def _calendar(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, SlaCalendar):
        raise DefinitionError(f"calendar must be a business calendar (add, between, "
                              f"working_periods), got {type(value).__name__}",
                              culprit="calendar")


# -- definitions -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SlaMatchRule:
    """Choose ``agreement`` for incidents of ``service``, of ``category`` (or any category below
    it) and of ``customer``. Every criterion given must match; a rule needs at least one.

    The customer of an incident is its custom attribute ``"customer"`` when that is set to a
    string, otherwise its caller.
    """

    name: str = attrs.field(validator=check.text)
    agreement: str = attrs.field(validator=check.text)
    service: str | None = attrs.field(default=None, validator=check.optional_text)
    category: CategoryPath | None = attrs.field(default=None, converter=check.category)
    customer: str | None = attrs.field(default=None, validator=check.optional_text)

    def __attrs_post_init__(self) -> None:
        if self.service is None and self.category is None and self.customer is None:
            raise DefinitionError(f"SLA rule {self.name!r} needs a service, a category or a "
                                  "customer (use the version's fallback to match everything)",
                                  culprit=self.name)

    def matches(self, *, service: str | None, category: CategoryPath | None,
                customer: str | None) -> bool:
        """Whether the rule applies to an incident with these attributes."""
        if self.service is not None and service != self.service:
            return False
        if self.customer is not None and customer != self.customer:
            return False
        return self.category is None or (category is not None and category.is_within(self.category))


@attrs.frozen(kw_only=True)
class SlaAgreement:
    """Targets per metric and priority level, measured on ``calendar``.

    ``targets`` maps a metric to ``{priority level: target}``; a metric (or a priority level)
    without a target has no clock. The clock of a metric whose :class:`ClockRules` allow pausing
    is paused while the incident is in a state flagged ``pauses_sla`` and either has no hold
    reason or has one in ``pause_hold_reasons`` (default: awaiting caller pauses, awaiting vendor
    does not). Pauses are measured on ``calendar``, the calendar of the target. ``stages`` are
    the alert thresholds as fractions of the target (1.0 = 100 %). With ``group`` set the
    agreement is an OLA: it counts only while the incident is assigned to that support group.
    """

    name: str = attrs.field(validator=check.text)
    calendar: SlaCalendar = attrs.field(validator=_calendar, hash=False)
    targets: Mapping[SlaMetric, Mapping[int, timedelta]] = attrs.field(converter=_targets,
                                                                       hash=False)
    pause_hold_reasons: frozenset[str] = attrs.field(
        default=frozenset({HoldReason.AWAITING_CALLER.value}), converter=check.names)
    stages: tuple[float, ...] = attrs.field(default=(0.5, 0.75, 1.0), converter=check.stages)
    group: str | None = attrs.field(default=None, validator=check.optional_text)

    def target(self, metric: SlaMetric, priority: int) -> timedelta | None:
        """The target of ``metric`` for priority ``priority``, or None when there is none."""
        per_priority = self.targets.get(metric)
        return None if per_priority is None else per_priority.get(priority)

    def pauses_for(self, hold_reason: str | None) -> bool:
        """Whether a clock of this agreement pauses, in a state flagged ``pauses_sla``, for
        ``hold_reason`` (None: the state has no hold reason, which always pauses)."""
        return hold_reason is None or hold_reason in self.pause_hold_reasons


@attrs.frozen
class SlaSelection:
    """The agreement chosen for an incident and the rule that chose it (None: the fallback)."""

    agreement: SlaAgreement
    rule: str | None


def _agreements(value: Iterable[SlaAgreement]) -> tuple[SlaAgreement, ...]:
    return _items(value, "agreements")


def _rules(value: Iterable[SlaMatchRule]) -> tuple[SlaMatchRule, ...]:
    return _items(value, "rules")


def _items(value: Iterable[_T], culprit: str) -> tuple[_T, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError(f"{culprit} must be a sequence, got {value!r}", culprit=culprit)
    return tuple(value)


@attrs.frozen(kw_only=True)
class SlaPolicyVersion:
    """One version of an SLA policy, in force from ``effective_from`` (an aware instant).

    Validated when built: agreement and rule names are unique; every rule and the fallback name a
    known customer agreement (not an OLA); at most one OLA per group.
    """

    version: int = attrs.field(validator=check.version_number)
    effective_from: datetime = attrs.field(converter=check.effective)
    agreements: tuple[SlaAgreement, ...] = attrs.field(converter=_agreements)
    rules: tuple[SlaMatchRule, ...] = attrs.field(default=(), converter=_rules)
    fallback: str | None = None
    clock_rules: Mapping[SlaMetric, ClockRules] = attrs.field(
        factory=default_clock_rules, converter=clock_rules, hash=False)
    _by_name: Mapping[str, SlaAgreement] = attrs.field(init=False, eq=False, hash=False,
                                                       repr=False)
    _by_group: Mapping[str, SlaAgreement] = attrs.field(init=False, eq=False, hash=False,
                                                        repr=False)

    def __attrs_post_init__(self) -> None:
        by_name: dict[str, SlaAgreement] = {}
        by_group: dict[str, SlaAgreement] = {}
        for agreement in self.agreements:
            if not isinstance(agreement, SlaAgreement):
                raise DefinitionError(f"expected an SlaAgreement, got {agreement!r}",
                                      culprit=repr(agreement))
            if agreement.name in by_name:
                raise DefinitionError(f"duplicate agreement name {agreement.name!r}",
                                      culprit=agreement.name)
            by_name[agreement.name] = agreement
            if agreement.group is not None:
                if agreement.group in by_group:
                    raise DefinitionError(f"two OLAs for group {agreement.group!r}",
                                          culprit=agreement.name)
                by_group[agreement.group] = agreement
        rule_names: set[str] = set()
        for rule in self.rules:
            if not isinstance(rule, SlaMatchRule):
                raise DefinitionError(f"expected an SlaMatchRule, got {rule!r}",
                                      culprit=repr(rule))
            if rule.name in rule_names:
                raise DefinitionError(f"duplicate SLA rule name {rule.name!r}", culprit=rule.name)
            rule_names.add(rule.name)
            _check_customer_agreement(by_name, rule.agreement, f"rule {rule.name!r}", rule.name)
        if self.fallback is not None:
            _check_customer_agreement(by_name, self.fallback, "the fallback", "fallback")
        object.__setattr__(self, "_by_name", types.MappingProxyType(by_name))
        object.__setattr__(self, "_by_group", types.MappingProxyType(by_group))

    def agreement(self, name: str) -> SlaAgreement:
        """The agreement called ``name``; an unknown name raises ValidationError."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise ValidationError(f"no agreement {name!r} in SLA policy version {self.version}",
                                  field="agreement") from None

    def select(self, *, service: str | None, category: CategoryPath | None,
               customer: str | None) -> SlaSelection | None:
        """The customer agreement for these incident attributes: the first matching rule's,
        else the fallback, else None (no SLA)."""
        for rule in self.rules:
            if rule.matches(service=service, category=category, customer=customer):
                return SlaSelection(self._by_name[rule.agreement], rule.name)
        if self.fallback is None:
            return None
        return SlaSelection(self._by_name[self.fallback], None)

    def ola(self, group: str) -> SlaAgreement | None:
        """The OLA of support group ``group``, or None."""
        return self._by_group.get(group)


def _check_customer_agreement(by_name: Mapping[str, SlaAgreement], name: object, what: str,
                              culprit: str) -> None:
    agreement = by_name.get(name) if isinstance(name, str) else None
    if agreement is None:
        known = ", ".join(repr(n) for n in by_name) or "none"
        raise DefinitionError(f"{what} names unknown agreement {name!r} (known: {known})",
                              culprit=culprit)
    if agreement.group is not None:
        raise DefinitionError(f"{what} names {name!r}, an OLA of group {agreement.group!r}; "
                              "OLAs apply by group, not by rule", culprit=culprit)


class SlaPolicy:
    """A named, versioned SLA policy.

    Versions must increase strictly in both ``version`` and ``effective_from``
    (:class:`~itil_incident.errors.DefinitionError` otherwise). A new version is added with
    :meth:`with_version`, which returns a new policy and leaves this one unchanged.
    """

    __slots__ = ("_starts", "name", "versions")

    name: str
    versions: tuple[SlaPolicyVersion, ...]
    _starts: list[datetime]

    def __init__(self, name: str, versions: Iterable[SlaPolicyVersion]) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError(f"an SLA policy needs a non-empty name, got {name!r}",
                                  culprit="name")
        items = tuple(versions)
        if not items:
            raise DefinitionError(f"SLA policy {name!r} needs at least one version",
                                  culprit="versions")
        for index, item in enumerate(items):
            if not isinstance(item, SlaPolicyVersion):
                raise DefinitionError(f"expected an SlaPolicyVersion, got {item!r}",
                                      culprit=f"versions[{index}]")
            if index and item.version <= items[index - 1].version:
                raise DefinitionError(f"SLA policy {name!r}: version {item.version} does not "
                                      f"follow version {items[index - 1].version}",
                                      culprit=f"versions[{index}]")
            if index and item.effective_from <= items[index - 1].effective_from:
                raise DefinitionError(
                    f"SLA policy {name!r}: version {item.version} takes effect "
                    f"{item.effective_from.isoformat()}, not after version "
                    f"{items[index - 1].version} ({items[index - 1].effective_from.isoformat()})",
                    culprit=f"versions[{index}]")
        self.name = name
        self.versions = items
        self._starts = [item.effective_from for item in items]

    @classmethod
    def single(cls, name: str, version: SlaPolicyVersion) -> SlaPolicy:
        """A policy with one version."""
        return cls(name, (version,))

    @property
    def latest(self) -> SlaPolicyVersion:
        """The version with the highest number."""
        return self.versions[-1]

    def version_at(self, instant: datetime) -> SlaPolicyVersion | None:
        """The version in force at ``instant`` (the last one whose ``effective_from`` is at or
        before it), or None before the first version takes effect."""
        index = bisect.bisect_right(self._starts, utc_instant(instant, "instant"))
        return self.versions[index - 1] if index else None

    def with_version(self, version: SlaPolicyVersion, *, now: datetime | None = None
                     ) -> SlaPolicy:
        """A new policy with ``version`` added after the existing ones.

        A version effective in the past applies to incidents logged since then, including ones
        whose clocks already stopped: pass ``now`` to refuse such a back-dated version
        (DefinitionError), so that adding a version never changes a met or breached clock.
        """
        if now is not None and version.effective_from < utc_instant(now, "now"):
            raise DefinitionError(
                f"version {version.version} would take effect in the past "
                f"({version.effective_from.isoformat()} < {utc_instant(now, 'now').isoformat()}),"
                " which would change clocks that already ran under the version before it",
                culprit="effective_from")
        return SlaPolicy(self.name, (*self.versions, version))

    def check_workflow(self, workflow: Workflow) -> None:
        """Raise DefinitionError when a version's clock rules name a state ``workflow`` lacks
        (such a rule could never fire)."""
        for item in self.versions:
            for metric, rules in item.clock_rules.items():
                for state in sorted(rules.start_states | rules.stop_states):
                    if state not in workflow.states:
                        raise DefinitionError(
                            f"SLA policy {self.name!r} v{item.version}: {metric} clock rules "
                            f"name state {state!r}, which workflow {workflow.name!r} lacks",
                            culprit=state)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SlaPolicy):
            return NotImplemented
        return (self.name, self.versions) == (other.name, other.versions)

    def __hash__(self) -> int:
        return hash((self.name, tuple(v.version for v in self.versions)))

    def __repr__(self) -> str:
        numbers = ", ".join(str(v.version) for v in self.versions)
        return f"SlaPolicy({self.name!r}, versions=[{numbers}])"
