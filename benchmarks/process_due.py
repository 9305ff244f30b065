"""Time-driven processing benchmark: ``ServiceDesk.process_due`` over many open incidents.

Run from the repository root::

    .venv/bin/python benchmarks/process_due.py                    # 100,000 open incidents
    .venv/bin/python benchmarks/process_due.py --incidents 20000
    .venv/bin/python benchmarks/process_due.py --json /tmp/process_due.json
    .venv/bin/python benchmarks/process_due.py --incidents 20000 --profile

The scene: an SLA policy (response and resolution targets per priority, alert stages at 50, 75
and 100 %) measured on an office calendar (Europe/Paris, Mon-Fri 09:00-17:00 with a lunch
break), two escalation rules (a hierarchical acknowledgement timeout, a priority raise at the
resolution deadline), auto-close after three business days and hold reminders every four
hours. ``--incidents`` open incidents, all logged in the five days before the processing
instant (Friday 16 January 2026, 15:00 UTC) with priorities 1 to 4; a quarter of them worked,
one in eight on hold awaiting the caller. They live in an ``InMemoryRepository``; the desk has
a ``FrozenClock`` and a ``NullNotifier``.

Measured, in one process, each once (a call is long enough to need no repeats):

``baseline``
    ``evaluate(history, policy, workflow, now)`` for every incident, straight from the
    incidents built (no repository, no desk): the clock evaluation every processing needs.
``list``
    ``repository.list_incidents(IncidentQuery(open=True))``: the copies the desk reads.
``first call``
    ``desk.process_due(now)``: evaluates, records the stages come due (and what the rules do),
    commits per incident.
``second call``
    ``desk.process_due(now)`` again: idempotent, it records nothing; the cost of finding that
    nothing is due.
``baseline on the histories the 2nd call reads``
    ``baseline`` again, on the incidents as stored after the first call (their histories now
    hold the stages recorded): the fair yardstick for the second call.

Times are wall-clock seconds (``time.perf_counter``) and microseconds per incident. The
garbage collector runs as in any program and collects before each timed step. Performance is
never asserted: the figures are printed (and written as JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import platform
import pstats
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any, TypeVar

from itil_incident import (
    Actor,
    BusinessCalendar,
    DeskPolicies,
    DueReport,
    EscalationAction,
    EscalationRule,
    FrozenClock,
    Incident,
    IncidentQuery,
    InMemoryRepository,
    NullNotifier,
    ServiceDesk,
    SlaAgreement,
    SlaPolicy,
    SlaPolicyVersion,
    evaluate,
)

T = TypeVar("T")
HOUR = timedelta(hours=1)
NOW = datetime(2026, 1, 16, 15, 0, tzinfo=UTC)  # a Friday afternoon
SPREAD = timedelta(days=5)
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
OFFICE = BusinessCalendar.office("Europe/Paris", lunch=(clock_time(12), clock_time(13)))
GROUPS = ("Service Desk", "Network Support", "Desktop Support", "Application Support")
IMPACT_URGENCY = ((1, 1), (1, 2), (2, 2), (3, 3))  # priorities 1, 2, 3 and 4


def build_policies() -> DeskPolicies:
    standard = SlaAgreement(
        name="standard", calendar=OFFICE,
        targets={"response": {1: HOUR / 2, 2: HOUR, 3: 4 * HOUR, 4: 8 * HOUR},
                 "resolution": {1: 4 * HOUR, 2: 8 * HOUR, 3: 24 * HOUR, 4: 40 * HOUR}})
    sla = SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=datetime(2025, 1, 1, tzinfo=UTC), agreements=(standard,),
        fallback="standard"))
    rules = (
        EscalationRule.acknowledgement_timeout("ack", EscalationAction.hierarchical()),
        EscalationRule(name="late", metric="resolution", stage=1.0, priorities={3, 4},
                       action=EscalationAction.raise_priority()),
    )
    return DeskPolicies(categorizer=None, sla=sla, escalation_rules=rules,
                        auto_close_after=24 * HOUR, auto_close_calendar=OFFICE,
                        hold_reminder_every=4 * HOUR)


def build_incidents(count: int, policies: DeskPolicies) -> list[Incident]:
    """``count`` open incidents logged in the five days before NOW, built at domain level."""
    workflow, matrix = policies.incident_workflow, policies.priority_matrix
    incidents: list[Incident] = []
    step = SPREAD / max(count, 1)
    start = NOW - SPREAD
    for n in range(count):
        logged = start + n * step
        impact, urgency = IMPACT_URGENCY[n % 4]
        incident = Incident.log(
            incident_id=f"INC{n + 1:07d}", workflow=workflow, matrix=matrix, actor=AGENT,
            at=logged, title="VPN drops every few minutes", impact=impact, urgency=urgency,
            assignment_group=GROUPS[n % len(GROUPS)], caller="carol")
        if n % 4 == 1:
            incident.start_work(actor=AGENT, at=logged + 10 * timedelta(minutes=1))
            if n % 8 == 1:
                incident.put_on_hold("awaiting_caller", actor=AGENT,
                                     at=logged + 20 * timedelta(minutes=1))
        incidents.append(incident)
    return incidents


def timed(step: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    began = time.perf_counter()
    result = step()
    return time.perf_counter() - began, result


def baseline(incidents: list[Incident], policies: DeskPolicies) -> int:
    sla = policies.sla
    assert sla is not None
    clocks = 0
    for incident in incidents:
        clocks += len(evaluate(incident.timeline(), sla, incident.workflow, NOW))
    return clocks


def summary(report: DueReport) -> dict[str, int]:
    return {"examined": report.examined, "stages": len(report.stages),
            "escalations": len(report.escalations), "priority_raises": len(report.priority_raises),
            "auto_closes": len(report.auto_closes), "reminders": len(report.reminders),
            "skipped": len(report.skipped)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--profile", action="store_true",
                        help="profile the first call and print the top functions")
    args = parser.parse_args(argv)
    count: int = args.incidents

    policies = build_policies()
    build_seconds, incidents = timed(lambda: build_incidents(count, policies))
    repository = InMemoryRepository()
    repository.commit(incidents)
    desk = ServiceDesk(repository, policies=policies, clock=FrozenClock(NOW),
                       notifier=NullNotifier())

    figures: dict[str, Any] = {"incidents": count, "python": sys.version.split()[0],
                               "machine": platform.machine(), "build_s": build_seconds}
    rows: list[tuple[str, float]] = []
    seconds, clocks = timed(lambda: baseline(incidents, policies))
    rows.append(("baseline: evaluate every incident's clocks", seconds))
    figures["clocks"] = clocks
    seconds, listed = timed(lambda: repository.list_incidents(IncidentQuery(open=True)))
    rows.append(("list: the open incidents the desk reads", seconds))
    del listed
    if args.profile:
        profiler = cProfile.Profile()
        seconds, first = timed(lambda: profiler.runcall(desk.process_due, NOW))
    else:
        seconds, first = timed(lambda: desk.process_due(NOW))
    rows.append(("process_due, first call", seconds))
    seconds, second = timed(lambda: desk.process_due(NOW))
    rows.append(("process_due, second call (idempotent)", seconds))
    stored = repository.list_incidents(IncidentQuery(open=True))
    seconds, _ = timed(lambda: baseline(stored, policies))
    rows.append(("baseline on the histories the 2nd call reads", seconds))

    print(f"process_due benchmark: {count:,} open incidents, {clocks:,} clocks, "
          f"Python {figures['python']} ({figures['machine']}); build {build_seconds:.1f} s")
    for name, value in rows:
        per = 1e6 * value / max(count, 1)
        print(f"  {name:<46} {value:8.2f} s {per:10.1f} µs/incident")
        figures[name] = {"seconds": value, "us_per_incident": per}
    print(f"  first call did:  {summary(first)}")
    print(f"  second call did: {summary(second)} (report is {bool(second)})")
    figures["first_call"], figures["second_call"] = summary(first), summary(second)
    if args.profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
