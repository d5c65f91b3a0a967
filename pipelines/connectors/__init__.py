"""Connectors fetch a published dataset as a stream of Arrow record batches.

They know nothing of Dagster or of the warehouse: `pipelines.loading` writes what they yield.
One module per portal kind; `connector_for` picks the one a catalog entry asks for.
"""

from __future__ import annotations

from typing import Any

from pipelines.connectors.arcgis import ArcgisConnector
from pipelines.connectors.base import Connector, ConnectorError
from pipelines.connectors.ckan import CkanConnector
from pipelines.connectors.files import FileConnector
from pipelines.connectors.http import HttpClient, RetryPolicy
from pipelines.connectors.limits import Limits
from pipelines.connectors.socrata import SocrataConnector
from pipelines.connectors.spool import SpooledConnector
from pipelines.connectors.web_files import WebFileConnector

NETWORK_KINDS = ("socrata", "ckan", "arcgis", "http")


def connector_for(
    kind: str,
    base_url: str,
    dataset_id: str | None = None,
    *,
    since: str | None = None,
    **options: Any,
) -> Connector:
    """The network connector for a catalog `portal` entry.

    `dataset_id` is the Socrata 4x4 id, the CKAN resource id, or (ArcGIS) the layer path
    appended to `base_url` (e.g. `FeatureServer/0`); `http` takes the file URL as `base_url`.
    `options` are passed to the connector's constructor (see each class).
    """
    options = dict(options)
    options["limits"] = Limits.from_options(options)  # max_body_mb, max_decompressed_mb
    if kind in {"socrata", "ckan"} and not dataset_id:
        raise ConnectorError(f"a {kind} portal entry needs a dataset_id ({base_url})")
    if kind == "socrata":
        return SocrataConnector(base_url, dataset_id or "", since=since, **options)
    if kind == "ckan":
        return CkanConnector(base_url, dataset_id or "", since=since, **options)
    if kind == "arcgis":
        layer = f"{base_url.rstrip('/')}/{dataset_id.strip('/')}" if dataset_id else base_url
        return ArcgisConnector(layer, since=since, **options)
    if kind == "http":
        return WebFileConnector(base_url, since=since, **options)
    raise ConnectorError(
        f"no network connector for portal kind {kind!r}; expected one of {', '.join(NETWORK_KINDS)}"
        " (bundled files use FileConnector)"
    )


__all__ = [
    "ArcgisConnector",
    "CkanConnector",
    "Connector",
    "ConnectorError",
    "FileConnector",
    "HttpClient",
    "Limits",
    "RetryPolicy",
    "SocrataConnector",
    "SpooledConnector",
    "WebFileConnector",
    "connector_for",
]
