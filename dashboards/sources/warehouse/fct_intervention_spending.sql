-- Spending lines of each local intervention by fiscal year.
select * from read_parquet('exports/fct_intervention_spending.parquet')
