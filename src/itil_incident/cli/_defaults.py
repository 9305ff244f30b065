"""The configuration the command line runs with, in one place.

The policies come from a configuration file: the one named by ``--config`` /
``ITIL_INCIDENT_CONFIG``, else the file shipped with the package
(:func:`itil_incident.config.default_config`: ITIL workflows, matrix, categories and routing,
Gold and Silver SLAs on Paris office hours, escalation rules, auto-close and reminders).

Major-incident management is on in the command line: a configuration without a major-incident
policy (the configuration file has no section for one) runs with :data:`MAJOR_POLICY`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import attrs

from itil_incident.config import default_config
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.major import ClusterRule, MajorIncidentPolicy

__all__ = ["MAJOR_POLICY", "OFFICE", "cli_policies", "default_policies"]

#: Office hours of the desk: 09:00-17:00 in Paris, Monday to Friday, lunch 12:00-13:00.
OFFICE: Final[BusinessCalendar] = default_config().calendars["office"]


def default_policies() -> DeskPolicies:
    """The policies of the shipped configuration (the same object every call)."""
    return default_config().policies


#: The command line's major-incident policy: priority 1 incidents, and five or more open
#: incidents on one service or configuration item within 30 minutes, are proposed as major;
#: an ``incident_manager`` (``--role incident_manager``) accepts or rejects; status updates
#: every 30 minutes at priority 1 and every hour at priority 2; a post-incident review
#: before closure.
MAJOR_POLICY: Final = MajorIncidentPolicy(
    priorities={1}, cluster=ClusterRule(threshold=5, window=timedelta(minutes=30)))


def cli_policies(policies: DeskPolicies) -> DeskPolicies:
    """``policies`` with major-incident management on: their own major-incident policy, else
    :data:`MAJOR_POLICY`."""
    if policies.major is not None:
        return policies
    return attrs.evolve(policies, major=MAJOR_POLICY)
