{#
    Helpers of the marts the dashboards read (brief, scorecard, alert board, data health).
#}

{#- The date the brief, the alert board and data health are judged against: the day of the
    run, or `--vars '{as_of_date: 2022-12-15}'` to see what they would have said that day. -#}
{% macro dashboards_as_of() -%}
    {%- if var('as_of_date', none) -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}

{#- First day after a period: its end, exclusive. -#}
{% macro period_end(period_start, grain) -%}
    case {{ grain }}
        when 'day' then {{ period_start }} + interval 1 day
        when 'week' then {{ period_start }} + interval 7 day
        when 'month' then {{ period_start }} + interval 1 month
        when 'quarter' then {{ period_start }} + interval 3 month
        else {{ period_start }} + interval 1 year
    end
{%- endmacro %}

{#- A period as a reader names it: "26 May 2022", "Nov 2022", "2015". -#}
{% macro period_label(period_start, grain) -%}
    case {{ grain }}
        when 'day' then strftime({{ period_start }}, '%-d %b %Y')
        when 'week' then 'week of ' || strftime({{ period_start }}, '%-d %b %Y')
        when 'month' then strftime({{ period_start }}, '%b %Y')
        when 'quarter' then 'Q' || quarter({{ period_start }}) || ' ' || year({{ period_start }})
        else strftime({{ period_start }}, '%Y')
    end
{%- endmacro %}

{#- How old something dated `end_date` is on `as_of`, in words: "3 weeks", "4 years". -#}
{% macro age_label(end_date, as_of) -%}
    case
        when date_diff('day', {{ end_date }}, {{ as_of }}) < 1 then 'less than a day'
        when date_diff('day', {{ end_date }}, {{ as_of }}) < 14
            then date_diff('day', {{ end_date }}, {{ as_of }}) || ' days'
        when date_diff('day', {{ end_date }}, {{ as_of }}) < 62
            then cast(round(date_diff('day', {{ end_date }}, {{ as_of }}) / 7) as integer) || ' weeks'
        when date_diff('day', {{ end_date }}, {{ as_of }}) < 730
            then cast(round(date_diff('day', {{ end_date }}, {{ as_of }}) / 30.4) as integer) || ' months'
        else cast(round(date_diff('day', {{ end_date }}, {{ as_of }}) / 365.25) as integer) || ' years'
    end
{%- endmacro %}

{#-
    The latest period each raw table covers, from the period columns the loader and the
    canonical tables give it (raw values are text as published):
      _partition        monthly partition key written by the loader    -> month
      year + month      canonical unemployment and similar              -> month
      date              an ISO date per row (e.g. FRED series)          -> day
      year              canonical crime counts, population              -> year
      fiscal_year       canonical spending                              -> year
    A table with none of them gives no row; fct_data_health then falls back to the latest
    indicator period of the same city and domain and says so. Tables that do not exist yet (a
    dataset never loaded) are skipped. Run-time only: at parse time, or before the first load
    wrote meta.datasets (e.g. sqlfluff compiling against an empty warehouse), no rows.
-#}
{% macro dataset_latest_periods(datasets_relation) -%}
    {%- set selects = [] -%}
    {%- if execute and load_relation(datasets_relation) is not none -%}
        {%- set tables = run_query("select distinct raw_table from " ~ datasets_relation ~ " order by raw_table").columns[0].values() -%}
        {%- for raw_table in tables -%}
            {%- set relation = adapter.get_relation(database=target.database, schema='raw', identifier=raw_table) -%}
            {%- if relation is not none -%}
                {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
                {%- set expression = none -%}
                {%- if '_partition' in columns -%}
                    {%- set expression = ("max(try_cast(_partition as date))", 'month') -%}
                {%- elif 'year' in columns and 'month' in columns -%}
                    {%- set expression = ("max(make_date(try_cast(\"year\" as integer), try_cast(\"month\" as integer), 1))", 'month') -%}
                {%- elif 'date' in columns -%}
                    {%- set expression = ("max(try_cast(\"date\" as date))", 'day') -%}
                {%- elif 'year' in columns -%}
                    {%- set expression = ("max(make_date(try_cast(left(trim(\"year\"), 4) as integer), 1, 1))", 'year') -%}
                {%- elif 'fiscal_year' in columns -%}
                    {%- set expression = ("max(make_date(try_cast(left(trim(fiscal_year), 4) as integer), 1, 1))", 'year') -%}
                {%- endif -%}
                {%- if expression is not none -%}
                    {%- do selects.append(
                        "select '" ~ raw_table ~ "' as raw_table, " ~ expression[0]
                        ~ " as latest_period_start, '" ~ expression[1] ~ "' as period_grain from " ~ relation
                    ) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if selects -%}
        {{ selects | join('\nunion all\n') }}
    {%- else -%}
        select cast(null as varchar) as raw_table, cast(null as date) as latest_period_start,
            cast(null as varchar) as period_grain
        where false
    {%- endif -%}
{%- endmacro %}
