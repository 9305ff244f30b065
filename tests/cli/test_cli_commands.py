"""The command-line service desk, driven as a user would: commands, output, errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import itil_incident.cli
from itil_incident import ConcurrencyError, ValidationError
from itil_incident.cli import ExitCode, app
from itil_incident.cli._exit import failure_for

if TYPE_CHECKING:  # the fixtures' type, for mypy only (pytest provides the fixtures)
    from tests.cli.conftest import Desk

Log = Callable[..., str]
#: Monday 2 March 2026, 09:00 in Paris: office hours, so SLA clocks run; and Tuesday.
MONDAY_9 = "2026-03-02T09:00:00+01:00"
TUESDAY_9 = "2026-03-03T09:00:00+01:00"


def one_error_line(result_stderr: str) -> str:
    """The single line an error prints (and that it is one line, without a traceback)."""
    lines = result_stderr.splitlines()
    assert len(lines) == 1, result_stderr
    assert "Traceback" not in result_stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# ----------------------------------------------------------------- the database


def test_init_creates_a_desk_with_no_incidents(tmp_path: Path) -> None:
    database = tmp_path / "new.sqlite3"
    result = CliRunner().invoke(app, ["--db", str(database), "init"])
    assert result.exit_code == 0
    assert "0 incident(s), 0 problem(s)" in result.stdout
    assert database.exists()


def test_a_database_that_was_not_initialised_is_refused_with_exit_code_5(
        tmp_path: Path) -> None:
    database = tmp_path / "missing.sqlite3"
    result = CliRunner().invoke(app, ["--db", str(database), "list"])
    assert result.exit_code == 5
    line = one_error_line(result.stderr)
    assert "is not initialised" in line
    assert "init` first" in line
    assert not database.exists()


def test_the_database_comes_from_the_environment_when_db_is_not_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITIL_INCIDENT_DB", str(tmp_path / "from-env.sqlite3"))
    CliRunner().invoke(app, ["init"])
    result = CliRunner().invoke(app, ["log", "VPN down"])
    assert result.exit_code == 0
    assert (tmp_path / "from-env.sqlite3").exists()


@pytest.mark.skipif(not os.environ.get("ITIL_INCIDENT_POSTGRES_URL"),
                    reason="needs ITIL_INCIDENT_POSTGRES_URL (.ci/run sets it)")
def test_a_postgresql_dsn_serves_the_commands_as_sqlite_does() -> None:
    base = os.environ["ITIL_INCIDENT_POSTGRES_URL"]
    schema = f"cli_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        dsn = f"{base}?options=-csearch_path%3D{schema},public"
        runner = CliRunner()
        assert runner.invoke(app, ["--db", dsn, "init"]).exit_code == 0
        assert runner.invoke(app, ["--db", dsn, "log", "VPN drops"]).exit_code == 0
        listed = runner.invoke(app, ["--db", dsn, "list"])
        assert "INC0000001" in listed.stdout
        assert "VPN drops" in listed.stdout
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


# ----------------------------------------------------------------- log, list, show


def test_log_prints_the_id_with_the_category_and_group_the_rules_chose(desk: Desk) -> None:
    result = desk.ok("log", "VPN drops every few minutes", "--service", "Remote Access")
    assert result.stdout.startswith("INC0000001 logged: ")
    assert "Network/VPN -> Network Support (tier 2)" in result.stdout


def test_log_json_gives_the_priority_of_impact_and_urgency(desk: Desk) -> None:
    data = desk.json("log", "ERP down", "--impact", "1", "--urgency", "High",
                     "--channel", "phone", "--caller", "carol")
    assert data["priority"] == {"level": 1, "label": "Critical"}
    assert (data["channel"], data["caller"], data["status"]) == ("phone", "carol", "new")


def test_ids_follow_the_highest_stored_id_across_commands(desk: Desk, logged: Log) -> None:
    assert [logged("one"), logged("two"), logged("three")] == [
        "INC0000001", "INC0000002", "INC0000003"]


def test_list_shows_a_table_of_ids_titles_and_statuses_under_column_headers(
        desk: Desk, logged: Log) -> None:
    logged("VPN drops every few minutes")
    logged("Printer on floor 3 jams")
    output = desk.ok("list").stdout
    header = next(line for line in output.splitlines() if line.startswith("ID"))
    assert header.split() == ["ID", "Priority", "Status", "Title", "Category", "Group",
                              "Assignee", "Logged"]
    assert "INC0000001" in output
    assert "VPN drops every few minutes" in output
    assert "INC0000002" in output
    assert "Printer on floor 3 jams" in output
    assert "2 incident(s)" in output


@pytest.mark.parametrize(("options", "expected"), [
    (("--status", "in_progress"), ["INC0000002"]),
    (("--priority", "2"), ["INC0000001"]),
    (("--priority", "Low", "--priority", "High"), ["INC0000001", "INC0000002",
                                                   "INC0000003"]),
    (("--group", "Desktop Support"), ["INC0000002"]),
    (("--assignee", "alice"), ["INC0000002"]),
    (("--category", "Network"), ["INC0000001"]),
    (("--service", "Email"), ["INC0000003"]),
    (("--open",), ["INC0000001", "INC0000002"]),
    (("--closed",), ["INC0000003"]),
    (("--text", "PRINTER"), ["INC0000002"]),
    (("--limit", "2"), ["INC0000001", "INC0000002"]),
])
def test_list_filters_keep_only_the_incidents_that_match(
        desk: Desk, logged: Log, options: tuple[str, ...], expected: list[str]) -> None:
    logged("VPN drops", "--impact", "2", "--urgency", "1")
    desk.ok("start", logged("Printer jams"))
    desk.ok("resolve", logged("Mailbox full", "--service", "Email"), "--code",
            "solved_remotely", "--notes", "Archived old mail")
    assert [i["id"] for i in desk.json("list", *options)] == expected


def test_show_prints_the_fields_the_sla_clocks_and_the_timeline(
        desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops", "--service", "Remote Access", now=MONDAY_9)
    desk.ok("assign", incident, "--assignee", "bob", now=MONDAY_9)
    output = desk.ok("show", incident, now=MONDAY_9).stdout
    assert f"{incident}  VPN drops" in output
    assert "Network Support (tier 2)" in output
    assert "SLA clocks" in output
    assert "Gold" in output
    assert "resolution" in output
    assert "Timeline" in output
    assert "incident.logged" in output
    assert "incident.assigned" in output


def test_show_json_holds_the_incident_its_clocks_and_its_timeline(
        desk: Desk, logged: Log) -> None:
    incident = logged("Printer jams", now=MONDAY_9)
    data = desk.json("show", incident, now="2026-03-02T10:00:00+01:00")
    assert data["id"] == incident
    assert data["allowed"] == ["assign", "start", "resolve", "cancel"]
    response, resolution = data["sla"]
    assert (response["metric"], response["agreement"], response["status"]) == (
        "response", "Silver", "running")
    assert response["business_elapsed_seconds"] == 3600.0
    assert resolution["due_at"].endswith("+00:00")
    assert [event["name"] for event in data["timeline"]] == ["incident.logged"]
    assert data["timeline"][0]["at"] == "2026-03-02T08:00:00+00:00"


def test_an_unknown_incident_exits_3_with_one_line(desk: Desk) -> None:
    result = desk("show", "INC9999999")
    assert result.exit_code == 3
    assert one_error_line(result.stderr) == (
        "error: no incident with id 'INC9999999' (see `itil-incident list`)")


# ----------------------------------------------------------------- the lifecycle


def test_an_incident_goes_from_new_to_closed_through_the_commands(
        desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops", "--caller", "carol")
    desk.ok("assign", incident, "--assignee", "bob")
    desk.ok("start", incident, user="bob")
    desk.ok("hold", incident, "awaiting_caller", "--comment", "Which client version?")
    desk.ok("resume", incident, user="bob")
    desk.ok("note", incident, "DPD timeouts in the gateway log", user="bob")
    desk.ok("resolve", incident, "--code", "solved_workaround", "--notes", "Raised the DPD "
            "timeout", user="bob")
    result = desk.ok("close", incident, "--confirmed", "--satisfaction", "4", "--comment",
                     "Fast")
    assert result.stdout.startswith(f"{incident} closed, satisfaction 4/5 (status closed")
    data = desk.json("show", incident)
    assert data["satisfaction"] == {"score": 4, "comment": "Fast"}
    assert [event["name"] for event in data["timeline"]] == [
        "incident.logged", "incident.assigned", "incident.work_started",
        "incident.put_on_hold", "incident.note_added", "incident.resumed",
        "incident.note_added", "incident.resolved", "incident.closed"]


def test_a_refused_transition_prints_one_line_naming_what_is_allowed_and_exits_1(
        desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("start", incident)
    result = desk("close", incident)
    assert result.exit_code == 1
    assert one_error_line(result.stderr) == (
        "error: cannot 'close' in state 'in_progress' "
        "(allowed there: assign, hold, resolve, cancel)")


def test_a_refused_command_changes_nothing(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk("resolve", incident, "--code", "no_such_code", "--notes", "x")
    assert desk.json("show", incident)["version"] == 1


def test_a_usage_error_exits_2(desk: Desk, logged: Log) -> None:
    result = desk("assign", logged("VPN drops"))
    assert result.exit_code == 2
    assert "give --group, --assignee or both" in result.stderr


def test_the_as_option_names_who_acts(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("start", incident, user="bob")
    data = desk.json("show", incident)
    assert [event["actor"] for event in data["timeline"]] == ["alice", "bob"]
    assert data["assignee"] == "bob"


def test_the_now_option_dates_the_events(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops", now=MONDAY_9)
    assert desk.json("show", incident)["logged_at"] == "2026-03-02T08:00:00+00:00"


def test_hold_with_a_comment_leaves_a_note_the_caller_sees(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("start", incident)
    desk.ok("hold", incident, "awaiting_caller", "--comment", "Which client version?")
    data = desk.json("show", incident)
    assert (data["status"], data["hold_reason"]) == ("on_hold", "awaiting_caller")
    assert [(n["visibility"], n["text"]) for n in data["notes"]] == [
        ("comment", "Which client version?")]


def test_a_note_is_for_the_staff_unless_it_is_a_comment(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("note", incident, "checked the logs")
    desk.ok("note", incident, "we are on it", "--comment")
    assert [n["visibility"] for n in desk.json("show", incident)["notes"]] == [
        "work_note", "comment"]


def test_reopen_puts_a_resolved_incident_back_in_progress_and_counts_it(
        desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("resolve", incident, "--code", "solved_remotely", "--notes", "Restarted")
    desk.ok("reopen", incident, "--reason", "Still drops")
    data = desk.json("show", incident)
    assert (data["status"], data["reopen_count"]) == ("in_progress", 1)


def test_cancel_records_the_reason(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("cancel", incident, "--reason", "Logged twice")
    data = desk.json("show", incident)
    assert (data["status"], data["cancellation_reason"]) == ("cancelled", "Logged twice")


def test_escalate_hands_the_incident_to_the_next_tier(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    result = desk.ok("escalate", incident, "--reason", "Needs engineering")
    assert "escalated to Network Engineering (tier 3)" in result.stdout
    assert desk.json("show", incident)["functional_escalations"] == 1


def test_escalate_to_a_named_group(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("escalate", incident, "--reason", "Looks like an attack", "--group",
            "Security Operations")
    assert desk.json("show", incident)["assignment_group"] == "Security Operations"


def test_a_hierarchical_escalation_informs_management_and_keeps_the_group(
        desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("escalate", incident, "--hierarchical", "--reason", "VIP caller")
    data = desk.json("show", incident)
    assert (data["assignment_group"], data["hierarchical_escalations"]) == (
        "Network Support", 1)
    assert data["timeline"][-1]["details"]["notified_role"] == "incident_manager"


def test_priority_follows_the_matrix_when_impact_and_urgency_change(
        desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("priority", incident, "--impact", "1", "--urgency", "2")
    assert desk.json("show", incident)["priority"]["level"] == 2


def test_a_priority_override_records_its_justification(desk: Desk, logged: Log) -> None:
    incident = logged("VPN drops")
    desk.ok("priority", incident, "--override", "1", "--justification", "The CEO's laptop")
    data = desk.json("show", incident)
    assert (data["priority"]["level"], data["priority_overridden"],
            data["priority_justification"]) == (1, True, "The CEO's laptop")


def test_a_priority_override_without_justification_is_a_usage_error(
        desk: Desk, logged: Log) -> None:
    assert desk("priority", logged("VPN drops"), "--override", "1").exit_code == 2


def test_categorize_with_reroute_moves_the_incident_to_the_category_group(
        desk: Desk, logged: Log) -> None:
    incident = logged("Something odd")
    desk.ok("categorize", incident, "Hardware/Printer", "--reroute")
    data = desk.json("show", incident)
    assert (data["category"], data["assignment_group"]) == (
        "Hardware/Printer", "Desktop Support")


def test_an_unknown_category_is_refused(desk: Desk, logged: Log) -> None:
    result = desk("categorize", logged("VPN drops"), "Garden/Shed")
    assert result.exit_code == 1
    assert one_error_line(result.stderr) == "error: unknown category 'Garden/Shed'"


# ----------------------------------------------------------------- problems


def test_problem_open_links_the_incidents(desk: Desk, logged: Log) -> None:
    first, second = logged("VPN drops"), logged("VPN drops again")
    result = desk.ok("problem", "open", "VPN gateway drops sessions", "--incident", first,
                     "--incident", second)
    assert f"PRB0000001 opened, linked to {first}, {second}" in result.stdout
    assert desk.json("show", first)["problem_id"] == "PRB0000001"


def test_a_problem_goes_from_new_to_closed_through_the_commands(
        desk: Desk, logged: Log) -> None:
    desk.ok("problem", "open", "VPN gateway drops sessions", "--incident", logged("VPN"))
    desk.ok("problem", "investigate", "PRB0000001")
    desk.ok("problem", "workaround", "PRB0000001", "Reconnect with client 5.2")
    desk.ok("problem", "root-cause", "PRB0000001", "Faulty NIC firmware", "--category",
            "Network/VPN")
    desk.ok("problem", "known-error", "PRB0000001")
    desk.ok("problem", "resolve", "PRB0000001", "Firmware upgraded")
    desk.ok("problem", "close", "PRB0000001")
    output = desk.ok("problem", "show", "PRB0000001").stdout
    assert "PRB0000001  VPN gateway drops sessions" in output
    assert "Faulty NIC firmware" in output
    for name in ("problem.opened", "problem.investigation_started",
                 "problem.marked_known_error", "problem.resolved", "problem.closed"):
        assert name in output


def test_a_known_error_needs_a_root_cause_or_a_workaround(desk: Desk) -> None:
    desk.ok("problem", "open", "Printers jam")
    result = desk("problem", "known-error", "PRB0000001")
    assert result.exit_code == 1
    assert "has_root_cause_or_workaround" in one_error_line(result.stderr)


def test_problem_list_json_selects_known_errors(desk: Desk) -> None:
    desk.ok("problem", "open", "Printers jam")
    desk.ok("problem", "open", "VPN drops")
    desk.ok("problem", "workaround", "PRB0000002", "Reconnect")
    desk.ok("problem", "known-error", "PRB0000002")
    assert [p["id"] for p in desk.json("problem", "list", "--known-error")] == ["PRB0000002"]
    table = desk.ok("problem", "list").stdout
    assert "PRB0000001" in table
    assert "Printers jam" in table
    assert "known_error" in table


def test_an_unknown_problem_exits_3_pointing_to_problem_list(desk: Desk) -> None:
    result = desk("problem", "show", "PRB0000042")
    assert result.exit_code == 3
    assert "`itil-incident problem list`" in one_error_line(result.stderr)


# ----------------------------------------------------------------- SLA and time


def test_sla_lists_clocks_with_the_least_time_remaining_first(
        desk: Desk, logged: Log) -> None:
    low = logged("Printer jams", now=MONDAY_9)
    high = logged("ERP down", "--service", "ERP", "--impact", "1", "--urgency", "1",
                  now=MONDAY_9)
    desk.ok("start", high, now="2026-03-02T09:05:00+01:00")
    desk.ok("hold", high, "awaiting_caller", now="2026-03-02T11:00:00+01:00")
    rows = desk.json("sla", now="2026-03-02T11:30:00+01:00")
    assert [(row["incident_id"], row["clock"]["metric"], row["clock"]["status"])
            for row in rows] == [(high, "resolution", "paused"), (low, "response", "running"),
                                 (low, "resolution", "running")]
    assert [row["clock"]["remaining_seconds"] for row in rows] == [
        2 * 3600, 4.5 * 3600, 67.5 * 3600]


def test_sla_breached_shows_only_breached_clocks(desk: Desk, logged: Log) -> None:
    late = logged("ERP down", "--service", "ERP", "--impact", "1", "--urgency", "1",
                  now=MONDAY_9)
    logged("Printer jams", now="2026-03-02T16:50:00+01:00")
    output = desk.ok("sla", "--breached", now="2026-03-02T17:00:00+01:00").stdout
    assert late in output
    assert "breached" in output
    assert "INC0000002" not in output


def test_tick_records_the_stages_and_applies_the_escalation_rules(
        desk: Desk, logged: Log) -> None:
    incident = logged("ERP down", "--service", "ERP", "--impact", "1", "--urgency", "1",
                      now=MONDAY_9)
    report = desk.json("tick", now=TUESDAY_9)
    assert {(e["incident_id"], e["rule"]) for e in report["escalations"]} == {
        (incident, "P1/P2 not acknowledged"), (incident, "P1/P2 resolution at 75 %"),
        (incident, "resolution breached")}
    assert desk.json("show", incident, now=TUESDAY_9)["assignment_group"] == (
        "Application Engineering")


def test_tick_prints_what_it_did(desk: Desk, logged: Log) -> None:
    incident = logged("ERP down", "--service", "ERP", "--impact", "1", "--urgency", "1",
                      now=MONDAY_9)
    output = desk.ok("tick", now=TUESDAY_9).stdout
    assert "1 incident(s) examined" in output
    assert f"{incident}: escalated (functional, Application Engineering)" in output


def test_a_second_tick_at_the_same_instant_does_nothing(desk: Desk, logged: Log) -> None:
    logged("ERP down", "--impact", "1", "--urgency", "1", now=MONDAY_9)
    desk.ok("tick", now=TUESDAY_9)
    report = desk.json("tick", now=TUESDAY_9)
    assert (report["stages"], report["escalations"]) == ([], [])


# ----------------------------------------------------------------- workflow, export, import


def test_workflow_show_prints_the_mermaid_state_diagram(desk: Desk) -> None:
    output = desk.ok("workflow", "show").stdout
    assert output.startswith("stateDiagram-v2\n")
    assert "    in_progress --> resolved : resolve" in output


def test_workflow_show_problem_json_holds_the_states_and_the_diagram(desk: Desk) -> None:
    data = desk.json("workflow", "show", "--problem")
    assert data["name"] == "itil_problem"
    assert "known_error" in [state["name"] for state in data["states"]]
    assert data["mermaid"].startswith("stateDiagram-v2")


def test_export_then_import_rebuilds_the_same_records_elsewhere(
        desk: Desk, logged: Log, tmp_path: Path) -> None:
    incident = logged("VPN drops")
    desk.ok("resolve", incident, "--code", "solved_remotely", "--notes", "Restarted")
    desk.ok("problem", "open", "VPN gateway", "--incident", incident)
    exported = desk.ok("export").stdout
    assert len(exported.splitlines()) == 2
    other = type(desk)(tmp_path / "other.sqlite3")
    other.ok("init")
    result = other.ok("import", "-", input=exported)
    assert "imported 1 incident(s) and 1 problem(s)" in result.stdout
    assert other.json("show", incident)["timeline"] == desk.json("show", incident)["timeline"]
    assert other.json("problem", "show", "PRB0000001")["incident_ids"] == [incident]
    assert other.json("log", "Next one")["id"] == "INC0000002"


def test_importing_a_record_that_exists_changes_nothing_and_exits_4(
        desk: Desk, logged: Log) -> None:
    logged("VPN drops")
    exported = desk.ok("export").stdout
    logged("Printer jams")
    result = desk("import", "-", input=exported)
    assert result.exit_code == 4
    assert one_error_line(result.stderr) == (
        "error: INC0000001 (line 1) already exists; nothing was imported")


def test_importing_a_malformed_line_exits_1_naming_the_line(desk: Desk) -> None:
    result = desk("import", "-", input='{"kind": "incident", "events": []}\n')
    assert result.exit_code == 1
    assert "<stdin> line 1: not an exported record" in one_error_line(result.stderr)


# ----------------------------------------------------------------- documentation and errors


def test_help_documents_the_exit_codes(desk: Desk) -> None:
    output = desk.ok("--help").stdout
    assert "Exit codes: 0 ok; 1 the command was refused" in output
    assert "3 no record with that id" in output
    assert "5 the database cannot be used" in output


def test_the_module_documentation_describes_every_exit_code() -> None:
    documentation = itil_incident.cli.__doc__ or ""
    for code in ExitCode:
        assert f"- {code.value}: " in documentation


def test_a_concurrency_conflict_is_reported_with_exit_code_4() -> None:
    failure = failure_for(ConcurrencyError("INC0000001", 3, 4))
    assert failure.exit_code == ExitCode.CONFLICT
    assert failure.format_message().endswith("nothing was changed: run the command again")


def test_an_error_message_over_several_lines_is_printed_on_one() -> None:
    assert failure_for(ValidationError("first\nsecond")).format_message() == "first second"


def test_the_core_package_works_without_click_and_rich() -> None:
    code = ("import sys; sys.modules['click'] = None; sys.modules['rich'] = None\n"
            "import itil_incident, itil_incident.adapters.sql\n"
            "print(itil_incident.ServiceDesk.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "ServiceDesk"), done.stderr
