"""Where a webhook may go: URL checks, the address policy, and connections pinned to the
addresses that were checked.

A URL is accepted when its scheme is http or https, it carries no credentials, it is plain
ASCII with no white space, control character or backslash, and its host is on the target's
allow-list. Its host is then resolved and *every* address must pass the policy (public, or
private/loopback/link-local when allowed); the connection goes to one of those very addresses
(never to a second resolution of the name, which DNS rebinding could change), while the Host
header and the TLS certificate check still use the name.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from urllib.parse import urljoin, urlsplit

import attrs

__all__ = [
    "IPNetwork",
    "Refused",
    "Resolver",
    "Url",
    "host_allowed",
    "literal_address",
    "normalize_host",
    "parse_url",
    "permits",
    "post",
    "redirect_url",
    "resolve",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Resolves a host name and port to the addresses (as text) a connection may use.
Resolver = Callable[[str, int], Sequence[str]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: How much of a response body is read (and dropped) before the connection is closed.
_MAX_RESPONSE = 64 * 1024


class Refused(Exception):  # noqa: N818 - internal signal, turned into library errors by callers
    """The URL or one of its addresses is not allowed."""


@attrs.frozen
class Url:
    """A checked URL: ``target`` is the request target (path and query)."""

    text: str
    scheme: str
    host: str
    port: int
    target: str


def normalize_host(host: str) -> str:
    """Lower case, no trailing dot, no IPv6 brackets."""
    return host.strip().strip("[]").rstrip(".").lower()


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether ``host`` is in ``allowed`` (exact names, or ``*.example.org`` for subdomains)."""
    for entry in allowed:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif host == entry:
            return True
    return False


def parse_url(text: object, allowed_hosts: Sequence[str]) -> Url:
    """``text`` checked (see the module doc); Refused otherwise."""
    if not isinstance(text, str) or not text.isascii():
        raise Refused(f"URL must be an ASCII string (percent-encode the rest): {text!r}")
    if any(ord(char) <= 32 or ord(char) == 127 or char == "\\" for char in text):
        raise Refused(f"URL contains white space, a control character or a backslash: {text!r}")
    parts = urlsplit(text)
    if parts.scheme not in _DEFAULT_PORTS:
        raise Refused(f"URL scheme must be http or https: {text!r}")
    if "@" in parts.netloc:
        raise Refused(f"URL must not carry credentials: {text!r}")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise Refused(f"URL has a bad port: {text!r}") from exc
    if not parts.hostname:
        raise Refused(f"URL has no host: {text!r}")
    host = normalize_host(parts.hostname)
    if not host_allowed(host, allowed_hosts):
        raise Refused(f"host {host!r} is not on the allow-list")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Url(text, parts.scheme, host, port, target)


def redirect_url(current: Url, location: str, allowed_hosts: Sequence[str]) -> Url:
    """Where a redirect from ``current`` to ``location`` goes, checked; no https to http."""
    if any(ord(char) < 32 or ord(char) == 127 for char in location):
        raise Refused(f"redirect Location contains a control character: {location!r}")
    following = parse_url(urljoin(current.text, location.strip()), allowed_hosts)
    if current.scheme == "https" and following.scheme != "https":
        raise Refused(f"redirect from https to {following.scheme} refused: {following.text}")
    return following


def permits(address: str, allow_private: bool, networks: Sequence[IPNetwork]) -> bool:
    """Whether a connection to ``address`` is allowed.

    Public (globally routable) addresses are; multicast and unspecified ones never are;
    addresses in ``networks`` are; private, loopback and link-local ones only when
    ``allow_private``. IPv4-mapped IPv6 addresses are judged as the IPv4 address they map.
    """
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    if any(ip in network for network in networks if network.version == ip.version):
        return True
    if ip.is_global:
        return True
    return allow_private and (ip.is_private or ip.is_loopback or ip.is_link_local)


def literal_address(host: str) -> str | None:
    """``host`` when it is an IP address literal."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def resolve(host: str, port: int) -> Sequence[str]:
    """The default resolver: every address ``getaddrinfo`` gives for a TCP connection."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _PinnedConnection(http.client.HTTPConnection):
    """Talks to ``address`` while naming ``host`` (Host header)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTlsConnection(_PinnedConnection):
    """TLS to ``address``, the certificate checked against ``host``."""

    default_port = 443

    def __init__(self, host: str, port: int, *, address: str, timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(host, port, address=address, timeout=timeout)
        self._context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


def post(url: Url, addresses: Sequence[str], headers: dict[str, str], body: bytes,
         timeout: float, context: ssl.SSLContext) -> tuple[int, str | None]:
    """POST ``body`` to ``url`` at the first of ``addresses`` that accepts a connection.

    Returns the status and the Location header. Raises OSError or HTTPException when the
    exchange fails. Only connecting moves on to the next address: once a request is sent, it
    is not sent again to another address.
    """
    failure: OSError = OSError(f"no address to connect to for {url.host}")
    for address in addresses:
        connection = (
            _PinnedTlsConnection(url.host, url.port, address=address, timeout=timeout,
                                 context=context)
            if url.scheme == "https"
            else _PinnedConnection(url.host, url.port, address=address, timeout=timeout)
        )
        try:
            try:
                connection.connect()
            except OSError as exc:
                failure = exc
                continue
            connection.request("POST", url.target, body=body, headers=headers)
            response = connection.getresponse()
            response.read(_MAX_RESPONSE)
            return response.status, response.getheader("Location")
        finally:
            connection.close()
    raise failure
