-- Importance, tractability, priority and their 0-1 components per city x problem.
select * from read_parquet('exports/fct_problem_scores.parquet')
