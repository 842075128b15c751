"""The stored local hours of migration 0005 give exactly the hour rule of migration 0004.

``incident_hours_match(occurred_hour, hour_span, …)`` (the counts, the points, ``read``) must
select the same incidents as ``incident_in_hours(occurred_from, occurred_to, …)`` for every
band: windows starting and ending on, just before and just after whole hours (to the
microsecond), long and date-only windows, in the deployment time zone, with daylight saving.
The hours are the importer's (:func:`layers._incident_columns.local_hours`), and they equal
the SQL definition of migration 0007 on every row.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gis.db import Database
from layers._incident_columns import local_hours

# Incident-like windows, and every band there is.
_TABLE = (
    "CREATE TEMP TABLE hours_probe (id bigint, occurred_from timestamptz,"
    " occurred_to timestamptz, occurred_hour smallint, hour_span smallint)"
)
_ROWS = """
INSERT INTO hours_probe (id, occurred_from, occurred_to)
SELECT row_number() OVER (), s.start, s.start + w.length
  FROM (SELECT day + hour * interval '1 hour' + edge AS start
          FROM unnest(%(days)s::timestamp[]) day,
               generate_series(0, 23) hour,
               unnest(ARRAY[interval '0', interval '1 microsecond',
                            interval '59 minutes 59.999999 seconds',
                            interval '17 minutes 3.25 seconds']) edge) days
 CROSS JOIN LATERAL (SELECT days.start::timestamp AT TIME ZONE current_setting('TimeZone')
                            AS start) s
 CROSS JOIN unnest(ARRAY[NULL, interval '0', interval '1 microsecond',
                         interval '42 minutes 56.75 seconds',
                         interval '1 hour', interval '1 hour 1 microsecond',
                         interval '3 hours', interval '7 hours 59 minutes 59.999999 seconds',
                         interval '8 hours', interval '23 hours 59 minutes', interval '1 day',
                         interval '3 days']) w(length);
"""

_MISMATCHES = """
SELECT a, b, count(*) FILTER (WHERE incident_in_hours(occurred_from, occurred_to, a, b)
                              IS DISTINCT FROM incident_hours_match(occurred_hour, hour_span, a, b))
                         AS mismatched,
       count(*) FILTER (WHERE incident_hours_match(occurred_hour, hour_span, a, b)) AS matched
  FROM hours_probe, generate_series(0, 23) a, generate_series(1, 24) b
 GROUP BY a, b
"""


@pytest.mark.parametrize(
    ("timezone", "days"),
    [
        ("Asia/Shanghai", ["2026-03-10"]),
        # 2026-03-08 and 2026-11-01: the days daylight saving time begins and ends there.
        ("America/Los_Angeles", ["2026-03-08", "2026-06-15", "2026-11-01"]),
    ],
)
def test_stored_hours_select_what_incident_in_hours_selects(
    make_database, timezone: str, days: list[str]
) -> None:
    db: Database = make_database("hours", timezone=timezone)
    with db.connection() as conn:
        conn.execute(_TABLE)
        conn.execute(_ROWS, {"days": days})
        probe = pd.DataFrame(
            conn.execute("SELECT id, occurred_from, occurred_to FROM hours_probe").fetchall(),
            columns=["id", "occurred_from", "occurred_to"],
        )
        hour, span = local_hours(
            pd.to_datetime(probe["occurred_from"], utc=True),
            pd.to_datetime(probe["occurred_to"], utc=True),
            timezone=db.timezone,
        )
        conn.execute("CREATE TEMP TABLE importer_hours (id bigint, hour smallint, span smallint)")
        with conn.cursor().copy("COPY importer_hours FROM STDIN") as copy:
            for row in zip(probe["id"].tolist(), hour.tolist(), span.tolist(), strict=True):
                copy.write_row(row)
        conn.execute(
            "UPDATE hours_probe p SET occurred_hour = i.hour, hour_span = i.span"
            " FROM importer_hours i WHERE i.id = p.id"
        )
        differ = conn.execute(
            "SELECT count(*) FROM hours_probe WHERE occurred_hour IS DISTINCT FROM"
            " incident_local_hour(occurred_from, %(zone)s) OR hour_span IS DISTINCT FROM"
            " incident_hour_span(occurred_from, occurred_to, %(zone)s)",
            {"zone": db.timezone},
        ).fetchone()
        rows = conn.execute(_MISMATCHES).fetchall()
    assert differ == (0,)
    assert len(rows) == 24 * 24
    assert [r for r in rows if r[2]] == []
    # Not vacuous: every band that filters keeps some rows and drops others.
    total = 24 * 4 * 12 * len(days)
    assert all(0 < r[3] < total for r in rows if (r[1] - r[0]) % 24)
