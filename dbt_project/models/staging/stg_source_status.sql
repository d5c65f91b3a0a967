-- Which raw tables the canonical staging models read in this build and which they left out,
-- with the reason (a raw table never loaded, a mapped column the source lost): the dbt side of
-- city isolation. One row per dataset of every catalog that feeds a canonical table or lists
-- a city's areas. fct_data_health and `civic run` report the left-out ones.
{%- set rows = [] %}
{%- set feeding = civic_raw_sources() %}
{%- for table, names in feeding.items() %}
    {%- for name in names %}
        {%- set _ = source('raw', name) %}
        {%- if execute %}
            {%- set node = civic_source_node(name) %}
            {%- set status = civic_source_status(node) %}
            {%- do rows.append({'meta': node.config.meta.civic, 'feeds': table, 'status': status}) %}
        {%- endif %}
    {%- endfor %}
{%- endfor %}
{%- if rows %}
select
    city, dataset, raw_table, feeds, cast(is_included as boolean) as is_included,
    cast(reason as varchar) as reason
from (values
    {%- for row in rows %}
    ({{ civic_literal(row.meta.city) }}, {{ civic_literal(row.meta.dataset) }},
     {{ civic_literal(row.meta.raw_table) }}, {{ civic_literal(row.feeds) }},
     {{ civic_literal(row.status.included) }}, {{ civic_literal(row.status.reason) }}){% if not loop.last %},{% endif %}
    {%- endfor %}
) as status (city, dataset, raw_table, feeds, is_included, reason)
{%- else %}
select
    cast(null as varchar) as city, cast(null as varchar) as dataset,
    cast(null as varchar) as raw_table, cast(null as varchar) as feeds,
    cast(null as boolean) as is_included, cast(null as varchar) as reason
where false
{%- endif %}
