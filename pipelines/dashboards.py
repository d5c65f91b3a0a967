"""Build the Evidence dashboards in ``dashboards/`` from the warehouse Parquet exports.

The dashboards never open the warehouse ``.duckdb`` file: they only read copies of the Parquet
exports (one file per mart table), staged into ``dashboards/exports/``, and the bundled area
boundaries (``sources/boundaries/``), staged into ``dashboards/static/boundaries/``. The build
works fully offline once ``dashboards/node_modules`` is installed (see ``dashboards/README.md``);
the built site is precompressed (gzip and brotli files beside the originals) for
``pipelines.site_server``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TextIO

from pipelines import site_server
from pipelines.generations import current_generation

REPO_ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS_DIR = REPO_ROOT / "dashboards"
DEFAULT_EXPORTS_DIR = REPO_ROOT / "warehouse" / "exports"
BOUNDARIES_DIR = REPO_ROOT / "sources" / "boundaries"
STAGED_EXPORTS_SUBDIR = "exports"  # dashboards/exports/, read by sources/warehouse/*.sql
STAGED_BOUNDARIES_SUBDIR = Path("static") / "boundaries"  # served as /boundaries/...
BOUNDARIES_INDEX = "index.json"  # {city: [area_type, ...]}: maps fetch only files that exist
SOURCE_QUERIES_SUBDIR = Path("sources") / "warehouse"
BUILD_SUBDIR = "build"
STEP_TIMEOUT_SECONDS = 15 * 60  # a hang (e.g. an extension download) becomes an error
DEFAULT_CITY_ENV = "VITE_CIVIC_DEFAULT_CITY"  # read by dashboards/components/CityPicker.svelte
PATCH_CMD = ["node_modules/.bin/patch-package", "--error-on-fail", "--error-on-warn"]

_EXPORT_REF = re.compile(r"read_parquet\(\s*'exports/([^'/]+\.parquet)'\s*\)")


class DashboardBuildError(RuntimeError):
    """A dashboard build step failed; ``step`` names it and the message says what to do next."""

    def __init__(self, step: str, problem: str, next_action: str) -> None:
        self.step = step
        super().__init__(f"Dashboard build failed at step '{step}': {problem}\nNext: {next_action}")


def _log(message: str) -> None:
    print(f"[dashboards] {message}", flush=True)


def required_exports(dashboards_dir: Path = DASHBOARDS_DIR) -> list[str]:
    """Parquet files the Evidence source queries read (``read_parquet('exports/<name>')``)."""
    names: set[str] = set()
    for sql_file in sorted((dashboards_dir / SOURCE_QUERIES_SUBDIR).glob("*.sql")):
        names.update(_EXPORT_REF.findall(sql_file.read_text()))
    return sorted(names)


def stage_exports(exports_dir: Path, dashboards_dir: Path = DASHBOARDS_DIR) -> list[Path]:
    """Copy all ``*.parquet`` in ``exports_dir`` to ``dashboards/exports/``, replacing old ones.

    ``exports/`` links to the current export generation: it is resolved once, so a run that
    publishes a new generation meanwhile cannot give the site files of two generations.
    """
    exports_dir = current_generation(Path(exports_dir)) or Path(exports_dir)
    if not exports_dir.is_dir():
        raise DashboardBuildError(
            "stage exports",
            f"exports directory {exports_dir} does not exist",
            "run the warehouse pipeline so it writes the Parquet exports, or pass the right "
            "exports directory",
        )
    missing = [n for n in required_exports(dashboards_dir) if not (exports_dir / n).is_file()]
    if missing:
        raise DashboardBuildError(
            "stage exports",
            f"{exports_dir} is missing {', '.join(missing)} (read by dashboards/sources/warehouse)",
            "re-run the warehouse pipeline's export step, or remove the source query that reads it",
        )
    staged_dir = dashboards_dir / STAGED_EXPORTS_SUBDIR
    staged_dir.mkdir(parents=True, exist_ok=True)
    for old in staged_dir.glob("*.parquet"):
        old.unlink()
    staged = [Path(shutil.copy2(src, staged_dir)) for src in sorted(exports_dir.glob("*.parquet"))]
    _log(f"staged {len(staged)} Parquet file(s) from {exports_dir} into {staged_dir}")
    return staged


def stage_boundaries(
    boundaries_dir: Path = BOUNDARIES_DIR, dashboards_dir: Path = DASHBOARDS_DIR
) -> dict[str, list[str]]:
    """Copy ``<city>/<area_type>.geojson`` files into the site's static folder, with an index.

    Each file must be a GeoJSON FeatureCollection whose features carry a text ``area_id``; a
    bad file fails the build naming it (a map drawing nothing would be silently wrong).
    """
    staged_dir = dashboards_dir / STAGED_BOUNDARIES_SUBDIR
    shutil.rmtree(staged_dir, ignore_errors=True)
    index: dict[str, list[str]] = {}
    for path in sorted(Path(boundaries_dir).glob("*/*.geojson")):
        try:
            features = json.loads(path.read_text())["features"]
            ids = [feature["properties"]["area_id"] for feature in features]
        except (ValueError, KeyError, TypeError) as exc:
            raise DashboardBuildError(
                "stage boundaries",
                f"{path} is not a FeatureCollection with properties.area_id ({exc})",
                "regenerate it with dashboards/scripts/simplify_boundaries.py",
            ) from exc
        if not ids or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
            raise DashboardBuildError(
                "stage boundaries",
                f"{path}: area_id must be unique text in every feature",
                "regenerate it with dashboards/scripts/simplify_boundaries.py",
            )
        city, area_type = path.parent.name, path.stem
        target = staged_dir / city / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        index.setdefault(city, []).append(area_type)
    staged_dir.mkdir(parents=True, exist_ok=True)
    (staged_dir / BOUNDARIES_INDEX).write_text(json.dumps(index, sort_keys=True))
    _log(f"staged {sum(map(len, index.values()))} boundary file(s) into {staged_dir}")
    return index


def default_city(staged_exports: Path) -> str:
    """The city pages show before the reader chooses one: the first of dim_cities by name.

    Pages are prerendered for it (the city choice itself is a query, unknown while a page is
    first rendered); other cities are computed in the browser.
    """
    import duckdb

    path = Path(staged_exports) / "dim_cities.parquet"
    with duckdb.connect() as con:
        rows = con.execute(
            "select city from read_parquet(?) order by city_name, city limit 1", [str(path)]
        ).fetchall()
    if not rows:
        raise DashboardBuildError(
            "evidence build", f"{path} lists no city", "run the pipeline (civic run) first"
        )
    return rows[0][0]


def npm_deps_stale(dashboards_dir: Path = DASHBOARDS_DIR) -> bool:
    """True if ``node_modules`` is missing or older than ``package-lock.json`` or a patch."""
    installed_marker = dashboards_dir / "node_modules" / ".package-lock.json"  # written by npm
    if not installed_marker.is_file():
        return True
    inputs = [dashboards_dir / "package-lock.json", *(dashboards_dir / "patches").glob("*.patch")]
    newest = max(p.stat().st_mtime for p in inputs if p.is_file())
    return installed_marker.stat().st_mtime < newest


def _kill_process_group(proc: subprocess.Popen, timed_out: threading.Event) -> None:
    timed_out.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # the step and the node processes it started


def _start(
    step: str, cmd: list[str], cwd: Path, next_action: str, extra_env: dict[str, str] | None
) -> subprocess.Popen:
    env = {**os.environ, "SEND_ANONYMOUS_USAGE_STATS": "no", "NO_COLOR": "1", **(extra_env or {})}
    try:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # own process group, so a timeout can stop its children
        )
    except FileNotFoundError as exc:
        raise DashboardBuildError(step, f"command not found: {cmd[0]}", next_action) from exc


def run_step(
    step: str,
    cmd: list[str],
    cwd: Path,
    next_action: str,
    extra_env: dict[str, str] | None = None,
    log: TextIO | None = None,
) -> list[str]:
    """Run ``cmd`` in ``cwd``; raise DashboardBuildError if it fails. Returns the output lines.

    The output is streamed to the screen, or written to ``log`` (then the screen gets one line
    when the step ends, and a failure still quotes the output's last lines).
    """
    _log(f"{step}: {' '.join(cmd)}" if log is None else f"{step} ...")
    started = time.monotonic()
    proc = _start(step, cmd, cwd, next_action, extra_env)
    timed_out = threading.Event()
    watchdog = threading.Timer(STEP_TIMEOUT_SECONDS, _kill_process_group, (proc, timed_out))
    watchdog.start()
    lines: list[str] = []
    if log is not None:
        log.write(f"\n== {step}: {' '.join(cmd)}\n")
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if log is None:
                print(f"  {lines[-1]}", flush=True)
            else:
                log.write(line)
        returncode = proc.wait()
    finally:
        watchdog.cancel()
        if log is not None:
            log.flush()
    if returncode != 0:
        problem = "timed out" if timed_out.is_set() else f"exit code {returncode}"
        raise DashboardBuildError(
            step, f"{problem}; last output:\n" + "\n".join(lines[-20:]), next_action
        )
    if log is not None:
        _log(f"{step}: done in {time.monotonic() - started:.0f} s")
    return lines


def query_errors(output: list[str]) -> list[str]:
    """Lines in Evidence build output that report a failed page query."""
    return list(dict.fromkeys(line.strip() for line in output if "Error in Query!" in line))


def source_errors(output: list[str]) -> list[str]:
    """Lines in `evidence sources` output that report a source query that failed.

    `evidence sources` exits 0 even when a table fails (it prints `<table> ✖ <error>`); the
    pages reading that table would then fail or show nothing.
    """
    return list(dict.fromkeys(line.strip() for line in output if " ✖ " in line))


def ensure_npm_deps(dashboards_dir: Path = DASHBOARDS_DIR, log: TextIO | None = None) -> None:
    """``npm ci`` when needed, then make sure the offline Parquet patch is applied.

    The patch (``dashboards/patches/``) is applied by patch-package as npm's postinstall;
    running patch-package again is idempotent and fails if the installed version differs.
    """
    if npm_deps_stale(dashboards_dir):
        run_step(
            "npm ci",
            ["npm", "ci", "--no-audit", "--no-fund"],
            dashboards_dir,
            "check Node 20+/npm are installed and the npm registry (or a local mirror/cache) is "
            "reachable; then re-run",
            log=log,
        )
    run_step(
        "apply offline patch",
        PATCH_CMD,
        dashboards_dir,
        "run `npm ci` in dashboards/ (do not use --ignore-scripts); if an Evidence package "
        "version changed, re-make the patch (dashboards/README.md, 'The offline patch')",
        log=log,
    )


def build_site(exports_dir: Path = DEFAULT_EXPORTS_DIR, log_file: Path | None = None) -> Path:
    """Build the static dashboards site from the Parquet files in ``exports_dir``.

    With ``log_file``, the output of npm and Evidence goes there (a line per step on screen);
    without, it is streamed to the screen.

    Steps: stage the Parquet exports and the boundaries, install npm deps if needed
    (``npm ci``), apply the offline patch, ``evidence sources``, ``evidence build``, then
    precompress the site. Returns the build directory (``dashboards/build``). Takes 1-3 minutes
    and ~3 GB of memory. Raises DashboardBuildError naming the failing step.
    """
    stage_exports(exports_dir, DASHBOARDS_DIR)  # first: bad input fails fast
    stage_boundaries(BOUNDARIES_DIR, DASHBOARDS_DIR)
    if log_file is None:
        return _build(None)
    with log_file.open("a", encoding="utf-8") as log:
        return _build(log)


def _build(log: TextIO | None) -> Path:
    ensure_npm_deps(DASHBOARDS_DIR, log)
    evidence = str(DASHBOARDS_DIR / "node_modules" / ".bin" / "evidence")
    sources_fix = (
        "check the SQL in dashboards/sources/warehouse/ against the exported Parquet schema"
    )
    output = run_step(
        "evidence sources", [evidence, "sources"], DASHBOARDS_DIR, sources_fix, log=log
    )
    if errors := source_errors(output):
        raise DashboardBuildError(
            "evidence sources", "source queries failed:\n" + "\n".join(errors), sources_fix
        )
    build_dir = DASHBOARDS_DIR / BUILD_SUBDIR
    shutil.rmtree(build_dir, ignore_errors=True)  # evidence merges into build/; start clean
    build_fix = (
        "fix the page/component errors above (dashboards/pages, dashboards/components); "
        "the build needs ~3 GB of free memory"
    )
    build_env = {DEFAULT_CITY_ENV: default_city(DASHBOARDS_DIR / STAGED_EXPORTS_SUBDIR)}
    output = run_step(
        "evidence build", [evidence, "build:strict"], DASHBOARDS_DIR, build_fix, build_env, log
    )
    if errors := query_errors(output):
        # Evidence still writes the site when a page query fails; don't ship error boxes.
        raise DashboardBuildError(
            "evidence build", "query errors:\n" + "\n".join(errors), build_fix
        )
    if not (build_dir / "index.html").is_file():
        raise DashboardBuildError(
            "evidence build", f"no index.html in {build_dir}", "re-run with the output above"
        )
    totals = precompress(build_dir, log=log)
    _log(
        f"site built in {build_dir}: {totals['files']} files precompressed, "
        f"{totals['original_bytes'] / 1e6:.0f} MB -> {totals['brotli_bytes'] / 1e6:.0f} MB "
        f"brotli, {totals['gzip_bytes'] / 1e6:.0f} MB gzip"
    )
    return build_dir


def precompress(
    build_dir: Path, dashboards_dir: Path = DASHBOARDS_DIR, log: TextIO | None = None
) -> dict[str, int]:
    """Write .br and .gz copies beside the site's compressible files; returns the totals."""
    output = run_step(
        "precompress",
        ["node", "scripts/precompress.mjs", str(build_dir)],
        dashboards_dir,
        "check Node 20+ is installed and the build directory is writable",
        log=log,
    )
    return json.loads(output[-1])


def serve_site(host: str = "127.0.0.1", port: int = 4000, build_dir: Path | None = None) -> None:
    """Serve the built site (``dashboards/build``) until Ctrl-C (see pipelines.site_server)."""
    try:
        site_server.serve_site(Path(build_dir or DASHBOARDS_DIR / BUILD_SUBDIR), host, port)
    except site_server.ServeError as exc:
        raise DashboardBuildError("serve", str(exc), "build it first (build_site)") from exc
