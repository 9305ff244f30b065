"""The plain-text form of an :class:`~itil_incident.reporting.IncidentReport` (no extra
needed): aligned tables, a bar of ``#`` per count where it helps the eye."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from itil_incident.reporting.reports import hours, percent

if TYPE_CHECKING:
    from itil_incident.reporting.reports import IncidentReport

__all__ = ["render_text", "table"]

_BAR = 30


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, last_left: bool = False
          ) -> list[str]:
    """Rows under a header, columns padded; the first column left-aligned (and the last one
    with ``last_left``), the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows,
                                                                        strict=True)]
    left = {0, len(widths) - 1} if last_left else {0}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) if index in left else cell.rjust(w)
                         for index, (cell, w) in enumerate(zip(cells, widths, strict=True))
                         ).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)]


def _bars(pairs: Sequence[tuple[str, int]], unit: str) -> list[str]:
    if not pairs:
        return ["No data."]
    largest = max(count for _, count in pairs) or 1
    rows = [[name, str(count), "#" * round(_BAR * count / largest)] for name, count in pairs]
    return table(["", unit, ""], rows, last_left=True)


def render_text(report: IncidentReport) -> str:
    kpis = report.kpis
    lines = [report.title, "=" * len(report.title), ""]
    span = ("All incidents" if kpis.period is None else
            f"Incidents logged from {kpis.period[0].isoformat()} to {kpis.period[1].isoformat()}")
    lines += [f"{span}; backlog at {kpis.at.isoformat()}; periods in {kpis.time_zone}.", ""]

    def section(name: str) -> None:
        lines.extend(["", name, "-" * len(name)])

    section("Summary")
    lines += table(["Figure", "Value"], [[name, value] for name, value in report.summary()])
    section(f"Volumes over time (incidents logged per {kpis.bucket or 'month'})")
    lines += _bars(report.volumes_over_time(), "incidents")
    section("Time to resolve by priority (hours, to first resolution)")
    resolve = report.time_to_resolve()
    lines += table(["Priority", "Resolved", "Unresolved", "Mean", "Median", "P90"], [
        [f"P{level}", str(stat.n), str(stat.missing), hours(stat.mean), hours(stat.median),
         hours(stat.p90)] for level, stat in resolve]) if resolve else ["No data."]
    section("SLA compliance trend (final customer clocks met)")
    if not report.has_sla:
        lines.append("No SLA policy given.")
    else:
        rows = []
        for period, metrics in report.sla_trend():
            for metric, (met, breached, rate) in sorted(metrics.items()):
                rows.append([period, metric, str(met), str(breached), percent(rate)])
        lines += table(["Period", "Metric", "Met", "Breached", "Compliance"], rows) if rows \
            else ["No final SLA clock."]
    section(f"Backlog age at {kpis.at.isoformat()}")
    lines += _bars([(b.label, b.count) for b in kpis.backlog.total.ages], "open")
    lines.append(f"Open incidents: {kpis.backlog.total.total}")
    for dimension in ("category", "service"):
        top = report.top_volumes(dimension)
        section(f"Top {len(top)} {'categories' if dimension == 'category' else 'services'}")
        lines += _bars(top, "incidents")
    section("Recurring incidents")
    groups = report.recurring.groups
    if not groups:
        lines.append("No recurring group.")
    for group in groups:
        status = (f"covered by {group.covered_by}" if group.covered_by is not None
                  else "problem proposed")
        lines.append(f"- {group.label}: {len(group.incidents)} incidents from "
                     f"{group.first_at.isoformat()} to {group.last_at.isoformat()} "
                     f"({status})")
        lines.append(f"  common words: {' '.join(group.common_words) or '-'}")
        lines.append(f"  incidents: {' '.join(group.incident_ids)}")
        if group.proposal is not None:
            lines.append(f"  proposal: {group.proposal.title}")
    return "\n".join(lines) + "\n"
