-- name: upsert_category
-- Create or update one incident category from data/taxonomy/categories.csv.
INSERT INTO incident_category (code, parent_code, level, name_zh, name_en, kind, two_robberies_one_theft)
VALUES (%(code)s, %(parent_code)s, %(level)s, %(name_zh)s, %(name_en)s, %(kind)s, %(flag)s)
ON CONFLICT (code) DO UPDATE
   SET parent_code = EXCLUDED.parent_code, level = EXCLUDED.level, name_zh = EXCLUDED.name_zh,
       name_en = EXCLUDED.name_en, kind = EXCLUDED.kind,
       two_robberies_one_theft = EXCLUDED.two_robberies_one_theft;
