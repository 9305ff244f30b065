"""The major-incident policy: when an incident is proposed as major, who decides, which roles
it has, how often its status is communicated, and whether a review must precede its closure.

An incident is proposed as major automatically (by the desk, when it is logged or its priority,
impact, urgency or service changes) when the policy says so:

- **priority**: its priority level is one of ``priorities``;
- **service**: its service is one of ``critical_services``;
- **cluster**: with a :class:`ClusterRule`, when it makes ``threshold`` or more open incidents
  on one service or one configuration item logged within ``window`` (checked when it is
  logged).

Anyone may propose an incident by hand, with a reason. Only an actor holding
``manager_role`` accepts or rejects a proposal. Every decision here is a pure function of its
arguments.

>>> from datetime import timedelta
>>> policy = MajorIncidentPolicy(priorities={1}, critical_services={"payroll"})
>>> policy.proposal_for(priority=1, service=None).basis
<MajorBasis.PRIORITY: 'priority'>
>>> policy.proposal_for(priority=3, service="payroll").basis
<MajorBasis.SERVICE: 'service'>
>>> policy.proposal_for(priority=3, service="printing") is None
True
>>> policy.cadence_for(1)
datetime.timedelta(seconds=1800)
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

import attrs

from itil_incident.domain.major import MajorBasis, MajorStatus
from itil_incident.errors import DefinitionError, ValidationError

__all__ = [
    "DEFAULT_CADENCE",
    "DEFAULT_MAJOR_ROLES",
    "ClusterRule",
    "LoggedIncident",
    "MajorIncidentPolicy",
    "MajorProposal",
]

#: The roles a major incident has unless the policy names others.
DEFAULT_MAJOR_ROLES: Final = ("commander", "communications_lead", "scribe", "resolver_group")
#: How often the status of a major incident is communicated, by priority level.
DEFAULT_CADENCE: Final = types.MappingProxyType(
    {1: timedelta(minutes=30), 2: timedelta(minutes=60)})


class LoggedIncident(Protocol):
    """What the cluster rule reads of an incident (an :class:`~itil_incident.Incident` has
    it all)."""

    @property
    def id(self) -> str: ...
    @property
    def logged_at(self) -> datetime: ...
    @property
    def service(self) -> str | None: ...
    @property
    def configuration_items(self) -> tuple[str, ...]: ...
    @property
    def major_status(self) -> MajorStatus | None: ...


@attrs.frozen
class MajorProposal:
    """Why the policy proposes an incident as major: the ``basis``, a ``reason`` in words,
    and the ids of related incidents as ``evidence`` (for a cluster)."""

    basis: MajorBasis
    reason: str
    evidence: tuple[str, ...] = ()


def _positive_duration(instance: object, attribute: attrs.Attribute[Any], value: object
                       ) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise DefinitionError(f"{type(instance).__name__}.{attribute.name} must be a positive "
                              f"timedelta, got {value!r}", culprit=attribute.name)


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:
        raise DefinitionError(f"{type(instance).__name__}.{attribute.name} must be True or "
                              f"False, got {value!r}", culprit=attribute.name)


def _threshold(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 2:
        raise DefinitionError(f"a cluster threshold must be an integer >= 2 (one incident is "
                              f"no cluster), got {value!r}", culprit="threshold")


@attrs.frozen(kw_only=True)
class ClusterRule:
    """Propose an incident as major when, with it, ``threshold`` or more open incidents on
    the same service (``by_service``) or the same configuration item
    (``by_configuration_item``) were logged within ``window`` (up to the moment it was
    logged).

    >>> from datetime import timedelta
    >>> ClusterRule(threshold=3, window=timedelta(minutes=30)).describe()
    '3 or more open incidents on one service or configuration item within 0:30:00'
    """

    threshold: int = attrs.field(validator=_threshold)
    window: timedelta = attrs.field(validator=_positive_duration)
    by_service: bool = attrs.field(default=True, validator=_flag)
    by_configuration_item: bool = attrs.field(default=True, validator=_flag)

    def __attrs_post_init__(self) -> None:
        if not (self.by_service or self.by_configuration_item):
            raise DefinitionError("a cluster rule must group by service, by configuration "
                                  "item or both", culprit="by_service")

    def describe(self) -> str:
        """The rule in words."""
        what = " or ".join(name for name, on in (("service", self.by_service),
                                                 ("configuration item",
                                                  self.by_configuration_item)) if on)
        return f"{self.threshold} or more open incidents on one {what} within {self.window}"

    def cluster(self, incident: LoggedIncident, others: Iterable[LoggedIncident]
                ) -> MajorProposal | None:
        """The proposal for ``incident`` when it completes a cluster among ``others`` (the
        open incidents; ``incident`` itself among them is ignored), else None.

        The service is looked at first, then each configuration item in order; the evidence
        lists the other incidents of the first cluster found, by id. A cluster that holds an
        incident already proposed or accepted as major proposes nothing: the new incident
        belongs to that major incident rather than starting another.
        """
        start = incident.logged_at - self.window
        keys: list[tuple[str, str]] = []
        if self.by_service and incident.service is not None:
            keys.append(("service", incident.service))
        if self.by_configuration_item:
            keys.extend(("configuration item", item) for item in incident.configuration_items)
        members: dict[tuple[str, str], set[str]] = {key: set() for key in keys}
        covered: set[tuple[str, str]] = set()
        for other in others:
            if other.id == incident.id or not start <= other.logged_at <= incident.logged_at:
                continue
            major = other.major_status in (MajorStatus.PROPOSED, MajorStatus.ACCEPTED)
            other_keys = [("configuration item", item) for item in other.configuration_items]
            if other.service is not None:
                other_keys.append(("service", other.service))
            for key in other_keys:
                found = members.get(key)
                if found is not None:
                    found.add(other.id)
                    if major:
                        covered.add(key)
        for key, ids in members.items():
            if key in covered or len(ids) + 1 < self.threshold:
                continue
            what, name = key
            return MajorProposal(
                MajorBasis.CLUSTER,
                f"{len(ids) + 1} open incidents on {what} {name!r} logged within {self.window}",
                tuple(sorted(ids)))
        return None


def _levels(value: object) -> frozenset[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError(f"priorities must be a collection of levels, got {value!r}",
                              culprit="priorities")
    levels: set[int] = set()
    for level in value:
        if type(level) is not int or level < 1:
            raise DefinitionError(f"priorities must be levels (integers >= 1), got {level!r}",
                                  culprit="priorities")
        levels.add(level)
    return frozenset(levels)


def _names(value: object, culprit: str) -> frozenset[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError(f"{culprit} must be a collection of names, got {value!r}",
                              culprit=culprit)
    return frozenset(_check_name(name, culprit) for name in value)


def _services(value: object) -> frozenset[str]:
    return _names(value, "critical_services")


def _shared(value: object) -> frozenset[str]:
    return _names(value, "shared_roles")


def _check_name(value: object, culprit: str) -> str:
    if (not isinstance(value, str) or not value.strip() or not value.isprintable()
            or len(value) > 200):
        raise DefinitionError(f"{culprit}: expected a non-empty single-line name, got "
                              f"{value!r}", culprit=culprit)
    return value


def _roles(value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise DefinitionError(f"roles must be a collection of role names, got {value!r}",
                              culprit="roles")
    roles = tuple(dict.fromkeys(_check_name(role, "roles") for role in value))
    if not roles:
        raise DefinitionError("a major incident needs at least one role", culprit="roles")
    return roles


def _cadence(value: object) -> Mapping[int, timedelta]:
    if not isinstance(value, Mapping):
        raise DefinitionError("cadence must map priority levels to timedeltas",
                              culprit="cadence")
    result: dict[int, timedelta] = {}
    for level, every in value.items():
        if type(level) is not int or level < 1:
            raise DefinitionError(f"cadence: a priority level must be an integer >= 1, got "
                                  f"{level!r}", culprit="cadence")
        if not isinstance(every, timedelta) or every < timedelta(minutes=1):
            raise DefinitionError(f"cadence[{level}] must be a timedelta of a minute or more, "
                                  f"got {every!r}", culprit=f"cadence.{level}")
        result[level] = every
    return types.MappingProxyType(dict(sorted(result.items())))


def _cluster(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, ClusterRule):
        raise DefinitionError(f"cluster must be a ClusterRule or None, got {value!r}",
                              culprit="cluster")


def _role_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_name(value, attribute.name)


@attrs.frozen(kw_only=True)
class MajorIncidentPolicy:
    """How a desk handles major incidents; every part is optional.

    - ``priorities``: priority levels whose incidents are proposed as major automatically;
    - ``critical_services``: services whose incidents are proposed as major automatically;
    - ``cluster``: a :class:`ClusterRule`, or None for none;
    - ``manager_role``: the role an actor must hold to accept or reject a proposal;
    - ``review_required``: whether an accepted major incident needs a post-incident review
      before it may close (the decision is recorded when it is accepted);
    - ``cadence``: ``{priority level: interval}`` between status updates of an accepted, open
      major incident (levels not listed: no cadence); ``process_due`` records each interval
      missed;
    - ``roles``: the role names a major incident has; ``shared_roles`` those of them that
      several people (or groups) hold at once, the others being held by one person at a time.

    Refused when built (DefinitionError): levels that are not integers >= 1, blank names, a
    cadence shorter than a minute, shared roles that are not roles.
    """

    priorities: frozenset[int] = attrs.field(default=frozenset(), converter=_levels)
    critical_services: frozenset[str] = attrs.field(default=frozenset(),
                                                    converter=_services)
    cluster: ClusterRule | None = attrs.field(default=None, validator=_cluster)
    manager_role: str = attrs.field(default="incident_manager", validator=_role_name)
    review_required: bool = attrs.field(default=True, validator=_flag)
    cadence: Mapping[int, timedelta] = attrs.field(default=DEFAULT_CADENCE, converter=_cadence)
    roles: tuple[str, ...] = attrs.field(default=DEFAULT_MAJOR_ROLES, converter=_roles)
    shared_roles: frozenset[str] = attrs.field(default=frozenset({"resolver_group"}),
                                               converter=_shared)

    def __attrs_post_init__(self) -> None:
        unknown = sorted(self.shared_roles - set(self.roles))
        if unknown:
            raise DefinitionError(f"shared_roles {', '.join(unknown)} are not among the roles "
                                  f"({', '.join(self.roles)})", culprit="shared_roles")

    @property
    def levels(self) -> frozenset[int]:
        """Every priority level the policy names (``priorities`` and the cadence's)."""
        return self.priorities | frozenset(self.cadence)

    def proposal_for(self, *, priority: int, service: str | None) -> MajorProposal | None:
        """The proposal an incident of this priority level and service gets, by priority
        first, then by service; None when neither criterion applies."""
        if priority in self.priorities:
            return MajorProposal(MajorBasis.PRIORITY,
                                 f"priority {priority} is a major-incident priority")
        if service is not None and service in self.critical_services:
            return MajorProposal(MajorBasis.SERVICE, f"service {service!r} is critical")
        return None

    def cluster_proposal(self, incident: LoggedIncident, others: Iterable[LoggedIncident]
                         ) -> MajorProposal | None:
        """The cluster rule's proposal for ``incident`` among the open incidents ``others``
        (None without a cluster rule); see :meth:`ClusterRule.cluster`."""
        return None if self.cluster is None else self.cluster.cluster(incident, others)

    def cadence_for(self, priority: int) -> timedelta | None:
        """The interval between status updates at this priority level (None: no cadence)."""
        return self.cadence.get(priority)

    def missed_intervals(self, *, priority: int, since: datetime, now: datetime) -> int:
        """How many whole cadence intervals have passed from ``since`` (the last update, or
        the acceptance) to ``now`` at this priority level: each is an update missed."""
        every = self.cadence.get(priority)
        if every is None or now <= since:
            return 0
        return (now - since) // every

    def role(self, name: object) -> str:
        """``name`` when it is one of the roles (ValidationError otherwise)."""
        if not isinstance(name, str) or name not in self.roles:
            raise ValidationError(f"unknown major-incident role {name!r} (known: "
                                  f"{', '.join(self.roles)})", field="role")
        return name

    def is_shared(self, role: str) -> bool:
        """Whether several people may hold ``role`` at once."""
        return role in self.shared_roles
