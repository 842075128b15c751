-- name: village_polygons
-- Village and community polygons with their codes, as WKB, for assignment at ingest.
SELECT code, ST_AsBinary(geom) AS wkb
  FROM admin_unit
 WHERE level = 'village' AND code IS NOT NULL
 ORDER BY code;

-- name: grid_polygons_for_assignment
-- 综合 grid polygons with their code and village, as WKB, for assignment at ingest.
SELECT code, village_code, ST_AsBinary(geom) AS wkb
  FROM grid
 WHERE kind = '综合'
 ORDER BY code;

-- name: reference_points
-- Known positions (places and cameras, lon/lat) to detect a GCJ-02/BD-09 offset in new data.
SELECT ST_X(p) AS lon, ST_Y(p) AS lat
  FROM (SELECT ST_PointOnSurface(geom) AS p FROM place
        UNION ALL SELECT geom FROM camera) s
 LIMIT %(limit)s;

-- name: grid_codes
-- Every grid code, to check references from other layers.
SELECT code FROM grid;
