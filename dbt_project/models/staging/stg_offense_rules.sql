-- Every city's offence classification rules (sources/offenses/<city>.csv, validated by
-- pipelines/offenses.py and written to meta.offense_rules): published offence (+ description
-- patterns) -> FBI UCR Part I offence and category. The rules of one file must not overlap on
-- the data (tests/assert_offense_rules_do_not_overlap).
select
    city,
    offenses_file,
    rule_id,
    upper(offense) as offense,
    upper(description_like) as description_like,
    upper(description_not_like) as description_not_like,
    ucr_offense,
    category,
    rationale
from {{ source('meta', 'offense_rules') }}
