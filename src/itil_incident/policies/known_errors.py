"""Matching incidents against known errors: which workaround to offer, and why.

A known error is a problem marked known error (``Problem.known_error``) that is still open
(neither resolved nor closed nor cancelled: once the root cause is removed its workaround is no
longer the answer). :class:`KnownErrorMatcher` scores each one against an incident and
explains the score, one reason per point of contact:

- the same service (``service_weight``);
- a configuration item in common (``configuration_item_weight``, once however many);
- the same category (``category_weight``), or an incident category below the known error's
  (``parent_category_weight``);
- keywords in common between the incident's title and description and the problem's title,
  description and known-error symptoms (``keyword_weight`` each, at most ``max_keywords``).

Names compare without regard to case; keywords are words of three letters or more outside a
short list of common English words. A known error scoring at least ``min_score`` matches.
The matcher is pure: :meth:`KnownErrorMatcher.compare` works on plain :class:`Facets`,
:meth:`KnownErrorMatcher.rank` on :class:`KnownErrorEntry` values (what matching needs of a
known error), and :meth:`KnownErrorMatcher.matches` reads them from the entities.

A known error that shares nothing with an incident (no service, configuration item, category
at or above the incident's, or keyword) scores 0, below any ``min_score``: a
:class:`KnownErrorIndex` finds the others by those points of contact, so that an incident is
compared with the few known errors it touches rather than with all of them.

>>> incident = Facets.of(service="vpn", title="VPN tunnel drops every few minutes")
>>> known = Facets.of(service="VPN", title="Tunnel drops after firmware 4.2")
>>> KnownErrorMatcher().compare(incident, known)
(4, ('service vpn', 'keywords: drops, tunnel'))
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from itil_incident.domain.values import CategoryPath
from itil_incident.errors import DefinitionError

if TYPE_CHECKING:
    from itil_incident.domain.incident import Incident
    from itil_incident.domain.problem import Problem

__all__ = [
    "STOP_WORDS",
    "Facets",
    "KnownErrorEntry",
    "KnownErrorIndex",
    "KnownErrorMatch",
    "KnownErrorMatcher",
    "keywords",
]

_WORD = re.compile(r"[^\W_]{3,}")

_STOP_TEXT = """
    about after again all also and any are because been before being but can cannot could
    did does doing down during each every few for from had has have having her here his how
    into its just more most not now off once only other our out over same she should since
    some such than that the their them then there these they this those through too under
    until very was were what when where which while who why will with would you your
    error errors issue issues problem problems incident incidents please does not work
    working works user users
"""
#: Words too common to tell incidents apart.
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())


def keywords(*texts: str | None) -> frozenset[str]:
    """The distinctive words of ``texts``: casefolded, three letters or more, not in
    :data:`STOP_WORDS`.

    >>> sorted(keywords("The VPN tunnel drops", None, "tunnel again"))
    ['drops', 'tunnel', 'vpn']
    """
    found: set[str] = set()
    for text in texts:
        if text:
            found.update(word for word in _WORD.findall(text.casefold())
                         if word not in STOP_WORDS)
    return frozenset(found)


@attrs.frozen
class Facets:
    """What the matcher compares of an incident or a known error."""

    service: str | None = None
    configuration_items: frozenset[str] = frozenset()
    category: CategoryPath | None = None
    keywords: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *, service: str | None = None, configuration_items: Iterable[str] = (),
           category: CategoryPath | str | None = None, title: str = "",
           description: str = "") -> Facets:
        """Facets from plain values (names casefolded, keywords from the texts)."""
        path = None if category is None else CategoryPath.of(category)
        return cls(None if service is None else service.casefold(),
                   frozenset(item.casefold() for item in configuration_items), path,
                   keywords(title, description))

    @classmethod
    def of_incident(cls, incident: Incident) -> Facets:
        """An incident's service, configuration items, category, title and description."""
        return cls.of(service=incident.service,
                      configuration_items=incident.configuration_items,
                      category=incident.category, title=incident.title,
                      description=incident.description)

    @classmethod
    def of_problem(cls, problem: Problem) -> Facets:
        """A problem's service, configuration items, category, and the keywords of its title,
        description and known-error symptoms (computed once per distinct content)."""
        record = problem.known_error_record
        return _problem_facets(problem.service, problem.configuration_items, problem.category,
                               problem.title, problem.description,
                               None if record is None else record.symptoms)


@functools.lru_cache(maxsize=4096)
def _problem_facets(service: str | None, configuration_items: tuple[str, ...],
                    category: CategoryPath | None, title: str, description: str,
                    symptoms: str | None) -> Facets:
    facets = Facets.of(service=service, configuration_items=configuration_items,
                       category=category, title=title, description=description)
    if symptoms is None:
        return facets
    return attrs.evolve(facets, keywords=facets.keywords | keywords(symptoms))


@attrs.frozen
class KnownErrorEntry:
    """What matching needs of one known error: its id and ``version`` (the same version, the
    same content), its title and workaround (for the match and the offer), and its facets."""

    problem_id: str
    version: int
    title: str
    workaround: str | None
    facets: Facets

    @classmethod
    def of_problem(cls, problem: Problem) -> KnownErrorEntry:
        """The entry of ``problem`` as it stands (whether it is an open known error or not)."""
        return cls(problem.id, problem.version, problem.title, problem.workaround,
                   Facets.of_problem(problem))


class KnownErrorIndex:
    """Known errors looked up by their points of contact with an incident.

    Each point of a score comes from one point of contact between the incident's facets and
    the known error's: the same service, a configuration item in common, the same category or
    one above the incident's, a keyword in common. The index lists the known errors by each of
    them, so that :meth:`candidates` finds, without comparing the incident with every known
    error, the ones that share anything at all (any matcher's matches are among them: sharing
    nothing scores 0, below any ``min_score``), or, given a matcher, the ones whose score
    reaches its ``min_score`` (the score counted from those lists is the one
    :meth:`KnownErrorMatcher.compare` gives). :meth:`KnownErrorMatcher.rank` of the candidates
    then gives exactly the matches of ranking every entry.

    ``source`` is what the index was built from (a repository's ids and versions of the open
    known errors), for its owner to tell whether it is still current; the index never changes
    once built.

    >>> vpn = KnownErrorEntry("PRB1", 3, "VPN drops", "Reconnect",
    ...                       Facets.of(service="vpn", title="Tunnel drops"))
    >>> mail = KnownErrorEntry("PRB2", 5, "Mail stuck", None,
    ...                        Facets.of(service="mail", title="Outbox stuck"))
    >>> index = KnownErrorIndex([vpn, mail])
    >>> incident = Facets.of(service="vpn", title="The tunnel is down")
    >>> [entry.problem_id for entry in index.candidates(incident)]
    ['PRB1']
    >>> [entry.problem_id for entry in index.candidates(incident, KnownErrorMatcher())]
    []
    >>> KnownErrorMatcher().compare(incident, vpn.facets)[0]  # below min_score (4)
    3
    """

    __slots__ = ("_by_category", "_by_item", "_by_keyword", "_by_service", "entries", "source")

    def __init__(self, entries: Iterable[KnownErrorEntry],
                 source: Mapping[str, int] | None = None) -> None:
        self.entries: dict[str, KnownErrorEntry] = {}
        for entry in entries:
            self.entries[entry.problem_id] = entry
        # point of contact -> the ids of the known errors that have it (each id once a list)
        self._by_service: dict[str, list[str]] = {}
        self._by_item: dict[str, list[str]] = {}
        self._by_category: dict[tuple[str, ...], list[str]] = {}
        self._by_keyword: dict[str, list[str]] = {}
        for key, entry in self.entries.items():
            facets = entry.facets
            if facets.service is not None:
                self._by_service.setdefault(facets.service, []).append(key)
            for item in facets.configuration_items:
                self._by_item.setdefault(item, []).append(key)
            if facets.category is not None:
                self._by_category.setdefault(facets.category.parts, []).append(key)
            for word in facets.keywords:
                self._by_keyword.setdefault(word, []).append(key)
        self.source: dict[str, int] = ({key: entry.version for key, entry in self.entries.items()}
                                       if source is None else dict(source))

    def __len__(self) -> int:
        return len(self.entries)

    def candidates(self, incident: Facets, matcher: KnownErrorMatcher | None = None
                   ) -> list[KnownErrorEntry]:
        """The entries sharing a point of contact with ``incident``; with a ``matcher``, only
        those whose score reaches its ``min_score``. By problem id."""
        if matcher is None:
            weights = (1, 1, 1, 1, 1, max(len(incident.keywords), 1), 1)
        else:
            weights = (matcher.service_weight, matcher.configuration_item_weight,
                       matcher.category_weight, matcher.parent_category_weight,
                       matcher.keyword_weight, matcher.max_keywords, matcher.min_score)
        service_w, item_w, category_w, parent_w, keyword_w, most, need = weights
        scores: dict[str, int] = {}  # the score without keywords, of those with any
        if service_w and incident.service is not None:
            scores = dict.fromkeys(self._by_service.get(incident.service, ()), service_w)
        if item_w and incident.configuration_items:
            sharing: set[str] = set()
            for item in incident.configuration_items:
                sharing.update(self._by_item.get(item, ()))
            for key in sharing:
                scores[key] = scores.get(key, 0) + item_w
        if incident.category is not None and (category_w or parent_w):
            parts = incident.category.parts
            for size in range(1, len(parts) + 1):  # the category, then each one above it
                found = self._by_category.get(parts[:size])
                weight = category_w if size == len(parts) else parent_w
                if found and weight:
                    for key in found:
                        scores[key] = scores.get(key, 0) + weight
        reached = {key for key, score in scores.items() if score >= need}
        if keyword_w and most and incident.keywords:
            # This many keywords in common reach ``need`` on their own (when there can be
            # that many); the others need a score from another point of contact too.
            enough = -(-need // keyword_w)
            alone = enough <= min(most, len(incident.keywords))
            short = [key for key, score in scores.items() if score < need]
            if alone or short:
                shared: Counter[str] = Counter()
                for word in incident.keywords:
                    found = self._by_keyword.get(word)
                    if found:
                        shared.update(found)
                reached.update(key for key in short if scores[key] + keyword_w * min(
                    shared.get(key, 0), most) >= need)
                if alone:
                    reached.update(key for key, count in shared.items() if count >= enough)
        entries = self.entries
        return [entries[key] for key in sorted(reached)]


@attrs.frozen
class KnownErrorMatch:
    """A known error that matches an incident: its ``score``, the ``reasons`` for it, and the
    workaround to offer (None when the known error documents only a root cause)."""

    problem_id: str
    title: str
    score: int
    reasons: tuple[str, ...]
    workaround: str | None


def _weight(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 0:
        raise DefinitionError(f"KnownErrorMatcher.{attribute.name} must be an integer >= 0, "
                              f"got {value!r}", culprit=attribute.name)


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int or value < 1:
        raise DefinitionError(f"KnownErrorMatcher.{attribute.name} must be an integer >= 1, "
                              f"got {value!r}", culprit=attribute.name)


@attrs.frozen(kw_only=True)
class KnownErrorMatcher:
    """Scores known errors against incidents (see the module documentation).

    ``max_offers``: the desk offers the workarounds of this many of the best matches (those
    with a workaround), each once per incident.
    """

    service_weight: int = attrs.field(default=2, validator=_weight)
    configuration_item_weight: int = attrs.field(default=3, validator=_weight)
    category_weight: int = attrs.field(default=2, validator=_weight)
    parent_category_weight: int = attrs.field(default=1, validator=_weight)
    keyword_weight: int = attrs.field(default=1, validator=_weight)
    max_keywords: int = attrs.field(default=5, validator=_weight)
    min_score: int = attrs.field(default=4, validator=_positive)
    max_offers: int = attrs.field(default=3, validator=_positive)

    def compare(self, incident: Facets, known_error: Facets) -> tuple[int, tuple[str, ...]]:
        """The score of ``known_error`` for ``incident`` and the reasons, whatever the
        threshold."""
        score = 0
        reasons: list[str] = []
        if (self.service_weight and incident.service is not None
                and incident.service == known_error.service):
            score += self.service_weight
            reasons.append(f"service {incident.service}")
        common = incident.configuration_items & known_error.configuration_items
        if self.configuration_item_weight and common:
            score += self.configuration_item_weight
            names = ", ".join(sorted(common))
            reasons.append(f"configuration item{'s' if len(common) > 1 else ''} {names}")
        ours, theirs = incident.category, known_error.category
        if ours is not None and theirs is not None:
            if ours == theirs and self.category_weight:
                score += self.category_weight
                reasons.append(f"category {ours}")
            elif ours != theirs and ours.is_within(theirs) and self.parent_category_weight:
                score += self.parent_category_weight
                reasons.append(f"category {ours} is below {theirs}")
        shared = sorted(incident.keywords & known_error.keywords)[: self.max_keywords]
        if self.keyword_weight and shared:
            score += self.keyword_weight * len(shared)
            reasons.append(f"keyword{'s' if len(shared) > 1 else ''}: {', '.join(shared)}")
        return score, tuple(reasons)

    def matches(self, incident: Incident, problems: Iterable[Problem]) -> list[KnownErrorMatch]:
        """The open known errors among ``problems`` that score at least ``min_score`` for
        ``incident``, best first (ties by problem id)."""
        return self.rank(Facets.of_incident(incident),
                         [KnownErrorEntry.of_problem(problem) for problem in problems
                          if problem.known_error and problem.is_open])

    def rank(self, incident: Facets, known_errors: Iterable[KnownErrorEntry]
             ) -> list[KnownErrorMatch]:
        """The entries among ``known_errors`` that score at least ``min_score`` for the
        incident's facets, best first (ties by problem id)."""
        found: list[KnownErrorMatch] = []
        for entry in known_errors:
            score, reasons = self.compare(incident, entry.facets)
            if score >= self.min_score:
                found.append(KnownErrorMatch(entry.problem_id, entry.title, score, reasons,
                                             entry.workaround))
        found.sort(key=lambda match: (-match.score, match.problem_id))
        return found
