"""A big first load of an empty table: loaded aside, indexed in parallel, swapped in at commit.

Loading a million incidents into the table itself, in the batch's transaction, leaves every
index build to that one server process, one after the other, while the importer waits and a
core stands idle: the builds were a third of the whole load. Instead, for a batch of at least
:data:`BULK_ROWS` rows into an empty table:

1. a second session creates ``<table>__load_<random hex>`` like the table (columns, defaults,
   checks, NOT NULL; no indexes) and COPYs the rows into it in the same transaction (so, at
   ``wal_level=minimal``, no WAL; the rows are written frozen), then commits it: only this
   importer knows the table, and nothing reads it;
2. the batch's own session (after its other work, e.g. another table's key) and that second
   session take the table's indexes from one queue, slowest first, and build them at the same
   time, each under a temporary name (PostgreSQL allows several ``CREATE INDEX`` on one table
   at once): two sessions, not more, so that no third competes for two cores;
3. the batch's own transaction then drops the empty table and renames the loaded one, and its
   indexes and constraints, to the original names, and commits the batch: the rows appear all
   at once, with every index, or not at all. Steps 2 and 3 run in a savepoint of the batch.

A load that fails before the swap is done drops its table (the savepoint's rollback releases
the batch's locks on it). One that fails later, or is killed, leaves it behind, invisible (no
query reads it): the next batch of that table drops it, under the lock every importer takes
first, so it can never be another importer's table in use. Every attempt names its table
afresh, so a retry never meets an earlier attempt's table.

A table that anything else depends on, or that has what ``CREATE TABLE ... LIKE`` would not
carry over (a view, a foreign key, a trigger, a policy, a publication, grants, another owner,
a comment, column settings, replica identity...: the ``table_swap_blockers`` query) is never
replaced: the caller then loads it in place (:func:`bulk_load`).
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from gis.queries import fetch_all, fetch_one
from layers._store import pipelined_copy

# A batch of at least this many rows into an empty table is a bulk load.
BULK_ROWS = 100_000
# Sessions that build indexes at once, the batch's own included: the machines this runs on have
# two cores or more (three sessions on two cores were slower than two).
INDEX_SESSIONS = 2

_LOAD_SUFFIX = "__load_"


@dataclass(frozen=True)
class IndexPlan:
    """One index of the table, to be built on the table loaded aside."""

    name: str
    method: str
    definition: str  # what follows USING in pg_get_indexdef: "btree (id)", "gist (geom) WHERE …"
    columns: int
    partial: bool
    is_unique: bool
    constraint_name: str | None
    constraint_type: str | None  # "p" (primary key) or "u" (unique), or None

    @property
    def cost_rank(self) -> tuple[bool, bool, int]:
        """Sort key, slowest build first, so that two sessions finish close together: whole-table
        indexes before partial ones, GiST and SP-GiST before btree, wide before narrow."""
        return (self.partial, self.method == "btree", -self.columns)


class AsideLoad:
    """A load aside for ``table``: see the module docstring. Use :func:`aside_load`."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        table: str,
        *,
        conninfo: str,
        session: psycopg.Connection[Any],
    ) -> None:
        self._conn = conn
        self._conninfo = conninfo
        self._session = session  # the side session that creates and loads the table
        self.table = table
        # A name of its own for every attempt: a retry in the same process, or a second machine
        # whose importer has the same pid, never meets an earlier attempt's table.
        self.staging = f"{table}{_LOAD_SUFFIX}{secrets.token_hex(6)}"
        self.schema = str(fetch_one(conn, "table_schema", table=table)["schema"])  # type: ignore[index]
        self._plans = [
            IndexPlan(**row) for row in fetch_all(conn, "table_index_plans", table=table)
        ]
        self._committed = False
        self._swapped = False

    def _name(self, name: str) -> sql.Identifier:
        """``name`` in the table's schema (the search path's first schema may be another)."""
        return sql.Identifier(self.schema, name)

    def temporary_name(self, plan: IndexPlan) -> str:
        return f"{self.staging}_{self._plans.index(plan)}"

    def copy(
        self,
        statement: sql.Composed,
        stream: Iterable[bytes | memoryview],
        *,
        alongside: Callable[[], None] | None = None,
    ) -> None:
        """Create the table aside and COPY ``stream`` into it in one transaction, then commit.

        ``statement`` is the COPY into :attr:`staging` (``FREEZE`` allowed). ``alongside`` runs
        meanwhile in another thread (the batch's own session is free: e.g. another table's load).
        """
        with self._session as side, _in_threads([alongside]):
            create = sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
                self._name(self.staging), self._name(self.table)
            )

            def create_table() -> None:
                side.execute(create)

            pipelined_copy(side, statement, stream, before=create_table)
            side.commit()
            self._committed = True

    def finish(self, *, first: Callable[[], None] | None = None) -> None:
        """Build the indexes (:meth:`build_indexes`) and :meth:`swap`, in a savepoint of the
        batch's transaction: if either fails, the batch's locks on both tables go with the
        savepoint, so that the table aside can be dropped at once (:meth:`discard`)."""
        with self._conn.transaction():
            self.build_indexes(first=first)
            self.swap()
        self._swapped = True

    def build_indexes(self, *, first: Callable[[], None] | None = None) -> None:
        """Build every index of the table on the loaded table, :data:`INDEX_SESSIONS` at once,
        slowest first, from one queue: the batch's own session takes its share after ``first``
        (e.g. another table's index build in the batch), the others are side sessions."""
        work: queue.Queue[IndexPlan] = queue.Queue()
        for plan in sorted(self._plans, key=lambda p: p.cost_rank):
            work.put(plan)

        failed = threading.Event()  # after a failure the others stop at their next index

        def take_from(session: psycopg.Connection[Any]) -> None:
            while not failed.is_set():
                try:
                    plan = work.get_nowait()
                except queue.Empty:
                    return
                session.execute(
                    sql.SQL("CREATE {}INDEX {} ON {} USING {}").format(
                        sql.SQL("UNIQUE " if plan.is_unique else ""),
                        sql.Identifier(self.temporary_name(plan)),
                        self._name(self.staging),
                        sql.SQL(plan.definition),
                    )
                )

        def stopping_the_others(builder: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    builder()
                except BaseException:
                    failed.set()
                    raise

            return run

        # Each session builds alone: a parallel build would only compete with the other
        # sessions for the same cores.
        def in_batch() -> None:
            self._conn.execute("SET LOCAL max_parallel_maintenance_workers = 0")
            if first is not None:
                first()
            take_from(self._conn)

        def in_side_session() -> None:
            with _side_session(self._conninfo, autocommit=True) as side:
                side.execute("SET max_parallel_maintenance_workers = 0")
                take_from(side)

        sides = [in_side_session] * min(INDEX_SESSIONS - 1, len(self._plans))
        with _in_threads(map(stopping_the_others, [in_batch, *sides])):
            pass  # the threads are the work: leaving the block waits for them

    def swap(self) -> None:
        """In the batch's transaction: replace the (empty) table with the loaded one."""
        conn = self._conn
        table = self._name(self.table)
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
        sequences = fetch_all(conn, "owned_sequences", table=self.table)
        for row in sequences:  # the server's own qualified, quoted name
            conn.execute(
                sql.SQL("ALTER SEQUENCE {} OWNED BY NONE").format(sql.SQL(row["sequence"]))
            )
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
        conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                self._name(self.staging), sql.Identifier(self.table)
            )
        )
        for plan in self._plans:
            built = self._name(self.temporary_name(plan))
            if plan.constraint_type in ("p", "u"):
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}").format(
                        table,
                        sql.Identifier(plan.constraint_name or plan.name),
                        sql.SQL("PRIMARY KEY" if plan.constraint_type == "p" else "UNIQUE"),
                        sql.Identifier(self.temporary_name(plan)),
                    )
                )
            else:
                conn.execute(
                    sql.SQL("ALTER INDEX {} RENAME TO {}").format(built, sql.Identifier(plan.name))
                )
        for row in sequences:
            conn.execute(
                sql.SQL("ALTER SEQUENCE {} OWNED BY {}.{}").format(
                    sql.SQL(row["sequence"]), table, sql.Identifier(row["column_name"])
                )
            )

    def discard(self) -> None:
        """Drop the table loaded aside after a failure, if it was committed.

        Not once :meth:`finish` has swapped: the batch's session then holds the table's lock
        until its transaction ends, and its rollback brings the table back under its own name,
        for the next batch to drop (:func:`drop_leftovers`). A lock timeout keeps this from
        ever waiting on a session that is still alive.
        """
        if not self._committed or self._swapped:
            return
        with (
            contextlib.suppress(psycopg.Error),
            _side_session(self._conninfo, autocommit=True) as side,
        ):
            side.execute("SET lock_timeout = '5s'")
            side.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._name(self.staging)))


@contextlib.contextmanager
def aside_load(
    conn: psycopg.Connection[Any], table: str, *, rows: int, conninfo: str | None
) -> Iterator[AsideLoad | None]:
    """An :class:`AsideLoad` of ``table`` when this batch is a bulk load that may be loaded
    aside (see the module docstring), else ``None``: the caller then loads in place.

    The caller must hold a lock on ``table`` that keeps other writers out (SHARE ROW
    EXCLUSIVE), so that "empty" stays true, and call :meth:`AsideLoad.finish` before its
    commit. On an error the table loaded aside is dropped. When no side session can be opened
    (no connection slot left, a server that refuses this role a second session...), the load
    is in place after all.
    """
    if conninfo is None or rows < BULK_ROWS or not _replaceable(conn, table):
        yield None
        return
    try:
        session = psycopg.connect(conninfo)
    except psycopg.OperationalError:
        yield None
        return
    with session:
        load = AsideLoad(conn, table, conninfo=conninfo, session=session)
        try:
            yield load
        except BaseException:
            load.discard()
            raise


def _replaceable(conn: psycopg.Connection[Any], table: str) -> bool:
    """The table is empty, ours, and nothing but its own indexes and constraints depend on it."""
    identifier = sql.Identifier(table)
    if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(identifier)).fetchone()[0]:  # type: ignore[index]
        return False
    blockers = fetch_one(conn, "table_swap_blockers", table=table)
    if blockers is None or not blockers.pop("owned"):
        return False
    return not any(blockers.values())


def drop_leftovers(conn: psycopg.Connection[Any], table: str, *, conninfo: str | None) -> list[str]:
    """Drop the tables aside that failed or killed loads of ``table`` left; returns their names.

    Call it holding the importers' lock on ``table``: no other load can be running then. With
    ``conninfo`` the tables are dropped by a session of their own, so that they stay dropped
    whatever becomes of the caller's batch.
    """
    names = [
        r["name"]
        for r in fetch_all(conn, "tables_aside", table=table, prefix=f"{table}{_LOAD_SUFFIX}")
    ]
    if not names:
        return names
    schema = fetch_one(conn, "table_schema", table=table)["schema"]  # type: ignore[index]
    drops = [sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, n)) for n in names]
    if conninfo is None:
        for drop in drops:
            conn.execute(drop)
        return names
    with _side_session(conninfo, autocommit=True) as side:
        for drop in drops:
            side.execute(drop)
    return names


# A large first load into empty tables is a bulk load: the tables are truncated (which lets
# PostgreSQL, at wal_level=minimal, skip the WAL for the COPY and sync the files at commit) and
# all their indexes, primary keys and unique constraints included, are dropped and rebuilt after:
# a sorted build is several times faster than maintaining a btree or GiST index row by row (the
# unique key of incident_key alone made its COPY about four times slower). The rebuild checks
# uniqueness again, so a duplicate would fail the batch, never slip in. All of it is in the
# batch's transaction: a failed or killed load leaves everything as it was. Only empty tables
# qualify, because the exclusive lock this takes would otherwise make readers wait for the
# whole batch. (A load aside, above, is preferred where it can be done.)


class BulkLoad:
    """What :func:`bulk_load` did: ``bool(load)`` tells whether the tables were emptied and their
    indexes dropped; :meth:`rebuild` rebuilds one table's indexes early (else done on exit)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._dropped: dict[str, list[sql.Composed | bytes]] = {}

    def __bool__(self) -> bool:
        return bool(self._dropped)

    def drop(self, table: str) -> None:
        """Drop every index of ``table``, keys included, remembering how to rebuild them."""
        conn = self._conn
        rebuild: list[sql.Composed | bytes] = []
        for row in fetch_all(conn, "key_constraints", table=table):
            name = sql.Identifier(row["conname"])
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), name)
            )
            rebuild.append(
                # The server's own pg_get_constraintdef text.
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), name, sql.SQL(row["definition"])
                )
            )
        for row in fetch_all(conn, "secondary_indexes", table=table):
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(row["indexname"])))
            rebuild.append(row["indexdef"].encode())  # the server's own pg_get_indexdef text
        self._dropped[table] = rebuild

    def rebuild(self, table: str) -> None:
        """Rebuild the indexes dropped on ``table``; later calls do nothing.

        Btree builds may take a parallel worker (the cluster's
        ``max_parallel_maintenance_workers``): while the server builds, the importer has
        nothing left to do, so the second core is free.
        """
        for statement in self._dropped.get(table, []):
            self._conn.execute(statement)
        if table in self._dropped:
            self._dropped[table] = []


@contextlib.contextmanager
def bulk_load(
    conn: psycopg.Connection[Any], tables: Sequence[str], *, rows: int
) -> Iterator[BulkLoad]:
    """Prepare empty ``tables`` for a load of ``rows`` rows (see above).

    The caller must hold a lock on the tables that keeps other writers out (SHARE ROW EXCLUSIVE),
    so that "empty" stays true until the load commits.
    """
    load = BulkLoad(conn)
    empty = rows >= BULK_ROWS and all(
        not conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t))
        ).fetchone()[0]  # type: ignore[index]
        for t in tables
    )
    if not empty:
        yield load
        return
    conn.execute(
        sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in tables))
    )
    for table in tables:
        load.drop(table)
    yield load
    for table in tables:
        load.rebuild(table)


@contextlib.contextmanager
def _side_session(conninfo: str, *, autocommit: bool = False) -> Iterator[psycopg.Connection[Any]]:
    """Another session on the same database (not from the pool: the batch must not wait for a
    pooled connection, nor hold two of them)."""
    with psycopg.connect(conninfo, autocommit=autocommit) as side:
        yield side


@contextlib.contextmanager
def _in_threads(tasks: Iterable[Callable[[], None] | None]) -> Iterator[None]:
    """Run ``tasks`` (``None`` ones skipped) in threads during the block; after the block and
    every task have ended, raise the first task's error in the caller's thread."""
    failure: list[BaseException] = []

    def run(task: Callable[[], None]) -> None:
        try:
            task()
        except BaseException as exc:
            failure.append(exc)

    threads = [
        threading.Thread(target=run, args=(t,), name="pingan-bulk", daemon=True)
        for t in tasks
        if t is not None
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for thread in threads:
            thread.join()
    if failure:
        raise failure[0]
