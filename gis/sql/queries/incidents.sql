-- name: lock_incident_tables
-- Keep other importers of incidents out for this batch (readers are not blocked).
LOCK TABLE incident, incident_key IN SHARE ROW EXCLUSIVE MODE;

-- name: reserve_incident_ids
-- Reserve a block of incident ids for this batch (under lock_incident_tables); returns the first.
SELECT setval('incident_id_seq', nextval('incident_id_seq') + %(count)s - 1) - %(count)s + 1 AS first;

-- name: incident_source_has_keys
-- Whether a source has brought any incident before (if not, every row of its batch is new).
SELECT EXISTS (SELECT 1 FROM incident_key WHERE source = %(source)s) AS has_keys;

-- name: create_batch_keys
-- A temporary table for the source ids of this batch.
CREATE TEMP TABLE batch_key (source_id text) ON COMMIT DROP;

-- name: existing_batch_keys
-- Which source ids of this batch the source already has: incident id and stored row hash.
SELECT k.source_id, k.incident_id, k.row_hash
  FROM incident_key k JOIN batch_key b ON b.source_id = k.source_id
 WHERE k.source = %(source)s;

-- name: create_changed_incident_stage
-- Staging table for incidents whose content changed since their last import.
CREATE TEMP TABLE stage_incident ON COMMIT DROP AS SELECT * FROM incident WITH NO DATA;

-- name: create_changed_key_stage
-- Staging table for the keys of incidents whose content changed since their last import.
CREATE TEMP TABLE stage_key ON COMMIT DROP AS SELECT * FROM incident_key WITH NO DATA;

-- name: update_changed_incidents
-- Replace the changed incidents and their keys' hashes with the staged rows.
WITH changed AS (
    UPDATE incident i
       SET category_code = s.category_code, category_raw = s.category_raw,
           occurred_from = s.occurred_from, occurred_to = s.occurred_to, reported_at = s.reported_at,
           occurred_date = s.occurred_date, address = s.address, geocode_level = s.geocode_level,
           description = s.description, merged_rows = s.merged_rows, village_code = s.village_code,
           grid_code = s.grid_code, h3_r7 = s.h3_r7, h3_r9 = s.h3_r9, h3_r10 = s.h3_r10,
           batch_id = s.batch_id, geom = s.geom, occurred_hour = s.occurred_hour,
           hour_span = s.hour_span
      FROM stage_incident s
     WHERE i.id = s.id
    RETURNING i.id
)
UPDATE incident_key k
   SET row_hash = s.row_hash, occurred_from = s.occurred_from
  FROM stage_key s
 WHERE k.source = s.source AND k.source_id = s.source_id;
