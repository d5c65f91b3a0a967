-- CityScore-style scorecard, every period of each headline metric (mart fct_indicator_scorecard).
select * from read_parquet('exports/fct_indicator_scorecard.parquet')
