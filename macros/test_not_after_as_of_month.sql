{#- Rows dated after the as_of month: no month after it is ever reported. -#}
{% test not_after_as_of_month(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} > {{ as_of_month() }}
{% endtest %}
