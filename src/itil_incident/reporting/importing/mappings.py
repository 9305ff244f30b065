"""Ready mappings for three public incident logs, onto the default ITIL incident workflow.

- :func:`servicenow_mapping`: the UCI "incident management process enriched event log", a
  ServiceNow audit log (``incident_event_log.csv``, one row per update).
- :func:`volvo_mapping`: the BPI Challenge 2013 Volvo IT incidents (``VINST-new.csv``).
- :func:`helpdesk_mapping`: the help desk log of an Italian software company (XES).

Read them with :class:`~.sources.CsvSource` (zip archives are read in place) or
:class:`~.sources.XesSource` and :func:`~.replay.import_log`. Each function's docstring gives
the decisions behind its mapping.
"""

from __future__ import annotations

import functools
from datetime import UTC, tzinfo

from itil_incident.domain.lifecycles import IncidentState as S
from itil_incident.domain.values import Channel, HoldReason, Impact, Priority, Urgency
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.reporting.importing.mapping import LogMapping, Step

__all__ = ["helpdesk_mapping", "servicenow_mapping", "volvo_mapping", "volvo_matrix"]

#: "New" with a group set is ``assigned`` in the ITIL workflow; both satisfy a "new" label.
_NEW = Step(states=(S.NEW, S.ASSIGNED))
_RESOLVED = Step(states=S.RESOLVED)
_CLOSED = Step(states=S.CLOSED)


def _hold(reason: str) -> Step:
    return Step(states=S.ON_HOLD, hold_reason=reason)


def servicenow_mapping(*, timezone: tzinfo = UTC) -> LogMapping:
    """The ServiceNow audit log of the UCI "incident management process" data set.

    - Case ``number``; time ``sys_updated_at`` (rows are replayed in file order); the incident
      is logged at ``opened_at``. Times are day-first, minute precision, with no zone: read in
      ``timezone`` (the data set does not say; UTC by default). ``?`` is a missing value.
    - ``incident_state``: New -> new (or assigned, which a New incident with a group is),
      Active -> in_progress, Awaiting User Info / Vendor / Problem / Evidence -> on_hold
      (``awaiting_caller``, ``awaiting_vendor``, ``awaiting_problem``, ``awaiting_evidence``),
      Resolved -> resolved, Closed -> closed. ``-100`` (a data-quality artefact) is left
      unmapped and counted. Resolved -> Active replays as a reopen, as do Resolved -> Awaiting
      (lenient: reopen + hold) and, in lenient mode, Closed -> Active (the closure is dropped
      and noted): ServiceNow's ``reopen_count`` counts all three.
    - ``impact`` / ``urgency`` / ``priority`` (``"2 - Medium"``) on ServiceNow's matrix; a
      priority the matrix would not give is replayed as an override (the log has none).
    - ``assignment_group`` / ``assigned_to`` -> assignment (a group change is a reassignment);
      ``closed_code`` -> resolution and closure code; ``category`` / ``subcategory`` ->
      category; ``caller_id``, ``contact_type`` (Phone, Email, Self service -> portal, IVR ->
      phone, Direct opening -> walk_in), ``location`` -> custom ``location``; the actor is
      ``sys_updated_by``.
    """
    return LogMapping(
        name="servicenow",
        case="number",
        timestamp="sys_updated_at",
        label="incident_state",
        time_format="%d/%m/%Y %H:%M",
        timezone=timezone,
        missing=frozenset({"?", ""}),
        opened_at="opened_at",
        actor="sys_updated_by",
        caller="caller_id",
        channel="contact_type",
        channels={
            "Phone": Channel.PHONE, "Email": Channel.EMAIL, "Self service": Channel.PORTAL,
            "IVR": Channel.PHONE, "Direct opening": Channel.WALK_IN,
        },
        category=("category", "subcategory"),
        impact="impact",
        urgency="urgency",
        priority="priority",
        assignment_group="assignment_group",
        assignee="assigned_to",
        resolution_code="closed_code",
        custom={"location": "location"},
        matrix=PriorityMatrix.servicenow(),
        steps={
            "New": _NEW,
            "Active": Step(states=S.IN_PROGRESS),
            "Awaiting User Info": _hold(HoldReason.AWAITING_CALLER),
            "Awaiting Vendor": _hold(HoldReason.AWAITING_VENDOR),
            "Awaiting Problem": _hold(HoldReason.AWAITING_PROBLEM),
            "Awaiting Evidence": _hold("awaiting_evidence"),
            "Resolved": _RESOLVED,
            "Closed": _CLOSED,
        },
    )


@functools.cache
def volvo_matrix() -> PriorityMatrix:
    """Volvo IT's ``SR Latest Impact`` as the only axis: Major, High, Medium, Low impact give
    priorities 1 Critical .. 4 Low (the log records no urgency: one level, "Normal")."""
    return PriorityMatrix(
        name="volvo-it",
        impacts=[Impact(1, "Major"), Impact(2, "High"), Impact(3, "Medium"), Impact(4, "Low")],
        urgencies=[Urgency(1, "Normal")],
        priorities=[Priority(1, "Critical"), Priority(2, "High"), Priority(3, "Moderate"),
                    Priority(4, "Low")],
        cells={(1, 1): 1, (2, 1): 2, (3, 1): 3, (4, 1): 4},
    )


def volvo_mapping() -> LogMapping:
    """The BPI Challenge 2013 Volvo IT incidents (``VINST-new.csv``).

    - Case ``SR Number``; time ``Change Date+Time`` (ISO 8601 with offset); label ``Status``
      and ``Sub Status`` joined by ``/``. The log has no opening time: an incident is logged
      at its first event, which is mostly Accepted/In Progress (counted as starting
      mid-lifecycle).
    - Queued/Awaiting Assignment -> assigned (or in_progress: a queue change while in progress
      is a reassignment, not a step back; from hold or resolved it resumes / reopens).
      Accepted/Assigned -> assigned or in_progress, the actor taking it; Accepted/In Progress
      -> in_progress, the actor taking it. Accepted/Wait -> on_hold ``unspecified``, Wait -
      User -> ``awaiting_caller``, Wait - Customer -> ``awaiting_customer``, Wait - Vendor ->
      ``awaiting_vendor``, Wait - Implementation -> ``awaiting_change``. Completed/Resolved ->
      resolved; Completed/In Call -> resolved with code ``in_call`` (solved during the call);
      Completed/Closed -> closed; Completed/Cancelled -> cancelled. Unmatched/Unmatched is
      left unmapped and counted.
    - ``Involved ST`` (the support team) -> assignment group, ``ST Level`` -> support tier
      (L1, L2, L3; ``L2/L3`` -> 2); ``SR Latest Impact`` on :func:`volvo_matrix`; ``Product``
      -> service; ``Country`` -> custom ``country``; the actor is ``Resource``.
    """
    take_in_progress = Step(states=S.IN_PROGRESS, take=True)
    return LogMapping(
        name="volvo",
        case="SR Number",
        timestamp="Change Date+Time",
        label=("Status", "Sub Status"),
        actor="Resource",
        assignment_group="Involved ST",
        tier="ST Level",
        tiers={"L1": 1, "L2": 2, "L3": 3, "L2/L3": 2},
        impact="SR Latest Impact",
        service="Product",
        custom={"Country": "country"},
        matrix=volvo_matrix(),
        steps={
            "Queued/Awaiting Assignment": Step(states=(S.ASSIGNED, S.IN_PROGRESS, S.NEW)),
            "Accepted/Assigned": Step(states=(S.ASSIGNED, S.IN_PROGRESS), take=True),
            "Accepted/In Progress": take_in_progress,
            "Accepted/Wait": _hold("unspecified"),
            "Accepted/Wait - User": _hold(HoldReason.AWAITING_CALLER),
            "Accepted/Wait - Customer": _hold("awaiting_customer"),
            "Accepted/Wait - Vendor": _hold(HoldReason.AWAITING_VENDOR),
            "Accepted/Wait - Implementation": _hold(HoldReason.AWAITING_CHANGE),
            "Completed/Resolved": _RESOLVED,
            "Completed/In Call": Step(states=S.RESOLVED, code="in_call"),
            "Completed/Closed": _CLOSED,
            "Completed/Cancelled": Step(states=S.CANCELLED),
        },
    )


#: Help desk activities without a state of their own: recorded as work notes.
_HELPDESK_NOTES = (
    "Require upgrade", "Create SW anomaly", "Resolve SW anomaly", "Schedule intervention",
    "VERIFIED", "RESOLVED", "INVALID", "DUPLICATE",
)


def helpdesk_mapping() -> LogMapping:
    """The help desk log of an Italian software company (Polato et al.), as XES.

    - Case ``case:concept:name``; time ``time:timestamp``; label ``concept:name``; actor
      ``org:resource``. An incident is logged at its first event.
    - Insert ticket -> new (or assigned); Assign seriousness -> no move (its row's fields
      are replayed); Take in charge ticket -> in_progress, the actor taking it; Wait ->
      on_hold ``unspecified`` (the log does not say for whom); Resolve ticket -> resolved;
      Closed -> closed. The software-anomaly activities (Require upgrade, Create SW anomaly,
      Resolve SW anomaly, Schedule intervention) and the bug-tracker verdicts (VERIFIED,
      RESOLVED, INVALID, DUPLICATE) have no state: each becomes a work note.
    - ``workgroup`` -> assignment group, ``customer`` -> caller, ``product`` -> service;
      ``seriousness_2``, ``service_level``, ``service_type``, ``responsible_section`` and
      ``support_section`` -> custom attributes of the same names. The seriousness values are
      anonymised ("Value 1".."Value 4") with no known order, so they are not read as impact
      or urgency: every incident keeps the matrix's default priority.
    """
    note = Step(note=True)
    return LogMapping(
        name="helpdesk",
        case="case:concept:name",
        timestamp="time:timestamp",
        label="concept:name",
        actor="org:resource",
        assignment_group="workgroup",
        caller="customer",
        service="product",
        custom={key: key for key in ("seriousness_2", "service_level", "service_type",
                                     "responsible_section", "support_section")},
        steps={
            "Insert ticket": _NEW,
            "Assign seriousness": Step(),
            "Take in charge ticket": Step(states=S.IN_PROGRESS, take=True),
            "Wait": _hold("unspecified"),
            "Resolve ticket": _RESOLVED,
            "Closed": _CLOSED,
            **dict.fromkeys(_HELPDESK_NOTES, note),
        },
    )
