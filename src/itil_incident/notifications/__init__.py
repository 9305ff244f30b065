"""Notification delivery: who hears of what, in which words, by e-mail or webhook.

An adapter layer over the :class:`~itil_incident.ports.Notifier` port; the domain knows nothing
of it. :class:`SubscriptionRules` decide who hears of an event, a :class:`Directory` gives
their addresses, a :class:`TemplateSet` words the message (``$field`` substitution from an
allow-list), and :class:`SmtpNotifier` or :class:`WebhookNotifier` deliver it, each message
with a stable idempotency key so that repeated deliveries can be dropped downstream.

>>> from itil_incident.notifications import Recipient, Subscription, SubscriptionRules
>>> rules = SubscriptionRules([
...     Subscription(("incident.resolved",), (Recipient.caller(),)),
...     Subscription(("incident.*",), (Recipient.role("major_incident_manager"),),
...                  priorities=frozenset({1})),
... ])
"""

from itil_incident.notifications._delivery import DeliveryError, DeliveryFailure, idempotency_key
from itil_incident.notifications.email import IDEMPOTENCY_HEADER, SmtpNotifier, SmtpSettings
from itil_incident.notifications.subscriptions import (
    Addressee,
    Directory,
    Recipient,
    RecipientKind,
    StaticDirectory,
    Subscription,
    SubscriptionRules,
    event_matches,
)
from itil_incident.notifications.templates import FIELDS, RenderedMessage, Template, TemplateSet
from itil_incident.notifications.webhook import (
    EVENT_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookNotifier,
    WebhookTarget,
    event_payload,
    sign,
    verify_signature,
)

__all__ = [
    "EVENT_HEADER",
    "FIELDS",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_KEY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Addressee",
    "DeliveryError",
    "DeliveryFailure",
    "Directory",
    "Recipient",
    "RecipientKind",
    "RenderedMessage",
    "SmtpNotifier",
    "SmtpSettings",
    "StaticDirectory",
    "Subscription",
    "SubscriptionRules",
    "Template",
    "TemplateSet",
    "WebhookNotifier",
    "WebhookTarget",
    "event_matches",
    "event_payload",
    "idempotency_key",
    "sign",
    "verify_signature",
]
