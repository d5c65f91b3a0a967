{#
    The amount column is named after the fiscal year ('2019_ordinance_amount'), so a new
    year's file arrives with a new column name. Find it in the raw table and read the fiscal
    year from it rather than hard-coding 2019. (At parse time there is no warehouse to ask,
    hence the default.)
#}
{%- set amount_column = namespace(name='2019_ordinance_amount') -%}
{%- if execute -%}
    {%- set found = [] -%}
    {%- for column in adapter.get_columns_in_relation(source('raw', 'chicago_appropriations')) -%}
        {%- if modules.re.match('^[0-9]{4}_ordinance_amount$', column.name) -%}
            {%- do found.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if found | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            "raw.chicago_appropriations: expected exactly one <year>_ordinance_amount column, found "
            ~ found) }}
    {%- endif -%}
    {%- set amount_column.name = found[0] -%}
{%- endif -%}
{%- set fiscal_year = amount_column.name[:4] | int -%}

-- One row per appropriation line (fund x department x appropriation authority x account)
-- of the fiscal year {{ fiscal_year }} budget ordinance. Chicago's fiscal year is the
-- calendar year.
with source as (

    select * from {{ source('raw', 'chicago_appropriations') }}

),

renamed as (

    select
        {{ fiscal_year }} as fiscal_year,
        {{ clean_text('fund_type') }} as fund_type,
        {{ clean_text('fund_code') }} as fund_code,
        {{ clean_text('fund_description') }} as fund_description,
        {{ to_integer('department_number') }} as department_number,
        {{ clean_text('department_description') }} as department_name,
        {{ clean_text('appropriation_authority') }} as appropriation_authority,
        {{ clean_text('appropriation_authority_description') }}
            as appropriation_authority_description,
        {{ clean_text('appropriation_account') }} as appropriation_account,
        {{ clean_text('appropriation_account_description') }}
            as appropriation_account_description,
        -- A few lines are negative (reimbursable transfers between funds); kept as published.
        {{ dollars_to_decimal('"' ~ amount_column.name ~ '"') }} as amount_usd,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
