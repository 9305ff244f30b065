"""A small discrete-event engine for the demo: stories that wait, on a frozen clock.

A story is a generator that acts on the desk and then yields how long it waits (business time
on the office calendar, or wall time) before its next step. The engine runs every step in time
order (ties in the order they were planned), moving the frozen clock to each step's instant,
and runs ``process_due`` at every tick. The whole run is a function of the seed.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar

from itil_incident.adapters.clocks import FrozenClock
from itil_incident.adapters.memory import InMemoryRepository
from itil_incident.cli._defaults import OFFICE
from itil_incident.cli._demo_data import RESOLVERS
from itil_incident.desk import ServiceDesk
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor
from itil_incident.errors import ItilIncidentError
from itil_incident.ports import IncidentQuery, ProblemQuery, Repository

__all__ = ["MirroredRepository", "Simulation", "Story", "Wait", "minutes"]

T = TypeVar("T")


class Wait(NamedTuple):
    """How long a story waits before its next step: business time on the office calendar
    (people work office hours), or wall time (callers answer whenever)."""

    span: timedelta
    business: bool = True


Story = Generator[Wait, None, None]


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)


class MirroredRepository:
    """The demo's repository: each commit goes to ``store`` (the database), then to an
    in-memory mirror that serves every read.

    Valid for one writer on a fresh database, the demo's case: the mirror then holds exactly
    what the database holds, and reads skip decoding each history from JSON again (which would
    take most of the demo's time, with ``process_due`` every 30 simulated minutes).
    """

    def __init__(self, store: Repository) -> None:
        self.store = store
        self.mirror = InMemoryRepository()

    def commit(self, records: Sequence[Incident | Problem]) -> None:
        copies: list[Incident | Problem] = [record.clone() for record in records]
        self.store.commit(records)
        self.mirror.commit(copies)

    def get_incident(self, incident_id: str) -> Incident:
        return self.mirror.get_incident(incident_id)

    def get_problem(self, problem_id: str) -> Problem:
        return self.mirror.get_problem(problem_id)

    def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        return self.mirror.list_incidents(query)

    def list_problems(self, query: ProblemQuery) -> list[Problem]:
        return self.mirror.list_problems(query)

    def history_of(self, record_id: str) -> list[DomainEvent]:
        return self.mirror.history_of(record_id)

    def known_error_versions(self) -> Mapping[str, int]:
        return self.mirror.known_error_versions()


class Simulation:
    """Runs stories against a desk on a frozen clock, with ``process_due`` at every tick."""

    def __init__(self, desk: ServiceDesk, clock: FrozenClock, seed: int) -> None:
        self.desk = desk
        self.clock = clock
        self.rng = random.Random(seed)
        self.refused: list[str] = []
        self._agenda: list[tuple[datetime, int, Story]] = []
        self._order = itertools.count()

    # ----------------------------------------------------------------- the engine

    def begin(self, story: Story, at: datetime) -> None:
        """Plan ``story``: its first step runs at ``at``."""
        heapq.heappush(self._agenda, (at, next(self._order), story))

    def run(self, ticks: Sequence[datetime],
            progress: Callable[[int, int], None] | None = None) -> None:
        """Run every step up to each tick, then ``process_due`` at the tick."""
        for index, tick in enumerate(ticks):
            while self._agenda and self._agenda[0][0] <= tick:
                when, _, story = heapq.heappop(self._agenda)
                if when > self.clock.now():
                    self.clock.set(when)
                self._step(story)
            self.clock.set(tick)
            self.desk.process_due()
            if progress is not None:
                progress(index + 1, len(ticks))

    def _step(self, story: Story) -> None:
        try:
            wait = next(story)
        except StopIteration:
            return
        except ItilIncidentError as error:  # a story that went wrong ends; the week goes on
            self.refused.append(str(error))
            return
        now = self.clock.now()
        when = OFFICE.add(now, wait.span) if wait.business else now + wait.span
        heapq.heappush(self._agenda, (when, next(self._order), story))

    # ----------------------------------------------------------------- helpers for stories

    def pick(self, weighted: Sequence[tuple[T, int]]) -> T:
        """One of the values, by weight."""
        values = [value for value, _ in weighted]
        return self.rng.choices(values, weights=[weight for _, weight in weighted])[0]

    def incident(self, incident_id: str) -> Incident:
        return self.desk.get_incident(incident_id)

    def worker(self, incident_id: str, preferred: str | None = None) -> Actor:
        """Whoever works on the incident now: its assignee, else ``preferred`` when in the
        group, else someone of its group, who then takes it (an assignment)."""
        incident = self.incident(incident_id)
        if incident.assignee is not None:
            return Actor(incident.assignee)
        people = RESOLVERS.get(incident.assignment_group or "", RESOLVERS["Service Desk"])
        person = preferred if preferred in people else self.rng.choice(people)
        self.desk.assign(incident_id, actor=Actor(person), assignee=person)
        return Actor(person)
