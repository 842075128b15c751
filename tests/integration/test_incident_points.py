"""The street-zoom incident points route on a real database with the small demo county."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import flask
import geobuf
import pytest
from geobuf import geobuf_pb2

from dashboard import _data
from dashboard import incident_points as points
from gis.db import Database
from layers.demo import DEMO_SOURCE, build_demo_county
from layers.demo.loading import import_demo_county
from layers.incident_points import Box, incident_points


@pytest.fixture(scope="module")
def county(db: Database) -> Database:
    import_demo_county(build_demo_county(small=True), source=DEMO_SOURCE, db=db)
    return db


@pytest.fixture
def client(county: Database) -> Iterator[Any]:
    """The route on a bare Flask app (the Dash pages are covered by the browser tests)."""
    app = flask.Flask(__name__)
    app.add_url_rule(points.ROUTE, "incident_points", points.serve_points)
    _data.use_database(county)
    points.CACHE.clear()
    yield app.test_client()
    points.CACHE.clear()
    _data.use_database(None)


def _busiest(db: Database) -> tuple[float, float, str]:
    with db.connection() as conn:
        return conn.execute(
            "SELECT ST_X(ST_Centroid(ST_Collect(geom))), ST_Y(ST_Centroid(ST_Collect(geom))),"
            " min(village_code) FROM incident WHERE village_code = (SELECT village_code FROM"
            " incident GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)"
        ).fetchone()


def _bbox(lon: float, lat: float, half: float = 0.01) -> str:
    return f"{lon - half},{lat - half},{lon + half},{lat + half}"


def _decode(data: bytes) -> dict[str, Any]:
    """Decode geobuf as the browser does: ST_AsGeobuf leaves out the precision field, whose
    default (geobuf.proto 2 and the JS decoder) is 6 decimals; the Python decoder, on proto 3,
    takes 0."""
    message = geobuf_pb2.Data()
    message.ParseFromString(data)
    message.precision = message.precision or 6
    return geobuf.decode(message.SerializeToString())


def _features(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/x-protobuf"
    if not response.data:
        return []
    return _decode(response.data)["features"]


def test_points_are_those_of_the_snapped_box(client: Any, county: Database) -> None:
    lon, lat, _ = _busiest(county)
    response = client.get(f"{points.ROUTE}?bbox={_bbox(lon, lat)}")
    features = _features(response)
    assert features
    assert set(features[0]["properties"]) == {"id", "category", "occurred"}
    box = points.snap(Box.parse(_bbox(lon, lat)))
    with county.connection() as conn:
        expected = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM incident WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4490)",
                (box.west, box.south, box.east, box.north),
            )
        }
    assert {f["properties"]["id"] for f in features} == expected
    assert int(response.headers["X-Pingan-Count"]) == len(expected)
    assert response.headers["X-Pingan-Truncated"] == "0"
    for f in features:
        x, y = f["geometry"]["coordinates"]
        # && compares float4 index boxes, rounded outward: a point may lie a hair outside.
        tol = 1e-5
        assert box.west - tol <= x <= box.east + tol and box.south - tol <= y <= box.north + tol
    # Asked again: the same answer, from the cache.
    again = client.get(f"{points.ROUTE}?bbox={_bbox(lon, lat)}")
    assert again.data == response.data
    assert again.headers["Server-Timing"].startswith("cache")


def test_filters_narrow_the_points(client: Any, county: Database) -> None:
    lon, lat, village = _busiest(county)
    bbox = _bbox(lon, lat)
    every = {f["properties"]["id"] for f in _features(client.get(f"{points.ROUTE}?bbox={bbox}"))}
    group = _features(client.get(f"{points.ROUTE}?bbox={bbox}&category=两抢一盗"))
    with county.connection() as conn:
        codes = {
            r[0]
            for r in conn.execute(
                "SELECT code FROM incident_category WHERE two_robberies_one_theft"
            )
        }
    assert group and len(group) < len(every)
    assert {f["properties"]["category"] for f in group} <= codes
    dated = _features(client.get(f"{points.ROUTE}?bbox={bbox}&start=2026-09-01&end=2026-10-01"))
    assert dated and len(dated) < len(every)
    for f in dated:
        day = dt.datetime.fromtimestamp(f["properties"]["occurred"], dt.UTC)
        assert (
            dt.datetime(2026, 8, 31, 16, tzinfo=dt.UTC)
            <= day
            < dt.datetime(2026, 9, 30, 16, tzinfo=dt.UTC)
        )  # Asia/Shanghai days
    night = _features(client.get(f"{points.ROUTE}?bbox={bbox}&hours=22,6"))
    assert night and len(night) < len(every)
    # The area scope always applies: another village's scope gives none of these points.
    other = "990101999999"
    assert _features(client.get(f"{points.ROUTE}?bbox={bbox}&area={other}")) == []
    inside = _features(client.get(f"{points.ROUTE}?bbox={bbox}&area={village}"))
    assert inside and {f["properties"]["id"] for f in inside} <= every


def test_the_cap_keeps_the_latest_and_says_so(county: Database) -> None:
    lon, lat, _ = _busiest(county)
    box = points.snap(Box.parse(_bbox(lon, lat)))
    full = incident_points(box, db=county)
    capped = incident_points(box, cap=10, db=county)
    assert full.count > 10 and not full.truncated
    assert capped.count == 10 and capped.truncated
    times = sorted(
        (f["properties"]["occurred"] for f in _decode(full.geobuf)["features"]),
        reverse=True,
    )
    kept = [f["properties"]["occurred"] for f in _decode(capped.geobuf)["features"]]
    assert sorted(kept, reverse=True) == times[:10]


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("", "bbox"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=120,30,119,31", "bbox"),
        ("bbox=119,29,120,30", "too large"),
        ("bbox=119.8,29.8,119.81,29.81&area=99%25", "area"),
        ("bbox=119.8,29.8,119.81,29.81&start=2026-13-01", "start"),
        ("bbox=119.8,29.8,119.81,29.81&category=nope", "nope"),
        ("bbox=119.8,29.8,119.81,29.81&hours=25,3", "hours"),
        ("bbox=119.8,29.8,119.81,29.81&zoom=15", "zoom"),
    ],
)
def test_bad_parameters_get_a_bilingual_400(client: Any, query: str, word: str) -> None:
    response = client.get(f"{points.ROUTE}?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert word in body["en"]
    assert body["zh"] and body["error"] == f"{body['zh']} / {body['en']}"


def test_snapping_is_stable() -> None:
    box = Box.parse("119.87,29.79,119.908,29.821")
    snapped = points.snap(box)
    assert points.snap(snapped) == snapped
    assert snapped.west <= box.west and snapped.east >= box.east
    assert snapped.south <= box.south and snapped.north >= box.north
    assert points.tile_block(snapped) == points.tile_block(box)
