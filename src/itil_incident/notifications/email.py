"""E-mail notifications through the standard library (:mod:`smtplib`, :mod:`email`).

:class:`SmtpNotifier` implements the :class:`~itil_incident.ports.Notifier` port. For each
incident event it asks the rules who hears of it, the directory for their addresses, renders
the template and sends the messages over one SMTP connection (plain, STARTTLS or implicit TLS,
with an optional login). Every message and every header is built and checked before anything
is sent; an unsafe header refuses the whole batch with
:class:`~itil_incident.errors.ValidationError`.

Each message carries an idempotency key, by default ``"{aggregate_id}:{version}:{recipient}"``,
in ``X-Idempotency-Key`` and (hashed) in its ``Message-ID``: a message sent again (at-least-once
delivery) is the same message, so mail systems and readers can drop the copy. There is one
message per distinct key: with the default, one per recipient; with a format without
``{recipient}``, such as ``"{aggregate_id}:{version}:{template}"``, one message to many
recipients.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import string
from collections.abc import Callable, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

import attrs

from itil_incident.domain.events import DomainEvent, IncidentEvent
from itil_incident.domain.incident import Incident
from itil_incident.errors import DefinitionError, ValidationError
from itil_incident.notifications._delivery import DeliveryError, DeliveryFailure
from itil_incident.notifications._headers import check_header, parse_mailbox
from itil_incident.notifications._view import check_url_pattern, snapshot, text_values
from itil_incident.notifications.subscriptions import (
    Directory,
    RecipientKind,
    SubscriptionRules,
)
from itil_incident.notifications.templates import Template, TemplateSet

__all__ = ["IDEMPOTENCY_HEADER", "SmtpNotifier", "SmtpSettings"]

_log = logging.getLogger("itil_incident.notifications")

#: The header holding a message's idempotency key.
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
_KEY_FIELDS = frozenset({"aggregate_id", "version", "template", "recipient"})
_DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}

Security = Literal["none", "starttls", "tls"]


def _definition(check: Callable[[], object], culprit: str) -> None:
    try:
        check()
    except ValidationError as exc:
        raise DefinitionError(str(exc), culprit=culprit) from exc


@attrs.frozen(kw_only=True)
class SmtpSettings:
    """How to reach the mail server.

    ``security`` is ``"starttls"`` (the default: upgrade, and fail rather than go on in clear
    when the server cannot), ``"tls"`` (implicit TLS, usually port 465) or ``"none"``. ``port``
    defaults to 587, 465 or 25 accordingly. A login (``username`` and ``password``) over
    ``"none"`` sends the password in clear and is refused unless ``allow_plaintext_login``.
    ``ssl_context`` replaces the default (system trust store, host name checked), for a private
    CA. ``sender`` is the From address; ``message_id_domain`` (default: the sender's domain)
    ends each Message-ID; ``helo_name`` is the name given in EHLO (default: this host's FQDN).
    """

    host: str
    sender: str
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 10.0
    allow_plaintext_login: bool = False
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, eq=False, repr=False)
    helo_name: str | None = None
    message_id_domain: str | None = None

    def __attrs_post_init__(self) -> None:
        _definition(lambda: check_header(self.host, "host"), "host")
        if not self.host.strip():
            raise DefinitionError("host must not be empty", culprit="host")
        _definition(lambda: parse_mailbox(self.sender, "sender"), "sender")
        if self.security not in _DEFAULT_PORTS:
            raise DefinitionError(f"security must be 'none', 'starttls' or 'tls', got "
                                  f"{self.security!r}", culprit="security")
        if self.port is not None and (type(self.port) is not int
                                      or not 0 < self.port < 65536):
            raise DefinitionError(f"port must be 1-65535, got {self.port!r}", culprit="port")
        if not isinstance(self.timeout, (int, float)) or not 0 < self.timeout <= 600:
            raise DefinitionError("timeout must be a number of seconds in (0, 600]",
                                  culprit="timeout")
        if (self.username is None) != (self.password is None):
            raise DefinitionError("give both username and password, or neither",
                                  culprit="username")
        if self.username is not None:
            _definition(lambda: check_header(self.username, "username"), "username")
            if self.security == "none" and not self.allow_plaintext_login:
                raise DefinitionError(
                    "a login without TLS sends the password in clear; use 'starttls' or "
                    "'tls', or set allow_plaintext_login", culprit="security")
        if self.ssl_context is not None and not isinstance(self.ssl_context, ssl.SSLContext):
            raise DefinitionError("ssl_context must be an ssl.SSLContext", culprit="ssl_context")
        for name in ("helo_name", "message_id_domain"):
            value = getattr(self, name)
            if value is not None:
                try:
                    check_header(value, name)
                except ValidationError as exc:
                    raise DefinitionError(str(exc), culprit=name) from exc

    @property
    def effective_port(self) -> int:
        """``port``, or the usual port of ``security``."""
        return self.port if self.port is not None else _DEFAULT_PORTS[self.security]


def _check_key_format(key_format: object) -> str:
    if not isinstance(key_format, str):
        raise DefinitionError("key_format must be a string", culprit="key_format")
    try:
        parsed = list(string.Formatter().parse(key_format))
    except ValueError as exc:
        raise DefinitionError(f"key_format is malformed: {exc}", culprit="key_format") from exc
    names = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in _KEY_FIELDS or spec or conversion:
            raise DefinitionError(
                f"key_format may only use {{aggregate_id}}, {{version}}, {{template}} and "
                f"{{recipient}}, plainly; got {{{field}}}", culprit="key_format")
        names.add(field)
    if not {"aggregate_id", "version"} <= names:
        raise DefinitionError("key_format must include {aggregate_id} and {version}",
                              culprit="key_format")
    return key_format


@attrs.frozen
class _Outgoing:
    key: str
    message: EmailMessage = attrs.field(eq=False)
    recipients: tuple[str, ...]


class SmtpNotifier:
    """Sends the notifications that ``rules`` call for, by e-mail (a Notifier).

    ``incidents`` loads an incident by id (such as ``repository.get_incident``); ``directory``
    resolves people, groups and roles to addresses; ``incident_url`` (such as
    ``"https://desk.example/incidents/$id"``) fills ``$url``. Events of other records than
    incidents are ignored.

    ``notify`` raises :class:`~itil_incident.errors.ValidationError` before sending anything
    when a header would be unsafe, and :class:`DeliveryError` (after trying every message) when
    some messages could not be sent.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        rules: SubscriptionRules,
        templates: TemplateSet,
        directory: Directory,
        incidents: Callable[[str], Incident],
        *,
        key_format: str = "{aggregate_id}:{version}:{recipient}",
        incident_url: str | None = None,
    ) -> None:
        for name, value, kind in (("settings", settings, SmtpSettings),
                                  ("rules", rules, SubscriptionRules),
                                  ("templates", templates, TemplateSet),
                                  ("directory", directory, Directory)):
            if not isinstance(value, kind):
                raise DefinitionError(f"{name} must be a {kind.__name__}", culprit=name)
        if not callable(incidents):
            raise DefinitionError("incidents must load an incident by id", culprit="incidents")
        missing = sorted(rules.template_names() - {t.name for t in templates})
        if missing:
            raise DefinitionError(f"subscriptions name missing template(s): {missing}",
                                  culprit="templates")
        by_event = any(s.template is None for s in rules.subscriptions)
        if by_event and TemplateSet.DEFAULT not in templates:
            raise DefinitionError(
                "a subscription without a template needs a 'default' template",
                culprit="templates")
        self.settings = settings
        self.rules = rules
        self.templates = templates
        self.directory = directory
        self._incidents = incidents
        self._key_format = _check_key_format(key_format)
        self._link = check_url_pattern(incident_url)
        self._sender = parse_mailbox(settings.sender, "sender")
        self._domain = settings.message_id_domain or self._sender.domain

    # ----------------------------------------------------------------- building

    def messages_for(self, events: Sequence[DomainEvent]) -> list[EmailMessage]:
        """The messages ``notify(events)`` would send, built and checked, sending nothing."""
        return [outgoing.message for outgoing in self._outgoing(events)]

    def _outgoing(self, events: Sequence[DomainEvent]) -> list[_Outgoing]:
        result: list[_Outgoing] = []
        for event in events:
            if isinstance(event, IncidentEvent):
                result.extend(self._for_event(event))
        return result

    def _for_event(self, event: IncidentEvent) -> list[_Outgoing]:
        incident = self._incidents(event.aggregate_id)
        groups: dict[str, tuple[Template, dict[str, Address]]] = {}
        for addressee in self.rules.recipients_for(event, incident):
            template = self.templates.for_event(event.name, addressee.template)
            if addressee.kind is RecipientKind.ADDRESS:
                addresses: Sequence[str] = (addressee.key,)
            else:
                addresses = self.directory.addresses_for(addressee.kind, addressee.key)
            if not addresses:
                _log.warning("no address for %s %r (%s %s)", addressee.kind, addressee.key,
                             event.name, event.aggregate_id)
            for address in addresses:
                mailbox = parse_mailbox(address, f"address of {addressee.kind} {addressee.key}")
                key = self._key_format.format(
                    aggregate_id=event.aggregate_id, version=event.version,
                    template=template.name, recipient=mailbox.addr_spec)
                chosen, mailboxes = groups.setdefault(key, (template, {}))
                if chosen is template:  # else an earlier subscription already chose
                    mailboxes.setdefault(mailbox.addr_spec.lower(), mailbox)
        if not groups:
            return []
        values = text_values(snapshot(event, incident), self._link)
        return [self._compose(event, key, template, values, tuple(mailboxes.values()))
                for key, (template, mailboxes) in groups.items()]

    def _compose(self, event: IncidentEvent, key: str, template: Template,
                 values: dict[str, str], mailboxes: tuple[Address, ...]) -> _Outgoing:
        rendered = template.render(values)
        subject = check_header(rendered.subject, "subject")
        check_header(key, "idempotency key")
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mailboxes
        message["Subject"] = subject
        message["Date"] = format_datetime(event.at)
        message["Message-ID"] = f"<{digest}@{self._domain}>"
        message[IDEMPOTENCY_HEADER] = key
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(rendered.body)
        return _Outgoing(key, message, tuple(m.addr_spec for m in mailboxes))

    # ----------------------------------------------------------------- sending

    def notify(self, events: Sequence[DomainEvent]) -> None:
        """Send the notifications for ``events`` over one connection."""
        outgoing = self._outgoing(events)
        if not outgoing:
            return
        destination = f"smtp://{self.settings.host}:{self.settings.effective_port}"
        try:
            smtp = self._open()
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError.of(
                _failure(item.key, destination, exc) for item in outgoing) from exc
        failures: list[DeliveryFailure] = []
        try:
            for index, item in enumerate(outgoing):
                to = ", ".join(item.recipients)
                try:
                    refused = smtp.send_message(item.message, self._sender.addr_spec,
                                                list(item.recipients))
                except smtplib.SMTPServerDisconnected as exc:
                    failures.extend(_lost(outgoing[index:], exc))
                    break
                except smtplib.SMTPException as exc:  # this message refused; go on
                    failures.append(_failure(item.key, to, exc))
                    continue
                except OSError as exc:  # SMTPException is an OSError too: caught above
                    failures.extend(_lost(outgoing[index:], exc))
                    break
                if refused:
                    failures.append(DeliveryFailure(
                        item.key, ", ".join(sorted(refused)), f"recipients refused: {refused}",
                        status=min(code for code, _ in refused.values()),
                        permanent=all(code >= 500 for code, _ in refused.values())))
        finally:
            _close(smtp)
        if failures:
            raise DeliveryError.of(failures)

    def _open(self) -> smtplib.SMTP:
        settings = self.settings
        context = settings.ssl_context or ssl.create_default_context()
        port = settings.effective_port
        smtp: smtplib.SMTP
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(settings.host, port, local_hostname=settings.helo_name,
                                    timeout=settings.timeout, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, port, local_hostname=settings.helo_name,
                                timeout=settings.timeout)
        try:
            if settings.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=context)  # raises when the server cannot: no fallback
                smtp.ehlo()
            if settings.username is not None and settings.password is not None:
                smtp.login(settings.username, settings.password)
        except BaseException:
            _close(smtp)
            raise
        return smtp


def _failure(key: str, destination: str, exc: BaseException) -> DeliveryFailure:
    status: int | None = None
    # No STARTTLS, or a certificate we do not trust: sending again will not help.
    permanent = isinstance(exc, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError)
    if isinstance(exc, smtplib.SMTPResponseException):
        status = exc.smtp_code
        permanent = 500 <= exc.smtp_code < 600
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        status = min(codes) if codes else None
        permanent = all(code >= 500 for code in codes)
    return DeliveryFailure(key, destination, f"{type(exc).__name__}: {exc}", status=status,
                           permanent=permanent)


def _lost(outgoing: Sequence[_Outgoing], exc: BaseException) -> list[DeliveryFailure]:
    """The connection is gone: this message and the rest failed, worth retrying."""
    return [_failure(item.key, ", ".join(item.recipients), exc) for item in outgoing]


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
