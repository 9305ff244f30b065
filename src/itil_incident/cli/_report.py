"""``itil-incident report``: KPIs, the text report, the HTML report and JSON, from the
incidents the database holds."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from itil_incident.cli._app import Session, _instant, pass_session
from itil_incident.cli._data import echo_json
from itil_incident.cli._exit import Failure
from itil_incident.errors import ItilIncidentError
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.sla import SlaPolicy
from itil_incident.reporting import (
    BUCKETS,
    MissingExtraError,
    WhatIfReport,
    adjusted_policy,
    build_report,
    what_if,
)
from itil_incident.reporting._text import table

__all__ = ["report_command"]

#: The start of a period given only its end.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A period given only its start ends just after now: incidents logged now are in it.
_INSTANT = timedelta(microseconds=1)


@click.command("report")
@click.option("--since", callback=_instant, metavar="INSTANT",
              help="Only incidents logged at or after INSTANT (ISO 8601 with offset).")
@click.option("--until", callback=_instant, metavar="INSTANT",
              help="Only incidents logged before INSTANT (ISO 8601 with offset; default: up to "
                   "now when --since is given).")
@click.option("--bucket", type=click.Choice(BUCKETS), default="month", show_default=True,
              help="The period of the volume and SLA trend figures.")
@click.option("--time-zone", default="UTC", show_default=True, metavar="ZONE",
              help="The IANA time zone periods are counted in.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many categories and services to list.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write the self-contained HTML report (charts need "
                                   "the 'reports' extra) to FILE.")
@click.option("--what-if", "what_if_file", metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also simulate the SLA policy variants described in the TOML FILE.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report's figures as JSON instead of text.")
@pass_session
def report_command(session: Session, since: datetime | None, until: datetime | None,
                   bucket: str, time_zone: str, top: int, html_file: Path | None,
                   what_if_file: Path | None, as_json: bool) -> None:
    """KPIs and the incident report: volumes over time, time to resolve by priority, SLA
    compliance trend, backlog age, top categories and services, recurring incidents.

    Figures are computed from each incident's event history, as of now (or --now), with the
    desk's SLA policy. --what-if FILE measures the same incidents against variants of that
    policy, each a table under [alternatives."NAME"] with any of: scale (a factor for every
    target), targets (hours per priority level, such as resolution = { 1 = 2, 2 = 6 }),
    calendar (a business calendar definition) and pause_hold_reasons (a list).
    """
    desk = session.desk()
    now = desk.clock.now()
    period = None
    if since is not None or until is not None:
        period = (since or _EPOCH, until or now + _INSTANT)
        if period[1] <= period[0]:
            raise click.BadParameter("--until must come after --since", param_hint="--until")
    report = build_report(desk.list_incidents(), title="Incident report", at=now,
                          period=period, bucket=bucket, time_zone=time_zone,
                          sla=desk.policies.sla, workflow=desk.policies.incident_workflow,
                          top=top, known_problems=desk.list_problems())
    simulation = None
    if what_if_file is not None:
        policy = desk.policies.sla
        if policy is None:
            raise Failure("the desk has no SLA policy to compare with")
        simulation = what_if(desk.list_incidents(), original=policy,
                             alternatives=_alternatives(what_if_file, policy), at=now,
                             period=period, time_zone=time_zone,
                             workflow=desk.policies.incident_workflow)
    if html_file is not None:
        try:
            report.write_html(html_file)
        except MissingExtraError as missing:
            raise Failure(str(missing)) from None
        except OSError as error:
            raise Failure(f"cannot write {html_file}: {error.strerror or error}") from None
    if as_json:
        data = report.to_dict()
        if simulation is not None:
            data["what_if"] = simulation.to_dict()
        echo_json(data)
    else:
        click.echo(report.to_text(), nl=False)
        if simulation is not None:
            click.echo("\n".join(_simulation_text(simulation)))
        if html_file is not None:
            click.echo(f"\nHTML report written to {html_file}")


def _alternatives(path: Path, policy: SlaPolicy) -> dict[str, SlaPolicy]:
    """The policy variants of a what-if file (``click.BadParameter`` when malformed)."""

    def bad(message: str) -> click.BadParameter:
        return click.BadParameter(f"{path}: {message}", param_hint="--what-if")

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise bad(str(error)) from None
    tables = data.get("alternatives")
    if not isinstance(tables, Mapping) or not tables:
        raise bad('no [alternatives."NAME"] table')
    known = {"scale", "targets", "calendar", "pause_hold_reasons"}
    result: dict[str, SlaPolicy] = {}
    for name, spec in tables.items():
        if not isinstance(spec, Mapping) or not set(spec) <= known:
            raise bad(f"alternative {name!r} may only set {', '.join(sorted(known))}")
        try:
            result[name] = adjusted_policy(
                policy, scale=spec.get("scale"), targets=_hours(spec.get("targets")),
                calendar=(None if spec.get("calendar") is None
                          else BusinessCalendar.from_dict(spec["calendar"])),
                pause_hold_reasons=spec.get("pause_hold_reasons"))
        except (ItilIncidentError, TypeError, ValueError) as error:
            raise bad(f"alternative {name!r}: {error}") from None
    return result


def _hours(value: Any) -> dict[str, dict[int, timedelta]] | None:
    """``{metric: {"level": hours}}`` as targets."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        raise ValueError("targets must be tables of hours per priority level")
    return {metric: {int(level): timedelta(hours=float(hours))
                     for level, hours in levels.items()}
            for metric, levels in value.items()}


def _simulation_text(report: WhatIfReport) -> list[str]:
    lines = ["", "What-if SLA simulation (final customer clocks)",
             "----------------------------------------------"]
    for metric in ("response", "resolution"):
        lines += ["", f"{metric.capitalize()}:"]
        lines += table(["Policy", "Met", "Breached", "Running", "Paused", "Compliance"], [
            [c.policy, str(c.met), str(c.breached), str(c.running), str(c.paused),
             "-" if c.rate is None else f"{100 * c.rate:.1f} %"]
            for c in report.totals(metric)])
    rows = [[cell.metric, f"P{cell.priority}", cell.month,
             *(f"{c.met}/{c.breached}" for c in cell.counts)] for cell in report.cells]
    lines += ["", "Met/breached per metric, priority and month:"]
    lines += table(["Metric", "Priority", "Month", *report.policies], rows) if rows else [
        "No SLA clock."]
    return lines
