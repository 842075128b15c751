"""Offsets named after GMT or UTC in a text timestamp column (layers._spec.parse_timestamps).

``GMT+0800`` is what JavaScript's ``Date.toString()`` writes for China time
(``Thu Oct 01 2026 08:30:00 GMT+0800 (中国标准时间)``), and ``UTC+8`` is what people type: both
mean eight hours *east* of Greenwich, as the ISO offset ``+08:00`` does. dateutil follows the
POSIX TZ convention instead (``GMT+8`` is eight hours west), which read such values 16 hours off.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.unit._timestamps import TIMEZONE
from tests.unit._timestamps import parse as _parse

CHINA_0830 = pd.Timestamp("2026-10-01 08:30", tz="Asia/Shanghai")

# (written, the instant it names): each instant is stated in the zone the offset stands for.
NAMED = (
    ("Thu Oct 01 2026 08:30:00 GMT+0800 (中国标准时间)", CHINA_0830),
    ("Thu Oct 01 2026 08:30:00 GMT+0800 (China Standard Time)", CHINA_0830),
    ("2026/10/1 8:30 GMT+0800", CHINA_0830),
    ("2026/10/1 8:30 GMT+8", CHINA_0830),
    ("2026-10-01 08:30 UTC+08:00", CHINA_0830),
    ("2026-10-01 08:30 utc+8", CHINA_0830),
    ("2026年10月1日 8:30 GMT+8", CHINA_0830),
    ("Oct 1, 2026, 8:30 AM GMT+8", CHINA_0830),
    ("2026-10-01 08:30 UTC-5", pd.Timestamp("2026-10-01 08:30", tz="Etc/GMT+5")),  # POSIX sign
    ("2026-10-01 08:30 GMT-03:30", pd.Timestamp("2026-10-01 12:00", tz="UTC")),
    ("2026-10-01 08:30 GMT+05:45", pd.Timestamp("2026-10-01 08:30", tz="Asia/Kathmandu")),
    ("Thu Oct 01 2026 08:30:00 +0800 (CST)", CHINA_0830),
    # The weekday forms are rewritten as ISO 8601 (layers._spec._weekday_form), not left to
    # dateutil: any case, one-digit day and hour, full names, fractions, Z.
    ("Thu Oct 1 2026 8:30:00 GMT+0800", CHINA_0830),
    ("thu oct 01 2026 08:30:00 gmt+0800", CHINA_0830),
    ("Thursday, October 1, 2026 08:30 GMT+8", CHINA_0830),
    ("Thu Oct 01 2026 00:30:00Z", CHINA_0830),
    ("Thu Oct 01 2026 08:30:00.250 GMT+0800", CHINA_0830 + pd.Timedelta(milliseconds=250)),
    (
        "Wed Jan 07 2026 19:30:00 GMT-0500 (Eastern Standard Time)",
        pd.Timestamp("2026-01-08 08:30", tz="Asia/Shanghai"),
    ),
)


@pytest.mark.parametrize(("written", "instant"), NAMED)
def test_a_named_offset_is_read_as_an_iso_offset(written: str, instant: pd.Timestamp) -> None:
    stamps, bad, date_only = _parse([written])
    assert stamps.iloc[0] == instant
    assert (bad, date_only) == ([False], [False])


def test_named_offsets_mixed_with_plain_values_in_one_column() -> None:
    stamps, bad, date_only = _parse(
        [
            "2026-10-01 08:30:00",  # the fast path: local time
            "Thu Oct 01 2026 08:30:00 GMT+0800 (中国标准时间)",
            "2026-10-01",
            "2026/10/1 8:30 GMT+0800",
            None,
            "2026-10-01 08:30 UTC-5",
            "2026/10/1 8:30",  # lenient, local time
            "2026-10-01T08:30:00Z",
            "2026-10-01 08:30 GMT-03:30",
            "2026-10-01 08:30 UTC",  # a bare UTC stays UTC
        ]
    )
    assert pd.isna(stamps.iloc[4])
    assert stamps.drop(stamps.index[4]).tolist() == [
        CHINA_0830,
        CHINA_0830,
        pd.Timestamp("2026-10-01", tz=TIMEZONE),
        CHINA_0830,
        pd.Timestamp("2026-10-01 13:30", tz="UTC"),
        CHINA_0830,
        pd.Timestamp("2026-10-01 08:30", tz="UTC"),
        pd.Timestamp("2026-10-01 12:00", tz="UTC"),
        pd.Timestamp("2026-10-01 08:30", tz="UTC"),
    ]
    assert bad == [False] * 10
    assert date_only == [i == 2 for i in range(10)]


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        ("2026-10-01 08:30 GMT", pd.Timestamp("2026-10-01 08:30", tz="UTC")),
        ("2026-10-01 08:30 UTC", pd.Timestamp("2026-10-01 08:30", tz="UTC")),
        ("2026-10-01T08:30Z", pd.Timestamp("2026-10-01 08:30", tz="UTC")),
        ("2026/10/1 8:30 +08:00", CHINA_0830),
    ],
)
def test_bare_gmt_utc_z_and_iso_offsets_are_unchanged(written: str, instant: pd.Timestamp) -> None:
    stamps, bad, _ = _parse([written])
    assert stamps.iloc[0] == instant and bad == [False]


@pytest.mark.parametrize("junk", ["GMT+8", "2026-10-01 08:30 GMT+99", "(中国标准时间)"])
def test_a_named_offset_does_not_make_junk_a_date(junk: str) -> None:
    stamps, bad, _ = _parse([junk, "2026/10/1 8:30 GMT+8"])
    assert bad == [True, False]
    assert pd.isna(stamps.iloc[0]) and stamps.iloc[1] == CHINA_0830


def test_the_weekday_form_without_an_offset_is_local_and_without_a_time_a_whole_day() -> None:
    stamps, bad, date_only = _parse(
        ["Thu Oct 01 2026 08:30:00", "Thu Oct 01 2026", "Sun Feb 29 2026 10:00:00 GMT+0800"]
    )
    assert stamps.iloc[0] == CHINA_0830
    assert stamps.iloc[1] == pd.Timestamp("2026-10-01", tz=TIMEZONE)
    assert bad == [False, False, True]  # no 29 February in 2026
    assert date_only == [False, True, False]
