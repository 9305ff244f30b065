"""KPI reports over incidents driven through a real desk (in-memory repository, frozen clock)."""

from __future__ import annotations

import csv
import io
import json
import statistics
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from itil_incident import (
    Actor,
    BusinessCalendar,
    FrozenClock,
    NotFoundError,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    ValidationError,
)
from itil_incident.reporting import (
    IncidentFacts,
    KpiReport,
    SlaCompliance,
    Stat,
    backlog,
    incident_facts,
    kpi_report,
)
from itil_incident.testing import make_desk

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = 3600.0
CODE = "solved_permanently"


def log(desk: ServiceDesk, actor: Actor, **fields: object) -> str:
    fields.setdefault("assignment_group", "Service Desk")
    return desk.log_incident(actor=actor, title="VPN drops", **fields).id  # type: ignore[arg-type]  # test fields


def resolve(desk: ServiceDesk, incident_id: str, actor: Actor) -> None:
    desk.resolve(incident_id, actor=actor, code=CODE, notes="Restarted the concentrator")


def report(desk: ServiceDesk, **options: object) -> KpiReport:
    return kpi_report(desk.list_incidents(), **options)  # type: ignore[arg-type]  # test options


def resolved_after(desk: ServiceDesk, clock: FrozenClock, actor: Actor, hours: float) -> str:
    """Log an incident now and resolve it ``hours`` later (the clock moves on)."""
    incident_id = log(desk, actor)
    clock.advance(hours=hours)
    resolve(desk, incident_id, actor)
    return incident_id


def resolved_at(desk: ServiceDesk, clock: FrozenClock, actor: Actor, hours: list[float]
                ) -> list[str]:
    """Log one incident per entry now, then resolve each ``hours`` after now, in order."""
    start = clock.now()
    logged = [log(desk, actor) for _ in hours]
    for incident_id, after in sorted(zip(logged, hours, strict=True), key=lambda p: p[1]):
        clock.set(start + timedelta(hours=after))
        resolve(desk, incident_id, actor)
    return logged


# -- per incident, never per row ---------------------------------------------------------------


@pytest.fixture
def quick_and_busy(desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> ServiceDesk:
    """Two incidents logged at T0: one resolved after 1 h with no update, one resolved after
    9 h with eight work notes in between."""
    quick, busy = log(desk, agent), log(desk, agent)
    clock.advance(hours=1)
    resolve(desk, quick, agent)
    for _ in range(8):
        desk.add_work_note(busy, "Still looking", actor=agent)
        clock.advance(hours=1)
    resolve(desk, busy, agent)
    return desk


def test_mean_time_to_resolve_weighs_each_incident_once(quick_and_busy: ServiceDesk) -> None:
    assert report(quick_and_busy).total.time_to_resolve.mean == 5 * HOUR


def test_averaging_over_history_rows_would_weight_the_busy_incident_more(
        quick_and_busy: ServiceDesk) -> None:
    facts = {f.incident_id: f for f in map(incident_facts, quick_and_busy.list_incidents())}
    rows = [(event, facts[event.incident_id])  # type: ignore[attr-defined]  # incident events
            for incident in quick_and_busy.list_incidents()
            for event in quick_and_busy.timeline(incident.id)]
    per_row = statistics.mean(f.first_resolved - f.logged  # type: ignore[operator]  # resolved
                              for _, f in rows)
    assert (len(rows), per_row) == (12, (2 * 1 + 10 * 9) / 12 * HOUR)
    assert report(quick_and_busy).total.time_to_resolve.mean != per_row


def test_median_and_p90_interpolate_between_ranks(desk: ServiceDesk, clock: FrozenClock,
                                                  agent: Actor) -> None:
    resolved_at(desk, clock, agent, [1, 2, 3, 4, 10])
    stat = report(desk).total.time_to_resolve
    assert stat.median == 3 * HOUR
    assert stat.p90 == pytest.approx(7.6 * HOUR)


def test_incidents_without_a_value_are_counted_as_missing(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    resolved_after(desk, clock, agent, 2)
    log(desk, agent)
    log(desk, agent)
    assert report(desk).total.time_to_resolve == Stat(1, 2, 2 * HOUR, 2 * HOUR, 2 * HOUR)


def test_an_empty_input_gives_figures_of_nothing() -> None:
    total = kpi_report([]).total
    assert (total.incidents, total.time_to_acknowledge, total.reopen.rate) == (
        0, Stat(0, 0, None, None, None), None)


# -- the figures -------------------------------------------------------------------------------


def test_time_to_acknowledge_runs_to_the_first_assignee(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = log(desk, agent)
    clock.advance(minutes=20)
    desk.assign(incident_id, actor=agent, assignee="bob")
    assert report(desk).total.time_to_acknowledge.mean == 20 * 60


def test_time_to_final_resolution_runs_to_the_last_resolution(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = resolved_after(desk, clock, agent, 1)
    desk.reopen(incident_id, actor=agent, reason="Back")
    clock.advance(hours=3)
    resolve(desk, incident_id, agent)
    total = report(desk).total
    assert (total.time_to_resolve.mean, total.time_to_final_resolution.mean) == (
        HOUR, 4 * HOUR)


def test_business_durations_are_measured_on_the_calendar(agent: Actor) -> None:
    clock = FrozenClock(datetime(2026, 1, 9, 15, tzinfo=UTC))  # a Friday, 15:00
    desk = make_desk(clock=clock)
    incident_id = log(desk, agent)
    clock.set(datetime(2026, 1, 12, 10, tzinfo=UTC))  # Monday 10:00
    resolve(desk, incident_id, agent)
    office = BusinessCalendar.office("UTC", start=time(9), end=time(17))
    total = report(desk, calendar=office).total
    assert (total.time_to_resolve.mean, total.business_time_to_resolve) == (
        67 * HOUR, Stat(1, 0, 3 * HOUR, 3 * HOUR, 3 * HOUR))


def test_business_durations_are_absent_without_a_calendar(desk: ServiceDesk,
                                                          agent: Actor) -> None:
    log(desk, agent)
    assert report(desk).total.business_time_to_acknowledge is None


def test_first_contact_resolution_rate_is_over_resolved_incidents(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor, engineer: Actor) -> None:
    resolved_after(desk, clock, agent, 0.25)
    resolve(desk, log(desk, agent), engineer)
    log(desk, agent)
    fcr = report(desk).total.first_contact_resolution
    assert (fcr.count, fcr.n, fcr.missing, fcr.rate) == (1, 2, 1, 0.5)


def test_reopen_rate_is_reopened_incidents_over_resolved_ones(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    first = resolved_after(desk, clock, agent, 1)
    desk.reopen(first, actor=agent, reason="Back")
    resolve(desk, first, agent)
    desk.reopen(first, actor=agent, reason="Back again")
    for _ in range(3):
        resolved_after(desk, clock, agent, 1)
    log(desk, agent)
    reopen = report(desk).total.reopen
    assert (reopen.count, reopen.n, reopen.missing, reopen.rate) == (1, 4, 1, 0.25)


def test_reassignment_rate_and_hops_are_over_all_incidents(desk: ServiceDesk,
                                                           agent: Actor) -> None:
    hopping = log(desk, agent)
    for group in ("Network Support", "Network Engineering", "Security Operations"):
        desk.assign(hopping, actor=agent, group=group)
    log(desk, agent)
    total = report(desk).total
    assert (total.reassignment.rate, total.hops.mean, total.hops.n) == (0.5, 1.5, 2)


def test_escalation_rate_counts_either_kind(desk: ServiceDesk, agent: Actor) -> None:
    desk.escalate(log(desk, agent), actor=agent, reason="Tier 2", group="Network Support")
    desk.escalate(log(desk, agent), actor=agent, reason="VIP", kind="hierarchical")
    log(desk, agent)
    log(desk, agent)
    total = report(desk).total
    assert (total.escalation.rate, total.functional_escalation.count,
            total.hierarchical_escalation.count) == (0.5, 1, 1)


def test_major_incidents_count_priority_one_at_any_time(desk: ServiceDesk,
                                                        agent: Actor) -> None:
    log(desk, agent, impact=1, urgency=1)
    lowered = log(desk, agent, impact=1, urgency=1)
    desk.change_impact_urgency(lowered, actor=agent, impact=3)
    log(desk, agent, impact=2, urgency=1)
    assert report(desk).total.major_incidents == 2


def test_satisfaction_mean_and_response_rate_over_closed_incidents(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    for score in (5, 2, None):
        incident_id = resolved_after(desk, clock, agent, 1)
        desk.close(incident_id, actor=agent, satisfaction=score)
    log(desk, agent)
    total = report(desk).total
    assert (total.satisfaction.mean, total.satisfaction.missing) == (3.5, 2)
    assert (total.satisfaction_response.count, total.satisfaction_response.n,
            total.satisfaction_response.missing) == (2, 3, 1)


def test_sla_compliance_is_reported_per_metric_and_priority(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    policy = SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=T0 - timedelta(days=1), fallback="standard",
        agreements=(SlaAgreement(
            name="standard", calendar=BusinessCalendar.always(),
            targets={SlaMetric.RESOLUTION: {3: timedelta(hours=4), 4: timedelta(hours=8)}}),)))
    resolved_after(desk, clock, agent, 2)   # priority 4, met
    resolved_after(desk, clock, agent, 10)  # priority 4, breached
    log(desk, agent, impact=2, urgency=2)   # priority 3, still running
    sla = report(desk, sla=policy).total.sla
    assert [s for s in sla if s.metric == "resolution"] == [
        SlaCompliance("resolution", None, 1, 1, 1),
        SlaCompliance("resolution", 3, 0, 0, 1),
        SlaCompliance("resolution", 4, 1, 1, 0),
    ]
    assert sla[0] == SlaCompliance("response", None, 0, 0, 3)


def test_sla_compliance_rate_is_met_over_met_and_breached() -> None:
    assert SlaCompliance("resolution", None, 3, 1, 7).rate == 0.75


# -- backlog -----------------------------------------------------------------------------------


def test_backlog_counts_incidents_open_at_the_instant(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    resolved = log(desk, agent)
    clock.set(T0 + timedelta(hours=1))
    log(desk, agent)                       # open from T0 + 1 h
    clock.set(T0 + timedelta(hours=2))
    resolve(desk, resolved, agent)         # open from T0 to T0 + 2 h
    clock.set(T0 + timedelta(hours=3))
    log(desk, agent)                       # logged after the instant
    found = backlog(desk.list_incidents(), at=T0 + timedelta(hours=2, minutes=30))
    assert (found.total.total, found.total.age.mean) == (1, 1.5 * HOUR)


def test_backlog_follows_the_history_not_the_current_status(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    resolved_after(desk, clock, agent, 2)
    assert [backlog(desk.list_incidents(), at=T0 + timedelta(hours=h)).total.total
            for h in (1, 2)] == [1, 0]


def test_a_reopened_incident_is_back_in_the_backlog(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    incident_id = resolved_after(desk, clock, agent, 1)
    clock.advance(hours=1)
    desk.reopen(incident_id, actor=agent, reason="Back")
    assert backlog(desk.list_incidents(), at=clock.now()).total.total == 1


@pytest.fixture
def aged(desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> ServiceDesk:
    """Open incidents aged 40, 10, 5, 2 and 0.5 days at T0 + 40 days."""
    for days in (0, 30, 35, 38, 39.5):
        clock.set(T0 + timedelta(days=days))
        log(desk, agent)
    return desk


def test_backlog_ages_fall_in_the_default_buckets(aged: ServiceDesk) -> None:
    ages = backlog(aged.list_incidents(), at=T0 + timedelta(days=40)).total.ages
    assert [(b.label, b.count) for b in ages] == [
        ("<1d", 1), ("1d-3d", 1), ("3d-7d", 1), ("7d-30d", 1), (">=30d", 1)]


def test_backlog_age_buckets_are_configurable(aged: ServiceDesk) -> None:
    ages = backlog(aged.list_incidents(), at=T0 + timedelta(days=40),
                   age_buckets=[timedelta(hours=12), timedelta(days=7)]).total.ages
    assert [(b.label, b.count) for b in ages] == [("<12h", 0), ("12h-7d", 3), (">=7d", 2)]


def test_report_backlog_is_taken_at_the_report_instant(aged: ServiceDesk) -> None:
    assert report(aged, at=T0 + timedelta(days=36)).backlog.total.total == 3


def test_backlog_can_be_grouped(desk: ServiceDesk, agent: Actor) -> None:
    log(desk, agent, assignment_group="Network Support")
    log(desk, agent, assignment_group="Network Support")
    log(desk, agent)
    groups = backlog(desk.list_incidents(), at=T0, group_by=["group"]).groups
    assert [(g.key, g.figures.total) for g in groups] == [
        (("Network Support",), 2), (("Service Desk",), 1)]


# -- volumes and grouping ----------------------------------------------------------------------


@pytest.fixture
def mixed(desk: ServiceDesk, agent: Actor) -> ServiceDesk:
    log(desk, agent, impact=1, urgency=1, channel="phone", service="vpn",
        category="Network/VPN", assignment_group="Network Support")
    log(desk, agent, impact=1, urgency=1, channel="email", category="Network/VPN")
    log(desk, agent, channel="phone", service="mail", category="Software/Email")
    return desk


def test_volumes_count_incidents_per_dimension(mixed: ServiceDesk) -> None:
    volumes = report(mixed).volumes
    assert (volumes.of("category"), volumes.of("priority"), volumes.of("service"),
            volumes.of("channel"), volumes.of("group"), volumes.of("period")) == (
        {"Network/VPN": 2, "Software/Email": 1}, {1: 2, 4: 1},
        {None: 1, "mail": 1, "vpn": 1}, {"phone": 2, "email": 1},
        {"Service Desk": 2, "Network Support": 1}, {"2026-01": 3})


def test_volumes_of_an_unknown_dimension_is_not_found(mixed: ServiceDesk) -> None:
    with pytest.raises(NotFoundError):
        report(mixed).volumes.of("colour")


def test_grouping_by_a_dimension_partitions_the_incidents(mixed: ServiceDesk) -> None:
    result = report(mixed, group_by=["priority"])
    assert [(g.key, g.figures.incidents) for g in result.groups] == [((1,), 2), ((4,), 1)]


def test_grouping_by_several_dimensions_keys_each_combination(mixed: ServiceDesk) -> None:
    result = report(mixed, group_by=["category", "channel"])
    assert [g.key for g in result.groups] == [
        ("Network/VPN", "email"), ("Network/VPN", "phone"), ("Software/Email", "phone")]


def test_grouping_by_a_key_function_uses_its_name(mixed: ServiceDesk) -> None:
    def area(facts: IncidentFacts) -> str | None:
        return None if facts.category is None else facts.category.split("/")[0]

    result = report(mixed, group_by=[area])
    assert (result.columns, result.group("Network").incidents) == (("area",), 2)


def test_grouping_by_a_named_key_function(mixed: ServiceDesk) -> None:
    result = report(mixed, group_by=[("has service", lambda f: f.service is not None)])
    assert [(g.key, g.figures.incidents) for g in result.groups] == [((False,), 1),
                                                                     ((True,), 2)]


def test_a_group_not_in_the_report_is_not_found(mixed: ServiceDesk) -> None:
    with pytest.raises(NotFoundError):
        report(mixed, group_by=["priority"]).group(2)


SATURDAY_NIGHT = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # Sunday 00:30 in Paris
SUNDAY_NIGHT = datetime(2026, 2, 1, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris


@pytest.mark.parametrize(("instant", "bucket", "zone", "label"), [
    (SATURDAY_NIGHT, "day", "UTC", "2026-01-31"),
    (SATURDAY_NIGHT, "day", "Europe/Paris", "2026-02-01"),
    (SATURDAY_NIGHT, "month", "UTC", "2026-01"),
    (SATURDAY_NIGHT, "month", "Europe/Paris", "2026-02"),
    (SUNDAY_NIGHT, "week", "UTC", "2026-W05"),
    (SUNDAY_NIGHT, "week", "Europe/Paris", "2026-W06"),
])
def test_time_buckets_are_local_dates_in_the_named_zone(agent: Actor, instant: datetime,
                                                        bucket: str, zone: str,
                                                        label: str) -> None:
    desk = make_desk(clock=FrozenClock(instant))
    log(desk, agent)
    result = report(desk, bucket=bucket, time_zone=zone)
    assert [(g.key, result.columns) for g in result.groups] == [((label,), ("period",))]


def test_iso_weeks_belong_to_their_iso_year(agent: Actor) -> None:
    desk = make_desk(clock=FrozenClock(datetime(2027, 1, 1, 12, tzinfo=UTC)))
    log(desk, agent)
    assert report(desk, bucket="week").groups[0].key == ("2026-W53",)


# -- which incidents ---------------------------------------------------------------------------


@pytest.fixture
def over_two_days(desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> ServiceDesk:
    """Logged on 5 January, resolved on 6 January; logged and left open on 6 January."""
    incident_id = log(desk, agent)
    clock.set(T0 + timedelta(days=1))
    resolve(desk, incident_id, agent)
    log(desk, agent)
    return desk


def test_a_period_selects_incidents_logged_in_it(over_two_days: ServiceDesk) -> None:
    result = report(over_two_days, period=(T0 - timedelta(hours=1), T0 + timedelta(hours=1)))
    assert (result.total.incidents, result.excluded, result.considered) == (1, 1, 2)


def test_the_resolved_anchor_selects_by_first_resolution(over_two_days: ServiceDesk) -> None:
    day = datetime.combine(date(2026, 1, 6), time(0), tzinfo=UTC)
    result = report(over_two_days, anchor="resolved", period=(day, day + timedelta(days=1)))
    assert (result.total.incidents, result.total.time_to_resolve.mean) == (1, 24 * HOUR)


def test_at_ignores_later_events_and_later_incidents(over_two_days: ServiceDesk) -> None:
    result = report(over_two_days, at=T0 + timedelta(hours=1))
    assert (result.total.incidents, result.total.time_to_resolve.n, result.excluded) == (
        1, 0, 1)


def test_histories_incidents_and_facts_give_the_same_report(
        over_two_days: ServiceDesk) -> None:
    incidents = over_two_days.list_incidents()
    histories = [over_two_days.timeline(i.id) for i in incidents]
    facts = [incident_facts(h) for h in histories]
    assert (kpi_report(histories).to_dict() == kpi_report(incidents).to_dict()
            == kpi_report(facts).to_dict())


# -- conversions -------------------------------------------------------------------------------


def test_to_json_holds_the_same_data_as_to_dict(mixed: ServiceDesk) -> None:
    result = report(mixed, group_by=["priority"], bucket="month")
    assert json.loads(result.to_json()) == json.loads(json.dumps(result.to_dict()))


def test_to_dict_names_group_keys_by_column(mixed: ServiceDesk) -> None:
    data = report(mixed, group_by=["priority"], bucket="month").to_dict()
    assert data["groups"][0]["key"] == {"priority": 1, "period": "2026-01"}


def test_to_csv_has_a_total_row_then_one_row_per_group(mixed: ServiceDesk) -> None:
    rows = list(csv.DictReader(io.StringIO(report(mixed, group_by=["priority"]).to_csv())))
    assert [(r["level"], r["priority"], r["incidents"]) for r in rows] == [
        ("total", "", "3"), ("group", "1", "2"), ("group", "4", "1")]


def test_csv_columns_flatten_each_figure(mixed: ServiceDesk) -> None:
    header = report(mixed).to_csv().splitlines()[0].split(",")
    assert {"time_to_acknowledge_p90", "reopen_rate", "hops_mean", "major_incidents"} <= set(
        header)


def test_write_csv_writes_the_csv_text(mixed: ServiceDesk, tmp_path: Path) -> None:
    result = report(mixed)
    result.write_csv(tmp_path / "kpis.csv")
    assert (tmp_path / "kpis.csv").read_text(encoding="utf-8") == result.to_csv()


def test_volumes_convert_to_one_row_per_value(mixed: ServiceDesk) -> None:
    rows = list(csv.DictReader(io.StringIO(report(mixed).volumes.to_csv())))
    assert rows[0] == {"dimension": "category", "key": "Network/VPN", "count": "2"}


def test_backlog_converts_to_rows_with_age_bucket_columns(aged: ServiceDesk) -> None:
    rows = list(csv.DictReader(io.StringIO(
        backlog(aged.list_incidents(), at=T0 + timedelta(days=40)).to_csv())))
    assert (rows[0]["level"], rows[0]["backlog"], rows[0]["age >=30d"]) == ("total", "5", "1")


def test_sla_figures_become_csv_columns_per_metric_and_priority(
        desk: ServiceDesk, clock: FrozenClock, agent: Actor) -> None:
    policy = SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=T0 - timedelta(days=1), fallback="standard",
        agreements=(SlaAgreement(name="standard", calendar=BusinessCalendar.always(),
                                 targets={SlaMetric.RESOLUTION: {4: timedelta(hours=8)}}),)))
    resolved_after(desk, clock, agent, 2)
    row = next(csv.DictReader(io.StringIO(report(desk, sla=policy).to_csv())))
    assert (row["sla_resolution_met"], row["sla_resolution_p4_rate"]) == ("1", "1.0")


# -- refused arguments -------------------------------------------------------------------------


@pytest.mark.parametrize("options", [
    {"group_by": ["colour"]}, {"group_by": ["group", "group"]}, {"group_by": [42]},
    {"group_by": 42}, {"bucket": "year"}, {"anchor": "occurred"},
    {"time_zone": "Mars/Olympus"}, {"time_zone": ""}, {"at": datetime(2026, 1, 5)},
    {"period": (T0, T0)}, {"period": T0}, {"age_buckets": [timedelta(days=3), timedelta(1)]},
    {"age_buckets": [timedelta(0)]}, {"age_buckets": "1d"}, {"calendar": "office"},
    {"sla": "gold"}, {"fcr_window": 30}, {"workflow": "itil"},
], ids=lambda options: ",".join(options))
def test_bad_report_arguments_are_refused(mixed: ServiceDesk,
                                          options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        report(mixed, **options)


@pytest.mark.parametrize("key", [lambda f: [f.channel], lambda f: 1.5],
                         ids=["unhashable", "float"])
def test_a_key_function_returning_an_unusable_value_is_refused(mixed: ServiceDesk,
                                                               key: object) -> None:
    with pytest.raises(ValidationError, match="key"):
        report(mixed, group_by=[("key", key)])


@pytest.mark.parametrize("incidents", ["INC0000001", 42, [42]], ids=["text", "number", "item"])
def test_incidents_that_are_not_incidents_are_refused(incidents: object) -> None:
    with pytest.raises(ValidationError):
        kpi_report(incidents)  # type: ignore[arg-type]  # deliberately wrong
