"""The upgrade path from the first released schema (version 1) to the current one.

A version-1 database is built from the frozen DDL of version 1 (``fixtures/schema_v1_*.sql``,
generated once from the version-1 schema module and never edited), filled with real records
written in the version-1 layout (no ``snapshot`` column: inserting into the tables as they are
in that database), then upgraded with :func:`upgrade_schema` and read back through the current
:class:`SqlRepository`. On a SQLite file and on PostgreSQL (a schema of its own per test;
skipped with a reason when ``ITIL_INCIDENT_POSTGRES_URL`` is unset).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from itil_incident import (
    Actor,
    Incident,
    IncidentQuery,
    InMemoryRepository,
    LinkKind,
    Problem,
    ProblemQuery,
    Repository,
)
from itil_incident.adapters.sql import (
    SCHEMA_VERSION,
    SchemaVersionError,
    SqlRepository,
    StorageError,
    create_schema,
    event_to_dict,
    fill_snapshots,
    schema_version,
    upgrade_schema,
)
from itil_incident.adapters.sql.repository import _column_text, _incident_row, _links, _problem_row
from itil_incident.testing import FrozenClock, RepositoryContract, make_desk

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get("ITIL_INCIDENT_POSTGRES_URL", "")
NO_POSTGRES = ("PostgreSQL tests need ITIL_INCIDENT_POSTGRES_URL, e.g. "
               "postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)")
ALICE = Actor("alice", "Alice", frozenset({"agent", "manager"}))
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

MakeEngine = Callable[[], sa.Engine]


# ----------------------------------------------------------------- databases


def v1_statements(dialect: str) -> list[str]:
    """The frozen DDL of schema version 1 for ``dialect``, one statement each."""
    text = (FIXTURES / f"schema_v1_{dialect}.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [statement.strip() for statement in body.split("\n;\n") if statement.strip()]


def create_v1(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for statement in v1_statements(engine.dialect.name):
            connection.exec_driver_sql(statement)


@pytest.fixture(scope="module")
def postgres_admin() -> Iterator[sa.Engine]:
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    yield engine
    engine.dispose()


@pytest.fixture
def make_sqlite(tmp_path: Path) -> Iterator[MakeEngine]:
    engines: list[sa.Engine] = []

    def make() -> sa.Engine:
        engine = sa.create_engine(f"sqlite:///{tmp_path / f'desk-{len(engines)}.db'}")
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def make_postgres(postgres_admin: sa.Engine) -> Iterator[MakeEngine]:
    made: list[tuple[sa.Engine, str]] = []

    def make() -> sa.Engine:
        name = f"itil_upgrade_test_{uuid.uuid4().hex[:12]}"
        with postgres_admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        engine = sa.create_engine(POSTGRES_URL,
                                  connect_args={"options": f"-csearch_path={name},public"})
        made.append((engine, name))
        return engine

    yield make
    for engine, name in made:
        engine.dispose()
        with postgres_admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def make_engine(request: pytest.FixtureRequest) -> MakeEngine:
    fixture: MakeEngine = request.getfixturevalue(f"make_{request.param}")
    return fixture


# ----------------------------------------------------------------- version-1 data


def worked_records() -> tuple[list[Incident], list[Problem]]:
    """Records with varied histories, made by a desk over memory: lifecycle commands,
    categories, custom attributes, links, parent and child, a problem with a known error."""
    memory = InMemoryRepository()
    clock = FrozenClock(START)
    desk = make_desk(repository=memory, clock=clock)
    ids: list[str] = []
    for number in range(8):
        incident = desk.log_incident(actor=ALICE, title=f"VPN drops 'it's {number}' ; DROP",
                                     description="Ünïcödé — \"quoted\"\nsecond line",
                                     category="Network/VPN", service="vpn",
                                     impact=1 + number % 3, urgency=1 + number % 2)
        ids.append(incident.id)
        clock.advance(minutes=3)
    desk.assign(ids[1], actor=ALICE, group="Network Support", assignee="bob")
    desk.start_work(ids[1], actor=ALICE)
    desk.add_work_note(ids[1], "Checked the gateway logs.", actor=ALICE)
    desk.assign(ids[2], actor=ALICE, group="Network Support", assignee="carol")
    desk.start_work(ids[2], actor=ALICE)
    desk.put_on_hold(ids[2], "awaiting_caller", actor=ALICE)
    desk.set_custom_attribute(ids[3], "asset_tag", "LAP-0042", actor=ALICE)
    desk.set_custom_attribute(ids[3], "seats", 12, actor=ALICE)
    desk.set_parent(ids[4], ids[5], actor=ALICE)
    desk.link_change(ids[4], "CHG0001", actor=ALICE, caused_by=True)
    clock.advance(minutes=10)
    desk.resolve(ids[6], code="solved_remotely", notes="Restarted the gateway.", actor=ALICE)
    desk.resolve(ids[7], code="solved_remotely", notes="Replaced the cable.", actor=ALICE)
    clock.advance(hours=2)
    desk.close(ids[7], actor=ALICE)
    problem = desk.open_problem(actor=ALICE, title="Gateway crashes", service="vpn",
                                incident_ids=[ids[1], ids[6]])
    desk.record_root_cause(problem.id, "A memory leak", actor=ALICE)
    desk.record_workaround(problem.id, "Restart it", actor=ALICE)
    desk.mark_known_error(problem.id, actor=ALICE)
    desk.open_problem(actor=ALICE, title="Mail queue stalls", service="email", impact=1)
    incidents = memory.list_incidents(IncidentQuery())
    problems = memory.list_problems(ProblemQuery())
    assert any(kind == LinkKind.CAUSED_BY_CHANGE for i in incidents for kind, _ in i.links)
    return incidents, problems


def write_v1(engine: sa.Engine, records: list[Incident | Problem], *,
             delivered: int = 3) -> list[dict[str, Any]]:
    """Store ``records`` as the version-1 library did: a state row in the tables as they are
    in the database (reflected, so a column of a later version cannot slip in), its events,
    its links, one outbox message per event (the first ``delivered`` marked delivered). The
    outbox rows written, oldest first."""
    reflected = sa.MetaData()
    reflected.reflect(engine)
    tables = reflected.tables
    outbox: list[dict[str, Any]] = []
    with engine.begin() as connection:
        for record in records:
            kind = "incident" if isinstance(record, Incident) else "problem"
            row = _incident_row(record) if isinstance(record, Incident) else _problem_row(record)
            row.pop("snapshot")  # the one column version 1 lacks
            state = tables[f"itil_{kind}s"]
            assert set(row) == set(state.c.keys())  # exactly the version-1 layout
            connection.execute(sa.insert(state), row)
            key = _column_text(record.id)
            for event in record.timeline():
                payload = event_to_dict(event)
                connection.execute(sa.insert(tables[f"itil_{kind}_events"]), {
                    "record_id": key, "version": event.version, "name": event.name,
                    "at": event.at, "actor_id": event.actor.id, "payload": payload})
                message = {"record_id": key, "version": event.version,
                           "event_name": event.name, "payload": payload, "attempts": 0,
                           "idempotency_key": f"{record.id}:{event.version}",
                           "delivered_at": START if len(outbox) < delivered else None}
                connection.execute(sa.insert(tables["itil_outbox"]), message)
                outbox.append(message)
            for relation, target in _links(record):
                connection.execute(sa.insert(tables["itil_links"]), {
                    "record_kind": kind, "record_id": key, "relation": relation,
                    "target_id": target})
    return outbox


def v1_database(make: MakeEngine) -> tuple[sa.Engine, list[Incident], list[Problem],
                                           list[dict[str, Any]]]:
    engine = make()
    create_v1(engine)
    incidents, problems = worked_records()
    outbox = write_v1(engine, [*incidents, *problems])
    return engine, incidents, problems, outbox


def columns(engine: sa.Engine, table: str) -> set[str]:
    with engine.connect() as connection:
        return {column["name"] for column in sa.inspect(connection).get_columns(table)}


def indexes(engine: sa.Engine, table: str) -> set[str]:
    with engine.connect() as connection:
        return {str(index["name"]) for index in sa.inspect(connection).get_indexes(table)}


# ----------------------------------------------------------------- the upgrade


def test_the_frozen_v1_ddl_is_a_version_1_database(make_engine: MakeEngine) -> None:
    engine = make_engine()
    create_v1(engine)
    assert schema_version(engine) == 1
    assert "snapshot" not in columns(engine, "itil_incidents")
    assert "ix_itil_incidents_group_status" not in indexes(engine, "itil_incidents")


def test_upgrading_a_v1_database_keeps_every_record_event_and_message_identical(
        make_engine: MakeEngine) -> None:
    engine, incidents, problems, outbox = v1_database(make_engine)
    assert upgrade_schema(engine) == (2,)
    assert schema_version(engine) == SCHEMA_VERSION == 2
    assert {"snapshot"} <= columns(engine, "itil_incidents") & columns(engine, "itil_problems")
    assert {"ix_itil_incidents_group_status", "ix_itil_incidents_open_priority"} <= indexes(
        engine, "itil_incidents")
    with engine.connect() as connection:
        for table in ("itil_incidents", "itil_problems"):
            missing = connection.exec_driver_sql(
                f"SELECT count(*) FROM {table} WHERE snapshot IS NULL").scalar()
            assert missing == 0  # every snapshot filled by the step
    repository = SqlRepository(engine)
    for incident in incidents:
        loaded = repository.get_incident(incident.id)
        assert loaded.snapshot() == incident.snapshot()
        assert loaded.timeline() == incident.timeline()
        assert repository.history_of(incident.id) == list(incident.timeline())
    for problem in problems:
        loaded_problem = repository.get_problem(problem.id)
        assert loaded_problem.snapshot() == problem.snapshot()
        assert loaded_problem.timeline() == problem.timeline()
    listed = repository.list_incidents(IncidentQuery())
    assert [i.snapshot() for i in listed] == [i.snapshot() for i in incidents]
    assert [p.id for p in repository.list_problems(ProblemQuery())] == [p.id for p in problems]
    pending = repository.pending_outbox(limit=1000)
    expected = [m for m in outbox if m["delivered_at"] is None]
    assert [(m.record_id, m.version, m.event_name, m.payload, m.idempotency_key)
            for m in pending] == [(m["record_id"], m["version"], m["event_name"], m["payload"],
                                   m["idempotency_key"]) for m in expected]


def test_an_upgraded_database_takes_commands_and_reads_them_back(
        make_engine: MakeEngine) -> None:
    engine, incidents, _problems, _outbox = v1_database(make_engine)
    upgrade_schema(engine)
    repository = SqlRepository(engine)
    clock = FrozenClock(datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    desk = make_desk(repository=repository, clock=clock)
    target = incidents[2].id  # on hold in version 1
    desk.resume(target, actor=ALICE)
    desk.add_work_note(target, "Caller answered.", actor=ALICE)
    loaded = repository.get_incident(target)
    folded = Incident.from_history(loaded.timeline(), loaded.workflow)
    assert loaded.snapshot() == folded.snapshot()
    assert loaded.version == incidents[2].version + 2
    assert repository.list_incidents(IncidentQuery(status=frozenset({"in_progress"})))[-1] == (
        loaded)


def test_upgrading_twice_or_a_current_database_changes_nothing(
        make_engine: MakeEngine) -> None:
    engine, incidents, _problems, _outbox = v1_database(make_engine)
    assert upgrade_schema(engine) == (2,)
    assert upgrade_schema(engine) == ()
    fresh = make_engine()
    create_schema(fresh)
    assert upgrade_schema(fresh) == ()
    assert schema_version(engine) == schema_version(fresh) == SCHEMA_VERSION
    assert SqlRepository(engine).get_incident(incidents[0].id).snapshot() == (
        incidents[0].snapshot())


def test_the_repository_refuses_a_v1_database_saying_to_run_the_upgrade(
        make_engine: MakeEngine) -> None:
    engine, incidents, _problems, _outbox = v1_database(make_engine)
    repository = SqlRepository(engine)
    with pytest.raises(SchemaVersionError, match=r"upgrade_schema\(engine\)") as raised:
        repository.get_incident(incidents[0].id)
    assert (raised.value.found, raised.value.expected) == (1, SCHEMA_VERSION)
    with pytest.raises(SchemaVersionError, match="upgrade=True"):
        repository.commit([incidents[0]])
    with pytest.raises(SchemaVersionError, match="upgrade_schema"):
        create_schema(engine)
    assert schema_version(engine) == 1  # nothing changed
    assert "snapshot" not in columns(engine, "itil_incidents")


def test_a_repository_built_with_upgrade_true_upgrades_on_first_use(
        make_engine: MakeEngine) -> None:
    engine, incidents, _problems, _outbox = v1_database(make_engine)
    repository = SqlRepository(engine, upgrade=True)
    assert repository.get_incident(incidents[1].id).snapshot() == incidents[1].snapshot()
    assert schema_version(engine) == SCHEMA_VERSION


def test_a_database_newer_than_the_library_is_refused_and_left_untouched(
        make_engine: MakeEngine) -> None:
    engine = make_engine()
    create_schema(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE itil_schema SET version = 3")
    with pytest.raises(SchemaVersionError, match="newer") as raised:
        upgrade_schema(engine)
    assert raised.value.found == 3
    with pytest.raises(SchemaVersionError, match="newer"):
        SqlRepository(engine, upgrade=True).list_incidents(IncidentQuery())
    assert schema_version(engine) == 3


@pytest.mark.parametrize("damage", [
    "DROP TABLE itil_links",
    "DROP TABLE itil_schema",
    "INSERT INTO itil_schema (version) VALUES (7)",
    "ALTER TABLE itil_incidents ADD COLUMN snapshot TEXT",
])
def test_a_database_of_an_unknown_layout_is_refused_and_left_untouched(
        make_engine: MakeEngine, damage: str) -> None:
    engine = make_engine()
    create_v1(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(damage)
    before = {table: columns(engine, table) for table in ("itil_incidents", "itil_problems")}
    with pytest.raises(SchemaVersionError, match="unknown layout"):
        upgrade_schema(engine)
    with pytest.raises(SchemaVersionError, match="unknown layout"):
        create_schema(engine)
    assert {table: columns(engine, table) for table in before} == before


def test_upgrading_an_empty_database_says_to_create_the_schema(
        make_engine: MakeEngine) -> None:
    with pytest.raises(SchemaVersionError, match=r"create_schema\(engine\)"):
        upgrade_schema(make_engine())


def test_a_failing_step_leaves_the_database_at_version_1(make_engine: MakeEngine) -> None:
    """The step's transaction: a record whose history cannot be folded stops the step after
    its column and indexes were created, and all of it is rolled back."""
    engine, incidents, _problems, _outbox = v1_database(make_engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE itil_incident_events SET name = 'x', payload = :p "
                    "WHERE record_id = :id AND version = 1"),
            {"p": '{"name": "incident.teleported"}', "id": incidents[5].id})
    with pytest.raises(StorageError, match=r"incident\.teleported"):
        upgrade_schema(engine)
    assert schema_version(engine) == 1
    assert "snapshot" not in columns(engine, "itil_incidents")
    assert "ix_itil_incidents_group_status" not in indexes(engine, "itil_incidents")


def test_records_of_a_workflow_the_upgrade_was_not_given_keep_no_snapshot_and_still_load(
        make_engine: MakeEngine) -> None:
    engine, incidents, _problems, _outbox = v1_database(make_engine)
    upgrade_schema(engine, workflows=[])  # knows no workflow: fills no snapshot
    with engine.connect() as connection:
        filled = connection.exec_driver_sql(
            "SELECT count(*) FROM itil_incidents WHERE snapshot IS NOT NULL").scalar()
    assert filled == 0
    repository = SqlRepository(engine)  # folds the events of a record without a snapshot
    assert [i.snapshot() for i in repository.list_incidents(IncidentQuery())] == [
        i.snapshot() for i in incidents]
    desk = make_desk(repository=repository,
                     clock=FrozenClock(datetime(2026, 3, 3, 9, 0, tzinfo=UTC)))
    desk.add_work_note(incidents[0].id, "Saved once more.", actor=ALICE)
    with engine.connect() as connection:
        filled = connection.exec_driver_sql(
            "SELECT count(*) FROM itil_incidents WHERE snapshot IS NOT NULL").scalar()
    assert filled == 1  # its next save writes it


def documented_ddl(dialect: str) -> list[str]:
    """The statements of the ``sql title="<dialect>"`` block of docs/how-to/upgrading.md,
    without its BEGIN and COMMIT."""
    text = (Path(__file__).parents[2] / "docs" / "how-to" / "upgrading.md").read_text()
    (block,) = re.findall(rf'```sql title="{dialect}"\n(.*?)```', text, re.DOTALL)
    statements = [" ".join(part.split()) for part in block.split(";") if part.strip()]
    return [s for s in statements if s not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")]


def test_the_documented_ddl_and_fill_snapshots_upgrade_a_v1_database(
        make_engine: MakeEngine) -> None:
    engine, incidents, problems, _outbox = v1_database(make_engine)
    with pytest.raises(SchemaVersionError):
        fill_snapshots(engine)  # not before the DDL
    with engine.begin() as connection:
        for statement in documented_ddl(engine.dialect.name):
            connection.exec_driver_sql(statement)
    assert upgrade_schema(engine) == ()  # the layout is version 2's: nothing left to do
    repository = SqlRepository(engine)
    assert [i.snapshot() for i in repository.list_incidents(IncidentQuery())] == [
        i.snapshot() for i in incidents]  # no snapshot yet: folded from the events
    assert fill_snapshots(engine) == len(incidents) + len(problems)
    assert fill_snapshots(engine) == 0
    reader = SqlRepository(engine)
    assert [p.snapshot() for p in reader.list_problems(ProblemQuery())] == [
        p.snapshot() for p in problems]
    assert [i.snapshot() for i in reader.list_incidents(IncidentQuery())] == [
        i.snapshot() for i in incidents]


# ----------------------------------------------------------------- the contract, upgraded


class TestUpgradedSqliteRepository(RepositoryContract):
    """The repository contract on a SQLite file created at version 1 and upgraded."""

    _directory: Path
    _made: list[SqlRepository]

    @pytest.fixture(autouse=True)
    def _storage(self, tmp_path: Path) -> Iterator[None]:
        self._directory = tmp_path
        self._made = []
        yield
        for repository in self._made:
            repository.engine.dispose()

    def make_repository(self) -> Repository:
        engine = sa.create_engine(f"sqlite:///{self._directory / f'v1-{len(self._made)}.db'}")
        create_v1(engine)
        upgrade_schema(engine)
        repository = SqlRepository(engine)
        self._made.append(repository)
        return repository


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
class TestUpgradedPostgresRepository(RepositoryContract):
    """The repository contract on a PostgreSQL schema created at version 1 and upgraded."""

    _make: MakeEngine

    @pytest.fixture(autouse=True)
    def _storage(self, make_postgres: MakeEngine) -> None:
        self._make = make_postgres

    def make_repository(self) -> Repository:
        engine = self._make()
        create_v1(engine)
        upgrade_schema(engine)
        return SqlRepository(engine)
