"""Red-team cases of the network connectors (issue 14, items 9-12), on pytest-httpserver.

Content is checked, not trusted; a request has a total deadline and size limits that hold;
secrets go only where they belong and never into a message or a log.
"""

from __future__ import annotations

import gzip
import logging
import time
import tracemalloc

import pytest
from werkzeug import Response

from pipelines.catalog import CatalogError, load_catalog
from pipelines.connectors import (
    ConnectorError,
    HttpClient,
    Limits,
    RetryPolicy,
    WebFileConnector,
    connector_for,
)
from pipelines.connectors.limits import LimitExceeded
from pipelines.settings import SOURCES_DIR

FAST = RetryPolicy(
    max_attempts=3, backoff_seconds=0.02, max_wait_seconds=1, total_seconds=5, timeout_seconds=2
)
FRED = (SOURCES_DIR / "chicago" / "unemployment_rate_cook_county_fred_ILCOOK1URN.csv").read_bytes()
TOKEN = "tok/en+8d1e0c2b47aa=="  # has characters a portal escapes when it echoes them


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


# -- item 9: content is checked, not trusted -----------------------------------------------------


def test_an_html_login_page_at_a_csv_url_is_refused_whatever_its_content_type(httpserver):
    page = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>a\nb\nc</body>"
    httpserver.expect_request("/data/rates.csv").respond_with_data(page, content_type="text/csv")
    connector = WebFileConnector(httpserver.url_for("/data/rates.csv"), retry=FAST)

    with pytest.raises(ConnectorError, match=r"HTML page instead of data.*'Sign in'"):
        list(connector.batches())


def test_a_ragged_row_in_a_fred_csv_is_named_not_collapsed_to_one_column(httpserver):
    lines = FRED.decode().splitlines(keepends=True)
    lines[41] = lines[41].rstrip("\n") + ",7.1\n"  # one row with a third field
    httpserver.expect_request("/fredgraph.csv").respond_with_data(
        "".join(lines), content_type="text/csv"
    )
    connector = WebFileConnector(httpserver.url_for("/fredgraph.csv"), retry=FAST)

    with pytest.raises(ConnectorError, match=r"line 42: 3 fields, the header has 2"):
        list(connector.batches())


def test_the_real_fred_csv_still_loads_as_two_text_columns(httpserver):
    httpserver.expect_request("/fredgraph.csv").respond_with_data(FRED, content_type="text/csv")
    batches = list(WebFileConnector(httpserver.url_for("/fredgraph.csv"), retry=FAST).batches())

    rows = [row for batch in batches for row in batch.to_pylist()]
    lines = FRED.decode().splitlines()
    assert list(rows[0]) == ["Date", "ILCOOK1URN"]
    assert len(rows) == len(lines) - 1
    assert rows[-1] == dict(zip(["Date", "ILCOOK1URN"], lines[-1].split(","), strict=True))


# -- item 10: hard limits -----------------------------------------------------------------------


def test_a_trickling_body_is_cut_off_at_the_total_deadline(httpserver):
    def trickle(_request):
        def drip():
            for _ in range(200):
                time.sleep(0.05)  # each read arrives well within the per-read timeout
                yield b"x"

        return Response(drip(), headers={"Content-Length": "200"}, content_type="text/csv")

    httpserver.expect_request("/slow.csv").respond_with_handler(trickle)
    policy = RetryPolicy(max_attempts=5, total_seconds=1.5, timeout_seconds=1)
    started = time.monotonic()

    with pytest.raises(ConnectorError, match="total time bound passed"):
        list(WebFileConnector(httpserver.url_for("/slow.csv"), retry=policy).batches())

    assert time.monotonic() - started < 2.5


def gzip_bomb() -> bytes:
    """1 GiB of zeros in ~1 MB: 64 gzip members of 16 MiB each (a valid multi-member stream)."""
    return gzip.compress(b"\0" * (16 << 20), compresslevel=9) * 64


def test_a_gzip_bomb_stops_at_its_ratio_with_memory_bounded(httpserver):
    bomb = gzip_bomb()
    assert len(bomb) < 1.1 * (1 << 20)
    assert len(gzip.decompress(bomb[: len(bomb) // 32])) == 32 << 20  # really that much
    httpserver.expect_request("/page.json").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    client = HttpClient(policy=FAST)

    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded, match=r"inflates more than 200 times"):
            client.get_json(httpserver.url_for("/page.json"), what="bomb page")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20  # the bomb's 1 GiB never came near memory
    assert len(httpserver.log) == 1  # a limit is final: not retried


def test_body_limits_come_from_the_catalog_options_and_name_the_option(httpserver, tmp_path):
    body = FRED * 40  # ~180 KB
    httpserver.expect_request("/big.csv").respond_with_data(body, content_type="text/csv")
    connector = connector_for(
        "http", httpserver.url_for("/big.csv"), max_body_mb=0.1, retry=FAST, temp_dir=tmp_path
    )

    with pytest.raises(LimitExceeded, match=r"larger than the 0 MB.*raise portal.options.max_body"):
        list(connector.batches())
    assert list(tmp_path.iterdir()) == []  # the partial download is removed
    assert Limits.from_options({"max_decompressed_mb": 2}).max_decompressed_bytes == 2 << 20
    with pytest.raises(ConnectorError, match="positive number of MB"):
        Limits.from_options({"max_body_mb": -1})


# -- items 11 and 12: secrets -------------------------------------------------------------------


def test_a_portal_error_body_echoing_the_token_is_redacted_everywhere(httpserver, caplog):
    caplog.set_level(logging.DEBUG)
    echo = '{"error": "app token \\"%s\\" (%s) is throttled"}'
    escaped = TOKEN.replace("/", "\\/")
    quoted = TOKEN.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")
    httpserver.expect_ordered_request("/resource/abcd-1234.json").respond_with_data(
        echo % (escaped, quoted), status=500
    )
    httpserver.expect_ordered_request("/resource/abcd-1234.json").respond_with_data(
        echo % (escaped, quoted), status=403
    )
    client = HttpClient(policy=FAST, secret_headers={"X-App-Token": TOKEN})

    with pytest.raises(ConnectorError) as caught:
        client.get_json(httpserver.url_for("/resource/abcd-1234.json"), what="rows")
    logging.getLogger("dagster").error("portal said %s", quoted)  # any logger, any form

    message = str(caught.value)
    assert "HTTP 403" in message and "app token" in message and "***" in message
    for form in (TOKEN, escaped, quoted):
        assert form not in message and form not in caplog.text
    assert [r.headers["X-App-Token"] for r, _ in httpserver.log] == [TOKEN, TOKEN]


def test_token_env_may_name_only_portal_token_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVIC_SMTP_PASSWORD", "smtp-password-123")
    catalog = (SOURCES_DIR / "cities" / "chicago.yml").read_text()
    (tmp_path / "canonical.yml").write_text((SOURCES_DIR / "canonical.yml").read_text())
    path = tmp_path / "chicago.yml"
    path.write_text(
        catalog.replace("token_env: SOCRATA_APP_TOKEN", "token_env: CIVIC_SMTP_PASSWORD")
    )

    with pytest.raises(CatalogError, match=r"CIVIC_SMTP_PASSWORD.*not a portal token variable"):
        load_catalog(path, sources_dir=tmp_path)
    for name in ("CIVIC_SMTP_PASSWORD", "CIVIC_NOTIFY_WEBHOOK_URL", "DB_PASSWORD", "HOME"):
        with pytest.raises(ConnectorError, match="not a portal token variable"):
            connector_for("socrata", "http://127.0.0.1:9", "abcd-1234", token_env=name)


def test_a_token_is_sent_only_to_the_host_of_its_catalog_entry(httpserver, monkeypatch):
    monkeypatch.setenv("CITY_PORTAL_TOKEN", TOKEN)
    other = httpserver.url_for("/elsewhere.csv").replace("127.0.0.1", "localhost")
    httpserver.expect_request("/elsewhere.csv").respond_with_data(FRED, content_type="text/csv")
    httpserver.expect_request("/moved.csv").respond_with_data(
        "", status=302, headers={"Location": other}
    )
    connector = connector_for(
        "http", httpserver.url_for("/moved.csv"), token_env="CITY_PORTAL_TOKEN", retry=FAST
    )
    assert sum(b.num_rows for b in connector.batches()) > 100
    # A client whose credentials belong to the catalog's host never sends them elsewhere.
    client = HttpClient(
        policy=FAST, secret_headers={"Authorization": TOKEN}, secret_origin="https://portal.example"
    )
    client.get(httpserver.url_for("/elsewhere.csv"), what="another host's file")

    sent = {r.path: r.headers.get("Authorization") for r, _ in httpserver.log}
    assert sent["/moved.csv"] == TOKEN
    assert sent["/elsewhere.csv"] is None
    assert [r.headers.get("Authorization") for r, _ in httpserver.log][1:] == [None, None]
