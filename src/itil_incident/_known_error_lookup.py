"""The open known errors a desk matches incidents against, kept between commands.

A repository may offer ``known_error_versions()`` (:class:`~itil_incident.ports.
KnownErrorVersions`): the id and version of every open known error, a cheap read. The desk
asks it on every match and keeps a :class:`~itil_incident.policies.known_errors.
KnownErrorIndex` of the entries it built: an entry whose version is listed again is reused
(a problem's content at a version never changes), the others are loaded, and known errors no
longer listed are dropped. So what is matched is what the repository holds at that moment,
whichever process changed it, and only what changed is read and decoded.

A repository without the method is asked for the open known errors in full each time
(``list_problems``), as before the method existed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from itil_incident.domain.problem import Problem
from itil_incident.errors import NotFoundError
from itil_incident.policies.known_errors import KnownErrorEntry, KnownErrorIndex
from itil_incident.ports import ProblemQuery, Repository

__all__ = ["OPEN_KNOWN_ERRORS", "current_index", "version_reader"]

#: The query of the full scan: every open known error.
OPEN_KNOWN_ERRORS = ProblemQuery(known_error=True, open=True)
#: Above this many known errors to read again, one listing is cheaper than a read each.
_SINGLE_READS = 4


def version_reader(repository: Repository) -> Callable[[], Mapping[str, int]] | None:
    """The repository's ``known_error_versions``, or None when it has none."""
    found = getattr(repository, "known_error_versions", None)
    return found if callable(found) else None


def current_index(repository: Repository, reader: Callable[[], Mapping[str, int]],
                  previous: KnownErrorIndex | None) -> KnownErrorIndex:
    """The index of the open known errors the repository holds now: ``previous`` when its
    source is what ``reader`` lists, else a new one reusing its unchanged entries."""
    found = reader()
    listing = found if type(found) is dict else dict(found)  # a new mapping: ours to keep
    if previous is not None and previous.source == listing:
        return previous
    old = {} if previous is None else previous.entries
    entries: list[KnownErrorEntry] = []
    missing: list[str] = []
    for key, version in listing.items():
        entry = old.get(key)
        if entry is not None and entry.version == version:
            entries.append(entry)
        else:
            missing.append(key)
    loaded = _read_each(repository, missing) if len(missing) <= _SINGLE_READS else None
    if loaded is None:  # many changed, or a listed id that reads as none: list them all
        entries = [_entry(problem, old) for problem in repository.list_problems(
            OPEN_KNOWN_ERRORS)]
    else:
        # Changed since it was listed and no longer an open known error: not a candidate.
        entries += [_entry(problem, old) for problem in loaded
                    if problem.known_error and problem.is_open]
    return KnownErrorIndex(entries, source=listing)


def _read_each(repository: Repository, ids: list[str]) -> list[Problem] | None:
    """The problems ``ids``, or None when one of them is not found (a repository whose listed
    keys are not exactly the ids: the full listing then decides)."""
    try:
        return [repository.get_problem(problem_id) for problem_id in ids]
    except NotFoundError:
        return None


def _entry(problem: Problem, old: Mapping[str, KnownErrorEntry]) -> KnownErrorEntry:
    entry = old.get(problem.id)
    if entry is not None and entry.version == problem.version:
        return entry
    return KnownErrorEntry.of_problem(problem)
