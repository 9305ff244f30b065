"""What-if simulation of SLA policies over incident histories."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from itil_incident import (
    Actor,
    BusinessCalendar,
    ServiceDesk,
    SlaAgreement,
    SlaCalendar,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    ValidationError,
)
from itil_incident.errors import ItilIncidentError
from itil_incident.reporting import ORIGINAL, WhatIfReport, adjusted_policy, what_if
from itil_incident.testing import FrozenClock, make_desk

START = datetime(2026, 1, 30, 9, tzinfo=UTC)  # a Friday
AGENT = Actor("alice")
ALWAYS = BusinessCalendar.always()
LEVELS = range(1, 6)


def policy(resolution_hours: float, *, response_hours: float | None = None,
           calendar: SlaCalendar = ALWAYS,
           pause_hold_reasons: Iterable[str] = ("awaiting_caller",),
           fallback: bool = True) -> SlaPolicy:
    targets = {SlaMetric.RESOLUTION: dict.fromkeys(LEVELS, timedelta(hours=resolution_hours))}
    if response_hours is not None:
        targets[SlaMetric.RESPONSE] = dict.fromkeys(LEVELS, timedelta(hours=response_hours))
    return SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=START - timedelta(days=60),
        fallback="all" if fallback else None,
        agreements=[SlaAgreement(name="all", calendar=calendar, targets=targets,
                                 pause_hold_reasons=frozenset(pause_hold_reasons))]))


def desk_at(clock: FrozenClock) -> ServiceDesk:
    return make_desk(clock=clock)


def resolved_after(desk: ServiceDesk, clock: FrozenClock, hours: float, **log: object) -> str:
    incident = desk.log_incident(actor=AGENT, title="Printer jams", **log)  # type: ignore[arg-type]
    clock.advance(hours=hours)
    desk.resolve(incident.id, actor=AGENT, code="solved_permanently", notes="Done")
    return incident.id


def test_a_looser_target_turns_breaches_into_met_clocks_side_by_side() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    for hours in (1, 3, 6):
        resolved_after(desk, clock, hours)
    report = what_if(desk.list_incidents(), original=policy(2),
                     alternatives={"4h": policy(4), "8h": policy(8)})
    assert report.policies == (ORIGINAL, "4h", "8h")
    totals = {c.policy: (c.met, c.breached) for c in report.totals("resolution")}
    assert totals == {ORIGINAL: (1, 2), "4h": (2, 1), "8h": (3, 0)}
    assert report.incidents == 3
    assert report.without_clock[ORIGINAL] == {"response": 3, "resolution": 0}


def test_cells_split_by_priority_and_month() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    resolved_after(desk, clock, 3, impact=1, urgency=1)
    clock.set(START + timedelta(days=5))  # February
    resolved_after(desk, clock, 3)
    resolved_after(desk, clock, 1)
    report = what_if(desk.list_incidents(), original=policy(2), alternatives={"4h": policy(4)})
    incidents = desk.list_incidents()
    high, low = incidents[0].priority.level, incidents[1].priority.level
    assert high != low
    keys = [(c.metric, c.priority, c.month) for c in report.cells]
    assert keys == sorted([("resolution", high, "2026-01"), ("resolution", low, "2026-02")],
                          key=lambda k: (k[1], k[2]))
    february = next(c for c in report.cells if c.month == "2026-02")
    assert (february.of(ORIGINAL).met, february.of(ORIGINAL).breached) == (1, 1)
    assert (february.of("4h").met, february.of("4h").breached) == (2, 0)
    assert report.totals("resolution", month="2026-01")[0].breached == 1
    assert report.totals("resolution", priority=low)[1].met == 2


def test_another_calendar_changes_the_outcome() -> None:
    clock = FrozenClock(START.replace(hour=16))  # Friday 17:00 in Paris
    desk = desk_at(clock)
    resolved_after(desk, clock, 20)  # Saturday noon: 20 hours wall, 1 office hour
    office = BusinessCalendar.office("Europe/Paris")
    report = what_if(desk.list_incidents(), original=policy(8),
                     alternatives={"office": policy(8, calendar=office)})
    original, alternative = report.totals("resolution")
    assert (original.met, original.breached) == (0, 1)
    assert (alternative.met, alternative.breached) == (1, 0)


def test_another_pause_rule_changes_the_outcome() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    incident = desk.log_incident(actor=AGENT, title="ERP down")
    clock.advance(hours=1)
    desk.start_work(incident.id, actor=AGENT)
    desk.put_on_hold(incident.id, "awaiting_vendor", actor=AGENT)
    clock.advance(hours=10)
    desk.resume(incident.id, actor=AGENT)
    clock.advance(hours=1)
    desk.resolve(incident.id, actor=AGENT, code="solved_permanently", notes="Patched")
    report = what_if(desk.list_incidents(), original=policy(4), alternatives={
        "vendor pauses": policy(4, pause_hold_reasons=("awaiting_caller", "awaiting_vendor"))})
    original, alternative = report.totals("resolution")
    assert (original.met, original.breached) == (0, 1)
    assert (alternative.met, alternative.breached) == (1, 0)


def test_an_incident_still_open_is_counted_as_running_or_breached_at_the_instant() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    desk.log_incident(actor=AGENT, title="Printer jams")
    clock.advance(hours=3)
    desk.add_work_note(desk.list_incidents()[0].id, "Looking", actor=AGENT)
    report = what_if(desk.list_incidents(), original=policy(2), alternatives={"4h": policy(4)})
    original, alternative = report.totals("resolution")
    assert (original.breached, original.running) == (1, 0)
    assert (alternative.breached, alternative.running) == (0, 1)
    later = what_if(desk.list_incidents(), original=policy(2), alternatives={"4h": policy(4)},
                    at=START + timedelta(hours=5))
    assert later.totals("resolution")[1].breached == 1


def test_a_policy_without_a_matching_agreement_gives_no_clock() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    resolved_after(desk, clock, 1)
    report = what_if(desk.list_incidents(), original=policy(2),
                     alternatives={"none": policy(2, fallback=False)})
    assert report.without_clock["none"] == {"response": 1, "resolution": 1}
    assert report.totals("resolution")[1].clocks == 0


def test_a_period_and_a_time_zone_choose_incidents_and_months() -> None:
    clock = FrozenClock(datetime(2026, 1, 31, 23, 30, tzinfo=UTC))  # February in Paris
    desk = desk_at(clock)
    resolved_after(desk, clock, 1)
    clock.set(datetime(2026, 3, 10, 9, tzinfo=UTC))
    resolved_after(desk, clock, 1)
    report = what_if(desk.list_incidents(), original=policy(2), alternatives={"4h": policy(4)},
                     time_zone="Europe/Paris",
                     period=(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)))
    assert [c.month for c in report.cells] == ["2026-02"]
    assert (report.incidents, report.excluded) == (1, 1)


def test_histories_give_the_same_report_as_incidents() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    for hours in (1, 3):
        resolved_after(desk, clock, hours)
    incidents = desk.list_incidents()
    histories = [list(incident.timeline()) for incident in incidents]
    arguments = {"original": policy(2, response_hours=1), "alternatives": {"4h": policy(4)}}
    assert what_if(histories, **arguments) == what_if(incidents, **arguments)  # type: ignore[arg-type]


def test_the_report_converts_to_dicts_csv_and_json() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    resolved_after(desk, clock, 3)
    report = what_if(desk.list_incidents(), original=policy(2), alternatives={"4h": policy(4)})
    assert isinstance(report, WhatIfReport)
    data = json.loads(report.to_json())
    assert data == report.to_dict()
    assert data["totals"]["resolution"][0] == {
        "policy": ORIGINAL, "met": 0, "breached": 1, "running": 0, "paused": 0,
        "not_started": 0, "cancelled": 0, "rate": 0.0}
    [row] = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert row["metric"] == "resolution"
    assert (row["original_breached"], row["4h_met"], row["4h_rate"]) == ("1", "1", "1.0")


@pytest.mark.parametrize("arguments", [
    {"original": "gold"}, {"alternatives": {}}, {"alternatives": {ORIGINAL: policy(4)}},
    {"alternatives": {"": policy(4)}}, {"alternatives": {"x": "gold"}},
    {"alternatives": [("x", policy(4))]}, {"at": datetime(2026, 1, 1)},
    {"period": (START, START)}, {"time_zone": "Mars/Olympus"}, {"workflow": "itil"},
])
def test_bad_arguments_raise_a_validation_error(arguments: dict[str, object]) -> None:
    chosen: dict[str, object] = {"original": policy(2), "alternatives": {"4h": policy(4)}}
    chosen.update(arguments)
    with pytest.raises(ValidationError):
        what_if([], **chosen)  # type: ignore[arg-type]


@pytest.mark.parametrize("incidents", [None, "INC1", [42], [[]], [["not an event"]]])
def test_bad_incidents_raise_a_validation_error(incidents: object) -> None:
    with pytest.raises(ValidationError):
        what_if(incidents, original=policy(2), alternatives={"4h": policy(4)})  # type: ignore[arg-type]


def test_an_adjusted_policy_scales_replaces_and_keeps_the_rest() -> None:
    base = policy(4, response_hours=1)
    office = BusinessCalendar.office("Europe/Paris")
    changed = adjusted_policy(base, scale=2, targets={"response": {1: timedelta(minutes=5)}},
                              calendar=office, pause_hold_reasons=["awaiting_vendor"])
    agreement = changed.latest.agreement("all")
    assert agreement.target(SlaMetric.RESOLUTION, 3) == timedelta(hours=8)
    assert agreement.target(SlaMetric.RESPONSE, 1) == timedelta(minutes=5)
    assert agreement.target(SlaMetric.RESPONSE, 2) == timedelta(hours=2)
    assert agreement.calendar is office
    assert agreement.pause_hold_reasons == frozenset({"awaiting_vendor"})
    assert changed.latest.fallback == base.latest.fallback
    assert base.latest.agreement("all").target(SlaMetric.RESOLUTION, 3) == timedelta(hours=4)


def test_a_scaled_policy_simulates_like_one_written_by_hand() -> None:
    clock = FrozenClock(START)
    desk = desk_at(clock)
    for hours in (1, 3, 6):
        resolved_after(desk, clock, hours)
    scaled = what_if(desk.list_incidents(), original=policy(2),
                     alternatives={"x": adjusted_policy(policy(2), scale=2)})
    written = what_if(desk.list_incidents(), original=policy(2), alternatives={"x": policy(4)})
    assert scaled == written


@pytest.mark.parametrize("arguments", [
    {"scale": 0}, {"scale": -1}, {"scale": True}, {"scale": "2"},
    {"targets": {"resolution": {1: 3600}}}, {"targets": {"resolution": {"1": timedelta(1)}}},
    {"targets": {"uptime": {1: timedelta(1)}}}, {"targets": ["resolution"]},
    {"calendar": "office"}, {"pause_hold_reasons": "awaiting_vendor"},
    {"pause_hold_reasons": [""]},
])
def test_bad_adjustments_raise_a_library_error(arguments: dict[str, object]) -> None:
    with pytest.raises(ItilIncidentError):
        adjusted_policy(policy(2), **arguments)  # type: ignore[arg-type]
