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
The matcher is pure: :meth:`KnownErrorMatcher.compare` works on plain :class:`Facets`, and
:meth:`KnownErrorMatcher.matches` reads them from the entities.

>>> incident = Facets.of(service="vpn", title="VPN tunnel drops every few minutes")
>>> known = Facets.of(service="VPN", title="Tunnel drops after firmware 4.2")
>>> KnownErrorMatcher().compare(incident, known)
(4, ('service vpn', 'keywords: drops, tunnel'))
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from itil_incident.domain.values import CategoryPath
from itil_incident.errors import DefinitionError

if TYPE_CHECKING:
    from itil_incident.domain.incident import Incident
    from itil_incident.domain.problem import Problem

__all__ = ["STOP_WORDS", "Facets", "KnownErrorMatch", "KnownErrorMatcher", "keywords"]

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
        facets = Facets.of_incident(incident)
        found: list[KnownErrorMatch] = []
        for problem in problems:
            if not problem.known_error or not problem.is_open:
                continue
            score, reasons = self.compare(facets, Facets.of_problem(problem))
            if score >= self.min_score:
                found.append(KnownErrorMatch(problem.id, problem.title, score, reasons,
                                             problem.workaround))
        found.sort(key=lambda match: (-match.score, match.problem_id))
        return found
