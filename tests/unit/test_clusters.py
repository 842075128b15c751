"""DBSCAN and HDBSCAN clusters: exact agreement with scikit-learn, and the demo county's plant.

The reference is scikit-learn's ``DBSCAN`` (the peer implementation); the planted burglary
cluster in the 城中村 comes from layers/demo/_patterns.py and its truth JSON.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sklearn.cluster import DBSCAN

from analysis.clusters import (
    cluster_polygons,
    dbscan_clusters,
    dbscan_labels,
    hdbscan_clusters,
    hdbscan_labels,
    jit_ready,
    time_profiles,
    warm_up,
)
from gis.errors import CRSError, ValidationError
from layers.demo import build_demo_county


def _sklearn(xy: np.ndarray, eps: float, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
    fit = DBSCAN(eps=eps, min_samples=min_samples).fit(xy)
    core = np.zeros(len(xy), dtype=bool)
    core[fit.core_sample_indices_] = True
    return fit.labels_, core


def _blobs(rng: np.random.Generator, n: int) -> np.ndarray:
    centres = rng.uniform(0, 2000, (5, 2))
    members = rng.normal(centres[rng.integers(0, 5, n)], rng.uniform(10, 80))
    return np.concatenate([members, rng.uniform(0, 2000, (n // 3, 2))])


@pytest.mark.parametrize("seed", range(12))
def test_dbscan_equals_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    xy = _blobs(rng, int(rng.integers(50, 3000)))
    if seed % 3 == 0:
        xy = np.round(xy / 10.0) * 10.0  # duplicates and pairs at exactly eps
    eps = 10.0 if seed % 3 == 0 else float(rng.uniform(5, 60))
    min_samples = int(rng.integers(1, 25))
    labels, core = dbscan_labels(xy, eps_m=eps, min_samples=min_samples)
    ref_labels, ref_core = _sklearn(xy, eps, min_samples)
    # identical, not only up to a permutation: clusters are numbered as scikit-learn numbers them
    assert np.array_equal(labels, ref_labels)
    assert np.array_equal(core, ref_core)


@pytest.mark.parametrize("border_first", [True, False])
def test_border_point_ties_follow_sklearn(border_first: bool) -> None:
    # two clusters of four core points each, and a border point 0.9 from one core point of
    # each (eps 1, min_samples 4: it has only 3 neighbours, itself included)
    left = [(0.3, 0.0), (0.3, 0.45), (0.3, -0.45), (-0.2, 0.0)]
    right = [(2.1, 0.0), (2.1, 0.45), (2.1, -0.45), (2.6, 0.0)]
    border = [(1.2, 0.0)]
    xy = np.array(border + right + left if border_first else left + border + right)
    labels, core = dbscan_labels(xy, eps_m=1.0, min_samples=4)
    ref_labels, ref_core = _sklearn(xy, 1.0, 4)
    assert np.array_equal(labels, ref_labels)
    assert np.array_equal(core, ref_core)
    b = 0 if border_first else 4
    assert not core[b]
    # the documented rule: the lowest label, i.e. the cluster holding the lowest core index
    assert labels[b] == 0


def test_dense_cluster_stays_small() -> None:
    # 200,000 points within a few metres: every pair is a neighbour (4·10¹⁰ pairs for a
    # neighbourhood list); the grid decides it from cell counts alone
    rng = np.random.default_rng(1)
    xy = np.concatenate([rng.normal(0, 1.0, (200_000, 2)), rng.uniform(-5000, 5000, (2000, 2))])
    labels, core = dbscan_labels(xy, eps_m=25.0, min_samples=20)
    assert (labels[:200_000] == 0).all()
    assert core[:200_000].all()


def test_progress_is_reported() -> None:
    seen: list[tuple[int, int]] = []
    rng = np.random.default_rng(2)
    dbscan_labels(
        _blobs(rng, 500), eps_m=20.0, min_samples=5, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[0][0] == 0
    assert seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValidationError, match="eps_m"):
        dbscan_labels(np.zeros((3, 2)), eps_m=0.0, min_samples=2)
    with pytest.raises(ValidationError, match="min_samples"):
        dbscan_labels(np.zeros((3, 2)), eps_m=1.0, min_samples=0)
    with pytest.raises(ValidationError, match=r"\(n, 2\)"):
        dbscan_labels(np.zeros((3, 3)), eps_m=1.0, min_samples=2)
    with pytest.raises(ValidationError, match="NaN"):
        dbscan_labels(np.array([[0.0, np.nan]]), eps_m=1.0, min_samples=2)
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)])
    with pytest.raises(CRSError):
        dbscan_clusters(frame, eps_m=10.0, min_samples=2)


def test_hdbscan_labels_and_warm_up() -> None:
    assert warm_up() >= 0.0
    assert jit_ready()
    rng = np.random.default_rng(4)
    xy = np.concatenate([rng.normal(0, 20, (300, 2)), rng.normal(1000, 20, (200, 2))])
    labels, prob = hdbscan_labels(xy, min_cluster_size=20)
    assert set(labels[:300]) == {0}  # numbered by the lowest index of their points
    assert set(labels[300:]) == {1}
    assert ((prob >= 0) & (prob <= 1)).all()


def test_polygons_and_profiles() -> None:
    xy = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [100, 100], [100, 100]], dtype=float)
    labels = np.array([0, 0, 0, 0, 1, 1])
    polys = cluster_polygons(xy, labels, hull="convex", buffer_m=1.0)
    assert polys[0].covers(shapely.box(0, 0, 10, 10))
    assert polys[1].area == pytest.approx(np.pi, rel=0.02)  # identical points: a 1 m disk
    times = pd.Series(
        pd.to_datetime(
            [
                "2026-01-05 08:10",
                "2026-01-05 08:50",
                "2026-03-07 23:00",
                "2026-01-06 08:00",
                None,
                "2026-12-31 01:00",
            ]
        )
    )
    hours, weekdays, months = time_profiles(times, labels, 2)
    assert hours[0, 8] == 3 and hours[0, 23] == 1 and hours[1, 1] == 1
    assert weekdays[0, 0] == 2 and weekdays[0, 1] == 1 and weekdays[0, 5] == 1
    assert months[0, 0] == 3 and months[0, 2] == 1 and months[1, 11] == 1
    assert hours.sum() == 5  # the missing time is not counted


@pytest.fixture(scope="module")
def small_county():
    return build_demo_county(small=True)


def _planted_burglaries(county) -> tuple[gpd.GeoDataFrame, np.ndarray, dict]:
    truth = county.truth.by_name("urban_village_burglary")
    burglaries = county.incidents[county.incidents["category"] == "010301"].reset_index(drop=True)
    planted = burglaries["source_id"].isin(truth["incident_ids"]).to_numpy()
    assert planted.sum() == len(truth["incident_ids"])
    return burglaries, planted, truth


def _best_cover(result, burglaries: gpd.GeoDataFrame, planted: np.ndarray) -> tuple[int, float]:
    points = burglaries.geometry.to_numpy()[planted]
    shares = [shapely.covers(poly, points).mean() for poly in result.clusters.geometry]
    best = int(np.argmax(shares))
    return best, float(shares[best])


def test_dbscan_finds_the_planted_burglary_cluster(small_county) -> None:
    burglaries, planted, truth = _planted_burglaries(small_county)
    result = dbscan_clusters(burglaries, eps_m=150.0, min_samples=10)
    assert result.clusters.crs == burglaries.crs
    best, share = _best_cover(result, burglaries, planted)
    # the plant is a branching process around 20 seeds, so DBSCAN splits it; the largest part
    # still holds most planted points
    assert share > 0.6
    row = result.clusters.iloc[best]
    assert row["top_category"] == "010301"
    assert row["peak_hour"] in truth["hours"]
    assert row["n_incidents"] == int((result.labels == row["cluster"]).sum())
    assert result.hour_counts[best].sum() == row["n_incidents"]


def test_hdbscan_finds_the_planted_burglary_cluster(small_county) -> None:
    burglaries, planted, _truth = _planted_burglaries(small_county)
    result = hdbscan_clusters(burglaries, min_cluster_size=15)
    _best, share = _best_cover(result, burglaries, planted)
    assert share >= 0.9
    assert result.unlocated == 0
