"""The dashboards in a real browser: build the site from the session warehouse's exports, serve
it on 127.0.0.1, open every page in Chromium (Playwright) and check that

- no page logs a console error or throws,
- no request leaves 127.0.0.1 (the site works offline),
- the numbers shown equal what the warehouse holds for the same question (queried here
  read-only with DuckDB), e.g. the top-ranked problem and the strongest active alert.

A full-page screenshot of every page is saved under ``test-artifacts/screenshots/`` (the path
is printed) so a person can look at them.

Needs node/npm (``npm ci`` in dashboards/) and Debian's Chromium at /usr/bin/chromium (or
CHROMIUM_PATH). They are required: a missing one FAILS the test with what to install. The
build takes ~1-2 minutes and ~3 GB of memory and happens once per session.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest

from pipelines import dashboards

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUERY_ERROR = re.compile(
    r"Error in Query|\b(?:Binder|Catalog|Parser|Conversion|Invalid Input) Error"
)
DATA_TIMEOUT_MS = 90_000  # DuckDB-Wasm start + Parquet loading in a cold browser

PAGES = {
    "home": "/",
    "priorities": "/priorities",
    "problems": "/problems",
    "indicators": "/indicators",
    "neighbourhoods": "/neighbourhoods",
    "data-health": "/data-health",
    "method": "/method",
    "innovation": "/innovation",
}


# --------------------------------------------------------------------------------------------
# Fixtures: the built site, a server, a browser
# --------------------------------------------------------------------------------------------
def _require_tools() -> None:
    missing = []
    if not (shutil.which("node") and shutil.which("npm")):
        missing.append("node/npm (Node 20+): e.g. `apt-get install -y nodejs npm`")
    if not Path(CHROMIUM).is_file():
        missing.append(
            f"Chromium at {CHROMIUM}: `apt-get install -y chromium` (or set CHROMIUM_PATH)"
        )
    if missing:
        pytest.fail("the browser tests need " + "; ".join(missing), pytrace=False)


class _QuietHandler(dashboards._Handler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


@pytest.fixture(scope="session")
def tools() -> None:
    """Fail at once (before the warehouse run) when node/npm or Chromium is missing."""
    _require_tools()


@pytest.fixture(scope="session")
def site(tools, built_warehouse: Path):
    """The dashboards built from this session's exports, served on 127.0.0.1: (url, build)."""
    from pipelines.settings import paths

    started = time.monotonic()
    build_dir = dashboards.build_site(paths().exports)
    seconds = time.monotonic() - started
    size_mb = sum(f.stat().st_size for f in build_dir.rglob("*") if f.is_file()) / 1e6
    print(f"\n[dashboards] build: {seconds:.0f} s, site: {size_mb:.0f} MB in {build_dir}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(build_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", build_dir
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser(tools):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    print(f"\n[dashboards] screenshots: {SCREENSHOTS}")
    return SCREENSHOTS


# Module scope: an open read-only connection would stop later tests in this process from
# writing the same warehouse (DuckDB refuses a second configuration of an open file).
@pytest.fixture(scope="module")
def warehouse(built_warehouse: Path):
    con = duckdb.connect(str(built_warehouse), read_only=True)
    yield con
    con.close()


class OpenPage:
    """A page opened in a fresh browser context, with what it logged and requested."""

    def __init__(self, browser, base_url: str, path: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.failed_requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("request", self._on_request)
        self.page.on("requestfailed", self._on_failed)
        self.page.goto(base_url + path, wait_until="networkidle", timeout=DATA_TIMEOUT_MS)

    def _on_request(self, request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            return
        self.foreign_requests.append(request.url)

    def _on_failed(self, request) -> None:
        # Evidence aborts the fetch of a prerendered result once it runs the query itself.
        if "ERR_ABORTED" not in (request.failure or ""):
            self.failed_requests.append(f"{request.url} {request.failure}")

    def text(self, testid: str) -> str:
        locator = self.page.get_by_test_id(testid)
        locator.wait_for(state="visible", timeout=DATA_TIMEOUT_MS)
        return locator.inner_text().strip()

    def visible_row(self, text: str):
        """The first visible table row containing ``text`` (Evidence also renders hidden copies)."""
        row = self.page.locator("tr:visible", has_text=text).first
        row.wait_for(state="visible", timeout=DATA_TIMEOUT_MS)
        return row

    def settle(self) -> None:
        """Wait until no query is loading (Evidence shows skeletons and "Loading..." meanwhile)."""
        self.page.wait_for_load_state("networkidle", timeout=DATA_TIMEOUT_MS)
        self.page.wait_for_timeout(1000)  # queries re-run after an input changes
        self.page.wait_for_function(
            "() => document.querySelectorAll('.animate-pulse').length === 0"
            " && !document.body.innerText.includes('Loading...')",
            timeout=DATA_TIMEOUT_MS,
        )
        self.page.wait_for_timeout(500)

    def choose_city(self, label: str) -> None:
        """Pick a city in the page's City dropdown and wait for the page to update."""
        self.settle()
        self.page.locator("button:visible", has_text="City").first.click()
        self.page.locator("[role=option]:visible", has_text=label).first.click()
        self.page.keyboard.press("Escape")
        self.settle()

    def finish(self, screenshots: Path, name: str) -> None:
        """Screenshot, close, and check the page was clean."""
        self.settle()
        shot = screenshots / f"{name}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        body = self.page.inner_text("body")
        self.context.close()
        assert not self.foreign_requests, (
            f"{name}: requests to other hosts: {self.foreign_requests}"
        )
        assert not self.errors, f"{name}: console errors: {self.errors}"
        assert not self.failed_requests, f"{name}: failed requests: {self.failed_requests}"
        shown_errors = QUERY_ERROR.findall(body)
        assert not shown_errors, f"{name}: the page shows query errors: {shown_errors}"


# --------------------------------------------------------------------------------------------
# What the warehouse says (the same questions the pages ask)
# --------------------------------------------------------------------------------------------
ACTIVE_ALERTS_SQL = """
with latest as (
    select city, indicator_id, max(period_start) as latest_period
    from marts.fct_indicator_values group by all
),
flags as (
    select w.* from marts.fct_early_warnings w join latest l using (city, indicator_id)
    where w.city = $city and case
        when w.series_grain in ('day', 'week') then w.indicator_period_start >= l.latest_period
        when w.series_grain = 'month'
            then w.indicator_period_start >= l.latest_period - interval 2 month
        else w.indicator_period_start >= l.latest_period end
),
runs as (
    select *, row_number() over (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
                     series_grain, method, run_start_period
        order by period_start desc) as recency
    from flags
),
strongest as (
    select * from runs where recency = 1
    qualify row_number() over (
        partition by city, area_type, area_id, indicator_id, breakdown_type, breakdown_value,
                     series_grain
        order by case level when 'alert' then 1 when 'warning' then 2 else 3 end,
                 statistic desc, alert_id) = 1
)
select area_name, indicator_name, level, observed, expected, run_start_period
from strongest
order by case level when 'alert' then 1 when 'warning' then 2 else 3 end,
         excess_ratio desc nulls last, excess desc, alert_id
"""


def _num(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text))


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
def test_every_page_opens_clean_offline(site, browser, screenshots):
    base_url, build_dir = site
    problem_pages = sorted(p.parent.name for p in (build_dir / "problems").glob("*/index.html"))
    assert problem_pages, "no problem page was prerendered"
    pages = {**PAGES, **{f"problem-{p}": f"/problems/{p}" for p in problem_pages}}
    for name, path in pages.items():
        opened = OpenPage(browser, base_url, path)
        opened.finish(screenshots, name)


def test_every_problem_of_the_registry_has_a_page(site, warehouse):
    _, build_dir = site
    ranked = warehouse.execute("select problem_id from marts.fct_problem_ranking").fetchall()
    problems = {r[0] for r in ranked}
    built = {p.parent.name for p in (build_dir / "problems").glob("*/index.html")}
    assert problems and problems <= built


def test_home_shows_the_strongest_active_alert(site, browser, screenshots, warehouse):
    base_url, _ = site
    alerts = warehouse.execute(ACTIVE_ALERTS_SQL, {"city": "chicago"}).fetchall()
    assert alerts, "the bundled data should have active early warnings in Chicago"
    area, indicator, level, observed, _expected, _since = alerts[0]

    opened = OpenPage(browser, base_url, "/")
    assert opened.text("top-alert-area") == area
    assert opened.text("top-alert-indicator") == indicator
    assert opened.text("top-alert-level") == level
    assert _num(opened.text("top-alert-observed")) == pytest.approx(observed, abs=0.01)
    counts = {lvl: sum(1 for a in alerts if a[2] == lvl) for lvl in ("alert", "warning", "watch")}
    body = opened.page.inner_text("body")
    for lvl, n in counts.items():
        assert str(n) in body, f"{lvl} count {n} not shown"
    opened.finish(screenshots, "home-checked")


def test_priorities_show_the_top_ranked_problem(site, browser, screenshots, warehouse):
    base_url, _ = site
    name, score, quadrant = warehouse.execute(
        "select problem_name, priority_score, quadrant from marts.fct_problem_ranking "
        "where city = 'chicago' and priority_rank = 1"
    ).fetchone()
    opened = OpenPage(browser, base_url, "/priorities")
    assert opened.text("top-problem") == name
    assert opened.text("top-problem-score") == f"{score:.2f}"
    assert opened.text("top-problem-quadrant").lower().replace(" ", "_") == quadrant
    opened.finish(screenshots, "priorities-checked")


def test_problem_page_shows_its_rank_and_backward_map(site, browser, screenshots, warehouse):
    base_url, _ = site
    problem_id, rank, n = warehouse.execute(
        "select problem_id, priority_rank, n_problems from marts.fct_problem_ranking "
        "where city = 'chicago' order by priority_rank limit 1"
    ).fetchone()
    factors = [
        r[0]
        for r in warehouse.execute(
            "select factor_name from marts.fct_backward_map where city = 'chicago' "
            "and problem_id = ? order by causal_share desc, factor_name",
            [problem_id],
        ).fetchall()
    ]
    opened = OpenPage(browser, base_url, f"/problems/{problem_id}")
    assert opened.text("problem-rank") == f"Rank {rank} of {n}"
    assert factors[0] in opened.visible_row(factors[0]).inner_text()
    opened.finish(screenshots, f"problem-{problem_id}-checked")


def test_indicator_explorer_shows_the_latest_citywide_value(site, browser, screenshots, warehouse):
    base_url, _ = site
    # Defaults: Chicago, crime, the city itself.
    name, value = warehouse.execute(
        "select d.name, printf('%,.2f', v.value) from marts.fct_indicator_values v "
        "join marts.dim_indicators d using (indicator_id) "
        "where v.city = 'chicago' and v.area_type = 'city' and d.domain = 'crime' "
        "and v.breakdown_type = 'all' "
        "qualify row_number() over (partition by v.indicator_id order by v.period_start desc) = 1 "
        "order by d.name limit 1"
    ).fetchone()
    opened = OpenPage(browser, base_url, "/indicators")
    opened.settle()
    assert value in opened.visible_row(name).inner_text()
    opened.finish(screenshots, "indicators-checked")


def test_data_health_lists_every_dataset(site, browser, screenshots, warehouse):
    base_url, _ = site
    rows = warehouse.execute("select title, last_load_rows from marts.fct_data_health").fetchall()
    opened = OpenPage(browser, base_url, "/data-health")
    opened.settle()
    body = opened.page.inner_text("body")
    for title, _rows in rows:
        assert title in body, f"dataset {title!r} not shown"
    opened.finish(screenshots, "data-health-checked")


def test_method_page_shows_the_current_weights(site, browser, screenshots, warehouse):
    base_url, _ = site
    weight = warehouse.execute(
        "select weight from marts.fct_problem_score_components "
        "where score_name = 'importance' and component = 'gap_to_target' limit 1"
    ).fetchone()[0]
    opened = OpenPage(browser, base_url, "/method")
    assert f"{weight:.2f}" in opened.visible_row("gap to target").inner_text()
    opened.finish(screenshots, "method-checked")


def test_city_selector_switches_the_boards_to_nyc(site, browser, screenshots, warehouse):
    base_url, _ = site
    alerts = warehouse.execute(ACTIVE_ALERTS_SQL, {"city": "nyc"}).fetchall()
    top_problem = warehouse.execute(
        "select problem_name from marts.fct_problem_ranking "
        "where city = 'nyc' and priority_rank = 1"
    ).fetchone()[0]

    home = OpenPage(browser, base_url, "/")
    home.choose_city("Nyc")
    if alerts:
        assert home.text("top-alert-area") == alerts[0][0]
        assert home.text("top-alert-indicator") == alerts[0][1]
        assert _num(home.text("top-alert-observed")) == pytest.approx(alerts[0][3], abs=0.01)
    else:
        home.page.get_by_text("No early warning is active").wait_for(timeout=DATA_TIMEOUT_MS)
    home.finish(screenshots, "home-nyc")

    priorities = OpenPage(browser, base_url, "/priorities")
    priorities.choose_city("Nyc")
    assert priorities.text("top-problem") == top_problem
    priorities.finish(screenshots, "priorities-nyc")


# The innovation ledger's page (dashboards/pages/innovation.md, partial
# dashboards/partials/intervention-effects.md): the same estimates as the warehouse.
EFFECTS_SQL = """
select local_intervention_id, indicator_id, problem_id, verdict,
    case when change_pct is null then '—' else printf('%+.1f%%', change_pct) end,
    case when change_pct is null then '—'
        else printf('%+.1f%% to %+.1f%%', change_lower_pct, change_upper_pct) end
from marts.fct_intervention_effects
where city = ?
order by local_intervention_id, indicator_id
"""


def _check_effects(opened: OpenPage, rows) -> None:
    for intervention, indicator, _problem, verdict, change, interval in rows:
        testid = f"effect-{intervention}-{indicator}"
        assert opened.text(f"{testid}-verdict") == verdict, testid
        assert opened.text(f"{testid}-change") == change, testid
        assert opened.text(f"{testid}-interval") == interval, testid


def test_innovation_page_shows_the_warehouse_estimates(site, browser, screenshots, warehouse):
    base_url, _ = site
    for city, label in (("chicago", "Chicago"), ("nyc", "Nyc")):
        rows = warehouse.execute(EFFECTS_SQL, [city]).fetchall()
        assert rows, f"no local intervention of {city} in the ledger"
        opened = OpenPage(browser, base_url, "/innovation")
        if city != "chicago":
            opened.choose_city(label)
        opened.settle()
        _check_effects(opened, rows)
        opened.finish(screenshots, f"innovation-{city}")
    estimated = warehouse.execute(
        "select count(*) from marts.fct_intervention_effects where change_pct is not null"
    ).fetchone()[0]
    assert estimated > 0, "no evaluation with an estimate: the page checks only placeholders"


def test_problem_page_shows_what_the_city_is_trying(site, browser, screenshots, warehouse):
    base_url, _ = site
    rows = warehouse.execute(EFFECTS_SQL, ["chicago"]).fetchall()
    problem = next(r[2] for r in rows if r[4] != "—")
    opened = OpenPage(browser, base_url, f"/problems/{problem}")
    opened.settle()
    _check_effects(opened, [r for r in rows if r[2] == problem])
    for other in (r for r in rows if r[2] != problem):  # only this problem's efforts
        assert opened.page.get_by_test_id(f"effect-{other[0]}-{other[1]}").count() == 0
    opened.finish(screenshots, f"problem-{problem}-innovation")
