"""`civic publish`: versioned, immutable releases with a data package, a DCAT catalog and a
changelog, built from the warehouse of the shared `built_warehouse` run (copied, never changed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from frictionless import Package

from pipelines.publishing import PublishError, ReleaseExistsError, publish_release
from pipelines.publishing import release as release_module
from pipelines.publishing.release import next_version

DCAT_REQUIRED = [
    "title",
    "description",
    "keyword",
    "modified",
    "publisher",
    "contactPoint",
    "identifier",
    "accessLevel",
]


def quiet(_: str) -> None:
    pass


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def warehouse_copy(built_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("publish-warehouse") / "civic.duckdb"
    shutil.copy(built_warehouse, copy)
    return copy


@pytest.fixture(scope="module")
def first_release(warehouse_copy: Path, tmp_path_factory: pytest.TempPathFactory):
    releases = tmp_path_factory.mktemp("releases")
    return publish_release(warehouse_copy, releases, version="1.0.0", progress=quiet)


def marts_rows(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        return {
            t: con.execute(f'select count(*) from marts."{t}"').fetchall()[0][0] for (t,) in tables
        }


def resources(release_dir: Path) -> dict[str, dict]:
    package = json.loads((release_dir / "datapackage.json").read_text())
    return {r["name"]: r for r in package["resources"]}


def test_release_layout_and_latest_pointer(first_release) -> None:
    root = first_release.path
    assert root.name == "1.0.0"
    for name in ("datapackage.json", "data.json", "CHANGELOG.md", "changes.json"):
        assert (root / name).is_file(), name
    for table in first_release.rows:
        assert (root / "data" / f"{table}.csv").is_file()
        assert (root / "data" / f"{table}.parquet").is_file()
    assert {"fct_indicator_values", "dim_indicators"} <= set(first_release.rows)
    assert (root.parent / "latest").read_text().strip() == "1.0.0"
    assert not [p for p in root.parent.iterdir() if p.name.endswith(".partial")]
    changes = json.loads((root / "changes.json").read_text())
    assert changes["previous_version"] is None
    assert all(t["status"] == "new" for t in changes["tables"].values())


def test_release_validates_with_frictionless(first_release) -> None:
    report = Package(str(first_release.path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_release_passes_the_frictionless_command_line(first_release) -> None:
    """What an open-data team runs: `frictionless validate datapackage.json`."""
    command = [str(Path(sys.executable).with_name("frictionless")), "validate", "datapackage.json"]
    result = subprocess.run(
        command, cwd=first_release.path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "valid" in result.stdout.lower()


def test_a_broken_release_does_not_validate(first_release, tmp_path: Path) -> None:
    """Validation can fail: duplicate key, orphan foreign key, value outside enum, bad hash."""
    broken = tmp_path / "broken"
    shutil.copytree(first_release.path, broken)
    catalog = broken / "data" / "dim_indicators.csv"
    lines = catalog.read_text().splitlines()
    lines.append(lines[1])  # duplicate primary key
    header = lines[0].split(",")
    row = next(csv_row for csv_row in pa_csv.read_csv(catalog).to_pylist())
    bad = dict(row, indicator_id="not_an_indicator", polarity="sideways")
    lines.append(",".join(json.dumps(str(bad[h.strip('"')])) for h in header))
    catalog.write_text("\n".join(lines) + "\n")
    values = broken / "data" / "fct_indicator_values.csv"
    text = values.read_text().splitlines()
    first_id = pa_csv.read_csv(values).column("indicator_id")[0].as_py()
    text[1] = text[1].replace(f'"{first_id}"', '"no_such_indicator"', 1)
    values.write_text("\n".join(text) + "\n")

    report = Package(str(broken / "datapackage.json")).validate()
    kinds = {error[0] for error in report.flatten(["type"])}
    assert not report.valid
    assert {"primary-key", "foreign-key", "constraint-error", "hash-count"} <= kinds, kinds

    descriptor = json.loads((broken / "datapackage.json").read_text())
    for resource in descriptor["resources"]:  # without hashes, the data errors alone fail it
        resource.pop("hash"), resource.pop("bytes")
    (broken / "datapackage.json").write_text(json.dumps(descriptor))
    report = Package(str(broken / "datapackage.json")).validate()
    kinds = {error[0] for error in report.flatten(["type"])}
    assert not report.valid and {"primary-key", "foreign-key", "constraint-error"} <= kinds


def test_files_hold_every_warehouse_row(first_release, warehouse_copy: Path) -> None:
    in_warehouse = marts_rows(warehouse_copy)
    for table, rows in first_release.rows.items():
        csv_rows = pa_csv.read_csv(first_release.path / "data" / f"{table}.csv").num_rows
        parquet = pq.ParquetFile(first_release.path / "data" / f"{table}.parquet")
        assert rows == csv_rows == parquet.metadata.num_rows == in_warehouse[table], table


def test_schemas_carry_keys_and_constraints_from_dbt(first_release) -> None:
    by_name = resources(first_release.path)
    catalog = by_name["dim_indicators"]["schema"]
    assert catalog["primaryKey"] == ["indicator_id"]
    values = by_name["fct_indicator_values"]["schema"]
    assert {"city", "area_type", "area_id", "indicator_id", "period_start"} <= set(
        values["primaryKey"]
    )
    assert {
        "fields": ["indicator_id"],
        "reference": {"resource": "dim_indicators", "fields": ["indicator_id"]},
    } in values["foreignKeys"]
    fields = {f["name"]: f for f in values["fields"]}
    assert fields["period_start"]["type"] == "date"
    assert fields["value"]["type"] == "number"
    assert fields["period_grain"]["constraints"]["enum"] == ["month", "year"]
    assert fields["indicator_id"]["constraints"]["required"] is True
    assert fields["denominator"]["constraints"]["minimum"] == 1
    # `value` is range-tested only for some rows (a `where`): no schema-wide bound.
    assert "minimum" not in fields["value"].get("constraints", {})
    assert all(f.get("description") for f in fields.values() if f["name"] in {"value", "unit"})
    assert values["missingValues"] == [""]
    # the published key is a key of the published data
    table = pq.read_table(first_release.path / "data" / "fct_indicator_values.parquet")
    with duckdb.connect() as con:
        con.register("t", table)
        keys = ", ".join(f'"{c}"' for c in values["primaryKey"])
        dup = con.execute(f"select count(*) - count(distinct ({keys})) from t").fetchall()[0][0]
    assert dup == 0


def test_dcat_catalog_has_required_fields(first_release, warehouse_copy: Path) -> None:
    catalog = json.loads((first_release.path / "data.json").read_text())
    assert catalog["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    datasets = {d["identifier"].split("#")[-1]: d for d in catalog["dataset"]}
    assert set(datasets) == set(first_release.rows)
    for name, dataset in datasets.items():
        for key in DCAT_REQUIRED:
            assert dataset.get(key), (name, key)
        assert dataset["publisher"]["name"] and dataset["contactPoint"]["hasEmail"]
        assert dataset["contactPoint"]["hasEmail"].startswith("mailto:")
        assert dataset["describedBy"].endswith("/1.0.0/datapackage.json")
        media = {d["mediaType"]: d["downloadURL"] for d in dataset["distribution"]}
        assert media["text/csv"].endswith(f"/1.0.0/data/{name}.csv")
        assert media["application/vnd.apache.parquet"].endswith(f"/1.0.0/data/{name}.parquet")
        assert dataset["accrualPeriodicity"].startswith("R/P") and dataset["spatial"]
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        first = con.execute("select min(period_start) from marts.fct_indicator_values").fetchall()[
            0
        ]
    temporal = datasets["fct_indicator_values"]["temporal"]
    assert temporal.startswith(first[0].isoformat() + "/")


def test_second_release_changelog_counts_exact_changes(
    first_release, warehouse_copy: Path, tmp_path: Path
) -> None:
    releases = tmp_path / "releases"
    shutil.copytree(first_release.path.parent, releases)
    changed = tmp_path / "changed.duckdb"
    shutil.copy(warehouse_copy, changed)
    with duckdb.connect(str(changed)) as con:
        ids = [
            r[0]
            for r in con.execute(
                "select rowid from marts.fct_indicator_values order by rowid limit 6"
            ).fetchall()
        ]
        con.execute("delete from marts.fct_indicator_values where rowid in (?, ?, ?)", ids[:3])
        con.execute(
            "update marts.fct_indicator_values set value = value + 1 where rowid in (?, ?)",
            ids[3:5],
        )
        con.execute(
            "insert into marts.fct_indicator_values select * replace "
            "('added in test' as breakdown_value) from marts.fct_indicator_values "
            "where rowid = ?",
            [ids[5]],
        )
        indicator = con.execute(
            "select indicator_id from marts.dim_indicators order by indicator_id limit 1"
        ).fetchall()[0][0]
        con.execute(
            "update marts.dim_indicators set description = 'Redefined in test' "
            "where indicator_id = ?",
            [indicator],
        )
    before = tree_digest(releases / "1.0.0")

    second = publish_release(changed, releases, version="1.1.0", validate=False, progress=quiet)

    changes = json.loads((second.path / "changes.json").read_text())
    assert changes["previous_version"] == "1.0.0"
    values = changes["tables"]["fct_indicator_values"]
    assert (values["added"], values["removed"], values["changed"]) == (1, 3, 2)
    assert values["samples"]["added"][0]["breakdown_value"] == "added in test"
    catalog = changes["tables"]["dim_indicators"]
    assert (catalog["added"], catalog["removed"], catalog["changed"]) == (0, 0, 1)
    definitions = changes["indicator_definitions_changed"]
    assert [d["indicator_id"] for d in definitions] == [indicator]
    assert definitions[0]["changes"]["description"]["new"] == "Redefined in test"
    assert set(definitions[0]["changes"]) == {"description"}
    for name, table in changes["tables"].items():
        if name not in {"fct_indicator_values", "dim_indicators"}:
            assert table["status"] == "unchanged", name
    markdown = (second.path / "CHANGELOG.md").read_text()
    assert "since release 1.0.0" in markdown and "Redefined in test" in markdown
    assert "| fct_indicator_values | " in markdown
    assert (releases / "latest").read_text().strip() == "1.1.0"
    assert tree_digest(releases / "1.0.0") == before


def test_publishing_an_existing_version_is_refused(first_release, warehouse_copy: Path) -> None:
    before = tree_digest(first_release.path)
    with pytest.raises(ReleaseExistsError, match="release 1.0.0 already exists.*immutable"):
        publish_release(warehouse_copy, first_release.path.parent, version="1.0.0", progress=quiet)
    assert tree_digest(first_release.path) == before


@pytest.mark.parametrize("failing_step", ["write_csv", "compare_releases", "validate_package"])
def test_a_failed_publish_leaves_no_release(
    first_release, warehouse_copy: Path, tmp_path: Path, monkeypatch, failing_step: str
) -> None:
    releases = tmp_path / "releases"
    shutil.copytree(first_release.path.parent, releases)
    before = tree_digest(releases)
    calls = []

    def fail(*args, **kwargs):
        calls.append(failing_step)
        if failing_step == "write_csv" and len(calls) == 1:
            return original(*args, **kwargs)  # the first table is written, the second fails
        raise OSError(f"disk full during {failing_step}")

    owner = release_module.changelog if failing_step == "compare_releases" else release_module
    original = getattr(owner, failing_step)
    monkeypatch.setattr(owner, failing_step, fail)
    with pytest.raises(OSError, match="disk full"):
        publish_release(warehouse_copy, releases, version="2.0.0", progress=quiet)
    assert calls
    assert tree_digest(releases) == before  # no 2.0.0, no partial folder, latest unchanged
    assert sorted(p.name for p in releases.iterdir()) == ["1.0.0", "latest"]


def test_an_invalid_release_is_not_published(
    first_release, warehouse_copy: Path, tmp_path: Path, monkeypatch
) -> None:
    """The frictionless check gates publishing: a schema the data breaks stops the release."""
    real = release_module.datapackage.table_schema

    def too_strict(contract, schema, published):
        result = real(contract, schema, published)
        for field in result["fields"]:
            if field["name"] == "indicator_id":
                field["constraints"] = {"enum": ["nothing_matches"]}
        return result

    monkeypatch.setattr(release_module.datapackage, "table_schema", too_strict)
    releases = tmp_path / "releases"
    with pytest.raises(PublishError, match="does not validate"):
        publish_release(warehouse_copy, releases, version="3.0.0", progress=quiet)
    assert list(releases.iterdir()) == []


def test_default_versions_count_releases_of_the_day(tmp_path: Path) -> None:
    for name in ("2026.11.25-1", "2026.11.25-2", "2026.11.24-7", "1.0.0"):
        (tmp_path / name).mkdir()
    now = datetime(2026, 11, 25, 23, 59, tzinfo=UTC)
    assert next_version(tmp_path, now) == "2026.11.25-3"
    assert next_version(tmp_path, datetime(2026, 11, 26, tzinfo=UTC)) == "2026.11.26-1"


def test_bad_version_and_missing_warehouse_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="invalid release version"):
        publish_release(tmp_path / "none.duckdb", tmp_path, version="../up", progress=quiet)
    with pytest.raises(PublishError, match="not found"):
        publish_release(tmp_path / "none.duckdb", tmp_path / "r", version="1", progress=quiet)
    assert list((tmp_path / "r").iterdir()) == []


def test_publishes_from_the_parquet_exports_too(
    first_release, built_warehouse: Path, tmp_path: Path
) -> None:
    exports = built_warehouse.parent / "exports"
    release = publish_release(exports, tmp_path, version="1.0.0", validate=False, progress=quiet)
    assert release.rows == first_release.rows
    assert resources(release.path).keys() == resources(first_release.path).keys()
