"""A host's own routing and escalation rules, unit-tested with ``itil_incident.testing``.

Copy this module into your project's tests and replace ``host_policies()`` with your own. Run
it with ``python -m pytest examples/test_host_rules.py``. It uses only the testing kit: fakes
(an in-memory repository, a recording notifier, a frozen clock) wired by ``make_desk``, and
Hypothesis strategies for the domain values; no database, no mail server, no real clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    BusinessCalendar,
    CategorizationRule,
    Categorizer,
    CategoryTree,
    Channel,
    DefinitionError,
    DeskPolicies,
    EscalationAction,
    EscalationKind,
    EscalationRule,
    Impact,
    IncidentEscalated,
    IncidentLogged,
    Priority,
    RoutingRule,
    RoutingTable,
    ServiceDesk,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
    SupportGroup,
    Urgency,
)
from itil_incident.testing import (
    DEFAULT_START,
    FrozenClock,
    RecordingNotifier,
    make_desk,
)
from itil_incident.testing import strategies as its

HOUR = timedelta(hours=1)
AGENT = Actor("alice", "Alice (service desk)", frozenset({"agent"}))

# ----------------------------------------------------------------- the host's rules


def host_policies() -> DeskPolicies:
    """The rules under test: a hospital's categories, routing and escalation.

    - Clinical systems go to the Clinical Apps team, network trouble to Network Ops, anything
      else to the Service Desk (tier 1), which escalates to Desktop Support (tier 2).
    - Alerts from monitoring about the patient records system are categorized as such.
    - A critical incident nobody acknowledged within its response target is escalated to the
      duty manager; any incident at 75 % of its resolution target goes to the next tier; a
      breached resolution raises the priority one level.
    """
    tree = CategoryTree(["Clinical/Patient Records", "Clinical/Imaging", "Network/Wi-Fi",
                         "Network/VPN", "Workplace/Printer", "Workplace/Phone"])
    categorizer = Categorizer(
        [
            CategorizationRule("ehr-alert", "Clinical/Patient Records", pattern=r"\behr-\d+\b",
                               channel=Channel.MONITORING),
            CategorizationRule("ehr", "Clinical/Patient Records",
                               keywords=("patient record", "ehr")),
            CategorizationRule("imaging", "Clinical/Imaging", keywords=("pacs", "x-ray", "mri")),
            CategorizationRule("wifi", "Network/Wi-Fi", keywords=("wifi", "wi-fi")),
            CategorizationRule("vpn", "Network/VPN", keywords=("vpn",)),
            CategorizationRule("printer", "Workplace/Printer", keywords=("printer", "toner")),
        ],
        tree=tree,
    )
    routing = RoutingTable(
        [
            SupportGroup("Service Desk", 1, escalates_to="Desktop Support",
                         manager_role="desk_lead"),
            SupportGroup("Desktop Support", 2, manager_role="it_manager"),
            SupportGroup("Clinical Apps", 2, escalates_to="Clinical Vendor",
                         manager_role="clinical_lead"),
            SupportGroup("Clinical Vendor", 3),
            SupportGroup("Network Ops", 2, manager_role="it_manager"),
        ],
        [
            RoutingRule("clinical", "Clinical Apps", category="Clinical"),
            RoutingRule("network", "Network Ops", category="Network"),
        ],
        default_group="Service Desk",
    )
    around_the_clock = SlaAgreement(name="24x7", calendar=BusinessCalendar.always(), targets={
        SlaMetric.RESPONSE: {1: 0.25 * HOUR, 2: 0.5 * HOUR, 3: 2 * HOUR, 4: 8 * HOUR,
                             5: 24 * HOUR},
        SlaMetric.RESOLUTION: {1: 2 * HOUR, 2: 8 * HOUR, 3: 24 * HOUR, 4: 72 * HOUR,
                               5: 120 * HOUR},
    })
    sla = SlaPolicy.single("Hospital SLA", SlaPolicyVersion(
        version=1, effective_from=DEFAULT_START - timedelta(days=30),
        agreements=(around_the_clock,), fallback="24x7"))
    escalation = (
        EscalationRule.acknowledgement_timeout(
            "critical not acknowledged", EscalationAction.hierarchical(role="duty_manager"),
            priorities=(1,)),
        EscalationRule(name="resolution at risk", metric=SlaMetric.RESOLUTION, stage=0.75,
                       action=EscalationAction.functional()),
        EscalationRule(name="resolution breached", metric=SlaMetric.RESOLUTION, stage=1.0,
                       action=EscalationAction.raise_priority()),
    )
    return DeskPolicies(categories=tree, categorizer=categorizer, routing=routing, sla=sla,
                        escalation_rules=escalation)


POLICIES = host_policies()  # built and validated once; policies are immutable values


def host_desk(clock: FrozenClock | None = None,
              notifier: RecordingNotifier | None = None) -> ServiceDesk:
    return make_desk(policies=POLICIES, clock=clock, notifier=notifier)


# ----------------------------------------------------------------- routing


@pytest.mark.parametrize(("title", "channel", "category", "group", "tier"), [
    ("Patient record will not open", Channel.PHONE, "Clinical/Patient Records",
     "Clinical Apps", 2),
    ("Disk latency high on ehr-02", Channel.MONITORING, "Clinical/Patient Records",
     "Clinical Apps", 2),
    ("PACS viewer freezes", Channel.PORTAL, "Clinical/Imaging", "Clinical Apps", 2),
    ("Wi-Fi lost in ward 4", Channel.PHONE, "Network/Wi-Fi", "Network Ops", 2),
    ("Printer out of toner", Channel.EMAIL, "Workplace/Printer", "Service Desk", 1),
    ("Chair is broken", Channel.WALK_IN, None, "Service Desk", 1),
])
def test_incidents_are_categorized_and_routed_by_the_host_rules(
        title: str, channel: Channel, category: str | None, group: str, tier: int) -> None:
    incident = host_desk().log_incident(actor=AGENT, title=title, channel=channel)
    assert (None if incident.category is None else str(incident.category)) == category
    assert (incident.assignment_group, incident.support_tier) == (group, tier)


@pytest.mark.parametrize(("channel", "rule"), [
    (Channel.MONITORING, "ehr-alert"),
    (Channel.PHONE, "ehr"),           # the alert pattern is for monitoring only
])
def test_the_logged_event_names_the_rule_that_categorized_it(channel: Channel,
                                                             rule: str) -> None:
    desk = host_desk()
    incident = desk.log_incident(actor=AGENT, title="Disk latency high on ehr-02",
                                 channel=channel)
    logged = desk.timeline(incident.id)[0]
    assert isinstance(logged, IncidentLogged)
    assert (logged.category_rule, logged.routing_rule) == (rule, "clinical")


def test_a_title_no_rule_knows_goes_to_the_service_desk_uncategorized() -> None:
    desk = host_desk()
    incident = desk.log_incident(actor=AGENT, title="The coffee machine leaks")
    logged = desk.timeline(incident.id)[0]
    assert isinstance(logged, IncidentLogged)
    assert (incident.category, logged.category_rule, logged.routing_rule) == (None, None, None)
    assert incident.assignment_group == "Service Desk"


@settings(max_examples=60, deadline=None)
@given(title=its.titles(), channel=its.channels(), actor=its.actors())
def test_every_incident_lands_in_a_group_of_the_host(title: str, channel: Channel,
                                                    actor: Actor) -> None:
    incident = host_desk().log_incident(actor=actor, title=title, channel=channel)
    group = incident.assignment_group
    assert POLICIES.routing is not None
    assert group is not None
    assert group in POLICIES.routing.groups
    assert incident.support_tier == POLICIES.routing.group(group).tier


@settings(max_examples=40, deadline=None)
@given(before=st.text(alphabet="abcdefghij ", max_size=20),
       after=st.text(alphabet="abcdefghij ", max_size=20),
       keyword=st.sampled_from(["PACS", "pacs", "X-ray", "MRI"]))
def test_an_imaging_keyword_anywhere_in_the_title_means_imaging(before: str, after: str,
                                                               keyword: str) -> None:
    incident = host_desk().log_incident(actor=AGENT, title=f"{before} {keyword} {after}")
    assert str(incident.category) == "Clinical/Imaging"


# ----------------------------------------------------------------- escalation


def test_a_critical_incident_not_acknowledged_in_time_tells_the_duty_manager() -> None:
    clock = FrozenClock(DEFAULT_START)
    notifier = RecordingNotifier()
    desk = host_desk(clock, notifier)
    incident = desk.log_incident(actor=AGENT, title="Patient record will not open",
                                 impact=1, urgency=1)
    assert incident.priority == Priority(1)

    clock.advance(minutes=14)
    assert desk.process_due().escalations == ()
    clock.advance(minutes=1)                              # the 15-minute target is reached
    report = desk.process_due()

    assert [(e.rule, e.event.kind, e.event.notified_role) for e in report.escalations] == [
        ("critical not acknowledged", EscalationKind.HIERARCHICAL, "duty_manager")]
    escalated = [e for e in notifier.events if isinstance(e, IncidentEscalated)]
    assert [e.notified_role for e in escalated] == ["duty_manager"]
    assert not desk.process_due()                         # once per clock cycle


def test_an_acknowledged_critical_incident_is_not_escalated() -> None:
    clock = FrozenClock(DEFAULT_START)
    desk = host_desk(clock)
    incident = desk.log_incident(actor=AGENT, title="Patient record will not open",
                                 impact=1, urgency=1)
    clock.advance(minutes=5)
    desk.start_work(incident.id, actor=Actor("bob", "Bob", frozenset({"agent"})))
    clock.advance(minutes=30)
    assert [e.rule for e in desk.process_due().escalations] == []


def test_three_quarters_of_the_resolution_target_moves_it_to_the_next_tier() -> None:
    clock = FrozenClock(DEFAULT_START)
    desk = host_desk(clock)
    incident = desk.log_incident(actor=AGENT, title="Printer out of toner", impact=2,
                                 urgency=2)                   # priority 3: 24 hours
    desk.start_work(incident.id, actor=AGENT)
    clock.advance(hours=18)
    report = desk.process_due()

    assert [(e.rule, e.event.assignment_group) for e in report.escalations] == [
        ("resolution at risk", "Desktop Support")]
    assert desk.get_incident(incident.id).support_tier == 2


def test_a_breached_resolution_raises_the_priority_one_level() -> None:
    clock = FrozenClock(DEFAULT_START)
    desk = host_desk(clock)
    incident = desk.log_incident(actor=AGENT, title="Wi-Fi lost in ward 4", impact=2,
                                 urgency=2)
    desk.start_work(incident.id, actor=AGENT)
    clock.advance(hours=24)
    report = desk.process_due()

    assert [(r.rule, r.event.priority) for r in report.priority_raises] == [
        ("resolution breached", Priority(2))]
    raised = desk.get_incident(incident.id)
    assert raised.priority_overridden
    assert raised.priority_justification is not None
    assert "resolution breached" in raised.priority_justification


def test_an_escalation_with_nowhere_to_go_is_reported_not_applied() -> None:
    clock = FrozenClock(DEFAULT_START)
    desk = host_desk(clock)
    incident = desk.log_incident(actor=AGENT, title="Wi-Fi lost in ward 4", impact=3,
                                 urgency=2)                   # Network Ops: no next tier
    clock.advance(hours=72 * 0.75)
    report = desk.process_due()
    assert [(s.incident_id, s.rule) for s in report.skipped] == [
        (incident.id, "resolution at risk")]
    assert desk.get_incident(incident.id).assignment_group == "Network Ops"


@settings(max_examples=30, deadline=None)
@given(impact=its.impacts(), urgency=its.urgencies(),
       minutes=st.integers(min_value=0, max_value=3 * 24 * 60))
def test_process_due_never_lowers_a_priority_and_is_idempotent(
        impact: Impact, urgency: Urgency, minutes: int) -> None:
    clock = FrozenClock(DEFAULT_START)
    desk = host_desk(clock)
    incident = desk.log_incident(actor=AGENT, title="PACS viewer freezes", impact=impact,
                                 urgency=urgency)
    clock.advance(minutes=minutes)
    desk.process_due()
    after = desk.get_incident(incident.id)
    assert after.priority <= incident.priority            # level 1 is the highest
    assert not desk.process_due()


def test_an_escalation_rule_to_an_unknown_group_is_refused_when_the_policies_are_built(
) -> None:
    wrong = EscalationRule(name="to nowhere", action=EscalationAction.functional("Nobody"))
    with pytest.raises(DefinitionError, match="unknown group 'Nobody'"):
        DeskPolicies(routing=POLICIES.routing, escalation_rules=(wrong,))
