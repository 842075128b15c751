"""Fixtures of the integration tests: one throw-away PostGIS cluster per session.

The session starts a :class:`gis.cluster.LocalCluster` in a fresh directory under ``/tmp``
(mode 0755, because when the tests run as root the server runs as ``postgres``, which cannot
enter pytest's own temporary directories), builds the template database ``pingan_template``
(PostGIS + every migration) once, and each test module clones it with
``CREATE DATABASE … TEMPLATE`` (DESIGN.md §4).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gis.cluster import LocalCluster
from gis.db import Database, open_database
from gis.errors import ClusterError
from gis.migrations import migrate
from gis.settings import Settings

TEMPLATE = "pingan_template"
STORAGE_SRID = 4490
TIMEZONE = "Asia/Shanghai"
DATA = Path(__file__).resolve().parents[1] / "data"

MakeDatabase = Callable[..., Database]

_counter = itertools.count(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    """A running cluster in a fresh home under /tmp, stopped and removed at the end."""
    home = Path(tempfile.mkdtemp(prefix="pingan-test-", dir="/tmp"))
    home.chmod(0o755)
    cluster = LocalCluster(home / "home", port=56000 + os.getpid() % 1000)
    cluster.ensure_running()
    try:
        yield cluster
    finally:
        with contextlib.suppress(ClusterError):
            cluster.stop(mode="fast")
        shutil.rmtree(home, ignore_errors=True)
        if not cluster.socket_dir.is_relative_to(home):
            shutil.rmtree(cluster.socket_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_cluster: LocalCluster) -> str:
    """The template database (PostGIS + all migrations); returns its name."""
    pg_cluster.create_database(TEMPLATE)
    with psycopg.connect(pg_cluster.conninfo(TEMPLATE), autocommit=True) as conn:
        migrate(conn, storage_srid=STORAGE_SRID, timezone=TIMEZONE)
    return TEMPLATE


def _drop(cluster: LocalCluster, name: str) -> None:
    with psycopg.connect(cluster.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _database_name(hint: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:40]
    return f"t{os.getpid()}_{next(_counter)}_{slug}"


@pytest.fixture(scope="module")
def make_database(pg_cluster: LocalCluster, template_db: str) -> Iterator[MakeDatabase]:
    """Clone the template into new databases; they are closed and dropped after the module.

    ``make_database(hint, timezone=None)`` returns an open :class:`gis.db.Database`. With a
    ``timezone``, the clone's deployment time zone (``pingan_meta``) is changed before it is
    opened, as a deployment initialised with that PINGAN_TIMEZONE would have it.
    """
    made: list[tuple[str, Database]] = []

    def make(hint: str = "db", *, timezone: str | None = None) -> Database:
        name = _database_name(hint)
        pg_cluster.create_database(name, template=template_db, extensions=())
        conninfo = pg_cluster.conninfo(name)
        if timezone is not None:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(
                    "UPDATE pingan_meta SET value = %s WHERE key = 'timezone'", (timezone,)
                )
                # The stored local hours follow the recorded time zone (migration 0005).
                conn.execute("SELECT incident_hour_columns()")
        database = open_database(
            Settings(database_url=conninfo, storage_srid=STORAGE_SRID, pool_min=1, pool_max=4)
        )
        made.append((name, database))
        return database

    yield make
    for name, database in made:
        database.close()
        _drop(pg_cluster, name)


@pytest.fixture(scope="module")
def db(request: pytest.FixtureRequest, make_database: MakeDatabase) -> Database:
    """A fresh database for the test module, cloned from the template."""
    return make_database(request.module.__name__.rpartition(".")[2])


@pytest.fixture(scope="module")
def db_url(db: Database) -> str:
    """The libpq conninfo of the module's database."""
    return db.conninfo
