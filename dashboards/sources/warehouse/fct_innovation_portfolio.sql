-- Who is innovating: one row per local intervention with lead, sector, kind and headline verdict.
select * from read_parquet('exports/fct_innovation_portfolio.parquet')
