"""Which machines events may be posted to: those on the public internet only.

An address may not lead to this machine (loopback, or the unspecified address), to a
private network (10/8, 172.16/12, 192.168/16, fc00::/7, shared 100.64/10, ...), to a
link-local address (169.254/16, where cloud servers hand out their own credentials), nor
to a reserved or multicast one. Otherwise whoever may register an address could make the
sender post to services nobody outside can reach, and learn from its failures which of
them are there. A host counts as every address it resolves to; an IP literal counts in
every spelling the system's resolver takes (``0x7f000001``, ``2130706433``, ``127.1``),
and an IPv4 address carried in an IPv6 one as that IPv4 address: mapped
(``::ffff:127.0.0.1``), 6to4 (``2002:7f00:1::``) or through the NAT64 prefix
(``64:ff9b::7f00:1``), which a network that routes them delivers to it. Loopback is
let through only where plain HTTP to this machine is (development, tests,
``WEBHOOK_ALLOW_HTTP_LOOPBACK``): the test receivers listen on ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix, RFC 6052


class Refused(ValueError):
    """The host leads where events may not go: the message says where, for an
    administrator."""


class NotFound(LookupError):
    """The host's name resolves to nothing (now)."""


def _plain(address: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour or address


def literal(host: str) -> Address | None:
    """``host`` as an IP address if it is one, however written, else ``None``."""
    try:
        return _plain(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:  # the resolver's own reading: hex, octal, one number, fewer than four parts
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def where(address: Address) -> str | None:
    """Where ``address`` leads if events may not go there, else ``None``."""
    address = _plain(address)
    if address.is_loopback or address.is_unspecified:
        return "this machine"
    if address.is_link_local:
        return "a link-local address (where cloud servers give out their credentials)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or not address.is_global:
        return "a private network"
    if address.is_reserved:
        return "a reserved address"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """The addresses ``host`` leads to now, in the resolver's order; raises ``NotFound``."""
    found = literal(host)
    if found is not None:
        return [found]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise NotFound(host) from None
    addresses: list[Address] = []
    for *_, sockaddr in answers:
        address = _plain(ipaddress.ip_address(sockaddr[0]))
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise NotFound(host)
    return addresses


def public_addresses(host: str, port: int, *, allow_loopback: bool) -> list[Address]:
    """The addresses ``host`` leads to, every one of them allowed, or raise ``Refused``
    (one is not: a name with a public and a private address is refused too) or
    ``NotFound``."""
    addresses = resolve(host, port)
    for address in addresses:
        if allow_loopback and address.is_loopback:
            continue
        place = where(address)
        if place is not None:
            if str(address) == host:
                shown = f"{host} is {place}"
            elif literal(host) is not None:
                shown = f"{host} is {address}, {place}"
            else:
                shown = f"{host} leads to {address}, {place}"
            raise Refused(f"{shown}: events go only to addresses on the public internet.")
    return addresses
