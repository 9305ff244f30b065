"""What counts as storable text: shared by value objects and argument checks."""

from __future__ import annotations

import re

__all__ = ["LINE_BREAK", "NOT_TEXT", "text_problem"]

#: Code points no stored text may hold: NUL (refused by PostgreSQL and many tools) and the
#: surrogates, which are not characters (a string holding them cannot be encoded as UTF-8).
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
#: Line breaks (those ``str.splitlines`` splits on), which a single-line value may not hold.
LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def text_problem(value: str, *, single_line: bool) -> str | None:
    """Why ``value`` cannot be stored (None when it can)."""
    if NOT_TEXT.search(value):
        return "holds NUL or a surrogate code point, which is not text"
    if single_line and LINE_BREAK.search(value):
        return "must be a single line"
    return None
