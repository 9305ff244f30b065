"""The service desk's monitoring-alert commands (mixed into :class:`ServiceDesk`).

One alert goes through :meth:`AlertCommands.ingest_alert`, a batch through
:meth:`AlertCommands.ingest_alerts`: each alert's fields are checked (a refusal is counted by
reason, then raised or reported), then its key's group decides what happens. A repeat that
changes nothing on the incident (not a higher severity, not a recovery) only updates the group
in the alert store: no incident event, no repository write (the fast path, here). Anything
else is decided in :mod:`itil_incident._alert_decisions`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from itil_incident._alert_decisions import AlertDecisions
from itil_incident.alerts._store import AlertGroup, AlertStatistics
from itil_incident.alerts._values import (
    AlertInput,
    AlertOutcome,
    AlertOutcomeKind,
    AlertRejectedError,
    alert_time,
    key_of,
    optional_name,
    payload_size,
    severity_of,
    source_of,
    summary_of,
)
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.errors import NotFoundError, PermissionDeniedError, ValidationError

__all__ = ["AlertCommands"]

_CLEAR = AlertSeverity.CLEAR
_FOLDED = AlertOutcomeKind.FOLDED
_REFUSED = AlertOutcomeKind.REFUSED
_SEVERITIES = {member.value: member for member in AlertSeverity}
_RANK = {member: member.rank for member in AlertSeverity}
#: How many checked names (and, apart, summaries) a desk remembers; it forgets them all
#: beyond that, and checks them again.
_REMEMBERED: Final = 100_000


class AlertCommands(AlertDecisions):
    """Monitoring alerts: deduplicate by key into incidents, recover, hold flapping keys."""

    _alert_lock: threading.Lock
    #: the shared outcome of a repeat, per key (see ``ingest_alert``)
    _fold_outcomes: dict[str, AlertOutcome]
    #: strings that passed the checks of a name (source, key, service, configuration item:
    #: at most 200 characters) or of a summary (see ``_fields``)
    _alert_names: set[str]
    _alert_summaries: set[str]

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
        counted in :meth:`alert_statistics`. Many alerts at once: :meth:`ingest_alerts`.
        """
        # The same steps as in a batch (``_ingest_batch``), written out for one alert: a call
        # then costs no batch set-up. Tests check that both give the same outcomes.
        policy = self.policies.alerts
        level = _SEVERITIES.get(severity) if type(severity) is str else None
        names = self._alert_names
        if level is None or not (
                type(source) is str and source in names
                and type(dedup_key) is str and dedup_key in names
                and type(summary) is str and summary in self._alert_summaries
                and (service is None or (type(service) is str and service in names))
                and (configuration_item is None
                     or (type(configuration_item) is str and configuration_item in names))
                and type(at) is datetime and at.tzinfo is UTC):
            try:
                source, dedup_key, level, summary, service, configuration_item, when = (
                    self._fields(source, dedup_key, severity, summary, service,
                                 configuration_item, at))
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
        actor = policy.actor
        if not self.authorizer.is_allowed(actor, "ingest_alert", None):
            raise PermissionDeniedError(actor.id, "ingest_alert", None)
        lock = self._alert_lock
        lock.acquire()  # not ``with``, which costs more on this path
        try:
            store = self.alert_store
            group = store.peek_group(dedup_key)
            if (group is not None and group.firing and not group.flapping
                    and level is not _CLEAR):
                highest, incident_id, last = group.highest, group.incident_id, group.last_seen
                window = policy.grouping_window
                reader = self._open_reader
                if (highest is not None and incident_id is not None and last is not None
                        and _RANK[level] <= _RANK[highest]
                        and (window is None or when - last <= window)
                        and (reader(incident_id) if reader
                             else self._incident_is_open(incident_id))
                        and store.record_fold(dedup_key, group.version, when)):
                    outcome = self._fold_outcomes.get(dedup_key)
                    if outcome is None or outcome.incident_id != incident_id:
                        outcome = AlertOutcome(_FOLDED, dedup_key, incident_id)
                        self._fold_outcomes[dedup_key] = outcome
                    return outcome
            return self._ingest(policy, source, dedup_key, level, summary, service,
                                configuration_item, body, when)
        finally:
            lock.release()

    def ingest_alerts(self, alerts: Iterable[AlertInput]) -> list[AlertOutcome]:
        """Take a batch of alerts, in order; the outcome of each, in the same order.

        Each alert goes exactly as through :meth:`ingest_alert`, one after the other, except
        that a bad alert does not stop the batch: it is counted as a refusal, as always, and
        reported in the list as an outcome of kind ``refused`` (its ``refusal`` says why, its
        ``reason`` is the error's message), and the next alert goes on. The batch is cheaper
        than as many calls: it takes the desk's alert lock once (no other alert of this desk
        goes in between) and looks its ports up once.

        ``alerts`` must hold :class:`~itil_incident.AlertInput` values (else a
        ValidationError, and nothing is ingested). An error that is not a refusal (the
        authorizer's :class:`~itil_incident.PermissionDeniedError`, a concurrent change, a
        storage failure) stops the batch where it happens: the alerts before it are
        ingested, that one and the rest are not (a note on the error says how many).
        """
        batch = _listed(alerts)
        if set(map(type, batch)) - {AlertInput}:
            for index, alert in enumerate(batch):
                if not isinstance(alert, AlertInput):
                    raise ValidationError(f"alerts[{index}] is a {type(alert).__name__}, not "
                                          "an AlertInput", field="alerts")
        return self._ingest_batch(batch)

    def _ingest_batch(self, batch: list[Any]) -> list[AlertOutcome]:
        """The alerts of ``batch`` (``AlertInput`` values), one after the other, under the
        desk's alert lock: the steps of ``ingest_alert``, with the look-ups made once."""
        policy = self.policies.alerts
        limit, window, actor = policy.max_payload_bytes, policy.grouping_window, policy.actor
        store = self.alert_store
        peek, fold, count_refusal = store.peek_group, store.record_fold, store.count_refusal
        allowed = self.authorizer.is_allowed
        is_open = self._open_check()
        names, summaries, shared = self._alert_names, self._alert_summaries, self._fold_outcomes
        severities, rank = _SEVERITIES, _RANK
        outcomes: list[AlertOutcome] = []
        append = outcomes.append
        body: dict[str, object] | None
        with self._alert_lock:
            try:
                for source, key, severity, summary, service, item, payload, at in batch:
                    try:
                        # Every field is checked; a string that passed the checks before is
                        # remembered (strings are immutable), so the common alert is decided
                        # with a few set lookups. Anything else goes through the checks that
                        # name the field and the reason.
                        level = severities.get(severity) if type(severity) is str else None
                        if level is None or not (
                                type(source) is str and source in names
                                and type(key) is str and key in names
                                and type(summary) is str and summary in summaries
                                and (service is None
                                     or (type(service) is str and service in names))
                                and (item is None or (type(item) is str and item in names))
                                and type(at) is datetime and at.tzinfo is UTC):
                            source, key, level, summary, service, item, when = self._fields(
                                source, key, severity, summary, service, item, at)
                        else:
                            when = at
                        body = None if payload is None else payload_size(payload, limit)
                    except AlertRejectedError as refused:
                        count_refusal(refused.reason)
                        append(AlertOutcome(_REFUSED, key if type(key) is str else "", None,
                                            str(refused), refused.reason))
                        continue
                    if not allowed(actor, "ingest_alert", None):
                        raise PermissionDeniedError(actor.id, "ingest_alert", None)
                    # The fast path: a repeat that changes nothing on the incident (same or
                    # lower severity, the key firing and not flapping, its incident open,
                    # within the window) is one conditional write of the group.
                    group = peek(key)
                    if (group is not None and group.firing and not group.flapping
                            and level is not _CLEAR):
                        highest, incident_id, last = (group.highest, group.incident_id,
                                                      group.last_seen)
                        if (highest is not None and incident_id is not None
                                and last is not None and rank[level] <= rank[highest]
                                and (window is None or when - last <= window)
                                and is_open(incident_id)
                                and fold(key, group.version, when)):
                            # Outcomes are immutable: the repeats of one incident share one.
                            outcome = shared.get(key)
                            if outcome is None or outcome.incident_id != incident_id:
                                outcome = shared[key] = AlertOutcome(_FOLDED, key, incident_id)
                            append(outcome)
                            continue
                    append(self._ingest(policy, source, key, level, summary, service, item,
                                        body, when))
            except BaseException as error:
                error.add_note(f"ingest_alerts: the batch stopped at alerts[{len(outcomes)}]; "
                               f"the {len(outcomes)} alert(s) before it were ingested")
                raise
        return outcomes

    def _fields(self, source: object, key: object, severity: object, summary: object,
                service: object, item: object, at: object
                ) -> tuple[str, str, AlertSeverity, str, str | None, str | None, datetime]:
        """Every field checked, in order (AlertRejectedError for the first bad one); the
        strings that pass are remembered for the next alerts."""
        checked = (source_of(source), key_of(key), severity_of(severity), summary_of(summary),
                   optional_name(service, "service"),
                   optional_name(item, "configuration_item"),
                   self._now() if at is None else alert_time(at))
        names, summaries = self._alert_names, self._alert_summaries
        if len(names) > _REMEMBERED:
            names.clear()
        if len(summaries) > _REMEMBERED:
            summaries.clear()
        for name in checked[:2] + checked[4:6]:
            if type(name) is str:
                names.add(name)
        if type(checked[3]) is str:
            summaries.add(checked[3])
        return checked

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


def _listed(alerts: object) -> list[Any]:
    if isinstance(alerts, AlertInput):
        raise ValidationError("alerts must be a collection of AlertInput, not one AlertInput",
                              field="alerts")
    if isinstance(alerts, (str, bytes, Mapping)) or not isinstance(alerts, Iterable):
        raise ValidationError(f"alerts must be a collection of AlertInput, got "
                              f"{type(alerts).__name__}", field="alerts")
    return list(alerts)
