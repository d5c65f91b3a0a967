-- Flags to expect by chance per city, grain and level: tests, reported flags and expected false flags per week.
select * from read_parquet('exports/fct_early_warning_false_alerts.parquet')
