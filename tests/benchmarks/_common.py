"""Shared pieces of the benchmarks: a throw-away database, a stopwatch, a fresh process."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

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


_T = TypeVar("_T")


def in_fresh_process(work: Callable[..., _T], *args: Any) -> _T:
    """Run ``work(*args)`` in a new Python process and return its result.

    A way measured in a process that has already done the other way's work would run on
    memory that process has already had from the kernel, and on warm caches; a user's
    ``pingan import`` never does. Each way starts alike: from nothing.
    """
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(work, args)
