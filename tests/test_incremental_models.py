"""The incremental crime models (macros/incremental_loads.sql) equal a full rebuild.

On a copy of the warehouse a bundled run built, the raw crime tables are changed the ways
loads change them (a new file's rows under a new load id, rows of an earlier load replaced,
a table whose incident ids are deduplicated across files changed, the offence rules
changed); after each change the incremental build's tables must equal a `--full-refresh`
build of the same data, and rows of unchanged loads must be kept, not rebuilt.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import DBT_PROJECT_DIR

MODELS = {
    "stg_crime_incidents": "staging.stg_crime_incidents",
    "int_crime_incidents_classified": "intermediate.int_crime_incidents_classified",
}
SELECTION = ["stg_offense_rules", *MODELS]


@pytest.fixture
def warehouse(built_warehouse, tmp_path):
    copy = tmp_path / "civic.duckdb"
    shutil.copy(built_warehouse, copy)
    return copy


def dbt_run(warehouse: Path, tmp_path: Path, *extra: str) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--select", *SELECTION, *extra]
        + ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
        + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "CIVIC_WAREHOUSE": str(warehouse)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def sql(warehouse: Path, *statements: str):
    with duckdb.connect(str(warehouse)) as con:
        for statement in statements[:-1]:
            con.execute(statement)
        return con.execute(statements[-1]).fetchall()


MARK = "KEPT, NOT REBUILT"


def assert_equals_full_rebuild(warehouse: Path, tmp_path: Path, kept_table: str) -> None:
    """Build incrementally, keep the result, rebuild in full: the same rows, every model.

    A row of `kept_table`, a raw table the change left alone, is marked in the staged rows
    first: the incremental build keeps it (still marked), the mark is undone for the
    comparison."""
    row = (
        "rowid = (select min(rowid) from staging.stg_crime_incidents "
        f"where raw_table = '{kept_table}')"
    )
    original = sql(
        warehouse, f"select offense_description from staging.stg_crime_incidents where {row}"
    )[0][0]
    sql(
        warehouse,
        f"update staging.stg_crime_incidents set offense_description = '{MARK}' where {row}",
        "select 1",
    )
    dbt_run(warehouse, tmp_path)
    assert sql(
        warehouse,
        f"select count(*) from staging.stg_crime_incidents where offense_description = '{MARK}'",
    ) == [(1,)], "the incremental build rebuilt rows of an unchanged load"
    with duckdb.connect(str(warehouse)) as con:  # (a rebuilt classification copied it)
        for table in MODELS.values():
            con.execute(
                f"update {table} set offense_description = $original "
                "where offense_description = $mark",
                {"original": original, "mark": MARK},
            )
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(warehouse, incremental)
    dbt_run(warehouse, tmp_path, "--full-refresh")
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        for table in MODELS.values():
            full_rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            assert full_rows > 0, table
            for left, right in [(table, f"incremental.{table}"), (f"incremental.{table}", table)]:
                extra = con.execute(
                    f"select count(*) from (select * from {left} except all select * from {right})"
                ).fetchone()[0]
                assert extra == 0, f"{left} has {extra} row(s) {right} lacks"


def test_incremental_builds_keep_unchanged_loads_and_equal_a_full_rebuild(warehouse, tmp_path):
    # Loads as the loader makes them: Chicago gets a new file (a month's rows under a new
    # load id) and loses part of an earlier load (rows replaced by a later load); in NYC's
    # shootings (incident ids deduplicated across files) one file's rows change load.
    sql(
        warehouse,
        "insert into raw.chicago_crimes by name select * replace "
        "('test-new-load' as _load_id, 'crimes_new_month.csv' as _source_file) "
        "from raw.chicago_crimes using sample reservoir(2000 rows) repeatable (1)",
        "delete from raw.chicago_crimes where rowid in (select rowid from raw.chicago_crimes "
        "where _load_id <> 'test-new-load' using sample reservoir(500 rows) repeatable (2))",
        "update raw.nyc_shooting_incidents set _load_id = 'test-reload' "
        "where rowid in (select rowid from raw.nyc_shooting_incidents "
        "using sample reservoir(300 rows) repeatable (3))",
        "select 1",
    )
    assert_equals_full_rebuild(warehouse, tmp_path, kept_table="dc_crimes_2022")

    # The classification changes (an offence rule dropped): every classified row is rebuilt.
    unmatched = (
        "select count(*) from intermediate.int_crime_incidents_classified "
        "where city = 'chicago' and offense_rule_id is null"
    )
    before = sql(warehouse, unmatched)[0][0]
    sql(
        warehouse,
        "delete from meta.offense_rules where rowid = (select min(rowid) from meta.offense_rules "
        "where city = 'chicago' and category is not null)",
        "select 1",
    )
    assert_equals_full_rebuild(warehouse, tmp_path, kept_table="dc_crimes_2022")
    assert sql(warehouse, unmatched)[0][0] > before  # the dropped rule's incidents


def test_a_code_change_upstream_makes_the_run_rebuild_incremental_models_in_full():
    import copy

    from pipelines.assets.transform import code_fingerprints, manifest, needs_full_refresh

    document = manifest()
    code = code_fingerprints(document)
    built = {unique_id: (fingerprint, "inputs") for unique_id, fingerprint in code.items()}
    incremental = "model.civic.int_crime_incidents_classified"
    assert needs_full_refresh(document, code, built) == []
    # never built: in full
    assert incremental in needs_full_refresh(document, code, {})

    def changed(unique_id: str) -> list[str]:
        edited = copy.deepcopy(document)
        edited["nodes"][unique_id]["checksum"]["checksum"] = "edited"
        return needs_full_refresh(edited, code_fingerprints(edited), built)

    # an upstream model (area spellings feed the classification) rebuilds it in full ...
    assert incremental in changed("model.civic.int_area_spellings")
    assert "model.civic.stg_crime_incidents" not in changed("model.civic.int_area_spellings")
    # ... a mart downstream of every incremental model does not
    assert changed("model.civic.fct_problem_ranking") == []
