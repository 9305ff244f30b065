"""The desk's index of known errors changes nothing about what matches: for any known errors,
any changes to them and any incidents, a desk whose repository lists the versions of the open
known errors offers and matches exactly what a desk listing them in full (a host repository
without ``known_error_versions``) offers and matches, and the index's candidates, ranked,
are the matches of every known error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    DeskPolicies,
    FrozenClock,
    InMemoryRepository,
    ItilIncidentError,
    KnownErrorMatcher,
    ProblemQuery,
    SequentialIdFactory,
    ServiceDesk,
)
from itil_incident.policies.known_errors import Facets, KnownErrorEntry, KnownErrorIndex
from itil_incident.testing._known_error_contract import (
    _WithoutVersions as FullScan,  # the port's six methods only
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))

SERVICES = st.none() | st.sampled_from(["vpn", "VPN", "mail", "erp"])
ITEMS = st.lists(st.sampled_from(["gw-1", "GW-1", "gw-2", "mx-1"]), max_size=2)
CATEGORIES = st.none() | st.sampled_from(
    ["Network", "Network/VPN", "Network/VPN/Client", "Email", "Email/Delivery", "Hardware"])
WORDS = st.sampled_from(["tunnel", "drops", "outbox", "stuck", "jams", "tray", "login", "slow",
                         "firmware", "the", "is"])
TEXTS = st.lists(WORDS, max_size=5).map(" ".join)
MATCHERS = st.builds(
    KnownErrorMatcher,
    service_weight=st.integers(0, 4), configuration_item_weight=st.integers(0, 4),
    category_weight=st.integers(0, 4), parent_category_weight=st.integers(0, 4),
    keyword_weight=st.integers(0, 3), max_keywords=st.integers(0, 5),
    min_score=st.integers(1, 6), max_offers=st.integers(1, 3))

PROBLEMS = st.fixed_dictionaries({
    "title": TEXTS.map(lambda text: text or "untitled"), "description": TEXTS,
    "service": SERVICES, "configuration_items": ITEMS, "category": CATEGORIES,
    "workaround": st.none() | st.sampled_from(["Reboot", "Reconnect", "Flush"]),
    "symptoms": st.none() | st.lists(WORDS, min_size=1, max_size=3).map(" ".join),
    "known": st.booleans(),
})
INCIDENTS = st.fixed_dictionaries({
    "title": TEXTS.map(lambda text: text or "untitled"), "description": TEXTS,
    "service": SERVICES, "configuration_items": ITEMS, "category": CATEGORIES,
})
CHANGES = st.tuples(st.integers(0, 20), st.sampled_from(
    ["workaround", "resolve", "reopen", "close", "cancel", "mark", "investigate"]))
STEPS = st.lists(st.one_of(st.tuples(st.just("publish"), PROBLEMS),
                           st.tuples(st.just("change"), CHANGES),
                           st.tuples(st.just("log"), INCIDENTS)), min_size=6, max_size=30)


def publish(desk: ServiceDesk, spec: dict[str, Any]) -> str:
    problem = desk.open_problem(
        actor=AGENT, title=spec["title"], description=spec["description"],
        service=spec["service"], configuration_items=spec["configuration_items"],
        category=spec["category"])
    if spec["workaround"] is None:
        desk.record_root_cause(problem.id, "Found it", actor=AGENT)
    else:
        desk.record_workaround(problem.id, spec["workaround"], actor=AGENT)
    if spec["known"]:
        desk.mark_known_error(problem.id, actor=AGENT, symptoms=spec["symptoms"])
    return problem.id


def change(desk: ServiceDesk, problem_id: str, action: str, step: int) -> None:
    """Apply ``action``; one the problem's state refuses changes nothing."""
    try:
        if action == "workaround":
            desk.record_workaround(problem_id, f"Workaround {step}", actor=AGENT)
        elif action == "resolve":
            desk.resolve_problem(problem_id, "Fixed", actor=AGENT)
        elif action == "reopen":
            desk.reopen_problem(problem_id, actor=AGENT, reason="Back again")
        elif action == "close":
            desk.close_problem(problem_id, actor=AGENT)
        elif action == "cancel":
            desk.cancel_problem(problem_id, actor=AGENT, reason="Not a problem")
        elif action == "mark":
            desk.mark_known_error(problem_id, actor=AGENT, symptoms=f"tunnel {step}")
        else:
            desk.start_investigation(problem_id, actor=AGENT)
    except ItilIncidentError:
        pass


def seen(desk: ServiceDesk, incident_id: str
         ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """What the desk offered on logging, then matches and offers when asked."""
    on_log: list[tuple[object, ...]] = [
        (o.problem_id, o.workaround, o.score, o.reasons)
        for o in desk.get_incident(incident_id).workaround_offers]
    matches = desk.known_error_matches(incident_id, actor=AGENT)
    return on_log, [(m.problem_id, m.title, m.score, m.reasons, m.workaround)
                    for m in matches]


@settings(max_examples=150, deadline=None)
@given(MATCHERS, STEPS)
def test_the_index_offers_and_matches_exactly_what_the_full_scan_does(
    matcher: KnownErrorMatcher, steps: list[tuple[str, Any]]
) -> None:
    repository = InMemoryRepository()
    clock = FrozenClock(T0)
    ids = SequentialIdFactory()
    policies = DeskPolicies(known_errors=matcher, categories=None, categorizer=None)
    writer = ServiceDesk(repository, clock=clock, ids=ids, policies=policies)
    indexed = ServiceDesk(repository, clock=clock, ids=ids, policies=policies)
    scanning = ServiceDesk(FullScan(repository), clock=clock, ids=ids, policies=policies)
    problems: list[str] = []
    for step, (kind, spec) in enumerate(steps):
        clock.advance(timedelta(minutes=1))
        if kind == "publish":
            problems.append(publish(writer, spec))
        elif kind == "change":
            if problems:
                change(writer, problems[spec[0] % len(problems)], spec[1], step)
        else:
            mine = indexed.log_incident(actor=AGENT, **spec)
            theirs = scanning.log_incident(actor=AGENT, **spec)
            found = seen(indexed, mine.id)
            assert found == seen(scanning, theirs.id)
            event(f"a log offered {min(len(found[0]), 2)}, matched {min(len(found[1]), 2)}")
            every = repository.list_problems(ProblemQuery())
            assert indexed.known_error_matches(mine.id, actor=AGENT) == matcher.matches(
                mine, every)


ENTRIES = st.lists(
    st.builds(lambda service, items, category, text: Facets.of(
        service=service, configuration_items=items, category=category, title=text),
        SERVICES, ITEMS, CATEGORIES, TEXTS),
    max_size=12)


@given(MATCHERS, ENTRIES, INCIDENTS)
def test_the_candidates_ranked_are_the_matches_of_every_known_error(
    matcher: KnownErrorMatcher, facets: list[Facets], incident_spec: dict[str, Any]
) -> None:
    entries = [KnownErrorEntry(f"PRB{n:03d}", 1, f"Known error {n}", "Work around", f)
               for n, f in enumerate(facets)]
    index = KnownErrorIndex(entries)
    incident = Facets.of(**incident_spec)
    everything = matcher.rank(incident, entries)
    assert matcher.rank(incident, index.candidates(incident, matcher)) == everything
    assert matcher.rank(incident, index.candidates(incident)) == everything
    reaching = {e.problem_id for e in index.candidates(incident, matcher)}
    assert reaching == {m.problem_id for m in everything}
    touching = {e.problem_id for e in index.candidates(incident)}
    assert touching == {e.problem_id for e in entries
                        if KnownErrorMatcher(min_score=1, max_keywords=99).compare(
                            incident, e.facets)[0] > 0}
