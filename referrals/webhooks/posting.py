"""One POST to a system's address: to a machine checked just before, within a deadline.

The host is looked up as the event is sent and every address it leads to checked again
(``hosts``): a name can lead elsewhere than when it was saved (DNS rebinding), and the
post then goes to the address checked, not to whatever a second lookup says. ``timeout``
bounds each wait for the network and ``deadline`` the whole post: when it passes the
connection is shut, so the thread posting ends then too, however the system trickles its
answer. Only the status is read, never the body (a large or slow one cannot hold the
sender, or fill its memory). A failure is told in general words ("could not connect",
"timed out"), never the network's own, which would tell an open port from a closed one.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from urllib.parse import quote, urlsplit

import requests.certs

from ..notifications.backends import DeliveryError
from .hosts import Address, NotFound, Refused, public_addresses


class _Connection(http.client.HTTPConnection):
    """HTTP, or HTTPS with ``tls``, to ``address``, speaking to ``host`` there (the Host
    header, and the name its certificate must carry)."""

    def __init__(
        self, host: str, port: int, address: Address, timeout: float, tls: ssl.SSLContext | None
    ):
        super().__init__(host, port, timeout=timeout)
        self.address, self.tls, self.abandoned = address, tls, False
        self.stage = "could not connect"
        if tls is not None:
            self.default_port = 443  # no ":443" in the Host header

    def connect(self) -> None:
        family = socket.AF_INET6 if self.address.version == 6 else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect((str(self.address), self.port))
        if self.tls is not None:
            self.stage = "TLS handshake failed"
            self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.host)
        self.stage = "no HTTP answer"
        if self.abandoned:
            raise ConnectionAbortedError

    def abandon(self) -> None:
        """From another thread: end the post now, wherever it has got to."""
        self.abandoned = True
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _tls() -> ssl.SSLContext:
    # The certificate authorities requests trusted when it made these posts.
    return ssl.create_default_context(cafile=requests.certs.where())


def _reason(exc: BaseException, connection: _Connection | None) -> str:
    if isinstance(exc, NotFound):
        return "no machine has that name"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "its certificate is not valid for that name"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if connection is None:
        return "could not connect"
    return connection.stage


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    deadline: float,
    timeout: float,
    allow_loopback: bool,
) -> int:
    """POST ``body`` to ``url`` and return the answer's status, or raise
    ``DeliveryError`` (permanent when the host leads somewhere events may not go)."""
    parts = urlsplit(url)
    host, https = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = quote(parts.path or "/", safe="!$%&'()*+,/:;=@~") + (
        f"?{parts.query}" if parts.query else ""
    )
    outcome: dict[str, object] = {}
    held: list[_Connection] = []
    lock = threading.Lock()

    def run() -> None:
        connection = None
        try:
            addresses = public_addresses(host, port, allow_loopback=allow_loopback)
            tls = _tls() if https else None
            for n, address in enumerate(addresses):  # as a browser would, in the order given
                connection = _Connection(host, port, address, timeout, tls)
                with lock:
                    if outcome.get("abandoned"):
                        return
                    held[:] = [connection]
                try:
                    connection.connect()
                    break
                except OSError:
                    connection.close()
                    if n == len(addresses) - 1 or connection.abandoned:
                        raise
            connection.request("POST", target, body=body, headers=headers)
            outcome["status"] = connection.getresponse().status
        except Refused as why:
            outcome["error"] = DeliveryError(f"Not sent: {why}", permanent=True)
        except Exception as exc:  # whatever the network did, told in general words
            outcome["error"] = DeliveryError(f"Could not reach {url}: {_reason(exc, connection)}.")
        finally:
            if connection is not None:
                connection.close()

    worker = threading.Thread(target=run, name="webhook-post", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        with lock:
            outcome["abandoned"] = True
            for connection in held:
                connection.abandon()
        worker.join(1.0)  # the shut socket wakes it at once; a lookup may take longer
        raise DeliveryError(f"{url} did not answer within {deadline:g} seconds.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["status"]
