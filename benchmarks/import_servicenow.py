"""Import benchmark: the full ServiceNow audit log (141,712 rows, 24,918 incidents).

Run from the repository root::

    .venv/bin/python benchmarks/import_servicenow.py                  # lenient, 3 repeats
    .venv/bin/python benchmarks/import_servicenow.py --mode strict --repeats 5
    .venv/bin/python benchmarks/import_servicenow.py --json /tmp/import.json
    .venv/bin/python benchmarks/import_servicenow.py --datasets /path/to/datasets

The log is read in place from ``../shared/datasets/uci_servicenow/incident_event_log.zip``
(or ``--datasets``, or the ``ITIL_INCIDENT_DATASETS`` variable) with
``import_log(CsvSource(...), servicenow_mapping())``: unzipping, CSV parsing, row mapping
and the replay of every incident through the default workflow are all timed.

Figures:

``rows/s`` and ``incidents/s``
    Rows (and incidents) over wall-clock seconds (``perf_counter``), median of ``--repeats``
    runs; CPU seconds (``process_time``) are shown too. The garbage collector runs as usual.
``peak traced``
    A separate run under :mod:`tracemalloc`: the peak of memory allocated by Python while the
    import runs (every incident and event is kept: the result holds them), and what is still
    held once it returns. Tracing slows the run, so it is not timed.
``max RSS``
    The process's peak resident set size (``resource.getrusage``), after all runs: includes
    the interpreter and imported modules.

Performance is never asserted: the figures are printed (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from itil_incident.reporting.importing import (
    CsvSource,
    ImportResult,
    ReplayMode,
    import_log,
    servicenow_mapping,
)

LOG = Path("uci_servicenow") / "incident_event_log.zip"


def default_datasets() -> Path:
    configured = os.environ.get("ITIL_INCIDENT_DATASETS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def run(path: Path, mode: ReplayMode) -> ImportResult:
    return import_log(CsvSource(path), servicenow_mapping(), mode=mode)


def timed(path: Path, mode: ReplayMode) -> tuple[float, float, ImportResult]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run(path, mode)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def traced(path: Path, mode: ReplayMode) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    try:
        result = run(path, mode)
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak, held


def max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=None)
    parser.add_argument("--mode", choices=[m.value for m in ReplayMode], default="lenient")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    path = (args.datasets or default_datasets()) / LOG
    if not path.exists():
        print(f"{path} is absent: nothing to measure", file=sys.stderr)
        return 2
    mode = ReplayMode(args.mode)

    walls: list[float] = []
    cpus: list[float] = []
    rows = incidents = events = 0
    for _ in range(max(1, args.repeats)):
        wall, cpu, result = timed(path, mode)
        walls.append(wall)
        cpus.append(cpu)
        rows, incidents, events = (result.report.rows, result.report.cases,
                                   result.report.events)
        del result
    wall = statistics.median(walls)
    cpu = statistics.median(cpus)
    figures: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "mode": mode.value,
        "rows": rows,
        "incidents": incidents,
        "events": events,
        "repeats": len(walls),
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "rows_per_second": rows / wall,
        "incidents_per_second": incidents / wall,
    }
    if not args.no_trace:
        peak, held = traced(path, mode)
        figures["peak_traced_bytes"] = peak
        figures["held_traced_bytes"] = held
    figures["max_rss_bytes"] = max_rss_bytes()

    print(f"ServiceNow import ({mode.value}): {rows:,} rows, {incidents:,} incidents, "
          f"{events:,} events")
    print(f"  wall {wall:.2f} s (median of {len(walls)}: "
          f"{', '.join(f'{w:.2f}' for w in walls)}), cpu {cpu:.2f} s")
    print(f"  {rows / wall:,.0f} rows/s, {incidents / wall:,.0f} incidents/s")
    if "peak_traced_bytes" in figures:
        print(f"  peak traced {figures['peak_traced_bytes'] / 2**20:.1f} MiB, held after "
              f"import {figures['held_traced_bytes'] / 2**20:.1f} MiB "
              f"({figures['held_traced_bytes'] / incidents / 1024:.1f} KiB per incident)")
    print(f"  max RSS {figures['max_rss_bytes'] / 2**20:.1f} MiB")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
