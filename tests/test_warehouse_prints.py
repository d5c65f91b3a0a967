"""The warehouse fingerprint the run and storage tests rely on: float noise from parallel sums
is equal, a lost row, a changed text or a value moved to another row is not."""

import duckdb
import pytest
from warehouse_prints import table_prints

ROWS = [("a", 1, 1000.1), ("b", 2, 250.5), ("c", 3, None), ("d", 4, float("nan"))]


def prints_of(rows) -> dict:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("create table marts.t (area varchar, n integer, rate double, _load_id varchar)")
    con.executemany("insert into marts.t values (?, ?, ?, ?)", [(*r, "x") for r in rows])
    return table_prints(con, schemas=("marts",))


def test_last_bit_noise_and_load_ids_are_equal():
    noisy = [(a, n, r * (1 + 3e-15) if isinstance(r, float) else r) for a, n, r in ROWS]
    assert prints_of(noisy) == prints_of(ROWS)
    assert prints_of(list(reversed(ROWS))) == prints_of(ROWS)


@pytest.mark.parametrize(
    "changed",
    [
        ROWS[:-1],  # a row lost
        [("a", 1, 1000.1), ("b", 2, 250.6), *ROWS[2:]],  # a value changed
        [("a", 1, 250.5), ("b", 2, 1000.1), *ROWS[2:]],  # values swapped between rows
        [("a", 1, 1000.1), ("B", 2, 250.5), *ROWS[2:]],  # a text changed
        [*ROWS[:2], ("c", 3, 0.0), ROWS[3]],  # a null became a number
        [*ROWS[:3], ("d", 4, None)],  # NaN became null
    ],
)
def test_a_real_change_is_not_equal(changed):
    assert prints_of(changed) != prints_of(ROWS)
