"""Clocks: the system clock and a frozen clock for tests and simulations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itil_incident.domain._time import utc_instant
from itil_incident.errors import ValidationError

__all__ = ["FrozenClock", "SystemClock"]


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until told to move; it never goes backwards."""

    def __init__(self, at: datetime) -> None:
        self._now = utc_instant(at, "at")

    def now(self) -> datetime:
        """The instant the clock stands at."""
        return self._now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**units)``; returns the new instant."""
        step = delta if delta is not None else timedelta(**units)
        if step < timedelta(0):
            raise ValidationError("a clock cannot go backwards", field="delta")
        self._now = self._now + step
        return self._now

    def set(self, at: datetime) -> None:
        """Move to ``at`` (not earlier than now)."""
        instant = utc_instant(at, "at")
        if instant < self._now:
            raise ValidationError("a clock cannot go backwards", field="at")
        self._now = instant
