"""The problem registry: city problems, their causes, the actors and money around them.

The registry is data (`sources/problems/`), validated here so a mistake fails with the file and
key named, like the city catalogs (`pipelines/catalog.py`):

- `sources/problems/<problem>.yml`: one default problem each, shared by every city: outcome
  indicators (ids of `dbt_project/seeds/indicator_catalog.csv`) with weights, causal factors
  (causal weight, strength of the evidence linking factor and outcome, the city's usual
  authority, actors by sector) and known interventions with an evidence rating and sources;
- `sources/problems/cities/<city>.yml`: what a city changes: authority over a factor, local
  actors, the budget lines (department / agency names as published in its spending data)
  that fund efforts against a factor, outcome weights, and the interventions tried locally
  (the innovation ledger: areas, months, outcomes, lead, kind, sources; validated by
  `pipelines/interventions.py`).

`resolve_registry()` merges both into one registry per city, flattened by `registry_tables()`
into the rows of the `raw.problem_registry__*` tables (see `pipelines/assets/problems.py`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from pipelines.catalog import IDENTIFIER
from pipelines.config_base import Strict, explain
from pipelines.interventions import (
    AreaLists,
    LocalIntervention,
    RegistryError,
    Sector,
    check_local_interventions,
)
from pipelines.settings import DBT_PROJECT_DIR, SOURCES_DIR

PROBLEMS_DIR = SOURCES_DIR / "problems"
INDICATOR_CATALOG = DBT_PROJECT_DIR / "seeds" / "indicator_catalog.csv"
CITIES_SUBDIR = "cities"
WEIGHT_TOLERANCE = 0.011  # causal / outcome weights must sum to 1 within this

Authority = Literal["direct", "shared", "none"]
LinkEvidence = Literal["strong", "moderate", "limited"]
InterventionEvidence = Literal[
    "strong", "moderate", "promising", "mixed", "insufficient", "ineffective"
]
__all__ = ["RegistryError", "resolve_registry", "load_problem", "load_city_overrides"]


def _identifier(value: str) -> str:
    if not IDENTIFIER.match(value):
        raise ValueError(f"must match {IDENTIFIER.pattern} (lower-case identifier), got {value!r}")
    return value


class Actor(Strict):
    """Someone who stands astride a factor: who they are, their sector and what they do."""

    name: str = Field(min_length=1)
    sector: Sector
    role: str = ""
    # Default problems name actor *kinds* (potential); a city file names local actors
    # actually working on the factor (engaged: true), which feeds tractability.
    engaged: bool = False


class Outcome(Strict):
    weight: float = Field(gt=0, le=1, description="Share of the problem's importance.")
    note: str = ""


class Factor(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    causal_weight: float = Field(gt=0, le=1, description="Share of the problem it drives.")
    evidence: LinkEvidence = Field(
        description="Strength of the evidence linking it to the outcome."
    )
    authority: Authority = Field(description="The city government's authority over the factor.")
    authority_note: str = ""
    actors: list[Actor] = Field(min_length=1)
    sources: list[str] = []


class Intervention(Strict):
    name: str = Field(min_length=1)
    factors: list[str] = Field(min_length=1)
    evidence: InterventionEvidence
    summary: str = ""
    sources: list[str] = Field(min_length=1)


class Problem(Strict):
    problem: str
    name: str = Field(min_length=1)
    description: str
    outcomes: dict[str, Outcome] = Field(min_length=1)
    factors: dict[str, Factor] = Field(min_length=1)
    interventions: dict[str, Intervention] = {}
    notes: str = ""

    @field_validator("problem")
    @classmethod
    def problem_is_identifier(cls, value: str) -> str:
        return _identifier(value)


class FactorOverride(Strict):
    """What a city may change about a default factor."""

    causal_weight: float | None = Field(None, gt=0, le=1)
    authority: Authority | None = None
    authority_note: str | None = None
    actors: list[Actor] = Field([], description="Added (or replacing a default of the same name).")


class BudgetLine(Strict):
    """A department / agency of the city's spending data funding efforts against a factor."""

    department: str = Field(min_length=1, description="Name exactly as in the spending data.")
    factor: str
    share: float = Field(gt=0, le=1, description="Share of its spending attributed here.")
    note: str = ""


class ProblemOverride(Strict):
    exclude: bool = False
    outcomes: dict[str, Outcome] = {}
    factors: dict[str, FactorOverride] = {}
    interventions: dict[str, Intervention] = Field({}, description="City-only interventions.")
    budget_lines: list[BudgetLine] = []
    local_interventions: list[LocalIntervention] = Field(
        [], description="Efforts tried here (pipelines/interventions.py)."
    )
    notes: str = ""


class CityOverrides(Strict):
    city: str
    spending_source: str = Field("", description="Which spending data the budget lines match.")
    problems: dict[str, ProblemOverride] = {}

    @field_validator("city")
    @classmethod
    def city_is_identifier(cls, value: str) -> str:
        return _identifier(value)


@dataclass(frozen=True)
class CityProblem:
    """One problem as it applies to one city (defaults merged with the city's overrides)."""

    city: str
    problem: Problem
    source_file: str
    city_file: str | None
    budget_lines: tuple[BudgetLine, ...]
    local_interventions: tuple[LocalIntervention, ...]
    authority_overridden: frozenset[str]
    notes: str


def _read(path: Path) -> object:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RegistryError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise RegistryError(f"{path}: (top level): must be a mapping")
    return document


def _explain(path: Path, error: ValidationError) -> RegistryError:
    return RegistryError(explain(path, error, "problem registry"))


@cache
def catalog_indicators(catalog: Path = INDICATOR_CATALOG) -> frozenset[str]:
    with catalog.open(newline="") as handle:
        return frozenset(row["indicator_id"] for row in csv.DictReader(handle))


def _check_weights(path: Path, key: str, weights: dict[str, float], what: str) -> None:
    total = sum(weights.values())
    if abs(total - 1) > WEIGHT_TOLERANCE:
        parts = ", ".join(f"{name}={weight:g}" for name, weight in weights.items())
        raise RegistryError(f"{path}: {key}: {what} must sum to 1, got {total:.3f} ({parts})")


def _check_indicators(path: Path, key: str, ids: Iterable[str], known: frozenset[str]) -> None:
    for indicator in ids:
        if indicator not in known:
            raise RegistryError(
                f"{path}: {key}.{indicator}: unknown indicator id {indicator!r} "
                f"(not in {INDICATOR_CATALOG.name}; known: {', '.join(sorted(known))})"
            )


def _check_problem(path: Path, problem: Problem, known: frozenset[str]) -> None:
    if problem.problem != path.stem:
        raise RegistryError(f"{path}: problem: must match the file name ({path.stem!r})")
    _check_indicators(path, "outcomes", problem.outcomes, known)
    _check_weights(path, "outcomes", {k: o.weight for k, o in problem.outcomes.items()}, "weights")
    _check_weights(
        path, "factors", {k: f.causal_weight for k, f in problem.factors.items()}, "causal_weight"
    )
    for key in problem.factors:
        _identifier_at(path, f"factors.{key}", key)
    _check_interventions(path, "interventions", problem.interventions, set(problem.factors))


def _identifier_at(path: Path, key: str, value: str) -> None:
    if not IDENTIFIER.match(value):
        raise RegistryError(f"{path}: {key}: must be a lower-case identifier, got {value!r}")


def _check_interventions(
    path: Path, key: str, interventions: dict[str, Intervention], factors: set[str]
) -> None:
    for name, intervention in interventions.items():
        _identifier_at(path, f"{key}.{name}", name)
        for factor in intervention.factors:
            if factor not in factors:
                raise RegistryError(
                    f"{path}: {key}.{name}.factors: unknown factor {factor!r} "
                    f"(factors of the problem: {', '.join(sorted(factors))})"
                )


def load_problem(path: Path, known: frozenset[str] | None = None) -> Problem:
    """Read and validate one default problem file."""
    try:
        problem = Problem.model_validate(_read(path))
    except ValidationError as error:
        raise _explain(path, error) from error
    _check_problem(path, problem, known if known is not None else catalog_indicators())
    return problem


def load_city_overrides(
    path: Path,
    problems: dict[str, Problem],
    known: frozenset[str] | None = None,
    area_lists: AreaLists | None = None,
) -> CityOverrides:
    """Read one city file and check it refers only to known problems, factors, interventions,
    indicators and (where the city lists them) areas."""
    from pipelines.interventions import no_area_lists

    known = known if known is not None else catalog_indicators()
    area_lists = area_lists or no_area_lists
    trial_ids: dict[str, str] = {}
    try:
        overrides = CityOverrides.model_validate(_read(path))
    except ValidationError as error:
        raise _explain(path, error) from error
    if overrides.city != path.stem:
        raise RegistryError(f"{path}: city: must match the file name ({path.stem!r})")
    for problem_id, override in overrides.problems.items():
        key = f"problems.{problem_id}"
        problem = problems.get(problem_id)
        if problem is None:
            raise RegistryError(
                f"{path}: {key}: unknown problem {problem_id!r} "
                f"(known: {', '.join(sorted(problems))}; add sources/problems/{problem_id}.yml)"
            )
        _check_indicators(path, f"{key}.outcomes", override.outcomes, known)
        factors = set(problem.factors)
        for factor in override.factors:
            if factor not in factors:
                raise RegistryError(
                    f"{path}: {key}.factors.{factor}: unknown factor "
                    f"(factors of {problem_id}: {', '.join(sorted(factors))})"
                )
        _check_interventions(path, f"{key}.interventions", override.interventions, factors)
        interventions = set(problem.interventions) | set(override.interventions)
        for index, line in enumerate(override.budget_lines):
            if line.factor not in factors:
                raise RegistryError(
                    f"{path}: {key}.budget_lines.{index}.factor: unknown factor {line.factor!r} "
                    f"(factors of {problem_id}: {', '.join(sorted(factors))})"
                )
        check_local_interventions(
            path,
            f"{key}.local_interventions",
            override.local_interventions,
            city=overrides.city,
            interventions=interventions,
            indicators=known,
            area_lists=area_lists,
            seen_ids=trial_ids,
        )
    _check_budget_shares(path, overrides)
    return overrides


def _check_budget_shares(path: Path, overrides: CityOverrides) -> None:
    """A department cannot be attributed more than all of its spending across problems."""
    shares: dict[str, float] = {}
    for override in overrides.problems.values():
        for line in override.budget_lines:
            shares[line.department] = shares.get(line.department, 0) + line.share
    for department, total in shares.items():
        if total > 1 + WEIGHT_TOLERANCE:
            raise RegistryError(
                f"{path}: problems.*.budget_lines: shares of department {department!r} add up "
                f"to {total:.2f} across problems; at most 1 (all of its spending)"
            )


def _merge(
    city: str,
    problem: Problem,
    path: Path,
    override: ProblemOverride | None,
    city_path: Path | None,
) -> CityProblem:
    if override is None:
        return CityProblem(city, problem, str(path), None, (), (), frozenset(), "")
    factors = {}
    for factor_id, factor in problem.factors.items():
        change = override.factors.get(factor_id)
        if change is None:
            factors[factor_id] = factor
            continue
        replaced = {actor.name for actor in change.actors}
        actors = [a for a in factor.actors if a.name not in replaced] + list(change.actors)
        factors[factor_id] = factor.model_copy(
            update={
                "causal_weight": change.causal_weight or factor.causal_weight,
                "authority": change.authority or factor.authority,
                "authority_note": (
                    change.authority_note
                    if change.authority_note is not None
                    else factor.authority_note
                ),
                "actors": actors,
            }
        )
    merged = problem.model_copy(
        update={
            "outcomes": {**problem.outcomes, **override.outcomes},
            "factors": factors,
            "interventions": {**problem.interventions, **override.interventions},
        }
    )
    key = f"problems.{problem.problem}"
    _check_weights(
        city_path, f"{key}.outcomes", {k: o.weight for k, o in merged.outcomes.items()}, "weights"
    )
    _check_weights(
        city_path,
        f"{key}.factors",
        {k: f.causal_weight for k, f in merged.factors.items()},
        "causal_weight (after the city's changes)",
    )
    overridden = frozenset(k for k, change in override.factors.items() if change.authority)
    return CityProblem(
        city,
        merged,
        str(path),
        str(city_path),
        tuple(override.budget_lines),
        tuple(override.local_interventions),
        overridden,
        override.notes,
    )


def resolve_registry(
    problems_dir: Path = PROBLEMS_DIR,
    cities: Iterable[str] | None = None,
    indicators: frozenset[str] | None = None,
    area_lists: AreaLists | None = None,
) -> list[CityProblem]:
    """Every (city, problem) of the registry, validated.

    `cities` are the cities to resolve (default: every city catalog in sources/); a city
    without a file in `cities/` gets the default registry unchanged. A city file for a city
    that is not among them is an error. `area_lists` gives each city's known area ids by
    type (default: from the city catalogs, `catalog_area_lists`).
    """
    if area_lists is None:
        from pipelines.interventions import catalog_area_lists

        area_lists = catalog_area_lists()
    known = indicators if indicators is not None else catalog_indicators()
    paths = sorted(problems_dir.glob("*.yml"))
    if not paths:
        raise RegistryError(f"{problems_dir}: no problem files (<problem>.yml)")
    problems = {path.stem: (load_problem(path, known), path) for path in paths}
    defaults = {name: problem for name, (problem, _) in problems.items()}
    city_files = {p.stem: p for p in sorted((problems_dir / CITIES_SUBDIR).glob("*.yml"))}
    if cities is None:
        from pipelines.catalog import city_catalogs

        cities = [catalog.city for catalog in city_catalogs()]
    cities = list(cities)
    for city, city_path in city_files.items():
        if city not in cities:
            raise RegistryError(
                f"{city_path}: city: no city catalog {city!r} (known: {', '.join(cities)})"
            )
    resolved = []
    for city in cities:
        city_path = city_files.get(city)
        overrides = (
            load_city_overrides(city_path, defaults, known, area_lists) if city_path else None
        )
        for name, (problem, path) in problems.items():
            override = overrides.problems.get(name) if overrides else None
            if override is not None and override.exclude:
                continue
            resolved.append(_merge(city, problem, path, override, city_path))
    return resolved
