"""Alert groups, the port that stores them, and its in-memory implementation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from itil_incident.alerts._values import AlertOutcomeKind, AlertRefusal
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.errors import ConcurrencyError, ValidationError

__all__ = ["AlertGroup", "AlertStatistics", "AlertStore", "InMemoryAlertStore"]

#: The outcome counters of a group, by outcome (``REFUSED`` is counted by reason instead).
GROUP_OUTCOMES = (AlertOutcomeKind.OPENED, AlertOutcomeKind.FOLDED, AlertOutcomeKind.RESOLVED,
                  AlertOutcomeKind.RECOVERED, AlertOutcomeKind.CLEARED, AlertOutcomeKind.HELD)


@attrs.define(kw_only=True, eq=False)
class AlertGroup:
    """Everything known of one deduplication key: the incident that holds it and the alerts it
    absorbed, whether the key is firing or flapping, and what became of all its alerts.

    The *current* incident fields (``incident_id``, ``count``, ``first_seen``,
    ``highest``) describe the alerts folded into the key's latest incident; the outcome
    counters (``opened`` ... ``held``) cover the key's whole life, so that :attr:`total` is
    the number of accepted alerts of the key. ``onsets`` holds the times the key started
    firing within the flap window; ``version`` counts the saved changes (the store's
    optimistic-concurrency check).
    """

    dedup_key: str
    source: str
    incident_id: str | None = None
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    highest: AlertSeverity | None = None
    firing: bool = False
    flapping: bool = False
    onsets: tuple[datetime, ...] = ()
    held_since: datetime | None = None
    opened: int = 0
    folded: int = 0
    resolved: int = 0
    recovered: int = 0
    cleared: int = 0
    held: int = 0
    version: int = 0
    saved_version: int = 0

    @property
    def total(self) -> int:
        """Every accepted alert of the key."""
        return (self.opened + self.folded + self.resolved + self.recovered + self.cleared
                + self.held)

    def outcome_counts(self) -> dict[AlertOutcomeKind, int]:
        """The key's alerts by outcome."""
        return {kind: getattr(self, kind.value) for kind in GROUP_OUTCOMES}

    def clone(self) -> AlertGroup:
        """An independent copy (every field is immutable)."""
        other = object.__new__(AlertGroup)
        _copy(self, other)
        return other

    def mark_saved(self) -> None:
        """Called by a store once the group is saved at its ``version``."""
        self.saved_version = self.version


def _make_copy() -> Callable[[AlertGroup, AlertGroup], None]:
    names = [field.name for field in attrs.fields(AlertGroup)]
    if not all(name.isidentifier() for name in names):  # pragma: no cover - attrs guarantees it
        raise TypeError("unexpected field names on AlertGroup")
    body = "\n".join(f"    other.{name} = self.{name}" for name in names)
    namespace: dict[str, Any] = {}
    exec(f"def copy(self, other):\n{body}\n", namespace)  # names come from attrs fields
    copy: Callable[[AlertGroup, AlertGroup], None] = namespace["copy"]
    return copy


#: A generated straight-line copier: five times cheaper than a loop of getattr / setattr.
_copy = _make_copy()


@attrs.frozen
class AlertStatistics:
    """Counts of every alert a desk was given, by outcome; refused ones also by reason.

    ``total`` is the number of alerts ingested: the accepted ones (each in exactly one
    group) plus the refused ones.
    """

    by_outcome: dict[AlertOutcomeKind, int]
    refused_by_reason: dict[AlertRefusal, int]

    @property
    def total(self) -> int:
        """Every alert ingested, refused ones included."""
        return sum(self.by_outcome.values())


@runtime_checkable
class AlertStore(Protocol):
    """Stores alert groups (one per deduplication key) and the count of refused alerts.

    Contract:

    - ``get_group`` returns an independent group whose ``saved_version`` equals its
      ``version``, or None when the key was never seen.
    - ``save_group(group)`` stores the group provided that the stored version equals
      ``group.saved_version`` (0: a new key); otherwise it raises
      :class:`~itil_incident.ConcurrencyError` and stores nothing. On success it calls
      ``group.mark_saved()``. The caller does not change a group after saving it.
    - ``peek_group`` is ``get_group`` for reading only: it may return the stored object,
      which the caller must not change (the in-memory store saves a copy that way).
    - ``record_fold(dedup_key, version, at)``: if the group is stored at ``version``, adds one
      to ``count`` and ``folded``, moves ``first_seen`` / ``last_seen`` to include ``at``,
      bumps ``version`` by one and returns True; otherwise changes nothing and returns False.
      It is the whole write of a repeated alert.
    - ``discard_group(dedup_key, version)`` removes the group if its stored version is
      ``version`` (an opening undone) and does nothing otherwise.
    - ``count_refusal(reason)`` adds one to the refused alerts of ``reason``;
      ``refusal_counts()`` returns them (reasons never counted may be left out).
    - ``list_groups(flapping=...)`` returns independent groups ordered by key, only the
      flapping ones (True) or the others (False) when asked.
    - ``outcome_counts()`` sums the groups' outcome counters.
    - No exception other than the library's errors escapes.
    """

    def get_group(self, dedup_key: str) -> AlertGroup | None:
        """The group of ``dedup_key``, or None."""
        ...

    def save_group(self, group: AlertGroup) -> None:
        """Store ``group`` if nobody saved it since it was loaded."""
        ...

    def peek_group(self, dedup_key: str) -> AlertGroup | None:
        """The group of ``dedup_key`` for reading only (it may be the stored object)."""
        ...

    def record_fold(self, dedup_key: str, version: int, at: datetime) -> bool:
        """Count one more alert folded at ``at`` into the group of ``dedup_key``, if it is
        stored at ``version``; False (and nothing stored) otherwise."""
        ...

    def discard_group(self, dedup_key: str, version: int) -> None:
        """Remove the group of ``dedup_key`` if it is stored at ``version``."""
        ...

    def count_refusal(self, reason: AlertRefusal) -> None:
        """Count one refused alert."""
        ...

    def refusal_counts(self) -> dict[AlertRefusal, int]:
        """Refused alerts by reason."""
        ...

    def list_groups(self, *, flapping: bool | None = None) -> list[AlertGroup]:
        """Groups ordered by key, optionally only the flapping ones or the others."""
        ...

    def outcome_counts(self) -> dict[AlertOutcomeKind, int]:
        """Accepted alerts by outcome, over every group."""
        ...


class InMemoryAlertStore:
    """Keeps alert groups in a dictionary (thread-safe); it honours the whole
    :class:`AlertStore` contract and forgets everything when the process ends.

    It keeps the very group object it is given by ``save_group`` (no copy: the caller does not
    change a group it saved) and hands out copies.
    """

    def __init__(self) -> None:
        self._groups: dict[str, AlertGroup] = {}
        self._refusals: dict[AlertRefusal, int] = {}
        self._lock = threading.Lock()

    def get_group(self, dedup_key: str) -> AlertGroup | None:
        """A copy of the stored group, or None."""
        stored = self._groups.get(dedup_key) if type(dedup_key) is str else None
        return None if stored is None else stored.clone()

    def save_group(self, group: AlertGroup) -> None:
        """Store ``group`` (ConcurrencyError when the stored version moved)."""
        if type(group) is not AlertGroup:
            raise ValidationError(f"cannot store {type(group).__name__}", field="group")
        with self._lock:
            stored = self._groups.get(group.dedup_key)
            actual = 0 if stored is None else stored.version
            if actual != group.saved_version:
                raise ConcurrencyError(f"alert group {group.dedup_key}", group.saved_version,
                                       None if stored is None else actual)
            group.saved_version = group.version
            self._groups[group.dedup_key] = group

    def peek_group(self, dedup_key: str) -> AlertGroup | None:
        """The stored group itself (read only), or None."""
        return self._groups.get(dedup_key) if type(dedup_key) is str else None

    def record_fold(self, dedup_key: str, version: int, at: datetime) -> bool:
        """One more alert folded into the group, if it is stored at ``version``."""
        lock = self._lock
        lock.acquire()  # not ``with``: this is the hot path, and ``with`` costs more here
        try:
            group = self._groups.get(dedup_key)
            if group is None or group.version != version:
                return False
            group.count += 1
            group.folded += 1
            group.saved_version = group.version = version + 1
            last, first = group.last_seen, group.first_seen
            if last is None or at > last:
                group.last_seen = at
            if first is None or at < first:
                group.first_seen = at
            return True
        finally:
            lock.release()

    def discard_group(self, dedup_key: str, version: int) -> None:
        """Remove the group if it is stored at ``version``."""
        with self._lock:
            stored = self._groups.get(dedup_key)
            if stored is not None and stored.version == version:
                del self._groups[dedup_key]

    def count_refusal(self, reason: AlertRefusal) -> None:
        """Count one refused alert of ``reason``."""
        reason = AlertRefusal(reason)
        with self._lock:
            self._refusals[reason] = self._refusals.get(reason, 0) + 1

    def refusal_counts(self) -> dict[AlertRefusal, int]:
        """Refused alerts by reason."""
        with self._lock:
            return dict(self._refusals)

    def list_groups(self, *, flapping: bool | None = None) -> list[AlertGroup]:
        """Copies of the groups, ordered by key."""
        with self._lock:
            groups = [self._groups[key] for key in sorted(self._groups)]
        return [group.clone() for group in groups
                if flapping is None or group.flapping is flapping]

    def outcome_counts(self) -> dict[AlertOutcomeKind, int]:
        """Accepted alerts by outcome, over every group."""
        counts = dict.fromkeys(GROUP_OUTCOMES, 0)
        with self._lock:
            groups = list(self._groups.values())
        for group in groups:
            counts[AlertOutcomeKind.OPENED] += group.opened
            counts[AlertOutcomeKind.FOLDED] += group.folded
            counts[AlertOutcomeKind.RESOLVED] += group.resolved
            counts[AlertOutcomeKind.RECOVERED] += group.recovered
            counts[AlertOutcomeKind.CLEARED] += group.cleared
            counts[AlertOutcomeKind.HELD] += group.held
        return counts

    def __len__(self) -> int:
        return len(self._groups)
