-- Cities: display name, areas, span of the data, city score (mart dim_cities).
select * from read_parquet('exports/dim_cities.parquet')
