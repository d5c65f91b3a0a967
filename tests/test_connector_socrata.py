"""Socrata connector against a local HTTP server replaying real SODA responses."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest
from portal_server import FIXTURES, PortalServer, Reply, Seen, socrata_rows

from pipelines.connectors import ConnectorError, RetryPolicy, SocrataConnector, SpooledConnector
from pipelines.loading import load_raw_table

FAST = RetryPolicy(max_attempts=3, backoff_seconds=0.01, total_seconds=5, timeout_seconds=2)
PAGE_1 = json.loads((FIXTURES / "soda_resource_bike_counts_page_1.json").read_text())
PAGE_2 = json.loads((FIXTURES / "soda_resource_bike_counts_page_2.json").read_text())
TOKEN = "tok-3f9a1c77d2e04b55"


@pytest.fixture
def portal():
    with PortalServer() as server:
        server.route(
            "/api/views/bike-cnts.json", lambda _: Reply.file("socrata_view_bike_counts_built.json")
        )
        yield server


def replay_recorded_pages(request: Seen) -> Reply:
    """The two recorded pages, served for the requests that produced them."""
    assert request.query["$limit"] == "1000"
    pages = {
        "0": "soda_resource_bike_counts_page_1.json",
        "1000": "soda_resource_bike_counts_page_2.json",
    }
    return Reply.file(pages[request.query["$offset"]])


def bike_connector(portal: PortalServer, **options) -> SocrataConnector:
    settings = {"page_size": 1000, "retry": FAST, "name": "bike_counts", **options}
    return SocrataConnector(portal.url, "bike-cnts", **settings)


def with_system_fields(rows: list[dict], updated_at: str, start: int = 0) -> list[dict]:
    return [
        {":id": f"row-{start + i:05d}", ":created_at": updated_at, ":updated_at": updated_at, **row}
        for i, row in enumerate(rows)
    ]


def test_reads_the_recorded_pages_to_completion_in_stable_order(portal):
    portal.route("/resource/bike-cnts.json", replay_recorded_pages)
    connector = bike_connector(portal, system_fields=False, watermark_column="date")

    batches = list(connector.batches())

    assert [b.num_rows for b in batches] == [1000, 1]
    assert batches[0].schema == pa.schema(
        [(c, pa.string()) for c in ("id", "date", "counts", "status")]
    )
    assert batches[1].to_pylist() == PAGE_2
    assert batches[0].to_pylist()[:3] == PAGE_1[:3]
    requests = portal.seen("/resource/bike-cnts.json")
    assert [r.query["$offset"] for r in requests] == ["0", "1000"]
    assert all(r.query["$order"] == ":id" for r in requests)
    assert connector.watermark == max(row["date"] for row in PAGE_1 + PAGE_2)


def test_yields_one_batch_per_page_instead_of_holding_the_dataset(portal):
    portal.route("/resource/bike-cnts.json", socrata_rows(PAGE_1 + PAGE_2))
    connector = bike_connector(portal, page_size=100, system_fields=False)

    sizes = [batch.num_rows for batch in connector.batches()]

    assert sizes == [100] * 10 + [1]


def test_a_dataset_ending_on_a_full_page_stops_at_the_empty_page(portal):
    portal.route("/resource/bike-cnts.json", socrata_rows(PAGE_1))
    connector = bike_connector(portal, page_size=500, system_fields=False)

    assert [b.num_rows for b in connector.batches()] == [500, 500]
    assert [r.query["$offset"] for r in portal.seen("/resource/bike-cnts.json")] == [
        "0",
        "500",
        "1000",
    ]


def test_second_run_fetches_only_rows_created_or_changed_after_the_watermark(portal):
    first = "2024-01-05T10:00:00.000Z"
    rows = with_system_fields(PAGE_1[:900], first)
    portal.route("/resource/bike-cnts.json", socrata_rows(rows))
    connector = bike_connector(portal)
    assert sum(b.num_rows for b in connector.batches()) == 900
    assert connector.watermark == first
    assert "$where" not in portal.seen("/resource/bike-cnts.json")[0].query

    # The portal publishes 101 new rows and corrects one old row.
    later = "2024-02-01T08:30:00.000Z"
    rows.extend(with_system_fields(PAGE_1[900:] + PAGE_2, later, start=900))
    rows[3] = {**rows[3], "counts": "999", ":updated_at": later}
    portal.requests.clear()
    second = bike_connector(portal, since=connector.watermark)

    fetched = [row for batch in second.batches() for row in batch.to_pylist()]

    requests = portal.seen("/resource/bike-cnts.json")
    assert all(r.query["$where"] == f":updated_at > '{first}'" for r in requests)
    assert all(r.query["$order"] == ":id" and r.query["$select"] == ":*,*" for r in requests)
    assert len(fetched) == 102
    assert {row["_socrata_id"] for row in fetched} == {"row-00003"} | {
        f"row-{i:05d}" for i in range(900, 1001)
    }
    assert next(r for r in fetched if r["_socrata_id"] == "row-00003")["counts"] == "999"
    assert second.watermark == later

    # Nothing new: no batches, the watermark stays.
    third = bike_connector(portal, since=second.watermark)
    assert list(third.batches()) == []
    assert third.watermark == later


def test_remote_updated_at_reads_rows_updated_at_from_the_real_view_metadata(portal):
    portal.route(
        "/api/views/kmub-vria.json",
        lambda _: Reply.file("socrata_view_metadata_kmub-vria_extracted_from_rows_json.json"),
    )
    connector = SocrataConnector(portal.url, "kmub-vria", retry=FAST)

    assert connector.remote_updated_at() == datetime(2019, 9, 10, 17, 47, 12, tzinfo=UTC)
    assert connector.fresh_since("2019-09-01T00:00:00")
    assert not connector.fresh_since("2019-09-10T17:47:12.000Z")
    assert connector.fresh_since(None)
    assert connector.columns(connector.metadata())[:4] == [
        "shape_area",
        "precinct",
        "shape_leng",
        "the_geom",
    ]


def test_a_column_renamed_between_pages_names_the_page_and_the_columns(portal):
    def renamed_on_page_2(request: Seen) -> Reply:
        if request.query["$offset"] == "0":
            return Reply.file("soda_resource_bike_counts_page_1.json")
        return Reply.json([{("count" if k == "counts" else k): v for k, v in PAGE_2[0].items()}])

    portal.route("/resource/bike-cnts.json", renamed_on_page_2)
    connector = bike_connector(portal, system_fields=False)

    with pytest.raises(ConnectorError) as caught:
        list(connector.batches())

    message = str(caught.value)
    assert "bike_counts" in message and "page 2 (offset 1000)" in message
    assert "added ['count']" in message and "'counts'" in message


def test_without_view_metadata_the_first_page_gives_the_columns(portal):
    portal.route("/api/views/bike-cnts.json", lambda _: Reply.json({"code": "not_found"}, 404))
    portal.route("/resource/bike-cnts.json", replay_recorded_pages)
    connector = bike_connector(portal, system_fields=False)

    batches = list(connector.batches())

    assert batches[0].schema.names == ["id", "date", "counts", "status"]
    assert sum(b.num_rows for b in batches) == 1001


def test_an_html_page_served_as_data_is_a_clear_error(portal):
    portal.route(
        "/resource/bike-cnts.json", lambda _: Reply.html("Data portal - scheduled maintenance")
    )
    connector = bike_connector(portal)

    with pytest.raises(ConnectorError, match="HTML page") as caught:
        list(connector.batches())

    assert "bike_counts" in str(caught.value) and "page 1 (offset 0)" in str(caught.value)
    assert "scheduled maintenance" in str(caught.value)


def test_the_app_token_is_sent_but_never_shown(portal, monkeypatch, caplog):
    monkeypatch.setenv("BIKE_APP_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG, logger="civic.connectors")
    portal.route("/resource/bike-cnts.json", socrata_rows(PAGE_1 + PAGE_2))
    portal.script("/resource/bike-cnts.json", Reply.json({"message": "busy"}, 503))
    connector = bike_connector(portal, token_env="BIKE_APP_TOKEN", system_fields=False)

    assert sum(b.num_rows for b in connector.batches()) == 1001

    assert all(r.headers["x-app-token"] == TOKEN for r in portal.requests)
    assert "attempt 1/3" in caplog.text and "page 2 (offset 1000)" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in connector.source_uri()

    # A portal that echoes the token in an error page: the message shows *** instead.
    portal.route(
        "/resource/bike-cnts.json",
        lambda _: Reply.json({"message": f"Invalid app_token {TOKEN}"}, 403),
    )
    with pytest.raises(ConnectorError) as caught:
        list(connector.batches())
    assert "HTTP 403" in str(caught.value) and "***" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in caplog.text


def test_batches_load_into_the_warehouse_and_can_be_spooled_to_disk(portal, tmp_path):
    portal.route(
        "/resource/bike-cnts.json",
        socrata_rows(with_system_fields(PAGE_1 + PAGE_2, "2024-01-05T10:00:00.000Z")),
    )
    spooled = SpooledConnector(bike_connector(portal, page_size=300), tmp_path, chunk_rows=400)

    with duckdb.connect() as con:
        result = load_raw_table(con, "bike_counts", spooled.batches())
        assert result.rows == 1001
        assert result.columns[:7] == [
            "id",
            "date",
            "counts",
            "status",
            "socrata_id",
            "socrata_created_at",
            "socrata_updated_at",
        ]
    assert spooled.watermark == "2024-01-05T10:00:00.000Z"
    assert list(tmp_path.iterdir()) == []  # the spool is removed


def test_a_load_failing_midway_keeps_the_old_watermark(portal):
    rows = with_system_fields(PAGE_1 + PAGE_2, "2024-02-01T08:30:00.000Z")
    pages = socrata_rows(rows)
    portal.route(
        "/resource/bike-cnts.json",
        lambda r: pages(r) if r.query["$offset"] == "0" else Reply.json({}, 500),
    )
    connector = bike_connector(portal, page_size=500, since="2024-01-01T00:00:00.000Z")

    batches = connector.batches()
    assert next(batches).num_rows == 500
    with pytest.raises(ConnectorError, match=r"page 2 \(offset 500\): gave up .* 3 attempts"):
        next(batches)
    assert connector.watermark == "2024-01-01T00:00:00.000Z"


def test_catalog_values_that_would_break_the_query_are_refused():
    with pytest.raises(ConnectorError, match="not a 4x4 id"):
        SocrataConnector("https://data.cityofchicago.org", "ijzp-q8t2.json?x=1")
    with pytest.raises(ConnectorError, match="not a field name"):
        SocrataConnector(
            "https://data.cityofchicago.org", "ijzp-q8t2", watermark_column="date) OR (1=1"
        )
