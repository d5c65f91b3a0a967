"""Bad input: each case starts from a good load of a real bundled file, then loads the bad
input and asserts the message (or the quarantined rows and their rule) and that the good data
are unchanged, the bad rows absent.

Catalogue: item -> test (this file unless a module is named) -> behaviour. Items that other
modules already cover are referenced there, not repeated.

- ragged rows -> test_ragged_rows_name_file_and_line
  -> LoadError naming the file, the line and the field counts; previous data kept
- bad quoting, unclosed quote -> test_unclosed_quote_names_file_and_line
  -> LoadError naming the file and the line
- bad quoting, stray quote inside a field -> test_stray_quote_inside_a_field_is_loaded_as_published
  -> loaded, the value exactly as published (not cut, not dropped)
- wrong encoding (Latin-1 bytes) -> test_latin1_bytes_name_file_line_and_byte
  -> LoadError naming the file, the line and the byte; no encoding is guessed
- UTF-8 BOM -> test_utf8_bom_is_not_part_of_the_header (and the real NYC graduation file,
  which has a BOM, in test_percentages_over_100_are_quarantined) -> loads, header without BOM
- wrong types (text in a count) -> test_text_in_a_count_column_is_quarantined
  -> rows quarantined under index_count_parses
- missing required (mapped) column, renamed column
  -> test_missing_or_renamed_mapped_column_is_schema_drift
  (and test_loading.py::test_renamed_published_column_is_schema_drift, Arrow batches)
  -> LoadError naming the table and the mapped column; previous data kept
- duplicate rows and keys -> test_refused_loads.py::test_duplicated_keys_are_refused_before_the_swap
  (the raw asset's path: the load is refused, nothing replaced); a blocking check on a table
  already holding them: test_duplicates_fail_the_blocking_check_and_stop_the_assets_downstream
  (and test_quality.py::test_a_duplicated_key_fails) -> severity ERROR, nothing downstream runs
- header-only file into a dated table, a load gutting a month, --allow-shrink, civic backfill
  reporting the refusal, decimal commas, NUL bytes and control characters, repeated header
  names, symlinks out of sources/ -> tests/test_refused_loads.py (issue 14, items 5 to 8)
- negative counts -> test_negative_counts_are_quarantined -> violent_count_non_negative
- percentages over 100 -> test_percentages_over_100_are_quarantined -> graduation_pct_0_to_100
- future dates -> test_future_dates_are_quarantined -> date_not_in_future
- value outside an allowed set -> test_unknown_category_is_quarantined -> row_type_known
- bad rows in a month load -> test_month_loads_quarantine_bad_rows_of_the_months_they_load
  -> quarantined under area_is_borough, the months' other rows loaded
- every row bad -> test_a_load_whose_every_row_is_bad_fails
  -> LoadError with the rules and an example row; nothing swapped in or quarantined
- empty file, header only and zero bytes -> test_empty_files_name_the_file
  -> LoadError (no rows) / ConnectorError (0 bytes), naming the file
- truncated JSON, file connector -> test_truncated_json_file_names_the_file
  -> LoadError naming the file and the byte
- truncated JSON, network connector -> test_truncated_json_from_a_portal_keeps_previous_data
  (and test_connector_http.py::test_a_cut_body_without_length_is_invalid_json,
  ::test_a_truncated_body_is_retried_then_reported) -> LoadError: page not valid JSON
- HTML error page, network -> test_connector_socrata.py::
  test_an_html_page_served_as_data_is_a_clear_error, test_connector_http.py::
  test_html_and_empty_bodies_are_clear_errors -> ConnectorError: HTML page instead of data
- HTML page saved as a local .csv -> test_html_page_saved_as_csv_is_refused
  -> ConnectorError naming the file and the page title
- oversized field (20 MB) -> test_oversized_csv_field_fails_without_truncation (CSV: LoadError,
  line over the pinned 2,000,000-byte limit); test_oversized_field_from_a_portal_is_loaded_intact
  (Arrow batches, as from portals and Parquet: loaded whole). Never truncated.
- hostile catalog values -> CatalogError naming the file and the key:
  raw_table: test_catalog.py::test_bad_catalog_names_file_and_key (and
  test_loading.py::test_invalid_table_name_is_refused); dataset_id and base_url:
  test_catalog.py::test_hostile_portal_values_are_refused; column names, partition column,
  portal options (where, date_field, option names, token_env):
  test_hostile_catalog_values_name_file_and_key; quality suite column names:
  test_hostile_suite_column_name_names_file_and_key (QualityError, file and key)
- path traversal in bundled.path -> test_catalog.py::test_bad_catalog_names_file_and_key
  (../../etc/passwd), plus absolute and inner `..` paths in
  test_hostile_catalog_values_name_file_and_key
- unknown portal kind -> test_catalog.py::test_bad_catalog_names_file_and_key (kind: gopher)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dagster import AssetCheckSeverity, AssetKey, asset, materialize
from dagster_duckdb import DuckDBResource
from portal_server import FIXTURES, PortalServer, Reply, Seen, socrata_rows
from test_catalog import GOOD_DATASET, write_catalog

from pipelines.catalog import CatalogError, city_catalogs, load_catalog
from pipelines.connectors import ConnectorError, FileConnector, RetryPolicy, SocrataConnector
from pipelines.loading import LoadError, MonthRange, load_raw_table
from pipelines.quality.checks import build_quality_check
from pipelines.quality.row_rules import row_rules
from pipelines.quality.suites import QualityError, raw_suite, read_suite_file
from pipelines.settings import SOURCES_DIR

DATASETS = {d.raw_table: d for c in city_catalogs() for d in c.datasets.values()}
AREAS = "chicago_community_areas"
INDEX_CRIMES = "nyc_index_crimes"
GRADUATION = "nyc_graduation_outcomes"
UNEMPLOYMENT = "chicago_unemployment_rate"
EXPENDITURES = "nyc_expenditures"

Rows = list[list[str]]


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def load(con, table: str, root: Path = SOURCES_DIR, path: str | None = None, fmt: str = ""):
    """Load a dataset of the catalogs the way the raw asset does (mapping and row rules)."""
    dataset = DATASETS[table]
    connector = FileConnector(root, path or dataset.bundled.path, fmt or dataset.bundled.format)
    return load_raw_table(
        con,
        table,
        connector.scan(),
        columns=dataset.columns,
        row_rules=row_rules(raw_suite(dataset)),
    )


def content(con, table: str) -> list[tuple]:
    return con.execute(
        f'select * exclude (_load_id, _loaded_at) from raw."{table}" order by all'
    ).fetchall()


def loads(con) -> int:
    return con.execute("select count(*) from meta.load_log").fetchone()[0]


def good_load(con, table: str) -> tuple[list[tuple], int]:
    """Load the real bundled file; return what must survive a bad load."""
    result = load(con, table)
    assert result.rows > 0 and result.quarantined == 0
    return content(con, table), loads(con)


def assert_unchanged(con, table: str, before: tuple[list[tuple], int]) -> None:
    rows, load_lines = before
    assert content(con, table) == rows
    assert loads(con) == load_lines  # no load recorded
    leftovers = con.execute(
        "select count(*) from information_schema.tables where table_name like '%\\_\\_loading' "
        "escape '\\'"
    ).fetchone()[0]
    assert leftovers == 0


def bundled_rows(table: str) -> Rows:
    path = SOURCES_DIR / DATASETS[table].bundled.path
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def write_rows(root: Path, table: str, rows: Rows) -> Path:
    """The dataset's file under `root` (same relative path, so `_source_file` matches)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return write_bytes(root, table, buffer.getvalue().encode())


def write_bytes(root: Path, table: str, data: bytes) -> Path:
    path = root / DATASETS[table].bundled.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return root


def edited(table: str, edit: Callable[[Rows], Rows]) -> Rows:
    return edit(bundled_rows(table))


def set_values(column: str, value: str, count: int, where: Callable[[str], bool] = bool):
    """An edit setting `column` to `value` on the first `count` data rows matching `where`."""

    def edit(rows: Rows) -> Rows:
        index = rows[0].index(column)
        picked = [n for n, row in enumerate(rows[1:], start=1) if where(row[index])][:count]
        assert len(picked) == count
        for n in picked:
            rows[n] = [*rows[n][:index], value, *rows[n][index + 1 :]]
        return rows

    return edit


def assert_quarantined(
    con, tmp_path: Path, table: str, bad: Rows, good_rows: Rows, rule: str, value: str
) -> None:
    """Load `bad`: the rows differing from `good_rows` are quarantined under `rule`, and the
    table holds exactly the good file's other rows."""
    changed = [n for n, row in enumerate(bad) if n >= len(good_rows) or row != good_rows[n]]
    result = load(con, table, write_rows(tmp_path / "bad", table, bad))
    after_bad = content(con, table)
    assert result.quarantined == len(changed) > 0
    quarantined = con.execute(
        "select rule, row_values::varchar from meta.quarantined_rows "
        "where raw_table = ? and load_id = ?",
        [table, result.load_id],
    ).fetchall()
    assert {r for r, _ in quarantined} == {rule}
    assert all(value in values for _, values in quarantined)
    # Expected: the good file without the edited rows, loaded the same way.
    kept = [row for n, row in enumerate(bad) if n not in changed]
    expected = load(con, table, write_rows(tmp_path / "expected", table, kept))
    assert expected.quarantined == 0 and result.rows == expected.rows
    assert after_bad == content(con, table)


# --- malformed CSV ----------------------------------------------------------------------------


def test_ragged_rows_name_file_and_line(con, tmp_path):
    before = good_load(con, AREAS)
    rows = bundled_rows(AREAS)
    rows[9] = [*rows[9], "extra"]
    with pytest.raises(LoadError) as caught:
        load(con, AREAS, write_rows(tmp_path, AREAS, rows))
    assert str(caught.value).startswith(
        "raw.chicago_community_areas: could not read the source (chicago/community_areas.csv: "
        "line 10: 4 fields, the header has 3); previous data kept"
    )
    assert_unchanged(con, AREAS, before)


def test_unclosed_quote_names_file_and_line(con, tmp_path):
    before = good_load(con, AREAS)
    text = (SOURCES_DIR / DATASETS[AREAS].bundled.path).read_text()
    broken = text.replace("1,Rogers Park,", '1,"Rogers Park,', 1)
    with pytest.raises(
        LoadError,
        match=r"chicago/community_areas.csv: line \d+: unexpected end of data "
        r"\(a quote opened and never closed\?\)\); previous data kept",
    ):
        load(con, AREAS, write_bytes(tmp_path, AREAS, broken.encode()))
    assert_unchanged(con, AREAS, before)


def test_stray_quote_inside_a_field_is_loaded_as_published(con, tmp_path):
    good_load(con, AREAS)
    text = (SOURCES_DIR / DATASETS[AREAS].bundled.path).read_text()
    odd = text.replace("1,Rogers Park,", '1,Rogers "Park,', 1)
    load(con, AREAS, write_bytes(tmp_path, AREAS, odd.encode()))
    names = [
        r[0] for r in con.sql("select community_name from raw.chicago_community_areas").fetchall()
    ]
    assert 'Rogers "Park' in names and len(names) == 78  # not cut, not dropped


def test_latin1_bytes_name_file_line_and_byte(con, tmp_path):
    before = good_load(con, AREAS)
    data = (SOURCES_DIR / DATASETS[AREAS].bundled.path).read_bytes()
    latin1 = data.replace(b"Rogers Park", "Rogers Parké".encode("latin-1"), 1)
    with pytest.raises(
        LoadError,
        match=r"chicago/community_areas.csv: not UTF-8 \(byte 0xe9 on line 3\): re-save it as "
        r"UTF-8",
    ):
        load(con, AREAS, write_bytes(tmp_path, AREAS, latin1))
    assert_unchanged(con, AREAS, before)


def test_utf8_bom_is_not_part_of_the_header(con, tmp_path):
    rows, _ = good_load(con, AREAS)
    data = (SOURCES_DIR / DATASETS[AREAS].bundled.path).read_bytes()
    result = load(con, AREAS, write_bytes(tmp_path, AREAS, b"\xef\xbb\xbf" + data))
    assert result.columns[:3] == ["community_area", "community_name", "side"]
    assert content(con, AREAS) == rows


# --- row rules: quarantined, never silently dropped -------------------------------------------


def test_text_in_a_count_column_is_quarantined(con, tmp_path):
    good_load(con, INDEX_CRIMES)
    bad = edited(INDEX_CRIMES, set_values("Index Total", "n/a", 3))
    assert_quarantined(
        con, tmp_path, INDEX_CRIMES, bad, bundled_rows(INDEX_CRIMES), "index_count_parses", "n/a"
    )


def test_negative_counts_are_quarantined(con, tmp_path):
    good_load(con, INDEX_CRIMES)
    bad = edited(INDEX_CRIMES, set_values("Violent Total", "-5", 2))
    assert_quarantined(
        con,
        tmp_path,
        INDEX_CRIMES,
        bad,
        bundled_rows(INDEX_CRIMES),
        "violent_count_non_negative",
        '"violent_count":"-5"',
    )


def test_percentages_over_100_are_quarantined(con, tmp_path):
    # The real file starts with a UTF-8 BOM: its first column maps (Demographic) all the same.
    good_load(con, GRADUATION)
    bad = edited(
        GRADUATION, set_values("Total Grads - % of cohort", "150.0", 2, lambda v: v != "s")
    )
    assert_quarantined(
        con,
        tmp_path,
        GRADUATION,
        bad,
        bundled_rows(GRADUATION),
        "graduation_pct_0_to_100",
        '"graduation_pct":"150.0"',
    )


def test_future_dates_are_quarantined(con, tmp_path):
    good_load(con, UNEMPLOYMENT)
    bad = [*bundled_rows(UNEMPLOYMENT), ["2099-01-01", "5.0"]]
    assert_quarantined(
        con,
        tmp_path,
        UNEMPLOYMENT,
        bad,
        bundled_rows(UNEMPLOYMENT),
        "date_not_in_future",
        "2099-01-01",
    )


def test_unknown_category_is_quarantined(con, tmp_path):
    good_load(con, EXPENDITURES)
    bad = edited(EXPENDITURES, set_values("row_type", "subtotal", 2))
    assert_quarantined(
        con,
        tmp_path,
        EXPENDITURES,
        bad,
        bundled_rows(EXPENDITURES),
        "row_type_known",
        '"row_type":"subtotal"',
    )


def test_a_load_whose_every_row_is_bad_fails(con, tmp_path):
    before = good_load(con, UNEMPLOYMENT)
    rows = bundled_rows(UNEMPLOYMENT)
    bad = [rows[0], *([date, "n/a"] for date, _ in rows[1:])]
    with pytest.raises(LoadError) as caught:
        load(con, UNEMPLOYMENT, write_rows(tmp_path, UNEMPLOYMENT, bad))
    message = str(caught.value)
    assert message.startswith(
        f"raw.chicago_unemployment_rate: every row of the load ({len(rows) - 1:,}) failed a "
        f"critical row rule (unemployment_rate_parses: {len(rows) - 1:,}); previous data kept"
    )
    assert '"unemployment_rate":"n/a"' in message
    assert_unchanged(con, UNEMPLOYMENT, before)
    assert con.execute("select count(*) from meta.quarantined_rows").fetchone()[0] == 0


# --- schema drift -----------------------------------------------------------------------------


def without_column(rows: Rows, name: str) -> Rows:
    index = rows[0].index(name)
    return [[*row[:index], *row[index + 1 :]] for row in rows]


def renamed_column(rows: Rows, name: str) -> Rows:
    return [[f"{c} Name" if c == name else c for c in rows[0]], *rows[1:]]


@pytest.mark.parametrize(
    ("change", "missing"),
    [(without_column, "Index Total"), (renamed_column, "County")],
    ids=["missing", "renamed"],
)
def test_missing_or_renamed_mapped_column_is_schema_drift(con, tmp_path, change, missing):
    before = good_load(con, INDEX_CRIMES)
    drifted = change(bundled_rows(INDEX_CRIMES), missing)
    with pytest.raises(
        LoadError,
        match=rf"raw\.nyc_index_crimes: the source no longer has the mapped column\(s\) "
        rf"\['{missing}'\]",
    ):
        load(con, INDEX_CRIMES, write_rows(tmp_path, INDEX_CRIMES, drifted))
    assert_unchanged(con, INDEX_CRIMES, before)


# --- duplicates: a table-level rule, checked after the load -----------------------------------


def test_duplicates_fail_the_blocking_check_and_stop_the_assets_downstream(tmp_path):
    """Duplicates are not quarantined: which copy of a repeated key is right cannot be known,
    so the blocking check fails and nothing downstream (dbt, exports) is rebuilt."""
    warehouse = tmp_path / "civic.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        good_load(connection, UNEMPLOYMENT)
    rows = bundled_rows(UNEMPLOYMENT)
    root = write_rows(tmp_path / "bad", UNEMPLOYMENT, [*rows, rows[5], [rows[9][0], "99.9"]])
    key = AssetKey(["raw", UNEMPLOYMENT])
    ran: list[str] = []

    @asset(key=key)
    def unemployment(warehouse: DuckDBResource) -> None:
        with warehouse.get_connection() as connection:
            load(connection, UNEMPLOYMENT, root)

    @asset(key=["staging", "downstream_of_unemployment"], deps=[key])
    def downstream() -> None:
        ran.append("downstream")

    result = materialize(
        [unemployment, downstream, build_quality_check(key, raw_suite(DATASETS[UNEMPLOYMENT]))],
        resources={"warehouse": DuckDBResource(database=str(warehouse))},
        raise_on_error=False,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = {name for name, e in evaluations.items() if not e.passed}
    assert failed == {"date_unique"}
    assert evaluations["date_unique"].severity == AssetCheckSeverity.ERROR
    assert evaluations["date_unique"].metadata["unexpected_count"].value == 4
    assert ran == [] and not result.success


# --- empty files, truncated JSON, HTML pages --------------------------------------------------


def test_empty_files_name_the_file(con, tmp_path):
    before = good_load(con, AREAS)
    header_only = write_bytes(tmp_path / "header", AREAS, b"CommunityArea,CommunityName,Side\n")
    with pytest.raises(
        LoadError,
        match=r"^raw\.chicago_community_areas: the source returned no rows "
        r"\(chicago/community_areas\.csv\); previous data kept$",
    ):
        load(con, AREAS, header_only)
    with pytest.raises(
        ConnectorError, match=r"^chicago/community_areas\.csv is empty \(0 bytes\), not csv"
    ):
        load(con, AREAS, write_bytes(tmp_path / "zero", AREAS, b""))
    assert_unchanged(con, AREAS, before)


def test_truncated_json_file_names_the_file(con, tmp_path):
    header, *data = bundled_rows(AREAS)
    records = [dict(zip(header, row, strict=True)) for row in data]
    (tmp_path / "areas.json").write_text(json.dumps(records))
    good = load(con, AREAS, tmp_path, "areas.json", "json")
    before = content(con, AREAS), loads(con)
    assert good.rows == len(data)
    text = json.dumps(records)
    (tmp_path / "areas.json").write_text(text[: len(text) // 2])
    with pytest.raises(
        LoadError,
        match=r"raw\.chicago_community_areas: could not read the source \(areas\.json: "
        r"Malformed JSON in file .*areas\.json.*unexpected end of data.*\); previous data kept",
    ):
        load(con, AREAS, tmp_path, "areas.json", "json")
    assert_unchanged(con, AREAS, before)


FAST = RetryPolicy(max_attempts=2, backoff_seconds=0.01, total_seconds=3, timeout_seconds=2)


def test_truncated_json_from_a_portal_keeps_previous_data(con):
    page = json.loads((FIXTURES / "soda_resource_bike_counts_page_1.json").read_text())
    with PortalServer() as portal:
        portal.route(
            "/api/views/bike-cnts.json", lambda _: Reply.file("socrata_view_bike_counts_built.json")
        )
        portal.route("/resource/bike-cnts.json", socrata_rows(page))

        def connector(**options) -> SocrataConnector:
            return SocrataConnector(
                portal.url,
                "bike-cnts",
                name="bike_counts",
                retry=FAST,
                system_fields=False,
                **options,
            )

        assert load_raw_table(con, "bike_counts", connector().batches()).rows == len(page)
        before = content(con, "bike_counts"), loads(con)
        # The second page is cut mid-way (no Content-Length, so only the JSON parser can tell).
        good_pages = socrata_rows(page)

        def second_page_cut(request: Seen) -> Reply:
            reply = good_pages(request)
            if request.query["$offset"] == "0":
                return reply
            return Reply(200, reply.body[: len(reply.body) // 2], length=False)

        portal.route("/resource/bike-cnts.json", second_page_cut)
        with pytest.raises(
            LoadError,
            match=r"raw\.bike_counts: loading stopped while reading the source \(ConnectorError: "
            r"socrata dataset bike_counts \(bike-cnts\) page 2 \(offset 500\): .* not valid JSON"
            r".*previous data kept",
        ):
            load_raw_table(con, "bike_counts", connector(page_size=500).batches())
    assert_unchanged(con, "bike_counts", before)


def test_html_page_saved_as_csv_is_refused(con, tmp_path):
    before = good_load(con, AREAS)
    page = b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n</html>"
    with pytest.raises(
        ConnectorError,
        match=r"^chicago/community_areas\.csv is an HTML page \('503 Service Unavailable'\), "
        r"not csv",
    ):
        load(con, AREAS, write_bytes(tmp_path, AREAS, page))
    assert_unchanged(con, AREAS, before)


# --- oversized fields -------------------------------------------------------------------------

HUGE = 20_000_000


def test_oversized_csv_field_fails_without_truncation(con, tmp_path):
    before = good_load(con, AREAS)
    rows = bundled_rows(AREAS)
    rows[3] = [rows[3][0], "x" * HUGE, rows[3][2]]
    with pytest.raises(LoadError) as caught:
        load(con, AREAS, write_rows(tmp_path, AREAS, rows))
    message = str(caught.value)
    assert "chicago/community_areas.csv: CSV Error on Line" in message
    assert "Maximum line size of 2000000 bytes exceeded" in message
    assert len(message) < 1000  # the offending line is not copied into the message
    assert_unchanged(con, AREAS, before)


def test_oversized_field_from_a_portal_is_loaded_intact(con):
    load_raw_table(con, "t", [pa.record_batch({"id": ["1"], "note": ["short"]})])
    load_raw_table(con, "t", [pa.record_batch({"id": ["1", "2"], "note": ["y" * HUGE, "ok"]})])
    assert con.execute("select id, length(note) from raw.t order by id").fetchall() == [
        ("1", HUGE),
        ("2", 2),
    ]


# --- hostile catalogs and suites --------------------------------------------------------------

MAPPED = GOOD_DATASET + "    feeds: crime_incidents\n    columns: {occurred_at: Date, area: Area}\n"


@pytest.mark.parametrize(
    ("dataset", "change", "key"),
    [
        (MAPPED, ("area: Area", "area: 'Area\"; drop table raw.x; --'"), "crimes.columns"),
        (MAPPED, ("area: Area", 'area: "Area\\u0000"'), "crimes.columns"),
        (
            GOOD_DATASET + "    partitioning: {column: 'Date\" or 1=1 --', format: '%Y', "
            "start: '2022-01'}\n",
            None,
            "crimes.partitioning.column",
        ),
        (
            GOOD_DATASET,
            ("dataset_id: ijzp-q8t2", 'dataset_id: ijzp-q8t2, options: {where: "1=1; drop"}'),
            "crimes.portal.options",
        ),
        (
            GOOD_DATASET,
            ("dataset_id: ijzp-q8t2", 'dataset_id: ijzp-q8t2, options: {where: "x\') or (1=1"}'),
            "crimes.portal.options",
        ),
        (
            GOOD_DATASET,
            (
                "dataset_id: ijzp-q8t2",
                "dataset_id: ijzp-q8t2, options: {date_field: 'date) or (1'}",
            ),
            "crimes.portal.options",
        ),
        (
            GOOD_DATASET,
            ("dataset_id: ijzp-q8t2", "dataset_id: ijzp-q8t2, options: {'x; y': 1}"),
            "crimes.portal.options",
        ),
        (
            GOOD_DATASET,
            ("dataset_id: ijzp-q8t2", "dataset_id: ijzp-q8t2, options: {token_env: 'A B'}"),
            "crimes.portal.options",
        ),
        (GOOD_DATASET, ("chicago/crimes_2022.parquet", "/etc/passwd"), "crimes.bundled.path"),
        (
            GOOD_DATASET,
            ("chicago/crimes_2022.parquet", "chicago/../../secrets.csv"),
            "crimes.bundled.path",
        ),
    ],
    ids=[
        "column-injection",
        "column-nul",
        "partition-column",
        "where-statement",
        "where-unbalanced",
        "date-field",
        "option-key",
        "token-env",
        "absolute-path",
        "inner-dotdot",
    ],
)
def test_hostile_catalog_values_name_file_and_key(tmp_path, dataset, change, key):
    path = write_catalog(tmp_path, dataset.replace(*change) if change else dataset)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert str(caught.value).startswith(f"{path}: invalid catalog: datasets.{key}")


def test_hostile_suite_column_name_names_file_and_key(tmp_path):
    path = tmp_path / "suite.yml"
    path.write_text(
        "rules:\n  - {name: x_parses, check: parses, column: 'x\"; drop table raw.t; --', "
        "severity: critical}\n"
    )
    with pytest.raises(QualityError, match=rf"^{path}: invalid quality suite: rules\.0"):
        read_suite_file(path)
    path.write_text("columns:\n  'x\"); --': {type: integer}\n")
    with pytest.raises(QualityError, match=rf"^{path}: columns: not a column name"):
        read_suite_file(path)


def test_month_loads_quarantine_bad_rows_of_the_months_they_load(con, tmp_path):
    table = "nyc_shooting_incidents"
    dataset = DATASETS[table]
    spec = dataset.partitioning
    months = MonthRange(spec.column, spec.format, date(2019, 1, 1), date(2019, 3, 1))

    def month_load(root: Path):
        connector = FileConnector(root, dataset.bundled.path, "csv")
        return load_raw_table(
            con,
            table,
            connector.scan(),
            columns=dataset.columns,
            months=months,
            row_rules=row_rules(raw_suite(dataset)),
        )

    good = month_load(SOURCES_DIR)
    assert good.quarantined == 0
    in_february = set_values("BORO", "ATLANTIS", 2, lambda _: True)
    rows = bundled_rows(table)
    date_index = rows[0].index("OCCUR_DATE")
    february = [r for r in rows[1:] if r[date_index].startswith("02/") and "/2019" in r[date_index]]
    bad = [
        rows[0],
        *in_february([rows[0], *february])[1:],
        *(r for r in rows[1:] if r not in february),
    ]
    result = month_load(write_rows(tmp_path, table, bad))
    assert result.quarantined == 2 and result.rows == good.rows - 2
    assert con.execute(
        "select distinct rule from meta.quarantined_rows where load_id = ?", [result.load_id]
    ).fetchall() == [("area_is_borough",)]
    assert con.execute(f"select count(*) from raw.{table} where area = 'ATLANTIS'").fetchone() == (
        0,
    )
