"""Duplicates, parents, known errors and workarounds, change links and recurring incidents on
the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.cli.test_cli_commands import MONDAY_9, one_error_line

from itil_incident.cli import ExitCode

if TYPE_CHECKING:
    from tests.cli.conftest import Desk

Log = Callable[..., str]


def test_a_duplicate_closes_with_a_reference_shown_on_both(desk: Desk, logged: Log) -> None:
    original = logged("VPN drops every hour", "--caller", "ann", now=MONDAY_9)
    duplicate = logged("VPN keeps dropping", "--caller", "bob", now=MONDAY_9)
    out = desk.ok("duplicate", duplicate, original, now=MONDAY_9).stdout
    assert f"{duplicate} closed as a duplicate of {original} (status closed" in out
    shown = desk.ok("show", original, now=MONDAY_9).stdout
    assert "Duplicates" in shown
    assert duplicate in shown
    data = desk.json("show", original, now=MONDAY_9)
    assert data["family"]["duplicate_ids"] == [duplicate]
    assert "bob" in data["watchers"]
    assert desk.json("show", duplicate, now=MONDAY_9)["family"]["duplicate_of"] == original
    again = desk("duplicate", original, original, now=MONDAY_9)
    assert again.exit_code == ExitCode.REFUSED
    one_error_line(again.stderr)


def test_a_parent_resolves_its_children(desk: Desk, logged: Log) -> None:
    parent = logged("ERP down", now=MONDAY_9)
    child = logged("Cannot post invoices", now=MONDAY_9)
    assert f"{child} is a child of {parent}" in desk.ok("parent", child, parent,
                                                         now=MONDAY_9).stdout
    assert desk.json("show", parent)["child_ids"] == [child]
    assert "Children" in desk.ok("show", parent, now=MONDAY_9).stdout
    desk.ok("resolve", parent, "--code", "solved_permanently", "--notes", "Restarted",
            now=MONDAY_9)
    assert desk.json("show", child)["status"] == "resolved"
    other = logged("Second child", now=MONDAY_9)
    desk.ok("parent", other, parent, now=MONDAY_9)
    assert "detached from its parent" in desk.ok("parent", other, "--detach").stdout
    assert desk.json("show", other)["parent_id"] is None
    assert desk("parent", other).exit_code == 2
    missing = desk("parent", other, "INC0000099")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert "INC0000099" in one_error_line(missing.stderr)


def test_known_errors_match_and_their_workaround_is_applied(desk: Desk, logged: Log) -> None:
    first = logged("VPN drops every hour", "--service", "VPN")
    problem = desk.json("problem", "open", "VPN drops", "--incident", first)["id"]
    desk.ok("problem", "workaround", problem, "Reconnect with client 5.1")
    desk.ok("problem", "known-error", problem)
    incident = logged("VPN keeps dropping", "--service", "VPN")
    matches = desk.json("known-errors", incident)
    assert matches[0]["problem_id"] == problem
    assert matches[0]["score"] > 0
    assert any("vpn" in reason.lower() for reason in matches[0]["reasons"])
    assert matches[0]["workaround"] == "Reconnect with client 5.1"
    table = desk.ok("known-errors", incident).stdout
    assert f"1 known error(s) match {incident}" in table
    assert problem in table
    out = desk.ok("workaround", "apply", incident, problem).stdout
    assert f"workaround of {problem} applied" in out
    shown = desk.ok("show", incident).stdout
    assert f"Workaround offered ({problem}" in shown
    assert f"Workaround applied ({problem})" in shown
    family = desk.json("show", incident)["family"]
    assert family["workarounds_applied"][0]["workaround"] == "Reconnect with client 5.1"
    assert desk.json("show", incident)["problem_id"] == problem
    plain = desk.json("problem", "open", "No workaround yet")["id"]
    refused = desk("workaround", "apply", incident, plain)
    assert refused.exit_code == ExitCode.REFUSED
    assert "not a known error" in one_error_line(refused.stderr)
    assert desk("known-errors", "INC0000099").exit_code == ExitCode.NOT_FOUND


def test_changes_are_linked_to_a_problem_and_unlinked(desk: Desk) -> None:
    problem = desk.json("problem", "open", "Storage firmware drops heartbeats")["id"]
    out = desk.ok("problem", "change-link", problem, "CHG0042", "--title",
                  "Upgrade storage firmware").stdout
    assert f"{problem} linked to change CHG0042" in out
    stored = desk.json("problem", "show", problem)
    assert stored["change_links"] == [{"change_id": "CHG0042",
                                       "title": "Upgrade storage firmware"}]
    shown = desk.ok("problem", "show", problem).stdout
    assert "CHG0042 Upgrade storage firmware" in shown
    desk.ok("problem", "change-unlink", problem, "CHG0042")
    assert desk.json("problem", "show", problem)["change_links"] == []
    again = desk("problem", "change-unlink", problem, "CHG0042")
    assert again.exit_code == ExitCode.REFUSED
    assert "CHG0042" in one_error_line(again.stderr)
    missing = desk("problem", "change-link", "PRB0000099", "CHG1", "--title", "x")
    assert missing.exit_code == ExitCode.NOT_FOUND


def test_recurring_incidents_are_proposed_then_opened_once(desk: Desk, logged: Log) -> None:
    jams = [logged("Printer on floor 3 jams", "--service", "Printing", "--ci", "PRN-3",
                   now=f"2026-03-0{day}T10:00:00+01:00") for day in (2, 3, 4)]
    logged("Mouse broken", now=MONDAY_9)
    proposed = desk.json("problem", "recurring")
    assert len(proposed["groups"]) == 1
    group = proposed["groups"][0]
    assert [item["incident_id"] for item in group["incidents"]] == jams
    assert group["proposal"]["incident_ids"] == jams
    assert group["opened"] is None
    assert desk.json("problem", "list") == []  # proposing changes nothing
    table = desk.ok("problem", "recurring").stdout
    assert "1 proposed" in table
    assert "Run again with --open" in table
    opened = desk.ok("problem", "recurring", "--open").stdout
    assert "1 problem(s) opened" in opened
    problems = desk.json("problem", "list")
    assert len(problems) == 1
    assert sorted(problems[0]["incident_ids"]) == jams
    second = desk.json("problem", "recurring", "--open")
    assert second["groups"][0]["covered_by"] == problems[0]["id"]
    assert second["groups"][0]["opened"] is None
    assert len(desk.json("problem", "list")) == 1
    assert desk.json("problem", "recurring", "--min-count", "4")["groups"] == []
    assert desk("problem", "recurring", "--window", "soon").exit_code == 2
