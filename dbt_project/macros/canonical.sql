{#
    Canonical staging: one model per canonical table (stg_<table>) unions every raw table that
    feeds it, whatever the number of cities, typing each canonical column as the dataset's
    catalog says (config.meta.civic of the generated sources, pipelines/dbt_sources.py).

    Isolation: at execution time a source whose raw table is missing (a live-only city never
    loaded, a failed first load) or lacks a mapped column is left out with a logged warning,
    so one city's missing data never breaks the others; stg_source_status lists what was
    included and what was left out, and why.
#}

{# A SQL literal for a catalog value (text quoted, quotes doubled). #}
{% macro civic_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{% macro civic_sql_type(type) -%}
    {{- return({
        'text': 'varchar', 'area': 'varchar', 'timestamp': 'timestamp', 'date': 'date',
        'time': 'time', 'year': 'integer', 'integer': 'bigint', 'number': 'double',
        'percent': 'double', 'amount': 'decimal(38, 2)', 'boolean': 'boolean',
    }[type]) -}}
{%- endmacro %}

{# The generated source node of raw.<name>. #}
{% macro civic_source_node(name) -%}
    {{- return(graph.sources['source.' ~ project_name ~ '.raw.' ~ name]) -}}
{%- endmacro %}

{# Raw columns a source must have for its mapping to be read. #}
{% macro civic_needed_columns(meta) -%}
    {%- set needed = [] -%}
    {%- for spec in meta.get('columns') or [] if spec.get('raw') -%}{% do needed.append(spec.raw) %}{%- endfor -%}
    {%- for group in (meta.get('unpivot') or {}).get('groups') or [] -%}
        {%- for raw in group.columns.values() -%}{% do needed.append(raw) %}{%- endfor -%}
    {%- endfor -%}
    {%- for f in meta.get('filters') or [] -%}{% do needed.append(f.column) %}{%- endfor -%}
    {%- if meta.get('area_list') -%}
        {%- do needed.append(meta.area_list.id_column) -%}{%- do needed.append(meta.area_list.name_column) -%}
    {%- endif -%}
    {{- return(needed | unique | list) -}}
{%- endmacro %}

{#
    Whether a source can be read: {'included': bool, 'reason': text, 'columns': [names]}.
    Execution time only (it asks the warehouse).
#}
{% macro civic_source_status(node) -%}
    {%- set meta = node.config.meta.civic -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) -%}
    {%- if relation is none -%}
        {{- return({'included': false, 'reason': 'raw.' ~ node.name ~ ' does not exist (never loaded, or its first load failed)', 'columns': []}) -}}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- set missing = [] -%}
    {%- for name in civic_needed_columns(meta) if name | lower not in columns -%}{% do missing.append(name) %}{%- endfor -%}
    {%- if missing -%}
        {{- return({'included': false, 'reason': 'raw.' ~ node.name ~ ' lacks the mapped column(s) ' ~ missing | join(', ') ~ ' (renamed by the publisher? update the catalog)', 'columns': columns}) -}}
    {%- endif -%}
    {%- set pattern = (meta.get('unpivot') or {}).get('pattern') -%}
    {%- set matching = [] -%}
    {%- for name in columns if pattern and modules.re.match(pattern.columns, name) -%}{% do matching.append(name) %}{%- endfor -%}
    {%- if pattern and not matching -%}
        {{- return({'included': false, 'reason': 'raw.' ~ node.name ~ ' has no column matching the unpivot pattern ' ~ pattern.columns, 'columns': columns}) -}}
    {%- endif -%}
    {{- return({'included': true, 'reason': none, 'columns': columns}) -}}
{%- endmacro %}

{#
    The sources feeding a canonical table ('areas': the tables listing a city's areas): at
    parse time every one (so the model depends on them); at execution time those that can be
    read, each as {'node', 'columns'}, in city and catalog order.
#}
{% macro civic_feeding(table) -%}
    {%- set names = civic_raw_sources()[table] -%}
    {%- for name in names -%}{% set _ = source('raw', name) %}{%- endfor -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for name in names -%}
            {%- set node = civic_source_node(name) -%}
            {%- set status = civic_source_status(node) -%}
            {%- if status.included -%}
                {%- do found.append({'node': node, 'meta': node.config.meta.civic, 'columns': status.columns}) -%}
            {%- else -%}
                {%- do log('WARNING civic: ' ~ this.identifier ~ ' leaves out ' ~ node.config.meta.civic.city ~ '.' ~ node.config.meta.civic.dataset ~ ': ' ~ status.reason, info=true) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(found) -}}
{%- endmacro %}

{# Trimmed text, with blanks and the dataset's null markers as null. #}
{% macro civic_clean(expression, null_markers) -%}
    case when trim({{ expression }}) in (''{% for marker in null_markers %}, {{ civic_literal(marker) }}{% endfor %}) then null else trim({{ expression }}) end
{%- endmacro %}

{# A column's cleaned text read as its canonical type (strict: a bad value fails the build). #}
{% macro civic_typed(text, spec, meta) -%}
    {%- set type = spec.type -%}
    {%- set fmt = spec.get('format') -%}
    {%- if type in ('text', 'area') and spec.get('recode') -%}
        case {{ text }}{% for old, new in spec.recode.items() %} when {{ civic_literal(old) }} then {{ civic_literal(new) }}{% endfor %} else {{ text }} end
    {%- elif type in ('text', 'area') -%}{{ text }}
    {%- elif type == 'integer' -%}cast(replace({{ text }}, ',', '') as bigint)
    {%- elif type == 'year' -%}cast(regexp_extract({{ text }}, '([0-9]{4})', 1) as integer)
    {%- elif type == 'number' -%}cast(replace({{ text }}, ',', '') as double)
    {%- elif type == 'percent' and spec.get('unit') == 'fraction' -%}
        {#- decimal arithmetic keeps 0.039 -> 3.9 exact #}
        cast(cast(replace(replace({{ text }}, '%', ''), ',', '') as decimal(18, 6)) * 100 as double)
    {%- elif type == 'percent' -%}cast(replace(replace({{ text }}, '%', ''), ',', '') as double)
    {%- elif type == 'amount' -%}
        {%- set factor = {'thousands': 1000, 'millions': 1000000}.get(spec.get('unit'), 1) -%}
        cast({{ dollars_to_decimal(text) }}{% if factor != 1 %} * {{ factor }}{% endif %} as decimal(38, 2))
    {%- elif type == 'boolean' -%}{{ to_boolean(text) }}
    {%- elif type in ('timestamp', 'date') and fmt in ('epoch_ms', 'epoch_s') -%}
        {#- seconds or milliseconds since 1970 UTC (ArcGIS dates), as the city's local time #}
        cast(timezone({{ civic_literal(meta.timezone or 'UTC') }}, to_timestamp(cast({{ text }} as double){% if fmt == 'epoch_ms' %} / 1000{% endif %})) as {{ 'date' if type == 'date' else 'timestamp' }})
    {%- elif type == 'timestamp' and fmt and '%z' in fmt -%}
        {#- published with a UTC offset: the city's local time, so days and months are local #}
        timezone({{ civic_literal(meta.timezone or 'UTC') }}, strptime({{ text }}, {{ civic_literal(fmt) }}))
    {%- elif type == 'timestamp' -%}{{ to_timestamp(text, fmt or '%Y-%m-%dT%H:%M:%S') }}
    {%- elif type == 'date' and fmt -%}cast({{ to_timestamp(text, fmt) }} as date)
    {%- elif type == 'date' -%}cast({{ text }} as date)
    {%- elif type == 'time' and fmt -%}cast(strptime({{ text }}, {{ civic_literal(fmt) }}) as time)
    {%- elif type == 'time' -%}cast({{ text }} as time)
    {%- endif -%}
{%- endmacro %}

{# The value of one canonical column in one select of a source: raw column, constant or null. #}
{% macro civic_column(spec, part, meta) -%}
    {%- set raw = part.columns.get(spec.name, spec.get('raw')) -%}
    {%- set has_constant = spec.name in part.constants or 'constant' in spec -%}
    {%- set sql_type = civic_sql_type(spec.type) -%}
    {%- if raw -%}
        cast({{ civic_typed(civic_clean(adapter.quote(raw), meta.null_markers or []), spec, meta) }} as {{ sql_type }})
    {%- elif has_constant -%}
        {%- set constant = part.constants.get(spec.name, spec.get('constant')) -%}
        cast({{ civic_typed(civic_literal(constant | string), spec, meta) }} as {{ sql_type }})
    {%- else -%}
        cast(null as {{ sql_type }})
    {%- endif -%}
{%- endmacro %}

{# The area id a published area value stands for: the pattern's group, integers unpadded. #}
{% macro civic_area_key(area_expression, meta) -%}
    {%- set key = area_expression -%}
    {%- if meta.get('area_pattern') -%}
        {%- set key = "nullif(regexp_extract(" ~ key ~ ", " ~ civic_literal(meta.area_pattern) ~ ", 1), '')" -%}
    {%- endif -%}
    {%- if meta.get('area_ids') == 'integer' -%}
        case when regexp_full_match({{ key }}, '\s*-?[0-9]+(\.0*)?\s*') then cast(cast(cast({{ key }} as double) as bigint) as varchar) else {{ key }} end
    {%- else -%}{{ key }}
    {%- endif -%}
{%- endmacro %}

{# The first filter a row fails (null: in scope). #}
{% macro civic_excluded_by(meta) -%}
    {%- set filters = meta.get('filters') or [] -%}
    {%- if not filters -%}cast(null as varchar)
    {%- else -%}
        case
        {%- for f in filters %}
            {%- set value = "coalesce(trim(" ~ adapter.quote(f.column) ~ "), '')" %}
            when not ({{ value }}
            {%- if f.operator == 'equals' %} = {{ civic_literal(f.value) }}
            {%- elif f.operator == 'not_equals' %} <> {{ civic_literal(f.value) }}
            {%- elif f.operator == 'like' %} like {{ civic_literal(f.value) }}
            {%- elif f.operator == 'not_like' %} not like {{ civic_literal(f.value) }}
            {%- elif f.operator == 'one_of' %} in ({% for v in f.value %}{{ civic_literal(v) }}{% if not loop.last %}, {% endif %}{% endfor %})
            {%- endif %}) then {{ civic_literal(f.label) }}
        {%- endfor %}
        end
    {%- endif -%}
{%- endmacro %}

{# The selects a source contributes: one, or one per unpivot group / matching column. #}
{% macro civic_parts(item) -%}
    {%- set unpivot = item.meta.get('unpivot') -%}
    {%- if not unpivot -%}{{ return([{'columns': {}, 'constants': {}}]) }}{%- endif -%}
    {%- if unpivot.get('groups') -%}{{ return(unpivot.groups) }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for column in item.columns -%}
        {%- set match = modules.re.match(unpivot.pattern.columns, column) -%}
        {%- if match -%}
            {%- do parts.append({'columns': {unpivot.pattern.value: column}, 'constants': {unpivot.pattern.key: match.group(1)}}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(parts) -}}
{%- endmacro %}

{#
    Every source of a canonical table, typed and unioned: the canonical columns, then who the
    row belongs to (city, dataset, raw_table, dataset_priority = catalog order, area_type,
    area_key), whether a catalog filter leaves it out of scope (excluded_by, the row is kept),
    the dataset's own settings (`extra`: dataset_indicators, coverage, offenses_file,
    spending_kind, estimate_rank) and the load columns.
#}
{#
    `rebuild` (optional): the name of a relation of raw_table, load_id, source_file; only the
    rows of those load groups are read (incremental builds, macros/incremental_loads.sql).
#}
{% macro canonical_union(table, rebuild=none) -%}
    {%- set canonical = civic_canonical()[table] -%}
    {%- set selects = [] -%}
    {%- for item in civic_feeding(table) -%}
        {%- set meta = item.meta -%}
        {%- set specs = {} -%}
        {%- for spec in meta.columns %}{% do specs.update({spec.name: spec}) %}{% endfor -%}
        {%- for part in civic_parts(item) -%}
            {%- set area = civic_column(specs['area'], part, meta) if 'area' in specs else 'cast(null as varchar)' -%}
            {%- set sql -%}
    select
        {%- for column in canonical %}
        {{ civic_column(specs[column.name], part, meta) }} as {{ column.name }},
        {%- endfor %}
        {{ civic_literal(meta.city) }} as city,
        {{ civic_literal(meta.dataset) }} as dataset,
        {{ civic_literal(meta.raw_table) }} as raw_table,
        {{ meta.priority }} as dataset_priority,
        cast({{ civic_literal(meta.area_type) }} as varchar) as area_type,
        cast({{ civic_area_key(area, meta) }} as varchar) as area_key,
        {{ civic_excluded_by(meta) }} as excluded_by,
        cast({% if meta.indicators %}[{% for i in meta.indicators %}{{ civic_literal(i) }}{% if not loop.last %}, {% endif %}{% endfor %}]{% else %}null{% endif %} as varchar[]) as dataset_indicators,
        cast({{ civic_literal((meta.coverage or {}).get('first')) }} as date) as coverage_first,
        cast({{ civic_literal((meta.coverage or {}).get('last')) }} as date) as coverage_last,
        cast({{ civic_literal(meta.offenses) }} as varchar) as offenses_file,
        cast({{ civic_literal(meta.spending_kind) }} as varchar) as spending_kind,
        {%- if meta.estimate_preference %}
        case {{ civic_column(specs['estimate_type'], part, meta) if 'estimate_type' in specs else 'null' }}
            {%- for estimate in meta.estimate_preference %} when {{ civic_literal(estimate) }} then {{ loop.index }}{% endfor %}
            else {{ meta.estimate_preference | length + 1 }}
        end as estimate_rank,
        {%- else %}
        1 as estimate_rank,
        {%- endif %}
        {{ '_source_file' if '_source_file' in item.columns else 'cast(null as varchar)' }} as _source_file,
        _load_id,
        _loaded_at
    from {{ source('raw', meta.raw_table) }}
    {%- if rebuild %}
    where exists (
        select 1 from {{ rebuild }}
        where {{ rebuild }}.raw_table = {{ civic_literal(meta.raw_table) }}
            and {{ rebuild }}.load_id = _load_id
            and {{ rebuild }}.source_file = coalesce({{ '_source_file' if '_source_file' in item.columns else "''" }}, '')
    )
    {%- endif %}
            {%- endset -%}
            {%- do selects.append(sql) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if selects -%}
        {{ selects | join('\n    union all\n') }}
    {%- else -%}
    -- no source of {{ table }} can be read (see stg_source_status): an empty, typed relation
    select
        {%- for column in canonical %}
        cast(null as {{ civic_sql_type(column.type) }}) as {{ column.name }},
        {%- endfor %}
        cast(null as varchar) as city, cast(null as varchar) as dataset,
        cast(null as varchar) as raw_table, cast(null as integer) as dataset_priority,
        cast(null as varchar) as area_type, cast(null as varchar) as area_key,
        cast(null as varchar) as excluded_by, cast(null as varchar[]) as dataset_indicators,
        cast(null as date) as coverage_first, cast(null as date) as coverage_last,
        cast(null as varchar) as offenses_file, cast(null as varchar) as spending_kind,
        cast(null as integer) as estimate_rank, cast(null as varchar) as _source_file,
        cast(null as varchar) as _load_id, cast(null as timestamptz) as _loaded_at
    where false
    {%- endif -%}
{%- endmacro %}

{# Areas listed by a dataset of a catalog (`areas.<type>.dataset`), one row per area. #}
{% macro area_list_union() -%}
    {%- set selects = [] -%}
    {%- for item in civic_feeding('areas') -%}
        {%- set listing = item.meta.area_list -%}
        {%- set sql -%}
    select
        {{ civic_literal(item.meta.city) }} as city,
        {{ civic_literal(listing.area_type) }} as area_type,
        cast({{ civic_area_key(civic_clean(adapter.quote(listing.id_column), []), {'area_ids': listing.ids}) }} as varchar) as area_id,
        cast({{ civic_clean(adapter.quote(listing.name_column), []) }} as varchar) as area_name,
        cast([] as varchar[]) as spellings,
        {{ civic_literal('dataset ' ~ item.meta.dataset) }} as listed_by
    from {{ source('raw', item.meta.raw_table) }}
        {%- endset -%}
        {%- do selects.append(sql) -%}
    {%- endfor -%}
    {%- if selects -%}
        {{ selects | join('\n    union all\n') }}
    {%- else -%}
    select cast(null as varchar) as city, cast(null as varchar) as area_type,
        cast(null as varchar) as area_id, cast(null as varchar) as area_name,
        cast(null as varchar[]) as spellings, cast(null as varchar) as listed_by
    where false
    {%- endif -%}
{%- endmacro %}
