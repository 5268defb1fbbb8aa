"""Which webhook addresses may be registered.

Events go only over HTTPS, so nobody on the way can read or change them. Plain HTTP is
allowed to this machine only (``localhost``, ``127.0.0.1``, ``::1``), and only when the
app runs in development or tests, or ``WEBHOOK_ALLOW_HTTP_LOOPBACK`` is on. The host must
lead to the public internet (``hosts``), looked up as the address is saved: never to this
machine (but in that same case), a private network or a cloud metadata service.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .hosts import NotFound, Refused, public_addresses

LOOPBACK_NAMES = {"localhost"}
MAX_LENGTH = 500


class AddressProblem(ValueError):
    """Why an address cannot be used, in words an administrator reads."""


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(raw: str, *, allow_http_loopback: bool) -> str:
    """``raw`` as an address events can be posted to, or raise ``AddressProblem``."""
    url = (raw or "").strip()
    if not url:
        raise AddressProblem(
            "Enter the address to send events to, like https://example.org/hooks."
        )
    if len(url) > MAX_LENGTH:
        raise AddressProblem(f"Use at most {MAX_LENGTH} characters for the address.")
    if any(ch.isspace() for ch in url):
        raise AddressProblem("The address cannot contain spaces.")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise AddressProblem("That is not a web address. Copy it again from the system.") from None
    if parts.scheme not in ("https", "http") or not host:
        raise AddressProblem("Enter a full web address starting with https://.")
    if parts.username or parts.password:
        raise AddressProblem(
            "Leave the user name and password out of the address: events are signed instead."
        )
    if parts.fragment:
        raise AddressProblem("Leave out the part after # in the address.")
    if parts.scheme == "http" and not (allow_http_loopback and _loopback(host)):
        raise AddressProblem(
            "The address must start with https://, so that nobody on the way can read or "
            "change the events."
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        public_addresses(host, port, allow_loopback=allow_http_loopback)
    except Refused as why:
        raise AddressProblem(str(why)) from None
    except NotFound:
        raise AddressProblem(
            f"No machine called {host} could be found: check the address (or try again "
            "shortly if its name was only just set up)."
        ) from None
    return url
