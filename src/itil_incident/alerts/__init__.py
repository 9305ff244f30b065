"""Monitoring alerts: values, policy, the alert-group store port and its in-memory store.

The service desk's :meth:`~itil_incident.ServiceDesk.ingest_alert` turns alerts into incidents
with these; the names are also exported from :mod:`itil_incident`.
"""

from __future__ import annotations

from itil_incident.alerts._policy import MONITORING, AlertPolicy
from itil_incident.alerts._store import (
    AlertGroup,
    AlertStatistics,
    AlertStore,
    InMemoryAlertStore,
)
from itil_incident.alerts._values import (
    Alert,
    AlertInput,
    AlertOutcome,
    AlertOutcomeKind,
    AlertRefusal,
    AlertRejectedError,
)
from itil_incident.domain.alert_events import AlertSeverity

__all__ = [
    "MONITORING",
    "Alert",
    "AlertGroup",
    "AlertInput",
    "AlertOutcome",
    "AlertOutcomeKind",
    "AlertPolicy",
    "AlertRefusal",
    "AlertRejectedError",
    "AlertSeverity",
    "AlertStatistics",
    "AlertStore",
    "InMemoryAlertStore",
]
