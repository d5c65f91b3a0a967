"""Connectors fetch a published dataset as a stream of Arrow record batches.

They know nothing of Dagster or of the warehouse: `pipelines.loading` writes what they yield.
One module per portal kind; `connector_for` picks the one a catalog entry asks for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported on first use (PEP 562): a bundled-file load needs neither httpx nor the portal
# connectors, and importing them all cost about 0.2 s of every process's start-up.
_HOMES = {
    "ArcgisConnector": "arcgis",
    "Connector": "base",
    "ConnectorError": "base",
    "CkanConnector": "ckan",
    "FileConnector": "files",
    "HttpClient": "http",
    "RetryPolicy": "http",
    "Limits": "limits",
    "SocrataConnector": "socrata",
    "SpooledConnector": "spool",
    "WebFileConnector": "web_files",
}

if TYPE_CHECKING:
    from pipelines.connectors.base import Connector


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    from pipelines.connectors.arcgis import ArcgisConnector
    from pipelines.connectors.base import ConnectorError
    from pipelines.connectors.ckan import CkanConnector
    from pipelines.connectors.limits import Limits
    from pipelines.connectors.socrata import SocrataConnector
    from pipelines.connectors.web_files import WebFileConnector

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


__all__ = [*_HOMES, "connector_for"]  # noqa: PLE0604
