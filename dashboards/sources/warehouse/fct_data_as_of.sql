-- "Data as of" per city and domain (mart fct_data_as_of).
select * from read_parquet('exports/fct_data_as_of.parquet')
