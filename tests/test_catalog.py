"""City catalogs: the shipped ones are valid, and bad ones fail naming the file and key."""

from pathlib import Path

import pytest

from pipelines.catalog import CatalogError, city_catalogs, load_catalog
from pipelines.settings import SOURCES_DIR

GOOD_DATASET = """
    raw_table: chicago_crimes
    domain: crime
    title: t
    description: d
    portal: {kind: socrata, base_url: "https://data.cityofchicago.org", dataset_id: ijzp-q8t2}
    bundled: {path: chicago/crimes_2022.parquet, format: parquet}
    license: l
    provenance: p
"""


def write_catalog(tmp_path: Path, dataset_yaml: str) -> Path:
    path = tmp_path / "testcity.yml"
    path.write_text(f"city: testcity\nname: Test City\ndatasets:\n  crimes:{dataset_yaml}")
    return path


def test_shipped_catalogs_are_valid_and_their_files_exist():
    catalogs = city_catalogs()
    files = sorted((SOURCES_DIR / "cities").glob("*.yml"))
    assert [c.city for c in catalogs] == [path.stem for path in files]
    assert {"chicago", "nyc"} <= {c.city for c in catalogs}
    for catalog in catalogs:
        for dataset in catalog.datasets.values():
            assert list(SOURCES_DIR.glob(dataset.bundled.path)), dataset.bundled.path


def test_good_catalog_loads(tmp_path):
    catalog = load_catalog(write_catalog(tmp_path, GOOD_DATASET))
    assert catalog.datasets["crimes"].raw_table == "chicago_crimes"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("raw_table: chicago_crimes", 'raw_table: "x; drop table y"'),
            "datasets.crimes.raw_table",
        ),
        (("path: chicago/crimes_2022.parquet", "path: ../../etc/passwd"), "bundled.path"),
        (("kind: socrata", "kind: gopher"), "datasets.crimes.portal.kind"),
        (("license: l", "licence: l"), "datasets.crimes.licence"),
    ],
)
def test_bad_catalog_names_file_and_key(tmp_path, change, expected):
    path = write_catalog(tmp_path, GOOD_DATASET.replace(*change))
    with pytest.raises(CatalogError) as error:
        load_catalog(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_missing_and_malformed_catalog_files(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nowhere.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("city: [unclosed")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(broken)


def test_city_must_match_file_name(tmp_path):
    path = write_catalog(tmp_path, GOOD_DATASET)
    renamed = path.rename(tmp_path / "othercity.yml")
    with pytest.raises(CatalogError, match="city: must match the file name"):
        load_catalog(renamed)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("    feeds: crime_incidents\n    columns: {occurred_at: Date}\n", "requires ['area']"),
        (
            "    feeds: crime_incidents\n    columns: {occurred_at: Date, area: A, colour: C}\n",
            "not columns of crime_incidents: ['colour']",
        ),
        ("    feeds: weather\n    columns: {x: y}\n", "unknown canonical table 'weather'"),
        ("    columns: {occurred_at: Date}\n", "set `feeds` too"),
        ("    partitioning: {column: Date, format: '%Y', start: '2022-13'}\n", "YYYY-MM"),
        ("    cadence: hourly\n", "cadence"),
    ],
)
def test_canonical_mapping_and_schedule_fields_are_checked(tmp_path, extra, expected):
    path = write_catalog(tmp_path, GOOD_DATASET + extra)
    (tmp_path / "canonical.yml").write_text((SOURCES_DIR / "canonical.yml").read_text())
    with pytest.raises(CatalogError) as error:
        load_catalog(path, sources_dir=tmp_path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_hostile_portal_values_are_refused(tmp_path):
    hostile = GOOD_DATASET.replace("dataset_id: ijzp-q8t2", 'dataset_id: "x\' or 1=1 --"')
    with pytest.raises(CatalogError, match="portal.dataset_id"):
        load_catalog(write_catalog(tmp_path, hostile))
    local = GOOD_DATASET.replace('"https://data.cityofchicago.org"', '"file:///etc/passwd"')
    with pytest.raises(CatalogError, match="portal.base_url"):
        load_catalog(write_catalog(tmp_path, local))


def test_reader_options_reach_the_file_connector(tmp_path, monkeypatch):
    """A tab-separated file with description lines above its header (bundled.delimiter,
    bundled.skip_rows) is read as the catalog says: real DC rows, two description lines."""
    import gzip

    import duckdb

    from pipelines import sources

    rows = gzip.decompress(
        (SOURCES_DIR / "dc" / "crime_incidents_2022_jan_sep.tsv.gz").read_bytes()
    )
    lines = rows.decode().splitlines()[:6]
    (tmp_path / "dc").mkdir()
    text = "Crime incidents, extract of 2022\r\nSource: MPD\r\n" + "\r\n".join(lines) + "\r\n"
    (tmp_path / "dc" / "crimes.tsv").write_text(text)
    dataset = GOOD_DATASET.replace(
        "bundled: {path: chicago/crimes_2022.parquet, format: parquet}",
        'bundled: {path: dc/crimes.tsv, format: csv, delimiter: "\\t", skip_rows: 2}',
    )
    catalog = load_catalog(write_catalog(tmp_path, dataset))
    monkeypatch.setattr(sources, "SOURCES_DIR", tmp_path)
    with duckdb.connect() as con:  # an empty warehouse: the first load reads every file
        extract = sources.DataSources().extract(
            con, "testcity", "crimes", catalog.datasets["crimes"]
        )
        scan = extract.rows()
        relation = con.sql(scan.sql, params=scan.params)
        assert relation.columns[:3] == ["CCN", "REPORT_DAT", "SHIFT"]
        assert len(relation.fetchall()) == 5
