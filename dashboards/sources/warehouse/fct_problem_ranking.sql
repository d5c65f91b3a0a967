-- Ranked problems per city with quadrant, strategy and rank range under weight draws.
select * from read_parquet('exports/fct_problem_ranking.parquet')
