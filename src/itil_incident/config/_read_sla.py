"""Reading the sections that refer to the others: ``sla``, ``escalation``, ``notifications``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from itil_incident.config import _issues as read
from itil_incident.config._issues import BAD, Field, Issues, index, key
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.notifications.subscriptions import (
    Recipient,
    RecipientKind,
    Subscription,
    SubscriptionRules,
)
from itil_incident.policies.escalation import ANY_OLA, EscalationAction, EscalationRule
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.routing import RoutingTable
from itil_incident.policies.sla import (
    ClockRules,
    SlaAgreement,
    SlaMatchRule,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)

if TYPE_CHECKING:
    from itil_incident.config._load import _Reader

__all__ = ["read_escalation", "read_notifications", "read_sla"]

_METRICS = tuple(metric.value for metric in SlaMetric)


def read_sla(reader: _Reader, value: object) -> None:
    issues = reader.issues
    if value is False:
        reader.policies["sla"] = None
        return
    section = read.table(issues, value, "sla", ("name", "versions"),
                         "a table (or false to switch SLA clocks off)")
    if section is None:
        return
    name = read.text(issues, section, "name", "sla", required=True)
    if "versions" not in section:
        issues.add("sla.versions", "an array of version tables", read.MISSING)
        return
    items = read.array(issues, section["versions"], "sla.versions",
                       "an array of version tables")
    if items is None:
        return
    versions = [_version(reader, item, index("sla.versions", position))
                for position, item in enumerate(items)]
    if name is None or any(version is None for version in versions):
        return
    built = [version for version in versions if version is not None]
    policy = issues.build("sla", "a valid SLA policy", value, lambda: SlaPolicy(name, built),
                          where=lambda culprit, _: "." + culprit
                          if culprit.startswith("versions") else None)
    if policy is not None:
        reader.policies["sla"] = policy


def _version(reader: _Reader, value: object, path: str) -> SlaPolicyVersion | None:
    issues = reader.issues
    section = read.table(issues, value, path, ("version", "effective_from", "fallback",
                                               "agreements", "rules", "clock_rules"))
    if section is None:
        return None
    usable = True
    number = section.get("version", read.MISSING)
    if type(number) is not int or number < 1:
        issues.add(key(path, "version"), "an integer >= 1", number)
        usable = False
    effective = _instant(issues, section.get("effective_from", read.MISSING),
                         key(path, "effective_from"))
    agreements = reader.items(section.get("agreements", read.MISSING),
                              key(path, "agreements"), _agreement_fields(reader),
                              "an SLA agreement", SlaAgreement)
    rules = reader.items(section.get("rules", []), key(path, "rules"), _MATCH_RULE,
                         "an SLA match rule", SlaMatchRule)
    fallback = read.text(issues, section, "fallback", path)
    if "fallback" in section and fallback is None:
        usable = False
    clock_rules = _clock_rules(reader, section.get("clock_rules", {}), key(path, "clock_rules"))
    if agreements is not None:
        names = [agreement.name for agreement in agreements]
        customer = [a.name for a in agreements if a.group is None]
        for position, rule in enumerate(rules or ()):
            if rule.agreement not in names:
                issues.add(key(index(key(path, "rules"), position), "agreement"),
                           f"the name of an agreement of this version ({', '.join(names)})",
                           rule.agreement)
                usable = False
        if fallback is not None and fallback not in customer:
            issues.add(key(path, "fallback"),
                       f"the name of a customer agreement of this version "
                       f"({', '.join(customer) or 'none'})", fallback)
            usable = False
    if (not usable or effective is None or agreements is None or rules is None
            or clock_rules is None):
        return None
    data = section
    return issues.build(
        path, "a valid SLA policy version", value,
        lambda: SlaPolicyVersion(version=number, effective_from=effective, agreements=agreements,
                                 rules=rules, fallback=fallback, clock_rules=clock_rules),
        where=lambda culprit, _: _version_where(data, culprit))


def _version_where(section: Mapping[str, Any], culprit: str) -> str | None:
    if culprit in ("fallback", "version", "effective_from"):
        return "." + culprit
    for part in ("agreements", "rules"):
        items = section.get(part)
        if isinstance(items, list):
            for position, item in enumerate(items):
                if isinstance(item, Mapping) and item.get("name") == culprit:
                    return f".{part}[{position}]"
    return None


def _instant(issues: Issues, value: object, path: str) -> datetime | None:
    expected = "a date-time with its offset, such as 2026-01-01T00:00:00Z"
    instant = value
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            instant = None
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        issues.add(path, expected, value)
        return None
    return instant


def _agreement_fields(reader: _Reader) -> dict[str, Field]:
    def calendar(issues: Issues, value: object, path: str) -> object:
        found = reader.calendar(value, path)
        return BAD if found is None else found

    def targets(issues: Issues, value: object, path: str) -> object:
        return _targets(reader, value, path)

    def reasons(issues: Issues, value: object, path: str) -> object:
        listed = read.strings(issues, value, path)
        if listed is None:
            return BAD
        if not reader.trusted("hold_reasons"):
            return listed
        known = sorted(reader.hold_reasons())
        before = len(issues.items)
        read.check_known(issues, listed, known, path, "hold reasons of desk.hold_reasons:")
        return BAD if len(issues.items) > before else listed

    def group(issues: Issues, value: object, path: str) -> object:
        return _group(reader, issues, value, path, allow_any=False)

    return {
        "name": read.TEXT(required=True),
        "calendar": Field("the name of a calendar under [calendars]", calendar,
                          required=True),
        "targets": Field("a table of metrics (response, resolution) to targets per priority",
                         targets, required=True),
        "pause_hold_reasons": Field("an array of hold reasons", reasons),
        "stages": read.FRACTIONS(),
        "group": Field("the name of a support group", group),
    }


def _targets(reader: _Reader, value: object, path: str) -> object:
    issues = reader.issues
    section = read.table(issues, value, path, _METRICS,
                         "a table of metrics (response, resolution) to targets per priority")
    if section is None:
        return BAD
    levels = _levels(reader)
    expected = f"a priority level 1..{levels} of the incident matrix"
    result: dict[SlaMetric, dict[int, timedelta]] = {}
    usable = len(section) > 0 and all(metric in _METRICS for metric in section)
    if not section:
        issues.add(path, "at least one metric (response, resolution)", value)
    for metric, per_level in section.items():
        where = key(path, metric)
        if not isinstance(per_level, Mapping):
            issues.add(where, "a table of priority levels to durations, such as "
                              '{ 1 = "4h", 2 = "8h" }', per_level)
            usable = False
            continue
        spans: dict[int, timedelta] = {}
        for level, target in per_level.items():
            at = key(where, level)
            if not (level.isdecimal() and level.isascii() and 1 <= int(level) <= levels):
                issues.add(at, expected, level, "the key is the priority level")
                usable = False
                continue
            span = read.duration(issues, target, at)
            if span is None:
                usable = False
            else:
                spans[int(level)] = span
        if metric in _METRICS:
            result[SlaMetric(metric)] = spans
    return result if usable else BAD


_MATCH_RULE = {"name": read.TEXT(required=True), "agreement": read.TEXT(required=True),
               "service": read.TEXT(), "category": read.TEXT(), "customer": read.TEXT()}


def _clock_rules(reader: _Reader, value: object, path: str) -> dict[SlaMetric, ClockRules] | None:
    issues = reader.issues
    section = read.table(issues, value, path, _METRICS,
                         "a table of metrics (response, resolution) to clock rules")
    if section is None:
        return None
    workflow: Workflow = reader.current("incident_workflow")

    def states(issues: Issues, value: object, where: str) -> object:
        listed = read.strings(issues, value, where)
        if listed is None:
            return BAD
        if not reader.trusted("incident_workflow"):
            return listed
        before = len(issues.items)
        read.check_known(issues, listed, list(workflow.states), where,
                         f"states of workflow {workflow.name!r}:")
        return BAD if len(issues.items) > before else listed

    fields = {
        "start_events": read.TEXTS(), "start_states": Field("an array of states", states),
        "stop_events": read.TEXTS(), "stop_on_assignee": read.FLAG(),
        "stop_states": Field("an array of states", states), "stop_on_resolved": read.FLAG(),
        "resume_on_reopen": read.FLAG(), "pause": read.FLAG(),
    }
    result: dict[SlaMetric, ClockRules] = {}
    for metric, rules in section.items():
        made = read.record(issues, rules, key(path, metric), fields, "clock rules", ClockRules)
        if made is None:
            return None
        result[SlaMetric(metric)] = made
    return result


def _levels(reader: _Reader) -> int:
    """The priority levels of the incident matrix (unchecked: when its section is broken)."""
    if not reader.trusted("priority_matrix"):
        return 10**6
    matrix: PriorityMatrix = reader.current("priority_matrix")
    return len(matrix.priorities)


def _group(reader: _Reader, issues: Issues, value: object, path: str, *,
           allow_any: bool) -> object:
    if not isinstance(value, str) or not value.strip():
        issues.add(path, "a non-empty string", value)
        return BAD
    routing: RoutingTable | None = reader.current("routing")
    if (routing is None or not reader.trusted("routing") or value in routing.groups
            or (allow_any and value == ANY_OLA)):
        return value
    known = ", ".join(routing.groups)
    extra = f" or {ANY_OLA!r} for every OLA" if allow_any else ""
    issues.add(path, f"a support group of routing.groups ({known}){extra}", value)
    return BAD


def read_escalation(reader: _Reader, value: object) -> None:
    issues = reader.issues
    section = read.table(issues, value, "escalation", ("role", "rules"))
    if section is None:
        return
    role = read.text(issues, section, "role", "escalation")
    if role is not None:
        reader.policies["escalation_role"] = role
    if "rules" not in section:
        return
    rules = reader.items(section["rules"], "escalation.rules", _escalation_fields(reader),
                         "an escalation rule", EscalationRule)
    if rules is None:
        return
    seen: dict[str, int] = {}
    for position, rule in enumerate(rules):
        if rule.name in seen:
            issues.add(key(index("escalation.rules", position), "name"),
                       "a rule name not used before", rule.name,
                       f"rules[{seen[rule.name]}] has it already")
        seen.setdefault(rule.name, position)
    if len(seen) == len(rules):
        reader.policies["escalation_rules"] = tuple(rules)


def _escalation_fields(reader: _Reader) -> dict[str, Field]:
    levels = _levels(reader)

    def priorities(issues: Issues, value: object, path: str) -> object:
        items = read.integers(issues, value, path, f"a priority level 1..{levels}")
        if items is None:
            return BAD
        bad = [position for position, level in enumerate(items) if level > levels]
        for position in bad:
            issues.add(index(path, position), f"a priority level 1..{levels}", items[position])
        return BAD if bad else items

    def group(issues: Issues, value: object, path: str) -> object:
        return _group(reader, issues, value, path, allow_any=True)

    def action(issues: Issues, value: object, path: str) -> object:
        def target(issues: Issues, value: object, at: str) -> object:
            return _group(reader, issues, value, at, allow_any=False)

        def level(issues: Issues, value: object, at: str) -> object:
            if type(value) is not int or not 1 <= value <= levels:
                issues.add(at, f"a priority level 1..{levels}", value)
                return BAD
            return value

        made = read.record(issues, value, path, {
            "kind": read.TEXT(required=True), "group": Field("a support group", target),
            "role": read.TEXT(), "priority": Field("a priority level", level)},
            "an escalation action: { kind = \"functional\" | \"hierarchical\" | "
            "\"raise_priority\", group, role, priority }", EscalationAction)
        return BAD if made is None else made

    return {
        "name": read.TEXT(required=True),
        "action": Field("an action table", action, required=True),
        "stage": read.FRACTION(), "metric": read.TEXT(), "group": Field("a group", group),
        "priorities": Field("an array of priority levels", priorities),
        "services": read.TEXTS(), "categories": read.TEXTS(),
    }


def read_notifications(reader: _Reader, value: object) -> SubscriptionRules | None:
    issues = reader.issues
    if value is False:
        return None
    section = read.table(issues, value, "notifications", ("subscriptions",),
                         "a table (or false for no subscriptions)")
    if section is None:
        return None
    recipients = read.list_of("an array of recipients", Field("a recipient", _recipient))
    fields = {"events": read.TEXTS(required=True), "recipients": recipients(required=True),
              "priorities": read.LEVELS(), "template": read.TEXT()}
    subscriptions = reader.items(section.get("subscriptions", []), "notifications.subscriptions",
                                 fields, "a subscription", Subscription)
    if subscriptions is None:
        return None
    try:
        return SubscriptionRules(subscriptions)
    except (DefinitionError, ValidationError) as error:  # pragma: no cover - items checked
        issues.refused("notifications", "valid subscriptions", value, error)
        return None


def _recipient(issues: Issues, value: object, path: str) -> object:
    """``"caller"``, ``"assignee"``, ``"group"``, ``"role:NAME"`` or ``"address:ADDRESS"``."""
    expected = ('"caller", "assignee", "group", "role:<role name>" or '
                '"address:<e-mail address>"')
    if not isinstance(value, str):
        issues.add(path, expected, value)
        return BAD
    kind_text, _, rest = value.partition(":")
    try:
        kind = RecipientKind(kind_text.strip())
    except ValueError:
        issues.add(path, expected, value)
        return BAD
    made = issues.build(path, expected, value,
                        lambda: Recipient(kind, rest.strip() if rest else None))
    return BAD if made is None else made
