-- Derived layers (issue 4): analysis runs with their parameters and run log, hot-spot cells,
-- cluster polygons, the key-area register with its workflow history, and monthly risk grades.
-- Every result row points at the run that made it, so a map can always say how it was made.

CREATE TABLE analysis_run (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN (
                     'hotspots', 'emerging', 'clusters', 'near_repeat', 'profile',
                     'key_areas', 'risk', 'backtest')),
    area_code    text NOT NULL DEFAULT '',
    period_from  timestamptz,
    period_to    timestamptz,
    categories   text[] NOT NULL DEFAULT '{}',
    params       jsonb NOT NULL DEFAULT '{}',
    -- The run log: [{"key": ..., "zh": ..., "en": ...}], every automatic choice in both languages.
    log          jsonb NOT NULL DEFAULT '[]',
    summary      jsonb NOT NULL DEFAULT '{}',
    -- Non-spatial results (profile tables, Knox tables, backtest tables).
    result       jsonb,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz
);
CREATE INDEX analysis_run_kind_idx ON analysis_run (kind, started_at DESC);

CREATE TABLE hotspot_cell (
    run_id   bigint NOT NULL REFERENCES analysis_run (id) ON DELETE CASCADE,
    cell_id  text NOT NULL,
    count    double precision NOT NULL,
    z        double precision,
    p        double precision,
    bin      smallint,             -- Gi_Bin: -3 … 3
    pattern  text,                 -- emerging hot-spot category, when the run is 'emerging'
    geom     geometry(Geometry, %(storage_srid)s) NOT NULL,
    PRIMARY KEY (run_id, cell_id)
);
CREATE INDEX hotspot_cell_geom_idx ON hotspot_cell USING gist (geom);

CREATE TABLE cluster_area (
    run_id      bigint NOT NULL REFERENCES analysis_run (id) ON DELETE CASCADE,
    cluster_id  integer NOT NULL,
    n           integer NOT NULL,
    categories  jsonb NOT NULL DEFAULT '{}',
    profile     jsonb NOT NULL DEFAULT '{}',
    geom        geometry(Geometry, %(storage_srid)s) NOT NULL,
    PRIMARY KEY (run_id, cluster_id)
);
CREATE INDEX cluster_area_geom_idx ON cluster_area USING gist (geom);

-- The key-area register (重点地区). Status codes: found 发现 → listed 挂牌 → remediating 整治中
-- → delisted 摘牌. A refresh that finds the same area again (same fingerprint) updates its
-- evidence instead of adding a twin.
CREATE TABLE key_area (
    id                bigserial PRIMARY KEY,
    fingerprint       text NOT NULL UNIQUE,
    rule              text NOT NULL,
    area_code         text NOT NULL DEFAULT '',
    name              text,
    reason            jsonb NOT NULL,      -- {"zh": ..., "en": ...}
    evidence          jsonb NOT NULL DEFAULT '{}',
    status            text NOT NULL DEFAULT 'found'
                          CHECK (status IN ('found', 'listed', 'remediating', 'delisted')),
    deadline          date,
    responsible_unit  text,
    notes             text,
    run_id            bigint REFERENCES analysis_run (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    geom              geometry(Geometry, %(storage_srid)s) NOT NULL
);
CREATE INDEX key_area_area_idx ON key_area (area_code text_pattern_ops);
CREATE INDEX key_area_geom_idx ON key_area USING gist (geom);

CREATE TABLE key_area_event (
    id                bigserial PRIMARY KEY,
    key_area_id       bigint NOT NULL REFERENCES key_area (id) ON DELETE CASCADE,
    at                timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor             text NOT NULL DEFAULT current_user,
    from_status       text,
    to_status         text NOT NULL,
    deadline          date,
    responsible_unit  text,
    note              text
);
CREATE INDEX key_area_event_area_idx ON key_area_event (key_area_id, at);

-- Four-colour risk grades (蓝黄橙红) per grid, village and township and month.
CREATE TABLE risk_grade (
    area_code    text NOT NULL,
    level        text NOT NULL CHECK (level IN ('grid', 'village', 'township')),
    month        date NOT NULL,
    grade        text NOT NULL CHECK (grade IN ('blue', 'yellow', 'orange', 'red')),
    score        double precision NOT NULL,
    factors      jsonb NOT NULL DEFAULT '{}',
    explanation  jsonb NOT NULL DEFAULT '{}',
    run_id       bigint REFERENCES analysis_run (id) ON DELETE SET NULL,
    PRIMARY KEY (area_code, month)
);
CREATE INDEX risk_grade_month_idx ON risk_grade (month, level);
