"""Who hears of what: subscription rules and the directory that turns people into addresses.

A :class:`Subscription` names event patterns (``"incident.resolved"``, ``"incident.*"``,
``"*"``), recipients relative to the incident (its caller, assignee, assignment group), fixed
recipients (a role's stakeholders, an address), an optional set of priority levels it is
limited to, and a template. :meth:`SubscriptionRules.recipients_for` is pure: it says who, by
id; a :class:`Directory` (the host's, or :class:`StaticDirectory`) says at which addresses.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import attrs

from itil_incident.domain.events import DomainEvent
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import Priority
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.notifications._headers import check_header, parse_mailbox
from itil_incident.notifications._view import snapshot

__all__ = [
    "Addressee",
    "Directory",
    "Recipient",
    "RecipientKind",
    "StaticDirectory",
    "Subscription",
    "SubscriptionRules",
    "event_matches",
]

_PATTERN = re.compile(r"\*|[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*(?:\.\*)?")


def _check_pattern(pattern: object) -> str:
    if not isinstance(pattern, str) or _PATTERN.fullmatch(pattern) is None:
        raise DefinitionError(
            f"event pattern must be a dotted name such as 'incident.resolved', "
            f"optionally ending in '.*', or '*'; got {pattern!r}", culprit="events")
    return pattern


def event_matches(pattern: str, name: str) -> bool:
    """Whether the event ``name`` matches ``pattern`` (``*`` alone, or a trailing ``.*``)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    return name == pattern


class RecipientKind(enum.StrEnum):
    """Whom a :class:`Recipient` designates."""

    CALLER = "caller"
    ASSIGNEE = "assignee"
    GROUP = "group"
    ROLE = "role"
    ADDRESS = "address"
    # duplicates: the people watching the incident (callers of its duplicates)
    WATCHERS = "watchers"


#: The incident field each incident-relative kind reads.
_RELATIVE = {
    RecipientKind.CALLER: "caller",
    RecipientKind.ASSIGNEE: "assignee",
    RecipientKind.GROUP: "assignment_group",
}


@attrs.frozen
class Recipient:
    """The incident's caller, assignee or assignment group, a role, or a fixed address.

    Build one with :meth:`caller`, :meth:`assignee`, :meth:`group`, :meth:`role` or
    :meth:`address`; ``value`` holds the role name or the address.
    """

    kind: RecipientKind
    value: str | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.kind, RecipientKind):
            raise DefinitionError(f"unknown recipient kind {self.kind!r}", culprit="recipients")
        if self.kind in _RELATIVE or self.kind is RecipientKind.WATCHERS:
            if self.value is not None:
                raise DefinitionError(f"a {self.kind} recipient takes no value",
                                      culprit="recipients")
            return
        if not isinstance(self.value, str) or not self.value.strip():
            raise DefinitionError(f"a {self.kind} recipient needs a value", culprit="recipients")
        try:
            if self.kind is RecipientKind.ADDRESS:
                parse_mailbox(self.value, "address")
            else:
                check_header(self.value, "role")
        except ValidationError as exc:
            raise DefinitionError(str(exc), culprit="recipients") from exc

    @classmethod
    def caller(cls) -> Recipient:
        """The incident's caller."""
        return cls(RecipientKind.CALLER)

    @classmethod
    def assignee(cls) -> Recipient:
        """The incident's assignee (nobody while unassigned)."""
        return cls(RecipientKind.ASSIGNEE)

    @classmethod
    def group(cls) -> Recipient:
        """The incident's assignment group."""
        return cls(RecipientKind.GROUP)

    @classmethod
    def watchers(cls) -> Recipient:
        """The incident's watchers (``Incident.watchers``: the callers of its duplicates),
        each addressed as a caller is (:attr:`RecipientKind.CALLER`, by person id)."""
        return cls(RecipientKind.WATCHERS)

    @classmethod
    def role(cls, name: str) -> Recipient:
        """The holders of ``name``, such as ``"major_incident_manager"`` (stakeholders)."""
        return cls(RecipientKind.ROLE, name)

    @classmethod
    def address(cls, address: str) -> Recipient:
        """A fixed address, such as ``"noc@example.org"``."""
        return cls(RecipientKind.ADDRESS, address)


def _patterns(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DefinitionError("events must be a tuple of event patterns", culprit="events")
    patterns = tuple(_check_pattern(item) for item in value)
    if not patterns:
        raise DefinitionError("a subscription needs at least one event pattern",
                              culprit="events")
    return patterns


def _recipients(value: object) -> tuple[Recipient, ...]:
    if not isinstance(value, Iterable) or isinstance(value, (str, Recipient)):
        raise DefinitionError("recipients must be a tuple of Recipient", culprit="recipients")
    recipients = tuple(value)
    if not recipients or not all(isinstance(item, Recipient) for item in recipients):
        raise DefinitionError("recipients must be a non-empty tuple of Recipient",
                              culprit="recipients")
    return recipients


def _priorities(value: object) -> frozenset[int] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError("priorities must be a set of priority levels",
                              culprit="priorities")
    levels: set[int] = set()
    for item in value:
        level = item.level if isinstance(item, Priority) else item
        if type(level) is not int or level < 1:
            raise DefinitionError(f"priority levels are integers >= 1, got {item!r}",
                                  culprit="priorities")
        levels.add(level)
    if not levels:
        raise DefinitionError("priorities must not be empty (None means every priority)",
                              culprit="priorities")
    return frozenset(levels)


def _template_name(value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise DefinitionError(f"template must be a template name, got {value!r}",
                              culprit="template")
    return value


@attrs.frozen
class Subscription:
    """``recipients`` hear of the events matching ``events``.

    ``priorities`` limits it to incidents of those priority levels (stakeholders of a priority);
    None means every priority. ``template`` names the template to render; None means the
    template named after the event, or the template set's ``"default"`` one.
    """

    events: tuple[str, ...] = attrs.field(converter=_patterns)
    recipients: tuple[Recipient, ...] = attrs.field(converter=_recipients)
    priorities: frozenset[int] | None = attrs.field(default=None, converter=_priorities)
    template: str | None = attrs.field(default=None, converter=_template_name)

    def matches(self, event_name: str, priority: int | None) -> bool:
        """Whether an event named ``event_name`` on an incident of ``priority`` is covered."""
        if self.priorities is not None and priority not in self.priorities:
            return False
        return any(event_matches(pattern, event_name) for pattern in self.events)


@attrs.frozen
class Addressee:
    """Someone to notify, by id: ``key`` is the caller or assignee id, the group or role name,
    or the address; ``template`` is the subscription's template (None: by event name)."""

    kind: RecipientKind
    key: str
    template: str | None


class SubscriptionRules:
    """An ordered list of subscriptions; the first one that names someone decides the template
    that person gets."""

    def __init__(self, subscriptions: Iterable[Subscription]) -> None:
        listed = tuple(subscriptions) if isinstance(subscriptions, Iterable) else None
        if listed is None or not all(isinstance(item, Subscription) for item in listed):
            raise DefinitionError("SubscriptionRules takes Subscription objects",
                                  culprit="subscriptions")
        self._subscriptions = listed

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The subscriptions, in order."""
        return self._subscriptions

    def template_names(self) -> frozenset[str]:
        """The templates the subscriptions name explicitly."""
        return frozenset(s.template for s in self._subscriptions if s.template is not None)

    def recipients_for(self, event: DomainEvent, incident: Incident) -> list[Addressee]:
        """Who hears of ``event`` on ``incident``, each once, in subscription order.

        Recipients relative to the incident resolve against its state as of the event; one
        that is unset (no assignee yet) is skipped. Watchers are the incident's current ones,
        each addressed as a caller.
        """
        values = snapshot(event, incident)
        priority = values["priority"]
        level = priority.level if isinstance(priority, Priority) else None
        found: dict[tuple[RecipientKind, str], Addressee] = {}
        for subscription in self._subscriptions:
            if not subscription.matches(event.name, level):
                continue
            for recipient in subscription.recipients:
                if recipient.kind is RecipientKind.WATCHERS:
                    for watcher in incident.watchers:
                        if (RecipientKind.CALLER, watcher) not in found:
                            found[RecipientKind.CALLER, watcher] = Addressee(
                                RecipientKind.CALLER, watcher, subscription.template)
                    continue
                field = _RELATIVE.get(recipient.kind)
                key = recipient.value if field is None else values[field]
                if isinstance(key, str) and key and (recipient.kind, key) not in found:
                    found[recipient.kind, key] = Addressee(
                        recipient.kind, key, subscription.template)
        return list(found.values())

    @classmethod
    def defaults(
        cls, *, stakeholder_role: str = "major_incident_manager",
        stakeholder_priorities: Iterable[int] = (1,),
    ) -> SubscriptionRules:
        """ITIL-style defaults: the caller, and the watchers (callers of duplicates), hear of
        logging, holds, resolution, closure, reopening and cancellation; the assignee of
        assignment, escalation, reopening and priority changes; the group of logging,
        assignment, escalation and reopening; holders of ``stakeholder_role`` of every change
        to incidents of ``stakeholder_priorities``."""
        return cls([
            Subscription(
                ("incident.logged", "incident.put_on_hold", "incident.resolved",
                 "incident.closed", "incident.reopened", "incident.cancelled"),
                (Recipient.caller(), Recipient.watchers())),
            Subscription(
                ("incident.assigned", "incident.escalated", "incident.reopened",
                 "incident.reprioritized", "incident.priority_overridden"),
                (Recipient.assignee(),)),
            Subscription(
                ("incident.logged", "incident.assigned", "incident.escalated",
                 "incident.reopened"),
                (Recipient.group(),)),
            Subscription(("incident.*",), (Recipient.role(stakeholder_role),),
                         priorities=frozenset(stakeholder_priorities)),
        ])


@runtime_checkable
class Directory(Protocol):
    """Tells the e-mail addresses of people, groups and roles; the host implements it.

    Contract: ``addresses_for(kind, key)`` returns the addresses (``user@example.org`` or
    ``Name <user@example.org>``) of the caller or assignee with id ``key``, the members of the
    group or the holders of the role named ``key``; an empty sequence when it knows none. It
    is not called for :attr:`RecipientKind.ADDRESS`. Every address is checked before use.
    """

    def addresses_for(self, kind: RecipientKind, key: str) -> Sequence[str]:
        """The addresses of ``key``."""
        ...


def _address_map(value: Mapping[str, str | Sequence[str]] | None, culprit: str
                 ) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DefinitionError(f"{culprit} must map names to addresses", culprit=culprit)
    result: dict[str, tuple[str, ...]] = {}
    for key, addresses in value.items():
        listed = (addresses,) if isinstance(addresses, str) else tuple(addresses)
        try:
            for address in listed:
                parse_mailbox(address, f"{culprit}[{key!r}]")
        except ValidationError as exc:
            raise DefinitionError(str(exc), culprit=culprit) from exc
        result[key] = listed
    return result


class StaticDirectory:
    """A :class:`Directory` from mappings: ``people`` (caller and assignee ids), ``groups`` and
    ``roles``, each name to one address or several. Addresses are checked when it is built."""

    def __init__(
        self, *, people: Mapping[str, str | Sequence[str]] | None = None,
        groups: Mapping[str, str | Sequence[str]] | None = None,
        roles: Mapping[str, str | Sequence[str]] | None = None,
    ) -> None:
        people_map = _address_map(people, "people")
        self._maps = {
            RecipientKind.CALLER: people_map,
            RecipientKind.ASSIGNEE: people_map,
            RecipientKind.GROUP: _address_map(groups, "groups"),
            RecipientKind.ROLE: _address_map(roles, "roles"),
        }

    def addresses_for(self, kind: RecipientKind, key: str) -> Sequence[str]:
        """The addresses of ``key`` (none when unknown)."""
        if kind is RecipientKind.ADDRESS:
            return (key,)
        return self._maps.get(kind, {}).get(key, ())
