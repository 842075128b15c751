-- name: read_admin_units
-- Admin units inside an admin-code prefix ('' = all, including units without a code).
SELECT code, name, level, parent_code, source, source_id, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM admin_unit
 WHERE (%(scope)s = '' OR code LIKE %(scope)s || '%%')
 ORDER BY code NULLS LAST, source_id;

-- name: read_grids
-- Grids inside an admin-code prefix.
SELECT code, name, kind, village_code, households, population, source, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM grid
 WHERE (%(scope)s = '' OR code LIKE %(scope)s || '%%')
 ORDER BY code;

-- name: read_cameras
-- Cameras inside an admin-code prefix ('' = all, including cameras outside any village).
SELECT source, source_id, camera_code, name, kind, status, installed_on, heading_deg, fov_deg, range_m,
       height_m, village_code, grid_code, h3_r7, h3_r9, h3_r10, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM camera
 WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
 ORDER BY id;

-- name: read_places
-- Places inside an admin-code prefix, optionally of some kinds (NULL = all kinds).
SELECT source, source_id, name, kind, address, village_code, grid_code, h3_r7, h3_r9, h3_r10,
       ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM place
 WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
   AND (%(kinds)s::text[] IS NULL OR kind = ANY(%(kinds)s::text[]))
 ORDER BY id;

-- name: read_roads
-- Roads inside an admin-code prefix.
SELECT source, source_id, name, kind, oneway, length_m, village_code, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM road
 WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
 ORDER BY id;

-- name: read_patrol_teams
-- Patrol teams inside an admin-code prefix.
SELECT source, source_id, name, unit, leader, phone, members, area_code
  FROM patrol_team
 WHERE (%(scope)s = '' OR area_code LIKE %(scope)s || '%%')
 ORDER BY id;

-- name: read_incidents
-- Incidents inside an admin-code prefix and [start, end) of occurred_from, of some categories (NULL = all)
-- and hours of day (incident_hours_match, migration 0005; NULL = all day).
SELECT i.id, i.source, i.source_id, i.category_code, c.name_zh AS category_zh, c.name_en AS category_en,
       coalesce(c.two_robberies_one_theft, false) AS two_robberies_one_theft, i.category_raw,
       i.occurred_from, i.occurred_to, i.reported_at, i.occurred_date, i.address, i.geocode_level,
       i.description, i.merged_rows, i.village_code, i.grid_code, i.h3_r7, i.h3_r9, i.h3_r10,
       ST_AsBinary(i.geom) AS wkb, ST_SRID(i.geom) AS srid
  FROM incident i
  LEFT JOIN incident_category c ON c.code = i.category_code
 WHERE (%(scope)s = '' OR i.village_code LIKE %(scope)s || '%%')
   AND (%(start)s::timestamptz IS NULL OR i.occurred_from >= %(start)s::timestamptz)
   AND (%(end)s::timestamptz IS NULL OR i.occurred_from < %(end)s::timestamptz)
   AND (%(categories)s::text[] IS NULL OR i.category_code = ANY(%(categories)s::text[]))
   AND incident_hours_match(i.occurred_hour, i.hour_span, %(hour_from)s, %(hour_to)s)
 ORDER BY i.occurred_from, i.id;

-- name: read_addresses
-- Standard addresses inside an admin-code prefix.
SELECT source, source_id, address, province, city, county, township, village, group_name, road, door,
       level, village_code, grid_code, h3_r7, h3_r9, h3_r10, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM standard_address
 WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
 ORDER BY id;

-- name: incident_counts_by_grid
-- Incidents per grid inside a scope (an admin-code prefix, or a 15-digit grid code), [start, end),
-- some categories (NULL = all) and hours of day (incident_hours_match, migration 0005; NULL = all
-- day); incidents outside every grid come back under a NULL grid code. With a category filter the
-- planner reads incident_counts_idx alone (an index-only scan), never the table.
SELECT grid_code, count(*) AS incidents
  FROM incident
 WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%'
        OR (length(%(scope)s) > 12 AND grid_code = %(scope)s))
   AND (%(start)s::timestamptz IS NULL OR occurred_from >= %(start)s::timestamptz)
   AND (%(end)s::timestamptz IS NULL OR occurred_from < %(end)s::timestamptz)
   AND (%(categories)s::text[] IS NULL OR category_code = ANY(%(categories)s::text[]))
   AND incident_hours_match(occurred_hour, hour_span, %(hour_from)s, %(hour_to)s)
 GROUP BY grid_code;

-- name: incident_monthly_counts
-- Incidents per month (deployment time zone) of the 12 months ending with the month of until
-- (NULL: the month of the latest incident), inside a scope as incident_counts_by_grid, of some
-- categories and hours; every month is returned, empty ones with 0.
WITH last AS (
    SELECT date_trunc('month', coalesce(%(until)s::date,
                                        (SELECT max(occurred_from) FROM incident)::date))::date AS month
), months AS (
    SELECT generate_series(month - interval '11 months', month, interval '1 month')::date AS month
      FROM last WHERE month IS NOT NULL
), hits AS (
    SELECT date_trunc('month', i.occurred_date)::date AS month, count(*) AS incidents
      FROM incident i, last
     WHERE i.occurred_from >= (last.month - interval '11 months')::timestamptz
       AND i.occurred_from < (last.month + interval '1 month')::timestamptz
       AND (%(scope)s = '' OR i.village_code LIKE %(scope)s || '%%'
            OR (length(%(scope)s) > 12 AND i.grid_code = %(scope)s))
       AND (%(categories)s::text[] IS NULL OR i.category_code = ANY(%(categories)s::text[]))
       AND incident_hours_match(i.occurred_hour, i.hour_span, %(hour_from)s, %(hour_to)s)
     GROUP BY 1
)
SELECT m.month, coalesce(h.incidents, 0) AS incidents
  FROM months m LEFT JOIN hits h USING (month)
 ORDER BY m.month;

-- name: read_incident
-- One incident by id inside an admin-code prefix, with its category names and its point (no
-- description: the dashboard's panel does not show free text).
SELECT i.id, i.source, i.source_id, i.category_code, c.name_zh AS category_zh, c.name_en AS category_en,
       i.category_raw, i.occurred_from, i.occurred_to, i.reported_at, i.address, i.geocode_level,
       i.merged_rows, i.village_code, i.grid_code, ST_X(i.geom) AS x, ST_Y(i.geom) AS y, ST_SRID(i.geom) AS srid
  FROM incident i
  LEFT JOIN incident_category c ON c.code = i.category_code
 WHERE i.id = %(incident_id)s
   AND (%(scope)s = '' OR i.village_code LIKE %(scope)s || '%%');

-- name: base_layers_version
-- A cheap version stamp of the base layers: it changes with every import batch and every purge.
SELECT (SELECT coalesce(max(id), 0) FROM import_batch) AS batch,
       (SELECT count(*) FROM admin_unit) + (SELECT count(*) FROM grid) + (SELECT count(*) FROM camera)
       + (SELECT count(*) FROM place) + (SELECT count(*) FROM grid_assignment) AS rows;

-- name: layer_counts
-- Row counts of every base layer and the quarantine, inside an admin-code prefix.
SELECT 'admin_units' AS layer, count(*) AS rows FROM admin_unit WHERE (%(scope)s = '' OR code LIKE %(scope)s || '%%')
UNION ALL SELECT 'grids', count(*) FROM grid WHERE (%(scope)s = '' OR code LIKE %(scope)s || '%%')
UNION ALL SELECT 'grid_staff', count(*) FROM grid_assignment WHERE (%(scope)s = '' OR grid_code LIKE %(scope)s || '%%')
UNION ALL SELECT 'cameras', count(*) FROM camera WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
UNION ALL SELECT 'places', count(*) FROM place WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
UNION ALL SELECT 'addresses', count(*) FROM standard_address WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
UNION ALL SELECT 'incidents', count(*) FROM incident WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
UNION ALL SELECT 'roads', count(*) FROM road WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')
UNION ALL SELECT 'patrol_teams', count(*) FROM patrol_team WHERE (%(scope)s = '' OR area_code LIKE %(scope)s || '%%')
UNION ALL SELECT 'quarantine', count(*) FROM quarantine;
