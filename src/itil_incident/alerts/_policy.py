"""The alert policy: how alerts become incidents."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import attrs

from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.domain.values import Actor
from itil_incident.errors import DefinitionError

__all__ = ["MONITORING", "AlertPolicy"]

#: The actor that records what alerts do to incidents.
MONITORING = Actor("monitoring", "Monitoring", frozenset({"system"}))

_PROBLEMS = tuple(member for member in AlertSeverity if not member.is_recovery)

#: Severity -> (impact level, urgency level) on a 3 x 3 matrix such as ServiceNow's:
#: critical P1, major P2, minor P3, warning P4, info P4.
DEFAULT_LEVELS: Mapping[AlertSeverity, tuple[int, int]] = MappingProxyType({
    AlertSeverity.CRITICAL: (1, 1),
    AlertSeverity.MAJOR: (1, 2),
    AlertSeverity.MINOR: (2, 2),
    AlertSeverity.WARNING: (2, 3),
    AlertSeverity.INFO: (3, 3),
})


def _level(value: object, culprit: str) -> int:
    if type(value) is not int or value < 1:
        raise DefinitionError(f"alerts.{culprit} must be a level (an integer >= 1), got "
                              f"{value!r}", culprit=f"alerts.{culprit}")
    return value


def _levels(value: object) -> Mapping[AlertSeverity, tuple[int, int]]:
    if not isinstance(value, Mapping):
        raise DefinitionError("alerts.levels must map severities to (impact, urgency)",
                              culprit="alerts.levels")
    result: dict[AlertSeverity, tuple[int, int]] = {}
    for key, pair in value.items():
        try:
            severity = AlertSeverity.parse(key)
        except ValueError:
            raise DefinitionError(f"alerts.levels: unknown severity {key!r}",
                                  culprit="alerts.levels") from None
        if severity.is_recovery:
            raise DefinitionError("alerts.levels: a recovery opens no incident",
                                  culprit="alerts.levels")
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise DefinitionError(f"alerts.levels[{severity.value}] must be (impact, urgency), "
                                  f"got {pair!r}", culprit="alerts.levels")
        result[severity] = (_level(pair[0], "levels"), _level(pair[1], "levels"))
    missing = [s.value for s in _PROBLEMS if s not in result]
    if missing:
        raise DefinitionError(f"alerts.levels has no levels for {', '.join(missing)}",
                              culprit="alerts.levels")
    return MappingProxyType(result)


def _service_impact(value: object) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        raise DefinitionError("alerts.service_impact must map service names to impact levels",
                              culprit="alerts.service_impact")
    result: dict[str, int] = {}
    for key, level in value.items():
        if not isinstance(key, str) or not key.strip():
            raise DefinitionError(f"alerts.service_impact: {key!r} is not a service name",
                                  culprit="alerts.service_impact")
        result[key] = _level(level, "service_impact")
    return MappingProxyType(result)


def _duration(optional: bool) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise DefinitionError(f"alerts.{attribute.name} must be a positive timedelta"
                                  f"{' or None' if optional else ''}, got {value!r}",
                                  culprit=f"alerts.{attribute.name}")
    return check


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 1:
        raise DefinitionError(f"alerts.{attribute.name} must be an integer >= 1, got {value!r}",
                              culprit=f"alerts.{attribute.name}")


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:
        raise DefinitionError(f"alerts.{attribute.name} must be True or False, got {value!r}",
                              culprit=f"alerts.{attribute.name}")


def _optional_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise DefinitionError(f"alerts.{attribute.name} must be a non-empty string or None, "
                              f"got {value!r}", culprit=f"alerts.{attribute.name}")


def _name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(f"alerts.{attribute.name} must be a non-empty string, "
                              f"got {value!r}", culprit=f"alerts.{attribute.name}")


def _actor(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Actor):
        raise DefinitionError(f"alerts.actor must be an Actor, got {value!r}",
                              culprit="alerts.actor")


@attrs.frozen(kw_only=True, eq=False)
class AlertPolicy:
    """How monitoring alerts become incidents (``DeskPolicies.alerts``).

    - ``levels``: severity -> (impact level, urgency level) of the incident an alert opens (a
      higher severity later raises them, never lowers); ``service_impact``: service -> impact
      level, which wins when more severe (a critical service).
    - ``grouping_window``: None (default) folds every alert of a key into its open incident;
      a duration makes a key that stayed quiet for longer than that start a new incident
      (the old one, still open, gives up the key, audited).
    - ``resolve_on_recovery``: a recovery alert resolves the open incident with
      ``resolution_code`` (else it is only recorded on it).
    - ``flap_threshold`` / ``flap_window``: a key that starts firing again more than
      ``flap_threshold`` times within ``flap_window`` is flapping: its alerts are held (they
      change no incident) and reported, until it calms down.
    - ``max_payload_bytes``: the largest payload, in bytes of its compact JSON.
    - ``category`` / ``assignment_group``: for the incidents alerts open (None: the
      categorizer and routing table decide, as for any incident).
    - ``actor``: who records what alerts do (default :data:`MONITORING`).
    """

    levels: Mapping[AlertSeverity, tuple[int, int]] = attrs.field(default=DEFAULT_LEVELS,
                                                                  converter=_levels)
    service_impact: Mapping[str, int] = attrs.field(factory=dict, converter=_service_impact)
    grouping_window: timedelta | None = attrs.field(default=None,
                                                    validator=_duration(optional=True))
    resolve_on_recovery: bool = attrs.field(default=True, validator=_flag)
    resolution_code: str = attrs.field(default="solved_remotely", validator=_name)
    flap_threshold: int = attrs.field(default=3, validator=_positive)
    flap_window: timedelta = attrs.field(default=timedelta(hours=1),
                                         validator=_duration(optional=False))
    max_payload_bytes: int = attrs.field(default=16_384, validator=_positive)
    category: str | None = attrs.field(default=None, validator=_optional_name)
    assignment_group: str | None = attrs.field(default=None, validator=_optional_name)
    actor: Actor = attrs.field(default=MONITORING, validator=_actor)

    def impact_urgency(self, severity: AlertSeverity, service: str | None) -> tuple[int, int]:
        """The (impact, urgency) levels for an alert of ``severity`` on ``service``.

        >>> AlertPolicy(service_impact={"payments": 1}).impact_urgency(
        ...     AlertSeverity.MINOR, "payments")
        (1, 2)
        """
        impact, urgency = self.levels[severity]
        if service is not None:
            critical = self.service_impact.get(service)
            if critical is not None and critical < impact:
                impact = critical
        return impact, urgency
