"""Shared fixtures: a frozen clock at a fixed aware instant, a desk over fakes, and actors.

Fixtures here are function scoped (a fresh desk per test). Hypothesis tests cannot use
function-scoped fixtures, so they build their own desk from the same parts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from itil_incident import (
    Actor,
    FrozenClock,
    InMemoryRepository,
    RecordingNotifier,
    SequentialIdFactory,
    ServiceDesk,
)

#: The instant every frozen clock starts at: Monday 5 January 2026, 09:00 UTC.
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock standing at :data:`T0` until a test moves it."""
    return FrozenClock(T0)


@pytest.fixture
def notifier() -> RecordingNotifier:
    """Records every event the desk hands over after a commit."""
    return RecordingNotifier()


@pytest.fixture
def repository() -> InMemoryRepository:
    return InMemoryRepository()


@pytest.fixture
def desk(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier
) -> ServiceDesk:
    """A desk with the default (ITIL) policies, in-memory storage and a recording notifier."""
    return ServiceDesk(
        repository, clock=clock, notifier=notifier, ids=SequentialIdFactory()
    )


@pytest.fixture
def agent() -> Actor:
    """A service-desk agent."""
    return Actor("alice", "Alice Agent", frozenset({"agent"}))


@pytest.fixture
def engineer() -> Actor:
    """A second-line engineer."""
    return Actor("bob", "Bob Engineer", frozenset({"agent", "engineer"}))


@pytest.fixture
def manager() -> Actor:
    """An incident manager (may override priorities)."""
    return Actor("mia", "Mia Manager", frozenset({"incident_manager"}))


@pytest.fixture
def caller() -> Actor:
    """An end user with no support role."""
    return Actor("carol", "Carol Caller", frozenset({"end_user"}))
