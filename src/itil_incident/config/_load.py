"""Reading a configuration: TOML text or plain data -> :class:`DeskConfig`, every issue reported.

Each section is read on its own, each item of a section on its own, so that one bad item does
not hide the problems of the others. The library's own classes do the validating; their
refusals become issues at the key path of the value they refused. Cross-references (an SLA
agreement's calendar, an escalation's group, a target's priority level) are checked here, each
at the path of the reference. Nothing is returned unless no issue was found.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from itil_incident.config import _issues as read
from itil_incident.config._issues import BAD, ConfigError, Issues, index, key
from itil_incident.config._model import DeskConfig, known_guards
from itil_incident.domain.values import HoldReason
from itil_incident.domain.workflow import Guard, Workflow
from itil_incident.notifications.subscriptions import Recipient, RecipientKind, SubscriptionRules
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.categorization import CategorizationRule, Categorizer, CategoryTree
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.routing import RoutingRule, RoutingTable, SupportGroup

__all__ = ["SECTIONS", "load_config"]

#: The top-level sections of a configuration, in the order they are read.
SECTIONS = ("calendars", "workflows", "priority", "categories", "routing", "desk", "sla",
            "escalation", "notifications")

#: The ready priority matrices a ``preset`` may name.
PRESETS = {
    "servicenow": PriorityMatrix.servicenow,
    "servicenow_problem": PriorityMatrix.servicenow_problem,
    "itil": PriorityMatrix.itil,
    "itop": PriorityMatrix.itop,
    "glpi": PriorityMatrix.glpi,
}
CUSTOM_TYPES: dict[str, type] = {"string": str, "integer": int, "float": float,
                                 "boolean": bool, "datetime": datetime}


def load_config(source: str | os.PathLike[str] | Mapping[str, Any], *,
                guards: Mapping[str, Guard] | None = None) -> DeskConfig:
    """The configuration declared by ``source``: a path (``pathlib.Path`` or any
    ``os.PathLike``) to a TOML file, TOML text (a ``str``), or the same data already parsed
    (a mapping).

    ``guards`` adds to the library's named workflow guards the ones the file's workflows may
    name. A section left out keeps the library's default (see :class:`DeskConfig`). Raises
    :class:`ConfigError` listing every problem found, each at its key path; nothing is built
    then.

    >>> config = load_config('''
    ... [desk]
    ... auto_close_after = "5d"
    ... ''')
    >>> config.policies.auto_close_after
    datetime.timedelta(days=5)
    >>> load_config('[desk]\\nauto_close_after = "soon"')
    Traceback (most recent call last):
    ...
    itil_incident.config._issues.ConfigError: the configuration is invalid (1 problem)
      desk.auto_close_after: expected a duration such as "30m", "4h", "1h30m" or "7d", found the string 'soon'
    """  # noqa: E501
    data, name = _data_of(source)
    issues = Issues()
    config = _Reader(issues, {**known_guards(), **_guards(issues, guards)}).config(data)
    if issues or config is None:
        raise ConfigError(_in_file_order(issues.items, data), source=name)
    return config


def _in_file_order(items: list[read.ConfigIssue], data: Mapping[str, Any]
                   ) -> list[read.ConfigIssue]:
    """The issues by the position of their section in the file (sections are read in the
    order of their references, which is not always the file's)."""
    order = {str(section): position for position, section in enumerate(data)} \
        if isinstance(data, Mapping) else {}

    def section(issue: read.ConfigIssue) -> int:
        return order.get(re.split(r"[.\[]", issue.path, maxsplit=1)[0], len(order))

    return sorted(items, key=section)


def _guards(issues: Issues, guards: object) -> Mapping[str, Guard]:
    if guards is None:
        return {}
    if not isinstance(guards, Mapping) or not all(
            isinstance(name, str) and callable(guard) for name, guard in guards.items()):
        raise ConfigError([read.ConfigIssue("(guards argument)", "a mapping of names to "
                                            "callables", read.describe(guards))])
    return guards


def _data_of(source: object) -> tuple[Mapping[str, Any], str | None]:
    if isinstance(source, Mapping):
        return source, None
    if isinstance(source, os.PathLike):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError([read.ConfigIssue("", "a readable UTF-8 TOML file",
                                                f"the file {str(path)!r}",
                                                str(error))], source=str(path)) from None
        return _parse(text, str(path)), str(path)
    if isinstance(source, str):
        return _parse(source, None), None
    raise ConfigError([read.ConfigIssue("", "a path, TOML text or a mapping",
                                        read.describe(source))])


def _parse(text: str, name: str | None) -> Mapping[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        reason = str(error)
        if name is None and "\n" not in text and text.strip().endswith(".toml"):
            reason += " (to read a file, pass a pathlib.Path)"
        raise ConfigError([read.ConfigIssue("", "valid TOML", "a syntax error", reason)],
                          source=name) from None


class _Reader:
    """Reads one configuration's sections, reporting to ``issues``."""

    def __init__(self, issues: Issues, guards: Mapping[str, Guard]) -> None:
        self.issues = issues
        self.guards = guards
        self.calendars: dict[str, BusinessCalendar] = {}
        self.broken_calendars: set[str] = set()
        self.policies: dict[str, Any] = {}
        self.defaults = DeskPolicies()

    def config(self, data: Mapping[str, Any]) -> DeskConfig | None:
        from itil_incident.config import _read_sla  # the SLA, escalation, notifications

        root = read.table(self.issues, data, "", SECTIONS)
        if root is None:
            return None
        if "calendars" in root:
            self.read_calendars(root["calendars"])
        if "workflows" in root:
            self.read_workflows(root["workflows"])
        if "priority" in root:
            self.read_priority(root["priority"])
        if "categories" in root:
            self.read_categories(root["categories"])
        if "routing" in root:
            self.read_routing(root["routing"])
        if "desk" in root:
            self.read_desk(root["desk"])
        subscriptions: SubscriptionRules | None = None
        if "sla" in root:
            _read_sla.read_sla(self, root["sla"])
        if "escalation" in root:
            _read_sla.read_escalation(self, root["escalation"])
        if "notifications" in root:
            subscriptions = _read_sla.read_notifications(self, root["notifications"])
        if self.issues:
            return None
        policies = self.issues.build("", "policies that agree with each other", data,
                                     lambda: DeskPolicies(**self.policies))
        if policies is None:
            return None
        return DeskConfig(policies=policies, calendars=self.calendars,
                          subscriptions=subscriptions)

    # -- what later sections refer to ---------------------------------------------------------

    def current(self, name: str) -> Any:
        """The policy ``name`` as this configuration sets it, else the library default."""
        return self.policies.get(name, getattr(self.defaults, name))

    def calendar(self, value: object, path: str) -> BusinessCalendar | None:
        """The calendar a reference names (None: reported, or its definition was broken)."""
        if isinstance(value, str) and value in self.calendars:
            return self.calendars[value]
        if isinstance(value, str) and value in self.broken_calendars:
            return None
        known = ", ".join(self.calendars) or "none defined"
        self.issues.add(path, f"the name of a calendar under [calendars] ({known})", value)
        return None

    # -- sections -------------------------------------------------------------------------------

    def read_calendars(self, value: object) -> None:
        if not isinstance(value, Mapping):
            self.issues.add("calendars", "a table of named calendars", value)
            return
        calendars: Mapping[str, Any] = value
        for name, definition in calendars.items():
            path = key("calendars", name)
            if not isinstance(definition, Mapping):
                self.issues.add(path, "a calendar table", definition)
                self.broken_calendars.add(name)
                continue
            data = {"name": name, **definition}
            calendar = self.issues.build(path, "a valid business calendar", definition,
                                         functools.partial(BusinessCalendar.from_dict, data),
                                         where=_calendar_where)
            if calendar is None:
                self.broken_calendars.add(name)
            else:
                self.calendars[name] = calendar

    def read_workflows(self, value: object) -> None:
        workflows = read.table(self.issues, value, "workflows", ("incident", "problem"))
        if workflows is None:
            return
        for name, field in (("incident", "incident_workflow"), ("problem", "problem_workflow")):
            if name not in workflows:
                continue
            definition = workflows[name]
            workflow = self.issues.build(
                key("workflows", name), "a valid workflow", definition,
                functools.partial(Workflow.from_dict, definition, guards=self.guards),
                where=functools.partial(_workflow_where, definition))
            if workflow is not None:
                self.policies[field] = workflow

    def read_priority(self, value: object) -> None:
        matrices = read.table(self.issues, value, "priority", ("incident", "problem"))
        if matrices is None:
            return
        for name, field in (("incident", "priority_matrix"),
                            ("problem", "problem_priority_matrix")):
            if name in matrices:
                matrix = self.matrix(matrices[name], key("priority", name))
                if matrix is not None:
                    self.policies[field] = matrix

    def matrix(self, value: object, path: str) -> PriorityMatrix | None:
        if isinstance(value, Mapping) and "preset" in value:
            data = read.table(self.issues, value, path, ("preset",))
            preset = value["preset"]
            if data is None or len(data) != 1:
                return None
            if not isinstance(preset, str) or preset not in PRESETS:
                self.issues.add(key(path, "preset"), f"one of {', '.join(PRESETS)}", preset)
                return None
            return PRESETS[preset]()
        if not isinstance(value, Mapping):
            self.issues.add(path, "a matrix table (or a table with a preset)", value)
            return None
        return self.issues.build(path, "a valid priority matrix", value,
                                 lambda: PriorityMatrix.from_dict(value), where=_matrix_where)

    def read_categories(self, value: object) -> None:
        if value is False:
            self.policies["categories"] = None
            self.policies["categorizer"] = None
            return
        section = read.table(self.issues, value, "categories", ("tree", "rules"),
                             "a table (or false to switch categories off)")
        if section is None:
            return
        tree: CategoryTree | None = None
        if "tree" in section:
            raw = section["tree"]
            tree = self.issues.build("categories.tree", "a tree of category names", raw,
                                     lambda: CategoryTree.from_dict(raw))
            if tree is None:
                return
        self.policies["categories"] = tree
        if "rules" not in section:
            self.policies["categorizer"] = None
            return
        items = read.array(self.issues, section["rules"], "categories.rules",
                           "an array of rule tables")
        if items is None:
            return
        rules: list[CategorizationRule] = []
        names: dict[str, int] = {}
        for position, item in enumerate(items):
            path = index("categories.rules", position)
            rule = read.record(self.issues, item, path, _CATEGORIZATION_RULE,
                               "a categorization rule", CategorizationRule)
            if rule is None:
                continue
            if rule.name in names:
                self.issues.add(key(path, "name"), "a rule name not used before",
                                rule.name, f"rules[{names[rule.name]}] has it already")
            elif tree is not None and rule.category not in tree:
                self.issues.add(key(path, "category"), "a category of categories.tree",
                                str(rule.category))
            names.setdefault(rule.name, position)
            rules.append(rule)
        if len(rules) == len(items):
            categorizer = self.issues.build("categories.rules", "valid categorization rules",
                                            items, lambda: Categorizer(rules, tree=tree))
            if categorizer is not None:
                self.policies["categorizer"] = categorizer

    def read_routing(self, value: object) -> None:
        if value is False:
            self.policies["routing"] = None
            return
        section = read.table(self.issues, value, "routing", ("groups", "rules", "default_group"),
                             "a table (or false to switch routing off)")
        if section is None:
            return
        if "groups" not in section:
            self.issues.add("routing.groups", "an array of support group tables",
                            read._MISSING)
        groups = self.items(section.get("groups", []), "routing.groups", _SUPPORT_GROUP,
                            "a support group", SupportGroup)
        rules = self.items(section.get("rules", []), "routing.rules", _ROUTING_RULE,
                           "a routing rule", RoutingRule)
        default = section.get("default_group")
        if default is not None and not isinstance(default, str):
            self.issues.add("routing.default_group", "a group name", default)
            return
        if groups is None or rules is None:
            return
        known = {group.name for group in groups}
        broken = False
        for position, group in enumerate(groups):
            if group.escalates_to is not None and group.escalates_to not in known:
                self.issues.add(key(index("routing.groups", position), "escalates_to"),
                                "the name of a group of routing.groups", group.escalates_to)
                broken = True
        for position, rule in enumerate(rules):
            if rule.group not in known:
                self.issues.add(key(index("routing.rules", position), "group"),
                                "the name of a group of routing.groups", rule.group)
                broken = True
        if default is not None and default not in known:
            self.issues.add("routing.default_group", "the name of a group of routing.groups",
                            default)
            broken = True
        if not broken:
            table = self.issues.build("routing", "a valid routing table", value,
                                      lambda: RoutingTable(groups, rules, default_group=default),
                                      where=functools.partial(_named, section))
            if table is not None:
                self.policies["routing"] = table

    def items(self, value: object, path: str, fields: Mapping[str, read.Field], expected: str,
              factory: Any) -> list[Any] | None:
        """Each table of an array built by ``factory`` (None when any of them is not)."""
        tables = read.array(self.issues, value, path, f"an array of tables ({expected} each)")
        if tables is None:
            return None
        built = [read.record(self.issues, item, index(path, position), fields, expected,
                             factory) for position, item in enumerate(tables)]
        return None if any(item is None for item in built) else built

    def read_desk(self, value: object) -> None:
        section = read.table(self.issues, value, "desk", (
            "hold_reasons", "resolution_codes", "custom_fields", "auto_close_after",
            "auto_close_calendar", "hold_reminder_every"))
        if section is None:
            return
        if "hold_reasons" in section:
            self.names("hold_reasons", section["hold_reasons"])
        if "resolution_codes" in section:
            if section["resolution_codes"] is False:
                self.policies["resolution_codes"] = None
            else:
                self.names("resolution_codes", section["resolution_codes"])
        if "custom_fields" in section:
            self.read_custom_fields(section["custom_fields"])
        for name in ("auto_close_after", "hold_reminder_every"):
            if name in section:
                span = read.duration(self.issues, section[name], key("desk", name))
                if span is not None:
                    self.policies[name] = span
        if "auto_close_calendar" in section:
            calendar = self.calendar(section["auto_close_calendar"], "desk.auto_close_calendar")
            if calendar is not None:
                self.policies["auto_close_calendar"] = calendar

    def read_custom_fields(self, value: object) -> None:
        if value is False:
            self.policies["custom_fields"] = None
            return
        if not isinstance(value, Mapping):
            self.issues.add("desk.custom_fields", "a table of field names to types", value)
            return
        fields: dict[str, type] = {}
        for name, kind in value.items():
            if not isinstance(kind, str) or kind not in CUSTOM_TYPES:
                self.issues.add(key("desk.custom_fields", name),
                                f"one of the types {', '.join(CUSTOM_TYPES)}", kind)
            else:
                fields[name] = CUSTOM_TYPES[kind]
        if len(fields) == len(value):
            self.policies["custom_fields"] = fields

    def names(self, name: str, value: object) -> None:
        """A non-empty set of names for the desk policy ``name``."""
        path = key("desk", name)
        listed = read.strings(self.issues, value, path)
        if listed == []:
            self.issues.add(path, "a non-empty array of strings", value)
        elif listed is not None:
            self.policies[name] = frozenset(listed)

    def hold_reasons(self) -> frozenset[str]:
        reasons: frozenset[str] = self.current("hold_reasons")
        return reasons if reasons else frozenset(r.value for r in HoldReason)


# -- where a library's culprit points ------------------------------------------------------------

_CALENDAR_KEYS = ("timezone", "windows", "holidays", "yearly_holidays", "closures", "country",
                  "subdivision")


def _calendar_where(culprit: str, message: str) -> str | None:
    return "." + culprit if culprit.startswith(_CALENDAR_KEYS) else None


def _matrix_where(culprit: str, message: str) -> str | None:
    if culprit.startswith("cell ("):
        impact, _, urgency = culprit[len("cell ("):-1].partition(", ")
        if impact.isdecimal() and urgency.isdecimal():
            return f".cells[{int(impact) - 1}][{int(urgency) - 1}]"
        return ".cells"
    if culprit.startswith(("name", "impacts", "urgencies", "priorities", "cells", "fallback")):
        return "." + culprit
    return None


def _workflow_where(definition: object, culprit: str, message: str) -> str | None:
    if culprit.startswith(("states", "transitions", "name")):
        return "." + culprit
    if not isinstance(definition, Mapping):
        return None
    trigger, _, source = culprit.partition(" from ")
    parts = [("states", "name"), ("transitions", "trigger")]
    if message.startswith(("transition", "trigger")):
        parts.reverse()
    for part, field in parts:
        items = definition.get(part)
        if not isinstance(items, list):
            continue
        for position, item in enumerate(items):
            if not isinstance(item, Mapping) or item.get(field) != trigger:
                continue
            sources = item.get("source", item.get("sources"))
            if source and source != sources and (not isinstance(sources, list)
                                                 or source not in sources):
                continue
            return f".{part}[{position}]"
    return None


def _named(section: Mapping[str, Any], culprit: str, message: str) -> str | None:
    """The item of ``groups`` or ``rules`` named ``culprit``."""
    if culprit == "default_group":
        return ".default_group"
    for part in ("groups", "rules"):
        items = section.get(part)
        if isinstance(items, list):
            for position, item in enumerate(items):
                if isinstance(item, Mapping) and item.get("name") == culprit:
                    return f".{part}[{position}]"
    return None


# -- record layouts ------------------------------------------------------------------------------

_CATEGORIZATION_RULE = {
    "name": read.TEXT(required=True), "category": read.TEXT(required=True),
    "keywords": read.TEXTS(), "pattern": read.TEXT(), "service": read.TEXT(),
    "configuration_item": read.TEXT(), "channel": read.TEXT(),
}
_SUPPORT_GROUP = {"name": read.TEXT(required=True), "tier": read.LEVEL(),
                  "escalates_to": read.TEXT(), "manager_role": read.TEXT()}
_ROUTING_RULE = {"name": read.TEXT(required=True), "group": read.TEXT(required=True),
                 "category": read.TEXT(), "service": read.TEXT()}


def recipient(issues: Issues, value: object, path: str) -> object:
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
