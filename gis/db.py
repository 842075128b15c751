"""Connections to PostGIS: the managed cluster by default, or an existing server.

:func:`open_database` resolves where the database is (``PINGAN_DATABASE_URL``, the standard
``PG*`` variables, or the managed cluster in ``PINGAN_HOME``), checks PostGIS, applies the
migrations and returns a :class:`Database` holding a psycopg 3 pool. Driver errors become
:class:`~gis.errors.DatabaseError` here and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from gis.errors import DatabaseError
from gis.migrations import migrate
from gis.settings import Settings, get_settings

MIN_POSTGIS = (3, 0)


@contextlib.contextmanager
def translate_errors(*, what: str = "database") -> Iterator[None]:
    """Turn psycopg's errors into :class:`DatabaseError` with a bilingual message.

    This is the one place where driver errors are converted; the original stays chained.
    """
    try:
        yield
    except psycopg.Error as exc:
        if _cannot_connect(exc):
            raise DatabaseError("db.unreachable", target=what, error=str(exc).strip()) from exc
        diag = exc.diag
        raise DatabaseError(
            "db.failed",
            sqlstate=diag.sqlstate or exc.sqlstate or "-",
            error=(diag.message_primary or str(exc)).strip(),
            detail=(diag.message_detail or "").strip() or "-",
        ) from exc


# SQLSTATEs of a server that will not take the session: too many connections, shutting
# down, starting up. (Class 08 is the connection's own; other "operational" errors, such as a
# lock timeout or a cancelled statement, come from a server that is there.)
_NO_SESSION = frozenset({"53300", "57P01", "57P02", "57P03"})


def _cannot_connect(exc: psycopg.Error) -> bool:
    """The error means no session with the server: none was made, or it was lost."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _NO_SESSION


def postgis_version(conn: psycopg.Connection[Any]) -> tuple[int, int] | None:
    """Return PostGIS's (major, minor) in the connected database, or ``None`` if not installed."""
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
    if row is None:
        return None
    match = re.match(r"(\d+)\.(\d+)", row[0])
    return (int(match.group(1)), int(match.group(2))) if match else None


def check_postgis(conn: psycopg.Connection[Any], *, create: bool = True) -> tuple[int, int]:
    """Make sure PostGIS is installed (creating it if allowed) and recent enough."""
    version = postgis_version(conn)
    if version is None and create:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise DatabaseError("db.postgis_missing", error=str(exc).strip()) from exc
        version = postgis_version(conn)
    if version is None:
        raise DatabaseError("db.postgis_missing", error="extension not installed")
    if version < MIN_POSTGIS:
        raise DatabaseError(
            "db.postgis_old",
            found=".".join(map(str, version)),
            needed=".".join(map(str, MIN_POSTGIS)),
        )
    return version


@dataclass
class Database:
    """An open database: a connection pool plus the facts every layer needs.

    Attributes
    ----------
    conninfo
        libpq connection string (a Unix socket for the managed cluster).
    storage_srid
        SRID of every geometry column (EPSG:4490 or EPSG:4326), read from ``pingan_meta``.
    timezone
        Deployment time zone, read from ``pingan_meta``.
    """

    conninfo: str
    storage_srid: int
    timezone: str
    pool: ConnectionPool = field(repr=False)
    managed: bool = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """Borrow a pooled connection; the block's work is committed at its end, or rolled back."""
        with translate_errors(what=self.conninfo), self.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self.pool.close()


def resolve_conninfo(settings: Settings) -> tuple[str, Any | None]:
    """Return ``(conninfo, cluster)``: the cluster object is ``None`` for an external server."""
    if settings.database_url:
        return settings.database_url, None
    if os.environ.get("PGHOST") or os.environ.get("PGDATABASE"):
        return "", None  # libpq reads the standard PG* variables itself
    from gis.cluster import LocalCluster

    cluster = LocalCluster(settings.home, port=settings.port, bindir=settings.pg_bindir)
    return cluster.conninfo(settings.database_name), cluster


def prepare_database(settings: Settings) -> str:
    """Start the managed cluster if it is the target, create the database, and migrate it.

    Returns the conninfo to use. Safe to call from several processes at once.
    """
    conninfo, cluster = resolve_conninfo(settings)
    if cluster is not None:
        cluster.ensure_running()
        cluster.create_database(settings.database_name)
    with (
        translate_errors(what=conninfo or "PG*"),
        psycopg.connect(conninfo, autocommit=True) as conn,
    ):
        check_postgis(conn)
        migrate(conn, storage_srid=settings.storage_srid, timezone=settings.timezone)
    return conninfo


def _read_meta(conninfo: str) -> dict[str, str]:
    with translate_errors(what=conninfo), psycopg.connect(conninfo) as conn:
        return dict(conn.execute("SELECT key, value FROM pingan_meta").fetchall())


def open_database(settings: Settings | None = None) -> Database:
    """Open the configured database (see the module docstring) and return it with a pool."""
    settings = settings or get_settings()
    conninfo = prepare_database(settings)
    meta = _read_meta(conninfo)
    pool = ConnectionPool(
        conninfo,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        open=True,
        name="pingan",
        kwargs={"options": f"-c timezone={meta['timezone']}"},
    )
    return Database(
        conninfo=conninfo,
        storage_srid=int(meta["storage_srid"]),
        timezone=meta["timezone"],
        pool=pool,
        managed=settings.uses_managed_cluster,
    )


_default: Database | None = None
_default_lock = threading.Lock()


def get_database() -> Database:
    """Return the process-wide database the CLI uses, opening it on first call.

    This is what makes ``layers.read("incidents")`` work in a notebook with no set-up.
    """
    global _default  # noqa: PLW0603 - one pool per process is the point
    with _default_lock:
        if _default is None:
            _default = open_database()
        return _default
