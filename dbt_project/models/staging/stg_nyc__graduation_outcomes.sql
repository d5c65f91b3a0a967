{#
    Count and percent columns of the file. 's' marks a suppressed value (cohort of 20 or
    fewer students, or small subgroup): it becomes null. Counts may carry a thousands
    separator ('1,059'). Percentages are already in percent (71.9 = 71.9 %), sometimes with
    float noise ('71.900000000000006'): kept as published.
#}
{%- set count_columns = {
    'cohort_size': 'cohort_size',
    'graduates': 'graduates',
    'total_regents_n': 'regents_graduates',
    'advanced_regents_n': 'advanced_regents_graduates',
    'regents_w_o_advanced_n': 'regents_without_advanced_graduates',
    'local_n': 'local_diploma_graduates',
    'still_enrolled_n': 'still_enrolled',
    'dropped_out_n': 'dropped_out',
} -%}
{%- set percent_columns = {
    'graduation_pct': 'graduation_pct',
    'total_regents_of_cohort': 'regents_pct_of_cohort',
    'still_enrolled_of_cohort': 'still_enrolled_pct_of_cohort',
    'dropped_out_of_cohort': 'dropped_out_pct_of_cohort',
} -%}

-- NYC DOE 2005-2010 graduation outcomes, one row per school (DBN) x cohort x demographic
-- group as published. The file repeats a few (school, cohort, demographic) keys for the
-- 'Special Education Students' and 'General Education Students' groups with different
-- numbers; 'Total Cohort' rows are unique (tested).
with source as (

    select * from {{ source('raw', 'nyc_graduation_outcomes') }}

),

renamed as (

    select
        {{ clean_text('demographic') }} as demographic,
        {{ clean_text('school_id') }} as school_id,
        {{ clean_text('school_name') }} as school_name,
        -- As published: '2001'..'2006' and '2006 Aug'
        {{ clean_text('cohort') }} as cohort,
        -- Year the cohort entered 9th grade ('2006 Aug' -> 2006)
        cast(left(trim(cohort), 4) as integer) as cohort_year,
        -- '2006 Aug' = outcome of the 2006 cohort counted in August (after summer school);
        -- the other cohorts are counted in June
        trim(cohort) like '% Aug' as is_august_outcome,
        {%- for column, name in count_columns.items() %}
        cast(nullif(replace(nullif(trim({{ column }}), 's'), ',', ''), '') as integer) as {{ name }},
        {%- endfor %}
        {%- for column, name in percent_columns.items() %}
        {{ percent_to_double("nullif(trim(" ~ column ~ "), 's')") }} as {{ name }},
        {%- endfor %}
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
