"""SLA clocks on a business calendar with holidays, and the rules that pause them.

Run it with ``python examples/sla_calendar.py``. The Paris office works 9:00-18:00 with a lunch
break, Monday to Friday; 1 May is a holiday every year, Ascension Thursday 2026 a one-off
holiday, and the office closes early on 13 May 2026. An incident logged on the last afternoon
of April waits over the long weekend without losing business time; a hold for the caller
pauses its clocks, a hold for the vendor does not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from itil_incident import (
    Actor,
    BusinessCalendar,
    ClockState,
    DeskPolicies,
    FrozenClock,
    InMemoryRepository,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)

PARIS = ZoneInfo("Europe/Paris")
HOUR = timedelta(hours=1)


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given in Paris wall-clock time, as the calendar's users think of it."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def local(instant: datetime | None) -> str:
    return "-" if instant is None else f"{instant.astimezone(PARIS):%a %d %b %H:%M}"


def office_calendar() -> BusinessCalendar:
    return BusinessCalendar.office(
        "Europe/Paris", start=time(9), end=time(18), lunch=(time(12, 30), time(13, 30)),
        name="Paris office",
        yearly_holidays=[(1, 1), (5, 1), (5, 8), (7, 14), (12, 25)],
        holidays=[date(2026, 5, 14)],                                  # Ascension 2026
        closures=[(paris(2026, 5, 13, 15), paris(2026, 5, 13, 18))],  # closing early
    )


def show_calendar(calendar: BusinessCalendar) -> None:
    print(f"{calendar.name} ({calendar.timezone}):")
    start = paris(2026, 4, 30, 16)
    for hours in (2, 8, 16):
        due = calendar.add(start, hours * HOUR)
        print(f"  {hours:>2} business hours from {local(start)}: due {local(due)}")
    print(f"  business time {local(paris(2026, 4, 30, 9))} .. {local(paris(2026, 5, 5, 9))}:"
          f" {calendar.between(paris(2026, 4, 30, 9), paris(2026, 5, 5, 9))}")
    for instant in (paris(2026, 5, 1, 10), paris(2026, 5, 13, 16), paris(2026, 5, 15, 10)):
        working = "working time" if calendar.is_working(instant) else (
            f"closed, work resumes {local(calendar.next_working(instant))}")
        print(f"  {local(instant)}: {working}")


def show_clock(clock: ClockState) -> None:
    print(f"  {clock.metric:<10} {clock.status:<8} due {local(clock.due_at):<16} "
          f"counted {clock.business_elapsed} of {clock.target}, remaining {clock.remaining}")


def main() -> None:
    calendar = office_calendar()
    show_calendar(calendar)

    agreement = SlaAgreement(
        name="Office hours", calendar=calendar,
        targets={SlaMetric.RESPONSE: {1: 0.5 * HOUR, 2: 1 * HOUR, 3: 4 * HOUR, 4: 8 * HOUR,
                                      5: 16 * HOUR},
                 SlaMetric.RESOLUTION: {1: 4 * HOUR, 2: 8 * HOUR, 3: 16 * HOUR,
                                        4: 32 * HOUR, 5: 64 * HOUR}},
        pause_hold_reasons={"awaiting_caller"},        # waiting on the vendor is our problem
    )
    policy = SlaPolicy.single("Office SLA", SlaPolicyVersion(
        version=1, effective_from=datetime(2026, 1, 1, tzinfo=UTC), agreements=(agreement,),
        fallback="Office hours"))

    clock = FrozenClock(paris(2026, 4, 30, 16))           # Thursday before 1 May
    desk = ServiceDesk(InMemoryRepository(), clock=clock, policies=DeskPolicies(sla=policy))
    agent = Actor("alice", "Alice (service desk)", {"agent"})
    incident = desk.log_incident(actor=agent, title="Label printer in the warehouse jams",
                                 impact=2, urgency=2)              # priority 3: 16 hours
    print(f"\n{incident.id} logged {local(clock.now())}, priority {incident.priority}:")
    for sla_clock in desk.sla_status(incident.id):
        show_clock(sla_clock)

    clock.set(paris(2026, 5, 4, 9, 30))                    # Monday after the long weekend
    desk.start_work(incident.id, actor=agent)
    desk.put_on_hold(incident.id, "awaiting_caller", actor=agent,
                     note="Which label size do you print?")
    clock.set(paris(2026, 5, 4, 15))
    desk.resume(incident.id, actor=agent)
    print(f"\nAfter a hold for the caller, {local(paris(2026, 5, 4, 9, 30))} .. "
          f"{local(clock.now())} (paused):")
    for sla_clock in desk.sla_status(incident.id):
        show_clock(sla_clock)

    desk.put_on_hold(incident.id, "awaiting_vendor", actor=agent)
    clock.set(paris(2026, 5, 5, 12))
    print(f"\nOn hold for the vendor since Monday 15:00, at {local(clock.now())} (counting):")
    resolution = desk.sla_status(incident.id)[1]
    show_clock(resolution)

    clock.set(paris(2026, 5, 7, 17))
    print(f"\nAt {local(clock.now())}:")
    resolution = desk.sla_status(incident.id)[1]
    show_clock(resolution)
    print()
    print(resolution.explanation)


if __name__ == "__main__":
    main()
