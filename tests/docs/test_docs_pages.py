"""Every Python block of every documentation page runs, page by page.

Pages are found under ``docs/`` when the tests run, so a page added later is covered without
touching this module. The blocks of one page run in order in one namespace (a page is one
story), in a temporary working directory, as the README's blocks do.

Two explicit, visible markers, each on a block's first line:

- ``# not run: <why>``: the block is shown but never run (use sparingly);
- ``# requires: <VARIABLE>``: the page's blocks run only when that environment variable is set
  (for example ``ITIL_INCIDENT_POSTGRES_URL``); otherwise the page is skipped, saying why.
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"\A# not run: \S")
REQUIRES = re.compile(r"\A# requires: ([A-Z][A-Z0-9_]*)\s*$", re.MULTILINE)


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def required_variables(blocks: list[str]) -> set[str]:
    found: set[str] = set()
    for block in blocks:
        first = block.split("\n", 1)[0]
        match = REQUIRES.match(first)
        if match is not None:
            found.add(match.group(1))
    return found


@pytest.fixture
def in_temporary_directory(tmp_path: Path) -> Iterator[Path]:
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


def run_page(page: Path) -> dict[str, object]:
    """Run the page's blocks in order in one namespace (the caller picks the directory)."""
    name = page.relative_to(DOCS).as_posix()
    # A module of its own, registered while the blocks run: classes that a page defines (attrs,
    # dataclasses) look their module up in sys.modules.
    module = ModuleType("docs_" + re.sub(r"\W", "_", name))
    namespace = module.__dict__
    sys.modules[module.__name__] = module
    try:
        for number, block in enumerate(python_blocks(page), start=1):
            if NOT_RUN.match(block):
                continue
            exec(compile(block, f"docs/{name} block {number}", "exec"), namespace)
    finally:
        del sys.modules[module.__name__]
    return namespace


def test_the_documentation_has_pages_with_python_examples() -> None:
    with_blocks = [page for page in pages() if python_blocks(page)]
    assert len(with_blocks) >= 8


def test_blocks_that_are_not_run_say_why_on_their_first_line() -> None:
    for page in pages():
        for block in python_blocks(page):
            if "not run" in block.split("\n", 1)[0]:
                assert NOT_RUN.match(block), f"{page}: write '# not run: <why>'"


@pytest.mark.parametrize("page", [p for p in pages() if python_blocks(p)],
                         ids=lambda p: p.relative_to(DOCS).as_posix())
@pytest.mark.usefixtures("in_temporary_directory")
def test_every_python_block_of_a_page_runs(page: Path) -> None:
    missing = sorted(v for v in required_variables(python_blocks(page)) if not os.environ.get(v))
    if missing:
        pytest.skip(f"{page.name} needs {', '.join(missing)} (.ci/run sets it)")
    run_page(page)


def load_griffe_extension() -> ModuleType:
    path = DOCS / "_griffe" / "doctest_blocks.py"
    spec = importlib.util.spec_from_file_location("doctest_blocks", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_site_renders_doctest_examples_as_code_blocks() -> None:
    fence = load_griffe_extension().fence_doctests
    text = "Intro.\n\n>>> 1 + 1\n2\n\nMore.\n\n    >>> x = 3\n    >>> x\n    3"
    assert fence(text) == (
        "Intro.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nMore.\n\n"
        "    ```pycon\n    >>> x = 3\n    >>> x\n    3\n    ```"
    )
    assert fence("No examples here.\n\nNone at all.") == "No examples here.\n\nNone at all."


def test_the_site_shows_sphinx_roles_as_code_and_drops_literal_markers() -> None:
    extension = load_griffe_extension()
    text = ("Raises :class:`~itil_incident.errors.ValidationError`; see :meth:`Workflow.fire`"
            " and :data:`MAX_PAGE_SIZE`.\n\nInstall it with::\n\n    pip install x")
    assert extension.markdown_of(text) == (
        "Raises `ValidationError`; see `Workflow.fire` and `MAX_PAGE_SIZE`.\n\n"
        "Install it with:\n\n    pip install x")
    assert extension.markdown_of("Ratio 1::2 stays.") == "Ratio 1::2 stays."


def test_the_examples_in_the_extension_docstrings_run() -> None:
    result = doctest.testmod(load_griffe_extension())
    assert result.attempted >= 1
    assert result.failed == 0
