"""Named SQL queries, kept in ``gis/sql/queries/*.sql``.

Each block starts with ``-- name: query_name`` and a one-line ``--`` description, and takes
named parameters only (``%(scope)s``)::

    -- name: incidents_in_scope
    -- Incidents inside an admin-code prefix and time range.
    SELECT ... WHERE village_code LIKE %(scope)s || '%%' ...;

Queries are called by name; a missing or extra parameter is a :class:`~gis.errors.QueryError`
before anything reaches the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gis.errors import QueryError

QUERY_DIR = Path(__file__).with_name("sql") / "queries"
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$")
_PARAM = re.compile(r"(?<!%)%\((\w+)\)s")


@dataclass(frozen=True)
class NamedQuery:
    """One named SQL block: its name, description, file, text and parameter names."""

    name: str
    description: str
    file: str
    sql: str
    params: frozenset[str]

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`QueryError` unless ``params`` names exactly this query's parameters."""
        given = set(params)
        if given != self.params:
            raise QueryError(
                "db.query_params",
                query=self.name,
                missing=", ".join(sorted(self.params - given)) or "-",
                extra=", ".join(sorted(given - self.params)) or "-",
            )


def parse_queries(text: str, *, file: str = "<string>") -> dict[str, NamedQuery]:
    """Parse the named blocks of one ``.sql`` file."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = _NAME.match(line)
        if match:
            name = match.group(1)
            if name in blocks:
                raise QueryError("db.query_duplicate", query=name, file=file)
            current = blocks[name] = []
        elif current is not None:
            current.append(line)
    queries = {}
    for name, lines in blocks.items():
        description = lines[0].lstrip("-").strip() if lines and lines[0].startswith("--") else ""
        body = "\n".join(lines[1:] if description else lines).strip()
        queries[name] = NamedQuery(name, description, file, body, frozenset(_PARAM.findall(body)))
    return queries


@cache
def all_queries() -> dict[str, NamedQuery]:
    """Every named query of the project, by name."""
    merged: dict[str, NamedQuery] = {}
    for path in sorted(QUERY_DIR.glob("*.sql")):
        for name, query in parse_queries(path.read_text(encoding="utf-8"), file=path.name).items():
            if name in merged:
                raise QueryError("db.query_duplicate", query=name, file=path.name)
            merged[name] = query
    return merged


def get_query(name: str) -> NamedQuery:
    """Return the named query ``name`` or raise :class:`QueryError`."""
    try:
        return all_queries()[name]
    except KeyError:
        raise QueryError("db.query_unknown", query=name) from None


def execute(conn: psycopg.Connection[Any], name: str, /, **params: Any) -> psycopg.Cursor[Any]:
    """Run the named query with ``params`` and return the cursor."""
    query = get_query(name)
    query.check(params)
    return conn.execute(query.sql.encode(), params)


def execute_many(conn: psycopg.Connection[Any], name: str, /, rows: list[dict[str, Any]]) -> None:
    """Run the named query once per parameter dict in ``rows``, in one pipelined batch."""
    query = get_query(name)
    for params in rows:
        query.check(params)
    with conn.cursor() as cur:
        cur.executemany(query.sql.encode(), rows)


def fetch_all(conn: psycopg.Connection[Any], name: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run the named query and return its rows as dicts."""
    query = get_query(name)
    query.check(params)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query.sql.encode(), params)
        return cur.fetchall() if cur.description else []


def fetch_one(conn: psycopg.Connection[Any], name: str, /, **params: Any) -> dict[str, Any] | None:
    """Run the named query and return its first row as a dict, or ``None``."""
    rows = fetch_all(conn, name, **params)
    return rows[0] if rows else None
