"""What every desk command shares: load, authorize, act, commit, notify."""

from __future__ import annotations

import copy
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar

from itil_incident._retry import NO_RETRY, RetryPolicy
from itil_incident.adapters.authorization import AllowAll
from itil_incident.adapters.clocks import SystemClock
from itil_incident.adapters.ids import SequentialIdFactory
from itil_incident.adapters.notifiers import NullNotifier
from itil_incident.alerts._store import AlertStore, InMemoryAlertStore
from itil_incident.domain import _checks as check
from itil_incident.domain._time import utc_instant
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor, CategoryPath
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import (
    ConcurrencyError,
    DefinitionError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.ports import Authorizer, Clock, IdFactory, Notifier, Repository

__all__ = ["DeskCore", "collection", "optional_id", "positive_limit", "state_names"]

_log = logging.getLogger("itil_incident.desk")

R = TypeVar("R", Incident, Problem)
T = TypeVar("T")


def _default_ids(repository: Repository) -> IdFactory:
    """The id factory of a desk given none: numbered by the database for a
    :class:`~itil_incident.adapters.sql.SqlRepository` (a
    :class:`~itil_incident.adapters.sql.SqlIdFactory`, so that every process goes on from the
    same counters), else a :class:`SequentialIdFactory` from 1."""
    if "itil_incident.adapters.sql" in sys.modules:  # else no SqlRepository exists
        from itil_incident.adapters.sql import SqlIdFactory, SqlRepository

        if isinstance(repository, SqlRepository):
            return SqlIdFactory.for_repository(repository)
    return SequentialIdFactory()


class DeskCore:
    """The service desk's plumbing; see :class:`itil_incident.ServiceDesk` for the commands."""

    #: The commands that the retry policy applies to (ServiceDesk lists them).
    RETRYABLE_COMMANDS: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        repository: Repository,
        *,
        policies: DeskPolicies | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
        ids: IdFactory | None = None,
        authorizer: Authorizer | None = None,
        retry: RetryPolicy | None = None,
        alert_store: AlertStore | None = None,
    ) -> None:
        if repository is None:
            raise DefinitionError("a service desk needs a repository (e.g. InMemoryRepository())",
                                  culprit="repository")
        for name, port, kind in (
            ("repository", repository, Repository),
            ("notifier", notifier, Notifier),
            ("clock", clock, Clock),
            ("ids", ids, IdFactory),
            ("authorizer", authorizer, Authorizer),
        ):
            if port is not None and not isinstance(port, kind):
                raise DefinitionError(
                    f"{name} does not implement the {kind.__name__} port "
                    f"(got {type(port).__name__})", culprit=name)
        if policies is not None and not isinstance(policies, DeskPolicies):
            raise DefinitionError("policies must be a DeskPolicies", culprit="policies")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise DefinitionError("retry must be a RetryPolicy", culprit="retry")
        self.repository = repository
        self.policies = policies or DeskPolicies()
        self.notifier: Notifier = notifier or NullNotifier()
        self.clock: Clock = clock or SystemClock()
        self.ids: IdFactory = ids or _default_ids(repository)
        self.authorizer: Authorizer = authorizer or AllowAll()
        self.retry: RetryPolicy = retry or NO_RETRY
        # monitoring alerts: the alert-group store, and one alert at a time per desk
        if alert_store is not None and not isinstance(alert_store, AlertStore):
            raise DefinitionError("alert_store does not implement the AlertStore port "
                                  f"(got {type(alert_store).__name__})", culprit="alert_store")
        self.alert_store: AlertStore = (InMemoryAlertStore() if alert_store is None
                                        else alert_store)
        self._alert_lock = threading.Lock()
        self._fold_outcomes: dict[str, Any] = {}
        self._open_reader: Any = None
        self._alert_names: set[str] = set()
        self._alert_summaries: set[str] = set()

    def with_retry(self, retry: RetryPolicy | None) -> Self:
        """This desk with another retry policy (None: no retry), on the same ports; this one
        is unchanged. For one call: ``desk.with_retry(RetryPolicy(attempts=5)).assign(...)``.
        """
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ValidationError(f"retry must be a RetryPolicy or None, got {retry!r}",
                                  field="retry")
        other = copy.copy(self)
        other.retry = retry or NO_RETRY
        return other

    # ----------------------------------------------------------------- plumbing

    def _now(self) -> datetime:
        return utc_instant(self.clock.now(), "clock.now()")

    def _authorize(self, actor: Actor, action: str, subject: Incident | Problem | None) -> None:
        if not self.authorizer.is_allowed(actor, action, subject):
            raise PermissionDeniedError(actor.id, action, None if subject is None else subject.id)

    def _commit(self, records: Sequence[Incident | Problem]) -> None:
        events: list[DomainEvent] = []
        for record in records:
            events.extend(record.pending_events())
        self.repository.commit(records)
        if not events:
            return
        try:
            self.notifier.notify(events)
        except Exception:  # the change is committed; a notifier failure must not hide that
            _log.exception("notifier failed for %d committed event(s)", len(events))

    def _incident(self, incident_id: object) -> Incident:
        if not isinstance(incident_id, str):
            raise NotFoundError("incident", repr(incident_id))
        return self.repository.get_incident(incident_id)

    def _problem(self, problem_id: object) -> Problem:
        if not isinstance(problem_id, str):
            raise NotFoundError("problem", repr(problem_id))
        return self.repository.get_problem(problem_id)

    def _attempt(self, action: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` (which loads, changes and commits); when ``action`` is retryable,
        run it again on a ConcurrencyError, as the retry policy allows.

        Each try loads the records afresh, so a retry applies the command to the state that
        won; if that state refuses the command, the refusal is raised. A try that raised
        committed nothing and notified nobody.
        """
        tries = self.retry.attempts if action in self.RETRYABLE_COMMANDS else 1
        failed = 0
        while True:
            try:
                return attempt()
            except ConcurrencyError as conflict:
                failed += 1
                if failed >= tries:
                    raise
                _log.info("%s met a concurrent change (%s); try %d of %d", action, conflict,
                          failed + 1, tries)
                self.retry.pause(failed)

    def _on_incident(
        self, action: str, incident_id: str, actor: Actor,
        change: Callable[[Incident, Actor, datetime], object],
    ) -> Incident:
        """Load, authorize, change through the entity, commit, notify; returns the incident.
        Retried on a concurrent change when ``action`` is retryable."""
        actor = check.actor(actor)

        def attempt() -> Incident:
            incident = self._incident(incident_id)
            self._authorize(actor, action, incident)
            change(incident, actor, self._now())
            self._commit([incident])
            return incident

        return self._attempt(action, attempt)

    def _on_problem(
        self, action: str, problem_id: str, actor: Actor,
        change: Callable[[Problem, Actor, datetime], object],
    ) -> Problem:
        actor = check.actor(actor)

        def attempt() -> Problem:
            problem = self._problem(problem_id)
            self._authorize(actor, action, problem)
            change(problem, actor, self._now())
            self._commit([problem])
            return problem

        return self._attempt(action, attempt)

    def _category(self, value: object) -> CategoryPath:
        if not isinstance(value, (str, CategoryPath)):
            raise ValidationError(f"category must be a path such as 'Network/VPN', got {value!r}",
                                  field="category")
        tree = self.policies.categories
        if tree is not None:
            return tree.validate(value)
        return CategoryPath.of(value)

    @staticmethod
    def _flag(value: object, field: str) -> bool:
        if type(value) is not bool:
            raise ValidationError(f"{field} must be True or False, got {value!r}", field=field)
        return value

# ----------------------------------------------------------------- query arguments


def collection(value: object, field: str) -> list[Any]:
    """A collection of values (not a string)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(f"{field} must be a value or a collection of values", field=field)
    return list(value)


def state_names(value: object, workflow: Workflow) -> frozenset[str] | None:
    """One state name or several, each a state of ``workflow``."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else collection(value, "status")
    names = frozenset(check.identifier(item, "status") for item in items)
    for name in names:
        workflow.state(name)
    return names


def optional_id(value: object, field: str) -> str | None:
    """None, or a single-line identifier."""
    return None if value is None else check.identifier(value, field)


def positive_limit(value: object) -> int | None:
    """None, or an integer >= 1."""
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise ValidationError(f"limit must be a positive integer, got {value!r}", field="limit")
    return value
