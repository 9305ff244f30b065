"""Monitoring alerts on an incident: the alert severity scale and the events that record an
alert group on the incident it opened.

An incident opened by a monitoring alert holds the alert's deduplication key until the key
recovers, the group is released, or the incident ends. Repeated alerts that change nothing are
counted by the alert store, not recorded here: only what changes the incident is an event.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from itil_incident.domain.events import IncidentEvent

if TYPE_CHECKING:
    from itil_incident.domain.incident import Incident

__all__ = [
    "AlertSeverity",
    "IncidentAlertGroupOpened",
    "IncidentAlertGroupReleased",
    "IncidentAlertRecovered",
    "IncidentAlertSeverityRaised",
]


class AlertSeverity(enum.StrEnum):
    """How bad a monitoring alert says things are, ordered: ``CLEAR < INFO < ... < CRITICAL``.

    ``CLEAR`` is the recovery: the condition that raised the alert is gone.

    >>> AlertSeverity.parse("Major") > AlertSeverity.WARNING
    True
    >>> AlertSeverity.CLEAR.is_recovery
    True
    """

    CLEAR = "clear"
    INFO = "info"
    WARNING = "warning"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for ``CLEAR`` up to 5 for ``CRITICAL``."""
        return _RANK[self]

    @property
    def is_recovery(self) -> bool:
        """True for ``CLEAR``."""
        return self is AlertSeverity.CLEAR

    @classmethod
    def parse(cls, value: object) -> AlertSeverity:
        """The severity named ``value`` (a member, or its name in any case); ValueError when
        there is none."""
        if type(value) is cls:
            return value
        if isinstance(value, str):
            found = _BY_NAME.get(value) or _BY_NAME.get(value.strip().casefold())
            if found is not None:
                return found
        raise ValueError(f"unknown alert severity {value!r}")

    def __lt__(self, other: object) -> bool:
        if type(other) is not AlertSeverity:
            return NotImplemented
        return _RANK[self] < _RANK[other]

    def __le__(self, other: object) -> bool:
        if type(other) is not AlertSeverity:
            return NotImplemented
        return _RANK[self] <= _RANK[other]

    def __gt__(self, other: object) -> bool:
        if type(other) is not AlertSeverity:
            return NotImplemented
        return _RANK[self] > _RANK[other]

    def __ge__(self, other: object) -> bool:
        if type(other) is not AlertSeverity:
            return NotImplemented
        return _RANK[self] >= _RANK[other]


_RANK: dict[AlertSeverity, int] = {member: rank for rank, member in enumerate(AlertSeverity)}
_BY_NAME: dict[str, AlertSeverity] = {member.value: member for member in AlertSeverity}


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentAlertGroupOpened(IncidentEvent):
    """A monitoring alert opened this incident, which now holds its deduplication key.

    ``alert_at`` is when the monitoring source saw the condition; ``payload`` the alert's
    payload as canonical JSON text (keys sorted), or None.
    """

    name: ClassVar[str] = "incident.alert_group_opened"
    source: str
    dedup_key: str
    severity: AlertSeverity
    summary: str
    alert_at: datetime
    payload: str | None = None

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["alert_key"] = (None, self.dedup_key)
        result["alert_severity"] = (None, self.severity)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentAlertSeverityRaised(IncidentEvent):
    """An alert of the incident's key came in at a higher severity than any before."""

    name: ClassVar[str] = "incident.alert_severity_raised"
    dedup_key: str
    severity: AlertSeverity
    previous_severity: AlertSeverity
    alert_at: datetime

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["alert_severity"] = (self.previous_severity, self.severity)
        return result


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentAlertRecovered(IncidentEvent):
    """The monitoring source reported the condition of the incident's key gone (a recovery
    alert). Whether the incident is resolved too is the alert policy's decision, recorded by
    the resolution event that follows; an incident left open keeps the key, and a later
    alert of the key folds into it again."""

    name: ClassVar[str] = "incident.alert_recovered"
    dedup_key: str
    alert_at: datetime
    #: how many alerts of the key the incident absorbed, recovery included
    alert_count: int


@attrs.frozen(kw_only=True, weakref_slot=False)
class IncidentAlertGroupReleased(IncidentEvent):
    """The incident no longer holds its alert key, because the key's next alert opened another
    incident: this one was resolved meanwhile, or the key stayed quiet for longer than the alert
    policy's grouping window (``reason`` says which). So at most one incident that can still
    change holds a key."""

    name: ClassVar[str] = "incident.alert_group_released"
    dedup_key: str
    reason: str
    alert_count: int

    def changes(self) -> dict[str, tuple[Any, Any]]:
        result = super().changes()
        result["alert_key"] = (self.dedup_key, None)
        return result


def alert_key_of(incident: Incident) -> str | None:
    """The deduplication key ``incident`` holds now (see :attr:`Incident.alert_key`)."""
    for event in reversed(incident.timeline()):
        if isinstance(event, IncidentAlertGroupOpened):
            return event.dedup_key
        if isinstance(event, IncidentAlertGroupReleased):
            return None
    return None
