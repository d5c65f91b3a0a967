"""Export generations: readers always see one complete, consistent set of Parquet exports.

`exports/` is a symbolic link to one folder under `exports-generations/`. A run writes a new
generation in `<id>.partial/` beside the current one, renames it to `<id>/` once every file and
its manifest (`_generation.json`: tables, rows, run) are written, then switches the link with
one atomic rename. A reader opening `exports/...` sees either the old set or the new one, never
a mix; a reader that lists and then opens files resolves the link once (`current_generation`).

A writer killed midway leaves only a `.partial` folder, which the next export removes; the
previous generation is kept as well (a reader may still be inside it) and older ones deleted.
An `exports/` that is a plain folder (before generations existed) becomes the first generation.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "_generation.json"
PARTIAL = ".partial"
KEEP = 2  # the current generation and the one before it


def generations_dir(exports: Path) -> Path:
    return exports.with_name(f"{exports.name}-generations")


def current_generation(exports: Path) -> Path | None:
    """The folder `exports` points at now (resolved once), or None when there is none."""
    if not exports.exists():
        return None
    return exports.resolve()


def read_manifest(generation: Path) -> dict[str, Any] | None:
    try:
        return json.loads((generation / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def clean_leftovers(exports: Path) -> list[Path]:
    """Remove partial generations (killed writers) and generations older than the last KEEP.

    Exports are written inside the warehouse writer lock, so no other writer is active.
    """
    root = generations_dir(exports)
    if not root.is_dir():
        return []
    current = current_generation(exports)
    complete = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.endswith(PARTIAL)),
        key=lambda p: p.name,
    )
    keep = set(complete[-KEEP:]) | ({current} if current else set())
    removed = [p for p in root.iterdir() if p.is_dir() and p not in keep]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    for link in exports.parent.glob(f".{exports.name}.*.link"):  # a killed switch
        link.unlink(missing_ok=True)
    return removed


@contextmanager
def new_generation(exports: Path, run_id: str | None = None) -> Iterator[Path]:
    """Yield an empty folder to write a generation in; publish it atomically on success.

    `exports` is switched only when the block completes; on any error the partial folder is
    removed and readers keep the previous generation.
    """
    root = generations_dir(exports)
    root.mkdir(parents=True, exist_ok=True)
    clean_leftovers(exports)
    stamp = datetime.now(UTC)
    name = f"{stamp:%Y%m%dT%H%M%S%fZ}-{os.getpid()}"
    partial = root / f"{name}{PARTIAL}"
    partial.mkdir()
    try:
        yield partial
        tables = {
            p.stem: p.stat().st_size for p in sorted(partial.glob("*.parquet")) if p.is_file()
        }
        (partial / MANIFEST).write_text(
            json.dumps(
                {
                    "generation": name,
                    "run_id": run_id,
                    "created": stamp.isoformat(),
                    "files": tables,
                },
                indent=2,
            )
        )
        final = root / name
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    switch(exports, final)
    clean_leftovers(exports)


def switch(exports: Path, target: Path) -> None:
    """Point `exports` at `target` with one atomic rename of a symbolic link."""
    if exports.is_dir() and not exports.is_symlink():  # the plain folder of older versions
        adopted = generations_dir(exports) / f"00000000-adopted-{os.getpid()}"
        os.rename(exports, adopted)
    link = exports.with_name(f".{exports.name}.{os.getpid()}.link")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(target, exports.parent), target_is_directory=True)
    os.replace(link, exports)
