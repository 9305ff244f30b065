"""The child-process worker of the id-numbering tests (``test_sql_ids.py``): a module-level
function of a light module, so that processes started with the ``spawn`` method can import it.
"""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import TYPE_CHECKING

from itil_incident import Actor, FrozenClock, NullNotifier, ServiceDesk
from itil_incident.adapters.sql import SqlIdFactory

if TYPE_CHECKING:  # mypy names the helper module after its path
    from tests.integration import _sql_support as support
else:  # pytest puts tests/integration on sys.path (rootdir-relative "prepend" import)
    import _sql_support as support

#: What a worker reports: (worker number, incident ids, problem ids, errors).
Report = tuple[int, list[str], list[str], list[str]]


def log_records(database: support.Database, number: int, incidents: int, problems_every: int,
                block: int | None, barrier: Barrier, results: Queue[Report]) -> None:
    """Log ``incidents`` incidents through a desk of its own (and open a problem before every
    ``problems_every``-th one, 0: none), started together with the other workers. ``block``
    None: the desk's default id factory; else a :class:`SqlIdFactory` reserving that many
    numbers at a time. Reports the ids it got and any error (the test expects none)."""
    repository = database.repository()
    ids = None if block is None else SqlIdFactory(repository.engine, block=block)
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(support.T0),
                       ids=ids)
    actor = Actor(f"worker-{number}", f"Worker {number}", frozenset({"agent"}))
    logged: list[str] = []
    opened: list[str] = []
    errors: list[str] = []
    barrier.wait(timeout=60)
    for command in range(incidents):
        try:
            if problems_every and command % problems_every == 0:
                opened.append(desk.open_problem(
                    actor=actor, title=f"Problem {command} of worker {number}").id)
            logged.append(desk.log_incident(
                actor=actor, title=f"Incident {command} of worker {number}").id)
        except Exception as exc:  # reported to the test, which expects none
            errors.append(f"{type(exc).__name__}: {exc}")
    repository.engine.dispose()
    results.put((number, logged, opened, errors))
