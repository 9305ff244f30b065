"""What incidents and problems share: recording events, versions, workflow checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from itil_incident.domain import _checks as check
from itil_incident.domain._time import utc_instant
from itil_incident.domain.events import DomainEvent
from itil_incident.domain.values import Actor
from itil_incident.errors import InvalidTransitionError, ValidationError

if TYPE_CHECKING:
    from itil_incident.domain.workflow import Workflow

__all__ = ["Entity"]

E = TypeVar("E", bound=DomainEvent)


@attrs.define(init=False, eq=False, repr=False, weakref_slot=False)
class Entity(Generic[E]):
    """An aggregate whose state is the fold of its events."""

    id: str
    workflow_name: str
    version: int
    status: str
    updated_at: datetime
    _workflow: Workflow
    _history: list[E]
    _saved_version: int

    def _init_entity(self, workflow: Workflow) -> None:
        self._workflow = workflow
        self._history = []
        self._saved_version = 0
        self.version = 0

    def _record(self, event: E) -> None:
        """The one place where state changes: apply, bump the version, append."""
        if event.version != self.version + 1:
            raise ValidationError(
                f"event version {event.version} does not follow version {self.version}",
                field="version",
            )
        event.apply(self)  # type: ignore[attr-defined]  # every concrete event defines apply
        self.version = event.version
        self._history.append(event)

    def _stamp(self, actor: Actor, at: datetime) -> tuple[Actor, datetime]:
        if type(actor) is not Actor:
            actor = check.actor(actor)
        if type(at) is not datetime or at.tzinfo is not UTC:
            at = utc_instant(at, "at")
        if at < self.updated_at:
            raise ValidationError(
                f"at ({at.isoformat()}) is before the last change of {self.id} "
                f"({self.updated_at.isoformat()}): history is never rewritten",
                field="at",
            )
        return actor, at

    def _fire(self, trigger: str, pending: Mapping[str, object] | None = None) -> str:
        """The target of ``trigger``, checking guards and the target's required fields against
        the values the entity would have (``pending`` over the current ones).

        The common case (no guard, required fields present) is answered here from the
        workflow's table; anything else goes through :meth:`Workflow.fire`, which raises the
        error that names the state, the trigger and what is allowed.
        """
        workflow = self._workflow
        entry = workflow._table.get((self.status, trigger))
        if entry is not None and not entry[1]:
            for name in entry[2]:
                if pending is not None and name in pending:
                    value = pending[name]
                else:
                    value = getattr(self, name, None)
                if value is None or value == "":
                    break
            else:
                return entry[0]
        return workflow.fire(self.status, trigger, self._lookup(pending or {}))

    def _lookup(self, values: Mapping[str, object]) -> Callable[[str], object]:
        def lookup(name: str) -> object:
            return values[name] if name in values else getattr(self, name, None)

        return lookup

    def _require_changeable(self, command: str) -> None:
        if self._workflow.is_terminal(self.status):
            raise InvalidTransitionError(
                self.status, command, (),
                reason=f"{self.id} is {self.status} and can no longer change",
            )

    def _require_open(self, command: str) -> None:
        self._require_changeable(command)
        if self._workflow.state(self.status).resolved:
            raise InvalidTransitionError(
                self.status, command, self._workflow.allowed(self.status, self._lookup_current),
                reason=f"{self.id} is resolved; reopen it first",
            )

    def _lookup_current(self, name: str) -> object:
        return getattr(self, name, None)

    def _check_history(self, event: object, first: type[E], base: type[E]) -> E:
        if not isinstance(event, base):
            raise ValidationError(f"not a {base.__name__}: {event!r}", field="events")
        if self.version == 0 and not isinstance(event, first):
            raise ValidationError(f"a history starts with {first.__name__}", field="events")
        if self.version and event.aggregate_id != self.id:
            raise ValidationError(f"event for {event.aggregate_id} in the history of {self.id}",
                                  field="events")
        return event

    # ----------------------------------------------------------------- reading

    @property
    def workflow(self) -> Workflow:
        """The workflow definition this record follows (shared, not copied)."""
        return self._workflow

    def timeline(self) -> tuple[E, ...]:
        """Every event, oldest first."""
        return tuple(self._history)

    def pending_events(self) -> tuple[E, ...]:
        """Events recorded since the record was loaded or last saved."""
        return tuple(self._history[self._saved_version:])

    @property
    def saved_version(self) -> int:
        """The version the repository holds: the expected version of the next save."""
        return self._saved_version

    def mark_saved(self) -> None:
        """Called by a repository once the pending events are stored."""
        self._saved_version = self.version

    @property
    def is_terminal(self) -> bool:
        """Closed or cancelled: it will never change again."""
        return self._workflow.is_terminal(self.status)

    @property
    def is_open(self) -> bool:
        """Neither resolved nor in a terminal state."""
        state = self._workflow.state(self.status)
        return not (state.terminal or state.resolved)

    def allowed_triggers(self) -> tuple[str, ...]:
        """The workflow triggers available in the current state."""
        return self._workflow.allowed(self.status, self._lookup_current)

    def snapshot(self) -> dict[str, Any]:
        """Every public field by name (for comparisons, exports and tests)."""
        return {
            f.name: getattr(self, f.name)
            for f in attrs.fields(type(self))
            if not f.name.startswith("_")
        }

    def clone(self) -> Any:
        """An independent copy sharing the (immutable) events; used by in-memory stores."""
        cls = type(self)
        copier = _COPIERS.get(cls) or _make_copier(cls)
        other = object.__new__(cls)
        copier(self, other)
        other._history = list(self._history)
        return other

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.id!r}, status={self.status!r}, "
                f"version={self.version})")


_COPIERS: dict[type, Callable[[Any, Any], None]] = {}


def _make_copier(cls: type) -> Callable[[Any, Any], None]:
    """A straight-line function copying every slot of ``cls`` (generated once per class, the
    way attrs generates ``__init__``): a loop of getattr/setattr costs five times as much."""
    names = [field.name for field in attrs.fields(cls)]
    if not all(name.isidentifier() for name in names):  # pragma: no cover - attrs guarantees it
        raise TypeError(f"unexpected field names on {cls.__name__}")
    body = "\n".join(f"    other.{name} = self.{name}" for name in names) or "    pass"
    namespace: dict[str, Any] = {}
    exec(f"def copy(self, other):\n{body}\n", namespace)  # names come from attrs fields
    copier: Callable[[Any, Any], None] = namespace["copy"]
    _COPIERS[cls] = copier
    return copier
