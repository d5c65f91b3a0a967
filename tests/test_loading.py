"""The file connector and the raw loader, on the real bundled files."""

from datetime import date

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from pipelines.connectors import ConnectorError, FileConnector
from pipelines.loading import LoadError, MonthRange, column_name, latest_watermark, load_raw_table
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


SHOOTINGS = "nyc/shooting_incidents_2006_2019.csv.gz"
SHOOTING_COLUMNS = {"incident_id": "INCIDENT_KEY", "occurred_at": "OCCUR_DATE", "area": "BORO"}


def months(start: str, end: str) -> MonthRange:
    return MonthRange(
        "OCCUR_DATE", "%m/%d/%Y", date.fromisoformat(f"{start}-01"), date.fromisoformat(f"{end}-01")
    )


def shootings_in(year_month: str) -> int:
    frame = pl.read_csv(SOURCES_DIR / SHOOTINGS, infer_schema=False)
    return frame.filter(
        pl.col("OCCUR_DATE").str.to_date("%m/%d/%Y").dt.strftime("%Y-%m") == year_month
    ).height


def test_column_mapping_renames_to_canonical_names(con):
    load_raw_table(
        con,
        "shootings",
        FileConnector(SOURCES_DIR, SHOOTINGS, "csv").batches(),
        columns=SHOOTING_COLUMNS,
    )
    names = [row[0] for row in con.execute("describe raw.shootings").fetchall()]
    assert {"incident_id", "occurred_at", "area", "precinct", "statistical_murder_flag"} <= set(
        names
    )
    assert "occur_date" not in names


def test_renamed_published_column_is_schema_drift(con):
    drifted = [
        pa.record_batch({"INCIDENT_NUMBER": ["1"], "OCCUR_DATE": ["01/01/2019"], "BORO": ["X"]})
    ]
    with pytest.raises(LoadError, match=r"no longer has the mapped column\(s\) \['INCIDENT_KEY'\]"):
        load_raw_table(con, "shootings", drifted, columns=SHOOTING_COLUMNS)


def test_month_loads_replace_exactly_their_months(con):
    connector = FileConnector(SOURCES_DIR, SHOOTINGS, "csv")
    first = load_raw_table(
        con, "shootings", connector.batches(), months=months("2019-01", "2019-03")
    )
    assert first.rows == shootings_in("2019-01") + shootings_in("2019-02")
    again = load_raw_table(
        con, "shootings", connector.batches(), months=months("2019-02", "2019-04")
    )
    by_month = dict(
        con.execute(
            "select strftime(_partition, '%Y-%m'), count(*) from raw.shootings group by 1"
        ).fetchall()
    )
    assert by_month == {m: shootings_in(m) for m in ("2019-01", "2019-02", "2019-03")}
    assert again.rows == shootings_in("2019-02") + shootings_in("2019-03")


def test_unreadable_dates_are_quarantined_not_dropped(con):
    rows = pa.record_batch(
        {
            "OCCUR_DATE": ["01/05/2019", "not a date", "01/20/2019"],
            "BORO": ["BRONX", "QUEENS", "KINGS"],
        }
    )
    result = load_raw_table(con, "shootings", [rows], months=months("2019-01", "2019-02"))
    assert result.rows == 2 and result.quarantined == 1
    rule, values = con.execute("select rule, row_values from meta.quarantined_rows").fetchone()
    assert "occur_date" in rule and "not a date" in values and "QUEENS" in values


def test_merge_replaces_changed_keys_and_records_watermark(con):
    first = pa.record_batch({":id": ["a", "b"], "value": ["1", "2"]})
    load_raw_table(con, "t", [first], merge_key=":id", watermark="2024-01-01T00:00:00")
    changed = pa.record_batch({":id": ["b", "c"], "value": ["20", "3"]})
    load_raw_table(con, "t", [changed], merge_key=":id", watermark="2024-02-01T00:00:00")
    assert con.execute("select id, value from raw.t order by id").fetchall() == [
        ("a", "1"),
        ("b", "20"),
        ("c", "3"),
    ]
    assert latest_watermark(con, "t") == "2024-02-01T00:00:00"


def test_failed_load_records_no_watermark(con):
    load_raw_table(con, "t", [pa.record_batch({"a": ["1"]})], watermark="w1")

    def broken():
        yield pa.record_batch({"a": ["2"]})
        raise TimeoutError("read timed out")

    with pytest.raises(LoadError, match="TimeoutError"):
        load_raw_table(con, "t", broken(), watermark="w2")
    assert latest_watermark(con, "t") == "w1"


def test_file_connector_reads_only_files_changed_since_the_watermark(con, tmp_path):
    for month in ("01", "02"):
        (tmp_path / f"crimes_2022_{month}.csv").write_text(f"Date,Block\n2022-{month}-03,X\n")
    connector = FileConnector(tmp_path, "crimes_*.csv", "csv")
    load_raw_table(
        con,
        "crimes",
        connector.batches(),
        merge_key="_source_file",
        watermark=lambda: connector.watermark,
    )
    mark = latest_watermark(con, "crimes")
    assert mark == connector.watermark

    unchanged = FileConnector(tmp_path, "crimes_*.csv", "csv", since=mark)
    assert list(unchanged.batches()) == []

    (tmp_path / "crimes_2022_03.csv").write_text("Date,Block\n2022-03-09,Y\n2022-03-10,Z\n")
    new_month = FileConnector(tmp_path, "crimes_*.csv", "csv", since=mark)
    result = load_raw_table(con, "crimes", new_month.batches(), merge_key="_source_file")
    assert result.rows == 2
    assert con.execute(
        "select count(*), count(distinct _source_file) from raw.crimes"
    ).fetchone() == (4, 3)


def test_scan_in_the_warehouse_loads_the_same_as_streamed_batches(con):
    streamed = load_raw_table(con, "a", FileConnector(SOURCES_DIR, REPORTS, "csv").batches())
    scanned = load_raw_table(con, "b", FileConnector(SOURCES_DIR, REPORTS, "csv").scan())
    assert streamed.columns == scanned.columns
    columns = ", ".join(f'"{c}"' for c in streamed.columns if c not in ("_load_id", "_loaded_at"))
    difference = con.execute(
        f"select count(*) from (select {columns} from raw.a except all select {columns} from raw.b)"
    ).fetchone()[0]
    assert difference == 0 and scanned.rows == streamed.rows


def test_unreadable_file_scanned_in_the_warehouse_keeps_previous_data(con, tmp_path):
    (tmp_path / "good.csv").write_text("a,b\n1,2\n")
    load_raw_table(con, "t", FileConnector(tmp_path, "good.csv", "csv").scan())
    (tmp_path / "bad.csv").write_text('a,b\n1,"unterminated\n2,3,4,5\n')
    with pytest.raises(LoadError, match=r"raw\.t: could not read the source.*previous data kept"):
        load_raw_table(con, "t", FileConnector(tmp_path, "bad.csv", "csv").scan())
    assert con.execute("select a, b from raw.t").fetchall() == [("1", "2")]


def test_the_date_is_parsed_once_its_rules_report_the_rows_it_quarantined(con):
    """Chicago's crimes suite reads `Date` as the partition does: its not-null and parses
    rules are not evaluated again after staging (no second parse of every date); their
    results report the rows the date rule quarantined."""
    from pipelines.catalog import city_catalog
    from pipelines.quality.suites import raw_suite

    dataset = city_catalog("chicago").datasets["crimes"]
    row = {published: ["x"] for published in dataset.columns.values()}
    row.update({"Date": ["2022-01-03 10:00:00", "yesterday"], "Community Area": ["8", "8"]})
    row.update({"Arrest": ["false"] * 2, "Domestic": ["true"] * 2, "Primary Type": ["THEFT"] * 2})
    row = {name: values * 2 if len(values) == 1 else values for name, values in row.items()}
    start, end = date(2022, 1, 1), date(2022, 2, 1)
    result = load_raw_table(
        con,
        dataset.raw_table,
        [pa.record_batch(row)],
        columns=dataset.columns,
        months=MonthRange("Date", dataset.partitioning.format, start, end),
        suite=raw_suite(dataset),
    )
    assert result.rows == 1 and result.quarantined == 1
    assert result.quarantined_by_rule == {"unreadable date in occurred_at": 1}
    checks = {check.rule.name: check for check in result.checks}
    for name in ("occurred_at_not_null", "occurred_at_parses"):
        assert checks[name].passed
        assert checks[name].observed == "1 row(s) quarantined at load (meta.quarantined_rows)"


def test_a_bundled_load_does_not_import_the_network_stack():
    """pipelines.connectors imports its connectors on first use: loading bundled files must
    not pay for httpx and the portal connectors at start-up."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pipelines.sources import DataSources\n"
        "from pipelines.loading import load_raw_table\n"
        "from pipelines.connectors import FileConnector, ConnectorError\n"
        "loaded = sorted(m for m in ('httpx', 'tenacity', 'pipelines.connectors.http',\n"
        "    'pipelines.connectors.socrata') if m in sys.modules)\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_removed_bundled_file_takes_its_rows_with_it(con, tmp_path):
    """A dated dataset's folder loses a file and gains none: the next load drops that
    file's rows (it reads the other files again) instead of refusing an empty read."""
    from pipelines.catalog import BundledFile, city_catalog
    from pipelines.loader.plan import plan_bundled
    from pipelines.quality.suites import raw_suite

    folder = tmp_path / "crimes"
    folder.mkdir()
    source = SOURCES_DIR / "chicago" / "crimes_2022.parquet"
    with duckdb.connect() as scratch:  # three months of the real 2022 file, one CSV each
        for month in ("01", "02", "03"):
            scratch.execute(
                f"copy (select * from read_parquet('{source}') where substr(Date, 6, 2) = "
                f"'{month}') to '{folder}/crimes_2022_{month}.csv' (header true)"
            )
    crimes = city_catalog("chicago").datasets["crimes"]
    dataset = crimes.model_copy(
        update={"bundled": BundledFile(path="crimes/crimes_*.csv", format="csv")}
    )

    def load() -> str:
        connector = FileConnector(tmp_path, "crimes/crimes_*.csv", "csv")
        extract = plan_bundled(con, connector, dataset, None)
        load_raw_table(
            con,
            dataset.raw_table,
            extract.rows(),
            columns=dataset.columns,
            months=extract.months,
            merge_key=extract.merge_key,
            watermark=extract.watermark,
            source=connector.source_uri(),
            suite=raw_suite(dataset),
            numbers=dataset.numbers,
            allow_shrink=True,  # a removed month is a shrink the operator allows
        )
        return extract.mode

    def files_loaded() -> dict[str, int]:
        return dict(
            con.execute(
                f"select _source_file, count(*) from raw.{dataset.raw_table} group by 1"
            ).fetchall()
        )

    load()
    before = files_loaded()
    assert len(before) == 3
    (folder / "crimes_2022_02.csv").unlink()
    assert "1 file(s) removed" in load()
    after = files_loaded()
    assert after == {name: n for name, n in before.items() if "2022_02" not in name}
