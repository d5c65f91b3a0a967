"""`civic city init`: a draft catalog for a new city, from its portal's own metadata.

Given a portal kind, a base URL and dataset ids, it reads each dataset's published fields and
a sample of real rows (Socrata `/api/views/<id>.json` and `/resource/<id>.json`; CKAN
`resource_show` and `datastore_search`; ArcGIS the layer's fields and a `query` page), and
writes `sources/cities/<city>.yml` with, per dataset, the canonical table it most likely
feeds and the column mapping guessed from the column names (the synonyms of
`sources/canonical.yml`) and the sample values; date formats are detected from the real rows.
Guesses it is not sure of, and what only a person can say (licence, area type, the offence
classification), are marked TODO: `civic validate` then lists what is still missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from pipelines.canonical import DATED_TYPES, canonical_tables
from pipelines.catalog import Portal
from pipelines.connectors import ConnectorError, HttpClient, RetryPolicy
from pipelines.loading import column_name
from pipelines.settings import SOURCES_DIR
from pipelines.validate import Sample

SAMPLE_ROWS = 200
# strptime formats tried on sample values, most specific first (ISO 8601 needs none).
DATE_FORMATS = [
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S%z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%H:%M:%S",
]
AREA_TYPES_BY_NAME = {
    "community_area": "community_area",
    "ward": "ward",
    "borough": "borough",
    "boro": "borough",
    "district": "district",
    "precinct": "precinct",
    "neighborhood": "neighborhood",
    "neighbourhood": "neighborhood",
    "council_district": "council_district",
    "county": "county",
    "tract": "tract",
    "zip": "zip",
}
DOMAINS = {
    "crime_incidents": "crime",
    "crime_counts": "crime",
    "graduation_outcomes": "education",
    "unemployment": "development",
    "permits": "development",
    "spending": "spending",
    "population": "population",
}


@dataclass
class PortalDataset:
    """What a portal says about one dataset: its title, fields and a sample of rows."""

    key: str
    portal: Portal
    title: str
    sample: Sample
    notes: list[str] = field(default_factory=list)


def _client() -> HttpClient:
    return HttpClient(policy=RetryPolicy(max_attempts=2, total_seconds=30, timeout_seconds=20))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def portal_sample(portal: Portal, rows: int = SAMPLE_ROWS) -> Sample:
    """Field names and a page of real rows, as the live loader would receive them."""
    client = _client()
    base = portal.base_url.rstrip("/")
    what = f"{portal.kind} dataset {portal.dataset_id}"
    if portal.kind == "socrata":
        view = client.get_json(f"{base}/api/views/{portal.dataset_id}.json", what=what)
        columns = [
            c["fieldName"]
            for c in sorted(view.get("columns", []), key=lambda c: c.get("position", 0))
            if not str(c.get("fieldName", ":")).startswith(":")
        ]
        records = client.get_json(
            f"{base}/resource/{portal.dataset_id}.json", {"$limit": rows}, what=what
        )
        label = f"{base}/resource/{portal.dataset_id}.json"
    elif portal.kind == "ckan":
        found = client.get_json(
            f"{base}/api/3/action/datastore_search",
            {"resource_id": portal.dataset_id, "limit": rows},
            what=what,
        )["result"]
        columns = [f["id"] for f in found.get("fields", []) if not f["id"].startswith("_")]
        records = found.get("records", [])
        label = f"{base}/api/3/action/datastore_search?resource_id={portal.dataset_id}"
    elif portal.kind == "arcgis":
        layer = f"{base}/{portal.dataset_id.strip('/')}" if portal.dataset_id else base
        meta = client.get_json(layer, {"f": "json"}, what=what)
        columns = [f["name"] for f in meta.get("fields", [])]
        page = client.get_json(
            f"{layer}/query",
            {"where": "1=1", "outFields": "*", "resultRecordCount": rows, "f": "json"},
            what=what,
        )
        records = [feature.get("attributes", {}) for feature in page.get("features", [])]
        label = layer
    else:
        raise ConnectorError(
            f"civic city init reads socrata, ckan or arcgis portals, not {portal.kind}"
        )
    sample_rows = [{c: _text(r.get(c)) for c in columns} for r in records]
    return Sample(label, columns, sample_rows)


def portal_title(portal: Portal) -> str:
    client = _client()
    base = portal.base_url.rstrip("/")
    try:
        if portal.kind == "socrata":
            return client.get_json(f"{base}/api/views/{portal.dataset_id}.json", what="title")[
                "name"
            ]
        if portal.kind == "ckan":
            result = client.get_json(
                f"{base}/api/3/action/resource_show", {"id": portal.dataset_id}, what="title"
            )["result"]
            return result.get("name") or portal.dataset_id
        layer = f"{base}/{portal.dataset_id.strip('/')}" if portal.dataset_id else base
        return client.get_json(layer, {"f": "json"}, what="title").get("name", "TODO: title")
    except (ConnectorError, KeyError, TypeError):
        return f"TODO: the dataset's title ({portal.dataset_id or portal.base_url})"


def detect_format(values: Iterable[str]) -> str | None:
    """The first strptime format every sampled value parses with ('epoch_ms' for ArcGIS)."""
    values = [v.strip() for v in values if v and v.strip()][:SAMPLE_ROWS]
    if not values:
        return None
    if all(re.fullmatch(r"-?[0-9]{11,13}", v) for v in values):
        return "epoch_ms"
    for fmt in DATE_FORMATS:
        try:
            for value in values:
                datetime.strptime(value.replace("+00", "+0000") if "%z" in fmt else value, fmt)
        except ValueError:
            continue
        return fmt
    return None


def _score(name: str, synonyms: Iterable[str]) -> int:
    """2: the name is a synonym; 1: a synonym is part of it; 0: neither."""
    key = column_name(name)
    synonyms = list(synonyms)
    if key in synonyms:
        return 2
    return 1 if any(s and re.search(rf"(^|_){re.escape(s)}(_|$)", key) for s in synonyms) else 0


def guess_mapping(sample: Sample, table: str) -> tuple[dict[str, str], dict[str, str], int]:
    """(canonical -> published, canonical -> date format, score) for one canonical table."""
    spec = canonical_tables()[table]
    mapping: dict[str, str] = {}
    formats: dict[str, str] = {}
    used: set[str] = set()
    score = 0
    for canonical, column in spec.columns.items():
        candidates = sorted(
            ((_score(name, [*column.synonyms, canonical]), name) for name in sample.columns),
            key=lambda item: -item[0],
        )
        best = next(((s, n) for s, n in candidates if s and n not in used), None)
        if best is None:
            continue
        if column.type in DATED_TYPES:
            fmt = detect_format(sample.values(best[1]))
            if fmt is None and column.type != "time":
                continue  # not dates after all
            if fmt and fmt not in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"):
                formats[canonical] = fmt
        mapping[canonical] = best[1]
        used.add(best[1])
        score += best[0] * (3 if canonical in spec.required else 1)
    missing = spec.missing(set(mapping))
    return mapping, formats, score - 10 * len(missing)


def guess_table(sample: Sample) -> tuple[str | None, dict[str, str], dict[str, str]]:
    best = None
    for table in canonical_tables():
        mapping, formats, score = guess_mapping(sample, table)
        if best is None or score > best[0]:
            best = (score, table, mapping, formats)
    if best is None or best[0] <= 0:
        return None, {}, {}
    return best[1], best[2], best[3]


def year_columns_pattern(columns: Iterable[str]) -> str | None:
    """A regex over raw names for columns named after a year ('2019 ORDINANCE (AMOUNT $)')."""
    raw = [column_name(c) for c in columns]
    for template in (r"^([0-9]{{4}})_{rest}$", r"^{rest}_([0-9]{{4}})$"):
        for name in raw:
            match = re.fullmatch(r"([0-9]{4})_(.+)", name) or re.fullmatch(r"(.+)_([0-9]{4})", name)
            if not match:
                continue
            rest = match.group(2) if name[:4].isdigit() else match.group(1)
            pattern = template.format(rest=re.escape(rest))
            if re.match(pattern, name):
                return pattern
    return None


def guess_area_type(published: str | None) -> str | None:
    if not published:
        return None
    key = column_name(published)
    return next((t for name, t in AREA_TYPES_BY_NAME.items() if name in key), None)


def dataset_entry(city: str, item: PortalDataset) -> tuple[dict[str, Any], list[str]]:
    """The draft catalog entry of one dataset and the TODO comments to write above it."""
    table, mapping, formats = guess_table(item.sample)
    todo = [*item.notes, "cadence: how often the portal updates it (daily ... yearly, static)"]
    entry: dict[str, Any] = {
        "raw_table": column_name(f"{city}_{item.key}"),
        "domain": DOMAINS.get(table or "", "TODO"),
        "cadence": "static",
        "title": item.title,
        "description": "TODO: what one row is, the period and areas the dataset covers",
        "portal": item.portal.model_dump(exclude_defaults=True),
        "license": "TODO: the portal's licence or terms of use",
        "provenance": " ".join(filter(None, [item.portal.base_url, item.portal.dataset_id])),
    }
    if entry["domain"] == "TODO":
        entry["domain"] = "TODO: crime | education | development | spending | population"
    if table is None:
        todo.append("no canonical table recognised from the column names: map it by hand")
        return entry, todo
    entry["feeds"] = table
    entry["columns"] = mapping
    if formats:
        entry["formats"] = formats
    spec = canonical_tables()[table]
    missing = spec.missing(set(mapping))
    if missing:
        todo.append(f"{table} also needs {missing}: map a column or set a constant")
    if "area" in mapping or "area" in missing:
        area_type = guess_area_type(mapping.get("area"))
        entry["area_type"] = area_type or "TODO: the kind of area in `area` (area_types.yml)"
    if table == "crime_incidents":
        entry["offenses"] = f"offenses/{city}.csv"
        todo.append(f"classify the published offences in sources/offenses/{city}.csv (a draft)")
    if table == "spending":
        entry["spending_kind"] = "TODO: appropriations | expenditures"
        pattern = year_columns_pattern(item.sample.columns)
        if "fiscal_year" not in mapping and pattern:
            # a budget with one amount column per fiscal year: read it long
            mapping.pop("amount", None)
            entry["unpivot"] = {
                "pattern": {"columns": pattern, "key": "fiscal_year", "value": "amount"}
            }
            missing = spec.missing(set(mapping) | {"fiscal_year", "amount"})
            todo = [t for t in todo if "also needs" not in t]
            if missing:
                todo.append(f"{table} also needs {missing}: map a column or set a constant")
    unsure = [c for c in mapping if c not in spec.required]
    if unsure:
        todo.append(f"check the guessed optional columns: {', '.join(unsure)}")
    return entry, todo


OFFENSE_HINTS = [
    ("HOMICIDE|MURDER", "criminal homicide", "violent"),
    ("RAPE|SEXUAL ASSAULT|SEX ABUSE", "rape", "violent"),
    ("ROBBERY", "robbery", "violent"),
    ("AGGRAVATED ASSAULT|DANGEROUS WEAPON|ADW|AGG.* ASSAULT", "aggravated assault", "violent"),
    ("BURGLARY|BREAKING", "burglary", "property"),
    ("MOTOR VEHICLE|AUTO THEFT|VEHICLE THEFT|STOLEN VEHICLE", "motor vehicle theft", "property"),
    ("THEFT|LARCENY|SHOPLIFT", "larceny-theft", "property"),
    ("ARSON", "arson", "property"),
]


def offense_draft(values: Iterable[str]) -> str:
    """A draft offence classification: one rule per published offence a keyword recognises."""
    lines = ["rule_id,offense,description_like,description_not_like,ucr_offense,category,rationale"]
    rule = 0
    for value in sorted({v.strip() for v in values if v and v.strip()}):
        for pattern, ucr, category in OFFENSE_HINTS:
            if re.search(pattern, value.upper()):
                rule += 1
                quoted = '"' + value.replace('"', '""') + '"'
                lines.append(
                    f'{rule},{quoted},%,,{ucr},{category},"TODO: check that {value} is {ucr} '
                    'under the FBI UCR definition (guessed from its name)"'
                )
                break
    return "\n".join(lines) + "\n"


def draft_catalog(
    city: str, name: str, items: list[PortalDataset], census_place: str | None = None
) -> tuple[str, dict[str, str]]:
    """The draft catalog text and any other draft files (path under sources/ -> text)."""
    lines = [
        f"# Draft catalog of {name}, written by `civic city init` from the portal's metadata and",
        "# a sample of real rows. Check every guess; TODO marks what the portal could not say.",
        "# Then run `civic validate` (add --live to check against the portal).",
    ]
    head: dict[str, Any] = {"city": city, "name": name}
    if census_place:
        head["census"] = {"place": census_place}
    lines.append(yaml.safe_dump(head, sort_keys=False).rstrip())
    if not census_place:
        lines.append("# TODO: census: {place: <7-digit GEOID>} gives per-resident city rates")
    lines.append("datasets:")
    extra: dict[str, str] = {}
    for item in items:
        entry, todo = dataset_entry(city, item)
        for note in todo:
            lines.append(f"  # TODO {item.key}: {note}")
        lines.append(_indent(yaml.safe_dump({item.key: entry}, sort_keys=False, width=100), 2))
        if entry.get("feeds") == "crime_incidents":
            offenses = item.sample.values(entry["columns"].get("offense_type", ""))
            extra[f"offenses/{city}.csv"] = offense_draft(offenses)
    return "\n".join(lines) + "\n", extra


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line if line else line for line in text.rstrip().splitlines())


def init_city(
    city: str,
    name: str,
    kind: str,
    base_url: str,
    datasets: Mapping[str, str],
    *,
    census_place: str | None = None,
    sources_dir: Path = SOURCES_DIR,
    force: bool = False,
) -> list[Path]:
    """Read the portal and write the draft files; returns the paths written."""
    target = sources_dir / "cities" / f"{city}.yml"
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists: edit it, or pass --force to overwrite it")
    items = []
    for key, dataset_id in datasets.items():
        if kind == "arcgis":  # a layer is its URL: <services>/<name>/FeatureServer/<n>
            layer = f"{base_url.rstrip('/')}/{dataset_id.strip('/')}"
            portal = Portal(kind=kind, base_url=layer)
        else:
            portal = Portal(kind=kind, base_url=base_url, dataset_id=dataset_id)
        items.append(PortalDataset(key, portal, portal_title(portal), portal_sample(portal)))
    text, extra = draft_catalog(city, name, items, census_place)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    written = [target]
    for relative, content in extra.items():
        path = sources_dir / relative
        if not path.exists() or force:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            written.append(path)
    return written
