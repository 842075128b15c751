"""Numbered SQL migrations in ``gis/sql/migrations/NNNN_name.sql``.

Each file runs once, in its own transaction, under an advisory lock so that two processes
starting at once do not both migrate. The applied versions, names and checksums are recorded
in ``pingan_migration``; an applied file that has since changed is an error, because the
database would no longer match the code.

Migrations may use the parameters ``%(storage_srid)s`` and ``%(timezone)s`` (bound on the
client, so that they work in DDL, e.g. ``geometry(Point, %(storage_srid)s)``); a literal
percent sign is written ``%%``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from gis.errors import MigrationError

MIGRATION_DIR = Path(__file__).with_name("sql") / "migrations"
_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_LOCK_ID = 0x70696E67  # "ping"


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def available_migrations(directory: Path = MIGRATION_DIR) -> list[Migration]:
    """Return the migration files in version order; a gap or a duplicate number is an error."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError("db.migration_bad_name", file=path.name)
        found.append(Migration(int(match.group(1)), match.group(2), path))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError("db.migration_gap", file=migration.path.name, expected=expected)
    return found


def applied_migrations(conn: psycopg.Connection[Any]) -> dict[int, tuple[str, str]]:
    """Return ``{version: (name, checksum)}`` of the migrations recorded in the database."""
    exists = conn.execute("SELECT to_regclass('pingan_migration') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, name, checksum FROM pingan_migration").fetchall()
    return {version: (name, checksum) for version, name, checksum in rows}


def migrate(
    conn: psycopg.Connection[Any],
    *,
    storage_srid: int,
    timezone: str,
    directory: Path = MIGRATION_DIR,
) -> list[Migration]:
    """Apply the migrations not yet applied and return them.

    Parameters
    ----------
    conn
        A connection in autocommit mode; each migration runs in a transaction of its own.
    storage_srid
        SRID of every geometry column (EPSG:4490 or EPSG:4326); used only by new databases.
    timezone
        Deployment time zone recorded in ``pingan_meta`` by the first migration.
    """
    params = {"storage_srid": storage_srid, "timezone": timezone}
    done: list[Migration] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS pingan_migration ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = applied_migrations(conn)
        for migration in available_migrations(directory):
            if migration.version in applied:
                if applied[migration.version][1] != migration.checksum:
                    raise MigrationError(
                        "db.migration_changed", file=migration.path.name, version=migration.version
                    )
                continue
            with conn.transaction(), psycopg.ClientCursor(conn) as cur:
                try:
                    cur.execute(migration.sql, params)
                except psycopg.Error as exc:
                    raise MigrationError(
                        "db.migration_failed", file=migration.path.name, error=str(exc).strip()
                    ) from exc
                cur.execute(
                    "INSERT INTO pingan_migration (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
            done.append(migration)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return done
