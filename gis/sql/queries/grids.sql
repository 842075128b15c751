-- name: grid_tiling_violations
-- Villages whose 综合 grids leave gaps (m²), overlap each other (m²) or reach outside the village (m²).
WITH g AS (
    SELECT village_code, geom FROM grid
     WHERE kind = '综合' AND village_code LIKE %(scope)s || '%%'
), per_village AS (
    SELECT v.code AS village_code, v.geom AS village, ST_Union(g.geom) AS grids,
           sum(ST_Area(g.geom::geography)) AS summed_m2
      FROM admin_unit v JOIN g ON g.village_code = v.code
     WHERE v.level = 'village'
     GROUP BY v.code, v.geom
), measured AS (
    SELECT village_code,
           ST_Area(ST_Difference(village, grids)::geography) AS gap_m2,
           summed_m2 - ST_Area(grids::geography) AS overlap_m2,
           ST_Area(ST_Difference(grids, village)::geography) AS outside_m2,
           ST_Area(village::geography) AS village_m2
      FROM per_village
)
SELECT village_code, gap_m2, overlap_m2, outside_m2
  FROM measured
 WHERE gap_m2 > 1 + 1e-6 * village_m2 OR overlap_m2 > 1 + 1e-6 * village_m2
    OR outside_m2 > 1 + 1e-6 * village_m2
 ORDER BY village_code;
