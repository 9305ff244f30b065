"""A Hypothesis state machine that drives a real service desk against a simple model.

:class:`DeskStateMachine` logs incidents and applies random :func:`~itil_incident.testing.
strategies.commands` to them, moving a frozen clock forward between steps. A small, obviously
correct model (a hand-written table of the default ITIL incident lifecycle, plus the few fields
that decide whether a command is refused) predicts each outcome. A refused command must raise a
library error and leave the stored incident untouched; an accepted one must succeed. After
every step, every incident is checked against the model and against its own history.

Parents, children and duplicates are modelled too: random ``set_parent`` and
``mark_duplicate`` commands build families, and a resolution (or closure) of a parent is
predicted to resolve its open children when ``policies.cascade_resolution`` is on.

Time-driven processing: with ``policies.auto_close_after`` (the default desk closes resolved
incidents after a day), ``process_due`` runs between commands; the model predicts which
resolved incidents it closes (resolved, or commented on by their caller, that long ago) and,
with the cascade on, which children reopened or attached since their parent's resolution it
resolves with them.

Run it in a test module with ``TestDeskLifecycle = DeskStateMachine.TestCase``; subclass it and
override :meth:`DeskStateMachine.make_desk` to run it over your own repository or notifier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from itil_incident.adapters.clocks import FrozenClock
from itil_incident.adapters.notifiers import RecordingNotifier
from itil_incident.desk import ServiceDesk
from itil_incident.domain.events import IncidentReopened
from itil_incident.domain.incident import Incident
from itil_incident.domain.values import SYSTEM, Actor, CategoryPath
from itil_incident.errors import ItilIncidentError, ValidationError
from itil_incident.policies.bundle import DeskPolicies
from itil_incident.testing.strategies import (
    TRIGGERS,
    Command,
    actors,
    apply_command,
    commands,
    log_arguments,
)

__all__ = ["DeskStateMachine", "TestCase"]

# ----------------------------------------------------------------- the model

_OPEN = ("new", "assigned", "in_progress", "on_hold")
_TERMINAL = ("closed", "cancelled")

#: The default ITIL incident lifecycle, written out by hand: (state, trigger) -> new state.
_LIFECYCLE: dict[tuple[str, str], str] = {
    ("new", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("in_progress", "assign"): "in_progress",
    ("on_hold", "assign"): "on_hold",
    ("new", "start"): "in_progress",
    ("assigned", "start"): "in_progress",
    ("assigned", "hold"): "on_hold",
    ("in_progress", "hold"): "on_hold",
    ("on_hold", "resume"): "in_progress",
    **{(state, "resolve"): "resolved" for state in _OPEN},
    ("resolved", "close"): "closed",
    ("resolved", "reopen"): "in_progress",
    **{(state, "cancel"): "cancelled" for state in _OPEN},
}


@attrs.frozen
class _Expected:
    """What the model knows of one incident."""

    status: str
    events: int
    reopen_count: int
    assignment_group: str | None
    assignee: str | None
    support_tier: int | None
    hold_reason: str | None
    category: CategoryPath | None
    impact: int
    urgency: int
    service: str | None

    @classmethod
    def logged(cls, incident: Incident) -> _Expected:
        return cls(
            status="new", events=1, reopen_count=0,
            assignment_group=incident.assignment_group, assignee=None,
            support_tier=incident.support_tier, hold_reason=None, category=incident.category,
            impact=incident.impact.level, urgency=incident.urgency.level,
            service=incident.service,
        )

    def seen_in(self, incident: Incident) -> dict[str, object]:
        """The model's fields as read from ``incident``, for comparison."""
        return {
            "status": incident.status,
            "events": incident.version,
            "reopen_count": incident.reopen_count,
            "assignment_group": incident.assignment_group,
            "assignee": incident.assignee,
            "support_tier": incident.support_tier,
            "hold_reason": incident.hold_reason,
            "category": incident.category,
            "impact": incident.impact.level,
            "urgency": incident.urgency.level,
            "service": incident.service,
        }


def _moved(model: _Expected, trigger: str, events: int = 1, **changes: Any) -> _Expected | None:
    target = _LIFECYCLE.get((model.status, trigger))
    if target is None:
        return None
    return attrs.evolve(model, status=target, events=model.events + events, **changes)


def _changed(model: _Expected, events: int = 1, **changes: Any) -> _Expected | None:
    if model.status in _TERMINAL:
        return None
    return attrs.evolve(model, events=model.events + events, **changes)


def _tier(policies: DeskPolicies, group: str | None) -> int | None:
    routing = policies.routing
    if routing is None or group is None:
        return None
    return routing.groups[group].tier


def _known_group(policies: DeskPolicies, group: str) -> bool:
    return policies.routing is None or group in policies.routing.groups


def _assigned(model: _Expected, policies: DeskPolicies, group: str | None,
              assignee: str | None, events: int = 1) -> _Expected | None:
    if group is None and assignee is None:
        return None
    if group is not None and not _known_group(policies, group):
        return None
    new_group = model.assignment_group if group is None else group
    new_tier = model.support_tier if group is None else _tier(policies, group)
    if assignee is not None:
        new_assignee: str | None = assignee
    elif new_group != model.assignment_group:
        new_assignee = None
    else:
        new_assignee = model.assignee
    if (new_group, new_assignee, new_tier) == (
        model.assignment_group, model.assignee, model.support_tier
    ):
        return None
    if model.status == "new" and new_group is None:  # entering "assigned" needs a group
        return None
    return _moved(model, "assign", events, assignment_group=new_group, assignee=new_assignee,
                  support_tier=new_tier)


def _escalated(model: _Expected, policies: DeskPolicies, kind: str, group: str | None
               ) -> _Expected | None:
    if model.status not in _OPEN:
        return None
    if kind == "hierarchical":
        return _changed(model)
    routing = policies.routing
    if group is not None:
        if not _known_group(policies, group):
            return None
        target: str | None = group
    elif routing is not None and model.assignment_group is not None and (
        model.assignment_group in routing.groups
    ):
        target = routing.groups[model.assignment_group].escalates_to
    else:
        target = None
    if target is None or target == model.assignment_group:
        return None
    return _changed(model, assignment_group=target, support_tier=_tier(policies, target),
                    assignee=None)


def _categorized(model: _Expected, policies: DeskPolicies, category: str, reroute: bool
                 ) -> _Expected | None:
    tree = policies.categories
    try:
        path = CategoryPath.parse(category) if tree is None else tree.validate(category)
    except ValidationError:
        return None
    if path == model.category:
        return None
    changed = _changed(model, category=path)
    routing = policies.routing
    if changed is None or not reroute or routing is None:
        return changed
    route = routing.route(category=path, service=model.service)
    if route is None or route.group == model.assignment_group:
        return changed
    return _assigned(changed, policies, route.group, None)


def _expected_after(model: _Expected, command: Command, actor: Actor, policies: DeskPolicies
                   ) -> _Expected | None:
    """What ``command`` makes of an incident the model knows as ``model``; None: refused."""
    args = command.kwargs
    name = command.name
    if name == "assign":
        return _assigned(model, policies, _opt_str(args.get("group")),
                         _opt_str(args.get("assignee")))
    if name == "start_work":
        return _moved(model, "start", assignee=model.assignee or actor.id)
    if name == "put_on_hold":
        if args["reason"] not in policies.hold_reasons:
            return None
        return _moved(model, "hold", 1 if args.get("note") is None else 2,
                      hold_reason=args["reason"])
    if name == "resume":
        return _moved(model, "resume", hold_reason=None)
    if name in ("add_work_note", "add_comment"):
        return _changed(model)
    if name == "resolve":
        codes = policies.resolution_codes
        if codes is not None and args["code"] not in codes:
            return None
        return _moved(model, "resolve", hold_reason=None)
    if name == "close":
        if args.get("satisfaction") is None and args.get("satisfaction_comment") is not None:
            return None
        return _moved(model, "close")
    if name == "reopen":
        return _moved(model, "reopen", reopen_count=model.reopen_count + 1)
    if name == "cancel":
        return _moved(model, "cancel", hold_reason=None)
    if name == "escalate":
        return _escalated(model, policies, str(args.get("kind", "functional")),
                          _opt_str(args.get("group")))
    if name == "change_impact_urgency":
        impact = _opt_int(args.get("impact")) or model.impact
        urgency = _opt_int(args.get("urgency")) or model.urgency
        matrix = policies.priority_matrix
        if (impact, urgency) == (model.impact, model.urgency) or not (
            1 <= impact <= len(matrix.impacts) and 1 <= urgency <= len(matrix.urgencies)
        ):
            return None
        return _changed(model, impact=impact, urgency=urgency)
    if name == "override_priority":
        level = _opt_int(args.get("priority"))
        if level is None or not 1 <= level <= len(policies.priority_matrix.priorities):
            return None
        return _changed(model)
    if name == "categorize":
        return _categorized(model, policies, str(args["category"]),
                            bool(args.get("reroute", False)))
    raise AssertionError(f"the model does not know the command {name!r}")


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# ----------------------------------------------------------------- the machine

_MAX_INCIDENTS = 4
_ELAPSED = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3))
#: The default desk's ``auto_close_after``: about one step in three reaches it.
_AUTO_CLOSE_AFTER = timedelta(days=1)


_SETTINGS = settings(
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class DeskStateMachine(RuleBasedStateMachine):
    """Drives a :class:`~itil_incident.ServiceDesk` with random commands against a model.

    The desk comes from :meth:`make_desk`; its clock must be a
    :class:`~itil_incident.FrozenClock`, and it must follow the default incident workflow
    (other policies are read from ``desk.policies``). Invariants checked after every step, for
    every incident: ``version == len(timeline())``; the status, reopen count, number of events
    and assignment are those of the model; the state equals the fold of its history; a closed
    or cancelled incident never changes; the repository's history equals the timeline. The
    default settings are modest (50 examples of up to 30 steps); assign
    ``YourMachine.TestCase.settings`` to change them.

    Families: every incident's parent and children are those of the model; with
    ``cascade_resolution`` on, a closed parent has no open children; a duplicate is closed,
    listed by its original (never itself a duplicate), whose watchers include its caller.

    ``process_due`` runs as a rule when the desk auto-closes resolved incidents
    (``auto_close_after``, in wall time) and nothing else is time-driven (no SLA policy, no
    hold reminders), so that the model can predict every event it records.
    """

    incidents = Bundle("incidents")

    def __init__(self) -> None:
        super().__init__()
        self.desk = self.make_desk()
        clock = self.desk.clock
        if not isinstance(clock, FrozenClock):
            raise TypeError(f"make_desk() must give a desk with a FrozenClock, "
                            f"not {type(clock).__name__}")
        self.clock = clock
        self.expected: dict[str, _Expected] = {}
        self.finished: dict[str, dict[str, Any]] = {}
        # parent, child and duplicate incidents (absent entries: no parent, no children, ...)
        self.parent_of: dict[str, str] = {}
        self.children_of: dict[str, tuple[str, ...]] = {}
        self.duplicate_of: dict[str, str] = {}
        self.duplicates_of: dict[str, tuple[str, ...]] = {}
        self.watchers_of: dict[str, tuple[str, ...]] = {}
        # auto-close: since when each resolved incident has waited (subclasses that resolve
        # incidents in rules of their own record it here, or the desk's status_since counts)
        self.resolved_since: dict[str, datetime] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TestCase.settings = _SETTINGS

    def make_desk(self) -> ServiceDesk:
        """The desk under test; override it to test your own adapters. Default: in-memory,
        the default policies but for ``auto_close_after`` (a day)."""
        from itil_incident.testing import make_desk  # the package imports this module

        return make_desk(policies=DeskPolicies(auto_close_after=_AUTO_CLOSE_AFTER))

    # ----------------------------------------------------------------- rules

    @initialize(target=incidents, arguments=log_arguments(), actor=actors())
    def log_first_incident(self, arguments: dict[str, Any], actor: Actor) -> str:
        return self._log(arguments, actor)

    @rule(target=incidents, arguments=log_arguments(), actor=actors())
    def log_incident(self, arguments: dict[str, Any], actor: Actor) -> MultipleResults[str]:
        """Log an incident, unless there are enough already (so that commands pile up on a
        few incidents and take them through their whole lifecycle)."""
        if len(self.expected) >= _MAX_INCIDENTS:
            return multiple()
        return multiple(self._log(arguments, actor))

    def _log(self, arguments: dict[str, Any], actor: Actor) -> str:
        incident = self.desk.log_incident(actor=actor, **arguments)
        assert (incident.status, incident.version) == ("new", 1), incident
        self.expected[incident.id] = _Expected.logged(incident)
        return incident.id

    @rule(incident_id=incidents, command=commands(), actor=actors(), elapsed=_ELAPSED)
    def apply_any_command(self, incident_id: str, command: Command, actor: Actor,
                          elapsed: timedelta) -> None:
        self.check_command(incident_id, command, actor, elapsed)

    @rule(incident_id=incidents, data=st.data(), actor=actors(), elapsed=_ELAPSED)
    def apply_a_lifecycle_command(self, incident_id: str, data: st.DataObject, actor: Actor,
                                  elapsed: timedelta) -> None:
        """A command whose trigger the lifecycle table allows in the incident's status (it may
        still be refused for its arguments), so that runs reach the later states often."""
        status = self.expected[incident_id].status
        names = [name for name, trigger in TRIGGERS.items()
                 if (status, trigger) in _LIFECYCLE]
        if not names:  # closed or cancelled: anything goes, and must be refused
            names = sorted(TRIGGERS)
        command = data.draw(commands(names), label="command")
        self.check_command(incident_id, command, actor, elapsed)

    def check_command(self, incident_id: str, command: Command, actor: Actor,
                      elapsed: timedelta) -> None:
        """Move the clock, then apply ``command`` and check the outcome the model predicts."""
        self.clock.advance(elapsed)
        before = self.desk.get_incident(incident_id)
        expected = _expected_after(self.expected[incident_id], command, actor,
                                   self.desk.policies)
        parent = self.parent_of.get(incident_id)
        if (command.name == "reopen" and parent is not None
                and self.desk.policies.cascade_resolution
                and self.expected[parent].status == "closed"):
            expected = None  # a child of a closed parent is detached before it is reopened
        event(f"{command.name} in {before.status}: "
              f"{'refused' if expected is None else 'accepted'}")
        if expected is None:
            try:
                apply_command(self.desk, incident_id, actor, command)
            except ItilIncidentError:
                pass
            else:
                raise AssertionError(f"{command!r} should have been refused in "
                                     f"{before.status!r}")
            after = self.desk.get_incident(incident_id)
            assert after.version == before.version, f"a refused {command!r} was stored"
            assert after.snapshot() == before.snapshot(), f"a refused {command!r} was stored"
            return
        try:
            apply_command(self.desk, incident_id, actor, command)
        except ItilIncidentError as error:
            raise AssertionError(f"{command!r} was refused in {before.status!r}: {error}"
                                 ) from error
        if expected.status == "resolved" and (
                before.status != "resolved" or (command.name == "add_comment"
                                                and actor.id == before.caller)):
            self.resolved_since[incident_id] = self.clock.now()  # the auto-close wait starts
        self.expected[incident_id] = expected
        if command.name in ("resolve", "close") and self.desk.policies.cascade_resolution:
            self._cascade(incident_id)

    # ----------------------------------------------------------------- families

    @rule(child=incidents, parent=st.none() | incidents, actor=actors(), elapsed=_ELAPSED)
    def set_a_parent(self, child: str, parent: str | None, actor: Actor,
                     elapsed: timedelta) -> None:
        """Attach ``child`` to ``parent`` (None: detach it); the old and new parents' child
        lists follow."""
        self.clock.advance(elapsed)
        accepted = self._parent_allowed(child, parent)
        event(f"set_parent: {'accepted' if accepted else 'refused'}")
        if not accepted:
            self._expect_refusal(lambda: self.desk.set_parent(child, parent, actor=actor),
                                 f"set_parent({child}, {parent})")
            return
        self.desk.set_parent(child, parent, actor=actor)
        self._count(child)
        old = self.parent_of.pop(child, None)
        if old is not None and self.expected[old].status not in _TERMINAL and (
                child in self.children_of.get(old, ())):
            self._count(old)
            self.children_of[old] = tuple(c for c in self.children_of[old] if c != child)
        if parent is not None:
            self._count(parent)
            self.children_of[parent] = (*self.children_of.get(parent, ()), child)
            self.parent_of[child] = parent

    @rule(duplicate=incidents, original=incidents, actor=actors(), elapsed=_ELAPSED)
    def mark_a_duplicate(self, duplicate: str, original: str, actor: Actor,
                         elapsed: timedelta) -> None:
        """Mark ``duplicate`` as a duplicate of ``original``: it closes, the original lists it
        and watches for its caller."""
        self.clock.advance(elapsed)
        accepted = self._duplicate_allowed(duplicate, original)
        event(f"mark_duplicate: {'accepted' if accepted else 'refused'}")
        if not accepted:
            self._expect_refusal(
                lambda: self.desk.mark_duplicate(duplicate, original, actor=actor),
                f"mark_duplicate({duplicate}, {original})")
            return
        caller = self.desk.get_incident(duplicate).caller
        original_caller = self.desk.get_incident(original).caller
        self.desk.mark_duplicate(duplicate, original, actor=actor)
        self.expected[duplicate] = attrs.evolve(
            self.expected[duplicate], status="closed", hold_reason=None,
            events=self.expected[duplicate].events + 3)
        self._count(original)
        self.duplicate_of[duplicate] = original
        self.duplicates_of[original] = (*self.duplicates_of.get(original, ()), duplicate)
        watchers = self.watchers_of.get(original, ())
        if caller is not None and caller != original_caller and caller not in watchers:
            self.watchers_of[original] = (*watchers, caller)

    @precondition(lambda self: len(self._open_incidents()) >= 2)
    @rule(data=st.data(), actor=actors(), elapsed=_ELAPSED)
    def attach_an_open_child(self, data: st.DataObject, actor: Actor,
                             elapsed: timedelta) -> None:
        """Attach one open incident to another (so that families form often)."""
        candidates = self._open_incidents()
        child = data.draw(st.sampled_from(candidates), label="child")
        parent = data.draw(st.sampled_from([c for c in candidates if c != child]),
                           label="parent")
        self.set_a_parent(child, parent, actor, elapsed)

    @precondition(lambda self: bool(self._parents_with_open_children()))
    @rule(data=st.data(), actor=actors(), elapsed=_ELAPSED)
    def resolve_or_close_a_parent(self, data: st.DataObject, actor: Actor,
                                  elapsed: timedelta) -> None:
        """Resolve (or close, when resolved) an incident that has open children: with the
        cascade on, they are resolved too."""
        parent = data.draw(st.sampled_from(self._parents_with_open_children()), label="parent")
        event("a parent with open children: resolve or close")
        name = "close" if self.expected[parent].status == "resolved" else "resolve"
        command = data.draw(commands([name]), label="command")
        self.check_command(parent, command, actor, elapsed)

    # ----------------------------------------------------------------- time-driven

    def _auto_close_only(self) -> bool:
        policies = self.desk.policies
        return (policies.auto_close_after is not None and policies.auto_close_calendar is None
                and policies.sla is None and policies.hold_reminder_every is None)

    @precondition(lambda self: self._auto_close_only())
    @rule(elapsed=_ELAPSED)
    def process_due(self, elapsed: timedelta) -> None:
        """Run the time-driven processing: the resolved incidents that have waited long
        enough close, in id order, each resolving first its children open again (and theirs)
        when the cascade is on."""
        self.clock.advance(elapsed)
        now = self.clock.now()
        after = self.desk.policies.auto_close_after
        assert after is not None
        due = sorted(i for i, model in self.expected.items() if model.status == "resolved"
                     and self._waiting_since(i) + after <= now)
        reopened = [i for i in due if self._has_open_children(i)]
        report = self.desk.process_due()
        assert report.skipped == (), report.skipped
        assert [e.incident_id for e in report.auto_closes] == due
        assert all(e.actor == SYSTEM and e.at == now for e in report.auto_closes)
        for incident_id in due:
            self._count(incident_id)
            self.expected[incident_id] = attrs.evolve(self.expected[incident_id],
                                                      status="closed")
            if self.desk.policies.cascade_resolution:
                self._cascade(incident_id)
        event(f"process_due closed {min(len(due), 2)}{'+' if len(due) > 2 else ''}")
        if reopened:
            event("process_due closed a parent with open children")

    def _waiting_since(self, incident_id: str) -> datetime:
        since = self.resolved_since.get(incident_id)
        return self.desk.get_incident(incident_id).status_since if since is None else since

    def _has_open_children(self, parent: str) -> bool:
        return any(self.parent_of.get(c) == parent and self.expected[c].status in _OPEN
                   for c in self.children_of.get(parent, ()))

    @precondition(lambda self: self._auto_close_only()
                  and bool(self._parents_with_open_children()))
    @rule(data=st.data(), actor=actors(), elapsed=_ELAPSED)
    def auto_close_a_parent_with_a_reopened_child(self, data: st.DataObject, actor: Actor,
                                                  elapsed: timedelta) -> None:
        """Resolve a parent with open children (unless it is resolved already), reopen one of
        the children that resolved with it, then let ``process_due`` auto-close the parent:
        with the cascade on, the child must be resolved again, as ``close`` does."""
        parent = data.draw(st.sampled_from(self._parents_with_open_children()), label="parent")
        if self.expected[parent].status != "resolved":
            self.check_command(parent, data.draw(commands(["resolve"]), label="resolve"),
                               actor, timedelta(0))
        resolved = [c for c in self.children_of.get(parent, ())
                    if self.parent_of.get(c) == parent and self.expected[c].status == "resolved"]
        if resolved and self.expected[parent].status == "resolved":
            child = data.draw(st.sampled_from(resolved), label="child")
            self.check_command(child, data.draw(commands(["reopen"]), label="reopen"), actor,
                               timedelta(0))
        after = self.desk.policies.auto_close_after
        assert after is not None
        self.process_due(after + elapsed)

    def _open_incidents(self) -> list[str]:
        return [i for i, model in self.expected.items() if model.status in _OPEN]

    def _parents_with_open_children(self) -> list[str]:
        return [p for p in self.expected
                if self.expected[p].status in (*_OPEN, "resolved") and any(
                    self.parent_of.get(c) == p and self.expected[c].status in _OPEN
                    for c in self.children_of.get(p, ()))]

    def _parent_allowed(self, child: str, parent: str | None) -> bool:
        if self.expected[child].status in _TERMINAL or parent == child:
            return False
        if parent == self.parent_of.get(child):
            return False
        if parent is None:
            return True
        if self.expected[parent].status in _TERMINAL:
            return False
        ancestor: str | None = parent
        while ancestor is not None:  # the model never holds a cycle
            if ancestor == child:
                return False
            ancestor = self.parent_of.get(ancestor)
        return True

    def _duplicate_allowed(self, duplicate: str, original: str) -> bool:
        codes = self.desk.policies.resolution_codes
        if codes is not None and self.desk.policies.duplicate_resolution_code not in codes:
            return False
        if duplicate == original or self.expected[original].status in _TERMINAL:
            return False
        if original in self.duplicate_of or self.duplicates_of.get(duplicate):
            return False
        if self.expected[duplicate].status not in _OPEN:
            return False
        return not any(self.parent_of.get(c) == duplicate and self.expected[c].status in _OPEN
                       for c in self.children_of.get(duplicate, ()))

    def _cascade(self, parent: str) -> None:
        """The model of a cascade: the open children of ``parent`` (and theirs) resolve."""
        pending = [parent]
        seen = {parent}
        resolved = 0
        while pending:
            current = pending.pop(0)
            if self.expected[current].status not in ("resolved", "closed"):
                continue
            for child in self.children_of.get(current, ()):
                if child in seen or self.parent_of.get(child) != current:
                    continue
                seen.add(child)
                if self.expected[child].status in _OPEN:
                    self.expected[child] = attrs.evolve(
                        self.expected[child], status="resolved", hold_reason=None,
                        events=self.expected[child].events + 1)
                    self.resolved_since[child] = self.clock.now()
                    pending.append(child)
                    resolved += 1
        if resolved:
            event(f"cascade resolved {min(resolved, 3)}{'+' if resolved > 3 else ''} "
                  "child(ren)")

    def _count(self, incident_id: str) -> None:
        """One more event on ``incident_id``, its status unchanged."""
        model = self.expected[incident_id]
        self.expected[incident_id] = attrs.evolve(model, events=model.events + 1)

    def _expect_refusal(self, command: Callable[[], object], label: str) -> None:
        before = {i.id: i.snapshot() for i in self.desk.list_incidents()}
        try:
            command()
        except ItilIncidentError:
            pass
        else:
            raise AssertionError(f"{label} should have been refused")
        after = {i.id: i.snapshot() for i in self.desk.list_incidents()}
        assert after == before, f"a refused {label} was stored"

    # ----------------------------------------------------------------- invariants

    @invariant()
    def families_agree_with_the_model(self) -> None:
        for incident_id in self.expected:
            incident = self.desk.get_incident(incident_id)
            assert incident.parent_id == self.parent_of.get(incident_id), incident
            assert incident.child_ids == self.children_of.get(incident_id, ()), incident
            assert incident.duplicate_of == self.duplicate_of.get(incident_id), incident
            assert incident.duplicate_ids == self.duplicates_of.get(incident_id, ()), incident
            assert incident.watchers == self.watchers_of.get(incident_id, ()), incident

    @invariant()
    def a_closed_parent_has_no_open_children_when_cascade_is_on(self) -> None:
        if not self.desk.policies.cascade_resolution:
            return
        for incident_id in self.expected:
            incident = self.desk.get_incident(incident_id)
            if incident.parent_id is not None and incident.is_open:
                parent = self.desk.get_incident(incident.parent_id)
                assert parent.status != "closed", (parent, incident)

    @invariant()
    def duplicates_are_closed_listed_by_their_original_and_never_chained(self) -> None:
        for incident_id in self.expected:
            incident = self.desk.get_incident(incident_id)
            if incident.duplicate_of is None:
                continue
            assert incident.status == "closed", incident
            assert incident.duplicate_ids == (), incident
            original = self.desk.get_incident(incident.duplicate_of)
            assert original.duplicate_of is None, original
            assert incident.id in original.duplicate_ids, original
            if incident.caller is not None and incident.caller != original.caller:
                assert incident.caller in original.watchers, original
            assert len(set(original.watchers)) == len(original.watchers), original


    @invariant()
    def every_incident_agrees_with_the_model_and_its_history(self) -> None:
        for incident_id, model in self.expected.items():
            incident = self.desk.get_incident(incident_id)
            timeline = incident.timeline()
            assert incident.version == len(timeline), incident
            assert model.seen_in(incident) == attrs.asdict(model, recurse=False), incident
            reopened = sum(isinstance(e, IncidentReopened) for e in timeline)
            assert incident.reopen_count == reopened
            folded = Incident.from_history(timeline, self.desk.policies.incident_workflow)
            assert folded.snapshot() == incident.snapshot(), incident
            assert self.desk.timeline(incident_id) == list(timeline), incident

    @invariant()
    def closed_and_cancelled_incidents_never_change(self) -> None:
        for incident_id, model in self.expected.items():
            if model.status not in _TERMINAL:
                continue
            snapshot = self.desk.get_incident(incident_id).snapshot()
            assert self.finished.setdefault(incident_id, snapshot) == snapshot, incident_id

    @invariant()
    def the_desk_lists_every_logged_incident_and_notified_every_event(self) -> None:
        listed = [incident.id for incident in self.desk.list_incidents()]
        assert listed == sorted(self.expected)
        if isinstance(self.desk.notifier, RecordingNotifier):
            notified = len(self.desk.notifier.events)
            assert notified == sum(model.events for model in self.expected.values())


DeskStateMachine.TestCase.settings = _SETTINGS

#: Run the machine with its default desk: ``from itil_incident.testing.stateful import TestCase``
#: in a test module, or assign it to a ``Test...`` name.
TestCase = DeskStateMachine.TestCase
