"""A host's own incident lifecycle, defined as data: an extra "awaiting approval" state.

Run it with ``python examples/custom_workflow.py``. The script reads the workflow from TOML (as
a host would from its configuration), shows that mistakes in a definition are refused when it
is built, prints the lifecycle as a Mermaid diagram, and takes an incident through the new
state on a desk in memory.
"""

from __future__ import annotations

from datetime import UTC, datetime

from itil_incident import (
    Actor,
    DeskPolicies,
    FieldLookup,
    FrozenClock,
    Guard,
    InMemoryRepository,
    InvalidTransitionError,
    ServiceDesk,
    Workflow,
    WorkflowDefinitionError,
)

#: The lifecycle: the ITIL states, plus "awaiting_approval" between work and resolution, for
#: fixes that change a production configuration. The SLA clocks pause while approval is due.
DEFINITION = """
name = "incident_with_approval"

[[states]]
name = "new"
label = "New"
initial = true

[[states]]
name = "assigned"
label = "Assigned"
required = ["assignment_group"]

[[states]]
name = "in_progress"
label = "In Progress"

[[states]]
name = "on_hold"
label = "On Hold"
pauses_sla = true
required = ["hold_reason"]

[[states]]
name = "awaiting_approval"
label = "Awaiting Approval"
pauses_sla = true

[[states]]
name = "resolved"
label = "Resolved"
resolved = true
required = ["resolution_code", "resolution_notes"]

[[states]]
name = "closed"
label = "Closed"
terminal = true
resolved = true

[[states]]
name = "cancelled"
label = "Cancelled"
terminal = true

[[transitions]]
trigger = "assign"
sources = ["new", "assigned"]
target = "assigned"

[[transitions]]
trigger = "assign"
sources = ["in_progress", "on_hold", "awaiting_approval"]

[[transitions]]
trigger = "start"
sources = ["new", "assigned"]
target = "in_progress"

[[transitions]]
trigger = "hold"
sources = ["assigned", "in_progress"]
target = "on_hold"

[[transitions]]
trigger = "resume"
source = "on_hold"
target = "in_progress"

[[transitions]]
trigger = "request_approval"
source = "in_progress"
target = "awaiting_approval"
guards = ["has_assignee"]

[[transitions]]
trigger = "approve"
source = "awaiting_approval"
target = "in_progress"

[[transitions]]
trigger = "reject"
source = "awaiting_approval"
target = "in_progress"

[[transitions]]
trigger = "resolve"
sources = ["new", "assigned", "in_progress", "on_hold"]
target = "resolved"

[[transitions]]
trigger = "close"
source = "resolved"
target = "closed"

[[transitions]]
trigger = "reopen"
source = "resolved"
target = "in_progress"

[[transitions]]
trigger = "cancel"
sources = ["new", "assigned", "in_progress", "on_hold", "awaiting_approval"]
target = "cancelled"
"""


def has_assignee(fields: FieldLookup) -> bool:
    """Guard: somebody owns the incident (approval is requested by its owner)."""
    return fields("assignee") is not None


GUARDS: dict[str, Guard] = {"has_assignee": has_assignee}


def show_validation() -> None:
    """Two broken definitions, refused when built, each error naming its culprit."""
    unreachable = DEFINITION.replace('source = "in_progress"\ntarget = "awaiting_approval"',
                                     'source = "in_progress"\ntarget = "in_progress"')
    broken: list[tuple[str, str, dict[str, Guard]]] = [
        ("a state nothing leads to", unreachable, GUARDS),
        ("a guard that is not given", DEFINITION, {}),
    ]
    for what, text, guards in broken:
        try:
            Workflow.from_toml(text, guards=guards)
        except WorkflowDefinitionError as error:
            print(f"Refused ({what}): {error} [culprit: {error.culprit}]")


def main() -> None:
    workflow = Workflow.from_toml(DEFINITION, guards=GUARDS)
    print(f"Workflow {workflow.name!r}: {len(workflow.states)} states, "
          f"triggers {', '.join(workflow.triggers)}")
    show_validation()
    print()
    print("Mermaid diagram:")
    print(workflow.to_mermaid())

    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    desk = ServiceDesk(InMemoryRepository(), clock=clock,
                       policies=DeskPolicies(incident_workflow=workflow))
    agent = Actor("alice", "Alice (service desk)", {"agent"})
    engineer = Actor("bob", "Bob (network)", {"agent"})
    approver = Actor("cab", "Change advisory board", {"change_manager"})

    incident = desk.log_incident(actor=agent, title="Firewall rule blocks the ERP",
                                 impact=2, urgency=2)
    print(f"{incident.id} logged with workflow {incident.workflow.name!r}: {incident.status}")
    try:
        desk.transition(incident.id, "request_approval", actor=agent)
    except InvalidTransitionError as refused:
        print(f"Refused: {refused}")
    clock.advance(minutes=10)
    desk.start_work(incident.id, actor=engineer)
    clock.advance(minutes=20)
    incident = desk.transition(incident.id, "request_approval", actor=engineer)
    print(f"{incident.id} is {incident.workflow.state(incident.status).display}; "
          f"allowed now: {', '.join(incident.allowed_triggers())}")
    try:
        desk.resolve(incident.id, actor=engineer, code="solved_permanently",
                     notes="Rule changed")
    except InvalidTransitionError as refused:
        print(f"Refused: {refused}")
    clock.advance(hours=2)
    desk.transition(incident.id, "approve", actor=approver)
    clock.advance(minutes=15)
    incident = desk.resolve(incident.id, actor=engineer, code="solved_permanently",
                            notes="Rule 4711 now allows the ERP subnet")
    print(f"Timeline of {incident.id}:")
    for event in desk.timeline(incident.id):
        print(f"  {event.at:%H:%M}  v{event.version}  {event.name:<24} by {event.actor.id:<5} "
              f"status -> {event.changes().get('status', (None, '-'))[1]}")


if __name__ == "__main__":
    main()
