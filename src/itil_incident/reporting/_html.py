"""The HTML form of an :class:`~itil_incident.reporting.IncidentReport`: one self-contained
file (inline CSS and SVG charts; no script, no link, no external resource).

Each section is a ``<section id=...>`` with an ``<h2>``; a chart is a ``<figure>`` holding
the SVG and a ``<figcaption>``; the numbers behind it are in ``<table id="<section>-table">``.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from itil_incident.reporting.rendering import render_chart
from itil_incident.reporting.reports import hours, percent

if TYPE_CHECKING:
    from itil_incident.reporting.rendering import Chart
    from itil_incident.reporting.reports import IncidentReport

__all__ = ["SECTIONS", "render_html"]

#: Section ids and headings, in page order.
SECTIONS = (
    ("summary", "Summary"),
    ("volumes", "Volumes over time"),
    ("mttr", "Time to resolve by priority"),
    ("sla", "SLA compliance trend"),
    ("backlog", "Backlog age"),
    ("category", "Top categories"),
    ("service", "Top services"),
    ("recurring", "Recurring incidents"),
)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222;
       padding: 0 1rem; }
h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .3rem; }
section { margin: 2rem 0; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .9rem; color: #555; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .2rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f4f8; }
p.empty { color: #777; font-style: italic; }
"""


def _table(section: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return (f'<table id="{section}-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _figure(section: str, chart: Chart | None, caption: str) -> str:
    if chart is None:
        return '<p class="empty">No data.</p>'
    svg = render_chart(chart, "svg", id_prefix=f"{section}-")
    return (f'<figure id="{section}-figure" role="img" aria-label="{escape(chart.title)}">'
            f"{svg}<figcaption>{escape(caption)}</figcaption></figure>")


def render_html(report: IncidentReport) -> str:
    kpis = report.kpis
    charts = report.charts()
    bucket = kpis.bucket or "month"
    span = ("All incidents" if kpis.period is None
            else f"Incidents logged from {kpis.period[0].isoformat()} to "
                 f"{kpis.period[1].isoformat()}")
    body: dict[str, str] = {}
    body["summary"] = _table("summary", ["Figure", "Value"],
                             [[name, value] for name, value in report.summary()])
    volumes = report.volumes_over_time()
    body["volumes"] = _figure("volumes", charts.get("volumes"),
                              f"Incidents logged per {bucket} ({kpis.time_zone}).") + (
        _table("volumes", [bucket.capitalize(), "Incidents"],
               [[period, str(count)] for period, count in volumes]) if volumes else "")
    resolve = report.time_to_resolve()
    body["mttr"] = _figure("mttr", charts.get("mttr"),
                           "Wall time from logging to first resolution, in hours.") + (
        _table("mttr", ["Priority", "Resolved", "Unresolved", "Mean (h)", "Median (h)",
                        "P90 (h)"],
               [[f"P{level}", str(s.n), str(s.missing), hours(s.mean), hours(s.median),
                 hours(s.p90)] for level, s in resolve]) if resolve else "")
    if not report.has_sla:
        body["sla"] = '<p class="empty">No SLA policy given.</p>'
    else:
        rows = [[period, metric, str(met), str(breached), percent(rate)]
                for period, metrics in report.sla_trend()
                for metric, (met, breached, rate) in sorted(metrics.items())]
        body["sla"] = _figure("sla", charts.get("sla"),
                              "Share of final customer SLA clocks met, by period of logging."
                              ) + (_table("sla", [bucket.capitalize(), "Metric", "Met",
                                                  "Breached", "Compliance"], rows)
                                   if rows else "")
    ages = kpis.backlog.total.ages
    body["backlog"] = _figure("backlog", charts.get("backlog"),
                              f"Open incidents at {kpis.at.isoformat()} by age.") + _table(
        "backlog", ["Age", "Open incidents"], [[b.label, str(b.count)] for b in ages])
    for dimension in ("category", "service"):
        top = report.top_volumes(dimension)
        body[dimension] = _figure(dimension, charts.get(dimension),
                                  f"The {dimension} values with the most incidents.") + (
            _table(dimension, [dimension.capitalize(), "Incidents"],
                   [[name, str(count)] for name, count in top]) if top else "")
    groups = report.recurring.groups
    body["recurring"] = _table("recurring", [
        "Key", "Incidents", "First", "Last", "Common words", "Status", "Incident ids"], [[
            g.label,
            str(len(g.incidents)), g.first_at.isoformat(), g.last_at.isoformat(),
            " ".join(g.common_words) or "-",
            f"covered by {g.covered_by}" if g.covered_by is not None else "problem proposed",
            " ".join(g.incident_ids)] for g in groups]) if groups else (
        '<p class="empty">No recurring group.</p>')
    sections = "\n".join(f'<section id="{ident}"><h2>{escape(heading)}</h2>{body[ident]}'
                         "</section>" for ident, heading in SECTIONS)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(report.title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(report.title)}</h1><p>{escape(span)}; backlog at "
        f"{escape(kpis.at.isoformat())}; periods in {escape(kpis.time_zone)}.</p></header>\n"
        f"{sections}\n</body>\n</html>\n")
