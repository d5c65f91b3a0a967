-- The innovation ledger's evidence: one row per local intervention and outcome (docs/innovation.md).
select * from read_parquet('exports/fct_intervention_effects.parquet')
