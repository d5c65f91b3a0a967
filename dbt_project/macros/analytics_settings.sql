{#
    A setting of the analytic layer (intervals, gaps, early warnings): the dbt var of that
    name, declared with its default and its meaning under `vars:` in dbt_project.yml, so a run
    can change it without editing code:

        dbt build --vars '{ew_day_baseline: 7, ew_day_min_sigma: 0}'

    A name that is not declared there is a compile error, not a silent default.
#}
{% macro analytics_setting(name) -%}
    {{- return(civic_setting(name, 'analytics')) -}}
{%- endmacro %}

{# A declared var of dbt_project.yml, or a compile error naming the kind of setting. #}
{% macro civic_setting(name, kind) -%}
    {%- if not var.has_var(name) -%}
        {{ exceptions.raise_compiler_error(
            "unknown " ~ kind ~ " setting: " ~ name ~ " (declare it under vars: in dbt_project.yml)"
        ) }}
    {%- endif -%}
    {{- return(var(name)) -}}
{%- endmacro %}

{# Two-sided standard normal quantile for the supported confidence levels. #}
{% macro normal_quantile_two_sided(level) -%}
    {%- set table = {0.8: 1.281552, 0.9: 1.644854, 0.95: 1.959964, 0.98: 2.326348, 0.99: 2.575829, 0.999: 3.290527} -%}
    {%- if level not in table -%}
        {{ exceptions.raise_compiler_error("interval_level must be one of " ~ (table.keys() | list)) }}
    {%- endif -%}
    {{- return(table[level]) -}}
{%- endmacro %}
