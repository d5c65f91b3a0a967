"""ArcGIS REST FeatureServer/MapServer layers: `<layer>/query`, paged by `resultOffset`.

Paging continues while the answer says `exceededTransferLimit: true`, ordered by the layer's
object-id field. Layers on servers without pagination (before 10.3) are read by fetching all
object ids (`returnIdsOnly`, uncapped) and then the features in chunks of ids.
Attribute values are kept as published (dates stay epoch milliseconds, as text); geometry is
added as a `_geometry` JSON column when `return_geometry` is set.

Incremental loads: without `watermark_field`, the watermark is the layer's
`editingInfo.lastEditDate` (UTC, `YYYY-MM-DD HH:MM:SS`): if the layer was not edited after
`since`, nothing is fetched, otherwise all features are. With `watermark_field` (a date field),
only features with a later value are fetched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipelines.connectors.base import ConnectorError
from pipelines.connectors.http import (
    HttpClient,
    RetryableResponse,
    RetryPolicy,
    secret_from_env,
)
from pipelines.connectors.limits import Limits
from pipelines.connectors.spool import ColumnGuard, text_batch

log = logging.getLogger("civic.connectors")

RETRY_CODES = {429, 500, 502, 503, 504}
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,127}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")


class ArcgisConnector:
    """One layer, e.g. `ArcgisConnector("https://.../FeatureServer/0")`.

    - `where`: a static filter (default `1=1`).
    - `since` / `watermark_field`: see the module docstring.
    - `page_size`: features per request (capped by the layer's `maxRecordCount`).
    - `token_env`: environment variable with an ArcGIS token, sent as `X-Esri-Authorization`.
    """

    def __init__(
        self,
        layer_url: str,
        *,
        name: str | None = None,
        since: str | None = None,
        watermark_field: str | None = None,
        where: str = "1=1",
        page_size: int = 2000,
        return_geometry: bool = False,
        token_env: str | None = None,
        retry: RetryPolicy | None = None,
        limits: Limits | None = None,
    ) -> None:
        if watermark_field is not None and not FIELD_NAME.match(watermark_field):
            raise ConnectorError(f"ArcGIS watermark field {watermark_field!r} is not a field name")
        self.layer_url = layer_url.rstrip("/")
        self.name = name or self.layer_url.rsplit("/services/", 1)[-1]
        self.since = since
        self.watermark_field = watermark_field
        self.where = where
        self.page_size = page_size
        self.return_geometry = return_geometry
        token = secret_from_env(token_env)
        self.client = HttpClient(
            secret_headers={"X-Esri-Authorization": f"Bearer {token}"} if token else {},
            secrets=(token,) if token else (),
            policy=retry or RetryPolicy(),
            limits=limits or Limits(),
            secret_origin=self.layer_url,
        )
        self.watermark: str | None = since
        self._dates = False  # the watermark field holds epoch milliseconds
        self._high: str | None = since

    @property
    def what(self) -> str:
        return f"arcgis layer {self.name}"

    def source_uri(self) -> str:
        return self.client.redact(self.layer_url)

    def call(self, url: str, params: dict[str, object], what: str) -> dict[str, Any]:
        """GET an ArcGIS REST endpoint with `f=json`; errors in a 200 body are raised/retried."""

        def check(document: Any) -> None:
            if not isinstance(document, dict):
                raise ConnectorError(f"{what}: expected a JSON object from {self.source_uri()}")
            error = document.get("error")
            if isinstance(error, dict):
                code = error.get("code")
                details = error.get("details") or ""
                message = f"ArcGIS error {code}: {error.get('message')} {details}"
                if code in RETRY_CODES:
                    raise RetryableResponse(message.strip())
                raise ConnectorError(
                    self.client.redact(
                        f"{what}: {message.strip()} from {url}; check the layer URL, the where "
                        "clause and (for 498/499) the token"
                    )
                )

        return self.client.get_json(url, {**params, "f": "json"}, what=what, check=check)

    def metadata(self) -> dict[str, Any]:
        return self.call(self.layer_url, {}, f"{self.what} metadata")

    def remote_updated_at(self) -> str | None:
        """The layer's `editingInfo.lastEditDate` as UTC `YYYY-MM-DD HH:MM:SS`."""
        return _last_edit(self.metadata())

    def fresh_since(self, since: str | None) -> bool:
        edited = self.remote_updated_at()
        return since is None or edited is None or edited > since

    # -- rows -------------------------------------------------------------------------------
    def batches(self) -> Iterator[pa.RecordBatch]:
        self.watermark = self.since
        self._high = self.since  # becomes `watermark` only once every page has been read
        metadata = self.metadata()
        edited = _last_edit(metadata)
        kinds = {f.get("name"): f.get("type") for f in metadata.get("fields") or []}
        self._dates = kinds.get(self.watermark_field) == "esriFieldTypeDate"
        where = self.where
        if self.watermark_field is None:
            if self.since is not None and edited is not None and edited <= self.since:
                log.info(
                    "%s: not edited since %s (last edit %s), nothing to fetch",
                    self.what,
                    self.since,
                    edited,
                )
                return
        elif self.since is not None:
            where = f"({where}) AND {self._after(metadata)}"
        order = metadata.get("objectIdField") or _oid_field(metadata) or "OBJECTID"
        size = min(self.page_size, metadata.get("maxRecordCount") or self.page_size)
        paginates = (metadata.get("advancedQueryCapabilities") or {}).get("supportsPagination")
        query = {
            "where": where,
            "outFields": "*",
            "orderByFields": order,
            "returnGeometry": "true" if self.return_geometry else "false",
        }
        pages = (
            self._by_offset(query, size) if paginates is not False else self._by_ids(query, size)
        )
        guard = ColumnGuard(self.what)
        rows = 0
        for number, label, document in pages:
            features = document.get("features")
            fields = document.get("fields")
            if not isinstance(features, list) or not isinstance(fields, list):
                raise ConnectorError(f"{self.what} page {number} ({label}): no features/fields")
            names = [f.get("name") for f in fields if isinstance(f, dict)]
            if self.return_geometry:
                names.append("_geometry")
            columns = guard.check(names, f"page {number} ({label})")
            records = [self._record(feature) for feature in features]
            rows += len(records)
            self._track(records)
            log.info(
                "%s: page %d (%s), %d rows, %d so far", self.what, number, label, len(records), rows
            )
            if records:
                yield text_batch(columns, records)
        self.watermark = (edited or self.since) if self.watermark_field is None else self._high
        log.info("%s: done, %d rows, watermark %s", self.what, rows, self.watermark)

    def _by_offset(
        self, query: dict[str, object], size: int
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        offset = 0
        number = 0
        while True:
            number += 1
            label = f"offset {offset}"
            params = {**query, "resultOffset": offset, "resultRecordCount": size}
            document = self.call(
                f"{self.layer_url}/query", params, f"{self.what} page {number} ({label})"
            )
            yield number, label, document
            count = len(document.get("features") or [])
            if not document.get("exceededTransferLimit"):
                break
            if count == 0:
                raise ConnectorError(
                    f"{self.what} page {number} ({label}): the server says more features exist "
                    "(exceededTransferLimit) but sent none; re-run later, or report the layer"
                )
            offset += count

    def _by_ids(
        self, query: dict[str, object], size: int
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        ids_document = self.call(
            f"{self.layer_url}/query",
            {"where": query["where"], "returnIdsOnly": "true"},
            f"{self.what} object ids",
        )
        ids = sorted(ids_document.get("objectIds") or [])
        for number, start in enumerate(range(0, len(ids), size), start=1):
            chunk = ids[start : start + size]
            label = f"object ids {chunk[0]}..{chunk[-1]}"
            params = {**query, "objectIds": ",".join(str(i) for i in chunk)}
            yield (
                number,
                label,
                self.call(
                    f"{self.layer_url}/query", params, f"{self.what} page {number} ({label})"
                ),
            )

    def _after(self, metadata: dict[str, Any]) -> str:
        since = self.since or ""
        kinds = {f.get("name"): f.get("type") for f in metadata.get("fields") or []}
        kind = kinds.get(self.watermark_field)
        if kind == "esriFieldTypeDate":
            if not TIMESTAMP.match(since):
                raise ConnectorError(
                    f"{self.what}: watermark {since!r} is not 'YYYY-MM-DD HH:MM:SS'; "
                    "clear the stored watermark to reload the layer"
                )
            return f"{self.watermark_field} > TIMESTAMP '{since}'"
        if kind in {"esriFieldTypeString", "esriFieldTypeGUID", None}:
            return f"{self.watermark_field} > '{since.replace(chr(39), chr(39) * 2)}'"
        try:
            return f"{self.watermark_field} > {float(since):g}"
        except ValueError as error:
            raise ConnectorError(f"{self.what}: watermark {since!r} is not a number") from error

    def _record(self, feature: Any) -> dict[str, Any]:
        if not isinstance(feature, dict):
            raise ConnectorError(f"{self.what}: a feature is not a JSON object")
        record = dict(feature.get("attributes") or {})
        if self.return_geometry:
            record["_geometry"] = feature.get("geometry")
        return record

    def _track(self, records: list[dict[str, Any]]) -> None:
        if self.watermark_field is None:
            return
        for record in records:
            value = record.get(self.watermark_field)
            if self._dates and isinstance(value, int | float):
                value = _from_epoch_ms(value)
            if value is not None and (self._high is None or str(value) > self._high):
                self._high = str(value)


def _from_epoch_ms(value: float) -> str:
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _last_edit(metadata: dict[str, Any]) -> str | None:
    stamp = (metadata.get("editingInfo") or {}).get("lastEditDate")
    return _from_epoch_ms(stamp) if isinstance(stamp, int | float) else None


def _oid_field(metadata: dict[str, Any]) -> str | None:
    for field in metadata.get("fields") or []:
        if isinstance(field, dict) and field.get("type") == "esriFieldTypeOID":
            return field.get("name")
    return None
