"""`civic city init` drafts a catalog from a portal's own metadata and real rows.

The portals are a real HTTP server on 127.0.0.1 (tests/portal_server.py) serving real rows of
the bundled extracts: Chicago crimes as a Socrata dataset, the Chicago 2019 appropriations
(one amount column named after its fiscal year) as a CKAN resource, and DC's 2024 crime
incidents as an ArcGIS layer with epoch-millisecond dates. `civic validate --live` then
checks the draft against the same portals.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from portal_server import (
    PortalServer,
    Reply,
    arcgis_layer,
    chicago_rows,
    ckan_datastore,
    socrata_rows,
)

from pipelines.catalog import load_catalog
from pipelines.city_init import detect_format, init_city
from pipelines.cli import main
from pipelines.settings import SOURCES_DIR
from pipelines.validate import validate_city

ROWS = 200


def chicago_crimes() -> list[dict]:
    """Real rows, keyed by Socrata field names (what /resource/<id>.json returns)."""
    rows = chicago_rows(
        f"select * from 'chicago/crimes_2022.parquet' order by Date, Block limit {ROWS}"
    )
    return [{key.lower().replace(" ", "_"): value for key, value in row.items()} for row in rows]


def socrata_view(rows: list[dict]) -> dict:
    return {
        "id": "crm1-2345",
        "name": "Crimes - 2022",
        "rowsUpdatedAt": 1_700_000_000,
        "columns": [
            {"fieldName": name, "name": name.replace("_", " ").title(), "position": i,
             "dataTypeName": "text"}
            for i, name in enumerate(rows[0])
        ],
    }  # fmt: skip


def appropriations() -> tuple[list[dict], list[dict]]:
    rows = list(
        chicago_rows(
            "select * from read_csv('chicago/budget_appropriations_2019.csv.gz', all_varchar=true)"
            f" limit {ROWS}"
        )
    )
    fields = [{"id": name, "type": "text"} for name in rows[0]]
    return fields, [{"_id": i + 1, **row} for i, row in enumerate(rows)]


def crimes_layer() -> tuple[dict, list[dict]]:
    """Chicago's crimes as an ArcGIS layer: dates as epoch milliseconds, as ArcGIS serves them."""
    rows = chicago_rows(
        'select "Date", "Primary Type", "Description", "Community Area" '
        f"from 'chicago/crimes_2022.parquet' order by Date, Block limit {ROWS}"
    )
    features = []
    for number, row in enumerate(rows, start=1):
        stamp = datetime.strptime(row["Date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        attributes = {"OBJECTID": number, **row, "Date": int(stamp.timestamp() * 1000)}
        features.append({"attributes": attributes})
    fields = [
        {"name": "OBJECTID", "type": "esriFieldTypeOID"},
        {"name": "Date", "type": "esriFieldTypeDate"},
        {"name": "Primary Type", "type": "esriFieldTypeString"},
        {"name": "Description", "type": "esriFieldTypeString"},
        {"name": "Community Area", "type": "esriFieldTypeString"},
    ]
    layer = {
        "name": "Crimes 2022",
        "objectIdField": "OBJECTID",
        "geometryType": "esriGeometryPoint",
        "maxRecordCount": 1000,
        "fields": fields,
    }
    return layer, features


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """An empty city's sources/: the shared definitions only."""
    root = tmp_path / "sources"
    root.mkdir()
    for name in ["canonical.yml", "area_types.yml"]:
        shutil.copy(SOURCES_DIR / name, root / name)
    for name in ["offenses", "reference"]:
        shutil.copytree(SOURCES_DIR / name, root / name)
    return root


@pytest.fixture
def portal():
    crimes = chicago_crimes()
    fields, records = appropriations()
    layer, features = crimes_layer()
    with PortalServer() as server:
        server.route("/api/views/crm1-2345.json", lambda _: Reply.json(socrata_view(crimes)))
        server.route("/resource/crm1-2345.json", socrata_rows(crimes))
        server.route(
            "/api/3/action/datastore_search", ckan_datastore("bud-2019", fields, records, 100)
        )
        server.route(
            "/api/3/action/resource_show",
            lambda _: Reply.json(
                {"success": True, "result": {"id": "bud-2019", "name": "Budget 2019"}}
            ),
        )
        server.route("/arcgis/rest/services/Crime/FeatureServer/0", lambda _: Reply.json(layer))
        server.route(
            "/arcgis/rest/services/Crime/FeatureServer/0/query", arcgis_layer(layer, features)
        )
        yield server


def test_formats_are_detected_from_real_values():
    assert detect_format(["2022-01-01 00:00:00", "2022-11-30 23:59:00"]) == "%Y-%m-%d %H:%M:%S"
    assert detect_format(["09/30/2019", "01/02/2006"]) == "%m/%d/%Y"
    assert detect_format(["2024/02/20 11:08:25+00"]) == "%Y/%m/%d %H:%M:%S%z"
    assert detect_format(["1708427305000"]) == "epoch_ms"
    assert detect_format(["not a date"]) is None


def test_socrata_crimes_are_mapped_with_their_date_format_and_offences(portal, sources):
    written = init_city(
        "lakeside", "Lakeside", "socrata", portal.url, {"crimes": "crm1-2345"},
        census_place="1714000", sources_dir=sources,
    )  # fmt: skip
    catalog_path = sources / "cities" / "lakeside.yml"
    assert written == [catalog_path, sources / "offenses" / "lakeside.csv"]
    draft = yaml.safe_load(catalog_path.read_text())
    crimes = draft["datasets"]["crimes"]
    assert crimes["feeds"] == "crime_incidents"
    assert crimes["columns"]["occurred_at"] == "date"
    assert crimes["columns"]["area"] == "community_area"
    assert crimes["columns"]["offense_type"] == "primary_type"
    assert crimes["columns"]["offense_description"] == "description"
    assert crimes["formats"] == {"occurred_at": "%Y-%m-%d %H:%M:%S"}
    assert crimes["area_type"] == "community_area"
    assert crimes["title"] == "Crimes - 2022"
    assert crimes["license"].startswith("TODO")
    assert "# TODO crimes: classify the published offences" in catalog_path.read_text()
    offenses = (sources / "offenses" / "lakeside.csv").read_text()
    assert '"THEFT",%,,larceny-theft,property' in offenses
    assert '"BATTERY"' not in offenses  # not recognised: left for a person to classify

    # The draft loads; validating it against the portal lists what is left to do.
    catalog = load_catalog(catalog_path, sources)
    findings = validate_city(catalog, catalog_path, sources, live=True)
    assert [f for f in findings if f.severity == "error"] == []
    todo = {f.where.split(": ", 1)[1] for f in findings if f.severity == "todo"}
    assert {"datasets.crimes.license", "datasets.crimes.description"} <= todo


def test_ckan_budget_with_a_column_per_year_is_unpivoted(portal, sources):
    init_city(
        "lakeside", "Lakeside", "ckan", portal.url, {"budget": "bud-2019"}, sources_dir=sources
    )
    text = (sources / "cities" / "lakeside.yml").read_text()
    budget = yaml.safe_load(text)["datasets"]["budget"]
    assert budget["feeds"] == "spending"
    assert budget["columns"]["department"] == "DEPARTMENT DESCRIPTION"
    assert "amount" not in budget["columns"]
    assert budget["unpivot"] == {
        "pattern": {
            "columns": "^([0-9]{4})_ordinance_amount$",
            "key": "fiscal_year",
            "value": "amount",
        }
    }
    assert budget["spending_kind"].startswith("TODO")
    # until a person says what the amounts are, the draft does not load, and says why
    path = sources / "cities" / "lakeside.yml"
    path.write_text(text.replace("TODO: appropriations | expenditures", "appropriations"))
    catalog = load_catalog(path, sources)
    findings = validate_city(catalog, path, sources, live=True)
    assert [f for f in findings if f.severity == "error"] == []


def test_arcgis_layer_with_epoch_dates(portal, sources):
    init_city(
        "lakeside", "Lakeside", "arcgis", f"{portal.url}/arcgis/rest/services",
        {"incidents": "Crime/FeatureServer/0"}, sources_dir=sources,
    )  # fmt: skip
    path = sources / "cities" / "lakeside.yml"
    incidents = yaml.safe_load(path.read_text())["datasets"]["incidents"]
    assert incidents["feeds"] == "crime_incidents"
    assert incidents["title"] == "Crimes 2022"
    assert incidents["columns"]["occurred_at"] == "Date"
    assert incidents["formats"] == {"occurred_at": "epoch_ms"}
    assert incidents["columns"]["area"] == "Community Area"
    assert incidents["area_type"] == "community_area"
    catalog = load_catalog(path, sources)
    findings = validate_city(catalog, path, sources, live=True)
    assert [f for f in findings if f.severity == "error"] == []


def test_civic_city_init_refuses_to_overwrite(portal, sources, monkeypatch, capsys):
    monkeypatch.setattr("pipelines.settings.SOURCES_DIR", sources)  # where the CLI writes
    args = ["city", "init", "lakeside", "--portal", "socrata", "--base-url", portal.url,
            "--dataset", "crimes=crm1-2345"]  # fmt: skip
    init_city(
        "lakeside", "Lakeside", "socrata", portal.url, {"crimes": "crm1-2345"}, sources_dir=sources
    )
    assert main(args) == 1
    assert "lakeside.yml exists: edit it, or pass --force" in capsys.readouterr().err
