"""Major incidents under random command sequences: the foundation's state machine, run on a
desk with a major-incident policy, plus rules that propose, accept, reject, assign roles,
post status updates, review and run the time-driven processing, each checked against a small
model of its own.

Invariants, after every step: each incident's major status, roles, update count, review and
recorded missed intervals are the model's; an accepted major incident that requires a review
is never closed without one; no missed cadence interval is ever recorded twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from itil_incident import (
    Actor,
    DeskPolicies,
    IncidentStatusUpdateMissed,
    InvalidTransitionError,
    ItilIncidentError,
    MajorIncidentPolicy,
    MajorStatus,
    ServiceDesk,
)
from itil_incident.testing import DeskStateMachine, make_desk
from itil_incident.testing.stateful import _Expected  # the foundation's model of one incident
from itil_incident.testing.strategies import Command

MINUTE = timedelta(minutes=1)
POLICY = MajorIncidentPolicy(priorities={1}, cadence={1: 30 * MINUTE, 2: 60 * MINUTE,
                                                     3: 90 * MINUTE, 4: 120 * MINUTE,
                                                     5: 180 * MINUTE})
MANAGER = Actor("mia", "Mia Manager", frozenset({"incident_manager"}))
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
OPEN = ("new", "assigned", "in_progress", "on_hold")
TERMINAL = ("closed", "cancelled")
PEOPLE = st.sampled_from(["mia", "noah", "sam", "Network Support"])
SHORT = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=3))


@attrs.define
class Major:
    """What the model knows of an incident's major side."""

    priority: int
    overridden: bool = False
    status: MajorStatus | None = None
    review_required: bool = False
    reviewed: bool = False
    since: datetime | None = None
    updates: int = 0
    roles: dict[str, list[str]] = attrs.Factory(dict)
    missed: set[tuple[datetime, int]] = attrs.Factory(set)


class MajorLifecycleMachine(DeskStateMachine):
    """The foundation's machine on a desk with :data:`POLICY`, with major-incident rules."""

    def __init__(self) -> None:
        super().__init__()
        self.major: dict[str, Major] = {}

    def make_desk(self) -> ServiceDesk:
        return make_desk(policies=DeskPolicies(major=POLICY))

    # ----------------------------------------------------------------- the model's reach

    def _log(self, arguments: dict[str, Any], actor: Actor) -> str:
        """Log as the foundation does; a priority-1 incident is proposed in the same save."""
        matrix = self.desk.policies.priority_matrix
        impact = arguments.get("impact")
        urgency = arguments.get("urgency")
        level = matrix.priority_for(
            matrix.default_impact if impact is None else matrix.impact(impact),
            matrix.default_urgency if urgency is None else matrix.urgency(urgency)).level
        proposed = level in POLICY.priorities
        incident = self.desk.log_incident(actor=actor, **arguments)
        assert (incident.status, incident.version) == ("new", 2 if proposed else 1), incident
        model = Major(priority=level, status=MajorStatus.PROPOSED if proposed else None)
        self.major[incident.id] = model
        expected = _Expected.logged(incident)
        self.expected[incident.id] = attrs.evolve(expected, events=incident.version)
        return incident.id

    def check_command(self, incident_id: str, command: Command, actor: Actor,
                      elapsed: timedelta) -> None:
        """The foundation's check, plus what the major-incident policy adds: a close waits
        for a required review; a priority raised to 1 proposes the incident."""
        model = self.major[incident_id]
        status = self.expected[incident_id].status
        if (command.name == "close" and status == "resolved"
                and model.status is MajorStatus.ACCEPTED and model.review_required
                and not model.reviewed):
            self.clock.advance(elapsed)
            before = self.desk.get_incident(incident_id).snapshot()
            try:
                self.desk.close(incident_id, actor=actor)
            except InvalidTransitionError:
                event("close refused: review required")
            else:
                raise AssertionError(f"{incident_id} closed without its required review")
            assert self.desk.get_incident(incident_id).snapshot() == before
            return
        events_before = self.expected[incident_id].events
        super().check_command(incident_id, command, actor, elapsed)
        if self.expected[incident_id].events == events_before:
            return  # refused
        self._follow_priority(incident_id, command)

    def _follow_priority(self, incident_id: str, command: Command) -> None:
        model = self.major[incident_id]
        expected = self.expected[incident_id]
        matrix = self.desk.policies.priority_matrix
        if command.name == "override_priority":
            model.priority = int(command.kwargs["priority"])  # type: ignore[arg-type]  # the strategy draws an int
            model.overridden = True
        elif command.name == "change_impact_urgency" and not model.overridden:
            model.priority = matrix.priority_for(matrix.impact(expected.impact),
                                                 matrix.urgency(expected.urgency)).level
        else:
            return
        if (model.status is None and expected.status in OPEN
                and model.priority in POLICY.priorities):
            model.status = MajorStatus.PROPOSED
            self.expected[incident_id] = attrs.evolve(expected, events=expected.events + 1)

    def _attempt(self, incident_id: str, accepted: bool, call: Any) -> None:
        """Run ``call``; when ``accepted`` it must succeed (one event more), else be refused
        with a library error and change nothing."""
        before = self.desk.get_incident(incident_id).snapshot()
        if not accepted:
            try:
                call()
            except ItilIncidentError:
                assert self.desk.get_incident(incident_id).snapshot() == before
                return
            raise AssertionError(f"{incident_id}: should have been refused")
        call()
        expected = self.expected[incident_id]
        self.expected[incident_id] = attrs.evolve(expected, events=expected.events + 1)

    def _changeable(self, incident_id: str) -> bool:
        return self.expected[incident_id].status not in TERMINAL

    def _duplicate_allowed(self, duplicate: str, original: str) -> bool:
        """The foundation's rule, plus: a duplicate closes, so an accepted major incident
        still awaiting its required review cannot be marked as one."""
        model = self.major[duplicate]
        if (model.status is MajorStatus.ACCEPTED and model.review_required
                and not model.reviewed):
            return False
        return super()._duplicate_allowed(duplicate, original)

    # ----------------------------------------------------------------- rules

    @rule(incident_id=DeskStateMachine.incidents, elapsed=SHORT)
    def propose(self, incident_id: str, elapsed: timedelta) -> None:
        self.clock.advance(elapsed)
        model = self.major[incident_id]
        accepted = (self.expected[incident_id].status in OPEN
                    and model.status in (None, MajorStatus.REJECTED))
        self._attempt(incident_id, accepted, lambda: self.desk.propose_major(
            incident_id, actor=AGENT, reason="Many users are affected"))
        if accepted:
            model.status = MajorStatus.PROPOSED

    @rule(incident_id=DeskStateMachine.incidents, actor=st.sampled_from([MANAGER, AGENT]),
          accept=st.booleans(), elapsed=SHORT)
    def decide(self, incident_id: str, actor: Actor, accept: bool, elapsed: timedelta) -> None:
        self.clock.advance(elapsed)
        model = self.major[incident_id]
        accepted = (actor is MANAGER and model.status is MajorStatus.PROPOSED
                    and self._changeable(incident_id))
        if accept:
            self._attempt(incident_id, accepted,
                          lambda: self.desk.accept_major(incident_id, actor=actor))
        else:
            self._attempt(incident_id, accepted, lambda: self.desk.reject_major(
                incident_id, actor=actor, reason="Not that big"))
        if accepted and accept:
            event("accepted as major")
            model.status = MajorStatus.ACCEPTED
            model.review_required = POLICY.review_required
            model.since = self.clock.now()
        elif accepted:
            model.status = MajorStatus.REJECTED

    @rule(incident_id=DeskStateMachine.incidents, elapsed=SHORT)
    def declare(self, incident_id: str, elapsed: timedelta) -> None:
        """Propose (unless proposed already) and accept at once, as an incident manager who
        declares a major incident does."""
        if self.major[incident_id].status is not MajorStatus.PROPOSED:
            self.propose(incident_id, elapsed)
        self.decide(incident_id, MANAGER, True, timedelta(0))

    @rule(incident_id=DeskStateMachine.incidents, elapsed=SHORT)
    def resolve_and_close(self, incident_id: str, elapsed: timedelta) -> None:
        """Resolve (when open) and close, through the foundation's checks: an accepted major
        incident without its required review must stay resolved."""
        if self.expected[incident_id].status in OPEN:
            self.check_command(incident_id, Command("resolve", {"code": "solved_remotely",
                                                                "notes": "Restarted"}),
                               AGENT, elapsed)
        self.check_command(incident_id, Command("close"), AGENT, timedelta(0))

    @rule(incident_id=DeskStateMachine.incidents,
          role=st.sampled_from(["commander", "scribe", "resolver_group"]), person=PEOPLE)
    def assign_role(self, incident_id: str, role: str, person: str) -> None:
        model = self.major[incident_id]
        holders = model.roles.setdefault(role, [])
        accepted = (model.status is MajorStatus.ACCEPTED and self._changeable(incident_id)
                    and person not in holders)
        self._attempt(incident_id, accepted, lambda: self.desk.assign_major_role(
            incident_id, role, person, actor=MANAGER))
        if accepted:
            if POLICY.is_shared(role):
                holders.append(person)
            else:
                holders[:] = [person]

    @rule(incident_id=DeskStateMachine.incidents,
          audience=st.sampled_from(["internal", "stakeholders", "affected_users"]),
          elapsed=SHORT)
    def post_update(self, incident_id: str, audience: str, elapsed: timedelta) -> None:
        self.clock.advance(elapsed)
        model = self.major[incident_id]
        accepted = model.status is MajorStatus.ACCEPTED and self._changeable(incident_id)
        self._attempt(incident_id, accepted, lambda: self.desk.post_status_update(
            incident_id, audience, "Engineers are on it", actor=MANAGER))
        if accepted:
            model.updates += 1
            model.since = self.clock.now()

    @rule(incident_id=DeskStateMachine.incidents)
    def review(self, incident_id: str) -> None:
        model = self.major[incident_id]
        accepted = model.status is MajorStatus.ACCEPTED and self._changeable(incident_id)
        self._attempt(incident_id, accepted, lambda: self.desk.record_review(
            incident_id, actor=MANAGER, impact="Two hours without mail",
            root_cause="The relay disk filled up"))
        if accepted:
            model.reviewed = True

    @rule(elapsed=st.timedeltas(min_value=20 * MINUTE, max_value=timedelta(hours=4)))
    def process_due(self, elapsed: timedelta) -> None:
        """Run the time-driven processing; it records exactly the intervals the model
        expects, and a second run at the same instant records nothing."""
        self.clock.advance(elapsed)
        now = self.clock.now()
        report = self.desk.process_due()
        found: dict[str, list[tuple[datetime, int]]] = {}
        for missed in report.missed_status_updates:
            found.setdefault(missed.incident_id, []).append((missed.since, missed.interval))
        for incident_id, model in self.major.items():
            new = self._due_intervals(incident_id, model, now)
            if new:
                event("process_due recorded missed updates")
            assert sorted(found.get(incident_id, [])) == sorted(new), incident_id
            model.missed |= set(new)
            expected = self.expected[incident_id]
            self.expected[incident_id] = attrs.evolve(expected,
                                                      events=expected.events + len(new))
        assert not self.desk.process_due().missed_status_updates

    def _due_intervals(self, incident_id: str, model: Major, now: datetime
                       ) -> list[tuple[datetime, int]]:
        every = POLICY.cadence.get(model.priority)
        if (model.status is not MajorStatus.ACCEPTED or model.since is None or every is None
                or self.expected[incident_id].status not in OPEN):
            return []
        elapsed = (now - model.since) // every
        first = max(1, elapsed - 48 + 1)
        return [(model.since, k) for k in range(first, elapsed + 1)
                if (model.since, k) not in model.missed]

    # ----------------------------------------------------------------- invariants

    @invariant()
    def the_major_side_of_every_incident_is_the_model_s(self) -> None:
        for incident_id, model in self.major.items():
            incident = self.desk.get_incident(incident_id)
            assert incident.major_status is model.status, incident_id
            assert incident.priority.level == model.priority, incident_id
            assert incident.status_update_count == model.updates
            assert (incident.review is not None) == model.reviewed
            assert {role: list(incident.role_holders(role)) for role in model.roles} == model.roles
            assert sorted(incident.major_roles) == sorted(
                (role, person) for role, holders in model.roles.items() for person in holders)

    @invariant()
    def no_required_review_is_ever_skipped_by_a_closure(self) -> None:
        for incident_id in self.major:
            incident = self.desk.get_incident(incident_id)
            if incident.status == "closed" and incident.is_major:
                assert not incident.major_review_required or incident.review is not None

    @invariant()
    def no_missed_interval_is_ever_recorded_twice(self) -> None:
        for incident_id, model in self.major.items():
            events = [e for e in self.desk.get_incident(incident_id).timeline()
                      if isinstance(e, IncidentStatusUpdateMissed)]
            keys = [e.key for e in events]
            assert len(keys) == len(set(keys)), incident_id
            assert set(keys) == model.missed, incident_id
            assert all(e.since < e.due_at <= e.at for e in events)


TestMajorLifecycle = MajorLifecycleMachine.TestCase

