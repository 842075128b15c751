"""The street-zoom points' answer cache: files that every gunicorn worker shares (no database).

Two :class:`_Cache` objects on one folder stand for two worker processes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from dashboard.incident_points import _Cache
from layers.incident_points import IncidentPoints

KEY = ("host=/tmp port=5432", 5000, (1, 2, 3, 4), "", None, None, ("0101",), (22, 6))


def _answer(size: int = 10, *, truncated: bool = False) -> IncidentPoints:
    return IncidentPoints(geobuf=b"\n\x01\x02" + bytes(size), count=size, truncated=truncated)


def test_an_answer_written_by_one_worker_is_read_by_another(tmp_path: Path) -> None:
    one, other = _Cache(directory=tmp_path), _Cache(directory=tmp_path)
    assert other.get(KEY) is None
    one.put(KEY, _answer(truncated=True))
    assert other.get(KEY) == _answer(truncated=True)  # the geobuf may hold newlines
    assert other.get((*KEY[:-1], (6, 22))) is None  # another filter is another answer
    other.clear()
    assert one.get(KEY) is None


def test_old_answers_miss_and_are_pruned(tmp_path: Path) -> None:
    cache = _Cache(directory=tmp_path, max_age=60)
    cache.put(KEY, _answer())
    (path,) = tmp_path.iterdir()
    old = time.time() - 61
    os.utime(path, (old, old))
    assert cache.get(KEY) is None
    cache.prune()
    assert list(tmp_path.iterdir()) == []


def test_the_byte_budget_keeps_the_newest(tmp_path: Path) -> None:
    cache = _Cache(directory=tmp_path, max_bytes=8_000)
    for i in range(10):
        cache.put((*KEY[:2], i), _answer(1_000))
        stamp = time.time() - 10 + i  # written one second apart, oldest first
        os.utime(cache._path((*KEY[:2], i)), (stamp, stamp))
    cache.prune()
    assert [cache.get((*KEY[:2], i)) is not None for i in range(10)] == [False] * 3 + [True] * 7
