"""DCAT-US 1.1 catalog (`data.json`) of a release: one dataset per published table.

Required fields per dataset (title, description, keyword, modified, publisher, contactPoint,
identifier, accessLevel) come from the publishing settings and the dbt model descriptions; the
period covered (`temporal`), places (`spatial`) and update frequency (`accrualPeriodicity`) are
read from the data. `identifier` is stable across releases (one dataset, many versions);
`distribution` links this version's CSV and Parquet files; `describedBy` is the release's
Frictionless data package, which is its data dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa
import yaml

from pipelines.publishing.config import PublishedTable, PublishingConfig
from pipelines.settings import SOURCES_DIR

SCHEMA_URL = "https://project-open-data.cio.gov/v1.1/schema"
PERIOD_COLUMNS = ("period_start", "period", "date", "as_of")
GRAIN_PERIODICITY = {"day": "R/P1D", "week": "R/P1W", "month": "R/P1M", "quarter": "R/P3M"}
GRAIN_PERIODICITY |= {"year": "R/P1Y"}
GRAIN_ORDER = ["day", "week", "month", "quarter", "year"]
INTERVAL = {
    "day": "1 day",
    "week": "7 days",
    "month": "1 month",
    "quarter": "3 months",
    "year": "1 year",
}


@dataclass
class TableFacts:
    """What the data says about itself, for the catalog."""

    rows: int
    period_first: date | None = None
    period_last: date | None = None  # last day covered
    grains: list[str] = field(default_factory=list)
    cities: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)


def table_facts(table: pa.Table, domains_by_indicator: dict[str, str]) -> TableFacts:
    facts = TableFacts(rows=table.num_rows)
    names = table.schema.names
    con = duckdb.connect()
    con.register("t", table)
    grain_column = next((c for c in ("period_grain", "grain", "series_grain") if c in names), None)
    if grain_column:
        facts.grains = sorted(
            (g for (g,) in con.execute(f'select distinct "{grain_column}" from t').fetchall() if g),
            key=lambda g: GRAIN_ORDER.index(g) if g in GRAIN_ORDER else len(GRAIN_ORDER),
        )
    period = next(
        (c for c in PERIOD_COLUMNS if c in names and pa.types.is_date(table.schema.field(c).type)),
        None,
    )
    if period:
        facts.period_first = con.execute(f'select min("{period}") from t').fetchall()[0][0]
        if grain_column:
            ends = " ".join(
                f"when '{g}' then \"{period}\" + interval '{span}' - interval '1 day'"
                for g, span in INTERVAL.items()
            )
            facts.period_last = con.execute(
                f'select max(case "{grain_column}" {ends} else "{period}" end)::date from t'
            ).fetchall()[0][0]
        else:
            facts.period_last = con.execute(f'select max("{period}") from t').fetchall()[0][0]
    if "city" in names:
        facts.cities = [
            c for (c,) in con.execute("select distinct city from t order by 1").fetchall()
        ]
    if "indicator_id" in names:
        ids = {i for (i,) in con.execute("select distinct indicator_id from t").fetchall()}
        facts.domains = sorted({domains_by_indicator[i] for i in ids if i in domains_by_indicator})
    con.close()
    return facts


@cache
def city_name(city: str) -> str:
    """The city's display name from its catalog (`sources/cities/<city>.yml`), else the id."""
    for path in (SOURCES_DIR / "cities" / f"{city}.yml", SOURCES_DIR / f"{city}.yml"):
        if not (city.isidentifier() and path.exists()):
            continue
        try:
            name = (yaml.safe_load(path.read_text()) or {}).get("name")
        except yaml.YAMLError:
            name = None
        if isinstance(name, str) and name:
            return name
    return city.replace("_", " ").title()


def dataset_entry(
    table: PublishedTable,
    description: str,
    facts: TableFacts,
    release_facts: TableFacts,
    config: PublishingConfig,
    version: str,
    modified: datetime,
) -> dict[str, Any]:
    base = f"{config.base_url}/{version}"
    first = facts.period_first or release_facts.period_first
    last = facts.period_last or release_facts.period_last
    cities = facts.cities or release_facts.cities
    grains = facts.grains or release_facts.grains
    entry: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "title": f"{config.title}: {table.display_title}",
        "description": description or f"{table.display_title} ({table.name}).",
        "keyword": unique(
            config.keywords + table.keywords + facts.domains + [city_name(c) for c in cities]
        ),
        "modified": modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "publisher": {"@type": "org:Organization", "name": config.publisher},
        "contactPoint": {
            "@type": "vcard:Contact",
            "fn": config.contact.name,
            "hasEmail": f"mailto:{config.contact.email}",
        },
        "identifier": f"{config.base_url}#{table.name}",
        "accessLevel": config.access_level,
        "accrualPeriodicity": GRAIN_PERIODICITY.get(grains[0], "irregular")
        if grains
        else "irregular",
        "language": [config.language],
        "describedBy": f"{base}/datapackage.json",
        "describedByType": "application/json",
        "landingPage": f"{base}/CHANGELOG.md",
        "distribution": [
            {
                "@type": "dcat:Distribution",
                "title": f"{table.display_title} (CSV)",
                "downloadURL": f"{base}/data/{table.name}.csv",
                "mediaType": "text/csv",
                "format": "CSV",
                "describedBy": f"{base}/datapackage.json",
                "describedByType": "application/json",
            },
            {
                "@type": "dcat:Distribution",
                "title": f"{table.display_title} (Parquet)",
                "downloadURL": f"{base}/data/{table.name}.parquet",
                "mediaType": "application/vnd.apache.parquet",
                "format": "Parquet",
                "describedBy": f"{base}/datapackage.json",
                "describedByType": "application/json",
            },
        ],
    }
    if first and last:
        entry["temporal"] = f"{first.isoformat()}/{last.isoformat()}"
    if cities:
        entry["spatial"] = "; ".join(city_name(c) for c in cities)
    if config.license:
        entry["license"] = config.license
    return entry


def catalog(datasets: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": f"{SCHEMA_URL}/catalog.jsonld",
        "@type": "dcat:Catalog",
        "conformsTo": SCHEMA_URL,
        "describedBy": f"{SCHEMA_URL}/catalog.json",
        "dataset": datasets,
    }


def unique(words: list[str]) -> list[str]:
    return list(dict.fromkeys(w for w in words if w))
