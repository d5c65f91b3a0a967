-- One row per city/area/indicator/breakdown/period. Path is relative to dashboards/.
select * from read_parquet('exports/fct_indicator_values.parquet')
