-- Each reported crime with its FBI UCR Part I offence and category (violent | property),
-- from the rules of the crime_categories seed. Crimes matching no rule are not Part I
-- offences and keep null ucr_offense / crime_category (they stay in the model).
-- The rules are tested not to overlap (tests/assert_crime_category_rules_do_not_overlap.sql),
-- so the left join cannot duplicate a crime.
with crimes as (

    select * from {{ ref('stg_chicago__crimes') }}

),

rules as (

    select * from {{ ref('crime_categories') }}

),

classified as (

    select
        crimes.occurred_at,
        crimes.occurred_month,
        crimes.community_area_id,
        crimes.primary_type,
        crimes.description,
        crimes.is_arrest,
        crimes.is_domestic,
        rules.rule_id as crime_category_rule_id,
        rules.ucr_offense,
        rules.category as crime_category
    from crimes
    left join rules
        on crimes.primary_type = rules.primary_type
        and crimes.description like rules.description_like
        and (
            rules.description_not_like is null
            or crimes.description not like rules.description_not_like
        )

)

select * from classified
