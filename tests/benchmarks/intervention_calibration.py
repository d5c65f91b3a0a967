"""How often the intervention evaluations find a change when there is none, and how often
their intervals cover a change that was planted (figures for ANALYTICS.md, "Evaluating local
interventions"). Not part of the tests (tests/test_intervention_effects.py runs a smaller
version of the same with assertions).

    uv run python tests/benchmarks/intervention_calibration.py [warehouse] \
        [--placebo N] [--planted N]

Difference in differences: through dbt, on a copy of a built warehouse (default
warehouse/civic.duckdb), with N placebo interventions (random 1-6 non-Cure NYC precincts,
random start months, nothing planted) and N planted ones (a 40 % fall planted by binomial
thinning), on the real precinct series of NYPD shootings 2006-2019.
Interrupted time series: the Python model's functions on the real citywide monthly series
(NYC shootings) at every start month the data allow, and on simulated series.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intervention_planting import (  # noqa: E402
    draw_cases,
    effects,
    plant,
    precinct_months,
    run_evaluation_models,
)

from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT  # noqa: E402

ITS_MODEL = DBT_PROJECT_DIR / "models" / "intermediate" / "int_intervention_its_fits.py"
NOT_ENOUGH = "too early / not enough data"


def its_module():
    spec = importlib.util.spec_from_file_location("its", ITS_MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def window(start: pd.Timestamp, pre: int, post: int) -> dict:
    return {
        "grain": "month",
        "start": start,
        "pre_first": start - pd.DateOffset(months=pre),
        "pre_last": start - pd.DateOffset(months=1),
        "post_first": start,
        "post_last": start + pd.DateOffset(months=post - 1),
    }


def did_rates(warehouse: Path, n_placebo: int, n_planted: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "copy.duckdb"
        shutil.copy(warehouse, copy)
        cases = draw_cases("placebo", n_placebo, 1.0, seed=101) + draw_cases(
            "planted", n_planted, 0.6, seed=202
        )
        started = time.monotonic()
        plant(copy, cases)
        run_evaluation_models(copy)
        print(f"dbt run of the intervention models: {time.monotonic() - started:.0f} s")
        placebo = effects(copy, "placebo")
        planted = effects(copy, "planted")
    evaluated = placebo[placebo["verdict"] != NOT_ENOUGH]
    share = (evaluated["verdict"] == "no change detected").mean()
    failed_check = (evaluated["design_check_passed"] == False).mean()  # noqa: E712
    print(
        f"DiD placebo: {len(placebo)} dates, {len(evaluated)} evaluated, "
        f"no change detected {share:.1%} (nominal 95 %), parallel-trends check failed "
        f"{failed_check:.1%} (nominal 5 %)"
    )
    evaluated = planted[planted["verdict"] != NOT_ENOUGH]
    covered = (evaluated["change_lower_pct"] <= -40) & (evaluated["change_upper_pct"] >= -40)
    detected = (evaluated["verdict"] == "improved").mean()
    print(
        f"DiD planted -40 %: {len(evaluated)} evaluated, interval covers -40 %: "
        f"{covered.mean():.1%}, detected as improved: {detected:.1%}, median estimate "
        f"{evaluated['change_pct'].median():+.1f} %"
    )


def nyc_shootings() -> pd.DataFrame:
    series = precinct_months().groupby("month", as_index=False)["events"].sum()
    return pd.DataFrame(
        {
            "period_start": pd.to_datetime(series["month"]),
            "event_count": series["events"],
            "exposure": None,
        }
    )


def chicago_homicides() -> pd.DataFrame:
    """Citywide homicide victims by month, 2001-01 to 2023-06, from the bundled records."""
    import duckdb

    path = PROJECT_ROOT / "sources" / "chicago" / "homicides_2001_2023.csv.gz"
    with duckdb.connect() as con:
        frame = con.execute(
            "select date_trunc('month', strptime(\"Date\", '%m/%d/%Y %I:%M:%S %p'))::date as m, "
            "count(*) as n from read_csv(?, all_varchar = true, header = true) "
            "group by 1 having m < date '2023-07-01' order by 1",
            [str(path)],
        ).df()
    return pd.DataFrame(
        {"period_start": pd.to_datetime(frame["m"]), "event_count": frame["n"], "exposure": None}
    )


def its_real_rates(name: str, history: pd.DataFrame, pre: int = 60, post: int = 36) -> None:
    its = its_module()
    starts = history["period_start"].iloc[pre : len(history) - post + 1]
    model_flags = calibrated = calibrated_flags = 0
    for start in starts:
        fit = its.evaluate(history, window(start, pre, post))
        excludes = fit["log_ratio_lower"] > 0 or fit["log_ratio_upper"] < 0
        model_flags += excludes
        if fit["placebo_p_value"] is not None:  # else the verdict is "too early"
            calibrated += 1
            calibrated_flags += excludes and fit["placebo_p_value"] < 0.05
    rate = f"{calibrated_flags / calibrated:.1%}" if calibrated else "n/a"
    print(
        f"ITS on {name}, {len(starts)} start months ({pre} before, {post} after): "
        f"the model interval alone excludes no change at {model_flags / len(starts):.1%}; "
        f"{calibrated} starts have 24+ placebo starts, and there the verdict says improved or "
        f"worsened at {rate} ({calibrated_flags}); the others are too early / not enough data"
    )


def its_simulated_rate(n: int = 500) -> None:
    its = its_module()
    rng = np.random.default_rng(7)
    months = pd.date_range("2010-01-01", periods=96, freq="MS")
    flags = 0
    for _ in range(n):
        noise = np.zeros(96)
        for i in range(1, 96):
            noise[i] = 0.3 * noise[i - 1] + rng.normal(0, 0.08)
        t = np.arange(96) / 12
        mu = np.exp(np.log(60) - 0.05 * t + 0.2 * np.sin(2 * np.pi * np.arange(96) / 12) + noise)
        y = rng.poisson(mu * rng.gamma(20, 1 / 20, 96))
        history = pd.DataFrame({"period_start": months, "event_count": y, "exposure": None})
        fit = its.evaluate(
            history, window(pd.Timestamp("2015-01-01"), 60, 36), min_placebo_dates=10**6
        )
        flags += fit["log_ratio_lower"] > 0 or fit["log_ratio_upper"] < 0
    print(
        f"ITS on {n} simulated series without a change: "
        f"interval excludes no change at {flags / n:.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "warehouse", nargs="?", default=str(PROJECT_ROOT / "warehouse" / "civic.duckdb")
    )
    parser.add_argument("--placebo", type=int, default=500)
    parser.add_argument("--planted", type=int, default=200)
    args = parser.parse_args()
    if args.placebo or args.planted:
        did_rates(Path(args.warehouse), args.placebo, args.planted)
    for name, history in (
        ("NYC citywide shootings 2006-2019", nyc_shootings()),
        ("Chicago citywide homicides 2001-2023", chicago_homicides()),
    ):
        its_real_rates(name, history)
        its_real_rates(name, history, 36, 24)
    its_simulated_rate()


if __name__ == "__main__":
    main()
