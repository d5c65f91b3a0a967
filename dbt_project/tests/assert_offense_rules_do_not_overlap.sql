-- Every published offence / description pair of a city's crime data matches at most one rule
-- of its offence classification (otherwise int_crime_incidents_classified would count an
-- incident twice).
with pairs as (

    select distinct city, offenses_file, upper(offense_type) as offense,
        coalesce(upper(offense_description), '') as description
    from {{ ref('stg_crime_incidents') }}

),

matches as (

    select pairs.city, pairs.offense, pairs.description, count(*) as n_rules,
        list(rules.rule_id) as rule_ids
    from pairs
    inner join {{ ref('stg_offense_rules') }} as rules
        on rules.city = pairs.city
        and rules.offenses_file = pairs.offenses_file
        and pairs.offense = rules.offense
        and pairs.description like rules.description_like
        and (rules.description_not_like is null or pairs.description not like rules.description_not_like)
    group by all

)

select * from matches where n_rules > 1
