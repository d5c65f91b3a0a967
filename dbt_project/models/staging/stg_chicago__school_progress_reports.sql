-- One row per school per progress report (school year). Only the identifying, location and
-- graduation columns are staged; the ~170 other published metrics stay in raw until an
-- indicator needs them.
with source as (

    select * from {{ source('raw', 'chicago_school_progress_reports') }}

),

renamed as (

    select
        {{ clean_text('school_id') }} as school_id,
        {{ to_integer('progress_report_year') }} as progress_report_year,
        -- 'chicago/school_progress_reports_sy2223.csv.gz' -> 'SY2223'
        upper(regexp_extract(_source_file, '(sy[0-9]{4})', 1)) as school_year,
        {{ clean_text('short_name') }} as short_name,
        {{ clean_text('long_name') }} as long_name,
        {{ clean_text('school_type') }} as school_type,
        {{ clean_text('primary_category') }} as primary_category,
        {{ clean_text('address') }} as address,
        -- SY1718 publishes no zip/latitude/longitude columns, only a combined `location`
        -- ('<street>\n<city> <zip>\n(<lat>, <lon>)'); fall back to it.
        coalesce(
            {{ clean_text('zip') }},
            nullif(regexp_extract(location, '\b([0-9]{5})\s*\n\s*\(', 1), '')
        ) as zip,
        coalesce(
            {{ to_double('school_latitude') }},
            cast(nullif(regexp_extract(location, '\(\s*(-?[0-9.]+)\s*,', 1), '') as double)
        ) as latitude,
        coalesce(
            {{ to_double('school_longitude') }},
            cast(nullif(regexp_extract(location, ',\s*(-?[0-9.]+)\s*\)', 1), '') as double)
        ) as longitude,
        -- 4-year cohort graduation rates in percent. Year_1 is the older and Year_2 the more
        -- recent of the two cohorts reported (verified, see int_school_graduation_rates).
        {{ percent_to_double('graduation_4_year_school_pct_year_1') }}
            as graduation_4_year_school_pct_year_1,
        {{ percent_to_double('graduation_4_year_school_pct_year_2') }}
            as graduation_4_year_school_pct_year_2,
        {{ percent_to_double('graduation_4_year_cps_pct_year_1') }}
            as graduation_4_year_cps_pct_year_1,
        {{ percent_to_double('graduation_4_year_cps_pct_year_2') }}
            as graduation_4_year_cps_pct_year_2,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
