"""`civic validate` catches, before any run, what would otherwise fail (or be wrong) at run time.

Each case edits a real shipped catalog in a temporary copy of sources/ and checks the finding
names the file, the key and the published value; the bundled copies are the real extracts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines.catalog import CatalogError, city_catalogs, load_catalog
from pipelines.cli import main
from pipelines.settings import SOURCES_DIR
from pipelines.validate import validate_city


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A copy of sources/ (data files linked, not copied) a test may edit."""
    root = tmp_path / "sources"
    shutil.copytree(SOURCES_DIR, root, copy_function=_link_or_copy)
    return root


def _link_or_copy(source: str, target: str) -> None:
    if source.endswith((".yml", ".csv")):
        shutil.copy(source, target)  # small text files a test may edit
    else:  # the bundled extracts, read only: hard links (symlinks out of sources/ are refused)
        try:
            os.link(source, target)
        except OSError:  # another file system
            shutil.copy(source, target)


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return path


def findings_of(sources: Path, city: str) -> list:
    path = sources / "cities" / f"{city}.yml"
    return validate_city(load_catalog(path, sources), path, sources)


def errors(findings: list) -> list[str]:
    return [str(f) for f in findings if f.severity == "error"]


def test_shipped_catalogs_have_no_errors():
    for catalog in city_catalogs():
        path = SOURCES_DIR / "cities" / f"{catalog.city}.yml"
        assert errors(validate_city(catalog, path)) == [], catalog.city


def test_two_canonical_columns_mapped_to_one_published_column(sources):
    path = edit(
        sources / "cities" / "chicago.yml",
        "offense_type: Primary Type, offense_description: Description,",
        "offense_type: Primary Type, offense_description: Primary Type,",
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(path, sources)
    message = str(caught.value)
    assert str(path) in message and "datasets.crimes.columns" in message
    assert "one published column mapped to several canonical columns: ['Primary Type']" in message


def test_a_date_format_that_does_not_parse_the_bundled_copy(sources):
    # the file writes 09/30/2019 (month first): a day-first format fails on most rows
    edit(
        sources / "cities" / "nyc.yml",
        'formats: {occurred_at: "%m/%d/%Y"',
        'formats: {occurred_at: "%d/%m/%Y"',
    )
    found = errors(findings_of(sources, "nyc"))
    assert len(found) == 1, found
    assert (
        "nyc.yml: datasets.shooting_incidents.formats.occurred_at: format '%d/%m/%Y' does "
        in found[0]
    )
    assert (
        "sampled 'OCCUR_DATE' values of the bundled copy nyc/shooting_incidents_2006_2019"
        in found[0]
    )
    assert "'09/30/" in found[0] or "/2017'" in found[0]  # real published values, shown


def test_a_non_iso_date_without_a_format(sources):
    edit(sources / "cities" / "nyc.yml", 'formats: {occurred_at: "%m/%d/%Y", ', "formats: {")
    found = errors(findings_of(sources, "nyc"))
    assert any(
        "datasets.shooting_incidents.formats.occurred_at: no format is given, and ISO 8601 does "
        "not parse" in f
        for f in found
    ), found


def test_a_mapping_to_a_column_the_source_lacks(sources):
    edit(
        sources / "cities" / "nyc.yml", 'violent_count: "Violent Total"', 'violent_count: "Violent"'
    )
    found = errors(findings_of(sources, "nyc"))
    assert len(found) == 1, found
    assert (
        "datasets.index_crimes.columns.violent_count: 'Violent' is not a column of the bundled "
        in found[0]
    )
    assert "'Violent Total'" not in found[0] or "its columns:" in found[0]


def test_an_unpivot_pattern_matching_no_column(sources):
    edit(sources / "cities" / "chicago.yml", '"^([0-9]{4})_ordinance_amount$"', '"^fy([0-9]{4})$"')
    found = errors(findings_of(sources, "chicago"))
    assert found == [
        f"{sources / 'cities' / 'chicago.yml'}: datasets.appropriations.unpivot.pattern.columns: "
        "'^fy([0-9]{4})$' matches no column of the bundled copy "
        "chicago/budget_appropriations_2019.csv.gz (raw names: 'fund_type', 'fund_code', "
        "'fund_description' (+7 more))"
    ]


def test_a_null_marker_not_declared(sources):
    edit(sources / "cities" / "nyc.yml", 'null_markers: ["s"]', "null_markers: []")
    found = errors(findings_of(sources, "nyc"))
    assert any(
        "datasets.graduation_outcomes.columns." in f and "'s'" in f and "null_markers" in f
        for f in found
    ), found


def test_an_unknown_area_type(sources):
    path = edit(
        sources / "cities" / "chicago.yml", "area_type: community_area\n", "area_type: parish\n"
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(path, sources)
    assert "datasets.crimes.area_type: unknown area type 'parish'" in str(caught.value)
    assert "sources/area_types.yml" in str(caught.value)


def test_an_unknown_offence_category(sources):
    rules = sources / "offenses" / "chicago.csv"
    edit(rules, "4,ROBBERY,%,,robbery,violent", "4,ROBBERY,%,,robbery,disorder")
    with pytest.raises(CatalogError) as caught:
        load_catalog(sources / "cities" / "chicago.yml", sources)
    message = str(caught.value)
    assert f"{rules}: line 5: category: unknown category 'disorder'" in message
    assert "(known: violent, property, shooting" in message


def test_an_offence_in_the_wrong_category(sources):
    rules = sources / "offenses" / "chicago.csv"
    edit(rules, "4,ROBBERY,%,,robbery,violent", "4,ROBBERY,%,,robbery,property")
    with pytest.raises(CatalogError, match="line 5: category: 'robbery' is a violent offence"):
        load_catalog(sources / "cities" / "chicago.yml", sources)


def test_a_census_place_that_does_not_exist(sources):
    edit(sources / "cities" / "chicago.yml", 'place: "1714000"', 'place: "1799999"')
    found = errors(findings_of(sources, "chicago"))
    assert found == [
        f"{sources / 'cities' / 'chicago.yml'}: census.place: '1799999' is no place of 50,000+ "
        "residents of the bundled Census estimates (reference/census_places_2010_2019.csv.gz); "
        "check the GEOID"
    ]


def test_civic_validate_exits_1_and_names_the_problem(sources, monkeypatch, capsys):
    edit(
        sources / "cities" / "nyc.yml", 'violent_count: "Violent Total"', 'violent_count: "Violent"'
    )
    monkeypatch.setattr("pipelines.settings.SOURCES_DIR", sources)  # where the CLI looks
    assert main(["validate", "--city", "nyc"]) == 1
    err = capsys.readouterr().err
    assert "1 would fail or be wrong at run time" in err
    assert "datasets.index_crimes.columns.violent_count: 'Violent' is not a column" in err
