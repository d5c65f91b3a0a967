-- Outcome before and after each local intervention, with the expected count without change.
select * from read_parquet('exports/fct_intervention_series.parquet')
