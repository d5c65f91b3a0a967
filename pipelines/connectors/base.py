"""The interface every connector implements."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa


@dataclass(frozen=True)
class DuckDBScan:
    """A query DuckDB can run itself (local files): the loader runs it inside the warehouse
    instead of streaming Arrow batches through Python, which saves a full copy of the data."""

    sql: str
    params: dict[str, object]
    # What is read, for messages (e.g. 'chicago/community_areas.csv').
    label: str = ""
    # Turns a DuckDB error of the query into a message naming the file and line.
    explain: Callable[[BaseException], str] | None = field(default=None, compare=False)


class ConnectorError(RuntimeError):
    """A dataset could not be read; the message names the dataset and source and what to do."""


class Connector(Protocol):
    """Reads one dataset from one place.

    `batches()` yields record batches with the published column names, every value as text
    (raw data stays as published; dbt staging models type it). Connectors must stream: a
    dataset larger than memory must never be held whole.
    """

    def source_uri(self) -> str:
        """Where the data come from, for lineage metadata (never containing credentials)."""
        ...

    def batches(self) -> Iterator[pa.RecordBatch]: ...
