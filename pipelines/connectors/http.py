"""The HTTP client every network connector shares: httpx for the exchange, tenacity for retries.

One `HttpClient` per connector run:

- 429, 408, 5xx, timeouts, connection resets and truncated bodies are retried with exponential
  backoff and jitter; a `Retry-After` header (seconds or an HTTP date) is honoured.
- Each request is bounded by `RetryPolicy.max_attempts` and `RetryPolicy.total_seconds`: all
  attempts and waits together, enforced by a deadline that cuts off a trickling body too.
- Bodies are streamed and limited (`Limits`: bytes received, bytes decompressed, ratio).
- Credentials are sent only to the host they belong to (the first host asked, or
  `secret_origin`), never after a redirect leaves it, and are redacted everywhere
  (`pipelines.redaction`).
- Failures raise `ConnectorError` naming what was being read, the (redacted) URL and what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import tenacity

from pipelines import redaction
from pipelines.connectors.answers import (
    Response,
    advice,
    html_error,
    is_html,
    parse_json,
    parse_retry_after,
    snippet,
)
from pipelines.connectors.base import ConnectorError
from pipelines.connectors.limits import BodyReader, Deadline, Limits, TruncatedBody

log = logging.getLogger("civic.connectors")
redaction.install()  # every process that can hold a portal token redacts its logs

USER_AGENT = "civic-indicators/0.1 (+https://github.com/civic-indicators/civic-indicators)"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 524})
MAX_REDIRECTS = 10
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK_BYTES = 1 << 16


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request. The defaults suit live portals; tests shrink them."""

    max_attempts: int = 6
    backoff_seconds: float = 1.0  # first wait; doubles each attempt, with jitter
    max_wait_seconds: float = 60.0  # longest backoff wait (Retry-After is obeyed as sent)
    total_seconds: float = 300.0  # all attempts and waits of one request together
    timeout_seconds: float = 60.0  # one attempt's connect/read timeout


class HttpStatusError(ConnectorError):
    """The portal answered with an HTTP error status that retrying will not fix (e.g. 404)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RetryableResponse(Exception):
    """Raised by a response check to have the client retry (e.g. ArcGIS errors in a 200 body)."""


class _Transient(Exception):
    """One attempt failed in a way another attempt may not: `problem` says how."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


@dataclass
class HttpClient:
    """GETs with retries. `secret_headers` are sent and redacted; `headers` are just sent."""

    headers: Mapping[str, str] = field(default_factory=dict)
    secret_headers: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # further values to redact (e.g. a token inside a header)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    limits: Limits = field(default_factory=Limits)
    user_agent: str = USER_AGENT
    sleep: Callable[[float], None] = time.sleep
    # The URL whose host and port the credentials belong to (default: the first URL asked).
    secret_origin: str | None = None

    def __post_init__(self) -> None:
        redaction.register(*self.secret_headers.values(), *self.secrets)
        self._origin = _origin(self.secret_origin) if self.secret_origin else None
        # No connection reuse: each attempt's sockets are its own, so its deadline can cut them.
        # The request hook runs for every redirect hop too.
        self._client = httpx.Client(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            limits=httpx.Limits(max_keepalive_connections=0),
            event_hooks={"request": [self._credentials_stay_home]},
        )

    def redact(self, text: object) -> str:
        """`text` with every credential replaced by `***`."""
        return redaction.redact(text)

    # -- requests ----------------------------------------------------------------------------
    def get(
        self,
        url: str,
        params: Mapping[str, object] | None = None,
        *,
        what: str,
        check: Callable[[Response], None] | None = None,
    ) -> Response:
        """GET `url` with `params` into memory, retrying transient failures; `what` names it."""
        full_url = with_params(url, params)

        def attempt(deadline: Deadline) -> Response:
            body = bytearray()
            response = self._exchange(full_url, deadline, what, {}, True, body.extend)
            return Response(response.status, response.headers, bytes(body), full_url)

        return self._with_retries(full_url, what, attempt, check)

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
            parsed.append(parse_json(response, what))
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
        An HTML page is refused whatever its Content-Type says.
        """
        full_url = with_params(url, params)

        def attempt(deadline: Deadline) -> Response:
            with destination.open("wb") as out:
                response = self._exchange(full_url, deadline, what, headers or {}, False, out.write)
            return Response(response.status, response.headers, b"", full_url)

        response = self._with_retries(full_url, what, attempt, None)
        with destination.open("rb") as handle:
            head = handle.read(2000)
        if "text/html" in response.headers.get("Content-Type", "").lower() or is_html(head):
            raise html_error(
                Response(response.status, response.headers, head, self.redact(full_url)), what
            )
        return response

    # -- one attempt -------------------------------------------------------------------------
    def _credentials_stay_home(self, request: httpx.Request) -> None:
        """Credentials go only to their own host and port: dropped on any other hop."""
        if self._origin is None:
            self._origin = _origin(str(request.url))
        if _origin(str(request.url)) != self._origin:
            for name in self.secret_headers:
                request.headers.pop(name, None)

    def _exchange(
        self,
        url: str,
        deadline: Deadline,
        what: str,
        extra: Mapping[str, str],
        in_memory: bool,
        write: Callable[[bytes], object],
    ) -> Response:
        """Send the request (following redirects), then stream the body through `write`."""
        headers = {
            "User-Agent": self.user_agent,
            "Accept-Encoding": "gzip" if in_memory else "identity",
            **{k: v for k, v in {**self.headers, **self.secret_headers}.items() if v},
            **extra,
        }
        request = self._client.build_request(
            "GET",
            url,
            headers=headers,
            timeout=max(0.1, min(self.policy.timeout_seconds, deadline.remaining)),
            extensions={"trace": deadline.trace},
        )
        try:
            response = self._client.send(request, stream=True)
        except (httpx.UnsupportedProtocol, httpx.TooManyRedirects) as error:
            raise ConnectorError(self.redact(f"{what}: cannot fetch {url}: {error}")) from None
        except (httpx.TransportError, OSError) as error:
            raise _Transient(_describe_transport_error(error, deadline)) from None
        with contextlib.closing(response):
            if not 200 <= response.status_code < 300:
                self._raise_status(response, what, url)
            reader = BodyReader(
                response.headers.get("Content-Encoding", ""), self.limits, in_memory, what
            )
            try:
                for piece in reader.feed(response.iter_raw(CHUNK_BYTES)):
                    write(piece)
            except (httpx.TransportError, OSError) as error:
                raise _Transient(_describe_transport_error(error, deadline)) from None
            except TruncatedBody as error:
                raise _Transient(f"truncated body ({error})") from None
            expected = response.headers.get("Content-Length", "")
            if expected.isdigit() and reader.received < int(expected):
                missing = int(expected) - reader.received
                raise _Transient(f"truncated body ({missing} more bytes were expected)")
            return Response(response.status_code, response.headers, b"", url)

    def _raise_status(self, response: httpx.Response, what: str, url: str) -> None:
        code = response.status_code
        body = b""
        try:
            for chunk in response.iter_bytes(2000):
                body = chunk[:2000]
                break
        except (httpx.HTTPError, OSError):  # the body of an error is only used for the message
            pass
        problem = f"HTTP {code} {response.reason_phrase}"
        if code in RETRY_STATUSES:
            raise _Transient(problem, parse_retry_after(response.headers.get("Retry-After")))
        raise HttpStatusError(
            self.redact(f"{what}: {problem} from {url}{snippet(body)}; {advice(code)}"), code
        )

    # -- retries -----------------------------------------------------------------------------
    def _with_retries(
        self,
        url: str,
        what: str,
        attempt: Callable[[Deadline], Response],
        check: Callable[[Response], None] | None,
    ) -> Response:
        policy = self.policy
        started = time.monotonic()
        ends = started + policy.total_seconds
        shown = self.redact(url)
        stopped: dict[str, float] = {}

        def once() -> Response:
            deadline = Deadline(ends)
            try:
                response = attempt(deadline)
            finally:
                deadline.cancel()
            if check is not None:
                try:
                    check(response)
                except RetryableResponse as error:
                    raise _Transient(str(error)) from None
            return response

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception()
            # Retry-After is honoured as given (not capped): retrying sooner only earns
            # another 429. The total-time bound still applies (see `stop`).
            if isinstance(error, _Transient) and error.retry_after is not None:
                return error.retry_after
            base = policy.backoff_seconds * 2 ** (state.attempt_number - 1)
            return min(policy.max_wait_seconds, base * random.uniform(0.5, 1.0))

        def stop(state: tenacity.RetryCallState) -> bool:
            stopped["wait"] = state.upcoming_sleep
            late = time.monotonic() + state.upcoming_sleep > ends
            return state.attempt_number >= policy.max_attempts or late

        def warn(state: tenacity.RetryCallState) -> None:
            log.warning(
                self.redact(
                    f"{what}: {state.outcome.exception()} from {shown}; attempt "
                    f"{state.attempt_number}/{policy.max_attempts}, retrying in "
                    f"{state.upcoming_sleep:.2f}s"
                )
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Transient),
            wait=wait,
            stop=stop,
            sleep=self.sleep,
            before_sleep=warn,
        )
        try:
            return retrying(once)
        except tenacity.RetryError as error:
            number = error.last_attempt.attempt_number
            problem = error.last_attempt.exception()
            elapsed = time.monotonic() - started
            if number >= policy.max_attempts:
                message = (
                    f"{what}: gave up on {shown} after {number} attempts in {elapsed:.1f}s "
                    f"(last: {problem}); the portal may be down or throttling: retry later, "
                    "or raise the retry policy's max_attempts/total_seconds"
                )
            else:
                message = (
                    f"{what}: gave up on {shown} after {number} attempts in {elapsed:.1f}s "
                    f"(last: {problem}; next wait of {stopped['wait']:.1f}s would pass the "
                    f"{policy.total_seconds:g}s bound); retry later"
                )
            raise ConnectorError(self.redact(message)) from None


def _origin(url: str) -> tuple[str, int | None]:
    parsed = httpx.URL(url)
    return parsed.host, parsed.port or DEFAULT_PORTS.get(parsed.scheme)


def with_params(url: str, params: Mapping[str, object] | None) -> str:
    if not params:
        return url
    query = urllib.parse.urlencode({k: str(v) for k, v in params.items() if v is not None})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def secret_from_env(variable: str | None) -> str | None:
    """The credential in environment variable `variable` (None when unset or empty).

    Only portal-token variables may be named (`pipelines.redaction.TOKEN_ENV`).
    """
    if not variable:
        return None
    try:
        redaction.check_token_env(variable)
    except ValueError as error:
        raise ConnectorError(str(error)) from None
    value = os.environ.get(variable) or None
    redaction.register(value)
    return value


def _describe_transport_error(error: BaseException, deadline: Deadline) -> str:
    if deadline.expired:
        return "the request's total time bound passed (the portal answered too slowly)"
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"truncated body ({error})"
    if isinstance(error, httpx.ConnectError):
        return f"connection failed ({error})"
    return f"{type(error).__name__}: {error}"
