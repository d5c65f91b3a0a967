"""Which local files a raw table holds, so a run reads only what changed (`meta.source_files`).

One line per file of the table's last loads: its size and modification time when read, the
months its rows cover and how many rows it gave. Written in the load's transaction, so it
always describes the rows in the table. A later run compares the files on disk with it (the
quick check rsync and make use: same size, same modification time = unchanged):

- nothing changed: the load is skipped, the table is as fresh as its files;
- files added, changed or removed: only those are read, and their rows replaced (a new month
  file of a dated dataset is read alone);
- a month load (`civic backfill`) reads only the files whose rows cover those months.

A file a month load read only in part keeps its old size in the index, so the next run reads
it whole again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pipelines.loader.common import META_DDL, MonthRange

STALE_SIZE = -1  # never equal to a file's size: the file is read again by the next load


@dataclass(frozen=True)
class IndexedFile:
    file: str  # relative to sources/, as in `_source_file`
    size: int
    modified: str
    first_month: date | None = None
    last_month: date | None = None
    rows: int | None = None

    def covers(self, months: MonthRange) -> bool:
        if self.first_month is None or self.last_month is None:
            return True  # unknown: read it
        return self.first_month < months.end and self.last_month >= months.start


@dataclass(frozen=True)
class FileSelection:
    """What a load of local files reads and which rows it replaces."""

    read: list[str]  # relative names to read
    removed: list[str]  # indexed files no longer on disk (their rows go)
    reason: str  # for the run log: "3 new or changed file(s)", ...

    @property
    def replaced(self) -> list[str]:
        return sorted({*self.read, *self.removed})

    @property
    def unchanged(self) -> bool:
        return not self.read and not self.removed


def indexed_files(con, table: str) -> dict[str, IndexedFile]:
    con.execute(META_DDL)
    rows = con.execute(
        "select file, size, modified, first_month, last_month, rows from meta.source_files "
        "where raw_table = ?",
        [table],
    ).fetchall()
    return {row[0]: IndexedFile(*row) for row in rows}


def select_files(
    on_disk: dict[str, tuple[int, str]],
    known: dict[str, IndexedFile],
    months: MonthRange | None = None,
) -> FileSelection:
    """Files to read: new or changed ones, and with `months` those covering the months."""
    changed = sorted(
        name
        for name, (size, modified) in on_disk.items()
        if name not in known or (known[name].size, known[name].modified) != (size, modified)
    )
    removed = sorted(set(known) - set(on_disk)) if months is None else []
    if months is None:
        return FileSelection(changed, removed, f"{len(changed)} new or changed file(s)")
    covering = sorted(
        name
        for name in on_disk
        if name in known and name not in changed and known[name].covers(months)
    )
    return FileSelection(
        sorted({*changed, *covering}),
        [],
        f"{len(covering)} file(s) covering {months.describe()}, {len(changed)} new or changed",
    )


def record_files(
    con,
    table: str,
    load_id: str,
    on_disk: dict[str, tuple[int, str]],
    read: Sequence[str],
    removed: Sequence[str],
    *,
    months_by_file: dict[str, tuple[date | None, date | None, int]],
    partial: set[str],
    replace_all: bool,
) -> None:
    """Update the index inside the load's transaction.

    `months_by_file`: first and last month and rows of what the load kept from each file;
    `partial`: files the load kept only some rows of (a month load: rows of other months).
    `replace_all`: the table was replaced whole, so the index is rebuilt from `read`.
    """
    known = {} if replace_all else indexed_files(con, table)
    if replace_all:
        con.execute("delete from meta.source_files where raw_table = ?", [table])
    gone = [*removed, *(name for name in read if name in known)]
    if gone:
        con.execute(
            "delete from meta.source_files where raw_table = ? and file in (select unnest(?))",
            [table, gone],
        )
    lines = []
    for name in read:
        size, modified = on_disk[name]
        first, last, rows = months_by_file.get(name, (None, None, 0))
        if name in partial:
            old = known.get(name)
            size = old.size if old else STALE_SIZE
            modified = old.modified if old else ""
            first = min(filter(None, [first, old and old.first_month]), default=None)
            last = max(filter(None, [last, old and old.last_month]), default=None)
            rows = None
        lines.append((table, name, size, modified, first, last, rows, load_id))
    if lines:
        # one statement over column lists: executemany costs a statement per file (517 files:
        # 0.18 s, as much as the loader's other bookkeeping together)
        con.execute(
            "insert into meta.source_files select unnest($1), unnest($2), unnest($3), "
            "unnest($4), unnest($5), unnest($6), unnest($7), unnest($8)",
            [list(column) for column in zip(*lines, strict=True)],
        )


def forget_files(con, table: str) -> None:
    """A load from elsewhere (a portal) replaced the table: no file describes it any more."""
    con.execute("delete from meta.source_files where raw_table = ?", [table])
