"""Monitoring-alert commands: ``itil-incident alert ingest|list|stats``.

Alert groups live in the same database as the incidents (the ``SqlAlertStore``), so an alert
ingested by one command is deduplicated against those of every command before it.

``alert ingest --file FILE`` (``-`` for stdin) reads one alert per line, a JSON object with
the fields ``source``, ``dedup_key`` (or ``key``), ``severity``, ``summary`` and optionally
``service``, ``configuration_item``, ``payload`` (an object) and ``at`` (ISO 8601 with
offset); blank lines are skipped. Each alert's outcome is printed; a refused alert is reported
with its reason, the others are still ingested, and the command ends with exit code 1 when any
was refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import IO, Any, Final

import click

from itil_incident.alerts import AlertOutcome, AlertRejectedError
from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._blocks import alert_group_data, alert_groups_table
from itil_incident.cli._data import echo_json
from itil_incident.cli._exit import Failure
from itil_incident.cli._render import console, table_with
from itil_incident.desk import ServiceDesk

__all__ = ["alert_group"]

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (instants in UTC).")

_FIELDS: Final = frozenset({"source", "dedup_key", "key", "severity", "summary", "service",
                            "configuration_item", "payload", "at"})


def _when(value: object) -> Any:
    """An ISO 8601 text as a datetime; anything else as given (the desk refuses it, and
    counts the refusal, unless it is an aware instant)."""
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        return instant.astimezone(UTC) if instant.tzinfo is not None else value
    return value


def _ingest(desk: ServiceDesk, fields: dict[str, Any]) -> AlertOutcome:
    """Hand the fields to the desk as they are: it checks each one (a missing or bad field is
    refused with its reason, and counted)."""
    given: dict[str, Any] = {name: fields.get(name) for name in _FIELDS}
    if "dedup_key" not in fields:
        given["dedup_key"] = given["key"]
    at = given["at"]
    return desk.ingest_alert(
        given["source"], given["dedup_key"], given["severity"], given["summary"],
        service=given["service"], configuration_item=given["configuration_item"],
        payload=given["payload"], at=None if at is None else _when(at))


def _outcome_line(outcome: AlertOutcome) -> str:
    target = "" if outcome.incident_id is None else f" {outcome.incident_id}"
    why = "" if outcome.reason is None else f" ({outcome.reason})"
    return f"{outcome.kind.value}{target}: {outcome.dedup_key}{why}"


def _outcome_data(outcome: AlertOutcome, line: int | None) -> dict[str, Any]:
    return {"line": line, "kind": outcome.kind.value, "dedup_key": outcome.dedup_key,
            "incident_id": outcome.incident_id, "reason": outcome.reason}


def _parse(text: str) -> dict[str, Any] | str:
    """One line as the fields of an alert, or why it is not an alert."""
    try:
        fields = json.loads(text)
    except ValueError as error:
        return f"not JSON: {error}"
    if not isinstance(fields, dict):
        return f"not a JSON object but {type(fields).__name__}"
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        return f"unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})"
    return fields


@click.group("alert")
def alert_group() -> None:
    """Monitoring alerts: ingest them (deduplicated by key into incidents), list the groups,
    count the outcomes."""


@alert_group.command("ingest")
@click.option("--source", help="The monitoring system, such as nagios.")
@click.option("--key", "dedup_key", help="The deduplication key, such as web-1/disk.")
@click.option("--severity", help="critical, major, minor, warning, info, or clear (a "
                                 "recovery); any other word is refused and counted.")
@click.option("--summary", help="One line; the title of an incident the alert opens.")
@click.option("--service", help="The affected service.")
@click.option("--ci", "configuration_item", metavar="CI", help="The configuration item.")
@click.option("--payload", help="The alert's details, a JSON object.")
@click.option("--at", "at", metavar="INSTANT",
              help="When the source saw it (ISO 8601 with offset) [default: now].")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), metavar="FILE",
              help="Read alerts from FILE (- for stdin), one JSON object a line.")
@json_option
@pass_session
def ingest_command(session: Session, source: str | None, dedup_key: str | None,
                   severity: str | None, summary: str | None, service: str | None,
                   configuration_item: str | None, payload: str | None, at: str | None,
                   file: IO[str] | None, as_json: bool) -> None:
    """Ingest one alert (the options) or many (--file, JSON lines), printing what became of
    each: opened, folded, resolved, recovered, cleared, held (flapping) or refused."""
    single = (source, dedup_key, severity, summary, service, configuration_item, payload, at)
    if file is not None:
        if any(value is not None for value in single):
            raise click.UsageError("give the alert as options or --file, not both")
        _ingest_lines(session, file, as_json)
        return
    missing = [name for name, value in (("--source", source), ("--key", dedup_key),
                                        ("--severity", severity), ("--summary", summary))
               if value is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give --file)")
    body: object = None
    if payload is not None:
        try:
            body = json.loads(payload)
        except ValueError as error:
            raise click.BadParameter(f"not JSON: {error}", param_hint="--payload") from None
    fields = {"source": source, "dedup_key": dedup_key, "severity": severity,
              "summary": summary, "service": service,
              "configuration_item": configuration_item, "payload": body, "at": at}
    outcome = _ingest(session.desk(), fields)
    if as_json:
        echo_json(_outcome_data(outcome, None))
    else:
        console().print(_outcome_line(outcome), soft_wrap=True)


def _ingest_lines(session: Session, file: IO[str], as_json: bool) -> None:
    desk = session.desk()
    screen = console()
    results: list[dict[str, Any]] = []
    refused = total = 0
    def refuse(number: int, reason: str, message: str) -> None:
        if as_json:
            results.append({"line": number, "kind": "refused", "dedup_key": None,
                            "incident_id": None, "reason": reason, "message": message})
        else:
            screen.print(f"line {number}: refused ({reason}): {message}", soft_wrap=True,
                         markup=False)

    for number, text in enumerate(file, start=1):
        if not text.strip():
            continue
        total += 1
        fields = _parse(text)
        if isinstance(fields, str):
            refused += 1
            refuse(number, "not_an_alert", fields)
            continue
        try:
            outcome = _ingest(desk, fields)
        except AlertRejectedError as error:
            refused += 1
            refuse(number, error.reason.value, str(error))
            continue
        if as_json:
            results.append(_outcome_data(outcome, number))
        else:
            screen.print(f"line {number}: {_outcome_line(outcome)}", soft_wrap=True,
                         markup=False)
    if as_json:
        echo_json(results)
    elif total:
        screen.print(f"{total - refused} of {total} alert(s) ingested, {refused} refused")
    if refused:
        raise Failure(f"{refused} of {total} alert(s) refused; each is reported above with "
                      "its reason, the others were ingested")


@alert_group.command("list")
@click.option("--flapping/--not-flapping", "flapping", default=None,
              help="Only the keys held because they flap, or only the others.")
@json_option
@pass_session
def list_command(session: Session, flapping: bool | None, as_json: bool) -> None:
    """List the alert groups (one per deduplication key), by key."""
    groups = session.desk().alert_groups(flapping=flapping)
    if as_json:
        echo_json([alert_group_data(group) for group in groups])
    else:
        console().print(alert_groups_table(groups))


@alert_group.command("stats")
@json_option
@pass_session
def stats_command(session: Session, as_json: bool) -> None:
    """Count every alert ingested, by outcome; refused ones also by reason."""
    statistics = session.desk().alert_statistics()
    outcomes = {kind.value: count for kind, count in statistics.by_outcome.items()}
    refusals = {reason.value: count for reason, count in statistics.refused_by_reason.items()}
    if as_json:
        echo_json({"total": statistics.total, "by_outcome": outcomes,
                   "refused_by_reason": refusals})
        return
    table = table_with(f"{statistics.total} alert(s)")
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Alerts", justify="right")
    for kind, count in outcomes.items():
        table.add_row(kind, str(count))
    for reason, count in sorted(refusals.items()):
        table.add_row(f"  refused: {reason}", str(count))
    console().print(table)

