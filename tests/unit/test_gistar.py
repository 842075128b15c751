"""Getis-Ord Gi*: the Columbus figures, esda to 1e-9, BH FDR, Gi_Bin, Snow and the demo county."""

from __future__ import annotations

import warnings
from pathlib import Path

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import false_discovery_control

from analysis._significance import benjamini_hochberg, fdr_threshold, two_sided_p
from analysis.aggregate import count_in_fishnet
from analysis.gistar import gi_bins, gi_star, gi_star_z
from analysis.weights import contiguity_weights, distance_band_weights, knn_weights
from gis.crs import transform_points
from gis.errors import ValidationError
from layers.demo import build_demo_county

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"

# tests/data/SOURCES.md, "Published reference figures": Columbus CRIME, queen
# contiguity, binary weights with the focal unit, the first ten z-scores in file order.
COLUMBUS_Z10 = [
    -1.43278, -1.340008, -0.771999, -0.131733, 1.285363,
    0.068648, 0.661365, 1.013024, 0.219143, -1.137528,
]  # fmt: skip


@pytest.fixture(scope="module")
def columbus() -> gpd.GeoDataFrame:
    return gpd.read_file(REFERENCE / "columbus.geojson")


def test_columbus_reference_figures(columbus) -> None:
    w = contiguity_weights(columbus, rule="queen", include_self=True)
    result = gi_star(columbus["CRIME"].to_numpy(), w.sparse, fdr=False)
    np.testing.assert_allclose(result.z[:10], COLUMBUS_Z10, atol=5e-6)
    assert int((result.z > 1.96).sum()) == 11
    assert int((result.z < -1.96).sum()) == 7


def _esda_z(values: np.ndarray, w: libpysal.weights.W) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(values, w, star=True, transform="B", permutations=0).Zs


@pytest.mark.parametrize("kind", ["band", "knn", "queen"])
def test_equals_esda_to_1e9(columbus, kind) -> None:
    rng = np.random.default_rng(42)
    if kind == "queen":
        values = rng.gamma(2.0, 3.0, size=len(columbus))
        ours = contiguity_weights(columbus, rule="queen", include_self=True)
        reference = libpysal.weights.Queen.from_dataframe(columbus, use_index=False)
    else:
        xy = rng.uniform(0, 5_000, size=(3_000, 2))
        values = rng.poisson(2.0, size=3_000).astype(float)
        if kind == "band":
            ours = distance_band_weights(xy, threshold_m=200, include_self=True)
            reference = libpysal.weights.DistanceBand(xy, 200, silence_warnings=True)
        else:
            ours = knn_weights(xy, k=8, include_self=True)
            reference = libpysal.weights.KNN(xy, k=8)
    z = gi_star_z(values, ours.sparse)
    np.testing.assert_allclose(z, _esda_z(values, reference), rtol=0, atol=1e-9)


def test_core_accepts_csr_matrix_and_array() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1_000, size=(300, 2))
    values = rng.poisson(1.5, size=300).astype(float)
    w = distance_band_weights(xy, threshold_m=120, include_self=True).sparse
    np.testing.assert_allclose(gi_star_z(values, sp.csr_matrix(w)), gi_star_z(values, w))


def test_benjamini_hochberg_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.uniform(0, 1, 900), rng.uniform(0, 0.002, 100)])
    adjusted = false_discovery_control(p, method="bh")
    for alpha in (0.01, 0.05, 0.10):
        assert (benjamini_hochberg(p, alpha=alpha) == (adjusted <= alpha)).all()
        cut = fdr_threshold(p, alpha=alpha)
        assert cut == p[adjusted <= alpha].max()
    assert fdr_threshold(np.array([0.5, 0.9]), alpha=0.05) == 0.0
    assert not benjamini_hochberg(np.array([np.nan, 0.5]), alpha=0.05).any()


def test_gi_bins_follow_arcgis_levels() -> None:
    z = np.array([3.0, 2.2, 1.7, 1.5, -2.7, -2.0, -1.7, np.nan])
    p = two_sided_p(z)
    assert gi_bins(z, p, fdr=False).tolist() == [3, 2, 1, 0, -3, -2, -1, 0]
    # with FDR each level's critical p falls to its BH cut-off: fewer, never more, bins
    with_fdr = gi_bins(z, p, fdr=True)
    assert (np.abs(with_fdr) <= np.abs(gi_bins(z, p, fdr=False))).all()


def test_refusals() -> None:
    w = sp.csr_array(sp.eye(4))
    with pytest.raises(ValidationError, match="same value"):
        gi_star(np.ones(4), w)
    with pytest.raises(ValidationError, match="include_self"):
        gi_star(np.arange(4.0), sp.csr_array((4, 4)))
    with pytest.raises(ValidationError, match="non-finite"):
        gi_star(np.array([1.0, np.nan, 2.0, 3.0]), w)
    with pytest.raises(ValidationError, match="alpha"):
        gi_star(np.arange(4.0), w, alpha=0.2)


def test_snow_top_hot_spot_at_the_broad_street_pump() -> None:
    # John Snow's 1854 deaths: the top Gi* cell lies within 100 m of the Broad St pump
    deaths = gpd.read_file(REFERENCE / "deaths.geojson")
    pumps = gpd.read_file(REFERENCE / "pumps.geojson")
    agg = count_in_fishnet(deaths, cell_size_m=25)
    centres = agg.units.geometry.centroid
    xy = np.column_stack([centres.x, centres.y])
    w = distance_band_weights(xy, threshold_m=75, include_self=True)
    result = gi_star(agg.counts, w.sparse)
    top = int(np.nanargmax(result.z))
    assert result.significant[top]
    broad = pumps[pumps["name"].str.startswith("Broad St")].geometry.iloc[0]
    bx, by = transform_points([broad.x], [broad.y], src=4326, dst=agg.crs)
    assert np.hypot(xy[top, 0] - bx[0], xy[top, 1] - by[0]) < 100


@pytest.fixture(scope="module")
def demo():
    return build_demo_county(small=True)


def test_demo_planted_hotspots_found_at_fdr_5(demo) -> None:
    # Each planted pattern (truth from layers.demo) is looked for in its own categories on a
    # 150 m fishnet over the county, Gi* with a 225 m band, FDR 5%. Found: a significant hot
    # cell within the pattern's radius plus one cell of its centre.
    incidents, area = demo.incidents, demo.admin_units.iloc[[0]]
    found = []
    for pattern in demo.truth.patterns:
        chosen = incidents[
            incidents["category"].astype(str).str.startswith(tuple(pattern["categories"]))
        ]
        agg = count_in_fishnet(chosen, cell_size_m=150, area=area)
        centres = agg.units.geometry.centroid
        xy = np.column_stack([centres.x, centres.y])
        w = distance_band_weights(xy, threshold_m=225, include_self=True)
        result = gi_star(agg.counts, w.sparse, fdr=True, alpha=0.05)
        cx, cy = transform_points(
            [pattern["centre_lon"]], [pattern["centre_lat"]], src=4490, dst=agg.crs
        )
        near = np.hypot(xy[:, 0] - cx[0], xy[:, 1] - cy[0]) <= pattern["radius_m"] + 150
        found.append(bool((result.significant & (result.z > 0) & near).any()))
    assert len(found) >= 3
    assert sum(found) / len(found) >= 0.9, list(
        zip([p["name"] for p in demo.truth.patterns], found, strict=False)
    )
