"""KPI benchmark: a KPI report over synthetic closed incidents, beside a hand-written loop.

Run from the repository root::

    .venv/bin/python benchmarks/kpis.py                          # 10k, 100k, 1M incidents
    .venv/bin/python benchmarks/kpis.py --sizes 10000 100000 --repeats 5
    .venv/bin/python benchmarks/kpis.py --json /tmp/kpis.json
    .venv/bin/python benchmarks/kpis.py --profile --sizes 100000

The data
    Each incident is an event history (a tuple of the library's own frozen events, oldest
    first, numbered from version 1), built directly at domain level with a seeded random
    generator: building a million incidents through the desk would take far longer than the
    report. Every incident is closed. About 15 % are resolved by the agent who logged them
    within 25 minutes (first-contact candidates); the others are assigned, started, get 0-3
    work notes, and some are put on hold and resumed (20 %), reassigned (15 %), escalated
    (5 % functionally, 3 % hierarchically), reprioritized (5 %) or reopened and resolved again
    (5 %); 40 % get a satisfaction score at closure. A sample of the histories is replayed
    through ``Incident.from_history`` to check that they fold into closed incidents whose
    counters agree with the history.
``library``
    ``kpi_report(histories)``: the public entry point, exactly as for real incidents: it
    derives each incident's facts (``incident_facts``, one pass over its history) and
    aggregates them: every figure of the total (mean, median and p90 of time to acknowledge,
    to first and to final resolution; first-contact, reopen, reassignment and escalation
    rates; hops; major incidents; satisfaction), volumes by category, priority, service,
    channel, group and month, and the backlog with its age buckets at the last event.
``library, grouped``
    The same with ``group_by=["priority"]`` and ``bucket="month"`` (figures per priority and
    month as well as in total).
``library, business time`` (only with ``--calendar``)
    The total report with ``calendar=BusinessCalendar.office("Europe/Paris")``: the three
    durations also in business time (three ``calendar.between`` calls per incident).
``hand``
    A hand-written single pass over the same histories computing the same figures with local
    variables (no per-incident record, the default lifecycle's event types hard-coded), then
    the same sorts for medians and p90. Its figures are checked against the library's.

The histories are generated once per size, then ``gc.freeze()`` moves them out of the cyclic
collector's view, so the timed runs do not pay for re-scanning millions of long-lived events
(``--no-freeze`` keeps them in view). Each variant runs ``--repeats`` times per size,
interleaved; the median wall time (``perf_counter``) and CPU time (``process_time``) are
reported, with microseconds per incident. Performance is never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import itil_incident
from itil_incident import (
    Actor,
    BusinessCalendar,
    CategoryPath,
    Channel,
    EscalationKind,
    Impact,
    Incident,
    IncidentAssigned,
    IncidentCancelled,
    IncidentClosed,
    IncidentEscalated,
    IncidentEvent,
    IncidentLogged,
    IncidentNoteAdded,
    IncidentPriorityOverridden,
    IncidentPriorityOverrideCleared,
    IncidentPutOnHold,
    IncidentReopened,
    IncidentReprioritized,
    IncidentResolved,
    IncidentResumed,
    IncidentWorkStarted,
    NoteVisibility,
    Priority,
    Satisfaction,
    Urgency,
    default_incident_workflow,
)
from itil_incident.reporting import KpiReport, kpi_report

START = datetime(2025, 1, 6, 8, tzinfo=UTC)
SPACING = 31  # seconds between two incidents' logging: a million incidents span a year
FCR_WINDOW = 1800.0  # the library's default first-contact window, in seconds
History = tuple[IncidentEvent, ...]

AGENTS = tuple(Actor(f"agent{n}") for n in range(20))
ENGINEERS = tuple(f"engineer{n}" for n in range(40))
GROUPS = ("Service Desk", "Desktop Support", "Network Support", "Application Support",
          "Infrastructure Support", "Security Operations")
CATEGORIES = tuple(CategoryPath.parse(text) for text in (
    "Network/VPN", "Network/Wi-Fi", "Hardware/Printer", "Hardware/Laptop", "Software/Email",
    "Software/ERP", "Security/Phishing", "Access/Password"))
SERVICES = ("email", "erp", "vpn", "intranet", None)
CHANNELS = tuple(Channel)
LEVELS = tuple((Impact(i), Urgency(u), Priority(min(4, max(1, i + u - 1))))
               for i in (1, 2, 3) for u in (1, 2, 3))
SCORES = tuple(Satisfaction(score) for score in range(1, 6))
NOTE = NoteVisibility.WORK_NOTE


# -- the data ----------------------------------------------------------------------------------


def _history(number: int, rng: random.Random) -> History:
    """One closed incident's events, built as the entity would record them."""
    ident = f"INC{number:07d}"
    at = START + timedelta(seconds=number * SPACING)
    agent = rng.choice(AGENTS)
    impact, urgency, priority = rng.choice(LEVELS)
    group = rng.choice(GROUPS)
    events: list[IncidentEvent] = [IncidentLogged(
        incident_id=ident, version=1, at=at, actor=agent, from_status="new", to_status="new",
        workflow="itil_incident", title="Something broke", description="", service=rng.choice(
            SERVICES), configuration_items=(), caller=f"user{rng.randrange(5000)}",
        channel=rng.choice(CHANNELS), occurred_at=None, detected_at=None,
        category=rng.choice(CATEGORIES), category_rule=None, impact=impact, urgency=urgency,
        priority=priority, assignment_group=group, support_tier=1, routing_rule=None)]

    def add(event_type: type[IncidentEvent], minutes: float, source: str, target: str,
            actor: Actor, **fields: Any) -> None:
        nonlocal at
        at = at + timedelta(minutes=minutes)
        events.append(event_type(incident_id=ident, version=len(events) + 1, at=at, actor=actor,
                           from_status=source, to_status=target, **fields))

    resolver = agent
    if rng.random() < 0.15:
        add(IncidentResolved, rng.uniform(3, 25), "new", "resolved", agent,
            resolution_code="solved_remotely", resolution_notes="Fixed on the phone")
    else:
        assignee = rng.choice(ENGINEERS)
        add(IncidentAssigned, rng.uniform(1, 120), "new", "assigned", agent,
            assignment_group=group, assignee=assignee, support_tier=1,
            previous_assignment_group=group, previous_assignee=None, previous_support_tier=1)
        resolver = Actor(assignee)
        add(IncidentWorkStarted, rng.uniform(0, 60), "assigned", "in_progress", resolver,
            assignee=assignee, previous_assignee=assignee)
        for _ in range(rng.randrange(4)):
            add(IncidentNoteAdded, rng.uniform(5, 240), "in_progress", "in_progress", resolver,
                text="Investigating", visibility=NOTE)
        if rng.random() < 0.2:
            add(IncidentPutOnHold, rng.uniform(5, 60), "in_progress", "on_hold", resolver,
                hold_reason="awaiting_caller")
            add(IncidentResumed, rng.uniform(30, 2880), "on_hold", "in_progress", resolver,
                previous_hold_reason="awaiting_caller")
        if rng.random() < 0.15:
            other = rng.choice([g for g in GROUPS if g != group])
            new_assignee = rng.choice(ENGINEERS)
            add(IncidentAssigned, rng.uniform(10, 600), "in_progress", "in_progress", resolver,
                assignment_group=other, assignee=new_assignee, support_tier=2,
                previous_assignment_group=group, previous_assignee=assignee,
                previous_support_tier=1)
            group, assignee, resolver = other, new_assignee, Actor(new_assignee)
        escalation = rng.random()
        if escalation < 0.05:
            other = rng.choice([g for g in GROUPS if g != group])
            add(IncidentEscalated, rng.uniform(10, 600), "in_progress", "in_progress", resolver,
                kind=EscalationKind.FUNCTIONAL, reason="Needs tier 3", assignment_group=other,
                support_tier=3, previous_assignment_group=group, previous_support_tier=2,
                previous_assignee=assignee)
            group = other
        elif escalation < 0.08:
            add(IncidentEscalated, rng.uniform(10, 600), "in_progress", "in_progress", resolver,
                kind=EscalationKind.HIERARCHICAL, reason="Customer complaint",
                assignment_group=group, support_tier=1, previous_assignment_group=group,
                previous_support_tier=1, previous_assignee=assignee,
                notified_role="incident_manager")
        if rng.random() < 0.05:
            new_impact, new_urgency, new_priority = rng.choice(LEVELS)
            if new_priority != priority:
                add(IncidentReprioritized, rng.uniform(10, 600), "in_progress", "in_progress",
                    resolver, impact=new_impact, urgency=new_urgency, priority=new_priority,
                    previous_impact=impact, previous_urgency=urgency, previous_priority=priority)
        add(IncidentResolved, rng.uniform(30, 4000), "in_progress", "resolved", resolver,
            resolution_code="solved_permanently", resolution_notes="Fixed")
        if rng.random() < 0.05:
            add(IncidentReopened, rng.uniform(60, 2880), "resolved", "in_progress", agent,
                reason="Happened again", previous_resolution_code="solved_permanently",
                previous_resolution_notes="Fixed")
            add(IncidentResolved, rng.uniform(30, 2000), "in_progress", "resolved", resolver,
                resolution_code="solved_permanently", resolution_notes="Fixed again")
    add(IncidentClosed, rng.uniform(1440, 4320), "resolved", "closed", agent,
        closure_code="solved", caller_confirmed=rng.random() < 0.5,
        satisfaction=rng.choice(SCORES) if rng.random() < 0.4 else None)
    return tuple(events)


def generate(count: int, seed: int = 20260105) -> list[History]:
    rng = random.Random(seed)
    return [_history(number, rng) for number in range(1, count + 1)]


def check_sample(histories: Sequence[History], sample: int = 2000) -> None:
    """Fold a sample through the entity: valid, closed, counters as the histories say."""
    workflow = default_incident_workflow()
    for history in histories[:sample]:
        incident = Incident.from_history(history, workflow)
        assert incident.status == "closed", incident
        reopens = sum(type(e) is IncidentReopened for e in history)
        assert incident.reopen_count == reopens, incident


# -- (b) the hand-written single pass ----------------------------------------------------------


def _quantiles(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    values.sort()
    count = len(values)

    def at(q: float) -> float:
        position = q * (count - 1)
        low = int(position)
        if low + 1 >= count:
            return values[-1]
        return values[low] + (values[low + 1] - values[low]) * (position - low)

    return sum(values) / count, at(0.5), at(0.9)


def hand(histories: Sequence[History]) -> dict[str, Any]:
    """The same figures as the library's report, in one loop over the histories."""
    acknowledge: list[float] = []
    first_resolution: list[float] = []
    final_resolution: list[float] = []
    hops: list[float] = []
    scores: list[float] = []
    incidents = resolved_count = fcr = reopened = reassigned = escalated = 0
    functional_count = hierarchical_count = major_count = closed_count = scored = 0
    volumes: dict[str, dict[Any, int]] = {
        name: {} for name in ("category", "priority", "service", "channel", "group", "period")}
    open_at_end: list[float] = []
    last_event = 0.0
    for history in histories:
        first: Any = history[0]
        logged = first.at.timestamp()
        logged_by = first.actor.id
        status = "new"
        priority = first.priority.level
        major = priority == 1
        category, group = first.category, first.assignment_group
        acknowledged = first_resolved = final = None
        resolver = None
        reopens = reassignments = functional = hierarchical = 0
        disturbed = closed = False
        score = None
        stamp = logged
        for index in range(1, len(history)):
            event: Any = history[index]
            kind = type(event)
            stamp = event.at.timestamp()
            if kind is IncidentAssigned:
                if acknowledged is None and event.assignee is not None:
                    acknowledged = stamp
                previous = event.previous_assignment_group
                group = event.assignment_group
                if previous is not None and group != previous:
                    reassignments += 1
                    disturbed = disturbed or first_resolved is None
            elif kind is IncidentWorkStarted:
                if acknowledged is None:
                    acknowledged = stamp
            elif kind is IncidentResolved:
                if first_resolved is None:
                    first_resolved, resolver = stamp, event.actor.id
                    if acknowledged is None:
                        acknowledged = stamp
                final = stamp
            elif kind is IncidentReopened:
                reopens += 1
                final = None
            elif kind is IncidentClosed:
                closed = True
                rating = event.satisfaction
                score = None if rating is None else rating.score
            elif kind is IncidentEscalated:
                disturbed = disturbed or first_resolved is None
                if event.kind is EscalationKind.FUNCTIONAL:
                    functional += 1
                    if event.previous_assignment_group is not None:
                        reassignments += 1
                    group = event.assignment_group
                else:
                    hierarchical += 1
            elif kind in (IncidentReprioritized, IncidentPriorityOverridden,
                          IncidentPriorityOverrideCleared):
                priority = event.priority.level
                major = major or priority == 1
            elif kind is IncidentCancelled:
                closed = False
            status = event.to_status
        incidents += 1
        last_event = max(last_event, stamp)
        if acknowledged is not None:
            acknowledge.append(acknowledged - logged)
        if first_resolved is not None:
            resolved_count += 1
            first_resolution.append(first_resolved - logged)
            if reopens:
                reopened += 1
            if (resolver == logged_by and not disturbed and not reopens
                    and first_resolved - logged <= FCR_WINDOW):
                fcr += 1
        if final is not None:
            final_resolution.append(final - logged)
        hops.append(float(reassignments))
        reassigned += reassignments > 0
        escalated += (functional + hierarchical) > 0
        functional_count += functional > 0
        hierarchical_count += hierarchical > 0
        major_count += major
        if closed:
            closed_count += 1
            scored += score is not None
        if score is not None:
            scores.append(float(score))
        if status in ("new", "assigned", "in_progress", "on_hold"):
            open_at_end.append(logged)
        for name, value in (("category", None if category is None else str(category)),
                            ("priority", priority), ("service", first.service),
                            ("channel", first.channel.value), ("group", group),
                            ("period", first.at.strftime("%Y-%m"))):
            counts = volumes[name]
            counts[value] = counts.get(value, 0) + 1
    return {
        "incidents": incidents,
        "time_to_acknowledge": _quantiles(acknowledge),
        "time_to_resolve": _quantiles(first_resolution),
        "time_to_final_resolution": _quantiles(final_resolution),
        "first_contact_resolution": fcr / resolved_count if resolved_count else None,
        "reopen": reopened / resolved_count if resolved_count else None,
        "reassignment": reassigned / incidents if incidents else None,
        "hops": _quantiles(hops),
        "escalation": escalated / incidents if incidents else None,
        "functional_escalation": functional_count / incidents if incidents else None,
        "hierarchical_escalation": hierarchical_count / incidents if incidents else None,
        "major_incidents": major_count,
        "satisfaction": _quantiles(scores),
        "satisfaction_response": scored / closed_count if closed_count else None,
        "volumes": volumes,
        "backlog": sorted(last_event - logged for logged in open_at_end),
    }


def check_agreement(report: KpiReport, figures: dict[str, Any]) -> None:
    """The hand loop and the library agree on every figure they both compute."""
    total = report.total

    def close(a: float | None, b: float | None) -> bool:
        return (a is None and b is None) or (
            a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(a)))

    assert total.incidents == figures["incidents"]
    for name in ("time_to_acknowledge", "time_to_resolve", "time_to_final_resolution", "hops",
                 "satisfaction"):
        stat = getattr(total, name)
        for mine, theirs in zip((stat.mean, stat.median, stat.p90), figures[name], strict=True):
            assert close(mine, theirs), (name, mine, theirs)
    for name in ("first_contact_resolution", "reopen", "reassignment", "escalation",
                 "functional_escalation", "hierarchical_escalation", "satisfaction_response"):
        assert close(getattr(total, name).rate, figures[name]), name
    assert total.major_incidents == figures["major_incidents"]
    for dimension, counts in figures["volumes"].items():
        assert report.volumes.of(dimension) == counts, dimension
    assert report.backlog.total.total == len(figures["backlog"])


# -- running -----------------------------------------------------------------------------------


def _timed(function: Callable[[], object]) -> tuple[float, float, object]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run_size(count: int, repeats: int, freeze: bool, business: bool) -> dict[str, Any]:
    gc.collect()
    started = time.perf_counter()
    histories = generate(count)
    generated = time.perf_counter() - started
    events = sum(len(h) for h in histories)
    check_sample(histories)
    if freeze:
        gc.collect()
        gc.freeze()
    variants: dict[str, Callable[[], object]] = {
        "library": lambda: kpi_report(histories),
        "library, grouped": lambda: kpi_report(histories, group_by=["priority"],
                                               bucket="month"),
        "hand": lambda: hand(histories),
    }
    if business:
        office = BusinessCalendar.office("Europe/Paris")
        variants["library, business time"] = lambda: kpi_report(histories, calendar=office)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    results: dict[str, object] = {}
    names = list(variants)
    for round_number in range(repeats):
        for name in names[round_number % len(names):] + names[:round_number % len(names)]:
            wall, cpu, results[name] = _timed(variants[name])
            times[name].append((wall, cpu))
    report = results["library"]
    assert isinstance(report, KpiReport)
    check_agreement(report, results["hand"])  # type: ignore[arg-type]  # hand's dict
    if freeze:
        gc.unfreeze()
    return _summary(count, events, generated, times)


def _summary(count: int, events: int, generated: float,
             times: dict[str, list[tuple[float, float]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"incidents": count, "events": events,
                               "generate_seconds": generated}
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        summary[name] = {"wall_seconds": wall, "cpu_seconds": cpu,
                         "us_per_incident": 1e6 * wall / count,
                         "cpu_us_per_incident": 1e6 * cpu / count}
    summary["ratio_library_to_hand"] = (summary["library"]["wall_seconds"]
                                        / summary["hand"]["wall_seconds"])
    summary["cpu_ratio_library_to_hand"] = (summary["library"]["cpu_seconds"]
                                            / summary["hand"]["cpu_seconds"])
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the generated histories in the collector's view")
    parser.add_argument("--calendar", action="store_true",
                        help="also time the report with business durations on a calendar")
    parser.add_argument("--profile", action="store_true",
                        help="profile one library report at the first size and print the top")
    options = parser.parse_args(argv)
    if options.profile:
        histories = generate(options.sizes[0])
        cProfile.runctx("kpi_report(histories)", globals(), {"histories": histories},
                        "/tmp/kpis.prof")
        pstats.Stats("/tmp/kpis.prof").sort_stats("cumulative").print_stats(20)
        return 0
    print(f"itil-incident {itil_incident.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, {options.repeats} repeats, medians", flush=True)
    summaries = []
    for count in options.sizes:
        summary = run_size(count, options.repeats, not options.no_freeze, options.calendar)
        summaries.append(summary)
        print(f"\n{count:,} incidents ({summary['events']:,} events, generated in "
              f"{summary['generate_seconds']:.1f} s)", flush=True)
        for name in ("library", "library, grouped", "library, business time", "hand"):
            figures = summary.get(name)
            if figures is None:
                continue
            print(f"  {name:<23} {figures['wall_seconds']:8.3f} s wall "
                  f"{figures['us_per_incident']:7.2f} us/incident "
                  f"(cpu {figures['cpu_us_per_incident']:7.2f} us)", flush=True)
        print(f"  library / hand          {summary['ratio_library_to_hand']:.2f}x wall, "
              f"{summary['cpu_ratio_library_to_hand']:.2f}x cpu", flush=True)
    if options.json:
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump({"python": sys.version, "sizes": summaries}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
