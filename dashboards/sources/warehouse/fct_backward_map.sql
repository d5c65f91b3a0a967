-- Problem -> factor -> actors by sector -> city authority -> budget lines -> interventions.
select * from read_parquet('exports/fct_backward_map.parquet')
