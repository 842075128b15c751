-- The standard-address table (标准地址): the deployment's own addresses with their positions,
-- which offline geocoding matches incident address text against.

CREATE TABLE standard_address (
    id            bigserial PRIMARY KEY,
    address       text NOT NULL,
    province      text,
    city          text,
    county        text,
    township      text,
    village       text,
    group_name    text,
    road          text,
    door          text,
    level         text NOT NULL CHECK (level IN ('door', 'group', 'village', 'township')),
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
    geom          geometry(Point, %(storage_srid)s) NOT NULL,
    CONSTRAINT standard_address_source_key UNIQUE (source, source_id)
);
CREATE INDEX standard_address_text_idx ON standard_address (address text_pattern_ops);
CREATE INDEX standard_address_village_idx ON standard_address (village_code text_pattern_ops);
CREATE INDEX standard_address_geom_idx ON standard_address USING gist (geom);
