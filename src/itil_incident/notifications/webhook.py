"""Webhook notifications: each event POSTed as signed JSON to allow-listed endpoints.

The body is JSON (``id`` = the idempotency key ``"{aggregate_id}:{version}"``, ``event``,
``record``, ``version``, ``at``, ``actor``, ``changes`` as ``{field: [before, after]}``). The
headers carry the key (``Idempotency-Key``), a Unix timestamp (``X-Itil-Timestamp``) and an
HMAC-SHA256 signature over ``timestamp + "." + body`` (``X-Itil-Signature: sha256=<hex>``);
receivers check it with :func:`verify_signature`.

A target's URL, and every redirect, must name an allow-listed host whose addresses are all
allowed (public, or private/loopback/link-local when the target says so); see
:mod:`itil_incident.notifications._egress`. Redirects are followed by hand, each one checked,
at most ``max_redirects`` of them. Server errors (5xx) and connection failures are retried
``max_attempts`` times in all, with exponential backoff; a 4xx answer is not retried.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import math
import ssl
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from itil_incident.adapters.clocks import SystemClock
from itil_incident.domain.events import DomainEvent
from itil_incident.errors import DefinitionError
from itil_incident.notifications import _egress as egress
from itil_incident.notifications._delivery import (
    DeliveryError,
    DeliveryFailure,
    idempotency_key,
)
from itil_incident.notifications._headers import check_header
from itil_incident.notifications.subscriptions import _check_pattern, event_matches
from itil_incident.ports import Clock

__all__ = [
    "EVENT_HEADER",
    "IDEMPOTENCY_KEY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WebhookNotifier",
    "WebhookTarget",
    "event_payload",
    "sign",
    "verify_signature",
]

_log = logging.getLogger("itil_incident.notifications")

SIGNATURE_HEADER = "X-Itil-Signature"
TIMESTAMP_HEADER = "X-Itil-Timestamp"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Itil-Event"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: No single wait between attempts is longer than this, whatever the backoff.
_MAX_DELAY = 60.0
_MIN_SECRET = 16


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)


def sign(secret: str | bytes, timestamp: str | int, body: bytes) -> str:
    """The signature header value: ``"sha256=" + hex(HMAC-SHA256(secret, ts + "." + body))``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(_secret_bytes(secret), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes, timestamp: str | int, body: bytes, signature: str, *,
    max_age: float | None = None, now: float | None = None,
) -> bool:
    """Whether ``signature`` is the one :func:`sign` gives (compared in constant time).

    With ``max_age`` (seconds), also whether the timestamp is within ``max_age`` of ``now``
    (default: the system clock), to refuse replays of old messages.
    """
    text = str(timestamp)
    if not (text.isascii() and text.isdigit()) or not isinstance(body, bytes):
        return False
    if not isinstance(signature, str) or not signature.isascii():
        return False
    if max_age is not None:
        current = time.time() if now is None else now
        if abs(current - int(text)) > max_age:
            return False
    expected = sign(secret, text, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii"))


def _json_safe(value: object) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_safe(item) for item in value]
    return str(value)


def event_payload(event: DomainEvent) -> dict[str, Any]:
    """The JSON object posted for ``event`` (values that JSON cannot hold become text)."""
    return {
        "id": idempotency_key(event),
        "event": event.name,
        "record": event.aggregate_id,
        "version": event.version,
        "at": event.at.isoformat(),
        "actor": event.actor.id,
        "changes": {field: [_json_safe(before), _json_safe(after)]
                    for field, (before, after) in event.changes().items()},
    }


def _hosts(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DefinitionError("allowed_hosts must be a tuple of host names",
                              culprit="allowed_hosts")
    hosts = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise DefinitionError(f"not a host name: {item!r}", culprit="allowed_hosts")
        hosts.append(egress.normalize_host(item))
    return tuple(hosts)


def _networks(value: object) -> tuple[egress.IPNetwork, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DefinitionError("allowed_networks must be a tuple of networks",
                              culprit="allowed_networks")
    try:
        return tuple(ipaddress.ip_network(item) for item in value)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"not a network: {exc}", culprit="allowed_networks") from exc


def _events(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DefinitionError("events must be a tuple of event patterns", culprit="events")
    return tuple(_check_pattern(item) for item in value)


def _in_range(name: str, value: object, low: float, high: float, kind: type = float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or (kind is int and type(value) is not int) or not low <= value <= high:
        raise DefinitionError(f"{name} must be between {low} and {high}, got {value!r}",
                              culprit=name)


@attrs.frozen(kw_only=True)
class WebhookTarget:
    """An endpoint and how to reach it safely.

    ``allowed_hosts`` lists the host names (or ``*.example.org``) the URL and its redirects may
    name. Each resolved address must be public, unless it lies in ``allowed_networks`` (such as
    ``"10.20.0.0/16"``) or ``allow_private`` is True (every private, loopback and link-local
    address). ``secret`` (at least 16 bytes) signs the body. ``events`` are the event patterns
    posted (default all). ``timeout`` bounds each connection and read (seconds);
    ``max_attempts`` counts the first try; the n-th retry waits ``backoff * 2**(n-1)`` seconds
    (at most 60). Everything is checked when the target is built (DefinitionError), including
    an IP-literal URL against the address policy.
    """

    url: str
    secret: str | bytes = attrs.field(repr=False)
    allowed_hosts: tuple[str, ...] = attrs.field(converter=_hosts)
    allow_private: bool = False
    allowed_networks: tuple[egress.IPNetwork, ...] = attrs.field(default=(),
                                                                 converter=_networks)
    events: tuple[str, ...] = attrs.field(default=("*",), converter=_events)
    timeout: float = 10.0
    max_attempts: int = 3
    backoff: float = 0.5
    max_redirects: int = 3

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.secret, str | bytes) or \
                len(_secret_bytes(self.secret)) < _MIN_SECRET:
            raise DefinitionError(f"secret must be at least {_MIN_SECRET} bytes",
                                  culprit="secret")
        if not isinstance(self.allow_private, bool):
            raise DefinitionError("allow_private must be a bool", culprit="allow_private")
        _in_range("timeout", self.timeout, 0.001, 300)
        _in_range("max_attempts", self.max_attempts, 1, 10, int)
        _in_range("backoff", self.backoff, 0, 60)
        _in_range("max_redirects", self.max_redirects, 0, 10, int)
        try:
            url = egress.parse_url(self.url, self.allowed_hosts)
        except egress.Refused as exc:
            raise DefinitionError(str(exc), culprit="url") from exc
        literal = egress.literal_address(url.host)
        if literal is not None and not self.permits(literal):
            raise DefinitionError(
                f"{literal} is a private, loopback, link-local or special address; set "
                "allow_private or allowed_networks to allow it", culprit="url")

    def permits(self, address: str) -> bool:
        """Whether a connection to the IP ``address`` is allowed."""
        return egress.permits(address, self.allow_private, self.allowed_networks)

    def accepts(self, event_name: str) -> bool:
        """Whether events named ``event_name`` are posted to this target."""
        return any(event_matches(pattern, event_name) for pattern in self.events)


class WebhookNotifier:
    """Posts every event to every target that accepts it (a Notifier).

    ``clock`` stamps signatures (default: the system clock); ``resolver`` resolves host names
    (default: ``getaddrinfo``; a host with its own name service may pass one); ``ssl_context``
    replaces the default TLS context (system trust store, host names checked).

    ``notify`` tries every delivery, then raises :class:`DeliveryError` listing those that
    failed. Deliveries block while they retry: call it from an outbox relay, not a request.
    """

    def __init__(
        self, targets: Iterable[WebhookTarget], *, clock: Clock | None = None,
        resolver: egress.Resolver | None = None, ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        listed = tuple(targets) if isinstance(targets, Iterable) else ()
        if not listed or not all(isinstance(target, WebhookTarget) for target in listed):
            raise DefinitionError("targets must be one or more WebhookTarget",
                                  culprit="targets")
        self.targets = listed
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._resolve: egress.Resolver = resolver if resolver is not None else egress.resolve
        self._context = ssl_context if ssl_context is not None else ssl.create_default_context()

    def notify(self, events: Sequence[DomainEvent]) -> None:
        """Post each event to the targets that accept it."""
        failures: list[DeliveryFailure] = []
        for event in events:
            for target in self.targets:
                if not target.accepts(event.name):
                    continue
                try:
                    self.deliver(event, target)
                except DeliveryError as exc:
                    failures.extend(exc.failures)
        if failures:
            raise DeliveryError.of(failures)

    def deliver(self, event: DomainEvent, target: WebhookTarget) -> None:
        """Post ``event`` to ``target``, retrying as the target says; DeliveryError if not."""
        key = check_header(idempotency_key(event), "idempotency key")
        check_header(event.name, "event name")
        body = json.dumps(event_payload(event), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
        failure: DeliveryFailure | None = None
        for attempt in range(1, target.max_attempts + 1):
            if attempt > 1:
                time.sleep(min(target.backoff * 2 ** (attempt - 2), _MAX_DELAY))
            failure = self._attempt(target, key, event.name, body)
            if failure is None:
                return
            if failure.permanent:
                break
            _log.warning("webhook %s for %s failed (attempt %d of %d): %s", target.url, key,
                         attempt, target.max_attempts, failure.reason)
        assert failure is not None  # the loop ran at least once and did not return
        raise DeliveryError.of([failure])

    def _headers(self, target: WebhookTarget, key: str, event_name: str,
                 body: bytes) -> dict[str, str]:
        timestamp = str(int(self._clock.now().timestamp()))
        return {
            "Content-Type": "application/json",
            "User-Agent": "itil-incident-webhook",
            IDEMPOTENCY_KEY_HEADER: key,
            EVENT_HEADER: event_name,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(target.secret, timestamp, body),
        }

    def _addresses(self, target: WebhookTarget, url: egress.Url) -> Sequence[str]:
        literal = egress.literal_address(url.host)
        addresses = [literal] if literal is not None else list(self._resolve(url.host, url.port))
        if not addresses:
            raise OSError(f"{url.host} resolves to no address")
        for address in addresses:
            try:
                allowed = target.permits(address)
            except ValueError:
                raise egress.Refused(f"{url.host} resolves to {address!r}, not an IP address"
                                     ) from None
            if not allowed:
                raise egress.Refused(
                    f"{url.host} resolves to {address}, a private, loopback, link-local or "
                    "special address that this target does not allow")
        return addresses

    def _attempt(self, target: WebhookTarget, key: str, event_name: str,
                 body: bytes) -> DeliveryFailure | None:
        """One try, following redirects; None when delivered."""
        url = egress.parse_url(target.url, target.allowed_hosts)
        for _hop in range(target.max_redirects + 1):
            try:
                addresses = self._addresses(target, url)
            except egress.Refused as exc:
                return DeliveryFailure(key, url.text, str(exc), permanent=True, refused=True)
            except OSError as exc:  # name resolution failed: may be passing
                return DeliveryFailure(key, url.text, f"cannot resolve {url.host}: {exc}")
            headers = self._headers(target, key, event_name, body)
            try:
                status, location = egress.post(url, addresses, headers, body, target.timeout,
                                               self._context)
            except ssl.SSLCertVerificationError as exc:  # retrying will not make it trusted
                return DeliveryFailure(key, url.text, f"{type(exc).__name__}: {exc}",
                                       permanent=True)
            except (OSError, http.client.HTTPException) as exc:
                return DeliveryFailure(key, url.text, f"{type(exc).__name__}: {exc}")
            if 200 <= status < 300:
                return None
            if status in _REDIRECTS and location:
                try:
                    url = egress.redirect_url(url, location, target.allowed_hosts)
                except egress.Refused as exc:
                    return DeliveryFailure(key, url.text, f"redirect refused: {exc}",
                                           status=status, permanent=True, refused=True)
                continue
            return DeliveryFailure(key, url.text, f"answered {status}", status=status,
                                   permanent=status < 500)
        return DeliveryFailure(key, target.url, f"more than {target.max_redirects} redirects",
                               permanent=True, refused=True)
