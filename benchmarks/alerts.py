"""Alert ingestion benchmark: 1,000,000 monitoring alerts over 10,000 keys, in memory.

Run from the repository root::

    .venv/bin/python benchmarks/alerts.py                        # 1,000,000 / 10,000, 3 repeats
    .venv/bin/python benchmarks/alerts.py --alerts 100000 --keys 1000 --repeats 1
    .venv/bin/python benchmarks/alerts.py --json /tmp/alerts.json
    .venv/bin/python benchmarks/alerts.py --profile --alerts 200000
    .venv/bin/python benchmarks/alerts.py --profile "desk batch" --alerts 200000

The workload: every key gets ``alerts / keys`` alerts, interleaved (alert ``i`` is for key
``i % keys``), each with a small JSON payload (three fields) and its own instant (one second
apart per round of keys). Per key: the first alert is a ``warning`` (it opens an incident),
the alerts up to the middle repeat it, the middle one is ``critical`` (a higher severity: an
event on the incident and a reprioritization), the following ones repeat it, and the last one
is a ``clear`` (the recovery resolves the incident). So almost every alert is a repeat that
only updates its group; per key, three alerts write incident events.

Variants, in one process, interleaved over ``--repeats`` rounds and reported as medians (the
inputs are built before any timing: plain tuples for the one-by-one variants, ``AlertInput``
values for the batch):

``desk``
    ``ServiceDesk.ingest_alert`` over ``InMemoryRepository``, the default ``InMemoryAlertStore``,
    ``FrozenClock``, ``NullNotifier`` and the default policies (so each opening also runs the
    default categorizer and routing table). Every field of every alert is checked (the
    payload too), flapping is tracked, the authorizer is asked, the incident is checked to be
    still open, and each opening, raise and recovery goes through the incident entity and the
    repository.
``desk batch``
    The same desk through ``ServiceDesk.ingest_alerts``, ``BATCH`` alerts a call: the same
    checks and decisions for every alert.
``dict`` (the baseline)
    The same grouping by hand over a plain ``dict`` of keys: per key a list ``[incident
    number, count, first seen, last seen, highest rank, open]``; a new or recovered key opens
    an "incident" (a tuple appended to a list), a repeat bumps the count and the instants, a
    higher rank is recorded, a clear closes the group. No checks, no events, no flapping.
``checked`` (a reference)
    ``dict`` plus the checks the desk makes on every alert, made as the desk makes them (names
    remembered once checked, the library's payload check): what checking alone costs.

One more reference, ``changes``: only the alerts that change an incident (per key the opening,
the severity raise and the recovery) through ``ingest_alerts``, timed alone and reported per
alert of the whole workload: what the promised entity and repository path alone costs.

All variants must agree on what happened (incidents opened, alerts folded, severities raised,
incidents resolved), and ``ingest_alert`` and ``ingest_alerts`` must give the same outcome for
every alert; the script checks it before printing anything. Performance is never asserted: the
figures are printed (and written as JSON with ``--json``).
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
from typing import Any, NamedTuple

import itil_incident
from itil_incident import (
    AlertInput,
    AlertOutcomeKind,
    FrozenClock,
    InMemoryRepository,
    NullNotifier,
    ServiceDesk,
)
from itil_incident.alerts._values import (  # the desk's own checks
    alert_time,
    key_of,
    payload_size,
    severity_of,
    source_of,
    summary_of,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SOURCE = "prometheus"
#: Alerts per ``ingest_alerts`` call in the ``desk batch`` variant.
BATCH = 1_000
CLOCKS = ("wall", "cpu")

#: What a run did: incidents opened, repeats folded, severities raised, incidents resolved.
Tally = tuple[int, int, int, int]


class Workload(NamedTuple):
    """The alerts in arrival order, twice: as plain tuples ``(source, key, severity, summary,
    payload, at)`` for the one-by-one variants, and as ``AlertInput`` values for
    ``ingest_alerts``. Both are built before any timing, as any host builds its inputs."""

    raw: list[tuple[str, str, str, str, dict[str, Any], datetime]]
    inputs: list[AlertInput]


def workload(alerts: int, keys: int) -> Workload:
    """The alerts, in arrival order (see the module docstring)."""
    per_key = alerts // keys
    if per_key < 3:
        raise SystemExit("--alerts must be at least 3 x --keys (open, raise, clear per key)")
    names = [f"host-{k:05d}/cpu" for k in range(keys)]
    summaries = [f"CPU saturated on host-{k:05d}" for k in range(keys)]
    payloads = [{"host": f"host-{k:05d}", "metric": "cpu", "value": 97.5} for k in range(keys)]
    middle = per_key // 2
    raw = []
    for round_ in range(per_key):
        at = T0 + timedelta(seconds=round_)
        severity = ("warning" if round_ < middle else
                    "clear" if round_ == per_key - 1 else "critical")
        for k in range(keys):
            raw.append((SOURCE, names[k], severity, summaries[k], payloads[k], at))
    inputs = [AlertInput(source, key, severity, summary, payload=payload, at=at)
              for source, key, severity, summary, payload, at in raw]
    return Workload(raw, inputs)


def run_desk(alerts: Workload) -> Tally:
    """Every alert through ``ServiceDesk.ingest_alert``."""
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0 + timedelta(days=1)),
                       notifier=NullNotifier())
    ingest = desk.ingest_alert
    for source, key, severity, summary, payload, at in alerts.raw:
        ingest(source, key, severity, summary, payload=payload, at=at)
    return tally(desk)


def run_desk_batch(alerts: Workload) -> Tally:
    """The alerts through ``ServiceDesk.ingest_alerts``, in batches of ``BATCH``."""
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0 + timedelta(days=1)),
                       notifier=NullNotifier())
    ingest = desk.ingest_alerts
    inputs = alerts.inputs
    for start in range(0, len(inputs), BATCH):
        ingest(inputs[start:start + BATCH])
    return tally(desk)


def tally(desk: ServiceDesk) -> Tally:
    """What a desk did."""
    stats = desk.alert_statistics().by_outcome
    raised = sum(group.highest == "critical" for group in desk.alert_groups())
    return (stats[AlertOutcomeKind.OPENED], stats[AlertOutcomeKind.FOLDED] - raised, raised,
            stats[AlertOutcomeKind.RESOLVED])


_RANK = {"clear": 0, "info": 1, "warning": 2, "minor": 3, "major": 4, "critical": 5}


def run_dict(alerts: Workload) -> Tally:
    """The same grouping over a plain dict of keys (the baseline)."""
    groups: dict[str, list[Any]] = {}
    incidents: list[tuple[str, str, str, datetime | None]] = []
    rank = _RANK
    folded = raised = resolved = 0
    for source, key, severity, summary, _payload, at in alerts.raw:
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


def run_checked(alerts: Workload) -> Tally:
    """``dict`` plus the checks the desk makes on every alert, made as the desk makes them (a
    reference, not the baseline): a name or summary that passed the library's check before is
    remembered, anything else goes through the check; the payload through the library's."""
    groups: dict[str, list[Any]] = {}
    incidents: list[tuple[str, str, str, datetime | None]] = []
    names: set[str] = set()
    summaries: set[str] = set()
    rank = _RANK
    limit = 16_384
    folded = raised = resolved = 0
    for source, key, severity, summary, payload, at in alerts.raw:
        level = rank.get(severity) if type(severity) is str else None
        if level is None or not (
                type(source) is str and source in names and type(key) is str and key in names
                and type(summary) is str and summary in summaries
                and type(at) is datetime and at.tzinfo is UTC):
            names.add(source_of(source))
            names.add(key_of(key))
            summaries.add(summary_of(summary))
            level = rank[severity_of(severity).value]
            alert_time(at)
        if payload is not None:
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


def changes(alerts: Workload, keys: int) -> Workload:
    """The alerts that change an incident: per key the first, the middle and the last."""
    per_key = len(alerts.raw) // keys
    rounds = {0, per_key // 2, per_key - 1}
    chosen = [index for index in range(len(alerts.raw)) if index // keys in rounds]
    return Workload([alerts.raw[i] for i in chosen], [alerts.inputs[i] for i in chosen])


VARIANTS: dict[str, Callable[[Workload], Tally]] = {
    "desk": run_desk, "desk batch": run_desk_batch, "dict": run_dict, "checked": run_checked}


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


def profile(alerts: Workload, variant: str) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(VARIANTS[variant], alerts)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def check_outcomes(alerts: Workload) -> None:
    """Both desk variants say the same of every alert (the timed runs compare tallies)."""
    single = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0 + timedelta(days=1)),
                         notifier=NullNotifier())
    one_by_one = [single.ingest_alert(source, key, severity, summary, payload=payload, at=at)
                  for source, key, severity, summary, payload, at in alerts.raw]
    batched = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0 + timedelta(days=1)),
                          notifier=NullNotifier())
    inputs = alerts.inputs
    in_batches = [outcome for start in range(0, len(inputs), BATCH)
                  for outcome in batched.ingest_alerts(inputs[start:start + BATCH])]
    if in_batches != one_by_one:
        raise SystemExit("ingest_alerts and ingest_alert disagree on some alert's outcome")


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
    parser.add_argument("--profile", nargs="?", const="desk", choices=list(VARIANTS),
                        metavar="VARIANT", help="instead: cProfile of a variant (default: "
                        "desk), top functions by own time")
    args = parser.parse_args(argv)
    for name in ("alerts", "keys", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    alerts = workload(args.alerts, args.keys)
    if args.profile:
        profile(alerts, args.profile)
        return 0
    expected = run_dict(alerts)
    for name in ("desk", "desk batch"):
        found = VARIANTS[name](alerts)
        if found != expected:
            raise SystemExit(f"{name} and the baseline disagree: {found} != {expected}")
    check_outcomes(alerts)
    changing = changes(alerts, args.keys)
    opened, folded, raised, resolved = expected
    runs: dict[str, tuple[Callable[[], Tally], Tally]] = {
        name: (lambda v=variant: v(alerts), expected)  # type: ignore[misc]  # a default binds the variant of this iteration
        for name, variant in VARIANTS.items()}
    runs["changes"] = (lambda: run_desk_batch(changing), (opened, 0, raised, resolved))
    names = list(runs)
    seconds: dict[str, dict[str, list[float]]] = {
        name: {clock: [] for clock in CLOCKS} for name in names}
    for round_ in range(args.repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            function, wanted = runs[name]
            tally, wall, cpu = timed(function, args.no_gc)
            if tally != wanted:
                raise SystemExit(f"{name} did something else: {tally} != {wanted}")
            seconds[name]["wall"].append(wall)
            seconds[name]["cpu"].append(cpu)
    n = len(alerts.raw)
    medians = {name: {clock: statistics.median(values) for clock, values in clocks.items()}
               for name, clocks in seconds.items()}
    ratios = {name: {clock: medians[name][clock] / medians["dict"][clock] for clock in CLOCKS}
              for name in names}
    print(f"itil-incident {version('itil-incident')} ({Path(itil_incident.__file__).parent}), "
          f"Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs, gc {'off' if args.no_gc else 'on'}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{n:,} alerts over {args.keys:,} keys; {args.repeats} rounds, medians. Outcomes: "
          f"{opened:,} opened, {folded:,} folded, {raised:,} raised, {resolved:,} resolved; "
          f"batches of {BATCH:,}")
    print(f"{'variant':11} {'wall s':>8} {'cpu s':>8} {'µs/alert':>9} {'alerts/s':>11} "
          f"{'x dict cpu':>10} {'x dict wall':>11}")
    for name in names:
        wall, cpu = medians[name]["wall"], medians[name]["cpu"]
        print(f"{name:11} {wall:8.3f} {cpu:8.3f} {cpu / n * 1e6:9.2f} {n / cpu:11,.0f} "
              f"{ratios[name]['cpu']:9.2f}x {ratios[name]['wall']:10.2f}x")
    print(f"target: 5x dict. 'changes' is the {len(changing.raw):,} alerts that change an "
          "incident, alone (through ingest_alerts), per alert of the whole workload.")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "alerts": n, "keys": args.keys, "repeats": args.repeats, "no_gc": args.no_gc,
            "batch": BATCH, "changes": len(changing.raw),
            "outcomes": {"opened": opened, "folded": folded, "raised": raised,
                         "resolved": resolved},
            "seconds": seconds, "medians": medians, "ratios": ratios,
            "python": platform.python_version(), "argv": sys.argv[1:],
        }, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
