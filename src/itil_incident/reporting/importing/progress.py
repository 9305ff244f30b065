"""A progress bar on a terminal for long imports, and nothing otherwise.

:func:`stderr_progress` gives a callback for :func:`~.replay.import_log` when standard error
is a terminal, else None (quiet in pipes, CI logs and tests). Any callable taking
``(done, total)`` works in its place (a ``rich`` progress bar, a logger).
"""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["ProgressBar", "stderr_progress"]


class ProgressBar:
    """Draws ``label [#####.....]  42%`` on one line of ``stream``, redrawn only when the
    text changes; with no total it shows the count. :meth:`close` ends the line."""

    def __init__(self, stream: TextIO, label: str = "importing", width: int = 30) -> None:
        self._stream = stream
        self._label = label
        self._width = width
        self._last = ""

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            fraction = min(max(done / total, 0.0), 1.0)
            filled = int(fraction * self._width)
            text = (f"{self._label} [{'#' * filled}{'.' * (self._width - filled)}] "
                    f"{int(fraction * 100):3d}%")
        else:
            text = f"{self._label} {done:,}"
        if text != self._last:
            self._stream.write("\r" + text)
            self._stream.flush()
            self._last = text

    def close(self) -> None:
        """End the bar's line (once something was drawn)."""
        if self._last:
            self._stream.write("\n")
            self._stream.flush()
            self._last = ""


def stderr_progress(label: str = "importing") -> ProgressBar | None:
    """A :class:`ProgressBar` on standard error when it is a terminal, else None."""
    stream = sys.stderr
    return ProgressBar(stream, label) if stream.isatty() else None
