"""What a portal's answer means: JSON or an HTML page instead, Retry-After, advice by status.

Every message names what was read and the (redacted) URL, and says what to do next.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.connectors.base import ConnectorError
from pipelines.redaction import redact

HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str


def parse_json(response: Response, what: str) -> Any:
    body = response.body
    content_type = response.headers.get("Content-Type", "")
    if "text/html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise html_error(response, what)
    if not body.strip():
        raise ConnectorError(
            redact(
                f"{what}: empty response body from {response.url} (HTTP {response.status}); "
                "the portal may be overloaded: retry later"
            )
        )
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConnectorError(
            redact(
                f"{what}: response from {response.url} is not valid JSON ({error}; "
                f"{len(body)} bytes, ends with {body[-60:]!r}); the body may have been cut "
                "off in transit: retry, and if it persists check the URL in a browser"
            )
        ) from None


def html_error(response: Response, what: str) -> ConnectorError:
    text = response.body[:2000].decode("utf-8", "replace")
    title = re.search(r"(?is)<title>(.*?)</title>", text)
    summary = title.group(1).strip() if title else " ".join(text.split())[:120]
    return ConnectorError(
        redact(
            f"{what}: got an HTML page instead of data from {response.url} "
            f"(HTTP {response.status}, page title {summary!r}); the portal may be in "
            "maintenance, a login page, or the URL/dataset id may be wrong: open it in a "
            "browser"
        )
    )


def is_html(head: bytes) -> bool:
    """True when the first bytes of a body are an HTML page (whatever the Content-Type)."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(HTML_STARTS)


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


def snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    if not text:
        return ""
    title = re.search(r"(?is)<title>(.*?)</title>", text)
    return f" ({(title.group(1) if title else text)[:200]})"


def advice(status: int) -> str:
    if status in (401, 403):
        return "check the credentials (the token's environment variable) and dataset permissions"
    if status == 404:
        return "check the base URL and dataset id in the catalog (the dataset may have moved)"
    if status == 400:
        return "the portal rejected the query: check the filter/watermark column in the catalog"
    if status == 304:
        return "not modified"
    return "check the URL in a browser"
