-- Units in words for the pages (seed unit_labels): a value is always shown with its unit and,
-- for flows (is_per_period), the period it is counted over ("per 100,000 residents per month").
select unit, unit_label, short_label, is_per_period
from {{ ref('unit_labels') }}
