"""Time-driven processing (mixed into :class:`~itil_incident.ServiceDesk`): SLA alert stages,
escalation rules, auto-close of resolved incidents and reminders for incidents waiting on the
caller, applied by one call a host runs on a schedule, plus the SLA queries.

The rules ``process_due(now)`` follows
--------------------------------------

Which incidents
    Every incident that is neither closed nor cancelled (open and resolved ones), in id order.
    ``now`` defaults to the clock's time and may not be later (events dated in the future would
    refuse every command on the incident until the clock caught up).
    An incident whose last change is after ``now`` is left alone (a call for an earlier
    instant than one already processed changes nothing), and so are incidents for which
    nothing is due.
Alert stages
    For each SLA and OLA clock of the incident at ``now`` (``evaluate`` of its history), each
    stage reached in the clock's current cycle and not yet in the history (same metric, group,
    cycle and fraction) is recorded as :class:`IncidentSlaStageReached` dated ``now``, with the
    instant it was reached (``reached_at``, possibly earlier) and the deadline. The stages are
    the agreement's alert stages plus the stages of the escalation rules that watch the clock.
    So each stage is recorded once per clock cycle, however often (and in whatever order of
    instants) the processing runs, and a reopen that starts a new cycle records them again.
Escalation rules
    A rule fires when the stage it names is recorded for a clock it watches and the incident,
    as it stands then, matches it (priority level, service, category); in the same commit, so
    at most once per clock cycle. Rules act on open incidents only (a stage recorded late for a
    resolved incident fires nothing). Functional: to the rule's group or the next tier of the
    current group; hierarchical: the rule's role, else the group's manager role, else the desk's
    ``escalation_role``; raise priority: to the rule's level or one level up, never down,
    justified by a text naming the rule. An action that cannot apply (no next tier, already at
    that priority, ...) is reported in ``skipped`` with the rule's name; the stage stays
    recorded, so it is not retried. After a priority raise or a functional escalation the
    clocks are evaluated again at ``now`` (a higher priority may reach more stages at once), so
    a second call for the same instant finds nothing left to do.
Reminders
    An incident on hold with hold reason ``awaiting_caller`` since ``since`` (when it was put
    on hold) has ``n = (now - since) // hold_reminder_every`` intervals elapsed (wall time).
    When ``n >= 1`` and no reminder numbered ``n`` or more was sent in this hold, one
    :class:`IncidentReminderSent` numbered ``n`` is recorded: at most one per call, never two
    for the same interval (after a long gap, intervals missed are not caught up one by one).
Auto-close
    A resolved incident is closed by ``SYSTEM`` (closure code ``"auto_closed"``, caller
    confirmation None) once ``auto_close_after`` has elapsed, on ``auto_close_calendar`` or in
    wall time, since it was resolved or since the caller's last comment after that, whichever
    is later (a comment by the actor whose id is the incident's ``caller``). A reopen starts
    over: the next resolution is a new start. An accepted major incident awaiting its
    required post-incident review is not auto-closed until the review is recorded.
    With ``cascade_resolution`` (the default) the closure acts as the ``close`` command does
    on a parent: its children open again (reopened, or attached after its resolution) are
    resolved with its resolution code and notes, and theirs in turn, each event naming its
    parent (``cascaded_from``), in the parent's commit; the authorizer is asked for
    ``"resolve"`` on each of them (actor ``SYSTEM``). When one of them cannot be resolved
    (the workflow or the authorizer refuses), nothing of that parent is committed in this
    call: it is reported in ``skipped`` (the error names the child) and tried again on the
    next call, and it is never closed with an open child.
Status-update cadence (major incidents)
    With a major-incident policy, an accepted major incident that is open (not resolved) and
    whose priority level has a cadence ``every`` gets, for each whole interval elapsed since
    its last status update (or its acceptance, before the first update) up to ``now``, one
    :class:`IncidentStatusUpdateMissed` (interval ``k`` was due at ``since + k * every``),
    unless that interval is already recorded. So each missed interval is recorded once,
    however often the processing runs; posting an update starts counting again from it. After
    a long pause only the last ``MAX_MISSED_INTERVALS`` intervals are caught up.
Commits and the report
    Each incident's changes are committed on their own, with the version it was read at; a
    concurrent change (ConcurrencyError) or any other library error on one incident is
    reported in ``skipped`` and the others proceed. Every event is dated ``now``, never before
    the incident's last change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, get_args

from itil_incident._due_report import (
    DueReport,
    EscalationApplied,
    PriorityRaised,
    SkippedIncident,
)
from itil_incident._family_commands import FamilyCommands, IncidentBatch
from itil_incident._major_commands import record_missed_updates
from itil_incident.domain._time import utc_instant
from itil_incident.domain.events import (
    IncidentClosed,
    IncidentNoteAdded,
    IncidentReminderSent,
    IncidentSlaStageReached,
)
from itil_incident.domain.incident import Incident
from itil_incident.domain.major_events import IncidentStatusUpdateMissed
from itil_incident.domain.values import SYSTEM, HoldReason, NoteVisibility
from itil_incident.errors import InvalidTransitionError, ItilIncidentError, ValidationError
from itil_incident.policies.escalation import (
    EscalationActionKind,
    EscalationRule,
    matching_rules,
)
from itil_incident.policies.sla import SlaPolicy
from itil_incident.policies.sla_clock import ClockState, ClockStatus, evaluate
from itil_incident.ports import IncidentQuery

__all__ = ["AUTO_CLOSED", "FORECAST_HORIZON", "SlaListState", "TimeDrivenCommands"]

#: The closure code of an incident closed by :meth:`ServiceDesk.process_due`.
AUTO_CLOSED: Final = "auto_closed"
#: The reminder kind for incidents on hold awaiting the caller.
_AWAITING_CALLER: Final = HoldReason.AWAITING_CALLER.value
#: The states :meth:`ServiceDesk.list_by_sla` selects by.
SlaListState = Literal["breached", "at_risk", "paused", "running"]
_LIST_STATES: Final = get_args(SlaListState)
#: How far after the clock's time ``sla_status`` and ``list_by_sla`` may look.
FORECAST_HORIZON: Final = timedelta(days=366)
#: More rounds than any realistic set of rules needs (each round records a new stage).
_MAX_ROUNDS: Final = 64
_NEVER: Final = datetime.max.replace(tzinfo=UTC)


class _Outcome:
    """What processing one incident produced, kept apart until its commit succeeds."""

    __slots__ = ("cascaded", "closes", "escalations", "missed_updates", "raises", "reminders",
                 "skipped", "stages")

    def __init__(self) -> None:
        self.cascaded: list[Incident] = []  # children an auto-close resolved, to commit too
        self.stages: list[IncidentSlaStageReached] = []
        self.escalations: list[EscalationApplied] = []
        self.raises: list[PriorityRaised] = []
        self.closes: list[IncidentClosed] = []
        self.reminders: list[IncidentReminderSent] = []
        self.skipped: list[SkippedIncident] = []
        self.missed_updates: list[IncidentStatusUpdateMissed] = []  # major incidents


class TimeDrivenCommands(FamilyCommands):
    """Time-driven processing and SLA queries; see the module documentation for the rules."""

    def process_due(self, now: datetime | None = None) -> DueReport:
        """Apply what has come due at ``now`` (default: the clock's time): alert stages,
        escalation rules, reminders and auto-closes, one commit per incident.

        Idempotent: a second call for the same instant, or a call for an earlier instant,
        changes nothing and returns a false report. ``now`` may not be later than the clock's
        time (ValidationError). Run it on a schedule as ``SYSTEM``: the authorizer is asked
        once for the action ``"process_due"``, and for ``"resolve"`` on each child that an
        auto-close resolves (see the module documentation).
        """
        present = self._now()
        when = present if now is None else utc_instant(now, "now")
        if when > present:
            raise ValidationError(
                f"now ({when.isoformat()}) is later than the desk clock's time "
                f"({present.isoformat()}): events dated in the future would refuse every "
                "command on those incidents until then", field="now")
        self._authorize(SYSTEM, "process_due", None)
        incidents = self._due_candidates()
        stages: list[IncidentSlaStageReached] = []
        escalations: list[EscalationApplied] = []
        raises: list[PriorityRaised] = []
        closes: list[IncidentClosed] = []
        reminders: list[IncidentReminderSent] = []
        skipped: list[SkippedIncident] = []
        missed_updates: list[IncidentStatusUpdateMissed] = []  # major incidents
        cascaded: set[str] = set()  # resolved by an auto-close in this call: listed stale
        for incident in incidents:
            if incident.is_terminal or when < incident.updated_at:
                continue
            try:
                # Retried (as the retry policy allows) on a concurrent change: what is due is
                # worked out again from the state that won.
                outcome = self._attempt("process_due", self._due_on(
                    incident, when, listed=incident.id not in cascaded))
            except ItilIncidentError as error:
                skipped.append(SkippedIncident(incident.id, f"{type(error).__name__}: {error}",
                                               error=error))
                continue
            if outcome is None:  # changed meanwhile into a state with nothing due
                continue
            cascaded.update(child.id for child in outcome.cascaded)
            stages += outcome.stages
            escalations += outcome.escalations
            raises += outcome.raises
            closes += outcome.closes
            reminders += outcome.reminders
            skipped += outcome.skipped
            missed_updates += outcome.missed_updates
        return DueReport(at=when, examined=len(incidents), stages=tuple(stages),
                         escalations=tuple(escalations), priority_raises=tuple(raises),
                         auto_closes=tuple(closes), reminders=tuple(reminders),
                         skipped=tuple(skipped), missed_status_updates=tuple(missed_updates))

    def sla_status(self, incident_id: str, at: datetime | None = None
                   ) -> tuple[ClockState, ...]:
        """The state of every SLA and OLA clock of the incident at ``at`` (default: now, at
        most :data:`FORECAST_HORIZON` later); empty when the desk has no SLA policy or none
        applies."""
        when = self._query_instant(at)
        incident = self._incident(incident_id)
        sla = self.policies.sla
        if sla is None:
            return ()
        return evaluate(incident.timeline(), sla, incident.workflow, when)

    def list_by_sla(
        self,
        state: SlaListState,
        *,
        at: datetime | None = None,
        at_risk_fraction: float = 0.75,
        limit: int | None = None,
    ) -> list[tuple[Incident, ClockState]]:
        """Open incidents with a clock in ``state`` at ``at`` (default: now, at most
        :data:`FORECAST_HORIZON` later), one entry per clock, the least business time
        remaining first (the most overdue first).

        ``"breached"``: past its deadline and still counting or paused (a clock that stopped
        late is history, not work); ``"at_risk"``: running with at least ``at_risk_fraction``
        of its target used; ``"paused"``; ``"running"`` (at risk or not).
        """
        if not isinstance(state, str) or state not in _LIST_STATES:
            raise ValidationError(f"unknown SLA state {state!r} (known: "
                                  f"{', '.join(_LIST_STATES)})", field="state")
        if (isinstance(at_risk_fraction, bool) or not isinstance(at_risk_fraction, (int, float))
                or not math.isfinite(at_risk_fraction) or not 0 < at_risk_fraction <= 1):
            raise ValidationError("at_risk_fraction must be a number above 0 and at most 1, "
                                  f"got {at_risk_fraction!r}", field="at_risk_fraction")
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ValidationError(f"limit must be a positive integer, got {limit!r}",
                                  field="limit")
        when = self._query_instant(at)
        sla = self.policies.sla
        if sla is None:
            return []
        threshold = 100 * at_risk_fraction
        found: list[tuple[Incident, ClockState, int]] = []
        for incident in self.repository.list_incidents(IncidentQuery(open=True)):
            clocks = evaluate(incident.timeline(), sla, incident.workflow, when)
            for index, clock in enumerate(clocks):
                if _selected(clock, state, threshold):
                    found.append((incident, clock, index))
        found.sort(key=lambda entry: (entry[1].remaining, entry[1].due_at or _NEVER,
                                      entry[0].id, entry[2]))
        return [(incident, clock) for incident, clock, _ in found[:limit]]

    def _query_instant(self, at: object) -> datetime:
        """``at`` for a query (default: now), refused beyond the forecast horizon: a clock's
        cost grows with the business days it spans, so a query for a far future instant
        would tie the desk up for nothing."""
        present = self._now()
        if at is None:
            return present
        when = utc_instant(at, "at")
        if when - present > FORECAST_HORIZON:
            raise ValidationError(
                f"at ({when.isoformat()}) is more than {FORECAST_HORIZON.days} days after the "
                f"desk clock's time ({present.isoformat()}); SLA forecasts reach no further",
                field="at")
        return when

    # ----------------------------------------------------------------- processing

    def _due_candidates(self) -> list[Incident]:
        """Open incidents, plus resolved ones when anything can be due on them."""
        policies = self.policies
        if (policies.sla is None and policies.auto_close_after is None
                and policies.hold_reminder_every is None and policies.major is None):
            return []
        found = self.repository.list_incidents(IncidentQuery(open=True))
        if policies.sla is None and policies.auto_close_after is None:
            return found
        resolved = frozenset(name for name, definition in
                             policies.incident_workflow.states.items()
                             if definition.resolved and not definition.terminal)
        if resolved:
            found += self.repository.list_incidents(IncidentQuery(status=resolved))
            found.sort(key=lambda incident: incident.id)
        return found

    def _due_on(self, incident: Incident, now: datetime, *, listed: bool = True
                ) -> Callable[[], _Outcome | None]:
        """One try of processing ``incident``: the listed copy first (unless ``listed`` is
        False: it changed since), then a fresh load."""
        copies = [incident] if listed else []

        def attempt() -> _Outcome | None:
            current = copies.pop() if copies else self._incident(incident.id)
            if current.is_terminal or now < current.updated_at:
                return None
            outcome = _Outcome()
            self._apply_due(current, now, outcome)
            if current.version != current.saved_version:
                self._commit([current, *outcome.cascaded])
            return outcome

        return attempt

    def _apply_due(self, incident: Incident, now: datetime, outcome: _Outcome) -> None:
        policies = self.policies
        if policies.sla is not None:
            self._apply_stages(incident, policies.sla, now, outcome)
        if policies.hold_reminder_every is not None:
            _apply_reminder(incident, now, policies.hold_reminder_every, outcome)
        if policies.auto_close_after is not None:
            self._apply_auto_close(incident, now, policies.auto_close_after, outcome)
        # major incidents: the status-update cadence
        if policies.major is not None and incident.is_major:
            outcome.missed_updates += record_missed_updates(incident, policies.major, now)

    def _apply_stages(self, incident: Incident, sla: SlaPolicy, now: datetime,
                      outcome: _Outcome) -> None:
        rules = self.policies.escalation_rules
        for _round in range(_MAX_ROUNDS):
            recorded = {stage.key for stage in incident.sla_stages}
            again = False
            for clock in evaluate(incident.timeline(), sla, incident.workflow, now):
                if clock.cycle < 1:
                    continue
                metric = clock.metric.value
                for fraction, reached_at in _stage_instants(clock, rules):
                    if reached_at is None or (metric, clock.group, clock.cycle,
                                              fraction) in recorded:
                        continue
                    stage = incident.record_sla_stage(
                        metric=metric, group=clock.group, agreement=clock.agreement,
                        cycle=clock.cycle, fraction=fraction, reached_at=reached_at,
                        due_at=clock.due_at, actor=SYSTEM, at=now)
                    recorded.add(stage.key)
                    outcome.stages.append(stage)
                    if rules and incident.is_open:
                        for rule in matching_rules(
                                rules, metric=metric, group=clock.group, fraction=fraction,
                                priority=incident.priority.level, service=incident.service,
                                category=incident.category):
                            again = self._apply_rule(incident, rule, stage, now, outcome) or again
            if not again:
                return

    def _apply_rule(self, incident: Incident, rule: EscalationRule,
                    stage: IncidentSlaStageReached, now: datetime, outcome: _Outcome) -> bool:
        """Apply one rule's action; True when it changed what the clocks depend on."""
        action = rule.action
        reason = _reason(rule, stage)
        routing = self.policies.routing
        current = incident.assignment_group
        known = routing is not None and current is not None and current in routing.groups
        try:
            if action.kind is EscalationActionKind.HIERARCHICAL:
                role = action.role
                if role is None and known and routing is not None and current is not None:
                    role = routing.group(current).manager_role
                event = incident.escalate_hierarchically(
                    notified_role=role or self.policies.escalation_role, reason=reason,
                    actor=SYSTEM, at=now)
                outcome.escalations.append(EscalationApplied(incident.id, rule.name, stage,
                                                             event))
                return False
            if action.kind is EscalationActionKind.FUNCTIONAL:
                target = action.group
                if target is None:
                    following = (routing.next_group(current)
                                 if known and routing is not None and current is not None
                                 else None)
                    if following is None:
                        raise ValidationError(f"{incident.id}: group {current!r} has no next "
                                              "tier to escalate to", field="group")
                    target = following.name
                tier = (routing.group(target).tier
                        if routing is not None and target in routing.groups else None)
                event = incident.escalate_functionally(group=target, tier=tier, reason=reason,
                                                       actor=SYSTEM, at=now)
                outcome.escalations.append(EscalationApplied(incident.id, rule.name, stage,
                                                             event))
                return True
            level = incident.priority.level
            wanted = level - 1 if action.priority is None else action.priority
            if wanted < 1 or wanted >= level:
                raise ValidationError(f"{incident.id} already has priority {level}"
                                      + (" (the highest)" if level == 1 else
                                         f", as high as {wanted} or higher"), field="priority")
            raised = incident.override_priority(
                wanted, self.policies.priority_matrix,
                justification=f"Raised automatically: {reason}", actor=SYSTEM, at=now)
            outcome.raises.append(PriorityRaised(incident.id, rule.name, stage, raised))
            return True
        except ItilIncidentError as error:
            outcome.skipped.append(SkippedIncident(
                incident.id, f"escalation rule {rule.name!r} ({action.describe()}) not "
                f"applied: {error}", rule=rule.name, error=error))
            return False

    def _apply_auto_close(self, incident: Incident, now: datetime, after: timedelta,
                          outcome: _Outcome) -> None:
        definition = incident.workflow.state(incident.status)
        if not definition.resolved or definition.terminal or incident.awaits_review:
            return
        since = incident.status_since
        caller = incident.caller
        if caller is not None:
            for event in incident.timeline():
                if (isinstance(event, IncidentNoteAdded) and event.at > since
                        and event.visibility is NoteVisibility.COMMENT
                        and event.actor.id == caller):
                    since = event.at
        calendar = self.policies.auto_close_calendar
        try:
            due = since + after if calendar is None else calendar.add(since, after)
        except OverflowError:  # beyond the last representable instant: never due
            return
        if now < due:
            return
        closed = incident.close(actor=SYSTEM, at=now, code=AUTO_CLOSED, caller_confirmed=None)
        if self.policies.cascade_resolution:
            # As ``close`` does: the children open again are resolved first, or else the
            # parent stays resolved (a refusal raises: nothing of the incident is committed).
            batch = IncidentBatch(self._incident, incident)
            try:
                self._cascade(incident, batch, SYSTEM, now)
            except InvalidTransitionError as refused:
                raise InvalidTransitionError(
                    refused.state, refused.trigger, refused.allowed,
                    reason=f"{incident.id} is not auto-closed: {refused.reason}") from None
            outcome.cascaded += [child for child in batch.changed() if child is not incident]
        outcome.closes.append(closed)


def _apply_reminder(incident: Incident, now: datetime, every: timedelta,
                    outcome: _Outcome) -> None:
    if incident.hold_reason != _AWAITING_CALLER or incident.is_terminal:
        return
    elapsed = (now - incident.status_since) // every
    if elapsed >= 1 and elapsed > incident.reminders_sent(_AWAITING_CALLER):
        outcome.reminders.append(incident.send_reminder(_AWAITING_CALLER, elapsed,
                                                        actor=SYSTEM, at=now))


def _stage_instants(clock: ClockState, rules: Iterable[EscalationRule]
                    ) -> list[tuple[float, datetime | None]]:
    """The clock's alert stages and the stages of the rules that watch it, with the instant
    each was reached in the current cycle (None: not yet), by fraction."""
    found = {stage.fraction: stage.reached_at for stage in clock.stages}
    metric = clock.metric.value
    for rule in rules:
        if rule.stage not in found and rule.applies_to_clock(metric, clock.group):
            found[rule.stage] = _reached(clock, rule.stage)
    return sorted(found.items())


def _reached(clock: ClockState, fraction: float) -> datetime | None:
    """When the clock's counted time reached ``fraction`` of its target, not before its
    current cycle started (as ``evaluate`` computes its own stages)."""
    if clock.cycle_started_at is None:
        return None
    try:
        amount = clock.target * fraction
    except OverflowError:  # a stage so far beyond the target is never reached
        return None
    total = timedelta(0)
    for start, end in clock.counted:
        span = end - start
        if total + span >= amount:
            return max(start + (amount - total), clock.cycle_started_at)
        total += span
    return None


def _reason(rule: EscalationRule, stage: IncidentSlaStageReached) -> str:
    clock = ("SLA" if stage.group is None else f"OLA of group {stage.group!r}")
    return (f"escalation rule {rule.name!r}: the {stage.metric} clock ({clock} "
            f"{stage.agreement!r}) reached {_percent(stage.fraction)} of its target "
            f"(cycle {stage.cycle})")


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.10g} %"


def _selected(clock: ClockState, state: str, threshold: float) -> bool:
    status = clock.status
    if state == "breached":
        return status is ClockStatus.BREACHED and clock.stopped_at is None
    if state == "paused":
        return status is ClockStatus.PAUSED
    if status is not ClockStatus.RUNNING:
        return False
    return state == "running" or clock.percent_used >= threshold
