-- Outcome indicators of each problem per city (mart dim_problem_outcomes).
select * from read_parquet('exports/dim_problem_outcomes.parquet')
