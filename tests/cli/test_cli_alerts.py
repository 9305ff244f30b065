"""Monitoring alerts on the command line: ingest (options and JSON lines), groups, statistics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from tests.cli.test_cli_commands import MONDAY_9, one_error_line

import itil_incident.cli
from itil_incident.adapters.sql.alerts import alert_groups
from itil_incident.cli import ExitCode

if TYPE_CHECKING:
    from tests.cli.conftest import Desk

DISK = ("alert", "ingest", "--source", "nagios", "--key", "web-1/disk", "--summary",
        "Disk full on web-1", "--service", "Email", "--ci", "web-1")


def _line(**fields: object) -> str:
    return json.dumps(fields)


def test_a_repeated_alert_folds_into_the_incident_it_opened(desk: Desk) -> None:
    first = desk.ok(*DISK, "--severity", "minor", now=MONDAY_9).stdout
    assert first.startswith("opened INC0000001: web-1/disk")
    again = desk.json(*DISK, "--severity", "minor", now="2026-03-02T09:05:00+01:00")
    assert again == {"line": None, "kind": "folded", "dedup_key": "web-1/disk",
                     "incident_id": "INC0000001", "reason": None}
    raised = desk.ok(*DISK, "--severity", "critical", now="2026-03-02T09:10:00+01:00").stdout
    assert "folded INC0000001: web-1/disk (severity raised to critical)" in raised
    incidents = desk.json("list")
    assert [incident["id"] for incident in incidents] == ["INC0000001"]
    assert incidents[0]["channel"] == "monitoring"
    assert incidents[0]["title"] == "Disk full on web-1"

    shown = desk.ok("show", "INC0000001", now=MONDAY_9).stdout
    assert "Alert group" in shown
    assert "web-1/disk" in shown
    assert "3 from nagios, highest severity critical, firing" in shown
    group = desk.json("show", "INC0000001", now=MONDAY_9)["alert_group"]
    assert group["count"] == 3
    assert group["highest"] == "critical"
    assert group["first_seen"] == "2026-03-02T08:00:00+00:00"
    assert group["last_seen"] == "2026-03-02T08:10:00+00:00"


def test_alerts_from_json_lines_report_each_outcome_and_refusals(desk: Desk) -> None:
    lines = "\n".join([
        _line(source="zabbix", key="db/cpu", severity="warning", summary="CPU high on db",
              at="2026-03-02T09:00:00+01:00"),
        "this is not JSON",
        _line(source="zabbix", dedup_key="db/cpu", severity="warning", summary="CPU high on db",
              at="2026-03-02T09:01:00+01:00", payload={"cpu": 97}),
        "",
        _line(source="zabbix", key="db/cpu", severity="bogus", summary="CPU high"),
        _line(source="zabbix", key="db/cpu", severity="clear", summary="CPU back to normal",
              at="2026-03-02T09:20:00+01:00"),
        _line(source="zabbix", key="", severity="info", summary="no key"),
        _line(source="zabbix", key="x", severity="info", summary="s", colour="red"),
    ]) + "\n"
    result = desk("alert", "ingest", "--file", "-", input=lines, now="2026-03-02T09:30:00+01:00")
    assert result.exit_code == ExitCode.REFUSED
    out = result.stdout.splitlines()
    assert out[0] == "line 1: opened INC0000001: db/cpu"
    assert out[1].startswith("line 2: refused (not_an_alert): not JSON")
    assert out[2] == "line 3: folded INC0000001: db/cpu"
    assert out[3].startswith("line 5: refused (unknown_severity): unknown alert severity 'bogus'")
    assert out[4] == "line 6: resolved INC0000001: db/cpu"
    assert out[5].startswith("line 7: refused (missing_key)")
    assert out[6].startswith("line 8: refused (not_an_alert): unknown field(s) colour")
    assert out[7] == "3 of 7 alert(s) ingested, 4 refused"
    assert "4 of 7 alert(s) refused" in one_error_line(result.stderr)
    assert desk.json("show", "INC0000001")["status"] == "resolved"

    stats = desk.json("alert", "stats")
    assert stats["by_outcome"]["opened"] == 1
    assert stats["by_outcome"]["folded"] == 1
    assert stats["by_outcome"]["resolved"] == 1
    # The desk counts the refusals it saw (lines that are no alert never reach it).
    assert stats["refused_by_reason"] == {"unknown_severity": 1, "missing_key": 1}
    assert stats["total"] == 5
    table = desk.ok("alert", "stats").stdout
    assert "5 alert(s)" in table
    assert "refused: unknown_severity" in table


def test_json_lines_with_json_output_and_a_file(desk: Desk, tmp_path: Path) -> None:
    source = tmp_path / "alerts.jsonl"
    source.write_text(_line(source="prom", key="api/latency", severity="major",
                            summary="API latency above 2s") + "\n", encoding="utf-8")
    data = desk.json("alert", "ingest", "--file", str(source), now=MONDAY_9)
    assert data == [{"line": 1, "kind": "opened", "dedup_key": "api/latency",
                     "incident_id": "INC0000001", "reason": None}]


def test_a_single_refused_alert_is_one_line_and_exit_code_1(desk: Desk) -> None:
    result = desk(*DISK, "--severity", "apocalyptic", now=MONDAY_9)
    assert result.exit_code == ExitCode.REFUSED
    line = one_error_line(result.stderr)
    assert "unknown alert severity 'apocalyptic'" in line
    assert desk.json("list") == []
    assert desk.json("alert", "stats")["refused_by_reason"] == {"unknown_severity": 1}
    oversized = desk(*DISK, "--severity", "minor", "--payload",
                     json.dumps({"blob": "x" * 20_000}), now=MONDAY_9)
    assert oversized.exit_code == ExitCode.REFUSED
    assert "payload is" in one_error_line(oversized.stderr)
    assert desk(*DISK, "--payload", "{not json", "--severity", "minor").exit_code == 2
    assert desk("alert", "ingest", "--source", "nagios").exit_code == 2
    both = desk(*DISK, "--severity", "minor", "--file", "-", input="")
    assert both.exit_code == 2


def test_a_flapping_key_is_held_and_listed(desk: Desk) -> None:
    minute = 0
    outcomes = []
    for _ in range(6):
        for severity in ("critical", "clear"):
            minute += 1
            data = desk.json(*DISK, "--severity", severity,
                             now=f"2026-03-02T09:{minute:02d}:00+01:00")
            outcomes.append(data["kind"])
    assert "held" in outcomes
    flapping = desk.json("alert", "list", "--flapping")
    assert [group["dedup_key"] for group in flapping] == ["web-1/disk"]
    assert flapping[0]["flapping"] is True
    assert desk.json("alert", "list", "--not-flapping") == []
    listed = desk.ok("alert", "list").stdout
    assert "1 alert group(s)" in listed
    assert "flapping" in listed
    opened = sum(1 for kind in outcomes if kind == "opened")
    assert len(desk.json("list")) == opened < 6


def test_alert_groups_are_stored_in_the_database(desk: Desk) -> None:
    desk.ok(*DISK, "--severity", "minor", now=MONDAY_9)
    engine = sa.create_engine(f"sqlite:///{desk.database}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(alert_groups.c.dedup_key,
                                                alert_groups.c.incident_id)).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("web-1/disk", "INC0000001")]


def test_two_processes_deduplicate_one_key(tmp_path: Path) -> None:
    """A real run of ``python -m itil_incident``: the second process folds into the first's
    incident."""
    src = Path(itil_incident.cli.__file__).resolve().parents[2]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ITIL_INCIDENT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    env["ITIL_INCIDENT_DB"] = str(tmp_path / "alerts.sqlite3")
    env["ITIL_INCIDENT_NOW"] = MONDAY_9

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "itil_incident", *args], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              check=False)

    assert run("init").returncode == 0
    alert = ("alert", "ingest", "--source", "nagios", "--key", "web-1/disk", "--severity",
             "critical", "--summary", "Disk full on web-1", "--json")
    first, second = run(*alert), run(*alert)
    assert first.returncode == second.returncode == 0, (first.stderr, second.stderr)
    assert json.loads(first.stdout)["kind"] == "opened"
    assert json.loads(second.stdout) == {"line": None, "kind": "folded",
                                         "dedup_key": "web-1/disk",
                                         "incident_id": json.loads(first.stdout)["incident_id"],
                                         "reason": None}
    listed = run("list", "--json")
    assert len(json.loads(listed.stdout)) == 1
    groups = json.loads(run("alert", "list", "--json").stdout)
    assert groups[0]["count"] == 2
