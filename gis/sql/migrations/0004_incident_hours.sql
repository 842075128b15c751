-- The hour-of-day filter of incidents (the dashboard's hours, and any query that wants them).
--
-- incident_in_hours(occurred_from, occurred_to, hour_from, hour_to) is true when the incident
-- certainly happened inside the hours [hour_from, hour_to) of the session's time zone (every
-- pooled connection runs in the deployment time zone). The band may wrap midnight: 22, 6 is
-- 22:00-06:00. An incident known to the minute (no occurred_to, or occurred_to = occurred_from)
-- counts when its time of day lies in the band. An incident known only by a window counts when
-- the whole window lies inside one stretch of the band; a window longer than the band, or one
-- that crosses its edge, does not count (its hour is not known), and neither does a date-only
-- (whole-day) incident unless the band is the whole day. A NULL hour means no filter; equal
-- hours mean the whole day. Written as one SQL expression, so the planner inlines it.
CREATE FUNCTION incident_in_hours(
    occurred_from timestamptz, occurred_to timestamptz, hour_from integer, hour_to integer
) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT hour_from IS NULL OR hour_to IS NULL
    OR coalesce(nullif(mod(hour_to - hour_from + 48, 24), 0), 24) = 24
    OR (mod(extract(epoch FROM occurred_from::time) - hour_from * 3600 + 86400, 86400)
            < mod(hour_to - hour_from + 48, 24) * 3600
        AND mod(extract(epoch FROM occurred_from::time) - hour_from * 3600 + 86400, 86400)
            + coalesce(extract(epoch FROM occurred_to - occurred_from), 0)
            <= mod(hour_to - hour_from + 48, 24) * 3600)
$$;
