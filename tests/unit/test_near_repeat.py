"""The Knox test: exact counts on a hand-made set, honest labels, the p floor, the seed, and
the demo county's planted near-repeat burglaries against the background."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.near_repeat import band_labels, knox_test
from gis.errors import ValidationError


def test_labels_say_what_each_band_holds() -> None:
    assert band_labels([0, 100, 200], unit="m", language="zh") == [
        "0–100 米 (含0, 不含100)",
        "100–200 米 (含100, 不含200)",
        "200 米及以上 (含200)",
    ]
    assert band_labels([0, 1, 7], unit="days", language="en") == [
        "0–1 days (0 included, 1 excluded)",
        "1–7 days (1 included, 7 excluded)",
        "7 days and more (7 included)",
    ]


def test_counts_by_hand_with_pairs_on_the_edges() -> None:
    # Four incidents on a line; distances 0-100-250 m and times day 0, 7, 7.5, 30.
    x = np.array([0.0, 100.0, 250.0, 5000.0])
    y = np.zeros(4)
    times = pd.to_datetime(
        ["2026-01-01 00:00", "2026-01-08 00:00", "2026-01-08 12:00", "2026-01-31 00:00"]
    )
    r = knox_test(x, y, times, distance_edges_m=(0, 100, 200), time_edges_days=(0, 7), seed=3)
    # pairs: (0,1) 100 m, 7 d -> [100,200) x [7,∞)  (both exactly on an edge: upper band)
    #        (0,2) 250 m, 7.5 d -> [200,∞) x [7,∞)
    #        (1,2) 150 m, 0.5 d -> [100,200) x [0,7)
    #        (0,3),(1,3),(2,3) far, 30/23/22.5 d -> [200,∞) x [7,∞)
    assert r.observed.tolist() == [[0, 0], [1, 1], [0, 4]]
    assert r.observed.sum() == r.n_pairs == 6
    assert r.table("observed", language="en").index[1] == "100–200 m (100 included, 200 excluded)"


def test_p_floor_seed_and_expected() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 2000, 300), rng.uniform(0, 2000, 300)
    times = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, 365, 300), unit="D")
    a = knox_test(x, y, times, permutations=19, seed=42)
    b = knox_test(x, y, times, permutations=19, seed=42)
    np.testing.assert_array_equal(a.expected, b.expected)
    assert a.p_floor == pytest.approx(0.05)
    assert (a.p >= a.p_floor).all() and (a.p <= 1).all()
    assert a.expected.sum() == pytest.approx(a.n_pairs)
    assert a.seed == 42 and a.permutations == 19


def test_refusals() -> None:
    t = pd.to_datetime(["2026-01-01"] * 3)
    with pytest.raises(ValidationError, match="distance_edges_m"):
        knox_test([0, 1, 2], [0, 0, 0], t, distance_edges_m=(10, 100))
    with pytest.raises(ValidationError, match="at least 3"):
        knox_test([0, 1], [0, 0], t[:2])
    with pytest.raises(ValidationError, match="no time"):
        knox_test([0, 1, 2], [0, 0, 0], ["2026-01-01", None, "2026-01-02"])


@pytest.fixture(scope="module")
def burglaries():
    from gis.crs import local_metric_crs, transform_points
    from layers.demo import build_demo_county

    county = build_demo_county(small=True)
    inc = county.incidents
    lon, lat = inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
    x, y = transform_points(lon, lat, src=4490, dst=local_metric_crs(lon, lat))
    plant = np.isin(
        inc["source_id"], county.truth.by_name("urban_village_burglary")["incident_ids"]
    )
    burglary = inc["category"].to_numpy() == "010301"
    return inc, x, y, plant, burglary


def test_demo_near_repeat_plant_is_significant(burglaries) -> None:
    # Planted (layers/demo/_patterns.py): follow-up burglaries within 100 m and 1-6 days.
    inc, x, y, plant, _ = burglaries
    r = knox_test(x[plant], y[plant], inc["occurred_from"][plant], permutations=99, seed=2026)
    assert r.significant(alpha=0.05)[0, 0]  # 0–100 m × 0–7 days
    assert r.p[0, 0] == pytest.approx(r.p_floor)
    assert r.ratio[0, 0] > 3


def test_demo_background_burglaries_show_no_near_repeat(burglaries) -> None:
    inc, x, y, plant, burglary = burglaries
    rest = burglary & ~plant
    r = knox_test(x[rest], y[rest], inc["occurred_from"][rest], permutations=99, seed=2026)
    assert not r.significant(alpha=0.05)[:2, :2].any()
