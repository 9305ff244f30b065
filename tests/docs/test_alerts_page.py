"""Every Python block of the monitoring-alerts concept page runs, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "concepts" / "alerts.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_the_alerts_page_has_python_examples() -> None:
    assert len(BLOCK.findall(PAGE.read_text(encoding="utf-8"))) >= 2


def test_every_python_block_of_the_alerts_page_runs() -> None:
    namespace: dict[str, object] = {"__name__": "alerts_page"}
    for number, block in enumerate(BLOCK.findall(PAGE.read_text(encoding="utf-8")), start=1):
        exec(compile(block, f"docs/concepts/alerts.md block {number}", "exec"), namespace)
