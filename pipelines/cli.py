"""`civic`: the analysts' command line. A thin face over the Dagster definitions.

civic run                 load the bundled data, build every model and test, export marts
civic ui                  start the Dagster UI on 127.0.0.1
civic dashboards build    build the Evidence site from the Parquet exports
civic dashboards serve    serve the built site on 127.0.0.1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipelines.locking import WarehouseBusy
from pipelines.settings import PROJECT_ROOT, paths


def use_dagster_home() -> None:
    """Keep Dagster's run history beside the warehouse unless the user chose a DAGSTER_HOME.

    Telemetry is off: cities often run on closed networks, and nothing should call out.
    """
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(paths().dagster_home)))
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n")


def run(args: argparse.Namespace) -> int:
    use_dagster_home()

    from pipelines.runs import RunRequest, execute, selected_keys
    from pipelines.summary import summarize

    request = RunRequest(city=args.city, live=args.live, verbose=args.verbose)
    started = time.monotonic()
    source = "live portals" if args.live else "bundled data"
    print(
        f"civic run: {len(selected_keys(request))} assets from {source} into {paths().warehouse}",
        flush=True,
    )
    try:
        result = execute(request, wait_seconds=args.wait)
    except WarehouseBusy as error:
        print(f"civic run: {error}", file=sys.stderr)
        return 3
    elapsed = time.monotonic() - started
    if not result.success:
        failed = [event.step_key for event in result.get_step_failure_events()]
        print(
            f"civic run FAILED after {elapsed:.0f} s in: {', '.join(failed) or 'run setup'}. "
            f"Details: `civic ui` (run {result.run_id}), or re-run with --verbose.",
            file=sys.stderr,
        )
        return 1
    print(f"civic run finished in {elapsed:.0f} s (run {result.run_id}).")
    for line in summarize(paths().warehouse).lines():
        print(line)
    print(f"Parquet exports: {paths().exports}")
    return 0


def ui(args: argparse.Namespace) -> int:
    use_dagster_home()
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "pipelines.definitions",
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(command, cwd=PROJECT_ROOT)
    except KeyboardInterrupt:
        return 0


def dashboards(args: argparse.Namespace) -> int:
    from pipelines import dashboards as site

    try:
        if args.action == "build":
            build_dir = site.build_site(paths().exports)
            print(f"Dashboards built in {build_dir}. Open them with `civic dashboards serve`.")
            return 0
        site.serve_site(host=args.host, port=args.port)
    except site.DashboardBuildError as error:
        print(f"civic dashboards {args.action} failed: {error}", file=sys.stderr)
        return 1
    return 0


def publish(args: argparse.Namespace) -> int:
    from pipelines.publishing import PublishError, publish_release

    try:
        release = publish_release(
            paths().warehouse, paths().home / "releases", version=args.version
        )
    except PublishError as error:
        print(f"civic publish failed: {error}", file=sys.stderr)
        return 1
    print(f"Published release {release.version} in {release.path}")
    return 0


def status(args: argparse.Namespace) -> int:
    use_dagster_home()
    from dagster import DagsterInstance

    from pipelines.status import status_report

    check_keys = None  # freshness checks; --checks adds every check (dbt tests, quality)
    if args.checks:
        from pipelines.definitions import defs

        check_keys = defs.resolve_asset_graph().asset_check_keys
    with DagsterInstance.get() as instance:
        print(status_report(paths().warehouse, instance, check_keys))
    return 0


def backfill(args: argparse.Namespace) -> int:
    use_dagster_home()

    from pipelines.backfill import BackfillError, backfill_request
    from pipelines.runs import execute

    try:
        request = backfill_request(
            args.city, args.dataset, args.first, args.last, args.live, args.verbose
        )
    except BackfillError as error:
        print(f"civic backfill: {error}", file=sys.stderr)
        return 2
    print(f"civic backfill: {args.city}.{args.dataset} {args.first} to {args.last}", flush=True)
    try:
        result = execute(request, wait_seconds=args.wait)
    except WarehouseBusy as error:
        print(f"civic backfill: {error}", file=sys.stderr)
        return 3
    if not result.success:
        print(f"civic backfill FAILED (run {result.run_id}); details: `civic ui`", file=sys.stderr)
        return 1
    print(f"civic backfill finished (run {result.run_id}). Rebuild the indicators: `civic run`.")
    return 0


def validate(args: argparse.Namespace) -> int:
    """Check every configuration file a run reads, without touching the warehouse."""
    from pipelines.catalog import CatalogError, canonical_tables, city_catalogs
    from pipelines.problems import RegistryError, resolve_registry
    from pipelines.quality.suites import QUALITY_DIR, raw_suite

    try:
        canonical_tables()
        catalogs = city_catalogs()
        datasets = [d for c in catalogs for d in c.datasets.values()]
        for dataset in datasets:
            raw_suite(dataset, QUALITY_DIR)
        problems = resolve_registry()
    except (CatalogError, RegistryError, ValueError) as error:
        print(f"civic validate: {error}", file=sys.stderr)
        return 1
    print(
        f"OK: {len(catalogs)} city catalogs ({', '.join(c.city for c in catalogs)}), "
        f"{len(datasets)} datasets with quality suites, {len(problems)} city problems."
    )
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="civic", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser("run", help="materialize everything on the bundled data")
    run_cmd.add_argument("--city", help="only this city's datasets (default: every catalog)")
    run_cmd.add_argument(
        "--live", action="store_true", help="read the portals (network) instead of bundled data"
    )
    run_cmd.add_argument("-v", "--verbose", action="store_true", help="show Dagster's full log")
    run_cmd.add_argument(
        "--wait",
        type=float,
        default=600,
        metavar="SECONDS",
        help="how long to wait for a run already writing the warehouse (default 600)",
    )
    run_cmd.set_defaults(handler=run)

    ui_cmd = commands.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    ui_cmd.add_argument("--port", type=int, default=3000)
    ui_cmd.set_defaults(handler=ui)

    status_cmd = commands.add_parser(
        "status", help="last runs, dataset freshness, failing checks, quarantined rows"
    )
    status_cmd.add_argument(
        "--checks", action="store_true", help="report every failing check, dbt tests included"
    )
    status_cmd.set_defaults(handler=status)

    fill = commands.add_parser("backfill", help="reload months of one dated dataset")
    fill.add_argument("--city", required=True)
    fill.add_argument("--dataset", required=True, help="a dataset key of the city's catalog")
    fill.add_argument("--from", dest="first", required=True, metavar="YYYY-MM")
    fill.add_argument("--to", dest="last", required=True, metavar="YYYY-MM")
    fill.add_argument("--live", action="store_true", help="read the portal (network)")
    fill.add_argument("-v", "--verbose", action="store_true", help="show Dagster's full log")
    fill.add_argument(
        "--wait",
        type=float,
        default=600,
        metavar="SECONDS",
        help="how long to wait for a run already writing the warehouse",
    )
    fill.set_defaults(handler=backfill)

    validate_cmd = commands.add_parser(
        "validate", help="check the city catalogs, quality suites and problem registry"
    )
    validate_cmd.set_defaults(handler=validate)

    publish_cmd = commands.add_parser(
        "publish", help="write a versioned release of the indicator marts (Parquet, CSV, metadata)"
    )
    publish_cmd.add_argument("--version", help="release name (default: YYYY.MM.DD-N)")
    publish_cmd.set_defaults(handler=publish)

    dash = commands.add_parser("dashboards", help="build or serve the Evidence dashboards")
    dash.add_argument("action", choices=["build", "serve"])
    dash.add_argument("--port", type=int, default=4000, help="serve: port (default 4000)")
    dash.add_argument(
        "--host",
        default="127.0.0.1",
        help="serve: address to listen on (default 127.0.0.1; 0.0.0.0 for other machines)",
    )
    dash.set_defaults(handler=dashboards)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
