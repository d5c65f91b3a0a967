"""Tell operators when a run fails or data go stale: a webhook (JSON POST) and/or an email.

Configured by environment variables (a channel is on when its variables are set):

- `CIVIC_NOTIFY_WEBHOOK_URL`: POST `{"text": ..., "kind": ..., "subject": ..., ...}` as JSON
  (the `text` field suits Slack, Mattermost and Teams incoming webhooks).
- `CIVIC_SMTP_HOST`, `CIVIC_SMTP_PORT` (default 587), `CIVIC_SMTP_USER`, `CIVIC_SMTP_PASSWORD`,
  `CIVIC_NOTIFY_EMAIL_FROM`, `CIVIC_NOTIFY_EMAIL_TO` (comma-separated), `CIVIC_SMTP_STARTTLS`
  (`true`/`false`; default true on port 587), port 465 uses implicit TLS.
- `CIVIC_DAGSTER_URL`: the Dagster UI's address, to link a run from the message.

The SMTP password and the webhook URL (which often embeds a token) are secrets: they never
appear in a log line, a message or an exception; delivery errors name the host only.
A delivery failure is logged and reported, never raised: a notifier must not fail the run or
the sensor that calls it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx

from pipelines import redaction
from pipelines.config_base import check_email, check_http_url
from pipelines.settings import SettingsError, settings

log = logging.getLogger("civic.notifications")

REDACTED = "***"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Notice:
    """What happened, where, and what to do next: one message for every channel."""

    kind: str  # "run_failure" or "stale_data"
    subject: str
    what: str
    where: Sequence[str] = ()
    next_steps: Sequence[str] = ()
    details: Mapping[str, str] = field(default_factory=dict)

    def text(self) -> str:
        lines = [self.subject, "", self.what]
        if self.where:
            lines += ["", "Where:", *(f"- {item}" for item in self.where)]
        if self.next_steps:
            lines += ["", "What to do next:", *(f"- {step}" for step in self.next_steps)]
        return "\n".join(lines)

    def payload(self) -> dict:
        return {
            "text": self.text(),
            "kind": self.kind,
            "subject": self.subject,
            "what": self.what,
            "where": list(self.where),
            "next_steps": list(self.next_steps),
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False


@dataclass(frozen=True)
class Delivery:
    sent: tuple[str, ...] = ()  # "webhook <host>", "email <host>"
    errors: tuple[str, ...] = ()  # redacted

    @property
    def ok(self) -> bool:
        return not self.errors


def _is_http_url(value: str) -> bool:
    try:
        check_http_url(value)
    except ValueError:  # its message would quote the URL, which may hold a token
        return False
    return True


def _is_email(value: str) -> bool:
    try:
        check_email(value)
    except ValueError:
        return False
    return True


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Notifier:
    webhook_url: str | None = field(default=None, repr=False)
    smtp: SmtpSettings | None = None
    timeout_seconds: float = 10.0
    problems: tuple[str, ...] = ()  # configuration left incomplete (reported, not raised)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        """The channels the `CIVIC_*` variables configure (read by `pipelines.settings`)."""
        try:
            config = settings(env)
        except SettingsError as error:  # another variable is bad: report, never raise
            return cls(problems=(f"{error}; notifications off",))
        webhook = (config.notify_webhook_url or "").strip() or None
        problems: list[str] = []
        if webhook and not _is_http_url(webhook):
            problems.append("CIVIC_NOTIFY_WEBHOOK_URL must be an http(s) URL; webhook off")
            webhook = None
        smtp = None
        host = (config.smtp_host or "").strip()
        if host:
            port_text = (config.smtp_port or "").strip() or "587"
            sender = (config.notify_email_from or "").strip()
            to = tuple(a.strip() for a in (config.notify_email_to or "").split(",") if a.strip())
            bad = [address for address in (sender, *to) if address and not _is_email(address)]
            if not port_text.isdigit():
                problems.append(f"CIVIC_SMTP_PORT must be a number, got {port_text!r}; email off")
            elif not sender or not to:
                problems.append(
                    "email needs CIVIC_NOTIFY_EMAIL_FROM and CIVIC_NOTIFY_EMAIL_TO; email off"
                )
            elif bad:
                problems.append(
                    f"CIVIC_NOTIFY_EMAIL_FROM / _TO: not an email address: {bad[0]!r}; email off"
                )
            else:
                port = int(port_text)
                starttls = config.smtp_starttls or ""
                smtp = SmtpSettings(
                    host=host,
                    port=port,
                    sender=sender,
                    recipients=to,
                    user=(config.smtp_user or "").strip() or None,
                    password=config.smtp_password or None,
                    starttls=_truthy(starttls) if starttls.strip() else port == 587,
                )
        # Every log record and message of this process hides them from now on.
        redaction.register(webhook, smtp.password if smtp else None)
        if webhook:
            parts = urllib.parse.urlsplit(webhook)
            redaction.register(parts.path.strip("/"), parts.query)
        return cls(webhook_url=webhook, smtp=smtp, problems=tuple(problems))

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url or self.smtp)

    # -- redaction ---------------------------------------------------------------------------
    def redact(self, text: object) -> str:
        result = str(text)
        secrets = [self.webhook_url, self.smtp.password if self.smtp else None]
        if self.webhook_url:
            parts = urllib.parse.urlsplit(self.webhook_url)
            secrets += [parts.path, parts.query]
        for secret in sorted((s for s in secrets if s and len(s) > 1), key=len, reverse=True):
            result = result.replace(secret, REDACTED)
        return result

    def webhook_host(self) -> str:
        return urllib.parse.urlsplit(self.webhook_url or "").netloc or "?"

    # -- delivery ----------------------------------------------------------------------------
    def send(self, notice: Notice) -> Delivery:
        """Send `notice` on every configured channel; failures are logged and returned."""
        sent: list[str] = []
        errors: list[str] = [*self.problems]
        if not self.configured:
            log.info("civic notifications: no channel configured; not sent: %s", notice.subject)
            return Delivery(errors=tuple(errors))
        if self.webhook_url:
            where = f"webhook {self.webhook_host()}"
            try:
                self._post(notice)
                sent.append(where)
            except Exception as error:  # a notifier never raises
                errors.append(self.redact(f"{where}: {type(error).__name__}: {error}"))
        if self.smtp:
            where = f"email {self.smtp.host}:{self.smtp.port}"
            try:
                self._mail(notice)
                sent.append(where)
            except Exception as error:
                errors.append(self.redact(f"{where}: {type(error).__name__}: {error}"))
        for error in errors:
            log.warning("civic notifications: not delivered: %s", error)
        if sent:
            log.info("civic notifications: %r sent to %s", notice.subject, ", ".join(sent))
        return Delivery(tuple(sent), tuple(errors))

    def _post(self, notice: Notice) -> None:
        try:
            response = httpx.post(
                self.webhook_url or "",
                json=notice.payload(),
                headers={"User-Agent": "civic-indicators"},
                timeout=self.timeout_seconds,
            )
        except httpx.HTTPError as error:
            # httpx's messages may carry the URL (a secret): keep the kind of failure only.
            raise RuntimeError(
                f"cannot reach the webhook host ({type(error).__name__}: {self.redact(error)})"
            ) from None
        if response.is_error:
            raise RuntimeError(f"HTTP {response.status_code} {response.reason_phrase}")

    def _mail(self, notice: Notice) -> None:
        smtp = self.smtp
        assert smtp is not None
        message = EmailMessage()
        message["Subject"] = notice.subject
        message["From"] = smtp.sender
        message["To"] = ", ".join(smtp.recipients)
        message.set_content(notice.text())
        context = ssl.create_default_context()
        if smtp.port == 465:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=self.timeout_seconds, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout_seconds)
        with client:
            client.ehlo()
            if smtp.starttls:
                client.starttls(context=context)
                client.ehlo()
            if smtp.user and smtp.password:
                if not smtp.starttls and smtp.port != 465 and smtp.host not in LOCAL_HOSTS:
                    log.warning(
                        "civic notifications: logging in to %s without TLS; set "
                        "CIVIC_SMTP_STARTTLS=true",
                        smtp.host,
                    )
                try:
                    client.login(smtp.user, smtp.password)
                except smtplib.SMTPException as error:
                    raise RuntimeError(
                        f"SMTP login as {smtp.user} refused ({type(error).__name__}); "
                        "check CIVIC_SMTP_USER and CIVIC_SMTP_PASSWORD"
                    ) from None
            client.send_message(message)


def notify(notice: Notice, notifier: Notifier | None = None) -> Delivery:
    """Send `notice` with the notifier configured by the environment (or the one given)."""
    return (notifier or Notifier.from_env()).send(notice)
