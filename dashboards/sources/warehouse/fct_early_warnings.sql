-- Early warnings: one row per flagged period x series x method (level, run start, excess, sentence).
select * from read_parquet('exports/fct_early_warnings.parquet')
