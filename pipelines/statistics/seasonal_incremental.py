"""Incremental builds of int_early_warning_seasonal (the seasonal GLM of every monthly series).

A family is the matrix seasonal_glm fits at once: the monthly series of one city, indicator
and worse_sign on one month grid. The fits of a month are batched over the family's series
(the IRLS stops on the largest change over the batch), so a family is recomputed as a whole,
never one series of it. seasonal_glm is causal: the result of month t depends only on the
family's counts up to t (the fits of t and of the residual_history months before it, each
on the 12 * years months ending guard months earlier), the calendar and the method.

Every output row therefore carries glm_input_hash: a running hash of everything its family's
results up to its month depend on (settings, worse_sign, the method's code and library
versions; then month by month from the first month of the grid: the month and the key and
count of every series observed in it). A stored row whose hash equals its month's current
hash is what a full build gives today, bit for bit. Per family, the stored months are kept
up to the first one whose hash differs or is gone; from the month after the last one kept,
everything is recomputed, on the matrix cut to the context those months need
(context_months) and fitting only the months whose prediction errors their inflation uses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy

from pipelines.statistics import distributions, seasonal
from pipelines.statistics.distributions import norm_isf
from pipelines.statistics.seasonal import SeasonalSettings, seasonal_glm

SERIES_KEY = ["city", "area_type", "area_id", "indicator_id", "breakdown_type", "breakdown_value"]
FAMILY_KEY = ["city", "indicator_id", "worse_sign"]
# the rows an incremental build replaces at once (the unique_key of the dbt model): the stored
# table has no worse_sign, so a city and indicator is the unit, whatever its families
UNIT_KEY = ["city", "indicator_id"]
RESULTS = {
    "glm_p": "p",
    "glm_expected": "expected",
    "glm_dispersion": "dispersion",
    "glm_inflation": "inflation",
    "glm_trend": "trend",
    "glm_df": "df",
}
OUTPUT_COLUMNS = [
    *SERIES_KEY,
    "series_grain",
    "period_start",
    "glm_p",
    "glm_z",
    "glm_expected",
    "glm_dispersion",
    "glm_inflation",
    "glm_trend",
    "glm_df",
    "glm_input_hash",
]
SCHEMA = pa.schema(
    [(c, pa.string()) for c in [*SERIES_KEY, "series_grain"]]
    + [("period_start", pa.date32())]
    + [(c, pa.float64()) for c in ["glm_p", "glm_z", "glm_expected", "glm_dispersion"]]
    + [("glm_inflation", pa.float64()), ("glm_trend", pa.bool_()), ("glm_df", pa.float64())]
    + [("glm_input_hash", pa.int64())]
)
# bump when the hash itself changes meaning
HASH_VERSION = 1


@dataclass
class Family:
    key: tuple
    series: pd.DataFrame  # SERIES_KEY of each row of y
    dates: list[dt.date]
    y: np.ndarray  # series x months, NaN where a series has no count
    hashes: np.ndarray  # int64 per month: glm_input_hash of the rows of that month


def settings_from(overrides: str | None) -> SeasonalSettings:
    """SeasonalSettings with the fields of a JSON object (the var ew_seasonal_overrides)."""
    return SeasonalSettings(**{**asdict(SeasonalSettings()), **json.loads(overrides or "{}")})


def context_months(settings: SeasonalSettings) -> int:
    """Months before t that the result of month t depends on: its inflation uses the
    residual_history predictions before it, each fitted on 12 * years months ending guard
    months before the predicted one."""
    return settings.guard + 12 * settings.years + settings.residual_history


def month_grid(first: dt.date, last: dt.date) -> list[dt.date]:
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return [
        dt.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(months)
    ]


def _method_digest(settings: SeasonalSettings, worse_sign: int) -> bytes:
    """What every result depends on besides the counts. The code and library versions are in
    it so that a changed method never keeps stale rows, even without --full-refresh."""
    method = hashlib.blake2b(digest_size=16)
    method.update(json.dumps([HASH_VERSION, asdict(settings), worse_sign], sort_keys=True).encode())
    method.update(f"numpy {np.__version__} scipy {scipy.__version__}".encode())
    for module in (seasonal, distributions):
        method.update(Path(module.__file__).read_bytes())
    method.update(Path(__file__).read_bytes())
    return method.digest()


def _key_ids(series: pd.DataFrame) -> np.ndarray:
    """A stable 64-bit id of each series key (None and NaN both read as missing)."""
    ids = [
        hashlib.blake2b(
            "\x1f".join("\x00" if pd.isna(v) else str(v) for v in key).encode(), digest_size=8
        ).digest()
        for key in series.itertuples(index=False)
    ]
    return np.frombuffer(b"".join(ids), dtype=np.uint64)


def input_hashes(
    series: pd.DataFrame, dates: list[dt.date], y: np.ndarray, method: bytes
) -> np.ndarray:
    """The running hash of the family's inputs through each month (int64 per column)."""
    ids = _key_ids(series)
    observed = ~np.isnan(y)
    running = hashlib.blake2b(method, digest_size=8)
    out = np.empty(len(dates), dtype=np.int64)
    for t, date in enumerate(dates):
        rows = observed[:, t]
        running.update(date.isoformat().encode())
        running.update(np.int64(rows.sum()).tobytes())
        running.update(ids[rows].tobytes())
        running.update(np.ascontiguousarray(y[rows, t]).tobytes())
        out[t] = int.from_bytes(running.copy().digest(), "little", signed=True)
    return out


def families(series: pd.DataFrame, settings: SeasonalSettings) -> list[Family]:
    """The monthly series (columns SERIES_KEY, period_start as dates, observed, worse_sign)
    as the matrices seasonal_glm fits, sorted by FAMILY_KEY."""
    out = []
    for key, rows in series.groupby(FAMILY_KEY, sort=True):
        dates = month_grid(rows.period_start.min(), rows.period_start.max())
        matrix = (
            rows.set_index([*SERIES_KEY, "period_start"])["observed"]
            .unstack("period_start")
            .reindex(columns=dates)
        )
        y = matrix.to_numpy(dtype=float)
        keys = matrix.index.to_frame(index=False)
        hashes = input_hashes(keys, dates, y, _method_digest(settings, int(key[2])))
        out.append(Family(tuple(key), keys, dates, y, hashes))
    return out


def family_rows(family: Family, settings: SeasonalSettings, start: int = 0) -> pd.DataFrame:
    """The output rows of the family's months from column `start` on (exactly those of a
    full fit: the matrix is cut to the context those months need)."""
    dates = family.dates
    if len(dates) < 12 * settings.min_years + settings.guard + 1 or start >= len(dates):
        return _empty()
    fit_from = max(0, start - settings.residual_history)
    first = max(0, fit_from - settings.guard - 12 * settings.years)
    cut = slice(first, None)
    months = np.array([d.month for d in dates[cut]])
    days = np.array(
        [((d.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - d).days for d in dates[cut]],
        dtype=float,
    )
    direction = int(family.key[2])
    fitted = seasonal_glm(family.y[:, cut], months, days, settings, direction, fit_from - first)
    tested = ~np.isnan(fitted["p"])
    tested[:, : start - first] = False
    rows, cols = np.nonzero(tested)
    out = family.series.iloc[rows].reset_index(drop=True)
    out["series_grain"] = "month"
    out["period_start"] = [dates[first + c] for c in cols]
    for name, key in RESULTS.items():
        out[name] = fitted[key][rows, cols]
    out["glm_z"] = norm_isf(out["glm_p"])
    out["glm_trend"] = out["glm_trend"].astype(bool)
    out["glm_input_hash"] = family.hashes[first + cols]
    return out[OUTPUT_COLUMNS]


def first_changed_column(family: Family, stored: pd.DataFrame) -> int:
    """The first column of the family whose stored rows cannot be kept (len(dates) when
    none): the column after the last of the leading stored months whose hash is current.
    stored: the family's stored rows (period_start, glm_input_hash)."""
    per_month = stored.groupby("period_start", sort=True)["glm_input_hash"]
    months = pd.DataFrame({"hash": per_month.first(), "hashes": per_month.nunique(dropna=False)})
    column = {d: i for i, d in enumerate(family.dates)}
    kept = -1
    for date, stored_hash, hashes in months.itertuples():
        i = column.get(date)
        # one hash for all rows of the month (several: rows of an earlier family)
        if i is None or hashes != 1 or pd.isna(stored_hash) or family.hashes[i] != stored_hash:
            break
        kept = i
    return kept + 1


def full_rows(series: pd.DataFrame, settings: SeasonalSettings) -> pa.Table:
    """Every output row (a full build)."""
    return _table([family_rows(f, settings) for f in families(_monthly(series), settings)])


def incremental_rows(
    series: pd.DataFrame, stored: pd.DataFrame, settings: SeasonalSettings
) -> pa.Table:
    """The rows that replace the stored rows of every city and indicator that changed (kept
    stored rows and recomputed ones), and a marker row (glm_input_hash null, deleted after
    the insert) for each one stored that now has no rows. Units not returned are current."""
    stored = _stored(stored)
    by_unit = {key: rows for key, rows in stored.groupby(UNIT_KEY, sort=False)}
    units: dict[tuple, list[Family]] = {}
    for family in families(_monthly(series), settings):
        units.setdefault(family.key[:2], []).append(family)
    tables = []
    for unit in sorted(set(units) | set(by_unit)):
        old = by_unit.get(unit, stored.iloc[:0])
        rows = _unit_rows(units.get(unit, []), old, settings)
        if rows is None:
            continue
        if rows:
            tables.append(_table(rows))
        elif len(old):
            tables.append(pa.Table.from_pylist([dict(zip(UNIT_KEY, unit, strict=True))], SCHEMA))
    return pa.concat_tables([SCHEMA.empty_table(), *tables])


def _unit_rows(unit: list[Family], old: pd.DataFrame, settings) -> list[pd.DataFrame] | None:
    """The unit's new rows (frames, empty when it has none), None when its stored rows
    are current."""
    if len(unit) != 1:
        # a vanished unit, or several worse_signs (never seen): stored rows cannot be told
        # apart by family, so everything is recomputed
        return [rows for f in unit if len(rows := family_rows(f, settings))]
    family = unit[0]
    start = first_changed_column(family, old)
    kept = old[old.period_start <= family.dates[start - 1]] if start else old.iloc[:0]
    # all months current, and none stored after the grid's last (withdrawn months)
    if start == len(family.dates) and len(kept) == len(old):
        return None
    return [
        rows for rows in (kept[OUTPUT_COLUMNS], family_rows(family, settings, start)) if len(rows)
    ]


def _table(frames: list[pd.DataFrame]) -> pa.Table:
    """The rows with the table's column types (also when there are none)."""
    tables = [pa.Table.from_pandas(f[OUTPUT_COLUMNS], SCHEMA, preserve_index=False) for f in frames]
    return pa.concat_tables([SCHEMA.empty_table(), *tables])


def _monthly(series: pd.DataFrame) -> pd.DataFrame:
    series = series[series.series_grain == "month"].copy()
    series["period_start"] = pd.to_datetime(series["period_start"]).dt.date
    return series


def _stored(stored: pd.DataFrame) -> pd.DataFrame:
    """The stored table as read back: dates as dates; a table built before the hash column
    existed has no current row."""
    stored = stored.copy()
    if "glm_input_hash" not in stored or stored["glm_input_hash"].dtype != np.int64:
        # absent (a table built before it), or with nulls (read as floats, rounded): no row
        # can be shown current
        stored["glm_input_hash"] = pd.NA
    stored["period_start"] = pd.to_datetime(stored["period_start"]).dt.date
    return stored


def _empty() -> pd.DataFrame:
    return SCHEMA.empty_table().to_pandas()
