"""The library's errors.

Every error raised through the public API is an :class:`ItilIncidentError`; a refused command
changes nothing. Catch the base class to handle them all, or a subclass for one kind.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ConcurrencyError",
    "DefinitionError",
    "InvalidTransitionError",
    "ItilIncidentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ValidationError",
    "WorkflowDefinitionError",
]


class ItilIncidentError(Exception):
    """Base class of every error the library raises on purpose."""


class ValidationError(ItilIncidentError):
    """An argument or a field value is not acceptable.

    ``field`` names the offending argument or field when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DefinitionError(ItilIncidentError):
    """A policy or definition (matrix, category tree, routing table, ...) is malformed.

    ``culprit`` names the part of the definition at fault.
    """

    def __init__(self, message: str, *, culprit: str | None = None) -> None:
        super().__init__(message)
        self.culprit = culprit


class WorkflowDefinitionError(DefinitionError):
    """A workflow definition is malformed; ``culprit`` names the state or trigger at fault."""


class InvalidTransitionError(ItilIncidentError):
    """The workflow does not allow ``trigger`` in ``state`` (or a guard refused it).

    ``allowed`` lists the triggers that are allowed in ``state``.
    """

    def __init__(
        self, state: str, trigger: str, allowed: Iterable[str], *, reason: str | None = None
    ) -> None:
        self.state = state
        self.trigger = trigger
        self.allowed = tuple(allowed)
        self.reason = reason
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        message = f"cannot {trigger!r} in state {state!r}"
        if reason:
            message += f": {reason}"
        message += f" (allowed there: {allowed_text})"
        super().__init__(message)


class NotFoundError(ItilIncidentError):
    """No record of ``kind`` (``"incident"``, ``"problem"``, ...) has the id ``identifier``."""

    def __init__(self, kind: str, identifier: str) -> None:
        self.kind = kind
        self.identifier = identifier
        super().__init__(f"no {kind} with id {identifier!r}")


class ConcurrencyError(ItilIncidentError):
    """A record changed since it was loaded: its stored version is not the expected one.

    Reload the record and try the command again.
    """

    def __init__(self, identifier: str, expected: int, actual: int | None) -> None:
        self.identifier = identifier
        self.expected = expected
        self.actual = actual
        found = "it does not exist" if actual is None else f"found version {actual}"
        super().__init__(
            f"{identifier} was changed concurrently: expected version {expected}, {found}"
        )


class PermissionDeniedError(ItilIncidentError):
    """The authorizer refused ``action`` to the actor ``actor_id``."""

    def __init__(self, actor_id: str, action: str, subject: str | None = None) -> None:
        self.actor_id = actor_id
        self.action = action
        self.subject = subject
        on = f" on {subject}" if subject else ""
        super().__init__(f"{actor_id!r} is not allowed to {action}{on}")
