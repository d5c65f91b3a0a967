-- One row per citywide evaluation fitted by int_intervention_its_fits (the Python model
-- repeats the evaluation's figures on each period row; they are the same on every row).
select
    city,
    local_intervention_id,
    indicator_id,
    any_value(log_ratio) as log_ratio,
    any_value(log_ratio_lower) as log_ratio_lower,
    any_value(log_ratio_upper) as log_ratio_upper,
    any_value(standard_error) as standard_error,
    any_value(dispersion) as dispersion,
    any_value(degrees_of_freedom) as degrees_of_freedom,
    any_value(n_periods_fit) as n_periods_fit,
    any_value(pre_trend_per_year) as pre_trend_per_year,
    any_value(pre_fit_mean_abs_pct_error) as pre_fit_mean_abs_pct_error,
    any_value(n_placebo_dates) as n_placebo_dates,
    any_value(placebo_p_value) as placebo_p_value,
    any_value(fit_error) as fit_error,
    sum(observed_count) filter (where phase = 'pre') as events_before,
    sum(observed_count) filter (where phase = 'post') as events_after
from {{ ref('int_intervention_its_fits') }}
group by all
