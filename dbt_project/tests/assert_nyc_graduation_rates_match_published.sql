-- NYC school graduation rates are computed as graduates / cohort size x 100; they must equal
-- the percent the DOE publishes to its one-decimal rounding (|difference| <= 0.05).
select
    school_id,
    cohort_year,
    graduates,
    cohort_size,
    published_graduation_pct,
    100.0 * graduates / cohort_size as computed_pct
from {{ ref('int_nyc_graduation_cohorts') }}
where not is_suppressed
  and (
      published_graduation_pct is null
      or abs(100.0 * graduates / cohort_size - published_graduation_pct) > 0.05 + 1e-9
  )
