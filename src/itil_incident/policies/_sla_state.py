"""The state of an SLA clock at one instant, as :func:`~itil_incident.policies.sla_clock.evaluate`
reports it. Re-exported by :mod:`itil_incident.policies.sla_clock`; import from there.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from itil_incident.policies._sla_rules import SlaMetric

__all__ = ["FINAL", "ClockPause", "ClockState", "ClockStatus", "StageState"]


class ClockStatus(enum.StrEnum):
    """Where a clock stands at the evaluation instant."""

    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


#: The statuses a clock never leaves once reached (unless a reopen resumes it).
FINAL = frozenset({ClockStatus.MET, ClockStatus.BREACHED, ClockStatus.CANCELLED})


@attrs.frozen
class StageState:
    """An alert stage (``fraction`` of the target) and when it was reached in the current cycle
    (None: not reached)."""

    fraction: float
    reached_at: datetime | None

    @property
    def reached(self) -> bool:
        return self.reached_at is not None


@attrs.frozen
class ClockPause:
    """An interval in which the clock did not count: ``[start, end)``, ``end`` None while it
    lasts; ``business`` is the business time it covered on the agreement's calendar (None while
    it lasts)."""

    start: datetime
    end: datetime | None
    reason: str
    business: timedelta | None


@attrs.frozen(kw_only=True)
class ClockState:
    """One clock at one instant; see the module documentation for the meaning of each field."""

    metric: SlaMetric
    agreement: str
    #: The rule that chose the agreement (None: the fallback, or an OLA).
    rule: str | None
    #: The support group of an OLA clock (None for an SLA clock).
    group: str | None
    policy_version: int
    status: ClockStatus
    priority: int
    target: timedelta
    started_at: datetime | None
    stopped_at: datetime | None
    cycle: int
    cycle_started_at: datetime | None
    due_at: datetime | None
    business_elapsed: timedelta
    wall_elapsed: timedelta
    remaining: timedelta
    percent_used: float
    stages: tuple[StageState, ...]
    counted: tuple[tuple[datetime, datetime], ...]
    pauses: tuple[ClockPause, ...]

    @property
    def is_ola(self) -> bool:
        return self.group is not None

    @property
    def explanation(self) -> str:
        """Why the clock stands where it does, in words."""
        kind = f"OLA of group {self.group!r}" if self.group is not None else "SLA"
        chosen = f" (rule {self.rule!r})" if self.rule is not None else ""
        lines = [
            f"{self.metric} clock, {kind} {self.agreement!r}{chosen}, policy version "
            f"{self.policy_version}: {self.status}.",
            f"Target {self.target} for priority {self.priority}; business time counted "
            f"{self.business_elapsed} ({self.percent_used:.1f} %), wall time counted "
            f"{self.wall_elapsed}, remaining {self.remaining}.",
        ]
        if self.started_at is not None:
            lines.append(f"Started {self.started_at.isoformat()}; cycle {self.cycle} since "
                         f"{_iso(self.cycle_started_at)}.")
        if self.stopped_at is not None:
            lines.append(f"Stopped {self.stopped_at.isoformat()}.")
        if self.due_at is not None:
            lines.append(f"Deadline {self.due_at.isoformat()}.")
        if self.counted:
            spans = ", ".join(f"{a.isoformat()}..{b.isoformat()}" for a, b in self.counted)
            lines.append(f"Counted: {spans}.")
        for pause in self.pauses:
            until = "ongoing" if pause.end is None else (
                f"until {pause.end.isoformat()}, {pause.business} business time")
            lines.append(f"Paused ({pause.reason}) from {pause.start.isoformat()}, {until}.")
        reached = [f"{s.fraction:.0%} at {_iso(s.reached_at)}" for s in self.stages if s.reached]
        if reached:
            lines.append(f"Stages reached: {', '.join(reached)}.")
        return "\n".join(lines)


def _iso(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()
