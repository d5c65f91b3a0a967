-- Every city's crime incidents in scope, one row per incident (files listing one row per
-- victim are reduced to their first row per incident_id), in their area, with the FBI UCR
-- Part I offence and the category from the city's offence classification (stg_offense_rules:
-- first match of offence = rule offence, description LIKE / NOT LIKE the rule's patterns;
-- the rules are tested not to overlap, so the join cannot duplicate an incident).
--   crime_category:      the category this incident counts in (violent | property |
--                        shooting), null when it is not in one or when its dataset is not
--                        the city's source for that category's indicator (catalog
--                        `indicators`, e.g. a homicide history file feeds homicides only);
--   counts_as_homicide:  a criminal homicide counted in the homicide rate (same rule).
-- area_id is null for an incident whose published area matches no area of the city: it is
-- counted citywide only (docs block citywide_rule).
-- Incremental by load group (macros/incremental_loads.sql): a build classifies only the
-- staged rows of loads it has not built yet, under the same rules and area spellings (the
-- context); a raw table with incident ids is rebuilt whole, as its ids are deduplicated
-- across files.
{%- set categories = civic_offense_categories() %}
{%- set groups = "model_load_groups(ref('stg_crime_incidents'), 'incident_id')" %}
{%- set context = "crime_classification_context()" %}
{%- set hook_args = "'int_crime_incidents_classified', " ~ groups ~ ", " ~ context %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ incremental_load_groups_prune(" ~ hook_args ~ ") }}",
    post_hook="{{ incremental_load_groups_record(" ~ hook_args ~ ") }}",
) }}
with
{%- if is_incremental() %}

rebuild as materialized (

    {{ incremental_load_groups_rebuild(
        'int_crime_incidents_classified',
        model_load_groups(ref('stg_crime_incidents'), 'incident_id'),
        crime_classification_context()
    ) }}

),
{%- endif %}

incidents as (

    select staged.* from {{ ref('stg_crime_incidents') }} as staged
    {%- if is_incremental() %}
    semi join rebuild
        on rebuild.raw_table = staged.raw_table
        and rebuild.load_id = staged._load_id
        and rebuild.source_file = coalesce(staged._source_file, '')
    {%- endif %}
    where staged.excluded_by is null

),

one_row_per_incident as (

    select * from incidents where incident_id is null
    union all
    select * from incidents
    where incident_id is not null
    qualify row_number() over (
        -- ties broken on every column kept, so a rebuild picks the same row
        partition by city, dataset, incident_id
        order by occurred_at, area_key, offense_type, offense_description, location_description,
            is_arrest, is_domestic, _load_id, _source_file
    ) = 1

),

located as (

    {{ with_resolved_areas('one_row_per_incident') }}

),

rules as (

    select * from {{ ref('stg_offense_rules') }}

),

classified as (

    select
        located.*,
        rules.rule_id as offense_rule_id,
        rules.ucr_offense,
        rules.category as offense_category,
        case rules.category
            {%- for name, indicator in categories.items() %}
            when {{ civic_literal(name) }} then {{ civic_literal(indicator) }}
            {%- endfor %}
        end as category_indicator_id
    from located
    left join rules
        on rules.city = located.city
        and rules.offenses_file = located.offenses_file
        and upper(located.offense_type) = rules.offense
        and coalesce(upper(located.offense_description), '') like rules.description_like
        and (
            rules.description_not_like is null
            or coalesce(upper(located.offense_description), '') not like rules.description_not_like
        )

)

select
    city,
    dataset,
    dataset_priority,
    area_type,
    area_id,
    area_name,
    area as published_area,
    occurred_at,
    occurred_on,
    occurred_month,
    incident_id,
    offense_type,
    offense_description,
    is_arrest,
    is_domestic,
    offense_rule_id,
    ucr_offense,
    case
        when dataset_indicators is null or list_contains(dataset_indicators, category_indicator_id)
            then offense_category
    end as crime_category,
    coalesce(
        ucr_offense = 'criminal homicide'
        and (dataset_indicators is null or list_contains(dataset_indicators, 'homicide_rate')),
        false
    ) as counts_as_homicide,
    raw_table,
    _load_id,
    _source_file
from classified
