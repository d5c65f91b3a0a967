"""Any city by configuration only: a city the code has never seen, end to end.

In a copy of the project, only `sources/` is edited: the shipped catalogs but DC's are taken
out (to keep the run short), and a new city, Riverton, is written: crimes on a Socrata portal,
a CKAN budget with one amount column per fiscal year, a FRED unemployment file, and its
Census place and county. Every row is real (DC's 2022 crime incidents, Chicago's 2019
appropriations, the Cook County FRED series), served by a local portal server on 127.0.0.1.

1. An offline `civic run` cannot load the live-only city: it says which datasets it leaves
   out, the other city's run stays green, and the marts name what was left out.
2. `civic run --live --city riverton` loads it; the same SQL gives it indicators in three
   domains, gaps, early warnings and a ranking (problems without data ranked last).
3. No file outside `sources/` changed.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from portal_server import PortalServer, Reply, chicago_rows, ckan_datastore, socrata_rows

from pipelines.settings import PROJECT_ROOT, SOURCES_DIR

GENERATED = ("models/staging/sources", "macros/generated", "target", "logs")
CATALOG = """
city: riverton
name: Riverton
timezone: America/Denver
census: {{place: "0820000", counties: ["08031"]}}
datasets:
  crimes:
    raw_table: riverton_crimes
    domain: crime
    feeds: crime_incidents
    columns: {{occurred_at: report_dat, area: ward, offense_type: offense}}
    area_type: ward
    formats: {{occurred_at: "%Y/%m/%d %H:%M:%S%z"}}
    offenses: offenses/riverton.csv
    cadence: daily
    title: Crime incidents
    description: Offences reported to the police, one row per offence.
    portal:
      {{kind: socrata, base_url: "{url}", dataset_id: crm5-2022, options: {{page_size: 5000}}}}
    license: test
    provenance: DC crime incidents 2022 (sources/dc), served as a Socrata dataset
  budget:
    raw_table: riverton_budget
    domain: spending
    feeds: spending
    spending_kind: appropriations
    columns: {{department: DEPARTMENT DESCRIPTION}}
    unpivot:
      pattern: {{columns: "^([0-9]{{4}})_ordinance_amount$", key: fiscal_year, value: amount}}
    cadence: yearly
    title: Budget appropriations
    description: One amount column per fiscal year.
    portal: {{kind: ckan, base_url: "{url}", dataset_id: budget-2019}}
    license: test
    provenance: Chicago 2019 appropriations (sources/chicago), served as a CKAN resource
  unemployment:
    raw_table: riverton_unemployment
    domain: development
    feeds: unemployment
    columns: {{date: Date, unemployment_rate: ILCOOK1URN}}
    constants: {{area: "08031"}}
    area_type: county
    null_markers: ["."]
    cadence: monthly
    title: Unemployment rate (FRED)
    description: A FRED series file, Date and one column.
    portal: {{kind: http, base_url: "{url}/fredgraph.csv?id=ILCOOK1URN"}}
    license: test
    provenance: the Cook County FRED series (sources/chicago), served as a FRED file
"""


def project_copy(root: Path) -> Path:
    """The project as a fresh clone has it (no generated files), data files linked."""
    for name in ["pipelines", "dbt_project"]:
        shutil.copytree(
            PROJECT_ROOT / name,
            root / name,
            ignore=shutil.ignore_patterns("__pycache__", *[Path(g).name for g in GENERATED]),
        )
    shutil.copytree(SOURCES_DIR, root / "sources", copy_function=_copy_text_link_data)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _copy_text_link_data(source: str, target: str) -> None:
    if source.endswith((".yml", ".csv", ".md", ".py")):
        shutil.copy(source, target)
    else:  # hard links: the loader refuses symlinks pointing out of sources/
        try:
            os.link(source, target)
        except OSError:  # another file system
            shutil.copy(source, target)


def dc_crime_rows() -> list[dict]:
    rows = chicago_rows(
        "select CCN, REPORT_DAT, SHIFT, METHOD, OFFENSE, BLOCK, WARD from read_csv("
        "'dc/crime_incidents_2022_jan_sep.tsv.gz', delim = '\t', all_varchar = true)"
    )
    return [
        {
            ":id": f"row-{i:06d}",
            ":updated_at": "2024-01-01T00:00:00.000",
            ":created_at": "2024-01-01T00:00:00.000",
            **{key.lower(): value for key, value in row.items()},
        }
        for i, row in enumerate(rows)
    ]


def socrata_view(rows: list[dict]) -> dict:
    names = [key for key in rows[0] if not key.startswith(":")]
    columns = [
        {"fieldName": name, "name": name.upper(), "position": i + 1, "dataTypeName": "text"}
        for i, name in enumerate(names)
    ]
    return {"id": "crm5-2022", "name": "Crime incidents", "rowsUpdatedAt": 1704067200,
            "columns": columns}  # fmt: skip


def budget_records() -> tuple[list[dict], list[dict]]:
    rows = list(
        chicago_rows(
            "select * from read_csv('chicago/budget_appropriations_2019.csv.gz', all_varchar=true)"
        )
    )
    fields = [{"id": name, "type": "text"} for name in rows[0]]
    return fields, [{"_id": i + 1, **row} for i, row in enumerate(rows)]


def civic(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(project),
        "CIVIC_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    for name in ("DAGSTER_HOME", "CIVIC_WAREHOUSE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("any_city")
    project = project_copy(root / "project")
    sources = project / "sources"
    for city in ("chicago", "nyc"):  # keep the test run short: DC stays as the other city
        (sources / "cities" / f"{city}.yml").unlink()
        (sources / "problems" / "cities" / f"{city}.yml").unlink()
    shutil.copy(sources / "offenses" / "dc.csv", sources / "offenses" / "riverton.csv")
    home = root / "home"
    crimes = dc_crime_rows()
    fields, records = budget_records()
    fred = SOURCES_DIR / "chicago" / "unemployment_rate_cook_county_fred_ILCOOK1URN.csv"
    with PortalServer() as portal:
        portal.route("/api/views/crm5-2022.json", lambda _: Reply.json(socrata_view(crimes)))
        portal.route("/resource/crm5-2022.json", socrata_rows(crimes))
        portal.route(
            "/api/3/action/datastore_search", ckan_datastore("budget-2019", fields, records, 1000)
        )
        portal.route(
            "/api/3/action/resource_show",
            lambda _: Reply.json(
                {"success": True, "result": {"id": "budget-2019", "last_modified": "2019-03-25"}}
            ),
        )
        portal.route(
            "/fredgraph.csv",
            lambda _: Reply(200, fred.read_bytes(), {"Content-Type": "text/csv"}),
        )
        (sources / "cities" / "riverton.yml").write_text(CATALOG.format(url=portal.url))
        validate = civic(project, home, "validate")
        offline = civic(project, home, "run")
        offline_requests = len(portal.requests)
        live = civic(project, home, "run", "--live", "--city", "riverton")
    return project, home, validate, offline, offline_requests, live


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "civic.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_new_catalog_validates_and_names_what_it_cannot_check_offline(runs):
    _, _, validate, *_ = runs
    assert validate.returncode == 0, validate.stderr
    assert "riverton.yml: datasets.crimes: no bundled copy" in validate.stderr


def test_an_offline_run_leaves_out_the_live_only_city_and_stays_green(runs):
    _, home, _, offline, offline_requests, _ = runs
    assert offline.returncode == 0, offline.stdout[-3000:] + offline.stderr[-3000:]
    for dataset in ("crimes", "budget", "unemployment"):
        assert f"leaves out riverton.{dataset}: no bundled copy" in offline.stdout
    assert offline_requests == 0  # offline means offline
    summary = offline.stdout[offline.stdout.index("Left out of this build") :]
    assert "riverton.crimes: raw.riverton_crimes does not exist" in summary


def test_the_unseen_city_gets_indicators_gaps_warnings_and_a_ranking(runs):
    _, home, _, _, _, live = runs
    assert live.returncode == 0, live.stdout[-3000:] + live.stderr[-3000:]
    domains = {
        domain
        for (domain,) in query(
            home,
            "select distinct d.domain from marts.fct_indicator_values v "
            "join marts.dim_indicators d using (indicator_id) where v.city = 'riverton'",
        )
    }
    assert {"crime", "spending", "development"} <= domains
    gaps = dict(
        query(
            home,
            "select gap_type, count(*) from marts.fct_indicator_gaps "
            "where city = 'riverton' group by all",
        )  # fmt: skip
    )
    assert gaps.get("peer_city", 0) > 0 and gaps.get("year_over_year", 0) > 0, gaps
    assert (
        query(home, "select count(*) from marts.fct_early_warnings where city = 'riverton'")[0][0]
        > 0
    )
    ranking = query(
        home,
        "select priority_rank, problem_id, quadrant, priority_score, strategy "
        "from marts.fct_problem_ranking where city = 'riverton' order by priority_rank",
    )
    assert len(ranking) == 5
    scored = [r for r in ranking if r[2] != "no_data"]
    unscored = [r for r in ranking if r[2] == "no_data"]
    assert {r[1] for r in scored} >= {"violent_crime", "property_crime", "unemployment"}
    assert all(r[3] is not None for r in scored)
    assert max(r[0] for r in scored) < min(r[0] for r in unscored)  # no data never ranks above data
    graduation = next(r for r in unscored if r[1] == "low_graduation")
    assert "graduation_rate_4yr" in graduation[4]


def test_the_city_degrades_honestly_without_area_populations(runs):
    _, home, *_ = runs
    # no ward population: city rates from the Census place, ward rates left out and said so
    city = query(
        home,
        "select population_source, population_year, population_vintage "
        "from marts.fct_indicator_values where city = 'riverton' "
        "and indicator_id = 'violent_crime_rate' and area_type = 'city' limit 1",
    )
    assert city == [("Census Bureau place estimates (place 0820000)", 2019,
                     "Census Bureau estimate, V2019")]  # fmt: skip
    coverage = query(
        home,
        "select status, reason, events_in_areas from marts.fct_indicator_coverage "
        "where city = 'riverton' and indicator_id = 'violent_crime_rate' and area_type = 'ward'",
    )
    assert coverage[0][0] == "left_out" and "no population for wards" in coverage[0][1]
    assert coverage[0][2] > 0
    # the budget with one column per fiscal year was read long, in dollars
    (total,) = query(
        home,
        "select value from marts.fct_indicator_values where city = 'riverton' "
        "and indicator_id = 'appropriations_total' and breakdown_type = 'all'",
    )[0]
    expected = sum(float(r["2019 ORDINANCE (AMOUNT $)"]) for r in budget_records()[1])
    assert total == pytest.approx(expected)


def test_peers_compare_the_new_city_with_the_shipped_one(runs):
    _, home, *_ = runs
    rows = query(
        home,
        "select indicator_id, n_shared_periods from marts.fct_peer_comparability "
        "where city = 'riverton' and peer_city = 'dc' and is_comparable order by 1",
    )
    assert ("violent_crime_rate", 8) in rows and ("property_crime_rate", 8) in rows


def test_no_file_outside_sources_changed(runs):
    project, *_ = runs
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = [
        name
        for name in tracked
        if name.startswith(("pipelines/", "dbt_project/")) and (PROJECT_ROOT / name).is_file()
    ]
    assert len(outside) > 100
    changed = [
        name
        for name in outside
        if not filecmp.cmp(PROJECT_ROOT / name, project / name, shallow=False)
    ]
    assert changed == []
    added = json.dumps(sorted(p.name for p in (project / "sources" / "cities").glob("*.yml")))
    assert added == '["dc.yml", "riverton.yml"]'
