"""A real HTTP server on loopback that receives webhooks the way a system would: it
checks each signature with the system's secret, answers as told, and can be stopped and
started again on the same port."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from referrals.webhooks.signing import verify

from .mailservers import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    genuine: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = ""
    status: int = 200
    slow_body: bool = False  # answer with a huge body, a byte at a time
    slow_headers: bool = False  # answer with a header that never ends, a byte at a time
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/referrals"

    @property
    def delivered(self) -> list[Received]:
        """Posts it accepted (answered 2xx)."""
        return [r for r in self.received if r.headers.get("X-Answered", "200")[0] == "2"]

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers.items())
                genuine = verify(
                    owner.secret,
                    headers.get("Referrals-Timestamp", ""),
                    headers.get("Referrals-Signature", ""),
                    body,
                    time.time(),
                )
                headers["X-Answered"] = str(owner.status)
                owner.received.append(Received(self.path, headers, body, genuine))
                if owner.slow_headers:
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                        for _ in range(600):  # a minute at most
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(0.1)
                    except OSError:
                        pass
                    return
                self.send_response(owner.status)
                if not owner.slow_body:
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_header("Content-Length", str(10**9))
                self.end_headers()
                try:
                    for _ in range(600):  # a minute at most, unless the sender hangs up
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
