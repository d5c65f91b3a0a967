"""Soak: consecutive `civic run`s, two of them SIGKILLed, while a reader reads the exports.

Not a pytest: a script that runs for a long time, prints and writes its results. From the
repository root:

    uv run python tests/benchmarks/soak_runs.py                 # 20 runs, 2 kills
    uv run python tests/benchmarks/soak_runs.py --runs 5 --kills 1 --home /tmp/soak

What it does, in a fresh CIVIC_HOME (--home, emptied first):

1. every run is `civic run --full-refresh`, so each rebuilds every model and switches to a new
   export generation (a run over unchanged data rebuilds and exports nothing: it would test
   nothing; `--plain` runs them so); run 1 is never killed and its duration sets the kill
   window; two of runs 2..10 (seeded random) are SIGKILLed at a random point between 5 % and
   95 % of that duration;
   `--budget-minutes` stops starting runs after that long (the checks below still run);
2. all along, a reader process reads the current export generation in a loop, as the
   dashboards and `civic publish` do: resolve `exports/` once, read the manifest and every
   Parquet file, and check that each file is the one the manifest lists (same size); it counts
   reads, mixed sets and errors;
3. afterwards it checks that nothing was lost or left over: every table of the warehouse (raw,
   staging, marts; load bookkeeping columns excepted) has the same rows and content hash as
   after run 1 (the bundled data are the same every run); each exported file has the rows and
   content hash of its mart; no partial generation, prefetch or release folder is left; the
   runs Dagster still calls STARTED; each killed run is recorded as failed ("abandoned"), as
   `civic status` shows.

Prints a summary and writes it as JSON (--out, default <home>/soak.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from warehouse_prints import content, table_prints  # noqa: E402

READER = r"""
import json, sys, time
from pathlib import Path
import pyarrow.parquet as pq
exports, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
reads = mixed = errors = 0
generations = set()
while not stop.exists():
    if not exports.exists():
        time.sleep(0.05)
        continue
    try:
        generation = exports.resolve()  # once: the whole read sees one generation
        manifest = json.loads((generation / "_generation.json").read_text())
        for name, size in manifest["files"].items():
            path = generation / f"{name}.parquet"
            pq.read_table(path)
            if path.stat().st_size != size:
                mixed += 1
        reads += 1
        generations.add(manifest["generation"])
    except FileNotFoundError:  # a generation two runs old, removed after the read began
        errors += 1
    time.sleep(0.02)
out.write_text(json.dumps({"reads": reads, "mixed": mixed, "errors": errors,
                           "generations_seen": len(generations)}))
"""


def warehouse_prints(warehouse: Path) -> dict[str, tuple[int, str]]:
    return table_prints(warehouse, schemas=("raw", "staging", "marts"))


def exports_agree(home: Path) -> list[str]:
    """Tables whose exported Parquet differs from the mart (rows or content)."""
    generation = (home / "exports").resolve()
    manifest = json.loads((generation / "_generation.json").read_text())
    different = []
    with duckdb.connect(str(home / "civic.duckdb"), read_only=True) as con:
        for table in manifest["files"]:
            mart = content(con, f'marts."{table}"')
            exported = content(con, f"read_parquet('{generation / f'{table}.parquet'}')")
            if mart != exported:
                different.append(table)
    return different


def run_states(home: Path) -> dict[str, int]:
    """How many runs Dagster records as abandoned (killed) and as still STARTED."""
    from dagster import DagsterInstance, DagsterRunStatus

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = instance.get_run_records()
        return {
            "abandoned": sum(1 for r in records if r.dagster_run.tags.get("civic/abandoned")),
            "started": sum(1 for r in records if r.dagster_run.status == DagsterRunStatus.STARTED),
        }


def civic(home: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CIVIC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("CIVIC_WAREHOUSE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--home", type=Path, default=Path("/tmp/civic-soak"))
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--plain", action="store_true", help="plain `civic run`s, not --full-refresh"
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        help="start no run after this long (a loaded machine); the checks still run at the end",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    home = args.home.resolve()
    shutil.rmtree(home, ignore_errors=True)
    (home / "dagster").mkdir(parents=True)
    # Kills fall among runs 2..10, so a soak cut short by --budget-minutes still has them.
    killed_runs = sorted(rng.sample(range(2, min(args.runs, 11)), args.kills))
    out = args.out or home / "soak.json"
    began = time.monotonic()
    stop, reader_out = home / ".stop-reader", home / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(home / "exports"), str(stop), str(reader_out)]
    )
    runs, baseline, window = [], None, None
    try:
        for number in range(1, args.runs + 1):
            if args.budget_minutes and time.monotonic() - began > 60 * args.budget_minutes:
                print(f"budget of {args.budget_minutes:g} min reached: stopping", flush=True)
                break
            started = time.monotonic()
            process = civic(home, "run", *([] if args.plain else ["--full-refresh"]))
            kill_at = None
            if number in killed_runs:
                kill_at = rng.uniform(0.05, 0.95) * window
                try:
                    process.wait(timeout=kill_at)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)
            output = process.communicate()[0]
            took = time.monotonic() - started
            runs.append(
                {
                    "run": number,
                    "rc": process.returncode,
                    "seconds": round(took, 1),
                    "killed_at": None if kill_at is None else round(kill_at, 1),
                    "load": round(os.getloadavg()[0], 2),
                }
            )
            print(f"run {number:2d}: rc {process.returncode} in {took:5.0f} s", flush=True)
            out.write_text(json.dumps({"runs": runs, "killed": killed_runs}, indent=2))
            if number == 1:
                if process.returncode != 0:
                    print(output)
                    return 1
                window = took
                baseline = warehouse_prints(home / "civic.duckdb")
    finally:
        stop.touch()
        reader.wait(timeout=60)

    final = warehouse_prints(home / "civic.duckdb")
    lost = sorted(k for k in baseline if final.get(k) != baseline[k])
    status = civic(home, "status").communicate()[0]
    leftovers = [
        str(p.relative_to(home))
        for p in [
            *home.glob("exports-generations/*.partial"),
            *home.glob("prefetch-*"),
            *home.glob("releases/.*.partial"),
        ]
    ]
    results = {
        "runs_completed": len(runs),
        "runs": runs,
        "killed": killed_runs,
        "reader": json.loads(reader_out.read_text()),
        "tables_compared": len(baseline),
        "tables_changed_or_lost": lost,
        "exports_differing_from_marts": exports_agree(home),
        "leftovers": leftovers,
        "dagster_runs": run_states(home),
        "status_shows_abandoned": "ABANDONED" in status or killed_runs[-1] < args.runs - 4,
        "completed_run_seconds_median": statistics.median(
            r["seconds"] for r in runs if r["killed_at"] is None or r["rc"] == 0
        ),
        "load_average_median": statistics.median(r["load"] for r in runs),
    }
    ok = (
        len(runs) > max(killed_runs)
        and all(r["rc"] == 0 for r in runs if r["run"] not in killed_runs)
        and all(r["rc"] == -signal.SIGKILL for r in runs if r["run"] in killed_runs)
        and not lost
        and not results["exports_differing_from_marts"]
        and not leftovers
        and results["reader"]["mixed"] == 0
        and results["dagster_runs"] == {"abandoned": args.kills, "started": 0}
        and results["status_shows_abandoned"]
    )
    results["ok"] = ok
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))
    print(f"results in {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
