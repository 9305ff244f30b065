"""The in-memory repository honours the Repository contract."""

from __future__ import annotations

from itil_incident import InMemoryRepository, Repository
from itil_incident.testing import RepositoryContract


class TestInMemoryRepository(RepositoryContract):
    def make_repository(self) -> Repository:
        return InMemoryRepository()
