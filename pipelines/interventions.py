"""The innovation ledger: local interventions a city tries, as registry data.

A city file (`sources/problems/cities/<city>.yml`) lists, under each problem, the
`local_interventions` it tries. Each names what it is (one of the problem's interventions), the
areas it covers (ids of one area type of the city, or the whole city), when it started (and
ended), the outcome indicators it aims at, who leads it (actor, sector, and whether the lead
sits at the top or in the middle of an organisation), the budget lines that pay for it, the
areas to compare it with, what kind of idea it is and where the facts come from. The
evaluation marts (`fct_intervention_effects`, see docs/innovation.md) read these rows.

Validated here like the rest of the registry (pipelines/problems.py): a mistake fails with the
file and key named, e.g. `cities/chicago.yml: problems.violent_crime.local_interventions.2
.areas: unknown community_area '99' ...`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipelines.catalog import IDENTIFIER
from pipelines.config_base import Strict

Sector = Literal["government", "philanthropy", "corporate_civic", "community", "nonprofit"]
TrialStatus = Literal["active", "pilot", "ended", "planned"]
# Where the idea comes from: adopted from places that evaluated it, designed here from local
# experience, revived from the city's own past, or new (no evaluation anywhere yet).
Kind = Literal["tested_elsewhere", "home_grown", "reclaimed", "new"]
# Where the leadership sits inside the lead organisation, when the sources say.
Leadership = Literal["top", "middle", "unknown"]
CITY_AREA_TYPE = "city"
MONTH = re.compile(r"^(\d{4})(?:-(\d{2}))?$")

# (city, area_type) -> the known area ids, or None when no list is available (the areas are
# then checked against the warehouse by the dbt test assert_intervention_areas_have_series).
AreaLists = Callable[[str, str], frozenset[str] | None]


class RegistryError(ValueError):
    """The problem registry is invalid; the message names the file and key."""


def parse_month(value: object) -> tuple[date, str]:
    """'2017-09' -> (2017-09-01, 'month'); 2017 or '2017' -> (2017-01-01, 'year')."""
    match = MONTH.match(str(value).strip())
    if not match:
        raise ValueError(f"must be a month 'YYYY-MM' or a year YYYY, got {value!r}")
    year, month = int(match.group(1)), int(match.group(2) or 1)
    if not 1900 <= year <= 2100 or not 1 <= month <= 12:
        raise ValueError(f"not a real month: {value!r}")
    return date(year, month, 1), "month" if match.group(2) else "year"


class TrialBudgetLine(Strict):
    """Spending that pays for the effort: a department of the city's spending data, and
    optionally the program line inside it (matched to the account, function or fund text)."""

    department: str = Field(min_length=1, description="Name as in the spending data.")
    also_named: list[str] = Field(
        [], description="Other spellings of the department in other years' files."
    )
    program: str | None = Field(None, description="Text of the program line, if published.")
    note: str = ""


class LocalIntervention(Strict):
    """An intervention tried in the city: where, since when, by whom, aimed at what."""

    id: str = Field(description="Unique in the city file: how marts and pages name it.")
    intervention: str = Field(description="One of the problem's interventions.")
    name: str = Field(min_length=1, description="The local name as the city calls it.")
    where: str = Field(min_length=1, description="The places in words.")
    area_type: str = Field(CITY_AREA_TYPE, description="`city` for a citywide effort.")
    areas: list[str] = Field([], description="Area ids it covers (none when citywide).")
    comparison_areas: list[str] = Field(
        [], description="Untreated areas to compare with (default: every other area)."
    )
    start: str | int = Field(description="First month 'YYYY-MM' (or the year).")
    end: str | int | None = Field(None, description="Last month, if it ended.")
    ramp_up_months: int = Field(
        0, ge=0, le=60, description="Months after the start left out while it scales up."
    )
    outcomes: list[str] = Field([], description="Indicator ids (default: the problem's).")
    led_by: str = Field(min_length=1)
    lead_sector: Sector
    leadership: Leadership = "unknown"
    kind: Kind
    status: TrialStatus = "active"
    budget_lines: list[TrialBudgetLine] = []
    sources: list[str] = Field(min_length=1)
    notes: str = ""

    @field_validator("id")
    @classmethod
    def id_is_identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"must be a lower-case identifier, got {value!r}")
        return value

    @field_validator("areas", "comparison_areas", mode="before")
    @classmethod
    def areas_are_text(cls, value: object) -> object:
        # YAML reads `[25, 26]` as numbers; area ids are text everywhere in the warehouse.
        if isinstance(value, list):
            return [str(item).strip() for item in value]
        return value

    @field_validator("start", "end")
    @classmethod
    def is_month(cls, value: str | int | None) -> str | int | None:
        if value is not None:
            parse_month(value)
        return value

    @model_validator(mode="after")
    def consistent(self) -> LocalIntervention:
        if self.area_type == CITY_AREA_TYPE and (self.areas or self.comparison_areas):
            raise ValueError("a citywide effort (area_type: city) lists no areas")
        # An area effort may leave `areas` empty when the sources do not say which areas
        # (e.g. "selected schools"): it is then listed but not evaluated (docs/innovation.md).
        if len(set(self.areas)) != len(self.areas):
            raise ValueError("areas: an area is listed twice")
        both = sorted(set(self.areas) & set(self.comparison_areas))
        if both:
            raise ValueError(f"comparison_areas: {both} are also treated areas")
        if self.end is not None and self.end_month < self.start_month:
            raise ValueError(f"end: {self.end} is before the start {self.start}")
        return self

    @property
    def start_month(self) -> date:
        return parse_month(self.start)[0]

    @property
    def start_precision(self) -> str:
        return parse_month(self.start)[1]

    @property
    def end_month(self) -> date | None:
        """The last month it ran: the month given, or December of the year given."""
        if self.end is None:
            return None
        month, precision = parse_month(self.end)
        return month.replace(month=12) if precision == "year" else month

    @property
    def is_citywide(self) -> bool:
        return self.area_type == CITY_AREA_TYPE


def check_local_interventions(
    path: Path,
    key: str,
    trials: Iterable[LocalIntervention],
    *,
    city: str,
    interventions: set[str],
    indicators: frozenset[str],
    area_lists: AreaLists,
    seen_ids: dict[str, str],
) -> None:
    """Refer only to known interventions, indicators and areas; ids unique in the city."""
    for index, trial in enumerate(trials):
        where = f"{path}: {key}.{index}"
        if trial.intervention not in interventions:
            raise RegistryError(
                f"{where}.intervention: unknown intervention {trial.intervention!r} "
                f"(known: {', '.join(sorted(interventions))})"
            )
        if trial.id in seen_ids:
            raise RegistryError(
                f"{where}.id: {trial.id!r} is already used at {seen_ids[trial.id]} "
                "(ids are unique in a city file)"
            )
        seen_ids[trial.id] = f"{key}.{index}"
        for indicator in trial.outcomes:
            if indicator not in indicators:
                raise RegistryError(
                    f"{where}.outcomes: unknown indicator id {indicator!r} "
                    f"(known: {', '.join(sorted(indicators))})"
                )
        if trial.is_citywide:
            continue
        known = area_lists(city, trial.area_type)
        if known is None:
            continue
        for field in ("areas", "comparison_areas"):
            unknown = [area for area in getattr(trial, field) if area not in known]
            if unknown:
                sample = ", ".join(sorted(known, key=_natural)[:12])
                raise RegistryError(
                    f"{where}.{field}: unknown {trial.area_type} {unknown[0]!r} in {city} "
                    f"({len(known)} known: {sample}{', ...' if len(known) > 12 else ''})"
                )


def _natural(value: str) -> tuple:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def no_area_lists(city: str, area_type: str) -> frozenset[str] | None:
    return None


def _area_id(value: object, integer_ids: bool) -> str | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if integer_ids:
        try:
            return str(int(float(text)))
        except ValueError:
            return text
    return text


def catalog_area_lists(sources_dir: Path | None = None) -> AreaLists:
    """Each city's areas by type as its catalog lists them (`areas:` items, ids, or a bundled
    dataset with an id column), ids normalised as `sources/area_types.yml` says. An area type
    a catalog does not list gives None: the warehouse test checks those areas instead."""
    from functools import cache

    import duckdb
    import yaml

    from pipelines.catalog import city_catalog
    from pipelines.settings import SOURCES_DIR

    sources = sources_dir or SOURCES_DIR
    types_file = sources / "area_types.yml"
    kinds = yaml.safe_load(types_file.read_text()) if types_file.exists() else {}

    @cache
    def lists(city: str, area_type: str) -> frozenset[str] | None:
        try:
            catalog = city_catalog(city, sources)
        except Exception:  # noqa: BLE001 - no catalog: nothing to check against here
            return None
        spec = getattr(catalog, "areas", {}).get(area_type)
        if spec is None:
            return None
        integer_ids = (kinds.get(area_type) or {}).get("ids") == "integer"
        if spec.dataset is None:
            ids = [area.id for area in spec.listed()]
        else:
            dataset = catalog.datasets[spec.dataset]
            path = sources / dataset.bundled.path
            reader = "read_parquet" if dataset.bundled.format == "parquet" else "read_csv"
            options = "" if reader == "read_parquet" else ", all_varchar = true, header = true"
            query = (
                f'select "{spec.id_column}" from {reader}(?{options}) '
                f"where nullif(trim(cast(\"{spec.name_column}\" as varchar)), '') is not null"
            )  # rows without a name are placeholders, not areas (as in dbt's int_areas)
            with duckdb.connect() as con:
                ids = [row[0] for row in con.execute(query, [str(path)]).fetchall()]
        return frozenset(
            area for area in (_area_id(i, integer_ids) for i in ids) if area is not None
        )

    return lists


# Columns of the raw.problem_registry__* tables of the ledger (Arrow types in
# pipelines/assets/problems.py): one row per effort, per area it treats or is compared with,
# per outcome it aims at, and per budget line that pays for it.
LEDGER_COLUMNS: dict[str, tuple[str, ...]] = {
    "local_interventions": (
        "city", "problem_id", "local_intervention_id", "intervention_id", "name", "where_text",
        "area_type", "start_month", "start_precision", "end_month", "ramp_up_months", "led_by",
        "lead_sector", "leadership", "kind", "status", "sources", "notes", "city_file",
    ),
    "intervention_areas": ("city", "local_intervention_id", "area_type", "area_id", "role"),
    "intervention_outcomes": ("city", "local_intervention_id", "indicator_id", "chosen_by"),
    "intervention_budget_lines": (
        "city", "local_intervention_id", "line_number", "department_name", "spelling",
        "program", "note",
    ),
}  # fmt: skip


def ledger_rows(
    city: str,
    problem_id: str,
    problem_outcomes: Iterable[str],
    trials: Iterable[LocalIntervention],
    city_file: str | None,
) -> dict[str, list[dict]]:
    """The rows of the ledger tables for one city problem's local interventions."""
    rows: dict[str, list[dict]] = {name: [] for name in LEDGER_COLUMNS}
    defaults = list(problem_outcomes)
    for trial in trials:
        key = {"city": city, "local_intervention_id": trial.id}
        rows["local_interventions"].append(
            {
                "city": city,
                "problem_id": problem_id,
                "local_intervention_id": trial.id,
                "intervention_id": trial.intervention,
                "name": trial.name,
                "where_text": trial.where,
                "area_type": trial.area_type,
                "start_month": trial.start_month,
                "start_precision": trial.start_precision,
                "end_month": trial.end_month,
                "ramp_up_months": trial.ramp_up_months,
                "led_by": trial.led_by,
                "lead_sector": trial.lead_sector,
                "leadership": trial.leadership,
                "kind": trial.kind,
                "status": trial.status,
                "sources": "; ".join(trial.sources),
                "notes": trial.notes.strip(),
                "city_file": city_file,
            }
        )
        for role, areas in (("treated", trial.areas), ("comparison", trial.comparison_areas)):
            rows["intervention_areas"] += [
                {**key, "area_type": trial.area_type, "area_id": area, "role": role}
                for area in areas
            ]
        chosen_by = "registry" if trial.outcomes else "problem"
        rows["intervention_outcomes"] += [
            {**key, "indicator_id": indicator, "chosen_by": chosen_by}
            for indicator in (trial.outcomes or defaults)
        ]
        rows["intervention_budget_lines"] += [
            {
                **key,
                "line_number": number,
                "department_name": line.department,
                "spelling": spelling,
                "program": line.program,
                "note": line.note,
            }
            for number, line in enumerate(trial.budget_lines, start=1)
            for spelling in dict.fromkeys([line.department, *line.also_named])
        ]
    return rows
