-- Every primary type / description pair seen in the crime data matches at most one
-- crime_categories rule (otherwise int_crimes_classified would double-count incidents).
with pairs as (

    select distinct primary_type, description
    from {{ ref('stg_chicago__crimes') }}

),

matches as (

    select pairs.primary_type, pairs.description, count(*) as n_rules, list(rules.rule_id) as rule_ids
    from pairs
    inner join {{ ref('crime_categories') }} as rules
        on pairs.primary_type = rules.primary_type
        and pairs.description like rules.description_like
        and (rules.description_not_like is null or pairs.description not like rules.description_not_like)
    group by pairs.primary_type, pairs.description

)

select * from matches where n_rules > 1
