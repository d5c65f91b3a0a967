"""Local servers that receive operator notifications in the tests: a webhook and an SMTP server.

Both run on 127.0.0.1 in a background thread and record what they receive. The SMTP server
speaks just enough SMTP for `smtplib`: EHLO/HELO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET,
NOOP, QUIT (no TLS).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socketserver
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookServer:
    """Records JSON POSTs; answers `status` (200 by default)."""

    def __init__(self, status: int = 200) -> None:
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = status
        server = self

        class Handle(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.paths.append(self.path)
                server.posts.append(json.loads(body))
                self.send_response(server.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    """A minimal SMTP server; `password` is the one it accepts for AUTH."""

    password: str | None = None
    mails: list[Mail] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handle(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 localhost test SMTP")
                sender, recipients = "", []
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode().rstrip("\r\n")
                    verb, _, rest = line.partition(" ")
                    verb = verb.upper()
                    server.commands.append(verb)
                    if verb == "EHLO":
                        self.reply("250-localhost")
                        self.reply("250 AUTH PLAIN LOGIN")
                    elif verb == "HELO" or verb in {"NOOP", "RSET"}:
                        self.reply("250 OK")
                    elif verb == "AUTH":
                        self.auth(rest)
                    elif verb == "MAIL":
                        sender, recipients = rest.split(":", 1)[1].strip(" <>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(rest.split(":", 1)[1].strip(" <>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b""):
                            lines.append(data[1:] if data.startswith(b"..") else data)
                        message = email.message_from_bytes(
                            b"".join(lines), policy=email.policy.default
                        )
                        server.mails.append(Mail(sender, recipients, message))
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

            def auth(self, rest: str) -> None:
                method, _, initial = rest.partition(" ")
                if method.upper() == "PLAIN":
                    if not initial:
                        self.reply("334 ")
                        initial = self.rfile.readline().decode().strip()
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                else:  # LOGIN
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.rfile.readline().strip()).decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    password = base64.b64decode(self.rfile.readline().strip()).decode()
                server.logins.append((user, password))
                if password == server.password:
                    self.reply("235 Authentication successful")
                else:
                    self.reply("535 Authentication credentials invalid")

        self._tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handle)
        self._tcp.daemon_threads = True
        self._thread = threading.Thread(target=self._tcp.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._tcp.server_address[1]

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tcp.shutdown()
        self._tcp.server_close()
