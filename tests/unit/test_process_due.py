"""Time-driven processing at the desk: SLA alert stages recorded exactly once, auto-close of
resolved incidents, reminders while waiting on the caller, per-incident commits, the report,
and the SLA queries (``sla_status``, ``list_by_sla``).

Every scene runs on Mon-Fri 09:00-17:00 UTC. January 2026: Monday 5, Tuesday 6, Wednesday 7,
Friday 9, Monday 12. An incident logged with the default impact and urgency has priority 4:
response target 4 h, resolution target 16 h (business time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from itil_incident import (
    AUTO_CLOSED,
    FORECAST_HORIZON,
    SYSTEM,
    Actor,
    BusinessCalendar,
    ClockRules,
    ClockStatus,
    ConcurrencyError,
    DefinitionError,
    DeskPolicies,
    DomainEvent,
    DueReport,
    EscalationAction,
    EscalationRule,
    FrozenClock,
    Incident,
    IncidentClosed,
    IncidentReminderSent,
    IncidentSlaStageReached,
    InMemoryRepository,
    NotFoundError,
    PermissionDeniedError,
    RecordingNotifier,
    RoleBasedAuthorizer,
    ServiceDesk,
    SlaAgreement,
    SlaPolicy,
    SlaPolicyVersion,
    TransitionDef,
    ValidationError,
    Workflow,
    default_incident_workflow,
)
from itil_incident.testing import make_desk

OFFICE = BusinessCalendar.office("UTC")
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
CALLER = Actor("carol", "Carol Caller", frozenset({"end_user"}))
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
US = timedelta(microseconds=1)
RESPONSE = {1: 30 * MINUTE, 2: HOUR, 3: 2 * HOUR, 4: 4 * HOUR}
RESOLUTION = {1: 2 * HOUR, 2: 4 * HOUR, 3: 8 * HOUR, 4: 16 * HOUR}


def jan(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def sla_policy(*olas: SlaAgreement) -> SlaPolicy:
    standard = SlaAgreement(name="standard", calendar=OFFICE,
                            targets={"response": RESPONSE, "resolution": RESOLUTION})
    return SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=datetime(2025, 1, 1, tzinfo=UTC),
        agreements=(standard, *olas), fallback="standard"))


class Scene:
    """A desk on fakes whose clock starts Monday 09:00; ``process`` moves the clock first."""

    def __init__(self, repository: InMemoryRepository | None = None, **policies: Any) -> None:
        self.clock = FrozenClock(jan(5, 9))
        self.notifier = RecordingNotifier()
        fields: dict[str, Any] = {"categorizer": None, "sla": sla_policy()}
        fields.update(policies)
        self.repository = repository if repository is not None else InMemoryRepository()
        self.desk: ServiceDesk = make_desk(repository=self.repository, clock=self.clock,
                                           notifier=self.notifier,
                                           policies=DeskPolicies(**fields))

    def at(self, when: datetime) -> ServiceDesk:
        self.clock.set(when)
        return self.desk

    def log(self, **fields: Any) -> str:
        fields.setdefault("assignment_group", "Network Support")
        return self.desk.log_incident(actor=AGENT, title="VPN drops", caller="carol",
                                      **fields).id

    def process(self, when: datetime) -> DueReport:
        self.clock.set(when)
        return self.desk.process_due()

    def events(self, incident_id: str) -> list[DomainEvent]:
        return self.desk.timeline(incident_id)

    def stages(self, incident_id: str) -> list[IncidentSlaStageReached]:
        return [e for e in self.events(incident_id) if isinstance(e, IncidentSlaStageReached)]


def keys(stages: Sequence[IncidentSlaStageReached]) -> list[tuple[str, str | None, int, float]]:
    return [stage.key for stage in stages]


def resolve(desk: ServiceDesk, incident_id: str) -> None:
    desk.resolve(incident_id, actor=AGENT, code="solved_remotely", notes="Reset the tunnel.")


# -- alert stages --------------------------------------------------------------------------------


def test_a_reached_stage_is_recorded_with_when_it_was_reached_and_dated_the_processing_instant(
) -> None:
    scene = Scene()
    incident = scene.log()
    report = scene.process(jan(5, 11, 30))
    (stage,) = report.stages
    assert (stage.incident_id, stage.metric, stage.group, stage.agreement, stage.cycle,
            stage.fraction) == (incident, "response", None, "standard", 1, 0.5)
    assert (stage.reached_at, stage.at, stage.due_at) == (jan(5, 11), jan(5, 11, 30), jan(5, 13))
    assert stage.actor == SYSTEM


def test_nothing_is_recorded_before_a_stage_is_reached() -> None:
    scene = Scene()
    incident = scene.log()
    report = scene.process(jan(5, 11) - US)
    assert not report
    assert scene.stages(incident) == []


def test_a_stage_is_recorded_at_the_very_instant_it_is_reached() -> None:
    scene = Scene()
    scene.log()
    assert [s.reached_at for s in scene.process(jan(5, 11)).stages] == [jan(5, 11)]


def test_a_late_call_records_every_stage_reached_since_in_clock_then_fraction_order() -> None:
    scene = Scene()
    incident = scene.log()
    scene.process(jan(6, 14))
    assert keys(scene.stages(incident)) == [
        ("response", None, 1, 0.5), ("response", None, 1, 0.75), ("response", None, 1, 1.0),
        ("resolution", None, 1, 0.5), ("resolution", None, 1, 0.75)]


def test_a_second_call_for_the_same_instant_changes_nothing_and_reports_nothing() -> None:
    scene = Scene()
    incident = scene.log()
    assert scene.process(jan(6, 14))
    before = scene.events(incident)
    again = scene.desk.process_due(jan(6, 14))
    assert not again
    assert scene.events(incident) == before


def test_calls_at_many_increasing_instants_record_each_stage_exactly_once() -> None:
    scene = Scene()
    incident = scene.log()
    when = jan(5, 9)
    while when <= jan(7, 9):
        scene.process(when)
        when += 7 * MINUTE
    counted = Counter(keys(scene.stages(incident)))
    assert set(counted.values()) == {1}
    assert len(counted) == 6


def test_a_call_for_an_earlier_instant_after_a_later_one_changes_nothing() -> None:
    scene = Scene()
    incident = scene.log()
    scene.process(jan(5, 12, 30))
    before = scene.events(incident)
    report = scene.desk.process_due(jan(5, 11, 30))
    assert not report
    assert scene.events(incident) == before


def test_a_stage_reached_before_the_last_change_is_dated_now_not_before_that_change() -> None:
    scene = Scene()
    incident = scene.log()
    scene.at(jan(5, 12)).add_work_note(incident, "Looking at the tunnel logs", actor=AGENT)
    scene.process(jan(5, 12, 30))
    stages = scene.stages(incident)
    assert [s.reached_at for s in stages] == [jan(5, 11), jan(5, 12)]
    assert {s.at for s in stages} == {jan(5, 12, 30)}


def test_processing_only_appends_to_a_history_and_never_dates_an_event_before_the_last() -> None:
    scene = Scene()
    incident = scene.log()
    scene.at(jan(5, 10)).start_work(incident, actor=AGENT)
    before = scene.events(incident)
    for when in (jan(5, 13), jan(6, 10), jan(6, 18), jan(7, 9)):
        scene.process(when)
    after = scene.events(incident)
    assert after[: len(before)] == before
    times = [event.at for event in after]
    assert times == sorted(times)


def test_a_reopen_starts_a_new_cycle_whose_stages_are_recorded_once_more() -> None:
    scene = Scene()
    incident = scene.log()
    scene.process(jan(6, 14))
    resolve(scene.at(jan(6, 14)), incident)
    scene.at(jan(6, 15)).reopen(incident, actor=CALLER, reason="It drops again")
    scene.process(jan(6, 15))
    scene.process(jan(6, 15))
    resolution = [k for k in keys(scene.stages(incident)) if k[0] == "resolution"]
    assert resolution == [("resolution", None, 1, 0.5), ("resolution", None, 1, 0.75),
                          ("resolution", None, 2, 0.5), ("resolution", None, 2, 0.75)]


def test_in_a_new_cycle_a_stage_passed_before_is_reached_when_the_cycle_starts() -> None:
    scene = Scene()
    incident = scene.log()
    resolve(scene.at(jan(6, 14)), incident)
    scene.at(jan(6, 15)).reopen(incident, actor=CALLER, reason="It drops again")
    scene.process(jan(6, 16))
    cycle_two = [s for s in scene.stages(incident) if s.cycle == 2]
    assert [(s.fraction, s.reached_at) for s in cycle_two] == [(0.5, jan(6, 15)),
                                                               (0.75, jan(6, 15))]


def test_an_ola_clock_records_its_stages_under_its_group() -> None:
    ola = SlaAgreement(name="network-ola", calendar=OFFICE, group="Network Support",
                       targets={"resolution": dict.fromkeys(range(1, 5), 2 * HOUR)})
    scene = Scene(sla=sla_policy(ola))
    incident = scene.log()
    scene.process(jan(5, 10))
    assert keys(scene.stages(incident)) == [("resolution", "Network Support", 1, 0.5)]
    assert scene.stages(incident)[0].agreement == "network-ola"


def test_a_clock_paused_while_waiting_on_the_caller_reaches_no_further_stage() -> None:
    scene = Scene()
    incident = scene.log()
    scene.at(jan(5, 10)).start_work(incident, actor=AGENT)
    scene.at(jan(5, 12)).put_on_hold(incident, "awaiting_caller", actor=AGENT)
    scene.process(jan(7, 17))
    assert keys(scene.stages(incident)) == []


def test_recorded_stages_are_handed_to_the_notifier() -> None:
    scene = Scene()
    scene.log()
    scene.notifier.clear()
    report = scene.process(jan(5, 12))
    assert scene.notifier.events == list(report.stages)


def test_closed_and_cancelled_incidents_are_not_examined() -> None:
    scene = Scene()
    open_one = scene.log()
    cancelled = scene.log()
    scene.desk.cancel(cancelled, actor=AGENT, reason="Logged twice")
    report = scene.process(jan(5, 12))
    assert report.examined == 1
    assert {s.incident_id for s in report.stages} == {open_one}


def test_a_desk_without_time_driven_policies_examines_nothing() -> None:
    scene = Scene(sla=None)
    scene.log()
    report = scene.process(jan(9, 17))
    assert not report
    assert report.examined == 0


def test_without_an_instant_the_desks_clock_tells_the_time() -> None:
    scene = Scene()
    scene.log()
    scene.clock.set(jan(5, 11))
    assert scene.desk.process_due().at == jan(5, 11)


def test_an_instant_later_than_the_desks_clock_is_refused() -> None:
    scene = Scene()
    scene.log()
    with pytest.raises(ValidationError, match="later than the desk clock"):
        scene.desk.process_due(jan(5, 9) + US)


def test_a_naive_instant_is_refused() -> None:
    scene = Scene()
    scene.log()
    with pytest.raises(ValidationError, match="timezone-aware"):
        scene.desk.process_due(datetime(2026, 1, 5, 12))


def test_the_authorizer_is_asked_whether_the_system_may_process_due_work() -> None:
    authorizer = RoleBasedAuthorizer({"*": {"agent"}})
    desk = make_desk(authorizer=authorizer, policies=DeskPolicies(sla=sla_policy()))
    with pytest.raises(PermissionDeniedError, match="process_due"):
        desk.process_due()


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["auto_close_after", "hold_reminder_every"])
@pytest.mark.parametrize("value", [timedelta(0), -HOUR, 3600])
def test_policies_refuse_a_duration_that_is_not_a_positive_timedelta(field: str,
                                                                    value: Any) -> None:
    fields: dict[str, Any] = {field: value}
    with pytest.raises(DefinitionError) as raised:
        DeskPolicies(**fields)
    assert raised.value.culprit == field


def test_policies_refuse_an_sla_that_is_not_an_sla_policy() -> None:
    bad: Any = {"response": {1: HOUR}}
    with pytest.raises(DefinitionError, match="SlaPolicy"):
        DeskPolicies(sla=bad)


def test_policies_refuse_an_auto_close_calendar_that_is_not_a_business_calendar() -> None:
    bad: Any = "Mon-Fri 9-17"
    with pytest.raises(DefinitionError, match="BusinessCalendar"):
        DeskPolicies(auto_close_calendar=bad)


def test_policies_refuse_an_sla_whose_clock_rules_name_a_state_the_workflow_lacks() -> None:
    version = SlaPolicyVersion(
        version=1, effective_from=datetime(2025, 1, 1, tzinfo=UTC),
        agreements=(SlaAgreement(name="standard", calendar=OFFICE,
                                 targets={"response": RESPONSE}),),
        fallback="standard",
        clock_rules={"response": ClockRules(stop_states=frozenset({"acknowledged"}))})
    with pytest.raises(DefinitionError, match="acknowledged"):
        DeskPolicies(sla=SlaPolicy.single("support", version))


def test_by_default_nothing_is_time_driven() -> None:
    policies = DeskPolicies()
    assert (policies.sla, policies.escalation_rules, policies.auto_close_after,
            policies.auto_close_calendar, policies.hold_reminder_every) == (
        None, (), None, None, None)


# -- the entity methods ----------------------------------------------------------------------


def _logged() -> Incident:
    scene = Scene()
    return scene.desk.get_incident(scene.log())


def _stage(incident: Incident, **changes: Any) -> IncidentSlaStageReached:
    fields: dict[str, Any] = {
        "metric": "response", "group": None, "agreement": "standard", "cycle": 1,
        "fraction": 0.5, "reached_at": jan(5, 11), "due_at": jan(5, 13), "actor": SYSTEM,
        "at": jan(5, 12)}
    fields.update(changes)
    return incident.record_sla_stage(**fields)


def test_recording_the_same_stage_of_the_same_cycle_twice_is_refused() -> None:
    incident = _logged()
    _stage(incident)
    with pytest.raises(ValidationError, match="already recorded"):
        _stage(incident, at=jan(5, 13))


def test_the_same_stage_may_be_recorded_for_another_cycle_or_group() -> None:
    incident = _logged()
    _stage(incident)
    _stage(incident, cycle=2)
    _stage(incident, group="Network Support")
    assert len(incident.sla_stages) == 3


def test_a_stage_reached_after_the_time_of_recording_is_refused() -> None:
    incident = _logged()
    with pytest.raises(ValidationError) as raised:
        _stage(incident, reached_at=jan(5, 13))
    assert raised.value.field == "reached_at"


def test_a_stage_dated_before_the_incidents_last_change_is_refused() -> None:
    incident = _logged()
    with pytest.raises(ValidationError, match="history is never rewritten"):
        _stage(incident, at=jan(5, 8), reached_at=jan(5, 8))


@pytest.mark.parametrize("fraction", [0, -0.5, float("nan"), float("inf"), True, "half"])
def test_a_stage_fraction_that_is_not_a_positive_number_is_refused(fraction: object) -> None:
    incident = _logged()
    with pytest.raises(ValidationError) as raised:
        _stage(incident, fraction=fraction)
    assert raised.value.field == "fraction"


def test_a_reminder_numbered_no_higher_than_the_last_of_its_kind_is_refused() -> None:
    incident = _logged()
    incident.send_reminder("awaiting_caller", 2, actor=SYSTEM, at=jan(5, 12))
    with pytest.raises(ValidationError, match="already sent"):
        incident.send_reminder("awaiting_caller", 2, actor=SYSTEM, at=jan(5, 13))


def test_a_status_change_starts_reminder_numbers_over() -> None:
    incident = _logged()
    incident.send_reminder("awaiting_caller", 2, actor=SYSTEM, at=jan(5, 12))
    incident.start_work(actor=AGENT, at=jan(5, 13))
    assert incident.reminders_sent("awaiting_caller") == 0
    incident.send_reminder("awaiting_caller", 1, actor=SYSTEM, at=jan(5, 14))


# -- auto-close ----------------------------------------------------------------------------------


def _resolved(scene: Scene, when: datetime) -> str:
    incident = scene.log()
    resolve(scene.at(when), incident)
    return incident


def test_a_resolved_incident_is_closed_by_the_system_once_the_wall_duration_has_passed() -> None:
    scene = Scene(sla=None, auto_close_after=48 * HOUR)
    incident = _resolved(scene, jan(5, 10))
    report = scene.process(jan(7, 10))
    closed = scene.desk.get_incident(incident)
    assert (closed.status, closed.closure_code, closed.caller_confirmed) == (
        "closed", AUTO_CLOSED, None)
    (event,) = report.auto_closes
    assert (event.actor, event.at) == (SYSTEM, jan(7, 10))


def test_a_resolved_incident_stays_resolved_until_the_wall_duration_has_passed() -> None:
    scene = Scene(sla=None, auto_close_after=48 * HOUR)
    incident = _resolved(scene, jan(5, 10))
    assert not scene.process(jan(7, 10) - US)
    assert scene.desk.get_incident(incident).status == "resolved"


def test_on_a_business_calendar_auto_close_waits_for_working_time_only() -> None:
    scene = Scene(sla=None, auto_close_after=8 * HOUR, auto_close_calendar=OFFICE)
    incident = _resolved(scene, jan(9, 16))
    assert not scene.process(jan(12, 16) - US)
    assert scene.desk.get_incident(incident).status == "resolved"


def test_on_a_business_calendar_auto_close_happens_when_the_business_time_has_passed() -> None:
    scene = Scene(sla=None, auto_close_after=8 * HOUR, auto_close_calendar=OFFICE)
    incident = _resolved(scene, jan(9, 16))
    report = scene.process(jan(12, 16))
    assert [e.incident_id for e in report.auto_closes] == [incident]


def test_a_reopen_starts_the_auto_close_wait_over() -> None:
    scene = Scene(sla=None, auto_close_after=48 * HOUR)
    incident = _resolved(scene, jan(5, 10))
    scene.at(jan(6, 9)).reopen(incident, actor=CALLER, reason="Still broken")
    resolve(scene.at(jan(6, 10)), incident)
    assert not scene.process(jan(7, 10))
    assert scene.process(jan(8, 10)).auto_closes


def test_a_comment_by_the_caller_starts_the_auto_close_wait_over() -> None:
    scene = Scene(sla=None, auto_close_after=48 * HOUR)
    incident = _resolved(scene, jan(5, 10))
    scene.at(jan(6, 10)).add_comment(incident, "Not sure it is fixed", actor=CALLER)
    assert not scene.process(jan(7, 10))
    assert scene.process(jan(8, 10)).auto_closes


def test_a_comment_by_support_does_not_delay_the_auto_close() -> None:
    scene = Scene(sla=None, auto_close_after=48 * HOUR)
    incident = _resolved(scene, jan(5, 10))
    scene.at(jan(6, 10)).add_comment(incident, "Please confirm the fix", actor=AGENT)
    assert [e.incident_id for e in scene.process(jan(7, 10)).auto_closes] == [incident]


def test_an_open_incident_is_never_auto_closed() -> None:
    scene = Scene(sla=None, auto_close_after=HOUR)
    incident = scene.log()
    assert not scene.process(jan(12, 9))
    assert scene.desk.get_incident(incident).status == "new"


# -- reminders -----------------------------------------------------------------------------------


def _waiting(scene: Scene, reason: str = "awaiting_caller") -> str:
    incident = scene.log()
    scene.at(jan(5, 9, 30)).start_work(incident, actor=AGENT)
    scene.at(jan(5, 10)).put_on_hold(incident, reason, actor=AGENT,
                                     note="Which VPN client version do you run?")
    return incident


def _reminders(scene: Scene, incident: str) -> list[int]:
    return [e.number for e in scene.events(incident) if isinstance(e, IncidentReminderSent)]


def test_an_incident_waiting_on_the_caller_gets_one_reminder_per_interval() -> None:
    scene = Scene(sla=None, hold_reminder_every=HOUR)
    incident = _waiting(scene)
    for when in (jan(5, 10, 30), jan(5, 11), jan(5, 11, 30), jan(5, 12), jan(5, 12)):
        scene.process(when)
    assert _reminders(scene, incident) == [1, 2]


def test_a_reminder_is_of_kind_awaiting_caller_and_sent_by_the_system() -> None:
    scene = Scene(sla=None, hold_reminder_every=HOUR)
    _waiting(scene)
    (reminder,) = scene.process(jan(5, 11)).reminders
    assert (reminder.kind, reminder.number, reminder.actor) == ("awaiting_caller", 1, SYSTEM)


def test_a_late_call_sends_one_reminder_numbered_by_the_intervals_elapsed() -> None:
    scene = Scene(sla=None, hold_reminder_every=HOUR)
    incident = _waiting(scene)
    scene.process(jan(5, 13, 30))
    scene.process(jan(5, 13, 30))
    assert _reminders(scene, incident) == [3]


def test_an_incident_waiting_on_a_vendor_gets_no_reminder() -> None:
    scene = Scene(sla=None, hold_reminder_every=HOUR)
    incident = _waiting(scene, "awaiting_vendor")
    scene.process(jan(5, 15))
    assert _reminders(scene, incident) == []


def test_a_new_hold_numbers_its_reminders_from_one_again() -> None:
    scene = Scene(sla=None, hold_reminder_every=HOUR)
    incident = _waiting(scene)
    scene.process(jan(5, 12))
    scene.at(jan(5, 13)).resume(incident, actor=AGENT)
    scene.at(jan(5, 14)).put_on_hold(incident, "awaiting_caller", actor=AGENT)
    scene.process(jan(5, 15))
    assert _reminders(scene, incident) == [2, 1]


def test_a_new_hold_in_place_numbers_its_reminders_from_one_again() -> None:
    base = default_incident_workflow()
    rehold = Workflow("rehold", base.states.values(),
                      [*base.transitions, TransitionDef("hold", "on_hold", "on_hold")])
    scene = Scene(sla=None, hold_reminder_every=HOUR, incident_workflow=rehold)
    incident = _waiting(scene)
    scene.process(jan(5, 12))
    scene.at(jan(5, 13)).put_on_hold(incident, "awaiting_caller", actor=AGENT)
    scene.process(jan(5, 14))
    assert _reminders(scene, incident) == [2, 1]


# -- commits per incident ------------------------------------------------------------------------


class RacingRepository(InMemoryRepository):
    """An in-memory repository where someone else changes ``victim`` just before the desk's
    next commit of it (once), as a second user or process would."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: str | None = None

    def commit(self, records: Sequence[Any]) -> None:
        victim = self.victim
        if victim is not None and any(record.id == victim for record in records):
            self.victim = None
            other = self.get_incident(victim)
            other.add_note("Meanwhile, on another screen", actor=AGENT, at=other.updated_at)
            super().commit([other])
        super().commit(records)


def test_a_concurrent_change_on_one_incident_is_reported_and_the_others_are_processed() -> None:
    repository = RacingRepository()
    scene = Scene(repository=repository)
    first, second, third = scene.log(), scene.log(), scene.log()
    repository.victim = second
    report = scene.process(jan(5, 11, 30))
    (skipped,) = report.skipped
    assert (skipped.incident_id, skipped.rule) == (second, None)
    assert isinstance(skipped.error, ConcurrencyError)
    assert {s.incident_id for s in report.stages} == {first, third}
    assert scene.stages(second) == []


def test_an_incident_skipped_after_a_concurrent_change_is_processed_by_the_next_call() -> None:
    repository = RacingRepository()
    scene = Scene(repository=repository)
    incident = scene.log()
    repository.victim = incident
    scene.process(jan(5, 11, 30))
    report = scene.process(jan(5, 11, 30))
    assert [s.incident_id for s in report.stages] == [incident]
    assert report.skipped == ()


# -- the report ----------------------------------------------------------------------------------


def test_the_report_lists_each_kind_of_work_done_in_one_call() -> None:
    rules = (EscalationRule(name="ack", metric="response", stage=1.0,
                            action=EscalationAction.hierarchical()),
             EscalationRule(name="urgent", metric="resolution", stage=0.5,
                            action=EscalationAction.raise_priority()),
             EscalationRule(name="top", metric="resolution", stage=0.75,
                            action=EscalationAction.raise_priority(to=1)),)
    scene = Scene(escalation_rules=rules, auto_close_after=HOUR, hold_reminder_every=HOUR)
    late = scene.log(impact=1, urgency=2)  # priority 2
    waiting = _waiting(scene)
    resolved = _resolved(scene, jan(5, 10))
    report = scene.process(jan(5, 12, 30))
    assert report.at == jan(5, 12, 30)
    assert report.examined == 3
    assert {s.incident_id for s in report.stages} == {late}
    assert [(e.rule, e.incident_id) for e in report.escalations] == [("ack", late)]
    assert [(r.rule, r.incident_id) for r in report.priority_raises] == [("urgent", late)]
    assert [(s.rule, s.incident_id) for s in report.skipped] == [("top", late)]
    assert [e.incident_id for e in report.auto_closes] == [resolved]
    assert all(isinstance(e, IncidentClosed) for e in report.auto_closes)
    assert [e.incident_id for e in report.reminders] == [waiting]


def test_the_reports_events_are_every_event_recorded_by_incident_then_version() -> None:
    scene = Scene(auto_close_after=HOUR)
    first = scene.log()
    second = _resolved(scene, jan(5, 10))
    report = scene.process(jan(5, 12, 30))
    expected = [e for i in (first, second) for e in scene.events(i) if e.at == jan(5, 12, 30)]
    assert list(report.events) == expected


def test_an_empty_report_is_false() -> None:
    assert not DueReport(at=jan(5, 9))


# -- queries -------------------------------------------------------------------------------------


def test_sla_status_gives_each_clock_of_the_incident_at_the_instant_asked() -> None:
    scene = Scene()
    incident = scene.log()
    clocks = scene.desk.sla_status(incident, at=jan(5, 10))
    assert [(c.metric, c.status, c.business_elapsed) for c in clocks] == [
        ("response", ClockStatus.RUNNING, HOUR), ("resolution", ClockStatus.RUNNING, HOUR)]


def test_sla_status_forecasts_up_to_the_horizon_after_the_clocks_time() -> None:
    scene = Scene()
    incident = scene.log()
    clocks = scene.desk.sla_status(incident, at=jan(5, 9) + FORECAST_HORIZON)
    assert {c.status for c in clocks} == {ClockStatus.BREACHED}


def test_sla_status_refuses_an_instant_beyond_the_forecast_horizon() -> None:
    scene = Scene()
    incident = scene.log()
    with pytest.raises(ValidationError, match="days after the desk clock"):
        scene.desk.sla_status(incident, at=jan(5, 9) + FORECAST_HORIZON + US)


def test_list_by_sla_refuses_an_instant_beyond_the_forecast_horizon() -> None:
    with pytest.raises(ValidationError, match="days after the desk clock"):
        Scene().desk.list_by_sla("running", at=datetime(2030, 1, 1, tzinfo=UTC))


def test_sla_status_without_an_sla_policy_is_empty() -> None:
    scene = Scene(sla=None)
    assert scene.desk.sla_status(scene.log(), at=jan(5, 10)) == ()


def test_sla_status_of_an_unknown_incident_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        Scene().desk.sla_status("INC0000404")


def _three(scene: Scene) -> tuple[str, str, str]:
    """Incidents of priority 1, 2 and 4, all logged Monday 09:00."""
    return (scene.log(impact=1, urgency=1), scene.log(impact=1, urgency=2), scene.log())


def _listed(entries: list[tuple[Incident, Any]]) -> list[tuple[str, str]]:
    return [(incident.id, str(clock.metric)) for incident, clock in entries]


def test_running_clocks_are_listed_least_time_remaining_first() -> None:
    scene = Scene()
    p1, p2, p4 = _three(scene)
    entries = scene.desk.list_by_sla("running", at=jan(5, 9, 20))
    assert _listed(entries) == [(p1, "response"), (p2, "response"), (p1, "resolution"),
                                (p2, "resolution"), (p4, "response"), (p4, "resolution")]


def test_breached_clocks_are_listed_most_overdue_first() -> None:
    scene = Scene()
    p1, p2, _p4 = _three(scene)
    entries = scene.desk.list_by_sla("breached", at=jan(5, 11))
    assert _listed(entries) == [(p1, "response"), (p2, "response")]
    assert [clock.remaining for _, clock in entries] == [-90 * MINUTE, -HOUR]


def test_a_clock_that_stopped_after_its_deadline_is_no_longer_listed_as_breached() -> None:
    scene = Scene()
    p1, _p2, _p4 = _three(scene)
    scene.at(jan(5, 10)).assign(p1, actor=AGENT, assignee="bob")
    assert (p1, "response") not in _listed(scene.desk.list_by_sla("breached", at=jan(5, 10, 30)))


def test_a_clock_exactly_at_its_deadline_is_at_risk_not_breached() -> None:
    scene = Scene()
    _p1, p2, _p4 = _three(scene)
    assert (p2, "response") not in _listed(scene.desk.list_by_sla("breached", at=jan(5, 10)))
    assert (p2, "response") in _listed(scene.desk.list_by_sla("at_risk", at=jan(5, 10)))


def test_at_risk_lists_running_clocks_that_used_the_given_share_of_their_target() -> None:
    scene = Scene()
    p1, _p2, _p4 = _three(scene)
    assert _listed(scene.desk.list_by_sla("at_risk", at=jan(5, 9, 20),
                                          at_risk_fraction=0.5)) == [(p1, "response")]


def test_at_risk_uses_three_quarters_of_the_target_by_default() -> None:
    scene = Scene()
    _three(scene)
    assert scene.desk.list_by_sla("at_risk", at=jan(5, 9, 20)) == []


def test_paused_lists_the_clocks_of_incidents_waiting_on_the_caller() -> None:
    scene = Scene()
    waiting = _waiting(scene)
    scene.log()
    assert _listed(scene.desk.list_by_sla("paused", at=jan(5, 11))) == [(waiting, "resolution")]


def test_a_limit_caps_the_number_of_entries() -> None:
    scene = Scene()
    p1, p2, _p4 = _three(scene)
    entries = scene.desk.list_by_sla("running", at=jan(5, 9, 20), limit=2)
    assert _listed(entries) == [(p1, "response"), (p2, "response")]


def test_resolved_incidents_are_not_listed() -> None:
    scene = Scene()
    _resolved(scene, jan(5, 10))
    assert scene.desk.list_by_sla("breached", at=jan(9, 17)) == []


def test_an_unknown_sla_state_is_refused_with_the_known_states_listed() -> None:
    bad: Any = "late"
    with pytest.raises(ValidationError, match="at_risk"):
        Scene().desk.list_by_sla(bad)


@pytest.mark.parametrize("fraction", [0, 1.5, float("nan"), True])
def test_an_at_risk_fraction_outside_zero_to_one_is_refused(fraction: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        Scene().desk.list_by_sla("at_risk", at_risk_fraction=fraction)
    assert raised.value.field == "at_risk_fraction"


def test_without_an_sla_policy_nothing_is_listed() -> None:
    scene = Scene(sla=None)
    scene.log()
    assert scene.desk.list_by_sla("running", at=jan(5, 10)) == []
