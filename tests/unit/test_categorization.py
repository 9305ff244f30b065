"""Categorization: the category tree, rules, the categorizer and their plain data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itil_incident.domain.values import CategoryPath, Channel
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.policies.categorization import (
    CategorizationRule,
    Categorizer,
    CategoryMatch,
    CategoryTree,
)


def P(text: str) -> CategoryPath:
    return CategoryPath.parse(text)


# -- the tree -------------------------------------------------------------------------------------


def test_a_tree_knows_the_ancestors_of_every_path_given() -> None:
    tree = CategoryTree(["Network/VPN/Client"])
    assert tree.paths == (P("Network"), P("Network/VPN"), P("Network/VPN/Client"))


def test_tree_paths_are_sorted_with_parents_before_children() -> None:
    tree = CategoryTree(["Software/ERP", P("Network/VPN"), "Network", "Access"])
    assert [str(path) for path in tree.paths] == [
        "Access",
        "Network",
        "Network/VPN",
        "Software",
        "Software/ERP",
    ]


def test_membership_accepts_paths_and_text_and_is_exact() -> None:
    tree = CategoryTree(["Network/VPN"])
    assert P("Network/VPN") in tree
    assert "Network" in tree
    assert "network/vpn" not in tree
    assert "Network/LAN" not in tree
    assert "Network//VPN" not in tree
    assert 42 not in tree


def test_an_empty_tree_is_refused() -> None:
    with pytest.raises(DefinitionError):
        CategoryTree([])


@pytest.mark.parametrize("paths", [["Network//VPN"], [" /x"], [3], "Network"], ids=repr)
def test_a_tree_refuses_malformed_paths(paths: Any) -> None:
    with pytest.raises(DefinitionError):
        CategoryTree(paths)


def test_validate_returns_a_known_path() -> None:
    assert CategoryTree.default().validate("Network/VPN") == P("Network/VPN")


def test_validate_accepts_a_known_path_in_another_letter_case_and_returns_the_tree_spelling() -> (
    None
):
    validated = CategoryTree.default().validate("network/vpn")
    assert validated.parts == ("Network", "VPN")


def test_validate_suggests_the_closest_known_path_for_an_unknown_one() -> None:
    with pytest.raises(ValidationError) as info:
        CategoryTree.default().validate("Netwrk/VPN")
    assert info.value.field == "category"
    assert str(info.value) == "unknown category 'Netwrk/VPN'; did you mean 'Network/VPN'?"


def test_validate_suggests_nothing_when_nothing_is_close() -> None:
    with pytest.raises(ValidationError) as info:
        CategoryTree.default().validate("Facilities/Coffee Machine")
    assert "did you mean" not in str(info.value)


def test_validate_refuses_malformed_text_as_a_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        CategoryTree.default().validate("Network//VPN")
    assert info.value.field == "category"


def test_children_lists_top_level_categories_by_default() -> None:
    tree = CategoryTree(["Network/VPN", "Network/LAN", "Access"])
    assert tree.children() == (P("Access"), P("Network"))
    assert tree.children(P("Network")) == (P("Network/LAN"), P("Network/VPN"))
    assert tree.children(P("Network/LAN")) == ()


def test_children_of_an_unknown_category_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        CategoryTree(["Network"]).children(P("Hardware"))


def test_from_dict_reads_nested_tables_and_lists_of_leaves() -> None:
    tree = CategoryTree.from_dict(
        {
            "Network": {"VPN": {}, "LAN": {}},
            "Software": ["Email", "ERP", {"Office": ["Excel"]}],
            "Other": {},
        }
    )
    assert {str(path) for path in tree.paths} == {
        "Network",
        "Network/VPN",
        "Network/LAN",
        "Software",
        "Software/Email",
        "Software/ERP",
        "Software/Office",
        "Software/Office/Excel",
        "Other",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["Network"], "must be a mapping"),
        ({}, "at least one category"),
        ({"Network": "VPN"}, "Network: expected a mapping or a list"),
        ({"Software": ["Email", 3]}, "Software[1]: expected a category name, got 3"),
        ({"Network": {"VPN/Client": {}}}, "Network/VPN/Client: "),
        ({"Network": {" VPN": {}}}, "Network/ VPN: "),
        ({"Software": ["Email", "Email"]}, "Software[1]: category 'Software/Email' is given twice"),
        ({"Network": {"VPN": 1}}, "Network/VPN: expected a mapping or a list"),
    ],
)
def test_tree_from_dict_reports_malformed_data_with_its_key_path(data: Any, message: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        CategoryTree.from_dict(data)


def test_tree_to_dict_round_trips_through_from_dict() -> None:
    tree = CategoryTree.default()
    again = CategoryTree.from_dict(tree.to_dict())
    assert again == tree
    assert again.paths == tree.paths


@pytest.mark.parametrize(
    "path",
    [
        "Hardware/Desktop",
        "Hardware/Laptop",
        "Hardware/Printer",
        "Hardware/Server",
        "Hardware/Storage",
        "Software/Email",
        "Software/Operating System",
        "Software/Business Application",
        "Software/Office Suite",
        "Network/VPN",
        "Network/LAN",
        "Network/WAN",
        "Network/Wi-Fi",
        "Network/DNS",
        "Security/Malware",
        "Security/Phishing",
        "Security/Unauthorized Access",
        "Access/Password Reset",
        "Access/Account Lockout",
        "Access/Permissions",
        "Database/Performance",
        "Database/Availability",
        "Inquiry/Help",
    ],
)
def test_the_default_tree_holds_the_itil_style_categories(path: str) -> None:
    assert path in CategoryTree.default()


def test_the_default_tree_has_exactly_seven_top_categories() -> None:
    top = [path.name for path in CategoryTree.default().children()]
    assert top == ["Access", "Database", "Hardware", "Inquiry", "Network", "Security", "Software"]


# -- rules ---------------------------------------------------------------------------------------


def _one(rule: CategorizationRule, **incident: Any) -> CategoryMatch | None:
    incident.setdefault("title", "")
    return Categorizer([rule]).categorize(**incident)


VPN = CategorizationRule("vpn", "Network/VPN", keywords=("vpn",))


@pytest.mark.parametrize(
    ("title", "matched"),
    [
        ("VPN is down", True),
        ("my vpn dropped", True),
        ("the Vpn.", True),
        ("(vpn)", True),
        ("vpnclient crashes", False),
        ("openvpn crashes", False),
        ("vpn_client", False),
    ],
)
def test_a_keyword_matches_as_a_whole_word_in_any_case(title: str, matched: bool) -> None:
    assert (_one(VPN, title=title) is not None) is matched


def test_a_keyword_in_the_description_matches() -> None:
    assert _one(VPN, title="Cannot connect", description="Since the VPN update...") is not None


def test_a_phrase_matches_across_any_whitespace_but_not_partially() -> None:
    rule = CategorizationRule("lockout", "Access/Account Lockout", keywords=("locked out",))
    assert _one(rule, title="I am LOCKED   out") is not None
    assert _one(rule, title="I am locked\nout") is not None
    assert _one(rule, title="I am locked outside") is None
    assert _one(rule, title="locked") is None


def test_a_keyword_ending_in_punctuation_still_needs_a_word_boundary() -> None:
    rule = CategorizationRule("cpp", "Software/Dev", keywords=("c++",))
    assert _one(rule, title="c++ build fails") is not None
    assert _one(rule, title="c++x build fails") is None


def test_a_pattern_is_searched_case_insensitively_across_title_and_description() -> None:
    rule = CategorizationRule("disk", "Hardware/Storage", pattern=r"disk\nfull")
    assert _one(rule, title="Server DISK", description="FULL since noon") is not None
    assert _one(rule, title="Server disk", description="is full") is None


def test_every_condition_given_must_hold() -> None:
    rule = CategorizationRule(
        "monitored-erp",
        "Software/ERP",
        keywords=("timeout",),
        service="ERP",
        configuration_item="erp-db-01",
        channel=Channel.MONITORING,
    )
    incident: dict[str, Any] = {
        "title": "Timeout on invoices",
        "service": "ERP",
        "configuration_items": ["erp-app-01", "erp-db-01"],
        "channel": Channel.MONITORING,
    }
    assert _one(rule, **incident) == CategoryMatch(P("Software/ERP"), "monitored-erp")
    for key, other in [
        ("title", "Slow invoices"),
        ("service", "CRM"),
        ("configuration_items", ["erp-app-01"]),
        ("channel", Channel.EMAIL),
    ]:
        assert _one(rule, **{**incident, key: other}) is None, key


def test_a_service_condition_does_not_match_an_incident_without_service() -> None:
    rule = CategorizationRule("erp", "Software/ERP", service="ERP")
    assert _one(rule, title="anything") is None
    assert _one(rule, title="anything", service="ERP") is not None


def test_the_first_matching_rule_wins_and_is_reported() -> None:
    categorizer = Categorizer(
        [
            CategorizationRule("phishing", "Security/Phishing", keywords=("phishing",)),
            CategorizationRule("email", "Software/Email", keywords=("email", "phishing")),
            CategorizationRule("email-again", "Software/Other", keywords=("email",)),
        ]
    )
    assert categorizer.categorize(title="Phishing email received") == CategoryMatch(
        P("Security/Phishing"), "phishing"
    )
    assert categorizer.categorize(title="Email bounced") == CategoryMatch(
        P("Software/Email"), "email"
    )


def test_categorize_returns_none_when_no_rule_matches() -> None:
    assert Categorizer([VPN]).categorize(title="Printer jam") is None


def test_an_invalid_pattern_is_a_definition_error_naming_the_rule() -> None:
    with pytest.raises(DefinitionError, match="'broken'") as info:
        CategorizationRule("broken", "Network", pattern="(unclosed")
    assert info.value.culprit == "broken"


def test_a_rule_without_any_condition_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="no condition") as info:
        CategorizationRule("empty", "Network")
    assert info.value.culprit == "empty"


@pytest.mark.parametrize(
    "changes",
    [
        {"keywords": "vpn"},
        {"keywords": ("vpn", "")},
        {"keywords": ("vpn", 3)},
        {"channel": "pigeon"},
        {"category": "Network//VPN"},
        {"name": ""},
        {"service": ""},
    ],
    ids=repr,
)
def test_a_malformed_rule_is_a_definition_error(changes: dict[str, Any]) -> None:
    options: dict[str, Any] = {"name": "r", "category": "Network", "keywords": ("vpn",)}
    options.update(changes)
    with pytest.raises(DefinitionError):
        CategorizationRule(**options)


def test_a_channel_given_as_text_becomes_a_channel() -> None:
    rule = CategorizationRule("mail", "Software/Email", channel="email")
    assert rule.channel is Channel.EMAIL


def test_duplicate_rule_names_are_a_definition_error() -> None:
    with pytest.raises(DefinitionError) as info:
        Categorizer([VPN, CategorizationRule("vpn", "Network", keywords=("tunnel",))])
    assert info.value.culprit == "vpn"


def test_rule_categories_must_be_in_the_tree_when_one_is_given() -> None:
    rule = CategorizationRule("erp", "Software/ERP", keywords=("erp",))
    assert Categorizer([rule]).rules == (rule,)
    with pytest.raises(DefinitionError, match="not in the tree") as info:
        Categorizer([rule], tree=CategoryTree.default())
    assert info.value.culprit == "erp"


@pytest.mark.parametrize(
    ("incident", "field"),
    [
        ({"title": None}, "title"),
        ({"title": "x", "description": 3}, "description"),
        ({"title": "x", "service": 3}, "service"),
        ({"title": "x", "configuration_items": "ci-1"}, "configuration_items"),
        ({"title": "x", "channel": "email"}, "channel"),
    ],
    ids=repr,
)
def test_categorize_refuses_inputs_of_the_wrong_type(incident: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Categorizer([VPN]).categorize(**incident)
    assert info.value.field == field


# -- explain --------------------------------------------------------------------------------------


def test_explain_says_for_each_rule_whether_it_matched_and_why() -> None:
    categorizer = Categorizer(
        [
            CategorizationRule("erp", "Software/ERP", service="ERP"),
            VPN,
            CategorizationRule("pattern", "Network", pattern="tunnel"),
            CategorizationRule("mail", "Software/Email", channel=Channel.EMAIL),
        ]
    )
    explained = categorizer.explain(
        title="Laptop", description="the vpn tunnel", service="CRM", channel=Channel.EMAIL
    )
    assert explained == [
        ("erp", False, "service is 'CRM', not 'ERP'"),
        ("vpn", True, "keyword 'vpn' found in description"),
        ("pattern", True, "pattern 'tunnel' found"),
        ("mail", True, "channel is 'email'"),
    ]


def test_explain_names_the_missing_keywords() -> None:
    [(_, matched, why)] = Categorizer([VPN]).explain(title="printer")
    assert not matched
    assert why == "no keyword found (looked for 'vpn')"


def test_explain_lists_every_condition_met() -> None:
    rule = CategorizationRule(
        "r", "Network", keywords=("vpn",), service="Remote", configuration_item="gw-1"
    )
    [(_, matched, why)] = Categorizer([rule]).explain(
        title="VPN", service="Remote", configuration_items=["gw-1"]
    )
    assert matched
    assert why == (
        "service is 'Remote'; configuration item 'gw-1' is among the CIs; "
        "keyword 'vpn' found in title"
    )


# -- plain data -----------------------------------------------------------------------------------


def test_categorizer_to_dict_round_trips_through_from_dict() -> None:
    categorizer = Categorizer.default()
    data = categorizer.to_dict()
    again = Categorizer.from_dict(data, tree=CategoryTree.default())
    assert again.rules == categorizer.rules
    assert again.to_dict() == data


def test_rule_to_dict_leaves_out_conditions_not_given() -> None:
    assert VPN.to_dict() == {"name": "vpn", "category": "Network/VPN", "keywords": ["vpn"]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "r"}, "rules: expected a list of rule tables"),
        ([{"name": "ok", "category": "A", "keywords": ["a"]}, "x"], "rules[1]: expected a table"),
        ([{"name": "r", "keywords": ["a"]}], "rules[0].category: missing"),
        ([{"name": "r", "category": "A", "keywords": "a"}], "rules[0].keywords: expected a list"),
        ([{"name": "r", "category": "A", "keyword": ["a"]}], "rules[0].keyword: unknown key"),
        ([{"name": "r", "category": "A", "pattern": "("}], "rules[0]: rule 'r': invalid pattern"),
        ([{"name": "r", "category": "A//B", "service": "s"}], "rules[0].category: "),
        ([{"name": "r", "category": "A", "channel": "fax"}], "rules[0].channel: unknown channel"),
        ([{"name": "r", "category": "A", "service": 3}], "rules[0].service: expected a string"),
        ([{"name": "r", "category": "A"}], "rules[0]: rule 'r' has no condition"),
    ],
)
def test_categorizer_from_dict_reports_malformed_data_with_its_key_path(
    data: Any, message: str
) -> None:
    with pytest.raises(DefinitionError, match=re.escape(message)):
        Categorizer.from_dict(data)


# -- the default rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("VPN keeps disconnecting", "Network/VPN"),
        ("I forgot my password", "Access/Password Reset"),
        ("Account is locked after three tries", "Access/Account Lockout"),
        ("I got locked out", "Access/Account Lockout"),
        ("Printer on floor 3 shows paper jam", "Hardware/Printer"),
        ("Outlook will not open", "Software/Email"),
        ("Cannot send e-mail", "Software/Email"),
        ("Phishing email asking for my password", "Security/Phishing"),
        ("Disk full on fileserver", "Hardware/Storage"),
        ("Drive C: is full", "Hardware/Storage"),
        ("No space left on device", "Hardware/Storage"),
        ("Wi-Fi very slow in room 12", "Network/Wi-Fi"),
        ("How do I share a calendar?", "Software/Email"),
        ("How do I request a new badge?", "Inquiry/Help"),
    ],
)
def test_the_default_rules_categorize_common_reports(title: str, category: str) -> None:
    match = Categorizer.default().categorize(title=title)
    assert match is not None
    assert str(match.category) == category


def test_the_default_rules_only_use_categories_of_the_default_tree() -> None:
    tree = CategoryTree.default()
    assert all(rule.category in tree for rule in Categorizer.default().rules)


# -- properties -----------------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["vpn", "VPN", "password", "locked", "out", "printer", "e-mail", "disk", "full", "phishing",
     "wifi", "how", "do", "I", "the", "is", "down", "-", "\n", "  ", "é", "Ω", "database", "slow"]
)  # fmt: skip
TEXT = st.one_of(st.text(max_size=40), st.lists(WORDS, max_size=8).map(" ".join))
INCIDENTS = st.fixed_dictionaries(
    {
        "title": TEXT,
        "description": TEXT,
        "service": st.none() | st.sampled_from(["ERP", "Email"]),
        "configuration_items": st.lists(st.sampled_from(["ci-1", "ci-2"]), max_size=2),
        "channel": st.none() | st.sampled_from(list(Channel)),
    }
)


@given(INCIDENTS)
def test_categorize_is_deterministic_and_only_returns_categories_of_the_tree(
    incident: dict[str, Any],
) -> None:
    categorizer = Categorizer.default()
    tree = CategoryTree.default()
    first = categorizer.categorize(**incident)
    assert categorizer.categorize(**incident) == first
    if first is not None:
        assert first.category in tree
        assert first.rule in {rule.name for rule in categorizer.rules}


@given(INCIDENTS)
def test_categorize_agrees_with_the_first_rule_explain_says_matched(
    incident: dict[str, Any],
) -> None:
    categorizer = Categorizer.default()
    explained = categorizer.explain(**incident)
    matched = [name for name, ok, _ in explained if ok]
    result = categorizer.categorize(**incident)
    assert (result.rule if result else None) == (matched[0] if matched else None)
