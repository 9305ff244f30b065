"""The configuration of a desk: its policies, its named calendars, its subscriptions."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import attrs

from itil_incident.domain.lifecycles import has_root_cause_or_workaround
from itil_incident.domain.workflow import Guard
from itil_incident.errors import DefinitionError
from itil_incident.notifications.subscriptions import SubscriptionRules
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar

__all__ = ["DeskConfig", "known_guards"]


def known_guards() -> dict[str, Guard]:
    """The workflow guards every configuration may name."""
    return {"has_root_cause_or_workaround": has_root_cause_or_workaround}


def _calendars(value: object) -> Mapping[str, BusinessCalendar]:
    if not isinstance(value, Mapping) or not all(
            isinstance(name, str) and name and isinstance(calendar, BusinessCalendar)
            for name, calendar in value.items()):
        raise DefinitionError("calendars must map names to BusinessCalendar values",
                              culprit="calendars")
    return types.MappingProxyType(dict(value))


def _policies(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, DeskPolicies):
        raise DefinitionError(f"policies must be DeskPolicies, got {type(value).__name__}",
                              culprit="policies")


def _subscriptions(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, SubscriptionRules):
        raise DefinitionError(f"subscriptions must be SubscriptionRules or None, got "
                              f"{type(value).__name__}", culprit="subscriptions")


@attrs.frozen(kw_only=True, eq=False)
class DeskConfig:
    """What a configuration file declares: the desk's ``policies``
    (:class:`~itil_incident.DeskPolicies`), its named ``calendars`` (the ones SLA agreements
    and auto-closing refer to, by name) and the notification ``subscriptions`` (None when
    the file declares none).

    Built by :func:`load_config`, or directly. Two configurations are equal when they write
    the same plain data (:meth:`to_dict`); a configuration holding a calendar that is not a
    :class:`~itil_incident.BusinessCalendar` (a host's own ``SlaCalendar``) cannot be written
    and is equal only to itself.

    >>> config = DeskConfig()
    >>> config.policies.priority_matrix.name
    'servicenow'
    >>> config == DeskConfig(calendars={})
    True
    """

    policies: DeskPolicies = attrs.field(factory=DeskPolicies, validator=_policies)
    calendars: Mapping[str, BusinessCalendar] = attrs.field(factory=dict, converter=_calendars)
    subscriptions: SubscriptionRules | None = attrs.field(default=None,
                                                          validator=_subscriptions)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain data in the file's layout (TOML ready: no ``None``),
        every section written out; :func:`load_config` reads it back."""
        from itil_incident.config._dump import config_data

        return config_data(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeskConfig):
            return NotImplemented
        try:
            return self is other or self.to_dict() == other.to_dict()
        except DefinitionError:  # holds a calendar no file can hold: only itself is equal
            return False

    __hash__ = None  # type: ignore[assignment]  # equal by value, and holds mutable mappings
