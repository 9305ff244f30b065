"""Driving ``itil-incident`` as a user would: each test on a fresh SQLite file of its own.

``desk`` runs the command line in-process (click's CliRunner) with ``--db`` set to the test's
file and ``--as alice``; ``logged`` logs an incident and returns its id. The environment
variables the command line reads are cleared, so a developer's settings never leak in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from itil_incident.cli import app


class Desk:
    """The command line on one database."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.runner = CliRunner()

    def __call__(self, *args: str, user: str = "alice", now: str | None = None,
                 input: str | None = None) -> Result:
        """Run ``itil-incident --db <file> --as <user> [--now <now>] <args>``."""
        prefix = ["--db", str(self.database), "--as", user]
        if now is not None:
            prefix += ["--now", now]
        return self.runner.invoke(app, [*prefix, *args], input=input, catch_exceptions=False)

    def ok(self, *args: str, **options: Any) -> Result:
        """Run a command that must succeed."""
        result = self(*args, **options)
        assert result.exit_code == 0, (result.exit_code, result.output)
        return result

    def json(self, *args: str, **options: Any) -> Any:
        """Run a read command with ``--json`` and parse what it prints."""
        return json.loads(self.ok(*args, "--json", **options).stdout)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ITIL_INCIDENT_DB", "ITIL_INCIDENT_USER", "ITIL_INCIDENT_NOW",
                 "ITIL_INCIDENT_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "160")


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    """The command line on an initialised, empty database."""
    runner = Desk(tmp_path / "desk.sqlite3")
    runner.ok("init")
    return runner


@pytest.fixture
def logged(desk: Desk) -> Callable[..., str]:
    """Log an incident (``logged("VPN down", "--impact", "2")``); returns its id."""

    def log(title: str, *options: str, now: str | None = None) -> str:
        data = desk.json("log", title, *options, now=now)
        identifier: str = data["id"]
        return identifier

    return log
