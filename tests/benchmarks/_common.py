"""Shared pieces of the benchmarks: a throw-away database and a stopwatch."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from gis.cluster import LocalCluster
from gis.db import Database, open_database
from gis.settings import Settings


@contextlib.contextmanager
def scratch_database(*, name: str = "bench") -> Iterator[tuple[Database, LocalCluster]]:
    """A managed cluster in a temporary home, started with the same code as ``pingan db``.

    The home is world-traversable because, as root, the server runs as ``postgres``.
    """
    base = Path(tempfile.mkdtemp(prefix=f"pingan-{name}-", dir="/tmp"))
    base.chmod(0o755)
    settings = Settings(home=base / "home", port=57000 + os.getpid() % 1000, database_name=name)
    cluster = LocalCluster(settings.home, port=settings.port)
    try:
        database = open_database(settings)
        try:
            yield database, cluster
        finally:
            database.close()
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as w: ...`` then ``w["seconds"]``."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - start
