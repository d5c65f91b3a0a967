-- Every city's published crime records, one row per record as published (one per offence, or
-- per victim where the file says so: incident_id then repeats), typed from the catalogs
-- (macros/canonical.sql). Rows a catalog filter puts out of scope keep `excluded_by`.
-- Incremental by load group (macros/incremental_loads.sql): a build reads and types only the
-- rows of raw loads it has not built yet.
{%- set groups = "raw_load_groups('crime_incidents')" %}
{%- set hook_args = "'stg_crime_incidents', " ~ groups ~ ", \"'rows'\"" %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ incremental_load_groups_prune(" ~ hook_args ~ ") }}",
    post_hook="{{ incremental_load_groups_record(" ~ hook_args ~ ") }}",
) }}
with
{%- if is_incremental() %}

rebuild as materialized (

    {{ incremental_load_groups_rebuild('stg_crime_incidents', raw_load_groups('crime_incidents'), "'rows'") }}

),
{%- endif %}

unioned as (

    {{ canonical_union('crime_incidents', rebuild='rebuild' if is_incremental() else none) }}

),

dated as (

    select
        * exclude (occurred_at),
        -- a separate time-of-day column completes the date (the portals' APIs give the date
        -- as a timestamp at midnight)
        case
            when occurred_time is not null then cast(occurred_at as date) + occurred_time
            else occurred_at
        end as occurred_at
    from unioned

)

select
    city, dataset, raw_table, dataset_priority, area_type, area, area_key,
    occurred_at,
    cast(occurred_at as date) as occurred_on,
    cast(date_trunc('month', occurred_at) as date) as occurred_month,
    incident_id, offense_type, offense_description, location_description,
    arrest as is_arrest, domestic as is_domestic, murder_flag as is_murder,
    offenses_file, dataset_indicators, coverage_first, coverage_last, excluded_by,
    _source_file, _load_id, _loaded_at
from dated
