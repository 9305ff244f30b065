"""The demo week: incidents arriving through every channel from Monday to Friday, worked,
held, escalated, resolved, reopened and closed; monitoring alerts folded into the incidents
they open, recovering, one key flapping; a major outage accepted as a major incident, with its
roles, status updates on cadence, children, problem and post-incident review; a printer that
keeps jamming until the problem manager's daily recurring-incident review raises a problem.

Everything goes through the real desk on the real database; ``process_due`` runs every 30
minutes of office time, so SLA stages, escalations and priority raises happen as they would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from itil_incident.adapters.clocks import FrozenClock
from itil_incident.cli._demo_data import (
    ARRIVAL_HOURS,
    CALLERS,
    DESK_AGENTS,
    MONDAY,
    PROBLEM_MANAGER,
    SATISFACTION,
    TEMPLATES,
    USER_CHANNELS,
    Template,
)
from itil_incident.cli._demo_engine import Simulation, Story, Wait, minutes
from itil_incident.desk import ServiceDesk
from itil_incident.domain.values import Actor, Channel, EscalationKind
from itil_incident.reporting.recurring import find_recurring

__all__ = ["PARIS", "WorkingWeek"]

PARIS: Final = ZoneInfo("Europe/Paris")
_MONITORING: Final = Actor("monitoring", "Monitoring")
_INTEGRATION: Final = Actor("integration", "Integration API")
_MANAGER: Final = Actor(PROBLEM_MANAGER, "Problem manager")
#: The incident manager on duty: accepts major incidents.
_INCIDENT_MANAGER: Final = Actor("alice", "Alice", frozenset({"incident_manager"}))
_AT_THE_DESK: Final = (Channel.PHONE, Channel.CHAT, Channel.WALK_IN)
#: Business minutes before someone takes an incident, by priority level.
_RESPONSE: Final = {1: (2, 10), 2: (5, 25), 3: (10, 90), 4: (20, 240), 5: (60, 480)}
#: Business minutes of work from start to resolution, by priority level.
_WORK: Final = {1: (30, 180), 2: (60, 360), 3: (120, 900), 4: (180, 1500), 5: (300, 2000)}
_CODES: Final = ("solved_permanently", "solved_permanently", "solved_workaround",
                 "solved_remotely")
_OUTAGE_REPORTS: Final = (
    (4, "SAP not responding", Channel.PHONE), (6, "Cannot post invoices in SAP", Channel.EMAIL),
    (9, "ERP login hangs", Channel.CHAT), (13, "Orders stuck in SAP", Channel.PORTAL),
    (18, "SAP error: database not available", Channel.PHONE),
    (27, "Warehouse cannot print delivery notes from ERP", Channel.WALK_IN),
    (41, "SAP down for the whole finance team", Channel.EMAIL),
)
#: When the floor-3 printer jams: (day, hour, minute) in Paris, Monday = 0.
_JAMS: Final = ((0, 9, 40), (0, 15, 10), (1, 11, 20), (2, 9, 5), (2, 14, 30), (3, 10, 15),
                (4, 9, 50))
_PRINTER: Final = "PRN-FL3-01"
#: Status updates of the major outage, in turn, every 25 minutes while it is being worked.
_UPDATES: Final = (
    ("internal", "ERP database cluster down; storage team engaged, failover loop analysed."),
    ("stakeholders", "ERP is unavailable company-wide; next update in 30 minutes."),
    ("affected_users", "ERP is down; please do not retry postings, we will tell you when "
                       "it is back."),
)
#: Monitoring alerts: (day, hour, minute, source, key, service, configuration item, summary,
#: [(minutes after the first alert, severity)]). A repeat folds into the key's incident; a
#: "clear" resolves it; wifi-ap-3 flaps (it goes up and down too often) and is held.
_ALERTS: Final = (
    (0, 11, 5, "zabbix", "mail-01/disk-var", "Email", "mail-01",
     "Disk /var above 90% on mail-01",
     [(0, "minor"), (5, "minor"), (10, "minor"), (15, "minor"), (20, "major"), (25, "major"),
      (30, "major"), (35, "minor"), (65, "clear")]),
    (2, 14, 0, "prometheus", "vpn-gw-2/latency", "VPN", "vpn-gw-2",
     "VPN gateway vpn-gw-2 latency above 300 ms",
     [(0, "warning"), (10, "warning"), (20, "minor"), (30, "warning"), (40, "warning"),
      (55, "clear")]),
    (3, 10, 0, "zabbix", "wifi-ap-3/link", "Network", "wifi-ap-3",
     "Access point wifi-ap-3 link down",
     [(0, "minor"), (4, "clear"), (9, "minor"), (13, "clear"), (18, "minor"), (22, "clear"),
      (27, "minor"), (31, "clear"), (36, "minor"), (40, "minor"), (45, "clear")]),
)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of the demo week, given in Paris time."""
    date = MONDAY.astimezone(PARIS).date() + timedelta(days=day)
    return datetime.combine(date, time(hour, minute), PARIS).astimezone(MONDAY.tzinfo)


class WorkingWeek(Simulation):
    """Monday 07:00 to Friday 20:00 in Paris, a function of the seed."""

    START: Final = _local(0, 7)
    END: Final = _local(4, 20)

    def __init__(self, desk: ServiceDesk, seed: int) -> None:
        clock = desk.clock
        if not isinstance(clock, FrozenClock):
            raise TypeError("the demo needs a desk on a FrozenClock")
        super().__init__(desk, clock, seed)
        self.printer_problem: str | None = None
        #: The problems the daily recurring-incident review opened.
        self.recurring_problems: list[str] = []

    def ticks(self) -> list[datetime]:
        """Every 30 minutes from Monday 07:00 to Friday 20:00, nights included."""
        count = (self.END - self.START) // minutes(30)
        return [self.START + minutes(30 * n) for n in range(count + 1)]

    def play(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Plan the week and run it."""
        users = [(t, t.weight) for t in TEMPLATES if t.machine is None]
        machines = [(t, t.weight) for t in TEMPLATES if t.machine is not None]
        rng = self.rng
        for day in range(5):
            for _ in range(rng.randint(34, 42)):
                hour = self.pick(ARRIVAL_HOURS)
                self.begin(self._incident(self.pick(users)),
                           _local(day, hour, rng.randrange(60)) + timedelta(
                               seconds=rng.randrange(60)))
            for _ in range(rng.randint(2, 4)):
                self.begin(self._incident(self.pick(machines)),
                           _local(day, 0) + timedelta(minutes=rng.randrange(24 * 60)))
        self.begin(self._outage(), _local(1, 10, 12))
        for number, (day, hour, minute) in enumerate(_JAMS):
            self.begin(self._jam(number), _local(day, hour, minute))
        for day, hour, minute, source, key, service, item, summary, steps in _ALERTS:
            self.begin(self._alerts(source, key, service, item, summary, steps),
                       _local(day, hour, minute))
        for day in range(5):
            self.begin(self._recurring_review(), _local(day, 16, 30))
        self.run(self.ticks(), progress)

    # ----------------------------------------------------------------- everyday incidents

    def _incident(self, template: Template) -> Story:
        rng = self.rng
        channel = template.machine or self.pick(USER_CHANNELS)
        caller = None if template.machine else rng.choice(CALLERS)
        impact, urgency = template.impact, template.urgency
        roll = rng.random()
        if roll < 0.15:
            urgency = max(1, urgency - 1)
        elif roll < 0.25:
            urgency = min(3, urgency + 1)
        if rng.random() < 0.1:
            impact = max(1, impact - 1)
        if channel is Channel.MONITORING:
            logger = _MONITORING
        elif channel is Channel.API:
            logger = _INTEGRATION
        elif channel is Channel.PORTAL and caller is not None:
            logger = Actor(caller)
        else:
            logger = Actor(rng.choice(DESK_AGENTS))
        incident = self.desk.log_incident(
            actor=logger, title=template.title, description=template.description,
            service=template.service, configuration_items=template.cis, caller=caller,
            channel=channel, impact=impact, urgency=urgency)
        if template.quick and channel in _AT_THE_DESK and rng.random() < 0.85:
            yield from self._first_contact(incident.id, logger, caller)
        else:
            yield from self._worked(incident.id, caller)

    def _first_contact(self, incident_id: str, agent: Actor, caller: str | None) -> Story:
        """Solved while the caller is on the line (or at the desk)."""
        self.desk.start_work(incident_id, actor=agent)
        yield Wait(minutes(self.rng.randint(3, 15)), business=False)
        self.desk.resolve(incident_id, actor=agent, code="solved_remotely",
                          notes="Solved with the caller on the line.")
        yield from self._closure(incident_id, caller)

    def _worked(self, incident_id: str, caller: str | None) -> Story:
        """Taken by the group it was routed to, worked (maybe held or escalated), resolved."""
        rng, desk = self.rng, self.desk
        fate = rng.random()
        if fate < 0.04:
            yield Wait(minutes(rng.randint(10, 60)))
            desk.cancel(incident_id, actor=Actor(rng.choice(DESK_AGENTS)),
                        reason="Duplicate of an earlier call from the same caller")
            return
        level = self.incident(incident_id).priority.level
        if fate < 0.13:  # nobody looks at it for a day or two: it breaches
            yield Wait(timedelta(hours=rng.uniform(10, 28)))
        else:
            yield Wait(minutes(rng.randint(*_RESPONSE[level])))
        if not self.incident(incident_id).is_open:
            return
        person = self.worker(incident_id)
        yield Wait(minutes(rng.randint(5, 30)))
        if self.incident(incident_id).status in ("new", "assigned"):
            desk.start_work(incident_id, actor=self.worker(incident_id, person.id))
        work = minutes(rng.randint(*_WORK[level]))
        roll = rng.random()
        if roll < 0.3:
            yield Wait(work * rng.uniform(0.2, 0.5))
            yield from self._hold(incident_id, caller, vendor=roll >= 0.2)
        elif roll < 0.38:
            yield Wait(work * 0.4)
            yield from self._escalate(incident_id)
        yield Wait(work * rng.uniform(0.5, 0.8))
        if not self.incident(incident_id).is_open:
            return
        desk.resolve(incident_id, actor=self.worker(incident_id), code=rng.choice(_CODES),
                     notes="Fixed and checked with the caller.")
        yield from self._closure(incident_id, caller)

    def _hold(self, incident_id: str, caller: str | None, *, vendor: bool) -> Story:
        desk, rng = self.desk, self.rng
        if self.incident(incident_id).status != "in_progress":
            return
        who = self.worker(incident_id)
        if vendor:
            desk.put_on_hold(incident_id, "awaiting_vendor", actor=who)
            yield Wait(timedelta(hours=rng.uniform(6, 24)))
        else:
            desk.put_on_hold(incident_id, "awaiting_caller", actor=who,
                             note="Could you send a screenshot of the error?")
            yield Wait(timedelta(hours=rng.uniform(2, 30)), business=False)
            if caller is not None:
                desk.add_comment(incident_id, "Screenshot attached.", actor=Actor(caller))
            yield Wait(minutes(rng.randint(10, 60)))
        if self.incident(incident_id).status == "on_hold":
            desk.resume(incident_id, actor=self.worker(incident_id))

    def _escalate(self, incident_id: str) -> Story:
        """The engineer hands over to the next tier, where someone takes it."""
        incident = self.incident(incident_id)
        routing = self.desk.policies.routing
        group = incident.assignment_group
        if not incident.is_open or routing is None or group is None or (
                routing.next_group(group) is None):
            return
        self.desk.escalate(incident_id, actor=self.worker(incident_id),
                           reason="Needs the next tier: beyond what we can fix here")
        yield Wait(minutes(self.rng.randint(20, 90)))
        self.worker(incident_id)

    def _closure(self, incident_id: str, caller: str | None) -> Story:
        """The caller confirms (or not), rates, sometimes comes back: it is not fixed."""
        desk, rng = self.desk, self.rng
        roll = rng.random()
        if roll < 0.08:
            yield Wait(timedelta(hours=rng.uniform(1, 20)), business=False)
            if self.incident(incident_id).status != "resolved":
                return
            desk.reopen(incident_id, actor=Actor(rng.choice(DESK_AGENTS)),
                        reason="The caller says it happens again")
            yield Wait(minutes(rng.randint(30, 240)))
            if self.incident(incident_id).status == "on_hold":
                desk.resume(incident_id, actor=self.worker(incident_id))
            desk.resolve(incident_id, actor=self.worker(incident_id),
                         code="solved_permanently", notes="Root of the trouble fixed this time.")
        if roll > 0.78:  # never confirmed: auto-closed after a week
            return
        yield Wait(timedelta(hours=rng.uniform(1, 12)))
        if self.incident(incident_id).status != "resolved":
            return
        score = self.pick(SATISFACTION)
        if roll < 0.08:
            score = max(1, score - 2)
        desk.close(incident_id, actor=Actor(rng.choice(DESK_AGENTS)), caller_confirmed=True,
                   satisfaction=score if caller is not None else None,
                   satisfaction_comment="Quick and friendly" if score == 5 and caller else None)

    # ----------------------------------------------------------------- the major outage

    def _outage(self) -> Story:
        """Tuesday 10:12: the ERP database cluster goes down; users call; a problem is opened
        from the parent incident and its children; a workaround, then the root cause."""
        desk, start = self.desk, self.clock.now()
        parent = desk.log_incident(
            actor=_MONITORING, title="ERP database cluster unavailable",
            description="Both nodes of erp-db-cluster report failover loops.", service="ERP",
            configuration_items=["erp-db-cluster"], channel=Channel.MONITORING,
            category="Database/Availability", impact=1, urgency=1)
        for offset, title, channel in _OUTAGE_REPORTS:
            self.begin(self._outage_report(parent.id, title, channel), start + minutes(offset))
        yield Wait(minutes(3))
        desk.escalate(parent.id, actor=Actor("alice"), kind=EscalationKind.HIERARCHICAL,
                      reason="Major incident: ERP is down for the whole company")
        # Priority 1: proposed as a major incident when it was logged; the manager accepts.
        manager = _INCIDENT_MANAGER
        desk.accept_major(parent.id, actor=manager)
        for role, person in (("commander", "alice"), ("communications_lead", "bruno"),
                             ("scribe", "chloe"),
                             ("resolver_group", "Infrastructure Engineering")):
            desk.assign_major_role(parent.id, role, person, actor=manager)
        self.begin(self._status_updates(parent.id), self.clock.now())
        yield Wait(minutes(8))
        lea = self.worker(parent.id, "lea")
        desk.start_work(parent.id, actor=lea)
        yield Wait(minutes(25))
        desk.escalate(parent.id, actor=lea, reason="Storage failover loop: needs engineering")
        nora = self.worker(parent.id, "nora")
        yield Wait(minutes(10))
        children = self.incident(parent.id).child_ids
        problem = desk.open_problem(
            actor=_MANAGER, title="ERP database cluster fails over in a loop",
            description="Major incident of Tuesday: the cluster nodes keep failing over.",
            incident_ids=[parent.id, *children], impact=1, urgency=1,
            assignment_group="Infrastructure Engineering")
        desk.start_investigation(problem.id, actor=_MANAGER)
        yield Wait(minutes(35))
        desk.record_workaround(problem.id, "Pin the cluster to node B; no automatic failover",
                               actor=nora)
        desk.add_work_note(parent.id, "Cluster pinned to node B; ERP is coming back.",
                           actor=nora)
        yield Wait(minutes(20))
        desk.post_status_update(parent.id, "affected_users",
                                "ERP is back. Postings made before 10:10 may need checking.",
                                actor=Actor("bruno"))
        desk.resolve(parent.id, actor=nora, code="solved_workaround",
                     notes="Cluster pinned to node B, automatic failover disabled.")
        for child in self.incident(parent.id).child_ids:
            self.begin(self._child_resolved(child, parent.id), self.clock.now() + minutes(5))
        yield Wait(timedelta(hours=2))
        # The post-incident review, required before a major incident closes.
        desk.record_review(parent.id, actor=manager,
                           impact="ERP unavailable for about two hours for every team; "
                                  "invoices and deliveries delayed",
                           root_cause="Storage cluster failover loop (firmware suspected)",
                           went_well="Major incident declared within minutes; regular "
                                     "updates",
                           went_badly="Monitoring raised one alert per node, not one per "
                                      "service")
        friday = _local(4, 17)
        desk.add_review_action(parent.id, "Upgrade the storage controller firmware",
                               actor=manager, owner="nora", due_at=friday)
        desk.add_review_action(parent.id, "Alert on the ERP service, not on each node",
                               actor=manager, owner="lea", due_at=friday + timedelta(days=7))
        desk.complete_review_action(parent.id, "A2", actor=Actor("lea"))
        desk.close(parent.id, actor=Actor("alice"), caller_confirmed=True)
        yield Wait(timedelta(hours=9))
        desk.record_root_cause(problem.id, "Storage controller firmware 4.2.1 drops the cluster "
                               "heartbeat under load", actor=nora, category="Hardware/Storage")
        desk.mark_known_error(problem.id, actor=_MANAGER,
                              symptoms="ERP unavailable; erp-db-cluster fails over repeatedly")
        desk.add_problem_note(problem.id, "Firmware 4.3 fixes it; upgrade planned next week",
                              actor=_MANAGER)

    def _status_updates(self, incident_id: str) -> Story:
        """The communications lead posts a status update every 25 minutes (the cadence of
        priority 1 is 30) while the major incident is being worked."""
        for number in range(40):
            if self.incident(incident_id).status not in ("new", "assigned", "in_progress"):
                return
            audience, text = _UPDATES[number % len(_UPDATES)]
            self.desk.post_status_update(incident_id, audience, text, actor=Actor("bruno"))
            yield Wait(minutes(25), business=False)

    def _outage_report(self, parent_id: str, title: str, channel: Channel) -> Story:
        """A user reports the outage: a child of the major incident, taken by the agent."""
        caller = self.rng.choice(CALLERS)
        agent = Actor(caller) if channel is Channel.PORTAL else Actor(
            self.rng.choice(DESK_AGENTS))
        child = self.desk.log_incident(actor=agent, title=title, service="ERP", caller=caller,
                                       channel=channel, impact=2, urgency=1,
                                       category="Software/Business Application")
        self.desk.set_parent(child.id, parent_id, actor=agent)
        problem_id = self.incident(parent_id).problem_id
        if problem_id is not None:
            self.desk.link_to_problem(child.id, problem_id, actor=agent)
        yield Wait(minutes(1))
        self.desk.start_work(child.id, actor=self.worker(child.id, "alice"))

    def _child_resolved(self, child_id: str, parent_id: str) -> Story:
        if not self.incident(child_id).is_open:
            return
        self.desk.resolve(child_id, actor=self.worker(child_id), code="solved_workaround",
                          notes=f"Resolved with the major incident {parent_id}.")
        yield from self._closure(child_id, self.incident(child_id).caller)

    # ----------------------------------------------------------------- monitoring alerts

    def _alerts(self, source: str, key: str, service: str, item: str, summary: str,
                steps: list[tuple[int, str]]) -> Story:
        """One monitoring key: its alerts, minutes apart; the desk deduplicates them."""
        elapsed = 0
        for offset, severity in steps:
            if offset > elapsed:
                yield Wait(minutes(offset - elapsed), business=False)
                elapsed = offset
            self.desk.ingest_alert(source, key, severity, summary, service=service,
                                   configuration_item=item, payload={"check": key})

    # ----------------------------------------------------------------- recurring incidents

    def _recurring_review(self) -> Story:
        """The problem manager's daily review of hardware incidents: four or more on one
        configuration item, with similar titles, within three days, become a problem."""
        desk = self.desk
        report = find_recurring(desk.list_incidents(category="Hardware"),
                                by=("configuration_item", "category"), min_count=4,
                                window=timedelta(days=3), title_similarity=0.2,
                                known_problems=desk.list_problems())
        for group in report.proposed:
            if group.proposal is None or None in group.key:
                continue
            problem = desk.open_problem(actor=_MANAGER, **group.proposal.arguments())
            self.recurring_problems.append(problem.id)
            if _PRINTER in problem.configuration_items and self.printer_problem is None:
                self.printer_problem = problem.id
                self.begin(self._printer_problem(problem.id), self.clock.now())
        yield Wait(minutes(0))

    # ----------------------------------------------------------------- the recurring jam

    def _jam(self, number: int) -> Story:
        """The floor-3 printer jams; once its known error is published, the workaround is
        applied."""
        rng, desk = self.rng, self.desk
        caller = rng.choice(CALLERS)
        titles = ("Printer on floor 3 jams again", f"{_PRINTER} paper jam in tray 1",
                  "Floor 3 printer: paper jam, nothing prints")
        incident = desk.log_incident(
            actor=Actor(rng.choice(DESK_AGENTS)), title=titles[number % 3], caller=caller,
            service="Printing", configuration_items=[_PRINTER], impact=3, urgency=2,
            channel=(Channel.WALK_IN, Channel.PHONE, Channel.PORTAL)[number % 3])
        yield Wait(minutes(rng.randint(10, 40)))
        dmitri = self.worker(incident.id, "dmitri")
        desk.start_work(incident.id, actor=dmitri)
        yield Wait(minutes(rng.randint(20, 60)))
        problem = None if self.printer_problem is None else desk.get_problem(
            self.printer_problem)
        if problem is not None and problem.known_error:
            desk.apply_workaround(incident.id, problem.id, actor=dmitri)
            desk.resolve(incident.id, actor=dmitri, code="solved_workaround",
                         notes=f"Printed from tray 2, as known error {problem.id} says.")
        else:
            desk.resolve(incident.id, actor=dmitri, code="solved_permanently",
                         notes="Cleared the paper jam in tray 1.")
        yield from self._closure(incident.id, caller)

    def _printer_problem(self, problem_id: str) -> Story:
        """The printer's problem, raised by the recurring-incident review, is worked."""
        desk = self.desk
        problem = desk.get_problem(problem_id)
        self.printer_problem = problem.id
        dmitri = Actor("dmitri")
        desk.assign_problem(problem.id, actor=_MANAGER, group="Desktop Support",
                            assignee=dmitri.id)
        desk.start_investigation(problem.id, actor=dmitri)
        yield Wait(timedelta(hours=1))
        desk.record_workaround(problem.id, "Print from tray 2 until tray 1 is repaired",
                               actor=dmitri)
        desk.mark_known_error(problem.id, actor=_MANAGER,
                              symptoms=f"Paper jams in tray 1 of {_PRINTER}")
        yield Wait(timedelta(hours=5))
        desk.record_root_cause(problem.id, "Worn pickup roller in tray 1", actor=dmitri,
                               category="Hardware/Printer")
        yield Wait(timedelta(hours=12))
        desk.resolve_problem(problem.id, "The vendor replaced the pickup roller", actor=dmitri)
