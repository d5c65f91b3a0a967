-- The category of each crime_categories rule is the FBI Part I category of its offence.
select *
from {{ ref('crime_categories') }}
where category <> case
    when ucr_offense in ('criminal homicide', 'rape', 'robbery', 'aggravated assault')
        then 'violent'
    when ucr_offense in ('burglary', 'larceny-theft', 'motor vehicle theft', 'arson')
        then 'property'
end
