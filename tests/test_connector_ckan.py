"""CKAN connector against a local HTTP server answering like a CKAN 2.9+ DataStore."""

from __future__ import annotations

import json

import pytest
from portal_server import (
    PortalServer,
    Reply,
    Seen,
    chicago_rows,
    ckan_datastore,
    ckan_datastore_sql,
)

from pipelines.connectors import CkanConnector, ConnectorError, RetryPolicy

FAST = RetryPolicy(max_attempts=3, backoff_seconds=0.01, total_seconds=5, timeout_seconds=2)
RESOURCE = "0d1a5f0c-7b1e-4b6e-9a0e-2019appropr"
SEARCH = "/api/3/action/datastore_search"
SEARCH_SQL = "/api/3/action/datastore_search_sql"
APPROPRIATIONS = [
    {"_id": number, **row}
    for number, row in enumerate(
        chicago_rows(
            "select * from read_csv('chicago/budget_appropriations_2019.csv.gz', all_varchar=true)"
        ),
        start=1,
    )
]
COLUMNS = [name for name in APPROPRIATIONS[0] if name != "_id"]
FIELDS = [{"id": name, "type": "text"} for name in COLUMNS]
CRIMES = [
    {"_id": number, **row}
    for number, row in enumerate(
        chicago_rows(
            "select * from 'chicago/crimes_2022.parquet' order by Date, Block, \"Primary Type\" "
            "limit 450"
        ),
        start=1,
    )
]
CRIME_FIELDS = [{"id": name, "type": "text"} for name in CRIMES[0] if name != "_id"]


@pytest.fixture
def portal():
    with PortalServer() as server:
        server.route(
            "/api/3/action/resource_show",
            lambda _: Reply.file("ckan_resource_show_appropriations_built.json"),
        )
        server.route(
            "/api/3/action/package_show",
            lambda _: Reply.file("ckan_package_show_appropriations_built.json"),
        )
        yield server


def appropriations(portal: PortalServer, **options) -> CkanConnector:
    return CkanConnector(portal.url, RESOURCE, name="appropriations", retry=FAST, **options)


def test_reads_every_row_although_the_server_silently_caps_the_limit(portal):
    portal.route(SEARCH, ckan_datastore(RESOURCE, FIELDS, APPROPRIATIONS, cap=1000))
    connector = appropriations(portal)

    batches = list(connector.batches())

    assert [b.num_rows for b in batches] == [1000, 1000, 1000, 507]
    assert batches[0].schema.names == COLUMNS  # `_id` is CKAN's, not the publisher's
    rows = [row for batch in batches for row in batch.to_pylist()]
    assert rows == [{k: v for k, v in r.items() if k != "_id"} for r in APPROPRIATIONS]
    requests = portal.seen(SEARCH)
    assert [r.query["offset"] for r in requests] == ["0", "1000", "2000", "3000"]
    assert all(
        r.query["sort"] == "_id"
        and r.query["include_total"] == "true"
        and r.query["limit"] == "32000"
        for r in requests
    )


def test_an_unchanged_resource_is_not_fetched_again(portal):
    portal.route(SEARCH, ckan_datastore(RESOURCE, FIELDS, APPROPRIATIONS, cap=1000))
    first = appropriations(portal)
    assert sum(b.num_rows for b in first.batches()) == 3507
    # The later of the resource's last_modified and the package's last_refreshed.
    assert first.watermark == "2019-03-25T15:04:40"

    portal.requests.clear()
    second = appropriations(portal, since=first.watermark)

    assert list(second.batches()) == []
    assert second.watermark == first.watermark
    assert portal.seen(SEARCH) == []
    assert not second.fresh_since(first.watermark)
    assert second.fresh_since("2019-01-01T00:00:00")


def test_a_date_column_watermark_fetches_only_newer_rows(portal):
    crimes_resource = "crimes-2022"
    published = CRIMES[:400]
    portal.route(SEARCH, ckan_datastore(crimes_resource, CRIME_FIELDS, published, cap=1000))
    portal.route(SEARCH_SQL, ckan_datastore_sql(crimes_resource, CRIME_FIELDS, published))
    first = CkanConnector(portal.url, crimes_resource, watermark_column="Date", retry=FAST)
    assert sum(b.num_rows for b in first.batches()) == 400
    assert first.watermark == max(r["Date"] for r in CRIMES[:400])

    published.extend(CRIMES[400:])  # the portal appends 50 rows
    second = CkanConnector(
        portal.url,
        crimes_resource,
        watermark_column="Date",
        since=first.watermark,
        page_size=20,
        retry=FAST,
    )
    rows = [row for batch in second.batches() for row in batch.to_pylist()]

    expected = [r for r in CRIMES if r["Date"] > first.watermark]
    assert 0 < len(rows) == len(expected) <= 50
    assert rows == [{k: v for k, v in r.items() if k != "_id"} for r in expected]
    queries = [r.query["sql"] for r in portal.seen(SEARCH_SQL)]
    assert all(
        f"\"Date\" > '{first.watermark}'" in sql and "ORDER BY _id" in sql for sql in queries
    )
    assert len(queries) == len(expected) // 20 + 1
    assert second.watermark == max(r["Date"] for r in CRIMES)


def test_fields_changing_between_pages_name_the_page(portal):
    search = ckan_datastore(RESOURCE, FIELDS, APPROPRIATIONS, cap=1000)
    renamed = [
        {"id": "FUND_TYPE" if f["id"] == "FUND TYPE" else f["id"], "type": "text"} for f in FIELDS
    ]
    changed = ckan_datastore(RESOURCE, renamed, APPROPRIATIONS, cap=1000)
    portal.route(SEARCH, lambda r: (search if r.query["offset"] == "0" else changed)(r))

    with pytest.raises(ConnectorError) as caught:
        list(appropriations(portal).batches())

    message = str(caught.value)
    assert "appropriations" in message and "page 2 (offset 1000)" in message
    assert "added ['FUND_TYPE']" in message and "removed ['FUND TYPE']" in message


def test_an_empty_page_before_the_total_is_an_error(portal):
    search = ckan_datastore(RESOURCE, FIELDS, APPROPRIATIONS, cap=1000)
    empty = ckan_datastore(RESOURCE, FIELDS, [], cap=1000)

    def shrinking(request: Seen) -> Reply:
        reply = (search if request.query["offset"] == "0" else empty)(request)
        document = json.loads(reply.body)
        document["result"]["total"] = 3507
        return Reply.json(document)

    portal.route(SEARCH, shrinking)

    with pytest.raises(ConnectorError, match=r"page 2 \(offset 1000\): empty page .* 3507 rows"):
        list(appropriations(portal).batches())


def test_an_unknown_resource_is_a_clear_error(portal):
    portal.route(SEARCH, ckan_datastore("another-resource", FIELDS, APPROPRIATIONS, cap=1000))

    with pytest.raises(ConnectorError, match="HTTP 404.*check the base URL and dataset id"):
        list(appropriations(portal, watermark_column="APPROPRIATION ACCOUNT").batches())
