"""The major-incident policy: validated when built, and its decisions (proposal by priority,
service and cluster, the cadence) are pure functions, checked by example and by property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import (
    DEFAULT_CADENCE,
    DEFAULT_MAJOR_ROLES,
    ClusterRule,
    DefinitionError,
    DeskPolicies,
    MajorBasis,
    MajorIncidentPolicy,
    MajorStatus,
    ValidationError,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@attrs.frozen
class Logged:
    """What the cluster rule reads of an incident."""

    id: str
    logged_at: datetime
    service: str | None = None
    configuration_items: tuple[str, ...] = ()
    major_status: MajorStatus | None = None


# ----------------------------------------------------------------- definition


def test_the_default_policy_proposes_nothing_by_itself_and_follows_itil_for_the_rest() -> None:
    policy = MajorIncidentPolicy()
    assert policy.priorities == frozenset()
    assert policy.critical_services == frozenset()
    assert policy.cluster is None
    assert policy.manager_role == "incident_manager"
    assert policy.review_required is True
    assert dict(policy.cadence) == dict(DEFAULT_CADENCE) == {1: 30 * MINUTE, 2: 60 * MINUTE}
    assert policy.roles == DEFAULT_MAJOR_ROLES
    assert policy.roles == ("commander", "communications_lead", "scribe", "resolver_group")
    assert policy.shared_roles == {"resolver_group"}
    assert policy.proposal_for(priority=1, service="payroll") is None


BAD_POLICIES: dict[str, dict[str, Any]] = {
    "a priority that is not a level": {"priorities": {0}},
    "a priority given as text": {"priorities": {"1"}},
    "priorities given as one string": {"priorities": "1"},
    "a blank critical service": {"critical_services": {" "}},
    "a critical service on two lines": {"critical_services": {"pay\nroll"}},
    "a cluster that is not a rule": {"cluster": 3},
    "a blank manager role": {"manager_role": ""},
    "a manager role that is not text": {"manager_role": 7},
    "review_required that is not a bool": {"review_required": 1},
    "a cadence that is not a mapping": {"cadence": [(1, MINUTE)]},
    "a cadence level of zero": {"cadence": {0: MINUTE}},
    "a cadence of seconds": {"cadence": {1: timedelta(seconds=30)}},
    "a cadence in minutes as a number": {"cadence": {1: 30}},
    "no roles": {"roles": ()},
    "roles as one string": {"roles": "commander"},
    "a shared role that is not a role": {"shared_roles": {"observer"}},
}


@pytest.mark.parametrize("arguments", BAD_POLICIES.values(), ids=BAD_POLICIES.keys())
def test_a_malformed_policy_is_refused_when_built(arguments: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError):
        MajorIncidentPolicy(**arguments)


BAD_CLUSTERS: dict[str, dict[str, Any]] = {
    "a threshold of one": {"threshold": 1, "window": MINUTE},
    "a threshold given as text": {"threshold": "3", "window": MINUTE},
    "an empty window": {"threshold": 3, "window": timedelta(0)},
    "a window in minutes as a number": {"threshold": 3, "window": 30},
    "nothing to group by": {"threshold": 3, "window": MINUTE, "by_service": False,
                            "by_configuration_item": False},
    "a flag that is not a bool": {"threshold": 3, "window": MINUTE, "by_service": "yes"},
}


@pytest.mark.parametrize("arguments", BAD_CLUSTERS.values(), ids=BAD_CLUSTERS.keys())
def test_a_malformed_cluster_rule_is_refused_when_built(arguments: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError):
        ClusterRule(**arguments)


def test_desk_policies_refuse_a_major_policy_naming_a_level_the_matrix_lacks() -> None:
    with pytest.raises(DefinitionError, match="major"):
        DeskPolicies(major=MajorIncidentPolicy(priorities={9}))
    with pytest.raises(DefinitionError, match="major"):
        DeskPolicies(major=MajorIncidentPolicy(cadence={7: MINUTE}))


def test_desk_policies_refuse_a_major_policy_of_the_wrong_type() -> None:
    with pytest.raises(DefinitionError, match=r"policies\.major"):
        DeskPolicies(major={"priorities": {1}})  # type: ignore[arg-type]  # the wrong type is the point


def test_desk_policies_have_no_major_policy_unless_given() -> None:
    assert DeskPolicies().major is None
    policy = MajorIncidentPolicy(priorities={1, 2})
    assert DeskPolicies(major=policy).major is policy


def test_a_role_must_be_one_of_the_policy_roles() -> None:
    policy = MajorIncidentPolicy(roles=("commander", "scribe"), shared_roles=())
    assert policy.role("scribe") == "scribe"
    with pytest.raises(ValidationError, match="commander, scribe"):
        policy.role("resolver_group")
    assert not policy.is_shared("scribe")


# ----------------------------------------------------------------- proposals by example


def test_priority_comes_before_service_when_both_apply() -> None:
    policy = MajorIncidentPolicy(priorities={1}, critical_services={"payroll"})
    proposal = policy.proposal_for(priority=1, service="payroll")
    assert proposal is not None
    assert proposal.basis is MajorBasis.PRIORITY
    assert "priority 1" in proposal.reason
    by_service = policy.proposal_for(priority=2, service="payroll")
    assert by_service is not None
    assert by_service.basis is MajorBasis.SERVICE
    assert "payroll" in by_service.reason


def test_a_cluster_on_one_service_within_the_window_is_proposed_with_its_evidence() -> None:
    rule = ClusterRule(threshold=3, window=30 * MINUTE)
    new = Logged("INC3", T0, service="vpn")
    others = [Logged("INC2", T0 - 10 * MINUTE, service="vpn"),
              Logged("INC1", T0 - 30 * MINUTE, service="vpn"),
              Logged("INC0", T0 - 31 * MINUTE, service="vpn"),
              Logged("INC9", T0 - 5 * MINUTE, service="mail")]
    proposal = rule.cluster(new, others)
    assert proposal is not None
    assert proposal.basis is MajorBasis.CLUSTER
    assert proposal.evidence == ("INC1", "INC2")
    assert "3 open incidents on service 'vpn'" in proposal.reason
    assert rule.cluster(new, others[1:]) is None  # INC0 is outside the window


def test_a_cluster_on_one_configuration_item_counts_incidents_of_any_service() -> None:
    rule = ClusterRule(threshold=2, window=30 * MINUTE)
    new = Logged("INC2", T0, service="vpn", configuration_items=("gw-1", "gw-2"))
    other = Logged("INC1", T0 - MINUTE, service="remote", configuration_items=("gw-2",))
    proposal = rule.cluster(new, [other])
    assert proposal is not None
    assert proposal.evidence == ("INC1",)
    assert "configuration item 'gw-2'" in proposal.reason
    by_service_only = ClusterRule(threshold=2, window=30 * MINUTE, by_configuration_item=False)
    assert by_service_only.cluster(new, [other]) is None


def test_a_cluster_holding_a_major_incident_proposes_no_other() -> None:
    rule = ClusterRule(threshold=2, window=30 * MINUTE)
    new = Logged("INC2", T0, service="vpn")
    for status in (MajorStatus.PROPOSED, MajorStatus.ACCEPTED):
        major = Logged("INC1", T0 - MINUTE, service="vpn", major_status=status)
        assert rule.cluster(new, [major]) is None
    rejected = Logged("INC1", T0 - MINUTE, service="vpn", major_status=MajorStatus.REJECTED)
    assert rule.cluster(new, [rejected]) is not None


def test_incidents_logged_after_the_new_one_and_the_new_one_itself_are_not_counted() -> None:
    rule = ClusterRule(threshold=2, window=30 * MINUTE)
    new = Logged("INC2", T0, service="vpn")
    assert rule.cluster(new, [new, Logged("INC3", T0 + MINUTE, service="vpn")]) is None


# ----------------------------------------------------------------- properties

LEVELS = st.integers(min_value=1, max_value=5)
SERVICES = st.sampled_from(["vpn", "mail", "payroll", "erp"])


@given(priorities=st.frozensets(LEVELS), critical=st.frozensets(SERVICES),
       priority=LEVELS, service=st.none() | SERVICES)
def test_a_proposal_is_made_exactly_when_a_criterion_applies(
        priorities: frozenset[int], critical: frozenset[str], priority: int,
        service: str | None) -> None:
    policy = MajorIncidentPolicy(priorities=priorities, critical_services=critical)
    proposal = policy.proposal_for(priority=priority, service=service)
    by_priority = priority in priorities
    by_service = service is not None and service in critical
    assert (proposal is not None) == (by_priority or by_service)
    if proposal is not None:
        assert proposal.basis is (MajorBasis.PRIORITY if by_priority else MajorBasis.SERVICE)
        assert proposal.evidence == ()


ITEMS = st.sampled_from(["gw-1", "gw-2", "db-1"])


@st.composite
def neighbourhoods(draw: st.DrawFn) -> tuple[Logged, list[Logged]]:
    new = Logged("NEW", T0, draw(st.none() | SERVICES),
                 tuple(draw(st.lists(ITEMS, max_size=2, unique=True))))
    others = [Logged(f"INC{n}", T0 + draw(st.integers(-90, 10)) * MINUTE,
                     draw(st.none() | SERVICES),
                     tuple(draw(st.lists(ITEMS, max_size=2, unique=True))),
                     draw(st.sampled_from([None, *MajorStatus])))
              for n in range(draw(st.integers(0, 8)))]
    return new, others


@settings(max_examples=300)
@given(neighbourhood=neighbourhoods(), threshold=st.integers(2, 4),
       window=st.integers(1, 60), by_service=st.booleans(), by_item=st.booleans())
def test_a_cluster_proposal_matches_a_direct_count_of_the_neighbourhood(
        neighbourhood: tuple[Logged, list[Logged]], threshold: int, window: int,
        by_service: bool, by_item: bool) -> None:
    if not (by_service or by_item):
        by_service = True
    new, others = neighbourhood
    rule = ClusterRule(threshold=threshold, window=window * MINUTE, by_service=by_service,
                       by_configuration_item=by_item)
    near = [o for o in others if T0 - window * MINUTE <= o.logged_at <= T0]
    groups: list[list[Logged]] = []
    if by_service and new.service is not None:
        groups.append([o for o in near if o.service == new.service])
    if by_item:
        groups += [[o for o in near if item in o.configuration_items]
                   for item in new.configuration_items]
    qualifying = [group for group in groups
                  if len(group) + 1 >= threshold
                  and not any(o.major_status in (MajorStatus.PROPOSED, MajorStatus.ACCEPTED)
                              for o in group)]
    proposal = rule.cluster(new, others)
    assert (proposal is not None) == bool(qualifying)
    if proposal is not None:
        assert proposal.evidence == tuple(sorted(o.id for o in qualifying[0]))
        assert len(proposal.evidence) + 1 >= threshold


@given(minutes=st.integers(1, 240), since_offset=st.integers(-10_000, 10_000),
       steps=st.lists(st.integers(0, 10_000), min_size=1, max_size=10))
def test_missed_intervals_count_whole_intervals_and_never_go_down(
        minutes: int, since_offset: int, steps: list[int]) -> None:
    policy = MajorIncidentPolicy(cadence={1: minutes * MINUTE})
    since = T0 + since_offset * MINUTE
    previous = 0
    now = since
    for step in steps:
        now += step * MINUTE
        missed = policy.missed_intervals(priority=1, since=since, now=now)
        assert missed == (now - since) // (minutes * MINUTE)
        assert missed >= previous
        previous = missed
    assert policy.missed_intervals(priority=3, since=since, now=now) == 0  # no cadence at 3
    assert policy.missed_intervals(priority=1, since=since, now=since - MINUTE) == 0
