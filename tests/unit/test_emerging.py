"""Emerging hot spots: one test per ArcGIS pattern rule, the disputed edges, the space-time
Gi* against the Gi* core, and the demo county's emerging and fading plants.

Series are written as strings, oldest step first: ``H`` a significant hot bin, ``C`` a
significant cold bin, ``.`` neither.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from analysis.cube import space_time_cube
from analysis.emerging import (
    PATTERNS,
    classify_patterns,
    emerging_hot_spots,
    pattern_name,
    space_time_gi_star,
)
from analysis.gistar import gi_star_z
from gis.errors import ValidationError
from gis.messages import catalogue

NO_TREND = (0.0, 0.8)
RISING = (3.0, 0.001)
FALLING = (-3.0, 0.001)


def classify(series: str, trend: tuple[float, float] = NO_TREND, *, mirror: bool = False) -> str:
    bins = np.array([[{"H": 1, "C": -1, ".": 0}[c] for c in series]])
    z, p = trend
    if mirror:  # the same series with hot and cold exchanged
        bins, z = -bins, -z
    return pattern_name(int(classify_patterns(bins, [z], [p])[0]))


# One rule each, hot and its cold mirror (hot ↔ cold, trend sign flipped).
RULES = [
    ("new", ".........H", NO_TREND),
    ("consecutive", "........HH", NO_TREND),
    ("intensifying", "HHHHHHHHHH", RISING),
    ("persistent", "HHHHHHHHHH", NO_TREND),
    ("diminishing", "HHHHHHHHHH", FALLING),
    ("sporadic", "H..H...H.H", NO_TREND),
    ("oscillating", "C...H...HH", NO_TREND),
    ("historical", "HHHHHHHHH.", NO_TREND),
]


@pytest.mark.parametrize(("name", "series", "trend"), RULES)
def test_hot_rule(name: str, series: str, trend: tuple[float, float]) -> None:
    assert classify(series, trend) == f"{name}_hot"


@pytest.mark.parametrize(("name", "series", "trend"), RULES)
def test_cold_rule(name: str, series: str, trend: tuple[float, float]) -> None:
    assert classify(series, trend, mirror=True) == f"{name}_cold"


def test_no_pattern() -> None:
    assert classify("..........") == "no_pattern"
    assert classify("..........", RISING) == "no_pattern"


def test_every_pattern_has_a_label_in_both_languages() -> None:
    entries = catalogue()
    assert len(PATTERNS) == 17
    for name in PATTERNS.values():
        assert entries[f"emerging.pattern.{name}"]["zh"]
        assert entries[f"emerging.pattern.{name}"]["en"]


# --- edges where the wording leaves a choice or implementations disagree -----------------


def test_ninety_percent_is_inclusive_and_exact() -> None:
    # 9 of 10 and 18 of 20 are "90 percent of the time-step intervals"
    assert classify(".HHHHHHHHH") == "persistent_hot"
    assert classify("..HHHHHHHHHHHHHHHHHH") == "persistent_hot"
    assert classify("..HHHHHHHHHHHHHHHHHH", RISING) == "intensifying_hot"
    # 17 of 20 is below: hot now, on and off before
    assert classify("H..HHHHHHHHHHHHHH.HH") == "sporadic_hot"
    # 26 of 29 = 89.7 %: floating point must not round it up
    assert classify("..." + "H" * 26, NO_TREND) == "consecutive_hot"


def test_final_step_decides_sporadic() -> None:
    # ArcGIS Pro: sporadic is "a statistically significant hot spot for the final time-step
    # interval". The ArcMap 10.x wording, sfdep and PyEhsa call this sporadic; here it is none.
    assert classify("H..H...H..") == "no_pattern"


def test_persistent_needs_a_hot_final_step() -> None:
    # >= 90 % hot but not hot at the end is historical (sfdep says persistent)
    assert classify("HHHHHHHHH.", NO_TREND) == "historical_hot"
    assert classify("HHHHHHHHH.", FALLING) == "historical_hot"


def test_intensifying_needs_a_significant_trend() -> None:
    assert classify("HHHHHHHHHH", (3.0, 0.06)) == "persistent_hot"
    # sfdep counts cold bins towards intensifying hot's 90 %; here only hot bins count
    assert classify("CCHHHHHHHH", RISING) == "oscillating_hot"
    assert classify("CHHHHHHHHH", RISING) == "intensifying_hot"  # 9 of 10 hot is enough


def test_sporadic_means_never_significant_cold() -> None:
    # one cold bin anywhere before turns an on-and-off hot spot into oscillating
    assert classify("H..H...HCH") == "oscillating_hot"
    assert classify("C..C...CHC") == "oscillating_cold"
    assert classify("H..H...H.H", mirror=True) == "sporadic_cold"


def test_new_and_consecutive_need_a_clean_history() -> None:
    # hot only at the end but cold once before: oscillating, not new (as sfdep)
    assert classify("..C......H") == "oscillating_hot"
    assert classify("..C.....HH") == "oscillating_hot"
    # a broken run is not consecutive; one final hot bin is new, not consecutive
    assert classify("..H....HHH") == "sporadic_hot"
    assert classify("........HH") == "consecutive_hot"


def test_final_cold_beats_historical_hot() -> None:
    # hot 9 of 10 steps, cold at the last: both "historical hot" and "oscillating cold" fit
    assert classify("HHHHHHHHHC") == "oscillating_cold"


def test_classifier_accepts_short_series_but_the_analysis_refuses() -> None:
    assert classify("HHHHH") == "persistent_hot"
    assert classify("...HH") == "consecutive_hot"
    counts = np.arange(4 * 9, dtype=float).reshape(4, 9)
    with pytest.raises(ValidationError, match="at least 10 time steps"):
        emerging_hot_spots(counts, sp.eye_array(4, format="csr"))


def test_many_locations_at_once() -> None:
    rows = [s for _, s, _ in RULES]
    bins = np.array([[{"H": 1, "C": -1, ".": 0}[c] for c in s] for s in rows])
    z = np.array([t[0] for _, _, t in RULES])
    p = np.array([t[1] for _, _, t in RULES])
    names = [pattern_name(c) for c in classify_patterns(bins, z, p)]
    assert names == [f"{n}_hot" for n, _, _ in RULES]


# --- the space-time Gi* -----------------------------------------------------------------


def _ring_weights(n: int) -> sp.csr_array:
    eye = sp.eye_array(n, format="csr")
    ring = sp.csr_array(np.roll(np.eye(n), 1, axis=1) + np.roll(np.eye(n), -1, axis=1))
    return sp.csr_array(eye + ring)


@pytest.mark.parametrize("window", [0, 1, 3])
def test_space_time_gi_star_equals_the_gi_star_core(window: int) -> None:
    rng = np.random.default_rng(11)
    n_cells, n_steps = 12, 11
    counts = rng.poisson(2.0, size=(n_cells, n_steps)).astype(float)
    w = _ring_weights(n_cells)
    # bin (i, t) neighbours bin (j, s) when j is a spatial neighbour of i (or i itself)
    # and t - window <= s <= t: the Kronecker product with a lower-banded time matrix.
    time = sp.csr_array(
        np.tril(np.ones((n_steps, n_steps))) - np.tril(np.ones((n_steps, n_steps)), -window - 1)
    )
    full = sp.csr_array(sp.kron(w, time))
    expected = gi_star_z(counts.ravel(), full).reshape(n_cells, n_steps)
    got = space_time_gi_star(counts, w, time_step_window=window)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_space_time_gi_star_refuses_weights_without_self() -> None:
    w = sp.csr_array(_ring_weights(5) - sp.eye_array(5, format="csr"))
    with pytest.raises(ValidationError, match="include_self"):
        space_time_gi_star(np.ones((5, 10)), w)


def test_a_cell_that_starts_late_is_a_new_or_consecutive_hot_spot() -> None:
    rng = np.random.default_rng(5)
    counts = rng.poisson(1.0, size=(30, 20)).astype(float)
    counts[7, -3:] += 12  # a burst in the last three steps at cell 7
    result = emerging_hot_spots(counts, _ring_weights(30), time_step_window=1)
    assert result.names()[7] == "consecutive_hot"
    assert result.count_trend.z[7] > 0
    assert any("FDR" in line for line in result.log.lines(language="en"))
    assert sum(result.summary().values()) == 30


# --- the demo county ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo():
    from gis.crs import local_metric_crs, transform_points
    from layers.demo import build_demo_county

    county = build_demo_county(small=True)
    inc = county.incidents
    lon, lat = inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
    crs = local_metric_crs(lon, lat)
    x, y = transform_points(lon, lat, src=4490, dst=crs)
    return county, x, y, crs


def _fishnet_analysis(demo, pattern: str, *, categories, end, step, steps, size=300.0):
    """Emerging hot spots on a square fishnet of ``size`` metres with queen contiguity, over
    the cells holding at least one incident (ArcGIS without an analysis mask)."""
    from gis.crs import transform_points

    county, x, y, crs = demo
    inc = county.incidents
    keep = np.isin(inc["category"].to_numpy(), categories)
    ix, iy = np.floor(x / size).astype(np.int64), np.floor(y / size).astype(np.int64)
    cell = ix * 1_000_000 + iy
    cube = space_time_cube(cell[keep], inc["occurred_from"][keep], end=end, step=step, steps=steps)
    cells = np.asarray(cube.cells)
    pos = {c: k for k, c in enumerate(cells)}
    rows, cols = [], []
    for k, c in enumerate(cells):
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                j = pos.get(c + dx * 1_000_000 + dy)
                if j is not None:
                    rows.append(k)
                    cols.append(j)
    w = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(cells), len(cells)))
    result = emerging_hot_spots(cube, w, time_step_window=1)
    truth = county.truth.by_name(pattern)
    px, py = transform_points([truth["centre_lon"]], [truth["centre_lat"]], src=4490, dst=crs)
    centre = int(np.floor(px[0] / size)) * 1_000_000 + int(np.floor(py[0] / size))
    return result, pos[centre]


def test_demo_emerging_plant_is_a_consecutive_hot_spot(demo) -> None:
    # The plant: 90 two-wheeler thefts (010302) within 190 m of a station, only in the last
    # three months (layers/demo/_patterns.py). Weekly steps over the last year: the station's
    # cell is hot only in an unbroken run of the final ~13 weeks (< 90 % of 52), never before:
    # a consecutive hot spot. (With one final hot step it would be "new"; it is not
    # intensifying, which needs 90 % of the steps hot.)
    result, row = _fishnet_analysis(
        demo,
        "emerging_station_theft",
        categories=["010302"],
        end="2026-10-31",
        step="week",
        steps=52,
    )
    assert result.names()[row] == "consecutive_hot"
    assert result.hot[row, -10:].all() and not result.hot[row, :30].any()
    assert result.trend.z[row] > 0 and result.trend.p[row] < 0.05


def test_demo_fading_plant_is_a_historical_hot_spot(demo) -> None:
    # The plant: 150 fights (0202/0106) at a KTV from the start (2024-11-01) to 2026-01-31,
    # then none. Monthly steps from the start to 2026-03-31: hot in the 15 active months and in
    # February (its window still holds January), not in March: 16 of 17 steps (94 %) hot and
    # the last one not: a historical hot spot. Diminishing would need the last step hot.
    result, row = _fishnet_analysis(
        demo,
        "fading_entertainment_fights",
        categories=["0202", "0106"],
        end="2026-03-31",
        step="month",
        steps=17,
    )
    assert result.names()[row] == "historical_hot"
    assert not result.hot[row, -1]


def test_demo_fading_plant_over_the_whole_period_has_no_pattern(demo) -> None:
    # Over all 24 months the KTV was hot 15-16 of 24 (< 90 %) and is not hot at the end. By
    # ArcGIS Pro's rules that is no pattern: historical needs 90 %, sporadic and diminishing a
    # hot final step (sfdep would say sporadic). The fading shows as a falling count trend.
    result, row = _fishnet_analysis(
        demo,
        "fading_entertainment_fights",
        categories=["0202", "0106"],
        end="2026-10-31",
        step="month",
        steps=24,
    )
    assert result.names()[row] == "no_pattern"
    assert result.count_trend.z[row] < 0 and result.count_trend.p[row] < 0.05
