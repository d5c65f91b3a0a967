"""False-alarm rates and power of the early-warning detectors on real count series.

Used by tests/test_detector_calibration.py (which asserts the acceptance properties and that
the tables in dbt_project/ANALYTICS.md are the ones computed here) and runnable by hand to
rewrite those tables:

    .tools/bin/uv run python tests/calibration.py --write   # after a civic run

Series: every daily and monthly family of the warehouse (one city, grain and indicator:
int_early_warning_series) and the long real histories in tests/fixtures/history/ (Chicago
police districts 2001-2018 by day and by month, Chicago homicide incidents by community
area 2001-2023 by month, NYC shooting incidents by precinct 2006-2019 by week).

Detectors are the production functions (pipelines/statistics/), with the levels of
int_early_warning_tests: count_scan and seasonal_glm by their p-value; EARS C1/C2/C3 and the
NB CUSUM by their own threshold confirmed by the scan. Power: real counts plus planted extra
events (Poisson, mean = rise x the baseline mean) on 3 consecutive days (+50, +100, +200 %)
or in one month (+100 %); a rise is caught when a level flags any of its periods. The
benchmark is a Poisson CUSUM for a doubling of the same expected counts as the chosen
detector, its threshold set so that it flags exactly as often on the real series as the
chosen detector does (the same false-alarm rate).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipelines.statistics.detection import (  # noqa: E402
    ScanSettings,
    calendar_intensity,
    nb_cusum,
    rolling_sum,
    scan,
    window_test,
)
from pipelines.statistics.seasonal import SeasonalSettings, seasonal_glm  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "history"
ANALYTICS_MD = REPO / "dbt_project" / "ANALYTICS.md"
LEVEL_ALPHA = {"watch": 0.025, "warning": 0.005, "alert": 0.001}
LEVEL_Z = {"watch": 1.96, "warning": 2.576, "alert": 3.09}
LEVELS = list(LEVEL_ALPHA)
FDR_Q = {"watch": 0.10, "warning": 0.05, "alert": 0.01}
SCAN = {
    "day": ScanSettings(),
    "week": ScanSettings(
        baseline=8, guard=2, windows=(1, 2, 4), dispersion_history=52, dispersion_min_history=12
    ),
    "month": ScanSettings(
        baseline=7,
        guard=2,
        windows=(1,),
        dispersion_history=24,
        dispersion_min_history=12,
    ),
}
EARS = {"day": (28, 2), "week": (8, 2), "month": (7, 2)}  # baseline, guard (min_sigma 1)
SEASONAL = SeasonalSettings()


@dataclass
class Family:
    """Series sharing a period grid: one city (or data set), grain and indicator."""

    name: str
    grain: str
    dates: list[dt.date]
    y: np.ndarray
    area_types: np.ndarray
    direction: int = 1
    source: str = "warehouse"
    results: dict = field(default_factory=dict)
    # the indicator of each row when a family pools several (calendar factors are per indicator)
    groups: np.ndarray | None = None
    # months of an indicator the city also counts by day get no count scan (as in production)
    monthly_scan: bool = True


# --- series ----------------------------------------------------------------------------


def _grid(first: dt.date, last: dt.date, grain: str) -> list[dt.date]:
    if grain == "month":
        n = (last.year - first.year) * 12 + last.month - first.month + 1
        return [
            dt.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
            for i in range(n)
        ]
    step = 7 if grain == "week" else 1
    return [first + dt.timedelta(days=d) for d in range(0, (last - first).days + 1, step)]


def _matrix(rows, grain: str) -> tuple[list, np.ndarray, list]:
    """rows: (series key, period, count) -> (keys, y, dates), zero-filled within the range."""
    keys = sorted({r[0] for r in rows}, key=str)
    first = min(r[1] for r in rows)
    last = max(r[1] for r in rows)
    dates = _grid(first, last, grain)
    index = {d: i for i, d in enumerate(dates)}
    position = {k: i for i, k in enumerate(keys)}
    y = np.zeros((len(keys), len(dates)))
    for key, period, count in rows:
        y[position[key], index[period]] += count
    return keys, y, dates


def warehouse_families(con: duckdb.DuckDBPyConnection) -> list[Family]:
    rows = con.execute(
        """
        select city, series_grain, indicator_id, worse_sign, area_type, area_id, period_start,
               observed
        from intermediate.int_early_warning_series
        where series_grain in ('day', 'week', 'month') and breakdown_type = 'all'
        order by all
        """
    ).fetchall()
    groups: dict[tuple, list] = {}
    for city, grain, indicator, sign, area_type, area_id, period, observed in rows:
        groups.setdefault((city, grain, indicator, sign), []).append(
            ((area_type, area_id), period, observed)
        )
    daily = {(city, indicator) for city, grain, indicator, _ in groups if grain == "day"}
    families = []
    for (city, grain, indicator, sign), members in sorted(groups.items()):
        keys, y, dates = _matrix(members, grain)
        watched_daily = grain == "month" and (city, indicator) in daily
        if watched_daily and len(dates) < 12 * 3 + 14:
            # watched by its daily series (int_early_warning_counts gives it no count scan)
            # and too short for the seasonal GLM: nothing tests it
            continue
        families.append(
            Family(
                f"{city} {indicator} ({grain})",
                grain,
                dates,
                y,
                np.array([k[0] for k in keys]),
                int(sign),
                monthly_scan=not watched_daily,
            )
        )
    return families


def fixture_families() -> list[Family]:
    con = duckdb.connect()
    out = []
    districts = con.execute(
        "select district, day, incidents from "
        f"'{FIXTURES}/chicago_district_daily_2001_2018.parquet'"
    ).fetchall()
    for grain in ("day", "month"):
        rows = [
            (d, day if grain == "day" else day.replace(day=1), n)
            for d, day, n in districts
            # the last month of the file is complete (31 Oct 2018)
        ]
        keys, y, dates = _matrix(rows, grain)
        out.append(
            Family(
                f"Chicago police districts, all offences ({grain}, 2001-2018)",
                grain,
                dates,
                y,
                np.array(["district"] * len(keys)),
                source="history",
            )
        )
    homicides = con.execute(
        f"select community_area, day, incidents from "
        f"'{FIXTURES}/chicago_homicide_incidents_daily_2001_2023.parquet' where day < '2023-07-01'"
    ).fetchall()
    keys, y, dates = _matrix([(a, d.replace(day=1), n) for a, d, n in homicides], "month")
    out.append(
        Family(
            "Chicago homicide incidents by community area (month, 2001-2023)",
            "month",
            dates,
            y,
            np.array(["community_area"] * len(keys)),
            source="history",
        )
    )
    shootings = con.execute(
        f"select precinct, day, incidents from "
        f"'{FIXTURES}/nyc_precinct_shooting_incidents_daily_2006_2019.parquet' "
        "where day between '2006-01-02' and '2019-09-29'"
    ).fetchall()
    weekly = [(p, d - dt.timedelta(days=d.weekday()), n) for p, d, n in shootings]
    keys, y, dates = _matrix(weekly, "week")
    out.append(
        Family(
            "NYC shooting incidents by precinct (week, 2006-2019)",
            "week",
            dates,
            y,
            np.array(["precinct"] * len(keys)),
            source="history",
        )
    )
    return out


# --- detectors (the production functions, levels as in int_early_warning_tests) -----------


def _ears(y: np.ndarray, grain: str, direction: int) -> dict[str, np.ndarray]:
    b, g = EARS[grain]
    out = {}
    for name, lag in (("ears_c1", 1), ("ears_c2", 1 + g)):
        total, n = rolling_sum(y, b, lag)
        squares, _ = rolling_sum(y * y, b, lag)
        mean = total / b
        sd = np.sqrt(np.maximum((squares - total * total / b) / (b - 1), 0.0))
        out[name] = np.where(n == b, direction * (y - mean) / np.maximum(sd, 1.0), np.nan)
    excess = np.maximum(0.0, out["ears_c2"] - 1)
    c3 = np.full(excess.shape, np.nan)
    c3[:, 2:] = excess[:, 2:] + excess[:, 1:-1] + excess[:, :-2]
    out["ears_c3"] = np.where(np.isnan(out["ears_c2"]), np.nan, c3)
    return out


def intensity_of(family: Family, y: np.ndarray) -> np.ndarray:
    if family.groups is not None:
        out = np.full(y.shape, np.nan)
        for group in np.unique(family.groups):
            rows = np.flatnonzero(family.groups == group)
            part = Family(
                family.name,
                family.grain,
                family.dates,
                y[rows],
                family.area_types[rows],
                family.direction,
            )
            out[rows] = intensity_of(part, y[rows])
        return out
    if family.grain == "month":
        counts = np.where(np.isnan(y), 0.0, y)
        out = np.full(y.shape, np.nan)
        for area_type in np.unique(family.area_types):
            rows = np.flatnonzero(family.area_types == area_type)
            if area_type == "city" or rows.size < 2:
                continue
            out[rows] = counts[rows].sum(0)[None, :] - counts[rows]
        return out
    return np.broadcast_to(calendar_intensity(family.dates, family.grain, y), y.shape)


def levels(family: Family, y: np.ndarray) -> dict[str, np.ndarray]:
    """Level rank (0 none, 1 watch, 2 warning, 3 alert; NaN untested) of every detector,
    plus 'benchmark_expected' (the chosen detector's expected count for the CUSUM)."""
    settings = SCAN[family.grain]
    intensity = intensity_of(family, y)
    scanned = scan(y, intensity, settings, family.direction)
    if family.grain == "month" and not family.monthly_scan:
        scanned = {k: np.full(y.shape, np.nan) for k in scanned}
    p_scan = scanned["p"]
    out: dict[str, np.ndarray] = {}

    def rank_p(p: np.ndarray, gate=None) -> np.ndarray:
        r = np.zeros(p.shape)
        for i, level in enumerate(LEVELS, start=1):
            ok = p <= LEVEL_ALPHA[level]
            if gate is not None:
                ok &= gate(level)
            r = np.where(ok, i, r)
        return np.where(np.isnan(p), np.nan, r)

    out["count_scan"] = rank_p(p_scan)
    stats = _ears(y, family.grain, family.direction)
    for name, stat in stats.items():
        out[name] = np.where(
            np.isnan(stat),
            np.nan,
            rank_p(p_scan, lambda level, s=stat: np.nan_to_num(s, nan=-np.inf) >= LEVEL_Z[level]),
        )
    cusum = nb_cusum(y, intensity, settings, family.direction)["statistic"]
    out["nb_cusum"] = np.where(
        np.isnan(cusum),
        np.nan,
        rank_p(
            p_scan,
            lambda level: np.nan_to_num(cusum, nan=-np.inf) >= -math.log(LEVEL_ALPHA[level]),
        ),
    )
    one = window_test(y, intensity, 1, settings, family.direction)
    expected = one["expected"]
    chosen = "count_scan"
    if family.grain == "month":
        months = np.array([d.month for d in family.dates])
        days = np.array(
            [
                ((d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - d).days
                for d in family.dates
            ],
            dtype=float,
        )
        glm = seasonal_glm(y, months, days, SEASONAL, family.direction)
        out["seasonal_glm"] = rank_p(glm["p"])
        # as int_early_warning_tests: the GLM where three years exist, the scan before
        has_glm = ~np.isnan(glm["p"])
        out["chosen"] = np.where(has_glm, out["seasonal_glm"], out["count_scan"])
        out["chosen_p"] = np.where(has_glm, glm["p"], p_scan)
        out["chosen_window"] = np.where(has_glm, 1.0, scanned["window"])
        expected = np.where(has_glm, glm["expected"], expected)
        chosen = "seasonal_glm" if has_glm.any() else "count_scan"
    else:
        out["chosen"] = out["count_scan"]
        out["chosen_p"] = p_scan
        out["chosen_window"] = scanned["window"]
    out["benchmark_expected"] = expected
    family.results["chosen_method"] = chosen
    return out


def poisson_cusum(y: np.ndarray, expected: np.ndarray, direction: int) -> np.ndarray:
    """S_t = max(0, S_{t-1} + y log r - (r - 1) m) for r = 2 (a rise) or 1/2 (a fall)."""
    ratio = 2.0 if direction > 0 else 0.5
    out = np.full(y.shape, np.nan)
    running = np.zeros(y.shape[0])
    for t in range(y.shape[1]):
        m = expected[:, t]
        ok = np.isfinite(m) & ~np.isnan(y[:, t])
        step = y[:, t] * math.log(ratio) - (ratio - 1) * np.where(ok, m, 0.0)
        running = np.where(ok, np.maximum(0.0, running + step), 0.0)
        out[:, t] = np.where(ok, running, np.nan)
    return out


# --- false alarms -------------------------------------------------------------------------

METHODS = ["chosen", "count_scan", "seasonal_glm", "ears_c1", "ears_c2", "ears_c3", "nb_cusum"]


def _runs(flags: np.ndarray) -> np.ndarray:
    """Per series, the number of runs of consecutive flagged periods."""
    f = np.nan_to_num(flags, nan=0.0) > 0
    starts = f & ~np.concatenate([np.zeros((f.shape[0], 1), bool), f[:, :-1]], axis=1)
    return starts.sum(1)


def false_alarms(family: Family) -> list[dict]:
    """Per detector and level: tested periods, flagged periods, rate, and the worst series
    (binomial tail probability of its number of flagged runs under the nominal rate)."""
    from scipy import stats

    ranks = family.results.get("levels") or levels(family, family.y)
    family.results["levels"] = ranks
    rows = []
    for method in METHODS:
        if method not in ranks:
            continue
        r = ranks[method]
        tested = ~np.isnan(r)
        n = int(tested.sum())
        if n == 0:
            continue
        for i, level in enumerate(LEVELS, start=1):
            flagged = tested & (np.nan_to_num(r) >= i)
            per_series_n = tested.sum(1)
            runs = _runs(np.where(flagged, 1.0, 0.0))
            alpha = LEVEL_ALPHA[level]
            tails = stats.binom.sf(runs - 1, per_series_n, alpha)
            rows.append(
                {
                    "family": family.name,
                    "source": family.source,
                    "grain": family.grain,
                    "method": chosen_label(family) if method == "chosen" else method,
                    "is_chosen": method == "chosen",
                    "level": level,
                    "nominal": alpha,
                    "tested": n,
                    "series": int((per_series_n > 0).sum()),
                    "flagged": int(flagged.sum()),
                    "rate": float(flagged.sum() / n),
                    "worst_series_tail": float(np.min(np.where(per_series_n > 0, tails, 1.0))),
                }
            )
    return rows


# --- power ----------------------------------------------------------------------------------


def plant(family: Family, rise: float, length: int, rng: np.random.Generator):
    """Real counts plus one planted rise per series (Poisson extra events, mean = rise x the
    baseline mean at the start); returns the planted matrix and each series' start."""
    y = family.y.copy()
    tested = ~np.isnan(family.results["levels"]["chosen"])
    baseline = family.results["levels"]["benchmark_expected"]
    starts = np.full(y.shape[0], -1)
    for i in range(y.shape[0]):
        ok = np.flatnonzero(tested[i, : y.shape[1] - length + 1])
        ok = (
            ok[np.all(np.isfinite(baseline[i, ok[:, None] + np.arange(length)]), axis=1)]
            if ok.size
            else ok
        )
        if ok.size == 0:
            continue
        t0 = int(rng.choice(ok))
        starts[i] = t0
        mean = rise * np.maximum(baseline[i, t0 : t0 + length], 0.0)
        extra = rng.poisson(mean)
        y[i, t0 : t0 + length] += family.direction * np.minimum(
            extra, y[i, t0 : t0 + length] if family.direction < 0 else extra
        )
    return y, starts


def matched_threshold(null: np.ndarray, rate: float) -> float:
    """The lowest threshold at which the benchmark flags at most `rate` of the null periods
    (ties included: a threshold on a tied value counts every tie)."""
    values = np.unique(null)
    exceed = 1.0 - np.searchsorted(np.sort(null), values, side="left") / null.size
    ok = values[exceed <= rate]
    return float(ok[0]) if ok.size else float(np.inf)


def chosen_label(family: Family) -> str:
    if family.grain == "month" and family.results.get("chosen_method") == "seasonal_glm":
        return "chosen: seasonal_glm (count_scan before 3 years)"
    return f"chosen: {family.results.get('chosen_method', 'count_scan')}"


def power(family: Family, rises: list[float], length: int, rounds: int, seed: int) -> list[dict]:
    """Power of every detector and of the benchmark CUSUM at the chosen detector's rate."""
    ranks = family.results.get("levels") or levels(family, family.y)
    family.results["levels"] = ranks
    rng = np.random.default_rng(seed)
    tested = ~np.isnan(ranks["chosen"])
    bench_null = poisson_cusum(family.y, ranks["benchmark_expected"], family.direction)[tested]
    rows = []
    for rise in rises:
        caught = {m: [] for m in METHODS if m in ranks}
        bench = []
        for _ in range(rounds):
            y, starts = plant(family, rise, length, rng)
            planted = levels(family, y)
            planted_bench = poisson_cusum(y, ranks["benchmark_expected"], family.direction)
            for i, t0 in enumerate(starts):
                if t0 < 0:
                    continue
                window = slice(t0, t0 + length)
                for m in caught:
                    caught[m].append(np.nan_to_num(np.nanmax(planted[m][i, window]), nan=0.0))
                bench.append(np.nan_to_num(np.nanmax(planted_bench[i, window]), nan=0.0))
        bench = np.array(bench)
        for i, level in enumerate(LEVELS, start=1):
            rate = float(np.mean(np.nan_to_num(ranks["chosen"][tested]) >= i))
            h = matched_threshold(bench_null, rate)
            matched = float(np.mean(bench_null >= h))
            for m, values in caught.items():
                rows.append(
                    {
                        "family": family.name,
                        "grain": family.grain,
                        "rise": rise,
                        "length": length,
                        "method": chosen_label(family) if m == "chosen" else m,
                        "is_chosen": m == "chosen",
                        "level": level,
                        "plantings": len(values),
                        "power": float(np.mean(np.array(values) >= i)),
                    }
                )
            rows.append(
                {
                    "family": family.name,
                    "grain": family.grain,
                    "rise": rise,
                    "length": length,
                    "method": "poisson_cusum_at_same_rate",
                    "is_chosen": False,
                    "level": level,
                    "plantings": len(bench),
                    "power": float(np.mean(bench >= h)),
                    "benchmark_rate": matched,
                    "chosen_power": float(np.mean(np.array(caught["chosen"]) >= i)),
                }
            )
    return rows


def pooled(families: list[Family], name: str) -> Family:
    """One family of several on the same grid and direction (e.g. a city's daily board)."""
    first = families[0]
    assert all(f.dates == first.dates and f.direction == first.direction for f in families)
    return Family(
        name,
        first.grain,
        first.dates,
        np.vstack([f.y for f in families]),
        np.concatenate([f.area_types for f in families]),
        first.direction,
        first.source,
        groups=np.concatenate([np.full(f.y.shape[0], f.name) for f in families]),
    )


# --- false discoveries across a city's areas ------------------------------------------------


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH adjusted p-values of each column of p (one column = one period's family); NaN
    entries are not tests. Same rule as int_early_warning_fdr."""
    q = np.full(p.shape, np.nan)
    for t in range(p.shape[1]):
        column = p[:, t]
        tested = np.flatnonzero(~np.isnan(column))
        m = tested.size
        if m == 0:
            continue
        order = tested[np.argsort(column[tested], kind="stable")]
        scaled = column[order] * m / np.arange(1, m + 1)
        q[order, t] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q


def reported_ranks(p: np.ndarray) -> np.ndarray:
    """Reported level rank after BH (0 none .. 3 alert), as int_early_warning_fdr."""
    q = benjamini_hochberg(p)
    r = np.zeros(p.shape)
    for i, level in enumerate(LEVELS, start=1):
        r = np.where((p <= LEVEL_ALPHA[level]) & (q <= FDR_Q[level]), i, r)
    return np.where(np.isnan(p), np.nan, r)


def simulated_null(family: Family, seed: int) -> Family:
    """A family like the real one with no change anywhere: negative binomial counts with each
    series' own mean and day-to-day dispersion (variance / mean of its counts around a centred
    moving average, floored at 1), times the family's calendar intensity."""
    rng = np.random.default_rng(seed)
    y = np.nan_to_num(family.y)
    intensity = intensity_of(family, family.y)
    if family.grain == "month":
        intensity = np.ones(y.shape)
    intensity = np.where(np.isfinite(intensity), intensity, 1.0)
    intensity = intensity / intensity.mean(axis=1, keepdims=True)
    width = {"day": 29, "week": 9, "month": 7}[family.grain]
    kernel = np.ones(width) / width
    out = np.empty(y.shape)
    for i in range(y.shape[0]):
        mean = y[i].mean()
        local = np.convolve(np.pad(y[i], width // 2, mode="edge"), kernel, mode="valid")
        phi = max(1.0, np.mean((y[i] - local) ** 2) / max(mean, 1e-9))
        mu = np.maximum(mean * intensity[i], 1e-9)
        if phi > 1.0 + 1e-9:
            size = mu / (phi - 1)
            out[i] = rng.negative_binomial(size, size / (size + mu))
        else:
            out[i] = rng.poisson(mu)
    return Family(
        f"{family.name}, simulated with no change",
        family.grain,
        family.dates,
        np.where(np.isnan(family.y), np.nan, out),
        family.area_types,
        family.direction,
        "simulation",
        groups=family.groups,
    )


def false_discoveries(
    family: Family, rise: float, length: int, rounds: int, seed: int, shuffle: bool = False
) -> list[dict]:
    """Measured FDR = mean over periods of V / max(R, 1) after BH across the family's series,
    with one planted rise per series per round. A flag is true when the window it reports
    overlaps the planted rise; every other flag counts as false:
    on real series that is an upper bound (real events count too); with each series' periods
    shuffled first (real events and clustering destroyed) it is exact."""
    rng = np.random.default_rng(seed)
    base = family
    v = {level: [] for level in LEVELS}
    v_low = {level: [] for level in LEVELS}
    r_all = {level: [] for level in LEVELS}
    if "levels" not in family.results:
        family.results["levels"] = levels(family, family.y)
    unplanted = reported_ranks(family.results["levels"]["chosen_p"])
    for _ in range(rounds):
        if shuffle:
            y0 = family.y.copy()
            for i in range(y0.shape[0]):
                y0[i] = rng.permutation(y0[i])
            base = Family(
                family.name,
                family.grain,
                family.dates,
                y0,
                family.area_types,
                family.direction,
                family.source,
                groups=family.groups,
            )
            base.results["levels"] = levels(base, base.y)
        elif "levels" not in family.results:
            family.results["levels"] = levels(family, family.y)
        y, starts = plant(base, rise, length, rng)
        result = levels(base, y)
        ranks = reported_ranks(result["chosen_p"])
        # a flag is true when its window (the periods it is about) overlaps the planted rise
        window = np.nan_to_num(result["chosen_window"], nan=1.0)
        t = np.arange(y.shape[1])[None, :]
        t0 = starts[:, None]
        planted = (t0 >= 0) & (t >= t0) & (t - window + 1 <= t0 + length - 1)
        for i, level in enumerate(LEVELS, start=1):
            flagged = np.nan_to_num(ranks) >= i
            already = np.nan_to_num(unplanted) >= i if not shuffle else np.zeros_like(flagged)
            v[level].append((flagged & ~planted).sum(0))
            # lower bound: flags the real series raise without any planting count as true
            v_low[level].append((flagged & ~planted & ~already).sum(0))
            r_all[level].append(flagged.sum(0))
    rows = []
    for level in LEVELS:
        vv, rr = np.concatenate(v[level]), np.concatenate(r_all[level])
        low = np.concatenate(v_low[level])
        rows.append(
            {
                "family": family.name,
                "shuffled": shuffle,
                "level": level,
                "target": FDR_Q[level],
                "periods": int(vv.size),
                "reported": int(rr.sum()),
                "false": int(vv.sum()),
                "fdr": float(np.mean(np.where(rr > 0, vv / np.maximum(rr, 1), 0.0))),
                "fdr_lower": float(np.mean(np.where(rr > 0, low / np.maximum(rr, 1), 0.0))),
            }
        )
    return rows


# --- the tables of ANALYTICS.md ------------------------------------------------------------

POWER_ROUNDS = {"day": 10, "week": 10, "month": 10}
HISTORY_ROUNDS = {"day": 3, "week": 6, "month": 5}
RISES = {"day": [0.5, 1.0, 2.0], "week": [0.5, 1.0, 2.0], "month": [1.0]}
LENGTH = {"day": 3, "week": 3, "month": 1}
MARKERS = ("<!-- calibration:{name}:start -->", "<!-- calibration:{name}:end -->")


def boards(families: list[Family]) -> list[Family]:
    """A city's families of one grain and direction pooled: the set of series one board shows
    and one false-discovery family tests together."""
    groups: dict[tuple, list[Family]] = {}
    for f in families:
        city = f.name.split(" ")[0]
        groups.setdefault((city, f.grain, f.direction, tuple(f.dates)), []).append(f)
    out = []
    for (city, grain, _direction, _), members in sorted(groups.items(), key=lambda g: g[0][:3]):
        if len(members) == 1:
            out.append(members[0])
            continue
        names = ", ".join(m.name.split(" ")[1] for m in members)
        out.append(pooled(members, f"{city} {grain} board ({names})"))
    return out


def compute(con: duckdb.DuckDBPyConnection) -> dict:
    """Every table: false alarms (warehouse families, boards, long histories), power, FDR."""
    warehouse = warehouse_families(con)
    history = fixture_families()
    board_list = boards(warehouse)
    result = {"far": [], "power": [], "fdr": []}
    for family in warehouse + [b for b in board_list if b.groups is not None] + history:
        result["far"] += false_alarms(family)
    for family in board_list + warehouse + history:
        rounds = (POWER_ROUNDS if family.source == "warehouse" else HISTORY_ROUNDS)[family.grain]
        if family in warehouse and family not in board_list:
            # per-indicator rows: the chosen detector and the benchmark only
            rows = power(family, RISES[family.grain], LENGTH[family.grain], rounds, seed=7)
            rows = [
                r for r in rows if r["is_chosen"] or r["method"] == "poisson_cusum_at_same_rate"
            ]
        else:
            rows = power(family, RISES[family.grain], LENGTH[family.grain], rounds, seed=7)
        result["power"] += rows
    for family in board_list:
        if family.grain != "day":
            continue
        result["fdr"] += false_discoveries(family, 2.0, 3, 5, seed=11)
        result["fdr"] += [
            {**r, "family": f"{family.name}, simulated with no change"}
            for r in false_discoveries(simulated_null(family, 13), 2.0, 3, 5, seed=11)
        ]
    return result


def _pct(x: float) -> str:
    return f"{100 * x:.3f} %"


def render(result: dict) -> dict[str, str]:
    far = [
        "| series | detector | tested periods | watch (2.5 %) | warning (0.5 %) | alert (0.1 %) |",
        "|---|---|---|---|---|---|",
    ]
    keyed: dict[tuple, dict] = {}
    for r in result["far"]:
        keyed.setdefault((r["family"], r["method"], r["is_chosen"]), {})[r["level"]] = r
    for (family, method, chosen), by_level in keyed.items():
        cells = [f"{_pct(by_level[lv]['rate'])} ({by_level[lv]['flagged']})" for lv in LEVELS]
        name = f"**{method}**" if chosen else method
        far.append(
            f"| {family} | {name} | {by_level['watch']['tested']:,} | " + " | ".join(cells) + " |"
        )
    power_rows = [
        "| series | rise | detector | plantings | watch | warning | alert |",
        "|---|---|---|---|---|---|---|",
    ]
    keyed = {}
    for r in result["power"]:
        keyed.setdefault((r["family"], r["rise"], r["length"], r["method"], r["is_chosen"]), {})[
            r["level"]
        ] = r
    for (family, rise, length, method, chosen), by_level in keyed.items():
        unit = {1: "one period"}.get(length, f"{length} periods")
        if method == "poisson_cusum_at_same_rate":
            name = "Poisson CUSUM at the chosen detector's rate"
            cells = [
                f"{by_level[lv]['power']:.3f} (chosen {by_level[lv]['chosen_power']:.3f})"
                for lv in LEVELS
            ]
        else:
            name = f"**{method}**" if chosen else method
            cells = [f"{by_level[lv]['power']:.3f}" for lv in LEVELS]
        power_rows.append(
            f"| {family} | +{100 * rise:.0f} % over {unit} | {name} | "
            f"{by_level['watch']['plantings']:,} | " + " | ".join(cells) + " |"
        )
    fdr = [
        "| series | level (target) | periods | reported | false (upper bound) "
        "| FDR upper bound | FDR lower bound |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["fdr"]:
        fdr.append(
            f"| {r['family']} | {r['level']} ({100 * r['target']:.0f} %) | {r['periods']:,} | "
            f"{r['reported']:,} | {r['false']:,} | {_pct(r['fdr'])} | {_pct(r['fdr_lower'])} |"
        )
    return {"far": "\n".join(far), "power": "\n".join(power_rows), "fdr": "\n".join(fdr)}


def replace_block(text: str, name: str, body: str) -> str:
    start, end = (m.format(name=name) for m in MARKERS)
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{body}\n{end}{after}"


def read_block(text: str, name: str) -> str:
    start, end = (m.format(name=name) for m in MARKERS)
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def main(argv: list[str]) -> int:
    import os

    warehouse = os.environ.get("CIVIC_WAREHOUSE") or str(REPO / "warehouse" / "civic.duckdb")
    con = duckdb.connect(warehouse, read_only=True)
    tables = render(compute(con))
    con.close()
    if "--write" in argv:
        text = ANALYTICS_MD.read_text()
        for name, body in tables.items():
            text = replace_block(text, name, body)
        ANALYTICS_MD.write_text(text)
        print(f"wrote the calibration tables of {ANALYTICS_MD}")
    else:
        for name, body in tables.items():
            print(f"## {name}\n{body}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
