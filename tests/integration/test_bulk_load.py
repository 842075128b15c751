"""A big first load of incidents is loaded aside, indexed in parallel and swapped in
(layers/_bulk.py): the table it leaves is the table the migrations made, with the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

import layers
from gis.db import Database
from gis.errors import DatabaseError
from layers import _bulk
from tests.integration._derived import derived_column_mismatches

ROWS = _bulk.BULK_ROWS + 5_000


def _ledger(rows: int, *, prefix: str) -> pd.DataFrame:
    """``rows`` incidents around 120.1E 30.2N over 2026 (the analyst's frame form)."""
    rng = np.random.default_rng(7)
    seconds = rng.integers(0, 300 * 86_400, rows)
    return pd.DataFrame(
        {
            "source_id": [f"{prefix}{i:07d}" for i in range(rows)],
            "category": rng.choice(["盗窃", "抢劫", "抢夺", "诈骗"], rows),
            "occurred_from": pd.Timestamp("2026-01-01", tz="Asia/Shanghai")
            + pd.to_timedelta(seconds, unit="s"),
            "lon": 120.1 + rng.normal(0, 0.05, rows),
            "lat": 30.2 + rng.normal(0, 0.05, rows),
        }
    )


def _schema(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """What the incident table is made of, besides its rows."""

    def rows(query: str) -> list[tuple[Any, ...]]:
        return sorted(conn.execute(query).fetchall())

    return {
        "indexes": rows("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'incident'"),
        "constraints": rows(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'incident'::regclass"
        ),
        "columns": rows(
            "SELECT attnum, attname, format_type(atttypid, atttypmod), attnotnull"
            " FROM pg_attribute WHERE attrelid = 'incident'::regclass AND attnum > 0"
            " AND NOT attisdropped"
        ),
        "sequence": rows("SELECT pg_get_serial_sequence('incident', 'id')"),
        "aside": rows(
            "SELECT relname FROM pg_class"
            " WHERE relkind = 'r' AND relname LIKE 'incident\\_\\_load\\_%'"
        ),
    }


@pytest.fixture
def empty_db(make_database: Callable[..., Database]) -> Database:
    return make_database("bulk")


def test_a_bulk_load_is_swapped_in_with_the_table_the_migrations_made(
    empty_db: Database,
) -> None:
    with empty_db.connection() as conn:
        before = _schema(conn)
        assert _bulk._replaceable(conn, "incident")  # the migrations' table goes aside
        # What a killed load would have left aside: the next load drops it.
        conn.execute("CREATE TABLE incident__load_1 (LIKE incident)")
    summary = layers.import_frame("incidents", _ledger(ROWS, prefix="B"), source="b", db=empty_db)
    assert summary.inserted == ROWS
    assert {"rows", "keys", "indexes"} <= set(summary.phases)
    with empty_db.connection() as conn:
        assert _schema(conn) == before
        assert conn.execute("SELECT count(*), count(DISTINCT id) FROM incident").fetchone() == (
            ROWS,
            ROWS,
        )
        # The indexes answer queries (the planner uses them on a table this size).
        plan = conn.execute(
            "EXPLAIN SELECT id FROM incident"
            " WHERE geom && ST_MakeEnvelope(120.1, 30.2, 120.101, 30.201, 4490)"
        ).fetchall()
        assert "incident_geom_idx" in " ".join(r[0] for r in plan)
    assert derived_column_mismatches(empty_db) == 0
    # The ids still come from the table's sequence: a later (in-place) batch continues it.
    more = layers.import_frame("incidents", _ledger(10, prefix="M"), source="m", db=empty_db)
    assert more.inserted == 10
    with empty_db.connection() as conn:
        assert conn.execute("SELECT count(DISTINCT id), max(id) FROM incident").fetchone() == (
            ROWS + 10,
            ROWS + 10,
        )


def test_a_bulk_load_that_fails_leaves_nothing(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the rows were loaded and indexed aside: the batch rolls back and the
    table aside is dropped."""
    with empty_db.connection() as conn:
        before = _schema(conn)

    def fail(self: _bulk.AsideLoad) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(_bulk.AsideLoad, "swap", fail)
    with pytest.raises(RuntimeError, match="disk is full"):
        layers.import_frame("incidents", _ledger(ROWS, prefix="F"), source="f", db=empty_db)
    with empty_db.connection() as conn:
        assert _schema(conn) == before
        for table in ("incident", "incident_key", "import_batch"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_a_failing_index_build_stops_the_other_builder(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index that cannot be built (first in the queue): the other session builds no more
    than the index it is on, the batch fails with the server's reason, nothing is left."""
    with empty_db.connection() as conn:
        before = _schema(conn)
    started: list[str] = []
    original_init = _bulk.AsideLoad.__init__
    original_name = _bulk.AsideLoad.temporary_name

    def init(self: _bulk.AsideLoad, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        bad = _bulk.IndexPlan(
            name="incident_bad_idx",
            method="gist",
            definition="gist (no_such_column)",
            columns=1,
            partial=False,
            is_unique=False,
            constraint_name=None,
            constraint_type=None,
        )
        self._plans.insert(0, bad)

    def temporary_name(self: _bulk.AsideLoad, plan: _bulk.IndexPlan) -> str:
        started.append(plan.name)
        return original_name(self, plan)

    monkeypatch.setattr(_bulk.AsideLoad, "__init__", init)
    monkeypatch.setattr(_bulk.AsideLoad, "temporary_name", temporary_name)
    with pytest.raises(DatabaseError, match="no_such_column"):
        layers.import_frame("incidents", _ledger(ROWS, prefix="X"), source="x", db=empty_db)
    assert "incident_bad_idx" in started
    assert len(started) <= 2  # of eight: the failure stopped the queue
    with empty_db.connection() as conn:
        assert _schema(conn) == before
        assert conn.execute("SELECT count(*) FROM incident").fetchone() == (0,)


def test_without_a_second_session_the_load_goes_in_place(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No connection slot left for a side session: the same rows load in place, in the batch's
    own session, and the table is the migrations' table still."""
    with empty_db.connection() as conn:
        before = _schema(conn)

    refused: list[object] = []

    def refuse(*args: object, **_kwargs: object) -> None:
        refused.append(args)
        raise psycopg.OperationalError("FATAL: sorry, too many clients already")

    monkeypatch.setattr(_bulk.psycopg, "connect", refuse)
    summary = layers.import_frame("incidents", _ledger(ROWS, prefix="S"), source="s", db=empty_db)
    assert summary.inserted == ROWS
    assert len(refused) == 1  # asked once, then in place
    with empty_db.connection() as conn:
        assert _schema(conn) == before
        assert conn.execute("SELECT count(*) FROM incident").fetchone() == (ROWS,)
    assert derived_column_mismatches(empty_db) == 0


def test_a_table_something_depends_on_is_loaded_in_place(empty_db: Database) -> None:
    """A view on the incidents (an analyst's) is not dropped by a swap: the load goes in place."""
    with empty_db.connection() as conn:
        conn.execute("CREATE VIEW my_thefts AS SELECT id, geom FROM incident")
        assert not _bulk._replaceable(conn, "incident")
    summary = layers.import_frame("incidents", _ledger(ROWS, prefix="V"), source="v", db=empty_db)
    assert summary.inserted == ROWS
    with empty_db.connection() as conn:
        assert conn.execute("SELECT count(*) FROM my_thefts").fetchone() == (ROWS,)
        conn.execute("DROP VIEW my_thefts")


def test_a_failure_after_the_swap_rolls_back_and_a_retry_completes(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch fails after the swap (its quarantine write): the rollback brings the table
    aside back under its own name; the retry, in the same process, loads afresh and drops it."""
    import layers.ingest

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the quarantine table is locked")

    frame = _ledger(ROWS, prefix="R")
    with monkeypatch.context() as patch:
        patch.setattr(layers.ingest, "write_quarantine", fail)
        with pytest.raises(RuntimeError, match="quarantine"):
            layers.import_frame("incidents", frame, source="r", db=empty_db)
    with empty_db.connection() as conn:
        assert len(_schema(conn)["aside"]) == 1
        assert conn.execute("SELECT count(*) FROM incident").fetchone() == (0,)
    summary = layers.import_frame("incidents", frame, source="r", db=empty_db)
    assert summary.inserted == ROWS
    with empty_db.connection() as conn:
        assert _schema(conn)["aside"] == []


def test_grants_and_comments_keep_the_table_in_place(empty_db: Database) -> None:
    """What CREATE TABLE ... LIKE would not carry over (a DBA's grant, a comment) makes the load
    go in place, and both survive it."""
    with empty_db.connection() as conn:
        reader = conn.execute("SELECT 'reader_' || current_database()").fetchone()[0]  # type: ignore[index]
        conn.execute(f'CREATE ROLE "{reader}"')
        conn.execute(f'GRANT SELECT ON incident TO "{reader}"')
        conn.execute("COMMENT ON TABLE incident IS '警情'")
        assert not _bulk._replaceable(conn, "incident")
    summary = layers.import_frame("incidents", _ledger(ROWS, prefix="G"), source="g", db=empty_db)
    assert summary.inserted == ROWS
    with empty_db.connection() as conn:
        assert conn.execute(
            "SELECT has_table_privilege(%s, 'incident', 'SELECT'),"
            " obj_description('incident'::regclass, 'pg_class')",
            (reader,),
        ).fetchone() == (True, "警情")
        conn.execute(f'REVOKE ALL ON incident FROM "{reader}"')
        conn.execute(f'DROP ROLE "{reader}"')
