-- Early-warning methods and levels in plain words (mart dim_alert_methods).
select * from read_parquet('exports/dim_alert_methods.parquet')
