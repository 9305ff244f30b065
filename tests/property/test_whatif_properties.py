"""Properties of the what-if simulation over random desk histories.

Each example logs a few incidents on a real desk (in-memory repository, frozen clock) and
applies random commands (refused ones are skipped) separated by random steps of time; two
policies on one calendar differ only in their targets, one never stricter than the other.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    BusinessCalendar,
    ServiceDesk,
    SlaAgreement,
    SlaCalendar,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)
from itil_incident.errors import ItilIncidentError
from itil_incident.reporting import ORIGINAL, what_if
from itil_incident.testing import FrozenClock, make_desk

START = datetime(2026, 3, 27, 8, tzinfo=UTC)
AGENT = Actor("alice")
LEVELS = range(1, 6)
CALENDARS: tuple[SlaCalendar, ...] = (BusinessCalendar.always(),
                                      BusinessCalendar.office("Europe/Paris"))
COMMANDS = ("assign", "start", "hold_caller", "hold_vendor", "resume", "resolve", "reopen",
            "close", "note")

minutes = st.integers(min_value=10, max_value=24 * 60)
targets = st.fixed_dictionaries({metric: st.fixed_dictionaries(dict.fromkeys(LEVELS, minutes))
                                 for metric in (SlaMetric.RESPONSE, SlaMetric.RESOLUTION)})


def run(desk: ServiceDesk, incident_id: str, command: str) -> None:
    actions = {
        "assign": lambda: desk.assign(incident_id, actor=AGENT, assignee="bob"),
        "start": lambda: desk.start_work(incident_id, actor=AGENT),
        "hold_caller": lambda: desk.put_on_hold(incident_id, "awaiting_caller", actor=AGENT),
        "hold_vendor": lambda: desk.put_on_hold(incident_id, "awaiting_vendor", actor=AGENT),
        "resume": lambda: desk.resume(incident_id, actor=AGENT),
        "resolve": lambda: desk.resolve(incident_id, actor=AGENT, code="solved_permanently",
                                        notes="Done"),
        "reopen": lambda: desk.reopen(incident_id, actor=AGENT, reason="Again"),
        "close": lambda: desk.close(incident_id, actor=AGENT),
        "note": lambda: desk.add_work_note(incident_id, "Looking", actor=AGENT),
    }
    with contextlib.suppress(ItilIncidentError):
        actions[command]()


@st.composite
def desks(draw: st.DrawFn) -> ServiceDesk:
    clock = FrozenClock(START)
    desk = make_desk(clock=clock)
    ids = []
    for _ in range(draw(st.integers(1, 4))):
        clock.advance(minutes=draw(st.integers(0, 3000)))
        ids.append(desk.log_incident(actor=AGENT, title="Something broke",
                                     impact=draw(st.integers(1, 3)),
                                     urgency=draw(st.integers(1, 3))).id)
    for _ in range(draw(st.integers(0, 14))):
        clock.advance(minutes=draw(st.integers(0, 2000)))
        run(desk, draw(st.sampled_from(ids)), draw(st.sampled_from(COMMANDS)))
    return desk


def policy(chosen: dict[SlaMetric, dict[int, int]], calendar: SlaCalendar,
           extra: dict[SlaMetric, dict[int, int]] | None = None) -> SlaPolicy:
    def target(metric: SlaMetric, level: int) -> timedelta:
        more = 0 if extra is None else extra[metric][level]
        return timedelta(minutes=chosen[metric][level] + more)

    return SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=START - timedelta(days=1), fallback="all",
        agreements=[SlaAgreement(name="all", calendar=calendar, targets={
            metric: {level: target(metric, level) for level in LEVELS} for metric in chosen})]))


@settings(max_examples=50, deadline=None)
@given(desk=desks(), strict=targets, extra=targets, calendar=st.sampled_from(CALENDARS),
       late=st.none() | st.integers(0, 5000))
def test_looser_targets_never_breach_more_clocks_than_stricter_ones(
        desk: ServiceDesk, strict: dict[SlaMetric, dict[int, int]],
        extra: dict[SlaMetric, dict[int, int]], calendar: SlaCalendar, late: int | None) -> None:
    at = None if late is None else desk.clock.now() + timedelta(minutes=late)
    report = what_if(desk.list_incidents(), original=policy(strict, calendar),
                     alternatives={"looser": policy(strict, calendar, extra)}, at=at)
    for cell in report.cells:
        stricter, looser = cell.of(ORIGINAL), cell.of("looser")
        assert looser.breached <= stricter.breached, cell
        assert looser.met >= stricter.met, cell
        assert looser.clocks == stricter.clocks, cell
    for metric in ("response", "resolution"):
        stricter_total, looser_total = report.totals(metric)
        assert looser_total.breached <= stricter_total.breached


@settings(max_examples=30, deadline=None)
@given(desk=desks(), chosen=targets, calendar=st.sampled_from(CALENDARS))
def test_an_alternative_equal_to_the_original_gives_the_same_counts(
        desk: ServiceDesk, chosen: dict[SlaMetric, dict[int, int]],
        calendar: SlaCalendar) -> None:
    report = what_if(desk.list_incidents(), original=policy(chosen, calendar),
                     alternatives={"same": policy(chosen, calendar)})
    for cell in report.cells:
        original, same = cell.of(ORIGINAL).to_dict(), cell.of("same").to_dict()
        del original["policy"], same["policy"]
        assert original == same
