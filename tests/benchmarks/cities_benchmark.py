"""Cities benchmark: `dbt build` time and warehouse size with 3, 10 and 50 cities.

Not a pytest: a script that prepares warehouses, measures, prints and writes results. From
the repository root:

    uv run python tests/benchmarks/cities_benchmark.py --cities 3 10 50 --repeats 2

For each count N it builds, under --work (default /tmp/civic-cities-bench/<N>):
- a copy of the project whose sources/cities/ holds N catalogs: the three shipped ones and
  N - 3 copies of them under new ids (chicago_001, nyc_002, dc_003, ...; their raw tables get
  the new id as prefix, their bundled files and offence classifications are the shipped ones);
- a warehouse with every raw table loaded: each shipped dataset once through the loader
  (FileConnector + load_raw_table, as the raw assets load it), each copy as a copy of its
  original's rows, plus the reference tables (meta.*, reference.*, the problem registry);
then times `dbt build` of the copied dbt project on that warehouse (a fresh warehouse copy
per run), with /usr/bin/time -v for wall, CPU and peak RSS, and reports the warehouse size
after the build. The cost per million raw rows says whether the build grows linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["chicago", "nyc", "dc"]


def copy_project(target: Path, n_cities: int) -> Path:
    if target.exists():
        shutil.rmtree(target)
    for name in ["pipelines", "dbt_project"]:
        shutil.copytree(
            ROOT / name,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__", "target", "logs", "generated", "sources"),
        )
    shutil.copytree(ROOT / "sources", target / "sources", copy_function=link_data)
    cities = target / "sources" / "cities"
    for i in range(len(SHIPPED), n_cities):
        original = SHIPPED[i % len(SHIPPED)]
        city = f"{original}_{i:03d}"
        text = (cities / f"{original}.yml").read_text()
        text = re.sub(rf"^city: {original}$", f"city: {city}", text, flags=re.MULTILINE)
        text = re.sub(r"^(\s+raw_table: )(\S+)$", rf"\1{city}__\2", text, flags=re.MULTILINE)
        (cities / f"{city}.yml").write_text(text)
    return target


def link_data(source: str, target: str) -> None:
    if source.endswith((".yml", ".csv", ".md")):
        shutil.copy(source, target)
    else:  # a hard link: the loader refuses symlinks pointing out of sources/
        os.link(source, target)


PREPARE = r"""
import sys, duckdb
from pipelines.catalog import city_catalogs
from pipelines.connectors import FileConnector
from pipelines.loading import load_raw_table, META_DDL
from pipelines.settings import SOURCES_DIR
from pipelines.assets.reference import (
    CENSUS_FILES, CITY_TABLES, COLUMNS, catalog_rows, city_rows, replace_table)
from pipelines.assets.problems import write_registry
from pipelines.problems import resolve_registry
from pipelines.dbt_sources import write_dbt_sources
from pipelines.settings import DBT_PROJECT_DIR

write_dbt_sources(DBT_PROJECT_DIR)
con = duckdb.connect(sys.argv[1])
con.execute("create schema if not exists raw; create schema if not exists reference;" + META_DDL)
loaded = {}
rows = 0
for catalog in city_catalogs():
    for name, dataset in catalog.datasets.items():
        original = dataset.raw_table.split("__", 1)[-1]
        if original in loaded:
            con.execute(
                f'create or replace table raw."{dataset.raw_table}" as '
                f'select * from raw."{original}"'
            )
        else:
            b = dataset.bundled
            scan = FileConnector(SOURCES_DIR, b.path, b.format, delimiter=b.delimiter,
                                 skip_rows=b.skip_rows).scan()
            load_raw_table(con, dataset.raw_table, scan, columns=dataset.columns)
            loaded[original] = dataset.raw_table
        rows += con.execute(f'select count(*) from raw."{dataset.raw_table}"').fetchone()[0]
replace_table(con, "meta.datasets", COLUMNS, catalog_rows())
for table, columns in CITY_TABLES.items():
    replace_table(con, f"meta.{table}", columns, city_rows()[table])
for table, file in CENSUS_FILES.items():
    con.execute(
        f"create or replace table reference.{table} as select * from read_csv(?, header=true, "
        "columns={'geoid':'varchar','name':'varchar','state':'varchar','year':'integer',"
        "'population':'bigint','vintage':'varchar'})",
        [str(SOURCES_DIR / file)],
    )
write_registry(con, resolve_registry(), "benchmark")
con.close()
print(rows)
"""


def run(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def time_v(output: str) -> dict:
    def field(label: str) -> str:
        return re.search(rf"{re.escape(label)}: (.+)", output).group(1).strip()

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return {
        "wall_s": seconds,
        "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "peak_rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
    }


def environment(project: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(project)}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    return env


def prepare(n_cities: int, work: Path) -> tuple[Path, int]:
    """The project copy and its warehouse with every raw table loaded; (project, raw rows)."""
    project = copy_project(work / f"{n_cities}" / "project", n_cities)
    base = work / f"{n_cities}" / "prepared.duckdb"
    base.unlink(missing_ok=True)
    prepared = run([sys.executable, "-c", PREPARE, str(base)], project, environment(project))
    if prepared.returncode:
        raise SystemExit(f"prepare {n_cities} cities failed:\n{prepared.stderr[-3000:]}")
    return project, int(prepared.stdout.strip().splitlines()[-1])


def measure(n_cities: int, work: Path, repeats: int) -> dict:
    project, raw_rows = prepare(n_cities, work)
    base = work / f"{n_cities}" / "prepared.duckdb"
    env = environment(project)
    runs = []
    for _ in range(repeats):
        warehouse = work / f"{n_cities}" / "civic.duckdb"
        shutil.copy(base, warehouse)
        env_run = {**env, "CIVIC_WAREHOUSE": str(warehouse)}
        started = time.monotonic()
        done = run(
            ["/usr/bin/time", "-v", "dbt", "build", "--project-dir", "dbt_project",
             "--profiles-dir", "dbt_project"],
            project, env_run,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"dbt build, {n_cities} cities, failed:\n{done.stdout[-3000:]}")
        figures = time_v(done.stderr)
        figures["wall_s_monotonic"] = time.monotonic() - started
        figures["warehouse_mb"] = warehouse.stat().st_size / 2**20
        figures["load_1min"] = os.getloadavg()[0]
        summary = re.search(r"Done\. (PASS=\d+ .* TOTAL=\d+)", done.stdout)
        figures["dbt"] = summary.group(1) if summary else ""
        runs.append(figures)
    wall = statistics.median(r["wall_s"] for r in runs)
    return {
        "cities": n_cities,
        "raw_rows": raw_rows,
        "runs": runs,
        "median_wall_s": wall,
        "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "warehouse_mb": statistics.median(r["warehouse_mb"] for r in runs),
        "wall_s_per_million_rows": wall / raw_rows * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cities", type=int, nargs="+", default=[3, 10, 50])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/civic-cities-bench"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/civic-cities-bench/results.json"))
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="only write the projects and warehouses (to time `dbt build` with another tool)",
    )
    args = parser.parse_args()
    if args.prepare_only:
        for n in args.cities:
            print(n, prepare(n, args.work)[1])
        return
    results = [measure(n, args.work, args.repeats) for n in args.cities]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    first = results[0]
    print("| cities | raw rows | dbt build wall (s) | CPU (s) | peak RSS (MB) | warehouse (MB) | "
          "s per M rows | vs first |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ratio = r["wall_s_per_million_rows"] / first["wall_s_per_million_rows"]
        print(
            f"| {r['cities']} | {r['raw_rows']:,} | {r['median_wall_s']:.1f} | "
            f"{r['median_cpu_s']:.1f} | {r['peak_rss_mb']:,.0f} | {r['warehouse_mb']:,.0f} | "
            f"{r['wall_s_per_million_rows']:.2f} | {ratio:.2f}x |"
        )


if __name__ == "__main__":
    main()
