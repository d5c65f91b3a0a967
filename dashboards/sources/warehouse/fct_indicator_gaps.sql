-- Gaps of every indicator value to target, peers, best quartile, past, trend and equity (> 0 = worse).
select * from read_parquet('exports/fct_indicator_gaps.parquet')
