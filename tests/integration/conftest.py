"""Fixtures of the SQL integration tests: a database on each engine, a repository on it, and
the child processes a test starts. A module may define its own fixture of the same name."""

from __future__ import annotations

from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from itil_incident.adapters.sql import SqlRepository

if TYPE_CHECKING:  # mypy names the helper module after its path
    from tests.integration import _sql_support as support
else:  # pytest puts tests/integration on sys.path (rootdir-relative "prepend" import)
    import _sql_support as support

#: Bound on waiting for a killed child process to end (seconds).
CHILD_PATIENCE = 180.0


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[support.Database]:
    """A SQLite file, then a PostgreSQL schema of its own, each with the schema (skipped
    with the reason when ITIL_INCIDENT_POSTGRES_URL is unset)."""
    if request.param == "postgresql" and not support.POSTGRES_URL:
        pytest.skip(support.NO_POSTGRES)
    with support.open_database(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def repository(database: support.Database) -> Iterator[SqlRepository]:
    made = database.repository()
    yield made
    made.engine.dispose()


@pytest.fixture
def children() -> Iterator[list[BaseProcess]]:
    """Processes a test starts; any still alive at the end is killed (by its own pid)."""
    started: list[BaseProcess] = []
    yield started
    for child in started:
        if child.is_alive():
            child.kill()
        child.join(timeout=CHILD_PATIENCE)
