"""Notifiers that need no infrastructure: recording (for tests) and logging."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from itil_incident.domain.events import DomainEvent

__all__ = ["LoggingNotifier", "NullNotifier", "RecordingNotifier"]


class NullNotifier:
    """Tells nobody anything."""

    def notify(self, events: Sequence[DomainEvent]) -> None:
        """Do nothing."""


class RecordingNotifier:
    """Keeps every event it is told of, in order: assert on them in tests."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def notify(self, events: Sequence[DomainEvent]) -> None:
        """Record ``events``."""
        self.events.extend(events)

    def names(self) -> list[str]:
        """The recorded events' names, such as ``"incident.resolved"``."""
        return [event.name for event in self.events]

    def clear(self) -> None:
        """Forget what was recorded."""
        self.events.clear()


class LoggingNotifier:
    """Logs one line per event on ``logger`` (default ``itil_incident.notifications``)."""

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.INFO) -> None:
        self._logger = logger or logging.getLogger("itil_incident.notifications")
        self._level = level

    def notify(self, events: Sequence[DomainEvent]) -> None:
        """Log each event with its record id, version, actor and status."""
        for event in events:
            self._logger.log(
                self._level, "%s %s v%d by %s (%s -> %s)", event.name, event.aggregate_id,
                event.version, event.actor.id, event.from_status, event.to_status,
            )
