"""SLA policy definitions: clock rules, match rules, agreements, versions and their validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from itil_incident.domain.lifecycles import default_incident_workflow
from itil_incident.domain.values import CategoryPath
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.sla import (
    ClockRules,
    SlaAgreement,
    SlaMatchRule,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    SlaSelection,
)

CALENDAR = BusinessCalendar.office("UTC")
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)
R, X = SlaMetric.RESPONSE, SlaMetric.RESOLUTION


def _agreement(name: str = "standard", **changes: Any) -> SlaAgreement:
    fields: dict[str, Any] = {
        "name": name,
        "calendar": CALENDAR,
        "targets": {R: {1: timedelta(minutes=15)}, X: {1: timedelta(hours=4)}},
    }
    fields.update(changes)
    return SlaAgreement(**fields)


def _version(number: int = 1, effective_from: datetime = JAN_1, **changes: Any
             ) -> SlaPolicyVersion:
    fields: dict[str, Any] = {
        "version": number,
        "effective_from": effective_from,
        "agreements": (_agreement(), _agreement("gold")),
        "fallback": "standard",
    }
    fields.update(changes)
    return SlaPolicyVersion(**fields)


# -- clock rules ----------------------------------------------------------------------------------


def test_the_default_response_rules_stop_at_work_started_an_assignee_or_resolution() -> None:
    rules = ClockRules.response()
    assert rules.start_events == {"incident.logged"}
    assert rules.stop_events == {"incident.work_started"}
    assert rules.stop_on_assignee
    assert rules.stop_on_resolved
    assert not rules.resume_on_reopen


def test_the_default_resolution_rules_stop_when_resolved_and_resume_on_reopen() -> None:
    rules = ClockRules.resolution()
    assert rules.stop_on_resolved
    assert rules.resume_on_reopen
    assert not rules.stop_on_assignee
    assert rules.stop_events == frozenset()


def test_clock_rules_without_a_start_event_or_state_are_refused() -> None:
    with pytest.raises(DefinitionError, match="start"):
        ClockRules(start_events=())


def test_clock_rules_refuse_a_blank_event_name() -> None:
    with pytest.raises(DefinitionError, match="non-empty"):
        ClockRules(stop_events={" "})


def test_a_version_uses_the_itil_clock_rules_unless_told_otherwise() -> None:
    version = _version()
    assert version.clock_rules == {R: ClockRules.response(), X: ClockRules.resolution()}


def test_a_version_replaces_only_the_clock_rules_it_is_given() -> None:
    custom = ClockRules(start_events={"incident.assigned"})
    version = _version(clock_rules={R: custom})
    assert version.clock_rules[R] == custom
    assert version.clock_rules[X] == ClockRules.resolution()


# -- match rules ----------------------------------------------------------------------------------


def test_a_match_rule_needs_a_service_a_category_or_a_customer() -> None:
    with pytest.raises(DefinitionError, match="needs a service") as caught:
        SlaMatchRule(name="everything", agreement="gold")
    assert caught.value.culprit == "everything"


def test_a_category_rule_matches_its_category_and_every_category_below_it() -> None:
    rule = SlaMatchRule(name="net", agreement="gold", category="Network")
    assert rule.matches(service=None, category=CategoryPath.parse("Network/VPN"), customer=None)
    assert rule.matches(service=None, category=CategoryPath.parse("Network"), customer=None)
    assert not rule.matches(service=None, category=CategoryPath.parse("Hardware"),
                            customer=None)
    assert not rule.matches(service=None, category=None, customer=None)


def test_a_rule_matches_only_when_every_criterion_it_names_matches() -> None:
    rule = SlaMatchRule(name="acme-erp", agreement="gold", service="ERP", customer="acme")
    assert rule.matches(service="ERP", category=None, customer="acme")
    assert not rule.matches(service="ERP", category=None, customer="globex")
    assert not rule.matches(service="Mail", category=None, customer="acme")


def test_a_rule_category_given_as_text_is_parsed() -> None:
    rule = SlaMatchRule(name="vpn", agreement="gold", category="Network / VPN")
    assert rule.category == CategoryPath(("Network", "VPN"))


# -- agreements -----------------------------------------------------------------------------------


def test_by_default_only_awaiting_caller_pauses_an_agreement() -> None:
    agreement = _agreement()
    assert agreement.pauses_for("awaiting_caller")
    assert not agreement.pauses_for("awaiting_vendor")


def test_a_pauses_sla_state_without_a_hold_reason_always_pauses() -> None:
    assert _agreement().pauses_for(None)


def test_the_default_alert_stages_are_50_75_and_100_percent() -> None:
    assert _agreement().stages == (0.5, 0.75, 1.0)


def test_an_agreement_gives_no_target_for_a_priority_it_does_not_list() -> None:
    agreement = _agreement()
    assert agreement.target(X, 1) == timedelta(hours=4)
    assert agreement.target(X, 3) is None


def test_an_agreement_gives_no_target_for_a_metric_it_does_not_list() -> None:
    agreement = _agreement(targets={X: {1: timedelta(hours=4)}})
    assert agreement.target(R, 1) is None


def test_metrics_may_be_given_by_their_names() -> None:
    agreement = _agreement(targets={"resolution": {2: timedelta(hours=8)}})
    assert agreement.target(X, 2) == timedelta(hours=8)


@pytest.mark.parametrize("target", [timedelta(0), timedelta(minutes=-5), 60])
def test_a_target_must_be_a_positive_timedelta(target: object) -> None:
    with pytest.raises(DefinitionError, match="positive timedelta"):
        _agreement(targets={X: {1: target}})


def test_a_target_priority_level_must_be_an_integer_from_1() -> None:
    with pytest.raises(DefinitionError, match="priority level"):
        _agreement(targets={X: {0: timedelta(hours=1)}})


def test_an_unknown_metric_is_refused() -> None:
    with pytest.raises(DefinitionError, match="unknown SLA metric 'uptime'"):
        _agreement(targets={"uptime": {1: timedelta(hours=1)}})


def test_an_agreement_needs_a_target() -> None:
    with pytest.raises(DefinitionError, match="at least one target"):
        _agreement(targets={})


@pytest.mark.parametrize("stages", [(0.75, 0.5), (0.5, 0.5), (0.0, 1.0), (-0.5,), "0.5"])
def test_stages_must_be_positive_and_strictly_increasing(stages: object) -> None:
    with pytest.raises(DefinitionError) as caught:
        _agreement(stages=stages)
    assert caught.value.culprit == "stages"


def test_stages_beyond_the_target_are_allowed() -> None:
    assert _agreement(stages=(1.0, 1.5)).stages == (1.0, 1.5)


def test_an_agreement_needs_a_business_calendar() -> None:
    with pytest.raises(DefinitionError, match="calendar") as caught:
        _agreement(calendar="office hours")
    assert caught.value.culprit == "calendar"


# -- versions -------------------------------------------------------------------------------------


def test_a_rule_naming_an_unknown_agreement_is_refused_naming_the_rule() -> None:
    with pytest.raises(DefinitionError, match="unknown agreement 'platinum'") as caught:
        _version(rules=(SlaMatchRule(name="vip", agreement="platinum", customer="acme"),))
    assert caught.value.culprit == "vip"


def test_a_fallback_naming_an_unknown_agreement_is_refused() -> None:
    with pytest.raises(DefinitionError, match="fallback") as caught:
        _version(fallback="platinum")
    assert caught.value.culprit == "fallback"


def test_a_rule_may_not_name_an_ola() -> None:
    ola = _agreement("network-ola", group="Network")
    with pytest.raises(DefinitionError, match="OLA"):
        _version(agreements=(_agreement(), ola),
                 rules=(SlaMatchRule(name="net", agreement="network-ola", service="LAN"),))


def test_two_agreements_may_not_share_a_name() -> None:
    with pytest.raises(DefinitionError, match="duplicate agreement name") as caught:
        _version(agreements=(_agreement(), _agreement()))
    assert caught.value.culprit == "standard"


def test_a_group_may_have_only_one_ola() -> None:
    with pytest.raises(DefinitionError, match="two OLAs"):
        _version(agreements=(_agreement(), _agreement("a", group="Desk"),
                             _agreement("b", group="Desk")))


def test_two_rules_may_not_share_a_name() -> None:
    rule = SlaMatchRule(name="vip", agreement="gold", customer="acme")
    with pytest.raises(DefinitionError, match="duplicate SLA rule name"):
        _version(rules=(rule, rule))


def test_a_naive_effective_from_is_refused() -> None:
    with pytest.raises(DefinitionError, match="timezone-aware") as caught:
        _version(effective_from=datetime(2026, 1, 1))  # naive on purpose
    assert caught.value.culprit == "effective_from"


def test_the_first_matching_rule_chooses_the_agreement() -> None:
    version = _version(rules=(
        SlaMatchRule(name="erp", agreement="gold", service="ERP"),
        SlaMatchRule(name="acme", agreement="standard", customer="acme"),
    ))
    chosen = version.select(service="ERP", category=None, customer="acme")
    assert chosen == SlaSelection(version.agreement("gold"), "erp")


def test_an_incident_no_rule_matches_gets_the_fallback_without_a_rule_name() -> None:
    version = _version(rules=(SlaMatchRule(name="erp", agreement="gold", service="ERP"),))
    assert version.select(service="Mail", category=None, customer=None) == SlaSelection(
        version.agreement("standard"), None)


def test_without_a_fallback_an_incident_no_rule_matches_gets_no_sla() -> None:
    version = _version(fallback=None,
                       rules=(SlaMatchRule(name="erp", agreement="gold", service="ERP"),))
    assert version.select(service="Mail", category=None, customer=None) is None


def test_an_unknown_agreement_name_raises_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="no agreement 'platinum'"):
        _version().agreement("platinum")


def test_the_ola_of_a_group_is_found_by_group() -> None:
    ola = _agreement("network-ola", group="Network")
    version = _version(agreements=(_agreement(), ola))
    assert version.ola("Network") == ola
    assert version.ola("Desk") is None


# -- policies -------------------------------------------------------------------------------------


def test_a_policy_needs_a_version() -> None:
    with pytest.raises(DefinitionError, match="at least one version"):
        SlaPolicy("support", ())


def test_version_numbers_must_increase() -> None:
    with pytest.raises(DefinitionError, match="does not follow") as caught:
        SlaPolicy("support", (_version(2), _version(1, JAN_1 + timedelta(days=1))))
    assert caught.value.culprit == "versions[1]"


def test_effective_instants_must_increase() -> None:
    with pytest.raises(DefinitionError, match="not after version 1"):
        SlaPolicy("support", (_version(1), _version(2, JAN_1)))


def test_the_version_in_force_is_the_last_one_effective_at_or_before_the_instant() -> None:
    v1, v2 = _version(1), _version(2, JAN_1 + timedelta(days=10))
    policy = SlaPolicy("support", (v1, v2))
    assert policy.version_at(JAN_1 + timedelta(days=10) - timedelta(microseconds=1)) is v1
    assert policy.version_at(JAN_1 + timedelta(days=10)) is v2
    assert policy.latest is v2


def test_before_the_first_version_takes_effect_no_version_is_in_force() -> None:
    policy = SlaPolicy.single("support", _version())
    assert policy.version_at(JAN_1 - timedelta(microseconds=1)) is None


def test_adding_a_version_returns_a_new_policy_and_leaves_the_old_one_unchanged() -> None:
    policy = SlaPolicy.single("support", _version())
    newer = policy.with_version(_version(2, JAN_1 + timedelta(days=1)))
    assert [v.version for v in newer.versions] == [1, 2]
    assert [v.version for v in policy.versions] == [1]


def test_a_version_effective_before_the_newest_one_cannot_be_added() -> None:
    policy = SlaPolicy.single("support", _version(1, JAN_1 + timedelta(days=5)))
    with pytest.raises(DefinitionError, match="not after"):
        policy.with_version(_version(2, JAN_1))


def test_a_back_dated_version_is_refused_when_now_is_given() -> None:
    policy = SlaPolicy.single("support", _version())
    with pytest.raises(DefinitionError, match="in the past") as caught:
        policy.with_version(_version(2, JAN_1 + timedelta(days=1)),
                            now=JAN_1 + timedelta(days=2))
    assert caught.value.culprit == "effective_from"


def test_a_version_effective_from_now_on_is_accepted_when_now_is_given() -> None:
    policy = SlaPolicy.single("support", _version())
    later = JAN_1 + timedelta(days=2)
    assert policy.with_version(_version(2, later), now=later).latest.version == 2


def test_clock_rules_naming_a_state_the_workflow_lacks_are_reported() -> None:
    version = _version(clock_rules={X: ClockRules(stop_states={"fixed"})})
    policy = SlaPolicy.single("support", version)
    with pytest.raises(DefinitionError, match="'fixed'") as caught:
        policy.check_workflow(default_incident_workflow())
    assert caught.value.culprit == "fixed"


def test_clock_rules_naming_only_known_states_pass_the_workflow_check() -> None:
    version = _version(clock_rules={X: ClockRules(stop_states={"resolved"})})
    SlaPolicy.single("support", version).check_workflow(default_incident_workflow())
