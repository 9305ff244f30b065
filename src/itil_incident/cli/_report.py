"""``itil-incident report``: KPIs, the text report, the HTML report and JSON, from the
incidents the database holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from itil_incident.cli._app import Session, _instant, pass_session
from itil_incident.cli._data import echo_json
from itil_incident.cli._exit import Failure
from itil_incident.reporting import BUCKETS, MissingExtraError, build_report

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
@click.option("--json", "as_json", is_flag=True,
              help="Print the report's figures as JSON instead of text.")
@pass_session
def report_command(session: Session, since: datetime | None, until: datetime | None,
                   bucket: str, time_zone: str, top: int, html_file: Path | None,
                   as_json: bool) -> None:
    """KPIs and the incident report: volumes over time, time to resolve by priority, SLA
    compliance trend, backlog age, top categories and services, recurring incidents.

    Figures are computed from each incident's event history, as of now (or --now), with the
    desk's SLA policy.
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
    if html_file is not None:
        try:
            report.write_html(html_file)
        except MissingExtraError as missing:
            raise Failure(str(missing)) from None
        except OSError as error:
            raise Failure(f"cannot write {html_file}: {error.strerror or error}") from None
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.to_text(), nl=False)
        if html_file is not None:
            click.echo(f"\nHTML report written to {html_file}")
