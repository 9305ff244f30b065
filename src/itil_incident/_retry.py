"""How often the desk tries a command again after a concurrent change (:class:`RetryPolicy`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Final

import attrs

from itil_incident.errors import ValidationError

__all__ = ["MAX_ATTEMPTS", "NO_RETRY", "RetryPolicy"]

#: The most attempts a retry policy may allow: retrying is for a brief race, not a queue.
MAX_ATTEMPTS: Final = 10


def _attempts(_instance: object, _attribute: object, value: object) -> None:
    if type(value) is not int or not 1 <= value <= MAX_ATTEMPTS:
        raise ValidationError(f"attempts must be an integer from 1 to {MAX_ATTEMPTS}, "
                              f"got {value!r}", field="attempts")


def _seconds(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or not 0 <= value <= 60):
        raise ValidationError(f"{attribute.name} must be seconds from 0 to 60, got {value!r}",
                              field=attribute.name)


def _sleep(_instance: object, _attribute: object, value: object) -> None:
    if not callable(value):
        raise ValidationError(f"sleep must be callable, got {value!r}", field="sleep")


@attrs.frozen
class RetryPolicy:
    """Up to ``attempts`` tries in all of a command that is safe to retry (see
    :attr:`ServiceDesk.RETRYABLE_COMMANDS <itil_incident.ServiceDesk.RETRYABLE_COMMANDS>`),
    when its commit meets a :class:`~itil_incident.ConcurrencyError`.

    Before try ``n + 1`` the desk waits ``backoff * 2 ** (n - 1)`` seconds, at most
    ``max_backoff``, through ``sleep`` (``time.sleep``; give your own to test or to run
    under an event loop's thread). ``RetryPolicy(attempts=1)`` never retries.

    >>> from itil_incident import RetryPolicy
    >>> RetryPolicy(attempts=3, backoff=0.01).delay(2)
    0.02
    """

    attempts: int = attrs.field(default=3, validator=_attempts)
    backoff: float = attrs.field(default=0.02, validator=_seconds)
    max_backoff: float = attrs.field(default=1.0, validator=_seconds)
    sleep: Callable[[float], object] = attrs.field(default=time.sleep, eq=False,
                                                   validator=_sleep, repr=False)

    def delay(self, failed: int) -> float:
        """Seconds to wait after the ``failed``-th failed try (1 for the first)."""
        return min(self.max_backoff, self.backoff * 2.0 ** (max(1, failed) - 1))

    def pause(self, failed: int) -> None:
        """Wait :meth:`delay` seconds (nothing when it is 0)."""
        seconds = self.delay(failed)
        if seconds > 0:
            self.sleep(seconds)


#: No retry: a ConcurrencyError reaches the caller at once.
NO_RETRY: Final = RetryPolicy(attempts=1, backoff=0.0)
