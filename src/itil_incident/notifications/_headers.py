"""Header safety: no line break, control character or encoded line break in any header.

Header injection hides a line break in a value so that what follows becomes a new header
(``Bcc:``) or the body. Raw CR and LF are the obvious form; the others are Unicode line
separators (U+0085, U+2028, U+2029, vertical tab, form feed), RFC 2047 encoded words that
decode to one (``=?utf-8?q?a=0Abcc:?=``, which :mod:`email` decodes when it parses a header),
and percent or HTML encodings that a downstream system may decode. A value is checked as
given and after every combination of those decodings (bounded depth); any such character in
any form refuses the value with :class:`~itil_incident.errors.ValidationError`.
"""

from __future__ import annotations

import email.errors
import html
import re
import unicodedata
from collections.abc import Callable
from email.header import decode_header
from email.headerregistry import Address
from urllib.parse import unquote

from itil_incident.errors import ValidationError

__all__ = ["check_header", "parse_mailbox"]

#: How many decodings deep a value is examined (``%250a`` needs two).
_DEPTH = 3
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")
_ADDR_SPEC = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_NAME_ADDR = re.compile(r"\s*(.*?)\s*<([^<>]*)>\s*")
_NAME_FORBIDDEN = frozenset('<>"\\')


def _breaking(char: str) -> bool:
    """Whether ``char`` may end a header line somewhere (control or line/paragraph separator).

    A tab is folding white space, harmless on its own, and is allowed.
    """
    return char != "\t" and unicodedata.category(char) in ("Cc", "Zl", "Zp")


def _decode_words(value: str) -> str:
    if "=?" not in value:
        return value
    try:
        parts = decode_header(value)
        return "".join(
            part.decode(charset or "ascii", errors="replace") if isinstance(part, bytes) else part
            for part, charset in parts
        )
    except (ValueError, LookupError, email.errors.HeaderParseError) as exc:
        # An encoded word we cannot decode cannot be shown safe.
        raise _UndecodableError from exc


class _UndecodableError(Exception):
    pass


_DECODERS: tuple[Callable[[str], str], ...] = (_decode_words, unquote, html.unescape)


def _variants(value: str) -> set[str]:
    seen = {value}
    frontier = [value]
    for _ in range(_DEPTH):
        following: list[str] = []
        for text in frontier:
            for decode in _DECODERS:
                decoded = decode(text)
                if decoded not in seen:
                    seen.add(decoded)
                    following.append(decoded)
        frontier = following
    return seen


def check_header(value: object, field: str) -> str:
    """``value`` if it is safe in a mail or HTTP header; ValidationError otherwise."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, got {type(value).__name__}",
                              field=field)
    if any(_breaking(char) for char in value):
        raise ValidationError(f"{field} contains a line break or control character: {value!r}",
                              field=field)
    if _ENCODED_WORD.search(value) is None and "%" not in value and "&" not in value:
        return value
    try:
        variants = _variants(value)
    except _UndecodableError:
        raise ValidationError(f"{field} contains an undecodable encoded word: {value!r}",
                              field=field) from None
    for variant in variants:
        if any(_breaking(char) for char in variant):
            raise ValidationError(
                f"{field} contains an encoded line break or control character: {value!r}",
                field=field)
    return value


def parse_mailbox(value: object, field: str) -> Address:
    """An e-mail address, ``user@example.org`` or ``Display Name <user@example.org>``.

    Refused (ValidationError): anything unsafe in a header, a display name with ``<>"\\``, an
    address that is not a plain ASCII ``local@domain``.
    """
    text = check_header(value, field)
    name, addr = "", text.strip()
    match = _NAME_ADDR.fullmatch(text)
    if match is not None:
        name, addr = match.group(1), match.group(2).strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1]
    if _NAME_FORBIDDEN.intersection(name):
        raise ValidationError(f"{field} has a display name with <, >, \" or \\: {text!r}",
                              field=field)
    if len(addr) > 254 or _ADDR_SPEC.fullmatch(addr) is None:
        raise ValidationError(f"{field} is not an e-mail address: {text!r}", field=field)
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError, email.errors.HeaderParseError) as exc:
        raise ValidationError(f"{field} is not an e-mail address: {text!r}",
                              field=field) from exc
