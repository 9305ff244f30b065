"""The SQL repository honours the Repository contract, on a SQLite file and on PostgreSQL.

PostgreSQL tests need ``ITIL_INCIDENT_POSTGRES_URL`` (``.ci/run`` sets it); each test works in
its own, uniquely named schema (``search_path``), dropped afterwards, so that concurrent runs
against one server never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from itil_incident import Repository
from itil_incident.adapters.sql import SqlRepository, create_schema
from itil_incident.testing import RepositoryContract

POSTGRES_URL = os.environ.get("ITIL_INCIDENT_POSTGRES_URL", "")
requires_postgres = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="PostgreSQL tests need ITIL_INCIDENT_POSTGRES_URL, e.g. "
           "postgresql+psycopg://postgres@127.0.0.1:5432/test (.ci/run sets it)",
)


@pytest.fixture(scope="module")
def postgres_admin() -> Iterator[sa.Engine]:
    """An engine on the test database's default schema, with pg_trgm installed in public."""
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        # Installed once per database, in public (on every test schema's search_path).
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
    yield engine
    engine.dispose()


def postgres_repository(admin: sa.Engine) -> tuple[SqlRepository, str]:
    """A repository with the schema created in a new schema of its own."""
    name = f"itil_sql_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    engine = sa.create_engine(POSTGRES_URL,
                              connect_args={"options": f"-csearch_path={name},public"})
    create_schema(engine)
    repository = SqlRepository(engine)
    return repository, name


def drop_postgres_repository(admin: sa.Engine, repository: SqlRepository, name: str) -> None:
    repository.engine.dispose()
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')


class TestSqliteRepository(RepositoryContract):
    """A SQLite file per test, in the test's temporary directory."""

    _directory: Path
    _made: list[SqlRepository]

    @pytest.fixture(autouse=True)
    def _storage(self, tmp_path: Path) -> Iterator[None]:
        self._directory = tmp_path
        self._made = []
        yield
        for repository in self._made:
            repository.close()

    def make_repository(self) -> Repository:
        path = self._directory / f"desk-{len(self._made)}.db"
        repository = SqlRepository.from_url(f"sqlite:///{path}")
        create_schema(repository.engine)
        self._made.append(repository)
        return repository


@requires_postgres
class TestPostgresRepository(RepositoryContract):
    """A schema of its own per repository on the PostgreSQL server."""

    _admin: sa.Engine
    _made: list[tuple[SqlRepository, str]]

    @pytest.fixture(autouse=True)
    def _storage(self, postgres_admin: sa.Engine) -> Iterator[None]:
        self._admin = postgres_admin
        self._made = []
        yield
        for repository, name in self._made:
            drop_postgres_repository(postgres_admin, repository, name)

    def make_repository(self) -> Repository:
        repository, name = postgres_repository(self._admin)
        self._made.append((repository, name))
        return repository
