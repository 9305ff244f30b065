"""The command line numbers records from the database's counters (each command is a process of
its own), and takes its major-incident policy from the configuration in force."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from itil_incident import Actor, NullNotifier, SequentialIdFactory, ServiceDesk
from itil_incident.adapters.sql import SqlRepository
from itil_incident.cli import ExitCode

if TYPE_CHECKING:  # the fixtures' type, for mypy only (pytest provides the fixtures)
    from tests.cli.conftest import Desk

MONDAY_9 = "2026-03-02T09:00:00+01:00"


def test_commands_run_one_after_another_number_incidents_and_problems_in_sequence(
        desk: Desk) -> None:
    first = desk.json("log", "VPN drops")["id"]
    second = desk.json("log", "Printer jams")["id"]
    problem = desk.json("problem", "open", "VPN keeps dropping", "--incident", first)["id"]
    assert (first, second, problem) == ("INC0000001", "INC0000002", "PRB0000001")
    assert desk.json("log", "Mail is slow")["id"] == "INC0000003"


def test_the_command_line_goes_on_after_records_numbered_by_another_program(
        desk: Desk) -> None:
    repository = SqlRepository.from_url(f"sqlite:///{desk.database}")
    host = ServiceDesk(repository, notifier=NullNotifier(), ids=SequentialIdFactory(start=120))
    host.log_incident(actor=Actor("host"), title="Logged by a host application")
    repository.close()
    assert desk.json("log", "Logged on the command line")["id"] == "INC0000121"


def test_the_shipped_configuration_switches_major_incident_management_on(desk: Desk) -> None:
    critical = desk.json("log", "Payroll is down", "--impact", "1", "--urgency", "1",
                         now=MONDAY_9)["id"]
    assert [item["id"] for item in desk.json("major", "list", now=MONDAY_9)] == [critical]


def test_a_configuration_without_a_major_section_runs_without_major_incidents(
        desk: Desk, tmp_path: Path) -> None:
    own = tmp_path / "desk.toml"
    own.write_text('[desk]\nauto_close_after = "2d"\n', encoding="utf-8")
    critical = desk.json("--config", str(own), "log", "Payroll is down", "--impact", "1",
                         "--urgency", "1", now=MONDAY_9)
    assert critical["major_status"] is None  # not proposed: no policy to propose it
    result = desk("--config", str(own), "major", "propose", critical["id"], "--reason", "pay")
    assert result.exit_code == ExitCode.REFUSED
    assert result.stderr.strip() == (
        "error: major-incident management is off in the configuration in force: add a "
        "[major] section to it (`itil-incident config show --shipped` has one)")


def test_a_major_section_of_ones_own_drives_the_proposals(desk: Desk, tmp_path: Path) -> None:
    own = tmp_path / "desk.toml"
    own.write_text('[major]\ncritical_services = ["payroll"]\n', encoding="utf-8")
    payroll = desk.json("--config", str(own), "log", "Payroll is slow", "--service", "payroll",
                        now=MONDAY_9)["id"]
    desk.json("--config", str(own), "log", "Critical but no service", "--impact", "1",
              "--urgency", "1", now=MONDAY_9)
    listed = desk.json("--config", str(own), "major", "list", now=MONDAY_9)
    assert [(item["id"], item["major"]["basis"]) for item in listed] == [(payroll, "service")]
