"""Monitoring alerts at the service desk: deduplication by key into incidents, severity raises,
recoveries, flapping keys held, refused alerts counted; and the checks of an alert."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from itil_incident import (
    MONITORING,
    Alert,
    AlertGroup,
    AlertOutcomeKind,
    AlertPolicy,
    AlertRefusal,
    AlertRejectedError,
    AlertSeverity,
    Channel,
    ConcurrencyError,
    DefinitionError,
    DeskPolicies,
    FrozenClock,
    IncidentAlertGroupOpened,
    IncidentAlertGroupReleased,
    IncidentAlertRecovered,
    IncidentAlertSeverityRaised,
    IncidentReprioritized,
    IncidentResolved,
    InMemoryAlertStore,
    InMemoryRepository,
    NotFoundError,
    PriorityMatrix,
    RecordingNotifier,
    RoleBasedAuthorizer,
    ServiceDesk,
    ValidationError,
)
from itil_incident.alerts._values import payload_size
from itil_incident.testing import make_desk

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEY = "web-1/disk"
AGENT_ROLES = frozenset({"agent"})


def desk_with(clock: FrozenClock | None = None, **alert_policy: Any) -> ServiceDesk:
    policies = DeskPolicies(alerts=AlertPolicy(**alert_policy))
    return make_desk(policies=policies, clock=clock or FrozenClock(T0))


def alert(desk: ServiceDesk, severity: str = "critical", key: str = KEY, **fields: Any
          ) -> Any:
    fields.setdefault("at", desk.clock.now())
    return desk.ingest_alert("nagios", key, severity, "Disk full on web-1", **fields)


def events_of(desk: ServiceDesk, incident_id: str) -> list[str]:
    return [event.name for event in desk.timeline(incident_id)]


# ----------------------------------------------------------------- the alert value


def test_an_alert_of_good_fields_keeps_them_and_its_payload_as_canonical_json() -> None:
    checked = Alert.of(source="nagios", dedup_key=KEY, severity="MAJOR", summary="Disk full",
                       service="web", configuration_item="web-1",
                       payload={"z": 1, "a": ["é", None, True, 2.5]},
                       at=datetime(2026, 1, 5, 10, tzinfo=timezone(timedelta(hours=1))))
    assert checked.severity is AlertSeverity.MAJOR
    assert checked.at == T0
    assert checked.at.tzinfo is UTC
    assert checked.payload_json == '{"a":["é",null,true,2.5],"z":1}'
    assert checked.payload == {"a": ["é", None, True, 2.5], "z": 1}
    assert checked.payload_bytes == len(checked.payload_json.encode())


@pytest.mark.parametrize(("fields", "reason", "field"), [
    ({"dedup_key": None}, AlertRefusal.MISSING_KEY, "dedup_key"),
    ({"dedup_key": "   "}, AlertRefusal.MISSING_KEY, "dedup_key"),
    ({"dedup_key": 42}, AlertRefusal.INVALID_FIELD, "dedup_key"),
    ({"dedup_key": "two\nlines"}, AlertRefusal.INVALID_FIELD, "dedup_key"),
    ({"dedup_key": "k" * 201}, AlertRefusal.INVALID_FIELD, "dedup_key"),
    ({"source": ""}, AlertRefusal.MISSING_SOURCE, "source"),
    ({"summary": None}, AlertRefusal.MISSING_SUMMARY, "summary"),
    ({"severity": "catastrophic"}, AlertRefusal.UNKNOWN_SEVERITY, "severity"),
    ({"severity": 5}, AlertRefusal.UNKNOWN_SEVERITY, "severity"),
    ({"payload": {"blob": "x" * 20_000}}, AlertRefusal.OVERSIZED_PAYLOAD, "payload"),
    ({"payload": ["not", "an", "object"]}, AlertRefusal.INVALID_PAYLOAD, "payload"),
    ({"payload": {"tags": {"a", "b"}}}, AlertRefusal.INVALID_PAYLOAD, "payload"),
    ({"payload": {"ratio": math.nan}}, AlertRefusal.INVALID_PAYLOAD, "payload"),
    ({"payload": {1: "numeric key"}}, AlertRefusal.INVALID_PAYLOAD, "payload"),
    ({"payload": {"text": "\ud800"}}, AlertRefusal.INVALID_PAYLOAD, "payload"),
    ({"service": "a\tb"}, AlertRefusal.INVALID_FIELD, "service"),
    ({"at": datetime(2026, 1, 5, 9, 0)}, AlertRefusal.INVALID_TIME, "at"),
    ({"at": "2026-01-05T09:00:00Z"}, AlertRefusal.INVALID_TIME, "at"),
])
def test_a_bad_field_is_refused_with_its_reason_and_name(
        fields: dict[str, Any], reason: AlertRefusal, field: str) -> None:
    arguments: dict[str, Any] = {"source": "nagios", "dedup_key": KEY, "severity": "critical",
                                 "summary": "Disk full", "at": T0, **fields}
    with pytest.raises(AlertRejectedError) as refused:
        Alert.of(**arguments)
    assert (refused.value.reason, refused.value.field) == (reason, field)
    assert isinstance(refused.value, ValidationError)


def test_a_payload_nested_too_deep_is_refused() -> None:
    nested: dict[str, Any] = {}
    for _ in range(40):
        nested = {"x": nested}
    with pytest.raises(AlertRejectedError) as refused:
        Alert.of(source="s", dedup_key="k", severity="info", summary="s", payload=nested, at=T0)
    assert refused.value.reason is AlertRefusal.INVALID_PAYLOAD


JSON_SCALARS = (st.none() | st.booleans() | st.integers() | st.text()
                | st.floats(allow_nan=False, allow_infinity=False))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=6),
       limit=st.integers(min_value=1, max_value=400))
def test_a_payload_is_accepted_exactly_when_its_compact_json_fits_the_limit(
        payload: dict[str, Any], limit: int) -> None:
    try:
        exact = len(json.dumps(payload, ensure_ascii=False, sort_keys=True,
                               separators=(",", ":")).encode())
    except UnicodeEncodeError:  # a lone surrogate: not JSON text at all
        exact = None
    outcome = checked_or_refused(payload, limit)
    if isinstance(outcome, AlertRejectedError):
        expected = (AlertRefusal.INVALID_PAYLOAD if exact is None
                    else AlertRefusal.OVERSIZED_PAYLOAD)
        assert outcome.reason is expected
        assert exact is None or exact > limit
    else:
        assert exact is not None
        assert exact <= limit
        assert outcome.payload_bytes == exact
        assert outcome.payload == json.loads(json.dumps(payload))


class Text(str):
    """Text, but not a str: a payload holds plain JSON values only."""

    __slots__ = ()


class Count(int):
    """A number, but not an int."""


SURROGATES = st.sampled_from(["\ud800", "cpu\udfff"])


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]
           ) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, else ``bad``: a flat payload is often good throughout."""
    return st.integers(min_value=0, max_value=9).flatmap(lambda n: bad if n == 0 else good)


FLAT_KEYS = mostly(st.text(max_size=12),
                   st.builds(Text, st.text(max_size=4)) | st.integers() | SURROGATES)
FLAT_VALUES = mostly(
    st.none() | st.booleans() | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
    | st.text(st.characters(codec="ascii"), max_size=40)
    | st.sampled_from([-2.2250738585072014e-308, 1.2345678901234567e-300,
                       -(10**20) + 1, 10**20]),  # the longest numbers
    st.sampled_from([math.nan, math.inf, -math.inf]) | SURROGATES
    | st.builds(Text, st.text(max_size=4))
    | st.builds(Count, st.integers()) | st.lists(st.integers(), max_size=2))


@settings(max_examples=500, deadline=None)
@given(payload=st.dictionaries(FLAT_KEYS, FLAT_VALUES, max_size=6), near=st.booleans(),
       slack=st.integers(min_value=-25, max_value=25))
@example(payload={"": 1.2345678901234567e-300}, near=True, slack=-1)  # 24 bytes a float
@example(payload={"": -(10**20) + 1}, near=True, slack=-1)  # 21 characters an int
@example(payload={"": 10**25}, near=True, slack=-1)  # a longer one: the full walk
@example(payload={"a": math.nan}, near=False, slack=0)
@example(payload={"a": "\ud800"}, near=False, slack=0)
@example(payload={"\udfff": 1}, near=False, slack=0)
@example(payload={"a": Count(1)}, near=False, slack=0)
@example(payload={"a": Text("x")}, near=False, slack=0)
@example(payload={Text("k"): 1}, near=False, slack=0)
def test_a_flat_payload_is_judged_as_by_the_full_walk(payload: dict[Any, Any], near: bool,
                                                      slack: int) -> None:
    limit = 16_384  # the default: the types decide
    if near:  # about the payload's size, when it has one: the size decides
        try:
            limit = max(1, len(json.dumps(payload, ensure_ascii=False, sort_keys=True,
                                          separators=(",", ":")).encode()) + slack)
        except (TypeError, ValueError):
            limit = 50 + slack
    # A mapping that is not a dict skips the one-pass check of flat dicts: the full walk.
    expected = size_or_refusal(MappingProxyType(payload), limit)
    found = size_or_refusal(payload, limit)
    assert found == expected
    if not isinstance(found, tuple):
        assert found == len(json.dumps(payload, ensure_ascii=False, sort_keys=True,
                                       separators=(",", ":")).encode())
        assert found <= limit


def size_or_refusal(payload: Mapping[Any, Any], limit: int) -> int | tuple[str, str]:
    try:
        checked = payload_size(payload, limit)
    except AlertRejectedError as refused:
        return refused.reason.value, str(refused)
    return len(json.dumps(checked, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode())


def checked_or_refused(payload: dict[str, Any], limit: int) -> Alert | AlertRejectedError:
    try:
        return Alert.of(source="s", dedup_key="k", severity="info", summary="s",
                        payload=payload, at=T0, max_payload_bytes=limit)
    except AlertRejectedError as refused:
        return refused


@given(st.sampled_from(list(AlertSeverity)), st.sampled_from(list(AlertSeverity)))
def test_severities_are_ordered_by_rank_and_parse_their_names_in_any_case(
        left: AlertSeverity, right: AlertSeverity) -> None:
    assert (left < right) == (left.rank < right.rank)
    assert (left >= right) == (left.rank >= right.rank)
    assert AlertSeverity.parse(left.value.upper()) is left
    assert AlertSeverity.parse(left) is left


# ----------------------------------------------------------------- opening and folding


def test_a_first_alert_opens_a_monitoring_incident_holding_the_key() -> None:
    desk = desk_with(service_impact={"web": 1})
    outcome = alert(desk, "minor", service="web", configuration_item="web-1",
                    payload={"used": 99.5}, at=T0 - timedelta(minutes=2))
    assert outcome.kind is AlertOutcomeKind.OPENED
    assert outcome.dedup_key == KEY
    assert outcome.incident_id is not None
    incident = desk.get_incident(outcome.incident_id)
    assert incident.channel is Channel.MONITORING
    assert (incident.impact.level, incident.urgency.level) == (1, 2)  # critical service
    assert incident.title == "Disk full on web-1"
    assert incident.service == "web"
    assert incident.configuration_items == ("web-1",)
    assert incident.occurred_at == T0 - timedelta(minutes=2)
    assert incident.detected_at == T0
    assert incident.logged_by == MONITORING
    assert incident.alert_key == KEY
    assert incident.alert_severity is AlertSeverity.MINOR
    opened = incident.timeline()[-1]
    assert isinstance(opened, IncidentAlertGroupOpened)
    assert (opened.source, opened.dedup_key, opened.payload) == ("nagios", KEY, '{"used":99.5}')


def test_repeats_fold_into_the_open_incident_without_writing_to_it() -> None:
    clock = FrozenClock(T0)
    desk = desk_with(clock)
    incident_id = alert(desk, "major").incident_id
    assert incident_id is not None
    version = desk.get_incident(incident_id).version
    outcomes = [alert(desk, severity, at=T0 + timedelta(minutes=minutes))
                for severity, minutes in (("major", 5), ("warning", 1), ("info", 9))]
    assert {(o.kind, o.incident_id) for o in outcomes} == {(AlertOutcomeKind.FOLDED,
                                                            incident_id)}
    assert desk.get_incident(incident_id).version == version
    group = desk.alert_group(KEY)
    assert (group.count, group.first_seen, group.last_seen) == (4, T0, T0 + timedelta(minutes=9))
    assert group.highest is AlertSeverity.MAJOR
    assert group.folded == 3


def test_an_alert_earlier_than_the_first_moves_first_seen_back() -> None:
    desk = desk_with()
    alert(desk, "major")
    alert(desk, "major", at=T0 - timedelta(hours=1))
    group = desk.alert_group(KEY)
    assert (group.first_seen, group.last_seen) == (T0 - timedelta(hours=1), T0)


def test_a_higher_severity_is_recorded_on_the_incident_and_raises_its_priority() -> None:
    desk = desk_with()
    incident_id = alert(desk, "warning").incident_id
    assert incident_id is not None
    outcome = alert(desk, "critical")
    assert outcome.kind is AlertOutcomeKind.FOLDED
    assert outcome.reason is not None
    incident = desk.get_incident(incident_id)
    raised, reprioritized = incident.timeline()[-2:]
    assert isinstance(raised, IncidentAlertSeverityRaised)
    assert (raised.previous_severity, raised.severity) == (AlertSeverity.WARNING,
                                                           AlertSeverity.CRITICAL)
    assert isinstance(reprioritized, IncidentReprioritized)
    assert incident.priority.level == 1
    assert incident.alert_severity is AlertSeverity.CRITICAL


def test_a_higher_severity_never_lowers_a_priority_raised_by_hand() -> None:
    desk = desk_with()
    incident_id = alert(desk, "info").incident_id
    assert incident_id is not None
    agent = MONITORING  # any actor will do with the default authorizer
    desk.change_impact_urgency(incident_id, actor=agent, impact=1, urgency=1)
    alert(desk, "warning")
    incident = desk.get_incident(incident_id)
    assert (incident.impact.level, incident.urgency.level) == (1, 1)
    assert not isinstance(incident.timeline()[-1], IncidentReprioritized)


def test_alert_levels_are_capped_to_a_smaller_priority_matrix() -> None:
    small = PriorityMatrix.from_mapping(
        "small", {(1, 1): 1, (1, 2): 2, (2, 1): 2, (2, 2): 3}, impacts=["High", "Low"],
        urgencies=["High", "Low"], priorities=["Critical", "High", "Moderate"])
    desk = make_desk(policies=DeskPolicies(priority_matrix=small), clock=FrozenClock(T0))
    incident_id = alert(desk, "info").incident_id  # the default maps info to (3, 3)
    assert incident_id is not None
    incident = desk.get_incident(incident_id)
    assert (incident.impact.level, incident.urgency.level) == (2, 2)


# ----------------------------------------------------------------- recovery


def test_a_recovery_resolves_the_incident_through_the_resolve_path() -> None:
    notifier = RecordingNotifier()
    desk = make_desk(notifier=notifier, clock=FrozenClock(T0))
    incident_id = alert(desk, "major").incident_id
    alert(desk, "major")
    outcome = alert(desk, "clear")
    assert (outcome.kind, outcome.incident_id) == (AlertOutcomeKind.RESOLVED, incident_id)
    assert incident_id is not None
    incident = desk.get_incident(incident_id)
    recovered, resolved = incident.timeline()[-2:]
    assert isinstance(recovered, IncidentAlertRecovered)
    assert recovered.alert_count == 3
    assert isinstance(resolved, IncidentResolved)
    assert resolved.actor == MONITORING
    assert incident.status == "resolved"
    assert incident.resolution_code == "solved_remotely"
    assert [e.name for e in notifier.events][-2:] == ["incident.alert_recovered",
                                                      "incident.resolved"]


def test_a_recovery_only_records_itself_when_the_policy_keeps_incidents_open() -> None:
    desk = desk_with(resolve_on_recovery=False)
    incident_id = alert(desk, "major").incident_id
    assert incident_id is not None
    outcome = alert(desk, "clear")
    assert outcome.kind is AlertOutcomeKind.RECOVERED
    assert outcome.reason
    assert desk.get_incident(incident_id).is_open
    again = alert(desk, "major")  # the key fires again: back into the same open incident
    assert (again.kind, again.incident_id) == (AlertOutcomeKind.FOLDED, incident_id)


def test_a_recovery_the_authorizer_forbids_to_resolve_is_only_recorded() -> None:
    authorizer = RoleBasedAuthorizer({"ingest_alert": {"system"}})
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0), authorizer=authorizer)
    incident_id = alert(desk, "major").incident_id
    assert incident_id is not None
    outcome = alert(desk, "clear")
    assert outcome.kind is AlertOutcomeKind.RECOVERED
    assert outcome.reason is not None
    assert "not allowed" in outcome.reason
    assert desk.get_incident(incident_id).is_open


def test_a_recovery_without_an_open_incident_is_counted_as_cleared() -> None:
    desk = desk_with()
    outcome = alert(desk, "clear", key="never-fired")
    assert (outcome.kind, outcome.incident_id) == (AlertOutcomeKind.CLEARED, None)
    assert desk.alert_group("never-fired").cleared == 1
    assert desk.list_incidents() == []


# ----------------------------------------------------------------- a key seen again


def test_a_key_seen_after_its_incident_closed_opens_a_new_one() -> None:
    desk = desk_with()
    first = alert(desk, "major").incident_id
    assert first is not None
    alert(desk, "clear")
    desk.close(first, actor=MONITORING)
    closed_version = desk.get_incident(first).version
    second = alert(desk, "major")
    assert second.kind is AlertOutcomeKind.OPENED
    assert second.incident_id != first
    assert desk.get_incident(first).version == closed_version  # a closed incident never changes


def test_a_key_seen_after_a_person_resolved_its_incident_opens_a_new_one_and_the_old_gives_it_up(
) -> None:
    desk = desk_with()
    first = alert(desk, "major").incident_id
    assert first is not None
    desk.resolve(first, actor=MONITORING, code="solved_workaround", notes="Freed space")
    second = alert(desk, "major").incident_id
    assert second is not None
    assert second != first
    old = desk.get_incident(first)
    released = old.timeline()[-1]
    assert isinstance(released, IncidentAlertGroupReleased)
    assert second in released.reason
    assert old.alert_key is None
    assert desk.get_incident(second).alert_key == KEY
    assert desk.alert_group(KEY).incident_id == second


def test_a_key_quiet_for_longer_than_the_grouping_window_starts_a_new_incident() -> None:
    desk = desk_with(grouping_window=timedelta(hours=1))
    first = alert(desk, "major").incident_id
    within = alert(desk, "major", at=T0 + timedelta(minutes=59))
    assert (within.kind, within.incident_id) == (AlertOutcomeKind.FOLDED, first)
    later = alert(desk, "major", at=T0 + timedelta(hours=2))
    assert later.kind is AlertOutcomeKind.OPENED
    assert later.incident_id != first
    assert first is not None
    old = desk.get_incident(first)
    assert old.is_open
    assert old.alert_key is None
    released = old.timeline()[-1]
    assert isinstance(released, IncidentAlertGroupReleased)
    assert "window" in released.reason


# ----------------------------------------------------------------- flapping


def flap(desk: ServiceDesk, clock: FrozenClock, cycles: int) -> list[AlertOutcomeKind]:
    kinds = []
    for _ in range(cycles):
        clock.advance(minutes=1)
        kinds.append(alert(desk, "critical").kind)
        clock.advance(minutes=1)
        kinds.append(alert(desk, "clear").kind)
    return kinds


def test_a_flapping_key_is_held_after_the_threshold_instead_of_opening_more_incidents() -> None:
    clock = FrozenClock(T0)
    desk = desk_with(clock, flap_threshold=3, flap_window=timedelta(hours=1))
    kinds = flap(desk, clock, 6)
    opened, resolved, held = (AlertOutcomeKind.OPENED, AlertOutcomeKind.RESOLVED,
                              AlertOutcomeKind.HELD)
    assert kinds == [opened, resolved] * 3 + [held] * 6
    assert len(desk.list_incidents()) == 3
    [group] = desk.flapping_alerts()
    assert group.dedup_key == KEY
    assert group.held == 6
    assert group.held_since is not None
    assert desk.alert_groups(flapping=False) == []


def test_a_flapping_key_is_released_once_it_calms_down_within_the_window() -> None:
    clock = FrozenClock(T0)
    desk = desk_with(clock, flap_threshold=2, flap_window=timedelta(minutes=30))
    flap(desk, clock, 3)
    assert desk.flapping_alerts() != []
    clock.advance(hours=1)
    outcome = alert(desk, "critical")
    assert outcome.kind is AlertOutcomeKind.OPENED
    assert desk.flapping_alerts() == []
    assert desk.alert_group(KEY).held_since is None


def test_held_alerts_change_no_incident() -> None:
    clock = FrozenClock(T0)
    desk = desk_with(clock, flap_threshold=1, flap_window=timedelta(hours=1),
                     resolve_on_recovery=False)
    incident_id = alert(desk, "critical").incident_id
    assert incident_id is not None
    alert(desk, "clear")
    version = desk.get_incident(incident_id).version
    assert alert(desk, "critical").kind is AlertOutcomeKind.HELD
    assert alert(desk, "clear").kind is AlertOutcomeKind.HELD
    assert desk.get_incident(incident_id).version == version


# ----------------------------------------------------------------- refusals and statistics


def test_a_refused_alert_raises_is_counted_by_reason_and_changes_no_incident() -> None:
    desk = desk_with()
    with pytest.raises(AlertRejectedError) as refused:
        desk.ingest_alert("nagios", None, "critical", "Disk full")  # type: ignore[arg-type]  # the point
    assert refused.value.reason is AlertRefusal.MISSING_KEY
    with pytest.raises(AlertRejectedError):
        desk.ingest_alert("nagios", KEY, "dire", "Disk full")
    with pytest.raises(AlertRejectedError):
        desk.ingest_alert("nagios", KEY, "major", "Disk full", payload={"x": "y" * 20_000})
    stats = desk.alert_statistics()
    assert stats.refused_by_reason == {AlertRefusal.MISSING_KEY: 1,
                                       AlertRefusal.UNKNOWN_SEVERITY: 1,
                                       AlertRefusal.OVERSIZED_PAYLOAD: 1}
    assert stats.by_outcome[AlertOutcomeKind.REFUSED] == 3
    assert stats.total == 3
    assert desk.list_incidents() == []
    assert desk.alert_groups() == []


def test_statistics_count_every_alert_once_by_outcome() -> None:
    clock = FrozenClock(T0)
    desk = desk_with(clock, flap_threshold=1)
    alert(desk, "major")
    alert(desk, "major")
    alert(desk, "critical")
    alert(desk, "clear")
    alert(desk, "clear")
    alert(desk, "major")
    with pytest.raises(AlertRejectedError):
        alert(desk, "major", at=datetime(2026, 1, 5))
    stats = desk.alert_statistics()
    assert stats.by_outcome == {
        AlertOutcomeKind.OPENED: 1, AlertOutcomeKind.FOLDED: 2, AlertOutcomeKind.RESOLVED: 1,
        AlertOutcomeKind.RECOVERED: 0, AlertOutcomeKind.CLEARED: 1, AlertOutcomeKind.HELD: 1,
        AlertOutcomeKind.REFUSED: 1}
    assert stats.total == 7 == desk.alert_group(KEY).total + 1


def test_an_unknown_key_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        desk_with().alert_group("nope")


# ----------------------------------------------------------------- failures


class FailingRepository(InMemoryRepository):
    """Refuses the next commit with a concurrency error, as if another user had been faster."""

    fail_next = False

    def commit(self, records: Any) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConcurrencyError("INC0000001", 1, 2)
        super().commit(records)


@pytest.mark.parametrize("second", ["critical", "clear"])
def test_a_failed_commit_puts_the_group_back_as_it_was(second: str) -> None:
    repository = FailingRepository()
    desk = ServiceDesk(repository, clock=FrozenClock(T0))
    alert(desk, "major")
    before = attrs.asdict(desk.alert_group(KEY))
    repository.fail_next = True
    with pytest.raises(ConcurrencyError):
        alert(desk, second)
    after = attrs.asdict(desk.alert_group(KEY))
    assert {k: v for k, v in after.items() if "version" not in k} == {
        k: v for k, v in before.items() if "version" not in k}
    assert alert(desk, second).kind is not AlertOutcomeKind.OPENED  # and it works again


def test_a_failed_first_opening_leaves_no_group() -> None:
    repository = FailingRepository()
    desk = ServiceDesk(repository, clock=FrozenClock(T0))
    repository.fail_next = True
    with pytest.raises(ConcurrencyError):
        alert(desk, "major")
    assert desk.alert_groups() == []
    assert desk.list_incidents() == []


def test_after_a_crash_between_group_and_incident_the_next_alert_opens_the_incident() -> None:
    store = InMemoryAlertStore()
    store.save_group(AlertGroup(dedup_key=KEY, source="nagios", incident_id="INC0000099",
                                count=1, first_seen=T0, last_seen=T0,
                                highest=AlertSeverity.MAJOR, firing=True, opened=1,
                                version=1))
    desk = ServiceDesk(InMemoryRepository(), clock=FrozenClock(T0), alert_store=store)
    outcome = alert(desk, "major")
    assert outcome.kind is AlertOutcomeKind.OPENED
    assert outcome.incident_id != "INC0000099"
    assert len(desk.list_incidents()) == 1


# ----------------------------------------------------------------- configuration


@pytest.mark.parametrize("fields", [
    {"levels": {"critical": (1, 1)}},
    {"levels": {**dict.fromkeys(("critical", "major", "minor", "warning", "info"), (1, 1)),
                "clear": (3, 3)}},
    {"levels": {**dict.fromkeys(("critical", "major", "minor", "warning"), (1, 1)),
                "info": (0, 1)}},
    {"service_impact": {"web": "high"}},
    {"grouping_window": timedelta(0)},
    {"flap_window": None},
    {"flap_threshold": 0},
    {"max_payload_bytes": True},
    {"resolve_on_recovery": "yes"},
    {"category": ""},
    {"actor": "monitoring"},
])
def test_a_malformed_alert_policy_is_a_definition_error(fields: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError):
        AlertPolicy(**fields)


@pytest.mark.parametrize("fields", [{"assignment_group": "No Such Group"},
                                    {"category": "No/Such/Category"}])
def test_an_alert_policy_naming_an_unknown_group_or_category_is_refused(
        fields: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError):
        DeskPolicies(alerts=AlertPolicy(**fields))


def test_the_policy_category_and_group_apply_to_incidents_opened_by_alerts() -> None:
    desk = desk_with(category="Hardware", assignment_group="Network Support")
    incident_id = alert(desk, "major").incident_id
    assert incident_id is not None
    incident = desk.get_incident(incident_id)
    assert (str(incident.category), incident.assignment_group) == ("Hardware",
                                                                  "Network Support")


def test_a_desk_refuses_an_alert_store_that_is_not_one() -> None:
    with pytest.raises(DefinitionError):
        ServiceDesk(InMemoryRepository(), alert_store=object())  # type: ignore[arg-type]  # the point
