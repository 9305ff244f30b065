"""``itil-incident import-log``: replay a real incident event log into the desk's database.

The log is replayed in memory first (:func:`~itil_incident.reporting.importing.import_log`):
a file that cannot be read, or that does not fit the chosen format, stops the command before
anything is stored. The incidents are then stored through the repository in batches, one
transaction per batch, each with its whole event history and the log's own case id as its id.
An incident whose id the database holds already is skipped and counted, so that running the
command again after an interruption stores only what the interruption lost (the batch in
flight) and never duplicates an incident.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import click
import sqlalchemy as sa

from itil_incident.adapters.sql import SqlRepository, StorageError, schema
from itil_incident.cli._app import Session, pass_session
from itil_incident.cli._data import echo_json
from itil_incident.cli._exit import ConflictFailure, DatabaseFailure, Failure
from itil_incident.domain.incident import Incident
from itil_incident.errors import ConcurrencyError
from itil_incident.reporting.importing import (
    CsvSource,
    EventSource,
    ImportMappingError,
    ImportReport,
    ImportResult,
    ImportSourceError,
    LogMapping,
    Progress,
    Record,
    RecordStream,
    RowError,
    XesSource,
    helpdesk_mapping,
    import_log,
    servicenow_mapping,
    stderr_progress,
    volvo_mapping,
)

__all__ = ["FORMATS", "import_log_command"]

#: The formats ``--format`` accepts: the ready mappings of
#: :mod:`itil_incident.reporting.importing.mappings`.
FORMATS: Final[dict[str, Callable[[], LogMapping]]] = {
    "servicenow": servicenow_mapping,
    "volvo": volvo_mapping,
    "helpdesk": helpdesk_mapping,
}
#: Incidents stored per transaction by default.
DEFAULT_BATCH: Final = 500
#: How many row errors and skipped ids the summary lists one by one.
_SHOWN: Final = 10

_PRESENT: Final = sa.select(schema.incidents.c.id).where(
    schema.incidents.c.id.in_(sa.bindparam("ids", expanding=True)))


def _source(path: Path, member: str | None) -> EventSource:
    """An XES source for ``.xes`` / ``.xes.gz``, else a CSV one (plain, ``.gz`` or zip)."""
    if path.name.lower().endswith((".xes", ".xes.gz")):
        if member is not None:
            raise click.BadParameter("is for zip archives, not XES files",
                                     param_hint="--member")
        return XesSource(path)
    return CsvSource(path, member=member)


class _FirstCases:
    """The records of the first ``limit`` cases of ``source``, in order of first appearance.

    The whole source is still read, so that a kept case keeps its later rows wherever they
    are in the file; the rows of other cases are dropped before the replay sees them.
    """

    def __init__(self, source: EventSource, mapping: LogMapping, limit: int) -> None:
        self._source = source
        self._column = mapping.case
        self._missing = mapping.missing
        self._limit = limit

    @property
    def name(self) -> str:
        return self._source.name

    def open(self, progress: Progress | None = None) -> RecordStream:
        return _FirstCasesStream(self._source.open(progress), self._column, self._missing,
                                 self._limit)


class _FirstCasesStream:
    def __init__(self, inner: RecordStream, column: str, missing: frozenset[str],
                 limit: int) -> None:
        self._inner = inner
        self._column = column
        self._missing = missing
        self._limit = limit
        self.columns: tuple[str, ...] | None = inner.columns

    def __iter__(self) -> Iterator[Record | RowError]:
        kept: set[str] = set()
        limit = self._limit
        for item in self._inner:
            case = item.case if isinstance(item, RowError) else item[1].get(self._column)
            if case is None or case in self._missing or not case.strip():
                if len(kept) < limit:  # a row without a case: reported while cases are read
                    yield item
                continue
            if case not in kept:
                if len(kept) >= limit:
                    continue
                kept.add(case)
            yield item

    def close(self) -> None:
        self._inner.close()


class _Stored:
    """How far storing went: the incidents stored, the ids skipped, the batches committed."""

    def __init__(self) -> None:
        self.stored = 0
        self.present: list[str] = []
        self.batches = 0

    def so_far(self) -> str:
        return (f"{self.stored:,} incident(s) were stored before it, in {self.batches:,} "
                "batch(es); run the same command again to store the rest (the incidents "
                "stored already are skipped)")


def _present(repository: SqlRepository, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` that the database holds already."""
    try:
        with repository.engine.connect() as connection:
            return set(connection.execute(_PRESENT, {"ids": list(ids)}).scalars())
    except sa.exc.SQLAlchemyError as error:
        raise StorageError(f"cannot read the stored incidents: "
                           f"{getattr(error, 'orig', None) or error}") from None


def _store(repository: SqlRepository, incidents: Sequence[Incident], batch: int,
           dry_run: bool, progress: _Stored) -> None:
    """Store ``incidents`` that are not stored yet, ``batch`` per transaction (with
    ``dry_run``, only count them)."""
    bar = None if dry_run else stderr_progress("storing")
    try:
        for start in range(0, len(incidents), batch):
            chunk = incidents[start:start + batch]
            present = _present(repository, [incident.id for incident in chunk])
            new = [incident for incident in chunk if incident.id not in present]
            progress.present += [incident.id for incident in chunk if incident.id in present]
            if new and not dry_run:
                repository.commit(new, publish=False)  # history, not news
                progress.batches += 1
            progress.stored += len(new)
            if bar is not None:
                bar(start + len(chunk), len(incidents))
    except ConcurrencyError as error:
        raise ConflictFailure(f"{error.identifier} was stored meanwhile by another command; "
                              f"{progress.so_far()}") from None
    except StorageError as error:
        raise DatabaseFailure(f"{error}; {progress.so_far()}") from None
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: the batch in flight was not stored; {progress.so_far()}",
                   err=True)
        raise
    finally:
        if bar is not None:
            bar.close()


def _row_errors(errors: Sequence[RowError]) -> dict[str, Any]:
    by_column = Counter(error.column or "(whole row)" for error in errors)
    return {
        "total": len(errors),
        "rows_skipped": sum(1 for error in errors if error.skipped),
        "by_column": dict(sorted(by_column.items())),
        "first": [{"row": error.row, "column": error.column, "value": error.value,
                   "case": error.case, "skipped": error.skipped, "message": error.message}
                  for error in errors[:_SHOWN]],
    }


def _summary(report: ImportReport, result: ImportResult, *, path: Path, log_format: str,
             limit: int | None, dry_run: bool, stored: _Stored, batch: int, database: str,
             replay_seconds: float, store_seconds: float) -> dict[str, Any]:
    statuses = Counter(incident.status for incident in result.incidents.values())
    return {
        "file": str(path),
        "source": report.source,
        "format": log_format,
        "mode": str(report.mode),
        "workflow": report.workflow,
        "database": database,
        "dry_run": dry_run,
        "limit": limit,
        "rows": report.rows,
        "rows_skipped": report.rows_skipped,
        "cases": report.cases,
        "events": report.events,
        "stored": 0 if dry_run else stored.stored,
        "would_store": stored.stored if dry_run else 0,
        "already_present": len(stored.present),
        "already_present_ids": stored.present[:_SHOWN],
        "batch_size": batch,
        "batches": stored.batches,
        "statuses": dict(sorted(statuses.items(), key=lambda item: (-item[1], item[0]))),
        "conforming_cases": report.conforming_cases,
        "fitness": round(report.fitness, 4),
        "truncated_cases": report.truncated_cases,
        "forbidden": [{"from": source, "to": target, "count": count}
                      for (source, target), count in report.top_forbidden(len(
                          report.forbidden))],
        "forbidden_total": report.forbidden_total,
        "unmapped_labels": dict(sorted(report.unmapped_labels.items())),
        "anomalies": {str(kind): count
                      for kind, count in sorted(report.anomaly_counts.items())},
        "anomalies_total": len(report.anomalies),
        "unreplayed_changes": dict(sorted(report.unreplayed_changes.items())),
        "row_errors": _row_errors(report.row_errors),
        "seconds": {"replay": round(replay_seconds, 3), "store": round(store_seconds, 3),
                    "total": round(replay_seconds + store_seconds, 3)},
    }


def _counts(mapping: dict[str, int]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in mapping.items())


def _text(data: dict[str, Any]) -> list[str]:
    cases = f"{data['cases']:,}"
    if data["limit"] is not None:
        cases += f" (at most the first {data['limit']:,} of the log)"
    if data["dry_run"]:
        head = (f"dry run: {data['source']} ({data['format']}, {data['mode']}): "
                f"{data['would_store']:,} incident(s) would be stored in {data['database']}, "
                f"{data['already_present']:,} skipped (already in the desk); nothing was "
                "stored")
    else:
        head = (f"imported {data['source']} ({data['format']}, {data['mode']}) into "
                f"{data['database']}: {data['stored']:,} incident(s) stored in "
                f"{data['batches']:,} batch(es) of at most {data['batch_size']:,}, "
                f"{data['already_present']:,} skipped (already in the desk)")
    lines = [head]
    if data["already_present_ids"]:
        more = data["already_present"] - len(data["already_present_ids"])
        lines.append("  skipped: " + ", ".join(data["already_present_ids"])
                     + (f" and {more:,} more" if more > 0 else ""))
    lines += [
        f"cases: {cases}; rows: {data['rows']:,} ({data['rows_skipped']:,} skipped); "
        f"events: {data['events']:,}",
        f"statuses: {_counts(data['statuses']) or 'none'}",
        f"conforming cases: {data['conforming_cases']:,} ({data['fitness']:.1%}); starting "
        f"mid-lifecycle: {data['truncated_cases']:,}; forbidden moves: "
        f"{data['forbidden_total']:,}",
    ]
    lines += [f"  {move['from']} -> {move['to']}: {move['count']:,}"
              for move in data["forbidden"][:5]]
    if data["unmapped_labels"]:
        lines.append(f"unmapped labels: {_counts(data['unmapped_labels'])}")
    anomalies = f"anomalies: {data['anomalies_total']:,}"
    if data["anomalies"]:
        anomalies += f" ({_counts(data['anomalies'])})"
        if data["mode"] == "lenient":
            anomalies += "; each is a work note on its incident (`itil-incident show ID`)"
    lines.append(anomalies)
    if data["unreplayed_changes"]:
        lines.append(f"changes not replayed: {_counts(data['unreplayed_changes'])}")
    errors = data["row_errors"]
    line = f"row errors: {errors['total']:,}"
    if errors["total"]:
        line += (f" ({errors['rows_skipped']:,} row(s) skipped; by column: "
                 f"{_counts(errors['by_column'])})")
    lines.append(line)
    for error in errors["first"]:
        where = f"row {error['row']}" + (f", column {error['column']!r}" if error["column"]
                                         else "")
        lines.append(f"  {where}: {error['message']}")
    seconds = data["seconds"]
    lines.append(f"time: {seconds['total']:.1f} s (replay {seconds['replay']:.1f} s, store "
                 f"{seconds['store']:.1f} s)")
    return lines


@click.command("import-log")
@click.argument("file", metavar="FILE",
                type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--format", "log_format", type=click.Choice(list(FORMATS)), required=True,
              help="The log's format: servicenow (the UCI ServiceNow audit log, CSV), volvo "
                   "(BPI Challenge 2013 Volvo IT incidents, CSV), helpdesk (the Italian help "
                   "desk log, XES or a CSV with its XES column names).")
@click.option("--mode", type=click.Choice(["strict", "lenient"]), default="lenient",
              show_default=True,
              help="lenient bridges the moves the workflow forbids and notes each anomaly on "
                   "its incident; strict skips them (the incident stays where it is).")
@click.option("--limit", type=click.IntRange(min=1), metavar="CASES",
              help="Only the first CASES cases of the log (in order of first appearance).")
@click.option("--member", metavar="NAME",
              help="The CSV member of a zip archive [default: its only .csv file].")
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH,
              show_default=True, help="Incidents stored per transaction.")
@click.option("--dry-run", is_flag=True,
              help="Replay and report, store nothing.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON.")
@pass_session
def import_log_command(session: Session, file: Path, log_format: str, mode: str,
                       limit: int | None, member: str | None, batch_size: int, dry_run: bool,
                       as_json: bool) -> None:
    """Replay the incident event log FILE (CSV, .gz or zip; XES or .xes.gz) and store one
    incident per case, with its whole history, under the log's case id.

    Nothing is stored when FILE cannot be read or does not fit --format. Incidents are stored
    in batches, one transaction each; an incident already in the database is skipped and
    counted, so running the command again after an interruption stores only the rest. The
    summary gives the cases, incidents stored and skipped, their statuses, how well the log
    fits the workflow, the anomalies and row errors by kind, and the time taken. A progress
    bar is drawn on standard error when it is a terminal.
    """
    repository = session.repository()  # an uninitialised database ends here (exit code 5)
    mapping = FORMATS[log_format]()
    source = _source(file, member)
    if limit is not None:
        source = _FirstCases(source, mapping, limit)
    started = time.perf_counter()
    bar = stderr_progress(f"reading {file.name}")
    try:
        result = import_log(source, mapping, mode=mode,
                            workflow=session.config.policies.incident_workflow, progress=bar)
    except ImportMappingError as error:
        raise Failure(f"{file} does not fit --format {log_format}: {error}; nothing was "
                      "stored") from None
    except ImportSourceError as error:
        hint = " with --member" if str(error).endswith("name the member") else ""
        raise Failure(f"{error}{hint}; nothing was stored") from None
    finally:
        if bar is not None:
            bar.close()
    report = result.report
    if report.cases == 0 and report.rows > 0:
        first = report.row_errors[0] if report.row_errors else "no readable row"
        raise Failure(f"{file}: none of its {report.rows:,} row(s) can be read as a "
                      f"{log_format} log (first: {first}); nothing was stored")
    replayed = time.perf_counter()
    stored = _Stored()
    _store(repository, list(result.incidents.values()), batch_size, dry_run, stored)
    finished = time.perf_counter()
    data = _summary(report, result, path=file, log_format=log_format, limit=limit,
                    dry_run=dry_run, stored=stored, batch=batch_size, database=session.shown,
                    replay_seconds=replayed - started, store_seconds=finished - replayed)
    if as_json:
        echo_json(data)
    else:
        click.echo("\n".join(_text(data)))
