"""Host code against the public API, checked by ``mypy --strict`` and run by pytest.

Two parts. First, what a host writes around the desk: its own adapters for the ports (checked
structurally against the Protocols, no base class), a small application service that takes
any ``Repository``, a notifier that forwards to a queue, and code over the SQL storage, the
reporting and the testing kit. Second, ``assert_type`` on the return type of every main desk
command and query, so that a change of a public signature shows up here under mypy. The
``assert_type`` calls cost nothing at run time; the ordinary asserts check the values.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, assert_type

import pytest
from hypothesis import strategies as st

from itil_incident import (
    SYSTEM,
    Actor,
    Authorizer,
    BusinessCalendar,
    ClockState,
    ClockStatus,
    DeskPolicies,
    DomainEvent,
    DueReport,
    FrozenClock,
    IdFactory,
    Incident,
    IncidentEvent,
    IncidentQuery,
    InMemoryRepository,
    ItilIncidentError,
    Notifier,
    Page,
    PageCursor,
    PriorityMatrix,
    Problem,
    ProblemQuery,
    Repository,
    RetryPolicy,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    Workflow,
    default_incident_workflow,
    format_id,
)
from itil_incident.adapters.sql import (
    OutboxRelay,
    RelayReport,
    SqlRepository,
    create_schema,
    event_from_dict,
    event_to_dict,
)
from itil_incident.notifications import (
    Recipient,
    StaticDirectory,
    Subscription,
    SubscriptionRules,
    TemplateSet,
    event_payload,
)
from itil_incident.reporting import KpiFigures, KpiReport, kpi_report
from itil_incident.testing import DEFAULT_START, RecordingNotifier, make_desk
from itil_incident.testing import strategies as its

AGENT = Actor("alice", "Alice", frozenset({"agent"}))
MANAGER = Actor("mia", "Mia", frozenset({"agent", "problem_manager"}))
HOUR = timedelta(hours=1)


# ----------------------------------------------------------------- a host's own adapters


class QueueNotifier:
    """Forwards event names to a queue that a worker of the host drains."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[tuple[str, str, int]] = queue.SimpleQueue()

    def notify(self, events: Sequence[DomainEvent]) -> None:
        for event in events:
            self.queue.put((event.name, event.aggregate_id, event.version))


class TicketNumbers:
    """Ids in the host's format: ``IT-2026-00001``."""

    def __init__(self, year: int) -> None:
        self.year = year
        self.incidents = 0
        self.problems = 0

    def next_incident_id(self) -> str:
        self.incidents += 1
        return f"IT-{self.year}-{self.incidents:05d}"

    def next_problem_id(self) -> str:
        self.problems += 1
        return f"PB-{self.year}-{self.problems:05d}"


class OwnersOnly:
    """Agents may change only what their group owns; anyone may log."""

    def __init__(self, groups: dict[str, str]) -> None:
        self.groups = groups  # actor id -> group

    def is_allowed(self, actor: Actor, action: str, subject: Incident | Problem | None) -> bool:
        if subject is None or isinstance(subject, Problem):
            return True
        return subject.assignment_group in (None, self.groups.get(actor.id))


class OpenIncidents:
    """A host's application service: it needs any Repository, not a particular one."""

    def __init__(self, repository: Repository) -> None:
        self.repository = repository

    def ids_by_priority(self) -> list[str]:
        query = IncidentQuery(open=True, order_by="priority")
        return [incident.id for incident in self.repository.list_incidents(query)]

    def known_errors(self) -> list[Problem]:
        return self.repository.list_problems(ProblemQuery(known_error=True))


def sla_policy() -> SlaPolicy:
    agreement = SlaAgreement(name="24x7", calendar=BusinessCalendar.always(), targets={
        SlaMetric.RESPONSE: dict.fromkeys(range(1, 6), HOUR),
        SlaMetric.RESOLUTION: dict.fromkeys(range(1, 6), 8 * HOUR),
    })
    return SlaPolicy.single("SLA", SlaPolicyVersion(
        version=1, effective_from=DEFAULT_START - timedelta(days=1), agreements=(agreement,),
        fallback="24x7"))


def test_host_adapters_satisfy_the_ports_structurally() -> None:
    notifier: Notifier = QueueNotifier()
    ids: IdFactory = TicketNumbers(2026)
    authorizer: Authorizer = OwnersOnly({"alice": "Network Support"})
    repository: Repository = InMemoryRepository()
    desk = ServiceDesk(repository, notifier=notifier, ids=ids, authorizer=authorizer,
                       clock=FrozenClock(DEFAULT_START))

    incident = desk.log_incident(actor=AGENT, title="VPN drops every few minutes")
    assert incident.id == "IT-2026-00001"
    assert incident.assignment_group == "Network Support"
    assert isinstance(notifier, QueueNotifier)
    assert notifier.queue.get_nowait() == ("incident.logged", "IT-2026-00001", 1)
    assert OpenIncidents(repository).ids_by_priority() == ["IT-2026-00001"]
    assert OpenIncidents(repository).known_errors() == []


def test_host_code_over_sql_storage_reporting_and_notifications(tmp_path: Path) -> None:
    repository = SqlRepository.from_url(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    assert_type(repository, SqlRepository)
    create_schema(repository.engine)
    service = OpenIncidents(repository)           # an SqlRepository is a Repository
    clock = FrozenClock(DEFAULT_START)
    desk = ServiceDesk(repository, clock=clock, policies=DeskPolicies(sla=sla_policy()))
    incident = desk.log_incident(actor=AGENT, title="Printer jams", caller="carol")
    assert service.ids_by_priority() == [incident.id]

    stored: dict[str, Any] = event_to_dict(desk.timeline(incident.id)[0])
    assert_type(event_from_dict(stored), DomainEvent)
    assert_type(event_payload(desk.timeline(incident.id)[0]), dict[str, Any])

    delivered = RecordingNotifier()
    report = OutboxRelay(repository, delivered, clock=clock).drain()
    assert_type(report, RelayReport)
    assert report.delivered == 1
    assert_type(delivered.events, list[DomainEvent])

    rules = SubscriptionRules([Subscription(("incident.*",), (Recipient.caller(),))])
    addressees = rules.recipients_for(delivered.events[0], desk.get_incident(incident.id))
    assert [(a.kind, a.key) for a in addressees] == [("caller", "carol")]
    assert "default" in TemplateSet.defaults()
    assert StaticDirectory(people={"carol": "carol@example.org"}).addresses_for(
        addressees[0].kind, "carol") == ("carol@example.org",)

    kpis = kpi_report(desk.list_incidents(), at=clock.now())
    assert_type(kpis, KpiReport)
    assert_type(kpis.total, KpiFigures)
    assert kpis.total.incidents == 1
    repository.close()


def test_the_testing_kit_is_typed_for_host_tests() -> None:
    desk = make_desk(policies=DeskPolicies(priority_matrix=PriorityMatrix.glpi()))
    assert_type(desk, ServiceDesk)
    assert_type(its.titles(), st.SearchStrategy[str])
    assert_type(its.actors(), st.SearchStrategy[Actor])
    assert_type(its.incidents(), st.SearchStrategy[Incident])
    assert_type(its.log_arguments(), st.SearchStrategy[dict[str, Any]])
    command = its.Command("add_work_note", {"text": "Checked the cabling"})
    incident = desk.log_incident(actor=AGENT, title="Switch port dead")
    changed = its.apply_command(desk, incident.id, AGENT, command)
    assert_type(changed, Incident)
    assert changed.version == 2


# ----------------------------------------------------------------- return types of the desk


def test_every_main_desk_command_and_query_returns_its_promised_type() -> None:
    clock = FrozenClock(DEFAULT_START)
    desk = make_desk(clock=clock, policies=DeskPolicies(sla=sla_policy()))
    first = desk.log_incident(actor=AGENT, title="VPN drops every few minutes", impact=2,
                              urgency=1)
    second = desk.log_incident(actor=AGENT, title="VPN down for the Lyon office")
    i, j = first.id, second.id

    # Incident commands return the changed incident.
    assert_type(first, Incident)
    assert_type(desk.update_details(i, actor=AGENT, description="Since 8:00"), Incident)
    assert_type(desk.categorize(i, "Network/WAN", actor=AGENT), Incident)
    assert_type(desk.change_impact_urgency(i, actor=AGENT, urgency=2), Incident)
    assert_type(desk.override_priority(i, 1, actor=AGENT, justification="CEO"), Incident)
    assert_type(desk.clear_priority_override(i, actor=AGENT), Incident)
    assert_type(desk.assign(i, actor=AGENT, assignee="bob"), Incident)
    assert_type(desk.start_work(i, actor=AGENT), Incident)
    assert_type(desk.put_on_hold(i, "awaiting_caller", actor=AGENT), Incident)
    assert_type(desk.resume(i, actor=AGENT), Incident)
    assert_type(desk.add_work_note(i, "Checked the gateway", actor=AGENT), Incident)
    assert_type(desk.add_comment(i, "We are on it", actor=AGENT), Incident)
    assert_type(desk.escalate(i, actor=AGENT, reason="Needs tier 3"), Incident)
    assert_type(desk.set_custom_attribute(i, "site", "Lyon", actor=AGENT), Incident)
    assert_type(desk.link_change(i, "CHG0000042", actor=AGENT, caused_by=True), Incident)
    assert_type(desk.link_related(i, j, actor=AGENT), Incident)
    assert_type(desk.set_parent(j, i, actor=AGENT), Incident)
    assert_type(desk.resolve(i, actor=AGENT, code="solved_permanently", notes="Fixed"),
                Incident)
    assert_type(desk.reopen(i, actor=AGENT, reason="Again"), Incident)
    assert_type(desk.resolve(i, actor=AGENT, code="solved_workaround", notes="Rebooted"),
                Incident)
    closed = desk.close(i, actor=AGENT, caller_confirmed=True, satisfaction=4)
    assert_type(closed, Incident)
    assert closed.is_terminal
    # j, a child of i, was resolved with it (cascade); a third incident is cancelled.
    assert desk.get_incident(j).resolution_code == "solved_permanently"
    k = desk.log_incident(actor=AGENT, title="Logged twice by mistake").id
    assert_type(desk.cancel(k, actor=AGENT, reason="Logged in error"), Incident)

    # Queries.
    assert_type(desk.get_incident(i), Incident)
    assert_type(desk.timeline(i), list[DomainEvent])
    assert_type(desk.list_incidents(open=False, order_by="logged_at"), list[Incident])
    page = desk.page_incidents(limit=1)
    assert_type(page, Page[Incident])
    assert_type(page.items, tuple[Incident, ...])
    assert_type(page.next_cursor, PageCursor | None)
    assert page.next_cursor is not None
    assert [x.id for x in desk.page_incidents(after=page.next_cursor.encode()).items] == [j, k]

    # Problems.
    third = desk.log_incident(actor=AGENT, title="Payroll export fails")
    problem = desk.open_problem(actor=MANAGER, title="Export job fails nightly",
                                incident_ids=[third.id])
    p = problem.id
    assert_type(problem, Problem)
    extra = desk.log_incident(actor=AGENT, title="Payroll export empty")
    assert_type(desk.link_to_problem(extra.id, p, actor=AGENT), Incident)
    assert_type(desk.unlink_from_problem(extra.id, actor=AGENT), Incident)
    assert_type(desk.assign_problem(p, actor=MANAGER, group="Application Support"), Problem)
    assert_type(desk.start_investigation(p, actor=MANAGER), Problem)
    assert_type(desk.record_root_cause(p, "Timeout too short", actor=MANAGER), Problem)
    assert_type(desk.record_workaround(p, "Run it twice", actor=MANAGER), Problem)
    assert_type(desk.mark_known_error(p, actor=MANAGER), Problem)
    assert_type(desk.change_problem_impact_urgency(p, actor=MANAGER, impact=1), Problem)
    assert_type(desk.add_problem_note(p, "Vendor informed", actor=MANAGER), Problem)
    assert_type(desk.resolve_problem(p, "Timeout raised", actor=MANAGER), Problem)
    assert_type(desk.close_problem(p, actor=MANAGER), Problem)
    assert_type(desk.get_problem(p), Problem)
    assert_type(desk.list_problems(known_error=True), list[Problem])
    assert_type(desk.page_problems(limit=5), Page[Problem])

    # Time-driven processing and SLA queries.
    fourth = desk.log_incident(actor=AGENT, title="Printer jams")
    clock.advance(hours=9)
    report = desk.process_due()
    assert_type(report, DueReport)
    assert_type(report.events, tuple[IncidentEvent, ...])
    assert report.at == clock.now()
    clocks = desk.sla_status(fourth.id)
    assert_type(clocks, tuple[ClockState, ...])
    assert [c.status for c in clocks] == [ClockStatus.BREACHED, ClockStatus.BREACHED]
    late = desk.list_by_sla("breached", limit=10)
    assert_type(late, list[tuple[Incident, ClockState]])
    assert {incident.id for incident, _ in late} == {third.id, extra.id, fourth.id}  # open ones

    # Desk variants and errors.
    assert_type(desk.with_retry(RetryPolicy(attempts=3)), ServiceDesk)
    with pytest.raises(ItilIncidentError, match="resume") as refused:
        desk.resume(fourth.id, actor=SYSTEM)
    assert_type(refused.value, ItilIncidentError)


def test_definitions_and_values_have_precise_types() -> None:
    workflow = Workflow.from_dict(default_incident_workflow().to_dict())
    assert_type(workflow, Workflow)
    assert_type(workflow.allowed("new"), tuple[str, ...])
    assert_type(workflow.to_mermaid(), str)
    assert_type(PriorityMatrix.from_dict(PriorityMatrix.itil().to_dict()), PriorityMatrix)
    calendar = BusinessCalendar.office("Europe/Paris")
    due = calendar.add(datetime(2026, 3, 6, 15, tzinfo=UTC), 2 * HOUR)
    assert_type(due, datetime)
    assert due == datetime(2026, 3, 9, 9, tzinfo=UTC)       # Friday 16:00 -> Monday 10:00
    assert_type(calendar.between(DEFAULT_START, due), timedelta)
    assert_type(format_id("CHG", 7), str)
