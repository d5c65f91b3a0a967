"""Count-series detectors for every period of every series of int_early_warning_series.

Per family of series (one city, grain and indicator: the same definition in every area):
the intensity of each period (what the count is expected to follow), the conditional window
scan (one-sided p-value for a rise, or a fall when worse_sign = -1, with the window that
gave it and its observed and expected counts) and the negative-binomial CUSUM statistic.

Intensity: for days and weeks the calendar (weekday, first of the month, 1 January); for
months the count of the rest of the city's areas of the same type, so an area is tested on
its share of the city: seasons and citywide swings move every area and cancel, which a
7-month baseline could not separate from a change. Citywide monthly series have nothing to
be relative to and are left to the seasonal GLM (int_early_warning_seasonal) once three
years exist. Monthly counts of an indicator that also has daily series in the city (crime)
are watched day by day instead (the scan's 7-day window); a month-on-7-months test of them
adds no power and cannot tell a seasonal or structural shift from an outbreak, so they get
no count-scan rows here (the seasonal GLM still tests them once three years exist).
Methods and settings: pipelines/statistics/detection.py and ANALYTICS.md ("Detectors").
Settings per grain can be changed with the var ew_detector_overrides, a JSON object such as
'{"day": {"baseline": 21, "windows": [1, 3]}}'.
"""

import datetime as dt
import json

import numpy as np
import pandas as pd

from pipelines.statistics.detection import ScanSettings, calendar_intensity, nb_cusum, scan
from pipelines.statistics.distributions import norm_isf

SERIES_KEY = ["city", "area_type", "area_id", "indicator_id", "breakdown_type", "breakdown_value"]
GRAIN_SETTINGS = {
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
OUTPUT_COLUMNS = [
    *SERIES_KEY,
    "series_grain",
    "period_start",
    "intensity",
    "scan_p",
    "scan_z",
    "scan_window",
    "scan_observed",
    "scan_expected",
    "scan_dispersion",
    "cusum_statistic",
    "cusum_expected",
]


def settings_for(grain: str, overrides: dict) -> ScanSettings:
    base = GRAIN_SETTINGS[grain]
    changes = dict(overrides.get(grain, {}))
    if "windows" in changes:
        changes["windows"] = tuple(int(w) for w in changes["windows"])
    return ScanSettings(**{**base.__dict__, **changes})


def period_grid(first: dt.date, last: dt.date, grain: str) -> list[dt.date]:
    if grain == "month":
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        return [
            dt.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
            for i in range(months)
        ]
    step = 7 if grain == "week" else 1
    return [first + dt.timedelta(days=d) for d in range(0, (last - first).days + 1, step)]


def rest_of_city(y: np.ndarray, area_types: np.ndarray) -> np.ndarray:
    """For each area series, the total of the other areas of its type (NaN for the city)."""
    counts = np.where(np.isnan(y), 0.0, y)
    out = np.full(y.shape, np.nan)
    for area_type in np.unique(area_types):
        if area_type == "city":
            continue
        rows = np.flatnonzero(area_types == area_type)
        if rows.size < 2:
            continue
        total = counts[rows].sum(axis=0)
        out[rows] = total[None, :] - counts[rows]
    return out


def family_rows(family: pd.DataFrame, grain: str, settings: ScanSettings) -> pd.DataFrame:
    dates = period_grid(family.period_start.min(), family.period_start.max(), grain)
    matrix = (
        family.set_index([*SERIES_KEY, "period_start"])["observed"]
        .unstack("period_start")
        .reindex(columns=dates)
    )
    y = matrix.to_numpy(dtype=float)
    direction = int(family.worse_sign.iloc[0])
    if grain == "month":
        intensity = rest_of_city(y, matrix.index.get_level_values("area_type").to_numpy())
    else:
        intensity = np.broadcast_to(calendar_intensity(dates, grain, y), y.shape)
    scanned = scan(y, intensity, settings, direction)
    cusum = nb_cusum(y, intensity, settings, direction)
    columns = {
        "intensity": intensity,
        "scan_p": scanned["p"],
        # the p-value as a normal deviate: comparable across series, larger = worse
        "scan_z": norm_isf(scanned["p"]),
        "scan_window": scanned["window"],
        "scan_observed": scanned["observed"],
        "scan_expected": scanned["expected"],
        "scan_dispersion": scanned["dispersion"],
        "cusum_statistic": cusum["statistic"],
        "cusum_expected": cusum["expected"],
    }
    keys = matrix.index.to_frame(index=False)
    rows, cols = np.nonzero(~np.isnan(y))
    out = keys.iloc[rows].reset_index(drop=True)
    out["series_grain"] = grain
    out["period_start"] = [dates[c] for c in cols]
    for name, values in columns.items():
        out[name] = values[rows, cols]
    return out


def model(dbt, session):
    dbt.config(materialized="table")
    overrides = json.loads(dbt.config.get("detector_overrides") or "{}")
    series = dbt.ref("int_early_warning_series").df()
    series["period_start"] = pd.to_datetime(series["period_start"]).dt.date
    # pandas groups on null keys only with dropna=False; the city rows have area_id set
    daily = set(
        map(tuple, series.loc[series.series_grain == "day", ["city", "indicator_id"]].values)
    )
    frames = []
    for (city, grain, indicator), family in series.groupby(
        ["city", "series_grain", "indicator_id"], dropna=False, sort=True
    ):
        if grain == "month" and (city, indicator) in daily:
            continue
        for _, same_direction in family.groupby("worse_sign"):
            frames.append(family_rows(same_direction, grain, settings_for(grain, overrides)))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in OUTPUT_COLUMNS})
    result = pd.concat(frames, ignore_index=True)[OUTPUT_COLUMNS]
    result["scan_window"] = result["scan_window"].astype("Int64")
    return result
