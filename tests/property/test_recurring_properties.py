"""Properties of recurring-incident detection over random desks.

Each example logs incidents on a real desk (in-memory, frozen clock) at random instants, on a
few services and configuration items, with titles drawn from a small vocabulary so that some
are similar and some are not.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from itil_incident import Actor, Incident, ServiceDesk
from itil_incident.reporting import RecurringReport, find_recurring, title_words
from itil_incident.testing import FrozenClock, make_desk

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
AGENT = Actor("alice")
TITLES = ("VPN drops", "VPN drops again", "VPN is slow", "Mail slow", "Mail bounces",
          "Printer jams", "Disk full on server", "Disk full")
SERVICES = (None, "vpn", "mail")
ITEMS = ((), ("srv-1",), ("srv-2",), ("srv-1", "srv-2"))
KEYS = (("service",), ("configuration_item",), ("service", "configuration_item"))

specs = st.lists(st.tuples(st.integers(0, 6 * 24), st.sampled_from(TITLES),
                           st.sampled_from(SERVICES), st.sampled_from(ITEMS)),
                 min_size=0, max_size=14)
options = st.fixed_dictionaries({
    "by": st.sampled_from(KEYS),
    "min_count": st.integers(2, 4),
    "window": st.sampled_from([timedelta(hours=6), timedelta(days=1), timedelta(days=7)]),
    "title_similarity": st.sampled_from([0.0, 0.3, 0.5, 1.0]),
})


def build(entries: list[tuple[int, str, str | None, tuple[str, ...]]]) -> ServiceDesk:
    clock = FrozenClock(START)
    desk = make_desk(clock=clock)
    for hours, title, service, items in sorted(entries, key=lambda entry: entry[0]):
        clock.set(START + timedelta(hours=hours))
        desk.log_incident(actor=AGENT, title=title, service=service, configuration_items=items)
    return desk


def key_of(incident: Incident, columns: tuple[str, ...]) -> list[set[str | None]]:
    """The values each key part may take for ``incident`` (None: it has none)."""
    values: dict[str, set[str | None]] = {
        "service": {incident.service},
        "configuration_item": set(incident.configuration_items) or {None},
        "category": {None if incident.category is None else str(incident.category)}}
    return [values[name] for name in columns]


@settings(max_examples=60, deadline=None)
@given(entries=specs, chosen=options)
def test_every_group_has_enough_incidents_within_one_window_sharing_its_key(
        entries: list[tuple[int, str, str | None, tuple[str, ...]]],
        chosen: dict[str, object]) -> None:
    desk = build(entries)
    incidents = {incident.id: incident for incident in desk.list_incidents()}
    report = find_recurring(incidents.values(), **chosen)  # type: ignore[arg-type]
    window = report.window
    seen: set[str] = set()
    for group in report.groups:
        members = [incidents[i] for i in group.incident_ids]
        assert not seen & set(group.incident_ids), "an incident is in two groups"
        seen.update(group.incident_ids)
        for member in members:
            possible = key_of(member, report.columns)
            for value, present in zip(group.key, possible, strict=True):
                assert value in present
        assert any(value is not None for value in group.key)
        times = sorted(member.logged_at for member in members)
        assert any(sum(1 for t in times if start <= t <= start + window) >= report.min_count
                   for start in times)
        words = [title_words(member.title) for member in members]
        assert set(group.common_words) == set.intersection(*(set(w) for w in words))
        assert group.proposal is not None
        assert group.covered_by is None
        assert group.proposal.evidence_ids == group.incident_ids


@settings(max_examples=60, deadline=None)
@given(entries=specs, chosen=options, seed=st.integers(0, 2**32 - 1))
def test_the_order_of_the_input_does_not_matter(
        entries: list[tuple[int, str, str | None, tuple[str, ...]]],
        chosen: dict[str, object], seed: int) -> None:
    incidents = build(entries).list_incidents()
    shuffled = list(incidents)
    random.Random(seed).shuffle(shuffled)
    first: RecurringReport = find_recurring(incidents, **chosen)  # type: ignore[arg-type]
    second = find_recurring(shuffled, **chosen)  # type: ignore[arg-type]
    assert first == second


@settings(max_examples=40, deadline=None)
@given(entries=specs, chosen=options)
def test_acting_on_every_proposal_leaves_nothing_to_propose(
        entries: list[tuple[int, str, str | None, tuple[str, ...]]],
        chosen: dict[str, object]) -> None:
    desk = build(entries)
    report = find_recurring(desk.list_incidents(), **chosen)  # type: ignore[arg-type]
    for group in report.proposed:
        assert group.proposal is not None
        desk.open_problem(actor=AGENT, **group.proposal.arguments())
    again = find_recurring(desk.list_incidents(), known_problems=desk.list_problems(),
                           **chosen)  # type: ignore[arg-type]
    assert again.proposed == ()
    assert [g.incident_ids for g in again.groups] == [g.incident_ids for g in report.groups]
    # Without acting, a second run proposes exactly the same.
    assert find_recurring(desk.list_incidents(), **chosen) == again  # type: ignore[arg-type]
