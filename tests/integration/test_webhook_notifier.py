"""WebhookNotifier against a real HTTP server (http.server) on 127.0.0.1.

Each test starts its own ThreadingHTTPServer on a free loopback port; the server checks every
signature with :func:`verify_signature` and answers from a script (status codes, redirects,
dropped connections, delays). Loopback is a private address, so every target that must reach
the server says so explicitly (``allow_private=True`` or ``allowed_networks``). Names other
than ``localhost`` are resolved by an injected resolver; a forbidden address it gives is itself
on loopback (127.0.0.2), so that even a broken check could not reach beyond this machine.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from itil_incident import Actor, DomainEvent, RecordingNotifier
from itil_incident.errors import DefinitionError
from itil_incident.notifications import (
    IDEMPOTENCY_KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DeliveryError,
    WebhookNotifier,
    WebhookTarget,
    sign,
    verify_signature,
)
from itil_incident.testing import make_desk

if TYPE_CHECKING:
    from tests.integration._tls import Certificate, make_certificate
else:
    from _tls import Certificate, make_certificate

SECRET = "a-webhook-secret-of-some-length"
AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))


@attrs.frozen
class Answer:
    """What the server does with one request."""

    status: int = 204
    location: str | None = None
    delay: float = 0.0
    drop: bool = False


@attrs.frozen
class Hit:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    at: float


class HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[Hit] = []
        self.script: list[Answer] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def record(self, hit: Hit) -> Answer:
        with self._lock:
            self.hits.append(hit)
            return self.script.pop(0) if self.script else Answer()


class _Handler(BaseHTTPRequestHandler):
    server: HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signature_ok = verify_signature(SECRET, self.headers.get(TIMESTAMP_HEADER, ""), body,
                                        self.headers.get(SIGNATURE_HEADER, ""))
        answer = self.server.record(Hit(self.path, dict(self.headers.items()), body,
                                        signature_ok, time.monotonic()))
        time.sleep(answer.delay)
        if answer.drop:
            self.close_connection = True
            return
        self.send_response(answer.status)
        if answer.location is not None:
            self.send_header("Location", answer.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


StartServer = Callable[..., HookServer]


@pytest.fixture
def hook_server() -> Iterator[StartServer]:
    """Starts HTTP servers on 127.0.0.1 (``context``: serve HTTPS with that TLS context)."""
    started: list[tuple[HookServer, threading.Thread]] = []

    def start(context: ssl.SSLContext | None = None) -> HookServer:
        server = HookServer()
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def events() -> list[DomainEvent]:
    """An incident logged (version 1) and resolved (version 2)."""
    recorder = RecordingNotifier()
    desk = make_desk(notifier=recorder)
    incident = desk.log_incident(actor=AGENT, title="VPN drops", caller="carol",
                                 impact=1, urgency=1)
    desk.resolve(incident.id, actor=AGENT, code="solved_workaround", notes="Router updated")
    return recorder.events


def _target(server: HookServer, path: str = "/hook", **changes: Any) -> WebhookTarget:
    options: dict[str, Any] = {
        "url": f"http://127.0.0.1:{server.port}{path}", "secret": SECRET,
        "allowed_hosts": ("127.0.0.1",), "allow_private": True, "timeout": 2.0,
        "max_attempts": 3, "backoff": 0.01,
    }
    options.update(changes)
    return WebhookTarget(**options)


def _resolver(names: dict[str, Sequence[str]], asked: list[str]
              ) -> Callable[[str, int], Sequence[str]]:
    def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return names[host]
    return resolve


# ----------------------------------------------------------------- what is posted


def test_an_event_is_posted_as_signed_json_with_its_idempotency_key(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()

    WebhookNotifier([_target(server)]).notify(events[:1])

    [hit] = server.hits
    payload = json.loads(hit.body)
    assert hit.signature_ok
    assert hit.headers[IDEMPOTENCY_KEY_HEADER] == "INC0000001:1"
    assert hit.headers["Content-Type"] == "application/json"
    assert {key: payload[key] for key in ("id", "event", "record", "version", "at", "actor")
            } == {"id": "INC0000001:1", "event": "incident.logged", "record": "INC0000001",
                  "version": 1, "at": "2026-01-05T09:00:00+00:00", "actor": "alice"}


def test_values_json_cannot_hold_are_posted_as_text(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()

    WebhookNotifier([_target(server)]).notify(events[:1])

    changes = json.loads(server.hits[0].body)["changes"]
    assert changes["priority"] == [None, "1 - Critical"]
    assert changes["title"] == [None, "VPN drops"]


def test_a_target_receives_only_the_events_it_subscribes_to(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()

    WebhookNotifier([_target(server, events=("incident.resolved",))]).notify(events)

    assert [json.loads(hit.body)["event"] for hit in server.hits] == ["incident.resolved"]


# ----------------------------------------------------------------- retries


def test_server_errors_are_retried_with_backoff_under_the_same_key(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(500), Answer(502)]

    WebhookNotifier([_target(server, backoff=0.05)]).notify(events[:1])

    assert [hit.headers[IDEMPOTENCY_KEY_HEADER] for hit in server.hits] == ["INC0000001:1"] * 3
    times = [hit.at for hit in server.hits]
    assert times[1] - times[0] >= 0.045
    assert times[2] - times[1] >= 0.095


def test_server_errors_past_the_last_attempt_are_a_failure_worth_retrying_later(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(503)] * 3

    with pytest.raises(DeliveryError) as raised:
        WebhookNotifier([_target(server, max_attempts=2)]).notify(events[:1])

    assert len(server.hits) == 2
    assert (raised.value.failures[0].status, raised.value.permanent) == (503, False)


def test_a_client_error_is_not_retried(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(400)]

    with pytest.raises(DeliveryError) as raised:
        WebhookNotifier([_target(server)]).notify(events[:1])

    assert len(server.hits) == 1
    assert (raised.value.failures[0].status, raised.value.permanent) == (400, True)


def test_a_dropped_connection_is_retried(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(drop=True)]

    WebhookNotifier([_target(server)]).notify(events[:1])

    assert len(server.hits) == 2


def test_a_slow_receiver_times_out_as_a_failure_worth_retrying(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(delay=0.5)]

    with pytest.raises(DeliveryError, match="timed out") as raised:
        WebhookNotifier([_target(server, timeout=0.1, max_attempts=1)]).notify(events[:1])

    assert not raised.value.permanent


def test_every_delivery_is_tried_before_the_failures_are_reported(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    failing, working = hook_server(), hook_server()
    failing.script = [Answer(410)]

    with pytest.raises(DeliveryError) as raised:
        WebhookNotifier([_target(failing), _target(working)]).notify(events[:1])

    assert [failure.destination for failure in raised.value.failures] == [
        f"http://127.0.0.1:{failing.port}/hook"]
    assert len(working.hits) == 1


# ----------------------------------------------------------------- redirects


def test_an_allowed_redirect_is_followed_with_the_same_signed_body(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(307, location="/moved")]

    WebhookNotifier([_target(server)]).notify(events[:1])

    assert [hit.path for hit in server.hits] == ["/hook", "/moved"]
    assert server.hits[0].body == server.hits[1].body
    assert all(hit.signature_ok for hit in server.hits)


def test_a_redirect_to_a_host_off_the_allow_list_is_refused_without_contacting_it(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server, elsewhere = hook_server(), hook_server()
    server.script = [Answer(302, location=f"http://localhost:{elsewhere.port}/")]

    with pytest.raises(DeliveryError, match="allow-list") as raised:
        WebhookNotifier([_target(server)]).notify(events[:1])

    assert raised.value.failures[0].refused
    assert elsewhere.hits == []


def test_a_redirect_to_an_allowed_name_resolving_to_a_forbidden_address_is_refused(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(308, location=f"http://internal.test:{server.port}/hook")]
    asked: list[str] = []
    target = _target(server, allowed_hosts=("127.0.0.1", "internal.test"), allow_private=False,
                     allowed_networks=("127.0.0.1/32",))
    notifier = WebhookNotifier(
        [target], resolver=_resolver({"internal.test": ["127.0.0.2"]}, asked))

    with pytest.raises(DeliveryError, match=r"127\.0\.0\.2") as raised:
        notifier.notify(events[:1])

    assert asked == ["internal.test"]
    assert raised.value.failures[0].refused
    assert len(server.hits) == 1


def test_redirects_beyond_the_cap_are_refused(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    server.script = [Answer(302, location="/again")] * 5

    with pytest.raises(DeliveryError, match="redirects") as raised:
        WebhookNotifier([_target(server, max_redirects=2)]).notify(events[:1])

    assert len(server.hits) == 3
    assert raised.value.permanent


# ----------------------------------------------------------------- where a target may go


def test_a_name_resolving_to_loopback_is_refused_without_allow_private(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    target = _target(server, url=f"http://localhost:{server.port}/hook",
                     allowed_hosts=("localhost",), allow_private=False)

    with pytest.raises(DeliveryError, match="loopback") as raised:
        WebhookNotifier([target]).notify(events[:1])

    assert raised.value.failures[0].refused
    assert server.hits == []


def test_a_name_resolving_to_loopback_is_reached_when_private_addresses_are_allowed(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    target = _target(server, url=f"http://localhost:{server.port}/hook",
                     allowed_hosts=("localhost",), allow_private=True)

    WebhookNotifier([target]).notify(events[:1])

    assert len(server.hits) == 1


def test_a_numeric_host_is_judged_by_the_address_it_resolves_to(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    target = _target(server, url=f"http://2130706433:{server.port}/hook",
                     allowed_hosts=("2130706433",), allow_private=False)

    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1"):
        WebhookNotifier([target]).notify(events[:1])

    assert server.hits == []


def test_the_connection_goes_to_the_address_that_was_checked(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    target = _target(server, url=f"http://hooks.test:{server.port}/hook",
                     allowed_hosts=("hooks.test",), allow_private=True)
    asked: list[str] = []
    notifier = WebhookNotifier([target],
                               resolver=_resolver({"hooks.test": ["127.0.0.1"]}, asked))

    notifier.notify(events[:1])

    assert asked == ["hooks.test"]
    assert server.hits[0].headers["Host"] == f"hooks.test:{server.port}"


def test_a_resolver_answer_that_is_not_an_address_is_refused(
    hook_server: StartServer, events: list[DomainEvent],
) -> None:
    server = hook_server()
    target = _target(server, url=f"http://hooks.test:{server.port}/hook",
                     allowed_hosts=("hooks.test",))
    notifier = WebhookNotifier([target],
                               resolver=_resolver({"hooks.test": ["not-an-address"]}, []))

    with pytest.raises(DeliveryError, match="not an IP address"):
        notifier.notify(events[:1])


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "[::1]",
                                  "[::ffff:127.0.0.1]", "[fe80::1]"])
def test_a_private_address_literal_is_refused_when_the_target_is_defined(host: str) -> None:
    with pytest.raises(DefinitionError, match="allow_private"):
        WebhookTarget(url=f"http://{host}:8080/hook", secret=SECRET, allowed_hosts=(host,))


@pytest.mark.parametrize("host", ["0.0.0.0", "224.0.0.1"])
def test_an_unspecified_or_multicast_address_is_refused_even_with_allow_private(
    host: str,
) -> None:
    with pytest.raises(DefinitionError):
        WebhookTarget(url=f"http://{host}:8080/hook", secret=SECRET, allowed_hosts=(host,),
                      allow_private=True)


def test_a_host_off_the_allow_list_is_refused_when_the_target_is_defined() -> None:
    with pytest.raises(DefinitionError, match="allow-list"):
        WebhookTarget(url="https://hooks.example.org/x", secret=SECRET,
                      allowed_hosts=("other.example.org",))


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://hooks.example.org/x", "https://user:pw@hooks.example.org/x",
    "https://hooks.example.org/x y", "https://hooks.example.org\\@evil.example/",
    "https://hooks.example.org/\r\nX-Injected: 1",
])
def test_a_url_that_is_not_plain_http_is_refused_when_the_target_is_defined(url: str) -> None:
    with pytest.raises(DefinitionError):
        WebhookTarget(url=url, secret=SECRET, allowed_hosts=("hooks.example.org",))


def test_a_short_secret_is_refused_when_the_target_is_defined() -> None:
    with pytest.raises(DefinitionError, match="secret"):
        WebhookTarget(url="https://hooks.example.org/x", secret="short",
                      allowed_hosts=("hooks.example.org",))


# ----------------------------------------------------------------- signatures


def test_a_signature_does_not_verify_a_changed_body() -> None:
    signature = sign(SECRET, 1767603600, b'{"event":"incident.logged"}')

    assert not verify_signature(SECRET, 1767603600, b'{"event":"incident.closed"}', signature)


def test_a_signature_does_not_verify_another_timestamp() -> None:
    signature = sign(SECRET, 1767603600, b"{}")

    assert not verify_signature(SECRET, 1767603601, b"{}", signature)


def test_a_signature_older_than_max_age_is_refused() -> None:
    signature = sign(SECRET, 1767603600, b"{}")

    assert not verify_signature(SECRET, 1767603600, b"{}", signature, max_age=300,
                                now=1767603600 + 301)


def test_a_malformed_signature_is_refused_without_error() -> None:
    assert not verify_signature(SECRET, "1767603600", b"{}", "sha256=\u00e9\u00e9")


# ----------------------------------------------------------------- HTTPS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    made = make_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return made


def test_https_delivery_checks_the_certificate_of_the_named_host(
    hook_server: StartServer, events: list[DomainEvent], certificate: Certificate,
) -> None:
    server = hook_server(certificate.server_context())
    target = _target(server, url=f"https://127.0.0.1:{server.port}/hook")

    WebhookNotifier([target], ssl_context=certificate.client_context()).notify(events[:1])

    assert [hit.signature_ok for hit in server.hits] == [True]


def test_an_untrusted_certificate_stops_the_delivery(
    hook_server: StartServer, events: list[DomainEvent], certificate: Certificate,
) -> None:
    server = hook_server(certificate.server_context())
    target = _target(server, url=f"https://127.0.0.1:{server.port}/hook")

    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as raised:
        WebhookNotifier([target]).notify(events[:1])

    assert raised.value.permanent
    assert server.hits == []


def test_a_redirect_from_https_to_http_is_refused(
    hook_server: StartServer, events: list[DomainEvent], certificate: Certificate,
) -> None:
    secure, plain = hook_server(certificate.server_context()), hook_server()
    secure.script = [Answer(301, location=f"http://127.0.0.1:{plain.port}/hook")]
    target = _target(secure, url=f"https://127.0.0.1:{secure.port}/hook")

    with pytest.raises(DeliveryError, match="https to http"):
        WebhookNotifier([target], ssl_context=certificate.client_context()
                        ).notify(events[:1])

    assert plain.hits == []
