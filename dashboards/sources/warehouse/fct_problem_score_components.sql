-- Every component of every problem score with its weight, share, contribution and inputs.
select * from read_parquet('exports/fct_problem_score_components.parquet')
