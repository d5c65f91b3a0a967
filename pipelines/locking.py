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
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


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


@contextmanager
def warehouse_writer(
    warehouse: Path, wait_seconds: float = 600, poll_seconds: float = 1.0, say=print
) -> Iterator[None]:
    """Hold the warehouse's writer lock; wait up to `wait_seconds` for it, then give up."""
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
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
