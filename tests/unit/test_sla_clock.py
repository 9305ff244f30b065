"""SLA clocks evaluated from real desk histories: due times, pauses, stops, priorities, OLAs,
versions, stages and the met / breached boundary.

Every scene runs on Mon-Fri 09:00-17:00 UTC unless it says otherwise. January 2026: Monday 5,
Friday 9, Saturday 10, Monday 12, Tuesday 13.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from itil_incident import Actor, IncidentNoteAdded
from itil_incident.domain.workflow import StateDef, TransitionDef, Workflow
from itil_incident.errors import ValidationError
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.sla import (
    ClockRules,
    SlaAgreement,
    SlaMatchRule,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)
from itil_incident.policies.sla_clock import (
    NOT_WITH_GROUP,
    ClockPause,
    ClockState,
    ClockStatus,
    evaluate,
)
from itil_incident.testing import FrozenClock, make_desk

R, X = SlaMetric.RESPONSE, SlaMetric.RESOLUTION
OFFICE = BusinessCalendar.office("UTC")
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
EARLY = datetime(2025, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)

RESPONSE_TARGETS = {1: timedelta(minutes=15), 2: HOUR, 3: 2 * HOUR, 4: 4 * HOUR}
RESOLUTION_TARGETS = {1: 2 * HOUR, 2: 4 * HOUR, 3: 6 * HOUR, 4: 8 * HOUR}


def jan(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def agreement(name: str = "standard", *, resolution: timedelta | None = None,
              **changes: Any) -> SlaAgreement:
    targets = {R: RESPONSE_TARGETS,
               X: RESOLUTION_TARGETS if resolution is None else dict.fromkeys(range(1, 5),
                                                                               resolution)}
    fields: dict[str, Any] = {"name": name, "calendar": OFFICE, "targets": targets}
    fields.update(changes)
    return SlaAgreement(**fields)


def version(*agreements: SlaAgreement, number: int = 1, effective_from: datetime = EARLY,
            rules: tuple[SlaMatchRule, ...] = (), fallback: str | None = "standard",
            **changes: Any) -> SlaPolicyVersion:
    return SlaPolicyVersion(version=number, effective_from=effective_from,
                            agreements=agreements or (agreement(),), rules=rules,
                            fallback=fallback, **changes)


def policy(*agreements: SlaAgreement, **changes: Any) -> SlaPolicy:
    return SlaPolicy("support", (version(*agreements, **changes),))


class Scene:
    """One incident on a desk with a frozen clock; commands move the clock first."""

    def __init__(self, logged_at: datetime, sla: SlaPolicy | None = None, *,
                 workflow: Workflow | None = None, **log: Any) -> None:
        self.clock = FrozenClock(logged_at)
        policies = DeskPolicies(categorizer=None, routing=None)
        if workflow is not None:
            policies = DeskPolicies(categorizer=None, routing=None, incident_workflow=workflow)
        self.desk = make_desk(clock=self.clock, policies=policies)
        self.policy = sla if sla is not None else policy()
        self.id = self.desk.log_incident(actor=AGENT, title="VPN drops", **log).id

    def do(self, at: datetime, command: str, *args: Any, **kwargs: Any) -> Scene:
        self.clock.set(at)
        getattr(self.desk, command)(self.id, *args, actor=AGENT, **kwargs)
        return self

    def hold(self, at: datetime, reason: str = "awaiting_caller") -> Scene:
        if self.desk.get_incident(self.id).status == "new":
            self.do(at, "assign", group="Desk")
        return self.do(at, "put_on_hold", reason)

    def resolve(self, at: datetime) -> Scene:
        return self.do(at, "resolve", code="solved_permanently", notes="Fixed.")

    def override(self, at: datetime, priority: int) -> Scene:
        return self.do(at, "override_priority", priority, justification="Board meeting.")

    def clocks(self, at: datetime | None = None, *, sla: SlaPolicy | None = None,
               recompute: bool = False) -> tuple[ClockState, ...]:
        return evaluate(self.desk.timeline(self.id), sla if sla is not None else self.policy,
                        self.desk.policies.incident_workflow,
                        self.clock.now() if at is None else at, recompute=recompute)

    def clock_of(self, metric: SlaMetric, at: datetime | None = None, *,
                 group: str | None = None, **options: Any) -> ClockState:
        found = [c for c in self.clocks(at, **options) if c.metric == metric and c.group == group]
        assert len(found) == 1, found
        return found[0]

    def resolution(self, at: datetime | None = None, **options: Any) -> ClockState:
        return self.clock_of(X, at, **options)

    def response(self, at: datetime | None = None, **options: Any) -> ClockState:
        return self.clock_of(R, at, **options)


# -- due times on business calendars --------------------------------------------------------------


def test_8_business_hours_from_friday_16_00_are_due_monday_16_00() -> None:
    assert Scene(jan(9, 16)).resolution().due_at == jan(12, 16)


def test_a_clock_started_at_14_00_has_3_business_and_19_wall_hours_at_9_00_next_day() -> None:
    clock = Scene(jan(5, 14)).resolution(jan(6, 9))
    assert (clock.business_elapsed, clock.wall_elapsed) == (3 * HOUR, 19 * HOUR)


def test_a_paris_due_time_follows_local_office_hours_across_the_autumn_clock_change() -> None:
    paris = agreement(calendar=BusinessCalendar.office("Europe/Paris"))
    friday_16_00_cest = datetime(2026, 10, 23, 14, tzinfo=UTC)
    monday_16_00_cet = datetime(2026, 10, 26, 15, tzinfo=UTC)
    assert Scene(friday_16_00_cest, policy(paris)).resolution().due_at == monday_16_00_cet


def test_without_business_hours_10_hours_from_10_30_are_due_at_20_30_the_same_day() -> None:
    always = agreement(calendar=BusinessCalendar.always(), resolution=10 * HOUR)
    assert Scene(jan(5, 10, 30), policy(always)).resolution().due_at == jan(5, 20, 30)


def test_24_business_hours_from_monday_9_00_are_due_wednesday_17_00() -> None:
    scene = Scene(jan(5, 9), policy(agreement(resolution=24 * HOUR)))
    assert scene.resolution().due_at == jan(7, 17)


def test_from_friday_16_00_to_monday_10_00_two_business_hours_elapse() -> None:
    clock = Scene(jan(9, 16)).resolution(jan(12, 10))
    assert (clock.business_elapsed, clock.remaining) == (2 * HOUR, 6 * HOUR)


def test_a_running_clock_reports_the_instant_it_will_breach_and_the_time_left() -> None:
    clock = Scene(jan(5, 9)).resolution(jan(5, 11))
    assert clock.status is ClockStatus.RUNNING
    assert (clock.due_at, clock.remaining, clock.percent_used) == (jan(5, 17), 6 * HOUR, 25.0)


def test_the_counted_periods_are_the_business_periods_the_clock_ran() -> None:
    clock = Scene(jan(9, 16)).resolution(jan(12, 10))
    assert clock.counted == ((jan(9, 16), jan(9, 17)), (jan(12, 9), jan(12, 10)))


# -- pauses ---------------------------------------------------------------------------------------


def _held_over_the_weekend(reason: str = "awaiting_caller", sla: SlaPolicy | None = None
                           ) -> Scene:
    scene = Scene(jan(9, 16), sla).hold(jan(9, 16, 30), reason)
    return scene.do(jan(12, 10), "resume")


def test_a_hold_awaiting_the_caller_shifts_the_due_time_by_exactly_the_business_time_paused(
) -> None:
    clock = _held_over_the_weekend().resolution()
    assert clock.pauses == (
        ClockPause(jan(9, 16, 30), jan(12, 10), "awaiting_caller", timedelta(minutes=90)),)
    assert clock.due_at == OFFICE.add(jan(12, 16), timedelta(minutes=90)) == jan(13, 9, 30)


def test_while_awaiting_the_caller_the_clock_is_paused_with_no_due_time() -> None:
    scene = Scene(jan(9, 16)).hold(jan(9, 16, 30))
    clock = scene.resolution(jan(10, 12))
    assert (clock.status, clock.due_at, clock.business_elapsed) == (
        ClockStatus.PAUSED, None, timedelta(minutes=30))
    assert clock.pauses == (ClockPause(jan(9, 16, 30), None, "awaiting_caller", None),)


def test_awaiting_the_vendor_does_not_pause_the_clock() -> None:
    scene = Scene(jan(9, 16)).hold(jan(9, 16, 30), "awaiting_vendor")
    clock = scene.resolution(jan(12, 10))
    assert (clock.status, clock.business_elapsed, clock.pauses) == (
        ClockStatus.RUNNING, 2 * HOUR, ())


def test_an_agreement_can_make_awaiting_the_vendor_pause_its_clocks() -> None:
    lenient = agreement(pause_hold_reasons={"awaiting_caller", "awaiting_vendor"})
    scene = Scene(jan(9, 16), policy(lenient)).hold(jan(9, 16, 30), "awaiting_vendor")
    assert scene.resolution(jan(12, 10)).status is ClockStatus.PAUSED


def test_clock_rules_can_keep_a_metric_running_through_holds() -> None:
    never = version(clock_rules={X: ClockRules(resume_on_reopen=True, pause=False)})
    scene = _held_over_the_weekend(sla=SlaPolicy("support", (never,)))
    assert scene.resolution().business_elapsed == 2 * HOUR


def test_wall_elapsed_counts_only_the_time_the_clock_ran() -> None:
    clock = _held_over_the_weekend().resolution(jan(12, 11))
    assert clock.wall_elapsed == timedelta(minutes=90)


def test_events_at_the_same_instant_do_not_split_a_pause() -> None:
    scene = Scene(jan(5, 9)).do(jan(5, 10), "assign", group="Desk")
    scene.do(jan(5, 10), "put_on_hold", "awaiting_caller", note="Which laptop is it?")
    scene.do(jan(5, 11), "add_work_note", "Still waiting.").do(jan(5, 12), "resume")
    assert isinstance(scene.desk.timeline(scene.id)[-3], IncidentNoteAdded)
    assert scene.resolution().pauses == (
        ClockPause(jan(5, 10), jan(5, 12), "awaiting_caller", 2 * HOUR),)


def _waiting_workflow() -> Workflow:
    return Workflow(
        "with_waiting",
        [
            StateDef("new", initial=True),
            StateDef("waiting", pauses_sla=True),
            StateDef("resolved", resolved=True, required={"resolution_code"}),
            StateDef("closed", terminal=True, resolved=True),
            StateDef("cancelled", terminal=True),
        ],
        [
            TransitionDef("wait", "new", "waiting"),
            TransitionDef("carry_on", "waiting", "new"),
            TransitionDef("resolve", ("new", "waiting"), "resolved"),
            TransitionDef("close", "resolved", "closed"),
            TransitionDef("cancel", ("new", "waiting"), "cancelled"),
        ],
    )


def test_a_state_flagged_pauses_sla_pauses_the_clock_without_a_hold_reason() -> None:
    scene = Scene(jan(5, 9), workflow=_waiting_workflow()).do(jan(5, 10), "transition", "wait")
    clock = scene.resolution(jan(5, 12))
    assert clock.status is ClockStatus.PAUSED
    assert clock.pauses == (ClockPause(jan(5, 10), None, "waiting", None),)


# -- priority changes -----------------------------------------------------------------------------


def test_a_priority_change_keeps_elapsed_time_and_pauses_and_switches_the_target() -> None:
    scene = Scene(jan(5, 9)).hold(jan(5, 10)).do(jan(5, 11), "resume")
    before = scene.resolution(jan(5, 11, 30))
    after = scene.override(jan(5, 11, 30), 1).resolution()
    assert (before.priority, before.target) == (4, 8 * HOUR)
    assert (after.priority, after.target, after.remaining) == (1, 2 * HOUR, timedelta(minutes=30))
    assert (after.business_elapsed, after.pauses, after.counted) == (
        before.business_elapsed, before.pauses, before.counted)
    assert after.due_at == jan(5, 12)


def test_raising_the_priority_past_the_time_used_breaches_at_the_new_deadline() -> None:
    clock = Scene(jan(5, 9)).override(jan(5, 12), 1).resolution()
    assert (clock.status, clock.due_at) == (ClockStatus.BREACHED, jan(5, 11))


def test_a_stopped_clock_keeps_the_target_of_the_priority_in_force_when_it_stopped() -> None:
    scene = Scene(jan(5, 9)).resolve(jan(5, 12)).override(jan(5, 13), 1)
    clock = scene.resolution()
    assert (clock.status, clock.priority, clock.target) == (ClockStatus.MET, 4, 8 * HOUR)


# -- stop, resume, cancel -------------------------------------------------------------------------


def test_resolving_meets_the_resolution_clock_at_the_resolution_instant() -> None:
    clock = Scene(jan(5, 9)).resolve(jan(5, 11)).resolution(jan(6, 9))
    assert (clock.status, clock.stopped_at, clock.business_elapsed) == (
        ClockStatus.MET, jan(5, 11), 2 * HOUR)


def test_closing_a_resolved_incident_changes_none_of_its_clocks() -> None:
    scene = Scene(jan(5, 9)).resolve(jan(5, 11))
    resolved = scene.clocks(jan(5, 11))
    assert scene.do(jan(7, 9), "close").clocks() == resolved


def test_a_reopen_resumes_the_resolution_clock_with_its_elapsed_time_kept() -> None:
    scene = Scene(jan(5, 9)).resolve(jan(5, 11)).do(jan(6, 9), "reopen", reason="Still broken.")
    clock = scene.resolution(jan(6, 10))
    assert (clock.status, clock.business_elapsed, clock.stopped_at) == (
        ClockStatus.RUNNING, 3 * HOUR, None)
    assert (clock.cycle, clock.cycle_started_at, clock.due_at) == (2, jan(6, 9), jan(6, 15))


def test_a_reopen_does_not_restart_a_met_response_clock() -> None:
    scene = Scene(jan(5, 9)).do(jan(5, 9, 30), "assign", group="Desk", assignee="bob")
    scene.resolve(jan(5, 11)).do(jan(6, 9), "reopen", reason="Still broken.")
    clock = scene.response(jan(6, 12))
    assert (clock.status, clock.stopped_at) == (ClockStatus.MET, jan(5, 9, 30))


def test_assigning_only_a_group_does_not_stop_the_response_clock() -> None:
    scene = Scene(jan(5, 9)).do(jan(5, 10), "assign", group="Desk")
    assert scene.response(jan(5, 11)).status is ClockStatus.RUNNING


def test_the_response_clock_stops_at_the_first_assignment_to_a_person() -> None:
    scene = Scene(jan(5, 9)).do(jan(5, 10), "assign", group="Desk")
    scene.do(jan(5, 10, 30), "assign", assignee="bob").do(jan(5, 11), "assign", assignee="eve")
    clock = scene.response()
    assert (clock.status, clock.stopped_at, clock.business_elapsed) == (
        ClockStatus.MET, jan(5, 10, 30), timedelta(minutes=90))


def test_the_response_clock_stops_when_work_starts() -> None:
    clock = Scene(jan(5, 9)).do(jan(5, 9, 20), "start_work").response(jan(5, 12))
    assert (clock.status, clock.stopped_at) == (ClockStatus.MET, jan(5, 9, 20))


def test_the_response_clock_stops_at_resolution_when_nobody_took_the_incident_first() -> None:
    clock = Scene(jan(5, 9)).resolve(jan(5, 10)).response(jan(5, 12))
    assert (clock.status, clock.stopped_at) == (ClockStatus.MET, jan(5, 10))


def test_cancelling_cancels_a_running_clock_and_keeps_its_elapsed_time() -> None:
    clock = Scene(jan(5, 9)).do(jan(5, 11), "cancel", reason="Logged twice.").resolution(jan(6, 9))
    assert (clock.status, clock.stopped_at, clock.due_at, clock.business_elapsed) == (
        ClockStatus.CANCELLED, jan(5, 11), None, 2 * HOUR)


def test_cancelling_leaves_a_met_response_clock_met() -> None:
    scene = Scene(jan(5, 9)).do(jan(5, 9, 20), "start_work")
    scene.do(jan(5, 11), "cancel", reason="Not an incident.")
    assert scene.response().status is ClockStatus.MET


def test_a_clock_whose_start_event_has_not_happened_is_not_started() -> None:
    on_assignment = ClockRules(start_events={"incident.assigned"},
                               stop_events={"incident.work_started"})
    scene = Scene(jan(5, 9), SlaPolicy("support", (version(clock_rules={R: on_assignment}),)))
    clock = scene.response(jan(5, 10))
    assert (clock.status, clock.started_at, clock.due_at, clock.business_elapsed) == (
        ClockStatus.NOT_STARTED, None, None, timedelta(0))
    assert not any(stage.reached for stage in clock.stages)


def test_a_clock_with_a_custom_start_event_starts_at_that_event() -> None:
    on_assignment = ClockRules(start_events={"incident.assigned"})
    scene = Scene(jan(5, 9), SlaPolicy("support", (version(clock_rules={R: on_assignment}),)))
    clock = scene.do(jan(5, 10), "assign", group="Desk").response(jan(5, 11))
    assert (clock.status, clock.started_at, clock.business_elapsed) == (
        ClockStatus.RUNNING, jan(5, 10), HOUR)


# -- met or breached ------------------------------------------------------------------------------


def test_a_clock_stopped_exactly_at_its_due_instant_is_met() -> None:
    clock = Scene(jan(5, 9)).resolve(jan(5, 17)).resolution()
    assert (clock.status, clock.remaining, clock.percent_used) == (
        ClockStatus.MET, timedelta(0), 100.0)


def test_a_clock_stopped_a_microsecond_after_its_due_instant_is_breached() -> None:
    clock = Scene(jan(5, 9)).resolve(jan(5, 17) + US).resolution()
    assert (clock.status, clock.due_at) == (ClockStatus.BREACHED, jan(5, 17))


def test_a_running_clock_at_its_due_instant_is_running_with_nothing_left() -> None:
    clock = Scene(jan(5, 9)).resolution(jan(5, 17))
    assert (clock.status, clock.remaining, clock.due_at) == (
        ClockStatus.RUNNING, timedelta(0), jan(5, 17))


def test_a_deadline_at_friday_17_00_shows_breached_on_saturday() -> None:
    clock = Scene(jan(9, 9)).resolution(jan(10, 12))
    assert (clock.status, clock.due_at, clock.remaining) == (
        ClockStatus.BREACHED, jan(9, 17), timedelta(0))


def test_an_overrun_shows_as_negative_remaining_time() -> None:
    clock = Scene(jan(5, 9)).resolution(jan(6, 10))
    assert (clock.remaining, clock.percent_used) == (-HOUR, 112.5)


def test_a_met_clock_reports_the_deadline_it_beat() -> None:
    clock = Scene(jan(5, 9)).resolve(jan(5, 13)).resolution()
    assert clock.due_at == jan(5, 17)


# -- which agreement ------------------------------------------------------------------------------


def test_an_incident_matching_no_rule_without_a_fallback_has_no_clocks() -> None:
    rules = (SlaMatchRule(name="erp", agreement="standard", service="ERP"),)
    assert Scene(jan(5, 9), policy(rules=rules, fallback=None), service="Mail").clocks() == ()


def test_a_rule_on_the_service_chooses_its_agreement_and_is_named() -> None:
    gold = agreement("gold", resolution=4 * HOUR)
    rules = (SlaMatchRule(name="erp", agreement="gold", service="ERP"),)
    clock = Scene(jan(5, 9), policy(agreement(), gold, rules=rules), service="ERP").resolution()
    assert (clock.agreement, clock.rule, clock.target) == ("gold", "erp", 4 * HOUR)


def test_an_incident_no_rule_matches_gets_the_fallback_agreement() -> None:
    gold = agreement("gold", resolution=4 * HOUR)
    rules = (SlaMatchRule(name="erp", agreement="gold", service="ERP"),)
    clock = Scene(jan(5, 9), policy(agreement(), gold, rules=rules), service="Mail").resolution()
    assert (clock.agreement, clock.rule) == ("standard", None)


def test_a_rule_on_a_category_applies_to_incidents_of_a_sub_category() -> None:
    gold = agreement("gold", resolution=4 * HOUR)
    rules = (SlaMatchRule(name="network", agreement="gold", category="Network"),)
    scene = Scene(jan(5, 9), policy(agreement(), gold, rules=rules), category="Network/VPN")
    assert scene.resolution().agreement == "gold"


def test_the_customer_custom_attribute_chooses_the_customer_agreement() -> None:
    gold = agreement("gold", resolution=4 * HOUR)
    rules = (SlaMatchRule(name="acme", agreement="gold", customer="acme"),)
    scene = Scene(jan(5, 9), policy(agreement(), gold, rules=rules), caller="carol",
                  custom={"customer": "acme"})
    assert scene.resolution().agreement == "gold"


def test_without_a_customer_attribute_the_caller_is_the_customer() -> None:
    gold = agreement("gold", resolution=4 * HOUR)
    rules = (SlaMatchRule(name="carol", agreement="gold", customer="carol"),)
    scene = Scene(jan(5, 9), policy(agreement(), gold, rules=rules), caller="carol")
    assert scene.resolution().agreement == "gold"


def test_recategorizing_applies_the_new_agreement_to_the_whole_history() -> None:
    gold = agreement("gold", resolution=4 * HOUR)
    rules = (SlaMatchRule(name="network", agreement="gold", category="Network"),)
    scene = Scene(jan(5, 9), policy(agreement(), gold, rules=rules))
    clock = scene.do(jan(5, 10), "categorize", "Network/VPN").resolution(jan(5, 11))
    assert (clock.agreement, clock.target, clock.business_elapsed) == ("gold", 4 * HOUR, 2 * HOUR)


def test_a_priority_the_agreement_has_no_target_for_gives_no_clock() -> None:
    urgent_only = agreement(targets={X: {1: 2 * HOUR}})
    assert Scene(jan(5, 9), policy(urgent_only)).clocks() == ()


# -- OLAs -----------------------------------------------------------------------------------------


def _ola_policy() -> SlaPolicy:
    return policy(
        agreement(),
        agreement("desk-ola", group="Desk", targets={R: {4: 2 * HOUR}, X: {4: 4 * HOUR}}),
        agreement("network-ola", group="Network", targets={R: {4: HOUR}, X: {4: 8 * HOUR}}),
        agreement("l3-ola", group="L3", targets={X: {4: 8 * HOUR}}),
    )


def _bounced() -> Scene:
    """With Desk 09:00-10:00, Network 10:00-12:00, Desk again from 12:00."""
    scene = Scene(jan(5, 9), _ola_policy(), assignment_group="Desk")
    scene.do(jan(5, 10), "escalate", reason="Needs a network engineer.", group="Network")
    return scene.do(jan(5, 12), "assign", group="Desk")


def test_an_ola_counts_only_while_the_incident_is_with_its_group() -> None:
    clock = _bounced().clock_of(X, jan(5, 13), group="Desk")
    assert (clock.agreement, clock.business_elapsed) == ("desk-ola", 2 * HOUR)
    assert clock.pauses == (ClockPause(jan(5, 10), jan(5, 12), NOT_WITH_GROUP, 2 * HOUR),)


def test_an_ola_pauses_while_the_incident_is_with_another_group() -> None:
    clock = _bounced().clock_of(X, jan(5, 13), group="Network")
    assert (clock.status, clock.business_elapsed, clock.started_at) == (
        ClockStatus.PAUSED, 2 * HOUR, jan(5, 10))


def test_clocks_come_sla_first_then_olas_in_the_order_the_groups_were_reached() -> None:
    order = [(c.group, c.metric) for c in _bounced().clocks(jan(5, 13))]
    assert order == [(None, R), (None, X), ("Desk", R), ("Desk", X), ("Network", R),
                     ("Network", X)]


def test_the_ola_response_clock_stops_when_a_person_of_its_group_takes_the_incident() -> None:
    scene = Scene(jan(5, 9), _ola_policy(), assignment_group="Desk")
    scene.do(jan(5, 10), "escalate", reason="Needs a network engineer.", group="Network")
    scene.do(jan(5, 10, 30), "assign", assignee="nina")
    network = scene.clock_of(R, jan(5, 12), group="Network")
    desk = scene.clock_of(R, jan(5, 12), group="Desk")
    assert (network.status, network.business_elapsed) == (ClockStatus.MET, timedelta(minutes=30))
    assert (desk.status, desk.business_elapsed) == (ClockStatus.PAUSED, HOUR)


def test_a_resolution_by_another_group_stops_an_ola() -> None:
    scene = _bounced().do(jan(5, 13), "escalate", reason="Vendor bug.", group="Network")
    clock = scene.resolve(jan(5, 14)).clock_of(X, jan(5, 15), group="Desk")
    assert (clock.status, clock.business_elapsed) == (ClockStatus.MET, 2 * HOUR)


# -- policy versions ------------------------------------------------------------------------------


def _two_versions(v1: timedelta, v2: timedelta, v2_from: datetime) -> SlaPolicy:
    first = version(agreement(resolution=v1))
    return SlaPolicy("support", (first,)).with_version(
        version(agreement(resolution=v2), number=2, effective_from=v2_from))


def test_a_clock_keeps_the_version_in_force_when_it_started() -> None:
    sla = _two_versions(8 * HOUR, 4 * HOUR, jan(5, 12))
    clock = Scene(jan(5, 9), sla).resolution(jan(5, 13))
    assert (clock.policy_version, clock.target) == (1, 8 * HOUR)


def test_recompute_applies_the_version_in_force_now_to_a_running_clock() -> None:
    sla = _two_versions(8 * HOUR, 4 * HOUR, jan(5, 12))
    clock = Scene(jan(5, 9), sla).resolution(jan(5, 12, 30), recompute=True)
    assert (clock.policy_version, clock.target, clock.remaining) == (
        2, 4 * HOUR, timedelta(minutes=30))


def test_adding_a_version_never_changes_a_met_clock() -> None:
    scene = Scene(jan(5, 9), policy()).resolve(jan(5, 11))
    before = scene.clocks(jan(5, 15))
    stricter = scene.policy.with_version(
        version(agreement(resolution=HOUR), number=2, effective_from=jan(5, 10)))
    assert scene.clocks(jan(5, 15), sla=stricter) == before
    assert scene.clocks(jan(5, 15), sla=stricter, recompute=True) == before


def test_adding_a_version_never_changes_a_breached_clock() -> None:
    strict = policy(agreement(resolution=HOUR))
    scene = Scene(jan(5, 9), strict).resolve(jan(5, 11))
    before = scene.resolution(jan(5, 15))
    lenient = strict.with_version(
        version(agreement(resolution=8 * HOUR), number=2, effective_from=jan(5, 10)))
    assert before.status is ClockStatus.BREACHED
    assert scene.resolution(jan(5, 15), sla=lenient, recompute=True) == before


def test_an_incident_logged_before_the_policy_took_effect_has_no_clocks() -> None:
    later = policy(effective_from=jan(6, 9))
    assert Scene(jan(5, 9), later).clocks(jan(6, 10)) == ()


def test_recompute_gives_clocks_to_incidents_logged_before_the_policy_took_effect() -> None:
    later = policy(effective_from=jan(6, 9))
    clock = Scene(jan(5, 9), later).resolution(jan(6, 10), recompute=True)
    assert (clock.policy_version, clock.business_elapsed) == (1, 9 * HOUR)


# -- alert stages ---------------------------------------------------------------------------------


def test_stages_are_reached_at_the_exact_instants_their_fraction_of_the_target_was_used() -> None:
    stages = Scene(jan(5, 9)).resolution(jan(5, 17)).stages
    assert [(s.fraction, s.reached_at) for s in stages] == [
        (0.5, jan(5, 13)), (0.75, jan(5, 15)), (1.0, jan(5, 17))]


def test_a_pause_delays_the_stages_by_the_business_time_paused() -> None:
    stages = _held_over_the_weekend().resolution(jan(12, 14)).stages
    assert [s.reached_at for s in stages] == [jan(12, 13, 30), None, None]


def test_stage_instants_are_exact_to_the_microsecond() -> None:
    sevenths = agreement(resolution=HOUR, stages=(1 / 7,))
    (stage,) = Scene(jan(5, 9), policy(sevenths)).resolution(jan(5, 10)).stages
    assert stage.reached_at == jan(5, 9) + timedelta(microseconds=514_285_714)


def test_a_reopen_starts_a_cycle_in_which_passed_stages_are_reached_at_the_reopen() -> None:
    scene = Scene(jan(5, 9)).resolve(jan(5, 14)).do(jan(6, 9), "reopen", reason="Back again.")
    stages = scene.resolution(jan(6, 10)).stages
    assert [s.reached_at for s in stages] == [jan(6, 9), jan(6, 10), None]


# -- the explanation and bad input ----------------------------------------------------------------


def test_the_explanation_names_the_agreement_the_pause_and_the_deadline() -> None:
    text = _held_over_the_weekend().resolution().explanation
    assert "resolution clock, SLA 'standard', policy version 1: running." in text
    assert "Paused (awaiting_caller) from 2026-01-09T16:30:00+00:00" in text
    assert "Deadline 2026-01-13T09:30:00+00:00." in text


def test_before_the_incident_was_logged_no_clock_applies() -> None:
    assert Scene(jan(5, 9)).clocks(jan(5, 8)) == ()


def test_a_naive_evaluation_instant_is_refused() -> None:
    scene = Scene(jan(5, 9))
    with pytest.raises(ValidationError, match="timezone-aware"):
        scene.clocks(datetime(2026, 1, 5, 10))  # naive on purpose


def test_a_history_that_does_not_start_with_the_logging_is_refused() -> None:
    scene = Scene(jan(5, 9)).do(jan(5, 10), "assign", group="Desk")
    history = scene.desk.timeline(scene.id)[1:]
    with pytest.raises(ValidationError, match="starts with IncidentLogged"):
        evaluate(history, scene.policy, scene.desk.policies.incident_workflow, jan(5, 11))


def test_events_out_of_time_order_are_refused() -> None:
    scene = Scene(jan(5, 9)).do(jan(5, 10), "assign", group="Desk").hold(jan(5, 11))
    logged, assigned, held = scene.desk.timeline(scene.id)
    with pytest.raises(ValidationError, match="earlier than the event before it"):
        evaluate([logged, held, assigned], scene.policy, scene.desk.policies.incident_workflow,
                 jan(5, 12))


def test_a_policy_of_the_wrong_type_is_refused() -> None:
    scene = Scene(jan(5, 9))
    with pytest.raises(ValidationError, match="SlaPolicy"):
        evaluate(scene.desk.timeline(scene.id), "gold",  # type: ignore[arg-type]  # wrong on purpose
                 scene.desk.policies.incident_workflow, jan(5, 11))
