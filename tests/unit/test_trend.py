"""Mann–Kendall trend test: known values and scipy's Kendall tau as the reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.trend import mann_kendall
from gis.errors import ValidationError


def test_known_values_of_a_rising_series() -> None:
    # Hand computation: S = 10 pairs all rising; Var S = 5*4*15/18 = 16.667;
    # Z = (10 - 1) / sqrt(16.667) = 2.2045; p = 2 (1 - Φ(2.2045)) = 0.0275.
    r = mann_kendall([1, 2, 3, 4, 5])
    assert r.s[0] == 10
    assert r.var_s[0] == pytest.approx(16.6666667)
    assert r.z[0] == pytest.approx(2.2045408, abs=1e-6)
    assert r.p[0] == pytest.approx(0.0274863, abs=1e-6)
    assert r.tau[0] == 1.0


def test_ties_correction_by_hand() -> None:
    # x = 1, 1, 2, 2, 2: one tie group of 2 and one of 3.
    # S = 6 (each 1 before each 2);
    # Var S = (5*4*15 - 2*1*9 - 3*2*11) / 18 = (300 - 18 - 66) / 18 = 12.
    r = mann_kendall([1, 1, 2, 2, 2])
    assert r.s[0] == 6
    assert r.var_s[0] == pytest.approx(12.0)
    assert r.z[0] == pytest.approx(5 / np.sqrt(12.0))


def test_matches_scipy_kendalltau_with_ties() -> None:
    rng = np.random.default_rng(7)
    series = rng.poisson(3.0, size=(40, 24)).astype(float)  # counts: many ties
    series[5] += np.arange(24) * 0.5  # one with a trend
    r = mann_kendall(series)
    time = np.arange(24)
    for k, row in enumerate(series):
        ref = stats.kendalltau(time, row, method="asymptotic")
        assert r.tau[k] == pytest.approx(ref.statistic, abs=1e-12)
        # scipy's p has no continuity correction: compare with S / sqrt(Var S)
        uncorrected = 2 * stats.norm.sf(abs(r.s[k]) / np.sqrt(r.var_s[k]))
        assert uncorrected == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.direction(alpha=0.05)[5] == 1


def test_vectorised_equals_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    series = rng.normal(size=(30, 13))
    all_at_once = mann_kendall(series)
    for k in range(30):
        single = mann_kendall(series[k])
        assert single.s[0] == all_at_once.s[k]
        assert single.z[0] == pytest.approx(all_at_once.z[k])


def test_falling_series_is_negative() -> None:
    r = mann_kendall(np.arange(10.0)[::-1])
    assert r.s[0] == -45
    assert r.z[0] < 0
    assert r.direction()[0] == -1


def test_constant_series_has_no_trend() -> None:
    r = mann_kendall(np.full((2, 8), 4.0))
    assert (r.s == 0).all() and (r.z == 0).all() and (r.p == 1).all() and (r.tau == 0).all()


def test_refuses_short_or_missing_series() -> None:
    with pytest.raises(ValidationError, match="at least 3"):
        mann_kendall([1.0, 2.0])
    with pytest.raises(ValidationError, match="missing"):
        mann_kendall([1.0, np.nan, 2.0, 3.0])
