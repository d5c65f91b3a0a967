-- Freshness, last load, checks and quarantined rows of every dataset.
-- last_loaded_at is a TIMESTAMP WITH TIME ZONE in the warehouse; it is read here as a UTC
-- timestamp so the pages never need DuckDB's ICU (time zone) extension, which the offline
-- build does not load.
select * replace (cast(timezone('UTC', last_loaded_at) as timestamp) as last_loaded_at)
from read_parquet('exports/fct_data_health.parquet')
