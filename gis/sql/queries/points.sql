-- name: incident_points_geobuf
-- The incidents of sample tiers <= tier (2 = all) in a lon/lat box (storage SRID) matching the filter of incident_counts_by_grid: matched (up to scan_limit; NULL = all) and, when matched > encode_over and the rows were not cut by scan_limit (or none was set), the latest cap of them as geobuf (id, category, occurred in epoch seconds).
WITH candidates AS MATERIALIZED (
    SELECT i.id, i.category_code AS category, extract(epoch FROM i.occurred_from)::bigint AS occurred,
           i.occurred_from, i.geom
      FROM incident i
     WHERE (%(tier)s::smallint >= 2 OR i.sample_tier <= %(tier)s::smallint)
       AND i.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, %(srid)s)
       AND (%(scope)s = '' OR i.village_code LIKE %(scope)s || '%%'
            OR (length(%(scope)s) > 12 AND i.grid_code = %(scope)s))
       AND (%(start)s::timestamptz IS NULL OR i.occurred_from >= %(start)s::timestamptz)
       AND (%(end)s::timestamptz IS NULL OR i.occurred_from < %(end)s::timestamptz)
       AND (%(categories)s::text[] IS NULL OR i.category_code = ANY(%(categories)s::text[]))
       AND incident_hours_match(i.occurred_hour, i.hour_span, %(hour_from)s, %(hour_to)s)
     LIMIT %(scan_limit)s
), matched AS (
    SELECT count(*) AS n FROM candidates
)
SELECT m.n AS matched,
       CASE WHEN m.n > %(encode_over)s AND (m.n <= %(cap)s OR %(scan_limit)s::bigint IS NULL) THEN
           (SELECT ST_AsGeobuf(p, 'geom')
              FROM (SELECT id, category, occurred, geom FROM candidates
                     ORDER BY occurred_from DESC, id DESC LIMIT %(cap)s) p)
       END AS geobuf
  FROM matched m;
