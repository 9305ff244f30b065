"""Configuration files: every section loads into the library's own objects, and every problem
of a file is reported at its key path, all of them at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from itil_incident import DeskPolicies, ValidationError
from itil_incident.config import (
    ConfigError,
    ConfigIssue,
    DeskConfig,
    default_config,
    default_config_text,
    dump_config,
    load_config,
)
from itil_incident.config._issues import format_duration, parse_duration
from itil_incident.domain.values import Channel, HoldReason
from itil_incident.errors import DefinitionError
from itil_incident.notifications import Recipient, RecipientKind, Subscription, SubscriptionRules
from itil_incident.policies.calendar import BusinessCalendar
from itil_incident.policies.categorization import Categorizer, CategoryTree
from itil_incident.policies.escalation import (
    EscalationAction,
    EscalationActionKind,
    EscalationRule,
)
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.routing import RoutingTable
from itil_incident.policies.sla import (
    ClockRules,
    SlaAgreement,
    SlaMatchRule,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)

_M, _H = timedelta(minutes=1), timedelta(hours=1)


def paths(error: ConfigError) -> list[str]:
    return [issue.path for issue in error.issues]


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    return caught.value


# -- what the command line ran with before it read a file: built here in code ------------------


def office_in_code() -> BusinessCalendar:
    return BusinessCalendar.office("Europe/Paris", lunch=(time(12), time(13)),
                                   name="Paris office hours")


def cli_policies_in_code() -> DeskPolicies:
    office = office_in_code()
    gold = SlaAgreement(name="Gold", calendar=office, targets={
        SlaMetric.RESPONSE: {1: 15 * _M, 2: 30 * _M, 3: 2 * _H, 4: 4 * _H, 5: 8 * _H},
        SlaMetric.RESOLUTION: {1: 4 * _H, 2: 8 * _H, 3: 21 * _H, 4: 35 * _H, 5: 70 * _H},
    })
    silver = SlaAgreement(name="Silver", calendar=office, targets={
        SlaMetric.RESPONSE: {1: 30 * _M, 2: 1 * _H, 3: 4 * _H, 4: 7 * _H, 5: 14 * _H},
        SlaMetric.RESOLUTION: {1: 7 * _H, 2: 14 * _H, 3: 35 * _H, 4: 70 * _H, 5: 140 * _H},
    })
    rules = tuple(SlaMatchRule(name=f"gold-{service.lower().replace(' ', '-')}",
                               agreement="Gold", service=service)
                  for service in ("ERP", "Email", "Remote Access", "Network"))
    sla = SlaPolicy.single("Standard", SlaPolicyVersion(
        version=1, effective_from=datetime(2026, 1, 1, tzinfo=UTC),
        agreements=(gold, silver), rules=rules, fallback="Silver"))
    escalation = (
        EscalationRule.acknowledgement_timeout(
            "P1/P2 not acknowledged", EscalationAction.hierarchical("incident_manager"),
            priorities=(1, 2)),
        EscalationRule(name="P1/P2 resolution at 75 %", action=EscalationAction.hierarchical(),
                       metric=SlaMetric.RESOLUTION, stage=0.75, priorities=frozenset({1, 2})),
        EscalationRule(name="resolution breached", action=EscalationAction.functional(),
                       metric=SlaMetric.RESOLUTION, stage=1.0),
        EscalationRule.acknowledgement_timeout(
            "low priority not answered", EscalationAction.raise_priority(), priorities=(4, 5)),
    )
    return DeskPolicies(sla=sla, escalation_rules=escalation,
                        auto_close_after=timedelta(days=7),
                        hold_reminder_every=timedelta(days=1))


def assert_same_policies(loaded: DeskPolicies, expected: DeskPolicies) -> None:
    assert loaded.incident_workflow == expected.incident_workflow
    assert loaded.problem_workflow == expected.problem_workflow
    assert loaded.priority_matrix == expected.priority_matrix
    assert loaded.problem_priority_matrix == expected.problem_priority_matrix
    assert loaded.categories == expected.categories
    assert loaded.categorizer is not None
    assert expected.categorizer is not None
    assert loaded.categorizer.to_dict() == expected.categorizer.to_dict()
    assert loaded.routing == expected.routing
    assert loaded.sla == expected.sla
    assert loaded.escalation_rules == expected.escalation_rules
    assert loaded.hold_reasons == expected.hold_reasons
    assert loaded.resolution_codes == expected.resolution_codes
    assert loaded.custom_fields == expected.custom_fields
    assert loaded.escalation_role == expected.escalation_role
    assert loaded.auto_close_after == expected.auto_close_after
    assert loaded.auto_close_calendar == expected.auto_close_calendar
    assert loaded.hold_reminder_every == expected.hold_reminder_every


# -- the shipped file ----------------------------------------------------------------------------


def test_the_shipped_file_declares_what_the_command_line_ran_with() -> None:
    config = default_config()
    assert_same_policies(config.policies, cli_policies_in_code())
    assert dict(config.calendars) == {"office": office_in_code()}
    assert config.subscriptions is not None
    assert config.subscriptions.subscriptions == SubscriptionRules.defaults().subscriptions


def test_the_command_line_runs_with_the_shipped_file() -> None:
    from itil_incident.cli._defaults import OFFICE, default_policies

    assert default_policies() is default_config().policies
    assert office_in_code() == OFFICE


def test_the_shipped_text_loads_to_the_default_configuration() -> None:
    assert load_config(default_config_text()) == default_config()


def test_an_empty_file_keeps_every_library_default() -> None:
    config = load_config("")
    assert_same_policies(config.policies, DeskPolicies())
    assert config.calendars == {}
    assert config.subscriptions is None
    assert config == DeskConfig()


# -- sources -------------------------------------------------------------------------------------


def test_a_path_is_read_as_a_file(tmp_path: Path) -> None:
    file = tmp_path / "desk.toml"
    file.write_text('[desk]\nhold_reminder_every = "4h"\n', encoding="utf-8")
    assert load_config(file).policies.hold_reminder_every == timedelta(hours=4)


def test_parsed_data_is_accepted_as_it_is() -> None:
    config = load_config({"desk": {"auto_close_after": "3d"}})
    assert config.policies.auto_close_after == timedelta(days=3)


def test_a_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")
    assert caught.value.source == str(tmp_path / "absent.toml")
    assert caught.value.issues[0].expected == "a readable UTF-8 TOML file"


def test_a_toml_syntax_error_is_one_issue_with_its_line() -> None:
    error = refused("[desk\nx = 1")
    assert len(error.issues) == 1
    assert error.issues[0].expected == "valid TOML"
    assert "line 1" in (error.issues[0].reason or "")


def test_a_file_name_given_as_text_gets_a_hint() -> None:
    error = refused("desk.toml")
    assert "pass a pathlib.Path" in (error.issues[0].reason or "")


def test_a_source_of_another_type_is_refused() -> None:
    with pytest.raises(ConfigError):
        load_config(42)  # type: ignore[arg-type]  # the refusal is what is tested


def test_guards_must_map_names_to_callables() -> None:
    with pytest.raises(ConfigError):
        load_config("", guards={"x": 1})  # type: ignore[dict-item]  # tested refusal


# -- errors: all of them, each at its path -------------------------------------------------------


SEVERAL_PROBLEMS = """
colour = "blue"

[desk]
auto_close_after = "soon"
resolution_codes = ["ok", 3]

[calendars.office]
timezone = "Mars/Olympus"
windows.monday = [["09:00", "17:00"]]

[calendars.utc]
timezone = "UTC"
windows.monday = [["09:00", "17:00"]]

[sla]
name = "Standard"

[[sla.versions]]
version = 1
effective_from = 2026-01-01T00:00:00Z

[[sla.versions.agreements]]
name = "Gold"
calendar = "utc"
targets.resolution = { 1 = "4h", 9 = "1h", 2 = "later" }
stages = [0.5, -1]

[[escalation.rules]]
name = "x"
action = { kind = "functional", group = "Nobody" }
priorities = [7]
"""


def test_a_file_with_several_problems_reports_every_one_at_its_path() -> None:
    error = refused(SEVERAL_PROBLEMS)
    assert sorted(paths(error)) == sorted([
        "colour",
        "desk.auto_close_after",
        "desk.resolution_codes[1]",
        "calendars.office.timezone",
        "sla.versions[0].agreements[0].targets.resolution.9",
        "sla.versions[0].agreements[0].targets.resolution.2",
        "sla.versions[0].agreements[0].stages[1]",
        "escalation.rules[0].action.group",
        "escalation.rules[0].priorities[0]",
    ])


def test_each_issue_says_what_was_expected_and_what_was_found() -> None:
    issues = {issue.path: issue for issue in refused(SEVERAL_PROBLEMS).issues}
    duration = issues["desk.auto_close_after"]
    assert duration.expected.startswith("a duration such as")
    assert duration.found == "the string 'soon'"
    zone = issues["calendars.office.timezone"]
    assert zone.found == "the string 'Mars/Olympus'"
    assert "unknown time zone" in (zone.reason or "")
    assert issues["colour"].reason == "unknown key"
    assert issues["escalation.rules[0].priorities[0]"].expected == "a priority level 1..5"


def test_the_error_is_a_validation_error_listing_every_issue() -> None:
    error = refused(SEVERAL_PROBLEMS)
    assert isinstance(error, ValidationError)
    assert error.field == error.issues[0].path
    lines = str(error).splitlines()
    assert lines[0] == "the configuration is invalid (9 problems)"
    assert lines[1:] == [f"  {issue}" for issue in error.issues]


def test_an_issue_reads_as_one_line() -> None:
    issue = ConfigIssue("sla.versions[0].version", "an integer >= 1", "the integer 0")
    assert str(issue) == "sla.versions[0].version: expected an integer >= 1, found the integer 0"
    with_reason = ConfigIssue("", "valid TOML", "a syntax error", "line 3")
    assert str(with_reason) == "(top level): expected valid TOML, found a syntax error: line 3"


def test_a_reference_to_a_broken_calendar_is_not_reported_twice() -> None:
    error = refused("""
[calendars.office]
timezone = "Nowhere/Town"
windows.monday = [["09:00", "17:00"]]
[desk]
auto_close_calendar = "office"
""")
    assert paths(error) == ["calendars.office.timezone"]


def test_references_into_a_broken_section_are_not_second_guessed() -> None:
    error = refused("""
[routing]
groups = [{ name = "Desk", tier = "one" }, { name = "Network" }]
[priority.incident]
preset = "tiny"
[[escalation.rules]]
name = "to network"
priorities = [9]
action = { kind = "functional", group = "Network" }
""")
    assert paths(error) == ["routing.groups[0].tier", "priority.incident.preset"]


# -- calendars -----------------------------------------------------------------------------------


def test_a_calendar_is_named_by_its_key_unless_it_gives_a_name() -> None:
    config = load_config("""
[calendars.office]
timezone = "Europe/Paris"
windows.monday = [["09:00", "12:00"], ["13:00", "17:00"]]
holidays = ["2026-05-01"]
yearly_holidays = ["12-25"]

[calendars.noc]
name = "Network operations"
timezone = "UTC"
windows = { monday = [["00:00", "24:00"]], sunday = [["00:00", "24:00"]] }
""")
    office = config.calendars["office"]
    assert office.name == "office"
    assert office.timezone == "Europe/Paris"
    assert not office.is_working(datetime(2026, 5, 1, 10, tzinfo=UTC))  # holiday (a Friday)
    assert office.between(datetime(2026, 5, 4, 7, tzinfo=UTC),
                          datetime(2026, 5, 4, 16, tzinfo=UTC)) == 7 * _H
    assert office.to_dict()["holidays"] == [date(2026, 5, 1).isoformat()]
    assert config.calendars["noc"].name == "Network operations"


def test_a_calendar_window_error_points_into_the_window() -> None:
    error = refused('[calendars.x]\ntimezone = "UTC"\nwindows.friday = [["09:00", "25:00"]]\n')
    assert paths(error) == ["calendars.x.windows.friday[0][1]"]
    assert error.issues[0].found == "the string '25:00'"


def test_calendars_must_be_a_table_of_tables() -> None:
    assert paths(refused('calendars = 3')) == ["calendars"]
    assert paths(refused('calendars.office = "9 to 5"')) == ["calendars.office"]


# -- workflows -----------------------------------------------------------------------------------

TRIAGE_WORKFLOW = """
[workflows.incident]
name = "with_triage"
states = [
    { name = "new", initial = true },
    { name = "triage", label = "Triage" },
    { name = "assigned", required = ["assignment_group"] },
    { name = "in_progress" },
    { name = "on_hold", pauses_sla = true, required = ["hold_reason"] },
    { name = "resolved", resolved = true, required = ["resolution_code", "resolution_notes"] },
    { name = "closed", terminal = true, resolved = true },
    { name = "cancelled", terminal = true },
]
transitions = [
    { trigger = "triage", source = "new", target = "triage" },
    { trigger = "assign", source = ["new", "triage", "assigned"], target = "assigned" },
    { trigger = "assign", source = ["in_progress", "on_hold"] },
    { trigger = "start", source = ["new", "assigned"], target = "in_progress" },
    { trigger = "hold", source = ["assigned", "in_progress"], target = "on_hold" },
    { trigger = "resume", source = "on_hold", target = "in_progress" },
    { trigger = "resolve", source = ["new", "triage", "assigned"], target = "resolved" },
    { trigger = "resolve", source = ["in_progress", "on_hold"], target = "resolved" },
    { trigger = "close", source = "resolved", target = "closed" },
    { trigger = "reopen", source = "resolved", target = "in_progress" },
    { trigger = "cancel", source = ["new", "triage", "assigned"], target = "cancelled" },
    { trigger = "cancel", source = ["in_progress", "on_hold"], target = "cancelled" },
]
"""


def test_a_workflow_with_an_extra_state_is_loaded() -> None:
    workflow = load_config(TRIAGE_WORKFLOW).policies.incident_workflow
    assert workflow.name == "with_triage"
    assert "triage" in workflow.states
    assert workflow.fire("new", "triage", lambda field: None) == "triage"


def test_a_workflow_error_points_at_the_state_at_fault() -> None:
    text = TRIAGE_WORKFLOW.replace('{ name = "triage", label = "Triage" }',
                                   '{ name = "triage", label = "Triage", terminal = "yes" }')
    assert paths(refused(text)) == ["workflows.incident.states[1].terminal"]


def test_a_workflow_with_an_unreachable_state_is_refused_at_that_state() -> None:
    text = TRIAGE_WORKFLOW.replace('{ trigger = "triage", source = "new", target = "triage" },',
                                   "")
    error = refused(text)
    assert paths(error) == ["workflows.incident.states[1]"]
    assert "triage" in (error.issues[0].reason or "")


def test_a_workflow_may_name_the_library_guards_and_the_hosts() -> None:
    def approved(fields: object) -> bool:
        return True

    text = TRIAGE_WORKFLOW.replace(
        '{ trigger = "triage", source = "new", target = "triage" }',
        '{ trigger = "triage", source = "new", target = "triage", guards = ["approved"] }')
    assert paths(refused(text)) == ["workflows.incident.transitions[0]"]
    loaded = load_config(text, guards={"approved": approved})
    assert loaded.policies.incident_workflow.transitions[0].guards == ("approved",)


def test_an_sla_clock_rule_naming_a_state_the_workflow_lacks_is_refused() -> None:
    text = TRIAGE_WORKFLOW + """
[calendars.all]
timezone = "UTC"
windows.monday = [["00:00", "24:00"]]
[sla]
name = "s"
[[sla.versions]]
version = 1
effective_from = 2026-01-01T00:00:00Z
agreements = [{ name = "a", calendar = "all", targets.response = { 1 = "1h" } }]
clock_rules.response = { start_states = ["triage"], stop_states = ["triaged"] }
"""
    error = refused(text)
    assert paths(error) == ["sla.versions[0].clock_rules.response.stop_states[0]"]


# -- priority ------------------------------------------------------------------------------------


def test_a_priority_matrix_is_read_from_a_preset_or_from_its_cells() -> None:
    config = load_config("""
[priority.incident]
preset = "itop"
[priority.problem]
name = "small"
impacts = ["Wide", "Narrow"]
urgencies = ["Now", "Later"]
priorities = ["P1", "P2", "P3"]
cells = [[1, 2], [2, 3]]
""")
    assert config.policies.priority_matrix == PriorityMatrix.itop()
    problem = config.policies.problem_priority_matrix
    assert problem.priority_for(problem.impact("Narrow"), problem.urgency("Later")).label == "P3"


def test_a_matrix_cell_out_of_range_is_reported_at_the_cell() -> None:
    error = refused("""
[priority.incident]
name = "m"
impacts = ["A", "B"]
urgencies = ["A", "B"]
priorities = ["1", "2"]
cells = [[1, 2], [2, 7]]
""")
    assert paths(error) == ["priority.incident.cells[1][1]"]


def test_a_missing_matrix_cell_without_fallback_is_reported_at_the_cell() -> None:
    error = refused("""
[priority.incident]
name = "m"
impacts = ["A", "B"]
urgencies = ["A", "B"]
priorities = ["1", "2"]
cells = [[1, 2], [2]]
""")
    assert paths(error) == ["priority.incident.cells[1][1]"]


def test_an_unknown_preset_lists_the_known_ones() -> None:
    error = refused('[priority.incident]\npreset = "custom"\n')
    assert paths(error) == ["priority.incident.preset"]
    assert "servicenow" in error.issues[0].expected


# -- categories and routing ----------------------------------------------------------------------


def test_categories_read_a_tree_and_ordered_rules() -> None:
    config = load_config("""
[categories]
tree = { Network = ["VPN", "DNS"], Other = [] }
rules = [
    { name = "vpn", category = "Network/VPN", keywords = ["vpn", "tunnel"] },
    { name = "alerts", category = "Other", channel = "monitoring" },
]
""")
    tree = config.policies.categories
    assert tree == CategoryTree(["Network/VPN", "Network/DNS", "Other"])
    categorizer = config.policies.categorizer
    assert isinstance(categorizer, Categorizer)
    match = categorizer.categorize(title="tunnel keeps dropping")
    assert match is not None
    assert str(match.category) == "Network/VPN"
    alert = categorizer.categorize(title="disk", channel=Channel.MONITORING)
    assert alert is not None
    assert alert.rule == "alerts"


def test_categories_false_switches_categories_off() -> None:
    policies = load_config("categories = false\nrouting = false\n").policies
    assert policies.categories is None
    assert policies.categorizer is None
    assert policies.routing is None


def test_category_rule_problems_are_reported_per_rule() -> None:
    error = refused("""
[categories]
tree = { Network = ["VPN"] }
rules = [
    { name = "vpn", category = "Network/VPN", keywords = ["vpn"] },
    { name = "vpn", category = "Network/VPN", keywords = ["tunnel"] },
    { name = "dns", category = "Network/DNS", keywords = ["dns"] },
    { name = "bad", category = "Network", pattern = "([" },
    { name = "empty", category = "Network" },
    { name = "typed", category = "Network", keywords = "vpn" },
]
""")
    assert paths(error) == [
        "categories.rules[1].name",
        "categories.rules[2].category",
        "categories.rules[3]",
        "categories.rules[4]",
        "categories.rules[5].keywords",
    ]


def test_a_duplicate_rule_name_alone_is_reported_once() -> None:
    error = refused("""
[categories]
rules = [{ name = "vpn", category = "Network/VPN", keywords = ["vpn"] },
         { name = "vpn", category = "Network/VPN", keywords = ["tunnel"] }]
""")
    assert paths(error) == ["categories.rules[1].name"]


def test_routing_reads_groups_rules_and_the_default_group() -> None:
    config = load_config("""
[routing]
default_group = "Desk"
groups = [
    { name = "Desk", escalates_to = "Network", manager_role = "desk_lead" },
    { name = "Network", tier = 2 },
]
rules = [{ name = "net", group = "Network", category = "Network" }]
""")
    routing = config.policies.routing
    assert isinstance(routing, RoutingTable)
    assert routing.default_group == "Desk"
    assert routing.next_group("Desk") is not None
    assert routing.group("Network").tier == 2


def test_routing_references_to_unknown_groups_are_each_reported() -> None:
    error = refused("""
[routing]
default_group = "Helpdesk"
groups = [{ name = "Desk", escalates_to = "Level 2" }, { name = "Net", tier = 0 }]
rules = [{ name = "net", group = "Network", category = "Network" }]
""")
    assert paths(error) == ["routing.groups[1].tier"]
    error = refused("""
[routing]
default_group = "Helpdesk"
groups = [{ name = "Desk", escalates_to = "Level 2" }]
rules = [{ name = "net", group = "Network", category = "Network" }, { name = "x", group = "Desk" }]
""")
    assert paths(error) == ["routing.rules[1]"]
    error = refused("""
[routing]
default_group = "Helpdesk"
groups = [{ name = "Desk", escalates_to = "Level 2" }]
rules = [{ name = "net", group = "Network", category = "Network" }]
""")
    assert paths(error) == ["routing.groups[0].escalates_to", "routing.rules[0].group",
                            "routing.default_group"]


# -- desk ----------------------------------------------------------------------------------------


def test_the_desk_section_sets_reasons_codes_fields_and_timers() -> None:
    config = load_config("""
[calendars.office]
timezone = "UTC"
windows.monday = [["09:00", "17:00"]]
[desk]
hold_reasons = ["awaiting_caller", "awaiting_parts"]
resolution_codes = false
custom_fields = { customer = "string", seats = "integer", due = "datetime" }
auto_close_after = "2d"
auto_close_calendar = "office"
hold_reminder_every = "1h30m"
""")
    policies = config.policies
    assert policies.hold_reasons == {"awaiting_caller", "awaiting_parts"}
    assert policies.resolution_codes is None
    assert policies.custom_fields == {"customer": str, "seats": int, "due": datetime}
    assert policies.auto_close_after == timedelta(days=2)
    assert policies.auto_close_calendar is config.calendars["office"]
    assert policies.hold_reminder_every == timedelta(hours=1, minutes=30)


def test_desk_problems_are_reported_at_their_keys() -> None:
    error = refused("""
[desk]
hold_reasons = []
custom_fields = { customer = "text" }
auto_close_calendar = "office"
hold_reminder_every = 3600
""")
    assert paths(error) == ["desk.hold_reasons", "desk.custom_fields.customer",
                            "desk.hold_reminder_every", "desk.auto_close_calendar"]


# -- SLA -----------------------------------------------------------------------------------------

SLA = """
[calendars.office]
timezone = "Europe/Paris"
windows.monday = [["09:00", "17:00"]]
windows.tuesday = [["09:00", "17:00"]]

[calendars.always]
timezone = "UTC"
[calendars.always.windows]
monday = [["00:00", "24:00"]]
tuesday = [["00:00", "24:00"]]
wednesday = [["00:00", "24:00"]]
thursday = [["00:00", "24:00"]]
friday = [["00:00", "24:00"]]
saturday = [["00:00", "24:00"]]
sunday = [["00:00", "24:00"]]

[sla]
name = "Contract"

[[sla.versions]]
version = 1
effective_from = 2026-01-01T00:00:00Z
fallback = "Standard"

[[sla.versions.agreements]]
name = "Standard"
calendar = "office"
targets = { response = { 1 = "30m", 2 = "1h" }, resolution = { 1 = "4h" } }

[[sla.versions]]
version = 2
effective_from = "2026-06-01T00:00:00+02:00"
fallback = "Standard"
rules = [{ name = "vip", agreement = "Premium", customer = "ACME" }]

[[sla.versions.agreements]]
name = "Standard"
calendar = "office"
targets.resolution = { 1 = "8h", 3 = "2d" }
pause_hold_reasons = ["awaiting_caller", "awaiting_vendor"]
stages = [0.8, 1.0]

[[sla.versions.agreements]]
name = "Premium"
calendar = "always"
targets.resolution = { 1 = "2h" }

[[sla.versions.agreements]]
name = "network-ola"
calendar = "always"
group = "Network Support"
targets.resolution = { 1 = "1h" }

[sla.versions.clock_rules.response]
stop_events = ["incident.work_started"]
stop_on_assignee = false
"""


def test_an_sla_policy_is_read_with_its_versions_agreements_and_rules() -> None:
    config = load_config(SLA)
    policy = config.policies.sla
    assert isinstance(policy, SlaPolicy)
    assert policy.name == "Contract"
    first, second = policy.versions
    assert first.agreement("Standard").target(SlaMetric.RESPONSE, 2) == _H
    assert first.agreement("Standard").calendar is config.calendars["office"]
    assert second.effective_from == datetime(2026, 5, 31, 22, tzinfo=UTC)
    standard = second.agreement("Standard")
    assert standard.target(SlaMetric.RESOLUTION, 3) == timedelta(days=2)
    assert standard.pause_hold_reasons == {"awaiting_caller", "awaiting_vendor"}
    assert standard.stages == (0.8, 1.0)
    assert second.ola("Network Support") is second.agreement("network-ola")
    selected = second.select(service=None, category=None, customer="ACME")
    assert selected is not None
    assert selected.agreement.name == "Premium"
    response = second.clock_rules[SlaMetric.RESPONSE]
    assert response == ClockRules(stop_events=frozenset({"incident.work_started"}))
    assert second.clock_rules[SlaMetric.RESOLUTION] == ClockRules.resolution()


def test_sla_references_are_checked_at_their_paths() -> None:
    text = SLA.replace('rules = [{ name = "vip", agreement = "Premium"',
                       'rules = [{ name = "vip", agreement = "Platinum"')
    text = text.replace('pause_hold_reasons = ["awaiting_caller", "awaiting_vendor"]',
                        'pause_hold_reasons = ["awaiting_caller", "on_vacation"]')
    text = text.replace('group = "Network Support"', 'group = "Netwerk"')
    text = text.replace('fallback = "Standard"\nrules', 'fallback = "network-ola"\nrules')
    error = refused(text)
    assert paths(error) == [
        "sla.versions[1].agreements[0].pause_hold_reasons[1]",
        "sla.versions[1].agreements[2].group",
    ]
    text = text.replace('"on_vacation"', '"awaiting_vendor"').replace('"Netwerk"',
                                                                      '"Network Support"')
    assert paths(refused(text)) == ["sla.versions[1].rules[0].agreement",
                                    "sla.versions[1].fallback"]


def test_versions_out_of_order_are_refused_at_the_later_version() -> None:
    text = SLA.replace("version = 2\neffective_from = \"2026-06-01T00:00:00+02:00\"",
                       "version = 2\neffective_from = \"2025-06-01T00:00:00+02:00\"")
    error = refused(text)
    assert paths(error) == ["sla.versions[1]"]
    assert "takes effect" in (error.issues[0].reason or "")


def test_sla_version_fields_are_checked() -> None:
    error = refused("""
[calendars.all]
timezone = "UTC"
windows.monday = [["00:00", "24:00"]]
[sla]
versions = [
    { version = 0, effective_from = 2026-01-01T00:00:00, agreements = [] },
    { version = 2, effective_from = 2026-01-01T00:00:00Z, agreements = [
        { name = "a", calendar = "all", targets = {} },
        { name = "b", calendar = "all", targets = { uptime = { 1 = "1h" } } },
        { name = "c", calendar = "all", targets = { response = { P1 = "1h" } } },
    ] },
]
""")
    assert paths(error) == [
        "sla.name",
        "sla.versions[0].version",
        "sla.versions[0].effective_from",
        "sla.versions[1].agreements[0].targets",
        "sla.versions[1].agreements[1].targets.uptime",
        "sla.versions[1].agreements[2].targets.response.P1",
    ]


def test_an_sla_needs_its_versions() -> None:
    assert paths(refused('[sla]\nname = "x"\n')) == ["sla.versions"]


def test_sla_false_switches_the_clocks_off() -> None:
    assert load_config("sla = false").policies.sla is None


# -- escalation ----------------------------------------------------------------------------------


def test_escalation_rules_are_read_with_their_actions() -> None:
    config = load_config("""
routing = { groups = [{ name = "IT" }] }

[escalation]
role = "duty_manager"
rules = [
    { name = "ack", metric = "response", priorities = [1], action = { kind = "hierarchical" } },
    { name = "ola", group = "*", stage = 0.9, action = { kind = "functional", group = "IT" } },
    { name = "bump", services = ["ERP"], action = { kind = "raise_priority", priority = 2 } },
]
""")
    policies = config.policies
    assert policies.escalation_role == "duty_manager"
    ack, ola, bump = policies.escalation_rules
    assert ack.metric is SlaMetric.RESPONSE
    assert ack.priorities == {1}
    assert ack.action.kind is EscalationActionKind.HIERARCHICAL
    assert ola.group == "*"
    assert ola.stage == 0.9
    assert ola.action == EscalationAction.functional("IT")
    assert bump.action == EscalationAction.raise_priority(2)
    assert bump.services == {"ERP"}
    assert not bump.categories


def test_escalation_rule_problems_are_reported_per_rule() -> None:
    error = refused("""
[[escalation.rules]]
name = "a"
action = { kind = "promote" }
[[escalation.rules]]
name = "b"
metric = "uptime"
action = { kind = "hierarchical" }
[[escalation.rules]]
name = "c"
[[escalation.rules]]
name = "a"
action = { kind = "hierarchical", priority = 1 }
[[escalation.rules]]
name = "ok"
action = { kind = "hierarchical" }
[[escalation.rules]]
name = "ok"
action = { kind = "hierarchical" }
""")
    assert paths(error) == [
        "escalation.rules[0].action.kind",
        "escalation.rules[1].metric",
        "escalation.rules[2].action",
        "escalation.rules[3].action.priority",
    ]


def test_duplicate_escalation_rule_names_are_reported_at_the_second() -> None:
    error = refused("""
[[escalation.rules]]
name = "ok"
action = { kind = "hierarchical" }
[[escalation.rules]]
name = "ok"
action = { kind = "functional" }
""")
    assert paths(error) == ["escalation.rules[1].name"]


# -- notifications -------------------------------------------------------------------------------


def test_subscriptions_are_read_with_their_recipients() -> None:
    config = load_config("""
[[notifications.subscriptions]]
events = ["incident.resolved"]
recipients = ["caller", "group", "address:noc@example.org"]
template = "resolved"
[[notifications.subscriptions]]
events = ["incident.*"]
recipients = ["role:major_incident_manager"]
priorities = [1, 2]
""")
    assert config.subscriptions is not None
    first, second = config.subscriptions.subscriptions
    assert first == Subscription(("incident.resolved",), (
        Recipient.caller(), Recipient.group(), Recipient.address("noc@example.org")),
        template="resolved")
    assert second.recipients == (Recipient(RecipientKind.ROLE, "major_incident_manager"),)
    assert second.priorities == frozenset({1, 2})


def test_subscription_problems_are_reported_at_each_recipient() -> None:
    error = refused("""
[[notifications.subscriptions]]
events = ["Incident Resolved"]
recipients = ["boss", "role", "address:not an address", "caller"]
""")
    assert paths(error) == [
        "notifications.subscriptions[0].recipients[0]",
        "notifications.subscriptions[0].recipients[1]",
        "notifications.subscriptions[0].recipients[2]",
    ]
    error = refused('[[notifications.subscriptions]]\nevents = ["incident.*.x"]\n'
                    'recipients = ["caller"]\n')
    assert paths(error) == ["notifications.subscriptions[0].events"]


def test_notifications_false_declares_no_subscriptions() -> None:
    assert load_config("notifications = false").subscriptions is None


# -- writing back --------------------------------------------------------------------------------


def test_the_default_configuration_survives_a_round_trip_through_toml() -> None:
    text = dump_config(default_config())
    again = load_config(text)
    assert again == default_config()
    assert_same_policies(again.policies, default_config().policies)


def test_a_full_configuration_survives_a_round_trip() -> None:
    config = load_config(SLA + TRIAGE_WORKFLOW.replace("[workflows.incident]",
                                                       "[workflows.problem]"))
    assert load_config(dump_config(config)) == config


def test_a_calendar_the_configuration_does_not_name_is_written_under_a_new_name() -> None:
    calendar = BusinessCalendar.office("UTC", name="Head Office")
    policies = DeskPolicies(auto_close_after=timedelta(days=1), auto_close_calendar=calendar)
    text = dump_config(DeskConfig(policies=policies))
    assert 'auto_close_calendar = "head-office"' in text
    loaded = load_config(text)
    assert loaded.policies.auto_close_calendar == calendar
    assert loaded.calendars["head-office"].name == "Head Office"


def test_configurations_that_differ_are_not_equal() -> None:
    assert load_config('[desk]\nauto_close_after = "1d"') != load_config("")
    assert DeskConfig() != "not a configuration"


class HostCalendar:
    """An SlaCalendar of a host's own: every instant is working time."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start + duration

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))

    def working_periods(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(start, end)] if end > start else []


def test_a_configuration_with_a_calendar_of_the_hosts_own_cannot_be_written() -> None:
    agreement = SlaAgreement(name="a", calendar=HostCalendar(),
                             targets={SlaMetric.RESOLUTION: {1: _H}})
    sla = SlaPolicy.single("p", SlaPolicyVersion(
        version=1, effective_from=datetime(2026, 1, 1, tzinfo=UTC), agreements=[agreement]))
    config = DeskConfig(policies=DeskPolicies(sla=sla))
    with pytest.raises(DefinitionError):
        dump_config(config)
    assert config == config
    assert config != DeskConfig(policies=DeskPolicies(sla=sla))


def test_dump_refuses_what_is_not_a_configuration() -> None:
    with pytest.raises(DefinitionError):
        dump_config(DeskPolicies())  # type: ignore[arg-type]  # the refusal is tested


def test_a_desk_config_checks_its_parts() -> None:
    with pytest.raises(DefinitionError):
        DeskConfig(policies="itil")  # type: ignore[arg-type]  # the refusal is tested
    with pytest.raises(DefinitionError):
        DeskConfig(calendars={"x": "9 to 5"})
    with pytest.raises(DefinitionError):
        DeskConfig(subscriptions=[])  # type: ignore[arg-type]  # the refusal is tested


# -- durations -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", timedelta(minutes=30)),
    ("4h", timedelta(hours=4)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("7d", timedelta(days=7)),
    ("2w", timedelta(days=14)),
    ("1d 2h", timedelta(days=1, hours=2)),
    ("90s", timedelta(seconds=90)),
])
def test_durations_are_read_with_their_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0m", "4x", "h", "1m2h", "-1h", "4.5h", 3600,
                                  "99999999999999w"])
def test_anything_else_is_not_a_duration(text: object) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(days=7), "7d"), (timedelta(hours=36), "36h"),
    (timedelta(hours=1, minutes=30, seconds=5), "1h30m5s"), (timedelta(minutes=15), "15m"),
])
def test_durations_are_written_in_hours_unless_whole_days(span: timedelta, text: str) -> None:
    assert format_duration(span) == text


def test_the_hold_reasons_default_to_the_library_ones() -> None:
    assert load_config("").policies.hold_reasons == {reason.value for reason in HoldReason}
