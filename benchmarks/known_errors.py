"""Known-error matching on logging: what offering workarounds adds to ``log_incident``.

Run from the repository root::

    .venv/bin/python benchmarks/known_errors.py                    # 0, 10, 100 known errors
    .venv/bin/python benchmarks/known_errors.py --known 0 50 --logs 300 --repeats 5
    .venv/bin/python benchmarks/known_errors.py --engines memory

For each engine (the in-memory repository, a SQLite file) and each number of open known
errors, three desks over the same stored data log incidents in turns:

``matcher on``
    The default policies: every ``log_incident`` asks the repository for the ids and versions
    of the open known errors (``known_error_versions``), reads the ones the desk has not seen
    at that version, scores the known errors its index finds in contact with the new incident
    and records an offer for the best matches. A third of the incidents match one known error
    (and get an offer); the others match none.
``full scan``
    The same policies over a host repository without ``known_error_versions`` (a wrapper that
    hides it): every log lists the open known errors in full and scores each one, as every
    desk did before the method existed.
``matcher off`` (the baseline)
    ``DeskPolicies(known_errors=None)``: logging without known-error matching.

Each variant logs ``--logs`` incidents per round, ``--repeats`` rounds, interleaved; the
median of the rounds is reported in microseconds per log, CPU time of the process
(``time.process_time``: what the desk computes, not waits) and wall time, with the ratio of
CPU times to the baseline of the same run. Performance is never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from itil_incident import (
    Actor,
    DeskPolicies,
    FrozenClock,
    InMemoryRepository,
    Repository,
    SequentialIdFactory,
    ServiceDesk,
)
from itil_incident.adapters.sql import SqlRepository, create_schema
from itil_incident.testing._known_error_contract import (
    _WithoutVersions as FullScan,  # the port's six methods only
)

AGENT = Actor("agent", "Agent", frozenset({"agent"}))
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SERVICES = ("mail", "vpn", "erp", "printing", "storage", "intranet", "phones", "wifi")


def repository(engine: str, directory: Path) -> Repository:
    if engine == "memory":
        return InMemoryRepository()
    sql = SqlRepository.from_url(f"sqlite:///{directory / f'bench-{time.time_ns()}.db'}")
    create_schema(sql.engine)
    return sql


def publish(desk: ServiceDesk, count: int) -> None:
    """``count`` open known errors, each on a service and with its own words."""
    for n in range(count):
        service = SERVICES[n % len(SERVICES)]
        problem = desk.open_problem(actor=AGENT, title=f"Fault {n} queue{n} stalls",
                                    service=service)
        desk.record_workaround(problem.id, f"Restart component {n}", actor=AGENT)
        desk.mark_known_error(problem.id, actor=AGENT, symptoms=f"Symptom{n} seen")


def logger(desk: ServiceDesk, known: int) -> Callable[[int], None]:
    def log(n: int) -> None:
        if known and n % 3 == 0:  # matches known error n % known: service + 2 keywords
            k = n % known
            desk.log_incident(actor=AGENT, title=f"queue{k} stalls symptom{k}",
                              service=SERVICES[k % len(SERVICES)])
        else:
            desk.log_incident(actor=AGENT, title=f"Laptop {n} will not boot", service="desktop")
    return log


def measure(engine: str, known: int, logs: int, repeats: int, directory: Path
            ) -> dict[str, tuple[float, float]]:
    """Median (CPU, wall) microseconds per log of each variant."""
    repo = repository(engine, directory)
    clock = FrozenClock(START)
    ids = SequentialIdFactory()
    on = ServiceDesk(repo, clock=clock, ids=ids)
    scan = ServiceDesk(FullScan(repo), clock=clock, ids=ids)
    off = ServiceDesk(repo, clock=clock, ids=ids, policies=DeskPolicies(known_errors=None))
    publish(on, known)
    variants = {"matcher on": logger(on, known), "full scan": logger(scan, known),
                "matcher off": logger(off, known)}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    wall: dict[str, list[float]] = {name: [] for name in variants}
    counter = 0
    for _ in range(repeats):
        for name, log in variants.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            for _ in range(logs):
                log(counter)
                counter += 1
            cpu[name].append((time.process_time() - started_cpu) / logs * 1e6)
            wall[name].append((time.perf_counter() - started) / logs * 1e6)
    if isinstance(repo, SqlRepository):
        repo.close()
    return {name: (statistics.median(cpu[name]), statistics.median(wall[name]))
            for name in variants}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--known", type=int, nargs="+", default=[0, 10, 100])
    parser.add_argument("--logs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", nargs="+", default=["memory", "sqlite"],
                        choices=["memory", "sqlite"])
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; {args.logs} logs x {args.repeats} rounds; "
          "median CPU µs per log (wall in brackets); ratio: CPU time to matcher off")
    print("| engine | known errors | matcher off | full scan | matcher on "
          "| full scan ratio | matcher on ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as name:
        for engine in args.engines:
            for known in args.known:
                result = measure(engine, known, args.logs, args.repeats, Path(name))
                off, scan, on = (result[v] for v in ("matcher off", "full scan", "matcher on"))
                print(f"| {engine} | {known} | {off[0]:,.0f} ({off[1]:,.0f}) "
                      f"| {scan[0]:,.0f} ({scan[1]:,.0f}) | {on[0]:,.0f} ({on[1]:,.0f}) "
                      f"| {scan[0] / off[0]:.2f} | {on[0] / off[0]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
