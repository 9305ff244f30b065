"""Commands that change several records at once (a cascade from a parent to its children, a
duplicate and its original, a problem and the incidents awaiting it) commit atomically on
SQLite and PostgreSQL, and their events read back exactly.

PostgreSQL tests need ``ITIL_INCIDENT_POSTGRES_URL``; each works in a schema of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from itil_incident import (
    Actor,
    ConcurrencyError,
    DeskPolicies,
    HoldReason,
    Incident,
    IncidentResolved,
    OnProblemResolved,
    Problem,
    ServiceDesk,
)
from itil_incident.adapters.sql import SqlRepository, create_schema
from itil_incident.testing import FrozenClock, make_desk

POSTGRES_URL = os.environ.get("ITIL_INCIDENT_POSTGRES_URL", "")
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
ALICE = Actor("alice", "Alice", frozenset({"agent"}))


@pytest.fixture(params=["sqlite", "postgresql"])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRepository]:
    """A repository with the schema, on a new SQLite file or in a new PostgreSQL schema."""
    if request.param == "sqlite":
        repository = SqlRepository.from_url(f"sqlite:///{tmp_path / 'desk.db'}")
        create_schema(repository.engine)
        yield repository
        repository.close()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need ITIL_INCIDENT_POSTGRES_URL")
    name = f"itil_family_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    engine = sa.create_engine(POSTGRES_URL, connect_args={
        "options": f"-csearch_path={name},public -cstatement_timeout=20000"})
    create_schema(engine)
    yield SqlRepository(engine)
    engine.dispose()
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    admin.dispose()


def stored(repository: SqlRepository) -> object:
    """Every stored record, as a fresh desk reads it."""
    desk = make_desk(repository=repository)
    return ([(i.id, i.version, i.snapshot()) for i in desk.list_incidents()],
            [(p.id, p.version, p.snapshot()) for p in desk.list_problems()])


class InterferingAuthorizer:
    """Allows everything; while the cascade checks a child, another user changes it."""

    def __init__(self) -> None:
        self.interfere: Callable[[str], None] | None = None

    def is_allowed(self, actor: Actor, action: str,
                   subject: Incident | Problem | None) -> bool:
        if (self.interfere is not None and action == "resolve"
                and isinstance(subject, Incident) and subject.parent_id is not None):
            self.interfere(subject.id)
        return True


def test_a_cascade_is_stored_whole_and_reads_back(repository: SqlRepository) -> None:
    desk = make_desk(repository=repository, clock=FrozenClock(START))
    parent = desk.log_incident(actor=ALICE, title="Mail is down").id
    children = [desk.log_incident(actor=ALICE, title=f"Cannot send mail {n}").id
                for n in range(2)]
    for child in children:
        desk.set_parent(child, parent, actor=ALICE)
    desk.resolve(parent, actor=ALICE, code="solved_permanently", notes="Restarted the relay")
    fresh = make_desk(repository=repository)
    for child in children:
        last = fresh.timeline(child)[-1]
        assert isinstance(last, IncidentResolved)
        assert last.cascaded_from == parent
        assert fresh.get_incident(child).status == "resolved"


def test_a_child_changed_concurrently_leaves_the_parent_unresolved(
    repository: SqlRepository
) -> None:
    authorizer = InterferingAuthorizer()
    clock = FrozenClock(START)
    desk = ServiceDesk(repository, clock=clock, authorizer=authorizer)
    other = ServiceDesk(repository, clock=clock)
    parent = desk.log_incident(actor=ALICE, title="Mail is down").id
    child = desk.log_incident(actor=ALICE, title="Cannot send mail").id
    desk.set_parent(child, parent, actor=ALICE)
    before = stored(repository)

    def interfere(child_id: str) -> None:
        authorizer.interfere = None
        other.add_work_note(child_id, "Caller says it works again", actor=ALICE)

    authorizer.interfere = interfere
    with pytest.raises(ConcurrencyError):
        desk.resolve(parent, actor=ALICE, code="solved_permanently", notes="Restarted")
    after = stored(repository)
    assert after != before  # the other user's note is stored ...
    assert desk.get_incident(parent).status == "new"  # ... the resolution is not
    assert desk.get_incident(child).status == "new"
    assert desk.get_incident(child).version == 3


def test_a_duplicate_and_its_original_are_stored_together(repository: SqlRepository) -> None:
    desk = make_desk(repository=repository, clock=FrozenClock(START))
    original = desk.log_incident(actor=ALICE, title="Printer jams", caller="carol").id
    duplicate = desk.log_incident(actor=ALICE, title="Printer broken", caller="dave").id
    desk.mark_duplicate(duplicate, original, actor=ALICE)
    fresh = make_desk(repository=repository)
    assert fresh.get_incident(duplicate).duplicate_of == original
    assert fresh.get_incident(original).watchers == ("dave",)


def test_a_problem_resolution_resolves_the_waiting_incidents_in_the_same_commit(
    repository: SqlRepository
) -> None:
    policies = DeskPolicies(on_problem_resolved=OnProblemResolved.RESOLVE)
    desk = make_desk(repository=repository, clock=FrozenClock(START), policies=policies)
    problem = desk.open_problem(actor=ALICE, title="Relay queue fills up").id
    desk.start_investigation(problem, actor=ALICE)
    incident = desk.log_incident(actor=ALICE, title="Mail stuck").id
    desk.start_work(incident, actor=ALICE)
    desk.link_to_problem(incident, problem, actor=ALICE)
    desk.put_on_hold(incident, HoldReason.AWAITING_PROBLEM, actor=ALICE)
    desk.link_problem_change(problem, "CHG0000042", actor=ALICE, title="Enlarge the queue")
    desk.resolve_problem(problem, "Queue enlarged", actor=ALICE)
    fresh = make_desk(repository=repository)
    assert fresh.get_incident(incident).status == "resolved"
    assert fresh.get_problem(problem).change_ids == ("CHG0000042",)
