"""How a log's columns and labels map to an incident and its workflow.

A :class:`LogMapping` names the columns (case id, time, label, and the fields an incident
holds) and gives one :class:`Step` per label: the workflow states that label means. Mappings
are data: build one for any log; :mod:`.mappings` holds ready ones for three public logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo
from types import MappingProxyType

import attrs

from itil_incident.domain.values import Channel
from itil_incident.domain.workflow import Workflow
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.reporting.importing.report import ImportMappingError

__all__ = ["LogMapping", "Step"]


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _proxy(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class Step:
    """What one label of a log (a state or an activity) means.

    ``states``: the workflow states the label stands for, preferred first. An incident in one
    of them stays put; otherwise it moves to the nearest one. Empty: the label carries no
    lifecycle meaning (its row's fields are still replayed).
    ``hold_reason``: the reason when the move puts the incident on hold (default
    ``"unspecified"``). ``code``: the resolution code when the move resolves it (else the
    mapping's ``resolution_code`` column, else ``"imported"``).
    ``take``: the row's actor becomes the assignee (an activity like "take in charge").
    ``note``: the label is recorded as a work note (an activity the workflow has no state for).
    """

    states: tuple[str, ...] = attrs.field(default=(), converter=_names)
    hold_reason: str | None = None
    code: str | None = None
    take: bool = False
    note: bool = False


@attrs.frozen(kw_only=True, eq=False)
class LogMapping:
    """The columns of a log and the meaning of its labels.

    Required: ``name``, ``case`` (the case id column), ``timestamp`` (the event time column),
    ``label`` (one column, or several joined by ``label_separator``: ``("Status", "Sub
    Status")`` gives ``"Accepted/In Progress"``) and ``steps`` (label -> :class:`Step`).

    Times: ``time_format`` is a :func:`~datetime.datetime.strptime` format, or None for
    ISO 8601. A time without an offset is read in ``timezone``; with no ``timezone`` such a
    time is a row error (the library never guesses a zone). Times with an offset keep it.

    A value in ``missing`` (such as ``"?"``) counts as absent. Optional field columns (None:
    not mapped): ``opened_at`` (when the incident was logged; else its first event's time),
    ``actor``, ``caller``, ``channel`` (values translated by ``channels``), ``category`` (one
    column per level), ``service``, ``impact`` / ``urgency`` / ``priority`` (a level number,
    a label of ``matrix``, or ``"2 - Medium"``), ``assignment_group``, ``assignee``, ``tier``
    (translated by ``tiers``, else an integer), ``resolution_code``, and ``custom`` (column ->
    custom attribute name). In ``title``, ``{case}`` stands for the case id.
    """

    name: str
    case: str
    timestamp: str
    label: tuple[str, ...] = attrs.field(converter=_names)
    steps: Mapping[str, Step] = attrs.field(converter=_proxy)
    label_separator: str = "/"
    time_format: str | None = None
    timezone: tzinfo | None = None
    missing: frozenset[str] = frozenset({""})
    title: str = "{case}"
    opened_at: str | None = None
    actor: str | None = None
    caller: str | None = None
    channel: str | None = None
    channels: Mapping[str, Channel] = attrs.field(default={}, converter=_proxy)
    category: tuple[str, ...] = attrs.field(default=(), converter=_names)
    service: str | None = None
    impact: str | None = None
    urgency: str | None = None
    priority: str | None = None
    assignment_group: str | None = None
    assignee: str | None = None
    tier: str | None = None
    tiers: Mapping[str, int] = attrs.field(default={}, converter=_proxy)
    resolution_code: str | None = None
    custom: Mapping[str, str] = attrs.field(default={}, converter=_proxy)
    matrix: PriorityMatrix = attrs.field(factory=PriorityMatrix.servicenow)

    def columns(self) -> tuple[str, ...]:
        """Every column the mapping reads, required ones first, without duplicates."""
        optional = (
            self.opened_at, self.actor, self.caller, self.channel, *self.category,
            self.service, self.impact, self.urgency, self.priority, self.assignment_group,
            self.assignee, self.tier, self.resolution_code, *self.custom,
        )
        names = (self.case, self.timestamp, *self.label, *(c for c in optional if c))
        return tuple(dict.fromkeys(names))

    def check_header(self, header: Iterable[str]) -> None:
        """Raise :class:`ImportMappingError` naming every mapped column the header lacks."""
        present = set(header)
        absent = [column for column in self.columns() if column not in present]
        if absent:
            raise ImportMappingError(
                f"mapping {self.name!r}: the header lacks column(s) "
                f"{', '.join(map(repr, absent))} (header: {', '.join(sorted(present))})"
            )

    def check_workflow(self, workflow: Workflow) -> None:
        """Raise :class:`ImportMappingError` for a step naming a state ``workflow`` lacks."""
        for label, step in self.steps.items():
            if not isinstance(step, Step):
                raise ImportMappingError(
                    f"mapping {self.name!r}: label {label!r} maps to {step!r}, not a Step")
            for state in step.states:
                if state not in workflow.states:
                    raise ImportMappingError(
                        f"mapping {self.name!r}: label {label!r} maps to state {state!r}, "
                        f"which workflow {workflow.name!r} lacks "
                        f"(states: {', '.join(workflow.states)})"
                    )
