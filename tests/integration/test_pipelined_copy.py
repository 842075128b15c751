"""The chunked COPY pipeline (layers._store.pipelined_copy): rows arrive whole, and a failure
on either side (the producer of the stream, the server) aborts the COPY and is raised."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import psycopg
import pytest

from gis._copy import CopyColumn, copy_stream
from gis.db import Database
from layers._store import copy_statement, pipelined_copy

COLUMNS = (("id", "int8"), ("name", "text"))


def _parts(
    n: int, *, chunk: int, fail_at: int | None = None
) -> Iterator[tuple[list[CopyColumn], int]]:
    for start in range(0, n, chunk):
        if fail_at is not None and start >= fail_at:
            raise ValueError("producer broke")
        ids = np.arange(start, min(n, start + chunk), dtype=np.int64)
        yield (
            [CopyColumn("id", "int8", ids), CopyColumn("name", "text", [f"n{i}" for i in ids])],
            len(ids),
        )


def _table(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TEMP TABLE piped (id bigint NOT NULL, name text NOT NULL) ON COMMIT DROP")


def test_rows_arrive_in_order_after_statements_run_first(db: Database) -> None:
    with db.connection() as conn, conn.transaction():
        _table(conn)
        ran: list[str] = []
        pipelined_copy(
            conn,
            copy_statement("piped", COLUMNS),
            copy_stream(_parts(10_000, chunk=777)),
            before=lambda: ran.append(
                str(conn.execute("SELECT count(*) FROM piped").fetchone()[0])
            ),  # type: ignore[index]
        )
        assert ran == ["0"]
        rows = conn.execute("SELECT count(*), min(id), max(id), max(name) FROM piped").fetchone()
        assert rows == (10_000, 0, 9_999, "n9999")


def test_producer_failure_aborts_the_copy_and_is_raised(db: Database) -> None:
    with db.connection() as conn:
        with pytest.raises(ValueError, match="producer broke"), conn.transaction():
            _table(conn)
            pipelined_copy(
                conn,
                copy_statement("piped", COLUMNS),
                copy_stream(_parts(10_000, chunk=1_000, fail_at=5_000)),
            )
        # The transaction rolled back and the connection is usable again.
        assert conn.execute("SELECT to_regclass('pg_temp.piped')").fetchone() == (None,)


def test_server_failure_is_raised(db: Database) -> None:
    def bad_parts() -> Iterator[tuple[list[CopyColumn], int]]:
        yield from _parts(2_000, chunk=1_000)
        yield [CopyColumn("id", "int8", np.array([1])), CopyColumn("name", "text", [None])], 1

    with db.connection() as conn:
        with pytest.raises(psycopg.errors.NotNullViolation), conn.transaction():
            _table(conn)
            pipelined_copy(conn, copy_statement("piped", COLUMNS), copy_stream(bad_parts()))
        assert conn.execute("SELECT 1").fetchone() == (1,)
