"""Recurring-incident detection: groups of similar incidents that call for a problem.

:func:`find_recurring` reads incidents (``Incident`` objects, or event histories folded with
the workflow given) and returns a :class:`RecurringReport`: the groups of at least
``min_count`` incidents that share a key (service, configuration item and category by
default), have similar titles, and were logged close together. Each new group comes with a
:class:`ProblemProposal` whose :meth:`~ProblemProposal.arguments` a host passes to
``ServiceDesk.open_problem``. The analysis is pure: it reads, never changes anything.

How incidents are grouped
    1. *Key.* ``by`` names the key parts among ``"service"``, ``"configuration_item"`` and
       ``"category"`` (full path). An incident without a value for a part has None there
       (incidents that both lack it agree on it); one without a value for any part is left
       out. An incident with several configuration items is a candidate under each of them
       (it joins at most one group, see step 4). Cancelled incidents are never evidence.
    2. *Window.* Incidents of one key, ordered by logging time, that lie in some span of
       ``window`` holding at least ``min_count`` of them are kept; the others are not
       recurring.
    3. *Titles.* Titles become sets of words (lower case, letters and digits, words of one
       character and common English stop words dropped). Two incidents are similar when the
       Jaccard index of their word sets (shared words / all words) is at least
       ``title_similarity``; similarity links chain (single linkage), so the result does not
       depend on the order of the input. ``title_similarity=0`` ignores titles.
    4. *Groups.* Within each title cluster, step 2 is applied again and incidents closer than
       ``window`` to the previous kept one chain into one group: every group holds at least
       ``min_count`` incidents within one ``window``. Groups are formed largest first; an
       incident already in a group is not counted again for another key.
Already handled
    A group is *covered* when one of its incidents is linked to a problem (its ``problem_id``,
    or listed in a known problem's ``incident_ids``), or when a known problem has the group's
    key (same service, category, and the configuration item among its own), a title holding
    every common word of the group, and was opened at or after the group's first incident. A
    covered group is reported with the problem id and no proposal. So after a host opens the
    proposed problem (which links the group's open incidents), a new run proposes nothing new
    for it; pass ``known_problems`` as well when the group's incidents are all closed (closed
    incidents cannot be linked).

>>> from itil_incident import Actor
>>> from itil_incident.testing import make_desk
>>> desk = make_desk()
>>> agent = Actor("alice")
>>> for _ in range(3):
...     _ = desk.log_incident(actor=agent, title="VPN drops every hour", service="vpn")
>>> report = find_recurring(desk.list_incidents(), by=["service"], min_count=3)
>>> [group.key for group in report.proposed]
[('vpn',)]
>>> problem = desk.open_problem(actor=agent, **report.proposed[0].proposal.arguments())
>>> find_recurring(desk.list_incidents(), by=["service"], min_count=3).proposed
()
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from itil_incident.domain.incident import Incident
from itil_incident.domain.lifecycles import default_incident_workflow
from itil_incident.domain.problem import Problem
from itil_incident.domain.workflow import Workflow
from itil_incident.errors import ValidationError
from itil_incident.reporting._results import Cell, _Table

__all__ = [
    "RECURRING_KEYS",
    "ProblemProposal",
    "RecurringGroup",
    "RecurringIncident",
    "RecurringReport",
    "find_recurring",
    "title_words",
]

#: The parts a recurring-incident key may have.
RECURRING_KEYS: Final = ("service", "configuration_item", "category")

_WORD = re.compile(r"[^\W_]+")
_STOP_WORDS: Final = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "no", "not", "of", "on", "or", "our", "so", "than", "that", "the",
    "their", "then", "there", "these", "this", "to", "was", "were", "will", "with", "without"))
_MAX_TITLE: Final = 300


def title_words(title: str) -> frozenset[str]:
    """The words of ``title`` that titles are compared on: lower case runs of letters and
    digits, longer than one character, common English stop words dropped.

    >>> sorted(title_words("The VPN drops: again, and AGAIN!"))
    ['again', 'drops', 'vpn']
    """
    return frozenset(word for word in _WORD.findall(title.casefold())
                     if len(word) > 1 and word not in _STOP_WORDS)


def _similarity(left: frozenset[str], right: frozenset[str]) -> float:
    union = len(left | right)
    return 1.0 if union == 0 else len(left & right) / union


@attrs.frozen
class RecurringIncident:
    """One incident of a group: its id, logging instant, title, whether it is closed or
    cancelled (``terminal``: it cannot be linked to a new problem) and its problem, if any."""

    incident_id: str
    logged_at: datetime
    title: str
    terminal: bool
    problem_id: str | None

    def to_dict(self) -> dict[str, Cell]:
        return {"incident_id": self.incident_id, "logged_at": self.logged_at.isoformat(),
                "title": self.title, "terminal": self.terminal, "problem_id": self.problem_id}


@attrs.frozen
class ProblemProposal:
    """A problem to open for a group: pass :meth:`arguments` to ``ServiceDesk.open_problem``
    (with ``actor``). ``incident_ids`` are the group's incidents that can be linked (not
    closed or cancelled); ``evidence_ids`` all of them."""

    title: str
    description: str
    service: str | None
    configuration_items: tuple[str, ...]
    category: str | None
    incident_ids: tuple[str, ...]
    evidence_ids: tuple[str, ...]

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``ServiceDesk.open_problem`` (all but ``actor``)."""
        return {"title": self.title, "description": self.description,
                "incident_ids": self.incident_ids, "service": self.service,
                "configuration_items": self.configuration_items, "category": self.category}

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description,
                "service": self.service, "configuration_items": list(self.configuration_items),
                "category": self.category, "incident_ids": list(self.incident_ids),
                "evidence_ids": list(self.evidence_ids)}


@attrs.frozen
class RecurringGroup:
    """Incidents that share ``key`` (one value per name in ``columns``; None: they all lack
    it), have similar titles and recur within the window, oldest first. ``common_words`` are
    the title words every incident shares. ``covered_by`` names the problem that already
    handles the group (then ``proposal`` is None); otherwise ``proposal`` is the problem to
    open."""

    columns: tuple[str, ...]
    key: tuple[str | None, ...]
    incidents: tuple[RecurringIncident, ...]
    common_words: tuple[str, ...]
    covered_by: str | None
    proposal: ProblemProposal | None

    @property
    def incident_ids(self) -> tuple[str, ...]:
        return tuple(item.incident_id for item in self.incidents)

    @property
    def label(self) -> str:
        """The key in words, such as ``service vpn, configuration item (none)``."""
        return ", ".join(f"{name.replace('_', ' ')} {'(none)' if value is None else value}"
                         for name, value in zip(self.columns, self.key, strict=True))

    @property
    def first_at(self) -> datetime:
        return self.incidents[0].logged_at

    @property
    def last_at(self) -> datetime:
        return self.incidents[-1].logged_at

    def to_dict(self) -> dict[str, Any]:
        return {"key": dict(zip(self.columns, self.key, strict=True)),
                "count": len(self.incidents), "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(),
                "incidents": [item.to_dict() for item in self.incidents],
                "common_words": list(self.common_words), "covered_by": self.covered_by,
                "proposal": None if self.proposal is None else self.proposal.to_dict()}

    def row(self) -> dict[str, Cell]:
        return {**dict(zip(self.columns, self.key, strict=True)),
                "count": len(self.incidents), "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(), "incident_ids": " ".join(self.incident_ids),
                "common_words": " ".join(self.common_words), "covered_by": self.covered_by,
                "proposed_title": None if self.proposal is None else self.proposal.title}


@attrs.frozen
class RecurringReport(_Table):
    """The result of :func:`find_recurring`: every recurring group (``groups``, covered ones
    included), ordered by first incident then key; ``considered`` incidents were read,
    ``cancelled`` of them were not evidence."""

    columns: tuple[str, ...]
    min_count: int
    window: timedelta
    title_similarity: float
    considered: int
    cancelled: int
    groups: tuple[RecurringGroup, ...]

    @property
    def proposed(self) -> tuple[RecurringGroup, ...]:
        """The groups with a problem proposal (not covered)."""
        return tuple(group for group in self.groups if group.proposal is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "min_count": self.min_count,
                "window_seconds": self.window.total_seconds(),
                "title_similarity": self.title_similarity, "considered": self.considered,
                "cancelled": self.cancelled, "groups": [g.to_dict() for g in self.groups]}

    def rows(self) -> list[dict[str, Cell]]:
        return [group.row() for group in self.groups]


# -- the analysis ------------------------------------------------------------------------------


@attrs.frozen
class _Item:
    incident: RecurringIncident
    at: float
    words: frozenset[str]
    values: dict[str, tuple[str | None, ...]] = attrs.field(eq=False)


def _check(by: object, min_count: object, window: object, title_similarity: object
           ) -> tuple[tuple[str, ...], int, float, float]:
    names = [by] if isinstance(by, str) else by
    if not isinstance(names, Sequence) or not names or not all(
            isinstance(n, str) and n in RECURRING_KEYS for n in names) or len(
            set(names)) != len(names):
        raise ValidationError(f"by must name distinct key parts among "
                              f"{', '.join(RECURRING_KEYS)}, got {by!r}", field="by")
    if type(min_count) is not int or min_count < 2:
        raise ValidationError(f"min_count must be an int >= 2, got {min_count!r}",
                              field="min_count")
    if not isinstance(window, timedelta) or window <= timedelta(0):
        raise ValidationError(f"window must be a positive timedelta, got {window!r}",
                              field="window")
    if (isinstance(title_similarity, bool) or not isinstance(title_similarity, (int, float))
            or not 0 <= title_similarity <= 1):
        raise ValidationError("title_similarity must be a number from 0 to 1, got "
                              f"{title_similarity!r}", field="title_similarity")
    return tuple(names), min_count, window.total_seconds(), float(title_similarity)


def _incidents(incidents: object, workflow: Workflow) -> list[Incident]:
    if isinstance(incidents, (str, bytes)) or not isinstance(incidents, Iterable):
        raise ValidationError("incidents must be an iterable of incidents or histories",
                              field="incidents")
    result: list[Incident] = []
    for item in incidents:
        if isinstance(item, Incident):
            result.append(item)
        elif isinstance(item, Sequence) and not isinstance(item, (str, bytes)):
            result.append(Incident.from_history(item, workflow))
        else:
            raise ValidationError("expected an Incident or a sequence of its events, got "
                                  f"{type(item).__name__}", field="incidents")
    return result


def _problems(known: object) -> list[Problem]:
    if isinstance(known, (str, bytes)) or not isinstance(known, Iterable):
        raise ValidationError("known_problems must be an iterable of problems",
                              field="known_problems")
    problems = list(known)
    for problem in problems:
        if not isinstance(problem, Problem):
            raise ValidationError(f"known_problems holds a {type(problem).__name__}, "
                                  "not a Problem", field="known_problems")
    return problems


def _dense(items: list[_Item], count: int, window: float) -> list[_Item]:
    """The items (sorted by time) lying in some span of ``window`` holding ``count`` of them."""
    keep = [False] * len(items)
    low = marked = 0  # marked: the first index not marked yet (each is marked once)
    for high, item in enumerate(items):
        while item.at - items[low].at > window:
            low += 1
        if high - low + 1 >= count:
            for index in range(max(low, marked), high + 1):
                keep[index] = True
            marked = high + 1
    return [item for item, kept in zip(items, keep, strict=True) if kept]


def _chains(items: list[_Item], count: int, window: float) -> list[list[_Item]]:
    """Dense items split where two neighbours lie more than ``window`` apart."""
    chains: list[list[_Item]] = []
    for item in _dense(items, count, window):
        if chains and item.at - chains[-1][-1].at <= window:
            chains[-1].append(item)
        else:
            chains.append([item])
    return [chain for chain in chains if len(_dense(chain, count, window)) >= count]


def _title_clusters(items: list[_Item], threshold: float) -> list[list[_Item]]:
    """Single-linkage clusters of items whose title similarity reaches ``threshold``.

    Items with the same word set are compared once; only word sets sharing a word are
    compared (a threshold above 0 needs a shared word)."""
    if threshold == 0:
        return [items]
    by_words: dict[frozenset[str], list[_Item]] = {}
    for item in items:
        by_words.setdefault(item.words, []).append(item)
    sets = list(by_words)
    parent = list(range(len(sets)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    holders: dict[str, list[int]] = {}
    for index, words in enumerate(sets):
        for word in words:
            holders.setdefault(word, []).append(index)
    for index, words in enumerate(sets):
        others = {other for word in words for other in holders[word] if other > index}
        for other in others:
            if root(other) != root(index) and _similarity(words, sets[other]) >= threshold:
                parent[root(other)] = root(index)
    clusters: dict[int, list[_Item]] = {}
    for index, words in enumerate(sets):
        clusters.setdefault(root(index), []).extend(by_words[words])
    return list(clusters.values())


def _order(item: _Item) -> tuple[float, str]:
    return item.at, item.incident.incident_id


def _candidates(items: list[_Item], columns: tuple[str, ...], count: int, window: float,
                threshold: float) -> list[tuple[tuple[str | None, ...], list[_Item]]]:
    by_key: dict[tuple[str | None, ...], list[_Item]] = {}
    for item in items:
        keys: list[tuple[str | None, ...]] = [()]
        for name in columns:
            keys = [(*key, value) for key in keys for value in item.values[name]]
        for key in keys:
            if any(value is not None for value in key):
                by_key.setdefault(key, []).append(item)
    found: list[tuple[tuple[str | None, ...], list[_Item]]] = []
    for key, members in by_key.items():
        if len(members) < count:
            continue
        members.sort(key=_order)
        dense = _dense(members, count, window)
        for cluster in _title_clusters(dense, threshold):
            cluster.sort(key=_order)
            found.extend((key, chain) for chain in _chains(cluster, count, window))
    return found


def find_recurring(
    incidents: Iterable[Incident | Sequence[object]],
    *,
    by: Sequence[str] = RECURRING_KEYS,
    min_count: int = 3,
    window: timedelta = timedelta(days=7),
    title_similarity: float = 0.5,
    known_problems: Iterable[Problem] = (),
    workflow: Workflow | None = None,
) -> RecurringReport:
    """The recurring-incident groups of ``incidents`` (see the module documentation).

    ``workflow`` folds bare histories (default: the default incident workflow);
    ``known_problems`` are problems the host has (for example ``desk.list_problems()``).
    Bad arguments raise :class:`~itil_incident.ValidationError`.
    """
    columns, count, span, threshold = _check(by, min_count, window, title_similarity)
    if workflow is not None and not isinstance(workflow, Workflow):
        raise ValidationError(f"workflow must be a Workflow, got {type(workflow).__name__}",
                              field="workflow")
    loaded = _incidents(incidents, workflow or default_incident_workflow())
    problems = _problems(known_problems)
    linked = {incident_id: problem.id for problem in sorted(problems, key=lambda p: p.id)
              for incident_id in problem.incident_ids}
    items: list[_Item] = []
    cancelled = 0
    seen: set[str] = set()
    for incident in loaded:
        if incident.id in seen:
            raise ValidationError(f"incident {incident.id} is given twice", field="incidents")
        seen.add(incident.id)
        if incident.cancellation_reason is not None:
            cancelled += 1
            continue
        record = RecurringIncident(incident.id, incident.logged_at, incident.title,
                                   incident.is_terminal,
                                   incident.problem_id or linked.get(incident.id))
        values: dict[str, tuple[str | None, ...]] = {
            "service": (incident.service,),
            "configuration_item": tuple(sorted(set(incident.configuration_items))) or (None,),
            "category": (None if incident.category is None else str(incident.category),),
        }
        items.append(_Item(record, incident.logged_at.timestamp(),
                           title_words(incident.title), values))
    candidates = _candidates(items, columns, count, span, threshold)
    # Largest first, then oldest, then key: each incident joins one group.
    candidates.sort(key=lambda pair: (-len(pair[1]), _order(pair[1][0]), _text_key(pair[0])))
    taken: set[str] = set()
    groups: list[RecurringGroup] = []
    for key, chain in candidates:
        free = [item for item in chain if item.incident.incident_id not in taken]
        for part in _chains(free, count, span) if len(free) < len(chain) else [chain]:
            taken.update(item.incident.incident_id for item in part)
            groups.append(_group(columns, key, part, problems))
    groups.sort(key=lambda group: (group.first_at, _text_key(group.key), group.incident_ids))
    return RecurringReport(columns, count, window, threshold, len(loaded), cancelled,
                           tuple(groups))


def _text_key(key: tuple[str | None, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, value or "") for value in key)


def _group(columns: tuple[str, ...], key: tuple[str | None, ...], items: list[_Item],
           problems: list[Problem]) -> RecurringGroup:
    records = tuple(item.incident for item in items)
    common = frozenset.intersection(*(item.words for item in items))
    words = tuple(sorted(common))
    parts = dict(zip(columns, key, strict=True))
    covered = next((r.problem_id for r in records if r.problem_id is not None), None)
    if covered is None:
        covered = next((p.id for p in sorted(problems, key=lambda p: p.id)
                        if _covers(p, parts, common, records[0].logged_at)), None)
    proposal = None if covered is not None else _proposal(parts, words, records)
    return RecurringGroup(columns, key, records, words, covered, proposal)


def _covers(problem: Problem, parts: dict[str, str | None], common: frozenset[str],
            first: datetime) -> bool:
    if "service" in parts and problem.service != parts["service"]:
        return False
    if "category" in parts and parts["category"] != (
            None if problem.category is None else str(problem.category)):
        return False
    item = parts.get("configuration_item")
    if item is not None and item not in problem.configuration_items:
        return False
    return problem.opened_at >= first and common <= title_words(problem.title)


def _proposal(parts: dict[str, str | None], words: tuple[str, ...],
              records: tuple[RecurringIncident, ...]) -> ProblemProposal:
    where = " / ".join(value for value in parts.values() if value is not None)
    subject = " ".join(words) if words else records[0].title
    title = f"Recurring incidents on {where}: {subject}"
    if len(title) > _MAX_TITLE:
        title = title[:_MAX_TITLE - 3].rstrip() + "..."
    span = f"{records[0].logged_at.isoformat()} to {records[-1].logged_at.isoformat()}"
    lines = [f"{len(records)} similar incidents on "
             + ", ".join(f"{name} {value or '(none)'}" for name, value in parts.items())
             + f", logged from {span}."]
    if words:
        lines.append(f"Common title words: {', '.join(words)}.")
    lines.append("Incidents:")
    lines.extend(f"- {r.incident_id} ({r.logged_at.isoformat()}): {r.title}" for r in records)
    return ProblemProposal(
        title=title, description="\n".join(lines), service=parts.get("service"),
        configuration_items=tuple(item for item in (parts.get("configuration_item"),)
                                  if item is not None),
        category=parts.get("category"),
        incident_ids=tuple(r.incident_id for r in records if not r.terminal),
        evidence_ids=tuple(r.incident_id for r in records))
