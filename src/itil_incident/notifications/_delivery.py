"""What every delivery shares: its idempotency key, and what a failure reports
(:class:`DeliveryError` with one :class:`DeliveryFailure` per message that did not go out)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from itil_incident.domain.events import DomainEvent
from itil_incident.errors import ItilIncidentError

__all__ = ["DeliveryError", "DeliveryFailure", "idempotency_key"]


@attrs.frozen
class DeliveryFailure:
    """One message that was not delivered.

    ``key`` is the message's idempotency key, ``destination`` the endpoint or recipients,
    ``status`` the HTTP status or SMTP reply code when there was one. ``permanent`` is True
    when sending the same message again cannot succeed (a 4xx answer, a refused recipient, a
    refused destination); ``refused`` is True when the library itself refused the destination
    (a host outside the allow-list, a private address, too many redirects).
    """

    key: str
    destination: str
    reason: str
    status: int | None = None
    permanent: bool = False
    refused: bool = False


class DeliveryError(ItilIncidentError):
    """Some notifications could not be delivered; ``failures`` says which and why.

    A notifier tries every message of a batch before raising, so the messages not listed were
    delivered. Sending the batch again is safe: each message keeps its idempotency key.
    """

    def __init__(self, message: str, failures: Iterable[DeliveryFailure]) -> None:
        super().__init__(message)
        self.failures = tuple(failures)

    @property
    def permanent(self) -> bool:
        """Whether no failure is worth retrying."""
        return all(failure.permanent for failure in self.failures)

    @classmethod
    def of(cls, failures: Iterable[DeliveryFailure]) -> DeliveryError:
        """One error summing up ``failures`` (at least one)."""
        listed = tuple(failures)
        first = listed[0]
        more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
        return cls(f"delivery of {first.key} to {first.destination} failed: "
                   f"{first.reason}{more}", listed)


def idempotency_key(event: DomainEvent, destination: str | None = None) -> str:
    """``"{aggregate_id}:{version}"``, or ``"{aggregate_id}:{version}:{destination}"``: the
    same for every delivery of the same notification, so receivers can drop repeats."""
    key = f"{event.aggregate_id}:{event.version}"
    return key if destination is None else f"{key}:{destination}"
