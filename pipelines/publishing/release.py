"""Versioned, immutable releases of the indicator marts: `releases/<version>/`.

A release is assembled in a hidden folder beside its final place (`releases/.<version>.*.
partial`) and renamed into place only once every file is written and the data package
validates, so a failed publish leaves no release behind and an existing release is never
touched. `releases/latest` (a one-line text file) then names the new version; it is replaced
atomically. The warehouse is opened read-only (or the Parquet exports are read), so publishing
never blocks or disturbs a pipeline run.

Layout of a release:

    releases/<version>/
        datapackage.json        Frictionless data package: Table Schemas, keys, hashes
        data.json               DCAT-US 1.1 catalog, one dataset per table
        CHANGELOG.md            changes since the previous release, for people
        changes.json            the same, for machines (with sample keys)
        data/<table>.csv        every published table as CSV ...
        data/<table>.parquet    ... and as Parquet (same rows, typed)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.publishing import changelog, datapackage, dcat
from pipelines.publishing.config import PublishingConfig, load_config
from pipelines.settings import DBT_TARGET_DIR

MARTS_SCHEMA = "marts"
LATEST = "latest"
DATA_DIR = "data"
DEFAULT_MANIFEST = DBT_TARGET_DIR / "manifest.json"
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")


class PublishError(RuntimeError):
    """Publishing failed; no release was written. The message says why."""


class ReleaseExistsError(PublishError):
    """The requested version is already published (releases are immutable)."""


@dataclass(frozen=True)
class Release:
    version: str
    path: Path
    previous_version: str | None
    rows: dict[str, int]  # table -> rows published
    changes: changelog.Changes
    warnings: list[str]


def publish_release(
    warehouse: Path,
    releases_dir: Path,
    *,
    version: str | None = None,
    config: PublishingConfig | None = None,
    manifest: Path = DEFAULT_MANIFEST,
    validate: bool = True,
    progress: Callable[[str], None] = print,
) -> Release:
    """Publish the marts of `warehouse` as `releases_dir/<version>` and point `latest` at it.

    `warehouse` is the DuckDB file (opened read-only) or a folder of Parquet exports
    (`<table>.parquet`). `version` defaults to the UTC date and a counter, `2026.11.25-1`.
    Raises ReleaseExistsError if the version exists, PublishError on any other failure; in
    both cases nothing under `releases_dir` has changed.
    """
    config = config or load_config()
    releases_dir = Path(releases_dir)
    releases_dir.mkdir(parents=True, exist_ok=True)
    version = version or next_version(releases_dir)
    check_version(version)
    final = releases_dir / version
    if final.exists():
        raise ReleaseExistsError(
            f"release {version} already exists in {releases_dir}; releases are immutable, "
            "publish under another version (or omit it for the next date-based one)"
        )
    contracts = datapackage.table_contracts(load_manifest(manifest))
    previous_version = latest_version(releases_dir)
    clean_partials(releases_dir)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{version}.{os.getpid()}.", suffix=".partial", dir=releases_dir)
    )
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a release is meant to be served
        tables, warnings = read_marts(Path(warehouse), config, contracts, progress)
        changes = assemble(
            staging, version, previous_version, releases_dir, tables, contracts, config, progress
        )
        if validate:
            validate_package(staging / "datapackage.json", progress)
        try:
            if final.exists():
                raise FileExistsError(final)
            os.rename(staging, final)  # fails rather than replace a release published meanwhile
        except OSError as error:
            if final.exists():
                raise ReleaseExistsError(
                    f"release {version} was published by another process meanwhile; not replaced"
                ) from error
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    point_latest(releases_dir, version)
    rows = {name: table.num_rows for name, table in tables.items()}
    progress(f"published release {version} ({sum(rows.values()):,} rows) to {final}")
    return Release(version, final, previous_version, rows, changes, warnings)


def next_version(releases_dir: Path, now: datetime | None = None) -> str:
    """`YYYY.MM.DD-N` (UTC): N counts this day's releases from 1."""
    day = (now or datetime.now(UTC)).strftime("%Y.%m.%d")
    taken = [
        int(match.group(1))
        for path in releases_dir.iterdir()
        if (match := re.fullmatch(re.escape(day) + r"-(\d+)", path.name))
    ]
    return f"{day}-{max(taken, default=0) + 1}"


def check_version(version: str) -> None:
    if not VERSION.match(version) or version == LATEST:
        raise PublishError(
            f"invalid release version {version!r}: letters, digits, '.', '_', '+' and '-', "
            "starting with a letter or digit (e.g. 2026.11.25-1 or 1.2.0), and not 'latest'"
        )


def latest_version(releases_dir: Path) -> str | None:
    """The version `releases/latest` names, if that release exists."""
    pointer = releases_dir / LATEST
    if not pointer.is_file():
        return None
    version = pointer.read_text().strip()
    return version if version and (releases_dir / version / "datapackage.json").exists() else None


# `.<version>.<pid>.<random>.partial/` and `.latest.<pid>.partial`, named by their writer
PARTIAL = re.compile(r"^\..+\.(\d+)(?:\.[A-Za-z0-9_]+)?\.partial$")


def clean_partials(releases_dir: Path) -> list[Path]:
    """Remove what killed publishes left (their process is gone); a live publish's stay."""
    removed = []
    for path in releases_dir.glob(".*.partial"):
        match = PARTIAL.match(path.name)
        if match is None or process_alive(int(match.group(1))):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def point_latest(releases_dir: Path, version: str) -> None:
    partial = releases_dir / f".{LATEST}.{os.getpid()}.partial"
    partial.write_text(version + "\n")
    os.replace(partial, releases_dir / LATEST)


def load_manifest(path: Path) -> dict[str, Any]:
    try:
        return datapackage.load_manifest(path)
    except datapackage.ManifestError as error:
        raise PublishError(str(error)) from error


def read_marts(
    source: Path,
    config: PublishingConfig,
    contracts: dict[str, datapackage.TableContract],
    progress: Callable[[str], None],
) -> tuple[dict[str, pa.Table], list[str]]:
    """The configured tables that exist, ordered by primary key; warnings for the rest."""
    wanted = [t.name for t in config.tables]
    if source.is_dir():
        raw = {
            n: pq.read_table(source / f"{n}.parquet")
            for n in wanted
            if (source / f"{n}.parquet").exists()
        }
    elif source.exists():
        raw = read_warehouse(source, wanted)
    else:
        raise PublishError(f"warehouse {source} not found: build it with `civic run` first")
    if not raw:
        raise PublishError(f"none of the published tables ({', '.join(wanted)}) is in {source}")
    warnings = [f"{n}: not in the warehouse, not published" for n in wanted if n not in raw]
    tables = {}
    con = duckdb.connect()
    for name, table in raw.items():
        contract = contracts.get(name) or datapackage.TableContract(name)
        if name not in contracts:
            warnings.append(f"{name}: not described in the dbt manifest (no descriptions, keys)")
        order = [c for c in contract.primary_key if c in table.schema.names] or table.schema.names
        con.register("mart", table)
        by = ", ".join(changelog.quote(c) for c in order)
        tables[name] = con.sql(f"select * from mart order by {by}").to_arrow_table()
        con.unregister("mart")
        undocumented = [c for c in table.schema.names if c not in contract.columns]
        if name in contracts and undocumented:
            warnings.append(f"{name}: columns without a description: {', '.join(undocumented)}")
    con.close()
    for warning in warnings:
        progress(f"  warning: {warning}")
    return tables, warnings


def read_warehouse(path: Path, wanted: list[str]) -> dict[str, pa.Table]:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise PublishError(
            f"cannot open the warehouse {path} read-only (is `civic run` writing it?): {error}"
        ) from error
    with con:
        present = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [MARTS_SCHEMA],
            ).fetchall()
        }
        return {
            name: con.sql(f"select * from {MARTS_SCHEMA}.{changelog.quote(name)}").to_arrow_table()
            for name in wanted
            if name in present
        }


def assemble(
    staging: Path,
    version: str,
    previous_version: str | None,
    releases_dir: Path,
    tables: dict[str, pa.Table],
    contracts: dict[str, datapackage.TableContract],
    config: PublishingConfig,
    progress: Callable[[str], None],
) -> changelog.Changes:
    """Write every file of the release into `staging`; the changes since the previous one."""
    (staging / DATA_DIR).mkdir()
    published = set(tables)
    by_name = {t.name: t for t in config.tables}
    domains = indicator_domains(tables)
    facts = {name: dcat.table_facts(table, domains) for name, table in tables.items()}
    overall = release_facts(list(facts.values()))
    modified = datetime.now(UTC)
    resources, datasets = [], []
    for name, table in tables.items():
        csv_path, parquet_path = f"{DATA_DIR}/{name}.csv", f"{DATA_DIR}/{name}.parquet"
        write_parquet(table, staging / parquet_path)
        write_csv(table, staging / csv_path)
        progress(f"  {name}: {table.num_rows:,} rows")
        contract = contracts.get(name) or datapackage.TableContract(name)
        schema = datapackage.table_schema(contract, table.schema, published)
        title = by_name[name].display_title
        resources.append(
            datapackage.resource(
                name, title, contract.description, schema, staging, csv_path, parquet_path
            )
        )
        datasets.append(
            dcat.dataset_entry(
                by_name[name],
                contract.description,
                facts[name],
                overall,
                config,
                version,
                modified,
            )
        )
    package = {
        "profile": "tabular-data-package",
        "name": "civic-indicators",
        "title": config.title,
        "description": config.description,
        "version": version,
        "created": modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "keywords": config.keywords,
        "contributors": [
            {"title": config.publisher, "email": config.contact.email, "role": "publisher"}
        ],
        "resources": resources,
    }
    if config.license:
        package["licenses"] = [{"path": config.license}]
    write_json(staging / "datapackage.json", package)
    write_json(staging / "data.json", dcat.catalog(datasets))
    previous = read_release(releases_dir / previous_version) if previous_version else {}
    keys = {name: contracts[name].primary_key for name in tables if name in contracts}
    changes = changelog.compare_releases(version, previous_version, tables, previous, keys)
    write_json(staging / "changes.json", changes.as_dict())
    (staging / "CHANGELOG.md").write_text(changelog.changelog_markdown(changes, config.title))
    return changes


def read_release(path: Path) -> dict[str, pa.Table]:
    """The tables of a published release, from its Parquet files."""
    return {p.stem: pq.read_table(p) for p in sorted((path / DATA_DIR).glob("*.parquet"))}


def indicator_domains(tables: dict[str, pa.Table]) -> dict[str, str]:
    catalog = tables.get(changelog.DEFINITIONS_TABLE)
    if catalog is None or not {"indicator_id", "domain"} <= set(catalog.schema.names):
        return {}
    return dict(
        zip(
            catalog.column("indicator_id").to_pylist(),
            catalog.column("domain").to_pylist(),
            strict=True,
        )
    )


def release_facts(facts: list[dcat.TableFacts]) -> dcat.TableFacts:
    firsts = [f.period_first for f in facts if f.period_first]
    lasts = [f.period_last for f in facts if f.period_last]
    grains = [g for g in dcat.GRAIN_ORDER if any(g in f.grains for f in facts)]
    return dcat.TableFacts(
        rows=sum(f.rows for f in facts),
        period_first=min(firsts, default=None),
        period_last=max(lasts, default=None),
        grains=grains,
        cities=sorted({c for f in facts for c in f.cities}),
    )


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


def write_csv(table: pa.Table, path: Path) -> None:
    """CSV as Table Schema reads it: ISO dates and times, nested values as JSON, null as ''."""
    con = duckdb.connect()
    con.register("t", table)
    columns = []
    for column in table.schema:
        name = changelog.quote(column.name)
        if pa.types.is_timestamp(column.type):
            fmt = "%Y-%m-%dT%H:%M:%S" + ("Z" if column.type.tz else "")
            zone = " at time zone 'UTC'" if column.type.tz else ""
            columns.append(f"strftime({name}{zone}, '{fmt}') as {name}")
        elif datapackage.field_type(column.type) in ("array", "object"):
            columns.append(f"to_json({name})::varchar as {name}")
        else:
            columns.append(name)
    flat = con.sql(f"select {', '.join(columns)} from t").to_arrow_table()
    con.close()
    pa_csv.write_csv(flat, path)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")


def validate_package(path: Path, progress: Callable[[str], None]) -> None:
    """Refuse to publish a data package that Frictionless finds invalid."""
    from frictionless import Package

    report = Package(str(path)).validate()
    if not report.valid:
        errors = report.flatten(["title", "rowNumber", "fieldName", "type", "note"])
        shown = "; ".join(" ".join(str(x) for x in e if x is not None) for e in errors[:5])
        raise PublishError(
            f"the release does not validate ({len(errors)} errors), not published: {shown}"
        )
    progress("  datapackage.json validates (frictionless)")
