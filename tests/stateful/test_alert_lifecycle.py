"""Monitoring alerts and people act on the same incidents, under random sequences: a small model
of the alert rules predicts what becomes of every alert, and after every step at most one open
incident holds each deduplication key, and every alert is in its key's group (folded into an
incident, cleared or held as flapping) or refused with a reason, the counts adding up.

The machine extends the desk's own state machine (:class:`~itil_incident.testing.
DeskStateMachine`): its lifecycle commands also apply to the incidents alerts open, and its
invariants (every incident agrees with the lifecycle model and its own history, every event is
notified once) hold for them too.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import MultipleResults, invariant, multiple, rule

from itil_incident import (
    AlertInput,
    AlertOutcomeKind,
    AlertPolicy,
    AlertRefusal,
    AlertRejectedError,
    AlertSeverity,
    DeskPolicies,
    ServiceDesk,
)
from itil_incident.testing import DeskStateMachine, make_desk
from itil_incident.testing.stateful import _OPEN, _TERMINAL, _Expected

KEYS = ("db-1/cpu", "web-1/disk")
FLAP_THRESHOLD = 1
FLAP_WINDOW = timedelta(hours=1)
POLICY = AlertPolicy(flap_threshold=FLAP_THRESHOLD, flap_window=FLAP_WINDOW)
SOON = st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=40))
SEVERITIES = st.sampled_from([s.value for s in AlertSeverity])

#: Bad alerts (the arguments that differ from a good one) and the reason each is refused for.
BAD_ALERTS: tuple[tuple[dict[str, Any], AlertRefusal], ...] = (
    ({"dedup_key": ""}, AlertRefusal.MISSING_KEY),
    ({"dedup_key": None}, AlertRefusal.MISSING_KEY),
    ({"severity": "apocalyptic"}, AlertRefusal.UNKNOWN_SEVERITY),
    ({"payload": {"blob": "x" * 20_000}}, AlertRefusal.OVERSIZED_PAYLOAD),
    ({"payload": {"when": datetime(2026, 1, 5)}}, AlertRefusal.INVALID_PAYLOAD),
    ({"summary": "  "}, AlertRefusal.MISSING_SUMMARY),
    ({"at": datetime(2026, 1, 5, 9)}, AlertRefusal.INVALID_TIME),
)

#: Batches: good alerts of distinct keys and bad alerts, in any order.
BATCHES = st.tuples(
    st.lists(st.tuples(st.sampled_from(KEYS), SEVERITIES), unique_by=lambda alert: alert[0]),
    st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(BAD_ALERTS)), max_size=3),
).flatmap(lambda parts: st.permutations([*parts[0], *parts[1]]))


@attrs.define
class KeyModel:
    """What the model knows of one key."""

    incident_id: str | None = None
    highest: int = 0
    firing: bool = False
    flapping: bool = False
    onsets: list[datetime] = attrs.Factory(list)
    outcomes: Counter[AlertOutcomeKind] = attrs.Factory(Counter)


class AlertLifecycleMachine(DeskStateMachine):
    """The desk's state machine plus alerts on a few keys, good and bad."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, KeyModel] = {}
        self.refused: Counter[AlertRefusal] = Counter()
        self.ingested = 0

    def make_desk(self) -> ServiceDesk:
        return make_desk(policies=DeskPolicies(alerts=POLICY))

    # ----------------------------------------------------------------- rules

    @rule(target=DeskStateMachine.incidents, key=st.sampled_from(KEYS), severity=SEVERITIES,
          elapsed=SOON)
    def ingest_an_alert(self, key: str, severity: str, elapsed: timedelta
                        ) -> MultipleResults[str]:
        return multiple(*self._alert(key, severity, elapsed))

    @rule(target=DeskStateMachine.incidents, key=st.sampled_from(KEYS),
          cycles=st.integers(min_value=1, max_value=3))
    def flap_a_key(self, key: str, cycles: int) -> MultipleResults[str]:
        """The key fires and recovers a few times in quick succession."""
        opened: list[str] = []
        for _ in range(cycles):
            opened += self._alert(key, "critical", timedelta(minutes=2))
            opened += self._alert(key, "clear", timedelta(minutes=2))
        return multiple(*opened)

    def _alert(self, key: str, severity: str, elapsed: timedelta) -> list[str]:
        now = self.clock.advance(elapsed)
        model = self.keys.setdefault(key, KeyModel())
        expected, previous = self._predict(model, AlertSeverity(severity), now)
        outcome = self.desk.ingest_alert("monitor", key, severity, f"{key} is alerting",
                                         at=now)
        self.ingested += 1
        event(f"alert: {expected.value}")
        assert outcome.kind is expected, (outcome, expected)
        model.outcomes[expected] += 1
        return self._follow(model, AlertSeverity(severity), outcome.incident_id, expected,
                            previous)

    @rule(target=DeskStateMachine.incidents, elapsed=SOON, batch=BATCHES)
    def ingest_a_batch(self, elapsed: timedelta,
                       batch: list[tuple[str, str | tuple[dict[str, Any], AlertRefusal]]]
                       ) -> MultipleResults[str]:
        """Several alerts, good and bad, in one ``ingest_alerts`` call (at one instant). At
        most one good alert a key, so that the model can follow each incident it changes (the
        property tests compare longer batches with the same alerts one by one)."""
        now = self.clock.advance(elapsed)
        alerts = []
        for key, what in batch:
            fields = what[0] if isinstance(what, tuple) else {"severity": what}
            alerts.append(AlertInput(**{"source": "monitor", "dedup_key": key,
                                        "severity": "critical", "summary": f"{key} is alerting",
                                        "at": now, **fields}))
        outcomes = self.desk.ingest_alerts(alerts)
        assert len(outcomes) == len(batch)
        opened: list[str] = []
        for (key, what), outcome in zip(batch, outcomes, strict=True):
            self.ingested += 1
            if isinstance(what, tuple):
                assert outcome.kind is AlertOutcomeKind.REFUSED, outcome
                assert outcome.refusal is what[1], (outcome, what)
                self.refused[what[1]] += 1
                continue
            model = self.keys.setdefault(key, KeyModel())
            expected, previous = self._predict(model, AlertSeverity(what), now)
            event(f"batched alert: {expected.value}")
            assert outcome.kind is expected, (outcome, expected)
            model.outcomes[expected] += 1
            opened += self._follow(model, AlertSeverity(what), outcome.incident_id, expected,
                                   previous)
        return multiple(*opened)

    @rule(bad=st.sampled_from(BAD_ALERTS), key=st.sampled_from(KEYS))
    def ingest_a_bad_alert(self, bad: tuple[dict[str, Any], AlertRefusal], key: str) -> None:
        fields, reason = bad
        arguments: dict[str, Any] = {"source": "monitor", "dedup_key": key,
                                     "severity": "critical", "summary": "Bad alert",
                                     "at": self.clock.now(), **fields}
        before = {i.id: i.version for i in self.desk.list_incidents()}
        groups = [attrs.asdict(g) for g in self.desk.alert_groups()]
        with pytest.raises(AlertRejectedError) as refused:
            self.desk.ingest_alert(**arguments)
        assert refused.value.reason is reason, (refused.value, reason)
        self.ingested += 1
        self.refused[reason] += 1
        assert {i.id: i.version for i in self.desk.list_incidents()} == before
        assert [attrs.asdict(g) for g in self.desk.alert_groups()] == groups

    # ----------------------------------------------------------------- the model

    def _predict(self, model: KeyModel, severity: AlertSeverity, now: datetime
                 ) -> tuple[AlertOutcomeKind, str | None]:
        """The outcome the rules give, and the incident a new one would take the key from."""
        recovery = severity is AlertSeverity.CLEAR
        onset = not recovery and not model.firing
        if onset or model.flapping:
            recent = [t for t in model.onsets if t > now - FLAP_WINDOW]
            model.onsets = [*recent, now] if onset else recent
            model.flapping = len(model.onsets) > FLAP_THRESHOLD
        model.firing = not recovery
        if model.flapping:
            return AlertOutcomeKind.HELD, None
        current = model.incident_id
        live = current is not None and self.expected[current].status in _OPEN
        if recovery:
            return (AlertOutcomeKind.RESOLVED if live else AlertOutcomeKind.CLEARED), None
        if live:
            return AlertOutcomeKind.FOLDED, None
        return AlertOutcomeKind.OPENED, current

    def _follow(self, model: KeyModel, severity: AlertSeverity, incident_id: str | None,
                kind: AlertOutcomeKind, previous: str | None) -> list[str]:
        """Update the lifecycle model of the incidents the alert changed."""
        if kind is AlertOutcomeKind.OPENED:
            assert incident_id is not None
            incident = self.desk.get_incident(incident_id)
            impact, urgency = POLICY.impact_urgency(severity, None)
            assert (incident.impact.level, incident.urgency.level) == (impact, urgency)
            assert incident.channel == "monitoring"
            self.expected[incident_id] = attrs.evolve(_Expected.logged(incident), events=2)
            if previous is not None and self.expected[previous].status not in _TERMINAL:
                self._add_events(previous, 1)  # the old incident gives up the key
            model.incident_id, model.highest = incident_id, severity.rank
            return [incident_id]
        if kind is AlertOutcomeKind.FOLDED and severity.rank > model.highest:
            assert incident_id is not None
            model.highest = severity.rank
            expected = self.expected[incident_id]
            impact, urgency = POLICY.impact_urgency(severity, None)
            impact, urgency = min(impact, expected.impact), min(urgency, expected.urgency)
            moved = (impact, urgency) != (expected.impact, expected.urgency)
            self.expected[incident_id] = attrs.evolve(
                expected, events=expected.events + 1 + moved, impact=impact, urgency=urgency)
        elif kind is AlertOutcomeKind.RESOLVED:
            assert incident_id is not None
            expected = self.expected[incident_id]
            self.expected[incident_id] = attrs.evolve(expected, status="resolved",
                                                      events=expected.events + 2,
                                                      hold_reason=None)
        return []

    def _add_events(self, incident_id: str, count: int) -> None:
        expected = self.expected[incident_id]
        self.expected[incident_id] = attrs.evolve(expected, events=expected.events + count)

    # ----------------------------------------------------------------- invariants

    @invariant()
    def at_most_one_open_incident_holds_each_key(self) -> None:
        holders = Counter(incident.alert_key for incident in self.desk.list_incidents(open=True)
                          if incident.alert_key is not None)
        assert all(count == 1 for count in holders.values()), holders
        for key, model in self.keys.items():
            group = self.desk.alert_group(key)
            assert group.incident_id == model.incident_id
            assert group.flapping == model.flapping
            if model.incident_id is not None and self.expected[model.incident_id].status in _OPEN:
                assert self.desk.get_incident(model.incident_id).alert_key == key

    @invariant()
    def every_alert_is_in_a_group_held_or_refused_and_the_counts_add_up(self) -> None:
        stats = self.desk.alert_statistics()
        assert stats.total == self.ingested
        assert stats.refused_by_reason == {r: n for r, n in self.refused.items() if n}
        assert stats.by_outcome[AlertOutcomeKind.REFUSED] == sum(self.refused.values())
        groups = {group.dedup_key: group for group in self.desk.alert_groups()}
        assert set(groups) == set(self.keys)
        assert sum(g.total for g in groups.values()) + sum(self.refused.values()) == (
            self.ingested)
        for key, model in self.keys.items():
            counts = groups[key].outcome_counts()
            assert {k: n for k, n in counts.items() if n} == dict(model.outcomes), key
        assert [g.dedup_key for g in self.desk.flapping_alerts()] == sorted(
            key for key, model in self.keys.items() if model.flapping)


TestAlertLifecycle = AlertLifecycleMachine.TestCase
TestAlertLifecycle.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                       suppress_health_check=list(HealthCheck))
