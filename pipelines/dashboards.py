"""Build and serve the Evidence dashboards in ``dashboards/`` from the warehouse Parquet exports.

The dashboards never open the warehouse ``.duckdb`` file: they only read copies of the Parquet
exports (one file per mart table), staged into ``dashboards/exports/``. The build works fully
offline once ``dashboards/node_modules`` is installed (see ``dashboards/README.md``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS_DIR = REPO_ROOT / "dashboards"
DEFAULT_EXPORTS_DIR = REPO_ROOT / "warehouse" / "exports"
STAGED_EXPORTS_SUBDIR = "exports"  # dashboards/exports/, read by sources/warehouse/*.sql
SOURCE_QUERIES_SUBDIR = Path("sources") / "warehouse"
BUILD_SUBDIR = "build"
STEP_TIMEOUT_SECONDS = 15 * 60  # a hang (e.g. an extension download) becomes an error

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
    """Copy all ``*.parquet`` in ``exports_dir`` to ``dashboards/exports/``, replacing old ones."""
    exports_dir = Path(exports_dir)
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


def npm_deps_stale(dashboards_dir: Path = DASHBOARDS_DIR) -> bool:
    """True if ``node_modules`` is missing or older than ``package-lock.json``."""
    installed_marker = dashboards_dir / "node_modules" / ".package-lock.json"  # written by npm
    if not installed_marker.is_file():
        return True
    lock_mtime = (dashboards_dir / "package-lock.json").stat().st_mtime
    return installed_marker.stat().st_mtime < lock_mtime


def _kill_process_group(proc: subprocess.Popen, timed_out: threading.Event) -> None:
    timed_out.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # the step and the node processes it started


def _start(step: str, cmd: list[str], cwd: Path, next_action: str) -> subprocess.Popen:
    env = {**os.environ, "SEND_ANONYMOUS_USAGE_STATS": "no", "NO_COLOR": "1"}
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


def run_step(step: str, cmd: list[str], cwd: Path, next_action: str) -> list[str]:
    """Run ``cmd`` in ``cwd``, streaming its output; raise DashboardBuildError if it fails.

    Returns the output lines.
    """
    _log(f"{step}: {' '.join(cmd)}")
    proc = _start(step, cmd, cwd, next_action)
    timed_out = threading.Event()
    watchdog = threading.Timer(STEP_TIMEOUT_SECONDS, _kill_process_group, (proc, timed_out))
    watchdog.start()
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            print(f"  {lines[-1]}", flush=True)
        returncode = proc.wait()
    finally:
        watchdog.cancel()
    if returncode != 0:
        problem = "timed out" if timed_out.is_set() else f"exit code {returncode}"
        raise DashboardBuildError(
            step, f"{problem}; last output:\n" + "\n".join(lines[-20:]), next_action
        )
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


def ensure_npm_deps(dashboards_dir: Path = DASHBOARDS_DIR) -> None:
    """``npm ci`` when needed, then check the offline Parquet patch is in place."""
    if npm_deps_stale(dashboards_dir):
        run_step(
            "npm ci",
            ["npm", "ci", "--no-audit", "--no-fund"],
            dashboards_dir,
            "check Node 20+/npm are installed and the npm registry (or a local mirror/cache) is "
            "reachable; then re-run",
        )
    run_step(
        "check offline patch",
        ["node", "scripts/patch-offline-parquet.mjs", "--check"],
        dashboards_dir,
        "run `npm ci` in dashboards/ (do not use --ignore-scripts); if the Evidence version "
        "changed, update dashboards/scripts/patch-offline-parquet.mjs",
    )


def build_site(exports_dir: Path = DEFAULT_EXPORTS_DIR) -> Path:
    """Build the static dashboards site from the Parquet files in ``exports_dir``.

    Steps: stage the Parquet exports, install npm deps if needed (``npm ci``), check the offline
    patch, ``evidence sources``, ``evidence build``. Returns the build directory
    (``dashboards/build``). Takes about a minute and ~3 GB of memory. Raises DashboardBuildError
    naming the failing step.
    """
    stage_exports(exports_dir, DASHBOARDS_DIR)  # first: bad input fails fast
    ensure_npm_deps(DASHBOARDS_DIR)
    evidence = str(DASHBOARDS_DIR / "node_modules" / ".bin" / "evidence")
    sources_fix = (
        "check the SQL in dashboards/sources/warehouse/ against the exported Parquet schema"
    )
    output = run_step("evidence sources", [evidence, "sources"], DASHBOARDS_DIR, sources_fix)
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
    output = run_step("evidence build", [evidence, "build:strict"], DASHBOARDS_DIR, build_fix)
    if errors := query_errors(output):
        # Evidence still writes the site when a page query fails; don't ship error boxes.
        raise DashboardBuildError(
            "evidence build", "query errors:\n" + "\n".join(errors), build_fix
        )
    if not (build_dir / "index.html").is_file():
        raise DashboardBuildError(
            "evidence build", f"no index.html in {build_dir}", "re-run with the output above"
        )
    _log(f"site built in {build_dir}")
    return build_dir


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".parquet": "application/octet-stream",
        ".arrow": "application/vnd.apache.arrow.stream",
    }


def serve_site(host: str = "127.0.0.1", port: int = 3000, build_dir: Path | None = None) -> None:
    """Serve the built site (``dashboards/build``) with Python's http.server until Ctrl-C.

    Open http://127.0.0.1:3000/ (or http://<host>:<port>/) in a browser. Everything, including
    the data and DuckDB-Wasm, is served from this directory; no internet access is needed.
    Use host="0.0.0.0" to make it reachable from other machines on the network.
    """
    build_dir = Path(build_dir or DASHBOARDS_DIR / BUILD_SUBDIR)
    if not (build_dir / "index.html").is_file():
        raise DashboardBuildError(
            "serve", f"no built site in {build_dir}", "build it first (build_site)"
        )
    server = ThreadingHTTPServer((host, port), partial(_Handler, directory=str(build_dir)))
    _log(f"serving {build_dir} at http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _log("stopped")
    finally:
        server.server_close()
