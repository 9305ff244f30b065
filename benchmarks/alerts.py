"""Alert ingestion benchmark: 1,000,000 monitoring alerts over 10,000 keys, in memory.

Run from the repository root::

    .venv/bin/python benchmarks/alerts.py                        # 1,000,000 / 10,000, 3 repeats
    .venv/bin/python benchmarks/alerts.py --alerts 100000 --keys 1000 --repeats 1
    .venv/bin/python benchmarks/alerts.py --json /tmp/alerts.json
    .venv/bin/python benchmarks/alerts.py --profile --alerts 200000

The workload: every key gets ``alerts / keys`` alerts, interleaved (alert ``i`` is for key
``i % keys``), each with a small JSON payload (three fields) and its own instant (one second
apart per round of keys). Per key: the first alert is a ``warning`` (it opens an incident),
the alerts up to the middle repeat it, the middle one is ``critical`` (a higher severity: an
event on the incident and a reprioritization), the following ones repeat it, and the last one
is a ``clear`` (the recovery resolves the incident). So almost every alert is a repeat that
only updates its group; per key, three alerts write incident events.

Variants, in one process, interleaved over ``--repeats`` rounds and reported as medians:

``desk``
    ``ServiceDesk.ingest_alert`` over ``InMemoryRepository``, the default ``InMemoryAlertStore``,
    ``FrozenClock``, ``NullNotifier`` and the default policies (so each opening also runs the
    default categorizer and routing table). Every field of every alert is checked (the
    payload too), flapping is tracked, and each opening, raise and recovery goes through the
    incident entity and the repository.
``dict`` (the baseline)
    The same grouping by hand over a plain ``dict`` of keys: per key a list ``[incident
    number, count, first seen, last seen, highest rank, open]``; a new or recovered key opens
    an "incident" (a tuple appended to a list), a repeat bumps the count and the instants, a
    higher rank is recorded, a clear closes the group. No checks, no events, no flapping.
``checked`` (a reference)
    ``dict`` plus the argument checks the desk makes on every alert (the fast path's field
    checks, written out the same way, and the library's payload check): what checking alone
    costs, beside the grouping.

Both variants must agree on what happened (incidents opened, alerts folded, severities raised,
incidents resolved); the script checks it before printing anything. Performance is never
asserted: the figures are printed (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import itil_incident
from itil_incident import (
    AlertOutcomeKind,
    FrozenClock,
    InMemoryRepository,
    NullNotifier,
    ServiceDesk,
)
from itil_incident.alerts._values import payload_size  # the desk's own payload check

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SOURCE = "prometheus"
CLOCKS = ("wall", "cpu")

#: One alert's input: source, key, severity, summary, payload, instant.
AlertInput = tuple[str, str, str, str, dict[str, Any], datetime]
#: What a run did: incidents opened, repeats folded, severities raised, incidents resolved.
Tally = tuple[int, int, int, int]


def workload(alerts: int, keys: int) -> list[AlertInput]:
    """The alerts, in arrival order (see the module docstring)."""
    per_key = alerts // keys
    if per_key < 3:
        raise SystemExit("--alerts must be at least 3 x --keys (open, raise, clear per key)")
    names = [f"host-{k:05d}/cpu" for k in range(keys)]
    summaries = [f"CPU saturated on host-{k:05d}" for k in range(keys)]
    payloads = [{"host": f"host-{k:05d}", "metric": "cpu", "value": 97.5} for k in range(keys)]
    middle = per_key // 2
    result: list[AlertInput] = []
    for round_ in range(per_key):
        at = T0 + timedelta(seconds=round_)
        severity = ("warning" if round_ < middle else
                    "clear" if round_ == per_key - 1 else "critical")
        for k in range(keys):
            result.append((SOURCE, names[k], severity, summaries[k], payloads[k], at))
    return result


def run_desk(alerts: list[AlertInput]) -> Tally:
    """Every alert through ``ServiceDesk.ingest_alert``."""
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0 + timedelta(days=1)),
                       notifier=NullNotifier())
    ingest = desk.ingest_alert
    for source, key, severity, summary, payload, at in alerts:
        ingest(source, key, severity, summary, payload=payload, at=at)
    stats = desk.alert_statistics().by_outcome
    raised = sum(group.highest == "critical" for group in desk.alert_groups())
    return (stats[AlertOutcomeKind.OPENED], stats[AlertOutcomeKind.FOLDED] - raised, raised,
            stats[AlertOutcomeKind.RESOLVED])


_RANK = {"clear": 0, "info": 1, "warning": 2, "minor": 3, "major": 4, "critical": 5}


def run_dict(alerts: list[AlertInput]) -> Tally:
    """The same grouping over a plain dict of keys (the baseline)."""
    groups: dict[str, list[Any]] = {}
    incidents: list[tuple[str, str, str, datetime]] = []
    rank = _RANK
    folded = raised = resolved = 0
    for source, key, severity, summary, _payload, at in alerts:
        level = rank[severity]
        group = groups.get(key)
        if level == 0:
            if group is not None and group[5]:
                group[5] = False
                group[1] += 1
                resolved += 1
            continue
        if group is None or not group[5]:
            incidents.append((source, key, summary, at))
            groups[key] = [len(incidents), 1, at, at, level, True]
            continue
        group[1] += 1
        if at < group[2]:
            group[2] = at
        if at > group[3]:
            group[3] = at
        if level > group[4]:
            group[4] = level
            raised += 1
        else:
            folded += 1
    return len(incidents), folded, raised, resolved


def run_checked(alerts: list[AlertInput]) -> Tally:
    """``dict`` plus the argument checks the desk makes (a reference, not the baseline): each
    field as the desk's fast path checks it, and the payload with the library's check."""
    groups: dict[str, list[Any]] = {}
    incidents: list[tuple[str, str, str, datetime]] = []
    rank = _RANK
    limit = 16_384
    folded = raised = resolved = 0
    for source, key, severity, summary, payload, at in alerts:
        if not (type(source) is str and type(key) is str and type(summary) is str
                and 0 < len(source) <= 200 and 0 < len(key) <= 200 and 0 < len(summary) <= 300
                and source[0] != " " and key[0] != " " and summary[0] != " "
                and (joined := source + key + summary).isascii() and joined.isprintable()
                and type(at) is datetime and at.tzinfo is UTC):
            raise SystemExit("the workload holds an alert the fast path does not accept")
        level = rank[severity]
        payload_size(payload, limit)
        group = groups.get(key)
        if level == 0:
            if group is not None and group[5]:
                group[5] = False
                group[1] += 1
                resolved += 1
            continue
        if group is None or not group[5]:
            incidents.append((source, key, summary, at))
            groups[key] = [len(incidents), 1, at, at, level, True]
            continue
        group[1] += 1
        if at < group[2]:
            group[2] = at
        if at > group[3]:
            group[3] = at
        if level > group[4]:
            group[4] = level
            raised += 1
        else:
            folded += 1
    return len(incidents), folded, raised, resolved


VARIANTS: dict[str, Callable[[list[AlertInput]], Tally]] = {
    "desk": run_desk, "dict": run_dict, "checked": run_checked}


def timed(function: Callable[[], Tally], no_gc: bool) -> tuple[Tally, float, float]:
    gc.collect()
    if no_gc:
        gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        tally = function()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        gc.enable()
    gc.collect()
    return tally, wall, cpu


def profile(alerts: list[AlertInput]) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run_desk, alerts)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--alerts", type=int, default=1_000_000,
                        help="alerts in all (default 1000000)")
    parser.add_argument("--keys", type=int, default=10_000,
                        help="deduplication keys (default 10000)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--no-gc", action="store_true",
                        help="disable the cyclic garbage collector during each timed run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--profile", action="store_true",
                        help="instead: cProfile of the desk variant, top functions by own time")
    args = parser.parse_args(argv)
    for name in ("alerts", "keys", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    alerts = workload(args.alerts, args.keys)
    if args.profile:
        profile(alerts)
        return 0
    expected = run_dict(alerts)
    found = run_desk(alerts)
    if found != expected:
        raise SystemExit(f"the desk and the baseline disagree: desk {found}, dict {expected}")
    names = list(VARIANTS)
    seconds: dict[str, dict[str, list[float]]] = {
        name: {clock: [] for clock in CLOCKS} for name in names}
    for round_ in range(args.repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            variant = VARIANTS[name]
            tally, wall, cpu = timed(lambda v=variant: v(alerts), args.no_gc)  # type: ignore[misc]  # a default binds the variant of this iteration
            if tally != expected:
                raise SystemExit(f"{name} did something else: {tally} != {expected}")
            seconds[name]["wall"].append(wall)
            seconds[name]["cpu"].append(cpu)
    n = len(alerts)
    medians = {name: {clock: statistics.median(values) for clock, values in clocks.items()}
               for name, clocks in seconds.items()}
    opened, folded, raised, resolved = expected
    print(f"itil-incident {version('itil-incident')} ({Path(itil_incident.__file__).parent}), "
          f"Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, gc {'off' if args.no_gc else 'on'}")
    print(f"{n:,} alerts over {args.keys:,} keys; {args.repeats} rounds, medians. Outcomes: "
          f"{opened:,} opened, {folded:,} folded, {raised:,} raised, {resolved:,} resolved")
    print(f"{'variant':8} {'wall s':>9} {'cpu s':>9} {'µs/alert':>9} {'alerts/s':>11}")
    for name in names:
        wall, cpu = medians[name]["wall"], medians[name]["cpu"]
        print(f"{name:8} {wall:9.3f} {cpu:9.3f} {cpu / n * 1e6:9.2f} {n / cpu:11,.0f}")
    ratio = {clock: medians["desk"][clock] / medians["dict"][clock] for clock in CLOCKS}
    checked = {clock: medians["checked"][clock] / medians["dict"][clock] for clock in CLOCKS}
    print(f"desk / dict: {ratio['cpu']:.2f}x CPU, {ratio['wall']:.2f}x wall (target: 5x); "
          f"checked / dict: {checked['cpu']:.2f}x CPU, {checked['wall']:.2f}x wall")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "alerts": n, "keys": args.keys, "repeats": args.repeats, "no_gc": args.no_gc,
            "outcomes": {"opened": opened, "folded": folded, "raised": raised,
                         "resolved": resolved},
            "seconds": seconds, "medians": medians, "ratio": ratio, "checked_ratio": checked,
            "python": platform.python_version(), "argv": sys.argv[1:],
        }, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
