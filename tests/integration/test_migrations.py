"""Migrations and named queries against a real PostGIS database (STYLE.md: SQL lives in SQL files).

- every migration applies to an empty database and is recorded; a second run does nothing;
- a migration file changed after it was applied is refused;
- every named query of ``gis/sql/queries`` parses and runs on the migrated schema;
- every named query is called somewhere in the code (a meta-test: no dead SQL).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gis.cluster import LocalCluster
from gis.db import Database
from gis.errors import MigrationError
from gis.migrations import applied_migrations, available_migrations, migrate
from gis.queries import QUERY_DIR, all_queries, fetch_all

REPO = Path(__file__).resolve().parents[2]
CODE_PACKAGES = ("gis", "layers", "analysis", "dashboard", "pingan")

# A value of the right type for every parameter name the named queries use. A new parameter
# name must be added here; the test says which one is missing.
SAMPLE_PARAMS: dict[str, Any] = {
    "scope": "",
    "limit": 10,
    "batch_id": 0,
    "layer": "incidents",
    "source": "test-source",
    "file_name": None,
    "file_hash": None,
    "options": "{}",
    "crs": None,
    "counts": "{}",
    "warnings": "[]",
    "detail": "{}",
    "start": None,
    "end": None,
    "categories": None,
    "kinds": None,
    "code": "99",
    "parent_code": None,
    "level": 1,
    "name_zh": "其他",
    "name_en": "other",
    "kind": "other",
    "flag": False,
    "key": "test_key",
    "value": "test_value",
    "table": "incident",
    "count": 3,
    "hour_from": 22,
    "hour_to": 6,
    "until": None,
    "incident_id": 0,
    "west": 119.0,
    "south": 29.0,
    "east": 119.1,
    "north": 29.1,
    "srid": 4490,
    "cap": 10,
    "tier": 2,
    "prefix": "incident__load_",
    "scan_limit": 11,
    "encode_over": -1,
    # analyses.sql
    "run_kind": "hotspots",
    "run_id": 0,
    "area_code": "",
    "period_from": None,
    "period_to": None,
    "params": "{}",
    "log": "[]",
    "summary": "{}",
    "result": None,
    "started_at": None,
    "status": None,
    "key_area_id": 0,
    "from_status": "found",
    "to_status": "listed",
    "deadline": None,
    "responsible_unit": None,
    "note": None,
    "actor": None,
    "months": None,
    "month": "2026-10-01",
}

# Temporary tables that some queries read, created by their callers in the same transaction.
STAGING = {
    "stage_staff": "CREATE TEMP TABLE stage_staff (grid_code text, name text, role text,"
    " phone text, badge text, source_id text, row_hash bytea) ON COMMIT DROP",
    "batch_key": "CREATE TEMP TABLE batch_key (source_id text) ON COMMIT DROP",
    "stage_incident": "CREATE TEMP TABLE stage_incident ON COMMIT DROP AS"
    " SELECT * FROM incident WITH NO DATA",
    "stage_key": "CREATE TEMP TABLE stage_key ON COMMIT DROP AS"
    " SELECT * FROM incident_key WITH NO DATA",
    "stage_key_area": "CREATE TEMP TABLE stage_key_area ON COMMIT DROP AS"
    " SELECT fingerprint, rule, area_code, name, reason, evidence, geom FROM key_area WITH NO DATA",
}


@pytest.fixture
def empty_database(pg_cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with PostGIS and nothing else; returns its conninfo."""
    name = f"empty_{re.sub(r'[^a-z0-9]+', '_', request.node.name.lower())}"[:60]
    pg_cluster.create_database(name)
    yield pg_cluster.conninfo(name)
    with psycopg.connect(pg_cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_migrations_apply_to_an_empty_database_and_are_recorded(empty_database: str) -> None:
    files = available_migrations()
    assert files, "no migration files found"
    with psycopg.connect(empty_database, autocommit=True) as conn:
        assert applied_migrations(conn) == {}
        done = migrate(conn, storage_srid=4490, timezone="Asia/Shanghai")
        assert [m.version for m in done] == [m.version for m in files]
        recorded = applied_migrations(conn)
        assert recorded == {m.version: (m.name, m.checksum) for m in files}
        meta = dict(conn.execute("SELECT key, value FROM pingan_meta").fetchall())
        assert meta["storage_srid"] == "4490"
        assert meta["timezone"] == "Asia/Shanghai"
        srids = conn.execute(
            "SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema = 'public'"
        ).fetchall()
        assert srids == [(4490,)]

        # A second run is a no-op: nothing applied, nothing re-recorded.
        stamps = conn.execute("SELECT version, applied_at FROM pingan_migration").fetchall()
        assert migrate(conn, storage_srid=4490, timezone="Asia/Shanghai") == []
        assert conn.execute("SELECT version, applied_at FROM pingan_migration").fetchall() == stamps


def test_a_changed_migration_is_refused(empty_database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(available_migrations()[0].path.parent, directory)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        migrate(conn, storage_srid=4490, timezone="Asia/Shanghai", directory=directory)
        first = sorted(directory.glob("*.sql"))[0]
        first.write_text(first.read_text(encoding="utf-8") + "\n-- edited later\n", "utf-8")
        with pytest.raises(MigrationError) as info:
            migrate(conn, storage_srid=4490, timezone="Asia/Shanghai", directory=directory)
    assert info.value.key == "db.migration_changed"
    assert first.name in str(info.value)
    assert info.value.zh and info.value.en


def test_a_failing_migration_rolls_back_and_names_the_file(
    empty_database: str, tmp_path: Path
) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(available_migrations()[0].path.parent, directory)
    broken = directory / f"{len(available_migrations()) + 1:04d}_broken.sql"
    broken.write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n", "utf-8")
    with psycopg.connect(empty_database, autocommit=True) as conn:
        with pytest.raises(MigrationError) as info:
            migrate(conn, storage_srid=4490, timezone="Asia/Shanghai", directory=directory)
        assert info.value.key == "db.migration_failed"
        assert broken.name in str(info.value)
        # The files before it are applied; the broken one left nothing behind.
        assert set(applied_migrations(conn)) == {m.version for m in available_migrations()}
        exists = conn.execute("SELECT to_regclass('half_done') IS NOT NULL").fetchone()
        assert exists == (False,)


@pytest.mark.parametrize("name", sorted(all_queries()))
def test_named_query_parses_and_runs(db: Database, name: str) -> None:
    query = all_queries()[name]
    assert query.description, f"query {name} ({query.file}) has no one-line description"
    missing = sorted(query.params - set(SAMPLE_PARAMS))
    assert not missing, f"add sample values for {missing} (query {name}) to SAMPLE_PARAMS"
    params = {p: SAMPLE_PARAMS[p] for p in query.params}
    with db.connection() as conn, conn.transaction(force_rollback=True):
        for table, statement in STAGING.items():
            creates_it = query.sql.lstrip().upper().startswith("CREATE")
            if re.search(rf"\b{table}\b", query.sql) and not creates_it:
                conn.execute(statement)
        rows = fetch_all(conn, name, **params)
    assert isinstance(rows, list)


def test_every_named_query_is_used_in_the_code() -> None:
    sources = []
    for package in CODE_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            sources.append(path.read_text(encoding="utf-8"))
    code = "\n".join(sources)
    unused = [
        f"{name} ({query.file})"
        for name, query in sorted(all_queries().items())
        if f'"{name}"' not in code and f"'{name}'" not in code
    ]
    assert not unused, f"named queries never called from {', '.join(CODE_PACKAGES)}: {unused}"


def test_query_files_hold_only_named_blocks() -> None:
    """Text before the first ``-- name:`` of a file would be silently ignored."""
    for path in sorted(QUERY_DIR.glob("*.sql")):
        head = path.read_text(encoding="utf-8").split("-- name:", 1)[0]
        stray = [line for line in head.splitlines() if line.strip() and not line.startswith("--")]
        assert not stray, f"{path.name}: SQL before the first named block: {stray}"
