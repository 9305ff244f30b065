"""The configuration the command line runs with, in one place.

Everything here is plain library configuration (:class:`~itil_incident.DeskPolicies` and what
it holds): the ITIL defaults for workflows, priority matrix, categories and routing, plus an
SLA policy, escalation rules, auto-close and reminders. A configuration file will replace
:func:`default_policies` later; nothing else in the command line builds policies.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta
from typing import Final

from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.escalation import EscalationAction, EscalationRule
from itil_incident.policies.sla import (
    SlaAgreement,
    SlaMatchRule,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)

__all__ = [
    "GOLD_SERVICES",
    "OFFICE",
    "default_escalation_rules",
    "default_policies",
    "default_sla_policy",
]

#: Office hours of the desk: 09:00-17:00 in Paris, Monday to Friday, lunch 12:00-13:00.
OFFICE: Final = BusinessCalendar.office("Europe/Paris", lunch=(time(12), time(13)),
                                        name="Paris office hours")
#: The services covered by the Gold agreement; every other incident gets Silver.
GOLD_SERVICES: Final = ("ERP", "Email", "Remote Access", "Network")

_M, _H = timedelta(minutes=1), timedelta(hours=1)


def default_sla_policy() -> SlaPolicy:
    """Gold for the business-critical services, Silver for the rest; targets per priority
    (1 Critical .. 5 Planning) in business time on :data:`OFFICE`."""
    gold = SlaAgreement(name="Gold", calendar=OFFICE, targets={
        SlaMetric.RESPONSE: {1: 15 * _M, 2: 30 * _M, 3: 2 * _H, 4: 4 * _H, 5: 8 * _H},
        SlaMetric.RESOLUTION: {1: 4 * _H, 2: 8 * _H, 3: 21 * _H, 4: 35 * _H, 5: 70 * _H},
    })
    silver = SlaAgreement(name="Silver", calendar=OFFICE, targets={
        SlaMetric.RESPONSE: {1: 30 * _M, 2: 1 * _H, 3: 4 * _H, 4: 7 * _H, 5: 14 * _H},
        SlaMetric.RESOLUTION: {1: 7 * _H, 2: 14 * _H, 3: 35 * _H, 4: 70 * _H, 5: 140 * _H},
    })
    rules = tuple(SlaMatchRule(name=f"gold-{service.lower().replace(' ', '-')}",
                               agreement="Gold", service=service)
                  for service in GOLD_SERVICES)
    return SlaPolicy.single("Standard", SlaPolicyVersion(
        version=1, effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        agreements=(gold, silver), rules=rules, fallback="Silver"))


def default_escalation_rules() -> tuple[EscalationRule, ...]:
    """Nobody took a P1/P2 in time: tell the incident manager. A P1/P2 three quarters of the
    way to its resolution deadline: tell the group's manager. A resolution deadline missed:
    the next tier takes over. A low-priority incident nobody answered: one level up."""
    return (
        EscalationRule.acknowledgement_timeout(
            "P1/P2 not acknowledged", EscalationAction.hierarchical("incident_manager"),
            priorities=(1, 2)),
        EscalationRule(name="P1/P2 resolution at 75 %", action=EscalationAction.hierarchical(),
                       metric=SlaMetric.RESOLUTION, stage=0.75, priorities=frozenset({1, 2})),
        EscalationRule(name="resolution breached", action=EscalationAction.functional(),
                       metric=SlaMetric.RESOLUTION, stage=1.0),
        EscalationRule.acknowledgement_timeout(
            "low priority not answered", EscalationAction.raise_priority(),
            priorities=(4, 5)),
    )


@functools.cache
def default_policies() -> DeskPolicies:
    """The desk's policies: ITIL defaults, :func:`default_sla_policy`,
    :func:`default_escalation_rules`, resolved incidents auto-closed after 7 days, a reminder
    per day an incident waits on the caller."""
    return DeskPolicies(
        sla=default_sla_policy(),
        escalation_rules=default_escalation_rules(),
        auto_close_after=timedelta(days=7),
        hold_reminder_every=timedelta(days=1),
    )
