"""A portal error body that echoes the token reaches no Dagster event, log or compute log
(issue 14, item 11): a real raw asset loads from a local portal on 127.0.0.1 that answers 403
with the token quoted back, JSON-escaped; the whole Dagster home is then searched byte by byte."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from dagster import DagsterInstance, materialize
from dagster_duckdb import DuckDBResource
from portal_server import PortalServer, Reply

from pipelines.assets.raw import build_raw_asset
from pipelines.catalog import load_catalog
from pipelines.redaction import install, redact, register
from pipelines.settings import SOURCES_DIR
from pipelines.sources import DataSources

TOKEN = "tv/live+Q2hpY2Fnby10b2tlbg=="
CATALOG = """
city: testville
name: Testville
datasets:
  bike_counts:
    raw_table: testville_bike_counts
    domain: development
    cadence: daily
    title: Bike counter readings
    description: A portal that quotes the app token back in its error.
    portal:
      kind: socrata
      base_url: "{url}"
      dataset_id: bike-cnts
      options: {{token_env: TESTVILLE_APP_TOKEN}}
    license: test
    provenance: test
"""


def forms(secret: str) -> list[bytes]:
    return [secret.encode(), secret.replace("/", "\\/").encode(), secret.split("+")[1].encode()]


def test_a_token_echoed_by_the_portal_is_in_no_event_log_or_file(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TESTVILLE_APP_TOKEN", TOKEN)
    shutil.copy(SOURCES_DIR / "canonical.yml", tmp_path / "canonical.yml")
    echoed = '{"code": "forbidden", "message": "app token \\"%s\\" is not valid"}'
    (tmp_path / "dagster").mkdir()
    with PortalServer() as portal, DagsterInstance.local_temp(str(tmp_path / "dagster")) as dg:
        body = (echoed % TOKEN.replace("/", "\\/")).encode()
        answer = Reply(403, body, {"Content-Type": "application/json"})
        portal.route("/api/views/bike-cnts.json", lambda _: answer)
        portal.route("/resource/bike-cnts.json", lambda _: answer)
        (tmp_path / "testville.yml").write_text(CATALOG.format(url=portal.url))
        catalog = load_catalog(tmp_path / "testville.yml", sources_dir=tmp_path)
        asset = build_raw_asset(catalog, "bike_counts", catalog.datasets["bike_counts"])
        resources = {
            "warehouse": DuckDBResource(database=str(tmp_path / "w.duckdb")),
            "sources": DataSources(live=True),
        }
        result = materialize([asset], resources=resources, instance=dg, raise_on_error=False)

        assert not result.success
        assert portal.requests and portal.requests[0].headers["x-app-token"] == TOKEN
        (failure,) = result.get_step_failure_events()
        message = failure.step_failure_data.error.to_string()
        assert "HTTP 403" in message and "is not valid" in message and "***" in message
        events = [str(entry) for entry in dg.all_logs(result.run_id)]
    stored = b"".join(p.read_bytes() for p in Path(tmp_path / "dagster").rglob("*") if p.is_file())
    assert stored and events
    for form in forms(TOKEN):
        assert form not in stored
        assert form.decode() not in message + "".join(events) + caplog.text


def test_log_records_of_any_logger_are_redacted_when_made():
    install()
    register("an-smtp-Passw0rd")
    record = logging.getLogger("any.library").makeRecord(
        "any.library", logging.ERROR, __file__, 1, "login %s failed", ("an-smtp-Passw0rd",), None
    )
    assert record.getMessage() == "login *** failed"
    assert (
        redact("https://x/api?$$app_token=abc&limit=5") == "https://x/api?$$app_token=***&limit=5"
    )
