"""One writer at a time: a lock file beside the warehouse, held for the whole of a run.

DuckDB allows one writing process per file and answers a second one with an obscure lock
error halfway through a run. Runs started here (`civic run`, `civic backfill`, the tests) take
this lock first: a second run waits for the first (showing who holds it) or, past its wait,
stops with a clear message before touching anything. Runs launched by the Dagster daemon are
serialized by the run queue instead (docs/deployment.md).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb


class WarehouseBusy(RuntimeError):
    """Another run is writing the warehouse."""


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    return f"pid {info.get('pid')} ({info.get('command')}, since {info.get('since')})"


# DuckDB's own message when another process has the file open (a reader, or a foreign writer)
DUCKDB_LOCK = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def describe_pid(pid: int, program: str = "") -> str:
    """`pid 123 (the command line)`, from /proc where it can be read."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        command = program
    command = " ".join(command.split())  # one line, however the program was started
    if len(command) > 160:
        command = command[:159] + "…"
    return f"pid {pid} ({command or 'unknown program'})"


def duckdb_lock_holder(message: str) -> str | None:
    """Who holds the DuckDB file, from a DuckDB lock error's text (None if not a lock error)."""
    match = DUCKDB_LOCK.search(message)
    if match:
        return describe_pid(int(match.group(2)), match.group(1))
    if "Could not set lock on file" in message:
        return "another process"
    return None


def warehouse_reader(warehouse: Path) -> str | None:
    """Who keeps the warehouse file open (e.g. a read-only connection), or None if nobody."""
    if not warehouse.exists():
        return None
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.Error as error:
        holder = duckdb_lock_holder(str(error))
        if holder is None:
            raise
        return holder
    return None


def busy_message(warehouse: Path, holder: str, waited: float) -> str:
    return (
        f"{warehouse} is open in {holder}, which holds DuckDB's lock on the file (waited "
        f"{waited:.0f} s). Close that program's connection, or start again with `--wait "
        "SECONDS` to wait for it; nothing was written."
    )


@contextmanager
def warehouse_writer(
    warehouse: Path,
    wait_seconds: float = 600,
    poll_seconds: float = 1.0,
    say=print,
    reader_wait_seconds: float = 0,
) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds` for it, then give up.

    Then make sure no other process (a reader's read-only connection) has the DuckDB file
    open, waiting up to `reader_wait_seconds` for it to close; past that, WarehouseBusy names
    the holder before anything is written.
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"{warehouse} is being written by {holder}. Wait for that run to "
                        "finish (see `civic status`), then start again."
                    ) from None
                if not announced:
                    say(f"Waiting for the run writing {warehouse}: {holder} ...")
                    announced = True
                time.sleep(poll_seconds)
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
                    "since": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        try:
            wait_for_readers(warehouse, reader_wait_seconds, poll_seconds, say)
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def wait_for_readers(warehouse: Path, wait_seconds: float, poll_seconds: float, say) -> None:
    started = time.monotonic()
    announced = False
    while (holder := warehouse_reader(warehouse)) is not None:
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise WarehouseBusy(busy_message(warehouse, holder, waited))
        if not announced:
            say(f"Waiting up to {wait_seconds:.0f} s for {holder} to close {warehouse} ...")
            announced = True
        time.sleep(poll_seconds)
