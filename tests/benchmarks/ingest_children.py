"""One measured load each, run in a fresh process by ingest_benchmark.py (not by hand).

    python ingest_children.py native_varchar <data dir> <db>
    python ingest_children.py native_typed   <data dir> <db>
    python ingest_children.py loader         <data dir> <db>   # the pipeline's path
    python ingest_children.py dlt            <data dir> <db>   # with the dlt environment

`loader` is what the raw asset of a dated dataset runs: `plan_bundled` chooses the files from
the table's file index (all of them on a first load, only the new one after it), the file
connector vets them (paths, headers, control bytes) and builds the scan, and
`load_raw_table` stages, dates, checks (the dataset's whole quality suite), quarantines and
swaps in, writing the load log and the file index.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

PATTERN = "crimes/crimes_*.csv"


def native(data: Path, db: Path, typed: bool) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    options = "" if typed else ", all_varchar = true"
    con.execute(f"create table t as select * from read_csv('{data / PATTERN}'{options})")
    rows = con.execute("select count(*) from t").fetchone()[0]
    con.close()
    print(f"rows={rows}")


def loader(data: Path, db: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo))
    import duckdb

    from pipelines.catalog import BundledFile, city_catalog
    from pipelines.connectors.files import FileConnector
    from pipelines.loader.plan import plan_bundled
    from pipelines.loading import load_raw_table
    from pipelines.quality.suites import raw_suite

    crimes = city_catalog("chicago").datasets["crimes"]
    # The benchmark's rows go back to 1976 (the real 2022 rows shifted by whole years): the
    # dataset starts then, or rows before Chicago's 2001 start would be quarantined.
    dated = crimes.partitioning.model_copy(update={"start": "1976-01"})
    dataset = crimes.model_copy(
        update={"bundled": BundledFile(path=PATTERN, format="csv"), "partitioning": dated}
    )
    con = duckdb.connect(str(db))
    connector = FileConnector(data, PATTERN, "csv")
    # What the raw asset's `sources` resource does for a bundled dataset (without Dagster).
    extract = plan_bundled(con, connector, dataset, None)
    started = time.process_time()
    result = load_raw_table(
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
    )
    load_cpu = time.process_time() - started
    total = con.execute(f"select count(*) from raw.{dataset.raw_table}").fetchone()[0]
    con.close()
    print(f"load_cpu_s={load_cpu:.3f}")  # the load alone, without interpreter and imports
    print(f"rows={result.rows} table_rows={total} quarantined={result.quarantined}")
    print(f"mode={extract.mode.replace(' ', '_')}")


def dlt_load(data: Path, db: Path) -> None:
    """dlt's documented fast path: a resource yielding Arrow tables (here read by pyarrow's
    CSV reader, every column as text like the others), written to Parquet and loaded."""
    import dlt
    import pyarrow as pa
    import pyarrow.csv as pv

    files = sorted(data.glob(PATTERN))
    header = files[0].read_text(encoding="utf-8").splitlines()[0].split(",")
    text = pv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()))

    @dlt.resource(name="chicago_crimes", write_disposition="replace")
    def crimes():
        for path in files:
            yield pv.read_csv(path, convert_options=text)

    pipeline = dlt.pipeline(
        pipeline_name="bench",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="raw",
        pipelines_dir=str(db.parent / f"{db.stem}-dlt"),
    )
    pipeline.run(crimes())
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select count(*) from raw.chicago_crimes").fetchone()[0]
    print(f"rows={rows}")


def main() -> None:
    mode, data, db = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if mode == "native_varchar":
        native(data, db, typed=False)
    elif mode == "native_typed":
        native(data, db, typed=True)
    elif mode == "loader":
        loader(data, db)
    elif mode == "dlt":
        dlt_load(data, db)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
