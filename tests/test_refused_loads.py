"""Loads that would do harm are refused before anything is replaced, or their bad rows set
aside (issue 14, items 5 to 8). Each case starts from a good load of the real bundled file,
through the path the raw assets take (`DataSources` picks the files, `load_raw_table` with
the table's whole quality suite), then loads the bad input: the message is asserted, and the
previous data are unchanged, byte for byte, where nothing may be swapped in.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from test_bad_input import (
    AREAS,
    DATASETS,
    assert_unchanged,
    bundled_rows,
    content,
    loads,
    write_bytes,
    write_rows,
)

from pipelines.catalog import NumberFormat
from pipelines.cli import main
from pipelines.connectors import ConnectorError, FileConnector
from pipelines.loading import LoadError, load_raw_table
from pipelines.quality.suites import raw_suite
from pipelines.settings import SOURCES_DIR
from pipelines.sources import DataSources, whole_range
from pipelines.summary import summarize

SHOOTINGS = "nyc_shooting_incidents"
APPROPRIATIONS = "chicago_appropriations"
GRADUATION = "nyc_graduation_outcomes"
AMOUNT = "2019 ORDINANCE (AMOUNT $)"


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def pipeline_load(con, table: str, root: Path = SOURCES_DIR, dataset=None, **sources):
    """Load `table` the way its raw asset does, reading the dataset's files under `root`."""
    dataset = dataset or DATASETS[table]
    chosen = DataSources(**sources)
    connector = FileConnector(root, dataset.bundled.path, dataset.bundled.format)
    extract = chosen.bundled_extract(con, connector, dataset, chosen.requested_months(dataset))
    return load_raw_table(
        con,
        table,
        extract.rows(),
        columns=dataset.columns,
        months=extract.months,
        merge_key=extract.merge_key,
        suite=raw_suite(dataset),
        numbers=dataset.numbers,
        allow_shrink=chosen.allow_shrink,
    )


def good_state(con, table: str) -> tuple[list[tuple], int]:
    result = pipeline_load(con, table)
    assert result.rows > 0 and result.quarantined == 0
    return content(con, table), loads(con)


def index(con, table: str) -> list[tuple]:
    return con.execute(
        "select file, size, modified, first_month, last_month, rows from meta.source_files "
        "where raw_table = ? order by file",
        [table],
    ).fetchall()


def header_only(root: Path, table: str) -> Path:
    return write_rows(root, table, bundled_rows(table)[:1])


# --- 5. validate before swap ------------------------------------------------------------------


def test_a_header_only_file_cannot_empty_a_dated_table(con, tmp_path):
    before, files = good_state(con, SHOOTINGS), index(con, SHOOTINGS)
    rows = len(bundled_rows(SHOOTINGS)) - 1
    with pytest.raises(LoadError) as caught:
        pipeline_load(con, SHOOTINGS, header_only(tmp_path, SHOOTINGS))
    # One file holds every month: replacing it replaces the whole table.
    scope = whole_range(DATASETS[SHOOTINGS]).describe()
    assert str(caught.value) == (
        "raw.nyc_shooting_incidents: load refused before anything was replaced (months, "
        f"{scope}): row_count_drop FAILED (critical), {rows:,} unexpected: 0 rows vs "
        f"{rows:,} in the rows this load replaces (-100.0%); allowed >= {rows // 2:,}; "
        "previous data kept. The load would empty or gut what it replaces: if the source "
        "really has fewer rows now, re-run with --allow-shrink"
    )
    assert_unchanged(con, SHOOTINGS, before)
    assert index(con, SHOOTINGS) == files  # the next run still sees the file as changed


def test_a_month_load_cannot_gut_its_months(con, tmp_path):
    before = good_state(con, SHOOTINGS)
    rows = bundled_rows(SHOOTINGS)
    when = rows[0].index("OCCUR_DATE")

    def in_early_2019(row: list[str]) -> bool:
        return row[when].startswith(("01/", "02/")) and row[when].endswith("/2019")

    # The file lost every row of January and February 2019 but those of the 1st.
    kept = [rows[0], *(r for r in rows[1:] if not in_early_2019(r) or r[when][3:5] == "01")]
    with pytest.raises(
        LoadError,
        match=r"\(months, months 2019-01 to 2019-03 \(exclusive\)\): row_count_drop FAILED",
    ):
        pipeline_load(
            con,
            SHOOTINGS,
            write_rows(tmp_path, SHOOTINGS, kept),
            first_month="2019-01",
            last_month="2019-02",
        )
    assert_unchanged(con, SHOOTINGS, before)


def test_allow_shrink_lets_the_operator_accept_a_smaller_source(con, tmp_path):
    good_state(con, SHOOTINGS)
    result = pipeline_load(con, SHOOTINGS, header_only(tmp_path, SHOOTINGS), allow_shrink=True)
    assert result.rows == 0 and con.execute(f"select count(*) from raw.{SHOOTINGS}").fetchone() == (
        0,
    )
    drop = next(r for r in result.checks if r.rule.name == "row_count_drop")
    assert not drop.passed  # recorded as failed, but the operator allowed it
    recorded = con.execute(
        "select passed from meta.check_results where load_id = ? and check_name = 'row_count_drop'",
        [result.load_id],
    ).fetchone()
    assert recorded == (False,)


def test_a_missing_required_column_is_refused_before_the_swap(con, tmp_path):
    # `Side` is required by the suite but mapped by no catalog key: the suite refuses it
    before = good_state(con, AREAS)
    rows = bundled_rows(AREAS)
    dropped = [r[:-1] for r in rows]
    assert rows[0][-1] == "Side"
    with pytest.raises(LoadError, match=r"required_columns FAILED \(critical\), 1 unexpected"):
        pipeline_load(con, AREAS, write_rows(tmp_path, AREAS, dropped))
    assert_unchanged(con, AREAS, before)


def test_a_missing_mapped_column_is_refused_before_the_swap(con, tmp_path):
    # POP2010 is mapped onto the canonical `population` (issue 11): refused by the mapping
    # check, before the suite, the previous data intact
    before = good_state(con, "chicago_population_2010")
    rows = bundled_rows("chicago_population_2010")
    index_of = rows[0].index("POP2010")
    dropped = [[*r[:index_of], *r[index_of + 1 :]] for r in rows]
    with pytest.raises(LoadError, match=r"no longer has the mapped column\(s\) \['POP2010'\]"):
        pipeline_load(
            con, "chicago_population_2010", write_rows(tmp_path, "chicago_population_2010", dropped)
        )
    assert_unchanged(con, "chicago_population_2010", before)


def test_duplicated_keys_are_refused_before_the_swap(con, tmp_path):
    table = "chicago_unemployment_rate"
    before = good_state(con, table)
    rows = bundled_rows(table)
    with pytest.raises(LoadError, match=r"date_unique FAILED \(critical\), 4 unexpected"):
        pipeline_load(
            con, table, write_rows(tmp_path, table, [*rows, rows[5], [rows[9][0], "9.9"]])
        )
    assert_unchanged(con, table, before)


def test_backfill_reports_a_refused_load_as_a_failure(
    built_warehouse, tmp_path, monkeypatch, capsys
):
    """`civic backfill` of months a header-only file would empty: rc 1, the reason, and the
    warehouse's raw table exactly as before."""
    sources = tmp_path / "sources"
    header_only(sources, SHOOTINGS)
    monkeypatch.setattr("pipelines.sources.SOURCES_DIR", sources)
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        before = content(con, SHOOTINGS), loads(con)
    code = main(
        [
            "backfill",
            "--city",
            "nyc",
            "--dataset",
            "shooting_incidents",
            "--from",
            "2019-01",
            "--to",
            "2019-02",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert (
        "nyc.shooting_incidents: raw.nyc_shooting_incidents: load refused before anything "
        "was replaced (months, months 2019-01 to 2019-03 (exclusive)): row_count_drop FAILED" in err
    )
    assert "civic backfill FAILED" in err
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        assert (content(con, SHOOTINGS), loads(con)) == before


# --- 6. numbers parsed deliberately -----------------------------------------------------------


def with_amount(table_rows, index: int, value: str):
    column = table_rows[0].index(AMOUNT)
    row = table_rows[index]
    table_rows[index] = [*row[:column], value, *row[column + 1 :]]
    return table_rows


def real_total() -> float:
    rows = bundled_rows(APPROPRIATIONS)
    column = rows[0].index(AMOUNT)
    return sum(float(r[column]) for r in rows[1:])


def test_a_decimal_comma_among_decimal_points_is_refused(con, tmp_path):
    before = good_state(con, APPROPRIATIONS)
    bad = with_amount(bundled_rows(APPROPRIATIONS), 1, "7028929,00")
    with pytest.raises(LoadError) as caught:
        pipeline_load(con, APPROPRIATIONS, write_rows(tmp_path, APPROPRIATIONS, bad))
    message = str(caught.value)
    assert message.startswith(
        f"raw.chicago_appropriations: column {AMOUNT!r} mixes number formats: 3,506 values "
        "with a decimal point (e.g. "
    )
    assert "and 1 with a decimal comma (e.g. '7028929,00')" in message
    assert "State the column's format in the catalog (numbers: {" in message
    assert_unchanged(con, APPROPRIATIONS, before)


def test_a_stated_format_quarantines_the_value_instead_of_rescaling_it(con, tmp_path):
    stated = DATASETS[APPROPRIATIONS].model_copy(
        update={"numbers": {AMOUNT: NumberFormat(decimal=".", thousands=",")}}
    )
    pipeline_load(con, APPROPRIATIONS, dataset=stated)
    bad = with_amount(bundled_rows(APPROPRIATIONS), 1, "7028929,00")
    result = pipeline_load(
        con, APPROPRIATIONS, write_rows(tmp_path, APPROPRIATIONS, bad), dataset=stated
    )
    assert result.quarantined_by_rule == {"2019_ordinance_amount_number_format": 1}
    (value,) = con.execute(
        "select row_values->>'2019_ordinance_amount' from meta.quarantined_rows where load_id = ?",
        [result.load_id],
    ).fetchone()
    assert value == "7028929,00"  # kept as published, with its row
    (total,) = con.execute(
        'select sum(cast("2019_ordinance_amount" as decimal(18, 2))) '
        "from raw.chicago_appropriations"
    ).fetchone()
    assert float(total) == pytest.approx(real_total() - 7028929.00)  # never 702892900


def test_a_decimal_comma_file_is_detected_and_read_as_such(con, tmp_path):
    rows = bundled_rows(APPROPRIATIONS)
    column = rows[0].index(AMOUNT)
    comma = [
        rows[0],
        *(
            [
                *r[:column],
                f"{float(r[column]):,.2f}".replace(",", "_").replace(".", ",").replace("_", "."),
                *r[column + 1 :],
            ]
            for r in rows[1:]
        ),
    ]
    assert comma[1][column] == "7.028.929,00"
    pipeline_load(con, APPROPRIATIONS, write_rows(tmp_path, APPROPRIATIONS, comma))
    (total,) = con.execute(
        'select sum(cast("2019_ordinance_amount" as decimal(18, 2))) '
        "from raw.chicago_appropriations"
    ).fetchone()
    amounts = {
        r[0]
        for r in con.execute(
            'select "2019_ordinance_amount" from raw.chicago_appropriations'
        ).fetchall()
    }
    assert float(total) == pytest.approx(real_total())
    assert "7028929.00" in amounts  # rewritten with a decimal point for every reader downstream


# --- 7. text hygiene ---------------------------------------------------------------------------


def test_a_nul_byte_quarantines_its_row(con, tmp_path):
    good_state(con, AREAS)
    text = (SOURCES_DIR / DATASETS[AREAS].bundled.path).read_text()
    result = pipeline_load(
        con,
        AREAS,
        write_bytes(tmp_path, AREAS, text.replace("Rogers Park", "Rogers\x00Park").encode()),
    )
    assert result.quarantined_by_rule == {"no_nul_character": 1}
    (values,) = con.execute(
        "select row_values::varchar from meta.quarantined_rows where load_id = ?", [result.load_id]
    ).fetchone()
    assert "Rogers\\u0000Park" in values
    names = {
        r[0]
        for r in con.execute("select community_name from raw.chicago_community_areas").fetchall()
    }
    assert "Rogers Park" not in names and not any("\x00" in n for n in names if n)


def test_stray_control_characters_are_stripped_and_counted(tmp_path, monkeypatch):
    """The real NYC graduation file has \\x16 in 79 school names: stripped, counted, summed
    up at the end of the run."""
    warehouse = tmp_path / "civic.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        result = pipeline_load(con, GRADUATION)
        assert result.stripped == {"school_name": 79}
        assert con.execute(
            "select count(*) from raw.nyc_graduation_outcomes where school_name similar to "
            "'.*[\\x01-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f].*'"
        ).fetchone() == (0,)
        assert (
            con.execute(
                "select count(*) from raw.nyc_graduation_outcomes where school_name = "
                "'EBC HIGH SCHOOL FOR PUBLIC SERVICEBU'"
            ).fetchone()[0]
            > 0
        )
        con.execute(  # the summary also counts indicators: none here
            "create schema marts; "
            "create table marts.fct_indicator_values (city varchar, indicator_id varchar); "
            "create table marts.dim_indicators (indicator_id varchar, domain varchar)"
        )
    lines = summarize(warehouse).lines()
    assert (
        "  raw.nyc_graduation_outcomes.school_name: control characters stripped in 79 value(s)"
        in lines
    )


def test_repeated_header_names_are_refused_before_anything_is_replaced(con, tmp_path):
    before = good_state(con, AREAS)
    text = (SOURCES_DIR / DATASETS[AREAS].bundled.path).read_text()
    repeated = text.replace(
        "CommunityArea,CommunityName,Side", "CommunityArea,CommunityName,CommunityName", 1
    )
    with pytest.raises(ConnectorError) as caught:
        pipeline_load(con, AREAS, write_bytes(tmp_path, AREAS, repeated.encode()))
    assert str(caught.value) == (
        "chicago/community_areas.csv: the header repeats column name(s) ['CommunityName']; which "
        "column is meant cannot be known. Rename the repeated columns in the file and re-run "
        "the load"
    )
    assert_unchanged(con, AREAS, before)


def test_repeated_columns_the_catalog_does_not_read_are_kept(con):
    """DC's ACS ward table (real file) repeats four subtotal names the catalog never reads:
    it loads, both copies kept (DuckDB numbers the second); were a repeated name read by
    the catalog, the same file would be refused."""
    from pipelines.catalog import city_catalog
    from pipelines.sources import bundled_connector

    catalog = city_catalog("dc")
    dataset = catalog.datasets["ward_population"]
    extract = DataSources().extract(con, "dc", "ward_population", dataset)
    result = load_raw_table(
        con, dataset.raw_table, extract.rows(), columns=dataset.columns, suite=raw_suite(dataset)
    )
    assert result.rows == 8
    names = [r[0] for r in con.execute(f"describe raw.{dataset.raw_table}").fetchall()]
    subtotal = "sex_and_age_total_population_18_years_and_over"
    assert subtotal in names and f"{subtotal}_1" in names
    reading = dataset.model_copy(
        update={"columns": {**dataset.columns, "name": "RACE: Total population: One race"}}
    )
    with pytest.raises(ConnectorError, match=r"repeats column name\(s\) \['RACE: Total"):
        bundled_connector(reading, catalog).scan()


# --- 8. paths stay inside sources/ -------------------------------------------------------------


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_symlink_out_of_the_sources_folder_is_refused(con, tmp_path, what):
    before = good_state(con, AREAS)
    root = tmp_path / "sources"
    (root / "chicago").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy("/etc/shells", outside / "community_areas.csv")
    if what == "file":
        os.symlink(outside / "community_areas.csv", root / "chicago" / "community_areas.csv")
    else:
        (root / "chicago").rmdir()
        os.symlink(outside, root / "chicago")
    with pytest.raises(ConnectorError) as caught:
        pipeline_load(con, AREAS, root)
    assert str(caught.value) == (
        f"chicago/community_areas.csv resolves to {outside / 'community_areas.csv'}, outside "
        f"{root}: a symlink (or a path) pointing out of the folder data are read from is "
        "refused. Copy the file into the folder instead, and re-run the load"
    )
    assert_unchanged(con, AREAS, before)
