"""A check the import tests share: the derived columns the importer writes (local hour, hour
span, sample tier) equal the SQL definitions of migration 0007 on every stored incident."""

from __future__ import annotations

from gis.db import Database

_MISMATCHES = """
SELECT count(*)
  FROM incident
 WHERE occurred_hour <> incident_local_hour(occurred_from, %(zone)s)
    OR hour_span <> incident_hour_span(occurred_from, occurred_to, %(zone)s)
    OR sample_tier <> incident_sample_tier(id)
"""


def derived_column_mismatches(db: Database) -> int:
    """How many stored incidents have a derived column that differs from its SQL rule."""
    with db.connection() as conn:
        row = conn.execute(_MISMATCHES, {"zone": db.timezone}).fetchone()
    return int(row[0])  # type: ignore[index]
