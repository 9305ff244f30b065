"""Routing: support groups, rules, the order in which rules are tried, and escalation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itil_incident.domain.values import CategoryPath
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies.categorization import CategoryTree
from itil_incident.policies.routing import Route, RoutingRule, RoutingTable, SupportGroup


def P(text: str) -> CategoryPath:
    return CategoryPath.parse(text)


GROUPS = [
    SupportGroup("Desk", 1, "L2", "desk_manager"),
    SupportGroup("L2", 2, "L3"),
    SupportGroup("L3", 3),
    SupportGroup("Network", 2),
    SupportGroup("VPN Team", 2),
    SupportGroup("ERP Team", 2),
    SupportGroup("ERP Network", 2),
]


def _table(*rules: RoutingRule, default_group: str | None = "Desk") -> RoutingTable:
    return RoutingTable(GROUPS, rules, default_group=default_group)


# -- route order ----------------------------------------------------------------------------------


def test_a_category_rule_matches_its_category_and_everything_below_it() -> None:
    table = _table(RoutingRule("network", "Network", P("Network")))
    for category in ("Network", "Network/VPN", "Network/VPN/Client"):
        assert table.route(category=P(category), service=None) == Route("Network", 2, "network")


def test_a_category_rule_does_not_match_a_parent_or_sibling_category() -> None:
    table = _table(RoutingRule("vpn", "VPN Team", P("Network/VPN")))
    assert table.route(category=P("Network"), service=None) == Route("Desk", 1, None)
    assert table.route(category=P("Network/LAN"), service=None) == Route("Desk", 1, None)
    assert table.route(category=P("Networking"), service=None) == Route("Desk", 1, None)


def test_the_deeper_category_rule_wins_whatever_the_definition_order() -> None:
    table = _table(
        RoutingRule("network", "Network", P("Network")),
        RoutingRule("vpn", "VPN Team", P("Network/VPN")),
    )
    assert table.route(category=P("Network/VPN"), service=None) == Route("VPN Team", 2, "vpn")
    assert table.route(category=P("Network/LAN"), service=None) == Route("Network", 2, "network")


def test_a_rule_on_service_and_category_beats_a_deeper_category_only_rule() -> None:
    table = _table(
        RoutingRule("vpn", "VPN Team", P("Network/VPN")),
        RoutingRule("erp-network", "ERP Network", P("Network"), "ERP"),
    )
    route = table.route(category=P("Network/VPN"), service="ERP")
    assert route == Route("ERP Network", 2, "erp-network")


def test_a_rule_on_service_and_category_needs_both_to_match() -> None:
    table = _table(RoutingRule("erp-network", "ERP Network", P("Network"), "ERP"))
    assert table.route(category=P("Network"), service="CRM") == Route("Desk", 1, None)
    assert table.route(category=None, service="ERP") == Route("Desk", 1, None)


def test_a_category_only_rule_beats_a_service_only_rule() -> None:
    table = _table(
        RoutingRule("erp", "ERP Team", service="ERP"),
        RoutingRule("network", "Network", P("Network")),
    )
    assert table.route(category=P("Network/LAN"), service="ERP") == Route("Network", 2, "network")
    assert table.route(category=P("Software"), service="ERP") == Route("ERP Team", 2, "erp")
    assert table.route(category=None, service="ERP") == Route("ERP Team", 2, "erp")


def test_equally_specific_rules_go_to_the_one_defined_first() -> None:
    first = RoutingRule("first", "L2", P("Network"))
    second = RoutingRule("second", "Network", P("Network"))
    assert _table(first, second).route(category=P("Network"), service=None) == Route(
        "L2", 2, "first"
    )
    assert _table(second, first).route(category=P("Network"), service=None) == Route(
        "Network", 2, "second"
    )


def test_no_matching_rule_routes_to_the_default_group_without_a_rule() -> None:
    table = _table(RoutingRule("network", "Network", P("Network")))
    assert table.route(category=P("Hardware"), service=None) == Route("Desk", 1, None)
    assert table.route(category=None, service=None) == Route("Desk", 1, None)


def test_no_matching_rule_and_no_default_group_routes_nowhere() -> None:
    table = _table(RoutingRule("network", "Network", P("Network")), default_group=None)
    assert table.route(category=P("Hardware"), service=None) is None


def test_a_route_carries_the_tier_of_its_group() -> None:
    table = _table(RoutingRule("deep", "L3", P("Hardware")))
    assert table.route(category=P("Hardware"), service=None) == Route("L3", 3, "deep")


@pytest.mark.parametrize(
    ("category", "service", "field"),
    [("Network", None, "category"), (None, 3, "service"), (3, None, "category")],
)
def test_route_refuses_inputs_of_the_wrong_type(category: Any, service: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        _table().route(category=category, service=service)
    assert info.value.field == field


# -- groups and escalation ------------------------------------------------------------------------


def test_group_returns_the_named_group() -> None:
    assert _table().group("L2") == SupportGroup("L2", 2, "L3")


@pytest.mark.parametrize("name", ["Nobody", "", None, ["L2"]], ids=repr)
def test_an_unknown_group_is_a_validation_error(name: Any) -> None:
    with pytest.raises(ValidationError) as info:
        _table().group(name)
    assert info.value.field == "group"


def test_next_group_follows_the_functional_escalation_chain_to_its_top() -> None:
    table = _table()
    chain = ["Desk"]
    while (following := table.next_group(chain[-1])) is not None:
        chain.append(following.name)
    assert chain == ["Desk", "L2", "L3"]


def test_next_group_of_an_unknown_group_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        _table().next_group("Nobody")


def test_groups_are_a_read_only_mapping_in_definition_order() -> None:
    groups = _table().groups
    assert list(groups) == [group.name for group in GROUPS]
    with pytest.raises(TypeError):
        groups["X"] = SupportGroup("X")  # type: ignore[index]  # proving it is read-only


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "rules", "default_group", "culprit", "message"),
    [
        ([SupportGroup("A"), SupportGroup("A", 2)], [], None, "A", "duplicate group name 'A'"),
        ([SupportGroup("A")], [RoutingRule("r", "B", service="s")], None, "r", "unknown group 'B'"),
        (
            [SupportGroup("A")],
            [RoutingRule("r", "A", service="s"), RoutingRule("r", "A", service="t")],
            None,
            "r",
            "duplicate rule name 'r'",
        ),
        ([SupportGroup("A", 1, "B")], [], None, "A", "escalates to unknown group 'B'"),
        ([SupportGroup("A")], [], "B", "default_group", "default group 'B'"),
        ([SupportGroup("A", 1, "A")], [], None, "A", "escalation cycle: A -> A"),
        (
            [SupportGroup("A", 1, "B"), SupportGroup("B", 2, "C"), SupportGroup("C", 3, "B")],
            [],
            None,
            "B",
            "escalation cycle: B -> C -> B",
        ),
        (
            [SupportGroup("A", 2, "B"), SupportGroup("B", 2)],
            [],
            None,
            "A",
            "must go to a higher tier",
        ),
        (
            [SupportGroup("A", 3, "B"), SupportGroup("B", 2)],
            [],
            None,
            "A",
            "must go to a higher tier",
        ),
        ([], [], None, "groups", "at least one group"),
    ],
)
def test_a_malformed_table_is_a_definition_error_naming_the_culprit(
    groups: list[SupportGroup],
    rules: list[RoutingRule],
    default_group: str | None,
    culprit: str,
    message: str,
) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)) as info:
        RoutingTable(groups, rules, default_group=default_group)
    assert info.value.culprit == culprit


def test_a_rule_needs_a_category_or_a_service() -> None:
    with pytest.raises(DefinitionError) as info:
        RoutingRule("nothing", "Desk")
    assert info.value.culprit == "nothing"


def test_a_rule_category_given_as_text_is_parsed() -> None:
    assert RoutingRule("r", "Desk", "Network/VPN").category == P("Network/VPN")


@pytest.mark.parametrize(
    ("make", "culprit"),
    [
        (lambda: SupportGroup("A", 0), "tier"),
        (lambda: SupportGroup("A", True), "tier"),
        (lambda: SupportGroup("A", "2"), "tier"),  # type: ignore[arg-type]  # the wrong type
        (lambda: SupportGroup(""), "name"),
        (lambda: SupportGroup("A", 1, ""), "escalates_to"),
        (lambda: SupportGroup("A", 1, None, 3), "manager_role"),  # type: ignore[arg-type]  # the wrong type
        (lambda: RoutingRule("r", "Desk", "A//B"), "category"),
        (lambda: RoutingRule("r", "Desk", 3), "category"),
        (lambda: RoutingRule("r", "", service="s"), "group"),
    ],
)
def test_malformed_groups_and_rules_are_definition_errors(make: Any, culprit: str) -> None:
    with pytest.raises(DefinitionError) as info:
        make()
    assert info.value.culprit == culprit


# -- plain data -----------------------------------------------------------------------------------


def test_a_table_round_trips_through_plain_data() -> None:
    table = _table(
        RoutingRule("network", "Network", P("Network")),
        RoutingRule("erp", "ERP Team", service="ERP"),
        RoutingRule("erp-network", "ERP Network", P("Network/LAN"), "ERP"),
    )
    again = RoutingTable.from_dict(table.to_dict())
    assert again == table
    assert again.to_dict() == table.to_dict()


def test_the_default_table_round_trips_through_plain_data() -> None:
    table = RoutingTable.default()
    assert RoutingTable.from_dict(table.to_dict()) == table


def test_to_dict_writes_no_none_values() -> None:
    data = _table(default_group=None).to_dict()
    assert "default_group" not in data
    assert data["groups"][2] == {"name": "L3", "tier": 3}


def test_from_dict_defaults_tier_to_one_and_rules_to_none() -> None:
    table = RoutingTable.from_dict({"groups": [{"name": "Desk"}]})
    assert table.group("Desk").tier == 1
    assert table.rules == ()
    assert table.route(category=None, service=None) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a routing table must be a mapping"),
        ({}, "groups: missing"),
        ({"groups": [], "rule": []}, "rule: unknown key"),
        ({"groups": {"name": "A"}}, "groups: expected a list of tables"),
        ({"groups": ["A"]}, "groups[0]: expected a table"),
        ({"groups": [{"name": "A", "tier": "2"}]}, "groups[0].tier: expected an integer"),
        ({"groups": [{"name": "A", "tier": True}]}, "groups[0].tier: expected an integer"),
        ({"groups": [{"name": "A", "tier": 0}]}, "groups[0].tier: "),
        ({"groups": [{"tier": 1}]}, "groups[0].name: missing"),
        ({"groups": [{"name": "A", "level": 1}]}, "groups[0].level: unknown key"),
        ({"groups": [{"name": "A", "escalates_to": 3}]}, "groups[0].escalates_to: expected a str"),
        ({"groups": [{"name": "A"}], "rules": [{"name": "r"}]}, "rules[0].group: missing"),
        ({"groups": [{"name": "A"}], "rules": [{"name": "r", "group": "A"}]}, "rules[0]: "),
        (
            {"groups": [{"name": "A"}], "rules": [{"name": "r", "group": "A", "category": "x//"}]},
            "rules[0].category: ",
        ),
        ({"groups": [{"name": "A"}], "default_group": 1}, "default_group: expected a group name"),
        ({"groups": [{"name": "A"}], "default_group": "B"}, "default group 'B'"),
    ],
)
def test_from_dict_reports_malformed_data_with_its_key_path(data: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        RoutingTable.from_dict(data)


# -- the default table ----------------------------------------------------------------------------


@pytest.mark.parametrize("top", [path.name for path in CategoryTree.default().children()])
def test_the_default_table_routes_every_top_category_by_a_rule(top: str) -> None:
    route = RoutingTable.default().route(category=P(top), service=None)
    assert route is not None
    assert route.rule is not None


def test_the_default_table_sends_the_uncategorized_to_the_service_desk() -> None:
    assert RoutingTable.default().route(category=None, service=None) == Route(
        "Service Desk", 1, None
    )


@pytest.mark.parametrize(
    ("category", "group"),
    [
        ("Network/VPN", "Network Support"),
        ("Software/Email", "Application Support"),
        ("Security/Phishing", "Security Operations"),
        ("Hardware/Server", "Infrastructure Support"),
        ("Hardware/Laptop", "Desktop Support"),
        ("Access/Password Reset", "Service Desk"),
    ],
)
def test_the_default_table_routes_categories_to_the_expected_groups(
    category: str, group: str
) -> None:
    route = RoutingTable.default().route(category=P(category), service=None)
    assert route is not None
    assert route.group == group


def test_every_default_escalation_chain_climbs_tiers_and_ends() -> None:
    table = RoutingTable.default()
    for name, group in table.groups.items():
        tiers = [group.tier]
        current = table.next_group(name)
        while current is not None:
            tiers.append(current.tier)
            current = table.next_group(current.name)
        assert tiers == sorted(set(tiers)), name
    assert table.group("Service Desk").manager_role == "service_desk_manager"


# -- property: the documented order, checked against a plain model --------------------------------

CATEGORIES = ["A", "A/B", "A/B/C", "A/D", "E"]
SERVICES = ["s1", "s2"]
RULE_SPECS = st.lists(
    st.tuples(
        st.sampled_from(["Desk", "L2", "Network"]),
        st.none() | st.sampled_from(CATEGORIES),
        st.none() | st.sampled_from(SERVICES),
    ).filter(lambda spec: spec[1] is not None or spec[2] is not None),
    max_size=8,
)


def _model_route(
    rules: list[RoutingRule], category: CategoryPath | None, service: str | None
) -> str | None:
    """The documented order, written as successive filters."""
    matching = [
        rule
        for rule in rules
        if (rule.service is None or rule.service == service)
        and (rule.category is None or (category is not None and category.is_within(rule.category)))
    ]
    for wanted in ("both", "category", "service"):
        of_kind = [
            rule
            for rule in matching
            if wanted
            == (
                "both"
                if rule.category and rule.service
                else "category"
                if rule.category
                else "service"
            )
        ]
        if of_kind:
            deepest = max(rule.category.depth if rule.category else 0 for rule in of_kind)
            return next(
                rule.name
                for rule in of_kind
                if (rule.category.depth if rule.category else 0) == deepest
            )
    return None


@given(
    RULE_SPECS,
    st.none() | st.sampled_from([*CATEGORIES, "A/B/C/X", "F"]),
    st.none() | st.sampled_from([*SERVICES, "s3"]),
)
def test_route_picks_the_rule_the_documented_order_picks(
    specs: list[tuple[str, str | None, str | None]], category: str | None, service: str | None
) -> None:
    rules = [
        RoutingRule(f"r{index}", group, P(cat) if cat else None, svc)
        for index, (group, cat, svc) in enumerate(specs)
    ]
    table = RoutingTable(GROUPS, rules, default_group="Desk")
    path = P(category) if category else None
    route = table.route(category=path, service=service)
    assert route is not None
    assert route.rule == _model_route(rules, path, service)
    if route.rule is not None:
        assert route.group == next(rule.group for rule in rules if rule.name == route.rule)
