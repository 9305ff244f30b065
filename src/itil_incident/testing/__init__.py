"""What a host needs to unit-test its own ITIL rules and adapters against this library.

- Fakes that implement the ports without infrastructure: :class:`InMemoryRepository`,
  :class:`RecordingNotifier`, :class:`FrozenClock`, :class:`SequentialIdFactory`,
  :class:`AllowAll`; :func:`make_desk` wires them into a ready :class:`~itil_incident.ServiceDesk`.
- :mod:`~itil_incident.testing.strategies`: Hypothesis strategies for the domain types and random
  desk commands.
- :class:`RepositoryContract`: the Repository contract as a pytest test class; test your own
  repository with a two-line subclass that supplies ``make_repository()``.
- :class:`DeskStateMachine`: a Hypothesis state machine that drives a desk with random commands
  and checks it against a simple model of the default incident lifecycle.

This package needs the ``testing`` extra (pytest and Hypothesis)::

    pip install 'itil-incident[testing]'

Importing it without them raises an :class:`ImportError` that says so.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401  # imported only to check that the extra is installed
    import pytest  # noqa: F401  # imported only to check that the extra is installed
except ImportError as missing:  # pragma: no cover - exercised in an environment without them
    raise ImportError(
        "itil_incident.testing needs pytest and hypothesis "
        f"({missing.name or 'one of them'} is missing); "
        "install them with: pip install 'itil-incident[testing]'"
    ) from missing

from datetime import UTC, datetime

from itil_incident.adapters.authorization import AllowAll
from itil_incident.adapters.clocks import FrozenClock
from itil_incident.adapters.ids import SequentialIdFactory
from itil_incident.adapters.memory import InMemoryRepository
from itil_incident.adapters.notifiers import RecordingNotifier
from itil_incident.desk import ServiceDesk
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.ports import Authorizer, IdFactory, Notifier, Repository
from itil_incident.testing import strategies
from itil_incident.testing.contract import RepositoryContract
from itil_incident.testing.stateful import DeskStateMachine

__all__ = [
    "AllowAll",
    "DEFAULT_START",
    "DeskStateMachine",
    "FrozenClock",
    "InMemoryRepository",
    "RecordingNotifier",
    "RepositoryContract",
    "SequentialIdFactory",
    "make_desk",
    "strategies",
]

#: Where :func:`make_desk`'s clock starts when none is given: Monday 5 January 2026, 09:00 UTC.
DEFAULT_START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def make_desk(
    *,
    repository: Repository | None = None,
    policies: DeskPolicies | None = None,
    clock: FrozenClock | None = None,
    notifier: Notifier | None = None,
    ids: IdFactory | None = None,
    authorizer: Authorizer | None = None,
) -> ServiceDesk:
    """A service desk on fakes, for tests: each port not given is a fresh fake.

    The repository is an :class:`InMemoryRepository`, the clock a :class:`FrozenClock` standing
    at :data:`DEFAULT_START` (keep a reference to the clock you pass to move it), the notifier a
    :class:`RecordingNotifier`, ids come from a :class:`SequentialIdFactory` and the authorizer
    is :class:`AllowAll`. ``policies`` defaults to ``DeskPolicies()``.

    >>> from itil_incident import Actor
    >>> desk = make_desk()
    >>> desk.log_incident(actor=Actor("alice"), title="Printer jams").id
    'INC0000001'
    """
    return ServiceDesk(
        repository if repository is not None else InMemoryRepository(),
        policies=policies,
        clock=clock if clock is not None else FrozenClock(DEFAULT_START),
        notifier=notifier if notifier is not None else RecordingNotifier(),
        ids=ids if ids is not None else SequentialIdFactory(),
        authorizer=authorizer if authorizer is not None else AllowAll(),
    )

