-- name: begin_import_batch
-- Open the record of one import batch (inside the batch's transaction) and return its id.
INSERT INTO import_batch (layer, source, file_name, file_hash, options, crs, status)
VALUES (%(layer)s, %(source)s, %(file_name)s, %(file_hash)s, %(options)s::jsonb, %(crs)s, 'committed')
RETURNING id;

-- name: finish_import_batch
-- Record the counts and warnings of a batch when its rows are written.
UPDATE import_batch
   SET counts = %(counts)s::jsonb, warnings = %(warnings)s::jsonb, finished_at = clock_timestamp()
 WHERE id = %(batch_id)s;

-- name: audit_import
-- Append the audit entry of an import batch.
INSERT INTO audit_log (action, layer, batch_id, detail)
VALUES ('import', %(layer)s, %(batch_id)s, %(detail)s::jsonb);

-- name: list_import_batches
-- The most recent import batches, optionally of one layer.
SELECT id, layer, source, file_name, file_hash, status, started_at, finished_at, counts, crs, warnings
  FROM import_batch
 WHERE (%(layer)s::text IS NULL OR layer = %(layer)s)
 ORDER BY id DESC
 LIMIT %(limit)s;

-- name: quarantine_summary
-- Quarantined rows per batch.
SELECT b.id AS batch_id, b.layer, b.source, b.file_name, b.started_at, count(q.id) AS rows
  FROM import_batch b JOIN quarantine q ON q.batch_id = b.id
 GROUP BY b.id
 ORDER BY b.id DESC
 LIMIT %(limit)s;

-- name: quarantine_rows
-- The quarantined rows of one batch, in file order.
SELECT row_number, source_id, raw, reasons
  FROM quarantine
 WHERE batch_id = %(batch_id)s
 ORDER BY row_number, id
 LIMIT %(limit)s;

-- name: area_bounds
-- Extent of the admin units (lon/lat in the storage CRS), for the far-outside check.
SELECT ST_XMin(e) AS xmin, ST_YMin(e) AS ymin, ST_XMax(e) AS xmax, ST_YMax(e) AS ymax
  FROM (SELECT ST_Extent(geom) AS e FROM admin_unit) s
 WHERE e IS NOT NULL;

-- name: secondary_indexes
-- The non-unique indexes of a table with their definitions, to rebuild after a bulk load.
SELECT i.indexname, i.indexdef
  FROM pg_indexes i
  JOIN pg_class c ON c.relname = i.indexname
  JOIN pg_index x ON x.indexrelid = c.oid
 WHERE i.schemaname = current_schema() AND i.tablename = %(table)s AND NOT x.indisunique
 ORDER BY i.indexname;

-- name: key_constraints
-- The primary-key and unique constraints of a table with their definitions, to rebuild after a bulk load.
-- Constraints that a foreign key depends on are left out: they cannot be dropped.
SELECT c.conname, pg_get_constraintdef(c.oid) AS definition
  FROM pg_constraint c
 WHERE c.conrelid = (quote_ident(current_schema()) || '.' || quote_ident(%(table)s))::regclass
   AND c.contype IN ('p', 'u')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
 ORDER BY c.conname;

-- name: import_batch_exists
-- Whether an import batch with this number was committed.
SELECT EXISTS (SELECT 1 FROM import_batch WHERE id = %(batch_id)s) AS exists;
