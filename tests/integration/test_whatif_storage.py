"""The what-if simulation reads stored incidents and changes nothing in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from itil_incident import (
    Actor,
    BusinessCalendar,
    DeskPolicies,
    SlaAgreement,
    SlaMetric,
    SlaPolicy,
    SlaPolicyVersion,
)
from itil_incident.adapters.sql import SqlRepository, create_schema, metadata
from itil_incident.reporting import what_if
from itil_incident.testing import FrozenClock, make_desk

START = datetime(2026, 2, 2, 8, tzinfo=UTC)
AGENT = Actor("alice")


def policy(hours: int) -> SlaPolicy:
    return SlaPolicy.single("support", SlaPolicyVersion(
        version=1, effective_from=START - timedelta(days=1), fallback="all",
        agreements=[SlaAgreement(name="all", calendar=BusinessCalendar.office("Europe/Paris"),
                                 targets={SlaMetric.RESPONSE: dict.fromkeys(range(1, 6),
                                                                            timedelta(hours=1)),
                                          SlaMetric.RESOLUTION: dict.fromkeys(
                                              range(1, 6), timedelta(hours=hours))})]))


def snapshot(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the schema, in a stable order."""
    with engine.connect() as connection:
        return {table.name: sorted((tuple(row) for row in connection.execute(sa.select(table))),
                                   key=repr)
                for table in metadata.sorted_tables}


def test_what_if_over_stored_incidents_leaves_every_stored_row_unchanged(
        tmp_path: Path) -> None:
    repository = SqlRepository.from_url(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    create_schema(repository.engine)
    clock = FrozenClock(START)
    desk = make_desk(repository=repository, clock=clock,
                     policies=DeskPolicies(sla=policy(8)))
    for hours in (2, 6, 30):
        incident = desk.log_incident(actor=AGENT, title="Printer jams")
        clock.advance(minutes=30)
        desk.assign(incident.id, actor=AGENT, assignee="bob")
        clock.advance(hours=hours)
        desk.resolve(incident.id, actor=AGENT, code="solved_permanently", notes="Done")
    desk.process_due()  # records SLA stages on the incidents: stored clock events
    before = snapshot(repository.engine)
    versions = {incident.id: incident.version for incident in desk.list_incidents()}
    assert sum(len(rows) for rows in before.values()) > 0
    try:
        stored = desk.list_incidents()
        timelines = [incident.timeline() for incident in stored]
        report = what_if(stored, original=policy(8), alternatives={"4h": policy(4),
                                                                   "48h": policy(48)})
        assert report.incidents == 3
        original, stricter, looser = report.totals("resolution")
        assert stricter.breached >= original.breached >= looser.breached
        assert looser.breached == 0
        assert snapshot(repository.engine) == before
        assert {i.id: i.version for i in desk.list_incidents()} == versions
        assert [incident.timeline() for incident in stored] == timelines
    finally:
        repository.close()
