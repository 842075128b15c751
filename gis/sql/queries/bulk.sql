-- name: table_index_plans
-- Every index of a table, to build the same ones on a table loaded aside: its name, the part of its
-- definition after USING, how many columns it has, and the constraint (primary key, unique) it backs.
SELECT ci.relname AS name,
       am.amname AS method,
       substring(pg_get_indexdef(x.indexrelid) FROM ' USING (.*)$') AS definition,
       x.indnatts AS columns,
       x.indpred IS NOT NULL AS partial,
       x.indisunique AS is_unique,
       con.conname AS constraint_name,
       con.contype AS constraint_type
  FROM pg_index x
  JOIN pg_class ci ON ci.oid = x.indexrelid
  JOIN pg_am am ON am.oid = ci.relam
  LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid
 WHERE x.indrelid = %(table)s::regclass
 ORDER BY ci.relname;

-- name: table_swap_blockers
-- What would stop a table from being replaced by a copy loaded aside, which CREATE TABLE ... LIKE would
-- not carry over: another object that depends on it (a view, a foreign key, a function body, a trigger, a
-- policy, statistics, a publication, a child table), grants, another owner, a comment, table or column
-- options, replica identity, a tablespace, persistence; on its indexes: a clustered or replica-identity
-- index, an exclusion or deferrable constraint. Its own column defaults and check constraints are copied.
SELECT (SELECT count(*) FROM pg_depend d
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid AND d.deptype = 'n'
           AND d.classid <> 'pg_attrdef'::regclass
           AND NOT (d.classid = 'pg_constraint'::regclass
                    AND EXISTS (SELECT 1 FROM pg_constraint c
                                 WHERE c.oid = d.objid AND c.conrelid = t.oid
                                   AND c.contype = 'c'))) AS dependents,
       (SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = t.oid) AS triggers,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = t.oid) AS policies,
       (SELECT count(*) FROM pg_statistic_ext s WHERE s.stxrelid = t.oid) AS statistics,
       (SELECT count(*) FROM pg_constraint f WHERE f.confrelid = t.oid) AS referenced,
       (SELECT count(*) FROM pg_publication_rel r WHERE r.prrelid = t.oid) AS publications,
       (SELECT count(*) FROM pg_inherits h WHERE h.inhrelid = t.oid OR h.inhparent = t.oid) AS inherits,
       (SELECT count(*) FROM pg_attribute a
         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
           AND (a.attstattarget >= 0 OR a.attacl IS NOT NULL
                OR EXISTS (SELECT 1 FROM unnest(a.attoptions) o WHERE o LIKE 'n\_distinct%%'))
       ) AS column_settings,
       (SELECT count(*) FROM pg_index x
         WHERE x.indrelid = t.oid AND (x.indisclustered OR x.indisreplident)) AS index_settings,
       (SELECT count(*) FROM pg_constraint k
         WHERE k.conrelid = t.oid AND (k.contype = 'x' OR k.condeferrable)) AS special_constraints,
       obj_description(t.oid, 'pg_class') IS NOT NULL AS has_comment,
       t.relacl IS NOT NULL AS has_grants,
       t.reloptions IS NOT NULL AS has_options,
       t.relrowsecurity AS row_security,
       t.relreplident <> 'd' AS replica_identity,
       t.reltablespace <> 0 AS tablespace,
       t.relpersistence <> 'p' OR t.relkind <> 'r' AS not_plain,
       t.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS owned
  FROM pg_class t
 WHERE t.oid = %(table)s::regclass;

-- name: owned_sequences
-- The sequences owned by a table's columns (OWNED BY, as a qualified name), with the column that owns each.
SELECT s.oid::regclass::text AS sequence, a.attname AS column_name
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
   AND d.refobjid = %(table)s::regclass
   AND d.deptype = 'a';

-- name: table_schema
-- The schema of a table named as the search path finds it.
SELECT n.nspname AS schema
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = %(table)s::regclass;

-- name: tables_aside
-- The tables beside a table (same schema) whose names start with a prefix: loads aside a failed or
-- killed import left.
SELECT c.relname AS name
  FROM pg_class c
 WHERE c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = %(table)s::regclass)
   AND c.relkind = 'r' AND starts_with(c.relname, %(prefix)s)
 ORDER BY 1;
