"""Cost with 2, 10 and 50 cities: definitions, run creation, `civic run`, memory, warehouse.

Not a pytest: a script that measures, prints and writes results. From the repository root:

    uv run python tests/benchmarks/cities_run_benchmark.py      # 3 (bundled), 10, 50 cities
    uv run python tests/benchmarks/cities_run_benchmark.py --cities 3 10   # fewer

For each count, a copy of the project (project_copy.py) gets simulated cities: copies of the
bundled catalogs (every shipped city) under new ids, with their own raw tables and quality suites,
reading the same bundled files. Measured, each a fresh process:

- definitions: importing `pipelines.definitions` (catalogs, raw assets, checks, dbt assets);
- run creation: creating the load run of every raw asset in a fresh SQLite Dagster instance
  (the planned-materialization and planned-check events a run records before it starts);
- civic run: a full `civic run` into an empty home (loads, dbt build, exports), with its wall
  and CPU time, peak RSS and the warehouse's size afterwards.

The canonical staging models read every city's raw tables, so the `dbt build` part grows
with the count too; cities_benchmark.py times `dbt build` alone (the dbt-by-cities section of
RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Sample, as_json, interleaved, run  # noqa: E402
from project_copy import copy_project, simulated_cities  # noqa: E402
from run_benchmark import PYTHON, civic_run, environment, warehouse_mb  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
RUN_CREATION = """
import sys, time, tempfile
from dagster import DagsterInstance
from pipelines.definitions import defs, everything_job
from pipelines.runs import RunRequest, load_keys
job = defs.resolve_job_def(everything_job.name)
keys = load_keys(RunRequest())
with DagsterInstance.get() as instance:
    started = time.perf_counter()
    subset = job.get_subset(asset_selection=set(keys))
    run = instance.create_run_for_job(subset, asset_selection=frozenset(keys))
    print(f"run_creation_s={time.perf_counter() - started:.3f} assets={len(keys)}")
"""


def measure_cities(count: int, data_dir: Path, repeats: int) -> dict:
    work = data_dir / f"cities-{count}"
    project = copy_project(work / "project")
    simulated_cities(project, count)
    # fewer than the bundled cities asked for: the bundled ones all stay
    cities = len(list((project / "sources" / "cities").glob("*.yml")))
    log = str(work / "children.log")
    home = work / "home"
    creation_log = work / "creation.log"
    shutil.rmtree(home, ignore_errors=True)
    # Warm-up, not measured: the first import parses the copy's dbt project.
    assert civic_run(project, home, log).returncode == 0, f"warm-up failed, see {log}"
    sizes: list[float] = []

    def definitions() -> Sample:
        return run(
            [PYTHON, "-c", "import pipelines.definitions"],
            env=environment(home, project),
            cwd=str(project),
            log=log,
        )

    def creation() -> Sample:
        scratch = work / "scratch-instance"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        (scratch / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = environment(home, project)
        env["DAGSTER_HOME"] = str(scratch)
        return run([PYTHON, "-c", RUN_CREATION], env=env, cwd=str(project), log=str(creation_log))

    def full() -> Sample:
        shutil.rmtree(home, ignore_errors=True)
        sample = civic_run(project, home, log)
        sizes.append(warehouse_mb(home))
        return sample

    series = interleaved(
        {"definitions": definitions, "run_creation": creation, "civic_run": full}, repeats
    )
    created = [
        float(part.split("=")[1])
        for line in creation_log.read_text().splitlines()
        for part in line.split()
        if part.startswith("run_creation_s=")
    ]
    return {
        "cities": cities,
        "series": as_json(series),
        "run_creation_inside_s": created,
        "warehouse_mb": sizes,
        "failures": {name: item.failures() for name, item in series.items()},
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| Cities | Definitions load s (wall / CPU) | Run creation s (inside) | civic run wall s | "
        "civic run CPU s | Peak RSS MB | Warehouse MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for item in results:
        series = item["series"]
        created = sorted(item["run_creation_inside_s"])
        median = created[len(created) // 2] if created else float("nan")
        lines.append(
            f"| {item['cities']} | {series['definitions']['median']['wall_s']:.1f} / "
            f"{series['definitions']['median']['cpu_s']:.1f} | {median:.2f} | "
            f"{series['civic_run']['median']['wall_s']:.0f} | "
            f"{series['civic_run']['median']['cpu_s']:.0f} | "
            f"{series['civic_run']['median']['peak_mb']:.0f} | "
            f"{max(item['warehouse_mb']):,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cities", type=int, nargs="+", default=[3, 10, 50])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/civic-bench"))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "cities.json")
    args = parser.parse_args()
    started = time.time()
    results = []
    for count in args.cities:
        print(f"{count} cities:", flush=True)
        results.append(measure_cities(count, args.data_dir, args.repeats))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(markdown(results))
    print(f"({time.time() - started:.0f} s; results in {args.out})")


if __name__ == "__main__":
    main()
