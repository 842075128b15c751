"""H3 helpers against the reference scalar ``h3`` package."""

from __future__ import annotations

import h3
import numpy as np
import pytest
import shapely
from h3.api import basic_int

from gis.errors import ValidationError
from gis.h3cells import (
    H3_NULL,
    H3_RESOLUTIONS,
    cell_parent,
    cell_resolution,
    cell_to_str,
    cells_to_polygons,
    points_to_cell_columns,
    points_to_cells,
    str_to_cell,
)

# Real places (WGS 84 lon/lat): Tiananmen, Shanghai People's Square, Chicago Loop, SF City Hall,
# Sydney Opera House, Reykjavik.
PLACES = np.array(
    [
        (116.3975, 39.9087),
        (121.4737, 31.2304),
        (-87.6298, 41.8781),
        (-122.4193, 37.7793),
        (151.2153, -33.8568),
        (-21.9426, 64.1466),
    ]
)


@pytest.fixture(scope="module")
def random_points() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240601)
    lon = np.r_[rng.uniform(-180, 180, 3000), PLACES[:, 0]]
    lat = np.r_[np.degrees(np.arcsin(rng.uniform(-1, 1, 3000))), PLACES[:, 1]]
    return lon, lat


def test_resolutions_are_the_design_ones() -> None:
    assert H3_RESOLUTIONS == (7, 9, 10)


@pytest.mark.parametrize("resolution", [0, 7, 9, 10, 15])
def test_points_to_cells_matches_h3(random_points, resolution: int) -> None:
    lon, lat = random_points
    cells = points_to_cells(lon, lat, resolution)
    assert cells.dtype == np.int64
    expected = [
        h3.str_to_int(h3.latlng_to_cell(float(y), float(x), resolution))
        for x, y in zip(lon, lat, strict=True)
    ]
    np.testing.assert_array_equal(cells, np.array(expected, dtype=np.int64))
    assert (cells > 0).all()  # signed int64 holds every H3 index as a positive bigint


def test_points_to_cells_known_cell() -> None:
    # Tiananmen at resolution 10, as computed by the reference library.
    cell = points_to_cells(116.3975, 39.9087, 10)
    assert cell.shape == ()
    assert int(cell) == h3.str_to_int(h3.latlng_to_cell(39.9087, 116.3975, 10))
    assert cell_to_str(cell) == h3.latlng_to_cell(39.9087, 116.3975, 10)


def test_missing_and_out_of_range_coordinates_give_null() -> None:
    lon = np.array([116.4, np.nan, 121.5, np.inf, 10.0, 200.0])
    lat = np.array([39.9, 39.9, np.nan, 30.0, 95.0, 10.0])
    cells = points_to_cells(lon, lat, 9)
    assert cells[0] == h3.str_to_int(h3.latlng_to_cell(39.9, 116.4, 9))
    np.testing.assert_array_equal(cells[1:], H3_NULL)
    all_nan = points_to_cells(np.full(3, np.nan), np.full(3, np.nan), 9)
    np.testing.assert_array_equal(all_nan, 0)
    assert points_to_cells(np.array([]), np.array([]), 9).shape == (0,)


def test_points_to_cells_keeps_shape() -> None:
    lon = PLACES[:, 0].reshape(2, 3)
    lat = PLACES[:, 1].reshape(2, 3)
    cells = points_to_cells(lon, lat, 7)
    assert cells.shape == (2, 3)
    assert cells[1, 2] == h3.str_to_int(h3.latlng_to_cell(64.1466, -21.9426, 7))


@pytest.mark.parametrize("bad", [-1, 16, 9.5, True])
def test_invalid_resolution_is_refused(bad) -> None:
    with pytest.raises(ValidationError) as info:
        points_to_cells(PLACES[:, 0], PLACES[:, 1], bad)
    assert "H3" in info.value.en and "H3" in info.value.zh


def test_cell_parent_matches_h3_on_many_cells(random_points) -> None:
    lon, lat = random_points
    rng = np.random.default_rng(7)
    for child_res in (15, 12, 10, 9):
        cells = points_to_cells(lon, lat, child_res)
        for parent_res in sorted({0, 1, 5, 7, 9, child_res, int(rng.integers(0, child_res))}):
            if parent_res > child_res:
                continue
            parents = cell_parent(cells, parent_res)
            expected = np.array(
                [basic_int.cell_to_parent(int(c), parent_res) for c in cells], dtype=np.int64
            )
            np.testing.assert_array_equal(parents, expected)
            np.testing.assert_array_equal(cell_resolution(parents), parent_res)


def test_cell_parent_accepts_uint64_and_keeps_null() -> None:
    cells = points_to_cells(np.r_[PLACES[:, 0], np.nan], np.r_[PLACES[:, 1], 0.0], 10)
    parents = cell_parent(cells.view(np.uint64), 7)
    assert parents[-1] == H3_NULL
    assert cell_resolution(cells)[-1] == -1
    for cell, parent in zip(cells[:-1], parents[:-1], strict=True):
        assert parent == h3.str_to_int(h3.cell_to_parent(h3.int_to_str(int(cell)), 7))


def test_cell_parent_refuses_finer_resolution() -> None:
    cells = points_to_cells(PLACES[:, 0], PLACES[:, 1], 7)
    with pytest.raises(ValidationError) as info:
        cell_parent(cells, 9)
    assert info.value.params["count"] == len(PLACES)


def test_points_to_cell_columns(random_points) -> None:
    lon, lat = random_points
    lon = np.r_[lon, np.nan]
    lat = np.r_[lat, np.nan]
    columns = points_to_cell_columns(lon, lat)
    assert list(columns) == ["h3_r7", "h3_r9", "h3_r10"]
    np.testing.assert_array_equal(columns["h3_r10"], points_to_cells(lon, lat, 10))
    for res in (7, 9):
        # The coarser columns are the parents of the r10 cell, so counts roll up exactly.
        # H3 cells do not nest perfectly: a few points lie in a different r7 cell than the
        # parent of their r10 cell, which is why this is not points_to_cells(lon, lat, 7).
        expected = [basic_int.cell_to_parent(int(c), res) if c else 0 for c in columns["h3_r10"]]
        np.testing.assert_array_equal(columns[f"h3_r{res}"], np.array(expected, dtype=np.int64))
        direct = points_to_cells(lon, lat, res)
        assert 0.5 < np.mean(direct == columns[f"h3_r{res}"]) < 1.0
    assert columns["h3_r7"][-1] == H3_NULL
    only_eight = points_to_cell_columns(lon[:10], lat[:10], resolutions=(8,))
    assert list(only_eight) == ["h3_r8"]


def test_hex_strings_round_trip_and_match_h3(random_points) -> None:
    lon, lat = random_points
    cells = np.r_[points_to_cells(lon, lat, 9), points_to_cells(lon, lat, 0), H3_NULL]
    text = cell_to_str(cells)
    expected = [h3.int_to_str(int(c)) if c else "" for c in cells]
    assert text.tolist() == expected
    np.testing.assert_array_equal(str_to_cell(text), cells)
    upper = [s.upper() for s in expected[:5]]
    prefixed = ["0x" + s for s in expected[5:10]]
    np.testing.assert_array_equal(str_to_cell(upper + prefixed), cells[:10])
    assert int(str_to_cell(" 8a31aa428657fff ")) == h3.str_to_int("8a31aa428657fff")


def test_str_to_cell_refuses_bad_text() -> None:
    with pytest.raises(ValidationError) as info:
        str_to_cell(["8a31aa428657fff", "8a31aa42865zfff", "网格", "1" * 17])
    assert info.value.params["count"] == 3
    assert info.value.params["example"] == "8a31aa42865zfff"


def test_cells_to_polygons_match_h3_boundaries(random_points) -> None:
    lon, lat = random_points
    keep = np.abs(lon) < 170  # cells across the antimeridian are drawn split by convention
    cells = np.r_[points_to_cells(lon[keep], lat[keep], 9), H3_NULL]
    polygons = cells_to_polygons(cells)
    assert polygons[-1] is None
    assert shapely.contains_xy(polygons[:-1], lon[keep], lat[keep]).all()
    for cell, polygon in zip(cells[:50], polygons[:50], strict=True):
        boundary = h3.cell_to_boundary(h3.int_to_str(int(cell)))
        expected = np.array([(lng, la) for la, lng in boundary])
        got = np.asarray(polygon.exterior.coords)[:-1]
        assert got.shape == expected.shape
        # Same vertex set (order and start may differ between libraries).
        distances = np.abs(got[:, None, :] - expected[None, :, :]).sum(axis=2).min(axis=1)
        assert distances.max() < 1e-9
