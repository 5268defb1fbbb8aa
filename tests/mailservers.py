"""Real servers on loopback for the notification tests: an SMTP server (aiosmtpd, with
or without STARTTLS) that keeps what it receives, and an HTTP server standing in for
the GOV.UK Notify API."""

from __future__ import annotations

import email
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mailbox:
    """What the SMTP server accepted, and addresses it refuses (550)."""

    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        self.arrived.set()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    @property
    def ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started on the same port.
    ``smtputf8=False``: a server that takes only addresses in ASCII, as many do."""

    def __init__(self, mailbox: Mailbox, port: int | None = None, tls_context=None, smtputf8=True):
        self.mailbox = mailbox
        self.port = port or free_port()
        self.tls_context = tls_context
        self.smtputf8 = smtputf8
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        options = {"enable_SMTPUTF8": self.smtputf8}
        if self.tls_context is not None:
            options |= {"tls_context": self.tls_context, "require_starttls": True}
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class NotifyCall:
    path: str
    authorization: str
    body: dict


class NotifyStandIn:
    """Answers ``POST /v2/notifications/email`` like GOV.UK Notify; ``answers`` is a list
    of status codes to give, in turn (201 once it runs out)."""

    def __init__(self):
        self.calls: list[NotifyCall] = []
        self.answers: list[int] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                stand_in.calls.append(
                    NotifyCall(self.path, self.headers.get("Authorization", ""), body)
                )
                status = stand_in.answers.pop(0) if stand_in.answers else 201
                if status == 201:
                    answer = {
                        "id": f"notify-{len(stand_in.calls)}",
                        "reference": body.get("reference"),
                    }
                else:
                    answer = {
                        "status_code": status,
                        "errors": [
                            {"error": "BadRequestError", "message": "Not a valid email address"}
                        ],
                    }
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> NotifyStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
