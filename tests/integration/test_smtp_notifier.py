"""SmtpNotifier against a real SMTP server (aiosmtpd) on 127.0.0.1.

Each test starts its own server on a free loopback port; what it receives is parsed back with
:mod:`email` and checked. TLS tests use a self-signed certificate made for 127.0.0.1 by the
``openssl`` command (skipped, with the reason, where it is missing): the standard library
cannot make certificates and ``cryptography`` is not a dependency.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from itil_incident import (
    Actor,
    DomainEvent,
    Incident,
    IncidentLogged,
    RecordingNotifier,
    ServiceDesk,
)
from itil_incident.adapters.sql import event_from_dict, event_to_dict
from itil_incident.errors import ValidationError
from itil_incident.notifications import (
    DeliveryError,
    Recipient,
    RecipientKind,
    SmtpNotifier,
    SmtpSettings,
    StaticDirectory,
    Subscription,
    SubscriptionRules,
    TemplateSet,
)
from itil_incident.testing import make_desk

if TYPE_CHECKING:
    from tests.integration._tls import Certificate, make_certificate
else:
    from _tls import Certificate, make_certificate

AGENT = Actor("alice", "Alice Agent", frozenset({"agent"}))
DIRECTORY = StaticDirectory(
    people={"carol": "Carol Caller <carol@example.org>", "bob": "bob@example.org"},
    groups={"Network Support": ["net1@example.org", "net2@example.org"]},
)
USER, PASSWORD = "desk", "s3cret-password"


@attrs.define
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool


class Recorder:
    """aiosmtpd handler: keeps what it receives; refuses the recipients in ``refuse``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        tls = server.transport is not None and \
            server.transport.get_extra_info("ssl_object") is not None
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                      message, tls, bool(session.authenticated)))
        return "250 OK"


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and \
        (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


StartServer = Callable[..., tuple[int, Recorder]]


@pytest.fixture
def smtp_server() -> Iterator[StartServer]:
    """Starts aiosmtpd servers on 127.0.0.1 (keyword arguments go to the Controller)."""
    controllers: list[Controller] = []

    def start(**options: Any) -> tuple[int, Recorder]:
        recorder = Recorder()
        port = _free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port,
                                ready_timeout=5.0, **options)
        controller.start()
        controllers.append(controller)
        return port, recorder

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    made = make_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return made


def _settings(port: int, **changes: Any) -> SmtpSettings:
    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "security": "none",
                               "sender": "Service Desk <desk@example.org>", "timeout": 5.0,
                               "helo_name": "localhost"}
    options.update(changes)
    return SmtpSettings(**options)


def _notifier(desk: ServiceDesk, settings: SmtpSettings, **options: Any) -> SmtpNotifier:
    rules = options.pop("rules", SubscriptionRules([
        Subscription(("incident.resolved",), (Recipient.caller(),)),
        Subscription(("incident.assigned",), (Recipient.group(),)),
    ]))
    return SmtpNotifier(settings, rules, TemplateSet.defaults(), DIRECTORY,
                        desk.repository.get_incident,
                        incident_url="https://desk.example/incidents/$id", **options)


@pytest.fixture
def history() -> tuple[ServiceDesk, list[DomainEvent]]:
    """An incident of carol's, logged (routed to Network Support), assigned to bob, resolved."""
    recorder = RecordingNotifier()
    desk = make_desk(notifier=recorder)
    incident = desk.log_incident(actor=AGENT, title="VPN drops every few minutes",
                                 caller="carol")
    desk.assign(incident.id, actor=AGENT, assignee="bob")
    desk.resolve(incident.id, actor=AGENT, code="solved_workaround",
                 notes="Router firmware updated")
    return desk, recorder.events


def _resolved(history: tuple[ServiceDesk, list[DomainEvent]]) -> list[DomainEvent]:
    return [event for event in history[1] if event.name == "incident.resolved"]


def _assigned(history: tuple[ServiceDesk, list[DomainEvent]]) -> list[DomainEvent]:
    return [event for event in history[1] if event.name == "incident.assigned"]


# ----------------------------------------------------------------- content and keys


def test_a_resolution_reaches_the_caller_with_subject_body_and_idempotency_key(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server()
    desk, _ = history
    event = _resolved(history)[0]

    _notifier(desk, _settings(port)).notify([event])

    [got] = server.received
    message = got.message
    assert got.mail_from == "desk@example.org"
    assert got.rcpt_tos == ["carol@example.org"]
    assert message["To"] == "Carol Caller <carol@example.org>"
    assert message["Subject"] == "[INC0000001] Resolved: VPN drops every few minutes"
    assert message["X-Idempotency-Key"] == f"INC0000001:{event.version}:carol@example.org"
    assert message["Message-ID"].endswith("@example.org>")
    body = message.get_content()
    assert "Router firmware updated" in body
    assert "https://desk.example/incidents/INC0000001" in body


def test_each_recipient_gets_a_message_with_its_own_idempotency_key(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server()
    desk, _ = history

    _notifier(desk, _settings(port)).notify(_assigned(history))

    assert sorted(tuple(got.rcpt_tos) for got in server.received) == [
        ("net1@example.org",), ("net2@example.org",)]
    assert sorted(got.message["X-Idempotency-Key"] for got in server.received) == [
        "INC0000001:2:net1@example.org", "INC0000001:2:net2@example.org"]


def test_one_message_reaches_many_recipients_when_the_key_names_no_recipient(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server()
    desk, _ = history
    notifier = _notifier(desk, _settings(port), key_format="{aggregate_id}:{version}:{template}")

    notifier.notify(_assigned(history))

    [got] = server.received
    assert got.rcpt_tos == ["net1@example.org", "net2@example.org"]
    assert [a.addr_spec for a in got.message["To"].addresses] == got.rcpt_tos
    assert got.message["X-Idempotency-Key"] == "INC0000001:2:incident.assigned"


def test_sending_the_same_events_again_repeats_the_same_message_ids(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server()
    desk, events = history
    notifier = _notifier(desk, _settings(port))

    notifier.notify(events)
    notifier.notify(events)

    ids = [got.message["Message-ID"] for got in server.received]
    half = len(ids) // 2
    assert half > 0
    assert ids[:half] == ids[half:]
    assert len(set(ids[:half])) == half


def test_the_desk_sends_notifications_after_each_commit(smtp_server: StartServer) -> None:
    port, server = smtp_server()
    desk = make_desk()
    desk.notifier = SmtpNotifier(
        _settings(port), SubscriptionRules.defaults(), TemplateSet.defaults(), DIRECTORY,
        desk.repository.get_incident)

    incident = desk.log_incident(actor=AGENT, title="Printer jams", caller="carol")
    desk.assign(incident.id, actor=AGENT, group="Network Support", assignee="bob")

    assert [(got.rcpt_tos, got.message["Subject"]) for got in server.received] == [
        (["carol@example.org"], "[INC0000001] Logged: Printer jams"),
        (["bob@example.org"], "[INC0000001] Assigned: Printer jams"),
        (["net1@example.org"], "[INC0000001] Assigned: Printer jams"),
        (["net2@example.org"], "[INC0000001] Assigned: Printer jams"),
    ]


# ----------------------------------------------------------------- refusals and failures


class _HostDirectory:
    """A host directory (not checked when built, unlike StaticDirectory): ``DIRECTORY``, plus
    mallory, whose display name hides a raw line break."""

    def addresses_for(self, kind: RecipientKind, key: str) -> Sequence[str]:
        if key == "mallory":
            return ["Mallory\r\nBcc: everyone@example.org <mallory@example.org>"]
        return DIRECTORY.addresses_for(kind, key)


def _stored_before_single_line_titles(incident: Incident, title: str) -> Incident:
    """``incident`` as a history written before titles had to be single lines reads back: its
    ``IncidentLogged`` event decoded by the SQL event codec (which does not re-check what it
    reads) with ``title``, a title the domain refuses today."""
    first, *rest = incident.timeline()
    legacy = event_from_dict({**event_to_dict(first), "title": title})
    assert isinstance(legacy, IncidentLogged)
    return Incident.from_history([legacy, *rest], incident.workflow)


#: How an unsafe header can still reach the notifier now that the domain refuses raw line
#: breaks in titles: (bad incident's title, its caller, a raw title in its stored history, what
#: the refusal names).
UNSAFE_PATHS = {
    "encoded break in a title": (
        "Jam =?utf-8?q?=0D=0ABcc:_everyone@example.org?=", "carol", None, "subject"),
    "raw break in a directory display name": ("Jam", "mallory", None, "address"),
    "raw break in a title stored under the old rules": (
        "Jam", "carol", "Jam\r\nBcc: everyone@example.org", "subject"),
}


@pytest.mark.parametrize(("title", "caller", "stored_title", "refused"),
                         UNSAFE_PATHS.values(), ids=UNSAFE_PATHS.keys())
def test_an_unsafe_header_in_one_message_sends_nothing_at_all(
    smtp_server: StartServer, title: str, caller: str, stored_title: str | None,
    refused: str,
) -> None:
    port, server = smtp_server()
    recorder = RecordingNotifier()
    desk = make_desk(notifier=recorder)
    good = desk.log_incident(actor=AGENT, title="Printer jams", caller="carol")
    bad = desk.log_incident(actor=AGENT, title=title, caller=caller)
    for incident in (good, bad):
        desk.resolve(incident.id, actor=AGENT, code="solved_workaround", notes="Fixed")

    def incidents(incident_id: str) -> Incident:
        # The notifier takes $title from the incident this returns (a resolution event does
        # not carry the title); only the bad incident's history is replaced, and only here.
        loaded = desk.repository.get_incident(incident_id)
        if incident_id == bad.id and stored_title is not None:
            return _stored_before_single_line_titles(loaded, stored_title)
        return loaded

    notifier = SmtpNotifier(
        _settings(port), SubscriptionRules([
            Subscription(("incident.resolved",), (Recipient.caller(),))]),
        TemplateSet.defaults(), _HostDirectory(), incidents)
    [good_message, *_] = notifier.messages_for([recorder.events[2]])  # the good resolution
    assert good_message["Subject"] == "[INC0000001] Resolved: Printer jams"

    with pytest.raises(ValidationError, match=refused):
        notifier.notify(recorder.events)

    assert server.received == []


def test_a_refused_recipient_is_reported_while_the_others_get_their_message(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server()
    server.refuse.add("net1@example.org")
    desk, _ = history

    with pytest.raises(DeliveryError) as raised:
        _notifier(desk, _settings(port)).notify(_assigned(history))

    [failure] = raised.value.failures
    assert (failure.key, failure.status, failure.permanent) == (
        "INC0000001:2:net1@example.org", 550, True)
    assert [got.rcpt_tos for got in server.received] == [["net2@example.org"]]


def test_an_unreachable_server_is_a_delivery_failure_worth_retrying(
    history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    desk, _ = history
    notifier = _notifier(desk, _settings(_free_port(), timeout=2.0))

    with pytest.raises(DeliveryError) as raised:
        notifier.notify(_resolved(history))

    assert raised.value.failures[0].key == "INC0000001:3:carol@example.org"
    assert not raised.value.permanent


# ----------------------------------------------------------------- login and TLS


def test_a_login_over_plain_smtp_on_loopback_authenticates(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server(authenticator=_authenticate, auth_require_tls=False)
    desk, _ = history
    settings = _settings(port, username=USER, password=PASSWORD, allow_plaintext_login=True)

    _notifier(desk, settings).notify(_resolved(history))

    assert [got.authenticated for got in server.received] == [True]


def test_a_wrong_password_is_a_permanent_delivery_failure(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server(authenticator=_authenticate, auth_require_tls=False)
    desk, _ = history
    settings = _settings(port, username=USER, password="wrong-password",
                         allow_plaintext_login=True)

    with pytest.raises(DeliveryError) as raised:
        _notifier(desk, settings).notify(_resolved(history))

    assert (raised.value.failures[0].status, raised.value.permanent) == (535, True)
    assert server.received == []


def test_starttls_encrypts_the_connection_before_the_login(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
    certificate: Certificate,
) -> None:
    port, server = smtp_server(tls_context=certificate.server_context(), require_starttls=True,
                               authenticator=_authenticate, auth_require_tls=True)
    desk, _ = history
    settings = _settings(port, security="starttls", username=USER, password=PASSWORD,
                         ssl_context=certificate.client_context())

    _notifier(desk, settings).notify(_resolved(history))

    assert [(got.tls, got.authenticated) for got in server.received] == [(True, True)]


def test_starttls_fails_rather_than_sending_in_clear_when_the_server_cannot(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
) -> None:
    port, server = smtp_server()
    desk, _ = history

    with pytest.raises(DeliveryError, match="STARTTLS"):
        _notifier(desk, _settings(port, security="starttls")).notify(_resolved(history))

    assert server.received == []


def test_a_certificate_that_is_not_trusted_stops_the_delivery(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
    certificate: Certificate,
) -> None:
    port, server = smtp_server(tls_context=certificate.server_context(), require_starttls=True)
    desk, _ = history
    untrusting = ssl.create_default_context()  # system roots only: the test CA is unknown

    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as raised:
        _notifier(desk, _settings(port, security="starttls", ssl_context=untrusting)
                  ).notify(_resolved(history))

    assert raised.value.permanent
    assert server.received == []


def test_implicit_tls_delivers_over_an_encrypted_connection(
    smtp_server: StartServer, history: tuple[ServiceDesk, list[DomainEvent]],
    certificate: Certificate,
) -> None:
    port, server = smtp_server(ssl_context=certificate.server_context())
    desk, _ = history
    settings = _settings(port, security="tls", ssl_context=certificate.client_context())

    _notifier(desk, settings).notify(_resolved(history))

    assert [got.tls for got in server.received] == [True]
