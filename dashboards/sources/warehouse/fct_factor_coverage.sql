-- Complementarity per factor: unaddressed, city only, single actor/sector, overlap.
select * from read_parquet('exports/fct_factor_coverage.parquet')
