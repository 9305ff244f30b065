"""Every example runs, as a user would run it, and prints what it promises."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(name: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    return completed.stdout


def test_every_example_has_a_test() -> None:
    tested = {"lifecycle.py", "custom_workflow.py", "sla_calendar.py", "http_desk.py",
              "test_host_rules.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_the_lifecycle_example_prints_each_timeline_through_closure() -> None:
    out = run("lifecycle.py")
    assert "INC0000001 logged: Network/VPN -> Network Support (tier 2), priority 2 - High" in out
    for heading in ("Timeline of INC0000001:", "Timeline of INC0000002:",
                    "Timeline of PRB0000001:"):
        assert heading in out
    first = out.split("Timeline of INC0000001:")[1].split("Timeline of INC0000002:")[0]
    names = [line.split()[2] for line in first.strip().splitlines()]
    assert names[0] == "incident.logged"
    assert names[-1] == "incident.closed"
    assert names.count("incident.resolved") == 2
    assert "incident.reopened" in names
    assert "problem.marked_known_error" in out
    assert "cannot 'reopen' in state 'closed'" in out
    assert "status closed, reopened 1x, reassigned 1x, satisfaction 4/5" in out


@pytest.mark.parametrize("name", ["lifecycle.py", "custom_workflow.py", "sla_calendar.py"])
def test_examples_are_deterministic(name: str) -> None:
    assert run(name) == run(name)


def test_the_custom_workflow_example_validates_draws_and_uses_its_extra_state() -> None:
    out = run("custom_workflow.py")
    assert "Workflow 'incident_with_approval': 8 states" in out
    assert ("Refused (a state nothing leads to): workflow 'incident_with_approval': "
            "unreachable from 'new': awaiting_approval [culprit: awaiting_approval]") in out
    assert "names guard 'has_assignee', which was not given [culprit: request_approval]" in out
    diagram = out.split("Mermaid diagram:\n")[1].split("\n\n")[0]
    assert diagram.startswith("stateDiagram-v2\n")
    assert "    state \"Awaiting Approval\" as awaiting_approval" in diagram
    assert ("    in_progress --> awaiting_approval : request_approval [has_assignee]"
            in diagram)
    assert "cannot 'resolve' in state 'awaiting_approval'" in out
    timeline = out.split("Timeline of INC0000001:\n")[1].strip().splitlines()
    assert [line.split()[-1] for line in timeline] == [
        "new", "in_progress", "awaiting_approval", "in_progress", "resolved"]


def test_the_sla_calendar_example_skips_holidays_and_pauses_only_for_the_caller() -> None:
    out = run("sla_calendar.py")
    # 1 May (a Friday) and the weekend hold no business time.
    assert "8 business hours from Thu 30 Apr 16:00: due Mon 04 May 16:00" in out
    assert "Fri 01 May 10:00: closed, work resumes Mon 04 May 09:00" in out
    # The early closure on 13 May and Ascension (14 May) are closed too.
    assert "Wed 13 May 16:00: closed, work resumes Fri 15 May 09:00" in out
    after_caller = out.split("After a hold for the caller")[1].split("On hold for the vendor")[0]
    assert "resolution running  due Wed 06 May 11:30 counted 2:30:00" in after_caller
    for_vendor = out.split("On hold for the vendor")[1].split("At Thu 07 May")[0]
    assert "resolution running  due Wed 06 May 11:30 counted 8:30:00" in for_vendor
    assert "Paused (awaiting_caller) from 2026-05-04T07:30:00+00:00" in out
    assert "Paused (awaiting_vendor)" not in out
    assert "resolution clock, SLA 'Office hours', policy version 1: breached." in out


# ----------------------------------------------------------------- the HTTP service desk


class Desk:
    """The HTTP example running in a subprocess, and a small JSON client for it."""

    def __init__(self, database: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "http_desk.py"), "--db", str(database),
             "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        first = self.process.stdout.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", first)
        assert found is not None, first + self.process.stderr.read()
        self.url = found.group(1)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             actor: str | None = "alice") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if actor is not None:
            request.add_header("X-Actor", actor)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


@pytest.fixture
def desk_database(tmp_path: Path) -> Path:
    return tmp_path / "http-desk.sqlite3"


def test_the_http_desk_serves_incidents_over_real_http(desk_database: Path) -> None:
    desk = Desk(desk_database)
    try:
        status, vpn = desk.call("POST", "/incidents", {
            "title": "VPN drops every few minutes", "impact": 2, "urgency": 1,
            "caller": "carol"})
        assert status == 201
        assert (vpn["id"], vpn["status"], vpn["priority"]) == ("INC0000001", "new", "2 - High")
        assert (vpn["category"], vpn["assignment_group"]) == ("Network/VPN", "Network Support")
        status, printer = desk.call("POST", "/incidents", {"title": "Printer jams"})
        assert (status, printer["id"]) == (201, "INC0000002")

        status, started = desk.call("POST", "/incidents/INC0000001/start", {}, actor="bob")
        assert (status, started["status"], started["assignee"]) == (200, "in_progress", "bob")
        status, held = desk.call("POST", "/incidents/INC0000001/hold",
                                 {"reason": "awaiting_caller", "note": "Which client?"},
                                 actor="bob")
        assert (status, held["status"], held["version"]) == (200, "on_hold", 4)

        status, listed = desk.call("GET", "/incidents?open=true")
        assert status == 200
        assert [i["id"] for i in listed] == ["INC0000001", "INC0000002"]
        status, listed = desk.call("GET", "/incidents?status=on_hold")
        assert [i["id"] for i in listed] == ["INC0000001"]

        status, refused = desk.call("POST", "/incidents/INC0000001/close", {}, actor="bob")
        assert status == 409
        assert refused["error"] == "InvalidTransitionError"
        assert "cannot 'close' in state 'on_hold'" in refused["message"]
        status, missing = desk.call("GET", "/incidents/INC0000099")
        assert (status, missing["error"]) == (404, "NotFoundError")
        status, bad = desk.call("POST", "/incidents/INC0000002/resolve", {"code": "magic",
                                                                          "notes": "Done"})
        assert (status, bad["error"]) == (400, "ValidationError")
        status, anonymous = desk.call("POST", "/incidents", {"title": "Hello"}, actor=None)
        assert (status, anonymous["error"]) == (403, "PermissionDeniedError")

        desk.call("POST", "/incidents/INC0000001/resume", {}, actor="bob")
        status, resolved = desk.call("POST", "/incidents/INC0000001/resolve", {
            "code": "solved_remotely", "notes": "Client upgraded"}, actor="bob")
        assert (status, resolved["status"]) == (200, "resolved")
        status, shown = desk.call("GET", "/incidents/INC0000001")
        assert [e["event"] for e in shown["timeline"]] == [
            "incident.logged", "incident.work_started", "incident.put_on_hold",
            "incident.note_added", "incident.resumed", "incident.resolved"]
        status, clocks = desk.call("GET", "/incidents/INC0000001/sla")
        assert [(c["metric"], c["status"]) for c in clocks] == [
            ("response", "met"), ("resolution", "met")]
    finally:
        returncode, out, err = desk.stop()
    assert (returncode, err) == (0, "")
    assert "POST /incidents -> 201" in out
    assert "POST /incidents/INC0000001/close -> 409" in out
    assert out.rstrip().endswith("Service desk stopped")


def test_the_http_desk_keeps_its_incidents_and_numbering_across_restarts(
        desk_database: Path) -> None:
    first = Desk(desk_database)
    try:
        assert first.call("POST", "/incidents", {"title": "Printer jams"})[0] == 201
    finally:
        assert first.stop()[0] == 0
    second = Desk(desk_database)
    try:
        status, listed = second.call("GET", "/incidents")
        assert [i["id"] for i in listed] == ["INC0000001"]
        status, logged = second.call("POST", "/incidents", {"title": "Scanner offline"})
        assert (status, logged["id"]) == (201, "INC0000002")
    finally:
        assert second.stop()[0] == 0


# ----------------------------------------------------------------- the host's rule tests


def test_the_host_rules_example_is_a_passing_test_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(EXAMPLES / "test_host_rules.py")],
        capture_output=True, text=True, timeout=300, check=False,
        cwd=EXAMPLES.parent, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = completed.stdout.strip().splitlines()[-1]
    passed = re.match(r"(\d+) passed in ", summary)
    assert passed is not None, summary
    assert int(passed.group(1)) >= 15
