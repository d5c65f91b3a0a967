{#
    Statistical building blocks, as SQL expressions. Formulas and sources in ANALYTICS.md.
#}

{#
    Poisson interval for a count k (Byar's approximation to the exact Garwood interval;
    exact at k = 0 and k = 1 (lower bound); otherwise the upper bound is within 0.2 % of
    exact and the lower bound within 1 % for k >= 5 (7 % / 2.5 % low at k = 2 / 3: slightly
    conservative); checked in tests/test_early_warnings.py against an exact computation):
        lower = k * (1 - 1/(9k) - z/(3 sqrt k))^3
        upper = (k+1) * (1 - 1/(9(k+1)) + z/(3 sqrt(k+1)))^3
    At k = 0 the exact upper bound is -ln(alpha/2).
#}
{% macro poisson_lower(k, z, alpha) -%}
    (case
        when {{ k }} is null then null
        when {{ k }} <= 0 then 0.0
        -- k = 1 has a closed form, P(X >= 1) = 1 - exp(-mu) = alpha / 2 (Byar is 48 % low there)
        when {{ k }} = 1 then -ln(1 - {{ alpha }} / 2)
        else {{ k }} * pow(1 - 1 / (9.0 * {{ k }}) - {{ z }} / (3 * sqrt({{ k }})), 3)
    end)
{%- endmacro %}

{% macro poisson_upper(k, z, alpha) -%}
    (case
        when {{ k }} is null then null
        when {{ k }} <= 0 then -ln({{ alpha }} / 2)
        else ({{ k }} + 1) * pow(1 - 1 / (9.0 * ({{ k }} + 1)) + {{ z }} / (3 * sqrt({{ k }} + 1)), 3)
    end)
{%- endmacro %}

{#
    Wilson score interval for a proportion p (0..1) of a cohort of n:
        (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
#}
{% macro wilson_bound(p, n, z, sign) -%}
    (({{ p }} + {{ z }} * {{ z }} / (2 * {{ n }})
        {{ sign }} {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4 * {{ n }} * {{ n }})))
     / (1 + {{ z }} * {{ z }} / {{ n }}))
{%- endmacro %}

{#
    One-sided Poisson test of an observed count against an expected count, as a normal
    deviate (Byar's approximation to the exact Poisson tail). direction +1 tests an excess
    (P(Y >= observed)), -1 a deficit (P(Y <= observed)). Large = unlikely by chance.
#}
{% macro poisson_tail_z(observed, expected, direction) -%}
    (case
        when {{ observed }} is null or {{ expected }} is null then null
        when {{ direction }} > 0 and {{ observed }} <= 0 then 0.0
        when {{ direction }} > 0
            then 3 * sqrt({{ observed }})
                * (1 - 1 / (9.0 * {{ observed }}) - pow(greatest({{ expected }}, 0) / {{ observed }}, 1.0 / 3))
        else 3 * sqrt({{ observed }} + 1)
            * (pow(greatest({{ expected }}, 0) / ({{ observed }} + 1), 1.0 / 3) - 1 + 1 / (9.0 * ({{ observed }} + 1)))
    end)
{%- endmacro %}

{#
    Dispersion phi = variance / mean of a baseline (1 for a Poisson count), floored at 1 so
    an underdispersed baseline never makes a quasi-Poisson test looser than the Poisson
    test; 1 when the baseline mean is 0. Quasi-Poisson deviate = Poisson deviate / sqrt(phi).
#}
{% macro dispersion(mean, variance) -%}
    (case
        when {{ mean }} is null or {{ variance }} is null then null
        when {{ mean }} > 0 then greatest(1.0, {{ variance }} / {{ mean }})
        else 1.0
    end)
{%- endmacro %}

{#
    Standardized excess (y - mean) / sigma, oriented by direction, with R's behaviour when
    sigma = 0: +infinity for an excess, -infinity for a deficit, 0 when equal.
#}
{% macro standardized_excess(observed, mean, sigma, direction) -%}
    (case
        when {{ mean }} is null or {{ sigma }} is null then null
        when {{ sigma }} > 0 then {{ direction }} * ({{ observed }} - {{ mean }}) / {{ sigma }}
        when {{ direction }} * ({{ observed }} - {{ mean }}) > 0 then cast('infinity' as double)
        when {{ direction }} * ({{ observed }} - {{ mean }}) < 0 then cast('-infinity' as double)
        else 0.0
    end)
{%- endmacro %}

{# Student t 0.975 quantile for df degrees of freedom (table; normal beyond 30). #}
{% macro t_quantile_975(df) -%}
    {%- set table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                     2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                     2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042] -%}
    (case
        when {{ df }} is null or {{ df }} < 1 then null
        {% for q in table %}when {{ df }} = {{ loop.index }} then {{ q }}
        {% endfor %}else 1.960
    end)
{%- endmacro %}

{#
    Student t quantile with df degrees of freedom at the same one-sided tail as the normal
    deviate z (Cornish-Fisher expansion, Abramowitz & Stegun 26.7.5, four terms), computed
    at compile time. Within 0.15 % of exact for df >= 6 at z <= 3.09 (slightly low);
    returns z itself when df is none.
#}
{% macro t_quantile_from_z(z, df) -%}
    {%- if df is none -%}{{ return(z) }}{%- endif -%}
    {%- set n = df * 1.0 -%}
    {%- set g1 = (z ** 3 + z) / 4 -%}
    {%- set g2 = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96 -%}
    {%- set g3 = (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384 -%}
    {%- set g4 = (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160 -%}
    {{- return((z + g1 / n + g2 / n ** 2 + g3 / n ** 3 + g4 / n ** 4) | round(4)) -}}
{%- endmacro %}

{#
    Level of an alert from a statistic and the thresholds {'watch': z1, 'warning': z2,
    'alert': z3}: the highest level whose threshold the statistic reaches (null = none).
    `gate` is an extra boolean condition every level must also meet; `confirm` (optional) a
    second statistic that must reach its threshold: confirm_thresholds[level] (a number or
    a SQL expression) when given, else the same threshold.
#}
{% macro alert_level(statistic, thresholds, gate='true', confirm=none, confirm_thresholds=none) -%}
    {%- set confirm_thresholds = confirm_thresholds if confirm_thresholds is not none else thresholds -%}
    (case
        {% for level in ['alert', 'warning', 'watch'] %}
        when {{ statistic }} >= {{ thresholds[level] }}
            {% if confirm is not none %}and {{ confirm }} >= {{ confirm_thresholds[level] }}{% endif %}
            and ({{ gate }})
            then '{{ level }}'
        {% endfor %}
    end)
{%- endmacro %}

{#
    Annualisation factor of a per-capita flow (events or dollars per resident) so rates of
    different grains compare: days in the calendar year containing period_start / days in
    the period (1 for a year; 365/31 for January). value_annualised = value x factor.
#}
{% macro annualisation_factor(period_start, period_grain) -%}
    (case {{ period_grain }}
        when 'year' then 1.0
        when 'month' then dayofyear(make_date(year({{ period_start }}), 12, 31)) * 1.0
            / day(last_day({{ period_start }}))
        when 'week' then dayofyear(make_date(year({{ period_start }}), 12, 31)) / 7.0
        when 'day' then dayofyear(make_date(year({{ period_start }}), 12, 31)) * 1.0
    end)
{%- endmacro %}

{#
    Conditional (binomial) z of count a against count b with exposures ea, eb, before any
    dispersion: (a - n p0) / sqrt(n p0 (1 - p0)), n = a + b, p0 = ea / (ea + eb). Null when
    n = 0. Same formula as pipelines/statistics/changes.py (tested equal).
#}
{% macro count_change_z0(a, b, ea, eb) -%}
    (case when {{ a }} + {{ b }} > 0 and {{ ea }} > 0 and {{ eb }} > 0 then
        ({{ a }} - ({{ a }} + {{ b }}) * ({{ ea }} / ({{ ea }} + {{ eb }})))
        / sqrt(({{ a }} + {{ b }}) * ({{ ea }} / ({{ ea }} + {{ eb }})) * ({{ eb }} / ({{ ea }} + {{ eb }})))
    end)
{%- endmacro %}

{# Two-proportion z (proportions 0..1, cohorts n1, n0) with the pooled proportion. #}
{% macro proportion_change_z0(p1, n1, p0, n0) -%}
    (case when ({{ p1 }} * {{ n1 }} + {{ p0 }} * {{ n0 }}) / ({{ n1 }} + {{ n0 }}) between 1e-12 and 1 - 1e-12 then
        ({{ p1 }} - {{ p0 }}) / sqrt(
            (({{ p1 }} * {{ n1 }} + {{ p0 }} * {{ n0 }}) / ({{ n1 }} + {{ n0 }}))
            * (1 - ({{ p1 }} * {{ n1 }} + {{ p0 }} * {{ n0 }}) / ({{ n1 }} + {{ n0 }}))
            * (1.0 / {{ n1 }} + 1.0 / {{ n0 }}))
    end)
{%- endmacro %}

{#
    Gamma quantile (shape a, rate b) by the Wilson-Hilferty cube-root approximation:
    (a / b) (1 - 1/(9a) + z / (3 sqrt a))^3, floored at 0 (within 1 % for a >= 2).
#}
{% macro gamma_quantile(shape, rate, z) -%}
    (({{ shape }}) / ({{ rate }}) * pow(greatest(0, 1 - 1 / (9.0 * ({{ shape }})) + {{ z }} / (3 * sqrt({{ shape }}))), 3))
{%- endmacro %}

{#
    Poisson quantile of mean mu at the normal deviate z (Cornish-Fisher, one skewness term):
    mu + z sqrt(mu) + (z^2 - 1) / 6, floored at 0. For funnel-plot control limits.
#}
{% macro poisson_quantile(mu, z) -%}
    greatest(0, {{ mu }} + {{ z }} * sqrt({{ mu }}) + ({{ z }} * {{ z }} - 1) / 6.0)
{%- endmacro %}
