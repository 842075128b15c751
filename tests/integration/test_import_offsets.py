"""Incident times with an offset named after GMT or UTC, imported into a real database.

A ledger exported from a web system writes JavaScript's ``Date.toString()``
(``Thu Oct 01 2026 08:30:00 GMT+0800 (中国标准时间)``), and people type ``2026/10/1 8:30 GMT+8``:
both are China time, and used to be stored 16 hours late (dateutil reads ``GMT+8`` the POSIX way,
as eight hours west of Greenwich).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import layers
from gis.db import Database

ROWS = (
    ("HZ2026120001", "Thu Oct 01 2026 08:30:00 GMT+0800 (中国标准时间)"),
    ("HZ2026120002", "2026/10/1 8:30 GMT+0800"),
    ("HZ2026120003", "2026-10-01 08:30 UTC-5"),
    ("HZ2026120004", "2026-10-01 08:30:00"),
)


def test_named_offsets_are_stored_as_the_instant_they_name(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "incidents_named_offsets.csv"
    lines = ["编号,类别,发案时间,地址,经度,纬度"] + [
        f"{sid},盗窃,{written},杭州市西湖区文三路{i}号,120.13{i},30.278{i}"
        for i, (sid, written) in enumerate(ROWS, start=1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    summary = layers.import_file("incidents", path, db=db)
    assert (summary.rows, summary.inserted, summary.quarantined) == (4, 4, 0)

    stored = layers.read("incidents", db=db)
    stored = stored[stored["source"] == summary.source].set_index("source_id")
    china = pd.Timestamp("2026-10-01 08:30", tz="Asia/Shanghai")
    assert stored["occurred_from"].to_dict() == {
        "HZ2026120001": china,
        "HZ2026120002": china,
        "HZ2026120003": pd.Timestamp("2026-10-01 13:30", tz="UTC"),
        "HZ2026120004": china,  # no offset: the deployment's time zone
    }
    assert stored["occurred_to"].isna().all()  # each has a time of day: an instant, not a day
