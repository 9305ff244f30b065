"""The configuration the command line runs with, in one place.

The policies come from a configuration file: the one named by ``--config`` /
``ITIL_INCIDENT_CONFIG``, else the file shipped with the package
(:func:`itil_incident.config.default_config`: ITIL workflows, matrix, categories and routing,
Gold and Silver SLAs on Paris office hours, escalation rules, auto-close and reminders, and
major-incident management on: its ``[major]`` section proposes priority 1 incidents and
clusters of five incidents within 30 minutes). The command line runs with the policies of the
file as they are: a file of your own without a ``[major]`` section runs without
major-incident management, as the library's default.
"""

from __future__ import annotations

from typing import Final

from itil_incident.config import default_config
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar

__all__ = ["OFFICE", "default_policies"]

#: Office hours of the desk: 09:00-17:00 in Paris, Monday to Friday, lunch 12:00-13:00.
OFFICE: Final[BusinessCalendar] = default_config().calendars["office"]


def default_policies() -> DeskPolicies:
    """The policies of the shipped configuration (the same object every call)."""
    return default_config().policies
