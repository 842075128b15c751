"""CRS parsing, local metric CRS, inside-China, GCJ-02/BD-09 and coordinate-mistake detection."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gis.crs import (
    DEFAULT_STORAGE_SRID,
    STORAGE_SRIDS,
    OffsetDatum,
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_coordinate_problems,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    inside_china,
    local_metric_crs,
    local_metric_crs_of,
    parse_crs,
    to_wgs84,
    transform_points,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gis.errors import CRSError

_GEOD = pyproj.Geod(ellps="WGS84")

# Real places, WGS 84 lon/lat degrees.
INSIDE = {
    "Beijing": (116.3975, 39.9087),
    "Shanghai": (121.4737, 31.2304),
    "Urumqi": (87.6168, 43.8256),
    "Harbin": (126.6425, 45.7567),
    "Sanya": (109.5120, 18.2528),
    "Lhasa": (91.1409, 29.6456),
    "Shenzhen": (114.0579, 22.5431),
    "Zhoushan": (122.2072, 29.9853),
    "Kashgar": (75.9898, 39.4704),
}
OUTSIDE = {
    "Seoul": (126.9780, 37.5665),
    "Tokyo": (139.6917, 35.6895),
    "Hanoi": (105.8342, 21.0278),
    "Ulaanbaatar": (106.9057, 47.8864),
    "Taipei": (121.5654, 25.0330),
    "Chicago": (-87.6298, 41.8781),
    "Hong Kong": (114.1694, 22.3193),
    "Macau": (113.5439, 22.1987),
    "Pyongyang": (125.7625, 39.0392),
}
BEIJING_BOUNDS = (115.4, 39.4, 117.5, 41.1)
SF_BOUNDS = (-122.52, 37.70, -122.35, 37.83)


def _distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _points_in_china(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    count = 0
    while count < n:
        lon = rng.uniform(73.0, 135.5, 4 * n)
        lat = rng.uniform(18.0, 54.0, 4 * n)
        keep = inside_china(lon, lat)
        lons.append(lon[keep])
        lats.append(lat[keep])
        count += int(keep.sum())
    return np.concatenate(lons)[:n], np.concatenate(lats)[:n]


# ----------------------------------------------------------------------------------------------
# parsing


def test_storage_srids() -> None:
    assert STORAGE_SRIDS == (4490, 4326)
    assert DEFAULT_STORAGE_SRID == 4490


@pytest.mark.parametrize(
    ("text", "epsg"),
    [("EPSG:4326", 4326), ("4490", 4490), (4549, 4549), (" epsg:2227 ", 2227)],
)
def test_parse_epsg(text, epsg: int) -> None:
    crs = parse_crs(text)
    assert isinstance(crs, pyproj.CRS)
    assert crs.to_epsg() == epsg


def test_parse_esri_code_and_prj_text() -> None:
    mesa = parse_crs("ESRI:102649")
    assert isinstance(mesa, pyproj.CRS)
    assert mesa.is_projected
    assert "Arizona" in mesa.name
    # A shapefile .prj is ESRI WKT1; parsing it back gives the same projection.
    prj = mesa.to_wkt(pyproj.enums.WktVersion.WKT1_ESRI)
    parsed = parse_crs(prj)
    assert isinstance(parsed, pyproj.CRS)
    assert parsed.is_projected
    x, y = transform_points(-111.83, 33.42, src=4326, dst=parsed)
    x2, y2 = transform_points(-111.83, 33.42, src=4326, dst=mesa)
    assert abs(float(x) - float(x2)) < 0.01 and abs(float(y) - float(y2)) < 0.01
    wkt2 = parse_crs(pyproj.CRS.from_epsg(4490).to_wkt())
    assert isinstance(wkt2, pyproj.CRS) and wkt2.to_epsg() == 4490


@pytest.mark.parametrize(
    ("text", "datum"),
    [
        ("gcj02", OffsetDatum.GCJ02),
        ("GCJ-02", OffsetDatum.GCJ02),
        ("gcj_02", OffsetDatum.GCJ02),
        ("bd09", OffsetDatum.BD09),
        ("BD-09", OffsetDatum.BD09),
        ("bd09ll", OffsetDatum.BD09),
    ],
)
def test_parse_offset_names(text: str, datum: OffsetDatum) -> None:
    assert parse_crs(text) is datum


@pytest.mark.parametrize("text", ["EPSG:999999", "not a crs", "WGS85"])
def test_parse_unknown_is_a_bilingual_crs_error(text: str) -> None:
    with pytest.raises(CRSError) as info:
        parse_crs(text)
    assert isinstance(info.value, ValueError)
    assert "无法识别坐标系" in info.value.zh
    assert "EPSG" in info.value.en and "gcj02" in info.value.en
    assert text in str(info.value)


def test_parse_empty() -> None:
    with pytest.raises(CRSError) as info:
        parse_crs("  ")
    assert "--crs" in info.value.en


# ----------------------------------------------------------------------------------------------
# local metric CRS


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (121.47, 31.23, 4549),  # Shanghai: CM 120E
        (121.60, 31.20, 4550),  # Pudong east of 121.5E: CM 123E
        (116.40, 39.91, 4548),  # Beijing: CM 117E
        (87.62, 43.83, 4538),  # Urumqi: CM 87E
        (75.99, 39.47, 4534),  # Kashgar: CM 75E
        (-87.63, 41.88, 32616),  # Chicago
        (-122.42, 37.77, 32610),  # San Francisco
        (151.21, -33.87, 32756),  # Sydney
        (126.98, 37.57, 32652),  # Seoul: outside China, so UTM
    ],
)
def test_local_metric_crs(lon: float, lat: float, epsg: int) -> None:
    crs = local_metric_crs(lon, lat)
    assert crs.to_epsg() == epsg
    assert crs.is_projected
    assert crs.axis_info[0].unit_name == "metre"
    assert crs.to_epsg() != 3857


def test_local_metric_crs_gauss_kruger_has_no_zone_prefix() -> None:
    crs = local_metric_crs(121.47, 31.23)
    assert "CGCS2000" in crs.name
    x, _ = transform_points(120.0, 31.23, src=4490, dst=crs)
    assert abs(float(x) - 500_000.0) < 1e-3  # central meridian at the false easting


def test_local_metric_crs_uses_the_median_and_ignores_nan() -> None:
    lon = np.array([121.47, 121.48, 121.46, np.nan, -87.6])
    lat = np.array([31.23, 31.22, 31.24, 31.0, 41.9])
    assert local_metric_crs(lon, lat).to_epsg() == 4549
    with pytest.raises(CRSError):
        local_metric_crs([np.nan], [np.nan])


def test_local_metric_crs_of_geoseries_and_bounds() -> None:
    lon, lat = np.array([-87.70, -87.62, -87.65]), np.array([41.85, 41.90, 41.95])
    x, y = transform_points(lon, lat, src=4326, dst=3857)
    series = gpd.GeoSeries(shapely.points(x, y), crs=3857)
    assert local_metric_crs_of(series).to_epsg() == 32616
    assert local_metric_crs_of(gpd.GeoDataFrame(geometry=series)).to_epsg() == 32616
    assert local_metric_crs_of(BEIJING_BOUNDS).to_epsg() == 4548


# ----------------------------------------------------------------------------------------------
# inside China


def test_inside_china_cities() -> None:
    lon = np.array([p[0] for p in INSIDE.values()] + [p[0] for p in OUTSIDE.values()])
    lat = np.array([p[1] for p in INSIDE.values()] + [p[1] for p in OUTSIDE.values()])
    result = inside_china(lon, lat)
    expected = np.r_[np.ones(len(INSIDE), bool), np.zeros(len(OUTSIDE), bool)]
    names = list(INSIDE) + list(OUTSIDE)
    wrong = [name for name, r, e in zip(names, result, expected, strict=True) if r != e]
    assert wrong == []


def test_inside_china_is_not_a_rectangle() -> None:
    # All of these lie inside China's bounding rectangle (73-135E, 18-54N).
    lon = np.array([126.98, 106.91, 121.57, 105.83, 80.0, 130.0])
    lat = np.array([37.57, 47.89, 25.03, 21.03, 24.0, 50.0])  # Seoul .. India, Russia
    assert not inside_china(lon, lat).any()
    assert not inside_china(np.nan, 30.0)


def test_inside_china_fast_path_agrees_with_the_outline() -> None:
    """Points in the inner boxes skip the polygon test: the answer is the outline's, on random
    points over the whole region, on the boxes' edges and just outside them."""
    from gis._china_outline import china_polygon, inner_boxes

    boxes = inner_boxes()
    assert len(boxes) >= 10  # every box fits the outline
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(70, 140, 200_000), rng.uniform(10, 56, 200_000)
    edges = np.array([(x, y) for b in boxes for x in (b[0], b[2]) for y in (b[1], b[3])])
    for eps in (0.0, 1e-9, -1e-9, 0.02):
        lon = np.r_[lon, edges[:, 0] + eps]
        lat = np.r_[lat, edges[:, 1] - eps]
    lon[:3] = np.nan
    expected = shapely.contains_xy(china_polygon(), lon, lat)
    assert (inside_china(lon, lat) == expected).all()


# ----------------------------------------------------------------------------------------------
# GCJ-02 and BD-09


# Published test vectors of eviltransform (wgsLat, wgsLng -> gcjLat, gcjLng), reordered lon/lat.
EVILTRANSFORM = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]


def test_gcj02_matches_published_vectors() -> None:
    wgs = np.array([w for w, _ in EVILTRANSFORM])
    gcj = np.array([g for _, g in EVILTRANSFORM])
    lon, lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    np.testing.assert_allclose(lon, gcj[:, 0], atol=1e-9)
    np.testing.assert_allclose(lat, gcj[:, 1], atol=1e-9)
    back_lon, back_lat = gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])
    assert _distance_m(back_lon, back_lat, wgs[:, 0], wgs[:, 1]).max() < 0.01


def test_coordtransform_published_example() -> None:
    # wandergis/coordtransform README, input (116.404, 39.915).
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert float(lon) == pytest.approx(116.41024449916938, abs=1e-9)
    assert float(lat) == pytest.approx(39.91640428150164, abs=1e-9)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert float(lon) == pytest.approx(116.41036949371029, abs=1e-9)
    assert float(lat) == pytest.approx(39.92133699351021, abs=1e-9)
    # coordtransform's bd09->gcj02 is the one-step approximation (116.39762729, 39.90865674);
    # the iterative inverse differs from it by centimetres and maps back exactly.
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert float(_distance_m(lon, lat, 116.39762729119315, 39.90865673957631)) < 0.1
    again = gcj02_to_bd09(lon, lat)
    assert float(_distance_m(*again, 116.404, 39.915)) < 1e-3


def test_offset_magnitude_in_eastern_china() -> None:
    lon = np.array([116.3975, 121.4737, 120.1551, 118.7969, 113.2644])
    lat = np.array([39.9087, 31.2304, 30.2741, 32.0603, 23.1291])
    shift = _distance_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert ((shift > 100) & (shift < 700)).all()
    bd_shift = _distance_m(lon, lat, *wgs84_to_bd09(lon, lat))
    assert ((bd_shift > 500) & (bd_shift < 1500)).all()


def test_outside_china_passes_through() -> None:
    lon = np.array([p[0] for p in OUTSIDE.values()])
    lat = np.array([p[1] for p in OUTSIDE.values()])
    for forward in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84):
        out_lon, out_lat = forward(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_nan_passes_through() -> None:
    lon, lat = gcj02_to_wgs84(np.array([np.nan, 116.4]), np.array([np.nan, 39.9]))
    assert np.isnan(lon[0]) and np.isnan(lat[0])
    assert np.isfinite(lon[1])


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)],
    ids=["gcj02", "bd09"],
)
def test_round_trip_10000_points(forward, inverse) -> None:
    lon, lat = _points_in_china(10_000, seed=2024)
    back_lon, back_lat = inverse(*forward(lon, lat))
    error = _distance_m(lon, lat, back_lon, back_lat)
    p95, worst = float(np.percentile(error, 95)), float(error.max())
    print(f"round trip error: p95 {p95:.2e} m, max {worst:.2e} m")
    assert p95 < 0.1
    assert worst < 0.01


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(min_value=73.0, max_value=135.5, allow_nan=False),
    lat=st.floats(min_value=18.0, max_value=54.0, allow_nan=False),
)
def test_round_trip_property(lon: float, lat: float) -> None:
    assume(bool(inside_china(lon, lat)))
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        back_lon, back_lat = inverse(*forward(lon, lat))
        assert float(_distance_m(lon, lat, back_lon, back_lat)) < 0.1


def test_to_wgs84_and_transform_points_with_offsets() -> None:
    lon, lat = np.array([116.3975, 121.4737]), np.array([39.9087, 31.2304])
    g = wgs84_to_gcj02(lon, lat)
    b = wgs84_to_bd09(lon, lat)
    for datum, shifted in (("gcj02", g), (OffsetDatum.BD09, b)):
        back = to_wgs84(*shifted, datum)
        assert _distance_m(*back, lon, lat).max() < 0.01
    x, y = transform_points(*b, src="bd09", dst=4549)
    x2, y2 = transform_points(lon, lat, src=4490, dst="EPSG:4549")
    assert np.hypot(x - x2, y - y2).max() < 0.01
    gl, gt = transform_points(lon, lat, src=4326, dst="GCJ-02")
    np.testing.assert_allclose(gl, g[0], atol=1e-12)
    np.testing.assert_allclose(gt, g[1], atol=1e-12)
    with pytest.raises(CRSError):
        to_wgs84(lon, lat, "EPSG:4326")
    with pytest.raises(CRSError):
        transform_points([1.0, 2.0], [1.0], src=4326, dst=3857)


def test_transform_points_projected_round_trip() -> None:
    lon, lat = np.array([-122.4193, -122.3937]), np.array([37.7793, 37.7955])
    x, y = transform_points(lon, lat, src=4326, dst="EPSG:2227")
    # SF City Hall in California zone 3, US survey feet.
    assert 5_900_000 < x[0] < 6_100_000 and 2_050_000 < y[0] < 2_150_000
    back = transform_points(x, y, src=2227, dst=4326)
    assert _distance_m(*back, lon, lat).max() < 1e-3


# ----------------------------------------------------------------------------------------------
# detecting coordinate mistakes

# Real places in Beijing, WGS 84: Tiananmen, Beijing West station, Summer Palace, Bird's Nest,
# Capital Airport T3, Beijing Zoo, Temple of Heaven, Guomao, Tsinghua University, Yuyuantan.
BEIJING_PLACES = np.array(
    [
        (116.3975, 39.9087),
        (116.3219, 39.8946),
        (116.2755, 39.9999),
        (116.3966, 39.9929),
        (116.6142, 40.0537),
        (116.3383, 39.9388),
        (116.4107, 39.8822),
        (116.4605, 39.9087),
        (116.3264, 40.0034),
        (116.3142, 39.9159),
    ]
)


def test_clean_data_has_no_findings() -> None:
    lon, lat = BEIJING_PLACES[:, 0], BEIJING_PLACES[:, 1]
    findings = detect_coordinate_problems(
        lon, lat, area_bounds=BEIJING_BOUNDS, reference=(lon + 1e-5, lat)
    )
    assert findings == []
    assert detect_coordinate_problems(lon, lat) == []


def test_swapped_axes() -> None:
    lon, lat = BEIJING_PLACES[:, 0].copy(), BEIJING_PLACES[:, 1].copy()
    lon[[2, 5]], lat[[2, 5]] = lat[[2, 5]], lon[[2, 5]].copy()
    findings = detect_coordinate_problems(lon, lat, area_bounds=BEIJING_BOUNDS)
    assert [f.kind for f in findings] == ["swapped_axes"]
    np.testing.assert_array_equal(findings[0].rows, [2, 5])
    assert "--swap-axes" in findings[0].message
    assert "经纬度疑似颠倒" in findings[0].message
    declared = detect_coordinate_problems(lon, lat, declared_crs="EPSG:4490")
    assert [f.kind for f in declared] == ["swapped_axes"]
    np.testing.assert_array_equal(declared[0].rows, [2, 5])


def test_swapped_axes_detected_by_area_when_values_are_valid_degrees() -> None:
    # Urumqi swapped gives (43.8, 87.6): valid degrees, but in the Arctic, not in China.
    findings = detect_coordinate_problems(
        np.array([87.6168, 43.8256]), np.array([43.8256, 87.6168])
    )
    assert [f.kind for f in findings] == ["swapped_axes"]
    np.testing.assert_array_equal(findings[0].rows, [1])


def test_projected_us_feet_without_crs() -> None:
    # Real San Francisco places (City Hall, Ferry Building, Golden Gate Park, Mission Dolores)
    # in EPSG:2227 US survey feet, as in the SFPD shapefiles.
    lon = np.array([-122.4193, -122.3937, -122.4862, -122.4270])
    lat = np.array([37.7793, 37.7955, 37.7694, 37.7599])
    x, y = transform_points(lon, lat, src=4326, dst=2227)
    assert (x > 5_900_000).all() and (y > 2_000_000).all()
    findings = detect_coordinate_problems(x, y, area_bounds=SF_BOUNDS)
    assert [f.kind for f in findings] == ["projected_without_crs"]
    finding = findings[0]
    np.testing.assert_array_equal(finding.rows, [0, 1, 2, 3])
    assert "EPSG:2227" in finding.details["candidates"]
    assert "--crs EPSG:2227" in finding.message
    assert "6,0" in finding.details["x_magnitude"]
    # Declared, the same numbers are fine.
    assert detect_coordinate_problems(x, y, declared_crs="EPSG:2227", area_bounds=SF_BOUNDS) == []


def test_projected_gauss_kruger_with_zone_prefix() -> None:
    lon, lat = BEIJING_PLACES[:, 0], BEIJING_PLACES[:, 1]
    x, y = transform_points(lon, lat, src=4490, dst=4527)  # CGCS2000 3-degree zone 39
    assert (x > 39_000_000).all()
    findings = detect_coordinate_problems(x, y)
    assert [f.kind for f in findings] == ["projected_without_crs"]
    assert findings[0].details["candidates"][0] == "EPSG:4527"
    assert "40" not in findings[0].details["x_magnitude"][:2]
    assert "--crs EPSG:4527" in findings[0].message


def test_outside_area() -> None:
    lon = np.r_[BEIJING_PLACES[:, 0], 117.2, 121.47]  # + Tianjin centre, Shanghai
    lat = np.r_[BEIJING_PLACES[:, 1], 39.13, 31.23]
    findings = detect_coordinate_problems(lon, lat, area_bounds=BEIJING_BOUNDS)
    assert [f.kind for f in findings] == ["outside_area"]
    np.testing.assert_array_equal(findings[0].rows, [11])  # Tianjin is within 50 km
    assert findings[0].details["max_km"] > 900
    near = detect_coordinate_problems(lon, lat, area_bounds=BEIJING_BOUNDS, outside_km=10)
    np.testing.assert_array_equal(near[0].rows, [10, 11])


@pytest.mark.parametrize(
    ("forward", "kind", "hint"),
    [(wgs84_to_gcj02, "gcj02_offset", "--crs gcj02"), (wgs84_to_bd09, "bd09_offset", "--crs bd09")],
)
def test_offset_against_reference(forward, kind: str, hint: str) -> None:
    rng = np.random.default_rng(11)
    ref_lon, ref_lat = BEIJING_PLACES[:, 0], BEIJING_PLACES[:, 1]
    # The same places as a phone app would export them: shifted, with ~5 m of noise, repeated.
    idx = rng.integers(0, len(ref_lon), 60)
    lon = ref_lon[idx] + rng.normal(0, 5e-5, idx.size)
    lat = ref_lat[idx] + rng.normal(0, 5e-5, idx.size)
    findings = detect_coordinate_problems(
        *forward(lon, lat), area_bounds=BEIJING_BOUNDS, reference=(ref_lon, ref_lat)
    )
    assert [f.kind for f in findings] == [kind]
    finding = findings[0]
    assert finding.rows.size == 0
    assert finding.details["raw_m"] > 100
    assert finding.details["fixed_m"] < 20
    assert hint in finding.message
    # Declared correctly, nothing is left to report.
    declared = detect_coordinate_problems(
        *forward(lon, lat), declared_crs=kind.removesuffix("_offset"), reference=(ref_lon, ref_lat)
    )
    assert declared == []


def test_no_offset_reported_for_unrelated_points() -> None:
    rng = np.random.default_rng(5)
    lon = rng.uniform(116.2, 116.6, 200)
    lat = rng.uniform(39.8, 40.05, 200)
    findings = detect_coordinate_problems(
        lon, lat, reference=(BEIJING_PLACES[:, 0], BEIJING_PLACES[:, 1])
    )
    assert findings == []


def test_finding_messages_are_bilingual_and_rows_positional() -> None:
    lon = np.array([116.3975, np.nan, 39.9087])
    lat = np.array([39.9087, 39.9, 116.3975])
    (finding,) = detect_coordinate_problems(lon, lat)
    assert finding.kind == "swapped_axes"
    assert finding.key == "crs.swapped_axes"
    np.testing.assert_array_equal(finding.rows, [2])
    zh, en = finding.message.split(" / ", 1)
    assert "颠倒" in zh and "swapped" in en
    with pytest.raises(AttributeError):
        finding.kind = "other"  # type: ignore[misc]
