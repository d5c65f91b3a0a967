"""ArcGIS connector against a local HTTP server answering like a FeatureServer layer."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from portal_server import FIXTURES, PortalServer, Reply, arcgis_layer, chicago_rows

from pipelines.connectors import ArcgisConnector, ConnectorError, RetryPolicy

FAST = RetryPolicy(max_attempts=3, backoff_seconds=0.01, total_seconds=5, timeout_seconds=2)
LAYER_PATH = "/arcgis/rest/services/Chicago_Crimes_2022/FeatureServer/0"
QUERY = f"{LAYER_PATH}/query"
LAYER = json.loads((FIXTURES / "arcgis_layer_chicago_crimes_built.json").read_text())
FIELDS = [field["name"] for field in LAYER["fields"]]


def epoch_ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() * 1000)


FEATURES = [
    {
        "attributes": {
            "OBJECTID": number,
            "Date": epoch_ms(row["Date"]),
            **{
                name.replace(" ", "_"): row[name]
                for name in row
                if name not in {"Date", "Community Area"}
            },
            "Community_Area": int(row["Community Area"]),
        },
        "geometry": {"x": -87.6 - number / 10_000, "y": 41.8},
    }
    for number, row in enumerate(
        chicago_rows(
            "select * from 'chicago/crimes_2022.parquet' order by Date, Block, \"Primary Type\" "
            "limit 450"
        ),
        start=1,
    )
]


@pytest.fixture
def portal():
    with PortalServer() as server:
        yield server


def serve(portal: PortalServer, layer: dict, features: list[dict]) -> ArcgisConnector:
    portal.route(LAYER_PATH, lambda _: Reply.json(layer))
    portal.route(QUERY, arcgis_layer(layer, features))
    return ArcgisConnector(f"{portal.url}{LAYER_PATH}", retry=FAST)


def test_pages_while_the_transfer_limit_is_exceeded(portal):
    connector = serve(portal, LAYER, FEATURES)

    batches = list(connector.batches())

    assert [b.num_rows for b in batches] == [200, 200, 50]
    assert batches[0].schema.names == FIELDS
    first = batches[0].to_pylist()[0]
    assert first["OBJECTID"] == "1" and first["Date"] == str(FEATURES[0]["attributes"]["Date"])
    assert first["Community_Area"] == str(FEATURES[0]["attributes"]["Community_Area"])
    requests = portal.seen(QUERY)
    assert [r.query["resultOffset"] for r in requests] == ["0", "200", "400"]
    assert all(
        r.query["orderByFields"] == "OBJECTID"
        and r.query["outFields"] == "*"
        and r.query["resultRecordCount"] == "200"
        and r.query["f"] == "json"
        for r in requests
    )
    assert connector.watermark == "2022-11-30 23:59:59"  # editingInfo.lastEditDate


def test_an_unedited_layer_is_not_fetched_again(portal):
    connector = serve(portal, LAYER, FEATURES)
    again = ArcgisConnector(connector.layer_url, since="2022-11-30 23:59:59", retry=FAST)

    assert list(again.batches()) == []
    assert portal.seen(QUERY) == []
    assert again.fresh_since("2022-11-01 00:00:00") and not again.fresh_since(again.since)


def test_a_date_field_watermark_fetches_only_newer_features(portal):
    published = copy.deepcopy(FEATURES[:400])
    serve(portal, LAYER, published)
    url = f"{portal.url}{LAYER_PATH}"
    first = ArcgisConnector(url, watermark_field="Date", retry=FAST)
    assert sum(b.num_rows for b in first.batches()) == 400
    newest = max(f["attributes"]["Date"] for f in FEATURES[:400])
    assert first.watermark == datetime.fromtimestamp(newest / 1000, UTC).strftime(
        "%Y-%m-%d %H:%M:%S"
    )

    published.extend(copy.deepcopy(FEATURES[400:]))
    portal.requests.clear()
    second = ArcgisConnector(url, watermark_field="Date", since=first.watermark, retry=FAST)
    rows = [row for batch in second.batches() for row in batch.to_pylist()]

    expected = [f["attributes"] for f in FEATURES if f["attributes"]["Date"] > newest]
    assert 0 < len(rows) == len(expected) <= 50
    assert [row["OBJECTID"] for row in rows] == [str(a["OBJECTID"]) for a in expected]
    assert all(
        r.query["where"] == f"(1=1) AND Date > TIMESTAMP '{first.watermark}'"
        for r in portal.seen(QUERY)
    )


def test_servers_without_pagination_are_read_by_object_ids(portal):
    layer = {**LAYER, "advancedQueryCapabilities": {"supportsPagination": False}}
    connector = serve(portal, layer, FEATURES)
    connector.return_geometry = True

    batches = list(connector.batches())

    assert [b.num_rows for b in batches] == [200, 200, 50]
    assert batches[0].schema.names == [*FIELDS, "_geometry"]
    assert json.loads(batches[0].column("_geometry")[0].as_py()) == FEATURES[0]["geometry"]
    assert portal.seen(QUERY)[0].query["returnIdsOnly"] == "true"


def test_errors_in_a_200_body_are_retried_or_reported(portal):
    connector = serve(portal, LAYER, FEATURES)
    busy = Reply.json({"error": {"code": 503, "message": "Service busy", "details": []}})
    portal.script(QUERY, busy)
    assert sum(b.num_rows for b in connector.batches()) == 450

    invalid = {
        "error": {
            "code": 400,
            "message": "Unable to perform query.",
            "details": ["'Invalid field: Dat' parameter is invalid"],
        }
    }
    portal.script(QUERY, Reply.json(invalid))
    with pytest.raises(ConnectorError, match="ArcGIS error 400: Unable to perform query"):
        list(connector.batches())


def test_a_transfer_limit_with_no_features_is_an_error(portal):
    connector = serve(portal, LAYER, FEATURES)
    portal.route(
        QUERY,
        lambda _: Reply.json(
            {"fields": LAYER["fields"], "features": [], "exceededTransferLimit": True}
        ),
    )

    with pytest.raises(ConnectorError, match=r"page 1 \(offset 0\).*sent none"):
        list(connector.batches())


def test_fields_changing_between_pages_name_the_page(portal):
    connector = serve(portal, LAYER, FEATURES)
    pages = arcgis_layer(LAYER, FEATURES)

    def changed(request):
        reply = pages(request)
        if request.query["resultOffset"] != "0":
            document = json.loads(reply.body)
            document["fields"] = [
                *document["fields"],
                {"name": "Ward", "type": "esriFieldTypeInteger"},
            ]
            return Reply.json(document)
        return reply

    portal.route(QUERY, changed)
    with pytest.raises(ConnectorError, match=r"page 2 \(offset 200\).*added \['Ward'\]"):
        list(connector.batches())
