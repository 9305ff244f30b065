"""Lifecycle benchmark: log -> assign -> start -> hold -> resume -> resolve -> close.

Run from the repository root::

    .venv/bin/python benchmarks/lifecycle.py                      # 100,000 / 10,000, 5 repeats
    .venv/bin/python benchmarks/lifecycle.py --incidents 20000 --naive 2000 --repeats 3
    .venv/bin/python benchmarks/lifecycle.py --json /tmp/lifecycle.json
    .venv/bin/python benchmarks/lifecycle.py --no-gc
    .venv/bin/python benchmarks/lifecycle.py --per-step           # what each step costs
    .venv/bin/python benchmarks/lifecycle.py --profile --incidents 50000

Variants, all in one process, interleaved over ``--repeats`` rounds (the order rotates each
round) and reported as medians:

``domain``
    The library at domain level: ``Incident.log`` then ``assign``, ``start_work``,
    ``put_on_hold``, ``resume``, ``resolve``, ``close``, with ``default_incident_workflow()``,
    ``PriorityMatrix.servicenow()`` and one shared ``Actor``. Each step gets its own instant
    (``T0``, ``T0 + 1 min``, ... ``T0 + 6 min``); the seven instants are built once and reused by
    every incident, so no datetime arithmetic runs inside the timed loop.
``desk``
    The same seven steps through ``ServiceDesk`` commands over ``InMemoryRepository``,
    ``FrozenClock`` (standing still at ``T0``: every step of every incident is stamped ``T0``),
    ``SequentialIdFactory`` and ``NullNotifier``, with the default ``DeskPolicies`` (so logging
    also runs the default categorizer and routing table).
``hand`` (baseline b, the hand-written limit)
    A ``{(state, trigger): target}`` dict and a slotted attrs object that, per step, looks up the
    target, bumps its version, appends one small frozen attrs event and changes its state.
``naive`` (c)
    One ``transitions.Machine(model=incident, ..., auto_transitions=False)`` per incident; each
    transition calls the trigger method the machine put on the model, then appends the same
    event as ``hand``.

The cyclic garbage collector runs as in any program (``--no-gc`` disables it during the timed
runs, to separate the library's own work from collection passes over the growing heap); it
collects before and after every timed run.

Each run is timed with two clocks: wall-clock (``perf_counter``) and the process's CPU time
(``process_time``, which does not count the time spent waiting for a core on a shared machine).

"Per transition" is always the total time divided by ``incidents x 7`` steps: logging counts as
a step, so for ``naive`` the machine construction is spread over the seven steps.

Memory (tracemalloc, ``--incidents`` closed incidents retained in a list, ``current`` traced
memory after the build and a ``gc.collect()``, divided by the count) is measured twice:

``library only``
    Ids, title, actor, the seven instants, the workflow and the matrix exist before tracing
    starts and are shared: only what the library (or the baseline) allocates is counted, plus
    the list slot (8 bytes) that retains each incident.
``own values``
    Each incident gets its own id string, title string and seven datetimes, created while
    tracing: a closed incident with everything it owns. The actor, workflow and matrix are
    still shared and not counted.

Performance is never asserted: the figures are printed (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import os
import platform
import pstats
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import attrs
from transitions import Machine

import itil_incident
from itil_incident import (
    Actor,
    FrozenClock,
    Incident,
    InMemoryRepository,
    NullNotifier,
    PriorityMatrix,
    SequentialIdFactory,
    ServiceDesk,
    Workflow,
    default_incident_workflow,
)

STEPS = 7  # log + 6 transitions
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TITLE = "VPN drops every few minutes"
NOTES = "Restarted the VPN concentrator"
GROUP = "Service Desk"
ASSIGNEE = "alice"
HOLD_REASON = "awaiting_caller"
RESOLUTION_CODE = "solved_remotely"

#: One incident's input: its id, its title and the instants of its seven steps.
Job = tuple[str, str, tuple[datetime, ...]]


# -- (b) the hand-written limit ---------------------------------------------------------------

#: The default incident lifecycle as a plain dict; checked against the library's workflow.
HAND_TABLE: dict[tuple[str, str], str] = {
    ("new", "assign"): "assigned",
    ("assigned", "assign"): "assigned",
    ("in_progress", "assign"): "in_progress",
    ("on_hold", "assign"): "on_hold",
    ("new", "start"): "in_progress",
    ("assigned", "start"): "in_progress",
    ("assigned", "hold"): "on_hold",
    ("in_progress", "hold"): "on_hold",
    ("on_hold", "resume"): "in_progress",
    ("new", "resolve"): "resolved",
    ("assigned", "resolve"): "resolved",
    ("in_progress", "resolve"): "resolved",
    ("on_hold", "resolve"): "resolved",
    ("resolved", "close"): "closed",
    ("resolved", "reopen"): "in_progress",
    ("new", "cancel"): "cancelled",
    ("assigned", "cancel"): "cancelled",
    ("in_progress", "cancel"): "cancelled",
    ("on_hold", "cancel"): "cancelled",
}


@attrs.frozen
class HandEvent:
    """One small frozen event: which incident, which version, what fired, from where to where,
    when and by whom."""

    incident_id: str
    version: int
    trigger: str
    from_state: str
    to_state: str
    at: datetime
    actor: Actor


@attrs.define
class HandIncident:
    """A slotted attrs object whose state changes through ``HAND_TABLE``."""

    id: str
    state: str
    version: int
    history: list[HandEvent]

    @classmethod
    def log(cls, incident_id: str, actor: Actor, at: datetime) -> HandIncident:
        incident = cls(incident_id, "new", 1, [])
        incident.history.append(HandEvent(incident_id, 1, "log", "new", "new", at, actor))
        return incident

    def fire(self, trigger: str, actor: Actor, at: datetime) -> None:
        source = self.state
        target = HAND_TABLE.get((source, trigger))
        if target is None:
            raise ValueError(f"{trigger!r} cannot fire from {source!r}")
        self.version = number = self.version + 1
        self.history.append(HandEvent(self.id, number, trigger, source, target, at, actor))
        self.state = target


# -- (c) the naive way: one transitions.Machine per incident ----------------------------------

NAIVE_STATES = ["new", "assigned", "in_progress", "on_hold", "resolved", "closed", "cancelled"]
_OPEN = ["new", "assigned", "in_progress", "on_hold"]
NAIVE_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "assign", "source": ["new", "assigned"], "dest": "assigned"},
    {"trigger": "assign", "source": ["in_progress", "on_hold"], "dest": None},
    {"trigger": "start", "source": ["new", "assigned"], "dest": "in_progress"},
    {"trigger": "hold", "source": ["assigned", "in_progress"], "dest": "on_hold"},
    {"trigger": "resume", "source": "on_hold", "dest": "in_progress"},
    {"trigger": "resolve", "source": _OPEN, "dest": "resolved"},
    {"trigger": "close", "source": "resolved", "dest": "closed"},
    {"trigger": "reopen", "source": "resolved", "dest": "in_progress"},
    {"trigger": "cancel", "source": _OPEN, "dest": "cancelled"},
]


class NaiveIncident:
    """A plain object that ``transitions`` turns into a state machine of its own."""

    state: str  # set (and changed) by the machine

    def __init__(self, incident_id: str) -> None:
        self.id = incident_id
        self.version = 1
        self.history: list[HandEvent] = []
        self.machine = Machine(
            model=self,
            states=NAIVE_STATES,
            transitions=NAIVE_TRANSITIONS,
            initial="new",
            auto_transitions=False,
        )

    def fire(self, trigger: str, actor: Actor, at: datetime) -> None:
        source = self.state
        getattr(self, trigger)()  # the method the machine added, e.g. incident.assign()
        self.version = number = self.version + 1
        self.history.append(HandEvent(self.id, number, trigger, source, self.state, at, actor))


# -- the variants -----------------------------------------------------------------------------


def run_domain(jobs: Sequence[Job], actor: Actor, workflow: Workflow,
               matrix: PriorityMatrix) -> list[Incident]:
    done: list[Incident] = []
    for incident_id, title, at in jobs:
        incident = Incident.log(incident_id=incident_id, workflow=workflow, matrix=matrix,
                                actor=actor, at=at[0], title=title)
        incident.assign(actor=actor, at=at[1], group=GROUP, assignee=ASSIGNEE)
        incident.start_work(actor=actor, at=at[2])
        incident.put_on_hold(HOLD_REASON, actor=actor, at=at[3])
        incident.resume(actor=actor, at=at[4])
        incident.resolve(code=RESOLUTION_CODE, notes=NOTES, actor=actor, at=at[5])
        incident.close(actor=actor, at=at[6])
        done.append(incident)
    return done


def run_desk(jobs: Sequence[Job], actor: Actor) -> ServiceDesk:
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0), ids=SequentialIdFactory(),
                       notifier=NullNotifier())
    for _incident_id, title, _at in jobs:
        incident_id = desk.log_incident(actor=actor, title=title).id
        desk.assign(incident_id, actor=actor, group=GROUP, assignee=ASSIGNEE)
        desk.start_work(incident_id, actor=actor)
        desk.put_on_hold(incident_id, HOLD_REASON, actor=actor)
        desk.resume(incident_id, actor=actor)
        desk.resolve(incident_id, actor=actor, code=RESOLUTION_CODE, notes=NOTES)
        desk.close(incident_id, actor=actor)
    return desk


def run_hand(jobs: Sequence[Job], actor: Actor) -> list[HandIncident]:
    done: list[HandIncident] = []
    for incident_id, _title, at in jobs:
        incident = HandIncident.log(incident_id, actor, at[0])
        incident.fire("assign", actor, at[1])
        incident.fire("start", actor, at[2])
        incident.fire("hold", actor, at[3])
        incident.fire("resume", actor, at[4])
        incident.fire("resolve", actor, at[5])
        incident.fire("close", actor, at[6])
        done.append(incident)
    return done


def run_naive(jobs: Sequence[Job], actor: Actor) -> list[NaiveIncident]:
    done: list[NaiveIncident] = []
    for incident_id, _title, at in jobs:
        incident = NaiveIncident(incident_id)
        incident.history.append(HandEvent(incident_id, 1, "log", "new", "new", at[0], actor))
        incident.fire("assign", actor, at[1])
        incident.fire("start", actor, at[2])
        incident.fire("hold", actor, at[3])
        incident.fire("resume", actor, at[4])
        incident.fire("resolve", actor, at[5])
        incident.fire("close", actor, at[6])
        done.append(incident)
    return done


def shared_jobs(count: int) -> list[Job]:
    """Distinct ids; one title and one tuple of seven instants shared by every incident."""
    instants = tuple(T0 + timedelta(minutes=step) for step in range(STEPS))
    return [(f"INC{number:07d}", TITLE, instants) for number in range(1, count + 1)]


def own_jobs(count: int) -> list[Job]:
    """Every incident with its own id, title and seven datetimes."""
    jobs: list[Job] = []
    for number in range(1, count + 1):
        start = T0 + timedelta(seconds=number)
        instants = tuple(start + timedelta(minutes=step) for step in range(STEPS))
        jobs.append((f"INC{number:07d}", f"{TITLE} (#{number})", instants))
    return jobs


def check_same_lifecycle(workflow: Workflow, actor: Actor) -> None:
    """Make sure the three implementations agree before timing anything."""
    for (state, trigger), target in HAND_TABLE.items():
        if workflow.target(state, trigger) != target:
            raise SystemExit(f"HAND_TABLE disagrees with the workflow on {state}/{trigger}")
    library = [
        (e.from_status, e.to_status)
        for e in run_domain(shared_jobs(1), actor, workflow, PriorityMatrix.servicenow())[0]
        .timeline()
    ]
    hand = [(e.from_state, e.to_state) for e in run_hand(shared_jobs(1), actor)[0].history]
    naive = [(e.from_state, e.to_state) for e in run_naive(shared_jobs(1), actor)[0].history]
    desk = run_desk(shared_jobs(1), actor)
    via_desk = [(e.from_status, e.to_status) for e in desk.timeline("INC0000001")]
    if not library == hand == naive == via_desk or library[-1][1] != "closed":
        raise SystemExit(f"the variants disagree: {library} / {hand} / {naive} / {via_desk}")


# -- measuring --------------------------------------------------------------------------------


def source_fingerprint() -> str:
    """A short hash of the library's source files: which code the figures belong to."""
    root = Path(itil_incident.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def timed(run: Callable[[], object], *, collector: bool = True) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run; what it builds stays alive until both stop.

    The cyclic garbage collector runs as usual unless ``collector`` is False; either way it
    collects before and after the run, outside the timing.
    """
    gc.collect()
    if not collector:
        gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        kept = run()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        gc.enable()
    del kept
    gc.collect()
    return wall, cpu


def traced_bytes(build: Callable[[], object]) -> int:
    """Bytes still allocated (tracemalloc ``current``) after ``build``, its result retained."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    gc.collect()
    return after - before


CLOCKS = ("wall", "cpu")


@attrs.frozen
class Figures:
    """The seconds of every round of one variant, by clock (``wall`` or ``cpu``)."""

    name: str
    incidents: int
    seconds: dict[str, tuple[float, ...]]

    def median(self, clock: str) -> float:
        return statistics.median(self.seconds[clock])

    def per_incident_us(self, clock: str) -> float:
        return self.median(clock) / self.incidents * 1e6

    def per_step_us(self, clock: str) -> float:
        return self.median(clock) / (self.incidents * STEPS) * 1e6


@attrs.frozen
class Ratio:
    """``numerator`` µs per step over ``denominator`` µs per step, by clock."""

    numerator: Figures
    denominator: Figures

    def of_medians(self, clock: str) -> float:
        return self.numerator.per_step_us(clock) / self.denominator.per_step_us(clock)

    def per_round(self, clock: str) -> list[float]:
        """Ratios within each round (both variants measured in the same round)."""
        return [
            (a / self.numerator.incidents) / (b / self.denominator.incidents)
            for a, b in zip(self.numerator.seconds[clock], self.denominator.seconds[clock],
                            strict=True)
        ]


T = TypeVar("T")


def step_costs(jobs: Sequence[Job], first: Callable[[Job], T],
               rest: Sequence[tuple[str, Callable[[T], object]]], repeats: int
               ) -> dict[str, float]:
    """Median CPU µs per incident of each step, timed step by step over all ``jobs``.

    The collector is off while a step is timed, so that each step is charged its own work only.
    """
    costs: dict[str, list[float]] = {"log": [], **{name: [] for name, _ in rest}}
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            records = [first(job) for job in jobs]
            costs["log"].append(time.process_time() - start)
            for name, step in rest:
                start = time.process_time()
                for record in records:
                    step(record)
                costs[name].append(time.process_time() - start)
        finally:
            gc.enable()
        del records
    return {name: statistics.median(values) / len(jobs) * 1e6 for name, values in costs.items()}


def per_step(jobs: Sequence[Job], actor: Actor, workflow: Workflow, matrix: PriorityMatrix,
             repeats: int) -> None:
    """Print what each of the seven steps costs at domain level and in the baseline."""
    at = jobs[0][2]

    def log(job: Job) -> Incident:
        return Incident.log(incident_id=job[0], workflow=workflow, matrix=matrix, actor=actor,
                            at=at[0], title=job[1])

    domain_steps: list[tuple[str, Callable[[Incident], object]]] = [
        ("assign", lambda i: i.assign(actor=actor, at=at[1], group=GROUP, assignee=ASSIGNEE)),
        ("start", lambda i: i.start_work(actor=actor, at=at[2])),
        ("hold", lambda i: i.put_on_hold(HOLD_REASON, actor=actor, at=at[3])),
        ("resume", lambda i: i.resume(actor=actor, at=at[4])),
        ("resolve", lambda i: i.resolve(code=RESOLUTION_CODE, notes=NOTES, actor=actor,
                                        at=at[5])),
        ("close", lambda i: i.close(actor=actor, at=at[6])),
    ]
    def fire(trigger: str, when: datetime) -> Callable[[HandIncident], object]:
        return lambda incident: incident.fire(trigger, actor, when)

    hand_steps = [
        (trigger, fire(trigger, when))
        for trigger, when in zip(("assign", "start", "hold", "resume", "resolve", "close"),
                                 at[1:], strict=True)
    ]
    domain = step_costs(jobs, log, domain_steps, repeats)
    hand = step_costs(jobs, lambda job: HandIncident.log(job[0], actor, at[0]), hand_steps,
                      repeats)
    print(f"CPU µs per incident for each step, {len(jobs):,} incidents, median of {repeats} "
          "rounds, collector off\n")
    print(f"{'step':<8} {'domain':>8} {'hand':>8} {'ratio':>7}")
    for name in domain:
        print(f"{name:<8} {domain[name]:>8.2f} {hand[name]:>8.2f} "
              f"{domain[name] / hand[name]:>7.2f}")
    total_domain, total_hand = sum(domain.values()), sum(hand.values())
    print(f"{'total':<8} {total_domain:>8.2f} {total_hand:>8.2f} "
          f"{total_domain / total_hand:>7.2f}")


def profile(jobs: Sequence[Job], actor: Actor, workflow: Workflow, matrix: PriorityMatrix,
            top: int = 25) -> None:
    """Print the functions that cost the most (own time) on the domain path, under cProfile."""
    run_domain(jobs[:1_000], actor, workflow, matrix)
    profiler = cProfile.Profile()
    gc.collect()
    gc.disable()
    try:
        profiler.enable()
        run_domain(jobs, actor, workflow, matrix)
        profiler.disable()
    finally:
        gc.enable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--incidents", type=int, default=100_000,
                        help="incidents for domain, desk and hand (default 100000)")
    parser.add_argument("--naive", type=int, default=10_000,
                        help="incidents for naive, one Machine each (default 10000)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--naive-memory", type=int, default=2_000,
                        help="naive incidents traced for memory (default 2000)")
    parser.add_argument("--no-gc", action="store_true",
                        help="disable the cyclic garbage collector during each timed run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--per-step", action="store_true",
                      help="instead: the CPU cost of each step, domain level and baseline")
    mode.add_argument("--profile", action="store_true",
                      help="instead: cProfile of the domain level, top functions by own time")
    args = parser.parse_args(argv)
    for name in ("incidents", "naive", "repeats", "naive_memory"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    n, naive_n = args.incidents, args.naive
    actor = Actor("alice", "Alice", frozenset({"agent"}))
    workflow = default_incident_workflow()
    matrix = PriorityMatrix.servicenow()
    check_same_lifecycle(workflow, actor)
    if args.per_step:
        per_step(shared_jobs(n), actor, workflow, matrix, args.repeats)
        return 0
    if args.profile:
        profile(shared_jobs(n), actor, workflow, matrix)
        return 0

    jobs = shared_jobs(max(n, naive_n))
    main_jobs, naive_jobs = jobs[:n], jobs[:naive_n]
    runs: dict[str, tuple[int, Callable[[], object]]] = {
        "domain": (n, lambda: run_domain(main_jobs, actor, workflow, matrix)),
        "desk": (n, lambda: run_desk(main_jobs, actor)),
        "hand": (n, lambda: run_hand(main_jobs, actor)),
        "naive": (naive_n, lambda: run_naive(naive_jobs, actor)),
    }
    warm = jobs[: min(1_000, n, naive_n)]  # warm-up: imports, caches, specialisation
    run_domain(warm, actor, workflow, matrix)
    run_desk(warm, actor)
    run_hand(warm, actor)
    run_naive(warm, actor)

    names = list(runs)
    seconds: dict[str, dict[str, list[float]]] = {
        name: {clock: [] for clock in CLOCKS} for name in names
    }
    for round_ in range(args.repeats):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            wall, cpu = timed(runs[name][1], collector=not args.no_gc)
            seconds[name]["wall"].append(wall)
            seconds[name]["cpu"].append(cpu)
        print(f"round {round_ + 1}/{args.repeats} (wall / cpu s): "
              + ", ".join(f"{name} {seconds[name]['wall'][-1]:.3f} / "
                          f"{seconds[name]['cpu'][-1]:.3f}" for name in names),
              file=sys.stderr, flush=True)
    figures = {
        name: Figures(name, runs[name][0],
                      {clock: tuple(values) for clock, values in seconds[name].items()})
        for name in names
    }

    memory_n = min(args.naive_memory, naive_n)
    memory = {
        "domain_library_only": traced_bytes(
            lambda: run_domain(main_jobs, actor, workflow, matrix)) / n,
        "domain_own_values": traced_bytes(
            lambda: run_domain(own_jobs(n), actor, workflow, matrix)) / n,
        "hand_library_only": traced_bytes(lambda: run_hand(main_jobs, actor)) / n,
        "hand_own_values": traced_bytes(lambda: run_hand(own_jobs(n), actor)) / n,
        "naive_library_only": traced_bytes(lambda: run_naive(jobs[:memory_n], actor)) / memory_n,
    }

    domain, desk, hand, naive = (figures[k] for k in ("domain", "desk", "hand", "naive"))
    ratios = {
        "domain/hand": Ratio(domain, hand),
        "desk/hand": Ratio(desk, hand),
        "naive/domain": Ratio(naive, domain),
        "naive/hand": Ratio(naive, hand),
    }
    targets: dict[str, bool] = {}
    for clock in CLOCKS:
        targets[f"domain within 3x of hand per transition ({clock})"] = (
            ratios["domain/hand"].of_medians(clock) <= 3)
        targets[f"domain at least 50x faster than naive ({clock})"] = (
            ratios["naive/domain"].of_medians(clock) >= 50)
    targets["at most 2 KiB per closed incident (library only)"] = (
        memory["domain_library_only"] <= 2048)
    targets["at most 2 KiB per closed incident (own values)"] = (
        memory["domain_own_values"] <= 2048)
    meta = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "attrs": version("attrs"),
        "transitions": version("transitions"),
        "itil_incident": version("itil-incident"),
        "source_sha256": source_fingerprint(),
        "gc": ("disabled during timed runs" if args.no_gc else "enabled")
        + " (collected before and after each timed run)",
        "command": " ".join([".venv/bin/python", "benchmarks/lifecycle.py",
                             *(argv if argv is not None else sys.argv[1:])]),
    }

    print(f"\nPython {meta['python']} ({meta['implementation']}) on {meta['platform']}, "
          f"{meta['cpus']} CPUs, load average {meta['load_average_at_end']}; "
          f"attrs {meta['attrs']}, transitions {meta['transitions']}; "
          f"itil_incident source {meta['source_sha256']}")
    print(f"{n:,} incidents (naive: {naive_n:,}), {args.repeats} rounds, medians; "
          f"per step = total / (incidents x {STEPS}); garbage collector {meta['gc']}\n")
    print(f"{'variant':<8} {'incidents':>10} {'wall s':>8} {'(min-max)':>15} {'cpu s':>8} "
          f"{'µs/incident':>12} {'µs/step':>8} {'cpu µs/step':>12}")
    for f in figures.values():
        spread = f"{min(f.seconds['wall']):.3f}-{max(f.seconds['wall']):.3f}"
        print(f"{f.name:<8} {f.incidents:>10,} {f.median('wall'):>8.3f} {spread:>15} "
              f"{f.median('cpu'):>8.3f} {f.per_incident_us('wall'):>12.2f} "
              f"{f.per_step_us('wall'):>8.3f} {f.per_step_us('cpu'):>12.3f}")
    print(f"\n{'ratio (µs/step)':<16} {'wall':>7} {'(rounds)':>15} {'cpu':>7} {'(rounds)':>15}")
    for label, ratio in ratios.items():
        cells = []
        for clock in CLOCKS:
            rounds = ratio.per_round(clock)
            cells.append(f"{ratio.of_medians(clock):>7.2f} "
                         f"{f'{min(rounds):.2f}-{max(rounds):.2f}':>15}")
        print(f"{label:<16} {' '.join(cells)}")
    print(f"\nmemory per closed incident (tracemalloc, {n:,} retained; naive: {memory_n:,})")
    for label, value in memory.items():
        print(f"  {label:<22} {value:>9.0f} bytes ({value / 1024:.2f} KiB)")
    print()
    for label, ok in targets.items():
        print(f"  {'MET   ' if ok else 'MISSED'} {label}")

    if args.json:
        result = {
            "meta": meta,
            "incidents": n,
            "naive_incidents": naive_n,
            "repeats": args.repeats,
            "steps_per_incident": STEPS,
            "variants": {
                f.name: {
                    "incidents": f.incidents,
                    **{
                        f"{clock}_{key}": value
                        for clock in CLOCKS
                        for key, value in (
                            ("seconds", list(f.seconds[clock])),
                            ("median_s", f.median(clock)),
                            ("us_per_incident", f.per_incident_us(clock)),
                            ("us_per_step", f.per_step_us(clock)),
                        )
                    },
                }
                for f in figures.values()
            },
            "ratios": {
                label: {
                    f"{clock}_{key}": value
                    for clock in CLOCKS
                    for key, value in (("of_medians", ratio.of_medians(clock)),
                                       ("per_round", ratio.per_round(clock)))
                }
                for label, ratio in ratios.items()
            },
            "memory_bytes_per_incident": memory,
            "naive_memory_incidents": memory_n,
            "targets_met": targets,
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
