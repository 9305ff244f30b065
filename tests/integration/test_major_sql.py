"""Major incidents on the SQL repository (a SQLite file, and PostgreSQL when configured): the
major-incident state is rebuilt from the stored events, the cluster rule reads the open
incidents through the repository's query, and the outbox holds every major-incident event."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from itil_incident import (
    Actor,
    ClusterRule,
    DeskPolicies,
    FrozenClock,
    MajorBasis,
    MajorIncidentPolicy,
    MajorStatus,
    ServiceDesk,
)
from itil_incident.adapters.sql import SqlRepository, create_schema

POSTGRES_URL = os.environ.get("ITIL_INCIDENT_POSTGRES_URL", "")
T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
AGENT = Actor("agent", "Agent", frozenset({"agent"}))
MANAGER = Actor("mia", "Mia Manager", frozenset({"incident_manager"}))
POLICY = MajorIncidentPolicy(priorities={1},
                             cluster=ClusterRule(threshold=3, window=timedelta(minutes=30)))


@pytest.fixture(params=["sqlite", "postgresql"])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRepository]:
    if request.param == "sqlite":
        made = SqlRepository.from_url(f"sqlite:///{tmp_path / 'desk.db'}")
        create_schema(made.engine)
        yield made
        made.close()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need ITIL_INCIDENT_POSTGRES_URL, e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)")
    name = f"itil_major_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    engine = sa.create_engine(POSTGRES_URL,
                              connect_args={"options": f"-csearch_path={name},public"})
    create_schema(engine)
    made = SqlRepository(engine)
    yield made
    made.close()
    engine.dispose()
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    admin.dispose()


def test_a_major_incident_lives_through_the_sql_repository(repository: SqlRepository) -> None:
    clock = FrozenClock(T0)
    desk = ServiceDesk(repository, policies=DeskPolicies(major=POLICY), clock=clock)
    incident = desk.log_incident(actor=AGENT, title="Mail is down", impact=1, urgency=1).id
    desk.accept_major(incident, actor=MANAGER)
    desk.assign_major_role(incident, "commander", "mia", actor=MANAGER)
    desk.assign_major_role(incident, "commander", "noah", actor=MANAGER)
    clock.advance(minutes=61)
    assert len(desk.process_due().missed_status_updates) == 2
    desk.post_status_update(incident, "stakeholders", "Relay disk freed", actor=MANAGER)
    desk.resolve(incident, actor=AGENT, code="solved_permanently", notes="Disk cleaned")
    desk.record_review(incident, actor=MANAGER, impact="2 h without mail",
                       root_cause="Relay disk full", went_badly="No disk alert")
    desk.add_review_action(incident, "Alert on relay disk", actor=MANAGER, owner="mailops",
                           due_at=T0 + timedelta(days=14))
    desk.complete_review_action(incident, "A1", actor=AGENT)
    desk.close(incident, actor=AGENT)
    stored = repository.get_incident(incident)
    assert stored.status == "closed"
    assert stored.major_status is MajorStatus.ACCEPTED
    assert stored.major_roles == (("commander", "noah"),)
    assert stored.status_update_count == 1
    assert stored.review is not None
    assert stored.review.root_cause == "Relay disk full"
    assert [a.completed_by for a in stored.review_actions] == ["agent"]
    assert len(stored.status_updates_missed) == 2
    assert stored.snapshot() == desk.get_incident(incident).snapshot()
    assert stored.timeline() == tuple(repository.history_of(incident))
    kinds = [entry.kind for entry in desk.review_timeline(incident)]
    assert kinds.count("incident.status_update_missed") == 2


def test_the_cluster_rule_reads_open_incidents_through_the_sql_query(
        repository: SqlRepository) -> None:
    clock = FrozenClock(T0)
    desk = ServiceDesk(repository, policies=DeskPolicies(major=POLICY), clock=clock)
    first = desk.log_incident(actor=AGENT, title="VPN drops", service="vpn").id
    clock.advance(minutes=10)
    second = desk.log_incident(actor=AGENT, title="VPN slow", service="vpn",
                               configuration_items=["gw-1"]).id
    clock.advance(minutes=10)
    third = desk.log_incident(actor=AGENT, title="No VPN at all", service="vpn").id
    proposal = repository.get_incident(third).major_proposal
    assert proposal is not None
    assert (proposal.basis, proposal.evidence) == (MajorBasis.CLUSTER, (first, second))
    assert [i.id for i in desk.major_incidents(status="proposed")] == [third]
