-- The category of each offence rule is the FBI Part I category of its UCR offence
-- (pipelines/offenses.py refuses such a file too; this guards the warehouse copy).
select *
from {{ ref('stg_offense_rules') }}
where category <> case
    when ucr_offense in ('criminal homicide', 'rape', 'robbery', 'aggravated assault')
        then 'violent'
    when ucr_offense in ('burglary', 'larceny-theft', 'motor vehicle theft', 'arson')
        then 'property'
    else category
end
