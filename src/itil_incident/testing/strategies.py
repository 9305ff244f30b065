"""Hypothesis strategies for the domain types, and random commands to drive a desk with.

Every strategy generates values that the default policies (:class:`~itil_incident.DeskPolicies`)
accept, unless its documentation says otherwise. Use them in your own property tests::

    from hypothesis import given
    from itil_incident.testing import make_desk, strategies as its

    @given(its.log_arguments(), its.actors())
    def test_my_rule(arguments, actor):
        incident = make_desk().log_incident(actor=actor, **arguments)
        ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from hypothesis import strategies as st

from itil_incident.adapters.clocks import FrozenClock
from itil_incident.desk import ServiceDesk
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import (
    Actor,
    CategoryPath,
    Channel,
    EscalationKind,
    Impact,
    Priority,
    Urgency,
)
from itil_incident.errors import ItilIncidentError, ValidationError
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.policies.categorization import CategoryTree
from itil_incident.policies.priority import PriorityMatrix
from itil_incident.policies.routing import RoutingTable

__all__ = [
    "COMMAND_NAMES",
    "TRIGGERS",
    "Command",
    "CommandValue",
    "actors",
    "aware_datetimes",
    "apply_command",
    "category_paths",
    "channels",
    "commands",
    "impacts",
    "incidents",
    "log_arguments",
    "naive_datetimes",
    "priorities",
    "titles",
    "urgencies",
]

#: The value types a :class:`Command` argument holds.
CommandValue = str | int | bool | None

#: The desk commands :func:`commands` generates, by their ``ServiceDesk`` method names.
COMMAND_NAMES: tuple[str, ...] = (
    "assign",
    "start_work",
    "put_on_hold",
    "resume",
    "add_work_note",
    "add_comment",
    "resolve",
    "close",
    "reopen",
    "cancel",
    "escalate",
    "change_impact_urgency",
    "override_priority",
    "categorize",
)

#: The commands that fire a trigger of the default incident workflow, and that trigger.
TRIGGERS: Mapping[str, str] = MappingProxyType({
    "assign": "assign",
    "start_work": "start",
    "put_on_hold": "hold",
    "resume": "resume",
    "resolve": "resolve",
    "close": "close",
    "reopen": "reopen",
    "cancel": "cancel",
})

# Instants given as occurred_at / detected_at lie before this, so any desk whose clock reads a
# later time accepts them.
_PAST_LIMIT = datetime(2020, 1, 1)
_EARLIEST = datetime(2000, 1, 1)
_LATEST = datetime(2100, 1, 1)

_ROLES = ("agent", "admin", "incident_manager", "service_desk_manager", "caller")
_ASSIGNEES = ("alice", "bob", "carol")
_CLOSURE_CODES = ("solved", "closed_by_caller", "auto_closed")
_NAMED_ZONES = (
    "Europe/Paris",
    "America/New_York",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
)


# ----------------------------------------------------------------- text


#: Code points the domain refuses in any stored text: NUL and the surrogates (U+D800-U+DFFF,
#: the Unicode category Cs).
_NOT_TEXT = "\x00"
_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
#: Line breaks, refused in single-line values (titles, identifiers): what ``str.splitlines``
#: splits on.
_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: Characters worth meeting more often than a uniform draw over Unicode would: other control
#: characters (C0, DEL, C1, an ANSI escape), format and invisible characters (BOM, zero-width,
#: bidirectional overrides), right-to-left scripts, combining marks, emoji (astral, with a
#: zero-width joiner and a variation selector), quotes and what SQL LIKE and printf treat
#: specially.
_NOTABLE = (
    "\t\x01\x07\x1b\x1f\x7f\x80\x9b\x9f"
    "\ufeff\u200b\u200d\u200e\u200f\u202e\u2066\u00ad\u00a0\ufe0f"
    "\u05e9\u05dc\u05d5\u05dd\u0645\u0631\u062d\u0628\u0627"
    "\u0301\u0308\u0364\u20dd"
    "\U0001f6a8\U0001f525\U0001f469\U0001f467\U0001d518\U0010fffd\ufffd"
    "'\"`%_\\$;-"
)


def _safe_characters(*, single_line: bool) -> st.SearchStrategy[str]:
    """Characters the domain stores: anything but NUL and the surrogates, and no line break
    when ``single_line``; notable characters (see above) are drawn more often."""
    excluded = _NOT_TEXT + (_LINE_BREAKS if single_line else "")
    notable = _NOTABLE if single_line else _NOTABLE + _LINE_BREAKS
    return st.one_of(
        st.characters(exclude_categories=_SURROGATES, exclude_characters=excluded),
        st.sampled_from(notable),
    )


def _non_blank(max_size: int, *, single_line: bool) -> st.SearchStrategy[str]:
    return st.text(_safe_characters(single_line=single_line), min_size=1,
                   max_size=max_size).filter(lambda text: text.strip() != "")


def _identifiers() -> st.SearchStrategy[str]:
    """Single-line, non-blank names: group names, services, callers, configuration items."""
    return st.one_of(
        st.sampled_from(("vpn", "email", "erp", "printing", "wifi", "CI-0042", "payroll")),
        _non_blank(40, single_line=True),
    )


def _sentences() -> st.SearchStrategy[str]:
    """Non-blank text for notes, reasons and justifications (line breaks included)."""
    return st.one_of(
        st.sampled_from(("Waiting for the vendor", "Rebooted the gateway", "Caller confirmed",
                         "Logged in error", "Needs a specialist")),
        _non_blank(80, single_line=False),
    )


def titles() -> st.SearchStrategy[str]:
    """Incident and problem titles: non-blank single lines of at most 300 characters.

    They hold no line break of any kind (``title.splitlines() == [title]``), no NUL and no
    surrogate code point, which the domain refuses; any other character may appear: other
    control characters, format characters, emoji, right-to-left text, combining marks."""
    return st.one_of(
        st.sampled_from(("VPN drops every few minutes", "Printer jams on floor 3",
                         "Cannot log in to the ERP", "Phishing e-mail reported")),
        _non_blank(300, single_line=True),
    )


# ----------------------------------------------------------------- values


def actors() -> st.SearchStrategy[Actor]:
    """Valid actors: a single-line id, a single-line name (no NUL, no surrogates) and a few
    roles."""
    return st.builds(
        Actor,
        id=st.one_of(st.sampled_from(_ASSIGNEES), _non_blank(20, single_line=True)),
        name=st.text(_safe_characters(single_line=True), max_size=30),
        roles=st.frozensets(st.sampled_from(_ROLES), max_size=3),
    )


def channels() -> st.SearchStrategy[Channel]:
    """Every :class:`~itil_incident.Channel`."""
    return st.sampled_from(Channel)


def impacts(matrix: PriorityMatrix | None = None) -> st.SearchStrategy[Impact]:
    """The labelled impact levels of ``matrix`` (default ``PriorityMatrix.servicenow()``)."""
    chosen = matrix if matrix is not None else PriorityMatrix.servicenow()
    return st.sampled_from(chosen.impacts)


def urgencies(matrix: PriorityMatrix | None = None) -> st.SearchStrategy[Urgency]:
    """The labelled urgency levels of ``matrix`` (default ``PriorityMatrix.servicenow()``)."""
    chosen = matrix if matrix is not None else PriorityMatrix.servicenow()
    return st.sampled_from(chosen.urgencies)


def priorities(matrix: PriorityMatrix | None = None) -> st.SearchStrategy[Priority]:
    """The labelled priority levels of ``matrix`` (default ``PriorityMatrix.servicenow()``),
    including those only an override reaches."""
    chosen = matrix if matrix is not None else PriorityMatrix.servicenow()
    return st.sampled_from(chosen.priorities)


def category_paths(tree: CategoryTree | None = None) -> st.SearchStrategy[CategoryPath]:
    """The paths of ``tree`` (default ``CategoryTree.default()``), top-level ones included."""
    chosen = tree if tree is not None else CategoryTree.default()
    return st.sampled_from(chosen.paths)


def _zones() -> list[tzinfo]:
    zones: list[tzinfo] = [UTC]
    for name in _NAMED_ZONES:
        try:
            zones.append(ZoneInfo(name))
        except ZoneInfoNotFoundError:  # pragma: no cover - a system without time-zone data
            continue
    return zones


def _fixed_offsets() -> st.SearchStrategy[tzinfo]:
    return st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )


def aware_datetimes(
    *, min_value: datetime = _EARLIEST, max_value: datetime = _LATEST
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in UTC, in named zones (with daylight saving time and odd
    offsets such as +05:45) and at fixed offsets other than UTC, never at a wall time that a
    zone skips. ``min_value`` and ``max_value`` are naive bounds on the local wall time."""
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=st.one_of(st.sampled_from(_zones()), _fixed_offsets()),
        allow_imaginary=False,
    )


def naive_datetimes(
    *, min_value: datetime = _EARLIEST, max_value: datetime = _LATEST
) -> st.SearchStrategy[datetime]:
    """Datetimes without a time zone: the library refuses them at its boundary."""
    return st.datetimes(min_value=min_value, max_value=max_value)


# ----------------------------------------------------------------- logging


def _levels(levels: Sequence[Impact | Urgency]) -> st.SearchStrategy[object]:
    """A level as the value itself, its number or its label: the forms the desk accepts."""
    return st.sampled_from(levels).flatmap(
        lambda level: st.sampled_from((level, level.level, level.label))
    )


@st.composite
def _past_instants(draw: st.DrawFn) -> tuple[datetime | None, datetime | None]:
    first = draw(st.none() | aware_datetimes(max_value=_PAST_LIMIT - timedelta(days=2)))
    second = draw(st.none() | aware_datetimes(max_value=_PAST_LIMIT - timedelta(days=2)))
    if first is not None and second is not None and second < first:
        first, second = second, first
    return first, second


@st.composite
def _custom_values(draw: st.DrawFn) -> dict[str, str | int | float | bool | datetime]:
    return draw(st.dictionaries(
        st.sampled_from(("vip", "site", "cost", "reported_by_monitoring", "due")),
        st.one_of(
            st.text(_safe_characters(single_line=False), max_size=20),
            st.integers(min_value=-(2**31), max_value=2**31 - 1),
            st.floats(allow_nan=False, allow_infinity=False, width=32),
            st.booleans(),
            aware_datetimes(),
        ),
        max_size=3,
    ))


@st.composite
def _log_arguments(draw: st.DrawFn) -> dict[str, Any]:
    matrix = PriorityMatrix.servicenow()
    arguments: dict[str, Any] = {"title": draw(titles())}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "description": st.text(_safe_characters(single_line=False), max_size=200),
        "service": _identifiers(),
        "configuration_items": st.lists(_identifiers(), max_size=3),
        "caller": _identifiers(),
        "channel": channels().flatmap(lambda c: st.sampled_from((c, c.value))),
        "impact": _levels(matrix.impacts),
        "urgency": _levels(matrix.urgencies),
        "category": category_paths().flatmap(lambda p: st.sampled_from((p, str(p)))),
        "assignment_group": st.sampled_from(sorted(RoutingTable.default().groups)),
        "custom": _custom_values(),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            arguments[name] = draw(strategy)
    occurred, detected = draw(_past_instants())
    if occurred is not None:
        arguments["occurred_at"] = occurred
    if detected is not None:
        arguments["detected_at"] = detected
    return arguments


def log_arguments() -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for :meth:`~itil_incident.ServiceDesk.log_incident` without
    ``actor``, valid for a desk with the default policies whose clock reads 2020 or later: a
    title and any of the optional arguments (levels given as values, numbers or labels; known
    categories and support groups; ``occurred_at`` / ``detected_at`` before 2020, in order)."""
    return _log_arguments()


# ----------------------------------------------------------------- commands


def _frozen_kwargs(value: Mapping[str, CommandValue]) -> Mapping[str, CommandValue]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Command:
    """One desk command on an incident: the ``ServiceDesk`` method ``name`` and its keyword
    arguments (besides the incident id and the actor). Apply it with :func:`apply_command`."""

    name: str
    kwargs: Mapping[str, CommandValue] = attrs.field(factory=dict, converter=_frozen_kwargs,
                                                     hash=False)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{self.name}({arguments})"


def apply_command(desk: ServiceDesk, incident_id: str, actor: Actor, command: Command
                  ) -> Incident:
    """Run ``command`` on the incident ``incident_id`` through ``desk`` and return the changed
    incident. A refused command raises the desk's error; an unknown command name raises
    :class:`~itil_incident.ValidationError`."""
    if command.name not in COMMAND_NAMES:
        raise ValidationError(f"unknown command {command.name!r} "
                              f"(known: {', '.join(COMMAND_NAMES)})", field="command")
    method: Callable[..., Incident] = getattr(desk, command.name)
    return method(incident_id, actor=actor, **command.kwargs)


def _command(name: str, **arguments: st.SearchStrategy[Any]) -> st.SearchStrategy[Command]:
    return st.fixed_dictionaries(arguments).map(lambda kwargs: Command(name, kwargs))


def _levels_upto(count: int) -> st.SearchStrategy[int | None]:
    return st.none() | st.integers(min_value=1, max_value=count)


@st.composite
def _close(draw: st.DrawFn) -> Command:
    kwargs: dict[str, CommandValue] = {
        "code": draw(st.sampled_from(_CLOSURE_CODES)),
        "caller_confirmed": draw(st.none() | st.booleans()),
    }
    score = draw(st.none() | st.integers(min_value=1, max_value=5))
    if score is not None:
        kwargs["satisfaction"] = score
        kwargs["satisfaction_comment"] = draw(st.none() | _sentences())
    return Command("close", kwargs)


@functools.cache
def _command_strategies() -> Mapping[str, st.SearchStrategy[Command]]:
    policies = DeskPolicies()
    groups = sorted(RoutingTable.default().groups)
    matrix = PriorityMatrix.servicenow()
    codes = sorted(policies.resolution_codes or ())
    return {
        "assign": _command("assign", group=st.none() | st.sampled_from(groups),
                           assignee=st.none() | st.sampled_from(_ASSIGNEES)),
        "start_work": st.just(Command("start_work")),
        "put_on_hold": _command("put_on_hold",
                                reason=st.sampled_from(sorted(policies.hold_reasons)),
                                note=st.none() | _sentences()),
        "resume": st.just(Command("resume")),
        "add_work_note": _command("add_work_note", text=_sentences()),
        "add_comment": _command("add_comment", text=_sentences()),
        "resolve": _command("resolve", code=st.sampled_from(codes), notes=_sentences()),
        "close": _close(),
        "reopen": _command("reopen", reason=_sentences()),
        "cancel": _command("cancel", reason=_sentences()),
        "escalate": _command("escalate", reason=_sentences(),
                             kind=st.sampled_from([k.value for k in EscalationKind]),
                             group=st.none() | st.sampled_from(groups)),
        "change_impact_urgency": _command("change_impact_urgency",
                                          impact=_levels_upto(len(matrix.impacts)),
                                          urgency=_levels_upto(len(matrix.urgencies))),
        "override_priority": _command("override_priority",
                                      priority=st.integers(1, len(matrix.priorities)),
                                      justification=_sentences()),
        "categorize": _command("categorize", category=category_paths().map(str),
                               reroute=st.booleans()),
    }


def commands(names: Iterable[str] | None = None) -> st.SearchStrategy[Command]:
    """Incident commands (all of :data:`COMMAND_NAMES`, or those in ``names``) with
    valid-looking arguments: known support groups, categories and levels, the default hold
    reasons and resolution codes, non-blank texts. Whether the desk accepts one depends on
    the incident's state, so a sequence of them exercises allowed and refused transitions."""
    return _commands(tuple(COMMAND_NAMES if names is None else names))


@functools.cache
def _commands(names: tuple[str, ...]) -> st.SearchStrategy[Command]:
    unknown = sorted(set(names) - set(COMMAND_NAMES))
    if unknown or not names:
        raise ValidationError(f"unknown or no command names: {unknown or names!r} "
                              f"(known: {', '.join(COMMAND_NAMES)})", field="names")
    strategies = _command_strategies()
    return st.one_of(*(strategies[name] for name in names))


# ----------------------------------------------------------------- incidents

#: How :func:`incidents` ends its random sequence: the commands drawn after it.
_ENDINGS: dict[str, tuple[str, ...]] = {
    "as it is": (),
    "resolved": ("resolve",),
    "closed": ("resolve", "close"),
    "cancelled": ("cancel",),
}
_MIDDLE = tuple(name for name in COMMAND_NAMES if name not in ("close", "cancel"))


@st.composite
def _incidents(draw: st.DrawFn, desk_factory: Callable[[], ServiceDesk] | None) -> Incident:
    if desk_factory is None:
        from itil_incident.testing import make_desk  # the package imports this module

        desk = make_desk()
    else:
        desk = desk_factory()
    actor = draw(actors())
    incident = desk.log_incident(actor=actor, **draw(log_arguments()))
    steps = draw(st.integers(min_value=0, max_value=8))
    ending = _ENDINGS[draw(st.sampled_from(sorted(_ENDINGS)))]
    current = incident
    for step in range(steps + len(ending)):
        if step >= steps:
            names: Sequence[str] = (ending[step - steps],)
        else:
            # Half of the steps fire a trigger the workflow allows now, to reach later states.
            allowed = current.allowed_triggers()
            names = tuple(name for name in _MIDDLE if TRIGGERS.get(name) in allowed)
            if not names or draw(st.booleans()):
                names = _MIDDLE
        command = draw(commands(names))
        if isinstance(desk.clock, FrozenClock):
            desk.clock.advance(minutes=draw(st.integers(0, 3 * 24 * 60)))
        try:
            current = apply_command(desk, incident.id, actor, command)
        except ItilIncidentError:
            continue
    return desk.get_incident(incident.id)


def incidents(desk_factory: Callable[[], ServiceDesk] | None = None
              ) -> st.SearchStrategy[Incident]:
    """Incidents in every state of the default lifecycle, read back from their desk.

    Each is logged on a fresh desk (``desk_factory()``, default
    :func:`~itil_incident.testing.make_desk`), then changed by up to 8 :func:`commands` other
    than close and cancel (half of them fire a trigger the workflow allows at that moment),
    and then left as it is, resolved, resolved and closed, or cancelled. Refused commands are
    skipped. When the desk's clock is a :class:`~itil_incident.FrozenClock` it moves forward
    between commands.
    """
    return _incidents(desk_factory)
