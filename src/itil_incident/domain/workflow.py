"""Workflows as data: states, transitions and guards, validated once and shared by every entity.

A :class:`Workflow` is an immutable definition built from :class:`StateDef` and
:class:`TransitionDef` values. It is validated when built, can be loaded from plain data
(:meth:`Workflow.from_dict`, :meth:`Workflow.from_toml`), written back (:meth:`Workflow.to_dict`)
and drawn (:meth:`Workflow.to_mermaid`).

One ``transitions.Machine(model=None, auto_transitions=False)`` per definition holds the
transition table; the workflow reads it once into a plain dict and answers every question
(:meth:`Workflow.fire`, :meth:`Workflow.allowed`, ...) from that dict. No machine is made per
entity and no model is ever added: an entity stores its state as a plain string and asks the
shared workflow where a trigger leads.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
from transitions import Machine

from itil_incident.errors import InvalidTransitionError, ValidationError, WorkflowDefinitionError

if TYPE_CHECKING:
    from transitions.core import TransitionConfigDict

__all__ = [
    "FieldLookup",
    "Guard",
    "StateDef",
    "TransitionDef",
    "Workflow",
]

#: Gives the prospective value of an entity field by name (the value it would have after the
#: command, e.g. the resolution code passed to ``resolve``).
FieldLookup = Callable[[str], object]

#: A condition on a transition: gets the prospective field values, returns whether it may fire.
#: Guards are pure and must not raise.
Guard = Callable[[FieldLookup], bool]

# State names that ``transitions`` reads as wildcards ("every state", "the same state").
_RESERVED_NAMES = frozenset({Machine.wildcard_all, Machine.wildcard_same})
# ``transitions`` refuses a trigger named like the model attribute; no valid trigger has a space.
_MODEL_ATTRIBUTE = "workflow state"

_Guards = tuple[tuple[str, Guard], ...]
# What the table holds for (state, trigger): target state, guards, fields required on entry.
_Entry = tuple[str, _Guards, tuple[str, ...]]


def _to_name_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset((value,)) if isinstance(value, str) else frozenset(value)


def _to_name_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _bad_name(name: object) -> bool:
    return (
        not isinstance(name, str)
        or not name
        or any(char.isspace() for char in name)
        or name in _RESERVED_NAMES
    )


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value)


@attrs.frozen
class StateDef:
    """One state of a workflow and its flags.

    ``name`` is the value stored on the entity (non-empty, no whitespace, not ``*`` or ``=``).
    ``required`` names the entity fields that must be set (not ``None``, not ``""``) when the
    state is entered; a single string counts as one field name.
    """

    name: str
    label: str = ""
    initial: bool = False
    terminal: bool = False
    pauses_sla: bool = False
    resolved: bool = False
    required: frozenset[str] = attrs.field(default=frozenset(), converter=_to_name_set)

    @property
    def display(self) -> str:
        """The label, or the name made readable when it is empty.

        ``in_progress`` without a label displays as ``In progress``.
        """
        if self.label:
            return self.label
        return self.name.replace("_", " ").capitalize()


@attrs.frozen
class TransitionDef:
    """A trigger that moves an entity from any of ``sources`` to ``target``.

    ``target`` ``None`` makes the transition reflexive: the entity stays in its source state.
    ``guards`` names conditions given to :class:`Workflow` as ``guards=``; all must hold.
    A single string for ``sources`` or ``guards`` counts as a one-element tuple.
    """

    trigger: str
    sources: tuple[str, ...] = attrs.field(converter=_to_name_tuple)
    target: str | None = None
    guards: tuple[str, ...] = attrs.field(default=(), converter=_to_name_tuple)


class Workflow:
    """A validated, immutable workflow definition, shared by every entity that follows it.

    Building checks the definition and raises :class:`WorkflowDefinitionError` on the first
    problem found, in this order:

    1. the workflow name is empty;
    2. there are no states;
    3. two states share a name;
    4. a state name is empty, contains whitespace or is ``*`` / ``=``;
    5. there is no initial state, or more than one;
    6. there is no terminal state;
    7. a terminal state is also the initial state;
    8. a trigger is empty or contains whitespace, or a transition has no sources;
    9. a transition's source or target is not a state;
    10. a transition names a guard that is not in ``guards``;
    11. the same trigger leaves the same source twice;
    12. a transition leaves a terminal state;
    13. some states cannot be reached from the initial state (all are named);
    14. dead ends: from some non-terminal states no terminal state can be reached (all named).

    The error's ``culprit`` is the state at fault, the trigger for faults of a whole transition
    (8, 9 for a target, 10), ``"trigger from source"`` for faults of one source (9 for a source,
    11, 12), the names joined by ``", "`` for 13 and 14, and ``None`` for 1, 2, 5 (none) and 6.
    """

    __slots__ = (
        "_by_state",
        "_table",
        "initial",
        "machine",
        "name",
        "states",
        "transitions",
        "triggers",
    )

    name: str
    initial: str
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    triggers: tuple[str, ...]
    machine: Machine
    _table: dict[tuple[str, str], _Entry]
    _by_state: dict[str, tuple[tuple[str, _Guards], ...]]

    def __init__(
        self,
        name: str,
        states: Iterable[StateDef],
        transitions: Iterable[TransitionDef],
        *,
        guards: Mapping[str, Guard] | None = None,
    ) -> None:
        state_list = tuple(states)
        transition_list = tuple(transitions)
        guard_functions = dict(guards or {})
        initial = _check_states(name, state_list)
        by_name = {state.name: state for state in state_list}
        _check_transitions(by_name, transition_list, guard_functions)

        self.name = name
        self.initial = initial
        self.states = MappingProxyType(by_name)
        self.transitions = transition_list
        self.triggers = tuple(dict.fromkeys(t.trigger for t in transition_list))
        self.machine = _build_machine(state_list, transition_list, initial)
        self._table = _read_table(self.machine, by_name, guard_functions)
        self._by_state = {
            state: tuple(
                (trigger, self._table[state, trigger][1])
                for trigger in self.triggers
                if (state, trigger) in self._table
            )
            for state in by_name
        }
        _check_graph(self)

    # -- questions about the definition ---------------------------------------------------------

    def state(self, name: str) -> StateDef:
        """The definition of state ``name``; an unknown name raises :class:`ValidationError`."""
        try:
            return self.states[name]
        except KeyError:
            raise self._unknown_state(name) from None

    def is_terminal(self, state: str) -> bool:
        """Whether ``state`` is final: no transition leaves it."""
        return self.state(state).terminal

    def target(self, state: str, trigger: str) -> str | None:
        """Where ``trigger`` leads from ``state`` ignoring guards, or ``None`` when it cannot fire.

        A reflexive transition leads to ``state`` itself. An unknown state raises
        :class:`ValidationError`.
        """
        entry = self._table.get((state, trigger))
        if entry is not None:
            return entry[0]
        self.state(state)
        return None

    def fire(self, state: str, trigger: str, fields: FieldLookup | None = None) -> str:
        """The state that ``trigger`` leads to from ``state``; raise if it may not fire.

        With ``fields`` the guards are evaluated and, when the target differs from ``state``,
        the target's required fields must be set. Without ``fields`` only the table is
        consulted: guards and required fields are not checked.

        Raises :class:`InvalidTransitionError` (no such transition, a guard refused, required
        fields missing) or :class:`ValidationError` (unknown state).
        """
        entry = self._table.get((state, trigger))
        if entry is None:
            self.state(state)
            raise InvalidTransitionError(state, trigger, self.allowed(state, fields))
        if fields is None:
            return entry[0]
        target, guards, required = entry
        for guard_name, guard in guards:
            if not guard(fields):
                raise InvalidTransitionError(
                    state,
                    trigger,
                    self.allowed(state, fields),
                    reason=f"guard {guard_name!r} refused",
                )
        for field in required:
            if _is_missing(fields(field)):
                missing = ", ".join(name for name in required if _is_missing(fields(name)))
                raise InvalidTransitionError(
                    state,
                    trigger,
                    self.allowed(state, fields),
                    reason=f"{target!r} requires {missing}",
                )
        return target

    def allowed(self, state: str, fields: FieldLookup | None = None) -> tuple[str, ...]:
        """The triggers that may fire in ``state``, in definition order.

        With ``fields`` the guards are evaluated; required fields are not checked. An unknown
        state raises :class:`ValidationError`.
        """
        try:
            options = self._by_state[state]
        except KeyError:
            raise self._unknown_state(state) from None
        if fields is None:
            return tuple(trigger for trigger, _ in options)
        return tuple(
            trigger for trigger, guards in options if all(guard(fields) for _, guard in guards)
        )

    def reachable_from(self, state: str) -> frozenset[str]:
        """The states reachable from ``state`` in zero or more transitions, ignoring guards."""
        self.state(state)
        seen = {state}
        pending = [state]
        while pending:
            current = pending.pop()
            for trigger, _ in self._by_state[current]:
                nxt = self._table[current, trigger][0]
                if nxt not in seen:
                    seen.add(nxt)
                    pending.append(nxt)
        return frozenset(seen)

    def _unknown_state(self, name: str) -> ValidationError:
        known = ", ".join(self.states)
        return ValidationError(
            f"unknown state {name!r} in workflow {self.name!r} (known states: {known})",
            field="status",
        )

    # -- plain data, TOML and Mermaid -----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain data (guards by name), the format :meth:`from_dict` reads."""
        return {
            "name": self.name,
            "states": [
                {
                    "name": state.name,
                    "label": state.label,
                    "initial": state.initial,
                    "terminal": state.terminal,
                    "pauses_sla": state.pauses_sla,
                    "resolved": state.resolved,
                    "required": sorted(state.required),
                }
                for state in self.states.values()
            ],
            "transitions": [
                {
                    "trigger": transition.trigger,
                    "source": list(transition.sources),
                    "target": transition.target,
                    "guards": list(transition.guards),
                }
                for transition in self.transitions
            ],
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, guards: Mapping[str, Guard] | None = None
    ) -> Workflow:
        """Build a workflow from plain data, as written by :meth:`to_dict`.

        Format: ``{"name": str, "states": [{"name": str, "label": str, "initial": bool,
        "terminal": bool, "pauses_sla": bool, "resolved": bool, "required": [str, ...]}, ...],
        "transitions": [{"trigger": str, "source": str | [str, ...], "target": str | None,
        "guards": [str, ...]}, ...]}``. Only the state ``name``, the transition ``trigger`` and
        ``source`` (or ``sources``) are needed; an absent ``target`` makes the transition
        reflexive. Malformed data raises :class:`WorkflowDefinitionError` whose message starts
        with the key path (``"states[2].terminal: expected a boolean, got 'yes'"``) and whose
        ``culprit`` is that path.
        """
        name, states, transitions = _read_definition(data)
        return cls(name, states, transitions, guards=guards)

    @classmethod
    def from_toml(cls, text: str, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
        """Build a workflow from TOML text in the :meth:`from_dict` format.

        States are ``[[states]]`` tables and transitions ``[[transitions]]`` tables. A TOML
        syntax error raises :class:`WorkflowDefinitionError`.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise WorkflowDefinitionError(f"invalid TOML: {exc}") from None
        return cls.from_dict(data, guards=guards)

    def to_mermaid(self) -> str:
        """The workflow as a Mermaid ``stateDiagram-v2``; guards show as ``trigger [guard]``."""
        lines = ["stateDiagram-v2"]
        for state in self.states.values():
            if state.label:
                label = state.label.replace('"', "#quot;")
                lines.append(f'    state "{label}" as {state.name}')
        lines.append(f"    [*] --> {self.initial}")
        for transition in self.transitions:
            text = transition.trigger
            if transition.guards:
                text += f" [{', '.join(transition.guards)}]"
            for source in transition.sources:
                target = source if transition.target is None else transition.target
                lines.append(f"    {source} --> {target} : {text}")
        lines.extend(f"    {s.name} --> [*]" for s in self.states.values() if s.terminal)
        return "\n".join(lines) + "\n"

    # -- value semantics ------------------------------------------------------------------------

    def _key(self) -> tuple[str, tuple[StateDef, ...], tuple[TransitionDef, ...]]:
        return (self.name, tuple(self.states.values()), self.transitions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workflow):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"<Workflow {self.name!r}: {len(self.states)} states, "
            f"{len(self.transitions)} transitions>"
        )


def _check_states(name: str, states: Sequence[StateDef]) -> str:
    """Checks 1-7; returns the initial state's name."""
    if not isinstance(name, str) or not name:
        raise WorkflowDefinitionError("a workflow needs a non-empty name")
    if not states:
        raise WorkflowDefinitionError(f"workflow {name!r} has no states")
    seen: set[str] = set()
    for state in states:
        if state.name in seen:
            raise WorkflowDefinitionError(
                f"workflow {name!r} defines state {state.name!r} twice", culprit=state.name
            )
        seen.add(state.name)
    for state in states:
        if _bad_name(state.name):
            raise WorkflowDefinitionError(
                f"state name {state.name!r} must be non-empty, without whitespace, "
                "and not '*' or '='",
                culprit=state.name,
            )
    initials = [state.name for state in states if state.initial]
    if not initials:
        raise WorkflowDefinitionError(f"workflow {name!r} has no initial state")
    if len(initials) > 1:
        raise WorkflowDefinitionError(
            f"workflow {name!r} has more than one initial state: {', '.join(initials)}",
            culprit=initials[1],
        )
    if not any(state.terminal for state in states):
        raise WorkflowDefinitionError(f"workflow {name!r} has no terminal state")
    for state in states:
        if state.terminal and state.initial:
            raise WorkflowDefinitionError(
                f"state {state.name!r} cannot be both initial and terminal", culprit=state.name
            )
    return initials[0]


def _check_transitions(
    states: Mapping[str, StateDef],
    transitions: Sequence[TransitionDef],
    guards: Mapping[str, Guard],
) -> None:
    """Checks 8-12."""
    for t in transitions:
        if _bad_name(t.trigger):
            raise WorkflowDefinitionError(
                f"trigger {t.trigger!r} must be non-empty and without whitespace",
                culprit=t.trigger,
            )
        if not t.sources:
            raise WorkflowDefinitionError(
                f"transition {t.trigger!r} has no source state", culprit=t.trigger
            )
    for t in transitions:
        for source in t.sources:
            if source not in states:
                raise WorkflowDefinitionError(
                    f"transition {t.trigger!r} leaves unknown state {source!r}",
                    culprit=f"{t.trigger} from {source}",
                )
        if t.target is not None and t.target not in states:
            raise WorkflowDefinitionError(
                f"transition {t.trigger!r} leads to unknown state {t.target!r}",
                culprit=t.trigger,
            )
    for t in transitions:
        for guard in t.guards:
            if guard not in guards:
                raise WorkflowDefinitionError(
                    f"transition {t.trigger!r} names guard {guard!r}, which was not given",
                    culprit=t.trigger,
                )
    seen: set[tuple[str, str]] = set()
    for t in transitions:
        for source in t.sources:
            if (source, t.trigger) in seen:
                raise WorkflowDefinitionError(
                    f"trigger {t.trigger!r} is defined twice from state {source!r}",
                    culprit=f"{t.trigger} from {source}",
                )
            seen.add((source, t.trigger))
    for t in transitions:
        for source in t.sources:
            if states[source].terminal:
                raise WorkflowDefinitionError(
                    f"transition {t.trigger!r} leaves terminal state {source!r}",
                    culprit=f"{t.trigger} from {source}",
                )


def _build_machine(
    states: Sequence[StateDef], transitions: Sequence[TransitionDef], initial: str
) -> Machine:
    config: list[TransitionConfigDict] = [
        {
            "trigger": t.trigger,
            "source": list(t.sources),
            "dest": t.target,
            "conditions": list(t.guards),
        }
        for t in transitions
    ]
    return Machine(
        model=None,
        states=[{"name": state.name, "final": state.terminal} for state in states],
        transitions=config,
        initial=initial,
        auto_transitions=False,
        model_attribute=_MODEL_ATTRIBUTE,
    )


def _read_table(
    machine: Machine, states: Mapping[str, StateDef], guards: Mapping[str, Guard]
) -> dict[tuple[str, str], _Entry]:
    table: dict[tuple[str, str], _Entry] = {}
    for trigger, event in machine.events.items():
        for source, options in event.transitions.items():
            (transition,) = options  # validation allows one transition per trigger and source
            target = source if transition.dest is None else transition.dest
            names = [str(condition.func) for condition in transition.conditions]
            required = () if target == source else tuple(sorted(states[target].required))
            table[source, trigger] = (target, tuple((n, guards[n]) for n in names), required)
    return table


def _check_graph(workflow: Workflow) -> None:
    """Checks 13 and 14."""
    reachable = workflow.reachable_from(workflow.initial)
    unreachable = [name for name in workflow.states if name not in reachable]
    if unreachable:
        names = ", ".join(unreachable)
        raise WorkflowDefinitionError(
            f"workflow {workflow.name!r}: unreachable from {workflow.initial!r}: {names}",
            culprit=names,
        )
    dead_ends = [
        name
        for name, state in workflow.states.items()
        if not state.terminal
        and not any(workflow.states[s].terminal for s in workflow.reachable_from(name))
    ]
    if dead_ends:
        names = ", ".join(dead_ends)
        raise WorkflowDefinitionError(
            f"workflow {workflow.name!r}: no terminal state can be reached from {names}",
            culprit=names,
        )


# -- reading plain data ---------------------------------------------------------------------------

_ROOT_KEYS = {"name": True, "states": True, "transitions": True}  # key -> required
_STATE_KEYS = {
    "name": True,
    "label": False,
    "initial": False,
    "terminal": False,
    "pauses_sla": False,
    "resolved": False,
    "required": False,
}
_TRANSITION_KEYS = {
    "trigger": True,
    "source": False,
    "sources": False,
    "target": False,
    "guards": False,
}


def _fail(path: str, problem: str) -> WorkflowDefinitionError:
    return WorkflowDefinitionError(f"{path or 'definition'}: {problem}", culprit=path or None)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _table_at(value: object, path: str, keys: Mapping[str, bool]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"expected a table, got {value!r}")
    for key in value:
        if key not in keys:
            raise _fail(_join(path, str(key)), "unknown key")
    for key, required in keys.items():
        if required and key not in value:
            raise _fail(_join(path, key), "missing")
    return value


def _list_at(value: object, path: str) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        raise _fail(path, f"expected a list, got {value!r}")
    return value


def _str_at(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"expected a string, got {value!r}")
    return value


def _bool_at(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"expected a boolean, got {value!r}")
    return value


def _strs_at(value: object, path: str, *, single: bool = False) -> tuple[str, ...]:
    if single and isinstance(value, str):
        return (value,)
    items = _list_at(value, path)
    return tuple(_str_at(item, f"{path}[{index}]") for index, item in enumerate(items))


def _read_state(value: object, path: str) -> StateDef:
    table = _table_at(value, path, _STATE_KEYS)
    return StateDef(
        name=_str_at(table["name"], _join(path, "name")),
        label=_str_at(table.get("label", ""), _join(path, "label")),
        initial=_bool_at(table.get("initial", False), _join(path, "initial")),
        terminal=_bool_at(table.get("terminal", False), _join(path, "terminal")),
        pauses_sla=_bool_at(table.get("pauses_sla", False), _join(path, "pauses_sla")),
        resolved=_bool_at(table.get("resolved", False), _join(path, "resolved")),
        required=_strs_at(table.get("required", ()), _join(path, "required")),
    )


def _read_transition(value: object, path: str) -> TransitionDef:
    table = _table_at(value, path, _TRANSITION_KEYS)
    if "source" in table and "sources" in table:
        raise _fail(_join(path, "sources"), "give either 'source' or 'sources', not both")
    key = "sources" if "sources" in table else "source"
    if key not in table:
        raise _fail(_join(path, "source"), "missing")
    target = table.get("target")
    return TransitionDef(
        trigger=_str_at(table["trigger"], _join(path, "trigger")),
        sources=_strs_at(table[key], _join(path, key), single=True),
        target=None if target is None else _str_at(target, _join(path, "target")),
        guards=_strs_at(table.get("guards", ()), _join(path, "guards")),
    )


def _read_definition(
    data: object,
) -> tuple[str, tuple[StateDef, ...], tuple[TransitionDef, ...]]:
    root = _table_at(data, "", _ROOT_KEYS)
    name = _str_at(root["name"], "name")
    states = tuple(
        _read_state(item, f"states[{index}]")
        for index, item in enumerate(_list_at(root["states"], "states"))
    )
    transitions = tuple(
        _read_transition(item, f"transitions[{index}]")
        for index, item in enumerate(_list_at(root["transitions"], "transitions"))
    )
    return name, states, transitions
