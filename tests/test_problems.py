"""The problem registry: validation errors name the file and key; the loader writes the tables
atomically; and, over a copy of a built warehouse, changing one registry input moves
tractability by the amount the documented formula gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.assets.problems import TABLE_PREFIX, TABLES, load_problem_registry, write_registry
from pipelines.catalog import city_catalogs
from pipelines.problems import PROBLEMS_DIR, RegistryError, resolve_registry
from pipelines.settings import DBT_PROJECT_DIR

CITIES = [catalog.city for catalog in city_catalogs()]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A writable copy of the shipped registry."""
    copy = tmp_path / "problems"
    shutil.copytree(PROBLEMS_DIR, copy)
    return copy


def edit(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_shipped_registry_is_valid_for_chicago_and_nyc():
    resolved = resolve_registry(cities=CITIES)
    problems = {(item.city, item.problem.problem) for item in resolved}
    for city in CITIES:
        for problem in [
            "violent_crime",
            "property_crime",
            "low_graduation",
            "weak_development",
            "unemployment",
        ]:
            assert (city, problem) in problems
    nyc_schools = next(
        i for i in resolved if (i.city, i.problem.problem) == ("nyc", "low_graduation")
    )
    assert nyc_schools.problem.factors["ninth_grade_course_failure"].authority == "direct"


def test_unknown_indicator_is_rejected_naming_file_and_key(registry: Path):
    edit(
        registry / "violent_crime.yml",
        lambda d: d["outcomes"].update({"carjacking_rate": {"weight": 0.0001}}),
    )
    with pytest.raises(RegistryError) as error:
        resolve_registry(registry, cities=CITIES)
    message = str(error.value)
    assert "violent_crime.yml" in message
    assert "outcomes.carjacking_rate" in message and "unknown indicator id" in message


def test_factor_without_actors_is_rejected(registry: Path):
    edit(
        registry / "property_crime.yml",
        lambda d: d["factors"]["stolen_goods_markets"].update({"actors": []}),
    )
    with pytest.raises(RegistryError) as error:
        resolve_registry(registry, cities=CITIES)
    message = str(error.value)
    assert "property_crime.yml" in message
    assert "factors.stolen_goods_markets.actors" in message


def test_bad_authority_value_is_rejected(registry: Path):
    edit(
        registry / "cities" / "chicago.yml",
        lambda d: d["problems"]["low_graduation"]["factors"]["school_quality"].update(
            {"authority": "mayoral"}
        ),
    )
    with pytest.raises(RegistryError) as error:
        resolve_registry(registry, cities=CITIES)
    message = str(error.value)
    assert "cities/chicago.yml" in message
    assert "problems.low_graduation.factors.school_quality.authority" in message
    assert "'direct', 'shared' or 'none'" in message


def test_causal_weights_must_sum_to_one(registry: Path):
    edit(
        registry / "unemployment.yml",
        lambda d: d["factors"]["labour_demand"].update({"causal_weight": 0.9}),
    )
    with pytest.raises(RegistryError, match=r"unemployment.yml: factors: causal_weight must sum"):
        resolve_registry(registry, cities=CITIES)


def test_unknown_sector_is_rejected(registry: Path):
    edit(
        registry / "low_graduation.yml",
        lambda d: d["factors"]["school_quality"]["actors"][0].update({"sector": "church"}),
    )
    with pytest.raises(RegistryError, match=r"factors.school_quality.actors.0.sector"):
        resolve_registry(registry, cities=CITIES)


def test_city_file_must_name_known_factors_and_cities(registry: Path):
    edit(
        registry / "cities" / "nyc.yml",
        lambda d: d["problems"]["violent_crime"]["budget_lines"][0].update({"factor": "weather"}),
    )
    with pytest.raises(RegistryError, match=r"violent_crime.budget_lines.0.factor"):
        resolve_registry(registry, cities=CITIES)
    with pytest.raises(
        RegistryError,
        match=r"cities/(dc|nyc)\.yml: city: no city catalog '(dc|nyc)' \(known: chicago\)",
    ):
        resolve_registry(PROBLEMS_DIR, cities=["chicago"])


def test_department_cannot_be_attributed_more_than_its_spending(registry: Path):
    def overspend(d):
        d["problems"]["violent_crime"]["budget_lines"][0]["share"] = 1.0

    edit(registry / "cities" / "chicago.yml", overspend)
    with pytest.raises(RegistryError, match=r"department 'Chicago Police Department' add up to"):
        resolve_registry(registry, cities=CITIES)


def test_loader_writes_every_table_and_keeps_old_tables_on_failure(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    counts = write_registry(con, resolve_registry(cities=CITIES), "first")
    for name in TABLES:
        rows = con.execute(f'select count(*) from raw."{TABLE_PREFIX}{name}"').fetchone()[0]
        assert rows == counts[name] > 0
    with pytest.raises(AttributeError):
        write_registry(con, [object()], "second")  # not a CityProblem: fails before the swap
    load_ids = con.execute(f'select distinct _load_id from raw."{TABLE_PREFIX}factors"').fetchall()
    assert load_ids == [("first",)]
    leftovers = con.execute(
        "select count(*) from information_schema.tables where table_name like '%__loading'"
    ).fetchone()[0]
    assert leftovers == 0


def _problem_tractability(warehouse: Path, city: str, problem: str) -> tuple[float, dict]:
    # not read_only: dbt, run in this process, may still hold the file open
    con = duckdb.connect(str(warehouse))
    try:
        tractability = con.execute(
            "select tractability from marts.fct_problem_scores where city = ? and problem_id = ?",
            [city, problem],
        ).fetchone()[0]
        weights = dict(
            con.execute(
                "select component, weight from marts.fct_problem_score_components "
                "where city = ? and problem_id = ? and score_name = 'tractability' "
                "and component_value is not null",
                [city, problem],
            ).fetchall()
        )
        return tractability, weights
    finally:
        con.close()


def _build_problem_marts(warehouse: Path, monkeypatch) -> None:
    from dbt.cli.main import dbtRunner

    monkeypatch.setenv("CIVIC_WAREHOUSE", str(warehouse))
    result = dbtRunner().invoke(
        [
            "run",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "-s",
            "stg_registry__*",
            "int_problem_*",
            "fct_problem_scores",
            "fct_problem_score_components",
        ]
    )
    assert result.success, result.exception


def test_moving_a_factor_to_no_authority_lowers_tractability_by_the_documented_amount(
    built_warehouse: Path, registry: Path, tmp_path: Path, monkeypatch
):
    """Over a copy of the built warehouse, with the real Chicago data: violent crime's
    place_concentration factor (causal share 0.2) goes from direct (1) to none (0), so
    city_authority falls by 0.2 and tractability by 0.2 x w_city_authority / (sum of the
    weights of the tractability components with data)."""
    warehouse = tmp_path / "copy.duckdb"
    shutil.copy(built_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        load_problem_registry(con, PROBLEMS_DIR)
    _build_problem_marts(warehouse, monkeypatch)
    before, weights = _problem_tractability(warehouse, "chicago", "violent_crime")

    edit(
        registry / "violent_crime.yml",
        lambda d: d["factors"]["place_concentration"].update({"authority": "none"}),
    )
    with duckdb.connect(str(warehouse)) as con:
        write_registry(con, resolve_registry(registry, cities=CITIES))
    _build_problem_marts(warehouse, monkeypatch)
    after, _ = _problem_tractability(warehouse, "chicago", "violent_crime")

    expected = 0.2 * (1 - 0) * weights["city_authority"] / sum(weights.values())
    assert before - after == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------------------------------------
# The innovation ledger: local interventions (pipelines/interventions.py)
# --------------------------------------------------------------------------------------------
def _trials(document: dict, problem: str) -> list[dict]:
    return document["problems"][problem]["local_interventions"]


def _trial(document: dict, problem: str, trial_id: str) -> dict:
    return next(t for t in _trials(document, problem) if t["id"] == trial_id)


def test_shipped_ledger_has_sourced_efforts_with_areas_dates_and_leads():
    resolved = resolve_registry(cities=CITIES)
    trials = {(item.city, t.id): t for item in resolved for t in item.local_interventions}
    readi = trials[("chicago", "readi_chicago")]
    assert readi.area_type == "community_area"
    assert set(readi.areas) == {"25", "26", "29", "67", "68"}
    assert str(readi.start_month) == "2017-09-01" and readi.lead_sector == "nonprofit"
    cure = trials[("nyc", "cure_violence_2012_sites")]
    assert cure.areas == ["75", "77"] and cure.start_precision == "year"
    assert trials[("nyc", "syep_expansion")].is_citywide
    assert all(t.sources for t in trials.values())


def test_unknown_area_is_refused_naming_file_key_and_known_areas(registry: Path):
    edit(
        registry / "cities" / "nyc.yml",
        lambda d: _trial(d, "violent_crime", "cure_violence_2013_sites").update(
            {"areas": [40, 999]}
        ),
    )
    with pytest.raises(RegistryError) as error:
        resolve_registry(
            registry,
            cities=CITIES,
            area_lists=lambda city, area_type: (
                frozenset({"40", "113", "75", "77"}) if area_type == "precinct" else None
            ),
        )
    message = str(error.value)
    assert "cities/nyc.yml" in message
    assert "local_interventions.2.areas: unknown precinct '999' in nyc" in message
    assert "4 known: 40, 75, 77, 113" in message


def test_catalog_area_lists_check_the_areas_of_a_listed_type(registry: Path):
    """The shipped catalogs list Chicago's community areas: area 99 is refused."""
    edit(
        registry / "cities" / "chicago.yml",
        lambda d: _trial(d, "violent_crime", "readi_chicago").update({"areas": [25, 99]}),
    )
    with pytest.raises(RegistryError, match=r"readi_chicago|local_interventions\.\d+\.areas"):
        resolve_registry(registry, cities=CITIES)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"outcomes": ["murder_rate"]}, r"outcomes: unknown indicator id 'murder_rate'"),
        ({"lead_sector": "church"}, r"local_interventions\.\d+\.lead_sector"),
        ({"kind": "borrowed"}, r"local_interventions\.\d+\.kind"),
        ({"start": "2017-13"}, r"not a real month: '2017-13'"),
        ({"end": "2016-01"}, r"end: 2016-01 is before the start 2017-09"),
        ({"comparison_areas": [25, 27]}, r"comparison_areas: \['25'\] are also treated areas"),
        ({"intervention": "curfews"}, r"intervention: unknown intervention 'curfews'"),
        ({"sources": []}, r"local_interventions\.\d+\.sources"),
        ({"area_type": "city"}, r"a citywide effort \(area_type: city\) lists no areas"),
    ],
)
def test_bad_local_intervention_is_refused_with_file_and_key(registry: Path, change, expected):
    edit(
        registry / "cities" / "chicago.yml",
        lambda d: _trial(d, "violent_crime", "readi_chicago").update(change),
    )
    with pytest.raises(RegistryError, match=expected) as error:
        resolve_registry(registry, cities=CITIES)
    assert "cities/chicago.yml" in str(error.value)


def test_local_intervention_ids_are_unique_in_a_city(registry: Path):
    edit(
        registry / "cities" / "chicago.yml",
        lambda d: _trial(d, "low_graduation", "saga_math_tutoring").update(
            {"id": "freshman_on_track"}
        ),
    )
    with pytest.raises(RegistryError, match=r"id: 'freshman_on_track' is already used at"):
        resolve_registry(registry, cities=CITIES)


def test_ledger_tables_carry_areas_outcomes_and_budget_lines(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    write_registry(con, resolve_registry(cities=CITIES), "ledger")
    areas = con.execute(
        "select role, count(*) from raw.problem_registry__intervention_areas "
        "where local_intervention_id = 'readi_chicago' group by 1 order by 1"
    ).fetchall()
    assert areas == [("comparison", 12), ("treated", 5)]
    # no outcomes in the file: the problem's own outcomes, marked as such
    outcomes = con.execute(
        "select indicator_id, chosen_by from raw.problem_registry__intervention_outcomes "
        "where city = 'chicago' and local_intervention_id = 'becoming_a_man' order by 1"
    ).fetchall()
    violent = next(
        i
        for i in resolve_registry(cities=CITIES)
        if (i.city, i.problem.problem) == ("chicago", "violent_crime")
    )
    assert outcomes == [(o, "problem") for o in sorted(violent.problem.outcomes)]
    spellings = con.execute(
        "select department_name, spelling from raw.problem_registry__intervention_budget_lines "
        "where local_intervention_id = 'one_summer_chicago_expansion' order by 2"
    ).fetchall()
    assert spellings == [
        ("Department of Family and Support Services", "DFSS"),
        ("Department of Family and Support Services", "Department of Family and Support Services"),
    ]


def _rank_stability(warehouse: Path) -> dict[str, tuple[float, float]]:
    con = duckdb.connect(str(warehouse))
    try:
        rows = con.execute(
            "select city, avg(rank_stability), avg(rank_stability_data) "
            "from marts.fct_problem_ranking where quadrant <> 'no_data' group by city"
        ).fetchall()
        return {city: (joint, data) for city, joint, data in rows}
    finally:
        con.close()


NOISE_SQL = """
-- every period but the latest moves up or down by 20 % in turn (the sign alternates from
-- the latest backwards): the series' level over its reference window barely moves, its
-- period-to-period noise grows
update marts.fct_indicator_values as v
set value = v.value * noisy.factor,
    numerator = v.numerator * noisy.factor
from (
    select
        rowid as id,
        case when recency = 1 then 1.0 when recency % 2 = 0 then 1.2 else 0.8 end as factor
    from (
        select rowid, row_number() over (
            partition by city, area_type, area_id, indicator_id, breakdown_type,
                breakdown_value, period_grain
            order by period_start desc
        ) as recency
        from marts.fct_indicator_values
    )
) as noisy
where v.rowid = noisy.id
"""


def test_rank_stability_falls_when_the_data_are_made_noisier(
    built_warehouse: Path, tmp_path: Path, monkeypatch
):
    """Over a copy of the real warehouse, every indicator series is made noisier without
    moving its level: each period but the latest goes up or down by 20 % in turn. The layer
    from int_analytic_values to the ranking is rebuilt; the uncertainty of each input is
    estimated from the data (dispersion, the series' own period-to-period noise), so it grows,
    and the reported rank stability (share of the joint draws of data and weights at the base
    rank) falls in every city, as does the stability with the data alone moving."""
    from dbt.cli.main import dbtRunner

    before = _rank_stability(built_warehouse)
    warehouse = tmp_path / "noisy.duckdb"
    shutil.copy(built_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(NOISE_SQL)
    monkeypatch.setenv("CIVIC_WAREHOUSE", str(warehouse))
    result = dbtRunner().invoke(
        [
            "run",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "-s",
            "int_analytic_values+",
            "--exclude",
            "int_early_warning_*",
            "fct_early_warnings",
            "fct_early_warning_false_alerts",
        ]
    )
    assert result.success, result.exception
    after = _rank_stability(warehouse)
    print("rank stability (joint, data only) before:", before, "after:", after)
    for city in before:
        assert after[city][0] < before[city][0], (city, before[city], after[city])
        assert after[city][1] < before[city][1], (city, before[city], after[city])
