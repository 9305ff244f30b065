"""The communication cadence of major incidents in ``process_due``: one missed-update event
per cadence interval, never twice, reported and notified; and what the processing leaves
alone (resolved incidents, priorities without a cadence, closure awaiting a review)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    AUTO_CLOSED,
    MAX_MISSED_INTERVALS,
    Actor,
    DeskPolicies,
    FrozenClock,
    IncidentStatusUpdateMissed,
    MajorIncidentPolicy,
    RecordingNotifier,
)
from itil_incident.testing import make_desk

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
MANAGER = Actor("mia", "Mia Manager", frozenset({"incident_manager"}))
POLICY = MajorIncidentPolicy(priorities={1}, cadence={1: 30 * MINUTE, 2: 60 * MINUTE})


class Scene:
    def __init__(self, policies: DeskPolicies | None = None) -> None:
        self.clock = FrozenClock(T0)
        self.notifier = RecordingNotifier()
        self.desk = make_desk(clock=self.clock, notifier=self.notifier,
                              policies=policies or DeskPolicies(major=POLICY))

    def major(self, impact: int = 1, urgency: int = 1) -> str:
        incident = self.desk.log_incident(actor=AGENT, title="Mail is down", impact=impact,
                                          urgency=urgency).id
        if self.desk.get_incident(incident).major_status is None:
            self.desk.propose_major(incident, actor=AGENT, reason="Everyone")
        self.desk.accept_major(incident, actor=MANAGER)
        return incident

    def missed(self, incident_id: str) -> list[tuple[datetime, int, datetime]]:
        return [(e.since, e.interval, e.due_at)
                for e in self.desk.get_incident(incident_id).status_updates_missed]


def test_each_missed_interval_is_recorded_once_with_its_due_time() -> None:
    scene = Scene()
    incident = scene.major()
    scene.clock.advance(minutes=29)
    assert not scene.desk.process_due()
    scene.clock.advance(minutes=1)
    first = scene.desk.process_due()
    assert [(e.incident_id, e.interval) for e in first.missed_status_updates] == [
        (incident, 1)]
    assert first.events == first.missed_status_updates
    scene.clock.advance(minutes=65)
    second = scene.desk.process_due()
    assert [e.interval for e in second.missed_status_updates] == [2, 3]
    assert scene.missed(incident) == [(T0, k, T0 + k * 30 * MINUTE) for k in (1, 2, 3)]
    assert all(e.at == T0 + 95 * MINUTE for e in second.missed_status_updates)
    assert not scene.desk.process_due()  # nothing new at the same instant


def test_missed_updates_are_notified_like_every_event() -> None:
    scene = Scene()
    scene.major()
    scene.notifier.clear()
    scene.clock.advance(minutes=30)
    scene.desk.process_due()
    assert [e.name for e in scene.notifier.events] == ["incident.status_update_missed"]


def test_a_status_update_restarts_the_count_from_itself() -> None:
    scene = Scene()
    incident = scene.major()
    scene.clock.advance(minutes=40)
    scene.desk.process_due()
    scene.desk.post_status_update(incident, "stakeholders", "On it", actor=MANAGER)
    scene.clock.advance(minutes=29)
    assert not scene.desk.process_due()
    scene.clock.advance(minutes=1)
    report = scene.desk.process_due()
    since = T0 + 40 * MINUTE
    assert [(e.since, e.interval) for e in report.missed_status_updates] == [(since, 1)]


def test_the_cadence_follows_the_current_priority() -> None:
    scene = Scene()
    incident = scene.major(impact=2, urgency=1)  # priority 2: every hour
    scene.clock.advance(minutes=45)
    assert not scene.desk.process_due()
    scene.desk.change_impact_urgency(incident, actor=AGENT, impact=1)  # priority 1: 30 min
    report = scene.desk.process_due()
    assert [e.interval for e in report.missed_status_updates] == [1]


def test_nothing_is_due_for_resolved_or_unaccepted_incidents_or_priorities_without_one() -> None:
    scene = Scene()
    resolved = scene.major()
    scene.desk.resolve(resolved, actor=AGENT, code="solved_remotely", notes="Done")
    scene.desk.log_incident(actor=AGENT, title="Proposed only", impact=1, urgency=1)
    scene.major(impact=3, urgency=3)  # priority 5: no cadence
    scene.clock.advance(hours=5)
    assert not scene.desk.process_due().missed_status_updates


def test_after_a_long_pause_only_the_latest_intervals_are_caught_up() -> None:
    scene = Scene()
    incident = scene.major()
    scene.clock.advance(minutes=30 * (MAX_MISSED_INTERVALS + 10))
    report = scene.desk.process_due()
    intervals = [e.interval for e in report.missed_status_updates]
    assert intervals == list(range(11, MAX_MISSED_INTERVALS + 11))
    scene.clock.advance(minutes=30)
    assert [e.interval for e in scene.desk.process_due().missed_status_updates] == [
        MAX_MISSED_INTERVALS + 11]
    assert len(scene.missed(incident)) == MAX_MISSED_INTERVALS + 1


def test_auto_close_waits_for_the_required_review() -> None:
    policies = DeskPolicies(major=POLICY, auto_close_after=timedelta(hours=1))
    scene = Scene(policies)
    incident = scene.major()
    scene.desk.resolve(incident, actor=AGENT, code="solved_remotely", notes="Done")
    scene.clock.advance(hours=2)
    report = scene.desk.process_due()
    assert not report  # not closed, and not reported as skipped either
    scene.desk.record_review(incident, actor=MANAGER, impact="2 h", root_cause="Disk")
    scene.clock.advance(hours=1, minutes=1)
    closed = scene.desk.process_due().auto_closes
    assert [(e.incident_id, e.closure_code) for e in closed] == [(incident, AUTO_CLOSED)]


# ----------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 200), st.booleans(), st.booleans()),
                      min_size=1, max_size=15))
def test_any_schedule_records_each_missed_interval_exactly_once(
        steps: list[tuple[int, bool, bool]]) -> None:
    """Whatever the moments process_due runs at (twice at some), and whatever updates are
    posted in between, the recorded intervals are exactly the whole intervals elapsed in each
    stretch between updates (up to the last call), each once."""
    scene = Scene()
    incident = scene.major()
    every = 30 * MINUTE
    since = T0
    expected: set[tuple[datetime, int]] = set()
    processed_until = T0
    for minutes, twice, update in steps:
        scene.clock.advance(minutes=minutes)
        now = scene.clock.now()
        scene.desk.process_due()
        if twice:
            assert not scene.desk.process_due()
        processed_until = now
        expected |= {(since, k) for k in range(1, (processed_until - since) // every + 1)}
        if update:
            scene.desk.post_status_update(incident, "internal", "Still on it", actor=MANAGER)
            since = now
    recorded = [(s, k) for s, k, _ in scene.missed(incident)]
    assert len(recorded) == len(set(recorded))
    assert set(recorded) == expected
    events = scene.desk.get_incident(incident).timeline()
    assert all(e.due_at <= e.at for e in events if isinstance(e, IncidentStatusUpdateMissed))
