"""One redaction layer for the whole process: no secret in a log record, message or exception.

Secrets are registered once, where they are read (`secret_from_env`, the notifier settings),
and every environment variable that may hold one is registered when the layer is installed.
`install()` puts the layer under every log record of every logger (Dagster's run and event
loggers included): the record's message and its formatted traceback are redacted when the
record is made, before any handler, file or event storage sees it. Exceptions that leave a
connector are redacted in place, with their whole cause chain (`redact_exception`), because
Dagster stores the chain of a failed step in its run database.

A secret is also recognised in the forms a portal echoes it in an error body: URL-encoded and
JSON-escaped. Credentials in URL query parameters (`?token=...`) are replaced whatever they are.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import urllib.parse
from typing import TextIO

REDACTED = "***"
MIN_SECRET_LENGTH = 8  # shorter values (e.g. "true") would redact ordinary words
# Query parameters that carry credentials when a portal insists on them in the URL.
SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:\$\$app_token|token|api_?key|apikey|key|password|secret|access_token)=)[^&#\s]*"
)
# The environment variables a catalog's `token_env` may name: portal tokens and keys only.
# Never the notifier's settings (SMTP password, webhook URL) or other passwords and secrets.
TOKEN_ENV = re.compile(r"^[A-Z][A-Z0-9_]*_(?:APP_TOKEN|API_TOKEN|API_KEY|TOKEN)$")
NOT_A_TOKEN_ENV = re.compile(r"^CIVIC_(?:SMTP|NOTIFY)_|PASSWORD|SECRET|WEBHOOK|PRIVATE")
# Variables whose values are redacted wherever they appear, from the first import on.
SECRET_ENV = re.compile(r"(?:TOKEN|API_KEY|PASSWORD|SECRET|WEBHOOK_URL)$")

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def check_token_env(name: str) -> str:
    """`name` if it may hold a portal token, else ValueError saying which names are allowed."""
    if not TOKEN_ENV.match(name) or NOT_A_TOKEN_ENV.search(name):
        raise ValueError(
            f"token_env {name!r} is not a portal token variable: name one that ends in _TOKEN, "
            "_APP_TOKEN, _API_TOKEN or _API_KEY (e.g. SOCRATA_APP_TOKEN); notifier settings "
            "(CIVIC_SMTP_*, CIVIC_NOTIFY_*) and passwords, secrets or webhook URLs are never sent "
            "to a portal"
        )
    return name


def register(*values: str | None) -> None:
    """Redact these values (and their URL-encoded and JSON-escaped forms) from now on."""
    with _lock:
        for value in values:
            if not value or len(value) < MIN_SECRET_LENGTH:
                continue
            _secrets.add(value)
            _secrets.add(urllib.parse.quote(value, safe=""))
            _secrets.add(urllib.parse.quote_plus(value))
            _secrets.add(json.dumps(value)[1:-1])
            _secrets.add(json.dumps(value)[1:-1].replace("/", "\\/"))  # JSON's optional escape


def register_environment(environ: dict[str, str] | None = None) -> None:
    environ = os.environ if environ is None else environ
    register(*(value for name, value in environ.items() if SECRET_ENV.search(name.upper())))


def redact(text: object) -> str:
    """`text` with every registered secret and credential query parameter replaced by ***."""
    result = SECRET_PARAMS.sub(rf"\1{REDACTED}", str(text))
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in result:
            result = result.replace(secret, REDACTED)
    return result


def redact_exception(error: BaseException) -> BaseException:
    """Redact `error` and every exception in its cause/context chain, in place; returns it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        clean = redact(text)
        if clean != text or any(isinstance(a, str) and redact(a) != a for a in current.args):
            current.args = (clean,)
        current = current.__cause__ or current.__context__
    return error


def _redacting_factory(base):  # noqa: ANN001, ANN202 (logging's factory signature)
    def make(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        record = base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's business, not ours
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            redact_exception(record.exc_info[1])
        return record

    make.civic_redacting = True
    return make


def install() -> None:
    """Redact every log record made in this process from now on (idempotent)."""
    global _installed
    if _installed:
        return
    register_environment()
    base = logging.getLogRecordFactory()
    if not getattr(base, "civic_redacting", False):
        logging.setLogRecordFactory(_redacting_factory(base))
    _installed = True


class RedactingStream:
    """A text stream that redacts what is written to it (the command line's stdout/stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str):  # noqa: ANN204 (flush, fileno, isatty, encoding...)
        return getattr(self._stream, name)


def redact_standard_streams() -> None:
    """Wrap sys.stdout and sys.stderr (for the command line, whose output people paste)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))
