-- "Data as of" of the chosen city, per domain (fct_data_as_of).
select city, domain, latest_period_label, data_until, age_label, as_of_date, indicators_label
from warehouse.fct_data_as_of
where city = '${inputs.city.value}'
order by domain
