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
 WHERE x.indrelid = (quote_ident(current_schema()) || '.' || quote_ident(%(table)s))::regclass
 ORDER BY ci.relname;

-- name: table_swap_blockers
-- What would stop a table from being replaced by a copy loaded aside: another object that depends on
-- it (a view, a foreign key, a function body, a trigger, a policy, statistics), table options, or
-- another owner. Its own column defaults and check constraints are copied with it.
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
       t.reloptions IS NOT NULL AS has_options,
       t.relrowsecurity AS row_security,
       pg_has_role(t.relowner, 'USAGE') AS owned
  FROM pg_class t
 WHERE t.oid = (quote_ident(current_schema()) || '.' || quote_ident(%(table)s))::regclass;

-- name: owned_sequences
-- The sequences owned by a table's columns (OWNED BY), with the column that owns each.
SELECT s.relname AS sequence, a.attname AS column_name
  FROM pg_depend d
  JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
   AND d.refobjid = (quote_ident(current_schema()) || '.' || quote_ident(%(table)s))::regclass
   AND d.deptype = 'a';

-- name: tables_like
-- The tables of the current schema whose names start with a prefix (loads aside left by a killed import).
SELECT c.relname AS name
  FROM pg_class c
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
   AND starts_with(c.relname, %(prefix)s)
 ORDER BY 1;
