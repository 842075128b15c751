"""Global Moran's I: the Columbus figures and esda on random data."""

from __future__ import annotations

import warnings
from pathlib import Path

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pytest

from analysis.moran import moran
from analysis.weights import contiguity_weights, knn_weights
from gis.errors import ValidationError

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"


@pytest.fixture(scope="module")
def columbus() -> gpd.GeoDataFrame:
    return gpd.read_file(REFERENCE / "columbus.geojson")


def test_columbus_queen_and_rook(columbus) -> None:
    # tests/data/SOURCES.md: queen, row-standardised: I = 0.500189, E[I] = -0.020833,
    # normal-approximation z = 5.6303; rook: I = 0.523670 (GeoDa, PySAL).
    crime = columbus["CRIME"].to_numpy()
    queen = moran(crime, contiguity_weights(columbus, rule="queen", transform="R"))
    assert queen.i == pytest.approx(0.500189, abs=5e-7)
    assert queen.expected == pytest.approx(-0.020833, abs=5e-7)
    assert queen.z_norm == pytest.approx(5.6303, abs=5e-5)
    rook = moran(crime, contiguity_weights(columbus, rule="rook", transform="R"))
    assert rook.i == pytest.approx(0.523670, abs=5e-7)


def test_equals_esda_on_asymmetric_weights() -> None:
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 1_000, size=(500, 2))
    y = rng.normal(size=500) + xy[:, 0] / 500
    ours = moran(y, knn_weights(xy, k=6, transform="R"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.Moran(y, libpysal.weights.KNN(xy, k=6), permutations=0)
    assert ours.i == pytest.approx(ref.I, abs=1e-12)
    assert ours.variance_norm == pytest.approx(ref.VI_norm, abs=1e-12)
    assert ours.z_norm == pytest.approx(ref.z_norm, abs=1e-9)
    assert ours.z_rand == pytest.approx(ref.z_rand, abs=1e-9)


def test_permutations_are_seeded(columbus) -> None:
    w = contiguity_weights(columbus, transform="R")
    a = moran(columbus["CRIME"], w, permutations=199, seed=3)
    b = moran(columbus["CRIME"], w, permutations=199, seed=3)
    assert a.p_sim == b.p_sim == pytest.approx(1 / 200)
    with pytest.raises(ValidationError, match="seed"):
        moran(columbus["CRIME"], w, permutations=99)
