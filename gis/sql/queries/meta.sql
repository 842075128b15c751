-- name: get_meta
-- One value of the pingan_meta key/value table.
SELECT value FROM pingan_meta WHERE key = %(key)s;

-- name: set_meta
-- Set one value of the pingan_meta key/value table.
INSERT INTO pingan_meta (key, value) VALUES (%(key)s, %(value)s)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;

-- name: purge_source
-- Delete every row that one source brought, in every base layer (used to replace the demo county).
WITH i AS (DELETE FROM incident WHERE source = %(source)s),
     k AS (DELETE FROM incident_key WHERE source = %(source)s),
     a AS (DELETE FROM grid_assignment WHERE source = %(source)s),
     c AS (DELETE FROM camera WHERE source = %(source)s),
     p AS (DELETE FROM place WHERE source = %(source)s),
     s AS (DELETE FROM standard_address WHERE source = %(source)s),
     r AS (DELETE FROM road WHERE source = %(source)s),
     t AS (DELETE FROM patrol_team WHERE source = %(source)s),
     g AS (DELETE FROM grid WHERE source = %(source)s),
     u AS (DELETE FROM admin_unit WHERE source = %(source)s),
     m AS (DELETE FROM pingan_meta WHERE key = 'demo')
SELECT 1;
