"""Live downloads are spooled before the writer lock is taken (issue 14, item 10).

The portal is a real HTTP server on 127.0.0.1 replaying recorded Socrata pages.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource
from portal_server import FIXTURES, PortalServer, Reply, socrata_rows

import pipelines.connectors.prefetch as prefetch_module
from pipelines.assets.raw import build_raw_asset
from pipelines.catalog import load_catalog
from pipelines.locking import warehouse_writer
from pipelines.runs import RunRequest, execute
from pipelines.settings import SOURCES_DIR, paths
from pipelines.sources import DataSources

PAGES = [
    *json.loads((FIXTURES / "soda_resource_bike_counts_page_1.json").read_text()),
    *json.loads((FIXTURES / "soda_resource_bike_counts_page_2.json").read_text()),
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
"""


class Stop(Exception):
    pass


def test_a_live_run_downloads_before_it_takes_the_writer_lock(monkeypatch):
    seen = []

    def fake_prefetch(datasets, warehouse, *args, **kwargs):
        with warehouse_writer(warehouse, wait_seconds=0):  # free: nobody holds it yet
            seen.append([d.raw_table for d in datasets])
        raise Stop

    monkeypatch.setattr(prefetch_module, "prefetch", fake_prefetch)
    with pytest.raises(Stop):
        execute(RunRequest(city="chicago", live=True))

    assert seen and "chicago_crimes" in seen[0]
    assert not (paths().home / "prefetch-").exists()


def test_the_run_reads_the_spooled_download_not_the_portal(tmp_path):
    shutil.copy(SOURCES_DIR / "canonical.yml", tmp_path / "canonical.yml")
    warehouse = tmp_path / "testville.duckdb"
    rows = [
        {":id": f"row-{i:05d}", ":updated_at": "2024-01-01T00:00:00.000", **r}
        for i, r in enumerate(PAGES)
    ]
    with PortalServer() as portal:
        portal.route(
            "/api/views/bike-cnts.json", lambda _: Reply.file("socrata_view_bike_counts_built.json")
        )
        slow = socrata_rows(rows)
        portal.route("/resource/bike-cnts.json", lambda r: Reply(**{**vars(slow(r)), "delay": 0.3}))
        (tmp_path / "testville.yml").write_text(CATALOG.format(url=portal.url))
        catalog = load_catalog(tmp_path / "testville.yml", sources_dir=tmp_path)
        dataset = catalog.datasets["bike_counts"]

        with prefetch_module.prefetched([dataset], tmp_path, warehouse) as fetched:
            downloaded = len(portal.requests)
            assert fetched["testville_bike_counts"].path.exists()
            asset = build_raw_asset(catalog, "bike_counts", dataset)
            resources = {
                "warehouse": DuckDBResource(database=str(warehouse)),
                "sources": DataSources(live=True),
            }
            assert materialize([asset], resources=resources).success
            assert len(portal.requests) == downloaded  # nothing fetched inside the lock
        assert not list(tmp_path.glob("prefetch-*"))  # the spool is removed after the run

    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = con.execute("select count(*) from raw.testville_bike_counts").fetchone()[0]
        mark = con.execute("select max(watermark) from meta.load_log").fetchone()[0]
    assert loaded == len(PAGES)
    assert mark.startswith("2024-01-01")
