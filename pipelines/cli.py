"""`civic`: the analysts' command line. A thin face over the Dagster definitions.

civic run                 load the bundled data, build every model and test, export marts
civic validate            check catalogs against their data, suites and the problem registry
civic city init           draft a new city's catalog from its portal's metadata
civic ui                  start the Dagster UI on 127.0.0.1
civic dashboards build    build the Evidence site from the Parquet exports
civic dashboards serve    serve the built site on 127.0.0.1
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pipelines.locking import WarehouseBusy
from pipelines.settings import PROJECT_ROOT, paths


class UsageError(ValueError):
    """Something typed on the command line names nothing that exists (e.g. a bad --city)."""


# What a user can get wrong, and the exit code each gives (the one place that decides):
# 2 for what was typed (arguments, environment variables), 1 for the project's files and setup.
USER_ERRORS = {
    "pipelines.cli:UsageError": 2,
    "pipelines.backfill:BackfillError": 2,
    "pipelines.settings:SettingsError": 2,  # pipelines.freshness.FreshnessConfigError too
    "pipelines.catalog:CatalogError": 1,
    "pipelines.canonical:CanonicalError": 1,
    "pipelines.interventions:RegistryError": 1,  # pipelines.problems.RegistryError too
    "pipelines.quality.suites:QualityError": 1,
    "pipelines.offenses:OffenseRulesError": 1,
    "pipelines.publishing.config:PublishingConfigError": 1,
    "pipelines.child_processes:DbtMissingError": 1,
}
FILE_ERRORS = {"CatalogError", "CanonicalError", "RegistryError", "QualityError"}


def user_error(error: BaseException) -> tuple[BaseException, int] | None:
    """The user error behind `error` (itself, or what it was raised from, e.g. inside
    Dagster's definition loading) and its exit code; None for anything else (a bug)."""
    import importlib

    classes = {}
    for name, code in USER_ERRORS.items():
        module, _, attribute = name.partition(":")
        if module in sys.modules or module == "pipelines.cli":  # never raised if not imported
            classes[getattr(importlib.import_module(module), attribute)] = code
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for cls, code in classes.items():
            if isinstance(current, cls):
                return current, code
        current = current.__cause__ or current.__context__
    return None


def one_line(command: str, error: BaseException) -> str:
    """`civic <command>: <message>` on one line, with the next step for a file's mistake."""
    text = "; ".join(part.strip() for part in str(error).splitlines() if part.strip())
    if type(error).__name__ in FILE_ERRORS and command != "validate":
        text += ". Fix the file, then check every file with `civic validate`"
    return f"civic {command}: {text}"


def check_city(city: str | None) -> None:
    """A --city must name a catalog in sources/cities (rc 2 with the known ones otherwise)."""
    if city is None:
        return
    from pipelines.settings import SOURCES_DIR

    known = sorted(path.stem for path in (SOURCES_DIR / "cities").glob("*.yml"))
    if city not in known:
        raise UsageError(
            f"--city {city}: no catalog sources/cities/{city}.yml (known: {', '.join(known)}); "
            "`civic city init` drafts a new one"
        )


# The bundled instance: SQLite run history with pooled event-log connections
# (pipelines.event_log), no telemetry.
INSTANCE_SETTINGS = """\
telemetry:
  enabled: false
event_log_storage:
  module: pipelines.event_log
  class: PooledSqliteEventLogStorage
  config: {}
"""
EARLIER_INSTANCE_SETTINGS = ("telemetry:\n  enabled: false\n",)


def use_dagster_home() -> None:
    """Keep Dagster's run history beside the warehouse unless the user chose a DAGSTER_HOME.

    Telemetry is off: cities often run on closed networks, and nothing should call out.
    """
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(paths().dagster_home)))
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    # Our own earlier default is upgraded; a file the user wrote (other storage) is theirs.
    if not settings.exists() or settings.read_text() in EARLIER_INSTANCE_SETTINGS:
        settings.write_text(INSTANCE_SETTINGS)


def waits(args: argparse.Namespace) -> dict[str, float]:
    """Wait for another run as long as --wait says (600 s by default); for a reader's open
    connection only when --wait is given."""
    return {
        "wait_seconds": 600 if args.wait is None else args.wait,
        "reader_wait_seconds": args.wait or 0,
    }


def explain_failure(command: str, result) -> int | None:  # noqa: ANN001 (Dagster's result)
    """rc 3 for a lock conflict met inside the run, 1 for a storage failure (one line each);
    None when the failure is something else (the caller reports it)."""
    from pipelines.locking import duckdb_lock_holder
    from pipelines.storage_errors import storage_problem

    texts = [
        event.step_failure_data.error.to_string()
        for event in result.get_step_failure_events()
        if event.step_failure_data and event.step_failure_data.error
    ]
    for text in texts:
        if holder := duckdb_lock_holder(text):
            print(
                f"{command}: {paths().warehouse} is open in {holder}, which holds DuckDB's "
                "lock on the file; the step that needed it failed and the previous data are "
                "intact. Close that connection (or use --wait SECONDS) and run again.",
                file=sys.stderr,
            )
            return 3
    for text in texts:
        if problem := storage_problem(text, paths().home, command):
            print(problem, file=sys.stderr)
            return 1
    return None


def preflight() -> None:
    """The files a run reads, checked before the definitions load (which parses dbt, minutes
    on a fresh clone): a mistake is reported at once, with its file and key."""
    from pipelines.catalog import canonical_tables, city_catalogs
    from pipelines.problems import resolve_registry

    canonical_tables()
    resolve_registry(cities=[c.city for c in city_catalogs()])


def run(args: argparse.Namespace) -> int:
    preflight()
    use_dagster_home()

    from pipelines.catalog import CatalogError
    from pipelines.runs import RunRequest, execute, load_keys, offline_skips

    request = RunRequest(
        city=args.city,
        live=args.live,
        verbose=args.verbose,
        full_refresh=args.full_refresh,
        allow_shrink=args.allow_shrink,
    )
    started = time.monotonic()
    source = "live portals" if args.live else "bundled data"
    try:
        planned = load_keys(request)
    except CatalogError:
        check_city(args.city)  # an unknown --city is a usage error (rc 2)
        raise
    print(f"civic run: {len(planned)} sources from {source} into {paths().warehouse}", flush=True)
    for dataset in offline_skips(request).values():
        if args.city is None or dataset.startswith(f"{args.city}."):
            print(
                f"civic run: leaves out {dataset}: no bundled copy in sources/ (live only); "
                "`civic run --live` loads it from its portal",
                flush=True,
            )
    from pipelines.console import log_path, run_display

    log_file = None if args.verbose else log_path(paths().home)
    try:
        with run_display(log_file, verbose=args.verbose) as display:
            outcome = execute(request, **waits(args))
    except WarehouseBusy as error:
        print(f"civic run: {error}", file=sys.stderr)
        return 3
    elapsed = time.monotonic() - started
    code = run_report(args, outcome, elapsed, display, log_file)
    if log_file is not None:
        print(f"Full log (dbt and Dagster): {log_file}")
    return code


def run_report(
    args: argparse.Namespace, outcome, elapsed: float, display, log_file: Path | None = None
) -> int:
    """What a finished run says: failures, the summary of the warehouse, the stage table.
    With a log file, the screen gets the short summary and the log the full one."""
    from pipelines.summary import summarize

    if not outcome.success and (code := explain_failure("civic run", outcome)) is not None:
        return code
    runs = ", ".join(outcome.run_ids)
    if outcome.transform_note:
        print(f"Transform: {outcome.transform_note}.")
    for line in skipped_lines(outcome):
        print(line, file=sys.stderr)
    transform_failed = outcome.transform is not None and not outcome.transform.success
    if transform_failed:
        failed = [event.step_key for event in outcome.transform_failures()]
        print(
            f"civic run FAILED after {elapsed:.0f} s in: {', '.join(failed) or 'run setup'}. "
            f"Details: `civic ui` (runs {runs}), or re-run with --verbose.",
            file=sys.stderr,
        )
        return 1
    summary = summarize(paths().warehouse)
    for line in summary.lines(per_table=log_file is None):
        print(line)
    if log_file is not None:
        with log_file.open("a", encoding="utf-8") as log:
            log.write("\n".join(["", "Summary:", *summary.lines()]) + "\n")
    print(f"Parquet exports: {paths().exports}")
    display.console.print(display.summary_table())
    if outcome.skipped or not outcome.load.success:
        print(
            f"civic run finished in {elapsed:.0f} s with {len(outcome.skipped)} failed load(s) "
            f"(runs {runs}): the other datasets were loaded and every mart rebuilt from the "
            "data in place.",
            file=sys.stderr,
        )
        return 1
    print(f"civic run finished in {elapsed:.0f} s (runs {runs}).")
    return 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def skipped_lines(outcome) -> list[str]:
    """What was not loaded, by city and dataset, and why (the previous data stay)."""
    if not outcome.skipped:
        return []
    lines = ["Not loaded (previous data kept; the rest of the run went on):"]
    lines += [f"  {item.line()}" for item in outcome.skipped]
    return lines


def ui(args: argparse.Namespace) -> int:
    """The Dagster webserver behind `pipelines.ui_guard` (loopback Host and same-Origin
    only), and the Dagster daemon for schedules and sensors: what `dagster dev` starts."""
    use_dagster_home()
    target = ["-m", "pipelines.definitions"]
    webserver = [sys.executable, "-m", "pipelines.ui_guard", "--host", "127.0.0.1"]
    webserver += ["--port", str(args.port), *target]
    daemon = [str(Path(sys.executable).with_name("dagster-daemon")), "run", *target]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C to stop)", flush=True)
    processes = [subprocess.Popen(command, cwd=PROJECT_ROOT) for command in (webserver, daemon)]
    signal.signal(signal.SIGTERM, _interrupt)  # stopped by a service manager: stop both too
    interrupted = False
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    return 0 if interrupted else next((p.returncode for p in processes if p.returncode), 0)


def dashboards(args: argparse.Namespace) -> int:
    from pipelines import dashboards as site
    from pipelines.console import log_path

    log_file = None
    try:
        if args.action == "build":
            log_file = None if args.verbose else log_path(paths().home, "dashboards")
            build_dir = site.build_site(paths().exports, log_file)
            print(f"Dashboards built in {build_dir}. Open them with `civic dashboards serve`.")
            if log_file is not None:
                print(f"Full log (npm and Evidence): {log_file}")
            return 0
        site.serve_site(host=args.host, port=args.port)
    except site.DashboardBuildError as error:
        print(f"civic dashboards {args.action} failed: {error}", file=sys.stderr)
        if log_file is not None:
            print(f"Full log (npm and Evidence): {log_file}", file=sys.stderr)
        return 1
    return 0


def publish(args: argparse.Namespace) -> int:
    from pipelines.generations import current_generation
    from pipelines.publishing import PublishError, publish_release

    # The current export generation (what the dashboards show, complete and consistent, and
    # readable while a run writes the warehouse); the warehouse itself before any export.
    source = current_generation(paths().exports) or paths().warehouse
    try:
        release = publish_release(source, paths().home / "releases", version=args.version)
    except PublishError as error:
        from pipelines.locking import duckdb_lock_holder

        if holder := duckdb_lock_holder(str(error)):
            print(
                f"civic publish: {source} is open in {holder}, which holds DuckDB's lock on "
                "the file; nothing was published. Wait for it (or publish after `civic run` "
                "has exported), then run again.",
                file=sys.stderr,
            )
            return 3
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
    check_city(args.city)
    use_dagster_home()

    from pipelines.backfill import BackfillError, backfill_request
    from pipelines.runs import execute

    try:
        request = backfill_request(
            args.city,
            args.dataset,
            args.first,
            args.last,
            args.live,
            args.verbose,
            allow_shrink=args.allow_shrink,
        )
    except BackfillError as error:
        print(f"civic backfill: {error}", file=sys.stderr)
        return 2
    print(f"civic backfill: {args.city}.{args.dataset} {args.first} to {args.last}", flush=True)
    try:
        result = execute(request, **waits(args))
    except WarehouseBusy as error:
        print(f"civic backfill: {error}", file=sys.stderr)
        return 3
    if not result.success and (code := explain_failure("civic backfill", result)) is not None:
        return code
    if not result.success:
        for line in skipped_lines(result):
            print(line, file=sys.stderr)
        print(f"civic backfill FAILED (run {result.run_id}); details: `civic ui`", file=sys.stderr)
        return 1
    print(f"civic backfill finished (run {result.run_id}). Rebuild the indicators: `civic run`.")
    return 0


def validate(args: argparse.Namespace) -> int:
    """Check every configuration file a run reads, and each catalog against its data (the
    bundled copies, or with --live a sample from the portals), without touching the warehouse."""
    from pipelines.catalog import CatalogError, canonical_tables, city_catalogs, load_catalog
    from pipelines.problems import RegistryError, resolve_registry
    from pipelines.quality.suites import QUALITY_DIR, raw_suite
    from pipelines.settings import SOURCES_DIR
    from pipelines.validate import validate_city

    check_city(args.city)
    try:
        canonical_tables()
        if args.city:
            path = SOURCES_DIR / "cities" / f"{args.city}.yml"
            catalogs = (load_catalog(path),)
        else:
            catalogs = city_catalogs()
        datasets = [d for c in catalogs for d in c.datasets.values()]
        for dataset in datasets:
            raw_suite(dataset, QUALITY_DIR)
        problems = resolve_registry(cities=[c.city for c in city_catalogs()])
    except (CatalogError, RegistryError, ValueError) as error:
        print(one_line("validate", error), file=sys.stderr)
        return 1
    findings = [
        finding
        for catalog in catalogs
        for finding in validate_city(
            catalog, SOURCES_DIR / "cities" / f"{catalog.city}.yml", live=args.live
        )
    ]
    for severity, title in [
        ("error", "would fail or be wrong at run time"),
        ("todo", "still to fill in (TODO)"),
        ("warning", "worth a look"),
    ]:
        found = [f for f in findings if f.severity == severity]
        if found:
            print(f"civic validate: {len(found)} {title}:", file=sys.stderr)
            for finding in found:
                print(f"  {finding}", file=sys.stderr)
    if any(f.severity in ("error", "todo") for f in findings):
        return 1
    print(
        f"OK: {len(catalogs)} city catalogs ({', '.join(c.city for c in catalogs)}), "
        f"{len(datasets)} datasets with quality suites, {len(problems)} city problems."
    )
    return 0


def city(args: argparse.Namespace) -> int:
    """`civic city init`: a draft catalog from the portal's metadata and a sample of rows."""
    from pipelines.city_init import init_city
    from pipelines.connectors import ConnectorError
    from pipelines.settings import SOURCES_DIR

    datasets = {}
    for item in args.dataset:
        key, _, dataset_id = item.partition("=")
        if not key or not dataset_id:
            print(f"civic city init: --dataset takes KEY=ID, got {item!r}", file=sys.stderr)
            return 2
        datasets[key] = dataset_id
    try:
        written = init_city(
            args.city,
            args.name or args.city.replace("_", " ").title(),
            args.portal,
            args.base_url,
            datasets,
            census_place=args.census_place,
            sources_dir=SOURCES_DIR,
            force=args.force,
        )
    except (ConnectorError, FileExistsError, ValueError) as error:
        print(f"civic city init: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    print(f"Next: fill in the TODOs, then `civic validate --city {args.city}`.")
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
        "--full-refresh",
        action="store_true",
        help="read every source again and rebuild every model (default: only what changed)",
    )
    run_cmd.add_argument(
        "--allow-shrink",
        action="store_true",
        help="accept loads that would empty or gut a table or month (refused by default)",
    )
    run_cmd.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for a run already writing the warehouse (default 600) or, "
        "only when given, for a program holding it open to close it",
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
        "--allow-shrink",
        action="store_true",
        help="accept a load that would empty or gut the months (refused by default)",
    )
    fill.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for a run already writing the warehouse (default 600) or, "
        "only when given, for a program holding it open to close it",
    )
    fill.set_defaults(handler=backfill)

    validate_cmd = commands.add_parser(
        "validate",
        help="check the city catalogs (against their data), quality suites and problem registry",
    )
    validate_cmd.add_argument("--city", help="only this city's catalog")
    validate_cmd.add_argument(
        "--live", action="store_true", help="check against a sample from the portals (network)"
    )
    validate_cmd.set_defaults(handler=validate)

    city_cmd = commands.add_parser("city", help="start a new city's catalog")
    city_actions = city_cmd.add_subparsers(dest="action", required=True)
    init_cmd = city_actions.add_parser(
        "init", help="write a draft sources/cities/<city>.yml from a portal's metadata"
    )
    init_cmd.add_argument("city", help="the city id (lower case, e.g. denver)")
    init_cmd.add_argument("--name", help="display name (default: from the id)")
    init_cmd.add_argument("--portal", required=True, choices=["socrata", "ckan", "arcgis"])
    init_cmd.add_argument("--base-url", required=True, help="the portal's base URL")
    init_cmd.add_argument(
        "--dataset",
        action="append",
        required=True,
        metavar="KEY=ID",
        help="a dataset: catalog key = portal id (Socrata 4x4, CKAN resource, ArcGIS layer path)",
    )
    init_cmd.add_argument("--census-place", help="7-digit Census place GEOID")
    init_cmd.add_argument("--force", action="store_true", help="overwrite an existing catalog")
    init_cmd.set_defaults(handler=city)

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
    dash.add_argument(
        "--verbose", action="store_true", help="build: npm's and Evidence's output on screen"
    )
    dash.set_defaults(handler=dashboards)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    from pipelines.redaction import redact_standard_streams
    from pipelines.storage_errors import storage_problem

    args = parser().parse_args(argv)
    if argv is None:  # the installed command (tests call main() in-process with a list)
        redact_standard_streams()
    try:
        return args.handler(args)
    except Exception as error:
        if found := user_error(error):  # a mistake in a file, argument or setting: one line
            print(one_line(args.command, found[0]), file=sys.stderr)
            return found[1]
        # disk full, read-only, permission denied: one line, rc 1
        problem = storage_problem(error, paths().home, f"civic {args.command}")
        if problem is None:
            raise
        print(problem, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
