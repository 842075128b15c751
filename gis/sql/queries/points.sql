-- name: incident_points_geobuf
-- The latest incidents inside a lon/lat box (storage SRID) and the filter of incident_counts_by_grid, as geobuf
-- (id, category, occurred in epoch seconds), at most cap of them; matched counts up to cap + 1.
WITH hits AS (
    SELECT i.id, i.category_code AS category, extract(epoch FROM i.occurred_from)::bigint AS occurred,
           i.occurred_from, i.geom
      FROM incident i
     WHERE i.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, %(srid)s)
       AND (%(scope)s = '' OR i.village_code LIKE %(scope)s || '%%'
            OR (length(%(scope)s) > 12 AND i.grid_code = %(scope)s))
       AND (%(start)s::timestamptz IS NULL OR i.occurred_from >= %(start)s::timestamptz)
       AND (%(end)s::timestamptz IS NULL OR i.occurred_from < %(end)s::timestamptz)
       AND (%(categories)s::text[] IS NULL OR i.category_code = ANY(%(categories)s::text[]))
       AND incident_hours_match(i.occurred_hour, i.hour_span, %(hour_from)s, %(hour_to)s)
     ORDER BY i.occurred_from DESC, i.id DESC
     LIMIT %(cap)s + 1
)
SELECT (SELECT count(*) FROM hits) AS matched,
       (SELECT ST_AsGeobuf(p, 'geom')
          FROM (SELECT id, category, occurred, geom FROM hits
                 ORDER BY occurred_from DESC, id DESC LIMIT %(cap)s) p) AS geobuf;
