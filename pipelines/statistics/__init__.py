"""Statistical methods of the analytic layer, shared by the dbt Python models
(dbt_project/models/intermediate/int_early_warning_*.py) and the calibration tests.

Pure numpy/scipy on arrays: no warehouse, no city. Formulas and measured behaviour on real
series are in dbt_project/ANALYTICS.md.

- `detection`: count-series detectors (conditional window scan, negative-binomial CUSUM),
  calendar intensity, and calibration of any detector's statistic against the history.
- `seasonal`: Farrington-style quasi-Poisson GLM baseline with season and trend (monthly).
- `changes`: change tests between two periods (conditional Poisson / quasi-binomial).
"""
