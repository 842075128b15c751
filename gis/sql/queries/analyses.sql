-- name: analysis_incidents
-- Incidents as the analyses read them: the lean columns, the 两抢一盗 flag and lon/lat, inside an
-- admin-code prefix, [start, end) of occurred_from and some categories (NULL = all).
SELECT i.id, i.category_code AS category, coalesce(c.two_robberies_one_theft, false) AS two_robberies_one_theft,
       i.occurred_from, i.occurred_to, i.village_code, i.grid_code, i.h3_r10,
       ST_X(i.geom) AS x, ST_Y(i.geom) AS y
  FROM incident i
  LEFT JOIN incident_category c ON c.code = i.category_code
 WHERE (%(scope)s = '' OR i.village_code LIKE %(scope)s || '%%')
   AND (%(start)s::timestamptz IS NULL OR i.occurred_from >= %(start)s::timestamptz)
   AND (%(end)s::timestamptz IS NULL OR i.occurred_from < %(end)s::timestamptz)
   AND (%(categories)s::text[] IS NULL OR i.category_code = ANY(%(categories)s::text[]))
 ORDER BY i.occurred_from, i.id;

-- name: analysis_incident_span
-- The first and last occurred_from of the incidents inside an admin-code prefix (NULL when none).
SELECT min(occurred_from) AS first, max(occurred_from) AS last
  FROM incident
 WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%');

-- name: insert_analysis_run
-- Record a finished analysis run with its parameters, bilingual log, summary and result; returns its id.
INSERT INTO analysis_run (kind, area_code, period_from, period_to, categories, params, log, summary, result,
                          started_at, finished_at)
VALUES (%(run_kind)s, %(area_code)s, %(period_from)s, %(period_to)s, coalesce(%(categories)s::text[], '{}'),
        %(params)s::jsonb, %(log)s::jsonb, %(summary)s::jsonb, %(result)s::jsonb,
        coalesce(%(started_at)s::timestamptz, clock_timestamp()), clock_timestamp())
RETURNING id;

-- name: add_to_run_summary
-- Add figures known only after a run's row was written (its key areas new and updated) to its summary.
UPDATE analysis_run SET summary = summary || %(summary)s::jsonb WHERE id = %(run_id)s;

-- name: read_analysis_run
-- One analysis run by id, with its result.
SELECT id, kind, area_code, period_from, period_to, categories, params, log, summary, result,
       started_at, finished_at
  FROM analysis_run
 WHERE id = %(run_id)s;

-- name: list_analysis_runs
-- The newest analysis runs, optionally of one kind (NULL = all) and inside an admin-code prefix.
SELECT id, kind, area_code, period_from, period_to, categories, summary, started_at, finished_at
  FROM analysis_run
 WHERE (%(run_kind)s::text IS NULL OR kind = %(run_kind)s::text)
   AND (%(scope)s = '' OR area_code LIKE %(scope)s || '%%')
 ORDER BY started_at DESC, id DESC
 LIMIT %(limit)s;

-- name: latest_analysis_run
-- The newest run of a kind whose area covers the admin-code prefix (its own area is a prefix of it).
SELECT id
  FROM analysis_run
 WHERE kind = %(run_kind)s AND %(scope)s LIKE area_code || '%%'
 ORDER BY started_at DESC, id DESC
 LIMIT 1;

-- name: read_hotspot_cells
-- The cells of one hotspot or emerging run, with their geometry.
SELECT cell_id, count, z, p, bin, pattern, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM hotspot_cell
 WHERE run_id = %(run_id)s
 ORDER BY cell_id;

-- name: read_cluster_areas
-- The cluster polygons of one clusters run.
SELECT cluster_id, n, categories, profile, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM cluster_area
 WHERE run_id = %(run_id)s
 ORDER BY cluster_id;

-- name: create_key_area_stage
-- Staging table for the key areas of one refresh (binary COPY fills it).
CREATE TEMP TABLE stage_key_area ON COMMIT DROP AS
SELECT fingerprint, rule, area_code, name, reason, evidence, geom FROM key_area WITH NO DATA;

-- name: upsert_key_areas
-- Insert the staged key areas, or update the evidence of those found before (same fingerprint);
-- the workflow status is left as it is. New ones get their first history event (found).
WITH upserted AS (
    INSERT INTO key_area AS k (fingerprint, rule, area_code, name, reason, evidence, run_id, geom)
    SELECT fingerprint, rule, area_code, name, reason, evidence, %(run_id)s, geom FROM stage_key_area
    ON CONFLICT (fingerprint) DO UPDATE
       SET rule = EXCLUDED.rule, area_code = EXCLUDED.area_code, name = EXCLUDED.name,
           reason = EXCLUDED.reason, evidence = EXCLUDED.evidence, run_id = EXCLUDED.run_id,
           geom = EXCLUDED.geom, updated_at = now()
    RETURNING k.id, (xmax = 0) AS inserted
), events AS (
    INSERT INTO key_area_event (key_area_id, actor, from_status, to_status, note)
    SELECT id, coalesce(%(actor)s::text, current_user::text), NULL, 'found', %(note)s::text FROM upserted WHERE inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
  FROM upserted;

-- name: read_key_areas
-- The key-area register inside an admin-code prefix, optionally of one status (NULL = all);
-- overdue = past its deadline (deployment time zone) and not delisted.
SELECT id, rule, area_code, name, reason ->> 'zh' AS reason_zh, reason ->> 'en' AS reason_en, evidence,
       status, deadline, responsible_unit, notes,
       (deadline IS NOT NULL AND deadline < current_date AND status <> 'delisted') AS overdue,
       run_id, created_at, updated_at, ST_AsBinary(geom) AS wkb, ST_SRID(geom) AS srid
  FROM key_area
 WHERE (%(scope)s = '' OR area_code LIKE %(scope)s || '%%')
   AND (%(status)s::text IS NULL OR status = %(status)s::text)
 ORDER BY (status = 'delisted'), created_at, id;

-- name: lock_key_area
-- One key area's workflow fields, locked for a transition.
SELECT id, status, deadline, responsible_unit, notes FROM key_area WHERE id = %(key_area_id)s FOR UPDATE;

-- name: move_key_area
-- Apply a workflow transition to a key area and record it in its history.
WITH moved AS (
    UPDATE key_area
       SET status = %(to_status)s, deadline = %(deadline)s::date, responsible_unit = %(responsible_unit)s::text,
           notes = coalesce(%(note)s::text, notes), updated_at = now()
     WHERE id = %(key_area_id)s
    RETURNING id
)
INSERT INTO key_area_event (key_area_id, actor, from_status, to_status, deadline, responsible_unit, note)
SELECT id, coalesce(%(actor)s::text, current_user::text), %(from_status)s, %(to_status)s, %(deadline)s::date,
       %(responsible_unit)s::text, %(note)s::text
  FROM moved;

-- name: key_area_history
-- The workflow history of one key area, oldest first.
SELECT at, actor, from_status, to_status, deadline, responsible_unit, note
  FROM key_area_event
 WHERE key_area_id = %(key_area_id)s
 ORDER BY at, id;

-- name: delete_risk_grades
-- Remove the grades of some months inside an admin-code prefix, before a refresh writes them again.
DELETE FROM risk_grade
 WHERE month = ANY(%(months)s::date[])
   AND (%(scope)s = '' OR area_code LIKE %(scope)s || '%%');

-- name: read_risk_grades
-- The grades of one level and month inside an admin-code prefix, with each unit's name and boundary.
SELECT r.area_code, coalesce(g.name, a.name, r.area_code) AS name, r.level, r.month, r.grade, r.score,
       r.factors, r.explanation, r.run_id,
       ST_AsBinary(coalesce(g.geom, a.geom)) AS wkb, ST_SRID(coalesce(g.geom, a.geom)) AS srid
  FROM risk_grade r
  LEFT JOIN grid g ON r.level = 'grid' AND g.code = r.area_code
  LEFT JOIN admin_unit a ON r.level <> 'grid' AND a.code = r.area_code
 WHERE r.month = %(month)s::date AND r.level = %(level)s::text
   AND (%(scope)s = '' OR r.area_code LIKE %(scope)s || '%%')
   AND coalesce(g.geom, a.geom) IS NOT NULL
 ORDER BY r.area_code;

-- name: risk_months
-- The months that have risk grades, oldest first.
SELECT DISTINCT month FROM risk_grade ORDER BY month;

-- name: analysis_kpis
-- The overview's key figures for one month (a date in it) inside an admin-code prefix: incidents and
-- 两抢一盗 this month, last month and the same month a year before; key areas open and overdue;
-- grids by grade; cameras and those offline or at fault.
WITH m AS (
    SELECT date_trunc('month', %(month)s::date)::date AS month
), counts AS (
    SELECT date_trunc('month', i.occurred_date)::date AS month, count(*) AS incidents,
           count(*) FILTER (WHERE coalesce(c.two_robberies_one_theft, false)) AS robbery_theft
      FROM incident i
      LEFT JOIN incident_category c ON c.code = i.category_code, m
     WHERE i.occurred_date >= (m.month - interval '12 months')::date
       AND i.occurred_date < (m.month + interval '1 month')::date
       AND (%(scope)s = '' OR i.village_code LIKE %(scope)s || '%%')
     GROUP BY 1
)
SELECT m.month,
       coalesce((SELECT incidents FROM counts WHERE month = m.month), 0) AS incidents,
       coalesce((SELECT robbery_theft FROM counts WHERE month = m.month), 0) AS robbery_theft,
       coalesce((SELECT incidents FROM counts WHERE month = (m.month - interval '1 month')::date), 0)
           AS incidents_last_month,
       coalesce((SELECT robbery_theft FROM counts WHERE month = (m.month - interval '1 month')::date), 0)
           AS robbery_theft_last_month,
       coalesce((SELECT incidents FROM counts WHERE month = (m.month - interval '12 months')::date), 0)
           AS incidents_last_year,
       coalesce((SELECT robbery_theft FROM counts WHERE month = (m.month - interval '12 months')::date), 0)
           AS robbery_theft_last_year,
       (SELECT count(*) FROM key_area WHERE status <> 'delisted'
           AND (%(scope)s = '' OR area_code LIKE %(scope)s || '%%')) AS open_key_areas,
       (SELECT count(*) FROM key_area WHERE status <> 'delisted' AND deadline < current_date
           AND (%(scope)s = '' OR area_code LIKE %(scope)s || '%%')) AS overdue_key_areas,
       (SELECT coalesce(jsonb_object_agg(grade, n), '{}') FROM (
            SELECT grade, count(*) AS n FROM risk_grade
             WHERE level = 'grid' AND month = m.month
               AND (%(scope)s = '' OR area_code LIKE %(scope)s || '%%')
             GROUP BY grade) g) AS grids_by_grade,
       (SELECT count(*) FROM camera WHERE (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')) AS cameras,
       (SELECT count(*) FROM camera WHERE status <> 'online'
           AND (%(scope)s = '' OR village_code LIKE %(scope)s || '%%')) AS cameras_offline
  FROM m;
