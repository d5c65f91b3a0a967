{#
    Generic test: every row of the model whose `columns` are all non-null has a row in `to`
    with the same values in `to_columns` (a compound foreign key; dbt's relationships test
    takes one column only). Fails with one row per orphan key.

        data_tests:
          - relationships_compound:
              arguments:
                columns: [city, area_type, area_id]
                to: ref('fct_indicator_values')
                to_columns: [city, area_type, area_id]
#}
{% test relationships_compound(model, columns, to, to_columns=none) %}
    {%- set to_columns = to_columns or columns -%}
    with children as (
        select distinct {{ columns | join(', ') }}
        from {{ model }}
        where {% for c in columns %}{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
    ),
    parents as (
        select distinct
            {% for c in to_columns %}{{ c }} as {{ columns[loop.index0] }}{% if not loop.last %}, {% endif %}{% endfor %}
        from {{ to }}
    )
    select children.*
    from children
    left join parents
        on {% for c in columns %}parents.{{ c }} = children.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
    where parents.{{ columns[0] }} is null
{% endtest %}
