"""Reporting: incident KPIs computed from event histories.

:func:`kpi_report` is the entry point: give it incidents (a repository query), event histories
(an import) or :class:`IncidentFacts` (computed once with :func:`incident_facts`, reused by
many reports) and it returns a :class:`KpiReport` that converts to dicts, CSV and JSON.
:mod:`itil_incident.reporting.kpis` defines every figure; :mod:`itil_incident.reporting.facts`
defines what is read from each history.

>>> from itil_incident import Actor
>>> from itil_incident.testing import make_desk
>>> desk = make_desk()
>>> agent = Actor("alice")
>>> incident = desk.log_incident(actor=agent, title="Printer jams")
>>> _ = desk.resolve(incident.id, actor=agent, code="solved_permanently", notes="Cleared")
>>> report = kpi_report(desk.list_incidents())
>>> report.total.incidents, report.total.first_contact_resolution.rate
(1, 1.0)
"""

from itil_incident.reporting._results import (
    AgeBucket,
    Backlog,
    BacklogFigures,
    BacklogGroup,
    Key,
    KpiFigures,
    KpiGroup,
    KpiReport,
    Rate,
    SlaCompliance,
    Stat,
    Volumes,
)
from itil_incident.reporting.facts import (
    DEFAULT_FCR_WINDOW,
    IncidentFacts,
    SlaOutcome,
    incident_facts,
)
from itil_incident.reporting.kpis import (
    ANCHORS,
    BUCKETS,
    DEFAULT_AGE_BUCKETS,
    DIMENSIONS,
    GroupBy,
    KeyFunction,
    backlog,
    kpi_figures,
    kpi_report,
)

# Recurring incidents, reports and what-if simulation of SLA policies.
from itil_incident.reporting.recurring import (
    RECURRING_KEYS,
    ProblemProposal,
    RecurringGroup,
    RecurringIncident,
    RecurringReport,
    find_recurring,
    title_words,
)
from itil_incident.reporting.rendering import (
    CHART_KINDS,
    Chart,
    MissingExtraError,
    render_chart,
)
from itil_incident.reporting.reports import IncidentReport, build_report
from itil_incident.reporting.whatif import (
    ORIGINAL,
    ClockCounts,
    WhatIfCell,
    WhatIfReport,
    adjusted_policy,
    what_if,
)

__all__ = [
    "ANCHORS",
    "BUCKETS",
    "DEFAULT_AGE_BUCKETS",
    "DEFAULT_FCR_WINDOW",
    "DIMENSIONS",
    "AgeBucket",
    "Backlog",
    "BacklogFigures",
    "BacklogGroup",
    "GroupBy",
    "IncidentFacts",
    "Key",
    "KeyFunction",
    "KpiFigures",
    "KpiGroup",
    "KpiReport",
    "Rate",
    "SlaCompliance",
    "SlaOutcome",
    "Stat",
    "Volumes",
    "backlog",
    "incident_facts",
    "kpi_figures",
    "kpi_report",
    # Recurring incidents, reports and what-if simulation of SLA policies.
    "RECURRING_KEYS",
    "ProblemProposal",
    "RecurringGroup",
    "RecurringIncident",
    "RecurringReport",
    "find_recurring",
    "title_words",
    "ORIGINAL",
    "ClockCounts",
    "WhatIfCell",
    "WhatIfReport",
    "what_if",
    "adjusted_policy",
    "CHART_KINDS",
    "Chart",
    "IncidentReport",
    "MissingExtraError",
    "build_report",
    "render_chart",
]
