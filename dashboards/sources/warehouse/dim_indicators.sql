-- Indicator catalogue: name, domain, unit, polarity, description, source.
select * from read_parquet('exports/dim_indicators.parquet')
