"""The automatic closure of ``process_due`` treats a parent as the ``close`` command does: its
children open again (reopened, or attached after its resolution) are resolved first, in the
same commit, each naming its parent; when one cannot be resolved, the parent is left resolved
for this call, nothing of it is committed, and the report says why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from itil_incident import (
    AUTO_CLOSED,
    SYSTEM,
    Actor,
    ConcurrencyError,
    DeskPolicies,
    DomainEvent,
    FrozenClock,
    Incident,
    IncidentResolved,
    IncidentState,
    InMemoryRepository,
    InvalidTransitionError,
    PermissionDeniedError,
    Problem,
    RecordingNotifier,
    RetryPolicy,
    ServiceDesk,
    TransitionDef,
    Workflow,
    default_incident_workflow,
)
from itil_incident.testing import make_desk

S = IncidentState
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


class Family:
    """A parent and two children, resolved together on Monday 09:00; auto-close after a day."""

    def __init__(self, **policies: object) -> None:
        self.clock = FrozenClock(T0)
        self.notifier = RecordingNotifier()
        self.repository = InMemoryRepository()
        fields: dict[str, object] = {"auto_close_after": DAY, "categorizer": None}
        fields.update(policies)
        self.desk = make_desk(repository=self.repository, clock=self.clock,
                              notifier=self.notifier,
                              policies=DeskPolicies(**fields))  # type: ignore[arg-type]  # test data
        self.parent = self.log("Mail is down for everyone")
        self.children = [self.log(f"Cannot send mail ({n})") for n in range(2)]
        for child in self.children:
            self.desk.set_parent(child, self.parent, actor=AGENT)
        for incident in (self.parent, *self.children):
            self.desk.start_work(incident, actor=AGENT)
        self.desk.resolve(self.parent, actor=AGENT, code="solved_permanently",
                          notes="Restarted the relay")

    def log(self, title: str) -> str:
        return self.desk.log_incident(actor=AGENT, title=title).id

    def get(self, incident_id: str) -> Incident:
        return self.desk.get_incident(incident_id)

    def state(self) -> list[tuple[str, str, int]]:
        return [(i.id, i.status, i.version) for i in self.desk.list_incidents()]


def test_an_auto_closed_parent_resolves_a_child_reopened_since_its_resolution() -> None:
    family = Family()
    family.desk.reopen(family.children[0], actor=AGENT, reason="Still cannot send")
    family.clock.advance(DAY)
    report = family.desk.process_due()
    # the other child, resolved with the parent, closes on the same schedule
    assert [e.incident_id for e in report.auto_closes] == [family.parent, family.children[1]]
    assert (family.get(family.parent).status, family.get(family.parent).closure_code) == (
        S.CLOSED, AUTO_CLOSED)
    child = family.get(family.children[0])
    assert (child.status, child.reopen_count) == (S.RESOLVED, 1)
    resolved = child.timeline()[-1]
    assert isinstance(resolved, IncidentResolved)
    assert (resolved.cascaded_from, resolved.actor, resolved.at) == (
        family.parent, SYSTEM, T0 + DAY)
    assert (resolved.resolution_code, resolved.resolution_notes) == (
        "solved_permanently", "Restarted the relay")


def test_the_parent_and_the_children_it_resolves_are_one_notified_commit() -> None:
    family = Family()
    family.desk.reopen(family.children[1], actor=AGENT, reason="Still cannot send")
    batches: list[list[tuple[str, str]]] = []

    class Batches(RecordingNotifier):
        def notify(self, events: Sequence[DomainEvent]) -> None:
            batches.append([(e.aggregate_id, e.name) for e in events])

    desk = ServiceDesk(family.repository, clock=family.clock, notifier=Batches(),
                       policies=family.desk.policies)
    family.clock.advance(DAY)
    desk.process_due()
    assert batches[0] == [(family.parent, "incident.closed"),
                          (family.children[1], "incident.resolved")]
    assert batches[1:] == [[(family.children[0], "incident.closed")]]  # its own commit


def test_a_child_attached_after_the_resolution_and_its_own_children_are_resolved() -> None:
    family = Family()
    late = family.log("Mail bounced")
    grandchild = family.log("Bounce notices pile up")
    family.desk.set_parent(grandchild, late, actor=AGENT)
    family.desk.set_parent(late, family.parent, actor=AGENT)
    family.clock.advance(DAY)
    family.desk.process_due()
    assert [family.get(i).status for i in (family.parent, late, grandchild)] == [
        S.CLOSED, S.RESOLVED, S.RESOLVED]
    assert family.get(grandchild).timeline()[-1].cascaded_from == late  # type: ignore[attr-defined]  # an IncidentResolved, checked by the status


def test_a_child_resolved_in_the_same_call_is_read_again_not_reported_as_a_conflict(
) -> None:
    family = Family(hold_reminder_every=timedelta(hours=1))
    child = family.children[1]
    family.desk.reopen(child, actor=AGENT, reason="Still cannot send")
    family.desk.put_on_hold(child, "awaiting_caller", actor=AGENT)  # a reminder would be due
    family.clock.advance(DAY)
    report = family.desk.process_due()
    assert report.skipped == ()
    assert report.reminders == ()  # the child is resolved: no longer waiting on its caller
    assert family.get(child).status == S.RESOLVED
    family.clock.advance(DAY)
    assert [e.incident_id for e in family.desk.process_due().auto_closes] == [child]


def test_children_already_resolved_are_auto_closed_on_their_own_schedule() -> None:
    family = Family()
    family.clock.advance(DAY)
    report = family.desk.process_due()
    assert sorted(e.incident_id for e in report.auto_closes) == sorted(
        [family.parent, *family.children])


def _workflow_without_resolve_from_on_hold() -> Workflow:
    """The default lifecycle, except that an incident on hold cannot be resolved."""
    base = default_incident_workflow()
    transitions = [t for t in base.transitions if t.trigger != "resolve"]
    transitions.append(TransitionDef("resolve", (S.NEW, S.ASSIGNED, S.IN_PROGRESS),
                                     S.RESOLVED))
    return Workflow("no_resolve_on_hold", base.states.values(), transitions)


def test_a_child_the_workflow_cannot_resolve_leaves_the_parent_resolved_and_is_reported(
) -> None:
    family = Family(incident_workflow=_workflow_without_resolve_from_on_hold())
    stuck, ready = family.children
    for child in (stuck, ready):
        family.desk.reopen(child, actor=AGENT, reason="Still cannot send")
    family.desk.put_on_hold(stuck, "awaiting_vendor", actor=AGENT)
    family.clock.advance(DAY)
    before = family.state()
    report = family.desk.process_due()
    assert family.state() == before  # neither the parent nor the other child moved
    (skipped,) = report.skipped
    assert (skipped.incident_id, skipped.rule) == (family.parent, None)
    assert isinstance(skipped.error, InvalidTransitionError)
    assert stuck in skipped.reason
    assert f"{family.parent} is not auto-closed" in skipped.reason
    assert report.auto_closes == ()
    assert family.desk.process_due().skipped == report.skipped  # tried again, still refused
    family.desk.resume(stuck, actor=AGENT)
    report = family.desk.process_due()
    assert [e.incident_id for e in report.auto_closes] == [family.parent]
    assert [family.get(c).status for c in (stuck, ready)] == [S.RESOLVED, S.RESOLVED]


def test_a_child_the_authorizer_refuses_leaves_the_parent_resolved_and_is_reported() -> None:
    class NoSystemResolve:
        """The system may run process_due, but never resolve a child."""

        def __init__(self) -> None:
            self.refusing = True

        def is_allowed(self, actor: Actor, action: str,
                       subject: Incident | Problem | None) -> bool:
            return not (self.refusing and actor == SYSTEM and action == "resolve")

    authorizer = NoSystemResolve()
    family = Family()
    desk = ServiceDesk(family.repository, clock=family.clock, authorizer=authorizer,
                       policies=family.desk.policies)
    family.desk.reopen(family.children[0], actor=AGENT, reason="Still cannot send")
    family.clock.advance(DAY)
    before = [family.get(i).snapshot() for i in (family.parent, family.children[0])]
    report = desk.process_due()
    assert [family.get(i).snapshot() for i in (family.parent, family.children[0])] == before
    (skipped,) = report.skipped
    assert (skipped.incident_id, skipped.rule) == (family.parent, None)
    assert isinstance(skipped.error, PermissionDeniedError)
    assert desk.process_due().skipped == report.skipped  # tried again, still refused
    authorizer.refusing = False
    assert [e.incident_id for e in desk.process_due().auto_closes] == [family.parent]


def test_with_the_cascade_off_the_parent_is_auto_closed_on_its_own() -> None:
    family = Family(cascade_resolution=False)  # its resolution left the children open
    family.clock.advance(DAY)
    report = family.desk.process_due()
    assert [e.incident_id for e in report.auto_closes] == [family.parent]
    assert [family.get(c).status for c in family.children] == [S.IN_PROGRESS] * 2


def interfere_once(family: Family) -> None:
    """Make another desk add a note to the reopened child just before the parent's commit."""
    other = ServiceDesk(family.repository, clock=family.clock)
    real_commit = family.repository.commit

    def commit_after_a_concurrent_note(records: Sequence[Incident | Problem]) -> None:
        if any(r.id == family.parent for r in records):
            family.repository.commit = real_commit  # type: ignore[method-assign]  # once
            other.add_work_note(family.children[0], "Looking at it", actor=AGENT)
        real_commit(records)

    family.repository.commit = commit_after_a_concurrent_note  # type: ignore[method-assign]  # see above


def test_a_child_changed_concurrently_leaves_the_parent_for_the_next_call() -> None:
    family = Family()
    family.desk.reopen(family.children[0], actor=AGENT, reason="Still cannot send")
    family.clock.advance(DAY)
    interfere_once(family)
    report = family.desk.process_due()
    (skipped,) = report.skipped
    assert (skipped.incident_id, type(skipped.error)) == (family.parent, ConcurrencyError)
    assert family.get(family.parent).status == S.RESOLVED
    assert family.get(family.children[0]).status == S.IN_PROGRESS
    assert [e.incident_id for e in family.desk.process_due().auto_closes] == [family.parent]
    assert family.get(family.children[0]).status == S.RESOLVED


def test_with_retries_a_concurrent_change_to_a_child_is_retried_at_once() -> None:
    family = Family()
    desk = family.desk.with_retry(RetryPolicy(attempts=2, backoff=0))
    family.desk.reopen(family.children[0], actor=AGENT, reason="Still cannot send")
    family.clock.advance(DAY)
    interfere_once(family)
    report = desk.process_due()
    assert report.skipped == ()
    assert [e.incident_id for e in report.auto_closes] == [family.parent, family.children[1]]
    assert family.get(family.children[0]).status == S.RESOLVED
