"""Sparse spatial weights against PySAL's libpysal (a test-only reference) and by construction."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import libpysal
import numpy as np
import pytest
import shapely

from analysis.weights import (
    contiguity_weights,
    distance_band_weights,
    knn_weights,
    metric_centroids,
)
from gis.errors import ValidationError

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


@pytest.fixture(scope="module")
def columbus() -> gpd.GeoDataFrame:
    return gpd.read_file(REFERENCE / "columbus.geojson")


def _same_structure(ours, theirs) -> None:
    difference = abs(ours.sparse - theirs.sparse.tocsr())
    assert difference.sum() == 0


@pytest.mark.parametrize(("rule", "cls"), [("queen", "Queen"), ("rook", "Rook")])
def test_contiguity_equals_libpysal_on_columbus(columbus, rule, cls) -> None:
    reference = getattr(libpysal.weights, cls).from_dataframe(columbus, use_index=False)
    ours = contiguity_weights(columbus, rule=rule)
    _same_structure(ours, reference)
    assert ours.islands.size == 0
    assert ours.mean_neighbours == pytest.approx(reference.mean_neighbors)


def test_rook_needs_a_shared_edge_queen_a_corner() -> None:
    # a 2 x 2 block of unit squares: diagonal squares touch at one point only
    squares = [shapely.box(x, y, x + 1, y + 1) for y in (0, 1) for x in (0, 1)]
    queen = contiguity_weights(squares, rule="queen").sparse.toarray()
    rook = contiguity_weights(squares, rule="rook").sparse.toarray()
    assert queen.sum(axis=1).tolist() == [3, 3, 3, 3]
    assert rook.sum(axis=1).tolist() == [2, 2, 2, 2]
    assert rook[0, 3] == 0 and queen[0, 3] == 1


def test_tolerance_joins_digitising_gaps_and_islands_are_reported() -> None:
    squares = [shapely.box(0, 0, 1, 1), shapely.box(1.01, 0, 2, 1), shapely.box(5, 5, 6, 6)]
    strict = contiguity_weights(squares)
    assert strict.islands.tolist() == [0, 1, 2]
    loose = contiguity_weights(squares, tolerance=0.05)
    assert loose.islands.tolist() == [2]
    assert loose.sparse[0, 1] == 1


def test_distance_band_and_knn_equal_libpysal() -> None:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 2_000, size=(400, 2))
    band = distance_band_weights(xy, threshold_m=150)
    _same_structure(band, libpysal.weights.DistanceBand(xy, 150, silence_warnings=True))
    knn = knn_weights(xy, k=5)
    _same_structure(knn, libpysal.weights.KNN(xy, k=5))
    assert (knn.cardinalities == 5).all()


def test_transforms_and_focal_unit() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 1_000, size=(200, 2))
    row = distance_band_weights(xy, threshold_m=120, transform="R")
    sums = np.asarray(row.sparse.sum(axis=1)).ravel()
    connected = np.setdiff1d(np.arange(200), row.islands)
    np.testing.assert_allclose(sums[connected], 1.0)
    assert (sums[row.islands] == 0).all()
    star = row.with_transform("B", include_self=True)
    assert (star.sparse.diagonal() == 1).all()
    assert (star.cardinalities == row.cardinalities).all()
    back = star.with_transform("R", include_self=False)
    assert abs(back.sparse - row.sparse).sum() == pytest.approx(0)


def test_knn_never_counts_itself_among_coincident_points() -> None:
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [10.0, 0.0], [20.0, 0.0]])
    w = knn_weights(xy, k=2)
    assert (w.sparse.diagonal() == 0).all()
    assert (w.cardinalities == 2).all()


def test_metric_centroids_are_metres_in_the_local_crs(columbus) -> None:
    xy, crs = metric_centroids(columbus)
    assert crs.is_projected and crs.axis_info[0].unit_name == "metre"
    assert xy.shape == (49, 2)


def test_refusals_name_the_problem() -> None:
    xy = np.zeros((3, 2))
    with pytest.raises(ValidationError, match="k=3"):
        knn_weights(xy, k=3)
    with pytest.raises(ValidationError, match="metres"):
        distance_band_weights(xy, threshold_m=0)
    with pytest.raises(ValidationError, match="'Q'"):
        distance_band_weights(xy, threshold_m=1, transform="Q")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="non-finite"):
        distance_band_weights(np.array([[0.0, np.nan]]), threshold_m=1)
