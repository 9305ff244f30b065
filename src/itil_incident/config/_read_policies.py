"""Reading the sections of the desk's other policies: ``families`` (parent, child and duplicate
incidents), ``problems`` (what resolving a problem does), ``known_errors`` (the matcher),
``major`` (the major-incident policy) and ``alerts`` (the alert policy)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from itil_incident.alerts._policy import AlertPolicy
from itil_incident.config import _issues as read
from itil_incident.config._issues import BAD, Field, Issues, index, key
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.domain.values import Actor
from itil_incident.errors import ValidationError
from itil_incident.policies.known_errors import KnownErrorMatcher
from itil_incident.policies.major import ClusterRule, MajorIncidentPolicy
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.problem_resolution import OnProblemResolved

if TYPE_CHECKING:
    from itil_incident.config._load import _Reader

__all__ = ["MATCHER_KEYS", "SEVERITIES", "read_alerts", "read_families", "read_known_errors",
           "read_major", "read_problems"]

#: The keys of ``[known_errors]`` besides ``on_log``: every setting of the matcher (integers).
MATCHER_KEYS = tuple(field.name for field in attrs.fields(KnownErrorMatcher))
#: The severities ``alerts.levels`` maps (a recovery opens no incident).
SEVERITIES = tuple(severity.value for severity in reversed(AlertSeverity)
                   if not severity.is_recovery)


# -- [families] -----------------------------------------------------------------------------------


_FAMILIES = {"cascade_resolution": read.FLAG(), "duplicate_resolution_code": read.TEXT(),
             "duplicate_closure_code": read.TEXT()}


def read_families(reader: _Reader, value: object) -> None:
    found = _settings(reader.issues, value, "families", _FAMILIES)
    if found is not None:
        reader.policies.update(found)


# -- [problems] -----------------------------------------------------------------------------------


_ON_RESOLVED = tuple(option.value for option in OnProblemResolved)


def _choice(issues: Issues, value: object, path: str) -> object:
    if isinstance(value, str) and value in _ON_RESOLVED:
        return OnProblemResolved(value)
    issues.add(path, f"one of {', '.join(_ON_RESOLVED)}", value)
    return BAD


_PROBLEMS = {"on_resolved": Field(f"one of {', '.join(_ON_RESOLVED)}", _choice),
             "resolution_code": read.TEXT()}


def read_problems(reader: _Reader, value: object) -> None:
    found = _settings(reader.issues, value, "problems", _PROBLEMS)
    if found is None:
        return
    if "on_resolved" in found:
        reader.policies["on_problem_resolved"] = found["on_resolved"]
    if "resolution_code" in found:
        reader.policies["problem_resolution_code"] = found["resolution_code"]


# -- [known_errors] -------------------------------------------------------------------------------


def read_known_errors(reader: _Reader, value: object) -> None:
    issues = reader.issues
    if value is False:
        reader.policies["known_errors"] = None
        return
    fields = {"on_log": read.FLAG(), **{name: read.INTEGER() for name in MATCHER_KEYS}}
    found = _settings(issues, value, "known_errors", fields,
                      "a table (or false to switch known-error matching off)")
    if found is None:
        return
    settings = {name: found[name] for name in MATCHER_KEYS if name in found}
    matcher = issues.build("known_errors", "a valid known-error matcher", value,
                           lambda: KnownErrorMatcher(**settings),
                           where=lambda culprit, _: "." + culprit
                           if culprit in MATCHER_KEYS else None)
    if matcher is None:
        return
    reader.policies["known_errors"] = matcher
    if "on_log" in found:
        reader.policies["known_errors_on_log"] = found["on_log"]


# -- [major] --------------------------------------------------------------------------------------


def read_major(reader: _Reader, value: object) -> None:
    issues = reader.issues
    if value is False:
        reader.policies["major"] = None
        return
    top = _top_level(reader)
    fields = {
        "priorities": Field("an array of priority levels",
                            lambda i, v, p: _levels(i, v, p, top)),
        "critical_services": read.TEXTS(),
        "cluster": Field("a cluster table (or false for none)", _cluster),
        "manager_role": read.TEXT(),
        "review_required": read.FLAG(),
        "cadence": Field("a table of priority levels to durations",
                         lambda i, v, p: _cadence(i, v, p, top)),
        "roles": read.TEXTS(),
        "shared_roles": read.TEXTS(),
    }
    found = _settings(issues, value, "major", fields,
                      "a table (or false to switch major-incident management off)")
    if found is None:
        return
    policy = issues.build("major", "a valid major-incident policy", value,
                          lambda: MajorIncidentPolicy(**found),
                          where=lambda culprit, _: "." + culprit
                          if culprit.split(".")[0] in fields else None)
    if policy is not None:
        reader.policies["major"] = policy


def _top_level(reader: _Reader) -> int:
    """The number of priority levels of the incident matrix (unchecked when its section is
    broken: its problems are reported already)."""
    if not reader.trusted("priority_matrix"):
        return 10**6
    matrix: PriorityMatrix = reader.current("priority_matrix")
    return len(matrix.priorities)


def _level_expected(top: int) -> str:
    return ("a priority level (an integer >= 1)" if top >= 10**6
            else f"a priority level 1..{top} of the incident matrix")


def _levels(issues: Issues, value: object, path: str, top: int) -> object:
    items = read.array(issues, value, path, "an array of priority levels")
    if items is None:
        return BAD
    good = True
    for position, level in enumerate(items):
        if type(level) is not int or not 1 <= level <= top:
            issues.add(index(path, position), _level_expected(top), level)
            good = False
    return items if good else BAD


def _cadence(issues: Issues, value: object, path: str, top: int) -> object:
    if not isinstance(value, Mapping):
        issues.add(path, "a table of priority levels to durations", value)
        return BAD
    result: dict[int, timedelta] = {}
    good = True
    for level, every in value.items():
        at = key(path, level)
        if not (isinstance(level, str) and level.isdecimal() and level.isascii()
                and 1 <= int(level) <= top):
            issues.add(at, _level_expected(top), level, "the key is the priority level")
            good = False
            continue
        span = read.duration(issues, every, at)
        if span is None:
            good = False
        elif span < timedelta(minutes=1):
            issues.add(at, "a duration of a minute or more", every)
            good = False
        else:
            result[int(level)] = span
    return result if good else BAD


_CLUSTER = {"threshold": read.LEVEL(required=True),
            "window": Field(read.DURATION_EXPECTED, lambda i, v, p: _duration(i, v, p),
                            required=True),
            "by_service": read.FLAG(), "by_configuration_item": read.FLAG()}


def _cluster(issues: Issues, value: object, path: str) -> object:
    if value is False:
        return None
    rule = read.record(issues, value, path, _CLUSTER, "a cluster table (or false for none)",
                       ClusterRule)
    return BAD if rule is None else rule


# -- [alerts] -------------------------------------------------------------------------------------


def read_alerts(reader: _Reader, value: object) -> None:
    issues = reader.issues
    fields = {
        "levels": Field("a table of severities to [impact, urgency]", _severity_levels),
        "service_impact": Field("a table of service names to impact levels", _service_impact),
        "grouping_window": Field(f"{read.DURATION_EXPECTED} (or false for none)",
                                 lambda i, v, p: None if v is False else _duration(i, v, p)),
        "resolve_on_recovery": read.FLAG(),
        "resolution_code": read.TEXT(),
        "flap_threshold": read.LEVEL(),
        "flap_window": Field(read.DURATION_EXPECTED, lambda i, v, p: _duration(i, v, p)),
        "max_payload_bytes": read.LEVEL(),
        "category": Field("a category of the category tree",
                          lambda i, v, p: _category(reader, i, v, p)),
        "assignment_group": Field("a group of routing.groups",
                                  lambda i, v, p: _group(reader, i, v, p)),
        "actor": Field("an actor table (id, name, roles)", _actor),
    }
    found = _settings(issues, value, "alerts", fields)
    if found is None:
        return
    policy = issues.build("alerts", "a valid alert policy", value,
                          lambda: AlertPolicy(**found),
                          where=lambda culprit, _: "." + culprit.removeprefix("alerts.")
                          if culprit.removeprefix("alerts.") in fields else None)
    if policy is not None:
        reader.policies["alerts"] = policy


def _severity_levels(issues: Issues, value: object, path: str) -> object:
    section = read.table(issues, value, path, SEVERITIES,
                         "a table of severities to [impact, urgency]")
    if section is None:
        return BAD
    result: dict[str, tuple[int, int]] = {}
    good = all(name in SEVERITIES for name in section)
    for name in SEVERITIES:
        at = key(path, name)
        if name not in section:
            issues.add(at, "[impact, urgency] (every severity has its levels)", read.MISSING)
            good = False
            continue
        pair = section[name]
        if not (isinstance(pair, list) and len(pair) == 2
                and all(type(level) is int and level >= 1 for level in pair)):
            issues.add(at, "[impact, urgency], two integers >= 1", pair)
            good = False
            continue
        result[name] = (pair[0], pair[1])
    return result if good else BAD


def _service_impact(issues: Issues, value: object, path: str) -> object:
    if not isinstance(value, Mapping):
        issues.add(path, "a table of service names to impact levels", value)
        return BAD
    good = True
    for service, level in value.items():
        if not isinstance(service, str) or not service.strip():
            issues.add(key(path, service), "a service name", service)
            good = False
        elif type(level) is not int or level < 1:
            issues.add(key(path, service), "an impact level (an integer >= 1)", level)
            good = False
    return dict(value) if good else BAD


def _category(reader: _Reader, issues: Issues, value: object, path: str) -> object:
    if not isinstance(value, str) or not value.strip():
        issues.add(path, "a non-empty string", value)
        return BAD
    tree = reader.current("categories")
    if tree is None or not reader.trusted("categories"):
        return value
    try:
        tree.validate(value)
    except ValidationError as error:
        issues.add(path, "a category of the category tree", value, str(error))
        return BAD
    return value


def _group(reader: _Reader, issues: Issues, value: object, path: str) -> object:
    if not isinstance(value, str) or not value.strip():
        issues.add(path, "a non-empty string", value)
        return BAD
    routing = reader.current("routing")
    if routing is not None and reader.trusted("routing") and value not in routing.groups:
        issues.add(path, "the name of a group of routing.groups", value)
        return BAD
    return value


_ACTOR = {"id": read.TEXT(required=True), "name": read.TEXT(), "roles": read.TEXTS()}


def _actor(issues: Issues, value: object, path: str) -> object:
    actor = read.record(issues, value, path, _ACTOR, "an actor table (id, name, roles)",
                        Actor)
    return BAD if actor is None else actor


# -- shared ---------------------------------------------------------------------------------------


def _duration(issues: Issues, value: object, path: str) -> object:
    span = read.duration(issues, value, path)
    return BAD if span is None else span


def _settings(issues: Issues, value: object, path: str, fields: Mapping[str, Field],
              expected: str = "a table") -> dict[str, Any] | None:
    """The keys of the table ``value`` read by ``fields`` (keys left out are not returned);
    None when anything was reported."""
    section = read.table(issues, value, path, fields, expected)
    if section is None:
        return None
    found: dict[str, Any] = {}
    good = True
    for name, item in section.items():
        field = fields.get(name)
        if field is None:  # reported by table()
            good = False
            continue
        got = field.read(issues, item, key(path, name))
        if got is BAD:
            good = False
        else:
            found[name] = got
    return found if good else None
