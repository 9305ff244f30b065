"""What resolving a problem does to the incidents on hold awaiting it."""

from __future__ import annotations

import enum

__all__ = ["OnProblemResolved"]


class OnProblemResolved(enum.StrEnum):
    """The effect of a problem's resolution on the incidents linked to it and on hold with the
    reason ``awaiting_problem`` (``DeskPolicies.on_problem_resolved``).

    ``RESOLVE`` resolves them (code ``DeskPolicies.problem_resolution_code``, the problem's
    resolution as notes); ``RESUME`` resumes work on them, for the support staff to check and
    resolve; ``NOTHING`` leaves them on hold. Each incident changed records an event naming the
    problem (``awaited_problem``).
    """

    RESOLVE = "resolve"
    RESUME = "resume"
    NOTHING = "nothing"
