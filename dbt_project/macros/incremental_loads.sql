{#
    Incremental by load group: the crime incident models (10 M rows at scale) rebuild only
    the rows of the raw loads that changed, not every row after each new month.

    A *load group* is the rows of one raw table that share a load id and a source file
    (`_load_id`, `_source_file`). Every load writes its rows under a new load id, and a load
    that replaces rows (a changed file, a month, a portal's changed records) removes them
    from their old group, so a group still present with the same row count holds the same
    rows. `meta.incremental_load_groups` keeps, per model, the groups it was built from and a
    fingerprint of its other inputs (`context`, e.g. the offence rules). A build:

    1. pre-hook (`incremental_load_groups_prune`): deletes the model's rows of every group
       not kept (changed, vanished, or built under another context);
    2. the model selects only the rows of the groups to rebuild
       (`incremental_load_groups_rebuild`) and appends them;
    3. post-hook (`incremental_load_groups_record`): records the groups just built.

    All three run in the model's transaction: a failed build leaves table and record as they
    were. `whole_table`: a raw table whose rows are compared across groups (incident ids
    deduplicated across files) is rebuilt whole when any of its groups changed.
    `dbt build --full-refresh` rebuilds everything; the pipeline passes it when the code of
    the model or of anything upstream changed (pipelines/assets/transform.py).
#}

{% macro incremental_load_groups_state_ddl() -%}
    create schema if not exists meta;
    create table if not exists meta.incremental_load_groups (
        model varchar, raw_table varchar, load_id varchar, source_file varchar,
        raw_rows bigint, whole_table boolean, context varchar, built_at timestamptz
    )
{%- endmacro %}

{# The load groups of the raw tables feeding a canonical table, read without typing a row. #}
{% macro raw_load_groups(table) -%}
    {%- set selects = [] -%}
    {%- for item in civic_feeding(table) -%}
        {%- set file = '_source_file' if '_source_file' in item.columns else "''" -%}
        {%- do selects.append(
            "select " ~ civic_literal(item.meta.raw_table) ~ " as raw_table, _load_id as load_id, "
            ~ "coalesce(" ~ file ~ ", '') as source_file, count(*) as raw_rows, false as whole_table "
            ~ "from " ~ source('raw', item.meta.raw_table) ~ " group by all"
        ) -%}
    {%- endfor -%}
    {%- if selects -%}
        {{ selects | join('\n    union all\n    ') }}
    {%- else -%}
        select null::varchar as raw_table, null::varchar as load_id, null::varchar as source_file,
            null::bigint as raw_rows, null::boolean as whole_table
        where false
    {%- endif -%}
{%- endmacro %}

{#
    The load groups of a model's rows (`relation` with raw_table, _load_id, _source_file);
    `ids_column`: a raw table with any value in it is a whole_table (rows compared across
    groups).
#}
{% macro model_load_groups(relation, ids_column=none) -%}
    select
        raw_table,
        _load_id as load_id,
        coalesce(_source_file, '') as source_file,
        count(*) as raw_rows,
        {%- if ids_column %}
        bool_or(bool_or({{ ids_column }} is not null)) over (partition by raw_table) as whole_table
        {%- else %}
        false as whole_table
        {%- endif %}
    from {{ relation }}
    group by raw_table, _load_id, coalesce(_source_file, '')
{%- endmacro %}

{#
    The groups of the current inputs whose rows the model keeps: recorded for this model with
    the same row count and context; for a whole_table raw table, only when none of its
    groups changed, appeared or vanished.
#}
{% macro incremental_load_groups_kept(model_name, current_groups, context, rebuild=false) -%}
    with current_groups as materialized (

        {{ current_groups }}

    ),

    recorded as (

        select * from meta.incremental_load_groups where model = {{ civic_literal(model_name) }}

    ),

    unchanged as materialized (

        select current_groups.*
        from current_groups
        inner join recorded
            on recorded.raw_table = current_groups.raw_table
            and recorded.load_id = current_groups.load_id
            and recorded.source_file = current_groups.source_file
            and recorded.raw_rows = current_groups.raw_rows
            and recorded.whole_table = current_groups.whole_table
            and recorded.context = ({{ context }})

    ),

    kept as (

        select raw_table, load_id, source_file
        from unchanged
        where not whole_table
            or raw_table not in (
                -- a whole table is kept only when its current and recorded groups all are
                select raw_table from (
                    select raw_table, load_id, source_file from current_groups where whole_table
                    union
                    select raw_table, load_id, source_file from recorded where whole_table
                ) as every_group
                where not exists (
                    select 1 from unchanged
                    where unchanged.raw_table = every_group.raw_table
                        and unchanged.load_id = every_group.load_id
                        and unchanged.source_file = every_group.source_file
                )
            )

    )

    {% if rebuild -%}
    select raw_table, load_id, source_file from current_groups
    except
    {% endif -%}
    select raw_table, load_id, source_file from kept
{%- endmacro %}

{#
    pre-hook: delete the rows of the groups recorded at the last build and not kept (the table
    holds rows of recorded groups only); a table without a record (built before this macro)
    is emptied and rebuilt.
#}
{% macro incremental_load_groups_prune(model_name, current_groups, context) -%}
    {{ incremental_load_groups_state_ddl() }};
    {%- if is_incremental() %}
    delete from {{ this }} as built
    using (
        select raw_table, load_id, source_file
        from meta.incremental_load_groups
        where model = {{ civic_literal(model_name) }}
        except
        select raw_table, load_id, source_file from (
            {{ incremental_load_groups_kept(model_name, current_groups, context) }}
        ) as kept
    ) as dropped
    where built.raw_table = dropped.raw_table
        and built._load_id = dropped.load_id
        and coalesce(built._source_file, '') = dropped.source_file;
    delete from {{ this }}
    where not exists (
        select 1 from meta.incremental_load_groups where model = {{ civic_literal(model_name) }}
    )
    {%- endif %}
{%- endmacro %}

{#
    The groups whose rows an incremental build makes (those the pre-hook cleared, and new
    ones): a relation of raw_table, load_id, source_file. The model restricts its input rows
    to them before any costly step (canonical_union's `rebuild`, or a semi join).
#}
{% macro incremental_load_groups_rebuild(model_name, current_groups, context) -%}
    {{ incremental_load_groups_kept(model_name, current_groups, context, rebuild=true) }}
{%- endmacro %}

{# post-hook: the groups this build was made from. #}
{% macro incremental_load_groups_record(model_name, current_groups, context) -%}
    delete from meta.incremental_load_groups where model = {{ civic_literal(model_name) }};
    insert into meta.incremental_load_groups
    select {{ civic_literal(model_name) }}, raw_table, load_id, source_file, raw_rows,
        whole_table, ({{ context }}), now()
    from ({{ current_groups }})
{%- endmacro %}

{# What classifies a crime row besides the row: the offence rules and the area spellings. #}
{% macro crime_classification_context() -%}
    (select coalesce(sum(hash(rules)), 0)::varchar from {{ ref('stg_offense_rules') }} as rules)
    || '/' || (select coalesce(sum(hash(spellings)), 0)::varchar from {{ ref('int_area_spellings') }} as spellings)
{%- endmacro %}
