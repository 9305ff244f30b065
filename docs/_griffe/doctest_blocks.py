"""A Griffe extension for the documentation site: docstrings written for the code read well.

The docstrings hold bare doctest examples (``>>>`` lines and their output, run by
``tests/docs/test_docstrings.py``), Sphinx-style roles (``:class:`~itil_incident.Workflow```)
and reST literal-block markers (``install it with::``). Before mkdocstrings renders a
docstring as Markdown, this extension fences each run of example lines as a ``pycon`` block,
turns each role into inline code (the last name only with ``~``, as Sphinx shows it) and a
trailing ``::`` into ``:`` (the indented block after it is already code in Markdown).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

__all__ = ["DoctestBlocks", "fence_doctests", "markdown_of", "plain_roles"]

_ROLE = re.compile(r":(?:class|meth|func|data|attr|mod|exc|obj|const):`(~?)([^`<>]+)`")
_LITERAL_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)


def plain_roles(text: str) -> str:
    """Sphinx roles as inline code; ``~`` keeps the last dotted name only.

    >>> plain_roles("raises :class:`~itil_incident.errors.ValidationError` or :meth:`drain`")
    'raises `ValidationError` or `drain`'
    """
    def code(match: re.Match[str]) -> str:
        target = match.group(2).strip()
        shown = target.rsplit(".", 1)[-1] if match.group(1) else target
        return f"`{shown}`"

    return _ROLE.sub(code, text)


def markdown_of(text: str) -> str:
    """Everything this extension does to a docstring."""
    return _LITERAL_MARKER.sub(":", fence_doctests(plain_roles(text)))


def fence_doctests(text: str) -> str:
    """Wrap every doctest example (from a ``>>>`` line to the next blank line) in a
    ``pycon`` fence, at the example's indentation."""
    lines = text.splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            index += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(f"{indent}```pycon")
        while index < len(lines) and lines[index].strip():
            out.append(lines[index])
            index += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Rewrite every docstring with :func:`markdown_of`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None:
            docstring.value = markdown_of(docstring.value)
