{#
    Join condition picking the census vintage that applies to a period year, on a relation
    with `valid_from_year` / `valid_to_year` (int_community_area_population,
    int_city_population): the latest census year <= the period year, or the earliest census
    when the period is older than every census (its valid_from_year is null = open-ended).
#}
{% macro census_vintage_applies(population_alias, year_expression) -%}
    ({{ population_alias }}.valid_from_year is null
        or {{ year_expression }} >= {{ population_alias }}.valid_from_year)
    and ({{ population_alias }}.valid_to_year is null
        or {{ year_expression }} <= {{ population_alias }}.valid_to_year)
{%- endmacro %}
