"""Reports people look at: a text report and a self-contained HTML report.

:func:`build_report` computes, once, what both reports show, from the KPI engine
(:func:`~itil_incident.reporting.kpi_report`) and the recurring-incident analysis
(:func:`~itil_incident.reporting.find_recurring`), and returns an :class:`IncidentReport`:

- *Summary*: incidents, mean time to acknowledge and to resolve, first-contact, reopen and
  escalation rates, major incidents, backlog.
- *Volumes over time*: incidents logged per period (``bucket``: day, ISO week or month, in
  ``time_zone``).
- *Time to resolve by priority*: mean, median and p90 of the time to first resolution, in
  hours, per priority level (wall time; on ``calendar`` business time as well when given).
- *SLA compliance trend*: per period, the share of final customer SLA clocks met, response and
  resolution (needs ``sla``).
- *Backlog age*: the open incidents at the report's instant by age bucket.
- *Top categories and services*: the ``top`` largest volumes.
- *Recurring incidents*: the groups :func:`~itil_incident.reporting.find_recurring` finds.

:meth:`IncidentReport.to_text` needs nothing more than the library; :meth:`~IncidentReport.to_html`
draws the charts with matplotlib (the ``reports`` extra; without it,
:class:`~itil_incident.reporting.MissingExtraError`) as inline SVG: one file, no script, no
external resource, readable offline. Every chart has its numbers in a table next to it.

>>> from itil_incident import Actor
>>> from itil_incident.testing import make_desk
>>> desk = make_desk()
>>> incident = desk.log_incident(actor=Actor("alice"), title="Printer jams")
>>> report = build_report(desk.list_incidents(), title="Weekly report")
>>> print(report.to_text().splitlines()[0])
Weekly report
>>> "<svg" in report.to_html()
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ValidationError
from itil_incident.policies.sla import SlaCalendar, SlaPolicy
from itil_incident.reporting import _arguments as check
from itil_incident.reporting import facts as _facts
from itil_incident.reporting._results import Key, KpiReport, Stat
from itil_incident.reporting.kpis import kpi_report
from itil_incident.reporting.recurring import RecurringReport, find_recurring
from itil_incident.reporting.rendering import Chart

__all__ = ["IncidentReport", "build_report"]

_METRICS = ("response", "resolution")
_PLURAL = {"category": "categories", "service": "services"}


def hours(seconds: float | None) -> str:
    """A duration in seconds as hours with two decimals ("-" for None)."""
    return "-" if seconds is None else f"{seconds / 3600:.2f}"


def percent(rate: float | None) -> str:
    """A rate (0-1) as a percentage with one decimal ("-" for None)."""
    return "-" if rate is None else f"{100 * rate:.1f} %"


def _percent_of(counts: tuple[int, int, float | None] | None) -> float | None:
    return None if counts is None or counts[2] is None else 100 * counts[2]


def label(key: Key) -> str:
    """A group key value as text: ``(none)`` for None."""
    return "(none)" if key is None else str(key)


@attrs.frozen
class IncidentReport:
    """What the text and HTML reports show (see the module documentation).

    ``kpis`` is the KPI report of the whole cohort (volumes, backlog), grouped by period
    (``bucket``); ``by_priority`` groups it by priority; ``recurring`` holds the recurring
    groups of the cohort.
    """

    title: str
    kpis: KpiReport
    by_priority: KpiReport
    recurring: RecurringReport
    top: int
    has_sla: bool

    # -- the figures behind each section ---------------------------------------------------

    def volumes_over_time(self) -> list[tuple[str, int]]:
        """Incidents logged per period, oldest period first."""
        return sorted((str(key), count) for key, count in self.kpis.volumes.counts["period"])

    def time_to_resolve(self) -> list[tuple[int, Stat]]:
        """Per priority level: its time-to-resolve :class:`~itil_incident.reporting.Stat`."""
        return [(int(group.key[0]) if group.key[0] is not None else 0,
                 group.figures.time_to_resolve) for group in self.by_priority.groups]

    def sla_trend(self) -> list[tuple[str, dict[str, tuple[int, int, float | None]]]]:
        """Per period, per metric: clocks met, breached and the compliance rate."""
        trend = []
        for group in self.kpis.groups:
            metrics = {item.metric: (item.met, item.breached, item.rate)
                       for item in group.figures.sla if item.priority is None}
            trend.append((str(group.key[-1]), metrics))
        return trend

    def top_volumes(self, dimension: str) -> list[tuple[str, int]]:
        """The ``top`` largest volumes of ``dimension`` (``category`` or ``service``)."""
        return [(label(key), count)
                for key, count in self.kpis.volumes.counts[dimension][:self.top]]

    # -- charts ----------------------------------------------------------------------------

    def charts(self) -> dict[str, Chart]:
        """The charts of the HTML report by section id (sections without data have none)."""
        charts: dict[str, Chart] = {}
        bucket = self.kpis.bucket or "month"
        volumes = self.volumes_over_time()
        if volumes:
            charts["volumes"] = Chart(
                title=f"Incidents logged per {bucket}",
                x_label=f"{bucket.capitalize()} ({self.kpis.time_zone})",
                y_label="Incidents logged (count)",
                categories=tuple(period for period, _ in volumes),
                series=(("logged", tuple(float(count) for _, count in volumes)),))
        resolve = self.time_to_resolve()
        if any(stat.n for _, stat in resolve):
            charts["mttr"] = Chart(
                title="Time to resolve by priority", x_label="Priority level",
                y_label="Time to resolve (hours)",
                categories=tuple(f"P{level}" for level, _ in resolve),
                series=tuple((name, tuple(None if getattr(stat, name) is None
                                          else getattr(stat, name) / 3600
                                          for _, stat in resolve))
                             for name in ("mean", "median", "p90")))
        trend = self.sla_trend()
        if self.has_sla and any(m for _, m in trend):
            charts["sla"] = Chart(
                title="SLA compliance per " + bucket, kind="line", percent=True,
                x_label=f"{bucket.capitalize()} of logging ({self.kpis.time_zone})",
                y_label="Clocks met (% of final clocks)",
                categories=tuple(period for period, _ in trend),
                series=tuple((metric, tuple(_percent_of(metrics.get(metric))
                                            for _, metrics in trend))
                             for metric in _METRICS))
        ages = self.kpis.backlog.total.ages
        if self.kpis.backlog.total.total:
            charts["backlog"] = Chart(
                title=f"Backlog age at {self.kpis.at.isoformat(timespec='minutes')}",
                x_label="Age since logging", y_label="Open incidents (count)",
                categories=tuple(bucket_.label for bucket_ in ages),
                series=(("open", tuple(float(b.count) for b in ages)),))
        for dimension in ("category", "service"):
            top = self.top_volumes(dimension)
            if top:
                charts[dimension] = Chart(
                    title=f"Top {len(top)} {_PLURAL[dimension]} by incidents logged",
                    kind="hbar",
                    x_label=dimension.capitalize(), y_label="Incidents logged (count)",
                    categories=tuple(name for name, _ in top),
                    series=(("incidents", tuple(float(count) for _, count in top)),))
        return charts

    # -- output ----------------------------------------------------------------------------

    def summary(self) -> list[tuple[str, str]]:
        """The summary figures as (name, formatted value) pairs."""
        total = self.kpis.total
        return [
            ("Incidents", str(total.incidents)),
            ("Excluded (outside the period)", str(self.kpis.excluded)),
            ("Mean time to acknowledge (hours)", hours(total.time_to_acknowledge.mean)),
            ("Mean time to resolve (hours)", hours(total.time_to_resolve.mean)),
            ("Median time to resolve (hours)", hours(total.time_to_resolve.median)),
            ("Resolved incidents", str(total.time_to_resolve.n)),
            ("First-contact resolution", percent(total.first_contact_resolution.rate)),
            ("Reopen rate", percent(total.reopen.rate)),
            ("Escalation rate", percent(total.escalation.rate)),
            ("Major incidents", str(total.major_incidents)),
            ("Backlog (open incidents)", str(self.kpis.backlog.total.total)),
            ("Recurring groups", str(len(self.recurring.groups))),
        ]

    def to_text(self) -> str:
        """The plain-text report."""
        from itil_incident.reporting._text import render_text

        return render_text(self)

    def to_html(self) -> str:
        """The self-contained HTML report (needs the ``reports`` extra for its charts)."""
        from itil_incident.reporting._html import render_html

        return render_html(self)

    def write_html(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_html` to ``path`` (UTF-8)."""
        Path(path).write_text(self.to_html(), encoding="utf-8")

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "kpis": self.kpis.to_dict(),
                "by_priority": self.by_priority.to_dict(),
                "recurring": self.recurring.to_dict()}

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def build_report(
    incidents: Iterable[Incident | Sequence[object]],
    *,
    title: str = "Incident report",
    at: datetime | None = None,
    period: tuple[datetime, datetime] | None = None,
    bucket: str = "month",
    time_zone: str = "UTC",
    sla: SlaPolicy | None = None,
    calendar: SlaCalendar | None = None,
    workflow: Workflow | None = None,
    top: int = 10,
    recurring_min_count: int = 3,
    recurring_window: timedelta = timedelta(days=7),
    known_problems: Iterable[Problem] = (),
) -> IncidentReport:
    """Compute the report of ``incidents`` (``Incident`` objects or event histories).

    ``at``, ``period`` (on logging), ``bucket``, ``time_zone``, ``sla``, ``calendar`` and
    ``workflow`` are those of :func:`~itil_incident.reporting.kpi_report`; ``top`` bounds the
    category and service lists; the recurring groups use the default keys with
    ``recurring_min_count`` and ``recurring_window``, over the incidents of the period, with
    ``known_problems``. Bad arguments raise :class:`~itil_incident.ValidationError`.
    """
    if not isinstance(title, str) or not title.strip():
        raise ValidationError("title must be a non-blank string", field="title")
    if type(top) is not int or top < 1:
        raise ValidationError(f"top must be an int >= 1, got {top!r}", field="top")
    if isinstance(incidents, (str, bytes)) or not isinstance(incidents, Iterable):
        raise ValidationError("incidents must be an iterable of incidents or histories",
                              field="incidents")
    items = list(incidents)
    chosen = _facts.check_workflow(workflow)
    when = check.instant(at, "at")
    facts = check.gather(items, chosen, when, _facts.check_fcr_window(_facts.DEFAULT_FCR_WINDOW),
                         _facts.check_sla(sla))
    options: dict[str, Any] = {"at": at, "period": period, "bucket": bucket,
                               "time_zone": time_zone, "calendar": calendar, "sla": sla}
    kpis = kpi_report(facts, **options)  # grouped by period: the trend
    by_priority = kpi_report(facts, group_by=["priority"], **{**options, "bucket": None})
    cohort = _cohort(items, facts, kpis)
    recurring = find_recurring(cohort, min_count=recurring_min_count, window=recurring_window,
                               known_problems=known_problems, workflow=chosen)
    return IncidentReport(title, kpis, by_priority, recurring, top, sla is not None)


def _cohort(items: list[Any], facts: list[Any], kpis: KpiReport) -> list[Any]:
    """The incidents whose facts are in the report's cohort (logged in the period)."""
    low, high = ((kpis.period[0].timestamp(), kpis.period[1].timestamp())
                 if kpis.period is not None else (float("-inf"), float("inf")))
    limit = kpis.at.timestamp()
    return [item for item, fact in zip(items, facts, strict=True)
            if low <= fact.logged < high and fact.logged <= limit]
