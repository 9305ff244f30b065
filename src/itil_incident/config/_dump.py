"""Writing a configuration back: :class:`DeskConfig` -> plain data -> TOML text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itil_incident.alerts._policy import AlertPolicy
from itil_incident.config._issues import format_duration
from itil_incident.config._read_policies import MATCHER_KEYS, SEVERITIES
from itil_incident.config._read_sections import CUSTOM_TYPES
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import DefinitionError
from itil_incident.notifications.subscriptions import RecipientKind, SubscriptionRules
from itil_incident.policies._sla_rules import default_clock_rules
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.categorization import CategoryTree
from itil_incident.policies.escalation import EscalationRule
from itil_incident.policies.major import MajorIncidentPolicy
from itil_incident.policies.sla import ClockRules, SlaAgreement, SlaPolicy, SlaPolicyVersion

if TYPE_CHECKING:
    from itil_incident.config._model import DeskConfig

__all__ = ["config_data", "dump_config"]

_EXTRA = "pip install 'itil-incident[config]'"
_TYPE_NAMES = {kind: name for name, kind in CUSTOM_TYPES.items()}


def dump_config(config: DeskConfig) -> str:
    """``config`` as TOML text that :func:`load_config` reads back into an equal configuration
    (given the same ``guards=`` when a workflow names guards of the host's own). Calendars the
    configuration does not name are written under a name made from theirs; a calendar that is
    not a :class:`~itil_incident.BusinessCalendar` raises
    :class:`~itil_incident.errors.DefinitionError`.

    Needs the ``tomli-w`` package (``pip install 'itil-incident[config]'``; the ``cli`` extra
    has it too).
    """
    from itil_incident.config._model import DeskConfig

    if not isinstance(config, DeskConfig):
        raise DefinitionError(f"expected a DeskConfig, got {type(config).__name__}",
                              culprit="config")
    try:
        import tomli_w
    except ImportError:  # pragma: no cover - the test environment has it
        raise ImportError(f"writing TOML needs the tomli-w package: {_EXTRA}") from None
    return _compact(tomli_w.dumps(config_data(config)))


def _compact(text: str) -> str:
    """Arrays written one item per line joined onto one line where it stays short
    (``cells = [[1, 2, 3], [2, 3, 4]]``), innermost first."""
    lines = text.split("\n")
    out: list[str] = []
    opened: list[int] = []  # positions in ``out`` of lines that open an array
    for line in lines:
        stripped = line.strip()
        if stripped.endswith("[") and (stripped == "[" or "=" in stripped):
            opened.append(len(out))
        elif stripped in ("]", "],") and opened:
            start = opened.pop()
            items = [item.strip().removesuffix(",") for item in out[start + 1:]]
            joined = out[start] + ", ".join(items) + stripped
            if len(joined) <= 96 and all(item and not item.endswith("[") for item in items):
                out[start + 1:] = []
                out[start] = joined
                continue
        out.append(line)
    return "\n".join(out)


class _Calendars:
    """The named calendars of a configuration, and names for the ones it does not name."""

    def __init__(self, named: Mapping[str, BusinessCalendar]) -> None:
        self.named = dict(named)

    def ref(self, calendar: object) -> str:
        for name, known in self.named.items():
            if known is calendar or known == calendar:
                return name
        if not isinstance(calendar, BusinessCalendar):
            raise DefinitionError(f"only BusinessCalendar values can be written to a "
                                  f"configuration, got {type(calendar).__name__}",
                                  culprit="calendar")
        base = re.sub(r"[^a-z0-9]+", "-", calendar.name.lower()).strip("-") or "calendar"
        name, number = base, 1
        while name in self.named:
            number += 1
            name = f"{base}-{number}"
        self.named[name] = calendar
        return name


def config_data(config: DeskConfig) -> dict[str, Any]:
    """Plain data of every section (see :meth:`DeskConfig.to_dict`)."""
    policies = config.policies
    calendars = _Calendars(config.calendars)
    desk: dict[str, Any] = {"hold_reasons": sorted(policies.hold_reasons)}
    desk["resolution_codes"] = (False if policies.resolution_codes is None
                                else sorted(policies.resolution_codes))
    if policies.custom_fields is not None:
        desk["custom_fields"] = {name: _TYPE_NAMES[kind]
                                 for name, kind in policies.custom_fields.items()}
    for name in ("auto_close_after", "hold_reminder_every"):
        span = getattr(policies, name)
        if span is not None:
            desk[name] = format_duration(span)
    if policies.auto_close_calendar is not None:
        desk["auto_close_calendar"] = calendars.ref(policies.auto_close_calendar)
    data: dict[str, Any] = {
        "desk": desk,
        "workflows": {"incident": _workflow(policies.incident_workflow),
                      "problem": _workflow(policies.problem_workflow)},
        "priority": {"incident": policies.priority_matrix.to_dict(),
                     "problem": policies.problem_priority_matrix.to_dict()},
    }
    if policies.categories is None and policies.categorizer is None:
        data["categories"] = False
    else:
        categories: dict[str, Any] = {}
        if policies.categories is not None:
            categories["tree"] = _tree(policies.categories)
        if policies.categorizer is not None:
            categories["rules"] = policies.categorizer.to_dict()
        data["categories"] = categories
    data["routing"] = False if policies.routing is None else policies.routing.to_dict()
    data["sla"] = False if policies.sla is None else _sla(policies.sla, calendars)
    data["escalation"] = {"role": policies.escalation_role,
                          "rules": [_escalation(rule) for rule in policies.escalation_rules]}
    data["families"] = {"cascade_resolution": policies.cascade_resolution,
                        "duplicate_resolution_code": policies.duplicate_resolution_code,
                        "duplicate_closure_code": policies.duplicate_closure_code}
    data["problems"] = {"on_resolved": policies.on_problem_resolved.value,
                        "resolution_code": policies.problem_resolution_code}
    matcher = policies.known_errors
    data["known_errors"] = False if matcher is None else {
        "on_log": policies.known_errors_on_log,
        **{name: getattr(matcher, name) for name in MATCHER_KEYS}}
    data["major"] = False if policies.major is None else _major(policies.major)
    data["alerts"] = _alerts(policies.alerts)
    if config.subscriptions is not None:
        data["notifications"] = _notifications(config.subscriptions)
    named = {name: _calendar(name, calendar) for name, calendar in calendars.named.items()}
    return {"calendars": named, **data}


def _workflow(workflow: Workflow) -> dict[str, Any]:
    """:meth:`Workflow.to_dict` without the values that are the defaults (False, "", [])."""
    data = workflow.to_dict()
    for part in ("states", "transitions"):
        data[part] = [{name: value for name, value in item.items()
                       if value not in (None, False, "", [])} for item in data[part]]
    return data


def _tree(tree: CategoryTree) -> dict[str, Any]:
    """The tree with leaves listed by name: ``{"Network": ["VPN", "LAN"]}``."""

    def below(node: Mapping[str, Any]) -> list[Any]:
        return [name if not children else {name: below(children)}
                for name, children in node.items()]

    return {name: below(children) for name, children in tree.to_dict().items()}


def _calendar(name: str, calendar: BusinessCalendar) -> dict[str, Any]:
    data = {field: value for field, value in calendar.to_dict().items() if value != []}
    if data["name"] == name:
        del data["name"]
    return data


def _sla(policy: SlaPolicy, calendars: _Calendars) -> dict[str, Any]:
    return {"name": policy.name,
            "versions": [_version(version, calendars) for version in policy.versions]}


def _version(version: SlaPolicyVersion, calendars: _Calendars) -> dict[str, Any]:
    data: dict[str, Any] = {"version": version.version,
                            "effective_from": version.effective_from}
    if version.fallback is not None:
        data["fallback"] = version.fallback
    data["agreements"] = [_agreement(agreement, calendars) for agreement in version.agreements]
    data["rules"] = [{field: value for field, value in (
        ("name", rule.name), ("agreement", rule.agreement), ("service", rule.service),
        ("category", None if rule.category is None else str(rule.category)),
        ("customer", rule.customer)) if value is not None} for rule in version.rules]
    defaults = default_clock_rules()
    changed = {metric.value: _clock_rules(rules) for metric, rules in version.clock_rules.items()
               if rules != defaults.get(metric)}
    if changed:
        data["clock_rules"] = changed
    return data


def _agreement(agreement: SlaAgreement, calendars: _Calendars) -> dict[str, Any]:
    data: dict[str, Any] = {"name": agreement.name, "calendar": calendars.ref(agreement.calendar)}
    if agreement.group is not None:
        data["group"] = agreement.group
    data["targets"] = {metric.value: {str(level): format_duration(target)
                                      for level, target in sorted(per_level.items())}
                       for metric, per_level in agreement.targets.items()}
    data["pause_hold_reasons"] = sorted(agreement.pause_hold_reasons)
    data["stages"] = list(agreement.stages)
    return data


def _clock_rules(rules: ClockRules) -> dict[str, Any]:
    return {"start_events": sorted(rules.start_events), "start_states": sorted(rules.start_states),
            "stop_events": sorted(rules.stop_events), "stop_on_assignee": rules.stop_on_assignee,
            "stop_states": sorted(rules.stop_states), "stop_on_resolved": rules.stop_on_resolved,
            "resume_on_reopen": rules.resume_on_reopen, "pause": rules.pause}


def _escalation(rule: EscalationRule) -> dict[str, Any]:
    action = rule.action
    data: dict[str, Any] = {"name": rule.name, "stage": rule.stage}
    if rule.metric is not None:
        data["metric"] = rule.metric.value
    if rule.group is not None:
        data["group"] = rule.group
    if rule.priorities:
        data["priorities"] = sorted(rule.priorities)
    if rule.services:
        data["services"] = sorted(rule.services)
    if rule.categories:
        data["categories"] = [str(category) for category in rule.categories]
    data["action"] = {field: value for field, value in (
        ("kind", action.kind.value), ("group", action.group), ("role", action.role),
        ("priority", action.priority)) if value is not None}
    return data


def _major(policy: MajorIncidentPolicy) -> dict[str, Any]:
    cluster = policy.cluster
    return {
        "priorities": sorted(policy.priorities),
        "critical_services": sorted(policy.critical_services),
        "cluster": False if cluster is None else {
            "threshold": cluster.threshold, "window": format_duration(cluster.window),
            "by_service": cluster.by_service,
            "by_configuration_item": cluster.by_configuration_item},
        "manager_role": policy.manager_role,
        "review_required": policy.review_required,
        "cadence": {str(level): format_duration(every)
                    for level, every in sorted(policy.cadence.items())},
        "roles": list(policy.roles),
        "shared_roles": sorted(policy.shared_roles),
    }


def _alerts(policy: AlertPolicy) -> dict[str, Any]:
    data: dict[str, Any] = {
        "levels": {severity: list(policy.levels[AlertSeverity(severity)])
                   for severity in SEVERITIES},
        "service_impact": dict(sorted(policy.service_impact.items())),
        "grouping_window": (False if policy.grouping_window is None
                            else format_duration(policy.grouping_window)),
        "resolve_on_recovery": policy.resolve_on_recovery,
        "resolution_code": policy.resolution_code,
        "flap_threshold": policy.flap_threshold,
        "flap_window": format_duration(policy.flap_window),
        "max_payload_bytes": policy.max_payload_bytes,
    }
    for name in ("category", "assignment_group"):
        value = getattr(policy, name)
        if value is not None:
            data[name] = value
    actor = policy.actor
    data["actor"] = {"id": actor.id, **({"name": actor.name} if actor.name else {}),
                     "roles": sorted(actor.roles)}
    return data


def _notifications(rules: SubscriptionRules) -> dict[str, Any]:
    subscriptions = []
    for subscription in rules.subscriptions:
        item: dict[str, Any] = {
            "events": list(subscription.events),
            "recipients": [recipient.kind.value if recipient.value is None
                           or recipient.kind in (RecipientKind.CALLER, RecipientKind.ASSIGNEE,
                                                 RecipientKind.GROUP)
                           else f"{recipient.kind.value}:{recipient.value}"
                           for recipient in subscription.recipients],
        }
        if subscription.priorities is not None:
            item["priorities"] = sorted(subscription.priorities)
        if subscription.template is not None:
            item["template"] = subscription.template
        subscriptions.append(item)
    return {"subscriptions": subscriptions}


def instant_text(value: datetime) -> str:
    """An instant as ISO 8601 text (for JSON output of :meth:`DeskConfig.to_dict`)."""
    return value.isoformat()
