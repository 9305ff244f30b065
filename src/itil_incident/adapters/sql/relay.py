"""The outbox relay: delivers the messages that commands wrote to ``itil_outbox`` to a notifier,
at least once, each with a stable idempotency key.

How a host wires it
-------------------

With SQL storage the desk itself tells nobody: give it a :class:`~itil_incident.NullNotifier`
(the default), so that a command only commits its state, its events and their outbox messages,
in one transaction. A relay, in the same process or in another one (a worker, a cron job),
hands the messages to the real notifier:

>>> import tempfile
>>> from itil_incident import Actor, NullNotifier, RecordingNotifier, ServiceDesk
>>> from itil_incident.adapters.sql import OutboxRelay, SqlRepository, create_schema
>>> folder = tempfile.TemporaryDirectory()
>>> repository = SqlRepository.from_url(f"sqlite:///{folder.name}/desk.db")
>>> create_schema(repository.engine)
>>> desk = ServiceDesk(repository, notifier=NullNotifier())  # commands write the outbox only
>>> incident = desk.log_incident(actor=Actor("alice", "Alice"), title="VPN drops")
>>> mail = RecordingNotifier()  # in production: an SmtpNotifier, a WebhookNotifier, ...
>>> relay = OutboxRelay(repository, mail, relay_id="worker-1")
>>> relay.run_once().delivered
1
>>> mail.names()
['incident.logged']
>>> repository.close()
>>> folder.cleanup()

A long-running worker calls ``relay.run(until=stopping.is_set, idle_sleep=1.0)``; a cron job
calls ``relay.drain()``. Never give the desk and the relay the same real notifier: the desk
would notify once directly and the relay once more.

What the relay guarantees
-------------------------

- **At least once.** A round claims a batch of due messages (``claimed_by`` = the relay's id,
  ``claimed_until`` = now + ``lease``) and commits; then it hands each message's event to
  ``notifier.notify([event])``, outside any transaction; then it records the outcomes in one
  transaction. A relay that dies in between leaves its claims to expire: another relay (or the
  same one, restarted) claims them again once the lease has passed, and delivers them again.
  The idempotency key (``"{record_id}:{version}"``, the same as
  :func:`itil_incident.notifications.idempotency_key` of the event) is the same every time, so
  receivers can drop repeats. After a crash, at most one batch is delivered twice.
- **Several relays at once** deliver each message once in the normal case (no lease runs out):
  PostgreSQL claims with ``SELECT ... FOR UPDATE SKIP LOCKED``, so relays take disjoint
  batches without waiting; SQLite claims under ``BEGIN IMMEDIATE``, one relay at a time. Give
  a lease longer than a batch can take to deliver (the notifier's own retries and timeouts
  included); the relays' clocks should agree to well within the lease.
- **Retries with backoff.** A failed attempt (a :class:`~itil_incident.notifications.DeliveryError`
  that is not permanent, or any other exception) counts in ``attempts``, records
  ``last_error`` and makes the message due again after :meth:`Backoff.delay` (``base``,
  ``base * factor``, ``base * factor**2``, ... at most ``cap``). Other messages go on.
- **Parking.** A message whose ``max_attempts``-th attempt fails, or that can never be sent (a
  permanent ``DeliveryError``, a :class:`~itil_incident.ValidationError` from the notifier, a
  payload this library cannot decode), is parked (``parked_at``): it is no longer tried,
  :meth:`OutboxRelay.parked` lists it, and :meth:`OutboxRelay.redrive` puts it back.
- **Order.** Messages are tried in commit order, but a message waiting for a retry does not
  hold back the later ones, even of the same record: receivers that care order by ``version``.

Each message gets its own ``notify`` call: the outcome of every message is then known exactly,
whatever keys and recipients the notifier uses. Errors: a database that is locked past
``busy_timeout``, unreachable or without the schema raises
:class:`~itil_incident.adapters.sql.StorageError` (:meth:`OutboxRelay.run` logs it on logger
``itil_incident.relay`` and tries again after ``idle_sleep``).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from itil_incident.adapters.clocks import SystemClock
from itil_incident.adapters.sql.codec import event_from_dict
from itil_incident.adapters.sql.repository import (
    SqlRepository,
    _aware,
    _column_text,
    _configure_sqlite,
    _start,
    _storage_error,
)
from itil_incident.adapters.sql.schema import StorageError, outbox
from itil_incident.domain._time import utc_instant
from itil_incident.domain.events import DomainEvent
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.notifications._delivery import DeliveryError
from itil_incident.ports import Clock, Notifier

__all__ = ["Backoff", "OutboxCounts", "OutboxRelay", "ParkedMessage", "RelayReport"]

_log = logging.getLogger("itil_incident.relay")

#: How much of an error message ``last_error`` keeps.
_MAX_ERROR: Final = 2000

# ----------------------------------------------------------------- statements, built once

_c = outbox.c
_NOW = sa.bindparam("now", type_=outbox.c.delivered_at.type)
_OPEN = sa.and_(_c.delivered_at.is_(None), _c.parked_at.is_(None))
_CLAIM_SELECT: Final = (
    sa.select(_c.id, _c.record_id, _c.version, _c.event_name, _c.payload, _c.attempts,
              _c.idempotency_key)
    .where(_OPEN,
           sa.or_(_c.next_attempt_at.is_(None), _c.next_attempt_at <= _NOW),
           sa.or_(_c.claimed_until.is_(None), _c.claimed_until <= _NOW))
    .order_by(_c.id)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises with BEGIN IMMEDIATE
)
_CLAIM: Final = (
    sa.update(outbox)
    .where(_c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(claimed_by=sa.bindparam("me"), claimed_until=sa.bindparam("until"))
)
_OURS = sa.and_(_c.claimed_by == sa.bindparam("me"),
                _c.claimed_until == sa.bindparam("until"), _c.delivered_at.is_(None))
_DELIVERED: Final = (
    sa.update(outbox)
    .where(_c.id.in_(sa.bindparam("ids", expanding=True)), _c.delivered_at.is_(None))
    .values(delivered_at=_NOW, attempts=_c.attempts + 1, claimed_by=None, claimed_until=None)
)
_FAILED: Final = (
    sa.update(outbox)
    .where(_c.id == sa.bindparam("message_id"), _OURS)
    .values(attempts=sa.bindparam("attempts"), next_attempt_at=sa.bindparam("next"),
            last_error=sa.bindparam("error"), parked_at=sa.bindparam("parked"),
            claimed_by=None, claimed_until=None)
)
_RELEASE: Final = (
    sa.update(outbox)
    .where(_c.id.in_(sa.bindparam("ids", expanding=True)), _OURS)
    .values(claimed_by=None, claimed_until=None)
)
_PARKED: Final = (
    sa.select(_c.id, _c.record_id, _c.version, _c.event_name, _c.idempotency_key, _c.attempts,
              _c.last_error, _c.parked_at)
    .where(_c.parked_at.isnot(None), _c.delivered_at.is_(None))
    .order_by(_c.id)
    .limit(sa.bindparam("limit"))
)
_REDRIVE_VALUES: Final[dict[str, Any]] = {
    "parked_at": None, "attempts": 0, "next_attempt_at": None, "claimed_by": None,
    "claimed_until": None}
_REDRIVE_ALL: Final = (
    sa.update(outbox).where(_c.parked_at.isnot(None), _c.delivered_at.is_(None))
    .values(**_REDRIVE_VALUES)
)
_REDRIVE_SOME: Final = _REDRIVE_ALL.where(_c.id.in_(sa.bindparam("ids", expanding=True)))
_PURGE: Final = sa.delete(outbox).where(_c.delivered_at.isnot(None),
                                        _c.delivered_at < sa.bindparam("before"))


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


_LEASED = sa.and_(_c.claimed_until.isnot(None), _c.claimed_until > _NOW)
_COUNTS: Final = sa.select(
    _count(_OPEN), _count(sa.and_(_OPEN, _LEASED)), _count(sa.and_(_OPEN, _c.attempts > 0)),
    _count(sa.and_(_c.delivered_at.is_(None), _c.parked_at.isnot(None))),
    _count(_c.delivered_at.isnot(None)),
)


# ----------------------------------------------------------------- values


def _positive_delta(_instance: object, attribute: attrs.Attribute[timedelta],
                    value: object) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise DefinitionError(f"{attribute.name} must be a timedelta >= 0, got {value!r}",
                              culprit=attribute.name)


@attrs.frozen
class Backoff:
    """How long a failed message waits before its next attempt: ``base`` after the first
    failure, then ``factor`` times longer after each further one, never longer than ``cap``.

    >>> schedule = Backoff(timedelta(seconds=10), 3.0, timedelta(minutes=2))
    >>> [int(schedule.delay(n).total_seconds()) for n in range(1, 6)]
    [10, 30, 90, 120, 120]
    """

    base: timedelta = attrs.field(default=timedelta(seconds=10), validator=_positive_delta)
    factor: float = attrs.field(default=2.0)
    cap: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive_delta)

    @factor.validator
    def _check_factor(self, _attribute: attrs.Attribute[float], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value >= 1):
            raise DefinitionError(f"factor must be a finite number >= 1, got {value!r}",
                                  culprit="factor")

    def __attrs_post_init__(self) -> None:
        if self.cap < self.base:
            raise DefinitionError(f"cap ({self.cap}) must not be shorter than base "
                                  f"({self.base})", culprit="cap")

    def delay(self, failures: int) -> timedelta:
        """The wait after the ``failures``-th failed attempt (1 for the first)."""
        if type(failures) is not int or failures < 1:
            raise ValidationError(f"failures must be a positive integer, got {failures!r}",
                                  field="failures")
        base = self.base.total_seconds()
        exponent = failures - 1
        if base == 0 or exponent == 0 or self.factor == 1:
            return self.base
        if exponent * math.log(self.factor) >= math.log(self.cap.total_seconds() / base):
            return self.cap
        return min(timedelta(seconds=base * self.factor ** exponent), self.cap)


@attrs.frozen(kw_only=True)
class RelayReport:
    """What one or more rounds of a relay did, in messages.

    ``claimed`` messages were taken for delivery; of them ``delivered`` went out, ``retrying``
    failed and wait for a later attempt, ``parked`` failed for good, and ``lost`` could not be
    recorded because the relay's lease had run out and another relay had taken the message over
    (it delivers it, so that message may arrive twice). ``errors`` counts the rounds
    :meth:`OutboxRelay.run` lost to a :class:`StorageError`.
    """

    rounds: int = 0
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    parked: int = 0
    lost: int = 0
    errors: int = 0

    def __add__(self, other: RelayReport) -> RelayReport:
        if not isinstance(other, RelayReport):
            return NotImplemented
        return RelayReport(**{name: getattr(self, name) + getattr(other, name)
                              for name in attrs.fields_dict(RelayReport)})


@attrs.frozen(kw_only=True)
class ParkedMessage:
    """An outbox message that failed for good; :meth:`OutboxRelay.redrive` puts it back."""

    id: int
    record_id: str
    version: int
    event_name: str
    idempotency_key: str
    attempts: int
    last_error: str | None
    parked_at: datetime


@attrs.frozen(kw_only=True)
class OutboxCounts:
    """The outbox at a glance: ``pending`` messages are neither delivered nor parked (of them,
    ``claimed`` are under a relay's lease now and ``retrying`` failed before); ``parked`` wait
    for a re-drive; ``delivered`` went out (until :meth:`OutboxRelay.purge_delivered`)."""

    pending: int
    claimed: int
    retrying: int
    parked: int
    delivered: int


@attrs.frozen
class _Claimed:
    id: int
    record_id: str
    version: int
    payload: object
    attempts: int
    idempotency_key: str


@attrs.frozen
class _Outcome:
    message: _Claimed
    error: str | None = None  # None: delivered
    permanent: bool = False


# ----------------------------------------------------------------- the relay


class OutboxRelay:
    """Delivers outbox messages to ``notifier``; see the module documentation.

    ``source`` is a :class:`SqlRepository` or its SQLAlchemy engine. ``clock`` (default the
    system clock) dates claims, attempts and deliveries; ``batch_size`` messages are claimed
    per round, each for ``lease``; a message is parked when its ``max_attempts``-th attempt
    fails; ``backoff`` spaces the attempts; ``relay_id`` (default host, process id and a
    random suffix) names the relay in ``claimed_by``; ``busy_timeout`` (seconds) bounds waits
    for locks, as in :class:`SqlRepository`.
    """

    def __init__(
        self,
        source: SqlRepository | Engine,
        notifier: Notifier,
        *,
        clock: Clock | None = None,
        batch_size: int = 50,
        max_attempts: int = 10,
        backoff: Backoff | None = None,
        lease: timedelta = timedelta(minutes=5),
        relay_id: str | None = None,
        busy_timeout: float = 5.0,
    ) -> None:
        if isinstance(source, SqlRepository):
            engine = source.engine
        elif isinstance(source, Engine):
            engine = source
        else:
            raise DefinitionError("source must be a SqlRepository or a SQLAlchemy Engine, "
                                  f"got {type(source).__name__}", culprit="source")
        for name, port, kind in (("notifier", notifier, Notifier), ("clock", clock, Clock)):
            if (port is not None or name == "notifier") and not isinstance(port, kind):
                raise DefinitionError(f"{name} does not implement the {kind.__name__} port "
                                      f"(got {type(port).__name__})", culprit=name)
        for name, number in (("batch_size", batch_size), ("max_attempts", max_attempts)):
            if type(number) is not int or number < 1:
                raise DefinitionError(f"{name} must be a positive integer, got {number!r}",
                                      culprit=name)
        if backoff is not None and not isinstance(backoff, Backoff):
            raise DefinitionError(f"backoff must be a Backoff, got {backoff!r}",
                                  culprit="backoff")
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise DefinitionError(f"lease must be a positive timedelta, got {lease!r}",
                                  culprit="lease")
        if relay_id is None:
            relay_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if not isinstance(relay_id, str) or not relay_id.strip():
            raise DefinitionError(f"relay_id must be a non-blank string, got {relay_id!r}",
                                  culprit="relay_id")
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, (int, float)) or (
                busy_timeout < 0):
            raise DefinitionError(f"busy_timeout must be seconds >= 0, got {busy_timeout!r}",
                                  culprit="busy_timeout")
        self._engine = engine
        self._notifier = notifier
        self._clock: Clock = clock or SystemClock()
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff()
        self._lease = lease
        self._relay_id = _column_text(relay_id)
        self._lock_timeout: str | None = None
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, busy_timeout)
        elif engine.dialect.name == "postgresql":
            self._lock_timeout = f"SET LOCAL lock_timeout = {max(1, int(busy_timeout * 1000))}"

    @property
    def relay_id(self) -> str:
        """The name this relay writes in ``claimed_by``."""
        return self._relay_id

    # ----------------------------------------------------------------- delivering

    def run_once(self) -> RelayReport:
        """One round: claim up to ``batch_size`` due messages, deliver them, record the
        outcomes. A ``KeyboardInterrupt`` or ``SystemExit`` during delivery records what was
        delivered, releases the other claims and propagates."""
        until, claimed = self._claim()
        outcomes: list[_Outcome] = []
        try:
            for message in claimed:
                outcomes.append(self._deliver(message))
        except BaseException:
            attempted = {outcome.message.id for outcome in outcomes}
            try:
                self._record(until, claimed, outcomes,
                             [message.id for message in claimed if message.id not in attempted])
            except StorageError:
                _log.exception("relay %s could not record an interrupted round", self._relay_id)
            raise
        return self._record(until, claimed, outcomes, [])

    def drain(self, max_rounds: int = 1000) -> RelayReport:
        """Rounds until one finds fewer than ``batch_size`` messages due (at most
        ``max_rounds``): what a cron job runs."""
        if type(max_rounds) is not int or max_rounds < 1:
            raise ValidationError(f"max_rounds must be a positive integer, got {max_rounds!r}",
                                  field="max_rounds")
        total = RelayReport()
        for _round in range(max_rounds):
            report = self.run_once()
            total += report
            if report.claimed < self._batch_size:
                break
        return total

    def run(self, *, until: datetime | Callable[[], bool], idle_sleep: float = 1.0,
            max_rounds: int | None = None) -> RelayReport:
        """Rounds until ``until`` (an instant of the relay's clock, or a function that returns
        True to stop) or ``max_rounds``; sleeps ``idle_sleep`` seconds after a round that did
        not fill its batch. A :class:`StorageError` is logged and the round retried later."""
        if isinstance(until, datetime):
            deadline = utc_instant(until, "until")

            def stop() -> bool:
                return self._now() >= deadline
        elif callable(until):
            stop = until
        else:
            raise ValidationError("until must be a datetime or a function returning True to "
                                  "stop", field="until")
        if isinstance(idle_sleep, bool) or not isinstance(idle_sleep, (int, float)) or not (
                0 <= idle_sleep < math.inf):
            raise ValidationError(f"idle_sleep must be seconds >= 0, got {idle_sleep!r}",
                                  field="idle_sleep")
        if max_rounds is not None and (type(max_rounds) is not int or max_rounds < 0):
            raise ValidationError(f"max_rounds must be an integer >= 0, got {max_rounds!r}",
                                  field="max_rounds")
        total = RelayReport()
        while (max_rounds is None or total.rounds < max_rounds) and not stop():
            try:
                report = self.run_once()
            except StorageError:
                _log.exception("relay %s: a round failed; trying again in %s s",
                               self._relay_id, idle_sleep)
                report = RelayReport(rounds=1, errors=1)
            total += report
            if report.claimed < self._batch_size and idle_sleep and (
                    max_rounds is None or total.rounds < max_rounds) and not stop():
                time.sleep(idle_sleep)
        return total

    # ----------------------------------------------------------------- operating

    def parked(self, limit: int = 100) -> list[ParkedMessage]:
        """Up to ``limit`` parked messages, oldest first."""
        if type(limit) is not int or limit < 1:
            raise ValidationError(f"limit must be a positive integer, got {limit!r}",
                                  field="limit")
        with self._reading() as connection:
            rows = connection.execute(_PARKED, {"limit": limit}).all()
        return [ParkedMessage(id=row.id, record_id=row.record_id, version=row.version,
                              event_name=row.event_name, idempotency_key=row.idempotency_key,
                              attempts=row.attempts, last_error=row.last_error,
                              parked_at=_aware(row.parked_at)) for row in rows]

    def redrive(self, message_ids: Iterable[int] | None = None) -> int:
        """Put parked messages back (all of them, or those of ``message_ids``), due now with
        a fresh count of attempts; returns how many. Ids that are not parked are ignored."""
        if message_ids is None:
            statement, parameters = _REDRIVE_ALL, {}
        else:
            if isinstance(message_ids, (str, bytes)) or not isinstance(message_ids, Iterable):
                raise ValidationError("message_ids must be an iterable of message ids",
                                      field="message_ids")
            ids = list(message_ids)
            if any(type(found) is not int for found in ids):
                raise ValidationError(f"message ids must be integers, got {ids!r}",
                                      field="message_ids")
            if not ids:
                return 0
            statement, parameters = _REDRIVE_SOME, {"ids": ids}
        with self._writing("redrive") as connection:
            return int(connection.execute(statement, parameters).rowcount)

    def purge_delivered(self, before: datetime) -> int:
        """Delete the messages delivered before ``before``; returns how many."""
        with self._writing("purge") as connection:
            return int(connection.execute(_PURGE, {"before": utc_instant(before, "before")}
                                          ).rowcount)

    def counts(self) -> OutboxCounts:
        """How many messages are pending, claimed, retrying, parked and delivered now."""
        with self._reading() as connection:
            row = connection.execute(_COUNTS, {"now": self._now()}).one()
        pending, claimed, retrying, parked, delivered = (int(value) for value in row)
        return OutboxCounts(pending=pending, claimed=claimed, retrying=retrying, parked=parked,
                            delivered=delivered)

    # ----------------------------------------------------------------- internals

    def _now(self) -> datetime:
        return utc_instant(self._clock.now(), "clock.now()")

    def _claim(self) -> tuple[datetime, list[_Claimed]]:
        """Claim due messages until now + lease (the claim's token, with the relay id)."""
        now = self._now()
        until = now + self._lease
        with self._writing("claim") as connection:
            rows = connection.execute(_CLAIM_SELECT, {"now": now,
                                                      "limit": self._batch_size}).all()
            if rows:
                connection.execute(_CLAIM, {"ids": [row.id for row in rows],
                                            "me": self._relay_id, "until": until})
        return until, [_Claimed(row.id, row.record_id, row.version, row.payload, row.attempts,
                                row.idempotency_key) for row in rows]

    def _deliver(self, message: _Claimed) -> _Outcome:
        try:
            if not isinstance(message.payload, Mapping):
                raise ValidationError("the payload is not a JSON object", field="payload")
            event: DomainEvent = event_from_dict(message.payload)
        except Exception as exc:  # a message this library cannot read can never be sent
            return _Outcome(message, f"cannot decode the stored event: {exc}", permanent=True)
        try:
            self._notifier.notify([event])
        except DeliveryError as exc:
            return _Outcome(message, f"DeliveryError: {exc}", permanent=exc.permanent)
        except ValidationError as exc:
            return _Outcome(message, f"ValidationError: {exc}", permanent=True)
        except Exception as exc:  # the notifier's own failure: try again later
            return _Outcome(message, f"{type(exc).__name__}: {exc}")
        return _Outcome(message)

    def _record(self, until: datetime, claimed: list[_Claimed], outcomes: list[_Outcome],
                released: list[int]) -> RelayReport:
        """Record the outcomes (and release the ``released`` claims) in one transaction; a
        failure or release only applies while the claim is still this one."""
        if not claimed:
            return RelayReport(rounds=1)
        now = self._now()
        token = {"me": self._relay_id, "until": until}
        delivered = [outcome.message.id for outcome in outcomes if outcome.error is None]
        failed: list[dict[str, Any]] = []
        for outcome in outcomes:
            if outcome.error is None:
                continue
            attempts = outcome.message.attempts + 1
            park = outcome.permanent or attempts >= self._max_attempts
            failed.append(dict(token, message_id=outcome.message.id, attempts=attempts,
                               next=None if park else now + self._backoff.delay(attempts),
                               parked=now if park else None,
                               error=_column_text(outcome.error[:_MAX_ERROR])))
            log = _log.error if park else _log.warning
            log("relay %s: %s (attempt %d) %s: %s", self._relay_id,
                outcome.message.idempotency_key, attempts,
                "parked" if park else "will be retried", outcome.error)
        recorded_delivered = parked = retrying = 0
        with self._writing("record") as connection:
            if delivered:
                recorded_delivered = connection.execute(
                    _DELIVERED, {"ids": delivered, "now": now}).rowcount
            for row in failed:
                if connection.execute(_FAILED, row).rowcount == 1:
                    if row["parked"] is None:
                        retrying += 1
                    else:
                        parked += 1
            if released:
                connection.execute(_RELEASE, dict(token, ids=released))
        lost = len(outcomes) - recorded_delivered - parked - retrying
        return RelayReport(rounds=1, claimed=len(claimed), delivered=recorded_delivered,
                           retrying=retrying, parked=parked, lost=lost)

    @contextmanager
    def _writing(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection, connection.begin():
                _start(connection, write=True)
                if self._lock_timeout is not None:
                    connection.exec_driver_sql(self._lock_timeout)
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error(f"outbox {action}", exc) from exc

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as connection:
                _start(connection, write=False)
                yield connection
        except sa.exc.SQLAlchemyError as exc:
            raise _storage_error("outbox read", exc) from exc
