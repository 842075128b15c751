"""Junk in a text timestamp column (layers._spec.parse_timestamps): each value that is not a
date or time becomes a bad value of its row, and never an exception for the whole column.

pandas refuses a column that mixes values read with a time zone and values read without one
("Mixed timezones detected"), and its lenient parser (dateutil) reads a zone into some junk
(``72:1-45-00t14:07:03``, a fuzz find), so one junk cell used to crash the import. A value
must come out as it would alone, whatever its neighbours are.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit._timestamps import TIMEZONE
from tests.unit._timestamps import parse as _parse


def _at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TIMEZONE)


# Valid values in every supported shape: (written, the instant, date only).
VALID = (
    ("2026-01-01 10:00:00", _at("2026-01-01 10:00"), False),
    ("2026-01-01T10:00:00", _at("2026-01-01 10:00"), False),
    ("2026-01-01", _at("2026-01-01"), True),
    ("2026-01-01 10:00", _at("2026-01-01 10:00"), False),
    ("2026-01-01T10:00+08:00", _at("2026-01-01 10:00"), False),
    ("2026-01-01T10:00Z", _at("2026-01-01 18:00"), False),
    ("2026-01-01T10:00-05:00", _at("2026-01-01 23:00"), False),
    ("2026-10-01T08+08:00", _at("2026-10-01 08:00"), False),
    ("2026-10-01T08:30:00.123456789+08:00", _at("2026-10-01 08:30:00.123456789"), False),
    ("2026/1/1 8:00", _at("2026-01-01 08:00"), False),
    ("2024年3月5日", _at("2024-03-05"), True),
    ("2026-10-01 08:30 UTC", _at("2026-10-01 16:30"), False),
)


def test_the_fuzz_find_is_a_bad_value_and_its_neighbour_is_kept() -> None:
    stamps, bad, date_only = _parse(["2024年3月5日", "72:1-45-00t14:07:03"])
    assert bad == [False, True]
    assert stamps.iloc[0] == _at("2024-03-05") and pd.isna(stamps.iloc[1])
    assert date_only == [True, False]


@pytest.mark.parametrize(
    "junk",
    [
        "72:1-45-00t14:07:03",  # dateutil reads a zone into it
        "9999-99-99",
        "30000-01-01",  # beyond what pandas can hold
        "+08:00",  # a lone offset
        "Z",
        "2026-10-01T08:30+99:00",
        "2026-10-03 " + "9" * 5000,
        "x" * 100_000,
    ],
)
def test_junk_beside_every_valid_shape_is_the_only_bad_value(junk: str) -> None:
    written = [v for v, _, _ in VALID]
    for position in (0, len(written) // 2, len(written)):
        values = [*written[:position], junk, *written[position:]]
        stamps, bad, date_only = _parse(values)
        assert bad == [i == position for i in range(len(values))]
        assert pd.isna(stamps.iloc[position])
        kept = stamps.drop(stamps.index[position])
        assert kept.tolist() == [at for _, at, _ in VALID]
        assert date_only[:position] + date_only[position + 1 :] == [d for _, _, d in VALID]


def test_mixed_offsets_are_the_same_instants_as_before() -> None:
    stamps, bad, _ = _parse(["2026-01-01T10:00+08:00", "2026-01-01T10:00Z", "2026-01-01 10:00:00"])
    assert stamps.tolist() == [
        _at("2026-01-01 10:00"),
        _at("2026-01-01 18:00"),
        _at("2026-01-01 10:00"),
    ]
    assert bad == [False] * 3


def test_a_zone_read_by_the_lenient_parser_does_not_blank_its_neighbours() -> None:
    """pandas turned the other values to NaT here instead of raising: valid rows were lost."""
    stamps, bad, _ = _parse(["2026-10-01 08:30 UTC", "2026-01-01 10:00", "2026-01-01 10:00:00"])
    assert bad == [False] * 3
    assert stamps.tolist() == [_at("2026-10-01 16:30"), *[_at("2026-01-01 10:00")] * 2]


def test_nanoseconds_beside_microseconds_keep_both() -> None:
    stamps, bad, _ = _parse(["2026-10-01T08:30:00.123456789+08:00", "2026/10/1 8:30", None])
    assert bad == [False] * 3
    assert stamps.iloc[0] == _at("2026-10-01 08:30:00.123456789")
    assert stamps.iloc[1] == _at("2026-10-01 08:30")
    assert pd.isna(stamps.iloc[2])


# Pieces that pandas' and dateutil's parsers react to, so that random junk reaches them.
_PIECES = st.sampled_from(
    (
        *("2026", "1", "12", "00", "99", "30000", "-", "/", ":", ".", ",", " ", "T", "t", "Z"),
        *("+08:00", "-05", "+", "UTC", "GMT", "EST", "am", "pm", "Jan", "Mon", "年", "月", "日"),
        *("上午", "08:30", ".123456789"),
    )
)
_JUNK = st.text(max_size=30) | st.lists(_PIECES, max_size=10).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(range(len(VALID))) | _JUNK, min_size=1, max_size=12))
def test_any_text_never_raises_and_each_value_reads_as_it_would_alone(drawn: list) -> None:
    values = [VALID[d][0] if isinstance(d, int) else d for d in drawn]
    stamps, bad, date_only = _parse(values)
    for i, value in enumerate(values):
        alone, alone_bad, alone_date_only = _parse([value])
        assert (bad[i], date_only[i]) == (alone_bad[0], alone_date_only[0]), value
        if pd.isna(alone.iloc[0]):
            assert pd.isna(stamps.iloc[i]), value
        else:
            assert stamps.iloc[i] == alone.iloc[0], value
        if isinstance(drawn[i], int):
            _, at, whole_day = VALID[drawn[i]]
            assert (stamps.iloc[i], bad[i], date_only[i]) == (at, False, whole_day), value
