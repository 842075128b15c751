"""Validation of raw rows (layers._spec): the fast paths give what the general ones give.

Row hashes are stored, and a re-import compares them to decide "unchanged" or "changed", so
they must stay ``pandas.util.hash_pandas_object(frame, index=False)``'s values. Dates and times
in the shapes ledgers write are read from the Arrow buffers; they must come out as pandas'
ISO 8601 parser and the deployment's time zone make them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers._spec import parse_timestamps, row_hashes

TIMEZONE = "Asia/Shanghai"  # daylight saving time 1986-1991: repeated and skipped hours


def _pandas_hashes(frame: pd.DataFrame) -> np.ndarray:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashed.astype(">u8").view(np.uint8).reshape(-1, 8)


def _every_kind_of_column(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.Series(pd.to_datetime(rng.integers(0, 2**40, n), unit="us"))
    frame = pd.DataFrame(
        {
            "id": pd.array([f"HZ{i:07d}" if i % 17 else None for i in range(n)], dtype="string"),
            "category": pd.array(rng.choice(["盗窃", "抢劫", "", None], n), dtype="string"),
            "code": pd.Series(rng.choice(["0101", "0202", "99"], n)).astype("str"),
            "empty": pd.array([None] * n, dtype="string"),
            "at": stamps.dt.tz_localize(TIMEZONE).where(rng.random(n) > 0.1),
            "day": stamps.dt.normalize(),
            "x": np.where(rng.random(n) > 0.1, rng.normal(size=n), np.nan),
            "zero": np.where(rng.random(n) > 0.5, 0.0, -0.0),
            "flag": rng.random(n) > 0.5,
            "count": pd.array(np.where(rng.random(n) > 0.1, rng.integers(0, 9, n), None), "Int64"),
            "raw": np.array(rng.choice(["p", "q"], n), dtype=object),
        }
    )
    halves = [pa.array([f"地址{i % 50}" for i in range(n // 2)], pa.large_string())] * 2
    frame["chunked"] = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(halves)))
    return frame


@pytest.mark.parametrize("n", [0, 1, 9, 5000])
def test_row_hashes_are_pandas_hashes(n: int) -> None:
    frame = _every_kind_of_column(n, seed=n)
    for width in range(frame.shape[1] + 1):
        part = frame.iloc[:, :width]
        assert (row_hashes(part) == _pandas_hashes(part)).all(), list(part.columns)


def test_row_hashes_are_pinned() -> None:
    """Stored hashes of a known row: a pandas upgrade that changes them would make every
    stored incident look changed on re-import."""
    frame = pd.DataFrame(
        {
            "source_id": pd.array(["HZ2026100001", None], dtype="string"),
            "occurred_from": pd.Series(
                pd.to_datetime(["2026-10-01 08:30:00", None]).as_unit("us")
            ).dt.tz_localize(TIMEZONE),
            "address": pd.array(["杭州市西湖区北山街道", ""], dtype="string"),
            "__x": [120.1478, np.nan],
        }
    )
    # The values the importer stored before its hashing was sped up (pandas 3.1).
    assert [bytes(h).hex() for h in row_hashes(frame)] == ["3c4d29569556abaa", "614a1803b65dd09b"]


_PLAIN = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(
                min_value=pd.Timestamp("1950-01-01"), max_value=pd.Timestamp("2026-12-31")
            ),
            st.sampled_from(_PLAIN),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_plain_dates_and_times_parse_as_pandas_iso_8601(written: list) -> None:
    text = [value.strftime(fmt) for value, fmt in written]
    stamps, bad, date_only = parse_timestamps(pd.Series(text, dtype="str"), timezone=TIMEZONE)

    expected = pd.Series(pd.to_datetime(text, format="ISO8601")).dt.tz_localize(
        TIMEZONE, ambiguous=np.ones(len(text), bool), nonexistent=pd.Timedelta(hours=1)
    )
    assert (stamps.to_numpy() == expected.to_numpy()).all()
    assert not bad.any()
    assert date_only.tolist() == [fmt == "%Y-%m-%d" for _, fmt in written]


@pytest.mark.parametrize(
    "value",
    ["2026-02-29", "2026-02-30 10:00:00", "2026-04-31", "2026-13-01", "2026-00-10", "1900-02-29"],
)
def test_days_that_do_not_exist_are_bad_dates(value: str) -> None:
    stamps, bad, _ = parse_timestamps(pd.Series([value, "2024-02-29"]), timezone=TIMEZONE)
    assert bad.tolist() == [True, False]
    assert pd.isna(stamps.iloc[0])
    assert stamps.iloc[1] == pd.Timestamp("2024-02-29", tz=TIMEZONE)


def test_other_shapes_still_take_the_general_path() -> None:
    values = [
        " 2026-10-01 08:30:00 ",
        "2026/10/1 8:30",
        "2026年10月1日",
        "2026-10-01T00:30:00Z",
        "",
    ]
    stamps, bad, date_only = parse_timestamps(pd.Series(values), timezone=TIMEZONE)
    at = pd.Timestamp("2026-10-01 08:30", tz=TIMEZONE)
    assert stamps.iloc[:2].tolist() == [at, at]
    assert stamps.iloc[2] == pd.Timestamp("2026-10-01", tz=TIMEZONE)
    assert stamps.iloc[3] == at
    assert bad.tolist() == [False] * 5
    assert date_only.tolist() == [False, False, True, False, False]
