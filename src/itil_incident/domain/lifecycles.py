"""The default ITIL lifecycles of an incident and of a problem.

Each default workflow is built once and shared: every call returns the same object. Hosts that
need another lifecycle build their own :class:`~itil_incident.domain.workflow.Workflow`, in code
or from a dict or TOML.
"""

from __future__ import annotations

import functools
from typing import Final

from itil_incident.domain.workflow import FieldLookup, StateDef, TransitionDef, Workflow

__all__ = [
    "IncidentState",
    "IncidentTrigger",
    "ProblemState",
    "ProblemTrigger",
    "default_incident_workflow",
    "default_problem_workflow",
    "has_root_cause_or_workaround",
]


class IncidentState:
    """The states of the default incident lifecycle."""

    NEW: Final = "new"
    ASSIGNED: Final = "assigned"
    IN_PROGRESS: Final = "in_progress"
    ON_HOLD: Final = "on_hold"
    RESOLVED: Final = "resolved"
    CLOSED: Final = "closed"
    CANCELLED: Final = "cancelled"


class IncidentTrigger:
    """The triggers of the default incident lifecycle."""

    ASSIGN: Final = "assign"
    START: Final = "start"
    HOLD: Final = "hold"
    RESUME: Final = "resume"
    RESOLVE: Final = "resolve"
    CLOSE: Final = "close"
    REOPEN: Final = "reopen"
    CANCEL: Final = "cancel"


class ProblemState:
    """The states of the default problem lifecycle."""

    NEW: Final = "new"
    UNDER_INVESTIGATION: Final = "under_investigation"
    KNOWN_ERROR: Final = "known_error"
    RESOLVED: Final = "resolved"
    CLOSED: Final = "closed"
    CANCELLED: Final = "cancelled"


class ProblemTrigger:
    """The triggers of the default problem lifecycle."""

    INVESTIGATE: Final = "investigate"
    MARK_KNOWN_ERROR: Final = "mark_known_error"
    RESOLVE: Final = "resolve"
    CLOSE: Final = "close"
    REOPEN: Final = "reopen"
    CANCEL: Final = "cancel"


def has_root_cause_or_workaround(fields: FieldLookup) -> bool:
    """Guard of ``mark_known_error``: a known error documents a root cause or a workaround.

    True when the field ``root_cause`` or ``workaround`` is a non-empty string.
    """
    return any(
        isinstance(value, str) and value != ""
        for value in (fields("root_cause"), fields("workaround"))
    )


@functools.cache
def default_incident_workflow() -> Workflow:
    """The ITIL incident lifecycle, named ``itil_incident``; the same shared object every call.

    ``new`` -> ``assigned`` -> ``in_progress`` <-> ``on_hold`` -> ``resolved`` -> ``closed``,
    with ``cancel`` from any open state, ``reopen`` from ``resolved`` and ``resolve`` from any
    open state. Reassignment (``assign``) while in progress or on hold keeps the state.
    Entering ``assigned`` needs ``assignment_group``, ``on_hold`` needs ``hold_reason`` (and
    pauses SLA clocks), ``resolved`` needs ``resolution_code`` and ``resolution_notes``.
    """
    s, t = IncidentState, IncidentTrigger
    open_states = (s.NEW, s.ASSIGNED, s.IN_PROGRESS, s.ON_HOLD)
    return Workflow(
        "itil_incident",
        [
            StateDef(s.NEW, "New", initial=True),
            StateDef(s.ASSIGNED, "Assigned", required={"assignment_group"}),
            StateDef(s.IN_PROGRESS, "In Progress"),
            StateDef(s.ON_HOLD, "On Hold", pauses_sla=True, required={"hold_reason"}),
            StateDef(
                s.RESOLVED,
                "Resolved",
                resolved=True,
                required={"resolution_code", "resolution_notes"},
            ),
            StateDef(s.CLOSED, "Closed", terminal=True, resolved=True),
            StateDef(s.CANCELLED, "Cancelled", terminal=True),
        ],
        [
            TransitionDef(t.ASSIGN, (s.NEW, s.ASSIGNED), s.ASSIGNED),
            TransitionDef(t.ASSIGN, (s.IN_PROGRESS, s.ON_HOLD)),
            TransitionDef(t.START, (s.NEW, s.ASSIGNED), s.IN_PROGRESS),
            TransitionDef(t.HOLD, (s.ASSIGNED, s.IN_PROGRESS), s.ON_HOLD),
            TransitionDef(t.RESUME, s.ON_HOLD, s.IN_PROGRESS),
            TransitionDef(t.RESOLVE, open_states, s.RESOLVED),
            TransitionDef(t.CLOSE, s.RESOLVED, s.CLOSED),
            TransitionDef(t.REOPEN, s.RESOLVED, s.IN_PROGRESS),
            TransitionDef(t.CANCEL, open_states, s.CANCELLED),
        ],
    )


@functools.cache
def default_problem_workflow() -> Workflow:
    """The ITIL problem lifecycle, named ``itil_problem``; the same shared object every call.

    ``new`` -> ``under_investigation`` -> ``known_error`` -> ``resolved`` -> ``closed``, with
    ``cancel`` from any open state and ``reopen`` from ``resolved``. Marking a known error is
    guarded by :func:`has_root_cause_or_workaround`; entering ``resolved`` needs ``resolution``.
    """
    s, t = ProblemState, ProblemTrigger
    return Workflow(
        "itil_problem",
        [
            StateDef(s.NEW, "New", initial=True),
            StateDef(s.UNDER_INVESTIGATION, "Under Investigation"),
            StateDef(s.KNOWN_ERROR, "Known Error"),
            StateDef(s.RESOLVED, "Resolved", resolved=True, required={"resolution"}),
            StateDef(s.CLOSED, "Closed", terminal=True, resolved=True),
            StateDef(s.CANCELLED, "Cancelled", terminal=True),
        ],
        [
            TransitionDef(t.INVESTIGATE, s.NEW, s.UNDER_INVESTIGATION),
            TransitionDef(
                t.MARK_KNOWN_ERROR,
                (s.NEW, s.UNDER_INVESTIGATION),
                s.KNOWN_ERROR,
                guards=("has_root_cause_or_workaround",),
            ),
            TransitionDef(t.RESOLVE, (s.UNDER_INVESTIGATION, s.KNOWN_ERROR), s.RESOLVED),
            TransitionDef(t.CLOSE, s.RESOLVED, s.CLOSED),
            TransitionDef(t.REOPEN, s.RESOLVED, s.UNDER_INVESTIGATION),
            TransitionDef(t.CANCEL, (s.NEW, s.UNDER_INVESTIGATION, s.KNOWN_ERROR), s.CANCELLED),
        ],
        guards={"has_root_cause_or_workaround": has_root_cause_or_workaround},
    )
