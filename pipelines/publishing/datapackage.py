"""Frictionless Data Package for a release, with Table Schemas derived from the dbt project.

Descriptions, constraints and keys are read from dbt's manifest (`dbt_project/target/
civic/manifest.json`, written by every `civic run`), so they follow the models without being copied:

    dbt test / property                      Table Schema
    column description, model description    field `description`, resource `description`
    column `meta: {unit: ...}`               field `unit`
    not_null                                 constraints.required
    unique                                   constraints.unique
    accepted_values                          constraints.enum
    value_between / accepted_range           constraints.minimum / maximum
    unique_combination (model level)         primaryKey (else a column both unique and not null)
    relationships, relationships_compound    foreignKeys (when the referenced table is published)

Only tests that hold for every row become constraints: tests restricted by a `where`, disabled,
or of severity `warn` are left out (the published data may legitimately break them). Field types
come from the data itself (Arrow types), so a table the manifest does not describe yet is still
published with correct types.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

MISSING_VALUES = [""]
KEY_TESTS = ("unique_combination", "unique_combination_of_columns")
RANGE_TESTS = ("value_between", "accepted_range")
REF = re.compile(r"""ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")


class ManifestError(RuntimeError):
    """The dbt manifest is missing or unreadable."""


@dataclass
class ForeignKey:
    fields: list[str]
    table: str
    table_fields: list[str]


@dataclass
class TableContract:
    """What the dbt project says about one mart."""

    name: str
    description: str = ""
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> description, unit
    constraints: dict[str, dict[str, Any]] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)


def load_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ManifestError(
            f"{path} not found: the dbt manifest describes the published tables; "
            "build it with `civic run` first"
        )
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ManifestError(f"{path}: unreadable dbt manifest: {error}") from error


def table_contracts(manifest: dict[str, Any]) -> dict[str, TableContract]:
    """Every model of the manifest with its descriptions, constraints and keys, by name."""
    nodes = manifest.get("nodes", {})
    models = {
        node_id: node for node_id, node in nodes.items() if node.get("resource_type") == "model"
    }
    contracts = {}
    for node in models.values():
        contracts[node["name"]] = TableContract(
            name=node["name"],
            description=(node.get("description") or "").strip(),
            columns={
                name: {
                    "description": (column.get("description") or "").strip(),
                    "unit": (column.get("meta") or {}).get("unit")
                    or ((column.get("config") or {}).get("meta") or {}).get("unit"),
                }
                for name, column in (node.get("columns") or {}).items()
            },
        )
    for test in nodes.values():
        if test.get("resource_type") != "test" or not test.get("test_metadata"):
            continue
        config = test.get("config") or {}
        if not config.get("enabled", True) or str(config.get("severity", "error")).lower() != (
            "error"
        ):
            continue
        if config.get("where"):
            continue
        attached = models.get(test.get("attached_node") or "")
        if attached is None:
            continue
        apply_test(contracts[attached["name"]], test, models)
    for contract in contracts.values():
        if not contract.primary_key:
            singles = [
                name
                for name, constraints in contract.constraints.items()
                if constraints.get("unique") and constraints.get("required")
            ]
            if singles:
                contract.primary_key = [singles[0]]
    return contracts


def apply_test(
    contract: TableContract, test: dict[str, Any], models: dict[str, dict[str, Any]]
) -> None:
    name = test["test_metadata"]["name"]
    kwargs = test["test_metadata"].get("kwargs") or {}
    column = test.get("column_name") or kwargs.get("column_name")
    constraints = contract.constraints.setdefault(column, {}) if column else {}
    if name == "not_null" and column:
        constraints["required"] = True
    elif name == "unique" and column:
        constraints["unique"] = True
    elif name == "accepted_values" and column and kwargs.get("values"):
        constraints["enum"] = list(kwargs["values"])
    elif name in RANGE_TESTS and column and kwargs.get("inclusive", True):
        for bound, key in (("min_value", "minimum"), ("max_value", "maximum")):
            if kwargs.get(bound) is not None:
                constraints[key] = kwargs[bound]
    elif name in KEY_TESTS:
        columns = kwargs.get("columns") or kwargs.get("combination_of_columns") or []
        contract.primary_key = [str(c) for c in columns]
    elif name == "relationships" and column and kwargs.get("field"):
        target = referenced_model(kwargs.get("to"), test, models)
        if target:
            contract.foreign_keys.append(ForeignKey([column], target, [kwargs["field"]]))
    elif name == "relationships_compound" and kwargs.get("columns"):
        target = referenced_model(kwargs.get("to"), test, models)
        if target:
            columns = list(kwargs["columns"])
            to_columns = list(kwargs.get("to_columns") or columns)
            contract.foreign_keys.append(ForeignKey(columns, target, to_columns))


def referenced_model(
    to: Any, test: dict[str, Any], models: dict[str, dict[str, Any]]
) -> str | None:
    match = REF.search(str(to or ""))
    if match:
        return match.group(1)
    others = [
        models[n]["name"]
        for n in (test.get("depends_on") or {}).get("nodes", [])
        if n in models and n != test.get("attached_node")
    ]
    return others[0] if len(others) == 1 else None


def field_type(arrow_type: pa.DataType) -> str:
    """The Table Schema type of an Arrow column (as written to the release's CSV)."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    if pa.types.is_time(arrow_type):
        return "time"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return "array"
    if pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type):
        return "object"
    return "string"


def table_schema(contract: TableContract, schema: pa.Schema, published: set[str]) -> dict[str, Any]:
    """A Table Schema for a table of `schema`, described by `contract`.

    Foreign keys are kept only towards tables in `published` (a data package can only refer
    to its own resources); keys or constraints on columns the data lacks are dropped.
    """
    names = set(schema.names)
    fields = []
    for column in schema:
        spec: dict[str, Any] = {"name": column.name, "type": field_type(column.type)}
        if spec["type"] == "datetime":
            spec["format"] = "default"
        doc = contract.columns.get(column.name, {})
        if doc.get("description"):
            spec["description"] = doc["description"]
        if doc.get("unit"):
            spec["unit"] = doc["unit"]
        constraints = {
            key: value
            for key, value in contract.constraints.get(column.name, {}).items()
            if key != "enum" or spec["type"] == "string"
        }
        if constraints:
            spec["constraints"] = constraints
        fields.append(spec)
    result: dict[str, Any] = {"fields": fields, "missingValues": MISSING_VALUES}
    if contract.primary_key and set(contract.primary_key) <= names:
        result["primaryKey"] = list(contract.primary_key)
    foreign_keys = [
        {
            "fields": fk.fields,
            "reference": {"resource": fk.table, "fields": fk.table_fields},
        }
        for fk in contract.foreign_keys
        if fk.table in published and set(fk.fields) <= names
    ]
    if foreign_keys:
        result["foreignKeys"] = foreign_keys
    return result


def file_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "hash": f"sha256:{digest.hexdigest()}"}


def resource(
    name: str,
    title: str,
    description: str,
    schema: dict[str, Any],
    release_dir: Path,
    csv_path: str,
    parquet_path: str,
) -> dict[str, Any]:
    """A tabular resource on the CSV file; the Parquet copy is listed as an alternate."""
    spec: dict[str, Any] = {
        "name": name,
        "title": title,
        "path": csv_path,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "profile": "tabular-data-resource",
    }
    if description:
        spec["description"] = description
    spec.update(file_facts(release_dir / csv_path))
    spec["dialect"] = {"delimiter": ",", "quoteChar": '"', "header": True}
    spec["schema"] = schema
    spec["alternates"] = [
        {
            "path": parquet_path,
            "format": "parquet",
            "mediatype": "application/vnd.apache.parquet",
            **file_facts(release_dir / parquet_path),
        }
    ]
    return spec
