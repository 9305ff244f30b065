"""Reading a configuration: TOML text or plain data -> :class:`DeskConfig`, every issue reported.

Each section is read on its own, each item of a section on its own, so that one bad item does
not hide the problems of the others. The library's own classes do the validating; their
refusals become issues at the key path of the value they refused. Cross-references (an SLA
agreement's calendar, an escalation's group, a target's priority level) are checked here, each
at the path of the reference. Nothing is returned unless no issue was found.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from itil_incident.config import _issues as read
from itil_incident.config import _read_policies, _read_sections, _read_sla
from itil_incident.config._issues import ConfigError, Issues, index
from itil_incident.config._model import DeskConfig, known_guards
from itil_incident.domain.values import HoldReason
from itil_incident.domain.workflow import Guard
from itil_incident.notifications.subscriptions import SubscriptionRules
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar

__all__ = ["SECTIONS", "load_config"]

#: The top-level sections of a configuration, in the order they are read.
SECTIONS = ("calendars", "workflows", "priority", "categories", "routing", "desk", "sla",
            "escalation", "families", "problems", "known_errors", "major", "alerts",
            "notifications")

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


_READERS = {
    "calendars": _read_sections.read_calendars, "workflows": _read_sections.read_workflows,
    "priority": _read_sections.read_priority, "categories": _read_sections.read_categories,
    "routing": _read_sections.read_routing, "desk": _read_sections.read_desk,
    "sla": _read_sla.read_sla, "escalation": _read_sla.read_escalation,
    "families": _read_policies.read_families, "problems": _read_policies.read_problems,
    "known_errors": _read_policies.read_known_errors, "major": _read_policies.read_major,
    "alerts": _read_policies.read_alerts,
}
#: The section that sets each policy later sections are checked against.
_SECTION_OF = {"priority_matrix": "priority", "incident_workflow": "workflows",
               "routing": "routing", "hold_reasons": "desk", "categories": "categories"}


class _Reader:
    """Reads one configuration's sections, reporting to ``issues``."""

    def __init__(self, issues: Issues, guards: Mapping[str, Guard]) -> None:
        self.issues = issues
        self.guards = guards
        self.calendars: dict[str, BusinessCalendar] = {}
        self.broken_calendars: set[str] = set()
        self.broken_sections: set[str] = set()
        self.policies: dict[str, Any] = {}
        self.defaults = DeskPolicies()

    def config(self, data: Mapping[str, Any]) -> DeskConfig | None:
        root = read.table(self.issues, data, "", SECTIONS)
        if root is None:
            return None
        subscriptions: SubscriptionRules | None = None
        for name in SECTIONS:
            if name not in root:
                continue
            before = len(self.issues.items)
            if name == "notifications":
                subscriptions = _read_sla.read_notifications(self, root[name])
            else:
                _READERS[name](self, root[name])
            if len(self.issues.items) > before:
                self.broken_sections.add(name)
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

    def trusted(self, name: str) -> bool:
        """Whether the policy ``name`` may be checked against: its section, if the file has
        one, was read without issues (a broken section's problems are reported already)."""
        return _SECTION_OF[name] not in self.broken_sections

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

    def items(self, value: object, path: str, fields: Mapping[str, read.Field], expected: str,
              factory: Any) -> list[Any] | None:
        """Each table of an array built by ``factory`` (None when any of them is not)."""
        tables = read.array(self.issues, value, path, f"an array of tables ({expected} each)")
        if tables is None:
            return None
        built = [read.record(self.issues, item, index(path, position), fields, expected,
                             factory) for position, item in enumerate(tables)]
        return None if any(item is None for item in built) else built

    def hold_reasons(self) -> frozenset[str]:
        reasons: frozenset[str] = self.current("hold_reasons")
        return reasons if reasons else frozenset(r.value for r in HoldReason)
