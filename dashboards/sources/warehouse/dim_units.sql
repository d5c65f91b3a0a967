-- Units in words (mart dim_units).
select * from read_parquet('exports/dim_units.parquet')
