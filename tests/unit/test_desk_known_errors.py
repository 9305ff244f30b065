"""Problem management in depth at the service desk: known-error workarounds offered to
matching incidents and applied, what resolving a problem does to the incidents on hold
awaiting it, and changes raised to fix a problem."""

from __future__ import annotations

import attrs
import pytest

from itil_incident import (
    Actor,
    DefinitionError,
    DeskPolicies,
    FrozenClock,
    HoldReason,
    IncidentResolved,
    IncidentResumed,
    IncidentState,
    IncidentWorkaroundApplied,
    IncidentWorkaroundOffered,
    InMemoryRepository,
    InvalidTransitionError,
    KnownErrorMatcher,
    LinkedChange,
    OnProblemResolved,
    Problem,
    RecordingNotifier,
    ServiceDesk,
    TransitionDef,
    ValidationError,
    Workflow,
    default_incident_workflow,
)

S = IncidentState


def observe(desk: ServiceDesk, notifier: RecordingNotifier) -> object:
    return (
        [(i.id, i.version, i.snapshot(), i.timeline()) for i in desk.list_incidents()],
        [(p.id, p.version, p.snapshot(), p.timeline()) for p in desk.list_problems()],
        list(notifier.events),
    )


def known_error(desk: ServiceDesk, agent: Actor, *, workaround: str | None = "Reboot the "
                "gateway", title: str = "VPN gateway drops tunnels",
                service: str = "vpn") -> Problem:
    problem = desk.open_problem(actor=agent, title=title, service=service,
                                configuration_items=["gw-1"], category="Network/VPN")
    if workaround is None:
        desk.record_root_cause(problem.id, "Memory leak in firmware 4.2", actor=agent)
    else:
        desk.record_workaround(problem.id, workaround, actor=agent)
    return desk.mark_known_error(problem.id, actor=agent,
                                 symptoms="Tunnels drop every few minutes")


# -- offered on logging ------------------------------------------------------------------------


def test_a_new_incident_matching_a_known_error_is_offered_its_workaround(
    desk: ServiceDesk, agent: Actor
) -> None:
    problem = known_error(desk, agent)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    (offer,) = incident.workaround_offers
    assert (offer.problem_id, offer.workaround) == (problem.id, "Reboot the gateway")
    assert offer.score >= KnownErrorMatcher().min_score
    assert "service vpn" in offer.reasons
    assert incident.version == 2
    assert desk.get_incident(incident.id).workaround_offers == (offer,)


def test_the_offer_is_notified_with_the_logging(desk: ServiceDesk, agent: Actor,
                                                notifier: RecordingNotifier) -> None:
    known_error(desk, agent)
    notifier.clear()
    desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    assert notifier.names() == ["incident.logged", "incident.workaround_offered"]


def test_an_unrelated_incident_is_offered_nothing(desk: ServiceDesk, agent: Actor) -> None:
    known_error(desk, agent)
    incident = desk.log_incident(actor=agent, title="Printer jams on tray 2",
                                 service="printing")
    assert incident.workaround_offers == ()
    assert incident.version == 1


def test_a_known_error_without_a_workaround_matches_but_offers_nothing(
    desk: ServiceDesk, agent: Actor
) -> None:
    problem = known_error(desk, agent, workaround=None)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    assert incident.workaround_offers == ()
    (match,) = desk.known_error_matches(incident.id, actor=agent)
    assert (match.problem_id, match.workaround) == (problem.id, None)


def test_a_problem_not_marked_known_error_is_never_offered(desk: ServiceDesk,
                                                           agent: Actor) -> None:
    problem = desk.open_problem(actor=agent, title="VPN gateway drops tunnels", service="vpn")
    desk.record_workaround(problem.id, "Reboot the gateway", actor=agent)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    assert incident.workaround_offers == ()
    assert desk.known_error_matches(incident.id, actor=agent) == []


def test_a_resolved_known_error_is_no_longer_offered(desk: ServiceDesk, agent: Actor) -> None:
    problem = known_error(desk, agent)
    desk.resolve_problem(problem.id, "Firmware 4.3 deployed", actor=agent)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    assert incident.workaround_offers == ()


def test_offers_are_switched_off_without_a_matcher(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock, policies=DeskPolicies(known_errors=None))
    known_error(desk, agent)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    assert incident.workaround_offers == ()
    assert desk.known_error_matches(incident.id, actor=agent) == []


def test_with_matching_off_on_logging_the_offer_waits_until_asked(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    desk = ServiceDesk(repository, clock=clock,
                       policies=DeskPolicies(known_errors_on_log=False))
    problem = known_error(desk, agent)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    assert incident.workaround_offers == ()
    desk.known_error_matches(incident.id, actor=agent)
    offers = desk.get_incident(incident.id).workaround_offers
    assert [o.problem_id for o in offers] == [problem.id]


def test_at_most_max_offers_of_the_best_matches_are_offered(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    policies = DeskPolicies(known_errors=KnownErrorMatcher(max_offers=1))
    desk = ServiceDesk(repository, clock=clock, policies=policies)
    weaker = known_error(desk, agent, title="Gateway is slow")
    stronger = known_error(desk, agent, title="VPN tunnels drop at the gateway")
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    assert [o.problem_id for o in incident.workaround_offers] == [stronger.id]
    matches = desk.known_error_matches(incident.id, actor=agent)
    assert [m.problem_id for m in matches] == [stronger.id, weaker.id]
    assert matches[0].score > matches[1].score
    # asked again, nothing new: the best is offered once, the weaker is not the best
    assert [o.problem_id for o in desk.get_incident(incident.id).workaround_offers] == [
        stronger.id]


def test_a_better_known_error_published_later_is_offered_when_asked(
    repository: InMemoryRepository, clock: FrozenClock, agent: Actor
) -> None:
    policies = DeskPolicies(known_errors=KnownErrorMatcher(max_offers=1))
    desk = ServiceDesk(repository, clock=clock, policies=policies)
    weaker = known_error(desk, agent, title="Gateway is slow")
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    stronger = known_error(desk, agent, title="VPN tunnels drop at the gateway")
    desk.known_error_matches(incident.id, actor=agent)
    assert [o.problem_id for o in desk.get_incident(incident.id).workaround_offers] == [
        weaker.id, stronger.id]


# -- offered on request ------------------------------------------------------------------------


def test_an_open_incident_is_offered_a_known_error_published_after_it_was_logged(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier
) -> None:
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    problem = known_error(desk, agent)
    notifier.clear()
    matches = desk.known_error_matches(incident.id, actor=agent)
    assert [m.problem_id for m in matches] == [problem.id]
    assert notifier.names() == ["incident.workaround_offered"]


def test_asking_twice_offers_a_workaround_once(desk: ServiceDesk, agent: Actor,
                                                notifier: RecordingNotifier) -> None:
    known_error(desk, agent)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    notifier.clear()
    first = desk.known_error_matches(incident.id, actor=agent)
    second = desk.known_error_matches(incident.id, actor=agent)
    assert first == second != []
    assert notifier.events == []
    assert len(desk.get_incident(incident.id).workaround_offers) == 1


def test_a_resolved_incident_gets_matches_but_no_offer(desk: ServiceDesk, agent: Actor,
                                                        notifier: RecordingNotifier) -> None:
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn")
    desk.resolve(incident.id, actor=agent, code="solved_remotely", notes="Reconnected")
    known_error(desk, agent)
    notifier.clear()
    assert len(desk.known_error_matches(incident.id, actor=agent)) == 1
    assert notifier.events == []


# -- applying a workaround ---------------------------------------------------------------------


def test_applying_a_workaround_records_its_text_and_links_the_problem(
    desk: ServiceDesk, agent: Actor
) -> None:
    problem = known_error(desk, agent)
    incident = desk.log_incident(actor=agent, title="Cannot reach the intranet")
    applied = desk.apply_workaround(incident.id, problem.id, actor=agent)
    event = applied.timeline()[-2]
    assert isinstance(event, IncidentWorkaroundApplied)
    assert (event.problem_id, event.workaround) == (problem.id, "Reboot the gateway")
    assert applied.applied_workarounds == (event,)
    assert applied.problem_id == problem.id
    assert incident.id in desk.get_problem(problem.id).incident_ids


def test_applying_a_workaround_keeps_a_link_to_another_problem(
    desk: ServiceDesk, agent: Actor
) -> None:
    problem = known_error(desk, agent)
    other = desk.open_problem(actor=agent, title="Proxy drops sessions")
    incident = desk.log_incident(actor=agent, title="Cannot reach the intranet")
    desk.link_to_problem(incident.id, other.id, actor=agent)
    applied = desk.apply_workaround(incident.id, problem.id, actor=agent)
    assert applied.problem_id == other.id
    assert isinstance(applied.timeline()[-1], IncidentWorkaroundApplied)


@pytest.mark.parametrize("case", ["not a known error", "no workaround", "resolved incident"])
def test_a_workaround_that_cannot_apply_is_refused_and_changes_nothing(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier, case: str
) -> None:
    incident = desk.log_incident(actor=agent, title="Cannot reach the intranet").id
    if case == "not a known error":
        problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
        desk.record_workaround(problem, "Use the backup proxy", actor=agent)
    elif case == "no workaround":
        problem = known_error(desk, agent, workaround=None).id
    else:
        problem = known_error(desk, agent).id
        desk.resolve(incident, actor=agent, code="solved_remotely", notes="Reconnected")
    before = observe(desk, notifier)
    with pytest.raises((ValidationError, InvalidTransitionError)):
        desk.apply_workaround(incident, problem, actor=agent)
    assert observe(desk, notifier) == before


# -- resolving a problem -----------------------------------------------------------------------


def waiting(desk: ServiceDesk, agent: Actor, problem_id: str, title: str) -> str:
    incident = desk.log_incident(actor=agent, title=title).id
    desk.start_work(incident, actor=agent)
    desk.link_to_problem(incident, problem_id, actor=agent)
    desk.put_on_hold(incident, HoldReason.AWAITING_PROBLEM, actor=agent)
    return incident


def problem_desk(repository: InMemoryRepository, clock: FrozenClock,
                 notifier: RecordingNotifier, effect: OnProblemResolved | str
                 ) -> ServiceDesk:
    policies = DeskPolicies(on_problem_resolved=effect)
    return ServiceDesk(repository, clock=clock, notifier=notifier, policies=policies)


def test_by_default_resolving_a_problem_resumes_the_incidents_awaiting_it(
    desk: ServiceDesk, agent: Actor
) -> None:
    problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
    desk.start_investigation(problem, actor=agent)
    incident = waiting(desk, agent, problem, "Cannot reach the intranet")
    desk.resolve_problem(problem, "Replaced the proxy", actor=agent)
    record = desk.get_incident(incident)
    assert (record.status, record.hold_reason) == (S.IN_PROGRESS, None)
    last = record.timeline()[-1]
    assert isinstance(last, IncidentResumed)
    assert last.awaited_problem == problem


def test_the_resolve_option_resolves_them_with_the_problem_resolution(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    desk = problem_desk(repository, clock, notifier, "resolve")
    problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
    desk.start_investigation(problem, actor=agent)
    incident = waiting(desk, agent, problem, "Cannot reach the intranet")
    child = desk.log_incident(actor=agent, title="Intranet slow").id
    desk.set_parent(child, incident, actor=agent)
    notifier.clear()
    desk.resolve_problem(problem, "Replaced the proxy", actor=agent)
    record = desk.get_incident(incident)
    last = record.timeline()[-1]
    assert isinstance(last, IncidentResolved)
    assert last.awaited_problem == problem
    assert (record.resolution_code, record.resolution_notes) == (
        "solved_permanently", f"{problem} resolved: Replaced the proxy")
    cascaded = desk.get_incident(child).timeline()[-1]
    assert isinstance(cascaded, IncidentResolved)
    assert cascaded.cascaded_from == incident
    assert notifier.names() == ["problem.resolved", "incident.resolved", "incident.resolved"]


def test_the_nothing_option_leaves_them_on_hold(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    desk = problem_desk(repository, clock, notifier, OnProblemResolved.NOTHING)
    problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
    desk.start_investigation(problem, actor=agent)
    incident = waiting(desk, agent, problem, "Cannot reach the intranet")
    desk.resolve_problem(problem, "Replaced the proxy", actor=agent)
    assert desk.get_incident(incident).status == S.ON_HOLD


def test_only_incidents_on_hold_awaiting_the_problem_move(desk: ServiceDesk,
                                                          agent: Actor) -> None:
    problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
    desk.start_investigation(problem, actor=agent)
    awaiting = waiting(desk, agent, problem, "Cannot reach the intranet")
    on_vendor = desk.log_incident(actor=agent, title="Proxy licence expired").id
    desk.start_work(on_vendor, actor=agent)
    desk.link_to_problem(on_vendor, problem, actor=agent)
    desk.put_on_hold(on_vendor, HoldReason.AWAITING_VENDOR, actor=agent)
    working = desk.log_incident(actor=agent, title="Proxy slow").id
    desk.link_to_problem(working, problem, actor=agent)
    versions = {i: desk.get_incident(i).version for i in (on_vendor, working)}
    desk.resolve_problem(problem, "Replaced the proxy", actor=agent)
    assert desk.get_incident(awaiting).status == S.IN_PROGRESS
    assert {i: desk.get_incident(i).version for i in versions} == versions


def test_an_unknown_option_is_refused_when_the_policies_are_built() -> None:
    with pytest.raises(DefinitionError, match="on_problem_resolved"):
        DeskPolicies(on_problem_resolved="close")


def _workflow_without_resume() -> Workflow:
    base = default_incident_workflow()
    return Workflow("no_resume", base.states.values(),
                    [t for t in base.transitions if t.trigger != "resume"]
                    + [TransitionDef("unblock", S.ON_HOLD, S.IN_PROGRESS)])


def test_an_incident_the_workflow_cannot_resume_refuses_the_problem_resolution(
    repository: InMemoryRepository, clock: FrozenClock, notifier: RecordingNotifier,
    agent: Actor
) -> None:
    policies = DeskPolicies(incident_workflow=_workflow_without_resume())
    desk = ServiceDesk(repository, clock=clock, notifier=notifier, policies=policies)
    problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
    desk.start_investigation(problem, actor=agent)
    incident = waiting(desk, agent, problem, "Cannot reach the intranet")
    before = observe(desk, notifier)
    with pytest.raises(InvalidTransitionError, match=incident):
        desk.resolve_problem(problem, "Replaced the proxy", actor=agent)
    assert observe(desk, notifier) == before


# -- changes raised to fix a problem -----------------------------------------------------------


def test_a_change_raised_to_fix_a_problem_is_linked_and_unlinked(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier
) -> None:
    problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
    notifier.clear()
    linked = desk.link_problem_change(problem, "CHG0000042", actor=agent,
                                      title="Replace the proxy")
    desk.link_problem_change(problem, "CHG0000043", actor=agent, title="Tune the proxy")
    assert linked.change_links == (LinkedChange("CHG0000042", "Replace the proxy"),)
    unlinked = desk.unlink_problem_change(problem, "CHG0000042", actor=agent)
    assert unlinked.change_ids == ("CHG0000043",)
    assert notifier.names() == ["problem.change_linked", "problem.change_linked",
                                "problem.change_unlinked"]


@pytest.mark.parametrize("case", ["linked twice", "unknown change", "closed problem"])
def test_bad_change_links_are_refused_and_change_nothing(
    desk: ServiceDesk, agent: Actor, notifier: RecordingNotifier, case: str
) -> None:
    problem = desk.open_problem(actor=agent, title="Proxy drops sessions").id
    desk.link_problem_change(problem, "CHG0000042", actor=agent, title="Replace the proxy")
    if case == "closed problem":
        desk.cancel_problem(problem, actor=agent, reason="Not a problem")
    before = observe(desk, notifier)
    if case == "unknown change":
        with pytest.raises(ValidationError, match="CHG0000099"):
            desk.unlink_problem_change(problem, "CHG0000099", actor=agent)
    else:
        with pytest.raises((ValidationError, InvalidTransitionError)):
            desk.link_problem_change(problem, "CHG0000042", actor=agent, title="Again")
    assert observe(desk, notifier) == before


def test_a_matcher_with_a_negative_weight_is_refused() -> None:
    with pytest.raises(DefinitionError, match="service_weight"):
        KnownErrorMatcher(service_weight=-1)
    with pytest.raises(DefinitionError, match="min_score"):
        attrs.evolve(KnownErrorMatcher(), min_score=0)


def test_an_offer_records_the_score_and_reasons_and_is_folded_from_history(
    desk: ServiceDesk, agent: Actor
) -> None:
    known_error(desk, agent)
    incident = desk.log_incident(actor=agent, title="VPN tunnels drop", service="vpn",
                                 configuration_items=["GW-1"], category="Network/VPN")
    (offer,) = incident.workaround_offers
    assert isinstance(offer, IncidentWorkaroundOffered)
    assert offer.reasons[:3] == ("service vpn", "configuration item gw-1",
                                 "category Network/VPN")
    assert offer.score == 2 + 3 + 2 + len(offer.reasons[3].split(",")) * 1
