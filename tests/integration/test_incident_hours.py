"""The stored local hours of migration 0005 give exactly the hour rule of migration 0004.

``incident_hours_match(occurred_hour, hour_span, …)`` (the counts, the points, ``read``) must
select the same incidents as ``incident_in_hours(occurred_from, occurred_to, …)`` for every
band: windows starting and ending on, just before and just after whole hours (to the
microsecond), long and date-only windows, in the deployment time zone, with daylight saving.
"""

from __future__ import annotations

import pytest

from gis.db import Database

# Incident-like rows with the generated columns of the real table, and every band there is.
_TABLE = "CREATE TEMP TABLE hours_probe (LIKE incident INCLUDING GENERATED INCLUDING DEFAULTS)"
_ROWS = """
INSERT INTO hours_probe (id, category_code, occurred_from, occurred_to, occurred_date, h3_r7,
                         h3_r9, h3_r10, source, source_id, batch_id, geom)
SELECT row_number() OVER (), '0101', s.start, s.start + w.length, s.start::date, 0, 0, 0,
       'probe', row_number() OVER ()::text, 0, ST_SetSRID(ST_MakePoint(120, 30), 4490)
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
        rows = conn.execute(_MISMATCHES).fetchall()
    assert len(rows) == 24 * 24
    assert [r for r in rows if r[2]] == []
    # Not vacuous: every band that filters keeps some rows and drops others.
    total = 24 * 4 * 12 * len(days)
    assert all(0 < r[3] < total for r in rows if (r[1] - r[0]) % 24)
