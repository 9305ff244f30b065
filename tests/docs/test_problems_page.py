"""Every Python block of the problem-management page runs, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "concepts" / "problems.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_every_python_block_of_the_problems_page_runs() -> None:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert blocks
    namespace: dict[str, object] = {"__name__": "problems_page"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"problems.md block {number}", "exec"), namespace)
