-- Every city with data, by display name (dim_cities): the options of the City choice.
select city, city_name, areas_label, data_until, as_of_date
from warehouse.dim_cities
order by city_name
