"""Loader benchmark: the pipeline's loader against DuckDB's own CSV reader and against dlt.

Not a pytest: a script that measures, prints and writes results. Run from the repository root:

    uv run python tests/benchmarks/ingest_benchmark.py                 # 10 M rows, 3 rounds
    uv run python tests/benchmarks/ingest_benchmark.py --rows 1_000_000 --repeats 1

Data (never in the repository) go to --data-dir (default /tmp/civic-bench): the 215,551 real
2022 Chicago crime rows of sources/chicago/crimes_2022.parquet repeated with their dates
shifted back by whole years until --rows is reached, one CSV file per month
(crimes/crimes_YYYY_MM.csv, the published header), plus one more month for the incremental
run (extra/crimes_2022_12.csv: the real November rows one month later).

Each command is a fresh process, measured from outside (wall clock, user + system CPU of the
process and its children, peak RSS), every round running all commands in turn:

- native_varchar: `create table t as select * from read_csv(<glob>, all_varchar = true)`,
  DuckDB's own reader keeping every value as text (what the loader does), no union_by_name;
- native_typed: the same with auto-detected types (what a typed load would cost);
- loader: the pipeline's path for a dated dataset's first load (ingest_children.py);
- dlt: dlt's documented fast path (Arrow tables from pyarrow's CSV reader, every column as
  text, to DuckDB), installed by this script in its own environment, not the project's;
- incremental: the loader after one new month file, on a copy of a warehouse the loader
  filled: it reads only the new file (the file index) and replaces only its rows.

Throughput ratios are CPU seconds (and wall seconds) of native_varchar over the command's,
taken round by round: 1.0 is the native ceiling, higher is faster.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Sample, as_json, interleaved, load_range, paired_ratio, run  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "sources" / "chicago" / "crimes_2022.parquet"
BENCH_DIR = Path(__file__).resolve().parent
CHILD = BENCH_DIR / "ingest_children.py"
PATTERN = "crimes_*.csv"
DLT_VERSION = "1.31.0"
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


def dlt_python(data_dir: Path) -> Path:
    """A separate virtual environment with dlt (never a dependency of the project)."""
    env = data_dir / "dlt-env"
    python = env / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"dlt[duckdb]=={DLT_VERSION}", "pyarrow"],
            check=True,
        )
    return python


def fresh(path: Path) -> Path:
    for leftover in (path, path.with_suffix(".duckdb.wal"), path.parent / f"{path.stem}-dlt"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover.exists():
            leftover.unlink()
    return path


def bench(data_dir: Path, repeats: int, with_dlt: bool, log: str) -> dict:
    work = data_dir / "work"
    work.mkdir(exist_ok=True)
    base = work / "incremental_base.duckdb"
    extra = data_dir / "extra" / "crimes_2022_12.csv"
    added = data_dir / "crimes" / extra.name
    python = sys.executable

    def child(mode: str, db_name: str, interpreter: str = python):
        def measure() -> Sample:
            db = fresh(work / db_name)
            return run([interpreter, str(CHILD), mode, str(data_dir), str(db)], log=log)

        return measure

    def loader() -> Sample:
        sample = child("loader", "loader.duckdb")()
        if not base.exists() and sample.returncode == 0:
            shutil.copy(work / "loader.duckdb", base)  # the state before the new month
        return sample

    def incremental() -> Sample:
        db = fresh(work / "incremental.duckdb")
        shutil.copy(base, db)
        shutil.copy(extra, added)
        try:
            return run([python, str(CHILD), "loader", str(data_dir), str(db)], log=log)
        finally:
            added.unlink()

    fresh(base)
    commands = {
        "native_varchar": child("native_varchar", "native.duckdb"),
        "native_typed": child("native_typed", "typed.duckdb"),
        "loader": loader,
        "incremental": incremental,
    }
    if with_dlt:
        commands["dlt"] = child("dlt", "dlt.duckdb", str(dlt_python(data_dir)))
    series = interleaved(commands, repeats)
    native = series["native_varchar"]
    ratios = {
        name: {
            "cpu_throughput_vs_native": paired_ratio(native, item, "cpu_s"),
            "wall_throughput_vs_native": paired_ratio(native, item, "wall_s"),
        }
        for name, item in series.items()
        if name != "incremental"
    }
    ratios["incremental"] = {
        "cpu_share_of_full_load": paired_ratio(series["incremental"], series["loader"], "cpu_s"),
        "wall_share_of_full_load": paired_ratio(series["incremental"], series["loader"], "wall_s"),
    }
    low, high = load_range(series)
    return {
        "series": as_json(series),
        "ratios": ratios,
        "load_average": [low, high],
        "failures": {name: item.failures() for name, item in series.items()},
    }


def machine() -> dict:
    import duckdb

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def markdown(manifest: dict, results: dict, about: dict) -> str:
    series, ratios = results["series"], results["ratios"]
    low, high = results["load_average"]
    lines = [
        f"{manifest['rows']:,} rows in {manifest['files']} monthly CSV files "
        f"({manifest['csv_bytes'] / 1e9:.2f} GB); {about['cores']} cores, {about['memory_gb']} GB, "
        f"Python {about['python']}, DuckDB {about['duckdb']}, {about['date']}. Medians of "
        f"{len(series['loader']['samples'])} interleaved rounds, each command a fresh process "
        f"measured from outside; 1-minute load average {low:.1f}-{high:.1f}.",
        "",
        "| Command | Wall s | CPU s | Peak RSS MB | CPU throughput vs native | Wall vs native |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in ("native_varchar", "native_typed", "loader", "dlt"):
        if name not in series:
            continue
        median = series[name]["median"]
        ratio = ratios[name]
        lines.append(
            f"| {name} | {median['wall_s']:.1f} | {median['cpu_s']:.1f} | "
            f"{median['peak_mb']:.0f} | {ratio['cpu_throughput_vs_native']:.2f}x | "
            f"{ratio['wall_throughput_vs_native']:.2f}x |"
        )
    inc = series["incremental"]["median"]
    share = ratios["incremental"]
    lines += [
        "",
        f"Incremental (one new month file, {manifest['extra_rows']:,} rows, into the warehouse the "
        f"loader filled): {inc['wall_s']:.1f} s wall, {inc['cpu_s']:.1f} s CPU = "
        f"{share['cpu_share_of_full_load'] * 100:.1f} % of a full load's CPU "
        f"({share['wall_share_of_full_load'] * 100:.1f} % of its wall time).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=10_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/civic-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dlt", action="store_true", help="no dlt environment, no dlt run")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "ingest.json")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    manifest = generate(args.data_dir, args.rows)
    log = str(args.data_dir / "ingest_children.log")
    started = time.time()
    results = bench(args.data_dir, args.repeats, not args.skip_dlt, log)
    about = machine()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": about, "data": manifest, **results}, indent=2, default=str)
    )
    print(markdown(manifest, results, about))
    print(f"({time.time() - started:.0f} s; results in {args.out}; child output in {log})")


if __name__ == "__main__":
    main()
