"""The file connector and the raw loader, on the real bundled files."""

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from pipelines.connectors import ConnectorError, FileConnector
from pipelines.loading import LoadError, column_name, load_raw_table
from pipelines.settings import SOURCES_DIR

APPROPRIATIONS = "chicago/budget_appropriations_2019.csv.gz"
REPORTS = "chicago/school_progress_reports_sy*.csv.gz"


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("Primary Type", "primary_type"),
        ("CommunityArea", "community_area"),
        ("2019 ORDINANCE (AMOUNT $)", "2019_ordinance_amount"),
        ("PER CAPITA INCOME ", "per_capita_income"),
        ("ILCOOK1URN", "ilcook1urn"),
        ("permit_", "permit"),
        ("Graduation_4_Year_School_Pct_Year_1", "graduation_4_year_school_pct_year_1"),
    ],
)
def test_column_names_become_snake_case(published, expected):
    assert column_name(published) == expected


def test_csv_load_keeps_every_row_and_value_as_published(con):
    result = load_raw_table(
        con, "appropriations", FileConnector(SOURCES_DIR, APPROPRIATIONS, "csv").batches()
    )
    expected = pl.read_csv(SOURCES_DIR / APPROPRIATIONS, infer_schema=False)
    assert result.rows == expected.height
    loaded = con.execute(
        'select sum(cast("2019_ordinance_amount" as decimal(18, 2))) from raw.appropriations'
    ).fetchone()[0]
    assert float(loaded) == pytest.approx(
        expected["2019 ORDINANCE (AMOUNT $)"].cast(pl.Float64).sum()
    )
    types = {row[1] for row in con.execute("describe raw.appropriations").fetchall()}
    assert types == {"VARCHAR", "TIMESTAMP WITH TIME ZONE"}  # text as published + _loaded_at


def test_glob_of_files_is_one_table_with_source_file(con):
    load_raw_table(con, "reports", FileConnector(SOURCES_DIR, REPORTS, "csv").batches())
    per_file = dict(
        con.execute("select _source_file, count(*) from raw.reports group by 1").fetchall()
    )
    expected = {
        f"chicago/{path.name}": pl.read_csv(path, infer_schema=False).height
        for path in SOURCES_DIR.glob(REPORTS)
    }
    assert per_file == expected


def test_missing_file_is_a_clear_error():
    with pytest.raises(ConnectorError, match="no file matches .*nothing_here.csv"):
        list(FileConnector(SOURCES_DIR, "chicago/nothing_here.csv", "csv").batches())


def test_reload_replaces_rows_instead_of_appending(con):
    connector = FileConnector(SOURCES_DIR, APPROPRIATIONS, "csv")
    first = load_raw_table(con, "appropriations", connector.batches())
    second = load_raw_table(con, "appropriations", connector.batches())
    count, load_ids = con.execute(
        "select count(*), list(distinct _load_id) from raw.appropriations"
    ).fetchone()
    assert count == first.rows == second.rows
    assert load_ids == [second.load_id]


def test_failure_midway_keeps_previous_data(con):
    connector = FileConnector(SOURCES_DIR, APPROPRIATIONS, "csv")
    good = load_raw_table(con, "appropriations", connector.batches())
    before = con.execute("select * from raw.appropriations order by all").fetchall()

    def half_then_fail():
        batches = connector.batches()
        yield next(batches).slice(0, 100)
        raise ConnectionError("portal went away after the first page")

    with pytest.raises(LoadError, match="appropriations.*portal went away.*previous data kept"):
        load_raw_table(con, "appropriations", half_then_fail())
    assert con.execute("select * from raw.appropriations order by all").fetchall() == before
    assert len(before) == good.rows
    leftovers = con.execute(
        "select table_name from information_schema.tables where table_name like '%__loading'"
    ).fetchall()
    assert leftovers == []


def test_empty_source_and_colliding_columns_keep_previous_data(con):
    load_raw_table(con, "t", [pa.record_batch({"a": ["1"]})])
    with pytest.raises(LoadError, match="raw.t: the source returned no rows"):
        load_raw_table(con, "t", [])
    with pytest.raises(LoadError, match="collide.*primary_type"):
        load_raw_table(con, "t", [pa.record_batch({"Primary Type": ["x"], "primary_type": ["y"]})])
    assert con.execute("select a from raw.t").fetchall() == [("1",)]


def test_invalid_table_name_is_refused(con):
    with pytest.raises(LoadError, match="not a valid raw table name"):
        load_raw_table(con, 'x"; drop table raw.t; --', [pa.record_batch({"a": ["1"]})])
