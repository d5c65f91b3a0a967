-- NYC General Fund expenditures and other financing uses by agency, FY2014-FY2023 (ACFR FY2023
-- ten-year trend table, reshaped to one row per fiscal year x printed row). Amounts are
-- published in thousands of dollars; amount_usd is in dollars. row_type 'total' marks the
-- printed subtotal rows (per function, and the grand totals under function
-- 'All (grand total)'): they are kept here and must not be added to the line rows.
with source as (

    select * from {{ source('raw', 'nyc_expenditures') }}

),

renamed as (

    select
        {{ to_integer('fiscal_year') }} as fiscal_year,
        {{ clean_text('function') }} as function_name,
        -- Published agency name. One name was split over two rows of the xlsx and is only
        -- half re-joined in the extract: Manhattan Community Board # 4 (agency 344) appears as
        -- 'Board # 4' without a code in FY2014-FY2022 and as 'Manhattan Community' in FY2023.
        case
            when {{ clean_text('department') }} in ('Board # 4', 'Manhattan Community')
                then 'Manhattan Community Board # 4'
            else {{ clean_text('department') }}
        end as agency_name,
        -- Text: keeps the leading zeros ('002'); null for lines without an agency code
        -- (miscellaneous payments, judgments and claims, benefit and lease payments...).
        case
            when {{ clean_text('department') }} in ('Board # 4', 'Manhattan Community')
                then coalesce({{ clean_text('agency_code') }}, '344')
            else {{ clean_text('agency_code') }}
        end as agency_code,
        {{ clean_text('row_type') }} as row_type,
        {{ dollars_to_decimal('amount') }} as amount_thousands_usd,
        {{ dollars_to_decimal('amount') }} * 1000 as amount_usd,
        -- Row of the source xlsx sheet (for tracing a value back to the printed table).
        {{ to_integer('source_row') }} as source_row,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
