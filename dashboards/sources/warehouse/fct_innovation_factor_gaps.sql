-- Backward-map factors and the local interventions working on them (is_untried: none).
select * from read_parquet('exports/fct_innovation_factor_gaps.parquet')
