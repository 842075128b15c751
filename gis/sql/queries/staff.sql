-- name: upsert_staff_people
-- Create or update the people named in the staged grid-staff rows (identity: name + phone).
INSERT INTO person (name, phone, badge)
SELECT DISTINCT ON (name, coalesce(phone, '')) name, phone, badge
  FROM stage_staff
 ORDER BY name, coalesce(phone, ''), badge NULLS LAST
ON CONFLICT (name, coalesce(phone, '')) DO UPDATE
   SET badge = coalesce(EXCLUDED.badge, person.badge), updated_at = now()
 WHERE person.badge IS DISTINCT FROM coalesce(EXCLUDED.badge, person.badge);

-- name: upsert_staff_assignments
-- Insert or update the staged assignments; returns true per inserted row, false per updated row.
INSERT INTO grid_assignment AS a (grid_code, person_id, role, source, source_id, row_hash, batch_id)
SELECT s.grid_code, p.id, s.role, %(source)s, s.source_id, s.row_hash, %(batch_id)s
  FROM stage_staff s
  JOIN person p ON p.name = s.name AND coalesce(p.phone, '') = coalesce(s.phone, '')
ON CONFLICT (grid_code, person_id, role) DO UPDATE
   SET source = EXCLUDED.source, source_id = EXCLUDED.source_id, row_hash = EXCLUDED.row_hash,
       batch_id = EXCLUDED.batch_id, updated_at = now()
 WHERE a.row_hash IS DISTINCT FROM EXCLUDED.row_hash
RETURNING (xmax = 0) AS inserted;

-- name: grid_staff_in_scope
-- Grid staff with their grids and roles, inside an admin-code prefix.
SELECT a.grid_code, g.village_code, a.role, p.name, p.phone, p.badge, a.source
  FROM grid_assignment a
  JOIN person p ON p.id = a.person_id
  JOIN grid g ON g.code = a.grid_code
 WHERE (%(scope)s = '' OR g.code LIKE %(scope)s || '%%')
 ORDER BY a.grid_code, a.role, p.name;
