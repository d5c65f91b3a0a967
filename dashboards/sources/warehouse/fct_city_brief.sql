-- The mayor's brief, 3-5 items per city (mart fct_city_brief).
select * from read_parquet('exports/fct_city_brief.parquet')
