-- The hour-of-day filter without time-zone arithmetic per row, and an index for the counts.
--
-- incident_in_hours (migration 0004) converts every occurred_from to the session's time zone
-- and computes in numeric: about 1 µs a row, most of the dashboard's time on a million
-- incidents. The two facts the band test needs are stored instead, computed once when a row
-- is written, in the deployment time zone (pingan_meta; every pooled connection runs in it):
--
--   occurred_hour  the hour of day (0-23) of occurred_from;
--   hour_span      how many hours, counted from the start of that hour, the incident may have
--                  lasted: ceil((minutes and seconds past the hour + the window's length) / 1 h),
--                  at most 25 (0 = exactly on the hour, 1 = inside that hour).
--
-- With L the band's length in hours and d = (occurred_hour - hour_from) mod 24, 0004's rule
-- "the start lies in the band and the whole window ends by its end" is exactly
-- d < L AND d + hour_span <= L (band edges are whole hours). incident_hours_match does that in
-- smallint arithmetic; the times are exact to the microsecond, as in 0004.
-- incident_hour_columns() (re)makes the two columns, and the counts' index that carries them,
-- for the time zone pingan_meta records: this migration calls it once; a database whose
-- recorded time zone is changed afterwards (the tests' clones do it) calls it again.
CREATE FUNCTION incident_hour_columns() RETURNS void
LANGUAGE plpgsql
AS $function$
DECLARE
    zone text := (SELECT value FROM pingan_meta WHERE key = 'timezone');
BEGIN
    ALTER TABLE incident DROP COLUMN IF EXISTS occurred_hour, DROP COLUMN IF EXISTS hour_span;
    EXECUTE format(
        $ddl$
        ALTER TABLE incident
          ADD COLUMN occurred_hour smallint GENERATED ALWAYS AS
              (date_part('hour', occurred_from AT TIME ZONE %%1$L)::smallint) STORED,
          ADD COLUMN hour_span smallint GENERATED ALWAYS AS
              (least(25, ((date_part('epoch', (occurred_from AT TIME ZONE %%1$L)
                                     - date_trunc('hour', occurred_from AT TIME ZONE %%1$L))
                           * 1000000)::bigint
                          + coalesce((date_part('epoch', occurred_to - occurred_from)
                                      * 1000000)::bigint, 0)
                          + 3599999999) / 3600000000)::smallint) STORED
        $ddl$,
        zone
    );
    -- The per-grid counts of the map read this index alone (an index-only scan): the
    -- categories and days of the filter are its keys, the rest of what a count needs rides
    -- along.
    CREATE INDEX incident_counts_idx ON incident (category_code, occurred_from)
        INCLUDE (grid_code, village_code, occurred_hour, hour_span);
END
$function$;

SELECT incident_hour_columns();

-- True when an incident with these stored hours certainly happened inside [hour_from, hour_to)
-- (wrapping midnight when hour_from > hour_to); NULL hours or a whole day: no filter.
CREATE FUNCTION incident_hours_match(
    occurred_hour smallint, hour_span smallint, hour_from integer, hour_to integer
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT hour_from IS NULL OR hour_to IS NULL OR (hour_to - hour_from + 48) %% 24 = 0
    OR ((occurred_hour - hour_from + 24) %% 24 < (hour_to - hour_from + 48) %% 24
        AND (occurred_hour - hour_from + 24) %% 24 + hour_span <= (hour_to - hour_from + 48) %% 24)
$$;

-- 0004's function, same rule and signature, for callers that hold only the times (and any
-- session time zone): integer microseconds instead of numeric, about twice as fast.
CREATE OR REPLACE FUNCTION incident_in_hours(
    occurred_from timestamptz, occurred_to timestamptz, hour_from integer, hour_to integer
) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT hour_from IS NULL OR hour_to IS NULL OR (hour_to - hour_from + 48) %% 24 = 0
    OR ((date_part('hour', occurred_from::time)::integer - hour_from + 24) %% 24
            < (hour_to - hour_from + 48) %% 24
        AND ((date_part('hour', occurred_from::time)::integer - hour_from + 24) %% 24) * 3600000000::bigint
            + (date_part('epoch', occurred_from::time) * 1000000)::bigint %% 3600000000
            + coalesce((date_part('epoch', occurred_to - occurred_from) * 1000000)::bigint, 0)
            <= ((hour_to - hour_from + 48) %% 24) * 3600000000::bigint)
$$;
