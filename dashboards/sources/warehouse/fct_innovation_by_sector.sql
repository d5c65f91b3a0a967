-- Local interventions by lead sector and kind.
select * from read_parquet('exports/fct_innovation_by_sector.parquet')
