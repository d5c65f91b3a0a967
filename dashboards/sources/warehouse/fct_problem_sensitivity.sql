-- Share of the weight draws in which each problem takes each rank.
select * from read_parquet('exports/fct_problem_sensitivity.parquet')
