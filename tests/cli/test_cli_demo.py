"""``itil-incident demo``: a simulated working week on a fresh database, and its summary.

The week is simulated once per module (a couple of seconds) and read by most tests; the
determinism tests run it again. One test runs the real program in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from statistics import fmean
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner
from rich.console import Console

from itil_incident.cli import app
from itil_incident.cli._summary import summary_view


def run(*args: str) -> Any:
    """Run a command that must succeed and print JSON; the parsed JSON."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def demo(database: Path, *options: str) -> dict[str, Any]:
    """The summary of a demo written to ``database``."""
    summary: dict[str, Any] = run("demo", "--db", str(database), "--json", *options)
    return summary


class Week(NamedTuple):
    """A simulated week: its database, its summary, and the processor time it took."""

    database: Path
    summary: dict[str, Any]
    seconds: float


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    """The demo week of seed 7."""
    database = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    started = time.process_time()  # not wall time: other work on the machine slows that
    summary = demo(database)
    return Week(database, summary, time.process_time() - started)


@pytest.fixture(scope="module")
def incidents(week: Week) -> list[dict[str, Any]]:
    """Every incident of the demo week, as ``list --json`` gives them."""
    found: list[dict[str, Any]] = run("--db", str(week.database), "list", "--json")
    return found


def test_the_same_seed_gives_the_same_week(week: Week, tmp_path: Path) -> None:
    again = demo(tmp_path / "again.sqlite3", "--seed", "7")
    assert {**again, "database": None} == {**week.summary, "database": None}


def test_another_seed_gives_another_week(week: Week, tmp_path: Path) -> None:
    other = demo(tmp_path / "other.sqlite3", "--seed", "8")
    assert (other["by_status"], other["by_channel"]) != (week.summary["by_status"],
                                                         week.summary["by_channel"])


def test_the_week_takes_a_few_seconds_of_processor_time(week: Week) -> None:
    assert week.seconds < 10


def test_the_week_has_a_modest_realistic_volume(week: Week) -> None:
    summary = week.summary
    assert 150 <= summary["incidents"] <= 300
    assert summary["refused_steps"] == 0


def test_the_summary_counts_agree_with_list_json(
        week: Week, incidents: list[dict[str, Any]]) -> None:
    summary = week.summary
    assert summary["incidents"] == len(incidents)
    assert summary["by_status"] == dict(Counter(i["status"] for i in incidents))
    assert summary["by_priority"] == dict(Counter(str(i["priority"]["level"])
                                                  for i in incidents))
    assert summary["by_channel"] == dict(Counter(i["channel"] for i in incidents))
    assert summary["reopens"] == sum(i["reopen_count"] for i in incidents)


def test_the_summary_means_agree_with_list_json(
        week: Week, incidents: list[dict[str, Any]]) -> None:
    summary = week.summary
    scores = [i["satisfaction"]["score"] for i in incidents if i["satisfaction"]]
    assert summary["mean_satisfaction"] == round(fmean(scores), 2)
    assert summary["satisfaction_count"] == len(scores)
    assert summary["resolved_count"] == sum(1 for i in incidents if i["resolved_at"])


def test_incidents_arrive_through_every_channel(week: Week) -> None:
    summary = week.summary
    assert set(summary["by_channel"]) == {"phone", "email", "portal", "chat", "walk_in",
                                          "monitoring", "api"}


def test_the_week_ends_with_work_in_every_stage_of_the_lifecycle(
        week: Week) -> None:
    summary = week.summary
    assert set(summary["by_status"]) >= {"new", "in_progress", "on_hold", "resolved",
                                         "closed", "cancelled"}


def test_some_clocks_breach_and_escalation_rules_act(week: Week) -> None:
    summary = week.summary
    assert summary["sla"]["response"]["breached"] > 0
    assert summary["sla"]["resolution"]["breached"] > 0
    assert summary["sla"]["resolution"]["met"] > summary["sla"]["resolution"]["breached"]
    assert summary["escalations"]["by_rules"] > 0
    assert summary["priority_raises"] > 0
    assert summary["reopened_incidents"] > 0


def test_the_major_outage_has_children_under_one_parent_and_a_known_error(
        week: Week, incidents: list[dict[str, Any]]) -> None:
    database = week.database
    parent = next(i for i in incidents if i["title"] == "ERP database cluster unavailable")
    assert parent["priority"]["level"] == 1
    assert len(parent["child_ids"]) >= 5
    problem = run("--db", str(database), "problem", "show", parent["problem_id"], "--json")
    assert problem["status"] == "known_error"
    assert problem["root_cause"]
    assert set(problem["incident_ids"]) >= {parent["id"], *parent["child_ids"]}


def test_the_printer_that_keeps_jamming_is_raised_as_a_problem(
        week: Week, incidents: list[dict[str, Any]]) -> None:
    database = week.database
    jams = [i for i in incidents if "PRN-FL3-01" in i["configuration_items"]]
    problems = run("--db", str(database), "problem", "list", "--text", "PRN-FL3-01",
                   "--json")
    assert len(jams) >= 5
    assert len(problems) == 1
    assert problems[0]["workaround"]
    assert problems[0]["known_error"]
    assert sum(1 for jam in jams if jam["problem_id"] == problems[0]["id"]) >= 2


def test_demo_refuses_to_replace_a_file_without_force(tmp_path: Path) -> None:
    database = tmp_path / "keep.sqlite3"
    database.write_text("precious")
    result = CliRunner().invoke(app, ["demo", "--db", str(database)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: {database} exists; pass --force to replace it with the demo")
    assert database.read_text() == "precious"


def test_the_demo_then_list_and_show_in_a_real_process(tmp_path: Path) -> None:
    environment = {**os.environ, "COLUMNS": "160"}
    for name in ("ITIL_INCIDENT_DB", "ITIL_INCIDENT_NOW", "ITIL_INCIDENT_USER"):
        environment.pop(name, None)

    def itil(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "itil_incident", *args], cwd=tmp_path,
                              env=environment, capture_output=True, text=True, check=False,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done.stdout

    summary = itil("demo")
    assert "A working week at the service desk" in summary
    assert "By status" in summary
    assert "Mean satisfaction" in summary
    assert (tmp_path / "itil-incident-demo.sqlite3").exists()
    listing = itil("--db", "itil-incident-demo.sqlite3", "list", "--open")
    header = next(line for line in listing.splitlines() if line.startswith("ID"))
    assert header.split()[:4] == ["ID", "Priority", "Status", "Title"]
    assert "in_progress" in listing
    assert "INC00000" in listing
    shown = itil("--db", "itil-incident-demo.sqlite3", "show", "INC0000001")
    assert "INC0000001  " in shown
    assert "Timeline" in shown
    assert "incident.logged" in shown
    assert "SLA clocks" in shown


def test_the_major_outage_is_run_as_a_major_incident(
        week: Week, incidents: list[dict[str, Any]]) -> None:
    parent = next(i for i in incidents if i["title"] == "ERP database cluster unavailable")
    shown = run("--db", str(week.database), "--now", week.summary["at"], "show", parent["id"],
                "--json")
    major = shown["major"]
    assert major["status"] == "accepted"
    assert major["basis"] == "priority"
    roles = {item["role"]: item["holder"] for item in major["roles"]}
    assert roles["commander"] == "alice"
    assert roles["communications_lead"] == "bruno"
    assert roles["resolver_group"] == "Infrastructure Engineering"
    assert major["status_updates"] >= 4
    assert major["updates_missed"] == 0  # an update every 25 minutes: the cadence is kept
    assert major["last_update"]["audience"] == "affected_users"
    assert major["review"]["root_cause"]
    assert [action["done"] for action in major["actions"]] == [False, True]
    assert shown["status"] == "closed"
    timeline = run("--db", str(week.database), "major", "timeline", parent["id"], "--json")
    kinds = [entry["kind"] for entry in timeline]
    assert kinds.index("incident.major_accepted") < kinds.index("incident.review_recorded")
    summary = week.summary
    assert summary["major_incidents"]["accepted"] == 1
    assert summary["major_incident_ids"] == [parent["id"]]
    assert summary["status_updates"] >= major["status_updates"]
    assert summary["review_actions"] == {"done": 1, "open": 1}


def test_monitoring_alerts_fold_recover_and_flap(
        week: Week, incidents: list[dict[str, Any]]) -> None:
    groups = {group["dedup_key"]: group
              for group in run("--db", str(week.database), "alert", "list", "--json")}
    disk = groups["mail-01/disk-var"]
    assert disk["outcomes"]["opened"] == 1
    assert disk["outcomes"]["folded"] >= 5
    assert disk["outcomes"]["resolved"] == 1
    assert disk["highest"] == "major"
    assert disk["firing"] is False
    opened = next(i for i in incidents if i["id"] == disk["incident_id"])
    assert opened["channel"] == "monitoring"
    assert opened["resolution_code"] == "solved_remotely"
    assert opened["title"] == "Disk /var above 90% on mail-01"
    assert groups["wifi-ap-3/link"]["flapping"] is True
    assert groups["wifi-ap-3/link"]["outcomes"]["held"] > 0
    stats = run("--db", str(week.database), "alert", "stats", "--json")
    alerts = week.summary["alerts"]
    assert alerts["total"] == stats["total"] == sum(group["total"] for group in groups.values())
    assert alerts["flapping_keys"] == 1
    alert_incidents = {group["incident_id"] for group in groups.values()}
    assert all(i["channel"] == "monitoring" for i in incidents if i["id"] in alert_incidents)


def test_the_recurring_review_raises_the_printer_problem(
        week: Week, incidents: list[dict[str, Any]]) -> None:
    database = str(week.database)
    raised = week.summary["recurring_problems"]
    problems = [run("--db", database, "problem", "show", problem_id, "--json")
                for problem_id in raised]
    printer = next(p for p in problems if "PRN-FL3-01" in p["configuration_items"])
    assert printer["known_error"]
    jams = [i for i in incidents if "PRN-FL3-01" in i["configuration_items"]]
    assert set(printer["incident_ids"]) <= {jam["id"] for jam in jams}
    applied = [run("--db", database, "show", jam["id"], "--json")["family"]
               ["workarounds_applied"] for jam in jams]
    assert any(item and item[0]["problem_id"] == printer["id"] for item in applied)
    # Detection run again at the end of the week proposes nothing new for the printer.
    again = run("--db", database, "--now", week.summary["at"], "problem", "recurring",
                "--by", "configuration_item", "--by", "category", "--min-count", "4",
                "--window", "3d", "--similarity", "0.2", "--json")
    printer_groups = [group for group in again["groups"]
                      if group["key"]["configuration_item"] == "PRN-FL3-01"]
    assert printer_groups
    assert all(group["proposal"] is None for group in printer_groups)


def test_the_summary_mentions_major_incidents_alerts_and_recurring_problems(
        week: Week) -> None:
    screen = Console(record=True, width=160, file=io.StringIO())
    screen.print(summary_view(week.summary))
    text = screen.export_text()
    assert "Major incidents: 1 accepted" in text
    assert "post-incident review" in text
    assert f"Monitoring alerts: {week.summary['alerts']['total']} on 3 key(s)" in text
    assert "1 key(s) flapping, held" in text
    assert "Recurring incidents: " in text
    assert ", ".join(week.summary["recurring_problems"]) in text
