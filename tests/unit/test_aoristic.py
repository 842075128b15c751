"""Aoristic weights: exact shares against a brute-force hour-by-hour split."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.aoristic import aoristic_cycle, aoristic_matrix, aoristic_periods
from gis.errors import ValidationError

TZ = "Asia/Shanghai"


def _brute_week(start: pd.Series, end: pd.Series) -> np.ndarray:
    out = np.zeros(168)
    for a, b in zip(start, end, strict=True):
        if a == b:
            out[a.day_of_week * 24 + a.hour] += 1
            continue
        edges = [*pd.date_range(a.floor("h"), b, freq="h"), b]
        total = (b - a).total_seconds()
        for lo, hi in itertools.pairwise(edges):
            share = (min(hi, b) - max(lo, a)).total_seconds()
            if share > 0:
                out[lo.day_of_week * 24 + lo.hour] += share / total
    return out


def test_overnight_window_splits_evenly() -> None:
    start = pd.Series(pd.to_datetime(["2026-03-02 22:00"]).tz_localize(TZ))  # a Monday
    end = pd.Series(pd.to_datetime(["2026-03-03 02:00"]).tz_localize(TZ))
    week = aoristic_cycle(start, end)
    assert week[0, 22] == week[0, 23] == week[1, 0] == week[1, 1] == pytest.approx(0.25)
    assert week.sum() == pytest.approx(1.0)
    day = aoristic_cycle(start, end, cycle="day")
    assert day[[22, 23, 0, 1]].tolist() == pytest.approx([0.25] * 4)


def test_random_windows_match_brute_force() -> None:
    rng = np.random.default_rng(2)
    n = 300
    start = pd.Series(
        pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, 24 * 300, n), "h")
    )
    hours = np.where(rng.random(n) < 0.3, 0.0, rng.exponential(30, n))
    end = start + pd.to_timedelta(hours, "h")
    np.testing.assert_allclose(
        aoristic_cycle(start, end).ravel(), _brute_week(start, end), atol=1e-9
    )
    edges = pd.date_range("2026-01-01", periods=12, freq="MS")
    per_period = aoristic_periods(start, end, edges=edges)
    matrix = aoristic_matrix(start, end, edges=edges)
    np.testing.assert_allclose(per_period, matrix.sum(axis=0), atol=1e-9)
    inside = (end <= edges[-1]).to_numpy()
    np.testing.assert_allclose(matrix.sum(axis=1)[inside], 1.0, atol=1e-9)


def test_whole_day_windows_and_weights() -> None:
    # an incident known only to the day (SF data): a whole-day window
    day = pd.Timestamp("2026-05-06", tz=TZ)  # a Wednesday
    table = aoristic_cycle([day], [day + pd.Timedelta(days=1)], weights=[2.0])
    assert table[2].tolist() == pytest.approx([2 / 24] * 24)
    assert table.sum() == pytest.approx(2.0)


def test_timezone_conversion_uses_the_local_clock() -> None:
    utc = pd.Series(pd.to_datetime(["2026-03-02 14:30"]).tz_localize("UTC"))
    table = aoristic_cycle(utc, None, cycle="day", timezone=TZ)
    assert table[22] == 1.0  # 14:30 UTC is 22:30 in Beijing


def test_refusals() -> None:
    start = pd.to_datetime(["2026-01-02", "2026-01-03"])
    with pytest.raises(ValidationError, match="end before"):
        aoristic_cycle(start, pd.to_datetime(["2026-01-01", "2026-01-04"]))
    with pytest.raises(ValidationError, match="no start"):
        aoristic_cycle(pd.to_datetime(["2026-01-02", None]))
    with pytest.raises(ValidationError, match="increasing"):
        aoristic_periods(start, None, edges=pd.to_datetime(["2026-02-01", "2026-01-01"]))
