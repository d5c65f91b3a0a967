{#
    Shortfall of `value` against `comparison` on a 0-1 scale (Boston CityScore form):
    1 - min(1, actual / target), with the ratio inverted when lower is better, so 0 = at or
    better than the comparison and values near 1 = far worse. Null when the ratio cannot be
    formed.
#}
{% macro problem_shortfall(value, comparison, polarity) -%}
    case
        when {{ value }} is null or {{ comparison }} is null then null
        when {{ polarity }} = 'higher_is_better' and {{ comparison }} > 0
            then 1 - least(1, greatest(0, {{ value }}) / {{ comparison }})
        when {{ polarity }} = 'lower_is_better' and {{ value }} > 0
            then 1 - least(1, greatest(0, {{ comparison }}) / {{ value }})
        when {{ polarity }} = 'lower_is_better' and {{ value }} = 0
            then 0
    end
{%- endmacro %}

{# Clamp an expression to [0, 1]; null stays null (DuckDB's least/greatest skip nulls). #}
{% macro unit_interval(expression) -%}
    case when ({{ expression }}) is not null then greatest(0, least(1, {{ expression }})) end
{%- endmacro %}

{# A numeric parameter of the seed scoring_weights, as a scalar subquery. #}
{% macro scoring_parameter(parameter_set, parameter) -%}
    (select value from {{ ref('scoring_weights') }}
     where parameter_set = '{{ parameter_set }}' and parameter = '{{ parameter }}')
{%- endmacro %}

{#
    A deterministic standard normal draw (Box-Muller) from the seed and the given keys:
    two uniforms in (0, 1) from hash(seed, keys..., 1) and hash(seed, keys..., 2).
#}
{% macro hashed_normal(seed, keys) -%}
    (sqrt(-2 * ln((hash({{ seed }}, {{ keys | join(', ') }}, 1) % 1000000 + 0.5) / 1000000.0))
        * cos(2 * pi() * (hash({{ seed }}, {{ keys | join(', ') }}, 2) % 1000000 + 0.5) / 1000000.0))
{%- endmacro %}
