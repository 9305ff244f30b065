"""Escalation rules: validated definitions, pure matching, and what ``process_due`` does with
them (functional, hierarchical, priority raise; once per clock cycle).

Scenes run on Mon-Fri 09:00-17:00 UTC from Monday 5 January 2026, 09:00. Priority 4 (the
default): response target 4 h, resolution 16 h; priority 2: response 1 h, resolution 4 h;
priority 1: response 30 min, resolution 2 h.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from itil_incident import (
    ANY_OLA,
    SYSTEM,
    Actor,
    BusinessCalendar,
    CategoryPath,
    DefinitionError,
    DeskPolicies,
    EscalationAction,
    EscalationActionKind,
    EscalationKind,
    EscalationRule,
    FrozenClock,
    IncidentEscalated,
    IncidentPriorityOverridden,
    IncidentSlaStageReached,
    RoutingTable,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    SupportGroup,
    matching_rules,
)
from itil_incident.testing import make_desk

OFFICE = BusinessCalendar.office("UTC")
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
RESPONSE = {1: 30 * MINUTE, 2: HOUR, 3: 2 * HOUR, 4: 4 * HOUR}
RESOLUTION = {1: 2 * HOUR, 2: 4 * HOUR, 3: 8 * HOUR, 4: 16 * HOUR}
ROUTING = RoutingTable([
    SupportGroup("Service Desk", 1, "Network Support"),
    SupportGroup("Network Support", 2, "Network Engineering", "network_manager"),
    SupportGroup("Network Engineering", 3),
])
VPN = CategoryPath.parse("Network/VPN")


def jan(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def sla_policy(*olas: SlaAgreement) -> SlaPolicy:
    standard = SlaAgreement(name="standard", calendar=OFFICE,
                            targets={"response": RESPONSE, "resolution": RESOLUTION})
    return SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=datetime(2025, 1, 1, tzinfo=UTC),
        agreements=(standard, *olas), fallback="standard"))


def rule(action: EscalationAction | None = None, **fields: Any) -> EscalationRule:
    fields.setdefault("name", "the-rule")
    return EscalationRule(action=action or EscalationAction.hierarchical(), **fields)


class Scene:
    """A desk with the given rules; ``process`` moves the clock, then processes."""

    def __init__(self, *rules: EscalationRule, sla: SlaPolicy | None = None) -> None:
        self.clock = FrozenClock(jan(5, 9))
        self.desk: ServiceDesk = make_desk(clock=self.clock, policies=DeskPolicies(
            categorizer=None, routing=ROUTING, sla=sla or sla_policy(), escalation_rules=rules))

    def log(self, group: str = "Network Support", **fields: Any) -> str:
        return self.desk.log_incident(actor=AGENT, title="VPN drops", assignment_group=group,
                                      **fields).id

    def at(self, when: datetime) -> ServiceDesk:
        self.clock.set(when)
        return self.desk

    def process(self, when: datetime) -> None:
        self.clock.set(when)
        self.desk.process_due()

    def escalations(self, incident_id: str) -> list[IncidentEscalated]:
        return [e for e in self.desk.timeline(incident_id) if isinstance(e, IncidentEscalated)]

    def raises(self, incident_id: str) -> list[IncidentPriorityOverridden]:
        return [e for e in self.desk.timeline(incident_id)
                if isinstance(e, IncidentPriorityOverridden)]


# -- definitions ---------------------------------------------------------------------------------


def test_a_rule_fires_at_the_deadline_by_default_on_any_metric_of_the_sla() -> None:
    default = rule()
    assert (default.stage, default.metric, default.group) == (1.0, None, None)


def test_an_acknowledgement_timeout_is_a_rule_on_the_response_clock() -> None:
    timeout = EscalationRule.acknowledgement_timeout("ack", EscalationAction.functional(),
                                                     stage=0.5, priorities=[1])
    assert (timeout.metric, timeout.stage, timeout.priorities) == (
        SlaMetric.RESPONSE, 0.5, frozenset({1}))


def test_a_rule_without_a_name_is_refused() -> None:
    with pytest.raises(DefinitionError, match="name"):
        rule(name=" ")


@pytest.mark.parametrize("stage", [0, -1, float("nan"), float("inf"), True, "1"])
def test_a_stage_that_is_not_a_positive_fraction_is_refused(stage: Any) -> None:
    with pytest.raises(DefinitionError, match="stage"):
        rule(stage=stage)


def test_an_unknown_metric_is_refused_with_the_known_metrics_listed() -> None:
    with pytest.raises(DefinitionError, match="response, resolution"):
        rule(metric="uptime")


def test_a_priority_level_below_one_is_refused() -> None:
    with pytest.raises(DefinitionError, match="priorities"):
        rule(priorities=[0])


def test_an_invalid_category_is_refused() -> None:
    with pytest.raises(DefinitionError, match="categor"):
        rule(categories=["Network//VPN"])


def test_an_action_given_a_setting_of_another_kind_is_refused() -> None:
    with pytest.raises(DefinitionError, match="takes no role"):
        EscalationAction(kind="functional", role="boss")


def test_an_unknown_action_kind_is_refused_with_the_known_kinds_listed() -> None:
    with pytest.raises(DefinitionError, match="raise_priority"):
        EscalationAction(kind="panic")


def test_a_raise_to_priority_zero_is_refused() -> None:
    with pytest.raises(DefinitionError):
        EscalationAction.raise_priority(to=0)


def test_a_rule_needs_an_action() -> None:
    bad: Any = "escalate"
    with pytest.raises(DefinitionError, match="action"):
        EscalationRule(name="r", action=bad)


def test_policies_refuse_two_rules_of_the_same_name() -> None:
    with pytest.raises(DefinitionError, match="duplicate"):
        DeskPolicies(escalation_rules=(rule(), rule()))


def test_policies_refuse_a_rule_escalating_to_a_group_the_routing_table_lacks() -> None:
    with pytest.raises(DefinitionError, match="Plumbing"):
        DeskPolicies(routing=ROUTING, escalation_rules=(
            rule(EscalationAction.functional("Plumbing")),))


def test_policies_refuse_a_raise_to_a_priority_the_matrix_lacks() -> None:
    with pytest.raises(DefinitionError, match="the-rule"):
        DeskPolicies(escalation_rules=(rule(EscalationAction.raise_priority(to=9)),))


def test_policies_refuse_something_that_is_not_a_rule() -> None:
    bad: Any = ("escalate at breach",)
    with pytest.raises(DefinitionError, match="EscalationRule"):
        DeskPolicies(escalation_rules=bad)


# -- matching (pure) -----------------------------------------------------------------------------

MATCH: dict[str, Any] = {"metric": "resolution", "group": None, "fraction": 1.0, "priority": 1,
                         "service": "VPN", "category": VPN}


def matches(candidate: EscalationRule, **changes: Any) -> bool:
    return candidate.matches(**{**MATCH, **changes})


def test_a_rule_matches_when_every_criterion_it_names_is_met() -> None:
    assert matches(rule(metric="resolution", priorities=[1, 2], services=["VPN"],
                        categories=["Network"]))


def test_a_rule_for_priority_one_does_not_match_another_priority() -> None:
    assert not matches(rule(priorities=[1]), priority=2)


def test_a_rule_for_a_service_does_not_match_another_service() -> None:
    assert not matches(rule(services=["VPN"]), service="Mail")


def test_a_rule_for_a_service_does_not_match_an_incident_without_a_service() -> None:
    assert not matches(rule(services=["VPN"]), service=None)


def test_a_rule_for_a_category_matches_the_categories_below_it() -> None:
    assert matches(rule(categories=["Network"]), category=VPN.child("Client"))


def test_a_rule_for_a_category_does_not_match_a_sibling_category() -> None:
    assert not matches(rule(categories=["Network/VPN"]),
                       category=CategoryPath.parse("Network/LAN"))


def test_a_rule_for_a_category_does_not_match_an_uncategorized_incident() -> None:
    assert not matches(rule(categories=["Network"]), category=None)


def test_a_rule_watches_only_its_metric() -> None:
    assert not matches(rule(metric="response"), metric="resolution")


def test_a_rule_fires_only_at_its_stage() -> None:
    assert not matches(rule(stage=0.75), fraction=1.0)


def test_a_rule_without_a_group_watches_only_the_sla_clocks() -> None:
    assert not matches(rule(), group="Network Support")


def test_a_rule_for_a_group_watches_only_that_groups_ola_clocks() -> None:
    ola_rule = rule(group="Network Support")
    assert matches(ola_rule, group="Network Support")
    assert not matches(ola_rule, group="Service Desk")
    assert not matches(ola_rule, group=None)


def test_a_rule_for_any_ola_watches_every_ola_clock_but_not_the_sla() -> None:
    any_ola = rule(group=ANY_OLA)
    assert matches(any_ola, group="Service Desk")
    assert not matches(any_ola, group=None)


def test_matching_rules_gives_the_matching_rules_in_their_order() -> None:
    second, other, first = (rule(name="b"), rule(name="x", priorities=[3]), rule(name="a"))
    assert matching_rules([second, other, first], **MATCH) == (second, first)


def test_each_action_describes_itself() -> None:
    assert [a.describe() for a in (
        EscalationAction.functional(), EscalationAction.functional("Network Engineering"),
        EscalationAction.hierarchical(), EscalationAction.hierarchical("cio"),
        EscalationAction.raise_priority(), EscalationAction.raise_priority(to=1))] == [
        "escalate to the next tier", "escalate to 'Network Engineering'",
        "notify the group's manager", "notify 'cio'", "raise the priority one level",
        "raise the priority to 1"]
    assert EscalationAction.raise_priority().kind is EscalationActionKind.RAISE_PRIORITY


# -- at the desk ---------------------------------------------------------------------------------


def test_a_functional_rule_escalates_to_the_next_tier_with_a_reason_naming_the_rule() -> None:
    scene = Scene(rule(EscalationAction.functional(), name="tier-up", metric="response"))
    incident = scene.log()
    scene.process(jan(5, 13))
    (event,) = scene.escalations(incident)
    assert (event.kind, event.assignment_group, event.support_tier, event.actor) == (
        EscalationKind.FUNCTIONAL, "Network Engineering", 3, SYSTEM)
    assert "'tier-up'" in event.reason
    assert "100 %" in event.reason


def test_a_functional_rule_fires_once_however_often_it_is_processed() -> None:
    scene = Scene(rule(EscalationAction.functional(), metric="response"))
    incident = scene.log()
    for when in (jan(5, 13), jan(5, 13), jan(5, 15), jan(6, 12)):
        scene.process(when)
    assert len(scene.escalations(incident)) == 1


def test_a_functional_rule_escalates_to_its_named_group() -> None:
    scene = Scene(rule(EscalationAction.functional("Network Engineering"), metric="response"))
    incident = scene.log(group="Service Desk")
    scene.process(jan(5, 13))
    assert [e.assignment_group for e in scene.escalations(incident)] == ["Network Engineering"]


def test_a_hierarchical_rule_notifies_the_manager_role_of_the_incidents_group() -> None:
    scene = Scene(rule(EscalationAction.hierarchical(), metric="response"))
    incident = scene.log()
    scene.process(jan(5, 13))
    (event,) = scene.escalations(incident)
    assert (event.kind, event.notified_role, event.assignment_group) == (
        EscalationKind.HIERARCHICAL, "network_manager", "Network Support")


def test_a_hierarchical_rule_notifies_its_named_role() -> None:
    scene = Scene(rule(EscalationAction.hierarchical("cio"), metric="response"))
    incident = scene.log()
    scene.process(jan(5, 13))
    assert [e.notified_role for e in scene.escalations(incident)] == ["cio"]


def test_without_a_manager_role_a_hierarchical_rule_notifies_the_desks_escalation_role() -> None:
    scene = Scene(rule(EscalationAction.hierarchical(), metric="response"))
    incident = scene.log(group="Network Engineering")
    scene.process(jan(5, 13))
    assert [e.notified_role for e in scene.escalations(incident)] == ["incident_manager"]


def test_a_priority_rule_raises_one_level_with_a_justification_naming_the_rule() -> None:
    scene = Scene(rule(EscalationAction.raise_priority(), name="bump", metric="response",
                       stage=0.5))
    incident = scene.log()
    scene.process(jan(5, 11))
    (event,) = scene.raises(incident)
    assert (event.previous_priority.level, event.priority.level, event.actor) == (4, 3, SYSTEM)
    assert "'bump'" in event.justification
    assert scene.desk.get_incident(incident).priority_overridden


def test_a_priority_rule_raises_to_its_level() -> None:
    scene = Scene(rule(EscalationAction.raise_priority(to=1), metric="response", stage=0.5))
    incident = scene.log()
    scene.process(jan(5, 11))
    assert scene.desk.get_incident(incident).priority.level == 1


def test_a_priority_rule_never_lowers_a_priority_and_says_so_in_the_report() -> None:
    scene = Scene(rule(EscalationAction.raise_priority(to=2), name="to-two",
                       metric="response"))
    incident = scene.log(impact=1, urgency=1)
    scene.clock.set(jan(5, 10))
    report = scene.desk.process_due()
    assert scene.raises(incident) == []
    assert [(s.incident_id, s.rule) for s in report.skipped] == [(incident, "to-two")]


def test_a_raised_priority_records_the_stages_its_shorter_target_reaches_in_the_same_call(
) -> None:
    scene = Scene(rule(EscalationAction.raise_priority(to=1), metric="resolution", stage=0.5))
    scene.log()
    scene.clock.set(jan(5, 17))
    first = scene.desk.process_due()
    second = scene.desk.process_due()
    resolution = [(s.fraction, s.reached_at) for s in first.stages if s.metric == "resolution"]
    assert resolution == [(0.5, jan(5, 17)), (0.75, jan(5, 10, 30)), (1.0, jan(5, 11))]
    assert not second


def test_a_rule_fires_again_in_the_next_cycle_after_a_reopen() -> None:
    scene = Scene(rule(EscalationAction.hierarchical(), metric="resolution", stage=0.5))
    incident = scene.log()
    scene.process(jan(6, 9))
    scene.at(jan(6, 10)).resolve(incident, actor=AGENT, code="solved_remotely",
                                 notes="Reset the tunnel.")
    scene.at(jan(6, 11)).reopen(incident, actor=AGENT, reason="It drops again")
    for when in (jan(6, 11), jan(6, 12), jan(7, 9)):
        scene.process(when)
    assert len(scene.escalations(incident)) == 2


def test_a_rule_does_not_fire_for_an_incident_of_another_priority() -> None:
    scene = Scene(rule(priorities=[1], metric="response"))
    incident = scene.log()
    scene.process(jan(5, 13))
    assert scene.escalations(incident) == []


def test_a_rule_does_not_fire_for_an_incident_of_another_service() -> None:
    scene = Scene(rule(services=["Mail"], metric="response"))
    incident = scene.log(service="VPN")
    scene.process(jan(5, 13))
    assert scene.escalations(incident) == []


def test_a_rule_fires_for_an_incident_in_a_category_below_the_rules() -> None:
    scene = Scene(rule(categories=["Network"], metric="response"))
    incident = scene.log(category="Network/VPN")
    scene.process(jan(5, 13))
    assert len(scene.escalations(incident)) == 1


def test_an_acknowledgement_timeout_escalates_an_incident_nobody_took() -> None:
    scene = Scene(EscalationRule.acknowledgement_timeout("ack", EscalationAction.functional()))
    incident = scene.log()
    scene.process(jan(5, 13))
    assert [e.assignment_group for e in scene.escalations(incident)] == ["Network Engineering"]


def test_an_acknowledgement_timeout_does_not_fire_once_someone_took_the_incident() -> None:
    scene = Scene(EscalationRule.acknowledgement_timeout("ack", EscalationAction.functional()))
    incident = scene.log()
    scene.at(jan(5, 12)).assign(incident, actor=AGENT, assignee="bob")
    scene.process(jan(6, 13))
    assert scene.escalations(incident) == []


def test_a_rule_at_a_stage_that_is_no_alert_stage_records_that_stage_and_fires_once() -> None:
    scene = Scene(rule(metric="response", stage=0.9))
    incident = scene.log()
    for when in (jan(5, 12, 35), jan(5, 12, 36), jan(5, 16)):
        scene.process(when)
    stages = [(e.fraction, e.reached_at) for e in scene.desk.timeline(incident)
              if isinstance(e, IncidentSlaStageReached)]
    assert (0.9, jan(5, 12, 36)) in stages
    assert len(scene.escalations(incident)) == 1


def test_a_rules_own_stage_passed_in_an_earlier_cycle_is_reached_when_the_next_starts() -> None:
    scene = Scene(rule(metric="resolution", stage=0.9))
    incident = scene.log()
    scene.process(jan(6, 16))
    scene.at(jan(6, 16)).resolve(incident, actor=AGENT, code="solved_remotely",
                                 notes="Reset the tunnel.")
    scene.at(jan(7, 10)).reopen(incident, actor=AGENT, reason="It drops again")
    scene.process(jan(7, 11))
    stages = [(e.cycle, e.reached_at) for e in scene.desk.timeline(incident)
              if isinstance(e, IncidentSlaStageReached) and e.fraction == 0.9]
    assert stages == [(1, jan(6, 15, 24)), (2, jan(7, 10))]


def test_an_ola_rule_fires_on_its_groups_ola_clock() -> None:
    ola = SlaAgreement(name="network-ola", calendar=OFFICE, group="Network Support",
                       targets={"resolution": dict.fromkeys(range(1, 5), HOUR)})
    scene = Scene(rule(EscalationAction.functional(), group="Network Support"),
                  sla=sla_policy(ola))
    incident = scene.log()
    scene.process(jan(5, 10))
    (event,) = scene.escalations(incident)
    assert "OLA of group 'Network Support'" in event.reason


def test_a_rule_that_cannot_apply_is_reported_with_its_name_and_not_retried() -> None:
    scene = Scene(rule(EscalationAction.functional(), name="tier-up", metric="response"))
    incident = scene.log(group="Network Engineering")
    scene.clock.set(jan(5, 13))
    first = scene.desk.process_due()
    (skipped,) = first.skipped
    assert (skipped.incident_id, skipped.rule) == (incident, "tier-up")
    assert "no next tier" in skipped.reason
    assert first.stages
    assert not scene.desk.process_due()


def test_rules_are_not_even_tried_on_a_resolved_incident_whose_stage_is_recorded_late() -> None:
    scene = Scene(rule(metric="resolution", stage=0.5))
    incident = scene.log()
    scene.at(jan(6, 9)).resolve(incident, actor=AGENT, code="solved_remotely",
                                notes="Reset the tunnel.")
    scene.clock.set(jan(6, 10))
    report = scene.desk.process_due()
    assert ("resolution", None, 1, 0.5) in [s.key for s in report.stages]
    assert (report.escalations, report.skipped) == ((), ())
