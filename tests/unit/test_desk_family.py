"""Parent, child and duplicate incidents at the service desk: resolving a parent resolves its
open children (configurable, audited, atomic), and a duplicate closes with a reference while
its caller is kept informed through the original."""

from __future__ import annotations

import attrs
import pytest

from itil_incident import (
    Actor,
    DeskPolicies,
    FrozenClock,
    Incident,
    IncidentClosed,
    IncidentDuplicateRecorded,
    IncidentMarkedDuplicate,
    IncidentResolved,
    IncidentState,
    InMemoryRepository,
    InvalidTransitionError,
    ItilIncidentError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    RecordingNotifier,
    ServiceDesk,
    TransitionDef,
    ValidationError,
    Workflow,
    default_incident_workflow,
)
from itil_incident.notifications import (
    Recipient,
    RecipientKind,
    StaticDirectory,
    Subscription,
    SubscriptionRules,
)

S = IncidentState


def observe(desk: ServiceDesk, notifier: RecordingNotifier) -> object:
    return ([(i.id, i.version, i.snapshot(), i.timeline()) for i in desk.list_incidents()],
            list(notifier.events))


@pytest.fixture
def family(desk: ServiceDesk, agent: Actor) -> tuple[str, list[str]]:
    """A major outage (the parent) and three reports of it (its children)."""
    parent = desk.log_incident(actor=agent, title="Mail is down for everyone", caller="ceo").id
    children = [desk.log_incident(actor=agent, title=f"Cannot send mail ({n})",
                                  caller=f"user{n}").id for n in range(3)]
    for child in children:
        desk.set_parent(child, parent, actor=agent)
    return parent, children


# -- the cascade -------------------------------------------------------------------------------


def test_resolving_a_parent_resolves_its_open_children_with_its_code_and_notes(
    desk: ServiceDesk, agent: Actor, family: tuple[str, list[str]]
) -> None:
    parent, children = family
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    for child_id in children:
        child = desk.get_incident(child_id)
        assert child.status == S.RESOLVED
        assert (child.resolution_code, child.resolution_notes) == (
            "solved_permanently", "Restarted the relay")


def test_each_cascaded_resolution_is_an_event_naming_the_parent(
    desk: ServiceDesk, agent: Actor, family: tuple[str, list[str]]
) -> None:
    parent, children = family
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    for child_id in children:
        last = desk.get_incident(child_id).timeline()[-1]
        assert isinstance(last, IncidentResolved)
        assert last.cascaded_from == parent
        assert last.actor == agent
    last_of_parent = desk.get_incident(parent).timeline()[-1]
    assert isinstance(last_of_parent, IncidentResolved)
    assert last_of_parent.cascaded_from is None


def test_the_parent_and_its_children_are_notified_in_one_batch(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier,
    family: tuple[str, list[str]]
) -> None:
    parent, children = family
    notifier.clear()
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    assert [(e.name, e.aggregate_id) for e in notifier.events] == [
        ("incident.resolved", parent), *(("incident.resolved", c) for c in children)]


def test_children_already_resolved_closed_or_cancelled_are_left_alone(
    desk: ServiceDesk, agent: Actor, family: tuple[str, list[str]]
) -> None:
    parent, (resolved, closed, cancelled) = family
    desk.resolve(resolved, actor=agent, code="solved_remotely", notes="Own fix")
    desk.resolve(closed, actor=agent, code="solved_remotely", notes="Own fix")
    desk.close(closed, actor=agent)
    desk.cancel(cancelled, actor=agent, reason="Logged in error")
    before = {c: desk.get_incident(c).version for c in (resolved, closed, cancelled)}
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    assert {c: desk.get_incident(c).version for c in before} == before
    assert desk.get_incident(resolved).resolution_notes == "Own fix"


def test_the_cascade_reaches_grandchildren(desk: ServiceDesk, agent: Actor,
                                           family: tuple[str, list[str]]) -> None:
    parent, children = family
    grandchild = desk.log_incident(actor=agent, title="Outbox stuck").id
    desk.set_parent(grandchild, children[0], actor=agent)
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    last = desk.get_incident(grandchild).timeline()[-1]
    assert isinstance(last, IncidentResolved)
    assert last.cascaded_from == children[0]


def test_a_child_moved_to_another_parent_is_not_resolved_by_the_first(
    desk: ServiceDesk, agent: Actor, family: tuple[str, list[str]]
) -> None:
    parent, children = family
    other = desk.log_incident(actor=agent, title="Calendar is down").id
    desk.set_parent(children[0], other, actor=agent)
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    assert desk.get_incident(children[0]).status == S.NEW


def test_with_the_cascade_off_children_stay_open(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock,
                       policies=DeskPolicies(cascade_resolution=False))
    parent = desk.log_incident(actor=agent, title="Mail is down").id
    child = desk.log_incident(actor=agent, title="Cannot send mail").id
    desk.set_parent(child, parent, actor=agent)
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted")
    desk.close(parent, actor=agent)
    assert desk.get_incident(child).status == S.NEW


def test_closing_a_parent_resolves_a_child_reopened_since_its_resolution(
    desk: ServiceDesk, agent: Actor, family: tuple[str, list[str]]
) -> None:
    parent, children = family
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    desk.reopen(children[0], actor=agent, reason="Still cannot send")
    desk.close(parent, actor=agent)
    child = desk.get_incident(children[0])
    assert child.status == S.RESOLVED
    assert child.reopen_count == 1
    assert desk.get_incident(parent).status == S.CLOSED


def test_closing_a_parent_resolves_a_child_attached_after_its_resolution(
    desk: ServiceDesk, agent: Actor, family: tuple[str, list[str]]
) -> None:
    parent, _children = family
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    late = desk.log_incident(actor=agent, title="Mail bounced").id
    desk.set_parent(late, parent, actor=agent)
    desk.close(parent, actor=agent)
    assert desk.get_incident(late).status == S.RESOLVED


def test_a_child_of_a_closed_parent_is_detached_before_it_is_reopened(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier,
    family: tuple[str, list[str]]
) -> None:
    parent, children = family
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    desk.close(parent, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError, match="detach it first"):
        desk.reopen(children[0], actor=agent, reason="Still cannot send")
    assert observe(desk, notifier) == before
    desk.set_parent(children[0], None, actor=agent)
    assert desk.reopen(children[0], actor=agent, reason="Still cannot send").status == (
        S.IN_PROGRESS)


def test_a_child_of_a_resolved_parent_can_be_reopened(
    desk: ServiceDesk, agent: Actor, family: tuple[str, list[str]]
) -> None:
    parent, children = family
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted the relay")
    assert desk.reopen(children[0], actor=agent, reason="Still cannot send").status == (
        S.IN_PROGRESS)


def _workflow_without_resolve_from_new() -> Workflow:
    """The default lifecycle, except that a new incident cannot be resolved straight away."""
    base = default_incident_workflow()
    transitions = [t for t in base.transitions if t.trigger != "resolve"]
    transitions.append(TransitionDef("resolve", (S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD),
                                     S.RESOLVED))
    return Workflow("no_resolve_from_new", base.states.values(), transitions)


def test_a_child_the_workflow_cannot_resolve_refuses_the_whole_resolution(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    policies = DeskPolicies(incident_workflow=_workflow_without_resolve_from_new())
    desk = ServiceDesk(repository, clock=clock, notifier=notifier, policies=policies)
    parent = desk.log_incident(actor=agent, title="Mail is down").id
    desk.start_work(parent, actor=agent)
    ready = desk.log_incident(actor=agent, title="Cannot send mail").id
    desk.start_work(ready, actor=agent)
    stuck = desk.log_incident(actor=agent, title="Cannot read mail").id
    desk.set_parent(ready, parent, actor=agent)
    desk.set_parent(stuck, parent, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError, match=stuck) as refused:
        desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted")
    assert refused.value.state == S.NEW
    assert observe(desk, notifier) == before
    desk.start_work(stuck, actor=agent)  # once it can be resolved, the cascade goes through
    desk.resolve(parent, actor=agent, code="solved_permanently", notes="Restarted")
    assert {desk.get_incident(i).status for i in (ready, stuck)} == {S.RESOLVED}


def test_a_child_the_actor_may_not_resolve_refuses_the_whole_resolution(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier
) -> None:
    lead = Actor("lea", "Lea Lead", frozenset({"lead"}))

    class ParentsOnly:
        """Children may only be resolved by hand, by somebody else."""

        def is_allowed(self, actor: Actor, action: str,
                       subject: Incident | Problem | None) -> bool:
            child = isinstance(subject, Incident) and subject.parent_id is not None
            return not (action == "resolve" and child)

    desk = ServiceDesk(repository, clock=clock, notifier=notifier, authorizer=ParentsOnly())
    parent = desk.log_incident(actor=lead, title="Mail is down").id
    child = desk.log_incident(actor=lead, title="Cannot send mail").id
    desk.set_parent(child, parent, actor=lead)
    before = observe(desk, notifier)
    with pytest.raises(PermissionDeniedError):
        desk.resolve(parent, actor=lead, code="solved_permanently", notes="Restarted")
    assert observe(desk, notifier) == before


# -- duplicates --------------------------------------------------------------------------------


@pytest.fixture
def pair(desk: ServiceDesk, agent: Actor) -> tuple[str, str]:
    """An original incident and a second report of the same fault by another caller."""
    original = desk.log_incident(actor=agent, title="Printer on floor 3 jams",
                                 caller="carol").id
    duplicate = desk.log_incident(actor=agent, title="Floor 3 printer broken",
                                  caller="dave").id
    return original, duplicate


def test_a_duplicate_closes_with_a_reference_to_the_original(
    desk: ServiceDesk, agent: Actor, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    marked = desk.mark_duplicate(duplicate, original, actor=agent)
    assert marked.status == S.CLOSED
    assert marked.duplicate_of == original
    assert marked.resolution_code == "duplicate"
    assert marked.closure_code == "duplicate"
    assert marked.resolution_notes == f"Duplicate of {original}: Printer on floor 3 jams"
    names = [type(e) for e in marked.timeline()[-3:]]
    assert names == [IncidentMarkedDuplicate, IncidentResolved, IncidentClosed]


def test_the_original_lists_its_duplicates_and_watches_for_their_callers(
    desk: ServiceDesk, agent: Actor, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    third = desk.log_incident(actor=agent, title="Printer jams again", caller="dave").id
    desk.mark_duplicate(duplicate, original, actor=agent)
    desk.mark_duplicate(third, original, actor=agent)
    record = desk.get_incident(original)
    assert record.duplicate_ids == (duplicate, third)
    assert record.watchers == ("dave",)  # once, however many duplicates dave logged
    events = [e for e in record.timeline() if isinstance(e, IncidentDuplicateRecorded)]
    assert [(e.duplicate_id, e.watcher) for e in events] == [(duplicate, "dave"), (third, None)]


def test_the_original_s_own_caller_is_not_added_as_a_watcher(
    desk: ServiceDesk, agent: Actor, pair: tuple[str, str]
) -> None:
    original, _ = pair
    again = desk.log_incident(actor=agent, title="Printer jams", caller="carol").id
    desk.mark_duplicate(again, original, actor=agent)
    assert desk.get_incident(original).watchers == ()


def test_the_duplicate_s_caller_hears_of_the_original_s_resolution(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    desk.mark_duplicate(duplicate, original, actor=agent)
    notifier.clear()
    desk.resolve(original, actor=agent, code="solved_permanently", notes="New fuser")
    (resolved,) = [e for e in notifier.events if e.name == "incident.resolved"]
    rules = SubscriptionRules.defaults()
    found = rules.recipients_for(resolved, desk.get_incident(original))
    assert [(a.kind, a.key) for a in found] == [
        (RecipientKind.CALLER, "carol"), (RecipientKind.CALLER, "dave")]
    directory = StaticDirectory(people={"dave": "dave@example.org"})
    assert directory.addresses_for(found[1].kind, found[1].key) == ("dave@example.org",)


def test_a_watchers_subscription_names_nobody_before_any_duplicate(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier, pair: tuple[str, str]
) -> None:
    original, _ = pair
    rules = SubscriptionRules([Subscription(("incident.*",), (Recipient.watchers(),))])
    event = desk.get_incident(original).timeline()[-1]
    assert rules.recipients_for(event, desk.get_incident(original)) == []


def test_a_watchers_recipient_takes_no_value() -> None:
    with pytest.raises(ItilIncidentError, match="takes no value"):
        Recipient(RecipientKind.WATCHERS, "dave")


def test_marking_both_records_happens_in_one_notified_commit(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    notifier.clear()
    desk.mark_duplicate(duplicate, original, actor=agent, notes="Same printer")
    assert [(e.name, e.aggregate_id) for e in notifier.events] == [
        ("incident.marked_duplicate", duplicate), ("incident.resolved", duplicate),
        ("incident.closed", duplicate), ("incident.duplicate_recorded", original)]
    assert desk.get_incident(duplicate).resolution_notes == "Same printer"


@pytest.mark.parametrize("case", ["itself", "a closed original",
                                  "an original that is itself a duplicate",
                                  "a duplicate that is itself an original"])
def test_refused_duplicates_change_nothing(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier, pair: tuple[str, str],
    case: str
) -> None:
    original, duplicate = pair
    closed = desk.log_incident(actor=agent, title="Old printer fault").id
    desk.resolve(closed, actor=agent, code="solved_permanently", notes="Fixed")
    desk.close(closed, actor=agent)
    third = desk.log_incident(actor=agent, title="Printer jam, third report").id
    desk.mark_duplicate(third, original, actor=agent)
    duplicate_id, original_id = {
        "itself": (duplicate, duplicate),
        "a closed original": (duplicate, closed),
        "an original that is itself a duplicate": (duplicate, third),
        "a duplicate that is itself an original": (original, duplicate),
    }[case]
    before = observe(desk, notifier)
    with pytest.raises((ValidationError, InvalidTransitionError)):
        desk.mark_duplicate(duplicate_id, original_id, actor=agent)
    assert observe(desk, notifier) == before


def test_a_closed_original_is_refused_as_an_invalid_transition(
    desk: ServiceDesk, agent: Actor, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    desk.cancel(original, actor=agent, reason="Logged in error")
    with pytest.raises(InvalidTransitionError, match="cancelled"):
        desk.mark_duplicate(duplicate, original, actor=agent)


def test_a_resolved_incident_cannot_be_marked_a_duplicate(
    desk: ServiceDesk, agent: Actor, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    desk.resolve(duplicate, actor=agent, code="solved_remotely", notes="Reset it")
    with pytest.raises(InvalidTransitionError, match="resolved"):
        desk.mark_duplicate(duplicate, original, actor=agent)


def test_a_duplicate_with_open_children_is_refused(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    child = desk.log_incident(actor=agent, title="Tray 2 jams").id
    desk.set_parent(child, duplicate, actor=agent)
    before = observe(desk, notifier)
    with pytest.raises(ValidationError, match=child):
        desk.mark_duplicate(duplicate, original, actor=agent)
    assert observe(desk, notifier) == before


def test_a_child_can_be_marked_a_duplicate_of_its_parent(
    desk: ServiceDesk, agent: Actor, pair: tuple[str, str]
) -> None:
    original, duplicate = pair
    desk.set_parent(duplicate, original, actor=agent)
    assert desk.mark_duplicate(duplicate, original, actor=agent).status == S.CLOSED


def test_an_unknown_original_is_not_found(desk: ServiceDesk, agent: Actor,
                                          pair: tuple[str, str]) -> None:
    with pytest.raises(NotFoundError, match="INC9999999"):
        desk.mark_duplicate(pair[1], "INC9999999", actor=agent)


def test_a_duplicate_resolution_code_the_desk_does_not_accept_is_refused(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    policies = attrs.evolve(DeskPolicies(), resolution_codes={"fixed"})
    desk = ServiceDesk(repository, clock=clock, policies=policies)
    original = desk.log_incident(actor=agent, title="Printer jams").id
    duplicate = desk.log_incident(actor=agent, title="Printer broken").id
    with pytest.raises(ValidationError, match="duplicate"):
        desk.mark_duplicate(duplicate, original, actor=agent)
    assert desk.get_incident(duplicate).version == 1
    assert desk.get_incident(original).version == 1
