"""The sections of the desk's other policies (``families``, ``problems``, ``known_errors``,
``major``, ``alerts``), as properties: any valid policy written as TOML reads back equal, and a
bad value anywhere in those sections is reported at (or above) its own key path."""

from __future__ import annotations

import copy
import math
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import Actor, DeskPolicies
from itil_incident.alerts import AlertPolicy
from itil_incident.config import ConfigError, DeskConfig, default_config, dump_config, load_config
from itil_incident.config._read_policies import MATCHER_KEYS
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.policies.known_errors import KnownErrorMatcher
from itil_incident.policies.major import ClusterRule, MajorIncidentPolicy
from itil_incident.policies.problem_resolution import OnProblemResolved

NEW_SECTIONS = ("families", "problems", "known_errors", "major", "alerts")

labels = st.text(alphabet="abcdefXYZ 0123-_/é'\"", min_size=1, max_size=10).filter(
    lambda text: text.strip() == text and text != "")
spans = st.integers(60, 10**6).map(lambda seconds: timedelta(seconds=seconds))
levels = st.integers(1, 5)  # the default incident matrix has five


@st.composite
def cluster_rules(draw: st.DrawFn) -> ClusterRule:
    by_service, by_item = draw(st.sampled_from([(True, True), (True, False), (False, True)]))
    return ClusterRule(threshold=draw(st.integers(2, 50)), window=draw(spans),
                       by_service=by_service, by_configuration_item=by_item)


@st.composite
def major_policies(draw: st.DrawFn) -> MajorIncidentPolicy:
    roles = draw(st.lists(labels, min_size=1, max_size=5, unique=True))
    return MajorIncidentPolicy(
        priorities=draw(st.frozensets(levels)),
        critical_services=draw(st.frozensets(labels, max_size=4)),
        cluster=draw(st.none() | cluster_rules()),
        manager_role=draw(labels),
        review_required=draw(st.booleans()),
        cadence=draw(st.dictionaries(levels, spans, max_size=5)),
        roles=roles,
        shared_roles=draw(st.frozensets(st.sampled_from(roles))))


@st.composite
def alert_policies(draw: st.DrawFn) -> AlertPolicy:
    pair = st.tuples(st.integers(1, 3), st.integers(1, 3))
    return AlertPolicy(
        levels={severity: draw(pair) for severity in AlertSeverity if not severity.is_recovery},
        service_impact=draw(st.dictionaries(labels, st.integers(1, 3), max_size=3)),
        grouping_window=draw(st.none() | spans),
        resolve_on_recovery=draw(st.booleans()),
        resolution_code=draw(labels),
        flap_threshold=draw(st.integers(1, 100)),
        flap_window=draw(spans),
        max_payload_bytes=draw(st.integers(1, 10**7)),
        category=draw(st.sampled_from([None, "Network", "Network/VPN", "Hardware"])),
        assignment_group=draw(st.sampled_from([None, "Service Desk", "Network Support"])),
        actor=Actor(draw(labels), draw(st.just("") | labels),
                    draw(st.frozensets(labels, max_size=3))))


matchers = st.builds(KnownErrorMatcher, **{
    name: st.integers(1 if name in ("min_score", "max_offers") else 0, 1000)
    for name in MATCHER_KEYS})


@given(major=st.none() | major_policies(), alerts=alert_policies(),
       known_errors=st.none() | matchers, on_log=st.booleans(), cascade=st.booleans(),
       duplicate=labels, closure=labels, on_resolved=st.sampled_from(list(OnProblemResolved)),
       problem_code=labels)
def test_any_valid_policies_of_the_new_sections_read_back_equal(
        major: MajorIncidentPolicy | None, alerts: AlertPolicy,
        known_errors: KnownErrorMatcher | None, on_log: bool, cascade: bool, duplicate: str,
        closure: str, on_resolved: OnProblemResolved, problem_code: str) -> None:
    policies = DeskPolicies(
        major=major, alerts=alerts, known_errors=known_errors,
        known_errors_on_log=on_log or known_errors is None,  # no matcher: nothing to offer
        cascade_resolution=cascade, duplicate_resolution_code=duplicate,
        duplicate_closure_code=closure, on_problem_resolved=on_resolved,
        problem_resolution_code=problem_code)
    config = DeskConfig(policies=policies)
    loaded = load_config(dump_config(config))
    assert loaded == config
    for name in ("major", "known_errors", "known_errors_on_log", "cascade_resolution",
                 "duplicate_resolution_code", "duplicate_closure_code", "on_problem_resolved",
                 "problem_resolution_code"):
        assert getattr(loaded.policies, name) == getattr(policies, name), name
    for field in attrs.fields(AlertPolicy):  # AlertPolicy compares by identity
        assert getattr(loaded.policies.alerts, field.name) == getattr(alerts, field.name)


# -- a bad value anywhere ------------------------------------------------------------------------


def leaves(data: Any, path: str = "", *, tables: bool = False
           ) -> list[tuple[str, tuple[str | int, ...]]]:
    """Every scalar of ``data`` (and every table and array, with ``tables``): its key path (as
    issues write it) and its location."""
    found: list[tuple[str, tuple[str | int, ...]]] = []

    def walk(value: Any, text: str, where: tuple[str | int, ...]) -> None:
        if tables and where and isinstance(value, (dict, list)):
            found.append((text, where))
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{text}.{name}" if text else name, (*where, name))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                walk(item, f"{text}[{position}]", (*where, position))
        else:
            found.append((text, where))

    walk(data, path, ())
    return found


DATA = default_config().to_dict()
NEW_LEAVES = [leaf for leaf in leaves(DATA) if leaf[1][0] in NEW_SECTIONS]
NEW_NODES = [leaf for leaf in leaves(DATA, tables=True) if leaf[1][0] in NEW_SECTIONS]


def placed(where: tuple[str | int, ...], value: object) -> dict[str, Any]:
    data = copy.deepcopy(DATA)
    holder: Any = data
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = value
    return data


def test_the_new_sections_have_many_places_to_go_wrong() -> None:
    assert {where[0] for _, where in NEW_LEAVES} == set(NEW_SECTIONS)
    assert len(NEW_LEAVES) > 40


@settings(max_examples=200)
@given(st.sampled_from(NEW_LEAVES))
def test_a_bad_value_anywhere_in_the_new_sections_is_reported_at_or_above_its_path(
        leaf: tuple[str, tuple[str | int, ...]]) -> None:
    path, where = leaf
    with pytest.raises(ConfigError) as caught:
        load_config(placed(where, math.nan))
    assert any(issue.path and (path == issue.path or path.startswith(
        (issue.path + ".", issue.path + "["))) for issue in caught.value.issues), (
        path, [str(issue) for issue in caught.value.issues])


odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
    st.datetimes(), st.dates(), st.times(),
    st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.integers(), st.text(max_size=4)),
                    max_size=2))


@settings(max_examples=400)
@given(st.sampled_from(NEW_NODES), odd_values)
def test_any_value_anywhere_in_the_new_sections_is_accepted_or_refused_with_a_config_error(
        leaf: tuple[str, tuple[str | int, ...]], value: object) -> None:
    issues: tuple[object, ...] = ()
    try:
        config: DeskConfig | None = load_config(placed(leaf[1], value))
    except ConfigError as error:
        config, issues = None, error.issues
    assert (config is None) == bool(issues)
    if config is not None:  # what was accepted writes back and reads back equal
        assert load_config(dump_config(config)) == config
