"""The service desk's monitoring-alert commands (mixed into :class:`ServiceDesk`).

One alert goes through :meth:`AlertCommands.ingest_alert`: its fields are checked (a refusal
is counted by reason, then raised), then its key's group decides what happens. A repeat that
changes nothing on the incident (not a higher severity, not a recovery) only updates the group
in the alert store: no incident event, no repository write.

Writes: the group is saved first, then the incident(s) committed. If the commit fails the group
is put back, so a refused alert changes nothing. If the process dies between the two writes,
the group is ahead of the incidents: an opening whose incident was never stored points to an
id the repository does not know, and the key's next alert opens a new incident (no double
incident, no alert lost from the counts); a severity raise or recovery is missing from the
incident's history, while the group counts the alert.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from itil_incident._desk_core import DeskCore
from itil_incident.alerts._policy import AlertPolicy
from itil_incident.alerts._store import AlertGroup, AlertStatistics
from itil_incident.alerts._values import (
    AlertOutcome,
    AlertOutcomeKind,
    AlertRejectedError,
    alert_time,
    key_of,
    optional_name,
    payload_size,
    payload_text,
    severity_of,
    source_of,
    summary_of,
)
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import CategoryPath, Channel
from itil_incident.errors import (
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from itil_incident.policies.priority import PriorityMatrix

__all__ = ["AlertCommands"]

_CLEAR = AlertSeverity.CLEAR
_FOLDED = AlertOutcomeKind.FOLDED
_SEVERITIES = {member.value: member for member in AlertSeverity}
_RANK = {member: member.rank for member in AlertSeverity}
_MAX_NAME = 200
_MAX_SUMMARY = 300


class AlertCommands(DeskCore):
    """Monitoring alerts: deduplicate by key into incidents, recover, hold flapping keys."""

    _alert_lock: threading.Lock
    #: the shared outcome of a repeat, per key (see ``_ingest``)
    _fold_outcomes: dict[str, AlertOutcome]
    #: the repository's ``is_incident_open``; False: it has none; None: not looked up yet
    _open_reader: Callable[[str], bool] | Literal[False] | None

    def ingest_alert(
        self,
        source: str,
        dedup_key: str,
        severity: AlertSeverity | str,
        summary: str,
        *,
        service: str | None = None,
        configuration_item: str | None = None,
        payload: object = None,
        at: datetime | None = None,
    ) -> AlertOutcome:
        """Take one monitoring alert and say what became of it.

        - No open incident holds ``dedup_key``: a new incident opens (channel monitoring,
          impact and urgency from ``policies.alerts``), holding the key.
        - An open incident holds it: the alert folds into it (the group's count, first and
          last seen); a severity above any before is recorded on the incident, and raises its
          impact and urgency as the policy maps them (never lowers them).
        - A recovery (severity ``"clear"``) resolves the open incident (or, per policy, is only
          recorded on it); without an open incident it is counted as cleared.
        - A key that starts firing again more than ``flap_threshold`` times within
          ``flap_window`` is flapping: its alerts are held, changing no incident, and reported
          by :meth:`flapping_alerts`.

        An alert whose key was resolved, closed or cancelled opens a new incident (a resolved
        one gives up the key, audited). ``at`` is when the source saw the condition (default:
        now); ``payload`` a JSON object of at most ``max_payload_bytes``. A bad alert raises
        :class:`~itil_incident.AlertRejectedError` (a ValidationError with a ``reason``) and is
        counted in :meth:`alert_statistics`.
        """
        policy = self.policies.alerts
        # The common case, decided with a few C-level checks: printable ASCII names of
        # acceptable lengths (a first character that is not a space: not blank), a severity
        # named in lower case, an instant in UTC. Anything else goes through the checks
        # that name the field and the reason.
        level = _SEVERITIES.get(severity) if type(severity) is str else None
        if not (
            level is not None
            and type(source) is str and type(dedup_key) is str and type(summary) is str
            and 0 < len(source) <= _MAX_NAME and 0 < len(dedup_key) <= _MAX_NAME
            and 0 < len(summary) <= _MAX_SUMMARY
            and source[0] != " " and dedup_key[0] != " " and summary[0] != " "
            and (joined := source + dedup_key + summary).isascii() and joined.isprintable()
            and (type(at) is datetime and at.tzinfo is UTC)
        ) or service is not None or configuration_item is not None:
            try:
                source = source_of(source)
                dedup_key = key_of(dedup_key)
                level = severity_of(severity)
                summary = summary_of(summary)
                service = optional_name(service, "service")
                configuration_item = optional_name(configuration_item, "configuration_item")
                when = self._now() if at is None else alert_time(at)
            except AlertRejectedError as refused:
                self.alert_store.count_refusal(refused.reason)
                raise
        else:
            when = at
        body: dict[str, object] | None = None
        if payload is not None:
            try:
                body = payload_size(payload, policy.max_payload_bytes)
            except AlertRejectedError as refused:
                self.alert_store.count_refusal(refused.reason)
                raise
        self._authorize(policy.actor, "ingest_alert", None)
        with self._alert_lock:
            # The fast path: a repeat that changes nothing on the incident (same or lower
            # severity, the key firing and not flapping, its incident open, within the
            # window) is one conditional write of the group.
            store = self.alert_store
            group = store.peek_group(dedup_key)
            if (group is not None and group.firing and not group.flapping
                    and level is not _CLEAR):
                highest, incident_id = group.highest, group.incident_id
                last, window = group.last_seen, policy.grouping_window
                reader = self._open_reader
                if (highest is not None and incident_id is not None and last is not None
                        and _RANK[level] <= _RANK[highest]
                        and (window is None or when - last <= window)
                        and (reader(incident_id) if reader
                             else self._incident_is_open(incident_id))
                        and store.record_fold(dedup_key, group.version, when)):
                    # Outcomes are immutable: the repeats of one incident share one.
                    outcome = self._fold_outcomes.get(dedup_key)
                    if outcome is None or outcome.incident_id != incident_id:
                        outcome = AlertOutcome(_FOLDED, dedup_key, incident_id)
                        self._fold_outcomes[dedup_key] = outcome
                    return outcome
            return self._ingest(policy, source, dedup_key, level, summary,
                                service, configuration_item, body, when)

    # ----------------------------------------------------------------- queries

    def alert_group(self, dedup_key: str) -> AlertGroup:
        """The group of ``dedup_key`` (NotFoundError when the key was never seen)."""
        if type(dedup_key) is not str:
            raise NotFoundError("alert group", repr(dedup_key))
        group = self.alert_store.get_group(dedup_key)
        if group is None:
            raise NotFoundError("alert group", dedup_key)
        return group

    def alert_groups(self, *, flapping: bool | None = None) -> list[AlertGroup]:
        """Every alert group, ordered by key; only the flapping ones (True) or the others
        (False) when asked."""
        if flapping is not None and type(flapping) is not bool:
            raise ValidationError(f"flapping must be True, False or None, got {flapping!r}",
                                  field="flapping")
        return self.alert_store.list_groups(flapping=flapping)

    def flapping_alerts(self) -> list[AlertGroup]:
        """The keys whose alerts are held because they flap, ordered by key."""
        return self.alert_store.list_groups(flapping=True)

    def alert_statistics(self) -> AlertStatistics:
        """Every alert this desk's store has seen, by outcome; refused ones also by reason."""
        store = self.alert_store
        refusals = store.refusal_counts()
        counts = store.outcome_counts()
        counts[AlertOutcomeKind.REFUSED] = sum(refusals.values())
        return AlertStatistics(counts, refusals)

    # ----------------------------------------------------------------- the decision

    def _ingest(self, policy: AlertPolicy, source: str, key: str, level: AlertSeverity,
                summary: str, service: str | None, item: str | None,
                body: dict[str, object] | None, when: datetime) -> AlertOutcome:
        """Everything but the fast path (in :meth:`ingest_alert`)."""
        store = self.alert_store
        group = store.get_group(key)
        if group is None:
            group = AlertGroup(dedup_key=key, source=source)
        group.version += 1
        recovery = level is _CLEAR
        onset = not recovery and not group.firing
        last = group.last_seen
        if onset or group.flapping:
            _track_flapping(group, policy, when, last, onset)
        group.firing = not recovery
        if last is None or when > last:
            group.last_seen = when
        if group.flapping:
            group.held += 1
            store.save_group(group)
            return AlertOutcome(AlertOutcomeKind.HELD, key, None,
                                f"flapping: started firing more than "
                                f"{policy.flap_threshold} times within {policy.flap_window}")
        incident_id = group.incident_id
        live = incident_id is not None and self._incident_is_open(incident_id)
        if recovery:
            if not live or incident_id is None:
                group.cleared += 1
                store.save_group(group)
                return AlertOutcome(AlertOutcomeKind.CLEARED, key, None,
                                    "no open incident holds the key")
            return self._recover(policy, group, incident_id, when)
        window = policy.grouping_window
        if live and incident_id is not None and (
                window is None or last is None or when - last <= window):
            group.count += 1
            first = group.first_seen
            if first is None or when < first:
                group.first_seen = when
            highest = group.highest
            if highest is None or level > highest:
                return self._raise_severity(policy, group, incident_id, level, when)
            group.folded += 1
            store.save_group(group)
            return AlertOutcome(_FOLDED, key, incident_id)
        return self._open(policy, group, source, level, summary, service, item, body, when,
                          live)

    def _open(self, policy: AlertPolicy, group: AlertGroup, source: str, level: AlertSeverity,
              summary: str, service: str | None, item: str | None,
              body: dict[str, object] | None, when: datetime, live: bool) -> AlertOutcome:
        actor = policy.actor
        now = self._now()
        key = group.dedup_key
        previous: Incident | None = None
        if group.incident_id is not None:
            try:
                previous = self._incident(group.incident_id)
            except NotFoundError:  # an opening lost between the group and the incident
                previous = None
            if previous is not None and (previous.is_terminal or previous.alert_key != key):
                previous = None
        text = None if body is None else payload_text(body, policy.max_payload_bytes)
        incident = self._alert_incident(policy, source, level, summary, service, item, when,
                                        now)
        incident.open_alert_group(source=source, dedup_key=key, severity=level,
                                  summary=summary, alert_at=when, payload=text, actor=actor,
                                  at=now)
        records = [incident]
        if previous is not None:
            reason = (f"the key stayed quiet for longer than the grouping window "
                      f"({policy.grouping_window})"
                      if live else f"{previous.id} was {previous.status}")
            previous.release_alert_group(reason=f"{reason}; {incident.id} holds the key now",
                                         alert_count=max(group.count, 1), actor=actor, at=now)
            records.append(previous)
        group.source = source
        group.incident_id = incident.id
        group.count = 1
        group.first_seen = group.last_seen = when
        group.highest = level
        group.opened += 1
        self._save_and_commit(group, records)
        return AlertOutcome(AlertOutcomeKind.OPENED, key, incident.id)

    def _alert_incident(self, policy: AlertPolicy, source: str, level: AlertSeverity,
                        summary: str, service: str | None, item: str | None, when: datetime,
                        now: datetime) -> Incident:
        """A new incident for an alert (not stored yet), categorized and routed as any."""
        policies = self.policies
        items = () if item is None else (item,)
        category: CategoryPath | None = None
        rule: str | None = None
        if policy.category is not None:
            category = self._category(policy.category)
        elif policies.categorizer is not None:
            match = policies.categorizer.categorize(
                title=summary, description="", service=service, configuration_items=items,
                channel=Channel.MONITORING)
            if match is not None:
                category, rule = match.category, match.rule
        group: str | None = policy.assignment_group
        tier: int | None = None
        routing_rule: str | None = None
        routing = policies.routing
        if group is not None:
            if routing is not None:
                tier = routing.group(group).tier
        elif routing is not None:
            route = routing.route(category=category, service=service)
            if route is not None:
                group, tier, routing_rule = route.group, route.tier, route.rule
        impact, urgency = _levels(policy, level, service, policies.priority_matrix)
        return Incident.log(
            incident_id=self.ids.next_incident_id, workflow=policies.incident_workflow,
            matrix=policies.priority_matrix, actor=policy.actor, at=now, title=summary,
            description=f"Opened by a {level.value} alert from {source}.",
            service=service, configuration_items=items, channel=Channel.MONITORING,
            impact=impact, urgency=urgency, occurred_at=when if when <= now else None,
            detected_at=now, category=category, category_rule=rule, assignment_group=group,
            support_tier=tier, routing_rule=routing_rule)

    def _raise_severity(self, policy: AlertPolicy, group: AlertGroup, incident_id: str,
                        level: AlertSeverity, when: datetime) -> AlertOutcome:
        incident = self._incident(incident_id)
        group.highest = level
        group.folded += 1
        current = incident.alert_severity
        if incident.alert_key != group.dedup_key or (current is not None and level <= current):
            self.alert_store.save_group(group)  # the incident knows already (after a crash)
            return AlertOutcome(_FOLDED, group.dedup_key, incident_id)
        now = self._now()
        actor = policy.actor
        incident.raise_alert_severity(level, alert_at=when, actor=actor, at=now)
        impact, urgency = _levels(policy, level, incident.service,
                                  self.policies.priority_matrix)
        impact = min(impact, incident.impact.level)
        urgency = min(urgency, incident.urgency.level)
        if (impact, urgency) != (incident.impact.level, incident.urgency.level):
            incident.reprioritize(self.policies.priority_matrix, actor=actor, at=now,
                                  impact=impact, urgency=urgency)
        self._save_and_commit(group, [incident])
        return AlertOutcome(_FOLDED, group.dedup_key, incident_id,
                            f"severity raised to {level.value}")

    def _recover(self, policy: AlertPolicy, group: AlertGroup, incident_id: str,
                 when: datetime) -> AlertOutcome:
        incident = self._incident(incident_id)
        key = group.dedup_key
        group.count += 1
        if incident.alert_key != key:  # only after a crash between group and incident
            group.cleared += 1
            self.alert_store.save_group(group)
            return AlertOutcome(AlertOutcomeKind.CLEARED, key, None,
                                f"{incident_id} does not hold the key")
        now = self._now()
        actor = policy.actor
        incident.record_alert_recovery(alert_at=when, alert_count=group.count, actor=actor,
                                       at=now)
        reason: str | None = "the policy leaves recovered incidents open"
        if policy.resolve_on_recovery:
            try:
                self._authorize(actor, "resolve", incident)
                incident.resolve(
                    code=policy.resolution_code,
                    notes=f"Monitoring reported the recovery of {key} "
                          f"({group.count} alerts).",
                    actor=actor, at=now, codes=self.policies.resolution_codes)
            except (InvalidTransitionError, PermissionDeniedError, ValidationError) as refused:
                reason = f"not resolved: {refused}"
            else:
                reason = None
        if reason is None:
            group.resolved += 1
            kind = AlertOutcomeKind.RESOLVED
        else:
            group.recovered += 1
            kind = AlertOutcomeKind.RECOVERED
        self._save_and_commit(group, [incident])
        return AlertOutcome(kind, key, incident_id, reason)

    def _save_and_commit(self, group: AlertGroup, records: list[Incident]) -> None:
        """Save the group, then commit the incidents; put the group back if that fails."""
        store = self.alert_store
        before = store.get_group(group.dedup_key)
        store.save_group(group)
        try:
            self._commit(records)
        except BaseException:
            if before is None:
                store.discard_group(group.dedup_key, group.version)
            else:
                before.version = group.version + 1
                before.saved_version = group.version
                store.save_group(before)
            raise

    def _incident_is_open(self, incident_id: str) -> bool:
        """Whether the incident exists and is neither resolved nor ended; asked of the
        repository's ``is_incident_open`` when it has one (a cheap read), else by loading."""
        reader = self._open_reader
        if reader is None:
            found = getattr(self.repository, "is_incident_open", None)
            reader = self._open_reader = found if callable(found) else False
        if reader is not False:
            return bool(reader(incident_id))
        try:
            return self._incident(incident_id).is_open
        except NotFoundError:
            return False


def _track_flapping(group: AlertGroup, policy: AlertPolicy, when: datetime,
                    last: datetime | None, onset: bool) -> None:
    """Keep the onsets within the flap window (measured back from the latest alert) and
    decide whether the key flaps: more than ``flap_threshold`` onsets within it."""
    latest = when if last is None or when > last else last
    cutoff = latest - policy.flap_window
    onsets = tuple(t for t in group.onsets if t > cutoff)
    if onset:
        onsets = (*onsets, when)
    # Only the latest threshold + 1 onsets can decide; older ones are not kept.
    onsets = onsets[-(policy.flap_threshold + 1):]
    group.onsets = onsets
    flapping = len(onsets) > policy.flap_threshold
    if flapping and not group.flapping:
        group.held_since = when
    elif not flapping:
        group.held_since = None
    group.flapping = flapping


def _levels(policy: AlertPolicy, level: AlertSeverity, service: str | None,
            matrix: PriorityMatrix) -> tuple[int, int]:
    """The policy's (impact, urgency) for an alert, capped to the levels of ``matrix``."""
    impact, urgency = policy.impact_urgency(level, service)
    return min(impact, len(matrix.impacts)), min(urgency, len(matrix.urgencies))
