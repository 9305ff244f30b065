"""Instants at the boundary: aware datetimes in, UTC datetimes inside."""

from __future__ import annotations

from datetime import UTC, datetime

from itil_incident.errors import ValidationError

__all__ = ["utc_instant"]


def utc_instant(value: object, field: str) -> datetime:
    """Return ``value`` as a standard-library ``datetime`` in UTC.

    Naive datetimes and non-datetimes raise :class:`ValidationError`: the library never guesses a
    time zone. pendulum ``DateTime`` values (a ``datetime`` subclass) are accepted.
    """
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    if not isinstance(value, datetime):
        raise ValidationError(f"{field} must be a datetime, got {value!r}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{field} must be timezone-aware (got naive {value.isoformat()}); "
            "attach a time zone, e.g. datetime(..., tzinfo=UTC)",
            field=field,
        )
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"{field} ({value.isoformat()}) is out of the supported range",
                              field=field) from None
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=UTC
    )
