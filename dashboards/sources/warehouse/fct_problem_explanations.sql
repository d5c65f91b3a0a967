-- A plain-language paragraph per city x problem.
select * from read_parquet('exports/fct_problem_explanations.parquet')
