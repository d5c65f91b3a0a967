{#
    Join condition picking the population figure that applies to a period year, on a
    relation with `valid_from_year` / `valid_to_year` (int_area_population,
    int_city_population): the figure of that year where one exists, else the latest year
    before it (Chicago's censuses: 2010 for 2010-2019, 2020 from 2020), else the earliest
    (a period older than every figure; its valid_from_year is null = open-ended).
#}
{% macro population_applies(population_alias, year_expression) -%}
    ({{ population_alias }}.valid_from_year is null
        or {{ year_expression }} >= {{ population_alias }}.valid_from_year)
    and ({{ population_alias }}.valid_to_year is null
        or {{ year_expression }} <= {{ population_alias }}.valid_to_year)
{%- endmacro %}
