"""SLA clocks: the state of every clock of an incident, a pure function of its history.

:func:`evaluate` reads an incident's event history (oldest first), an :class:`SlaPolicy`, the
incident's workflow and an instant ``at``, and returns one :class:`ClockState` per clock that
applies. Same history, same policy, same instant: same answer; events after ``at`` are ignored,
so evaluating a whole history at an earlier instant gives exactly what a live evaluation gave
then. Nothing here reads the clock.

The rules a clock follows
-------------------------

Which clocks
    The customer agreement (SLA) is chosen by the version's rules from the incident's service,
    category and customer (custom attribute ``"customer"`` when it is a string, else the caller)
    in force at the clock's *reference instant*: the instant it stopped (met or breached), was
    cancelled, or else ``at``. It gives a response and a resolution clock when it has a target for
    that metric and the priority level in force at the reference instant. No matching rule and
    no fallback: no SLA clock (never an error). An OLA (an agreement with a ``group``) gives
    clocks for its group once the incident has been assigned to that group. Clocks come in this
    order: SLA response, SLA resolution, then per group in order of first assignment, response
    then resolution. Before the incident was logged nothing applies (empty tuple).
Which version
    An SLA clock keeps the policy version in force when the incident was logged, an OLA clock the
    one in force when the incident first reached its group (with the default start rules, the
    instant the clock started); no version in force then: no clock. ``recompute=True`` uses the
    version in force at ``at`` instead, except for clocks that are final (met, breached or
    cancelled) under their own version: those keep it. So adding a version never changes a met
    or breached clock, provided the version is not back-dated before the incident was logged
    (``SlaPolicy.with_version(version, now=...)`` refuses back-dated versions).
Start, stop, resume, cancel
    As the version's :class:`~itil_incident.policies.sla.ClockRules` say (ITIL defaults: both
    start at logging; response stops at the first assignment to a person, at work started, or
    at resolution; resolution stops on entering a state flagged ``resolved``; a reopen resumes
    the resolution clock with its elapsed time kept). Entering a terminal state not flagged
    ``resolved`` cancels a clock that has not stopped; a stopped clock stays met or breached.
    An OLA clock starts at the first event after which its start condition has happened and the
    incident is with its group; stop events count only while the incident is with the group,
    stop states always (a resolution by anyone stops it).
Pauses
    A clock does not count while the incident is in a state flagged ``pauses_sla`` and has no
    hold reason or one of the agreement's ``pause_hold_reasons`` (default: awaiting caller pauses,
    awaiting vendor does not), nor, for an OLA, while the incident is not with its group (reason
    ``"not_with_group"``). Pauses are measured on the agreement's calendar, the one the target is
    measured on, so a pause shifts the due time by exactly the business time it covered.
Elapsed and target
    ``business_elapsed`` is the business time (on the agreement's calendar) in the periods the
    clock counted (``counted``, business periods, the last one ending at ``at`` while the
    clock runs); ``wall_elapsed`` the wall time the clock ran, business hours or not, pauses
    excluded. A priority change switches only the target (the one of the priority in force at
    the reference instant): elapsed time and pauses already counted are kept. A change of
    service, category or customer that selects another agreement applies that agreement (its
    calendar, pause rules and targets) to the clock's whole history.
Met or breached
    ``due_at`` is the deadline: the first instant at which the counted business time reaches the
    target. A clock that stops at or before it is met (exactly at the target is met); a clock is
    breached once an instant after the deadline is reached, while running, paused or stopped
    (a deadline at 17:00 on Friday shows breached on Saturday). ``due_at`` is: for a running
    clock, the instant it will breach if nothing changes; for a paused clock, None (unless it is
    already breached); for a met clock, the deadline it would have had had it kept running from
    its stop; for a breached clock, the deadline that passed; None when not started or cancelled.
Remaining and percent
    ``remaining`` is ``target - business_elapsed`` (negative when overrun), so elapsed plus
    remaining always equals the target; ``percent_used`` is ``100 * elapsed / target``.
Stages and cycles
    A cycle runs from a start or a resume to the next stop; ``cycle`` counts them (a reopen
    starts cycle 2 of the resolution clock). A stage is reached at the first instant the counted
    business time reaches ``fraction * target`` (rounded to the microsecond); in the current
    cycle, a stage already passed in an earlier cycle counts as reached when the cycle started,
    so alerts can be recorded once per cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from itil_incident.domain._time import utc_instant
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ValidationError
from itil_incident.policies._sla_state import (
    FINAL,
    ClockPause,
    ClockState,
    ClockStatus,
    StageState,
)
from itil_incident.policies._sla_trace import (
    ACTIVE,
    CANCELLED,
    NOT_STARTED,
    STOPPED,
    Flags,
    Snap,
    Trace,
    reach,
    snapshots,
)
from itil_incident.policies.sla import (
    ClockRules,
    SlaAgreement,
    SlaCalendar,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)

__all__ = [
    "NOT_WITH_GROUP",
    "ClockPause",
    "ClockState",
    "ClockStatus",
    "StageState",
    "evaluate",
]

_ZERO = timedelta(0)
#: Pause reason of an OLA clock while the incident is with another group (or none).
NOT_WITH_GROUP = "not_with_group"


class _Context:
    """One evaluation: the snapshots, the workflow's flags, the instant, cached traces."""

    __slots__ = ("at", "flags", "snaps", "traces")

    def __init__(self, snaps: list[Snap], flags: Flags, at: datetime) -> None:
        self.snaps, self.flags, self.at = snaps, flags, at
        # keyed by the rules' identity: they live as long as the evaluation, hashing is slower
        self.traces: dict[tuple[int, str | None], Trace] = {}

    def trace(self, rules: ClockRules, group: str | None) -> Trace:
        key = (id(rules), group)
        found = self.traces.get(key)
        if found is None:
            found = self.traces[key] = Trace(self.snaps, rules, self.flags, group, self.at)
        return found

    def clocks(self, version: SlaPolicyVersion, group: str | None) -> dict[SlaMetric, ClockState]:
        """The clocks ``version`` gives for the SLA (``group`` None) or one group's OLA."""
        result: dict[SlaMetric, ClockState] = {}
        ola = version.ola(group) if group is not None else None
        if group is not None and ola is None:
            return result
        for metric, rules in version.clock_rules.items():
            if ola is not None and metric not in ola.targets:
                continue
            trace = self.trace(rules, group)
            snap = self.snaps[trace.ref]
            if ola is None:
                selection = version.select(service=snap.service, category=snap.category,
                                           customer=snap.customer)
                if selection is None:
                    continue
                agreement, rule = selection.agreement, selection.rule
            else:
                agreement, rule = ola, None
            target = agreement.target(metric, snap.priority)
            if target is not None:
                result[metric] = self.measure(trace, rules, agreement, target, metric, rule,
                                              version.version, snap.priority, group)
        return result

    def measure(self, trace: Trace, rules: ClockRules, agreement: SlaAgreement,
                target: timedelta, metric: SlaMetric, rule: str | None, version: int,
                priority: int, group: str | None) -> ClockState:
        calendar, flags = agreement.calendar, self.flags
        counted: list[tuple[datetime, datetime]] = []
        pauses: list[ClockPause] = []
        elapsed = wall = _ZERO
        segment: list[datetime] | None = None  # the counting run being built: [start, end]
        pause: tuple[datetime, datetime, str] | None = None  # the pause being built
        reason: str | None = None
        for start, end, snap in trace.intervals:
            if group is not None and snap.group != group:
                reason = NOT_WITH_GROUP
            elif rules.pause and flags[snap.status][0] and agreement.pauses_for(snap.hold):
                reason = snap.hold or snap.status
            else:
                reason = None
            if reason is None:
                if pause is not None:
                    _close(pause, calendar, pauses)
                    pause = None
                wall += end - start
                if segment is not None and segment[1] == start:
                    segment[1] = end
                else:
                    elapsed = _count(segment, calendar, counted, elapsed)
                    segment = [start, end]
            elif pause is not None and pause[2] == reason and pause[1] == start:
                pause = (pause[0], end, reason)
            else:
                if pause is not None:
                    _close(pause, calendar, pauses)
                pause = (start, end, reason)
        elapsed = _count(segment, calendar, counted, elapsed)
        paused_now = trace.phase == ACTIVE and reason is not None
        if paused_now and pause is not None:
            pauses.append(ClockPause(pause[0], None, pause[2], None))
        elif pause is not None:
            _close(pause, calendar, pauses)
        status, due = self._status(trace, calendar, counted, elapsed, target, paused_now)
        stages = _stages(counted, target, agreement.stages, trace.cycle_started_at)
        return ClockState(
            metric=metric, agreement=agreement.name, rule=rule, group=group,
            policy_version=version, status=status, priority=priority, target=target,
            started_at=trace.started_at, stopped_at=trace.stopped_at, cycle=trace.cycle,
            cycle_started_at=trace.cycle_started_at, due_at=due, business_elapsed=elapsed,
            wall_elapsed=wall, remaining=target - elapsed, percent_used=100 * (elapsed / target),
            stages=stages, counted=tuple(counted), pauses=tuple(pauses),
        )

    def _status(self, trace: Trace, calendar: SlaCalendar,
                counted: list[tuple[datetime, datetime]], elapsed: timedelta,
                target: timedelta, paused_now: bool) -> tuple[ClockStatus, datetime | None]:
        if trace.phase == NOT_STARTED:
            return ClockStatus.NOT_STARTED, None
        if trace.phase == CANCELLED:
            return ClockStatus.CANCELLED, None
        deadline = reach(counted, target) if elapsed >= target else None
        if trace.phase == STOPPED:
            stopped = self.at if trace.stopped_at is None else trace.stopped_at
            if deadline is not None and deadline < stopped:
                return ClockStatus.BREACHED, deadline
            if deadline is None:
                deadline = calendar.add(stopped, target - elapsed)
            return ClockStatus.MET, deadline
        if deadline is not None and deadline < self.at:
            return ClockStatus.BREACHED, deadline
        if paused_now:
            return ClockStatus.PAUSED, None
        if deadline is None:
            deadline = calendar.add(self.at, target - elapsed)
        return ClockStatus.RUNNING, deadline


def _count(segment: list[datetime] | None, calendar: SlaCalendar,
           counted: list[tuple[datetime, datetime]], elapsed: timedelta) -> timedelta:
    """Add the business periods of one counting run to ``counted``; return the new elapsed."""
    if segment is None or segment[0] == segment[1]:
        return elapsed
    for start, end in calendar.working_periods(segment[0], segment[1]):
        if end > start:
            counted.append((start, end))
            elapsed += end - start
    return elapsed


def _close(pause: tuple[datetime, datetime, str], calendar: SlaCalendar,
           pauses: list[ClockPause]) -> None:
    """Record a pause that ended (one of no length is no pause)."""
    start, end, reason = pause
    if end > start:
        pauses.append(ClockPause(start, end, reason, calendar.between(start, end)))


def _stages(counted: list[tuple[datetime, datetime]], target: timedelta,
            fractions: tuple[float, ...], cycle_start: datetime | None
            ) -> tuple[StageState, ...]:
    """Each stage with the first instant the counted time reached its share of the target,
    not before the current cycle started; one walk over the counted periods."""
    result: list[StageState] = []
    periods = iter(counted)
    total, period = _ZERO, next(periods, None)
    for fraction in fractions:
        amount = target * fraction
        while period is not None and total + (period[1] - period[0]) < amount:
            total += period[1] - period[0]
            period = next(periods, None)
        if period is None or cycle_start is None:
            result.append(StageState(fraction, None))
        else:
            result.append(StageState(fraction, max(period[0] + (amount - total), cycle_start)))
    return tuple(result)


# -- the public entry point ----------------------------------------------------------------------


def evaluate(history: Sequence[DomainEvent], policy: SlaPolicy, workflow: Workflow,
             at: datetime, *, recompute: bool = False) -> tuple[ClockState, ...]:
    """The state at ``at`` of every SLA and OLA clock of the incident whose events (oldest
    first, as ``ServiceDesk.timeline`` gives them) are ``history``.

    ``workflow`` is the incident's workflow (its state flags decide pauses, stops and
    cancellation). With ``recompute`` the version of ``policy`` in force at ``at`` replaces the
    version each clock started under, except for clocks already met, breached or cancelled.
    An empty result means no SLA applies. Naive instants, a history that does not start with
    ``IncidentLogged``, events out of order or states unknown to ``workflow`` raise
    :class:`~itil_incident.errors.ValidationError`.
    """
    if not isinstance(policy, SlaPolicy):
        raise ValidationError(f"policy must be an SlaPolicy, got {type(policy).__name__}",
                              field="policy")
    if not isinstance(workflow, Workflow):
        raise ValidationError(f"workflow must be a Workflow, got {type(workflow).__name__}",
                              field="workflow")
    if type(recompute) is not bool:
        raise ValidationError("recompute must be True or False", field="recompute")
    when = utc_instant(at, "at")
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise ValidationError("history must be a sequence of incident events", field="history")
    flags = _flags(workflow)
    snaps = snapshots(history, when, flags)
    if not snaps:
        return ()
    context = _Context(snaps, flags, when)
    newest = policy.version_at(when) if recompute else None
    clocks = _subject(context, policy.version_at(snaps[0].at), newest, None)
    arrivals: dict[str, datetime] = {}
    for snap in snaps:
        if snap.group is not None and snap.group not in arrivals:
            arrivals[snap.group] = snap.at
    for group, arrival in arrivals.items():
        clocks.extend(_subject(context, policy.version_at(arrival), newest, group))
    return tuple(clocks)


#: Workflows are built once and shared; their flags are read once (the entry keeps the workflow
#: alive, so its id is not reused while cached).
_FLAG_CACHE: dict[int, tuple[Workflow, Flags]] = {}


def _flags(workflow: Workflow) -> Flags:
    entry = _FLAG_CACHE.get(id(workflow))
    if entry is not None and entry[0] is workflow:
        return entry[1]
    flags = {name: (state.pauses_sla, state.resolved, state.terminal)
             for name, state in workflow.states.items()}
    if len(_FLAG_CACHE) >= 64:
        _FLAG_CACHE.clear()
    _FLAG_CACHE[id(workflow)] = (workflow, flags)
    return flags


def _subject(context: _Context, original: SlaPolicyVersion | None,
             newest: SlaPolicyVersion | None, group: str | None) -> list[ClockState]:
    first = context.clocks(original, group) if original is not None else {}
    if newest is None or newest is original:
        return list(first.values())
    latest = context.clocks(newest, group)
    result: list[ClockState] = []
    for metric in SlaMetric:
        kept = first.get(metric)
        if kept is not None and kept.status in FINAL:
            result.append(kept)
        elif metric in latest:
            result.append(latest[metric])
    return result
