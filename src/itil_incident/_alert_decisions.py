"""What an alert does to its key's group and incidents, once it is checked: the slow path of
:meth:`~itil_incident.ServiceDesk.ingest_alert` (openings, severity raises, recoveries, held
and cleared alerts), mixed into :class:`ServiceDesk` through
:class:`~itil_incident._alert_commands.AlertCommands`.

Writes: the group is saved first, then the incident(s) committed. If the commit fails the group
is put back, so a refused alert changes nothing. If the process dies between the two writes,
the group is ahead of the incidents: an opening whose incident was never stored points to an
id the repository does not know, and the key's next alert opens a new incident (no double
incident, no alert lost from the counts); a severity raise or recovery is missing from the
incident's history, while the group counts the alert.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from itil_incident._desk_core import DeskCore
from itil_incident.alerts._policy import AlertPolicy
from itil_incident.alerts._store import AlertGroup
from itil_incident.alerts._values import AlertOutcome, AlertOutcomeKind, payload_text
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

__all__ = ["AlertDecisions"]

_CLEAR = AlertSeverity.CLEAR
_FOLDED = AlertOutcomeKind.FOLDED


class AlertDecisions(DeskCore):
    """The decision for one checked alert that is not a plain repeat."""

    #: the repository's ``is_incident_open``; False: it has none; None: not looked up yet
    _open_reader: Callable[[str], bool] | Literal[False] | None

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
        """Whether the incident exists and is neither resolved nor ended."""
        return self._open_check()(incident_id)

    def _open_check(self) -> Callable[[str], bool]:
        """The repository's ``is_incident_open`` when it has one (a cheap read), else a check
        that loads the incident."""
        reader = self._open_reader
        if reader is None:
            found = getattr(self.repository, "is_incident_open", None)
            reader = self._open_reader = found if callable(found) else False
        return self._loaded_is_open if reader is False else reader

    def _loaded_is_open(self, incident_id: str) -> bool:
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
