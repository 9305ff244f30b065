"""Alert values: the alert itself, the reasons an alert is refused, and what became of one."""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import attrs

from itil_incident.domain._text import NOT_TEXT
from itil_incident.domain._time import utc_instant
from itil_incident.domain.alert_events import AlertSeverity
from itil_incident.errors import ValidationError

__all__ = [
    "Alert",
    "AlertInput",
    "AlertOutcome",
    "AlertOutcomeKind",
    "AlertRefusal",
    "AlertRejectedError",
]

#: The deepest nesting of a payload (objects and arrays) that is accepted.
MAX_PAYLOAD_DEPTH: Final = 32
_MAX_KEY = 200
_MAX_SUMMARY = 300


class AlertRefusal(enum.StrEnum):
    """Why an alert was refused."""

    MISSING_KEY = "missing_key"
    MISSING_SOURCE = "missing_source"
    MISSING_SUMMARY = "missing_summary"
    UNKNOWN_SEVERITY = "unknown_severity"
    INVALID_FIELD = "invalid_field"
    INVALID_PAYLOAD = "invalid_payload"
    OVERSIZED_PAYLOAD = "oversized_payload"
    INVALID_TIME = "invalid_time"


class AlertRejectedError(ValidationError):
    """An alert was refused: ``reason`` (an :class:`AlertRefusal`) says why, ``field`` names
    the offending argument. The service desk counts every refusal by reason before raising."""

    def __init__(self, message: str, *, reason: AlertRefusal, field: str | None) -> None:
        super().__init__(message, field=field)
        self.reason = reason


class AlertOutcomeKind(enum.StrEnum):
    """What the service desk did with an alert."""

    #: a new incident was opened for the alert's key
    OPENED = "opened"
    #: the alert was folded into the key's open incident (counted; recorded on the incident
    #: only when its severity is the highest so far)
    FOLDED = "folded"
    #: a recovery alert resolved the key's open incident
    RESOLVED = "resolved"
    #: a recovery alert was recorded on the key's open incident, which stays open (policy)
    RECOVERED = "recovered"
    #: a recovery alert for a key without an open incident: counted, nothing to change
    CLEARED = "cleared"
    #: the key is flapping: the alert was held, and changed no incident
    HELD = "held"
    #: the alert was refused: :meth:`~itil_incident.ServiceDesk.ingest_alert` raises
    #: :class:`AlertRejectedError`, :meth:`~itil_incident.ServiceDesk.ingest_alerts` reports
    #: it with this kind
    REFUSED = "refused"


@attrs.frozen
class AlertOutcome:
    """What became of one alert: ``kind``, the key, the incident it went to (None when held,
    or cleared without an open incident) and, for some kinds, a ``reason``.

    A refused alert (reported by :meth:`~itil_incident.ServiceDesk.ingest_alerts`) has the
    error's message as ``reason``, its :class:`AlertRefusal` as ``refusal``, no incident, and
    the key as it was given ("" when it was not a plain ``str``)."""

    kind: AlertOutcomeKind
    dedup_key: str
    incident_id: str | None
    reason: str | None = None
    refusal: AlertRefusal | None = None


class AlertInput(NamedTuple):
    """One alert as a monitoring tool sent it, not checked yet: the arguments of
    :meth:`~itil_incident.ServiceDesk.ingest_alert`, for
    :meth:`~itil_incident.ServiceDesk.ingest_alerts`.

    A named tuple (not a checked value such as :class:`Alert`): the desk checks every field
    itself, counting a refusal by reason, and unpacks a batch of them at C speed.

    >>> AlertInput("nagios", "web-1/disk", "critical", "Disk full on web-1").payload is None
    True
    """

    source: str
    dedup_key: str
    severity: AlertSeverity | str
    summary: str
    service: str | None = None
    configuration_item: str | None = None
    payload: object = None
    at: datetime | None = None


@attrs.frozen(kw_only=True)
class Alert:
    """A monitoring alert, checked: build one with :meth:`Alert.of`.

    ``payload`` is held as canonical JSON text (``payload_json``: keys sorted, no spaces) and
    read back with :attr:`payload`.

    >>> from datetime import datetime, UTC
    >>> alert = Alert.of(source="nagios", dedup_key="web-1/disk", severity="critical",
    ...                  summary="Disk full on web-1", payload={"used": 99.5},
    ...                  at=datetime(2026, 1, 5, 9, tzinfo=UTC))
    >>> alert.severity, alert.payload_json, alert.payload_bytes
    (<AlertSeverity.CRITICAL: 'critical'>, '{"used":99.5}', 13)
    """

    source: str
    dedup_key: str
    severity: AlertSeverity
    summary: str
    service: str | None
    configuration_item: str | None
    payload_json: str | None
    at: datetime

    @property
    def payload(self) -> dict[str, Any] | None:
        """The payload, decoded afresh from :attr:`payload_json` (None: no payload)."""
        if self.payload_json is None:
            return None
        decoded: dict[str, Any] = json.loads(self.payload_json)
        return decoded

    @property
    def payload_bytes(self) -> int:
        """The size of the payload's JSON in UTF-8 bytes (0: no payload)."""
        return 0 if self.payload_json is None else len(self.payload_json.encode())

    @classmethod
    def of(
        cls, *, source: object, dedup_key: object, severity: object, summary: object,
        service: object = None, configuration_item: object = None, payload: object = None,
        at: object, max_payload_bytes: int = 16_384,
    ) -> Alert:
        """Check every field strictly and build the alert; :class:`AlertRejectedError` (with its
        reason) for the first field that is not acceptable."""
        level = severity_of(severity)
        checked_at = alert_time(at)
        text = payload_text(payload, max_payload_bytes)
        return cls(source=source_of(source), dedup_key=key_of(dedup_key), severity=level,
                   summary=summary_of(summary), service=optional_name(service, "service"),
                   configuration_item=optional_name(configuration_item, "configuration_item"),
                   payload_json=text, at=checked_at)


# ----------------------------------------------------------------- field checks
# Each returns the checked value or raises AlertRejectedError. They are also the desk's hot path:
# the common case (a printable ASCII string, a known severity, an aware UTC datetime) is
# decided with a few C-level checks.


def _name(value: object, field: str, missing: AlertRefusal, limit: int) -> str:
    if type(value) is not str:
        if value is None:
            raise AlertRejectedError(f"the alert has no {field}", reason=missing, field=field)
        if not isinstance(value, str):
            raise AlertRejectedError(f"{field} must be a string, got {type(value).__name__}",
                                reason=AlertRefusal.INVALID_FIELD, field=field)
    if value.isascii() and value.isprintable() and 0 < len(value) <= limit and (
            value[0] != " " and value[-1] != " "):
        return value
    if not value.strip():
        raise AlertRejectedError(f"the alert has no {field} (blank)", reason=missing, field=field)
    if len(value) > limit:
        raise AlertRejectedError(f"{field} is longer than {limit} characters",
                            reason=AlertRefusal.INVALID_FIELD, field=field)
    if not value.isprintable() or NOT_TEXT.search(value):
        raise AlertRejectedError(f"{field} must be a single line of text",
                            reason=AlertRefusal.INVALID_FIELD, field=field)
    return str(value)


def key_of(value: object) -> str:
    """A deduplication key: a non-blank single line of at most 200 characters."""
    return _name(value, "dedup_key", AlertRefusal.MISSING_KEY, _MAX_KEY)


def source_of(value: object) -> str:
    """The alert's source (the monitoring system)."""
    return _name(value, "source", AlertRefusal.MISSING_SOURCE, _MAX_KEY)


def summary_of(value: object) -> str:
    """A one-line summary; it becomes the title of an incident the alert opens."""
    return _name(value, "summary", AlertRefusal.MISSING_SUMMARY, _MAX_SUMMARY)


def optional_name(value: object, field: str) -> str | None:
    """None, or a non-blank single line (a service or configuration item name)."""
    if value is None:
        return None
    return _name(value, field, AlertRefusal.INVALID_FIELD, _MAX_KEY)


def severity_of(value: object) -> AlertSeverity:
    """An :class:`AlertSeverity` or its name, in any case."""
    try:
        return AlertSeverity.parse(value)
    except ValueError:
        known = ", ".join(member.value for member in AlertSeverity)
        raise AlertRejectedError(f"unknown alert severity {value!r} (known: {known})",
                            reason=AlertRefusal.UNKNOWN_SEVERITY, field="severity") from None


def alert_time(value: object) -> datetime:
    """An aware datetime, as a UTC instant."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    try:
        return utc_instant(value, "at")
    except ValidationError as error:
        raise AlertRejectedError(str(error), reason=AlertRefusal.INVALID_TIME, field="at") from None


def payload_text(value: object, limit: int) -> str | None:
    """The payload as canonical JSON text, checked (None: no payload)."""
    if value is None:
        return None
    return _ENCODER.encode(payload_size(value, limit))


def payload_size(value: object, limit: int) -> dict[str, Any]:
    """Check that ``value`` is a JSON object (str keys; strings, finite numbers, booleans,
    null, arrays and objects inside, at most 32 deep) whose canonical JSON holds at most
    ``limit`` UTF-8 bytes; returns it as a dict. Serializes only when a cheap upper bound
    exceeds ``limit``.

    The common payload, a flat object of ASCII strings and plain numbers, is accepted in one
    pass with the same bound (6 bytes a character, 24 a float); anything else, and every
    refusal, goes through the full walk (:func:`_flat_bound`), so the verdict and the
    message are the same either way."""
    if type(value) is dict:
        chars = 0  # characters of keys and strings: at most 6 bytes each (\u0001)
        # the braces; per member the key's quotes, a colon, a comma and a string's quotes
        extra = 2 + 6 * len(value)
        floats = 0.0  # finite exactly when every float is (inf and nan propagate)
        for key, item in value.items():
            if type(key) is not str or not key.isascii():  # ASCII: no surrogate
                break
            kind = type(item)
            if kind is str:
                if not item.isascii():
                    break
                chars += len(key) + len(item)
            elif kind is float:
                chars += len(key)
                floats += item
                extra += 22  # 24 bytes (as _bound), less the quotes counted above
            elif kind is int and -_BIG_INT < item < _BIG_INT:
                chars += len(key)
                extra += 20  # at most 21 characters
            elif item is None or kind is bool:
                chars += len(key)
                extra += 3  # 5 bytes (as _bound)
            else:
                break
        else:
            if floats - floats == 0.0 and 6 * chars + extra <= limit:
                return value
    payload: dict[Any, Any]
    if isinstance(value, dict):
        payload = value
    elif isinstance(value, Mapping):
        payload = dict(value)
    else:
        raise AlertRejectedError(f"payload must be a JSON object (a mapping), got "
                                 f"{type(value).__name__}", reason=AlertRefusal.INVALID_PAYLOAD,
                                 field="payload")
    if _flat_bound(payload) <= limit:
        return payload
    size = len(_ENCODER.encode(payload).encode())
    if size > limit:
        raise AlertRejectedError(f"payload is {size} bytes of JSON; the limit is {limit}",
                                 reason=AlertRefusal.OVERSIZED_PAYLOAD, field="payload")
    return payload


#: Integers below this (in magnitude) print in at most 21 characters, sign included.
_BIG_INT: Final = 10**20
#: Lone surrogates cannot be encoded as UTF-8: no JSON text holds them.
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True,
                                   separators=(",", ":"))


def _invalid(message: str) -> AlertRejectedError:
    return AlertRejectedError(f"payload is not JSON: {message}",
                              reason=AlertRefusal.INVALID_PAYLOAD, field="payload")


def _string_bound(text: str) -> int:
    """At most 6 bytes a character (``\\u0001``), and the quotes."""
    if not text.isascii() and _SURROGATE.search(text):
        raise _invalid("a string holds a surrogate code point, which is not text")
    return 6 * len(text) + 2


def _flat_bound(payload: dict[Any, Any]) -> int:
    """:func:`_bound` of a payload, unrolled one level: most payloads are flat."""
    total = 2 + 2 * len(payload)  # braces; a colon and a comma per member
    for key, value in payload.items():
        if type(key) is not str:
            raise _invalid(f"object keys must be strings, got {key!r}")
        if not key.isascii() and _SURROGATE.search(key):
            raise _invalid("a key holds a surrogate code point, which is not text")
        total += 6 * len(key) + 2
        kind = type(value)
        if kind is str:
            if not value.isascii() and _SURROGATE.search(value):
                raise _invalid("a string holds a surrogate code point, which is not text")
            total += 6 * len(value) + 2
        elif kind is float:
            if not math.isfinite(value):
                raise _invalid(f"{value!r} is not a JSON number")
            total += 24
        elif kind is bool or value is None:
            total += 5
        else:
            total += _bound(value, 1)
    return total


def _bound(value: Any, depth: int) -> int:
    """An upper bound of the UTF-8 size of ``value``'s compact JSON; AlertRejectedError when
    ``value`` is not JSON."""
    kind = type(value)
    if kind is str:
        return _string_bound(value)
    if kind is int:
        return int(value.bit_length()) // 3 + 2  # log10(2) < 1/3; one more for the sign
    if kind is float:
        if not math.isfinite(value):
            raise _invalid(f"{value!r} is not a JSON number")
        return 24
    if value is None or kind is bool:
        return 5
    if depth >= MAX_PAYLOAD_DEPTH:
        raise _invalid(f"nested deeper than {MAX_PAYLOAD_DEPTH} levels")
    if isinstance(value, dict):
        total = 2 + 2 * len(value)
        for key, item in value.items():
            if type(key) is not str:
                raise _invalid(f"object keys must be strings, got {key!r}")
            total += _string_bound(key) + _bound(item, depth + 1)
        return total
    if kind is list or kind is tuple:
        total = 2 + len(value)
        for item in value:
            total += _bound(item, depth + 1)
        return total
    raise _invalid(f"a {kind.__name__} has no JSON form")
