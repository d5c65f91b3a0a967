-- NYPD shooting incidents (historic), one row per VICTIM as published: an incident with
-- several victims has several rows sharing incident_id (and date, time, borough, precinct).
-- int_nyc_shooting_incidents reduces them to one row per incident.
with source as (

    select * from {{ source('raw', 'nyc_shooting_incidents') }}

),

renamed as (

    select
        {{ clean_text('incident_id') }} as incident_id,
        -- OCCUR_DATE is 'MM/DD/YYYY', OCCUR_TIME 'HH:MM:SS' (local time, no time zone)
        cast({{ to_timestamp('occurred_at', '%m/%d/%Y') }} as date) as occurred_on,
        -- the live API returns the date as an ISO timestamp at midnight: add the time of day
        cast({{ to_timestamp('occurred_at', '%m/%d/%Y') }} as date)
            + cast(trim(occur_time) as time) as occurred_at,
        cast(date_trunc('month', {{ to_timestamp('occurred_at', '%m/%d/%Y') }}) as date)
            as occurred_month,
        {{ clean_text('area') }} as borough_name,
        {{ to_integer('precinct') }} as precinct,
        {{ to_integer('jurisdiction_code') }} as jurisdiction_code,
        {{ clean_text('location_desc') }} as location_description,
        -- STATISTICAL_MURDER_FLAG: 'TRUE' when the victim died (the shooting counts as a murder)
        {{ to_boolean('murder_flag') }} as is_murder,
        {{ clean_text('perp_age_group') }} as perpetrator_age_group,
        {{ clean_text('perp_sex') }} as perpetrator_sex,
        {{ clean_text('perp_race') }} as perpetrator_race,
        {{ clean_text('vic_age_group') }} as victim_age_group,
        {{ clean_text('vic_sex') }} as victim_sex,
        {{ clean_text('vic_race') }} as victim_race,
        {{ to_double('x_coord_cd') }} as x_coord_ny_state_plane,
        {{ to_double('y_coord_cd') }} as y_coord_ny_state_plane,
        {{ to_double('latitude') }} as latitude,
        {{ to_double('longitude') }} as longitude,
        _partition,
        _source_file,
        _load_id,
        _loaded_at
    from source

)

select * from renamed
