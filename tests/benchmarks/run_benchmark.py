"""`civic run` against plain `dbt build`, at 10 M crime rows and on the bundled data.

Not a pytest: a script that measures, prints and writes results. From the repository root:

    uv run python tests/benchmarks/run_benchmark.py --scale bundled      # the shipped data
    uv run python tests/benchmarks/run_benchmark.py --scale 10m          # after ingest_benchmark

It works on a copy of the project (project_copy.py); at `10m` the copy's Chicago crimes are
the benchmark's 517 monthly CSV files (10,130,897 rows, made by ingest_benchmark.py). Every
command is a fresh process measured from outside (wall, CPU of the process and its children,
peak RSS of the largest: dbt's subprocess included). Each round, in turn:

- full: `civic run` into an empty home: load every source, build every model and test,
  export the marts;
- dbt: plain `dbt build` of the same dbt project on the warehouse the full run left;
- rebuild: `civic run` after every model's build record was removed (as after a change to
  the dbt project): loads nothing, rebuilds and tests every model, exports; the same dbt
  work as `dbt build`, so the difference is the orchestration's own cost;
- noop: `civic run` again, nothing changed;
- new_month (10m): `civic run` after one new month file of crimes (19,816 rows) arrived:
  the path the pipeline takes for an incremental update.

All commands of a round use one home (as an analyst has one warehouse); a round starts from
an empty home.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Sample, as_json, interleaved, load_range, paired_ratio, run  # noqa: E402
from project_copy import copy_project, crimes_from_csv  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))


def environment(home: Path, project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIVIC_", "DAGSTER_"))}
    env.update(
        CIVIC_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        PATH=f"{Path(PYTHON).parent}:{env.get('PATH', '')}",
        PYTHONPATH=str(project),
    )
    return env


def civic_run(project: Path, home: Path, log: str, *args: str) -> Sample:
    return run(
        [PYTHON, "-m", "pipelines.cli", "run", *args],
        env=environment(home, project),
        cwd=str(project),
        log=log,
    )


def warehouse_mb(home: Path) -> float:
    return (home / "civic.duckdb").stat().st_size / 2**20


def bench(scale: str, data_dir: Path, repeats: int) -> dict:
    work = data_dir / f"run-{scale}"
    project = copy_project(work / "project")
    extra = None
    crimes = None
    if scale == "10m":
        crimes = crimes_from_csv(project, data_dir / "crimes")
        extra = data_dir / "extra" / "crimes_2022_12.csv"
    log = str(work / "children.log")
    # One home for every command, as an analyst has: dbt's parse cache is keyed to the
    # warehouse path, so a new path per run would make every run parse the project again.
    home = work / "home"
    sizes: list[float] = []

    # Warm-up, not measured: parses the copy's dbt project once (as a fresh clone would).
    shutil.rmtree(home, ignore_errors=True)
    assert civic_run(project, home, log).returncode == 0, f"warm-up failed, see {log}"

    def full() -> Sample:
        shutil.rmtree(home, ignore_errors=True)  # an empty warehouse: everything is new
        sample = civic_run(project, home, log)
        sizes.append(warehouse_mb(home))
        return sample

    def dbt() -> Sample:
        env = environment(home, project)
        env["CIVIC_WAREHOUSE"] = str(home / "civic.duckdb")
        folder = project / "dbt_project"
        return run(
            [DBT, "build", "--project-dir", str(folder), "--profiles-dir", str(folder)],
            env=env,
            cwd=str(folder),
            log=log,
        )

    def rebuild() -> Sample:
        import duckdb

        with duckdb.connect(str(home / "civic.duckdb")) as con:  # not timed
            con.execute("delete from meta.dbt_node_state")
        return civic_run(project, home, log)

    def noop() -> Sample:
        return civic_run(project, home, log)

    def new_month() -> Sample:
        arrived = crimes / extra.name
        os.link(extra, arrived)
        try:
            return civic_run(project, home, log)
        finally:
            arrived.unlink()

    commands = {"full": full, "dbt": dbt, "rebuild": rebuild, "noop": noop}
    if extra is not None:
        commands["new_month"] = new_month
    series = interleaved(commands, repeats)
    ratios = {
        "full_vs_dbt_wall": paired_ratio(series["full"], series["dbt"], "wall_s"),
        "full_vs_dbt_cpu": paired_ratio(series["full"], series["dbt"], "cpu_s"),
        "rebuild_vs_dbt_wall": paired_ratio(series["rebuild"], series["dbt"], "wall_s"),
        "rebuild_vs_dbt_cpu": paired_ratio(series["rebuild"], series["dbt"], "cpu_s"),
    }
    if "new_month" in series:
        ratios["new_month_share_of_full_wall"] = paired_ratio(
            series["new_month"], series["full"], "wall_s"
        )
        ratios["new_month_share_of_full_cpu"] = paired_ratio(
            series["new_month"], series["full"], "cpu_s"
        )
    low, high = load_range(series)
    return {
        "scale": scale,
        "series": as_json(series),
        "ratios": ratios,
        "warehouse_mb": sizes,
        "load_average": [low, high],
        "failures": {name: item.failures() for name, item in series.items()},
    }


def markdown(results: dict) -> str:
    series, ratios = results["series"], results["ratios"]
    low, high = results["load_average"]
    rounds = len(series["full"]["samples"])
    lines = [
        f"Scale: {results['scale']}. Medians of {rounds} interleaved rounds, each command a fresh "
        f"process measured from outside (CPU and peak RSS include dbt's subprocess); 1-minute "
        f"load average {low:.1f}-{high:.1f}; warehouse {max(results['warehouse_mb']):,.0f} MB.",
        "",
        "| Command | Wall s | CPU s | Peak RSS MB | failed runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, item in series.items():
        median = item["median"]
        lines.append(
            f"| {name} | {median['wall_s']:.1f} | {median['cpu_s']:.1f} | "
            f"{median['peak_mb']:.0f} | {results['failures'][name]} |"
        )
    lines.append("")
    lines.append(
        f"`civic run` (full: loads + build + exports) / `dbt build`: "
        f"{ratios['full_vs_dbt_wall']:.2f}x wall, {ratios['full_vs_dbt_cpu']:.2f}x CPU; "
        f"`civic run` rebuilding every model / `dbt build`: "
        f"{ratios['rebuild_vs_dbt_wall']:.2f}x wall, {ratios['rebuild_vs_dbt_cpu']:.2f}x CPU "
        "(medians of run-by-run ratios)."
    )
    if "new_month_share_of_full_wall" in ratios:
        lines.append(
            f"One new month / full run: {ratios['new_month_share_of_full_wall'] * 100:.1f} % wall, "
            f"{ratios['new_month_share_of_full_cpu'] * 100:.1f} % CPU."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["bundled", "10m"], default="bundled")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/civic-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.scale == "10m" and not (args.data_dir / "crimes").exists():
        raise SystemExit("no benchmark data: run tests/benchmarks/ingest_benchmark.py first")
    started = time.time()
    results = bench(args.scale, args.data_dir, args.repeats)
    out = args.out or BENCH_DIR / "results" / f"run_{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    print(markdown(results))
    print(f"({time.time() - started:.0f} s; results in {out})")


if __name__ == "__main__":
    main()
