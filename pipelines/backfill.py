"""`civic backfill`: (re)load a range of months of one dated dataset, and nothing else.

Only the dataset's raw asset runs, with the months as run configuration: it replaces exactly
those months (reading only the files that cover them). A load refused by its checks (one
that would empty or gut the months) is a failure. Rebuild the indicators afterwards with
`civic run` (or let the next scheduled refresh do it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dagster import DagsterInstance

from pipelines.catalog import CatalogError, city_catalog
from pipelines.runs import RunOutcome, RunRequest, execute

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class BackfillError(ValueError):
    """The backfill request cannot run; the message says why and what to type instead."""


def month_key(value: str, what: str) -> str:
    """' 2022-01' -> '2022-01' (a checked month)."""
    match = MONTH.match(value.strip())
    if not match:
        raise BackfillError(f"{what} must be a month as YYYY-MM (e.g. 2022-01), got {value!r}")
    return f"{match.group(1)}-{match.group(2)}"


def backfill_request(
    city: str,
    dataset: str,
    first: str,
    last: str,
    live: bool = False,
    verbose: bool = False,
    allow_shrink: bool = False,
) -> RunRequest:
    """Validate the request: a dated dataset of the city, months in order and in range."""
    try:
        catalog = city_catalog(city)
    except CatalogError as error:
        raise BackfillError(str(error)) from error
    if dataset not in catalog.datasets:
        raise BackfillError(
            f"{city} has no dataset {dataset!r} (known: {', '.join(catalog.datasets)})"
        )
    spec = catalog.datasets[dataset].partitioning
    if spec is None:
        dated = [name for name, d in catalog.datasets.items() if d.partitioning]
        raise BackfillError(
            f"{city}.{dataset} is not partitioned by month, so it has no months to backfill; "
            f"reload it whole with `civic run --city {city}`"
            + (f" (dated datasets of {city}: {', '.join(dated)})" if dated else "")
        )
    start, end = month_key(first, "--from"), month_key(last, "--to")
    if start > end:
        raise BackfillError(f"--from {first} is after --to {last}")
    if start < spec.start:
        raise BackfillError(f"{city}.{dataset} starts at {spec.start} (--from {first})")
    latest = datetime.now(UTC).strftime("%Y-%m")
    if end > latest:
        raise BackfillError(f"--to {last} is in the future (the last month is {latest})")
    return RunRequest(
        city=city,
        dataset=dataset,
        first_month=start,
        last_month=end,
        live=live,
        verbose=verbose,
        allow_shrink=allow_shrink,
        transform=False,
    )


def backfill(
    city: str,
    dataset: str,
    first: str,
    last: str,
    live: bool = False,
    *,
    instance: DagsterInstance,
    verbose: bool = False,
    allow_shrink: bool = False,
) -> RunOutcome:
    """Load months `first`..`last` (YYYY-MM, inclusive) of `city.dataset` in one run."""
    request = backfill_request(city, dataset, first, last, live, verbose, allow_shrink)
    return execute(request, instance)
