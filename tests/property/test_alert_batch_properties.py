"""Alerts ingested in batches (``ServiceDesk.ingest_alerts``) end exactly as the same alerts
ingested one by one (``ingest_alert``): random streams of good and bad alerts over a few keys
(flapping, recoveries, severity raises, alerts out of order, people resolving and closing the
incidents in between) go to two desks, one by one on the first and in random batches on the
second; both report the same outcomes and keep the same incidents, histories, groups and
counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from itil_incident import (
    SYSTEM,
    AlertInput,
    AlertOutcome,
    AlertOutcomeKind,
    AlertPolicy,
    AlertRejectedError,
    AlertSeverity,
    DeskPolicies,
    FrozenClock,
    RecordingNotifier,
    ServiceDesk,
)
from itil_incident.testing import make_desk

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEYS = ("db-1/cpu", "web-1/disk", "lb-1/latency")

GOOD = st.builds(
    AlertInput,
    source=st.sampled_from(["nagios", "prometheus"]),
    dedup_key=st.sampled_from(KEYS),
    severity=st.sampled_from([*(s.value for s in AlertSeverity), "clear", "clear",
                              "CRITICAL", AlertSeverity.MAJOR]),
    summary=st.sampled_from(["CPU high", "Disk full on web-1", "Latência alta"]),
    service=st.sampled_from([None, None, "Email", "VPN"]),
    configuration_item=st.sampled_from([None, None, "web-1"]),
    payload=st.sampled_from([None, {"cpu": 97.5, "host": "db-1"},
                             {"n": 3, "ok": True, "none": None, "tags": ["a", {"b": 1}]},
                             {"name": "café"}]),
    at=st.one_of(st.none(), st.integers(min_value=-30, max_value=240).map(
        lambda minutes: T0 + timedelta(minutes=minutes))),
)

#: What makes an alert bad (each is refused with its own reason).
BAD_FIELDS: tuple[dict[str, Any], ...] = (
    {"dedup_key": ""},
    {"dedup_key": None},
    {"dedup_key": 42},
    {"dedup_key": "x" * 201},
    {"source": "  "},
    {"summary": "two\nlines"},
    {"severity": "apocalyptic"},
    {"severity": None},
    {"service": " "},
    {"configuration_item": 7},
    {"payload": {"blob": "x" * 20_000}},
    {"payload": {"ratio": float("nan")}},
    {"payload": {1: "numeric key"}},
    {"payload": ["not", "an", "object"]},
    {"at": datetime(2026, 1, 5, 9)},
    {"at": "yesterday"},
)
BAD = st.builds(lambda alert, fields: alert._replace(**fields), GOOD,
                st.sampled_from(BAD_FIELDS))
ALERTS = st.one_of(GOOD, GOOD, GOOD, BAD)

POLICIES = st.builds(
    AlertPolicy,
    flap_threshold=st.integers(min_value=1, max_value=3),
    flap_window=st.sampled_from([timedelta(minutes=30), timedelta(hours=2)]),
    grouping_window=st.sampled_from([None, timedelta(minutes=20)]),
    resolve_on_recovery=st.booleans(),
)

#: Between two batches: the clock moves, and maybe a person resolves or closes an incident.
PAUSES = st.tuples(st.integers(min_value=0, max_value=90),
                   st.sampled_from([None, "resolve", "close"]), st.integers(min_value=0))

STREAMS = st.lists(st.tuples(st.lists(ALERTS, max_size=8), PAUSES), max_size=8)


def one_by_one(desk: ServiceDesk, batch: list[AlertInput]) -> list[AlertOutcome]:
    """``ingest_alert`` for each alert; a refusal as the outcome a batch reports for it."""
    outcomes = []
    for alert in batch:
        source, key, severity, summary, service, item, payload, at = alert
        try:
            outcome = desk.ingest_alert(source, key, severity, summary, service=service,
                                        configuration_item=item, payload=payload, at=at)
        except AlertRejectedError as refused:
            outcome = AlertOutcome(AlertOutcomeKind.REFUSED, key if type(key) is str else "",
                                   None, str(refused), refused.reason)
        outcomes.append(outcome)
    return outcomes


def act(desk: ServiceDesk, what: str | None, pick: int) -> None:
    """A person resolves or closes one of the open incidents that alerts opened."""
    held = sorted(g.incident_id for g in desk.alert_groups() if g.incident_id is not None)
    candidates = [i for i in held if desk.get_incident(i).is_open]
    if what is None or not candidates:
        return
    incident_id = candidates[pick % len(candidates)]
    desk.resolve(incident_id, actor=SYSTEM, code="solved_remotely", notes="Fixed by hand")
    if what == "close":
        desk.close(incident_id, actor=SYSTEM)


def everything(desk: ServiceDesk) -> object:
    """What the desk stores and has said: incidents with their histories, groups, counts."""
    assert isinstance(desk.notifier, RecordingNotifier)
    return (
        [(i.snapshot(), desk.timeline(i.id)) for i in desk.list_incidents()],
        [attrs.asdict(g, recurse=False) for g in desk.alert_groups()],
        desk.alert_statistics(),
        [g.dedup_key for g in desk.flapping_alerts()],
        desk.notifier.events,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=POLICIES, stream=STREAMS)
def test_a_batch_ends_exactly_as_its_alerts_one_by_one(
        policy: AlertPolicy, stream: list[tuple[list[AlertInput], tuple[int, str | None, int]]]
) -> None:
    clocks = FrozenClock(T0), FrozenClock(T0)
    single, batched = (make_desk(policies=DeskPolicies(alerts=policy), clock=clock)
                       for clock in clocks)
    for batch, (minutes, what, pick) in stream:
        expected = one_by_one(single, batch)
        assert batched.ingest_alerts(batch) == expected
        for outcome in expected:
            event(f"outcome: {outcome.kind.value}")
        for clock in clocks:
            clock.advance(minutes=minutes)
        for desk in (single, batched):
            act(desk, what, pick)
    assert everything(batched) == everything(single)


@settings(max_examples=60, deadline=None)
@given(alerts=st.lists(ALERTS, max_size=12), cut=st.integers(min_value=0, max_value=12))
def test_how_a_stream_is_cut_into_batches_changes_nothing(alerts: list[AlertInput],
                                                          cut: int) -> None:
    whole, split = make_desk(), make_desk()
    outcomes = whole.ingest_alerts(alerts)
    assert split.ingest_alerts(alerts[:cut]) + split.ingest_alerts(alerts[cut:]) == outcomes
    assert everything(split) == everything(whole)
    refused = sum(o.kind is AlertOutcomeKind.REFUSED for o in outcomes)
    assert whole.alert_statistics().by_outcome[AlertOutcomeKind.REFUSED] == refused
    assert all((o.refusal is None) == (o.kind is not AlertOutcomeKind.REFUSED)
               for o in outcomes)
