"""What the commands print for people: rich tables, colour on a terminal, plain text in a pipe.

Instants show in the machine's local time zone (``--json`` gives them in UTC).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from itil_incident._due_report import DueReport
from itil_incident.domain.events import DomainEvent, IncidentLogged
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.problem_events import KnownError, ProblemOpened
from itil_incident.domain.values import Actor, Priority, Satisfaction
from itil_incident.policies.sla_clock import ClockState, ClockStatus

__all__ = [
    "clock_table",
    "console",
    "duration",
    "incident_table",
    "incident_view",
    "problem_table",
    "problem_view",
    "report_view",
    "sla_table",
    "table_with",
    "when",
]

_PRIORITY_STYLE = {1: "bold red", 2: "red", 3: "yellow", 4: "", 5: "dim"}
_STATUS_STYLE = {"new": "cyan", "assigned": "blue", "in_progress": "magenta",
                 "on_hold": "yellow", "resolved": "green", "closed": "dim green",
                 "cancelled": "dim", "under_investigation": "magenta",
                 "known_error": "yellow"}
_CLOCK_STYLE = {ClockStatus.BREACHED: "bold red", ClockStatus.RUNNING: "",
                ClockStatus.PAUSED: "yellow", ClockStatus.MET: "green",
                ClockStatus.CANCELLED: "dim", ClockStatus.NOT_STARTED: "dim"}
#: The width of tables written to a file or a pipe, when COLUMNS does not say.
_PIPE_WIDTH = 120


def console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr): colour on a terminal, none in a pipe or with NO_COLOR,
    120 columns when not on a terminal (unless COLUMNS says otherwise)."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    width = None if terminal or "COLUMNS" in os.environ else _PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def when(instant: datetime | None) -> str:
    """An instant in local time, to the minute ("-" for none)."""
    return "-" if instant is None else instant.astimezone().strftime("%Y-%m-%d %H:%M")


def duration(span: timedelta) -> str:
    """A duration in days, hours and minutes: ``1d 3h 05m``; negative: ``-2h 10m``."""
    sign = "-" if span < timedelta(0) else ""
    minutes = int(abs(span).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{sign}{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m"


def priority_text(priority: Priority) -> Text:
    return Text(f"{priority.level} {priority.label}".strip(),
                style=_PRIORITY_STYLE.get(priority.level, ""))


def status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def table_with(title: str) -> Table:
    """A table in the command line's style."""
    return Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                 show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))


def _text(value: object) -> str:
    """A field value as people read it."""
    if isinstance(value, Satisfaction):
        return f"{value.score}/5" + (f" ({value.comment})" if value.comment else "")
    if isinstance(value, (tuple, list)):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, Actor):
        return value.id
    if isinstance(value, KnownError):
        return f"symptoms: {value.symptoms}"
    return str(value)


def _short(value: object, width: int = 48) -> str:
    text = _text(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def incident_table(incidents: Sequence[Incident], width: int = 120) -> Table:
    """One row per incident: id, priority, status, title, group; from 110 columns on also
    category, assignee and when it was logged."""
    wide = width >= 110
    table = table_with(f"{len(incidents)} incident(s)")
    table.add_column("ID", no_wrap=True, style="bold")
    table.add_column("Priority", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Title", min_width=16)
    if wide:
        table.add_column("Category")
    table.add_column("Group")
    if wide:
        table.add_column("Assignee")
        table.add_column("Logged", no_wrap=True)
    for incident in incidents:
        cells: list[str | Text] = [incident.id, priority_text(incident.priority),
                                   status_text(incident.status), incident.title]
        if wide:
            cells.append(str(incident.category or "-"))
        cells.append(incident.assignment_group or "-")
        if wide:
            cells += [incident.assignee or "-", when(incident.logged_at)]
        table.add_row(*cells)
    return table


def _fields(rows: Iterable[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        if value not in (None, "", ()):
            grid.add_row(label, value if isinstance(value, Text) else str(value))
    return grid


def clock_table(clocks: Sequence[ClockState]) -> Table:
    """The incident's SLA and OLA clocks."""
    table = table_with("SLA clocks")
    for name in ("Clock", "Agreement", "Status", "Target", "Elapsed", "Remaining", "Used",
                 "Due"):
        table.add_column(name, no_wrap=name not in ("Agreement",))
    for clock in clocks:
        agreement = clock.agreement if clock.group is None else f"{clock.agreement} (OLA)"
        table.add_row(clock.metric.value, agreement,
                      Text(clock.status.value, style=_CLOCK_STYLE.get(clock.status, "")),
                      duration(clock.target), duration(clock.business_elapsed),
                      duration(clock.remaining), f"{clock.percent_used:.0f} %",
                      when(clock.due_at))
    return table


def describe(event: DomainEvent) -> str:
    """What an event changed, in one line (for a new record: how it came in)."""
    if isinstance(event, IncidentLogged):
        return (f"via {event.channel.value}, priority {event.priority}, "
                f"{event.category or 'no category'} -> {event.assignment_group or 'no group'}")
    if isinstance(event, ProblemOpened):
        return f"priority {event.priority}" + (
            f", from {', '.join(event.incident_ids)}" if event.incident_ids else "")
    parts = []
    for field, (before, after) in event.changes().items():
        if field == "status":
            continue
        if before is None:
            parts.append(f"{field}={_short(after)}")
        else:
            parts.append(f"{field}: {_short(before, 24)} -> {_short(after, 24)}")
    return "; ".join(parts)


def timeline_table(events: Sequence[DomainEvent]) -> Table:
    """The events of a record, oldest first."""
    table = table_with("Timeline")
    table.add_column("When", no_wrap=True)
    table.add_column("v", justify="right")
    table.add_column("Event", no_wrap=True)
    table.add_column("By", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Changes", overflow="fold")
    for event in events:
        moved = (event.to_status if event.from_status == event.to_status
                 else f"{event.from_status} -> {event.to_status}")
        table.add_row(when(event.at), str(event.version), event.name, event.actor.id, moved,
                      describe(event))
    return table


def incident_view(incident: Incident, clocks: Sequence[ClockState],
                  events: Sequence[DomainEvent],
                  extras: Sequence[RenderableType] = ()) -> RenderableType:
    """An incident: its fields, the ``extras`` blocks (major incident, alert group, ...),
    its SLA clocks and its timeline."""
    satisfaction = incident.satisfaction
    fields = _fields([
        ("Incident", Text(f"{incident.id}  {incident.title}", style="bold")),
        ("Status", status_text(incident.status)),
        ("Priority", priority_text(incident.priority)),
        ("Impact / urgency", f"{incident.impact} / {incident.urgency}"
         + ("  (priority overridden)" if incident.priority_overridden else "")),
        ("Category", incident.category),
        ("Service", incident.service),
        ("Configuration items", ", ".join(incident.configuration_items)),
        ("Caller", incident.caller),
        ("Channel", incident.channel.value),
        ("Group", None if incident.assignment_group is None else
         f"{incident.assignment_group} (tier {incident.support_tier or '-'})"),
        ("Assignee", incident.assignee),
        ("Hold reason", incident.hold_reason),
        ("Logged", f"{when(incident.logged_at)} by {incident.logged_by.id}"),
        ("Resolved", None if incident.resolved_at is None else
         f"{when(incident.resolved_at)}: {incident.resolution_code}: "
         f"{incident.resolution_notes}"),
        ("Closed", None if incident.closed_at is None else when(incident.closed_at)),
        ("Satisfaction", None if satisfaction is None else
         f"{satisfaction.score}/5" + (f" ({satisfaction.comment})"
                                      if satisfaction.comment else "")),
        ("Problem", incident.problem_id),
        ("Parent", incident.parent_id),
        ("Children", ", ".join(incident.child_ids)),
        ("Description", incident.description),
        ("Counters", f"reopened {incident.reopen_count}, reassigned "
         f"{incident.reassignment_count}, escalated {incident.functional_escalations} "
         f"functional / {incident.hierarchical_escalations} hierarchical"),
        ("Next", ", ".join(incident.allowed_triggers()) or "nothing (final)"),
    ])
    parts: list[RenderableType] = [fields, *extras]
    if clocks:
        parts.append(clock_table(clocks))
    parts.append(timeline_table(events))
    return Group(*parts)


def sla_table(rows: Sequence[tuple[Incident, ClockState]]) -> Table:
    """Clocks of open incidents, the least time remaining first."""
    table = table_with(f"{len(rows)} clock(s), least time remaining first")
    table.add_column("Incident", no_wrap=True, style="bold")
    table.add_column("P", no_wrap=True)
    table.add_column("Title", ratio=1, min_width=20)
    for name in ("Clock", "Agreement", "Status", "Remaining", "Used", "Due"):
        table.add_column(name, no_wrap=True, justify="right" if name in (
            "Remaining", "Used") else "left")
    for incident, clock in rows:
        agreement = clock.agreement if clock.group is None else f"OLA {clock.group}"
        table.add_row(incident.id, Text(str(incident.priority.level),
                                        style=_PRIORITY_STYLE.get(incident.priority.level, "")),
                      incident.title, clock.metric.value, agreement,
                      Text(clock.status.value, style=_CLOCK_STYLE.get(clock.status, "")),
                      duration(clock.remaining), f"{clock.percent_used:.0f} %",
                      when(clock.due_at))
    return table


def problem_table(problems: Sequence[Problem]) -> Table:
    """One row per problem."""
    table = table_with(f"{len(problems)} problem(s)")
    table.add_column("ID", no_wrap=True, style="bold")
    table.add_column("Priority", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Title", ratio=3, min_width=20)
    table.add_column("Known error", no_wrap=True)
    table.add_column("Incidents", ratio=2, min_width=10)
    table.add_column("Opened", no_wrap=True)
    for problem in problems:
        table.add_row(problem.id, priority_text(problem.priority), status_text(problem.status),
                      problem.title, "yes" if problem.known_error else "no",
                      ", ".join(problem.incident_ids) or "-", when(problem.opened_at))
    return table


def problem_view(problem: Problem, events: Sequence[DomainEvent]) -> RenderableType:
    """A problem: its fields and its timeline."""
    fields = _fields([
        ("Problem", Text(f"{problem.id}  {problem.title}", style="bold")),
        ("Status", status_text(problem.status)),
        ("Priority", priority_text(problem.priority)),
        ("Category", problem.category),
        ("Service", problem.service),
        ("Configuration items", ", ".join(problem.configuration_items)),
        ("Group", problem.assignment_group),
        ("Assignee", problem.assignee),
        ("Incidents", ", ".join(problem.incident_ids)),
        ("Root cause", problem.root_cause),
        ("Workaround", problem.workaround),
        ("Known error", "yes" if problem.known_error else "no"),
        ("Resolution", problem.resolution),
        ("Changes", "; ".join(f"{link.change_id} {link.title}"
                              for link in problem.change_links)),
        ("Opened", f"{when(problem.opened_at)} by {problem.opened_by.id}"),
        ("Description", problem.description),
        ("Next", ", ".join(problem.allowed_triggers()) or "nothing (final)"),
    ])
    return Group(fields, timeline_table(events))


def report_view(report: DueReport) -> RenderableType:
    """What a ``process_due`` run did, in words."""
    lines = [Text(f"Processed at {when(report.at)}: {report.examined} incident(s) examined, "
                  f"{len(report.stages)} SLA stage(s) recorded, {len(report.escalations)} "
                  f"escalation(s), {len(report.priority_raises)} priority raise(s), "
                  f"{len(report.auto_closes)} auto-close(s), {len(report.reminders)} "
                  f"reminder(s), {len(report.skipped)} skipped.")]
    for stage in report.stages:
        clock = stage.metric if stage.group is None else f"{stage.metric} OLA {stage.group}"
        lines.append(Text(f"  {stage.incident_id}: {clock} clock reached "
                          f"{stage.fraction:.0%} ({stage.agreement})"))
    for escalation in report.escalations:
        event = escalation.event
        target = (event.assignment_group if event.kind.value == "functional"
                  else f"notified {event.notified_role}")
        lines.append(Text(f"  {escalation.incident_id}: escalated ({event.kind.value}, "
                          f"{target}) by rule {escalation.rule!r}", style="yellow"))
    for raised in report.priority_raises:
        lines.append(Text(f"  {raised.incident_id}: priority raised to "
                          f"{raised.event.priority} by rule {raised.rule!r}", style="yellow"))
    for closed in report.auto_closes:
        lines.append(Text(f"  {closed.incident_id}: closed automatically"))
    for reminder in report.reminders:
        lines.append(Text(f"  {reminder.incident_id}: reminder {reminder.number} "
                          f"({reminder.kind})"))
    for skipped in report.skipped:
        lines.append(Text(f"  {skipped.incident_id}: skipped: {skipped.reason}", style="red"))
    return Group(*lines)
