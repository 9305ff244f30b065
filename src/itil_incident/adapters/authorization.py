"""Authorizers: allow everything (the default, and it says so), or decide by role."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from itil_incident.domain.incident import Incident
from itil_incident.domain.problem import Problem
from itil_incident.domain.values import Actor
from itil_incident.errors import DefinitionError

__all__ = ["AllowAll", "RoleBasedAuthorizer"]


class AllowAll:
    """Allows every actor every command. This is the desk's default: it performs no access
    control at all, so give the desk a real authorizer wherever people with different rights
    use it."""

    def is_allowed(self, actor: Actor, action: str, subject: Incident | Problem | None) -> bool:
        """Always True."""
        return True


class RoleBasedAuthorizer:
    """Allows an action to actors holding one of the roles listed for it.

    ``rules`` maps a desk command name (``"resolve"``, ``"override_priority"``, ...) to the roles
    allowed to run it; ``"*"`` as a key gives the roles for every command not listed. A command
    with no rule (and no ``"*"``) is refused. Actors with an ``admin_role`` may do everything.
    """

    def __init__(self, rules: Mapping[str, Collection[str]], *, admin_role: str | None = "admin"
                 ) -> None:
        checked: dict[str, frozenset[str]] = {}
        for action, roles in rules.items():
            if not isinstance(action, str) or not action:
                raise DefinitionError(f"invalid action {action!r}", culprit=str(action))
            if isinstance(roles, str):
                raise DefinitionError(f"roles for {action!r} must be a collection, not a string",
                                      culprit=action)
            checked[action] = frozenset(roles)
        self._rules = checked
        self._admin_role = admin_role

    def is_allowed(self, actor: Actor, action: str, subject: Incident | Problem | None) -> bool:
        """Whether one of the actor's roles is allowed ``action``."""
        if self._admin_role is not None and self._admin_role in actor.roles:
            return True
        roles = self._rules.get(action, self._rules.get("*"))
        return roles is not None and not roles.isdisjoint(actor.roles)
