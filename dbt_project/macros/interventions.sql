{#
    A setting of the intervention evaluations (docs/innovation.md, ANALYTICS.md section
    "Evaluating local interventions"): the dbt var of that name, declared with its default
    under `vars:` in dbt_project.yml:

        dbt build --vars '{intervention_pre_months: 48}'
#}
{% macro intervention_setting(name) -%}
    {{- return(civic_setting(name, 'intervention')) -}}
{%- endmacro %}

{#
    Two-sided Student t quantile t(1 - alpha/2, df) as a SQL expression of a degrees-of-
    freedom expression: exact values (scipy.stats.t.ppf) for df 1-30, the Cornish-Fisher
    expansion in 1/df beyond (error below 1e-4 there). Levels 0.90, 0.95, 0.99.
#}
{% macro student_t_quantile(df, level) -%}
    {%- set tables = {
        0.9: [6.3138, 2.92, 2.3534, 2.1318, 2.015, 1.9432, 1.8946, 1.8595, 1.8331, 1.8125, 1.7959, 1.7823, 1.7709, 1.7613, 1.7531, 1.7459, 1.7396, 1.7341, 1.7291, 1.7247, 1.7207, 1.7171, 1.7139, 1.7109, 1.7081, 1.7056, 1.7033, 1.7011, 1.6991, 1.6973],
        0.95: [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.093, 2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423],
        0.99: [63.6567, 9.9248, 5.8409, 4.6041, 4.0321, 3.7074, 3.4995, 3.3554, 3.2498, 3.1693, 3.1058, 3.0545, 3.0123, 2.9768, 2.9467, 2.9208, 2.8982, 2.8784, 2.8609, 2.8453, 2.8314, 2.8188, 2.8073, 2.7969, 2.7874, 2.7787, 2.7707, 2.7633, 2.7564, 2.75],
    } -%}
    {%- set z = {0.9: 1.644854, 0.95: 1.959964, 0.99: 2.575829} -%}
    {%- if level not in tables -%}
        {{ exceptions.raise_compiler_error("intervention_interval_level must be one of " ~ (tables.keys() | list)) }}
    {%- endif -%}
    {%- set zz = z[level] -%}
    (case
        when {{ df }} is null or {{ df }} < 1 then null
        {%- for value in tables[level] %}
        when {{ df }} = {{ loop.index }} then {{ value }}
        {%- endfor %}
        else {{ zz }}
            + ({{ zz ** 3 }} + {{ zz }}) / (4.0 * {{ df }})
            + ({{ 5 * zz ** 5 }} + {{ 16 * zz ** 3 }} + {{ 3 * zz }}) / (96.0 * pow({{ df }}, 2))
            + ({{ 3 * zz ** 7 }} + {{ 19 * zz ** 5 }} + {{ 17 * zz ** 3 }} - {{ 15 * zz }}) / (384.0 * pow({{ df }}, 3))
    end)
{%- endmacro %}

{#
    Random-effects difference in differences on counts (ANALYTICS.md, "Evaluating local
    interventions"), from a relation with one row per evaluation key (city,
    local_intervention_id, indicator_id), area (area_id, area_role treated | comparison),
    period (period_start) and phase ('before' | 'after'), with event_count.

    estimate    log r = ln((T_after / C_after) / (T_before / C_before)): the change in the
                treated areas' count relative to the comparison areas' (conditional Poisson:
                the maximum likelihood estimate given each period's total).
    variance    phi (1/T_b + 1/T_a + 1/C_b + 1/C_a) + tau^2 (sum s_T^2 + sum s_C^2)
                phi   = Pearson chi^2 / (N - 2) of the treated share of each period's
                        events (overdispersion), at least 1;
                tau^2 = DerSimonian-Laird variance of the areas' own after/before log
                        ratios among the comparison areas: how much areas' trends differ
                        with no effort at all; s = each area's share of its group's events.
    interval    log r -/+ t(J - 1) sqrt(variance), J = comparison areas with events in both
                phases.
#}
{% macro random_effects_did(relation, level) -%}
    {%- set key = 'city, local_intervention_id, indicator_id' -%}
    (
    with rows as (
        select * from {{ relation }}
    ),
    periods as (
        select {{ key }}, period_start, any_value(phase) as phase,
            coalesce(sum(event_count) filter (where area_role = 'treated'), 0) as t,
            coalesce(sum(event_count) filter (where area_role = 'comparison'), 0) as c
        from rows
        group by all
    ),
    totals as (
        select {{ key }},
            sum(t) filter (where phase = 'before') as t_before,
            sum(t) filter (where phase = 'after') as t_after,
            sum(c) filter (where phase = 'before') as c_before,
            sum(c) filter (where phase = 'after') as c_after,
            count(*) as n_periods
        from periods
        group by all
    ),
    pearson as (
        select periods.{{ key | replace(', ', ', periods.') }},
            sum(
                pow(periods.t - (periods.t + periods.c) * share, 2)
                / ((periods.t + periods.c) * share * (1 - share))
            ) filter (where periods.t + periods.c > 0 and share > 0 and share < 1) as chi_square
        from periods
        inner join (
            select {{ key }}, 'before' as phase, t_before / (t_before + c_before) as share from totals
            union all
            select {{ key }}, 'after', t_after / (t_after + c_after) from totals
        ) as shares using ({{ key }}, phase)
        group by all
    ),
    areas as (
        select {{ key }}, area_id, area_role,
            coalesce(sum(event_count) filter (where phase = 'before'), 0) as y_before,
            coalesce(sum(event_count) filter (where phase = 'after'), 0) as y_after
        from rows
        group by all
    ),
    area_changes as (
        select *, ln(y_after / y_before) as g, 1 / (1 / y_after + 1 / y_before) as w
        from areas
        where area_role = 'comparison' and y_before > 0 and y_after > 0
    ),
    pooled as (
        select {{ key }}, sum(w * g) / sum(w) as g_bar, sum(w) as sum_w, sum(w * w) as sum_w2,
            count(*) as n_comparison_informative
        from area_changes
        group by all
    ),
    dispersion_between as (
        select area_changes.{{ key | replace(', ', ', area_changes.') }},
            sum(area_changes.w * pow(area_changes.g - pooled.g_bar, 2)) as q_statistic
        from area_changes
        inner join pooled using ({{ key }})
        group by all
    ),
    heterogeneity as (
        select pooled.*,
            greatest(0,
                (dispersion_between.q_statistic - (pooled.n_comparison_informative - 1))
                / nullif(pooled.sum_w - pooled.sum_w2 / pooled.sum_w, 0)
            ) as tau_square
        from pooled
        inner join dispersion_between using ({{ key }})
    ),
    concentration as (
        select {{ key }},
            sum(pow((y_before + y_after) / nullif(group_total, 0), 2)) filter (where area_role = 'treated') as treated_concentration,
            sum(pow((y_before + y_after) / nullif(group_total, 0), 2)) filter (where area_role = 'comparison') as comparison_concentration
        from (
            select *, sum(y_before + y_after) over (partition by {{ key }}, area_role) as group_total
            from areas
        )
        group by all
    ),
    estimates as (
        select
            totals.*,
            heterogeneity.n_comparison_informative,
            heterogeneity.tau_square,
            greatest(1.0, coalesce(pearson.chi_square, 0) / nullif(totals.n_periods - 2, 0)) as dispersion,
            (totals.t_after * totals.c_before) / (totals.t_before * totals.c_after) as rate_ratio,
            ln(rate_ratio) as log_ratio,
            concentration.treated_concentration,
            concentration.comparison_concentration
        from totals
        left join pearson using ({{ key }})
        left join heterogeneity using ({{ key }})
        left join concentration using ({{ key }})
        where least(totals.t_before, totals.t_after, totals.c_before, totals.c_after) > 0
    )
    select
        *,
        dispersion * (1 / t_before + 1 / t_after + 1 / c_before + 1 / c_after)
            + coalesce(tau_square, 0) * (coalesce(treated_concentration, 0) + coalesce(comparison_concentration, 0))
            as log_ratio_variance,
        n_comparison_informative - 1 as degrees_of_freedom,
        {{ student_t_quantile('n_comparison_informative - 1', level) }} as t_quantile,
        log_ratio - t_quantile * sqrt(log_ratio_variance) as log_ratio_lower,
        log_ratio + t_quantile * sqrt(log_ratio_variance) as log_ratio_upper
    from estimates
    )
{%- endmacro %}
