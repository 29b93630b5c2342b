{#- `retain run --engine spark` (retain/engines/spark.py) calls these with
    `dbt run-operation`: the Spark session is dbt's, so what goes in and out of
    Spark goes through the profile's target, local or a cluster alike. Folders
    go into the SQL as quoted_string literals (dialects.sql): a user's folder
    name may hold quotes or backslashes. -#}

{#- The validated raw tables, staged by retain as Parquet folders under
    `location`, registered as the raw.* tables the sources read. `tables`
    maps each table to its [column, type] pairs, typed as the raw contract says.
    First the models' schema is claimed for `warehouse` (claim_build_schema). -#}
{% macro register_raw_tables(location, tables, warehouse, continue_build) %}
    {% do claim_build_schema(warehouse, continue_build) %}
    {% do run_query('create schema if not exists raw') %}
    {% for name, columns in tables.items() %}
        {% do run_query('drop table if exists raw.' ~ name) %}
        {% do run_query(
            'create table raw.' ~ name ~ ' (' ~ (columns | map('join', ' ') | join(', ')) ~ ')'
            ~ ' using parquet location ' ~ quoted_string(location ~ '/' ~ name)
        ) %}
        {{ log('registered raw.' ~ name, info=true) }}
    {% endfor %}
{% endmacro %}

{#- Which warehouse's build the models' schema holds: a cluster's metastore is
    shared, and an incremental run may continue only the tables its own
    warehouse's last run built. `warehouse` names the warehouse. With
    `continue_build`, a schema another warehouse built last (or none did) is
    dropped first, so that every model builds whole; then the schema is marked
    as this warehouse's. -#}
{% macro claim_build_schema(warehouse, continue_build) %}
    {% set marker = api.Relation.create(schema=target.schema, identifier='retain_build_owner') %}
    {% if continue_build %}
        {% set owner = none %}
        {% if adapter.get_relation(database=none, schema=target.schema, identifier='retain_build_owner') %}
            {% set owner = run_query('select warehouse from ' ~ marker).columns[0].values() | first %}
        {% endif %}
        {% if owner != warehouse %}
            {% do run_query('drop schema if exists ' ~ target.schema ~ ' cascade') %}
            {{ log('spark: schema ' ~ target.schema ~ ' did not hold the last build of this warehouse (its builder: '
                ~ (owner or 'none') ~ '); dropped, every model builds whole', info=true) }}
        {% endif %}
    {% endif %}
    {% do run_query('create schema if not exists ' ~ target.schema) %}
    {% do run_query('drop table if exists ' ~ marker) %}
    {% do run_query('create table ' ~ marker ~ ' using parquet as select ' ~ quoted_string(warehouse) ~ ' as warehouse') %}
{% endmacro %}

{#- Each model named in `relations` written as one Parquet file in
    `folder`/<name>/, its columns in the order the model's yml declares them
    (a partitioned Spark table puts its partition column last). -#}
{% macro export_parquet(relations, folder) %}
    {% for name in relations %}
        {% set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', name) | first %}
        {% set relation = api.Relation.create(schema=node.schema, identifier=node.alias) %}
        {% do run_query(
            'insert overwrite directory ' ~ quoted_string(folder ~ '/' ~ name) ~ ' using parquet'
            ~ ' select /*+ COALESCE(1) */ ' ~ (node.columns.keys() | join(', '))
            ~ ' from ' ~ relation
        ) %}
        {{ log('exported ' ~ name, info=true) }}
    {% endfor %}
{% endmacro %}
