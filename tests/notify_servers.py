"""Local servers that receive operator notifications in the tests, on 127.0.0.1.

`WebhookServer` is pytest-httpserver recording JSON POSTs; `SmtpServer` is aiosmtpd's
controller with an authenticator that accepts one password (AUTH PLAIN/LOGIN without TLS, as a
local relay would), recording logins and delivered mails.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


class WebhookServer:
    """Records JSON POSTs (`posts`, `paths`); answers `status` (200 by default)."""

    def __init__(self, status: int = 200) -> None:
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = status
        self._http = HTTPServer(host="127.0.0.1", port=0)
        self._http.expect_request(re.compile(".*"), method="POST").respond_with_handler(
            self._record
        )

    def _record(self, request: Request) -> Response:
        self.paths.append(request.path)
        self.posts.append(request.get_json(force=True))
        return Response("ok", status=self.status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    def __enter__(self) -> WebhookServer:
        self._http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.clear()
        self._http.stop()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    """An SMTP server accepting AUTH with `password`; `logins` and `mails` record the session."""

    password: str | None = None
    mails: list[Mail] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        with socket.socket() as probe:  # aiosmtpd needs a port up front
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((user, password))
        return AuthResult(success=password == self.password)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 (aiosmtpd's hook)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK queued"

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
