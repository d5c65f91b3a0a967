-- School graduation rates computed as graduates / cohort size x 100 equal the percent the
-- publisher prints, to its one-decimal rounding (|difference| <= 0.05), wherever both are
-- published (NYC DOE); a cohort with counts but no printed percent is flagged too.
select
    city,
    school_id,
    graduation_year,
    graduates,
    cohort_size,
    published_graduation_pct,
    graduation_rate_pct as computed_pct
from {{ ref('int_graduation_cohorts') }}
where has_counts
  and (
      published_graduation_pct is null
      or abs(graduation_rate_pct - published_graduation_pct) > 0.05 + 1e-9
  )
