{#
    The area a canonical row is in: its published area value (area / area_key, see
    macros/canonical.sql) matched to the city's areas of the dataset's area type by id or
    spelling (int_area_spellings), or to the city itself by its name or aliases. Adds
    `area_type` (the matched type: the dataset's, or 'city'), `area_id` and `area_name`;
    both are null when the value matches nothing (an area outside the city, a blank).
#}
{% macro with_resolved_areas(relation) -%}
    select
        rows_.* exclude (area_type),
        coalesce(city_match.area_type, area_match.area_type, rows_.area_type) as area_type,
        coalesce(city_match.area_id, area_match.area_id) as area_id,
        coalesce(city_match.area_name, area_match.area_name) as area_name
    from {{ relation }} as rows_
    left join {{ ref('int_area_spellings') }} as area_match
        on area_match.city = rows_.city
        and area_match.area_type = rows_.area_type
        and area_match.spelling = lower(rows_.area_key)
    left join {{ ref('int_area_spellings') }} as city_match
        on city_match.city = rows_.city
        and city_match.area_type = 'city'
        and city_match.spelling = lower(trim(rows_.area))
{%- endmacro %}
