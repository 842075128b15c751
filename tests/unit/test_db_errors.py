"""How driver errors become DatabaseError: a lost or refused session is "cannot connect", any
other error (a lock timeout, a cancelled statement, a full disk) names its SQLSTATE."""

from __future__ import annotations

import psycopg
import pytest

from gis.db import translate_errors
from gis.errors import DatabaseError


@pytest.mark.parametrize(
    ("error", "key", "sqlstate"),
    [
        (psycopg.OperationalError("connection refused"), "db.unreachable", None),
        (psycopg.errors.TooManyConnections("sorry, too many clients"), "db.unreachable", None),
        (psycopg.errors.AdminShutdown("terminating connection"), "db.unreachable", None),
        (
            psycopg.errors.CannotConnectNow("the database system is starting up"),
            "db.unreachable",
            None,
        ),
        (
            psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"),
            "db.failed",
            "55P03",
        ),
        (
            psycopg.errors.QueryCanceled("canceling statement due to user request"),
            "db.failed",
            "57014",
        ),
        (psycopg.errors.DiskFull("could not extend file"), "db.failed", "53100"),
        (psycopg.errors.UniqueViolation("duplicate key"), "db.failed", "23505"),
    ],
)
def test_errors_are_told_apart(error: psycopg.Error, key: str, sqlstate: str | None) -> None:
    with pytest.raises(DatabaseError) as raised, translate_errors(what="host=/run port=5432"):
        raise error
    assert raised.value.key == key
    assert raised.value.__cause__ is error
    if sqlstate is not None:
        assert f"SQLSTATE {sqlstate}" in str(raised.value)
    else:
        assert "host=/run port=5432" in str(raised.value)
