"""Replaying an event log through a workflow: one incident per case, one command per change.

:func:`import_log` reads a source in file order. A case's first row logs its incident (at the
mapping's ``opened_at`` when given, else at the row's time); every row then replays, at its own
time, what it says through the incident's ordinary commands, so the history is a valid fold:

1. field changes: impact/urgency (``reprioritize``), priority (``override_priority`` when the
   log's priority is not the matrix's), category, caller/service, custom attributes, and the
   assignment (``assign``; a new group without an assignee clears the assignee, as the entity
   does). A change the current state refuses (a reassignment while resolved) is tried again
   after the move;
2. the move: when the incident is not in one of the states the label stands for, the trigger
   the workflow has from its state to the nearest of them fires. When there is none, the move
   is *forbidden*: counted by ``(from, to)`` (once per change of the log's label: rows that
   repeat the label do not count it again). Strict mode skips it and the incident stays
   where it is (later rows go on from there: nothing else stops); lenient mode fires the
   shortest path of triggers that gets there and notes the anomaly on the incident. A new
   hold reason while on hold replays as ``resume`` + ``hold`` at the row's time.

A refused change is reported once per case, not on every row that repeats it.

Lenient mode holds back every move into a terminal state until the case's next row (or the
end of the log): if that row leaves the terminal state (an audit log that reopens a closed
incident), the terminal step is dropped and noted, and the incident goes on from the state
before it; otherwise the terminal step is replayed at its own time, after a note listing any
later events that could not be replayed. Strict mode replays terminal moves at once.

Values a row does not give (missing) change nothing: an assignee that disappears is not
"unassigned" (the entity has no such command); that is counted in
``ImportReport.unreplayed_changes``. Moves bridged in lenient mode are made by the row's actor
at the row's time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from itil_incident.domain.incident import Incident
from itil_incident.domain.lifecycles import default_incident_workflow
from itil_incident.domain.values import Actor, Impact, Urgency
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ItilIncidentError, ValidationError
from itil_incident.reporting.importing._rows import Row, RowReader
from itil_incident.reporting.importing.mapping import LogMapping, Step
from itil_incident.reporting.importing.report import (
    ANOMALY_PREFIX,
    IMPORT_ACTOR,
    Anomaly,
    AnomalyKind,
    ImportReport,
    ImportResult,
    ReplayMode,
    RowError,
)
from itil_incident.reporting.importing.sources import EventSource, Progress, Record

__all__ = ["import_log"]

_START = "(start)"
_Path = tuple[tuple[str, str], ...]


class _Change(NamedTuple):
    """One field change a row asks for: ``kind`` (``"assign"`` or another command), what it
    is in words, and the command that makes it."""

    kind: str
    text: str
    run: Callable[[Actor, datetime], object]


def import_log(
    source: EventSource,
    mapping: LogMapping,
    *,
    mode: ReplayMode | str = ReplayMode.LENIENT,
    workflow: Workflow | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Replay every case of ``source`` through ``workflow`` (default: the ITIL incident
    workflow) as ``mapping`` reads it.

    Raises :class:`~.report.ImportMappingError` before reading any row when the mapping names
    a state the workflow lacks or a column the header lacks, and
    :class:`~.report.ImportSourceError` when the source cannot be read. Everything else (bad
    rows, forbidden moves) is reported in the result and stops nothing.
    ``progress(done, total)`` is called while reading (see :mod:`.sources`). An unknown
    ``mode`` raises :class:`~itil_incident.ValidationError`.
    """
    try:
        replay_mode = ReplayMode(mode)
    except ValueError:
        raise ValidationError(f"mode must be 'strict' or 'lenient', got {mode!r}",
                              field="mode") from None
    flow = default_incident_workflow() if workflow is None else workflow
    mapping.check_workflow(flow)
    stream = source.open(progress)
    try:
        if stream.columns is not None:
            mapping.check_header(stream.columns)
        replay = _Replay(mapping, flow, replay_mode)
        replay.feed_all(stream)
    finally:
        stream.close()
    return replay.finish(source.name)


class _Pending:
    """A move into a terminal state held back (lenient mode) until the case's next row."""

    __slots__ = ("at", "row", "step", "target", "trigger")

    def __init__(self, trigger: str, target: str, row: Row, step: Step, at: datetime) -> None:
        self.trigger = trigger
        self.target = target
        self.row = row
        self.step = step
        self.at = at


class _Case:
    __slots__ = ("conforming", "held", "incident", "label", "pending", "refused", "stuck")

    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.label: str | None = None
        self.pending: _Pending | None = None
        self.held: list[str] = []
        self.refused: set[str] = set()
        self.stuck = False  # strict: the move to ``label`` was refused
        self.conforming = True


class _Replay:
    def __init__(self, mapping: LogMapping, workflow: Workflow, mode: ReplayMode) -> None:
        self.mapping = mapping
        self.workflow = workflow
        self.mode = mode
        self.lenient = mode is ReplayMode.LENIENT
        self.matrix = mapping.matrix
        self.reader = RowReader(mapping)
        self.cases: dict[str, _Case] = {}
        self.rows = 0
        self.skipped = 0
        self.truncated = 0
        self.forbidden: Counter[tuple[str, str]] = Counter()
        self.forbidden_labels: Counter[tuple[str, str]] = Counter()
        self.unmapped: Counter[str] = Counter()
        self.kinds: Counter[AnomalyKind] = Counter()
        self.unreplayed: Counter[str] = Counter()
        self.anomalies: list[Anomaly] = []
        self.errors: list[RowError] = []
        self.direct: dict[tuple[str, str], str] = {}
        for state in workflow.states:
            for trigger in workflow.allowed(state):
                target = workflow.target(state, trigger)
                if target is not None and target != state:
                    self.direct.setdefault((state, target), trigger)
        self.paths: dict[tuple[str, tuple[str, ...], bool], _Path | None] = {}

    # ------------------------------------------------------------------ reading

    def feed_all(self, stream: Iterable[Record | RowError]) -> None:
        errors = self.errors
        read = self.reader.read
        for item in stream:
            self.rows += 1
            if isinstance(item, RowError):
                errors.append(item)
                self.skipped += 1
                continue
            number, values = item
            row = read(number, values, errors)
            if row is None:
                self.skipped += 1
                continue
            self.feed(row)

    def feed(self, row: Row) -> None:
        case = self.cases.get(row.case)
        if case is None:
            case = self._open(row)
            if case is None:
                return
            at = row.at  # the opening time (logged_at) is never later
        else:
            at = self._when(case, row)
        if row.label != case.label:
            case.stuck = False
        self._replay(case, row, at)
        case.label = row.label

    def _when(self, case: _Case, row: Row) -> datetime:
        last = case.pending.at if case.pending is not None else case.incident.updated_at
        if row.at >= last:
            return row.at
        self._anomaly(case, row, AnomalyKind.TIME_BACKWARDS,
                      f"row {row.number} ({row.label!r}) is dated {row.at.isoformat()}, "
                      f"before the previous event ({last.isoformat()}); replayed at the latter",
                      last)
        return last

    def _open(self, row: Row) -> _Case | None:
        opened_at = self.reader.opened_at(row, self.errors)
        opened = row.at if opened_at is None else opened_at
        late = opened > row.at
        if late:
            opened = row.at
        try:
            incident = Incident.log(
                incident_id=row.case, workflow=self.workflow, matrix=self.matrix,
                actor=row.actor, at=opened, title=self.mapping.title.replace("{case}", row.case),
                caller=row.caller, channel=row.channel or "portal", service=row.service,
                impact=row.impact, urgency=row.urgency, category=row.category,
                custom=row.custom or None,
            )
        except ItilIncidentError as exc:
            self.errors.append(RowError(row.number, f"cannot log the incident: {exc}",
                                        case=row.case))
            self.skipped += 1
            return None
        case = self.cases[row.case] = _Case(incident)
        if late:
            self._anomaly(case, row, AnomalyKind.TIME_BACKWARDS,
                          f"opened at {opened_at.isoformat() if opened_at else '?'}, after its "
                          f"first event; logged at {opened.isoformat()}", opened)
        step = row.step
        if step is not None and step.states and self.workflow.initial not in step.states:
            self.truncated += 1
            self._anomaly(case, row, AnomalyKind.STARTS_MID_LIFECYCLE,
                          f"the log's history starts at {row.label!r} ({step.states[0]}), not "
                          f"in {self.workflow.initial!r}: earlier events are missing", opened)
        return case

    # ------------------------------------------------------------------ one row

    def _replay(self, case: _Case, row: Row, at: datetime) -> None:
        incident, step = case.incident, row.step
        if step is None:
            self.unmapped[row.label] += 1
            self._anomaly(case, row, AnomalyKind.UNMAPPED_LABEL,
                          f"label {row.label!r} (row {row.number}) is not in the mapping; "
                          "its fields were replayed", at)
        states = () if step is None else step.states
        if case.pending is not None:
            if states and case.pending.target not in states:
                self._leave_terminal(case, row, states[0], at)
            else:
                self._after_terminal(case, row, at)
                return
        if incident.is_terminal:
            if states and incident.status not in states and not case.stuck:
                self._forbid(case, row, incident.status, states[0])
                self._anomaly(case, row, AnomalyKind.FORBIDDEN_TRANSITION,
                              f"{self._labels(case, row)}: {incident.status!r} is terminal; "
                              "not replayed", at)
            self._after_terminal(case, row, at)
            return
        later = self._apply(case, row, at, self._changes(incident, row), final=False)
        if step is not None and states and not case.stuck:
            if incident.status not in states:
                self._move(case, row, step, at)
            elif step.hold_reason is not None and incident.hold_reason not in (
                    None, step.hold_reason):
                self._rehold(case, row, step, at)
        if later:
            self._apply(case, row, at, later, final=True)
        if step is not None and step.note and not incident.is_terminal:
            incident.add_note(f"{row.label} (imported activity)", actor=row.actor, at=at)

    def _labels(self, case: _Case, row: Row) -> str:
        return f"{case.label or _START!r} -> {row.label!r} (row {row.number})"

    def _after_terminal(self, case: _Case, row: Row, at: datetime) -> None:
        step = row.step
        if self._changes(case.incident, row, tally=False) or (step is not None and step.note):
            state = case.pending.target if case.pending is not None else case.incident.status
            self._anomaly(case, row, AnomalyKind.AFTER_TERMINAL,
                          f"row {row.number} ({row.label!r}, {at.isoformat()}) changes the "
                          f"incident after it became {state!r}; not replayed", at)

    def _leave_terminal(self, case: _Case, row: Row, goal: str, at: datetime) -> None:
        pending = case.pending
        assert pending is not None
        case.pending = None
        held, case.held = case.held, []
        self._forbid(case, row, pending.target, goal)
        message = (f"the log goes from {pending.row.label!r} ({pending.target}, row "
                   f"{pending.row.number}, {pending.at.isoformat()}) to {row.label!r} (row "
                   f"{row.number}); {pending.target!r} is terminal in workflow "
                   f"{self.workflow.name!r}, so that step was not replayed")
        if held:
            message += f"; nor, in between: {'; '.join(held)}"
        self._anomaly(case, row, AnomalyKind.LEFT_TERMINAL, message, at)

    # ------------------------------------------------------------------ field changes

    def _changes(self, incident: Incident, row: Row, *, tally: bool = True) -> list[_Change]:
        """The commands that bring ``incident`` to what ``row`` says; with ``tally``, count
        the changes no command can make."""
        changes: list[_Change] = []
        matrix = self.matrix
        impact: Impact = incident.impact if row.impact is None else row.impact
        urgency: Urgency = incident.urgency if row.urgency is None else row.urgency
        # Levels come from the matrix's own instances: identity is the fast path of equality.
        same_levels = ((impact is incident.impact or impact == incident.impact)
                       and (urgency is incident.urgency or urgency == incident.urgency))
        if not same_levels:
            changes.append(_Change(
                "reprioritize", f"impact {impact} / urgency {urgency}",
                lambda actor, at: incident.reprioritize(matrix, impact=impact, urgency=urgency,
                                                        actor=actor, at=at)))
        priority = row.priority
        if priority is not None:
            if same_levels and priority is incident.priority and not incident.priority_overridden:
                pass
            elif priority == matrix.priority_for(impact, urgency):
                if incident.priority_overridden:
                    changes.append(_Change(
                        "clear_priority_override", f"priority {priority}",
                        lambda actor, at: incident.clear_priority_override(
                            matrix, actor=actor, at=at)))
            elif priority != incident.priority or not incident.priority_overridden:
                changes.append(_Change(
                    "override_priority", f"priority {priority}",
                    lambda actor, at: incident.override_priority(
                        priority, matrix, actor=actor, at=at,
                        justification="priority as recorded in the imported log")))
        category = row.category
        if category is not None and category != incident.category:
            changes.append(_Change(
                "categorize", f"category {category}",
                lambda actor, at: incident.categorize(category, actor=actor, at=at)))
        caller = row.caller if row.caller is not None and row.caller != incident.caller else None
        service = (row.service if row.service is not None and row.service != incident.service
                   else None)
        if caller is not None or service is not None:
            changes.append(_Change(
                "update_details", "caller / service",
                lambda actor, at: incident.update_details(caller=caller, service=service,
                                                          actor=actor, at=at)))
        for name, value in row.custom.items():
            if incident.custom.get(name) != value:
                changes.append(_custom(incident, name, value))
        assignment = self._assignment(incident, row)
        if tally and self.mapping.assignee is not None and row.assignee is None and (
                incident.assignee is not None
                and (assignment is None or assignment[0] == incident.assignment_group)):
            self.unreplayed["assignee cleared"] += 1  # a new group clears it; nothing else can
        if (tally and assignment is None and row.tier is not None
                and row.tier != incident.support_tier):
            self.unreplayed["tier without a group"] += 1
        if assignment is not None:
            group, assignee, tier = assignment
            parts = [f"group {group!r}" if group else "",
                     f"assignee {assignee!r}" if assignee else "", f"tier {tier}" if tier else ""]
            changes.append(_Change(
                "assign", "assigning " + ", ".join(p for p in parts if p),
                lambda actor, at: incident.assign(group=group, assignee=assignee, tier=tier,
                                                  actor=actor, at=at)))
        return changes

    def _assignment(self, incident: Incident, row: Row
                    ) -> tuple[str | None, str | None, int | None] | None:
        """(group, assignee, tier) for ``assign`` when the row changes the assignment."""
        step = row.step
        wanted = row.assignee
        if wanted is None and step is not None and step.take:
            wanted = row.actor.id
        group = (row.group if row.group is not None and row.group != incident.assignment_group
                 else None)
        if group is not None or (wanted is not None and wanted != incident.assignee):
            assignee = wanted
        else:
            assignee = None
        tier = row.tier if row.tier is not None and row.tier != incident.support_tier else None
        if group is None and assignee is None:
            if tier is None:
                return None
            if incident.assignment_group is None:
                return None
            group = incident.assignment_group
        return group, assignee, tier

    def _apply(self, case: _Case, row: Row, at: datetime, changes: list[_Change],
               *, final: bool) -> list[_Change]:
        incident = case.incident
        later: list[_Change] = []
        for change in changes:
            if incident.is_terminal or (
                change.kind == "assign" and self.workflow.target(incident.status, "assign") is None
            ):
                problem = f"{incident.status!r} allows no {change.kind}"
            else:
                try:
                    change.run(row.actor, at)
                    continue
                except ItilIncidentError as exc:
                    problem = str(exc)
            if not final:
                later.append(change)
            elif change.text not in case.refused:  # the same refusal is reported once a case
                case.refused.add(change.text)
                self._anomaly(case, row, AnomalyKind.REFUSED_CHANGE,
                              f"row {row.number} ({row.label!r}): {change.text} was refused "
                              f"({problem}); not replayed", at)
        return later

    # ------------------------------------------------------------------ moves

    def _move(self, case: _Case, row: Row, step: Step, at: datetime) -> None:
        incident = case.incident
        status = incident.status
        assignment = self._assignment(incident, row)
        can_assign = assignment is not None and (
            assignment[0] is not None or incident.assignment_group is not None)
        for goal in step.states:
            trigger = self.direct.get((status, goal))
            if trigger is not None and (trigger != "assign" or can_assign):
                self._fire(case, row, step, trigger, goal, at)
                return
        goal = step.states[0]
        self._forbid(case, row, status, goal)
        message = (f"{self._labels(case, row)}: workflow {self.workflow.name!r} has no "
                   f"trigger from {status!r} to {goal!r}")
        if not self.lenient:
            self._anomaly(case, row, AnomalyKind.FORBIDDEN_TRANSITION,
                          f"{message}; not replayed", at)
            return
        path = self._path(status, step.states, can_assign)
        if path is None:
            self._anomaly(case, row, AnomalyKind.UNREACHABLE,
                          f"{message}, nor any path of triggers; not replayed", at)
            return
        self._anomaly(case, row, AnomalyKind.FORBIDDEN_TRANSITION,
                      f"{message}; bridged via {', '.join(t for t, _ in path)}", at)
        for trigger, target in path:
            if not self._fire(case, row, step, trigger, target, at):
                return

    def _rehold(self, case: _Case, row: Row, step: Step, at: datetime) -> None:
        """A new hold reason while on hold: ``resume`` then ``hold`` at the same instant, when
        the workflow leads back to the same state (the hold never stops running)."""
        status = case.incident.status
        resumed = self.workflow.target(status, "resume")
        if resumed is None or self.workflow.target(resumed, "hold") != status:
            self.unreplayed["hold reason changed"] += 1
            return
        if self._fire(case, row, step, "resume", resumed, at):
            self._fire(case, row, step, "hold", status, at)

    def _forbid(self, case: _Case, row: Row, source: str, goal: str) -> None:
        """Count a forbidden move; in strict mode rows repeating its label are then quiet."""
        case.stuck = not self.lenient
        self.forbidden[source, goal] += 1
        self.forbidden_labels[case.label or _START, row.label] += 1
        case.conforming = False

    def _path(self, status: str, goals: tuple[str, ...], can_assign: bool) -> _Path | None:
        """The shortest path of triggers from ``status`` to one of ``goals`` (ties: the goal
        listed first), skipping reflexive triggers and, unless ``can_assign``, ``assign``."""
        key = (status, goals, can_assign)
        if key in self.paths:
            return self.paths[key]
        workflow = self.workflow
        came: dict[str, tuple[str, str] | None] = {status: None}
        depth = {status: 0}
        frontier = [status]
        while frontier:
            following: list[str] = []
            for state in frontier:
                for trigger in workflow.allowed(state):
                    target = workflow.target(state, trigger)
                    if (target is None or target in came
                            or (trigger == "assign" and not can_assign)):
                        continue
                    came[target] = (state, trigger)
                    depth[target] = depth[state] + 1
                    following.append(target)
            frontier = following
        reached = [goal for goal in goals if goal in depth and goal != status]
        path: _Path | None = None
        if reached:
            goal = min(reached, key=lambda g: (depth[g], goals.index(g)))
            steps: list[tuple[str, str]] = []
            node = goal
            while (link := came[node]) is not None:
                steps.append((link[1], node))
                node = link[0]
            path = tuple(reversed(steps))
        self.paths[key] = path
        return path

    def _fire(self, case: _Case, row: Row, step: Step, trigger: str, target: str,
              at: datetime) -> bool:
        if self.lenient and self.workflow.is_terminal(target):
            case.pending = _Pending(trigger, target, row, step, at)
            return True
        try:
            self._command(case.incident, trigger, row, step, at)
        except ItilIncidentError as exc:
            self._anomaly(case, row, AnomalyKind.UNREACHABLE,
                          f"{self._labels(case, row)}: {trigger!r} was refused ({exc}); "
                          "not replayed", at)
            return False
        return True

    def _command(self, incident: Incident, trigger: str, row: Row, step: Step,
                 at: datetime) -> None:
        actor = row.actor
        if trigger == "assign":
            group, assignee, tier = self._assignment(incident, row) or (None, None, None)
            incident.assign(group=group, assignee=assignee, tier=tier, actor=actor, at=at)
        elif trigger == "start":
            incident.start_work(actor=actor, at=at)
        elif trigger == "hold":
            incident.put_on_hold(step.hold_reason or "unspecified", actor=actor, at=at)
        elif trigger == "resume":
            incident.resume(actor=actor, at=at)
        elif trigger == "resolve":
            incident.resolve(code=step.code or row.code or "imported",
                             notes=f"resolved in the imported log ({row.label})",
                             actor=actor, at=at)
        elif trigger == "close":
            incident.close(code=row.code or "solved", actor=actor, at=at)
        elif trigger == "reopen":
            incident.reopen(reason=f"reopened in the imported log ({row.label})",
                            actor=actor, at=at)
        elif trigger == "cancel":
            incident.cancel(reason=f"cancelled in the imported log ({row.label})",
                            actor=actor, at=at)
        else:
            incident.transition(trigger, actor=actor, at=at)

    # ------------------------------------------------------------------ anomalies, end

    def _anomaly(self, case: _Case, row: Row, kind: AnomalyKind, message: str,
                 at: datetime) -> None:
        self.kinds[kind] += 1
        self.anomalies.append(Anomaly(row.case, row.number, kind, message))
        if not self.lenient:
            return
        if case.pending is not None:
            case.held.append(message)
        elif not case.incident.is_terminal:
            case.incident.add_note(ANOMALY_PREFIX + message, actor=IMPORT_ACTOR, at=at)

    def _flush(self, case: _Case) -> None:
        pending = case.pending
        assert pending is not None
        case.pending = None
        incident = case.incident
        if case.held:
            incident.add_note(
                f"{ANOMALY_PREFIX}after {pending.row.label!r} (row {pending.row.number}) the "
                f"log goes on: {'; '.join(case.held)}",
                actor=IMPORT_ACTOR, at=pending.at)
            case.held = []
        try:
            self._command(incident, pending.trigger, pending.row, pending.step, pending.at)
        except ItilIncidentError as exc:
            self._anomaly(case, pending.row, AnomalyKind.UNREACHABLE,
                          f"{pending.trigger!r} was refused ({exc}); not replayed", pending.at)

    def finish(self, source: str) -> ImportResult:
        for case in self.cases.values():
            if case.pending is not None:
                self._flush(case)
        incidents = MappingProxyType(
            {case_id: case.incident for case_id, case in self.cases.items()})
        report = ImportReport(
            source=source, mapping=self.mapping.name, mode=self.mode,
            workflow=self.workflow.name, rows=self.rows, rows_skipped=self.skipped,
            cases=len(incidents), events=sum(i.version for i in incidents.values()),
            conforming_cases=sum(1 for case in self.cases.values() if case.conforming),
            truncated_cases=self.truncated, forbidden=MappingProxyType(dict(self.forbidden)),
            forbidden_labels=MappingProxyType(dict(self.forbidden_labels)),
            unmapped_labels=MappingProxyType(dict(self.unmapped)),
            anomaly_counts=MappingProxyType(dict(self.kinds)),
            unreplayed_changes=MappingProxyType(dict(self.unreplayed)),
            anomalies=tuple(self.anomalies), row_errors=tuple(self.errors),
        )
        return ImportResult(incidents, report)



def _custom(incident: Incident, name: str, value: str) -> _Change:
    return _Change("set_custom", f"{name} = {value!r}",
                   lambda actor, at: incident.set_custom(name, value, actor=actor, at=at))
