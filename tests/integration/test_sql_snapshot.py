"""State snapshots (schema version 2): the snapshot of a record is what folding its events
gives, and a record read from its snapshot reads its events only when something needs them."""

from __future__ import annotations

import copy
import json
import pickle
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itil_incident import (
    Actor,
    Incident,
    ItilIncidentError,
    Problem,
    ServiceDesk,
    default_incident_workflow,
    default_problem_workflow,
)
from itil_incident.adapters.sql import SqlRepository, create_schema, metadata
from itil_incident.adapters.sql._snapshot import StoredHistory, decode_snapshot, encode_snapshot
from itil_incident.adapters.sql.codec import event_json, event_to_dict
from itil_incident.domain.events import DomainEvent, IncidentEvent
from itil_incident.testing import FrozenClock, make_desk
from itil_incident.testing import strategies as its

ALICE = Actor("alice", "Alice", frozenset({"agent", "manager"}))


def history_of(events: tuple[DomainEvent, ...], reads: list[int]) -> StoredHistory[Any]:
    def load() -> list[DomainEvent]:
        reads.append(len(events))
        return list(events)

    return StoredHistory(load, len(events))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """Problems taken through random problem commands (refused ones skipped)."""
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    desk = make_desk(clock=clock)
    problem = desk.open_problem(actor=ALICE, title=draw(its.titles()),
                                impact=draw(st.integers(1, 3)),
                                service=draw(st.none() | st.sampled_from(["vpn", "email"])))
    steps = draw(st.lists(st.sampled_from([
        lambda d, i: d.assign_problem(i, actor=ALICE, group="Network Support"),
        lambda d, i: d.start_investigation(i, actor=ALICE),
        lambda d, i: d.record_root_cause(i, "A leak", actor=ALICE, category="Network/VPN"),
        lambda d, i: d.record_workaround(i, "Restart it", actor=ALICE),
        lambda d, i: d.mark_known_error(i, actor=ALICE, symptoms="Drops"),
        lambda d, i: d.add_problem_note(i, "Looked again.", actor=ALICE),
        lambda d, i: d.resolve_problem(i, "Patched", actor=ALICE),
        lambda d, i: d.close_problem(i, actor=ALICE),
        lambda d, i: d.reopen_problem(i, actor=ALICE, reason="Came back"),
    ]), max_size=8))
    for step in steps:
        clock.advance(minutes=draw(st.integers(0, 600)))
        try:
            step(desk, problem.id)
        except ItilIncidentError:
            continue
    return desk.get_problem(problem.id)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incident=its.incidents())
def test_the_snapshot_of_an_incident_equals_the_fold_of_its_events(incident: Incident) -> None:
    workflow = default_incident_workflow()
    reads: list[int] = []
    loaded = decode_snapshot(Incident, encode_snapshot(incident), workflow,
                             history_of(incident.timeline(), reads))
    folded = Incident.from_history(incident.timeline(), workflow)
    assert loaded is not None
    assert loaded.snapshot() == folded.snapshot()
    assert (loaded.saved_version, loaded.pending_events()) == (folded.version, ())
    assert reads == []  # nothing above needed the events
    assert loaded.timeline() == folded.timeline()
    assert loaded.notes == folded.notes
    for event in incident.timeline():  # the repository's encoder writes the codec's text
        assert event_json(event) == json.dumps(event_to_dict(event))
    assert loaded.status_since == folded.status_since
    assert reads == [incident.version]  # read once


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def test_the_snapshot_of_a_problem_equals_the_fold_of_its_events(problem: Problem) -> None:
    workflow = default_problem_workflow()
    reads: list[int] = []
    loaded = decode_snapshot(Problem, encode_snapshot(problem), workflow,
                             history_of(problem.timeline(), reads))
    folded = Problem.from_history(problem.timeline(), workflow)
    assert loaded is not None
    assert loaded.snapshot() == folded.snapshot()
    assert loaded.timeline() == folded.timeline()
    for event in problem.timeline():
        assert event_json(event) == json.dumps(event_to_dict(event))


def test_a_new_event_on_a_record_read_from_its_snapshot_does_not_read_the_stored_ones(
) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    desk = make_desk(clock=clock)
    incident = desk.log_incident(actor=ALICE, title="VPN drops")
    desk.assign(incident.id, actor=ALICE, group="Network Support", assignee="bob")
    stored = desk.get_incident(incident.id)
    reads: list[int] = []
    loaded = decode_snapshot(Incident, encode_snapshot(stored), stored.workflow,
                             history_of(stored.timeline(), reads))
    assert loaded is not None
    event = loaded.add_note("Checked the logs.", actor=ALICE, at=clock.now())
    assert loaded.pending_events() == (event,)
    assert (loaded.version, reads) == (3, [])
    assert loaded.timeline() == (*stored.timeline(), event)  # stored ones first
    assert reads == [2]
    with pytest.raises(TypeError, match="append-only"):
        loaded._history.insert(0, event)


def test_a_stored_history_compares_copies_and_pickles_as_its_events() -> None:
    desk = make_desk()
    stored = desk.log_incident(actor=ALICE, title="VPN drops")
    events = list(stored.timeline())
    fresh = history_of(tuple(events), [])
    assert (fresh != events) is False  # read before comparing
    assert fresh == events
    copied = pickle.loads(pickle.dumps(history_of(tuple(events), [])))
    assert type(copied) is list
    assert copied == events
    loaded = decode_snapshot(Incident, encode_snapshot(stored), stored.workflow,
                             history_of(tuple(events), []))
    assert loaded is not None
    assert copy.copy(loaded._history) == events


# ----------------------------------------------------------------- through SQLite


@pytest.fixture(scope="module")
def directory() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="itil-snapshot-") as name:
        yield name


COUNTER = iter(range(10**6))


def sqlite_desk(directory: str) -> ServiceDesk:
    repository = SqlRepository.from_url(f"sqlite:///{directory}/desk-{next(COUNTER)}.db")
    create_schema(repository.engine)
    return make_desk(repository=repository)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_stored_snapshot_row_equals_the_fold_of_the_stored_events(
        directory: str, data: st.DataObject) -> None:
    desks: list[ServiceDesk] = []

    def factory() -> ServiceDesk:
        desks.append(sqlite_desk(directory))
        return desks[-1]

    incident = data.draw(its.incidents(factory))
    repository = desks[-1].repository
    assert isinstance(repository, SqlRepository)
    with repository.engine.connect() as connection:
        text = connection.execute(sa.select(metadata.tables["itil_incidents"].c.snapshot)
                                  ).scalar_one()
    stored = tuple(event for event in repository.history_of(incident.id)
                   if isinstance(event, IncidentEvent))
    from_row = decode_snapshot(Incident, text, incident.workflow, history_of(stored, []))
    folded = Incident.from_history(stored, incident.workflow)
    assert from_row is not None
    assert from_row.snapshot() == folded.snapshot() == incident.snapshot()
    repository.close()
