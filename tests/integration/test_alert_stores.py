"""Alert stores honour the AlertStore contract, in memory, on a SQLite file and on PostgreSQL;
a desk over SQL storage deduplicates alerts like one in memory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from itil_incident import (
    AlertGroup,
    AlertInput,
    AlertOutcome,
    AlertOutcomeKind,
    AlertRefusal,
    AlertRejectedError,
    AlertSeverity,
    AlertStore,
    ConcurrencyError,
    DefinitionError,
    FrozenClock,
    InMemoryAlertStore,
    NullNotifier,
    ServiceDesk,
)
from itil_incident.adapters.sql import SqlAlertStore, SqlRepository, create_schema

POSTGRES_URL = os.environ.get("ITIL_INCIDENT_POSTGRES_URL", "")
NO_POSTGRES = ("PostgreSQL tests need ITIL_INCIDENT_POSTGRES_URL, e.g. "
               "postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)")
T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

#: A repository and an alert store on one database.
Storage = tuple[SqlRepository | None, AlertStore]
MakeStorage = Callable[[], Storage]


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
def sqlite_storage(tmp_path: Path) -> Iterator[MakeStorage]:
    made: list[SqlRepository] = []

    def make() -> Storage:
        repository = SqlRepository.from_url(f"sqlite:///{tmp_path / f'desk-{len(made)}.db'}")
        create_schema(repository.engine)
        made.append(repository)
        return repository, SqlAlertStore.for_repository(repository)

    yield make
    for repository in made:
        repository.close()


@pytest.fixture
def postgres_storage(postgres_admin: sa.Engine) -> Iterator[MakeStorage]:
    made: list[tuple[sa.Engine, str]] = []

    def make() -> Storage:
        name = f"itil_alert_test_{uuid.uuid4().hex[:12]}"
        with postgres_admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        options = f"-csearch_path={name},public -cstatement_timeout=20000"
        engine = sa.create_engine(POSTGRES_URL, connect_args={"options": options})
        create_schema(engine)
        made.append((engine, name))
        return SqlRepository(engine), SqlAlertStore(engine)

    yield make
    for engine, name in made:
        engine.dispose()
        with postgres_admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest) -> Storage:
    if request.param == "memory":
        return None, InMemoryAlertStore()
    make: MakeStorage = request.getfixturevalue(f"{request.param.replace('ql', '')}_storage"
                                                if request.param == "postgresql"
                                                else "sqlite_storage")
    return make()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_storage(request: pytest.FixtureRequest) -> Storage:
    make: MakeStorage = request.getfixturevalue(f"{request.param.replace('ql', '')}_storage"
                                                if request.param == "postgresql"
                                                else "sqlite_storage")
    return make()


def a_group(key: str = "web-1/disk", **fields: object) -> AlertGroup:
    values: dict[str, object] = {
        "dedup_key": key, "source": "nagios", "incident_id": "INC0000001", "count": 2,
        "first_seen": T0, "last_seen": T0 + timedelta(minutes=5),
        "highest": AlertSeverity.MAJOR, "firing": True,
        "onsets": (T0, T0 + timedelta(seconds=1)), "opened": 1, "folded": 1, "version": 1,
        **fields}
    return AlertGroup(**values)  # type: ignore[arg-type]  # the fields are typed by AlertGroup


# ----------------------------------------------------------------- the contract


def test_a_saved_group_reads_back_equal_and_independent(storage: Storage) -> None:
    _, store = storage
    assert isinstance(store, AlertStore)
    group = a_group(held_since=T0, flapping=True, held=3, cleared=1, resolved=2, recovered=4)
    store.save_group(group)
    assert group.saved_version == group.version == 1
    found = store.get_group("web-1/disk")
    assert found is not None
    assert found is not group
    assert vars_of(found) == vars_of(group)
    assert found.first_seen is not None
    assert found.first_seen.tzinfo is UTC
    found.count = 99
    again = store.get_group("web-1/disk")
    assert again is not None
    assert again.count == 2
    assert store.get_group("nope") is None


def vars_of(group: AlertGroup) -> dict[str, object]:
    return attrs.asdict(group, recurse=False)


def test_a_stale_save_is_a_concurrency_error_and_stores_nothing(storage: Storage) -> None:
    _, store = storage
    store.save_group(a_group())
    first, second = store.get_group("web-1/disk"), store.get_group("web-1/disk")
    assert first is not None
    assert second is not None
    first.count, first.version = 3, 2
    store.save_group(first)
    second.count, second.version = 30, 2
    with pytest.raises(ConcurrencyError):
        store.save_group(second)
    with pytest.raises(ConcurrencyError):
        store.save_group(a_group())  # a "new" group whose key is taken
    stored = store.get_group("web-1/disk")
    assert stored is not None
    assert (stored.count, stored.version) == (3, 2)


def test_a_fold_is_recorded_only_at_the_expected_version(storage: Storage) -> None:
    _, store = storage
    store.save_group(a_group())
    assert store.record_fold("web-1/disk", 1, T0 - timedelta(minutes=1))
    assert not store.record_fold("web-1/disk", 1, T0)
    assert not store.record_fold("nope", 1, T0)
    assert store.record_fold("web-1/disk", 2, T0 + timedelta(hours=1))
    group = store.get_group("web-1/disk")
    assert group is not None
    assert (group.count, group.folded, group.version) == (4, 3, 3)
    assert (group.first_seen, group.last_seen) == (T0 - timedelta(minutes=1),
                                                   T0 + timedelta(hours=1))
    peeked = store.peek_group("web-1/disk")
    assert peeked is not None
    assert peeked.version == 3


def test_a_group_is_discarded_only_at_its_version(storage: Storage) -> None:
    _, store = storage
    store.save_group(a_group())
    store.discard_group("web-1/disk", 7)
    assert store.get_group("web-1/disk") is not None
    store.discard_group("web-1/disk", 1)
    assert store.get_group("web-1/disk") is None


def test_groups_list_by_key_and_sum_their_outcomes(storage: Storage) -> None:
    _, store = storage
    store.save_group(a_group("b", flapping=True, held=2))
    store.save_group(a_group("a", opened=2, folded=5))
    store.save_group(a_group("c", resolved=1, cleared=1))
    assert [g.dedup_key for g in store.list_groups()] == ["a", "b", "c"]
    assert [g.dedup_key for g in store.list_groups(flapping=True)] == ["b"]
    assert [g.dedup_key for g in store.list_groups(flapping=False)] == ["a", "c"]
    assert store.outcome_counts() == {
        AlertOutcomeKind.OPENED: 4, AlertOutcomeKind.FOLDED: 7, AlertOutcomeKind.RESOLVED: 1,
        AlertOutcomeKind.RECOVERED: 0, AlertOutcomeKind.CLEARED: 1, AlertOutcomeKind.HELD: 2}


def test_refusals_are_counted_by_reason(storage: Storage) -> None:
    _, store = storage
    assert store.refusal_counts() == {}
    for reason in (AlertRefusal.MISSING_KEY, AlertRefusal.MISSING_KEY,
                   AlertRefusal.OVERSIZED_PAYLOAD):
        store.count_refusal(reason)
    assert store.refusal_counts() == {AlertRefusal.MISSING_KEY: 2,
                                      AlertRefusal.OVERSIZED_PAYLOAD: 1}


# ----------------------------------------------------------------- SQL specifics


def test_create_schema_creates_the_alert_tables(sql_storage: Storage) -> None:
    repository, _ = sql_storage
    assert repository is not None
    names = set(sa.inspect(repository.engine).get_table_names())
    assert {"itil_alert_groups", "itil_alert_refusals"} <= names


def test_a_sql_alert_store_needs_an_engine() -> None:
    with pytest.raises(DefinitionError):
        SqlAlertStore("sqlite://")  # type: ignore[arg-type]  # the point


def test_a_desk_on_sql_storage_deduplicates_recovers_and_counts(sql_storage: Storage) -> None:
    repository, store = sql_storage
    assert repository is not None
    clock = FrozenClock(T0)
    desk = ServiceDesk(repository, clock=clock, notifier=NullNotifier(), alert_store=store)
    opened = desk.ingest_alert("nagios", "db-1/cpu", "warning", "CPU high on db-1",
                               payload={"cpu": 97.5}, at=T0)
    assert opened.kind is AlertOutcomeKind.OPENED
    assert opened.incident_id is not None
    for minutes in range(1, 4):
        outcome = desk.ingest_alert("nagios", "db-1/cpu", "warning", "CPU high on db-1",
                                    at=T0 + timedelta(minutes=minutes))
        assert (outcome.kind, outcome.incident_id) == (AlertOutcomeKind.FOLDED,
                                                       opened.incident_id)
    assert repository.get_incident(opened.incident_id).version == 2  # repeats wrote nothing
    desk.ingest_alert("nagios", "db-1/cpu", "critical", "CPU high on db-1", at=T0)
    clock.advance(minutes=10)
    resolved = desk.ingest_alert("nagios", "db-1/cpu", "clear", "CPU normal on db-1")
    assert resolved.kind is AlertOutcomeKind.RESOLVED
    incident = repository.get_incident(opened.incident_id)
    assert incident.status == "resolved"
    assert incident.alert_severity is AlertSeverity.CRITICAL
    with pytest.raises(AlertRejectedError):
        desk.ingest_alert("nagios", "", "critical", "No key")
    again = desk.ingest_alert("nagios", "db-1/cpu", "major", "CPU high on db-1")
    assert again.kind is AlertOutcomeKind.OPENED
    stats = desk.alert_statistics()
    assert stats.by_outcome[AlertOutcomeKind.OPENED] == 2
    assert stats.by_outcome[AlertOutcomeKind.FOLDED] == 4
    assert stats.by_outcome[AlertOutcomeKind.RESOLVED] == 1
    assert stats.refused_by_reason == {AlertRefusal.MISSING_KEY: 1}
    assert stats.total == 8
    group = desk.alert_group("db-1/cpu")
    assert group.incident_id == again.incident_id
    assert group.total == 7
    assert repository.is_incident_open(opened.incident_id) is False
    assert again.incident_id is not None
    assert repository.is_incident_open(again.incident_id) is True
    assert repository.is_incident_open("INC9999999") is False


@pytest.fixture(params=["sqlite", "postgresql"])
def make_sql_storage(request: pytest.FixtureRequest) -> MakeStorage:
    make: MakeStorage = request.getfixturevalue(
        "postgres_storage" if request.param == "postgresql" else "sqlite_storage")
    return make


def test_a_batch_on_sql_storage_ends_as_its_alerts_one_by_one(
        make_sql_storage: MakeStorage) -> None:
    desks = []
    for repository, store in (make_sql_storage(), make_sql_storage()):
        assert repository is not None
        desks.append(ServiceDesk(repository, clock=FrozenClock(T0 + timedelta(hours=1)),
                                 notifier=NullNotifier(), alert_store=store))
    single, batched = desks

    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    alerts = [
        AlertInput("nagios", "db-1/cpu", "warning", "CPU high on db-1", payload={"cpu": 97.5},
                   at=at(0)),
        AlertInput("nagios", "db-1/cpu", "warning", "CPU high on db-1", at=at(1)),
        AlertInput("nagios", "web-1/disk", "major", "Disk full on web-1", service="Email",
                   at=at(1)),
        AlertInput("nagios", "", "critical", "No key", at=at(2)),
        AlertInput("nagios", "db-1/cpu", "critical", "CPU high on db-1", at=at(2)),
        AlertInput("nagios", "db-1/cpu", "warning", "CPU high on db-1", at=at(3)),
        AlertInput("nagios", "web-1/disk", "major", "Disk full", payload={"x": "y" * 20_000},
                   at=at(3)),
        AlertInput("nagios", "db-1/cpu", "clear", "CPU normal on db-1", at=at(4)),
        AlertInput("nagios", "db-1/cpu", "clear", "CPU normal on db-1", at=at(5)),
        AlertInput("nagios", "db-1/cpu", "minor", "CPU high on db-1", at=at(6)),
    ]
    expected = []
    for alert in alerts:
        try:
            expected.append(single.ingest_alert(
                alert.source, alert.dedup_key, alert.severity, alert.summary,
                service=alert.service, payload=alert.payload, at=alert.at))
        except AlertRejectedError as refused:
            expected.append(AlertOutcome(AlertOutcomeKind.REFUSED, alert.dedup_key, None,
                                         str(refused), refused.reason))
    outcomes = batched.ingest_alerts(alerts[:5]) + batched.ingest_alerts(alerts[5:])
    assert outcomes == expected
    assert [o.kind for o in outcomes] == [
        AlertOutcomeKind.OPENED, AlertOutcomeKind.FOLDED, AlertOutcomeKind.OPENED,
        AlertOutcomeKind.REFUSED, AlertOutcomeKind.FOLDED, AlertOutcomeKind.FOLDED,
        AlertOutcomeKind.REFUSED, AlertOutcomeKind.RESOLVED, AlertOutcomeKind.CLEARED,
        AlertOutcomeKind.OPENED]
    for desk in desks:
        assert desk.alert_statistics() == single.alert_statistics()
        assert [vars_of(g) for g in desk.alert_groups()] == [
            vars_of(g) for g in single.alert_groups()]
        assert [(i.snapshot(), desk.timeline(i.id)) for i in desk.list_incidents()] == [
            (i.snapshot(), single.timeline(i.id)) for i in single.list_incidents()]
