"""The alert benchmark runs at a small size, and its variants agree on what happened (it
checks that itself before printing figures); no timing is asserted."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "alerts.py"


def benchmark() -> dict[str, Any]:
    return runpy.run_path(str(SCRIPT), run_name="alert_benchmark")


def test_the_benchmark_runs_small_and_reports_every_variant(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = cast(Callable[[list[str]], int], benchmark()["main"])
    figures = tmp_path / "alerts.json"
    assert main(["--alerts", "600", "--keys", "20", "--repeats", "1",
                 "--json", str(figures)]) == 0
    printed = capsys.readouterr().out
    assert "x dict cpu" in printed
    data = json.loads(figures.read_text(encoding="utf-8"))
    assert data["outcomes"] == {"opened": 20, "folded": 540, "raised": 20, "resolved": 20}
    assert set(data["medians"]) == {"desk", "desk batch", "dict", "checked", "changes"}
    assert data["ratios"]["dict"] == {"wall": 1.0, "cpu": 1.0}
    assert data["changes"] == 60


def test_every_variant_groups_the_workload_alike() -> None:
    namespace = benchmark()
    alerts = namespace["workload"](900, 30)
    results = {name: run(alerts) for name, run in namespace["VARIANTS"].items()}
    assert set(results) == {"desk", "desk batch", "dict", "checked"}
    assert len(set(results.values())) == 1
    assert results["desk"] == (30, 810, 30, 30)


def test_both_desk_variants_say_the_same_of_every_alert() -> None:
    namespace = benchmark()
    namespace["check_outcomes"](namespace["workload"](2_500, 10))  # raises when they differ
