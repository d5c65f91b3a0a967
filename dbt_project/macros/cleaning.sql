{#
    Cleaning helpers for raw VARCHAR columns. Casts are strict on purpose: a value in an
    unexpected format fails the build instead of silently becoming null. Only the documented
    "missing" markers become null.
#}

{# Trimmed text; blank strings become null. #}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{# A number written as text: blank and FRED's '.' mean missing; thousands separators dropped. #}
{% macro to_double(column) -%}
    cast(nullif(nullif(replace(trim({{ column }}), ',', ''), ''), '.') as double)
{%- endmacro %}

{# A percentage written as '85.3' or '85.3%' -> 85.3 (still in percent, not a fraction). #}
{% macro percent_to_double(column) -%}
    cast(nullif(nullif(replace(trim({{ column }}), '%', ''), ''), '.') as double)
{%- endmacro %}

{# A dollar amount: '$1,234.50' -> 1234.50; accounting negatives '(1,234.50)' -> -1234.50. #}
{% macro dollars_to_decimal(column) -%}
    cast(
        nullif(
            regexp_replace(
                regexp_replace(trim({{ column }}), '^\((.*)\)$', '-\1'),
                '[$,\s]', '', 'g'
            ),
            ''
        ) as decimal(18, 2)
    )
{%- endmacro %}

{# A whole number written as text ('01' -> 1). #}
{% macro to_integer(column) -%}
    cast(nullif(trim({{ column }}), '') as integer)
{%- endmacro %}

{# 'true'/'false' (any case, also 'Y'/'N', '1'/'0') -> boolean. Anything else fails the cast. #}
{% macro to_boolean(column) -%}
    case lower(trim({{ column }}))
        when 'true' then true
        when 'y' then true
        when '1' then true
        when 'false' then false
        when 'n' then false
        when '0' then false
        when '' then null
        else cast({{ column }} as boolean)
    end
{%- endmacro %}

{#
    A timestamp in the published file's format or, as the portals' APIs return it, ISO 8601
    ('2022-09-16T21:30:00.000'), so bundled and live loads stage alike. Anything else fails.
#}
{% macro to_timestamp(column, published_format) -%}
    coalesce(
        try_strptime(trim({{ column }}), '{{ published_format }}'),
        cast(nullif(trim({{ column }}), '') as timestamp)
    )
{%- endmacro %}
