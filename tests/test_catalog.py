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
    assert [c.city for c in catalogs] == ["chicago"]
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
