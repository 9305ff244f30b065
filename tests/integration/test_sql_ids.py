"""Ids numbered by the database (``SqlIdFactory``): several processes logging into one
database never get the same id, a new process goes on from the stored counters and records,
and ids stored by another id factory are never handed out again. On a SQLite file and on
PostgreSQL (a schema of its own per test; skipped with the reason when
``ITIL_INCIDENT_POSTGRES_URL`` is unset).
"""

from __future__ import annotations

import multiprocessing
import re
import threading
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from itil_incident import (
    FrozenClock,
    IdFactory,
    Incident,
    IncidentQuery,
    InMemoryRepository,
    NullNotifier,
    SequentialIdFactory,
    ServiceDesk,
)
from itil_incident.adapters.sql import (
    SCHEMA_VERSION,
    SchemaVersionError,
    SqlIdFactory,
    SqlRepository,
    StorageError,
    create_schema,
    schema_version,
    upgrade_schema,
)
from itil_incident.domain.lifecycles import default_incident_workflow
from itil_incident.errors import DefinitionError
from itil_incident.policies.priority import PriorityMatrix

if TYPE_CHECKING:  # mypy names the helper modules after their paths
    from tests.integration import _ids_support as workers
    from tests.integration import _sql_support as support
else:  # pytest puts tests/integration on sys.path (rootdir-relative "prepend" import)
    import _ids_support as workers
    import _sql_support as support

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 4
LOGS = 100
#: Bound on any wait for a child process (seconds).
PATIENCE = 180.0
AGENT = support.AGENT
FIXTURES = Path(__file__).parent / "fixtures"


def desk_on(repository: SqlRepository, ids: IdFactory | None = None) -> ServiceDesk:
    return ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(support.T0),
                       ids=ids)


def numbers(ids: list[str], prefix: str = "INC") -> list[int]:
    assert all(re.fullmatch(prefix + r"\d{7}", one) for one in ids), ids
    return [int(one[len(prefix):]) for one in ids]


def run_workers(database: support.Database, children: list[BaseProcess], *,
                problems_every: int, block: int | None) -> list[workers.Report]:
    barrier = SPAWN.Barrier(PROCESSES)
    results: Any = SPAWN.Queue()
    for number in range(PROCESSES):
        started = SPAWN.Process(target=workers.log_records, daemon=True, args=(
            database, number, LOGS, problems_every, block, barrier, results))
        started.start()
        children.append(started)
    reports: list[workers.Report] = [results.get(timeout=PATIENCE) for _ in range(PROCESSES)]
    for child in children:
        child.join(timeout=PATIENCE)
        assert child.exitcode == 0
    return reports


# ----------------------------------------------------------------- several processes


def test_4_processes_x_100_logs_get_distinct_ids_in_one_sequence_without_a_failure(
        database: support.Database, repository: SqlRepository,
        children: list[BaseProcess]) -> None:
    reports = run_workers(database, children, problems_every=0, block=None)
    assert [error for report in reports for error in report[3]] == []
    handed = [one for report in reports for one in report[1]]
    assert len(handed) == PROCESSES * LOGS
    assert sorted(numbers(handed)) == list(range(1, PROCESSES * LOGS + 1))  # no gap either
    for report in reports:  # each process's ids follow one another
        assert numbers(report[1]) == sorted(numbers(report[1]))
    stored = [incident.id for incident in repository.list_incidents(IncidentQuery())]
    assert sorted(stored) == sorted(handed)


def test_processes_reserving_blocks_never_share_an_id_and_leave_only_gaps(
        database: support.Database, repository: SqlRepository,
        children: list[BaseProcess]) -> None:
    reports = run_workers(database, children, problems_every=10, block=7)
    assert [error for report in reports for error in report[3]] == []
    incidents = numbers([one for report in reports for one in report[1]])
    problems = numbers([one for report in reports for one in report[2]], "PRB")
    assert len(set(incidents)) == len(incidents) == PROCESSES * LOGS
    assert len(set(problems)) == len(problems) == PROCESSES * LOGS // 10
    # each process reserved whole blocks of 7: at most its unused rest is skipped
    assert max(incidents) <= PROCESSES * -(-LOGS // 7) * 7
    assert max(problems) <= PROCESSES * -(-(LOGS // 10) // 7) * 7
    assert len(repository.list_incidents(IncidentQuery())) == PROCESSES * LOGS


def test_threads_sharing_one_factory_get_distinct_ids(repository: SqlRepository) -> None:
    ids = SqlIdFactory.for_repository(repository)
    got: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            one = ids.next_problem_id()
            with lock:
                got.append(one)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PATIENCE)
    assert sorted(numbers(got, "PRB")) == list(range(1, 101))


# ----------------------------------------------------------------- a new process goes on


def test_a_desk_on_a_reopened_database_goes_on_from_the_last_id(
        database: support.Database) -> None:
    first = database.repository()
    desk = desk_on(first)
    logged = [desk.log_incident(actor=AGENT, title=f"Incident {n}").id for n in range(3)]
    problem = desk.open_problem(actor=AGENT, title="Recurring VPN drops").id
    first.engine.dispose()
    again = database.repository()  # a new engine: nothing of the first desk is left
    reopened = desk_on(again)
    assert logged == ["INC0000001", "INC0000002", "INC0000003"]
    assert problem == "PRB0000001"
    assert reopened.log_incident(actor=AGENT, title="After the restart").id == "INC0000004"
    assert reopened.open_problem(actor=AGENT, title="Another").id == "PRB0000002"
    again.engine.dispose()


def test_a_database_numbered_by_another_factory_goes_on_after_its_highest_id(
        repository: SqlRepository) -> None:
    before = desk_on(repository, ids=SequentialIdFactory(start=41))
    for n in range(3):
        before.log_incident(actor=AGENT, title=f"Incident {n}")
    before.open_problem(actor=AGENT, title="Recurring VPN drops")
    desk = desk_on(repository)
    assert desk.log_incident(actor=AGENT, title="Next").id == "INC0000044"
    assert desk.open_problem(actor=AGENT, title="Next problem").id == "PRB0000042"


def test_ids_of_another_shape_do_not_count(repository: SqlRepository) -> None:
    odd = ["INC12", "INC00000999", "INC00009x9", "INC-000099", "SEC0000500", "inc0000700",
           "INC0000007"]
    for one in odd:
        repository.commit([stored_incident(one)])
    assert SqlIdFactory.for_repository(repository).next_incident_id() == "INC0000008"


def stored_incident(incident_id: str) -> Incident:
    """An incident of that id, as an import would store it."""
    return Incident.log(incident_id=incident_id, workflow=default_incident_workflow(),
                        matrix=PriorityMatrix.servicenow(), actor=AGENT, at=support.T0,
                        title="Imported")


def test_an_id_stored_meanwhile_by_another_factory_is_skipped(
        repository: SqlRepository) -> None:
    desk = desk_on(repository)
    assert desk.log_incident(actor=AGENT, title="First").id == "INC0000001"
    other = desk_on(repository, ids=SequentialIdFactory(start=2))
    for n in range(3):  # INC0000002 .. INC0000004, past the counter
        other.log_incident(actor=AGENT, title=f"Numbered elsewhere {n}")
    assert desk.log_incident(actor=AGENT, title="Next").id == "INC0000005"
    assert desk.log_incident(actor=AGENT, title="And next").id == "INC0000006"


def test_prefixes_and_widths_number_on_their_own(repository: SqlRepository) -> None:
    security = SqlIdFactory(repository.engine, incident_prefix="SEC", problem_prefix="RCA",
                            width=4)
    plain = SqlIdFactory(repository.engine)
    assert [security.next_incident_id(), security.next_incident_id()] == ["SEC0001", "SEC0002"]
    assert security.next_problem_id() == "RCA0001"
    assert plain.next_incident_id() == "INC0000001"
    assert SqlIdFactory(repository.engine, incident_prefix="SEC").next_incident_id() == (
        "SEC0000003")  # the SEC counter, whatever the width


def test_a_reserved_block_is_used_before_the_next_transaction(
        repository: SqlRepository) -> None:
    blocks = SqlIdFactory(repository.engine, block=5)
    single = SqlIdFactory(repository.engine)
    assert [blocks.next_incident_id() for _ in range(3)] == [
        "INC0000001", "INC0000002", "INC0000003"]
    assert single.next_incident_id() == "INC0000006"  # 4 and 5 stay with the first factory
    assert [blocks.next_incident_id() for _ in range(3)] == [
        "INC0000004", "INC0000005", "INC0000007"]


def version_1_database(path: Path) -> sa.Engine:
    """A SQLite file of schema version 1 (the frozen DDL of the upgrade tests)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    text = (FIXTURES / "schema_v1_sqlite.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    with engine.begin() as connection:
        for statement in body.split("\n;\n"):
            if statement.strip():
                connection.exec_driver_sql(statement)
    assert schema_version(engine) == 1
    return engine


def test_an_older_database_is_refused_saying_to_upgrade_it(tmp_path: Path) -> None:
    engine = version_1_database(tmp_path / "v1.db")
    with pytest.raises(SchemaVersionError, match="upgrade_schema"):
        SqlIdFactory(engine).next_incident_id()
    engine.dispose()


def test_the_first_log_on_a_repository_that_upgrades_upgrades_before_numbering(
        tmp_path: Path) -> None:
    engine = version_1_database(tmp_path / "v1.db")
    repository = SqlRepository(engine, upgrade=True)
    assert desk_on(repository).log_incident(actor=AGENT, title="First").id == "INC0000001"
    assert schema_version(engine) == SCHEMA_VERSION
    engine.dispose()


def test_an_upgraded_version_1_database_numbers_after_its_records(tmp_path: Path) -> None:
    engine = version_1_database(tmp_path / "v1.db")
    upgrade_schema(engine)
    repository = SqlRepository(engine)
    old = desk_on(repository, ids=SequentialIdFactory(start=17))
    old.log_incident(actor=AGENT, title="Logged before")
    assert desk_on(repository).log_incident(actor=AGENT, title="After").id == "INC0000018"
    engine.dispose()


# ----------------------------------------------------------------- the desk's default


def test_a_desk_on_a_sql_repository_numbers_from_the_database_by_default(
        repository: SqlRepository) -> None:
    ids = ServiceDesk(repository).ids
    assert isinstance(ids, SqlIdFactory)
    assert ids.engine is repository.engine
    assert isinstance(ServiceDesk(InMemoryRepository()).ids, SequentialIdFactory)
    given = SequentialIdFactory(start=9)
    assert ServiceDesk(repository, ids=given).ids is given


# ----------------------------------------------------------------- refusals


def test_a_database_without_the_schema_raises_a_storage_error(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StorageError, match="create_schema"):
        SqlIdFactory(engine).next_incident_id()
    create_schema(engine)
    assert SqlIdFactory(engine).next_incident_id() == "INC0000001"
    engine.dispose()


@pytest.mark.parametrize(("option", "value"), [
    ("width", 0), ("width", 21), ("width", "7"), ("block", 0), ("block", 10_001),
    ("block", True), ("incident_prefix", ""), ("incident_prefix", "IN C"),
    ("problem_prefix", "PRB/"), ("problem_prefix", "X" * 21), ("problem_prefix", 3),
    ("busy_timeout", -1), ("busy_timeout", True),
])
def test_bad_options_are_refused_when_built(tmp_path: Path, option: str, value: object) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    options: dict[str, Any] = {option: value}
    with pytest.raises(DefinitionError) as caught:
        SqlIdFactory(engine, **options)
    assert caught.value.culprit == option
    engine.dispose()


def test_only_an_engine_or_a_sql_repository_is_accepted() -> None:
    with pytest.raises(DefinitionError):
        SqlIdFactory("sqlite:///desk.db")  # type: ignore[arg-type]  # the refusal is tested
    with pytest.raises(DefinitionError):
        SqlIdFactory.for_repository(InMemoryRepository())  # type: ignore[arg-type]  # the refusal is tested


# ----------------------------------------------------------------- the IdFactory contract


class IdFactoryContract:
    """What every IdFactory promises: never the same id twice for a kind, whatever is stored
    already (``stored``: ids of records written before the factory was made)."""

    stored: tuple[str, ...] = ()

    def make_factory(self) -> IdFactory:
        raise NotImplementedError

    def test_incident_ids_are_never_handed_out_twice_nor_taken(self) -> None:
        ids = self.make_factory()
        handed = [ids.next_incident_id() for _ in range(60)]
        assert len(set(handed)) == len(handed)
        assert not set(handed) & set(self.stored)

    def test_problem_ids_are_never_handed_out_twice_nor_taken(self) -> None:
        ids = self.make_factory()
        handed = [ids.next_problem_id() for _ in range(60)]
        assert len(set(handed)) == len(handed)
        assert not set(handed) & set(self.stored)

    def test_incident_and_problem_ids_interleave_each_in_its_sequence(self) -> None:
        ids = self.make_factory()
        handed = [(ids.next_incident_id(), ids.next_problem_id()) for _ in range(10)]
        incidents = [pair[0] for pair in handed]
        problems = [pair[1] for pair in handed]
        assert incidents == sorted(incidents)
        assert len(set(incidents)) == 10
        assert problems == sorted(problems)
        assert len(set(problems)) == 10
        assert all(one.startswith("INC") for one in incidents)
        assert all(one.startswith("PRB") for one in problems)


class TestSequentialIdFactory(IdFactoryContract):
    def make_factory(self) -> IdFactory:
        return SequentialIdFactory()


class SqlIdFactoryContract(IdFactoryContract):
    """The contract on a database that already holds records numbered elsewhere."""

    block = 1
    stored = ("INC0000001", "INC0000002", "INC0000050", "PRB0000003")
    database: support.Database

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> Iterator[None]:
        dialect = self.dialect
        if dialect == "postgresql" and not support.POSTGRES_URL:
            pytest.skip(support.NO_POSTGRES)
        with support.open_database(dialect, tmp_path) as opened:
            self.database = opened
            repository = opened.repository()
            for record_id in self.stored:
                if record_id.startswith("INC"):
                    repository.commit([stored_incident(record_id)])
                else:
                    desk_on(repository, ids=_Given(record_id)).open_problem(
                        actor=AGENT, title="Stored before")
            repository.engine.dispose()
            self._engines: list[sa.Engine] = []
            yield
            for engine in self._engines:
                engine.dispose()

    dialect = "sqlite"

    def make_factory(self) -> IdFactory:
        engine = self.database.engine()
        self._engines.append(engine)
        return SqlIdFactory(engine, block=self.block)

    def test_the_first_ids_follow_the_highest_stored(self) -> None:
        ids = self.make_factory()
        assert ids.next_incident_id() == "INC0000051"
        assert ids.next_problem_id() == "PRB0000004"


class _Given:
    """An IdFactory handing out one given problem id."""

    def __init__(self, problem_id: str) -> None:
        self.problem_id = problem_id

    def next_incident_id(self) -> str:  # pragma: no cover - only problems are opened
        raise AssertionError("not used")

    def next_problem_id(self) -> str:
        return self.problem_id


class TestSqlIdFactoryOnSqlite(SqlIdFactoryContract):
    dialect = "sqlite"


class TestSqlIdFactoryWithBlocksOnSqlite(SqlIdFactoryContract):
    dialect = "sqlite"
    block = 8


class TestSqlIdFactoryOnPostgres(SqlIdFactoryContract):
    dialect = "postgresql"


class TestSqlIdFactoryWithBlocksOnPostgres(SqlIdFactoryContract):
    dialect = "postgresql"
    block = 8
