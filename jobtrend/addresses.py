"""Which network addresses jobtrend refuses to reach: private, loopback, link-local and unspecified ones.

A career page, a sitemap, a redirect or a DNS answer comes from whoever runs the site, and a webhook URL from a
configuration file: without a check, any of them can aim the crawler or the deliverer at this machine
(127.0.0.1, ::1), the local network (10/8, 172.16/12, 192.168/16, fc00::/7) or a cloud metadata service
(169.254.169.254, fe80::/10). One check serves the configuration (a URL naming such a host literally is refused
when the files load) and the requests (a host name that resolves to such an address is refused before a connection
is made): :func:`is_private_ip`, :func:`is_private_host`, :func:`url_refusal`, :func:`public_addresses` and
:func:`checked_connection`.
``crawl.allow_private_addresses`` and ``notify.allow_private_addresses`` switch the check off for crawl targets and
webhooks respectively.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8",  # "this network": 0.0.0.0 reaches the local machine on Linux
    "10.0.0.0/8",
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local: cloud metadata services (169.254.169.254)
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::/128",  # unspecified
    "::1/128",  # loopback
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
))
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")  # and *.localhost (RFC 6761)
WEB_SCHEMES = ("http", "https")

PRIVATE_ADDRESS = "private_address"  # the reason a request or URL is refused for its address


class PrivateAddressError(OSError):
    """A connection that would reach a private, loopback or link-local address: not attempted."""


def is_private_ip(address: IPAddress) -> bool:
    """Whether ``address`` is in one of :data:`PRIVATE_NETWORKS` (an IPv4 address mapped into IPv6, such as
    ``::ffff:127.0.0.1``, counts as the IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in PRIVATE_NETWORKS if network.version == address.version)


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` writes literally, or None for a host name. Accepts what resolvers accept as an
    IPv4 address too (``127.1``, ``0x7f.0.0.1``, ``2130706433``: ``inet_aton``'s forms), brackets around an
    IPv6 address and a zone (``fe80::1%eth0``)."""
    host = host.strip().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_private_host(host: str) -> bool:
    """Whether ``host``, as written, names a private address: such an address literally, or ``localhost``."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    address = ip_literal(name)
    return address is not None and is_private_ip(address)


def url_refusal(url: str, allow_private: bool = False) -> str | None:
    """Why ``url`` may not be fetched or posted to, as written (None: it may): ``"scheme"`` (not http or https:
    ``file:``, ``gopher:``, ...), ``"host"`` (none, or unreadable), or :data:`PRIVATE_ADDRESS` (a private,
    loopback or link-local host, unless ``allow_private``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - a port that is no number raises ValueError
    except ValueError:
        return "host"
    if parts.scheme.lower() not in WEB_SCHEMES:
        return "scheme"
    if not host:
        return "host"
    if not allow_private and is_private_host(host):
        return PRIVATE_ADDRESS
    return None


def public_addresses(host: str, port: int | None) -> list[tuple]:
    """``socket.getaddrinfo(host, port)`` for a TCP connection; :class:`PrivateAddressError` when any address it
    gives is private (a mix of public and private answers is refused whole: the private one could be tried)."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        if is_private_ip(ipaddress.ip_address(sockaddr[0].split("%", 1)[0])):
            raise PrivateAddressError(f"{host} resolves to a private address")
    return infos


def checked_connection(address: tuple[str, int], timeout: object = socket._GLOBAL_DEFAULT_TIMEOUT,
                       source_address: tuple[str, int] | None = None, *, allow_private: bool = False) -> socket.socket:
    """``socket.create_connection`` that resolves the host once and refuses (:class:`PrivateAddressError`, no
    connection attempted) when any of its addresses is private, unless ``allow_private``: the addresses that were
    checked are the ones connected to, so a second DNS answer cannot swap in another one."""
    host, port = address
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM) if allow_private else public_addresses(host, port)
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"getaddrinfo returned nothing for {host}")
