"""The known-error matcher's rules, for any facets: the score is the sum of the weights of the
points of contact it names, nothing in common scores nothing, more in common never scores
less, and the desk's matches are exactly the open known errors at or above the threshold,
best first."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    CategoryPath,
    FrozenClock,
    InMemoryRepository,
    KnownErrorMatcher,
    ServiceDesk,
)
from itil_incident.policies.known_errors import STOP_WORDS, Facets, keywords

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))

SERVICES = st.sampled_from(["vpn", "mail", "printing", "erp"])
ITEMS = st.frozensets(st.sampled_from(["gw-1", "gw-2", "mx-1", "prn-3"]), max_size=3)
WORDS = st.sampled_from(["tunnel", "drops", "outbox", "stuck", "jams", "tray", "login",
                         "slow", "firmware", "relay", "queue", "paper"])
CATEGORIES = st.sampled_from([
    CategoryPath.parse(p) for p in
    ("Network", "Network/VPN", "Network/VPN/Client", "Email", "Email/Delivery", "Hardware")])
FACETS = st.builds(Facets, service=st.none() | SERVICES, configuration_items=ITEMS,
                   category=st.none() | CATEGORIES,
                   keywords=st.frozensets(WORDS, max_size=6))
MATCHERS = st.builds(
    KnownErrorMatcher,
    service_weight=st.integers(0, 5), configuration_item_weight=st.integers(0, 5),
    category_weight=st.integers(0, 5), parent_category_weight=st.integers(0, 5),
    keyword_weight=st.integers(0, 3), max_keywords=st.integers(0, 6),
    min_score=st.integers(1, 10), max_offers=st.integers(1, 3))


def expected_score(m: KnownErrorMatcher, incident: Facets, known: Facets) -> int:
    """The rules, written out independently of the matcher."""
    score = 0
    if incident.service is not None and incident.service == known.service:
        score += m.service_weight
    if incident.configuration_items & known.configuration_items:
        score += m.configuration_item_weight
    if incident.category is not None and known.category is not None:
        if incident.category == known.category:
            score += m.category_weight
        elif incident.category.parts[:len(known.category.parts)] == known.category.parts:
            score += m.parent_category_weight
    shared = len(incident.keywords & known.keywords)
    return score + m.keyword_weight * min(shared, m.max_keywords)


@given(MATCHERS, FACETS, FACETS)
def test_the_score_follows_the_rules(matcher: KnownErrorMatcher, incident: Facets,
                                     known: Facets) -> None:
    score, _reasons = matcher.compare(incident, known)
    assert score == expected_score(matcher, incident, known)


@given(MATCHERS, FACETS, FACETS)
def test_every_reason_names_a_real_point_of_contact(matcher: KnownErrorMatcher,
                                                    incident: Facets, known: Facets) -> None:
    score, reasons = matcher.compare(incident, known)
    assert (score == 0) == (reasons == ())
    for reason in reasons:
        if reason.startswith("service "):
            assert incident.service == known.service == reason.removeprefix("service ")
        elif reason.startswith("configuration item"):
            named = set(reason.split(" ", 2)[2].split(", "))
            assert named == incident.configuration_items & known.configuration_items
        elif reason.startswith("category "):
            assert incident.category is not None
            assert known.category is not None
            assert incident.category.is_within(known.category)
        else:
            assert reason.startswith("keyword")
            named = set(reason.split(": ", 1)[1].split(", "))
            assert named <= incident.keywords & known.keywords
            assert len(named) == min(len(incident.keywords & known.keywords),
                                     matcher.max_keywords)


@given(MATCHERS, FACETS, FACETS)
def test_nothing_in_common_scores_nothing(matcher: KnownErrorMatcher, incident: Facets,
                                          known: Facets) -> None:
    apart = Facets(service=None if known.service is None else known.service + "-other",
                   configuration_items=frozenset(c + "-x" for c in known.configuration_items),
                   category=None, keywords=frozenset(k + "x" for k in known.keywords))
    assert matcher.compare(apart, known) == (0, ())


@given(MATCHERS, FACETS, FACETS, WORDS, st.sampled_from(["gw-1", "mx-1"]))
def test_more_in_common_never_scores_less(matcher: KnownErrorMatcher, incident: Facets,
                                          known: Facets, word: str, item: str) -> None:
    score, _ = matcher.compare(incident, known)
    richer_incident = Facets(incident.service, incident.configuration_items | {item},
                             incident.category, incident.keywords | {word})
    richer_known = Facets(known.service, known.configuration_items | {item}, known.category,
                          known.keywords | {word})
    assert matcher.compare(richer_incident, richer_known)[0] >= score


@given(st.text(max_size=80))
def test_keywords_ignore_case_common_words_and_short_words(text: str) -> None:
    found = keywords(text)
    if text.isascii():
        assert keywords(text.swapcase()) == found
    assert all(len(word) >= 3 and word not in STOP_WORDS for word in found)
    assert all(word == word.casefold() for word in found)


PROBLEMS = st.lists(
    st.tuples(SERVICES, st.lists(WORDS, min_size=1, max_size=4), st.booleans(),
              st.booleans()),
    min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(PROBLEMS, SERVICES, st.lists(WORDS, min_size=1, max_size=4))
def test_the_desk_matches_exactly_the_open_known_errors_at_or_above_the_threshold(
    problems: list[tuple[str, list[str], bool, bool]], service: str, words: list[str]
) -> None:
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0))
    matcher = desk.policies.known_errors
    assert matcher is not None
    expected: dict[str, int] = {}
    for known_service, title_words, known, resolved in problems:
        problem = desk.open_problem(actor=AGENT, title=" ".join(title_words),
                                    service=known_service)
        desk.record_workaround(problem.id, "Restart it", actor=AGENT)
        if known:
            desk.mark_known_error(problem.id, actor=AGENT)
        if resolved:
            if not known:
                desk.start_investigation(problem.id, actor=AGENT)
            desk.resolve_problem(problem.id, "Fixed", actor=AGENT)
        record = desk.get_problem(problem.id)
        score, _ = matcher.compare(Facets.of(service=service, title=" ".join(words)),
                                   Facets.of_problem(record))
        if known and not resolved and score >= matcher.min_score:
            expected[problem.id] = score
    incident = desk.log_incident(actor=AGENT, title=" ".join(words), service=service)
    matches = desk.known_error_matches(incident.id, actor=AGENT)
    assert {m.problem_id: m.score for m in matches} == expected
    assert [(-m.score, m.problem_id) for m in matches] == sorted(
        (-m.score, m.problem_id) for m in matches)
    offered = [o.problem_id for o in desk.get_incident(incident.id).workaround_offers]
    assert offered == [m.problem_id for m in matches][: matcher.max_offers]
