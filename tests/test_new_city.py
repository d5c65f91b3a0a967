"""A city the code has never seen: its catalog alone makes Dagster assets that load it live.

The portals are a real HTTP server on 127.0.0.1 replaying recorded Socrata pages and a CKAN
datastore built from the real Chicago appropriations rows (tests/portal_server.py).
"""

import json
import shutil

import duckdb
from dagster import materialize
from dagster_duckdb import DuckDBResource
from portal_server import FIXTURES, PortalServer, Reply, chicago_rows, ckan_datastore, socrata_rows

from pipelines.assets.raw import build_raw_asset
from pipelines.catalog import load_catalog
from pipelines.settings import SOURCES_DIR
from pipelines.sources import DataSources

PAGES = [
    *json.loads((FIXTURES / "soda_resource_bike_counts_page_1.json").read_text()),
    *json.loads((FIXTURES / "soda_resource_bike_counts_page_2.json").read_text()),
]
CKAN_FIELDS = [{"id": "DEPARTMENT DESCRIPTION", "type": "text"}, {"id": "AMOUNT", "type": "text"}]


def socrata_published(rows: list[dict], updated_at: str, first_id: int) -> list[dict]:
    return [
        {
            ":id": f"row-{first_id + i:05d}",
            ":updated_at": updated_at,
            ":created_at": updated_at,
            **r,
        }
        for i, r in enumerate(rows)
    ]


CATALOG = """
city: testville
name: Testville
datasets:
  bike_counts:
    raw_table: testville_bike_counts
    domain: development
    cadence: daily
    title: Bike counter readings
    description: Real SODA pages replayed by the test portal.
    portal:
      kind: socrata
      base_url: "{url}"
      dataset_id: bike-cnts
      options: {{page_size: 1000}}
    license: test
    provenance: sodapy test pages
  budget:
    raw_table: testville_budget
    domain: spending
    feeds: spending
    spending_kind: appropriations
    columns: {{fiscal_year: YEAR, department: DEPARTMENT DESCRIPTION, amount: AMOUNT}}
    cadence: yearly
    title: Appropriations
    description: CKAN datastore over the real Chicago 2019 appropriations.
    portal: {{kind: ckan, base_url: "{url}", dataset_id: budget-2019}}
    license: test
    provenance: Chicago 2019 appropriations
"""


def load_all(catalog, database: str):
    assets = [build_raw_asset(catalog, name, ds) for name, ds in catalog.datasets.items()]
    resources = {"warehouse": DuckDBResource(database=database), "sources": DataSources(live=True)}
    return materialize(assets, resources=resources)


def test_unseen_city_loads_from_its_catalog_and_then_incrementally(tmp_path):
    budget = [
        {
            "_id": i + 1,
            "DEPARTMENT DESCRIPTION": r["department"],
            "AMOUNT": r["amount"],
            "YEAR": "2019",
        }
        for i, r in enumerate(
            chicago_rows(
                'select "DEPARTMENT DESCRIPTION" as department, '
                '"2019 ORDINANCE (AMOUNT $)" as amount '
                "from read_csv('chicago/budget_appropriations_2019.csv.gz', all_varchar=true)"
            )
        )
    ]
    fields = [*CKAN_FIELDS, {"id": "YEAR", "type": "text"}]
    shutil.copy(SOURCES_DIR / "canonical.yml", tmp_path / "canonical.yml")
    database = str(tmp_path / "testville.duckdb")
    with PortalServer() as portal:
        portal.route(
            "/api/views/bike-cnts.json", lambda _: Reply.file("socrata_view_bike_counts_built.json")
        )
        first = socrata_published(PAGES, "2024-01-01T00:00:00.000", 0)
        portal.route("/resource/bike-cnts.json", socrata_rows(first))
        portal.route(
            "/api/3/action/datastore_search", ckan_datastore("budget-2019", fields, budget, 1000)
        )
        portal.route(
            "/api/3/action/resource_show",
            lambda _: Reply.json(
                {
                    "success": True,
                    "result": {"id": "budget-2019", "last_modified": "2019-03-25T00:00:00"},
                }
            ),
        )
        (tmp_path / "testville.yml").write_text(CATALOG.format(url=portal.url))
        catalog = load_catalog(tmp_path / "testville.yml", sources_dir=tmp_path)

        assert load_all(catalog, database).success
        with duckdb.connect(database, read_only=True) as con:
            assert con.execute("select count(*) from raw.testville_bike_counts").fetchone()[
                0
            ] == len(PAGES)
            budget_rows = con.execute(
                "select count(*), sum(amount::decimal(18, 2)) from raw.testville_budget"
            ).fetchone()
        assert budget_rows[0] == len(budget)
        assert float(budget_rows[1]) == sum(float(r["AMOUNT"]) for r in budget)

        # A day later five readings were corrected and three added.
        later = "2024-01-02T00:00:00.000"
        changed = [{**r, ":updated_at": later, "counts": "0"} for r in first[:5]]
        added = socrata_published(PAGES[:3], later, 5000)
        published = changed + first[5:] + added
        portal.route("/resource/bike-cnts.json", socrata_rows(published))
        portal.requests.clear()

        assert load_all(catalog, database).success
        row_requests = portal.seen("/resource/bike-cnts.json")
        assert row_requests and all(
            "2024-01-01T00:00:00.000" in r.query.get("$where", "") for r in row_requests
        )
        with duckdb.connect(database, read_only=True) as con:
            total, zeroed = con.execute(
                "select count(*), count(*) filter (where counts = '0') "
                "from raw.testville_bike_counts"
            ).fetchone()
            watermark = con.execute(
                "select watermark from meta.load_log where raw_table = 'testville_bike_counts' "
                "order by loaded_at desc, rowid desc limit 1"
            ).fetchone()[0]
        assert total == len(PAGES) + 3
        assert zeroed == sum(1 for r in published if r["counts"] == "0")
        # The CKAN resource did not change: no rows were asked for.
        assert portal.seen("/api/3/action/resource_show")
        assert portal.seen("/api/3/action/datastore_search") == []
        assert watermark.startswith("2024-01-02")
