-- Funnel plot: each area's rate against the city rate with Poisson control limits for its population.
select * from read_parquet('exports/fct_area_funnel.parquet')
