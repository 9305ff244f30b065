"""The Python example of the major-incidents concept page runs."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "concepts" / "major-incidents.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_every_python_block_of_the_major_incidents_page_runs() -> None:
    blocks = BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    assert blocks
    namespace: dict[str, object] = {"__name__": "major_incidents_page"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{PAGE.name} block {number}", "exec"), namespace)
