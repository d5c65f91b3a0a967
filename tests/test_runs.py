"""`civic run` end to end: the Dagster graph, idempotence, the summary and the exports."""

import re
from pathlib import Path

import duckdb
import polars as pl
from dagster import AssetKey
from warehouse_prints import table_prints

from pipelines.catalog import city_catalogs
from pipelines.cli import main
from pipelines.settings import SOURCES_DIR, paths


def test_definitions_have_one_raw_asset_per_dataset_wired_to_dbt():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for catalog in city_catalogs():
        for dataset in catalog.datasets.values():
            assert graph.has(AssetKey(["raw", dataset.raw_table]))
    indicator_values = AssetKey(["marts", "fct_indicator_values"])
    ancestors, frontier = set(), [indicator_values]
    while frontier:
        key = frontier.pop()
        for parent in graph.get(key).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                frontier.append(parent)
    assert AssetKey(["raw", "chicago_crimes"]) in ancestors
    export_parents = graph.get(AssetKey(["exports", "marts_parquet"])).parent_keys
    assert indicator_values in export_parents


def test_raw_tables_hold_exactly_the_bundled_rows(built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        for catalog in city_catalogs():
            for dataset in catalog.datasets.values():
                files = sorted(SOURCES_DIR.glob(dataset.bundled.path))
                read = (
                    pl.read_parquet
                    if dataset.bundled.format == "parquet"
                    else lambda path, bundled=dataset.bundled: pl.read_csv(
                        path,
                        infer_schema=False,
                        separator=bundled.delimiter,
                        skip_rows=bundled.skip_rows,
                    )
                )
                expected = sum(read(path).height for path in files)
                loaded = con.execute(f"select count(*) from raw.{dataset.raw_table}").fetchone()
                assert loaded[0] == expected, dataset.raw_table


def test_exports_match_the_marts(built_warehouse):
    exported = {
        path.stem: pl.read_parquet(path).height for path in paths().exports.glob("*.parquet")
    }
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        marts = dict(
            con.execute(
                "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        )
        counts = {
            name: con.execute(f'select count(*) from marts."{name}"').fetchone()[0]
            for name in marts
        }
    assert set(exported) == set(counts) >= {"fct_indicator_values", "dim_indicators"}
    assert exported == counts


def test_second_run_gives_the_same_warehouse(built_warehouse, capsys):
    before = table_prints(built_warehouse)
    assert main(["run"]) == 0
    output = capsys.readouterr().out
    assert table_prints(built_warehouse) == before
    assert str(built_warehouse) in output and "Rows loaded:" in output
    # the screen keeps one line for the raw tables; the per-table rows go to the run's log
    log_file = Path(re.search(r"Full log \(dbt and Dagster\): (\S+)", output).group(1))
    log_text = log_file.read_text()
    assert "raw.chicago_crimes" in log_text and "raw.chicago_crimes" not in output
    assert "crime" in output and "indicators" in output


def test_city_selection_keeps_only_that_citys_raw_assets_and_all_transforms():
    from pipelines.runs import RunRequest, selected_keys

    every = {key.to_user_string() for key in selected_keys(RunRequest())}
    nyc = {key.to_user_string() for key in selected_keys(RunRequest(city="nyc"))}
    assert "raw/chicago_crimes" in every and "raw/chicago_crimes" not in nyc
    assert "raw/nyc_shooting_incidents" in nyc
    assert {"marts/fct_indicator_values", "exports/marts_parquet"} <= nyc
    others = {
        f"raw/{dataset.raw_table}"
        for catalog in city_catalogs()
        if catalog.city != "nyc"
        for dataset in catalog.datasets.values()
    }
    assert every - nyc == others


def test_unknown_city_is_a_clear_error():
    import re

    import pytest

    from pipelines.catalog import CatalogError
    from pipelines.runs import RunRequest, selected_keys

    known = ", ".join(sorted(catalog.city for catalog in city_catalogs()))
    expected = f"no catalog for city 'gotham' in sources/cities (known: {known})"
    with pytest.raises(CatalogError, match=re.escape(expected)):
        selected_keys(RunRequest(city="gotham"))


# -- two phases: load, then transform what changed ----------------------------------------------

UNREACHABLE = """
city: faraway
name: Faraway
datasets:
  bikes:
    raw_table: faraway_bikes
    domain: development
    cadence: daily
    title: Bike counts
    description: A live-only dataset whose portal does not answer.
    portal: {{kind: socrata, base_url: "http://127.0.0.1:{port}", dataset_id: bike-cnts}}
    license: test
    provenance: none
"""


def closed_port() -> int:
    import socket

    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_unreachable_city(tmp_path):
    from dagster import Definitions

    from pipelines.assets.raw import build_raw_asset
    from pipelines.catalog import load_catalog
    from pipelines.definitions import defs

    path = tmp_path / "cities" / "faraway.yml"
    path.parent.mkdir()
    path.write_text(UNREACHABLE.format(port=closed_port()))
    catalog = load_catalog(path)
    extra = build_raw_asset(catalog, "bikes", catalog.datasets["bikes"])
    return Definitions.merge(defs, Definitions(assets=[extra]))


def test_an_unreachable_city_does_not_stop_the_others_marts(
    built_warehouse, tmp_path, monkeypatch, capsys
):
    """The load of a live-only city fails (connection refused); the transform still rebuilds
    what is stale (here: a mart whose build record was removed) and exports it; the run
    names the city, dataset and reason and exits 1."""
    monkeypatch.setattr("pipelines.definitions.defs", with_unreachable_city(tmp_path))
    export = paths().exports / "fct_source_status.parquet"
    before = export.stat().st_mtime_ns
    with duckdb.connect(str(built_warehouse)) as con:
        con.execute(
            "delete from meta.dbt_node_state where unique_id = 'model.civic.fct_source_status'"
        )
    assert main(["run", "--city", "faraway", "--live"]) == 1
    out, err = capsys.readouterr()
    assert "Not loaded (previous data kept; the rest of the run went on):" in err
    line = next(line for line in err.splitlines() if line.startswith("  faraway.bikes: "))
    assert "127.0.0.1" in line and "refused" in line.lower()
    assert "with 1 failed load(s)" in err
    assert "Transform: " in out and "model(s) rebuilt" in out
    assert export.stat().st_mtime_ns > before  # the marts were exported all the same
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*) from meta.dbt_node_state where unique_id = ?",
            ["model.civic.fct_source_status"],
        ).fetchone() == (1,)
        assert con.execute(
            "select count(*) from information_schema.tables where table_name = 'faraway_bikes'"
        ).fetchone() == (0,)


def test_a_run_with_nothing_changed_rebuilds_nothing(built_warehouse, capsys):
    from pipelines.runs import RunRequest, execute, load_keys

    outcome = execute(RunRequest())
    assert outcome.success and outcome.transform is None
    assert outcome.transform_note == "nothing changed: no model to rebuild"
    # Unchanged bundled files are not even planned: only the registry and catalog tables run.
    ran = {e.asset_key for e in outcome.load.get_asset_materialization_events()}
    assert not any(key.path[0] == "raw" for key in ran)
    assert len(load_keys(RunRequest())) > len(ran)


def test_a_changed_source_rebuilds_only_what_depends_on_it(built_warehouse):
    """Forget the file index of one table: the run reloads it (same rows, a new load) and
    rebuilds the models downstream of it, not the others."""
    from pipelines.runs import RunRequest, execute
    from pipelines.transform_runs import stale_models

    with duckdb.connect(str(built_warehouse)) as con:
        con.execute("delete from meta.source_files where raw_table = 'chicago_unemployment_rate'")
    outcome = execute(RunRequest())
    assert outcome.success
    loaded = {e.asset_key.to_user_string() for e in outcome.load.get_asset_materialization_events()}
    assert "raw/chicago_unemployment_rate" in loaded
    assert not {k for k in loaded if k.startswith("raw/") and "unemployment" not in k}
    rebuilt = {
        e.asset_key.to_user_string() for e in outcome.transform.get_asset_materialization_events()
    }
    assert "staging/stg_unemployment" in rebuilt
    assert "staging/stg_crime_incidents" not in rebuilt
    assert "exports/marts_parquet" in rebuilt
    with duckdb.connect(str(built_warehouse)) as con:
        assert stale_models(con) == set()  # everything is built from the data in place


# -- a refused load on one city: the others' models build all the same ----------------------

REFUSED = """
city: brokentown
name: Brokentown
datasets:
  unemployment_rate:
    raw_table: brokentown_unemployment_rate
    cadence: monthly
    domain: development
    feeds: unemployment
    # The real FRED file, with the rate mapped to a column it does not have: the load is
    # refused before anything is replaced.
    columns: {date: Date, unemployment_rate: RATE}
    constants: {area: "17031"}
    area_type: county
    title: Unemployment rate mapped to a missing column
    description: A bundled dataset whose load fails a blocking check.
    bundled: {path: chicago/unemployment_rate_cook_county_fred_ILCOOK1URN.csv, format: csv}
    portal: {kind: http, base_url: "http://127.0.0.1:9/unused"}
    license: test
    provenance: none
"""


def with_refused_city(tmp_path):
    from dagster import Definitions

    from pipelines.assets.raw import build_raw_asset
    from pipelines.catalog import load_catalog
    from pipelines.definitions import defs

    path = tmp_path / "cities" / "brokentown.yml"
    path.parent.mkdir()
    path.write_text(REFUSED)
    catalog = load_catalog(path)
    extra = build_raw_asset(catalog, "unemployment_rate", catalog.datasets["unemployment_rate"])
    return Definitions.merge(defs, Definitions(assets=[extra]))


def test_a_refused_load_on_one_city_does_not_stop_the_others_models(
    built_warehouse, tmp_path, monkeypatch, capsys
):
    """Two cities load in one run: Chicago's unemployment file changed (its file index is
    forgotten), Brokentown's load is refused (its mapped column is not in the file). The
    run exits 1 naming Brokentown, the dataset and the missing column; Chicago's table is
    reloaded and the canonical model and marts downstream of it are rebuilt and exported."""
    monkeypatch.setattr("pipelines.definitions.defs", with_refused_city(tmp_path))
    export = paths().exports / "fct_indicator_values.parquet"
    before = export.stat().st_mtime_ns
    with duckdb.connect(str(built_warehouse)) as con:
        con.execute("delete from meta.source_files where raw_table = 'chicago_unemployment_rate'")
        (loads_before,) = con.execute(
            "select count(*) from meta.load_log where raw_table = 'chicago_unemployment_rate'"
        ).fetchone()
    assert main(["run"]) == 1
    out, err = capsys.readouterr()
    assert "Not loaded (previous data kept; the rest of the run went on):" in err
    line = next(line for line in err.splitlines() if line.startswith("  brokentown."))
    assert "unemployment_rate" in line and "'RATE'" in line and "update the catalog" in line
    assert "with 1 failed load(s)" in err
    assert "Transform: " in out and "model(s) rebuilt" in out
    assert export.stat().st_mtime_ns > before
    with duckdb.connect(str(built_warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*) from information_schema.tables "
            "where table_name = 'brokentown_unemployment_rate'"
        ).fetchone() == (0,)
        (loads_after,) = con.execute(
            "select count(*) from meta.load_log where raw_table = 'chicago_unemployment_rate'"
        ).fetchone()
        assert loads_after == loads_before + 1  # the other city's load went on
        (chicago_rows,) = con.execute(
            "select count(*) from staging.stg_unemployment where city = 'chicago'"
        ).fetchone()
        assert chicago_rows > 0
