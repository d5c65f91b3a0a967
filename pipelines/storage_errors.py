"""Disk full, read-only file system, permission denied: one clear line instead of a traceback.

These surface from anywhere a run writes (DuckDB, Dagster's SQLite run storage, the Parquet
exports, a release) as OSError, sqlite3 or DuckDB errors, sometimes only as text inside a
failed step. `storage_problem` recognises them, by errno or by the message the library uses,
and says what failed, where, how much space is free and needed, and that the previous data are
intact: DuckDB rolls the failed transaction back, exports and releases switch only when whole.
"""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

MB = 1 << 20
KINDS = {
    "full": (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        "no space left on device",
        "database or disk is full",
        "disk i/o error",
        "file too large",
        "disk quota exceeded",
        "not enough space",
    ),
    "read-only": (errno.EROFS, "read-only file system", "readonly database"),
    "denied": (errno.EACCES, errno.EPERM, "permission denied", "operation not permitted"),
}
PATH = re.compile(r"(?<![\w/])(/[\w.+-]+(?:/[\w.+-]+)+)")  # two components at least


def classify(error: BaseException | str) -> str | None:
    """'full', 'read-only', 'denied' or None, for an exception (and its chain) or a message."""
    texts: list[str] = []
    codes: set[int] = set()
    if isinstance(error, str):
        texts.append(error)
    else:
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            texts.append(str(current))
            if isinstance(current, OSError) and current.errno is not None:
                codes.add(current.errno)
            current = current.__cause__ or current.__context__
    text = " ".join(texts).lower()
    for kind, signs in KINDS.items():
        if any(s in codes if isinstance(s, int) else s in text for s in signs):
            return kind
    return None


def storage_problem(error: BaseException | str, home: Path, command: str) -> str | None:
    """The one line to print for a storage failure, or None if `error` is not one."""
    kind = classify(error)
    if kind is None:
        return None
    where = _where(error, home)
    intact = (
        "The previous data are intact: the warehouse keeps its last committed state and the "
        "exports and releases their last complete generation."
    )
    if kind == "read-only":
        return f"{command}: cannot write {where}: the file system is read-only. {intact}"
    if kind == "denied":
        return (
            f"{command}: permission denied writing {where}. {intact} Give this user write "
            "access to the folder (or set CIVIC_HOME to one it can write), then run again."
        )
    free = _free_bytes(home)
    needed = _needed_bytes(home)
    if free > needed and "disk i/o error" in str(error).lower():  # not space: the disk itself
        return (
            f"{command}: a disk I/O error while writing {where} ({free / MB:,.0f} MB free). "
            f"{intact} Check the disk (dmesg, SMART), then run again."
        )
    return (
        f"{command}: the disk is full: cannot write {where} ({free / MB:,.1f} MB free; a run "
        f"needs about {needed / MB:,.0f} MB: the warehouse's size again while new tables "
        f"replace the old, plus an export generation). {intact} Free some space (or set "
        "CIVIC_HOME to a larger disk), then run again."
    )


def _where(error: BaseException | str, home: Path) -> str:
    if isinstance(error, OSError) and error.filename:
        return str(error.filename)
    match = PATH.search(str(error))
    return match.group(1) if match else str(home)


def _free_bytes(home: Path) -> int:
    for folder in (home, *home.parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 0


def _needed_bytes(home: Path) -> int:
    sizes = [p.stat().st_size for p in home.glob("*.duckdb*") if p.is_file()]
    exports = home / "exports"
    if exports.is_dir():
        sizes += [p.stat().st_size for p in exports.iterdir() if p.is_file()]
    return sum(sizes) + 16 * MB
