"""The HTTP client every network connector shares: retries, backoff, time bounds, redaction.

Standard library only (`urllib.request`). One `HttpClient` per connector run:

- 429, 408, 5xx, timeouts, connection resets and truncated bodies are retried with exponential
  backoff and jitter; a `Retry-After` header (seconds or an HTTP date) is honoured.
- Each request is bounded by `RetryPolicy.max_attempts` and `RetryPolicy.total_seconds`
  (all attempts and waits together), so a dead portal fails in bounded time.
- Credentials are sent as headers and replaced by `***` in every log line, exception message
  and URL the client produces; they are not forwarded when a redirect leaves the host.
- Failures raise `ConnectorError` naming what was being read, the (redacted) URL and what to do.
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import logging
import os
import random
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.connectors.base import ConnectorError

log = logging.getLogger("civic.connectors")

USER_AGENT = "civic-indicators/0.1 (+https://github.com/civic-indicators/civic-indicators)"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 524})
REDACTED = "***"
# Query parameters that carry credentials when a portal insists on them in the URL.
SECRET_PARAMS = re.compile(
    r"(?i)([?&](?:\$\$app_token|token|api_?key|apikey|key|password|secret|access_token)=)[^&#\s]*"
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request. The defaults suit live portals; tests shrink them."""

    max_attempts: int = 6
    backoff_seconds: float = 1.0  # first wait; doubles each attempt, with jitter
    max_wait_seconds: float = 60.0  # longest backoff wait (Retry-After is obeyed as sent)
    total_seconds: float = 300.0  # all attempts and waits of one request together
    timeout_seconds: float = 60.0  # one attempt's socket timeout


class HttpStatusError(ConnectorError):
    """The portal answered with an HTTP error status that retrying will not fix (e.g. 404)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RetryableResponse(Exception):
    """Raised by a response check to have the client retry (e.g. ArcGIS errors in a 200 body)."""


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


@dataclass
class HttpClient:
    """GETs with retries. `secret_headers` are sent and redacted; `headers` are just sent."""

    headers: Mapping[str, str] = field(default_factory=dict)
    secret_headers: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # further values to redact (e.g. a token inside a header)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = USER_AGENT
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        values = [*self.secret_headers.values(), *self.secrets]
        self._secrets = sorted((v for v in values if v), key=len, reverse=True)
        self._opener = urllib.request.build_opener(
            _SameHostCredentialsRedirect(set(self.secret_headers))
        )

    # -- redaction ---------------------------------------------------------------------------
    def redact(self, text: object) -> str:
        """`text` with every credential replaced by `***`."""
        result = SECRET_PARAMS.sub(rf"\1{REDACTED}", str(text))
        for secret in self._secrets:
            result = result.replace(secret, REDACTED)
        return result

    # -- requests ----------------------------------------------------------------------------
    def get(
        self,
        url: str,
        params: Mapping[str, object] | None = None,
        *,
        what: str,
        check: Callable[[Response], None] | None = None,
    ) -> Response:
        """GET `url` with `params`, retrying transient failures; `what` names it in messages."""
        full_url = with_params(url, params)
        return self._with_retries(
            full_url, what, lambda timeout: self._fetch(full_url, timeout), check
        )

    def get_json(
        self,
        url: str,
        params: Mapping[str, object] | None = None,
        *,
        what: str,
        check: Callable[[Any], None] | None = None,
    ) -> Any:
        """GET and parse JSON. HTML pages, empty or invalid bodies raise `ConnectorError`."""
        parsed: list[Any] = []

        def parse(response: Response) -> None:
            parsed.clear()
            parsed.append(self._parse_json(response, what))
            if check is not None:
                check(parsed[0])

        self.get(url, params, what=what, check=parse)
        return parsed[0]

    def download(
        self,
        url: str,
        destination: Path,
        params: Mapping[str, object] | None = None,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Stream the body of `url` into `destination` (never held in memory).

        Returns the response (status, headers; empty body). Extra `headers` (e.g.
        `If-Modified-Since`) are sent with this request only; a 304 raises `HttpStatusError`.
        """
        full_url = with_params(url, params)

        def attempt(timeout: float) -> Response:
            request = self._request(full_url, compressed=False)
            for name, value in (headers or {}).items():
                request.add_header(name, value)
            with self._opener.open(request, timeout=timeout) as handle:
                with destination.open("wb") as out:
                    shutil.copyfileobj(handle, out, 1 << 20)
                    written = out.tell()
                received = dict(handle.headers.items())
                expected = received.get("Content-Length", "")
                if expected.isdigit() and written < int(expected):
                    raise http.client.IncompleteRead(b"", int(expected) - written)
                return Response(handle.status, received, b"", full_url)

        response = self._with_retries(full_url, what, attempt, None)
        if "text/html" in response.headers.get("Content-Type", "").lower():
            with destination.open("rb") as handle:
                head = handle.read(2000)
            raise self._html_error(
                Response(response.status, response.headers, head, self.redact(full_url)), what
            )
        return response

    # -- internals ---------------------------------------------------------------------------
    def _request(self, url: str, compressed: bool) -> urllib.request.Request:
        request = urllib.request.Request(url, method="GET")
        request.add_header("User-Agent", self.user_agent)
        request.add_header("Accept-Encoding", "gzip" if compressed else "identity")
        for name, value in {**self.headers, **self.secret_headers}.items():
            if value:
                request.add_header(name, value)
        return request

    def _open(self, url: str, timeout: float, compressed: bool = True) -> http.client.HTTPResponse:
        return self._opener.open(self._request(url, compressed), timeout=timeout)

    def _fetch(self, url: str, timeout: float) -> Response:
        with self._open(url, timeout) as handle:
            body = handle.read()  # raises IncompleteRead if shorter than Content-Length
            headers = dict(handle.headers.items())
        if headers.get("Content-Encoding", "").lower() == "gzip":
            try:
                body = gzip.decompress(body)
            except (EOFError, gzip.BadGzipFile, zlib.error) as error:
                raise http.client.IncompleteRead(body[:0], None) from error
        return Response(handle.status, headers, body, url)

    def _with_retries(
        self,
        url: str,
        what: str,
        attempt: Callable[[float], Response],
        check: Callable[[Response], None] | None,
    ) -> Response:
        policy = self.policy
        started = time.monotonic()
        deadline = started + policy.total_seconds
        shown = self.redact(url)
        for number in range(1, policy.max_attempts + 1):
            remaining = deadline - time.monotonic()
            retry_after: float | None = None
            try:
                response = attempt(max(0.1, min(policy.timeout_seconds, remaining)))
                if check is not None:
                    check(response)
                return response
            except urllib.error.HTTPError as error:
                body = _read_quietly(error)
                if error.code not in RETRY_STATUSES:
                    raise HttpStatusError(
                        self.redact(
                            f"{what}: HTTP {error.code} {error.reason} from {shown}"
                            f"{_snippet(body)}; {_advice(error.code)}"
                        ),
                        error.code,
                    ) from None
                problem = f"HTTP {error.code} {error.reason}"
                retry_after = parse_retry_after(error.headers.get("Retry-After"))
            except RetryableResponse as error:
                problem = str(error)
            except (
                TimeoutError,
                http.client.IncompleteRead,
                ConnectionError,
                http.client.HTTPException,
                urllib.error.URLError,
                OSError,
            ) as error:
                problem = _describe_transport_error(error)
            elapsed = time.monotonic() - started
            if number == policy.max_attempts:
                raise ConnectorError(
                    self.redact(
                        f"{what}: gave up on {shown} after {number} attempts in {elapsed:.1f}s "
                        f"(last: {problem}); the portal may be down or throttling: retry later, "
                        "or raise the retry policy's max_attempts/total_seconds"
                    )
                )
            # Retry-After is honoured as given (not capped): retrying sooner only earns
            # another 429. The total-time bound below still applies.
            wait = self._backoff(number) if retry_after is None else retry_after
            if time.monotonic() + wait > deadline:
                raise ConnectorError(
                    self.redact(
                        f"{what}: gave up on {shown} after {number} attempts in {elapsed:.1f}s "
                        f"(last: {problem}; next wait of {wait:.1f}s would pass the "
                        f"{policy.total_seconds:g}s bound); retry later"
                    )
                )
            log.warning(
                self.redact(
                    f"{what}: {problem} from {shown}; attempt {number}/{policy.max_attempts}, "
                    f"retrying in {wait:.2f}s"
                )
            )
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        base = self.policy.backoff_seconds * 2 ** (attempt - 1)
        return min(self.policy.max_wait_seconds, base * random.uniform(0.5, 1.0))

    def _parse_json(self, response: Response, what: str) -> Any:
        body = response.body
        content_type = response.headers.get("Content-Type", "")
        if "text/html" in content_type.lower() or body.lstrip()[:1] == b"<":
            raise self._html_error(response, what)
        if not body.strip():
            raise ConnectorError(
                self.redact(
                    f"{what}: empty response body from {response.url} (HTTP {response.status}); "
                    "the portal may be overloaded: retry later"
                )
            )
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConnectorError(
                self.redact(
                    f"{what}: response from {response.url} is not valid JSON ({error}; "
                    f"{len(body)} bytes, ends with {body[-60:]!r}); the body may have been cut "
                    "off in transit: retry, and if it persists check the URL in a browser"
                )
            ) from None

    def _html_error(self, response: Response, what: str) -> ConnectorError:
        text = response.body[:2000].decode("utf-8", "replace")
        title = re.search(r"(?is)<title>(.*?)</title>", text)
        summary = title.group(1).strip() if title else " ".join(text.split())[:120]
        return ConnectorError(
            self.redact(
                f"{what}: got an HTML page instead of data from {response.url} "
                f"(HTTP {response.status}, page title {summary!r}); the portal may be in "
                "maintenance, or the URL/dataset id may be wrong: open it in a browser"
            )
        )


class _SameHostCredentialsRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but drop credential headers when the redirect leaves the host."""

    def __init__(self, secret_names: Iterable[str]) -> None:
        self.secret_names = {name.capitalize() for name in secret_names}

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if (
            new is not None
            and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc
        ):
            for name in self.secret_names:
                new.headers.pop(name, None)
        return new


def with_params(url: str, params: Mapping[str, object] | None) -> str:
    if not params:
        return url
    query = urllib.parse.urlencode({k: str(v) for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def secret_from_env(variable: str | None) -> str | None:
    """The credential in environment variable `variable` (None when unset or empty)."""
    if not variable:
        return None
    return os.environ.get(variable) or None


def _read_quietly(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read(2000) or b""
    except Exception:  # the body of an error response is only used for the message
        return b""


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    if not text:
        return ""
    title = re.search(r"(?is)<title>(.*?)</title>", text)
    return f" ({(title.group(1) if title else text)[:200]})"


def _advice(status: int) -> str:
    if status in (401, 403):
        return "check the credentials (the token's environment variable) and dataset permissions"
    if status == 404:
        return "check the base URL and dataset id in the catalog (the dataset may have moved)"
    if status == 400:
        return "the portal rejected the query: check the filter/watermark column in the catalog"
    return "check the URL in a browser"


def _describe_transport_error(error: BaseException) -> str:
    if isinstance(error, http.client.IncompleteRead):
        if error.expected is None:
            return "truncated body (the compressed stream ended early)"
        return f"truncated body ({error.expected} more bytes were expected)"
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        reason = error.reason
        if isinstance(reason, TimeoutError):
            return "timed out"
        return f"connection failed ({reason})"
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {error}"
