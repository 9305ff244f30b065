"""Major incidents on the command line: proposal, decision, roles, updates, review, actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from tests.cli.test_cli_commands import MONDAY_9, one_error_line

from itil_incident.cli import ExitCode

if TYPE_CHECKING:
    from tests.cli.conftest import Desk

Log = Callable[..., str]
MANAGER = ("--role", "incident_manager")


def _run(desk: Desk, *args: str, manager: bool = False) -> str:
    prefix = MANAGER if manager else ()
    return desk.ok(*prefix, *args, now=MONDAY_9).stdout


def test_a_priority_1_incident_is_proposed_and_listed(desk: Desk, logged: Log) -> None:
    critical = logged("Payroll is down", "--impact", "1", "--urgency", "1", now=MONDAY_9)
    logged("Mouse broken", now=MONDAY_9)
    out = _run(desk, "major", "list")
    assert "1 major incident(s)" in out
    assert critical in out
    assert "proposed" in out
    assert "Mouse broken" not in out
    data = desk.json("major", "list", now=MONDAY_9)
    assert [item["id"] for item in data] == [critical]
    assert data[0]["major"]["status"] == "proposed"
    assert data[0]["major"]["basis"] == "priority"


def test_the_whole_major_incident_from_proposal_to_closure(desk: Desk, logged: Log) -> None:
    incident = logged("ERP slow for everyone", "--impact", "2", now=MONDAY_9)
    out = _run(desk, "major", "propose", incident, "--reason", "Whole company affected")
    assert f"{incident} proposed as a major incident" in out
    out = _run(desk, "major", "accept", incident, manager=True)
    assert "accepted as a major incident, review required before closure" in out
    assert "commander: bob" in _run(desk, "major", "role", incident, "commander", "bob")
    out = _run(desk, "major", "role", incident, "commander", "carol")
    assert "commander: carol" in out  # handed over: one commander at a time
    out = _run(desk, "major", "role", incident, "resolver_group", "DBA")
    _run(desk, "major", "role", incident, "resolver_group", "Network Support")
    out = _run(desk, "major", "release", incident, "resolver_group", "DBA")
    assert "DBA released from resolver_group" in out
    out = _run(desk, "major", "update", incident, "Failover in progress", "--audience",
               "internal")
    assert "status update 1 posted to internal" in out
    _run(desk, "start", incident)
    _run(desk, "resolve", incident, "--code", "solved_permanently", "--notes", "Failed over")
    refused = desk("close", incident, now=MONDAY_9)
    assert refused.exit_code == ExitCode.REFUSED
    assert "needs a post-incident review" in one_error_line(refused.stderr)
    out = _run(desk, "major", "review", incident, "--impact", "Orders stopped for 2h",
               "--root-cause", "Storage firmware", "--went-badly", "Late paging")
    assert "review recorded (revision 1)" in out
    out = _run(desk, "major", "action-add", incident, "Upgrade firmware", "--owner", "nora",
               "--due", "2026-03-09T17:00:00+01:00")
    assert "action A1 added for nora" in out
    assert "action A1 done (0 open)" in _run(desk, "major", "action-done", incident, "A1")
    _run(desk, "close", incident)

    shown = _run(desk, "show", incident)
    assert "Major incident" in shown
    assert "accepted" in shown
    assert "commander: carol" in shown
    assert "resolver_group: Network Support" in shown
    assert "resolver_group: DBA" not in shown
    assert "Failover in progress" in shown
    assert "impact: Orders stopped for 2h; root cause: Storage firmware" in shown
    assert "Upgrade firmware" in shown
    assert "nora" in shown

    data = desk.json("show", incident, now=MONDAY_9)
    major = data["major"]
    assert major["status"] == "accepted"
    assert major["basis"] == "manual"
    assert major["reason"] == "Whole company affected"
    assert {"role": "commander", "holder": "carol"} in major["roles"]
    assert major["last_update"]["text"] == "Failover in progress"
    assert major["last_update"]["audience"] == "internal"
    assert major["review"]["root_cause"] == "Storage firmware"
    assert major["actions"][0]["action_id"] == "A1"
    assert major["actions"][0]["done"] is True
    assert data["status"] == "closed"

    timeline = desk.json("major", "timeline", incident, now=MONDAY_9)
    kinds = [entry["kind"] for entry in timeline]
    assert kinds.index("incident.major_proposed") < kinds.index("incident.major_accepted")
    assert "incident.review_recorded" in kinds
    assert "Review timeline" in _run(desk, "major", "timeline", incident)
    accepted = desk.json("major", "list", "--status", "accepted", now=MONDAY_9)
    assert [item["id"] for item in accepted] == [incident]
    assert desk.json("major", "list", "--open", now=MONDAY_9) == []


def test_a_proposal_can_be_rejected_by_a_manager(desk: Desk, logged: Log) -> None:
    incident = logged("Payroll is down", "--impact", "1", "--urgency", "1", now=MONDAY_9)
    data = desk.json("--role", "incident_manager", "major", "reject", incident, "--reason",
                     "Only one user", now=MONDAY_9)
    assert data["major"]["status"] == "rejected"
    assert "rejected" in _run(desk, "major", "list")


def test_accepting_without_the_manager_role_is_refused_in_one_line(
        desk: Desk, logged: Log) -> None:
    incident = logged("Payroll is down", "--impact", "1", "--urgency", "1", now=MONDAY_9)
    result = desk("major", "accept", incident, now=MONDAY_9)
    assert result.exit_code == ExitCode.REFUSED
    line = one_error_line(result.stderr)
    assert "incident_manager" in line
    assert desk.json("show", incident, now=MONDAY_9)["major"]["status"] == "proposed"


def test_the_role_may_come_from_the_environment(desk: Desk, logged: Log,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    incident = logged("Payroll is down", "--impact", "1", "--urgency", "1", now=MONDAY_9)
    monkeypatch.setenv("ITIL_INCIDENT_ROLES", "agent incident_manager")
    assert "accepted" in _run(desk, "major", "accept", incident)


@pytest.mark.parametrize("args", [
    ("major", "propose", "INC0000099", "--reason", "x"),
    ("major", "accept", "INC0000099"),
    ("major", "timeline", "INC0000099"),
    ("major", "update", "INC0000099", "text"),
])
def test_an_unknown_incident_is_exit_code_3(desk: Desk, args: tuple[str, ...]) -> None:
    result = desk(*MANAGER, *args, now=MONDAY_9)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "INC0000099" in one_error_line(result.stderr)


def test_commands_on_an_incident_that_is_not_major_are_refused(desk: Desk,
                                                               logged: Log) -> None:
    incident = logged("Mouse broken", now=MONDAY_9)
    for args in (("major", "update", incident, "text"),
                 ("major", "role", incident, "commander", "bob"),
                 ("major", "accept", incident)):
        result = desk(*MANAGER, *args, now=MONDAY_9)
        assert result.exit_code == ExitCode.REFUSED, args
        one_error_line(result.stderr)
    result = desk("major", "role", incident, "juggler", "bob", now=MONDAY_9)
    assert result.exit_code == ExitCode.REFUSED
    assert "juggler" in one_error_line(result.stderr)
    assert desk("major", "update", incident, "x", "--audience", "everyone").exit_code == 2
    bad_due = desk("major", "action-add", incident, "x", "--owner", "a", "--due", "tomorrow")
    assert bad_due.exit_code == 2
    assert desk.json("show", incident, now=MONDAY_9)["major"] is None
