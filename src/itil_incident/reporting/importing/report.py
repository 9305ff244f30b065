"""What an import produces: the incidents, and a report of how well the log fits the workflow.

:class:`ImportReport` counts rows, cases and events, the transitions the workflow forbids (by
workflow state and by the log's own labels), the labels the mapping does not know, every
:class:`Anomaly` met while replaying and every :class:`RowError` met while reading. Anomalies
found in lenient mode are also written on the incident (:data:`ANOMALY_PREFIX`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

import attrs

from itil_incident.domain.incident import Incident, Note
from itil_incident.domain.values import Actor, NoteVisibility
from itil_incident.errors import ItilIncidentError

__all__ = [
    "ANOMALY_PREFIX",
    "IMPORT_ACTOR",
    "Anomaly",
    "AnomalyKind",
    "ImportMappingError",
    "ImportReport",
    "ImportResult",
    "ImportSourceError",
    "ReplayMode",
    "RowError",
    "import_anomalies",
]

#: The actor of every work note the importer writes (anomalies, activities without a state).
IMPORT_ACTOR: Final = Actor("import", "Event log import", frozenset({"system"}))
#: Every anomaly note written on an incident starts with this text.
ANOMALY_PREFIX: Final = "import anomaly: "


class ImportMappingError(ItilIncidentError):
    """A mapping does not fit its log or its workflow: a column missing from the header, a
    label mapped to a state the workflow lacks. Raised before any row is replayed."""


class ImportSourceError(ItilIncidentError):
    """A source cannot be read at all (no such file, no CSV member in a zip, broken XML)."""


class ReplayMode(enum.StrEnum):
    """How the replay treats a move the workflow forbids.

    ``strict``
        The event is not replayed: the incident stays where it is and the move is counted
        under ``(from, to)``; nothing else stops. Incidents carry no import notes.
    ``lenient``
        The move is bridged by the shortest path of triggers the workflow allows (a history
        that starts mid-lifecycle or skips states still arrives where the log says), and every
        anomaly is written on the incident as a work note.
    """

    STRICT = "strict"
    LENIENT = "lenient"


class AnomalyKind(enum.StrEnum):
    """What went wrong while replaying one event."""

    #: The case's first event is not in the workflow's initial state: the history is cut.
    STARTS_MID_LIFECYCLE = "starts_mid_lifecycle"
    #: The workflow has no single trigger for the move (strict: skipped; lenient: bridged).
    FORBIDDEN_TRANSITION = "forbidden_transition"
    #: No path of triggers leads where the log goes (lenient); the move was not replayed.
    UNREACHABLE = "unreachable"
    #: The log leaves a terminal state (lenient: that terminal step was not replayed).
    LEFT_TERMINAL = "left_terminal"
    #: Events after the case reached a terminal state carry changes that cannot be replayed.
    AFTER_TERMINAL = "after_terminal"
    #: A field change the current state refuses (e.g. a reassignment while resolved).
    REFUSED_CHANGE = "refused_change"
    #: The event is earlier than the previous one; it was replayed at the previous instant.
    TIME_BACKWARDS = "time_backwards"
    #: The label is not in the mapping; the event's fields were replayed, its label ignored.
    UNMAPPED_LABEL = "unmapped_label"


@attrs.frozen
class Anomaly:
    """One anomaly: the case, the source row (see :class:`RowError`), its kind and a sentence."""

    case: str
    row: int
    kind: AnomalyKind
    message: str


@attrs.frozen
class RowError:
    """A row (CSV: its first line in the file, header = line 1; XES: the event's ordinal in
    the file, from 1) whose ``column`` holds a ``value`` that cannot be read.

    ``skipped``: the whole row was left out (no case, no time, no label, wrong field count);
    otherwise only that field was ignored and the rest of the row replayed.
    """

    row: int
    message: str
    column: str | None = None
    value: str | None = None
    case: str | None = None
    skipped: bool = True

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.message}"


@attrs.frozen(kw_only=True)
class ImportReport:
    """Counts and findings of one import.

    ``forbidden`` counts the moves the workflow forbids by ``(from state, to state)``, and
    ``forbidden_labels`` the same moves by the log's labels (``"(start)"`` for a case's first
    event); in strict mode they were skipped, in lenient mode bridged or dropped. A case
    *conforms* when none of its moves was forbidden.
    """

    source: str
    mapping: str
    mode: ReplayMode
    workflow: str
    rows: int
    rows_skipped: int
    cases: int
    events: int
    conforming_cases: int
    truncated_cases: int
    forbidden: Mapping[tuple[str, str], int]
    forbidden_labels: Mapping[tuple[str, str], int]
    unmapped_labels: Mapping[str, int]
    anomaly_counts: Mapping[AnomalyKind, int]
    unreplayed_changes: Mapping[str, int]
    anomalies: tuple[Anomaly, ...]
    row_errors: tuple[RowError, ...]

    @property
    def fitness(self) -> float:
        """The share of cases that conform (1.0 for an empty log)."""
        return self.conforming_cases / self.cases if self.cases else 1.0

    @property
    def forbidden_total(self) -> int:
        """The number of forbidden moves met."""
        return sum(self.forbidden.values())

    def top_forbidden(self, n: int = 10) -> list[tuple[tuple[str, str], int]]:
        """The ``n`` most frequent forbidden moves by workflow state, most frequent first."""
        return sorted(self.forbidden.items(), key=lambda item: (-item[1], item[0]))[:n]

    def summary(self, top: int = 10) -> str:
        """A few lines of plain text for a terminal or a log."""
        lines = [
            f"{self.source} ({self.mapping}, {self.mode}, workflow {self.workflow}): "
            f"{self.rows:,} rows ({self.rows_skipped:,} skipped), {self.cases:,} cases, "
            f"{self.events:,} events",
            f"conforming cases: {self.conforming_cases:,} ({self.fitness:.1%}); "
            f"starting mid-lifecycle: {self.truncated_cases:,}; "
            f"forbidden moves: {self.forbidden_total:,}",
        ]
        for (source, target), count in self.top_forbidden(top):
            lines.append(f"  {source} -> {target}: {count:,}")
        if self.unmapped_labels:
            unmapped = ", ".join(f"{k!r}: {v}" for k, v in sorted(self.unmapped_labels.items()))
            lines.append(f"unmapped labels: {unmapped}")
        if self.anomaly_counts:
            kinds = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.anomaly_counts.items()))
            lines.append(f"anomalies: {kinds}")
        return "\n".join(lines)


@attrs.frozen
class ImportResult:
    """The replayed incidents by case id, in order of first appearance, and the report."""

    incidents: Mapping[str, Incident]
    report: ImportReport


def import_anomalies(incident: Incident) -> tuple[Note, ...]:
    """The anomaly notes a lenient import wrote on ``incident``, oldest first."""
    return tuple(
        note for note in incident.notes
        if note.author == IMPORT_ACTOR and note.visibility is NoteVisibility.WORK_NOTE
        and note.text.startswith(ANOMALY_PREFIX)
    )
