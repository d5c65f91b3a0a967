"""Processes a run starts, and the runs a killed process leaves behind.

- `dbt_executable()`: dbt started through a small launcher that asks Linux to kill it when its
  parent dies (PR_SET_PDEATHSIG), so a SIGKILLed `civic run` cannot leave dbt writing the
  warehouse after the writer lock is released.
- `process_tags()` / `mark_abandoned_runs()`: each run started here is tagged with the process
  that runs it (host, pid, start time); a run still STARTED whose process is gone was killed,
  and is reported to Dagster as failed ("abandoned"), so `civic status` and the UI say so.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
from pathlib import Path

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

log = logging.getLogger("civic.runs")

PROCESS_TAG = "civic/process"
ABANDONED_TAG = "civic/abandoned"
UNFINISHED = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED]

LAUNCHER = """#!{python}
# Written by pipelines/child_processes.py: dbt dies with the process that started it.
import ctypes, os, signal, sys
PR_SET_PDEATHSIG = 1
parent = os.getppid()
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
if os.getppid() != parent:  # the parent died before the request took effect
    sys.exit(1)
os.execv({dbt!r}, [{dbt!r}, *sys.argv[1:]])
"""


def _real_dbt() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"


def put_dbt_on_path() -> None:
    """Put the interpreter's own bin folder first on PATH when dbt is there and PATH lacks it.

    `.venv/bin/civic` run without an activated venv has no dbt on PATH, and dagster-dbt's
    project preparer (the parse of a fresh clone) looks for a bare `dbt` there.
    """
    folder = Path(sys.executable).parent
    path = os.environ.get("PATH", "")
    if (folder / "dbt").exists() and str(folder) not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([str(folder), path]) if path else str(folder)


class DbtMissingError(RuntimeError):
    """dbt is not installed in the environment of the interpreter running `civic`."""


def require_dbt() -> None:
    """dbt on PATH (the interpreter's own first), or one line saying how to install it."""
    put_dbt_on_path()
    if shutil.which("dbt") is None:
        raise DbtMissingError(
            f"dbt is not installed in {sys.prefix} (no `dbt` beside {sys.executable} nor on "
            "PATH): run `make install` (or `.tools/bin/uv sync`) in the project folder"
        )


def dbt_executable(folder: Path) -> str:
    """A launcher for dbt in `folder` (written when missing or stale), else dbt itself."""
    dbt = _real_dbt()
    if not sys.platform.startswith("linux") or not Path(dbt).is_absolute():
        return dbt
    launcher = folder / "dbt"
    text = LAUNCHER.format(python=sys.executable, dbt=dbt)
    try:
        if not launcher.exists() or launcher.read_text() != text:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".dbt.{os.getpid()}"
            partial.write_text(text)
            partial.chmod(0o755)
            os.replace(partial, launcher)
    except OSError as error:  # a read-only home: dbt still runs, without the guarantee
        log.warning("cannot write the dbt launcher in %s (%s); using %s", folder, error, dbt)
        return dbt
    return str(launcher)


# -- runs left by killed processes ---------------------------------------------------------------


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (tells a reused pid apart), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command name


def process_tags() -> dict[str, str]:
    pid = os.getpid()
    return {PROCESS_TAG: f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"}


def process_gone(tag: str) -> bool:
    """True when the process a run's tag names has ended (on this host; others: unknown)."""
    host, _, rest = tag.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    now = _start_time(int(pid))
    return now is None or (bool(started) and now != started)


def mark_abandoned_runs(instance: DagsterInstance) -> list[str]:
    """Report as failed every unfinished run whose process is gone; their run ids."""
    abandoned = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED), limit=200):
        run = record.dagster_run
        tag = run.tags.get(PROCESS_TAG)
        if not tag or not process_gone(tag):
            continue
        pid = tag.split(":")[1]
        instance.add_run_tags(run.run_id, {ABANDONED_TAG: "true"})
        instance.report_run_failed(
            run,
            message=(
                f"abandoned: the process that ran it (pid {pid}) ended without finishing it "
                "(killed, or the machine stopped). Its partial work was not published: the "
                "warehouse kept its last committed state. Run again."
            ),
        )
        abandoned.append(run.run_id)
    return abandoned
