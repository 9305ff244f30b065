"""The policies a service desk runs with, in one replaceable bundle."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from itil_incident.alerts._policy import AlertPolicy
from itil_incident.domain.lifecycles import default_incident_workflow, default_problem_workflow
from itil_incident.domain.values import HoldReason
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.categorization import Categorizer, CategoryTree
from itil_incident.policies.escalation import (
    EscalationActionKind,
    EscalationRule,
    check_rules,
)
from itil_incident.policies.known_errors import KnownErrorMatcher
from itil_incident.policies.major import MajorIncidentPolicy
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.problem_resolution import OnProblemResolved
from itil_incident.policies.routing import RoutingTable
from itil_incident.policies.sla import SlaPolicy

__all__ = ["DEFAULT_RESOLUTION_CODES", "DeskPolicies"]

#: Resolution codes in the spirit of ServiceNow's close codes.
DEFAULT_RESOLUTION_CODES: frozenset[str] = frozenset({
    "solved_permanently",
    "solved_workaround",
    "solved_remotely",
    "not_reproducible",
    "resolved_by_caller",
    "duplicate",
})

_CUSTOM_TYPES = (str, int, float, bool, datetime)


def _instance(kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise DefinitionError(
                f"policies.{attribute.name} must be a {names}, got {type(value).__name__}",
                culprit=attribute.name,
            )
    return check


def _string_set(value: object) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, (set, frozenset, list, tuple)):
        raise DefinitionError(f"expected a collection of strings, got {value!r}")
    result = frozenset(value)
    if not result or not all(isinstance(v, str) and v for v in result):
        raise DefinitionError(f"expected a non-empty collection of non-empty strings, "
                              f"got {value!r}")
    return result


def _optional_string_set(value: object) -> frozenset[str] | None:
    return None if value is None else _string_set(value)


def _custom_fields(value: object) -> Mapping[str, type] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise DefinitionError("custom_fields must map attribute names to types",
                              culprit="custom_fields")
    for key, kind in value.items():
        if not isinstance(key, str) or not key or kind not in _CUSTOM_TYPES:
            raise DefinitionError(
                f"custom_fields: {key!r} must map to one of str, int, float, bool, datetime",
                culprit=f"custom_fields.{key}",
            )
    return dict(value)


def _on_problem_resolved(value: object) -> OnProblemResolved:
    if isinstance(value, str) and value in OnProblemResolved._value2member_map_:
        return OnProblemResolved(value)
    known = ", ".join(option.value for option in OnProblemResolved)
    raise DefinitionError(f"policies.on_problem_resolved must be one of {known}, "
                          f"got {value!r}", culprit="on_problem_resolved")


def _optional_duration(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
        raise DefinitionError(f"policies.{attribute.name} must be a positive timedelta or None, "
                              f"got {value!r}", culprit=attribute.name)


@attrs.frozen(kw_only=True, eq=False)
class DeskPolicies:
    """Everything configurable about a desk's behaviour; every default follows ITIL.

    Replace any part with ``attrs.evolve(DeskPolicies(), routing=my_table)`` or by passing it
    here. ``categories``, ``categorizer`` and ``routing`` may be None to switch them off
    (any category is then accepted, nothing is categorized or routed automatically).
    ``resolution_codes`` None accepts any code. ``custom_fields`` None accepts any custom
    attribute of the supported types; a mapping declares the only ones allowed, with their type.

    Time-driven processing (``ServiceDesk.process_due``) is off until configured: ``sla`` the
    SLA policy whose clocks are watched (alert stages and ``escalation_rules``);
    ``auto_close_after`` closes resolved incidents after that long without a caller response,
    measured on ``auto_close_calendar`` (None: wall time); ``hold_reminder_every`` sends a
    reminder per interval an incident waits on hold for the caller.

    Parent, child and duplicate incidents: with ``cascade_resolution`` (the default),
    resolving (or closing) a parent resolves its open children with the parent's resolution
    code and notes. ``ServiceDesk.mark_duplicate`` resolves a duplicate with
    ``duplicate_resolution_code`` and closes it with ``duplicate_closure_code``.
    Problem management: ``known_errors`` matches new and open incidents against known errors
    to offer their workaround (None: never offered), on logging unless
    ``known_errors_on_log`` is False (then only when asked); ``on_problem_resolved`` says what
    resolving a problem does to the incidents on hold awaiting it, resolved with
    ``problem_resolution_code`` when it resolves them. The codes must be among
    ``resolution_codes`` when the commands use them.
    ``major`` (a :class:`~itil_incident.MajorIncidentPolicy`) switches major-incident
    management on: automatic proposals, the commands of major incidents, the status-update
    cadence in ``process_due`` and the review required before closure. None (the default)
    switches it off.
    """

    incident_workflow: Workflow = attrs.field(factory=default_incident_workflow,
                                              validator=_instance(Workflow))
    problem_workflow: Workflow = attrs.field(factory=default_problem_workflow,
                                             validator=_instance(Workflow))
    priority_matrix: PriorityMatrix = attrs.field(factory=PriorityMatrix.servicenow,
                                                  validator=_instance(PriorityMatrix))
    problem_priority_matrix: PriorityMatrix = attrs.field(
        factory=PriorityMatrix.servicenow_problem, validator=_instance(PriorityMatrix))
    categories: CategoryTree | None = attrs.field(
        factory=CategoryTree.default, validator=_instance(CategoryTree, optional=True))
    categorizer: Categorizer | None = attrs.field(
        factory=Categorizer.default, validator=_instance(Categorizer, optional=True))
    routing: RoutingTable | None = attrs.field(
        factory=RoutingTable.default, validator=_instance(RoutingTable, optional=True))
    hold_reasons: frozenset[str] = attrs.field(
        default=frozenset(r.value for r in HoldReason), converter=_string_set)
    resolution_codes: frozenset[str] | None = attrs.field(
        default=DEFAULT_RESOLUTION_CODES, converter=_optional_string_set)
    custom_fields: Mapping[str, type] | None = attrs.field(default=None,
                                                           converter=_custom_fields)
    #: The role told of a hierarchical escalation when the group names no manager role.
    escalation_role: str = attrs.field(default="incident_manager",
                                       validator=_instance(str))
    sla: SlaPolicy | None = attrs.field(default=None,
                                        validator=_instance(SlaPolicy, optional=True))
    escalation_rules: tuple[EscalationRule, ...] = attrs.field(default=(),
                                                               converter=check_rules)
    auto_close_after: timedelta | None = attrs.field(default=None,
                                                     validator=_optional_duration)
    auto_close_calendar: BusinessCalendar | None = attrs.field(
        default=None, validator=_instance(BusinessCalendar, optional=True))
    hold_reminder_every: timedelta | None = attrs.field(default=None,
                                                        validator=_optional_duration)
    # parent/child cascade, duplicates, known errors and problem resolution
    cascade_resolution: bool = attrs.field(default=True, validator=_instance(bool))
    duplicate_resolution_code: str = attrs.field(default="duplicate",
                                                 validator=_instance(str))
    duplicate_closure_code: str = attrs.field(default="duplicate", validator=_instance(str))
    known_errors: KnownErrorMatcher | None = attrs.field(
        factory=KnownErrorMatcher, validator=_instance(KnownErrorMatcher, optional=True))
    known_errors_on_log: bool = attrs.field(default=True, validator=_instance(bool))
    on_problem_resolved: OnProblemResolved = attrs.field(
        default=OnProblemResolved.RESUME, converter=_on_problem_resolved)
    problem_resolution_code: str = attrs.field(default="solved_permanently",
                                               validator=_instance(str))
    # major incidents: None switches major-incident management off
    major: MajorIncidentPolicy | None = attrs.field(
        default=None, validator=_instance(MajorIncidentPolicy, optional=True))
    # monitoring alerts: how alerts become incidents
    alerts: AlertPolicy = attrs.field(factory=AlertPolicy, validator=_instance(AlertPolicy))

    def __attrs_post_init__(self) -> None:
        if self.sla is not None:
            self.sla.check_workflow(self.incident_workflow)
        routing = self.routing
        for rule in self.escalation_rules:
            action = rule.action
            if action.priority is not None:
                try:
                    self.priority_matrix.priority(action.priority)
                except ValidationError as exc:
                    raise DefinitionError(f"escalation rule {rule.name!r}: {exc}",
                                          culprit=rule.name) from None
            if (action.kind is EscalationActionKind.FUNCTIONAL and action.group is not None
                    and routing is not None and action.group not in routing.groups):
                raise DefinitionError(f"escalation rule {rule.name!r} escalates to unknown "
                                      f"group {action.group!r}", culprit=rule.name)
        # major incidents: the levels the policy names exist in the priority matrix
        if self.major is not None:
            for level in sorted(self.major.levels):
                try:
                    self.priority_matrix.priority(level)
                except ValidationError as exc:
                    raise DefinitionError(f"major-incident policy: {exc}",
                                          culprit="major") from None
        # monitoring alerts: the policy fits the rest
        _check_alert_policy(self)


def _check_alert_policy(policies: DeskPolicies) -> None:
    """The alert policy's group and category, when given, exist. (Its levels are capped to the
    priority matrix when used, and its resolution code is checked when a recovery resolves,
    so that the default alert policy fits any matrix and any set of codes.)"""
    alerts = policies.alerts
    routing = policies.routing
    if alerts.assignment_group is not None and routing is not None and (
            alerts.assignment_group not in routing.groups):
        raise DefinitionError(f"alerts.assignment_group {alerts.assignment_group!r} is not a "
                              "group of the routing table", culprit="alerts.assignment_group")
    if alerts.category is not None and policies.categories is not None:
        try:
            policies.categories.validate(alerts.category)
        except ValidationError as error:
            raise DefinitionError(f"alerts.category: {error}",
                                  culprit="alerts.category") from None
