"""Planting known changes (or none) in real series, for the intervention evaluation tests and
the calibration script (tests/benchmarks/intervention_calibration.py).

Real series: NYPD shooting incidents by precinct and month, 2006-01 to 2019-09, read from the
bundled file `sources/nyc/shooting_incidents_2006_2019.csv.gz` (one row per victim; incidents
are counted once). A planted change multiplies the treated precincts' counts after a start by
a factor through binomial thinning, so the series stay real counts with their real noise.

The evaluation path is the warehouse's own: placebo and planted interventions are added to the
registry (as LocalIntervention rows), their series are written to a copy of the warehouse's
fct_indicator_values under their own area types, and the dbt intervention models are run on
that copy.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.assets.problems import write_registry
from pipelines.interventions import LocalIntervention
from pipelines.problems import resolve_registry
from pipelines.settings import DBT_PROJECT_DIR, SOURCES_DIR

SHOOTINGS = SOURCES_DIR / "nyc" / "shooting_incidents_2006_2019.csv.gz"
INDICATOR = "shooting_incidents_rate"
# Precincts with a Cure Violence programme by 2019 (NYC Council Data Team): real
# interventions, so never used for placebo or planted effects.
CURE_PRECINCTS = {
    "23", "32", "40", "42", "44", "46", "47", "60", "67", "73", "75", "77", "79", "101",
    "113", "114", "120",
}  # fmt: skip
DBT_MODELS = [
    "int_intervention_monthly_homicides",
    "int_intervention_outcome_values",
    "stg_registry__local_interventions",
    "stg_registry__intervention_areas",
    "stg_registry__intervention_outcomes",
    "stg_registry__intervention_budget_lines",
    "int_intervention_evaluations",
    "int_intervention_area_series",
    "int_intervention_series",
    "int_intervention_readiness",
    "int_intervention_did",
    "int_intervention_its_fits",
    "int_intervention_its",
    "fct_intervention_effects",
]


def precinct_months() -> pd.DataFrame:
    """Shooting incidents by precinct and month (zero-filled), real (a fresh copy)."""
    return _precinct_months().copy()


@cache
def _precinct_months() -> pd.DataFrame:
    with duckdb.connect() as con:
        return con.execute(
            """
            with incidents as (
                select distinct "INCIDENT_KEY" as incident,
                    cast(cast("PRECINCT" as integer) as varchar) as area_id,
                    date_trunc('month', strptime("OCCUR_DATE", '%m/%d/%Y'))::date as month
                from read_csv(?, all_varchar = true, header = true)
            ),
            grid as (
                select area_id, cast(unnest(generate_series(date '2006-01-01', date '2019-09-01',
                    interval 1 month)) as date) as month
                from (select distinct area_id from incidents)
            )
            select grid.area_id, grid.month, count(incidents.incident) as events
            from grid left join incidents using (area_id, month)
            group by all order by all
            """,
            [str(SHOOTINGS)],
        ).df()


def thin(
    series: pd.DataFrame, areas: set[str], start: date, factor: float, seed: int
) -> pd.DataFrame:
    """A copy with the counts of `areas` from `start` on thinned to `factor` (binomial)."""
    rng = np.random.default_rng(seed)
    out = series.copy()
    hit = out["area_id"].isin(areas) & (pd.to_datetime(out["month"]) >= pd.Timestamp(start))
    out.loc[hit, "events"] = rng.binomial(out.loc[hit, "events"].astype(int), factor)
    return out


@dataclasses.dataclass(frozen=True)
class Case:
    """One placebo or planted evaluation: its own area type holds its copy of the series."""

    case_id: str
    area_type: str
    areas: tuple[str, ...]
    start: date
    factor: float  # 1.0 = no change planted


def draw_cases(prefix: str, n: int, factor: float, seed: int) -> list[Case]:
    """n cases: 1-6 random non-Cure precincts, a random start leaving 60 months before and
    36 after inside 2006-01..2019-09. Each case has its own area type (its own copy of the
    77 precincts), so one case's treated precincts never leave another's comparison areas."""
    rng = np.random.default_rng(seed)
    series = precinct_months()
    pool = sorted(set(series["area_id"]) - CURE_PRECINCTS, key=int)
    months = pd.date_range("2011-01-01", "2016-10-01", freq="MS")
    cases = []
    for i in range(n):
        k = int(rng.integers(1, 7))
        areas = tuple(sorted(rng.choice(pool, k, replace=False), key=int))
        start = months[int(rng.integers(0, len(months)))].date()
        cases.append(Case(f"{prefix}_{i}", f"{prefix}_precinct_{i}", areas, start, factor))
    return cases


def plant(warehouse: Path, cases: list[Case], city: str = "nyc", seed: int = 0) -> None:
    """Write the cases' series into marts.fct_indicator_values and the cases into the registry
    (as local interventions of the city's violent_crime problem, aiming at INDICATOR)."""
    base = precinct_months()
    frames = []
    for area_type in sorted({case.area_type for case in cases}):
        series = base
        for n, case in enumerate(c for c in cases if c.area_type == area_type):
            if case.factor != 1.0:
                series = thin(series, set(case.areas), case.start, case.factor, seed + n)
        frames.append(series.assign(area_type=area_type))
    rows = pd.concat(frames, ignore_index=True)
    registry = resolve_registry()  # every shipped city (their files name each other)
    trials = [
        LocalIntervention(
            id=case.case_id,
            intervention="violence_interrupters",
            name=f"test case {case.case_id}",
            where="planted",
            area_type=case.area_type,
            areas=list(case.areas),
            start=case.start.strftime("%Y-%m"),
            outcomes=[INDICATOR],
            led_by="test",
            lead_sector="nonprofit",
            kind="new",
            sources=["tests/intervention_planting.py"],
        )
        for case in cases
    ]
    registry = [
        dataclasses.replace(item, local_interventions=item.local_interventions + tuple(trials))
        if (item.city, item.problem.problem) == (city, "violent_crime")
        else item
        for item in registry
    ]
    with duckdb.connect(str(warehouse)) as con:
        con.register("planted_rows", rows)
        con.execute(
            f"""
            insert into marts.fct_indicator_values by name
            select '{city}' as city, area_type, area_id, 'precinct ' || area_id as area_name,
                '{INDICATOR}' as indicator_id, 'all' as breakdown_type, 'all' as breakdown_value,
                month as period_start, 'month' as period_grain, cast(events as double) as numerator,
                cast(events as double) as value
            from planted_rows
            """
        )
        con.unregister("planted_rows")
        write_registry(con, registry, "planted")


def run_evaluation_models(warehouse: Path) -> None:
    """dbt run of the intervention models (only) on the warehouse copy."""
    import os

    from dbt.cli.main import dbtRunner

    previous = os.environ.get("CIVIC_WAREHOUSE")
    os.environ["CIVIC_WAREHOUSE"] = str(warehouse)
    try:
        result = dbtRunner().invoke(
            ["run", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
             "-s", *DBT_MODELS, "--quiet"]
        )  # fmt: skip
    finally:
        if previous is None:
            os.environ.pop("CIVIC_WAREHOUSE", None)
        else:
            os.environ["CIVIC_WAREHOUSE"] = previous
    assert result.success, result.exception


def effects(warehouse: Path, prefix: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(
            "select * from marts.fct_intervention_effects "
            "where starts_with(local_intervention_id, ?)",
            [f"{prefix}_"],
        ).df()
