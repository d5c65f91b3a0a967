"""The shared HTTP client and the web-file connector, against a local HTTP server."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from portal_server import SOURCES, PortalServer, Reply

from pipelines.connectors import ConnectorError, HttpClient, RetryPolicy, WebFileConnector
from pipelines.connectors.http import HttpStatusError, parse_retry_after

FAST = RetryPolicy(
    max_attempts=4, backoff_seconds=0.02, max_wait_seconds=3, total_seconds=5, timeout_seconds=2
)
SECRET = "sk-live-8d1e0c2b47aa"
PAGE = {"rows": [{"id": "1"}]}


@pytest.fixture
def portal():
    with PortalServer() as server:
        server.route("/data.json", lambda _: Reply.json(PAGE))
        yield server


def get(portal: PortalServer, policy: RetryPolicy = FAST, **headers):
    client = HttpClient(policy=policy, secret_headers=headers)
    return client.get_json(f"{portal.url}/data.json", {"page": 1}, what="test dataset page 1")


def test_429_waits_as_long_as_retry_after_says_then_succeeds(portal):
    portal.script(
        "/data.json", Reply.json({"error": "slow down"}, 429, headers={"Retry-After": "1"})
    )

    assert get(portal) == PAGE

    first, second = portal.seen("/data.json")
    assert 0.9 <= second.at - first.at < 2.0  # not the 0.02 s backoff


def test_retry_after_as_an_http_date_is_honoured(portal):
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    portal.script("/data.json", Reply.json({}, 429, headers={"Retry-After": when}))

    assert get(portal) == PAGE

    first, second = portal.seen("/data.json")
    assert 0.9 <= second.at - first.at < 3.0  # HTTP dates have one-second resolution
    assert parse_retry_after("120") == 120
    assert parse_retry_after("not a date") is None


def test_a_retry_after_beyond_the_time_bound_fails_at_once(portal):
    portal.route("/data.json", lambda _: Reply.json({}, 429, headers={"Retry-After": "3600"}))
    started = time.monotonic()

    with pytest.raises(ConnectorError, match="HTTP 429.*next wait of 3600.0s would pass"):
        get(portal)

    assert time.monotonic() - started < 1.0
    assert len(portal.seen("/data.json")) == 1


def test_500_then_success_is_retried(portal):
    portal.script(
        "/data.json", Reply.json({"error": "oops"}, 500), Reply.html("502 Bad Gateway", 502)
    )

    assert get(portal) == PAGE
    assert len(portal.seen("/data.json")) == 3


def test_persistent_500_gives_up_after_max_attempts(portal):
    portal.route("/data.json", lambda _: Reply.json({"error": "down"}, 500))
    started = time.monotonic()

    with pytest.raises(ConnectorError, match="test dataset page 1: gave up .* after 4 attempts"):
        get(portal)

    assert len(portal.seen("/data.json")) == 4
    assert time.monotonic() - started < FAST.total_seconds


def test_retries_stop_at_the_total_time_bound(portal):
    portal.route("/data.json", lambda _: Reply.json({"error": "down"}, 503))
    policy = RetryPolicy(
        max_attempts=100,
        backoff_seconds=0.1,
        max_wait_seconds=0.4,
        total_seconds=1.0,
        timeout_seconds=1,
    )
    started = time.monotonic()

    with pytest.raises(ConnectorError, match="would pass the 1s bound"):
        get(portal, policy)

    assert time.monotonic() - started < 1.2
    assert 2 <= len(portal.seen("/data.json")) < 100


def test_a_timeout_is_retried(portal):
    portal.script("/data.json", Reply.json(PAGE, delay=1.0))
    policy = RetryPolicy(max_attempts=3, backoff_seconds=0.01, total_seconds=5, timeout_seconds=0.3)

    assert get(portal, policy) == PAGE
    assert len(portal.seen("/data.json")) == 2


def test_a_truncated_body_is_retried_then_reported(portal):
    body = json.dumps({"rows": [{"id": str(i)} for i in range(500)]}).encode()
    cut = Reply(200, body, {"Content-Type": "application/json"}, cut_at=len(body) // 2)
    portal.script("/data.json", cut)
    assert get(portal) == PAGE  # retried once

    portal.route("/data.json", lambda _: cut)
    with pytest.raises(ConnectorError, match="gave up.*truncated body"):
        get(portal)


def test_a_cut_body_without_length_is_invalid_json(portal):
    body = json.dumps({"rows": [{"id": str(i)} for i in range(500)]}).encode()
    portal.route("/data.json", lambda _: Reply(200, body[:3000], length=False))

    with pytest.raises(
        ConnectorError, match="test dataset page 1: response from .* not valid JSON"
    ):
        get(portal)


def test_html_and_empty_bodies_are_clear_errors(portal):
    portal.route("/data.json", lambda _: Reply.html("Site Maintenance"))
    with pytest.raises(ConnectorError, match="HTML page instead of data.*'Site Maintenance'"):
        get(portal)

    portal.route("/data.json", lambda _: Reply(200, b"", {"Content-Type": "application/json"}))
    with pytest.raises(ConnectorError, match="empty response body"):
        get(portal)


def test_client_errors_are_not_retried(portal):
    portal.route("/data.json", lambda _: Reply.json({"message": "no such dataset"}, 404))

    with pytest.raises(HttpStatusError, match="HTTP 404.*no such dataset") as caught:
        get(portal)

    assert caught.value.status == 404
    assert len(portal.seen("/data.json")) == 1


def test_user_agent_and_secret_headers_are_sent_and_secrets_redacted(portal, caplog):
    caplog.set_level(logging.DEBUG, logger="civic.connectors")
    portal.script("/data.json", Reply.json({"error": f"bad key {SECRET}"}, 500))
    portal.route("/other.json", lambda _: Reply.json({"error": f"key {SECRET} expired"}, 401))

    assert get(portal, **{"X-Api-Key": SECRET}) == PAGE
    client = HttpClient(policy=FAST, secret_headers={"X-Api-Key": SECRET})
    with pytest.raises(ConnectorError) as caught:
        client.get_json(f"{portal.url}/other.json", {"token": "in-the-url"}, what="other")

    assert all(r.headers["x-api-key"] == SECRET for r in portal.requests)
    assert all(
        r.headers["user-agent"].startswith("civic-indicators/0.1 (+https://")
        for r in portal.requests
    )
    message = str(caught.value)
    assert "key *** expired" in message and "token=***" in message
    assert SECRET not in message and "in-the-url" not in message
    assert SECRET not in caplog.text


def test_credentials_are_not_forwarded_when_a_redirect_leaves_the_host(portal):
    other_host = portal.url.replace("127.0.0.1", "localhost")
    portal.route("/moved.json", lambda _: Reply(302, b"", {"Location": f"{other_host}/data.json"}))
    portal.route("/same.json", lambda _: Reply(302, b"", {"Location": "/data.json"}))
    client = HttpClient(policy=FAST, secret_headers={"X-App-Token": SECRET})

    assert client.get_json(f"{portal.url}/same.json", what="same host") == PAGE
    assert client.get_json(f"{portal.url}/moved.json", what="other host") == PAGE

    same, moved = portal.seen("/data.json")
    assert same.headers["x-app-token"] == SECRET
    assert "x-app-token" not in moved.headers


# -- web files ---------------------------------------------------------------------------------

APPROPRIATIONS = (SOURCES / "chicago" / "budget_appropriations_2019.csv.gz").read_bytes()
LAST_MODIFIED = "Mon, 25 Mar 2019 15:04:37 GMT"


def serve_file(request) -> Reply:
    if request.headers.get("if-modified-since") == LAST_MODIFIED:
        return Reply(304, b"")
    return Reply(
        200, APPROPRIATIONS, {"Content-Type": "application/gzip", "Last-Modified": LAST_MODIFIED}
    )


def test_a_csv_file_is_downloaded_and_read_in_batches_as_text(portal, tmp_path):
    portal.route("/budget/appropriations_2019.csv.gz", serve_file)
    url = f"{portal.url}/budget/appropriations_2019.csv.gz"
    connector = WebFileConnector(url, batch_rows=1000, retry=FAST, temp_dir=tmp_path)

    batches = list(connector.batches())

    assert sum(b.num_rows for b in batches) == 3507 and len(batches) >= 2
    assert batches[0].schema.names[:2] == ["FUND TYPE", "FUND CODE"]
    assert batches[0].to_pylist()[0]["FUND CODE"] == "0100"  # text, leading zero kept
    assert connector.watermark == LAST_MODIFIED
    assert list(tmp_path.iterdir()) == []  # the download is removed

    again = WebFileConnector(url, since=connector.watermark, retry=FAST)
    assert list(again.batches()) == []
    assert again.watermark == LAST_MODIFIED


def test_a_truncated_download_is_an_error(portal):
    portal.route("/cut.csv", lambda _: Reply(200, APPROPRIATIONS, cut_at=1000))

    with pytest.raises(ConnectorError, match="file cut.csv: gave up .*truncated body"):
        list(WebFileConnector(f"{portal.url}/cut.csv", "csv", retry=FAST).batches())


def test_excel_needs_its_reader_package_or_reads_the_sheet(portal):
    portal.route("/book.xlsx", lambda _: Reply(200, b"PK\x03\x04 not really a workbook"))
    connector = WebFileConnector(f"{portal.url}/book.xlsx", retry=FAST)

    with pytest.raises(ConnectorError, match="fastexcel|could not read sheet"):
        list(connector.batches())


def test_an_unknown_format_is_refused_up_front():
    with pytest.raises(ConnectorError, match="cannot tell the file format"):
        WebFileConnector("https://example.org/download?id=7")
