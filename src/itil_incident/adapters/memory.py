"""The in-memory repository: a complete, thread-safe implementation of the Repository port."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.errors import ConcurrencyError, NotFoundError, ValidationError
from itil_incident.ports import IncidentQuery, ProblemQuery

__all__ = ["InMemoryRepository"]


class InMemoryRepository:
    """Keeps incidents and problems in dictionaries.

    It honours the whole repository contract: independent copies in and out, optimistic
    concurrency on the expected version, all-or-nothing commits. Use it in tests, prototypes and
    single-process tools; it forgets everything when the process ends.
    """

    def __init__(self) -> None:
        self._incidents: dict[str, Incident] = {}
        self._problems: dict[str, Problem] = {}
        self._open: set[str] = set()  # the ids of the open incidents (is_incident_open)
        self._lock = threading.Lock()
        # known errors: the id and version of each open one, kept up to date by commit
        self._open_known_errors: dict[str, int] = {}

    def get_incident(self, incident_id: str) -> Incident:
        """A copy of the stored incident; NotFoundError when there is none."""
        stored = self._incidents.get(incident_id) if isinstance(incident_id, str) else None
        if stored is None:
            raise NotFoundError("incident", str(incident_id))
        clone: Incident = stored.clone()
        return clone

    def get_problem(self, problem_id: str) -> Problem:
        """A copy of the stored problem; NotFoundError when there is none."""
        stored = self._problems.get(problem_id) if isinstance(problem_id, str) else None
        if stored is None:
            raise NotFoundError("problem", str(problem_id))
        clone: Problem = stored.clone()
        return clone

    def commit(self, records: Sequence[Incident | Problem]) -> None:
        """Store every record's new state, or none of them (ConcurrencyError)."""
        with self._lock:
            seen: set[str] = set()
            for record in records:
                if not isinstance(record, (Incident, Problem)):
                    raise ValidationError(f"cannot store {type(record).__name__}",
                                          field="records")
                if record.id in seen:
                    raise ValidationError(f"{record.id} appears twice in one commit",
                                          field="records")
                seen.add(record.id)
                stored = self._store_for(record).get(record.id)
                actual = 0 if stored is None else stored.version
                if actual != record.saved_version:
                    raise ConcurrencyError(record.id, record.saved_version,
                                           None if stored is None else actual)
            for record in records:
                if record.version != record.saved_version:
                    record.mark_saved()
                    self._store_for(record)[record.id] = record.clone()
                    if isinstance(record, Problem):
                        if record.known_error and record.is_open:
                            self._open_known_errors[record.id] = record.version
                        else:
                            self._open_known_errors.pop(record.id, None)
                    elif record.is_open:
                        self._open.add(record.id)
                    else:
                        self._open.discard(record.id)

    def _store_for(self, record: Incident | Problem) -> dict[str, Incident | Problem]:
        store: dict[str, Incident | Problem]
        store = self._incidents if isinstance(record, Incident) else self._problems  # type: ignore[assignment]  # dict is invariant; records go to their own kind's store
        return store

    def list_incidents(self, query: IncidentQuery) -> list[Incident]:
        """Copies of the matching incidents, in the query's order, after its cursor."""
        if not isinstance(query, IncidentQuery):
            raise ValidationError("query must be an IncidentQuery", field="query")
        with self._lock:
            stored = list(self._incidents.values())
        found = [incident for incident in stored
                 if query.matches(incident) and query.is_after_cursor(incident)]
        found.sort(key=query.sort_key, reverse=query.descending)
        return [incident.clone() for incident in found[:query.limit]]

    def list_problems(self, query: ProblemQuery) -> list[Problem]:
        """Copies of the matching problems, in the query's order, after its cursor."""
        if not isinstance(query, ProblemQuery):
            raise ValidationError("query must be a ProblemQuery", field="query")
        with self._lock:
            stored = list(self._problems.values())
        found = [problem for problem in stored
                 if query.matches(problem) and query.is_after_cursor(problem)]
        found.sort(key=query.sort_key, reverse=query.descending)
        return [problem.clone() for problem in found[:query.limit]]

    def history_of(self, record_id: str) -> list[DomainEvent]:
        """The stored events of an incident or problem, oldest first."""
        if not isinstance(record_id, str):
            raise NotFoundError("record", repr(record_id))
        record: Incident | Problem | None = self._incidents.get(record_id)
        if record is None:
            record = self._problems.get(record_id)
        if record is None:
            raise NotFoundError("record", str(record_id))
        return list(record.timeline())

    def __len__(self) -> int:
        return len(self._incidents) + len(self._problems)

    # monitoring alerts: a cheap check that needs no copy
    def is_incident_open(self, incident_id: str) -> bool:
        """Whether the incident exists and is neither resolved nor closed or cancelled."""
        return type(incident_id) is str and incident_id in self._open

    # known errors: what the desk matches new incidents against, without copying problems
    def known_error_versions(self) -> dict[str, int]:
        """The id and version of every open known error (a problem marked known error that
        is neither resolved nor closed or cancelled), as a new dictionary."""
        with self._lock:
            return dict(self._open_known_errors)
