"""`civic validate`: what would fail at run time, found before the run.

Loading a catalog already checks its structure (pipelines/catalog.py: unknown keys, tables,
columns, area types, offence categories, two canonical columns mapped to one published
column). This module checks a catalog against its data: the bundled copy of each dataset,
or with `live` a sample the portal serves (pipelines/city_init.py reads it), for
- a mapped, unpivoted, filtered or partitioning column the source does not have;
- a date format that does not parse the published values (or a date without a format that
  is not ISO), a UTC offset without the city's time zone;
- numbers that do not parse (a null marker or a unit to declare);
- an `area_pattern` that matches no published area, published offences no rule classifies;
- a Census place or county the bundled reference data do not have;
- values still marked TODO (a draft written by `civic city init`).
Each finding names the catalog file, the key and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from pipelines.canonical import DATED_TYPES, canonical_tables
from pipelines.catalog import CityCatalog, Dataset
from pipelines.connectors import ConnectorError
from pipelines.loading import column_name
from pipelines.settings import SOURCES_DIR

SAMPLE_ROWS = 5_000
SHOWN = 3
NUMERIC_TYPES = {"integer", "year", "number", "percent", "amount"}


@dataclass(frozen=True)
class Finding:
    where: str
    message: str
    severity: Literal["error", "warning", "todo"] = "error"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Sample:
    """A dataset's published column names and some of its rows (all values as text)."""

    label: str
    columns: list[str]
    rows: list[dict[str, str | None]]

    def values(self, column: str) -> list[str]:
        return [row[column] for row in self.rows if row.get(column) not in (None, "")]


def bundled_sample(
    dataset: Dataset, sources_dir: Path = SOURCES_DIR, catalog: CityCatalog | None = None
) -> Sample:
    from pipelines.sources import bundled_connector

    connector = bundled_connector(dataset, catalog, sources_dir)
    scan = connector.scan()
    with duckdb.connect() as con:
        relation = con.sql(f"select * from ({scan.sql}) limit {SAMPLE_ROWS}", params=scan.params)
        columns = [c for c in relation.columns if c != "_source_file"]
        rows = [dict(zip(relation.columns, r, strict=True)) for r in relation.fetchall()]
    return Sample(scan.label, columns, rows)


def _published(sample: Sample, name: str, live: bool) -> str | None:
    """The sample's column for a published name (portal APIs give snake_case field names)."""
    if name in sample.columns:
        return name
    if live:
        wanted = column_name(name)
        return next((c for c in sample.columns if column_name(c) == wanted), None)
    return None


def _shown(values: Iterable[str]) -> str:
    values = list(values)
    more = f" (+{len(values) - SHOWN} more)" if len(values) > SHOWN else ""
    return ", ".join(repr(v) for v in values[:SHOWN]) + more


def _clean(values: list[str], markers: list[str]) -> list[str]:
    return [v.strip() for v in values if v.strip() and v.strip() not in markers]


def _unparsed_dates(values: list[str], fmt: str | None, kind: str) -> list[str]:
    """Values neither the format (when given) nor ISO 8601 reads, as staging reads them."""
    if not values:
        return []
    with duckdb.connect() as con:
        con.execute("create table v (value varchar)")
        con.executemany("insert into v values (?)", [[v] for v in values])
        target = {"time": "time", "date": "timestamp", "timestamp": "timestamp"}[kind]
        unparsed = f"try_cast(value as {target}) is null"
        if fmt in ("epoch_ms", "epoch_s"):
            unparsed = "try_cast(value as double) is null"
        elif fmt:
            unparsed = f"try_strptime(value, $fmt) is null and {unparsed}"
        rows = con.execute(
            f"select value from v where {unparsed}", {"fmt": fmt} if fmt and "%" in fmt else {}
        ).fetchall()
    return [r[0] for r in rows]


def _unparsed_numbers(values: list[str], kind: str) -> list[str]:
    bad = []
    for value in values:
        text = value.replace(",", "").replace("%", "").replace("$", "").strip()
        text = re.sub(r"^\((.*)\)$", r"-\1", text)
        if kind == "year":
            if not re.search(r"[0-9]{4}", text):
                bad.append(value)
            continue
        try:
            float(text)
        except ValueError:
            bad.append(value)
    return bad


def check_dataset(
    where: str, catalog: CityCatalog, dataset: Dataset, sample: Sample, live: bool
) -> list[Finding]:
    findings: list[Finding] = []
    source = f"the {'portal sample of' if live else 'bundled copy'} {sample.label}"
    names: list[tuple[str, str]] = [(f"columns.{c}", p) for c, p in dataset.columns.items()]
    if dataset.unpivot:
        for i, group in enumerate(dataset.unpivot.groups):
            names += [(f"unpivot.groups.{i}.columns.{c}", p) for c, p in group.columns.items()]
    names += [
        (f"filters.{i}.column", f.column)
        for i, f in enumerate(dataset.filters)
        if f.column not in dataset.columns
    ]
    if dataset.partitioning:
        names.append(("partitioning.column", dataset.partitioning.column))
    for area_type, spec in catalog.areas.items():
        if spec.dataset and catalog.datasets.get(spec.dataset) is dataset:
            names += [
                (f"areas.{area_type}.id_column", spec.id_column),
                (f"areas.{area_type}.name_column", spec.name_column),
            ]
    for key, name in names:
        if _published(sample, name, live) is None:
            findings.append(
                Finding(
                    f"{where}.{key}",
                    f"{name!r} is not a column of {source} (its columns: {_shown(sample.columns)})",
                )
            )
    if dataset.unpivot and dataset.unpivot.pattern:
        raw = [column_name(c) for c in sample.columns]
        if not any(re.match(dataset.unpivot.pattern.columns, c) for c in raw):
            findings.append(
                Finding(
                    f"{where}.unpivot.pattern.columns",
                    f"{dataset.unpivot.pattern.columns!r} matches no column of {source} "
                    f"(raw names: {_shown(raw)})",
                )
            )
    if not dataset.feeds:
        return findings
    table = canonical_tables()[dataset.feeds]
    for canonical, published in dataset.columns.items():
        column = _published(sample, published, live)
        if column is None:
            continue
        kind = table.columns[canonical].type
        values = _clean(sample.values(column), dataset.null_markers)
        fmt = dataset.formats.get(canonical)
        if kind in DATED_TYPES:
            bad = _unparsed_dates(values, fmt, kind)
            if bad:
                advice = (
                    f"format {fmt!r} does not parse"
                    if fmt
                    else "no format is given, and ISO 8601 does not parse"
                )
                findings.append(
                    Finding(
                        f"{where}.formats.{canonical}",
                        f"{advice} {len(bad):,} of {len(values):,} sampled {published!r} values "
                        f"of {source}: {_shown(bad)}",
                    )
                )
            if fmt and "%z" in fmt and not catalog.timezone:
                findings.append(
                    Finding(
                        f"{where}.formats.{canonical}",
                        "the format reads a UTC offset: set the city's `timezone` so days and "
                        "months are local",
                    )
                )
        elif kind in NUMERIC_TYPES:
            bad = _unparsed_numbers(values, kind)
            if bad:
                findings.append(
                    Finding(
                        f"{where}.columns.{canonical}",
                        f"{len(bad):,} of {len(values):,} sampled {published!r} values of "
                        f"{source} are not numbers: {_shown(sorted(set(bad)))} (a missing-value "
                        "marker? list it in `null_markers`)",
                    )
                )
    area = _published(sample, dataset.columns.get("area", ""), live)
    if area and dataset.area_pattern:
        values = _clean(sample.values(area), dataset.null_markers)
        if values and not any(re.search(dataset.area_pattern, v) for v in values):
            findings.append(
                Finding(
                    f"{where}.area_pattern",
                    f"matches none of the sampled areas of {source}: {_shown(values)}",
                )
            )
    findings += _unclassified_offenses(where, dataset, sample, live)
    return findings


def _unclassified_offenses(where: str, dataset: Dataset, sample: Sample, live: bool) -> list:
    from pipelines.offenses import OffenseRulesError, offense_rules

    column = _published(sample, dataset.columns.get("offense_type", ""), live)
    if not dataset.offenses or column is None:
        return []
    try:
        rules = offense_rules(dataset.offenses)
    except OffenseRulesError:
        return []  # the catalog check reports it
    known = {rule.offense.upper() for rule in rules}
    unknown = sorted({v.strip().upper() for v in sample.values(column)} - known)
    if not unknown:
        return []
    return [
        Finding(
            f"{where}.offenses",
            f"published offences no rule of {dataset.offenses} classifies (not counted in any "
            f"crime rate): {_shown(unknown)}",
            "warning",
        )
    ]


def check_census(path: Path, catalog: CityCatalog, sources_dir: Path) -> list[Finding]:
    from pipelines.assets.reference import CENSUS_FILES

    wanted = [("census.place", "census_places", catalog.census.place)]
    wanted += [
        (f"census.counties.{i}", "census_counties", geoid)
        for i, geoid in enumerate(catalog.census.counties)
    ]
    findings = []
    with duckdb.connect() as con:
        for key, table, geoid in wanted:
            if geoid is None:
                continue
            file = sources_dir / CENSUS_FILES[table]
            found = con.execute(
                "select any_value(name) from read_csv($file, header = true, all_varchar = true) "
                "where geoid = $geoid",
                {"file": str(file), "geoid": geoid},
            ).fetchone()[0]
            if found is None:
                what = "place of 50,000+ residents" if table == "census_places" else "county"
                findings.append(
                    Finding(
                        f"{path}: {key}",
                        f"{geoid!r} is no {what} of the bundled Census estimates "
                        f"({CENSUS_FILES[table]}); check the GEOID",
                    )
                )
    return findings


def todo_findings(path: Path, document: object, prefix: str = "") -> list[Finding]:
    """Values a draft catalog still marks TODO."""
    if isinstance(document, dict):
        return [
            f
            for key, value in document.items()
            for f in todo_findings(path, value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(document, list):
        return [f for i, v in enumerate(document) for f in todo_findings(path, v, f"{prefix}.{i}")]
    if isinstance(document, str) and document.strip().upper().startswith("TODO"):
        return [Finding(f"{path}: {prefix}", document.strip(), "todo")]
    return []


def validate_city(
    catalog: CityCatalog, path: Path, sources_dir: Path = SOURCES_DIR, live: bool = False
) -> list[Finding]:
    """Every finding about one (already structurally valid) catalog."""
    import yaml

    findings = todo_findings(path, yaml.safe_load(path.read_text()))
    findings += check_census(path, catalog, sources_dir)
    for name, dataset in catalog.datasets.items():
        where = f"{path}: datasets.{name}"
        try:
            if live and dataset.portal.kind != "file":
                from pipelines.city_init import portal_sample

                sample = portal_sample(dataset.portal)
            elif dataset.bundled is not None:
                sample = bundled_sample(dataset, sources_dir, catalog)
            else:
                findings.append(
                    Finding(
                        where,
                        "no bundled copy: checked only with `civic validate --live` (reads a "
                        "sample from the portal)",
                        "warning",
                    )
                )
                continue
        except ConnectorError as error:
            findings.append(Finding(where, f"cannot read a sample: {error}"))
            continue
        findings += check_dataset(where, catalog, dataset, sample, live)
    return findings
