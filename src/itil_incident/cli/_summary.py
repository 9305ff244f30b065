"""The summary of a desk, computed from what the repository holds (not from counters kept by
whoever filled it): volumes, SLA results, escalations, reopens, time to resolve, satisfaction,
major incidents, and the monitoring alerts of the desk's alert store.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from statistics import fmean
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from itil_incident.cli._render import duration, table_with
from itil_incident.desk import ServiceDesk
from itil_incident.domain.events import IncidentEscalated, IncidentPriorityOverridden
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import SYSTEM

__all__ = ["summarize", "summary_view"]


def summarize(desk: ServiceDesk) -> dict[str, Any]:
    """Counts and means over every incident and problem, SLA clocks as of the desk's now."""
    incidents = desk.list_incidents()
    problems = desk.list_problems()
    workflow = desk.policies.incident_workflow
    by_status = Counter(incident.status for incident in incidents)
    sla: dict[str, Counter[str]] = {}
    for incident in incidents:
        for clock in desk.sla_status(incident.id):
            if clock.group is None:
                sla.setdefault(clock.metric.value, Counter())[clock.status.value] += 1
    events = [event for incident in incidents for event in incident.timeline()]
    escalations = [e for e in events if isinstance(e, IncidentEscalated)]
    resolve_times = [incident.resolved_at - incident.logged_at for incident in incidents
                     if incident.resolved_at is not None]
    scores = [incident.satisfaction.score for incident in incidents
              if incident.satisfaction is not None]
    return {
        "at": desk.clock.now().isoformat(),
        "incidents": len(incidents),
        "by_status": {name: by_status[name] for name in workflow.states if by_status[name]},
        "by_priority": dict(sorted(Counter(str(i.priority.level) for i in incidents).items())),
        "priority_labels": {str(level.level): level.label
                            for level in desk.policies.priority_matrix.priorities},
        "by_channel": dict(Counter(i.channel.value for i in incidents).most_common()),
        "sla": {metric: dict(sorted(counts.items())) for metric, counts in sorted(sla.items())},
        "escalations": {
            "functional": sum(1 for e in escalations if e.kind.value == "functional"),
            "hierarchical": sum(1 for e in escalations if e.kind.value == "hierarchical"),
            "by_rules": sum(1 for e in escalations if e.actor == SYSTEM),
        },
        "priority_raises": sum(1 for e in events if isinstance(e, IncidentPriorityOverridden)
                               and e.actor == SYSTEM),
        "reopened_incidents": sum(1 for i in incidents if i.reopen_count),
        "reopens": sum(i.reopen_count for i in incidents),
        "mean_time_to_resolve_seconds": (
            round(fmean(t.total_seconds() for t in resolve_times)) if resolve_times else None),
        "resolved_count": len(resolve_times),
        "mean_satisfaction": round(fmean(scores), 2) if scores else None,
        "satisfaction_count": len(scores),
        "problems": len(problems),
        "problems_by_status": dict(sorted(Counter(p.status for p in problems).items())),
        "known_errors": sum(1 for p in problems if p.known_error),
        **_major_and_alerts(desk, incidents),
    }


def _major_and_alerts(desk: ServiceDesk, incidents: list[Incident]) -> dict[str, Any]:
    """Major incidents (by major status, their status updates and review actions) and
    monitoring alerts (by outcome, and the alert groups)."""
    majors = [incident for incident in incidents if incident.major_status is not None]
    actions = [action for incident in majors for action in incident.review_actions]
    statistics = desk.alert_statistics()
    groups = desk.alert_groups()
    return {
        "major_incidents": dict(sorted(Counter(str(i.major_status) for i in majors).items())),
        "major_incident_ids": [i.id for i in majors if i.is_major],
        "status_updates": sum(i.status_update_count for i in majors),
        "reviews": sum(1 for i in majors if i.review is not None),
        "review_actions": {"done": sum(1 for a in actions if a.is_done),
                           "open": sum(1 for a in actions if not a.is_done)},
        "alerts": {"total": statistics.total,
                   "by_outcome": {kind.value: count
                                  for kind, count in statistics.by_outcome.items() if count},
                   "groups": len(groups),
                   "flapping_keys": sum(1 for group in groups if group.flapping)},
    }


def _counts(title: str, counts: dict[str, int]) -> Table:
    table = table_with(title)
    table.show_header = False
    table.min_width = len(title) + 2
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    return table


def summary_view(summary: dict[str, Any]) -> RenderableType:
    """The summary as tables and lines."""
    grid = Table.grid(padding=(0, 3))
    labels = summary["priority_labels"]
    sla_table = table_with("SLA clocks at the end")
    sla_table.add_column("Metric")
    statuses = sorted({status for counts in summary["sla"].values() for status in counts})
    for status in statuses:
        sla_table.add_column(status, justify="right")
    for metric, counts in summary["sla"].items():
        sla_table.add_row(metric, *(str(counts.get(status, 0)) for status in statuses))
    grid.add_row(_counts("By status", summary["by_status"]),
                 _counts("By priority", {f"{level} {labels.get(level, '')}".strip(): count
                                         for level, count in summary["by_priority"].items()}),
                 _counts("By channel", summary["by_channel"]))
    mttr = summary["mean_time_to_resolve_seconds"]
    escalations = summary["escalations"]
    lines = Text.assemble(
        (f"{summary['incidents']} incidents", "bold"), ", ",
        (f"{summary['problems']} problems", "bold"),
        f" ({', '.join(f'{k} {v}' for k, v in summary['problems_by_status'].items())}; "
        f"{summary['known_errors']} known errors)\n",
        f"Escalations: {escalations['functional']} functional, {escalations['hierarchical']} "
        f"hierarchical ({escalations['by_rules']} by escalation rules); "
        f"{summary['priority_raises']} priority raises by rules\n",
        f"Reopened: {summary['reopened_incidents']} incidents ({summary['reopens']} reopens)\n",
        "Mean time to resolve (wall clock): ",
        ("-" if mttr is None else duration(timedelta(seconds=mttr)), "bold"),
        f" over {summary['resolved_count']} resolved incidents\n",
        "Mean satisfaction: ",
        ("-" if summary["mean_satisfaction"] is None
         else f"{summary['mean_satisfaction']:.2f} / 5", "bold"),
        f" from {summary['satisfaction_count']} ratings",
        *_more_lines(summary),
    )
    return Group(grid, sla_table, lines)


def _more_lines(summary: dict[str, Any]) -> list[str | tuple[str, str]]:
    """Major incidents, monitoring alerts and recurring incidents, when the summary has
    them."""
    lines: list[str | tuple[str, str]] = []
    majors = summary.get("major_incidents")
    if majors:
        actions = summary["review_actions"]
        ids = ", ".join(summary["major_incident_ids"])
        lines += ["\nMajor incidents: ",
                  (", ".join(f"{count} {status}" for status, count in majors.items()), "bold"),
                  f"{f' ({ids})' if ids else ''}; {summary['status_updates']} status updates, "
                  f"{summary['reviews']} post-incident review(s), review actions "
                  f"{actions['done']} done / {actions['open']} open"]
    alerts = summary.get("alerts")
    if alerts and alerts["total"]:
        outcomes = ", ".join(f"{count} {kind}" for kind, count in alerts["by_outcome"].items())
        lines += ["\nMonitoring alerts: ", (f"{alerts['total']}", "bold"),
                  f" on {alerts['groups']} key(s) ({outcomes}); "
                  f"{alerts['flapping_keys']} key(s) flapping, held"]
    recurring = summary.get("recurring_problems")
    if recurring:
        lines += ["\nRecurring incidents: ", (f"{len(recurring)} problem(s)", "bold"),
                  f" raised by the daily review ({', '.join(recurring)})"]
    return lines
