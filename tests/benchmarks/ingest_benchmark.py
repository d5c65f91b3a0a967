"""Ingest benchmark: our file connector + loader against DuckDB's native read_csv, at ~10 M rows.

Not a pytest: a script that measures, prints and writes results. Run from the repository root:

    uv run python tests/benchmarks/ingest_benchmark.py            # 10 M rows, 3 repeats, dbt
    uv run python tests/benchmarks/ingest_benchmark.py --rows 1_000_000 --repeats 1 --skip-dbt

Data (never in the repository) go to --data-dir (default /tmp/civic-bench):

- crimes/crimes_YYYY_MM.csv: the 215,551 real 2022 Chicago crime rows of
  sources/chicago/crimes_2022.parquet (Jan-Nov 2022), repeated with their dates shifted back by
  whole years (2022, 2021, ...) until --rows is reached; one CSV file per month, header with
  the published column names ('Date', 'Primary Type', ...), values otherwise as published.
- extra/crimes_2022_12.csv: the month added by the incremental run (the real November 2022 rows
  dated one month later), copied into crimes/ only for the incremental measurement.

Measured, each in a fresh Python subprocess (peak RSS = the child's VmHWM):

a. native:       create table t as select * from read_csv(<glob>, all_varchar, union_by_name)
b. connector:    load_raw_table(FileConnector(crimes_*.csv).scan(), merge_key='_source_file')
c. incremental:  one new month file, FileConnector(since=<watermark in meta.load_log>) merged
                 into a copy of the warehouse written by (b)
d. dbt build:    the bundled warehouse (`civic run`) with raw.chicago_crimes replaced by the
                 scaled rows, then `dbt build` of dbt_project/

Timings include opening the DuckDB file and closing it (the checkpoint to disk), not the
Python imports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "sources" / "chicago" / "crimes_2022.parquet"
BENCH_DIR = Path(__file__).resolve().parent
TABLE = "chicago_crimes"
PATTERN = "crimes_*.csv"
# The bench CSV header: the published column names, so the loader's snake_case naming gives
# date, block, primary_type, ... as the dbt staging model expects.
COLUMNS = [
    "Date",
    "Block",
    "Primary Type",
    "Description",
    "Location Description",
    "Arrest",
    "Domestic",
    "Community Area",
]
TARGETS = {
    "throughput_ratio_min": 0.7,
    "peak_rss_mb_max": 1536,
    "incremental_pct_max": 10.0,
    "dbt_build_seconds_max": 60.0,
}


# --------------------------------------------------------------------------------------------
# Data generation (not timed)


def generate(data_dir: Path, rows: int) -> dict:
    """Write the monthly CSV files (reused when a previous run wrote the same row count)."""
    import duckdb

    crimes, extra = data_dir / "crimes", data_dir / "extra"
    manifest_path = data_dir / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("requested_rows") == rows and (extra / "crimes_2022_12.csv").exists():
            # A previous incremental run may have left the extra month in place.
            (crimes / "crimes_2022_12.csv").unlink(missing_ok=True)
            if len(list(crimes.glob(PATTERN))) == manifest["files"]:
                print(f"data: reusing {manifest['rows']:,} rows in {manifest['files']} files")
                return manifest
    shutil.rmtree(crimes, ignore_errors=True)
    shutil.rmtree(extra, ignore_errors=True)
    crimes.mkdir(parents=True)
    extra.mkdir(parents=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("create table src as select * from read_parquet($p)", {"p": str(SOURCE)})
    source_rows = con.execute("select count(*) from src").fetchone()[0]
    copies = -(-rows // source_rows)
    select_list = ", ".join(f'"{c}"' for c in COLUMNS[1:])
    files = written = 0
    for month in range(1, 13):
        con.execute(
            "create or replace temp table m as select * from src "
            "where substr(Date, 6, 2) = $mm order by Date",
            {"mm": f"{month:02d}"},
        )
        if con.execute("select count(*) from m").fetchone()[0] == 0:
            continue
        for copy in range(copies):
            year = 2022 - copy
            out = crimes / f"crimes_{year}_{month:02d}.csv"
            # 2022 has no 29 February, so every shifted date is a real date.
            con.execute(
                f'copy (select $year || substr(Date, 5) as "Date", {select_list} from m) '
                f"to '{out}' (header true)",
                {"year": str(year)},
            )
            files += 1
    written = copies * source_rows
    # The incremental month: real November 2022 rows one month later (December has 31 days).
    con.execute(
        "copy (select replace(substr(Date, 1, 7), '2022-11', '2022-12') || substr(Date, 8) "
        f"as \"Date\", {select_list} from src where Date like '2022-11-%' order by Date) "
        f"to '{extra / 'crimes_2022_12.csv'}' (header true)"
    )
    extra_rows = con.execute("select count(*) from src where Date like '2022-11-%'").fetchone()[0]
    con.close()
    size = sum(p.stat().st_size for p in crimes.glob(PATTERN))
    manifest = {
        "requested_rows": rows,
        "rows": written,
        "copies": copies,
        "years": f"{2022 - copies + 1}-2022",
        "files": files,
        "csv_bytes": size,
        "extra_file": "crimes_2022_12.csv",
        "extra_rows": extra_rows,
        "generated_in_s": round(time.perf_counter() - started, 1),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    print(f"data: wrote {written:,} rows in {files} files ({size / 1e9:.2f} GB)")
    return manifest


# --------------------------------------------------------------------------------------------
# Children: one measurement each, in a fresh interpreter


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_native(crimes: Path, db: Path) -> dict:
    import duckdb

    started, cpu = time.perf_counter(), cpu_seconds()
    con = duckdb.connect(str(db))
    con.execute(
        "create table t as select * from read_csv($glob, all_varchar = true, header = true, "
        "union_by_name = true)",
        {"glob": str(crimes / PATTERN)},
    )
    rows = con.execute("select count(*) from t").fetchone()[0]
    con.close()
    return {"rows": rows, "seconds": time.perf_counter() - started, "cpu_s": cpu_seconds() - cpu}


def child_connector(crimes: Path, db: Path, incremental: bool = False) -> dict:
    import duckdb

    from pipelines.connectors import FileConnector
    from pipelines.loading import latest_watermark, load_raw_table

    started, cpu = time.perf_counter(), cpu_seconds()
    con = duckdb.connect(str(db))
    since = latest_watermark(con, TABLE) if incremental else None
    connector = FileConnector(crimes, PATTERN, "csv", since=since)
    # The pipeline's path for local files: the connector's scan runs inside the warehouse.
    result = load_raw_table(
        con,
        TABLE,
        connector.scan(),
        merge_key="_source_file",
        watermark=lambda: connector.watermark,
        source=connector.source_uri(),
    )
    total = con.execute(f"select count(*) from raw.{TABLE}").fetchone()[0]
    con.close()
    return {
        "rows": result.rows,
        "table_rows": total,
        "since": since,
        "watermark": connector.watermark,
        "columns": result.columns,
        "seconds": time.perf_counter() - started,
        "cpu_s": cpu_seconds() - cpu,
    }


def child_dbt_load(crimes: Path, db: Path) -> dict:
    """Replace raw.chicago_crimes of the warehouse by the scaled rows (no column mapping)."""
    import duckdb

    from pipelines.connectors import FileConnector
    from pipelines.loading import load_raw_table

    started = time.perf_counter()
    con = duckdb.connect(str(db))
    before = con.execute(f"select count(*) from raw.{TABLE}").fetchone()[0]
    connector = FileConnector(crimes, PATTERN, "csv")
    result = load_raw_table(con, TABLE, connector.scan(), source=connector.source_uri())
    con.close()
    return {
        "rows": result.rows,
        "bundled_rows": before,
        "columns": result.columns,
        "seconds": time.perf_counter() - started,
    }


CHILDREN = {"native": child_native, "connector": child_connector, "dbt_load": child_dbt_load}


def run_child(kind: str, crimes: Path, db: Path, *extra: str) -> dict:
    """Run one measurement in a fresh interpreter; returns its result plus peak RSS."""
    command = [sys.executable, __file__, "--child", kind, str(crimes), str(db), *extra]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(kind: str, crimes: str, db: str, *extra: str) -> None:
    sys.path.insert(0, str(REPO))
    kwargs = {"incremental": True} if extra == ("incremental",) else {}
    result = CHILDREN[kind](Path(crimes), Path(db), **kwargs)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["load_avg_1m"] = os.getloadavg()[0]
    print(json.dumps(result))


# --------------------------------------------------------------------------------------------
# The benchmark


def fresh(path: Path) -> Path:
    for suffix in ("", ".wal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def summarise(runs: list[dict]) -> dict:
    seconds = statistics.median(r["seconds"] for r in runs)
    rows = runs[0]["rows"]
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
        "runs_seconds": [round(r["seconds"], 2) for r in runs],
        "runs_load_avg_1m": [round(r["load_avg_1m"], 1) for r in runs],
        "runs_peak_rss_mb": [r["peak_rss_mb"] for r in runs],
    }


def bench_ingest(data_dir: Path, manifest: dict, repeats: int) -> dict:
    crimes, dbs = data_dir / "crimes", data_dir / "db"
    dbs.mkdir(exist_ok=True)
    extra_file = crimes / manifest["extra_file"]
    extra_file.unlink(missing_ok=True)
    native, ours = [], []
    for i in range(repeats):
        # Alternate the order so neither method always runs on a warmer page cache.
        for kind in ("native", "connector") if i % 2 == 0 else ("connector", "native"):
            result = run_child(kind, crimes, fresh(dbs / f"{kind}.duckdb"))
            (native if kind == "native" else ours).append(result)
            print(
                f"  {kind:<10} run {i + 1}: {result['rows']:,} rows in {result['seconds']:.2f} s "
                f"(CPU {result['cpu_s']:.1f} s, load {result['load_avg_1m']:.1f}), "
                f"peak RSS {result['peak_rss_mb']:.0f} MB"
            )
            if kind == "native":
                fresh(dbs / "native.duckdb")
    # Incremental: a new month file (modified after the watermark), loaded into copies of the
    # warehouse the last full connector load wrote.
    shutil.copy(data_dir / "extra" / manifest["extra_file"], extra_file)
    incremental = []
    for i in range(repeats):
        db = dbs / "incremental.duckdb"
        shutil.copy(dbs / "connector.duckdb", fresh(db))
        result = run_child("connector", crimes, db, "incremental")
        incremental.append(result)
        print(
            f"  incremental run {i + 1}: {result['rows']:,} rows (table {result['table_rows']:,}) "
            f"in {result['seconds']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB"
        )
        if result["rows"] != manifest["extra_rows"]:
            raise RuntimeError(f"incremental run loaded {result['rows']} rows, not the new month")
        if result["table_rows"] != ours[-1]["rows"] + manifest["extra_rows"]:
            raise RuntimeError("incremental run did not keep the earlier rows")
    extra_file.unlink()
    fresh(dbs / "incremental.duckdb")
    n, o, inc = summarise(native), summarise(ours), summarise(incremental)
    inc["table_rows"] = incremental[0]["table_rows"]
    inc["since"] = incremental[0]["since"]
    inc["pct_of_full_load"] = round(100 * inc["seconds"] / o["seconds"], 2)
    o["throughput_ratio_vs_native"] = round(o["rows_per_s"] / n["rows_per_s"], 3)
    # The machine may be shared: CPU seconds are steadier than wall time under contention.
    o["cpu_ratio_native_over_ours"] = round(n["cpu_s"] / o["cpu_s"], 3)
    return {"native": n, "connector": o, "incremental": inc}


def bench_dbt(data_dir: Path, rebuild: bool) -> dict:
    home = data_dir / "home"
    warehouse = home / "civic.duckdb"
    bundled = home / "civic.bundled.duckdb"
    env = {**os.environ, "CIVIC_HOME": str(home), "CIVIC_WAREHOUSE": str(warehouse)}
    result: dict = {}
    if rebuild or not bundled.exists():
        shutil.rmtree(home, ignore_errors=True)
        started = time.perf_counter()
        done = subprocess.run(
            ["uv", "run", "civic", "run"], cwd=REPO, env=env, capture_output=True, text=True
        )
        result["civic_run_seconds"] = round(time.perf_counter() - started, 1)
        if done.returncode != 0 or not warehouse.exists():
            result["error"] = "civic run failed: " + (done.stdout + done.stderr)[-3000:]
            return result
        shutil.copy(warehouse, bundled)
    shutil.copy(bundled, fresh(warehouse))
    load = run_child("dbt_load", data_dir / "crimes", warehouse)
    result["raw_rows"] = load["rows"]
    result["bundled_raw_rows"] = load["bundled_rows"]
    result["raw_columns"] = load["columns"]
    result["load_seconds"] = round(load["seconds"], 2)
    print(f"  raw.{TABLE} replaced: {load['rows']:,} rows in {load['seconds']:.1f} s")
    # Compiled files and logs go to /tmp: the benchmark leaves dbt_project/ untouched.
    command = [
        "uv", "run", "dbt", "build", "--project-dir", "dbt_project", "--profiles-dir",
        "dbt_project", "--target-path", str(data_dir / "dbt-target"), "--log-path",
        str(data_dir / "dbt-logs"),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    result["dbt_build_seconds"] = round(time.perf_counter() - started, 1)
    result["dbt_exit_code"] = done.returncode
    result["command"] = f"CIVIC_WAREHOUSE={warehouse} " + " ".join(command)
    summary = [line for line in done.stdout.splitlines() if "Done. PASS=" in line]
    result["dbt_summary"] = summary[-1].split("Done. ", 1)[1] if summary else None
    if done.returncode != 0:
        failures = [line for line in done.stdout.splitlines() if "ERROR" in line or "FAIL " in line]
        result["error"] = "\n".join(failures[-15:]) or (done.stdout + done.stderr)[-3000:]
    timings = data_dir / "dbt-target" / "run_results.json"
    if timings.exists():
        nodes = json.loads(timings.read_text())["results"]
        slowest = sorted(nodes, key=lambda n: n["execution_time"], reverse=True)[:5]
        result["slowest_nodes"] = {n["unique_id"]: round(n["execution_time"], 2) for n in slowest}
    return result


def machine() -> dict:
    import duckdb
    import pyarrow

    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def verdicts(ingest: dict, dbt: dict | None) -> dict:
    o, inc = ingest["connector"], ingest["incremental"]
    out = {
        "throughput_ratio": {
            "target": f">= {TARGETS['throughput_ratio_min']}x native",
            "value": o["throughput_ratio_vs_native"],
            "met": o["throughput_ratio_vs_native"] >= TARGETS["throughput_ratio_min"],
        },
        "peak_rss": {
            "target": f"< {TARGETS['peak_rss_mb_max']} MB",
            "value": o["peak_rss_mb"],
            "met": o["peak_rss_mb"] < TARGETS["peak_rss_mb_max"],
        },
        "incremental": {
            "target": f"< {TARGETS['incremental_pct_max']}% of a full load",
            "value": inc["pct_of_full_load"],
            "met": inc["pct_of_full_load"] < TARGETS["incremental_pct_max"],
        },
    }
    if dbt is not None:
        seconds = dbt.get("dbt_build_seconds")
        ok = seconds is not None and dbt.get("dbt_exit_code") == 0
        out["dbt_build"] = {
            "target": f"< {TARGETS['dbt_build_seconds_max']:.0f} s",
            "value": seconds,
            "met": ok and seconds < TARGETS["dbt_build_seconds_max"],
        }
    return out


def markdown(results: dict) -> str:
    m, data, ing = results["machine"], results["data"], results["ingest"]
    n, o, inc = ing["native"], ing["connector"], ing["incremental"]
    repeats = len(o["runs_seconds"])
    lines = [
        "# Ingest benchmark",
        "",
        f"{data['rows']:,} rows of Chicago crimes (the real 2022 rows repeated over "
        f"{data['years']}), {data['files']} monthly CSV files, {data['csv_bytes'] / 1e9:.2f} GB; "
        f"{m['cores']} cores, {m['ram_gb']:.0f} GB RAM, Python {m['python']}, "
        f"DuckDB {m['duckdb']}, {m['date'][:10]}. Median of {repeats} runs, each in a fresh "
        "process; peak RSS is the largest of the runs. 1-minute load average during the runs: "
        f"{min(o['runs_load_avg_1m'] + n['runs_load_avg_1m']):.1f}-"
        f"{max(o['runs_load_avg_1m'] + n['runs_load_avg_1m']):.1f} on {m['cores']} cores.",
        "",
        "| Method | Rows | Seconds | Rows/s | CPU s | Peak RSS (MB) | vs native |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| DuckDB native `read_csv` | {n['rows']:,} | {n['seconds']:.1f} | "
        f"{n['rows_per_s']:,} | {n['cpu_s']:.1f} | {n['peak_rss_mb']:,.0f} | 1.00x |",
        f"| FileConnector + `load_raw_table` | {o['rows']:,} | {o['seconds']:.1f} | "
        f"{o['rows_per_s']:,} | {o['cpu_s']:.1f} | {o['peak_rss_mb']:,.0f} | "
        f"{o['throughput_ratio_vs_native']:.2f}x (CPU {o['cpu_ratio_native_over_ours']:.2f}x) |",
        f"| Incremental (+1 month file) | {inc['rows']:,} | {inc['seconds']:.2f} | "
        f"{inc['rows_per_s']:,} | {inc['cpu_s']:.1f} | {inc['peak_rss_mb']:,.0f} | "
        f"{inc['pct_of_full_load']:.1f}% of full load |",
    ]
    dbt = results.get("dbt")
    if dbt:
        if dbt.get("dbt_build_seconds") is not None:
            status = "passed" if dbt["dbt_exit_code"] == 0 else "FAILED"
            lines += [
                "",
                f"`dbt build` with raw.chicago_crimes at {dbt['raw_rows']:,} rows: "
                f"**{dbt['dbt_build_seconds']:.1f} s** ({status}; {dbt.get('dbt_summary')}).",
            ]
        else:
            lines += ["", f"`dbt build`: not run ({dbt.get('error', '')[:300]})"]
    lines += ["", "| Target | Value | Met |", "|---|---:|:---:|"]
    for name, v in results["verdicts"].items():
        lines.append(f"| {name}: {v['target']} | {v['value']} | {'yes' if v['met'] else 'NO'} |")
    lines += [
        "",
        "Where the time and memory go, and what was changed: tests/benchmarks/ANALYSIS.md.",
        "",
        "Re-run (from the repository root; data are generated once under /tmp/civic-bench):",
        "",
        "```sh",
        "uv run python tests/benchmarks/ingest_benchmark.py",
        "```",
        "",
        "Options: `--rows N` (default 10,000,000), `--repeats N` (default 3), `--skip-dbt`, "
        "`--skip-ingest` (only the dbt step, keeping the ingest results in `--out`), "
        "`--rebuild-warehouse` (re-run `civic run` for the dbt step), `--data-dir`, `--out`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/civic-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dbt", action="store_true")
    parser.add_argument(
        "--skip-ingest", action="store_true", help="reuse the ingest results already in --out"
    )
    parser.add_argument("--rebuild-warehouse", action="store_true")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))

    manifest = generate(args.data_dir, args.rows)
    if args.skip_ingest:
        ingest = json.loads(args.out.read_text())["ingest"]
    else:
        print(f"ingest ({args.repeats} repeats):")
        ingest = bench_ingest(args.data_dir, manifest, args.repeats)
    dbt = None
    if not args.skip_dbt:
        print("dbt build:")
        dbt = bench_dbt(args.data_dir, args.rebuild_warehouse)
        if "dbt_build_seconds" in dbt:
            print(f"  dbt build: {dbt['dbt_build_seconds']:.1f} s (exit {dbt['dbt_exit_code']})")
        if dbt.get("error"):
            print(f"  dbt error:\n{dbt['error']}")
    results = {
        "machine": machine(),
        "data": manifest,
        "ingest": ingest,
        "dbt": dbt,
        "verdicts": verdicts(ingest, dbt),
        "command": "uv run python tests/benchmarks/ingest_benchmark.py " + " ".join(sys.argv[1:]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    args.out.with_name("RESULTS.md").write_text(report)
    print()
    print(report)


if __name__ == "__main__":
    main()
