"""Configuration files, the sections of the desk's other policies: ``[families]``,
``[problems]``, ``[known_errors]``, ``[major]`` and ``[alerts]`` load into the library's own
objects, keep the defaults of what they leave out, write back as they were read, and report
every bad value at its key path."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from itil_incident import Actor, DeskPolicies
from itil_incident.alerts import AlertPolicy
from itil_incident.config import ConfigError, DeskConfig, default_config, dump_config, load_config
from itil_incident.config._read_policies import MATCHER_KEYS
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.policies.known_errors import KnownErrorMatcher
from itil_incident.policies.major import ClusterRule, MajorIncidentPolicy
from itil_incident.policies.problem_resolution import OnProblemResolved


def paths(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    return [issue.path for issue in caught.value.issues]


def round_trip(config: DeskConfig) -> DeskConfig:
    return load_config(dump_config(config))


# -- the shipped file ----------------------------------------------------------------------------


def test_the_shipped_file_holds_the_major_incident_policy_the_command_line_ran_with() -> None:
    in_code = MajorIncidentPolicy(
        priorities={1}, cluster=ClusterRule(threshold=5, window=timedelta(minutes=30)))
    assert default_config().policies.major == in_code


def test_the_shipped_file_keeps_the_library_defaults_of_the_other_policies() -> None:
    shipped, library = default_config().policies, DeskPolicies()
    for name in ("cascade_resolution", "duplicate_resolution_code", "duplicate_closure_code",
                 "known_errors", "known_errors_on_log", "on_problem_resolved",
                 "problem_resolution_code"):
        assert getattr(shipped, name) == getattr(library, name), name
    assert dump_config(DeskConfig(policies=attrs.evolve(shipped, major=None))).split(
        "[alerts]")[1] == dump_config(DeskConfig()).split("[alerts]")[1]


def test_the_command_line_takes_the_major_incident_policy_from_its_configuration() -> None:
    from itil_incident.cli._app import Session

    assert Session("desk.db", None, None).config.policies.major == (
        default_config().policies.major)


def test_every_setting_of_the_matcher_is_an_integer_the_file_can_hold() -> None:
    matcher = KnownErrorMatcher()
    assert all(type(getattr(matcher, name)) is int for name in MATCHER_KEYS)
    assert len(MATCHER_KEYS) == len(attrs.fields(KnownErrorMatcher))


# -- [families] and [problems] -------------------------------------------------------------------


def test_families_and_problems_set_the_cascade_the_codes_and_the_effect_of_a_resolution(
        ) -> None:
    policies = load_config("""
[families]
cascade_resolution = false
duplicate_resolution_code = "duplicate_of"
duplicate_closure_code = "closed_duplicate"
[problems]
on_resolved = "resolve"
resolution_code = "fixed_by_problem"
""").policies
    assert policies.cascade_resolution is False
    assert policies.duplicate_resolution_code == "duplicate_of"
    assert policies.duplicate_closure_code == "closed_duplicate"
    assert policies.on_problem_resolved is OnProblemResolved.RESOLVE
    assert policies.problem_resolution_code == "fixed_by_problem"


def test_keys_left_out_of_families_and_problems_keep_their_defaults() -> None:
    policies = load_config('[families]\ncascade_resolution = false\n[problems]\n').policies
    defaults = DeskPolicies()
    assert policies.cascade_resolution is False
    assert policies.duplicate_resolution_code == defaults.duplicate_resolution_code
    assert policies.duplicate_closure_code == defaults.duplicate_closure_code
    assert policies.on_problem_resolved is defaults.on_problem_resolved
    assert policies.problem_resolution_code == defaults.problem_resolution_code


def test_families_and_problems_problems_are_reported_at_their_keys() -> None:
    assert paths("""
[families]
cascade_resolution = "yes"
duplicate_resolution_code = ""
closure = "x"
[problems]
on_resolved = "close"
resolution_code = 3
""") == ["families.closure", "families.cascade_resolution",
         "families.duplicate_resolution_code", "problems.on_resolved", "problems.resolution_code"]


def test_an_unknown_effect_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config('[problems]\non_resolved = "close"')
    assert caught.value.issues[0].expected == "one of resolve, resume, nothing"


# -- [known_errors] ------------------------------------------------------------------------------


def test_known_errors_set_the_matchers_weights_and_the_offer_on_logging() -> None:
    policies = load_config("""
[known_errors]
on_log = false
service_weight = 5
keyword_weight = 0
min_score = 6
""").policies
    assert policies.known_errors == KnownErrorMatcher(service_weight=5, keyword_weight=0,
                                                      min_score=6)
    assert policies.known_errors_on_log is False


def test_known_errors_false_switches_matching_off() -> None:
    assert load_config("known_errors = false").policies.known_errors is None
    assert 'known_errors = false' in dump_config(
        DeskConfig(policies=DeskPolicies(known_errors=None)))


def test_known_error_problems_are_reported_at_their_keys() -> None:
    assert paths("""
[known_errors]
on_log = 1
service_weight = -1
max_offers = 0
min_score = 2.5
stop_words = ["the"]
""") == ["known_errors.stop_words", "known_errors.on_log", "known_errors.min_score"]
    assert paths("[known_errors]\nservice_weight = -1") == ["known_errors.service_weight"]
    assert paths("[known_errors]\nmax_offers = 0") == ["known_errors.max_offers"]
    assert paths('known_errors = "on"') == ["known_errors"]


# -- [major] -------------------------------------------------------------------------------------


MAJOR = """
[major]
priorities = [1, 2]
critical_services = ["payroll", "email"]
manager_role = "major_incident_manager"
review_required = false
roles = ["commander", "scribe", "responders"]
shared_roles = ["responders"]
cadence = { 1 = "15m", 3 = "2h" }
cluster = { threshold = 3, window = "1h", by_configuration_item = false }
"""


def test_the_major_section_sets_every_part_of_the_policy() -> None:
    major = load_config(MAJOR).policies.major
    assert major == MajorIncidentPolicy(
        priorities={1, 2}, critical_services={"payroll", "email"},
        manager_role="major_incident_manager", review_required=False,
        roles=("commander", "scribe", "responders"), shared_roles={"responders"},
        cadence={1: timedelta(minutes=15), 3: timedelta(hours=2)},
        cluster=ClusterRule(threshold=3, window=timedelta(hours=1),
                            by_configuration_item=False))


def test_keys_left_out_of_major_keep_the_policys_defaults() -> None:
    assert load_config("[major]\npriorities = [1]").policies.major == MajorIncidentPolicy(
        priorities={1})
    assert load_config("[major]").policies.major == MajorIncidentPolicy()


def test_without_a_major_section_or_with_major_false_there_is_no_major_incident_policy(
        ) -> None:
    assert load_config("").policies.major is None
    assert load_config("major = false").policies.major is None
    assert load_config("[major]\ncluster = false").policies.major == MajorIncidentPolicy()


def test_major_problems_are_reported_at_their_keys() -> None:
    assert paths("""
[major]
priorities = [1, 0, "2"]
critical_services = [""]
manager_role = ""
review_required = "yes"
cadence = { 1 = "30s", x = "1h", 2 = "soon" }
cluster = { threshold = 1, window = "30m" }
owner = "me"
""") == ["major.owner", "major.priorities[1]", "major.priorities[2]", "major.critical_services[0]",
         "major.manager_role", "major.review_required", "major.cadence.1", "major.cadence.x",
         "major.cadence.2", "major.cluster.threshold"]


def test_a_policy_the_major_incident_policy_refuses_is_reported_at_its_key() -> None:
    assert paths('[major]\nroles = ["commander"]\nshared_roles = ["scribe"]') == [
        "major.shared_roles"]
    assert paths("[major]\nroles = []") == ["major.roles"]
    assert paths('[major.cluster]\nthreshold = 3\nwindow = "1h"\nby_service = false\n'
                 'by_configuration_item = false') == ["major.cluster.by_service"]
    assert paths("[major.cluster]\nthreshold = 3") == ["major.cluster.window"]


def test_major_priority_levels_must_be_levels_of_the_incident_matrix() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("[major]\npriorities = [6]\ncadence = { 9 = \"1h\" }")
    assert [(issue.path, issue.expected) for issue in caught.value.issues] == [
        ("major.priorities[0]", "a priority level 1..5 of the incident matrix"),
        ("major.cadence.9", "a priority level 1..5 of the incident matrix")]
    four = '[priority.incident]\npreset = "itop"\n'
    assert paths(four + "[major]\npriorities = [5]") == ["major.priorities[0]"]
    assert load_config(four + "[major]\npriorities = [4]").policies.major is not None


# -- [alerts] ------------------------------------------------------------------------------------


ALERTS = """
[routing]
groups = [{ name = "Desk" }, { name = "NOC", tier = 2 }]
[alerts]
service_impact = { payments = 1 }
grouping_window = "4h"
resolve_on_recovery = false
resolution_code = "recovered"
flap_threshold = 5
flap_window = "30m"
max_payload_bytes = 4096
category = "Network"
assignment_group = "NOC"
actor = { id = "zabbix", name = "Zabbix", roles = ["system", "monitoring"] }
[alerts.levels]
critical = [1, 1]
major = [1, 2]
minor = [2, 3]
warning = [3, 3]
info = [3, 3]
"""


def test_the_alerts_section_sets_every_part_of_the_policy() -> None:
    alerts = load_config(ALERTS).policies.alerts
    assert alerts.levels[AlertSeverity.MINOR] == (2, 3)
    assert alerts.service_impact == {"payments": 1}
    assert alerts.grouping_window == timedelta(hours=4)
    assert alerts.resolve_on_recovery is False
    assert alerts.resolution_code == "recovered"
    assert (alerts.flap_threshold, alerts.flap_window) == (5, timedelta(minutes=30))
    assert alerts.max_payload_bytes == 4096
    assert (alerts.category, alerts.assignment_group) == ("Network", "NOC")
    assert alerts.actor == Actor("zabbix", "Zabbix", frozenset({"system", "monitoring"}))


def test_keys_left_out_of_alerts_keep_the_policys_defaults() -> None:
    alerts = load_config("[alerts]\nflap_threshold = 9").policies.alerts
    defaults = AlertPolicy()
    assert alerts.flap_threshold == 9
    assert alerts.levels == defaults.levels
    assert alerts.actor == defaults.actor
    assert alerts.grouping_window is None
    assert load_config('[alerts]\ngrouping_window = false').policies.alerts.grouping_window is (
        None)


def test_alerts_problems_are_reported_at_their_keys() -> None:
    assert paths("""
[alerts]
service_impact = { payments = 0 }
grouping_window = "soon"
flap_threshold = 0
max_payload_bytes = "big"
actor = { name = "Nobody" }
[alerts.levels]
critical = [1]
major = [1, 2]
minor = [2, "2"]
warning = [2, 3]
clear = [3, 3]
""") == ["alerts.service_impact.payments", "alerts.grouping_window", "alerts.flap_threshold",
         "alerts.max_payload_bytes", "alerts.actor.id", "alerts.levels.clear",
         "alerts.levels.critical", "alerts.levels.minor", "alerts.levels.info"]


def test_an_alert_group_or_category_the_desk_does_not_know_is_reported_at_its_key() -> None:
    assert paths('[alerts]\nassignment_group = "NOC"\ncategory = "Plumbing"') == [
        "alerts.assignment_group", "alerts.category"]
    alerts = load_config('routing = false\ncategories = false\n[alerts]\n'
                         'assignment_group = "NOC"\ncategory = "Plumbing"').policies.alerts
    assert (alerts.assignment_group, alerts.category) == ("NOC", "Plumbing")


def test_references_into_a_broken_routing_or_category_section_are_not_second_guessed() -> None:
    assert paths('[routing]\ngroups = "none"\n[alerts]\nassignment_group = "NOC"') == [
        "routing.groups"]


# -- writing back --------------------------------------------------------------------------------


def test_every_new_section_reads_back_as_it_was_written() -> None:
    config = load_config(ALERTS + MAJOR + """
[families]
cascade_resolution = false
[problems]
on_resolved = "nothing"
[known_errors]
on_log = false
min_score = 7
""")
    again = round_trip(config)
    assert again == config
    for name in ("major", "known_errors", "known_errors_on_log", "cascade_resolution",
                 "on_problem_resolved"):
        assert getattr(again.policies, name) == getattr(config.policies, name), name
    alerts, read_back = config.policies.alerts, again.policies.alerts
    assert [getattr(read_back, field.name) for field in attrs.fields(AlertPolicy)] == [
        getattr(alerts, field.name) for field in attrs.fields(AlertPolicy)]


def test_a_desk_without_a_major_incident_policy_writes_major_false() -> None:
    text = dump_config(DeskConfig())
    assert "major = false" in text
    assert load_config(text).policies.major is None


def test_configurations_differing_in_a_new_section_are_not_equal() -> None:
    assert load_config("[families]\ncascade_resolution = false") != load_config("")
    assert load_config("[major]") != load_config("")
    assert load_config("[alerts]\nflap_threshold = 4") != load_config("")
