-- The months (and calendar years) each record-level dataset covers completely, so a
-- partial first or last month never shows as a drop (e.g. a file ending on the 9th):
--   first complete month: the month of its first record if that is the 1st of the month,
--                         else the next month;
--   last complete month:  the month of its last record if that is the month's last day,
--                         else the month before;
-- or the catalog's `coverage` (first, last) where the dates alone cannot tell (sparse data).
-- Complete years: calendar years whose 12 months are all complete.
with records as (

    select city, dataset, dataset_priority, occurred_on as day, coverage_first, coverage_last
    from {{ ref('stg_crime_incidents') }}
    where excluded_by is null
    union all
    select city, dataset, dataset_priority, issued_on, coverage_first, coverage_last
    from {{ ref('stg_permits') }}
    where excluded_by is null

),

spans as (

    select
        city, dataset, dataset_priority,
        coalesce(min(coverage_first), min(day)) as first_day,
        coalesce(max(coverage_last), max(day)) as last_day,
        count(*) as records
    from records
    group by all

),

months as (

    select
        *,
        case
            when day(first_day) = 1 then cast(date_trunc('month', first_day) as date)
            else cast(date_trunc('month', first_day) + interval 1 month as date)
        end as first_month,
        case
            when last_day = last_day(last_day) then cast(date_trunc('month', last_day) as date)
            else cast(date_trunc('month', last_day) - interval 1 month as date)
        end as last_month
    from spans

)

select
    *,
    case when month(first_month) = 1 then year(first_month) else year(first_month) + 1 end
        as first_year,
    case when month(last_month) = 12 then year(last_month) else year(last_month) - 1 end
        as last_year
from months
where first_month <= last_month
