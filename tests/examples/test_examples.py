"""Every example runs, as a user would run it, and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    tested = {"lifecycle.py"}
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


@pytest.mark.parametrize("name", ["lifecycle.py"])
def test_examples_are_deterministic(name: str) -> None:
    assert run(name) == run(name)
