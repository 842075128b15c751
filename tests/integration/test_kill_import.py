"""A killed import leaves nothing behind (DESIGN.md §9: a batch commits whole or not at all).

A big incident CSV (300,000 synthetic rows near 120.1E 30.2N, 10 of them without coordinates)
is imported by a separate process, which is killed while its transaction is open:

- with SIGTERM just after its batch record is inserted;
- with SIGKILL after every incident, key and quarantine row is written (by binary COPY), just
  before the commit.

The test stops the importer at those points by holding a lock on the table it writes next
(``incident_category``, ``audit_log``), so the kill never races the commit.

Neither may leave an ``import_batch`` row, an incident, a key or a quarantine row, and running
the same import again then completes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

import layers
from gis.db import Database

REPO = Path(__file__).resolve().parents[2]
ROWS = 300_000
NO_COORDINATES = 10
APP_NAME = "pingan-kill-test"
IMPORT_SCRIPT = "import sys, layers\nlayers.import_file('incidents', sys.argv[1])\n"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300k incidents in 300 days around Hangzhou; the first rows have no longitude."""
    rng = np.random.default_rng(20261001)
    categories = np.array(["盗窃", "抢劫", "抢夺", "诈骗", "入室盗窃", "电动车被盗", "打架"])
    seconds = rng.integers(0, 300 * 86_400, ROWS)
    lon = np.round(120.1 + rng.normal(0, 0.05, ROWS), 6).astype(str)
    lon[:NO_COORDINATES] = ""
    frame = pd.DataFrame(
        {
            "编号": [f"KILL{i:07d}" for i in range(ROWS)],
            "类别": categories[rng.integers(0, len(categories), ROWS)],
            "发案时间": (pd.Timestamp("2026-01-01") + pd.to_timedelta(seconds, unit="s")).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "经度": lon,
            "纬度": np.round(30.2 + rng.normal(0, 0.05, ROWS), 6),
        }
    )
    path = tmp_path_factory.mktemp("kill") / "incidents_big.csv"
    frame.to_csv(path, index=False)
    return path


def _start_import(db: Database, path: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PINGAN_DATABASE_URL": db.conninfo,
        "PGAPPNAME": APP_NAME,
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, str(path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(
    conn: psycopg.Connection, proc: subprocess.Popen[str], condition: str, timeout: float = 120
) -> None:
    """Poll the importer's backends until one matches ``condition`` (SQL on pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
        f"AND datname = current_database() AND ({condition})"
    )
    while time.monotonic() < deadline:
        found = conn.execute(query, (APP_NAME,)).fetchone()  # type: ignore[arg-type]
        if found and found[0]:
            return
        if proc.poll() is not None:
            _out, err = proc.communicate()
            pytest.fail(f"the import ended (rc={proc.returncode}) before it was caught:\n{err}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"the import never reached: {condition}")


def _wait_until_gone(conn: psycopg.Connection, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,)
        ).fetchone()
        if left == (0,):
            return
        time.sleep(0.05)
    pytest.fail("the killed importer's server backend did not end")


def _counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = ("import_batch", "incident", "incident_key", "quarantine", "audit_log")
    return {
        t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
        for t in tables
    }


def _tables_aside(conn: psycopg.Connection) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            "SELECT relname FROM pg_class"
            " WHERE relkind = 'r' AND relname LIKE 'incident\\_\\_load\\_%'"
        ).fetchall()
    ]


def _batch_sequence(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM import_batch_id_seq"
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def watcher(db: Database) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        yield conn


NOTHING = {"import_batch": 0, "incident": 0, "incident_key": 0, "quarantine": 0, "audit_log": 0}


def _kill_while_blocked(
    db: Database, path: Path, watcher: psycopg.Connection, *, table: str, sig: signal.Signals
) -> None:
    """Start the import, hold it inside its transaction with a lock on ``table``, kill it."""
    sequence = _batch_sequence(watcher)
    blocker = psycopg.connect(db.conninfo)
    try:
        blocker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        proc = _start_import(db, path)
        try:
            _wait_for(watcher, proc, f"wait_event_type = 'Lock' AND query ILIKE '%%{table}%%'")
            # Inside the batch's transaction: its batch id is taken, nothing is committed.
            # (A bulk load locks the incident tables against readers until it ends.)
            assert _batch_sequence(watcher) == sequence + 1
            assert watcher.execute("SELECT count(*) FROM import_batch").fetchone() == (0,)
            proc.send_signal(sig)
            proc.communicate(timeout=60)
        finally:
            proc.kill()
        assert proc.returncode == -sig
    finally:
        blocker.rollback()  # the orphaned transaction goes on, then finds its client gone
        blocker.close()
    _wait_until_gone(watcher)


def test_sigterm_early_in_the_batch_commits_nothing(
    db: Database, big_csv: Path, watcher: psycopg.Connection
) -> None:
    """Killed just after its batch record was inserted (it waits to update the taxonomy)."""
    assert _counts(watcher) == NOTHING
    _kill_while_blocked(db, big_csv, watcher, table="incident_category", sig=signal.SIGTERM)
    assert _counts(watcher) == NOTHING


def test_sigkill_before_commit_commits_nothing_and_a_rerun_completes(
    db: Database, big_csv: Path, watcher: psycopg.Connection
) -> None:
    """Killed after every incident, key and quarantine row was written, before the commit."""
    assert _counts(watcher) == NOTHING
    _kill_while_blocked(db, big_csv, watcher, table="audit_log", sig=signal.SIGKILL)
    assert _counts(watcher) == NOTHING
    # The bulk load had loaded and indexed the rows aside, in a table of their own that no query
    # reads; the batch, and with it the swap into the incident table, never committed.
    assert len(_tables_aside(watcher)) == 1

    summary = layers.import_file("incidents", big_csv, db=db)
    assert summary.rows == ROWS
    assert (summary.inserted, summary.quarantined, summary.merged) == (
        ROWS - NO_COORDINATES,
        NO_COORDINATES,
        0,
    )
    counts = _counts(watcher)
    assert counts == {
        "import_batch": 1,
        "incident": ROWS - NO_COORDINATES,
        "incident_key": ROWS - NO_COORDINATES,
        "quarantine": NO_COORDINATES,
        "audit_log": 1,
    }
    # Incident ids are unique although killed batches had reserved blocks of them.
    ids = watcher.execute("SELECT count(DISTINCT id) FROM incident").fetchone()
    assert ids == (ROWS - NO_COORDINATES,)
    assert layers.counts(db=db)["incidents"] == ROWS - NO_COORDINATES
    # The first load into empty tables was a bulk load, swapped in with every index; the rerun
    # dropped what the killed one had left aside.
    assert _tables_aside(watcher) == []
    indexes = {
        name
        for (name,) in watcher.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('incident', 'incident_key')"
        ).fetchall()
    }
    assert {"incident_geom_idx", "incident_occurred_idx", "incident_village_idx"} <= indexes
    assert {"incident_pkey", "incident_key_pkey"} <= indexes

    # A second large batch into the now non-empty table takes the incremental path: readers
    # are never locked out, and the counts add up.
    again = layers.import_file("incidents", big_csv, source="second_copy", db=db)
    assert again.inserted == ROWS - NO_COORDINATES
    assert layers.counts(db=db)["incidents"] == 2 * (ROWS - NO_COORDINATES)
