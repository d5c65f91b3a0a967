-- The early-warning board in plain words, with now / past (mart fct_alert_board).
select * from read_parquet('exports/fct_alert_board.parquet')
