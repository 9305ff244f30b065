"""A morning at a service desk: incidents and a problem through their whole lifecycle.

Run it with ``python examples/lifecycle.py``. Everything happens in memory, on the library's
ITIL defaults (ServiceNow priority matrix, category tree, routing table, incident and problem
workflows), with a clock that the script moves forward by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime

from itil_incident import (
    Actor,
    Channel,
    DomainEvent,
    FrozenClock,
    InMemoryRepository,
    InvalidTransitionError,
    RecordingNotifier,
    ServiceDesk,
)


def short(value: object, width: int = 40) -> str:
    """A value as text, cut to ``width`` characters."""
    text = ", ".join(value) if isinstance(value, tuple) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def describe(event: DomainEvent) -> str:
    """One readable line for an event: time, version, name, actor and what changed."""
    changes = event.changes()
    shown = "; ".join(
        f"{field}: {short(before)} -> {short(after)}" if before is not None
        else f"{field}={short(after)}"
        for field, (before, after) in changes.items()
        if after not in ("", (), None) or before is not None
    )
    return (f"  {event.at:%H:%M}  v{event.version:<2} {event.name:<30} by {event.actor.id:<6} "
            f"{shown}")


def main() -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    notifier = RecordingNotifier()
    desk = ServiceDesk(InMemoryRepository(), clock=clock, notifier=notifier)
    agent = Actor("alice", "Alice (service desk)", {"agent"})
    engineer = Actor("bob", "Bob (network)", {"resolver"})
    manager = Actor("maria", "Maria (problem manager)", {"problem_manager"})

    # 08:30 A user phones: the VPN keeps dropping. Categorized and routed on logging.
    vpn = desk.log_incident(
        actor=agent, title="VPN drops every few minutes",
        description="Since this morning the VPN client disconnects every 5 minutes.",
        caller="carol", channel=Channel.PHONE, service="Remote Access",
        configuration_items=["vpn-gw-01"], impact=2, urgency=1,
    )
    print(f"{vpn.id} logged: {vpn.category} -> {vpn.assignment_group} (tier {vpn.support_tier}),"
          f" priority {vpn.priority}")

    clock.advance(minutes=10)
    desk.assign(vpn.id, actor=agent, assignee="bob")
    clock.advance(minutes=5)
    desk.start_work(vpn.id, actor=engineer)
    clock.advance(minutes=20)
    desk.put_on_hold(vpn.id, "awaiting_caller", actor=engineer,
                     note="Which VPN client version do you run?")
    clock.advance(minutes=45)
    desk.resume(vpn.id, actor=engineer)
    desk.add_work_note(vpn.id, "Client 5.1 on Windows; gateway logs show DPD timeouts.",
                       actor=engineer)
    clock.advance(minutes=15)
    desk.escalate(vpn.id, actor=engineer, reason="Gateway configuration needs engineering")
    clock.advance(minutes=30)
    desk.resolve(vpn.id, actor=engineer, code="solved_workaround",
                 notes="Raised the dead-peer-detection timeout on vpn-gw-01.")

    # 09:45 Another user reports the same symptom; it is resolved at first contact.
    clock.advance(minutes=5)
    second = desk.log_incident(actor=agent, title="VPN disconnects again and again",
                               caller="dave", channel=Channel.CHAT, service="Remote Access",
                               configuration_items=["vpn-gw-01"])
    desk.resolve(second.id, actor=agent, code="solved_workaround",
                 notes="Applied the known workaround: reconnect with client 5.2.")

    # The recurring symptom becomes a problem and, once understood, a known error.
    clock.advance(minutes=10)
    problem = desk.open_problem(actor=manager, title="VPN gateway drops sessions",
                                incident_ids=[vpn.id, second.id])
    desk.start_investigation(problem.id, actor=manager)
    desk.record_workaround(problem.id, "Reconnect with VPN client 5.2", actor=manager)
    desk.record_root_cause(problem.id, "Faulty NIC firmware on vpn-gw-01", actor=manager,
                           category="Network/VPN")
    desk.mark_known_error(problem.id, actor=manager)


    # The first caller says it is not fixed: reopen, fix, confirm, close with a rating.
    clock.advance(minutes=20)
    desk.reopen(vpn.id, actor=agent, reason="Caller still sees drops every 30 minutes")
    clock.advance(minutes=40)
    desk.resolve(vpn.id, actor=engineer, code="solved_permanently",
                 notes="Replaced the gateway's faulty NIC.")
    clock.advance(hours=1)
    desk.close(vpn.id, actor=agent, caller_confirmed=True, satisfaction=4,
               satisfaction_comment="Took two tries, but fixed")
    desk.close(second.id, actor=agent, caller_confirmed=True, satisfaction=5)

    clock.advance(hours=4)
    desk.resolve_problem(problem.id, "NIC firmware upgraded on every gateway", actor=manager)

    # A closed incident never changes: the workflow refuses, naming what is allowed.
    try:
        desk.reopen(vpn.id, actor=agent, reason="one more time")
    except InvalidTransitionError as refused:
        print(f"refused as expected: {refused}")

    for record_id in (vpn.id, second.id, problem.id):
        print(f"\nTimeline of {record_id}:")
        for event in desk.timeline(record_id):
            print(describe(event))

    final = desk.get_incident(vpn.id)
    print(f"\n{final.id}: status {final.status}, reopened {final.reopen_count}x, "
          f"reassigned {final.reassignment_count}x, satisfaction "
          f"{final.satisfaction.score if final.satisfaction else '-'}/5")
    print(f"{len(notifier.events)} events were handed to the notifier.")


if __name__ == "__main__":
    main()
