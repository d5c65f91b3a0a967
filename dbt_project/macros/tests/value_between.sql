{#
    Generic test: every non-null value of the column is within [min_value, max_value]
    (either bound may be omitted). Restrict the rows with the test's `where` config, e.g.
    only the indicators measured in percent.

        - value_between:
            arguments:
              min_value: 0
              max_value: 100
            config:
              where: "unit = 'percent'"
#}
{% test value_between(model, column_name, min_value=none, max_value=none) %}
    select {{ column_name }} as out_of_range_value
    from {{ model }}
    where {{ column_name }} is not null
      and (
          false
          {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
          {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
      )
{% endtest %}
