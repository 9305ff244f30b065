"""Readable ids: ``INC0000001``, ``PRB0000001``."""

from __future__ import annotations

import itertools
import threading

from itil_incident.errors import ValidationError

__all__ = ["SequentialIdFactory", "format_id"]


def format_id(prefix: str, number: int, width: int = 7) -> str:
    """``format_id("INC", 42)`` gives ``"INC0000042"``."""
    return f"{prefix}{number:0{width}d}"


class SequentialIdFactory:
    """Numbers incidents and problems separately, from ``start``, zero-padded to ``width``."""

    def __init__(self, *, start: int = 1, width: int = 7, incident_prefix: str = "INC",
                 problem_prefix: str = "PRB") -> None:
        if type(start) is not int or start < 0:
            raise ValidationError("start must be an integer >= 0", field="start")
        if type(width) is not int or not 1 <= width <= 20:
            raise ValidationError("width must be an integer from 1 to 20", field="width")
        self._width = width
        self._incident_prefix = incident_prefix
        self._problem_prefix = problem_prefix
        self._incidents = itertools.count(start)
        self._problems = itertools.count(start)
        self._lock = threading.Lock()

    def next_incident_id(self) -> str:
        """The next incident id."""
        with self._lock:
            return format_id(self._incident_prefix, next(self._incidents), self._width)

    def next_problem_id(self) -> str:
        """The next problem id."""
        with self._lock:
            return format_id(self._problem_prefix, next(self._problems), self._width)
