"""Known-error matching over SQL, between desks that do not share memory: a known error
published, revised or resolved through one desk (another repository on the same database,
or another process) is what the other desk offers on its next log, although it keeps what it
read of the known errors between logs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from itil_incident import Actor, FrozenClock, ServiceDesk
from itil_incident.adapters.sql import SqlRepository

if TYPE_CHECKING:  # mypy names this file after its path
    from tests.integration import _sql_support as support
else:  # pytest puts tests/integration on sys.path (rootdir-relative "prepend" import)
    import _sql_support as support

AGENT = Actor("agent", "Agent", frozenset({"agent"}))
SRC = Path(__file__).resolve().parents[2] / "src"


def desk_on(database: support.Database, made: list[SqlRepository]) -> ServiceDesk:
    repository = database.repository()
    made.append(repository)
    return ServiceDesk(repository, clock=FrozenClock(support.T0))


def offers(desk: ServiceDesk, title: str, service: str) -> list[tuple[str, str]]:
    incident = desk.log_incident(actor=AGENT, title=title, service=service)
    return [(o.problem_id, o.workaround) for o in incident.workaround_offers]


def publish(desk: ServiceDesk, title: str, service: str, workaround: str) -> str:
    problem = desk.open_problem(actor=AGENT, title=title, service=service)
    desk.record_workaround(problem.id, workaround, actor=AGENT)
    desk.mark_known_error(problem.id, actor=AGENT)
    return problem.id


@pytest.fixture
def made() -> Iterator[list[SqlRepository]]:
    repositories: list[SqlRepository] = []
    yield repositories
    for repository in repositories:
        repository.engine.dispose()


def test_what_one_desk_publishes_revises_or_resolves_the_other_offers_accordingly(
    database: support.Database, made: list[SqlRepository]
) -> None:
    first, second = desk_on(database, made), desk_on(database, made)
    vpn = publish(second, "VPN tunnel drops", "vpn", "Reconnect")
    assert offers(first, "VPN tunnel drops", "vpn") == [(vpn, "Reconnect")]
    mail = publish(second, "Mail outbox stuck", "mail", "Restart the client")
    assert offers(first, "Mail outbox stuck", "mail") == [(mail, "Restart the client")]
    second.record_workaround(vpn, "Use the backup gateway", actor=AGENT)
    assert offers(first, "VPN tunnel drops", "vpn") == [(vpn, "Use the backup gateway")]
    second.resolve_problem(vpn, "Firmware fixed", actor=AGENT)
    assert offers(first, "VPN tunnel drops", "vpn") == []
    assert offers(first, "Mail outbox stuck", "mail") == [(mail, "Restart the client")]


_PUBLISH = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    import sqlalchemy as sa
    from itil_incident import Actor, FrozenClock, ServiceDesk
    from itil_incident.adapters.sql import SqlRepository

    url, schema, title, workaround = sys.argv[1:]
    args = {"options": f"-csearch_path={schema},public"} if schema else {}
    repository = SqlRepository(sa.create_engine(url, connect_args=args))
    desk = ServiceDesk(repository, clock=FrozenClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    agent = Actor("other", "Other", frozenset({"agent"}))
    known = [p for p in desk.list_problems(known_error=True) if p.title == title]
    if known:
        desk.record_workaround(known[0].id, workaround, actor=agent)
    else:
        problem = desk.open_problem(actor=agent, title=title, service="vpn")
        desk.record_workaround(problem.id, workaround, actor=agent)
        desk.mark_known_error(problem.id, actor=agent)
    print(desk.list_problems(known_error=True)[0].id)
""")


def publish_in_another_process(database: support.Database, title: str, workaround: str
                               ) -> str:
    environment = dict(os.environ, PYTHONPATH=str(SRC))
    done = subprocess.run(
        [sys.executable, "-c", _PUBLISH, database.url, database.schema or "", title,
         workaround], capture_output=True, text=True, env=environment, timeout=120,
        check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_known_error_published_by_another_process_is_offered(
    database: support.Database, made: list[SqlRepository]
) -> None:
    desk = desk_on(database, made)
    assert offers(desk, "VPN tunnel drops", "vpn") == []  # it has read the known errors
    vpn = publish_in_another_process(database, "VPN tunnel drops", "Reconnect")
    assert offers(desk, "VPN tunnel drops", "vpn") == [(vpn, "Reconnect")]
    publish_in_another_process(database, "VPN tunnel drops", "Use the backup gateway")
    assert offers(desk, "VPN tunnel drops", "vpn") == [(vpn, "Use the backup gateway")]
