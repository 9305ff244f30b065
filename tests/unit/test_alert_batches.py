"""Batches of alerts (``ServiceDesk.ingest_alerts``): each alert's outcome in order, a bad
alert reported and counted without stopping the batch, bad batches refused whole, and an error
that is not a refusal stopping the batch where it happens. (That a batch ends exactly as its
alerts one by one is a property test: tests/property/test_alert_batch_properties.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from itil_incident import (
    AlertInput,
    AlertOutcome,
    AlertOutcomeKind,
    AlertRefusal,
    ConcurrencyError,
    FrozenClock,
    InMemoryRepository,
    PermissionDeniedError,
    RoleBasedAuthorizer,
    ServiceDesk,
    ValidationError,
    _alert_commands,
)
from itil_incident.testing import make_desk

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def an_alert(key: str = "web-1/disk", severity: str = "critical", minutes: int = 0,
             **fields: Any) -> AlertInput:
    return AlertInput("nagios", key, severity, f"{key} is alerting",
                      at=T0 + timedelta(minutes=minutes))._replace(**fields)


def test_a_batch_reports_each_outcome_in_order_and_a_bad_alert_without_stopping() -> None:
    desk = make_desk(clock=FrozenClock(T0))
    outcomes = desk.ingest_alerts([
        an_alert(minutes=0),
        an_alert(minutes=1),
        an_alert(dedup_key=""),
        an_alert(minutes=2, payload={"blob": "x" * 20_000}),
        an_alert(minutes=3, severity="clear"),
    ])
    assert [o.kind for o in outcomes] == [
        AlertOutcomeKind.OPENED, AlertOutcomeKind.FOLDED, AlertOutcomeKind.REFUSED,
        AlertOutcomeKind.REFUSED, AlertOutcomeKind.RESOLVED]
    incident_id = outcomes[0].incident_id
    assert incident_id is not None
    assert outcomes[1] == AlertOutcome(AlertOutcomeKind.FOLDED, "web-1/disk", incident_id)
    assert outcomes[2] == AlertOutcome(AlertOutcomeKind.REFUSED, "", None,
                                       "the alert has no dedup_key (blank)",
                                       AlertRefusal.MISSING_KEY)
    assert outcomes[3].refusal is AlertRefusal.OVERSIZED_PAYLOAD
    assert outcomes[3].dedup_key == "web-1/disk"
    assert outcomes[3].reason is not None
    assert "the limit is 16384" in outcomes[3].reason
    stats = desk.alert_statistics()
    assert stats.refused_by_reason == {AlertRefusal.MISSING_KEY: 1,
                                       AlertRefusal.OVERSIZED_PAYLOAD: 1}
    assert stats.total == 5
    assert desk.get_incident(incident_id).status == "resolved"


def test_a_refused_key_that_is_no_string_is_reported_with_an_empty_key() -> None:
    outcome, = make_desk().ingest_alerts([an_alert(dedup_key=42)])
    assert (outcome.kind, outcome.dedup_key, outcome.refusal) == (
        AlertOutcomeKind.REFUSED, "", AlertRefusal.INVALID_FIELD)


def test_an_empty_batch_does_nothing() -> None:
    desk = make_desk()
    assert desk.ingest_alerts([]) == []
    assert desk.ingest_alerts(iter(())) == []
    assert desk.alert_statistics().total == 0


def test_a_batch_may_be_any_iterable_of_alert_inputs() -> None:
    desk = make_desk(clock=FrozenClock(T0))
    outcomes = desk.ingest_alerts(an_alert(minutes=m) for m in range(3))
    assert [o.kind for o in outcomes] == [AlertOutcomeKind.OPENED] + [
        AlertOutcomeKind.FOLDED] * 2


@pytest.mark.parametrize("alerts", [
    None, 42, "web-1/disk", b"alerts", {"dedup_key": "web-1/disk"}, an_alert(),
    [an_alert(), ("nagios", "web-1/disk", "critical", "Disk full")],
    [an_alert(), {"source": "nagios"}], [an_alert(), None],
])
def test_a_batch_that_is_not_a_collection_of_alert_inputs_is_refused_whole(
        alerts: Any) -> None:
    desk = make_desk()
    with pytest.raises(ValidationError) as refused:
        desk.ingest_alerts(alerts)
    assert refused.value.field == "alerts"
    assert desk.alert_groups() == []
    assert desk.alert_statistics().total == 0


def test_a_batch_the_authorizer_refuses_stops_and_says_how_far_it_went() -> None:
    desk = make_desk(authorizer=RoleBasedAuthorizer({"resolve": {"agent"}}))
    with pytest.raises(PermissionDeniedError) as denied:
        desk.ingest_alerts([an_alert(dedup_key=""), an_alert(), an_alert(minutes=1)])
    assert denied.value.action == "ingest_alert"
    assert "stopped at alerts[1]" in "\n".join(denied.value.__notes__)
    # as one by one: the bad alert before it is refused and counted, nothing else happened
    assert desk.alert_statistics().refused_by_reason == {AlertRefusal.MISSING_KEY: 1}
    assert desk.alert_groups() == []


class FailingRepository(InMemoryRepository):
    """Refuses the commits after the first ``commits`` with a concurrency error."""

    def __init__(self, commits: int) -> None:
        super().__init__()
        self.commits = commits

    def commit(self, records: Any) -> None:
        if self.commits == 0:
            raise ConcurrencyError("INC0000002", 0, 1)
        self.commits -= 1
        super().commit(records)


def test_an_error_in_a_batch_keeps_the_alerts_before_it_and_undoes_its_own() -> None:
    desk = ServiceDesk(FailingRepository(commits=1), clock=FrozenClock(T0))
    with pytest.raises(ConcurrencyError) as failed:
        desk.ingest_alerts([an_alert("a"), an_alert("a", minutes=1), an_alert("b"),
                            an_alert("c")])
    assert "stopped at alerts[2]; the 2 alert(s) before it were ingested" in "\n".join(
        failed.value.__notes__)
    assert [(g.dedup_key, g.count) for g in desk.alert_groups()] == [("a", 2)]
    assert len(desk.list_incidents()) == 1


def test_a_name_accepted_as_a_summary_is_still_checked_as_a_key() -> None:
    desk = make_desk(clock=FrozenClock(T0))
    long_text = "Disk full on web-1, " * 12  # 240 characters: a summary, too long for a key
    first, second = desk.ingest_alerts([
        an_alert(summary=long_text),
        an_alert(dedup_key=long_text, summary=long_text),
    ])
    assert first.kind is AlertOutcomeKind.OPENED
    assert (second.kind, second.refusal) == (AlertOutcomeKind.REFUSED,
                                             AlertRefusal.INVALID_FIELD)


def test_a_desk_forgets_the_names_it_remembered_beyond_its_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_alert_commands, "_REMEMBERED", 3)
    desk = make_desk(clock=FrozenClock(T0))
    keys = [f"host-{n}/cpu" for n in range(10)]
    outcomes = desk.ingest_alerts([an_alert(key) for key in keys * 2])
    assert [o.kind for o in outcomes] == ([AlertOutcomeKind.OPENED] * 10
                                          + [AlertOutcomeKind.FOLDED] * 10)
    assert len(desk._alert_names) <= 4
    assert len(desk._alert_summaries) <= 4
