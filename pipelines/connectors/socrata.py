"""Socrata (SODA 2.x) datasets: `/resource/<id>.json`, paged by `$limit`/`$offset`.

Rows are ordered by `:id` so pages never overlap or skip. Columns come from the view metadata
(`/api/views/<id>.json`): SODA omits null values from JSON rows, so a page's keys alone cannot
tell a dropped column from an empty one. System fields are selected (`$select=:*,*`) and kept as
`_socrata_id`, `_socrata_created_at` and `_socrata_updated_at`.

Incremental loads: give `since` (the stored watermark). By default it is compared to
`:updated_at` (rows created or changed since); with `watermark_column` to a column of the
dataset (e.g. a date). After `batches()` is exhausted, `watermark` is the new high-water mark.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.http import HttpClient, HttpStatusError, RetryPolicy, secret_from_env
from pipelines.connectors.limits import Limits
from pipelines.connectors.spool import ColumnGuard, text_batch

log = logging.getLogger("civic.connectors")

DEFAULT_TOKEN_ENV = "SOCRATA_APP_TOKEN"
PAGE_SIZE = 50_000  # the SODA 2.0 maximum
DATASET_ID = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}$")
FIELD_NAME = re.compile(r"^:?@?[A-Za-z_][A-Za-z0-9_]{0,127}$")
SYSTEM_FIELDS = {
    ":id": "_socrata_id",
    ":created_at": "_socrata_created_at",
    ":updated_at": "_socrata_updated_at",
}


class SocrataConnector:
    """One Socrata dataset, e.g. `SocrataConnector("https://data.cityofchicago.org", "ijzp-q8t2")`.

    - `since`: watermark from the previous load; only rows past it are fetched.
    - `watermark_column`: dataset column holding the watermark (default `:updated_at`).
    - `where`: an extra SoQL filter always applied (e.g. `year >= 2019`), from the catalog.
    - `token_env`: environment variable holding the app token, sent as `X-App-Token`.
    - `system_fields`: select `:*,*` and keep the `_socrata_*` columns.
    """

    def __init__(
        self,
        base_url: str,
        dataset_id: str,
        *,
        name: str | None = None,
        since: str | None = None,
        watermark_column: str | None = None,
        where: str | None = None,
        page_size: int = PAGE_SIZE,
        token_env: str | None = DEFAULT_TOKEN_ENV,
        system_fields: bool = True,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
    ) -> None:
        if not DATASET_ID.match(dataset_id):
            raise ConnectorError(f"socrata dataset id {dataset_id!r} is not a 4x4 id (abcd-1234)")
        if watermark_column is not None and not FIELD_NAME.match(watermark_column):
            raise ConnectorError(
                f"socrata watermark column {watermark_column!r} is not a field name (use the "
                "API field name from the dataset's metadata, e.g. `updated_date`)"
            )
        self.base_url = base_url.rstrip("/")
        self.dataset_id = dataset_id
        self.name = name or dataset_id
        self.since = since
        self.watermark_column = watermark_column or ":updated_at"
        self.where = where
        self.page_size = page_size
        self.system_fields = system_fields
        token = secret_from_env(token_env)
        if token_env and token is None and token_env != DEFAULT_TOKEN_ENV:
            log.warning(
                "socrata %s: environment variable %s is not set; requests share the anonymous "
                "throttle",
                self.name,
                token_env,
            )
        self.client = HttpClient(
            secret_headers={"X-App-Token": token} if token else {},
            policy=retry or RetryPolicy(),
            limits=limits or Limits(),
            secret_origin=self.base_url,
        )
        self.watermark: str | None = since

    @property
    def what(self) -> str:
        return f"socrata dataset {self.name} ({self.dataset_id})"

    def source_uri(self) -> str:
        return self.client.redact(f"{self.base_url}/resource/{self.dataset_id}.json")

    # -- metadata ---------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """The view metadata document (`/api/views/<id>.json`)."""
        document = self.client.get_json(
            f"{self.base_url}/api/views/{self.dataset_id}.json", what=f"{self.what} metadata"
        )
        if not isinstance(document, dict):
            raise ConnectorError(f"{self.what}: view metadata is not a JSON object")
        return document

    def remote_updated_at(self) -> datetime | None:
        """When the dataset's rows last changed (`rowsUpdatedAt`), in UTC."""
        stamp = self.metadata().get("rowsUpdatedAt")
        return datetime.fromtimestamp(stamp, UTC) if isinstance(stamp, int | float) else None

    def fresh_since(self, since: str | None) -> bool:
        """True when rows changed after `since` (an ISO timestamp; naive means UTC)."""
        updated = self.remote_updated_at()
        if since is None or updated is None:
            return True
        return updated > parse_timestamp(since)

    def columns(self, metadata: Mapping[str, Any]) -> list[str]:
        """Published field names in portal order, plus the kept system fields."""
        published = sorted(
            (c for c in metadata.get("columns", []) if isinstance(c, dict)),
            key=lambda c: c.get("position", 0),
        )
        names = [
            c["fieldName"]
            for c in published
            if isinstance(c.get("fieldName"), str)
            and (not c["fieldName"].startswith(":") or c["fieldName"].startswith(":@"))
            and "hidden" not in c.get("flags", [])
        ]
        return names + (list(SYSTEM_FIELDS.values()) if self.system_fields else [])

    # -- rows -------------------------------------------------------------------------------
    def query(self, offset: int) -> dict[str, object]:
        conditions = [f"({self.where})"] if self.where else []
        if self.since is not None:
            conditions.append(f"{self.watermark_column} > {soql_literal(self.since)}")
        params: dict[str, object] = {}
        if self.system_fields:
            params["$select"] = ":*,*"
        if conditions:
            params["$where"] = " AND ".join(conditions)
        params.update({"$order": ":id", "$limit": self.page_size, "$offset": offset})
        return params

    def batches(self) -> Iterator[pa.RecordBatch]:
        self.watermark = self.since
        try:
            columns: list[str] | None = self.columns(self.metadata()) or None
        except HttpStatusError as error:  # some portals hide /api/views; rows may still be open
            log.warning(
                "%s: no column list from view metadata (%s); using the first page's",
                self.what,
                error,
            )
            columns = None
        guard = ColumnGuard(self.what, columns)
        high = self.since
        offset = 0
        page = 0
        url = f"{self.base_url}/resource/{self.dataset_id}.json"
        while True:
            page += 1
            where = f"page {page} (offset {offset})"
            rows = self.client.get_json(url, self.query(offset), what=f"{self.what} {where}")
            if not isinstance(rows, list):
                raise ConnectorError(
                    f"{self.what} {where}: expected a JSON array of rows from {self.source_uri()},"
                    f" got {type(rows).__name__} {str(rows)[:200]!r}"
                )
            if not rows:
                break
            records = [self._record(row, where) for row in rows]
            keys = _keys_in_order(records)
            if guard.columns is None:
                guard.check(keys, where)
            unknown = [k for k in keys if k not in guard.columns]
            if unknown:
                guard.check([*guard.columns, *unknown], where)  # raises, naming the columns
            high = _max(high, (r.get(self._watermark_key()) for r in records))
            offset += len(rows)
            log.info("%s: %s, %d rows, %d so far", self.what, where, len(rows), offset)
            yield text_batch(guard.columns, records)
            if len(rows) < self.page_size:
                break
        self.watermark = high
        log.info("%s: done, %d rows, watermark %s", self.what, offset, self.watermark)

    def _watermark_key(self) -> str:
        return SYSTEM_FIELDS.get(self.watermark_column, self.watermark_column)

    def _record(self, row: Any, where: str) -> dict[str, Any]:
        if not isinstance(row, dict):
            raise ConnectorError(f"{self.what} {where}: a row is not a JSON object: {row!r:.200}")
        record: dict[str, Any] = {}
        for key, value in row.items():
            if key in SYSTEM_FIELDS:
                if self.system_fields:
                    record[SYSTEM_FIELDS[key]] = value
            elif not key.startswith(":") or key.startswith(":@"):
                record[key] = value
        return record


def soql_literal(value: str) -> str:
    """A SoQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def parse_timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise ConnectorError(f"watermark {value!r} is not an ISO timestamp") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _keys_in_order(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    return list(seen)


def _max(current: str | None, values: Iterator[Any]) -> str | None:
    for value in values:
        if value is not None and (current is None or str(value) > current):
            current = str(value)
    return current
