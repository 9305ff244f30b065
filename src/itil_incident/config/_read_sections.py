"""Reading the sections that stand on their own: ``calendars``, ``workflows``, ``priority``,
``categories``, ``routing`` and ``desk``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itil_incident.config import _issues as read
from itil_incident.config._issues import index, key
from itil_incident.domain.workflow import Workflow
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.categorization import CategorizationRule, Categorizer, CategoryTree
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.routing import RoutingRule, RoutingTable, SupportGroup

if TYPE_CHECKING:
    from itil_incident.config._load import _Reader

__all__ = ["CUSTOM_TYPES", "PRESETS", "read_calendars", "read_categories", "read_desk",
           "read_priority", "read_routing", "read_workflows"]


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


def read_calendars(reader: _Reader, value: object) -> None:
    if not isinstance(value, Mapping):
        reader.issues.add("calendars", "a table of named calendars", value)
        return
    calendars: Mapping[str, Any] = value
    for name, definition in calendars.items():
        path = key("calendars", name)
        if not isinstance(definition, Mapping):
            reader.issues.add(path, "a calendar table", definition)
            reader.broken_calendars.add(name)
            continue
        data = {"name": name, **definition}
        calendar = reader.issues.build(path, "a valid business calendar", definition,
                                       functools.partial(BusinessCalendar.from_dict, data),
                                       where=_calendar_where)
        if calendar is None:
            reader.broken_calendars.add(name)
        else:
            reader.calendars[name] = calendar


def read_workflows(reader: _Reader, value: object) -> None:
    workflows = read.table(reader.issues, value, "workflows", ("incident", "problem"))
    if workflows is None:
        return
    for name, field in (("incident", "incident_workflow"), ("problem", "problem_workflow")):
        if name not in workflows:
            continue
        definition = workflows[name]
        workflow = reader.issues.build(
            key("workflows", name), "a valid workflow", definition,
            functools.partial(Workflow.from_dict, definition, guards=reader.guards),
            where=functools.partial(_workflow_where, definition))
        if workflow is not None:
            reader.policies[field] = workflow


def read_priority(reader: _Reader, value: object) -> None:
    matrices = read.table(reader.issues, value, "priority", ("incident", "problem"))
    if matrices is None:
        return
    for name, field in (("incident", "priority_matrix"),
                        ("problem", "problem_priority_matrix")):
        if name in matrices:
            matrix = _matrix(reader, matrices[name], key("priority", name))
            if matrix is not None:
                reader.policies[field] = matrix


def _matrix(reader: _Reader, value: object, path: str) -> PriorityMatrix | None:
    if isinstance(value, Mapping) and "preset" in value:
        data = read.table(reader.issues, value, path, ("preset",))
        preset = value["preset"]
        if data is None or len(data) != 1:
            return None
        if not isinstance(preset, str) or preset not in PRESETS:
            reader.issues.add(key(path, "preset"), f"one of {', '.join(PRESETS)}", preset)
            return None
        return PRESETS[preset]()
    if not isinstance(value, Mapping):
        reader.issues.add(path, "a matrix table (or a table with a preset)", value)
        return None
    return reader.issues.build(path, "a valid priority matrix", value,
                               lambda: PriorityMatrix.from_dict(value), where=_matrix_where)


def read_categories(reader: _Reader, value: object) -> None:
    if value is False:
        reader.policies["categories"] = None
        reader.policies["categorizer"] = None
        return
    section = read.table(reader.issues, value, "categories", ("tree", "rules"),
                         "a table (or false to switch categories off)")
    if section is None:
        return
    tree: CategoryTree | None = None
    if "tree" in section:
        raw = section["tree"]
        tree = reader.issues.build("categories.tree", "a tree of category names", raw,
                                   lambda: CategoryTree.from_dict(raw))
        if tree is None:
            return
    reader.policies["categories"] = tree
    if "rules" not in section:
        reader.policies["categorizer"] = None
        return
    items = read.array(reader.issues, section["rules"], "categories.rules",
                       "an array of rule tables")
    if items is None:
        return
    before = len(reader.issues.items)
    rules: list[CategorizationRule] = []
    names: dict[str, int] = {}
    for position, item in enumerate(items):
        path = index("categories.rules", position)
        rule = read.record(reader.issues, item, path, _CATEGORIZATION_RULE,
                           "a categorization rule", CategorizationRule)
        if rule is None:
            continue
        if rule.name in names:
            reader.issues.add(key(path, "name"), "a rule name not used before",
                              rule.name, f"rules[{names[rule.name]}] has it already")
        elif tree is not None and rule.category not in tree:
            reader.issues.add(key(path, "category"), "a category of categories.tree",
                              str(rule.category))
        names.setdefault(rule.name, position)
        rules.append(rule)
    if len(reader.issues.items) == before:
        categorizer = reader.issues.build("categories.rules", "valid categorization rules",
                                          items, lambda: Categorizer(rules, tree=tree))
        if categorizer is not None:
            reader.policies["categorizer"] = categorizer


def read_routing(reader: _Reader, value: object) -> None:
    if value is False:
        reader.policies["routing"] = None
        return
    section = read.table(reader.issues, value, "routing", ("groups", "rules", "default_group"),
                         "a table (or false to switch routing off)")
    if section is None:
        return
    if "groups" not in section:
        reader.issues.add("routing.groups", "an array of support group tables",
                          read.MISSING)
    groups = reader.items(section.get("groups", []), "routing.groups", _SUPPORT_GROUP,
                          "a support group", SupportGroup)
    rules = reader.items(section.get("rules", []), "routing.rules", _ROUTING_RULE,
                         "a routing rule", RoutingRule)
    default = section.get("default_group")
    if default is not None and not isinstance(default, str):
        reader.issues.add("routing.default_group", "a group name", default)
        return
    if groups is None or rules is None:
        return
    known = {group.name for group in groups}
    broken = False
    for position, group in enumerate(groups):
        if group.escalates_to is not None and group.escalates_to not in known:
            reader.issues.add(key(index("routing.groups", position), "escalates_to"),
                              "the name of a group of routing.groups", group.escalates_to)
            broken = True
    for position, rule in enumerate(rules):
        if rule.group not in known:
            reader.issues.add(key(index("routing.rules", position), "group"),
                              "the name of a group of routing.groups", rule.group)
            broken = True
    if default is not None and default not in known:
        reader.issues.add("routing.default_group", "the name of a group of routing.groups",
                          default)
        broken = True
    if not broken:
        table = reader.issues.build("routing", "a valid routing table", value,
                                    lambda: RoutingTable(groups, rules, default_group=default),
                                    where=functools.partial(_named, section))
        if table is not None:
            reader.policies["routing"] = table


def read_desk(reader: _Reader, value: object) -> None:
    section = read.table(reader.issues, value, "desk", (
        "hold_reasons", "resolution_codes", "custom_fields", "auto_close_after",
        "auto_close_calendar", "hold_reminder_every"))
    if section is None:
        return
    if "hold_reasons" in section:
        _names(reader, "hold_reasons", section["hold_reasons"])
    if "resolution_codes" in section:
        if section["resolution_codes"] is False:
            reader.policies["resolution_codes"] = None
        else:
            _names(reader, "resolution_codes", section["resolution_codes"])
    if "custom_fields" in section:
        _custom_fields(reader, section["custom_fields"])
    for name in ("auto_close_after", "hold_reminder_every"):
        if name in section:
            span = read.duration(reader.issues, section[name], key("desk", name))
            if span is not None:
                reader.policies[name] = span
    if "auto_close_calendar" in section:
        calendar = reader.calendar(section["auto_close_calendar"], "desk.auto_close_calendar")
        if calendar is not None:
            reader.policies["auto_close_calendar"] = calendar


def _custom_fields(reader: _Reader, value: object) -> None:
    if value is False:
        reader.policies["custom_fields"] = None
        return
    if not isinstance(value, Mapping):
        reader.issues.add("desk.custom_fields", "a table of field names to types", value)
        return
    fields: dict[str, type] = {}
    for name, kind in value.items():
        if not isinstance(kind, str) or kind not in CUSTOM_TYPES:
            reader.issues.add(key("desk.custom_fields", name),
                              f"one of the types {', '.join(CUSTOM_TYPES)}", kind)
        else:
            fields[name] = CUSTOM_TYPES[kind]
    if len(fields) == len(value):
        reader.policies["custom_fields"] = fields


def _names(reader: _Reader, name: str, value: object) -> None:
    """A non-empty set of names for the desk policy ``name``."""
    path = key("desk", name)
    listed = read.strings(reader.issues, value, path)
    if listed == []:
        reader.issues.add(path, "a non-empty array of strings", value)
    elif listed is not None:
        reader.policies[name] = frozenset(listed)


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


