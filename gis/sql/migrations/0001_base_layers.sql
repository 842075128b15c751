-- The base layers of DESIGN.md §3 and the import bookkeeping.
-- Every geometry column uses the storage SRID chosen at `pingan db init`.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE pingan_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO pingan_meta (key, value) VALUES
    ('storage_srid', %(storage_srid)s::text),
    ('timezone', %(timezone)s);

-- Bookkeeping -----------------------------------------------------------------------------

CREATE TABLE import_batch (
    id           bigserial PRIMARY KEY,
    layer        text NOT NULL,
    source       text NOT NULL,
    file_name    text,
    file_hash    text,
    -- A batch is written in one transaction, so a visible batch is a committed one.
    status       text NOT NULL DEFAULT 'committed' CHECK (status = 'committed'),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    counts       jsonb NOT NULL DEFAULT '{}',
    options      jsonb NOT NULL DEFAULT '{}',
    crs          text,
    warnings     jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX import_batch_layer_idx ON import_batch (layer, started_at DESC);

CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    batch_id    bigint NOT NULL REFERENCES import_batch (id) ON DELETE CASCADE,
    layer       text NOT NULL,
    row_number  integer,
    source_id   text,
    raw         jsonb NOT NULL,
    reasons     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_batch_idx ON quarantine (batch_id, row_number);

CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL DEFAULT current_user,
    action    text NOT NULL,
    layer     text,
    batch_id  bigint,
    detail    jsonb NOT NULL DEFAULT '{}'
);

-- Reference tables synchronised from data/ ------------------------------------------------

CREATE TABLE incident_category (
    code                     text PRIMARY KEY,
    parent_code              text,
    level                    smallint NOT NULL,
    name_zh                  text NOT NULL,
    name_en                  text NOT NULL,
    kind                     text NOT NULL,
    two_robberies_one_theft  boolean NOT NULL DEFAULT false
);

-- Admin units -------------------------------------------------------------------------------

CREATE TABLE admin_unit (
    id           bigserial PRIMARY KEY,
    code         text,
    name         text NOT NULL,
    level        text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township', 'village')),
    parent_code  text,
    source       text NOT NULL,
    source_id    text NOT NULL,
    row_hash     bytea NOT NULL,
    batch_id     bigint REFERENCES import_batch (id),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    geom         geometry(MultiPolygon, %(storage_srid)s) NOT NULL,
    CONSTRAINT admin_unit_source_key UNIQUE (source, source_id),
    CONSTRAINT admin_unit_code_key UNIQUE (code)  -- NULL codes (units from outside China) may repeat
);
CREATE INDEX admin_unit_code_prefix_idx ON admin_unit (code text_pattern_ops);
CREATE INDEX admin_unit_geom_idx ON admin_unit USING gist (geom);

-- Grids and their staff ---------------------------------------------------------------------

CREATE TABLE grid (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL,
    name          text,
    kind          text NOT NULL DEFAULT '综合' CHECK (kind IN ('综合', '专属')),
    village_code  text,
    households    integer CHECK (households >= 0),
    population    integer CHECK (population >= 0),
    source        text NOT NULL,
    source_id     text NOT NULL,
    row_hash      bytea NOT NULL,
    batch_id      bigint REFERENCES import_batch (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    geom          geometry(MultiPolygon, %(storage_srid)s) NOT NULL,
    CONSTRAINT grid_code_key UNIQUE (code)
);
CREATE INDEX grid_code_prefix_idx ON grid (code text_pattern_ops);
CREATE INDEX grid_village_idx ON grid (village_code);
CREATE INDEX grid_geom_idx ON grid USING gist (geom);

CREATE TABLE person (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    phone       text,
    badge       text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX person_identity_key ON person (name, coalesce(phone, ''));

CREATE TABLE grid_assignment (
    id          bigserial PRIMARY KEY,
    grid_code   text NOT NULL REFERENCES grid (code) ON UPDATE CASCADE ON DELETE CASCADE,
    person_id   bigint NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('网格长', '专职网格员', '兼职网格员', '网格指导员', '社区民警')),
    source      text NOT NULL,
    source_id   text NOT NULL,
    row_hash    bytea NOT NULL,
    batch_id    bigint REFERENCES import_batch (id),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- The natural key: whoever imports it, a person holds a role in a grid once.
    CONSTRAINT grid_assignment_role_key UNIQUE (grid_code, person_id, role)
);

-- Cameras, places, roads, patrol teams -------------------------------------------------------

CREATE TABLE camera (
    id              bigserial PRIMARY KEY,
    camera_code     text,
    name            text,
    kind            text,
    status          text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'fault')),
    installed_on    date,
    heading_deg     real CHECK (heading_deg >= 0 AND heading_deg < 360),
    fov_deg         real CHECK (fov_deg > 0 AND fov_deg <= 360),
    range_m         real CHECK (range_m > 0),
    height_m        real CHECK (height_m >= 0),
    village_code    text,
    grid_code       text,
    h3_r7           bigint,
    h3_r9           bigint,
    h3_r10          bigint,
    source          text NOT NULL,
    source_id       text NOT NULL,
    row_hash        bytea NOT NULL,
    batch_id        bigint REFERENCES import_batch (id),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    geom            geometry(Point, %(storage_srid)s) NOT NULL,
    CONSTRAINT camera_source_key UNIQUE (source, source_id)
);
CREATE INDEX camera_village_idx ON camera (village_code text_pattern_ops);
CREATE INDEX camera_geom_idx ON camera USING gist (geom);

CREATE TABLE place (
    id            bigserial PRIMARY KEY,
    name          text,
    kind          text NOT NULL,
    address       text,
    village_code  text,
    grid_code     text,
    h3_r7         bigint,
    h3_r9         bigint,
    h3_r10        bigint,
    source        text NOT NULL,
    source_id     text NOT NULL,
    row_hash      bytea NOT NULL,
    batch_id      bigint REFERENCES import_batch (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    geom          geometry(Geometry, %(storage_srid)s) NOT NULL
                  CHECK (GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')),
    CONSTRAINT place_source_key UNIQUE (source, source_id)
);
CREATE INDEX place_village_idx ON place (village_code text_pattern_ops);
CREATE INDEX place_kind_idx ON place (kind);
CREATE INDEX place_geom_idx ON place USING gist (geom);

CREATE TABLE road (
    id            bigserial PRIMARY KEY,
    name          text,
    kind          text,
    oneway        boolean NOT NULL DEFAULT false,
    length_m      double precision,
    village_code  text,
    source        text NOT NULL,
    source_id     text NOT NULL,
    row_hash      bytea NOT NULL,
    batch_id      bigint REFERENCES import_batch (id),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    geom          geometry(LineString, %(storage_srid)s) NOT NULL,
    CONSTRAINT road_source_key UNIQUE (source, source_id)
);
CREATE INDEX road_village_idx ON road (village_code text_pattern_ops);
CREATE INDEX road_geom_idx ON road USING gist (geom);

CREATE TABLE patrol_team (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    unit        text,
    leader      text,
    phone       text,
    members     integer CHECK (members > 0),
    area_code   text,
    source      text NOT NULL,
    source_id   text NOT NULL,
    row_hash    bytea NOT NULL,
    batch_id    bigint REFERENCES import_batch (id),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patrol_team_source_key UNIQUE (source, source_id)
);

-- Incidents ---------------------------------------------------------------------------------
-- The idempotency key (source, source_id) lives in its own small table: a unique index on a
-- time-partitioned incident table would have to include the partition key.
-- incident.batch_id is not a foreign key: its per-row check more than doubled the time of a
-- million-row load, and the importer writes the batch record in the same transaction.

CREATE TABLE incident (
    id              bigint PRIMARY KEY,
    category_code   text NOT NULL,
    category_raw    text,
    occurred_from   timestamptz NOT NULL,
    occurred_to     timestamptz,
    reported_at     timestamptz,
    occurred_date   date NOT NULL,
    address         text,
    geocode_level   text CHECK (geocode_level IN ('door', 'group', 'village', 'township', 'coordinate')),
    description     text,
    merged_rows     integer NOT NULL DEFAULT 1,
    village_code    text,
    grid_code       text,
    h3_r7           bigint NOT NULL,
    h3_r9           bigint NOT NULL,
    h3_r10          bigint NOT NULL,
    source          text NOT NULL,
    source_id       text NOT NULL,
    batch_id        bigint NOT NULL,  -- not a foreign key: see below
    geom            geometry(Point, %(storage_srid)s) NOT NULL,
    CONSTRAINT incident_window_ordered CHECK (occurred_to IS NULL OR occurred_to >= occurred_from)
);
CREATE SEQUENCE incident_id_seq OWNED BY incident.id;
CREATE INDEX incident_occurred_idx ON incident (occurred_from);
CREATE INDEX incident_village_idx ON incident (village_code text_pattern_ops);
CREATE INDEX incident_geom_idx ON incident USING gist (geom);

CREATE TABLE incident_key (
    source         text NOT NULL,
    source_id      text NOT NULL,
    incident_id    bigint NOT NULL,
    occurred_from  timestamptz NOT NULL,
    row_hash       bytea NOT NULL,
    PRIMARY KEY (source, source_id)
);
