{#
    Generic test: the combination of `columns` is unique in the model (a compound key).
    Fails with one row per duplicated key. Nulls are compared as values (a null in a key
    column counts as a key value), so pair it with not_null tests on the key columns.

        data_tests:
          - unique_combination:
              arguments:
                columns: [city, area_type, area_id]
#}
{% test unique_combination(model, columns) %}
    select
        {{ columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
