"""CKAN DataStore resources: `datastore_search`, paged by `limit`/`offset`, sorted by `_id`.

CKAN silently caps `limit` (commonly at 32,000 rows), so paging continues until the `total`
the server reports has been read, never stopping at the first short page.

Incremental loads, two ways:
- no `watermark_column`: the watermark is the resource's modification time (the later of the
  resource's `last_modified` and the package's `last_refreshed`, via `resource_show` and
  `package_show`). If it has not moved past `since`, nothing is fetched; otherwise the whole
  resource is read again (CKAN resources are usually replaced whole).
- `watermark_column` (a date column): only rows with a later value are fetched, through
  `datastore_search_sql` (which the portal must allow).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.http import HttpClient, RetryPolicy, secret_from_env
from pipelines.connectors.limits import Limits
from pipelines.connectors.spool import ColumnGuard, text_batch

log = logging.getLogger("civic.connectors")

PAGE_SIZE = 32_000
INTERNAL_FIELDS = {"_id", "_full_text"}
RESOURCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def sql_literal(value: str) -> str:
    """An SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


class CkanConnector:
    """One DataStore resource, e.g. `CkanConnector("https://data.boston.gov", "<resource uuid>")`.

    - `since`: watermark from the previous load.
    - `watermark_column`: a column to filter on; without it the resource modification time.
    - `token_env`: environment variable holding an API token, sent as `Authorization`.
    """

    def __init__(
        self,
        base_url: str,
        resource_id: str,
        *,
        name: str | None = None,
        since: str | None = None,
        watermark_column: str | None = None,
        page_size: int = PAGE_SIZE,
        token_env: str | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
    ) -> None:
        if not RESOURCE_ID.match(resource_id):
            raise ConnectorError(f"CKAN resource id {resource_id!r} is not a valid id")
        if watermark_column is not None and '"' in watermark_column:
            raise ConnectorError(f"CKAN watermark column {watermark_column!r} is not a column")
        self.base_url = base_url.rstrip("/")
        self.resource_id = resource_id
        self.name = name or resource_id
        self.since = since
        self.watermark_column = watermark_column
        self.page_size = page_size
        token = secret_from_env(token_env)
        self.client = HttpClient(
            secret_headers={"Authorization": token} if token else {},
            policy=retry or RetryPolicy(),
            limits=limits or Limits(),
            secret_origin=self.base_url,
        )
        self.watermark: str | None = since
        self._high: str | None = since

    @property
    def what(self) -> str:
        return f"ckan resource {self.name} ({self.resource_id})"

    def source_uri(self) -> str:
        return self.client.redact(
            f"{self.base_url}/api/3/action/datastore_search?resource_id={self.resource_id}"
        )

    def action(self, name: str, params: dict[str, object], what: str) -> dict[str, Any]:
        """Call a CKAN action API and return its `result`."""
        document = self.client.get_json(f"{self.base_url}/api/3/action/{name}", params, what=what)
        succeeded = isinstance(document, dict) and document.get("success") and "result" in document
        if not succeeded:
            error = document.get("error") if isinstance(document, dict) else None
            raise ConnectorError(
                self.client.redact(
                    f"{what}: CKAN {name} did not succeed ({error or str(document)[:200]}); "
                    "check the resource id and that the resource is in the DataStore"
                )
            )
        return document["result"]

    # -- freshness --------------------------------------------------------------------------
    def remote_modified(self) -> str | None:
        """The later of the resource's `last_modified` and the package's `last_refreshed`."""
        resource = self.action("resource_show", {"id": self.resource_id}, f"{self.what} metadata")
        stamps = [resource.get("last_modified") or resource.get("metadata_modified")]
        package_id = resource.get("package_id")
        if package_id:
            package = self.action("package_show", {"id": package_id}, f"{self.what} package")
            stamps.append(package.get("last_refreshed"))
        found = [s for s in stamps if isinstance(s, str) and s]
        return max(found) if found else None

    def fresh_since(self, since: str | None) -> bool:
        modified = self.remote_modified()
        return since is None or modified is None or modified > since

    # -- rows -------------------------------------------------------------------------------
    def batches(self) -> Iterator[pa.RecordBatch]:
        self.watermark = self.since
        self._high = self.since  # becomes `watermark` only once every page has been read
        if self.watermark_column is None:
            modified = self.remote_modified()
            if self.since is not None and modified is not None and modified <= self.since:
                log.info(
                    "%s: unchanged since %s (modified %s), nothing to fetch",
                    self.what,
                    self.since,
                    modified,
                )
                return
            yield from self._search()
            self.watermark = modified or self.since
        else:
            yield from self._search() if self.since is None else self._search_sql()
            self.watermark = self._high
        log.info("%s: done, watermark %s", self.what, self.watermark)

    def _search(self) -> Iterator[pa.RecordBatch]:
        guard = ColumnGuard(self.what)
        offset = 0
        page = 0
        while True:
            page += 1
            where = f"page {page} (offset {offset})"
            params = {
                "resource_id": self.resource_id,
                "limit": self.page_size,
                "offset": offset,
                "sort": "_id",
                "include_total": "true",
            }
            result = self.action("datastore_search", params, f"{self.what} {where}")
            records, columns = self._page(result, guard, where)
            total = result.get("total")
            if not isinstance(total, int):
                raise ConnectorError(
                    f"{self.what} {where}: datastore_search returned no total; the portal may run "
                    "an old CKAN: set a watermark_column so paging stops at a short page"
                )
            if not records:
                if offset < total:
                    raise ConnectorError(
                        f"{self.what} {where}: empty page but the portal reports {total} rows "
                        f"and only {offset} were read; the resource may be being replaced: "
                        "re-run the load later"
                    )
                break
            offset += len(records)
            self._track(records)
            log.info("%s: %s, %d rows, %d of %d", self.what, where, len(records), offset, total)
            yield text_batch(columns, records)
            if offset >= total:
                break

    def _search_sql(self) -> Iterator[pa.RecordBatch]:
        guard = ColumnGuard(self.what)
        offset = 0
        page = 0
        condition = f'"{self.watermark_column}" > {sql_literal(self.since or "")}'
        while True:
            page += 1
            where = f"page {page} (offset {offset})"
            sql = (
                f'SELECT * FROM "{self.resource_id}" WHERE {condition} '
                f"ORDER BY _id LIMIT {self.page_size} OFFSET {offset}"
            )
            result = self.action("datastore_search_sql", {"sql": sql}, f"{self.what} {where}")
            records, columns = self._page(result, guard, where)
            if not records:
                break
            offset += len(records)
            self._track(records)
            log.info("%s: %s, %d new rows, %d so far", self.what, where, len(records), offset)
            yield text_batch(columns, records)
            if len(records) < self.page_size and not result.get("records_truncated"):
                break

    def _page(
        self, result: dict[str, Any], guard: ColumnGuard, where: str
    ) -> tuple[list[dict[str, Any]], list[str]]:
        fields = result.get("fields")
        records = result.get("records")
        if not isinstance(fields, list) or not isinstance(records, list):
            raise ConnectorError(
                f"{self.what} {where}: response has no fields/records list; is the resource in "
                "the DataStore (datastore_active)?"
            )
        names = [f.get("id") for f in fields if isinstance(f, dict)]
        columns = guard.check([n for n in names if n not in INTERNAL_FIELDS], where)
        if any(not isinstance(r, dict) for r in records):
            raise ConnectorError(f"{self.what} {where}: records are not JSON objects")
        return records, columns

    def _track(self, records: list[dict[str, Any]]) -> None:
        if self.watermark_column is None:
            return
        for record in records:
            value = record.get(self.watermark_column)
            if value is not None and (self._high is None or str(value) > self._high):
                self._high = str(value)
