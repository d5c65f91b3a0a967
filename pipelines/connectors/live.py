"""Live loads: the catalog's portal entry -> a network connector, incremental where possible.

- Dated datasets load the requested months, filtered at the portal on `options.date_field`.
- Socrata datasets otherwise load incrementally: rows updated since the last good load's
  watermark (`meta.load_log`) are merged on Socrata's row id.
- Other portals pass the watermark as "changed since": nothing is fetched when the source did
  not change; otherwise the dataset is reloaded whole.
- Downloads are made before the run takes the writer lock (`pipelines.connectors.prefetch`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from pipelines.catalog import Dataset
from pipelines.connectors import ConnectorError, connector_for
from pipelines.connectors.prefetch import take
from pipelines.loading import MonthRange, latest_watermark

if TYPE_CHECKING:
    from pipelines.sources import Extract

SOCRATA_ROW_ID = "_socrata_id"
OUR_OPTIONS = {"date_field"}


def month_filter(dataset: Dataset, months: MonthRange) -> str:
    field = dataset.portal.options.get("date_field")
    if not isinstance(field, str) or not field.isidentifier():
        raise ConnectorError(
            f"{dataset.raw_table}: a dated live dataset needs portal.options.date_field (the "
            "portal's name of the date column, a plain identifier) to fetch months"
        )
    return (
        f"{field} >= '{months.start.isoformat()}T00:00:00' "
        f"and {field} < '{months.end.isoformat()}T00:00:00'"
    )


def live_connector(dataset: Dataset, months: MonthRange | None, since: str | None):  # noqa: ANN201
    """(the network connector for `dataset`, the month filter it applies or None)."""
    portal = dataset.portal
    options = {k: v for k, v in portal.options.items() if k not in OUR_OPTIONS}
    options.setdefault("name", dataset.raw_table)
    if months is not None:
        if portal.kind != "socrata":
            raise ConnectorError(
                f"{dataset.raw_table}: month loads from {portal.kind} portals are not supported; "
                "remove `partitioning` from the catalog entry to reload it whole"
            )
        options["where"] = month_filter(dataset, months)
        connector = connector_for(portal.kind, portal.base_url, portal.dataset_id, **options)
        return connector, options["where"]
    try:
        connector = connector_for(
            portal.kind, portal.base_url, portal.dataset_id, since=since, **options
        )
    except TypeError as error:  # an option the connector does not know
        raise ConnectorError(f"{dataset.raw_table}: bad portal.options: {error}") from error
    return connector, None


def live_extract(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, months: MonthRange | None
) -> Extract:
    """The live read of `dataset`: its download spooled before the run took the writer lock
    (`prefetch`) when that was fetched for the same watermark and months, else the portal."""
    from pipelines.sources import Extract

    if months is not None:
        connector, where = live_connector(dataset, months, None)
        connector = take(dataset.raw_table, None, where) or connector
        return Extract(connector, f"live {months.describe()}")
    since = latest_watermark(con, dataset.raw_table)
    connector, _ = live_connector(dataset, None, since)
    connector = take(dataset.raw_table, since, None) or connector
    incremental = since is not None
    return Extract(
        connector,
        "live incremental" if incremental else "live full",
        merge_key=SOCRATA_ROW_ID if incremental and dataset.portal.kind == "socrata" else None,
        watermark=lambda: connector.watermark,
        unchanged_ok=incremental,
    )
