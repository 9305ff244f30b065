"""Reliability of the SQL storage and its outbox, with real processes on a SQLite file and on
PostgreSQL: concurrent writers lose no update, a writer or a relay killed with SIGKILL loses
nothing committed and leaves no half command, a command failing inside its transaction leaves
nothing, hostile text reaches the notifier verbatim, and text the domain refuses (NUL,
surrogates) stores and publishes nothing.

PostgreSQL cases need ``ITIL_INCIDENT_POSTGRES_URL`` (skipped with the reason otherwise); each
test has a schema of its own, dropped afterwards. Child processes use the ``spawn`` method and
open engines of their own; every wait on them is bounded.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from itil_incident import (
    Actor,
    FrozenClock,
    IncidentLogged,
    IncidentNoteAdded,
    NullNotifier,
    RecordingNotifier,
    ServiceDesk,
    ValidationError,
)
from itil_incident.adapters.sql import OutboxRelay, SqlRepository, metadata

if TYPE_CHECKING:  # mypy names the helper module after its path
    from tests.integration import _sql_support as support
else:  # pytest puts tests/integration on sys.path (rootdir-relative "prepend" import)
    import _sql_support as support

SPAWN = multiprocessing.get_context("spawn")
PROCESSES = 8
COMMANDS = 200
#: Bound on any wait for a child process (seconds).
PATIENCE = 120.0


def start(children: list[BaseProcess], target: Any, *args: Any) -> BaseProcess:
    child = SPAWN.Process(target=target, args=args, daemon=True)
    child.start()
    children.append(child)
    return child


def assert_whole(repository: SqlRepository) -> None:
    """No half command: every record's state version equals its number of events, and the
    outbox holds exactly one message per event."""
    engine = repository.engine
    for kind in ("incident", "problem"):
        states = dict(support.table_rows(engine, f"itil_{kind}s", "id", "version"))
        events = Counter(record_id for record_id, _version in
                         support.table_rows(engine, f"itil_{kind}_events", "record_id",
                                            "version"))
        assert states == dict(events)
        for record_id, version in states.items():
            assert [e.version for e in repository.history_of(record_id)] == list(
                range(1, version + 1))
    every_event = [*support.table_rows(engine, "itil_incident_events", "record_id", "version"),
                   *support.table_rows(engine, "itil_problem_events", "record_id", "version")]
    messages = support.table_rows(engine, "itil_outbox", "record_id", "version",
                                  "idempotency_key")
    assert sorted(messages) == sorted((r, v, f"{r}:{v}") for r, v in every_event)


def integrity(repository: SqlRepository) -> str:
    """``PRAGMA integrity_check`` on SQLite; on PostgreSQL, amcheck's ``bt_index_check`` with
    ``heapallindexed`` on every B-tree index of the test's schema (it raises on corruption)."""
    engine = repository.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            return str(connection.exec_driver_sql("PRAGMA integrity_check").scalar())
    with engine.begin() as connection:  # once per database, in public, as pg_trgm
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck WITH SCHEMA public")
    with engine.connect() as connection:
        indexes = connection.exec_driver_sql(
            "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' "
            "AND c.relnamespace = current_schema()::regnamespace").scalars().all()
        for index in indexes:
            connection.execute(sa.text("SELECT public.bt_index_check(:index, true)"),
                               {"index": index})
    return "ok" if indexes else "no index checked"


# ----------------------------------------------------------------- concurrent writers


def test_8_processes_x_200_notes_on_one_incident_lose_no_update(
        database: support.Database, repository: SqlRepository,
        children: list[BaseProcess]) -> None:
    desk = ServiceDesk(repository, notifier=NullNotifier())
    incident_id = desk.log_incident(actor=support.AGENT, title="Contended").id
    barrier = SPAWN.Barrier(PROCESSES)
    results: Any = SPAWN.Queue()
    began = time.perf_counter()
    for number in range(PROCESSES):
        start(children, support.hammer_notes, database, incident_id, number, COMMANDS, barrier,
              results)
    reports = [results.get(timeout=PATIENCE) for _ in range(PROCESSES)]
    elapsed = time.perf_counter() - began
    for child in children:
        child.join(timeout=PATIENCE)
        assert child.exitcode == 0
    successes = sum(report[1] for report in reports)
    conflicts = sum(report[2] for report in reports)
    errors = [error for report in reports for error in report[3]]
    final = repository.get_incident(incident_id)
    history = repository.history_of(incident_id)
    outbox = support.table_rows(repository.engine, "itil_outbox", "id")
    print(f"\n{database.dialect}: {PROCESSES} processes x {COMMANDS} notes in {elapsed:.1f} s: "
          f"{successes} committed, {conflicts} concurrency errors, {len(errors)} other errors; "
          f"final version {final.version}, {len(history)} history rows, {len(outbox)} outbox "
          f"messages; per process (committed, conflicts): "
          f"{sorted((r[0], r[1], r[2]) for r in reports)}")
    assert errors == []
    assert successes + conflicts == PROCESSES * COMMANDS
    assert final.version == successes + 1 == len(history) == len(outbox)
    assert len(final.notes) == successes
    assert len({note.text for note in final.notes}) == successes  # no note written twice
    assert successes > 0
    assert_whole(repository)


# ----------------------------------------------------------------- a writer killed


def receive(pipe: Pipe) -> tuple[str, str, int]:
    if not pipe.poll(PATIENCE):
        raise AssertionError(f"no word from the child within {PATIENCE} s")
    message: tuple[str, str, int] = pipe.recv()
    return message


def test_a_writer_killed_inside_its_transaction_keeps_every_returned_command_and_no_half_one(
        repository: SqlRepository, database: support.Database,
        children: list[BaseProcess]) -> None:
    receiver, sender = SPAWN.Pipe(duplex=False)
    child = start(children, support.write_until_killed, database, sender, 40)
    returned: list[tuple[str, int]] = []
    half = ("", 0)
    while True:
        word, record_id, version = receive(receiver)
        if word == "in transaction":
            os.kill(child.pid or 0, signal.SIGKILL)  # state row and events written, no commit
            break
        if word == "done":
            returned.append((record_id, version))
        else:
            half = (record_id, version)
    child.join(timeout=PATIENCE)
    assert child.exitcode == -signal.SIGKILL
    assert integrity(repository) == "ok"
    assert len(returned) == 39
    for record_id, version in returned:
        assert [e.version for e in repository.history_of(record_id)][version - 1] == version
    stalled_id, stalled_version = half
    assert repository.get_incident(stalled_id).version == stalled_version - 1
    assert_whole(repository)


def test_a_writer_killed_at_an_arbitrary_moment_keeps_every_returned_command_and_no_half_one(
        repository: SqlRepository, database: support.Database,
        children: list[BaseProcess]) -> None:
    receiver, sender = SPAWN.Pipe(duplex=False)
    child = start(children, support.write_until_killed, database, sender, None)
    returned: list[tuple[str, int]] = []
    while len(returned) < 60:
        _word, record_id, version = receive(receiver)
        returned.append((record_id, version))
    os.kill(child.pid or 0, signal.SIGKILL)  # mid-loop: between or inside commands
    child.join(timeout=PATIENCE)
    while receiver.poll(0):  # what it reported before it died
        _word, record_id, version = receiver.recv()
        returned.append((record_id, version))
    assert child.exitcode == -signal.SIGKILL
    assert integrity(repository) == "ok"
    for record_id, version in returned:
        assert len(repository.history_of(record_id)) >= version
    assert_whole(repository)


# ----------------------------------------------------------------- a command failing inside


class InjectedError(Exception):
    """Raised by the test's hook in the middle of a commit."""


def test_a_command_failing_after_writing_leaves_no_row_event_or_message(
        repository: SqlRepository) -> None:
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(support.T0))
    existing = desk.log_incident(actor=support.AGENT, title="Before the failure")
    tables = ("itil_incidents", "itil_incident_events", "itil_outbox", "itil_links")

    def snapshot() -> dict[str, list[dict[str, Any]]]:
        with repository.engine.connect() as connection:
            return {name: [dict(row) for row in connection.execute(
                sa.select(metadata.tables[name])).mappings()] for name in tables}

    def explode(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ITIL_OUTBOX"):
            raise InjectedError("after the state row and the events were written")

    before = snapshot()
    sa.event.listen(repository.engine, "before_cursor_execute", explode)
    with pytest.raises(InjectedError):
        desk.log_incident(actor=support.AGENT, title="Never stored")
    with pytest.raises(InjectedError):
        desk.add_work_note(existing.id, "Never stored", actor=support.AGENT)
    sa.event.remove(repository.engine, "before_cursor_execute", explode)
    assert snapshot() == before
    # Nothing stayed locked or half-written: the next command takes the next version.
    assert desk.add_work_note(existing.id, "Stored", actor=support.AGENT).version == 2
    assert_whole(repository)


# ----------------------------------------------------------------- a relay killed


@pytest.mark.parametrize("kill", ["before", "after"])
def test_a_relay_killed_before_or_after_sending_loses_nothing_and_repeats_with_the_same_key(
        repository: SqlRepository, database: support.Database, children: list[BaseProcess],
        tmp_path: Path, kill: str) -> None:
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(support.T0))
    for number in range(10):
        incident_id = desk.log_incident(actor=support.AGENT, title=f"Incident {number}").id
        desk.add_work_note(incident_id, "first", actor=support.AGENT)
        desk.add_work_note(incident_id, "second", actor=support.AGENT)
    keys = [key for (key,) in support.table_rows(repository.engine, "itil_outbox",
                                                  "idempotency_key")]
    by_id = [key for _id, key in support.table_rows(repository.engine, "itil_outbox", "id",
                                                    "idempotency_key")]
    log = tmp_path / "delivered.log"
    # Batches of 5: the notifier kills the relay at the 12th message, the 2nd of batch 3.
    child = start(children, support.relay_until_killed, database, log, 12, kill, 5)
    child.join(timeout=PATIENCE)
    assert child.exitcode == -signal.SIGKILL
    first_run = [line.split()[0] for line in support.read_lines(log)]
    assert first_run == by_id[:12 if kill == "after" else 11]

    def restarted(minutes: float) -> OutboxRelay:
        notifier = support.KeyFileNotifier(log, "second")
        return OutboxRelay(repository, notifier, clock=FrozenClock(
            support.T0 + timedelta(minutes=minutes)), batch_size=5, relay_id="restarted")

    # Before the lease ends, the dead relay's batch stays claimed; everything else goes out.
    early = restarted(4.9).drain()
    assert (early.delivered, early.claimed) == (15, 15)
    claimed = support.table_rows(repository.engine, "itil_outbox", "id", "claimed_by")
    assert [who for _id, who in claimed] == [None] * 10 + ["doomed"] * 5 + [None] * 15
    # After it, the batch is claimed again and delivered.
    late = restarted(5).drain()
    assert late.delivered == 5
    assert support.table_rows(repository.engine, "itil_outbox", "delivered_at").count(
        (None,)) == 0
    lines = [line.split() for line in support.read_lines(log)]
    delivered = Counter(key for key, _who in lines)
    repeated = sorted(key for key, count in delivered.items() if count > 1)
    print(f"\n{database.dialect}, killed {kill} sending message 12 of 30: {len(lines)} "
          f"deliveries, repeated: {repeated}")
    assert set(delivered) == set(keys)
    assert repeated == sorted(by_id[10:12 if kill == "after" else 11])
    assert max(delivered.values()) == 2
    for key in repeated:  # the same key from the dead relay and from its successor
        assert sorted(who for k, who in lines if k == key) == ["first", "second"]


# ----------------------------------------------------------------- hostile text

#: Text the domain accepts (no NUL, no surrogate). Line breaks are allowed in descriptions,
#: notes and custom values; the title and the actor get the text on one line (``one_line``).
HOSTILE = {
    "sql": "'; DELETE FROM itil_outbox WHERE '1'='1'; --",
    "placeholders": "$1 %s %(name)s :name ? {0} {{}} %%",
    "codec tags": '{"$datetime": "2026-01-01T00:00:00+00:00"} {"$set": []} {"name": 1}',
    "separators": ("\ufeffBOM \u2028LS \u2029PS \x85NEL \x7fDEL \x1b[31mANSI \r\nCRLF "
                   "\x0bVT \x0cFF \x1cFS \x1dGS \x1eRS \x1fUS \x01SOH \x9fAPC"),
    "unicode": ("Z\u0364\u0351a\u0308lgo \U0001d518\U0001d52b\U0001d526 中文 مرحبا "
                "👩\u200d👩\u200d👧 \u0130\u0131 ß ﬃ 😀"),
    "null words": "NULL null None undefined NaN -Infinity true",
    "escapes": "back\\slash \\x00 \\u0000 \\ud800 \\\\ \\' \\\" literal",
    "long": "Ω" * 99_000 + "'\"%_\x01\ufffd\U0001f600\n\u2028 end",
}
#: Every line break the domain refuses in a title or an identifier (str.splitlines' set).
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def one_line(text: str) -> str:
    """``text`` with each line break replaced by a space (itself when it has none)."""
    return text.translate(dict.fromkeys(map(ord, LINE_BREAKS), " "))


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_reaches_the_notifier_through_the_relay_verbatim(
        repository: SqlRepository, text: str) -> None:
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(support.T0))
    title, name = one_line(text)[:300], one_line(text)[:200]
    author = Actor(name, name)
    incident = desk.log_incident(actor=author, title=title, description=text,
                                 custom={"note": text})
    desk.add_work_note(incident.id, text, actor=author)
    notifier = RecordingNotifier()
    report = OutboxRelay(repository, notifier, clock=FrozenClock(support.T0)).drain()
    logged, noted = notifier.events
    assert report.delivered == 2
    assert notifier.events == repository.history_of(incident.id)
    assert isinstance(logged, IncidentLogged)
    assert isinstance(noted, IncidentNoteAdded)
    assert (logged.title, logged.description, logged.custom, logged.actor.id) == (
        title, text, (("note", text),), name)
    assert noted.text == text


#: Text the domain refuses everywhere: NUL, and surrogate code points (a pair written as two
#: code points, which a JSON codec would read back as the one character it encodes, or alone).
NOT_TEXT = {
    "surrogate pair": "pair \ud83d\ude00 as two code points",
    "lone high surrogate": "lone \ud800 here",
    "lone low surrogate": "lone \udfff here",
    "NUL": "NUL \x00 inside",
}


@pytest.mark.parametrize("text", NOT_TEXT.values(), ids=NOT_TEXT.keys())
def test_text_holding_a_surrogate_or_nul_is_refused_and_nothing_is_stored_or_published(
        repository: SqlRepository, text: str) -> None:
    desk = ServiceDesk(repository, notifier=NullNotifier(), clock=FrozenClock(support.T0))
    existing = desk.log_incident(actor=support.AGENT, title="Before the refusals")
    problem = desk.open_problem(actor=support.AGENT, title="Gateway crashes")
    tables = ("itil_incidents", "itil_incident_events", "itil_problems",
              "itil_problem_events", "itil_outbox", "itil_links")

    def snapshot() -> dict[str, list[dict[str, Any]]]:
        with repository.engine.connect() as connection:
            return {name: [dict(row) for row in connection.execute(
                sa.select(metadata.tables[name])).mappings()] for name in tables}

    agent = support.AGENT
    # (what is tried, the field the refusal names, the attempt)
    attempts: list[tuple[str, str, Callable[[], object]]] = [
        ("incident title", "title", lambda: desk.log_incident(actor=agent, title=text)),
        ("description", "description",
         lambda: desk.log_incident(actor=agent, title="VPN", description=text)),
        ("custom value", "custom.note",
         lambda: desk.log_incident(actor=agent, title="VPN", custom={"note": text})),
        ("work note", "text", lambda: desk.add_work_note(existing.id, text, actor=agent)),
        ("cancellation reason", "reason",
         lambda: desk.cancel(existing.id, reason=text, actor=agent)),
        ("problem title", "title", lambda: desk.open_problem(actor=agent, title=text)),
        ("problem note", "text", lambda: desk.add_problem_note(problem.id, text, actor=agent)),
    ]
    before = snapshot()
    for what, field, attempt in attempts:
        with pytest.raises(ValidationError, match="not text") as refused:
            attempt()
        assert refused.value.field == field, what
        assert snapshot() == before, what
    notifier = RecordingNotifier()
    report = OutboxRelay(repository, notifier, clock=FrozenClock(support.T0)).drain()
    assert report.delivered == 2  # what was logged before the refusals, nothing else
    assert [event.aggregate_id for event in notifier.events] == [existing.id, problem.id]
