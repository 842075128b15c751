"""The street-zoom incident points route on a real database with the small demo county."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import flask
import geobuf
import numpy as np
import pytest
from geobuf import geobuf_pb2

from dashboard import _data
from dashboard import incident_points as points
from gis.db import Database
from layers._incident_columns import hashint8extended, sample_tiers
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


def _ids(found: Any) -> set[int]:
    return (
        {f["properties"]["id"] for f in _decode(found.geobuf)["features"]} if found.count else set()
    )


def _tier_ids(db: Database, box: Box, *, tier: int, where: str = "TRUE") -> set[int]:
    """Ids of the incidents of tiers <= ``tier`` in ``box`` (and ``where``), asked directly."""
    with db.connection() as conn:
        return {
            r[0]
            for r in conn.execute(
                "SELECT i.id FROM incident i LEFT JOIN incident_category c"
                " ON c.code = i.category_code WHERE i.sample_tier <= %s"
                " AND i.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4490) AND " + where,
                (tier, box.west, box.south, box.east, box.north),
            )
        }


def test_sample_tiers_are_a_random_one_and_ten_percent(db: Database) -> None:
    """The importer's tier (migration 0006's rule, :func:`layers._incident_columns.sample_tiers`)
    equals the SQL one of migration 0007 and, on 200,000 consecutive ids, puts about 1% in tier
    0 and 10% in tiers 0-1, in every part of the id range (ids are given out in import order, so
    consecutive ids are one place and one day: the tier must not follow them)."""
    ids = np.arange(1, 200_001, dtype=np.int64)
    edge = np.array([0, -1, -(2**63), 2**63 - 1, 2**32, 2**32 - 1, -(2**32)], dtype=np.int64)
    with db.connection() as conn:
        server = conn.execute(
            "SELECT array_agg(hashint8extended(v, 0) ORDER BY n), "
            " array_agg(incident_sample_tier(v) ORDER BY n)"
            " FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(v, n)",
            (np.concatenate([edge, ids]).tolist(),),
        ).fetchone()
    assert hashint8extended(np.concatenate([edge, ids])).tolist() == server[0]
    tiers = sample_tiers(ids)
    assert tiers.tolist() == server[1][len(edge) :]
    rows = [
        (part, int((t == 0).sum()), int((t <= 1).sum()), int((t == 2).sum()), len(t))
        for part, t in enumerate(np.split(tiers, 10))
    ]
    first, ten, rest = (sum(r[i] for r in rows) for i in (1, 2, 3))
    # Binomial: 4 standard deviations (sqrt(n p (1 - p))) either way.
    assert abs(first - 2_000) < 4 * 44.5
    assert abs(ten - 20_000) < 4 * 134.2
    assert ten + rest == 200_000
    for _, one, tenth, _, n in rows:  # 10 blocks of 20,000 consecutive ids
        assert abs(one - n * 0.01) < 4 * 14.1 and abs(tenth - n * 0.1) < 4 * 42.5


def test_a_dense_box_is_answered_by_a_sample_that_says_so(county: Database) -> None:
    """With the cap below the box's incidents: every one, then the 10% sample, then the 1%
    sample, each exactly the box's incidents of those tiers, each inside the next, and each
    saying its share and the box's total estimated from it."""
    lon, lat, _ = _busiest(county)
    box = points.snap(Box.parse(_bbox(lon, lat)))
    every, tenth, first = (_tier_ids(county, box, tier=t) for t in (2, 1, 0))
    assert len(every) > 10 * len(tenth) / 2 and len(tenth) > len(first) >= 2

    full = incident_points(box, cap=len(every), db=county)
    assert (full.fraction, full.total, full.truncated) == (1.0, len(every), False)
    assert _ids(full) == every

    cap = max(len(tenth), 10 * len(first))
    assert cap < len(every)
    ten = incident_points(box, cap=cap, db=county)
    assert (ten.fraction, ten.count, ten.truncated) == (0.1, len(tenth), False)
    assert ten.total == 10 * len(tenth) and ten.sampled
    assert _ids(ten) == tenth

    one = incident_points(box, cap=len(first), db=county)
    assert (one.fraction, one.count, one.truncated) == (0.01, len(first), False)
    assert one.total == 100 * len(first)
    assert _ids(one) == first
    assert _ids(one) <= _ids(ten) <= _ids(full)

    # Even the 1% sample is larger than the cap: its latest are kept, and the answer says so.
    cut = incident_points(box, cap=len(first) - 1, db=county)
    assert (cut.fraction, cut.count, cut.truncated) == (0.01, len(first) - 1, True)
    times = sorted(f["properties"]["occurred"] for f in _decode(one.geobuf)["features"])
    kept = sorted(f["properties"]["occurred"] for f in _decode(cut.geobuf)["features"])
    assert kept == times[1:]


def test_the_estimated_total_is_close_to_the_true_one(county: Database) -> None:
    """The sample's size over its share estimates the box's total: on the whole small county
    (4,000+ incidents, about 400 in the 10% sample) within 4 binomial standard deviations."""
    with county.connection() as conn:
        west, south, east, north, n = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), c FROM (SELECT"
            " ST_Extent(geom)::geometry e, count(*) c FROM incident) s"
        ).fetchone()
    box = Box(west - 1e-3, south - 1e-3, east + 1e-3, north + 1e-3)
    ten = incident_points(box, cap=n // 2, db=county)
    assert ten.fraction == 0.1
    assert abs(ten.total - n) < 4 * 10 * (n * 0.1 * 0.9) ** 0.5


def test_filters_apply_to_the_sample(county: Database) -> None:
    """Dates, the 两抢一盗 group, hours and the area scope narrow a sampled answer exactly as a
    whole one: the sample is the filtered incidents of the tier."""
    lon, lat, village = _busiest(county)
    box = points.snap(Box.parse(_bbox(lon, lat)))
    for where, filters in (
        ("c.two_robberies_one_theft", {"categories": ["两抢一盗"]}),
        ("incident_hours_match(occurred_hour, hour_span, 22, 6)", {"hours": (22, 6)}),
    ):
        tenth, first = (_tier_ids(county, box, tier=t, where=where) for t in (1, 0))
        cap = max(len(tenth), 10 * len(first))  # the 10% sample fits, the whole does not
        assert len(_tier_ids(county, box, tier=2, where=where)) > cap
        found = incident_points(box, cap=cap, db=county, **filters)
        assert found.fraction == 0.1 and _ids(found) == tenth
    where = "occurred_from >= '2026-05-01 00:00+08' AND occurred_from < '2026-11-01 00:00+08'"
    dated = _tier_ids(county, box, tier=0, where=where)
    assert dated and len(_tier_ids(county, box, tier=1, where=where)) > len(dated)
    found = incident_points(box, start="2026-05-01", end="2026-11-01", cap=len(dated), db=county)
    assert found.fraction == 0.01 and _ids(found) == dated
    scoped = incident_points(box, area=village, cap=5, db=county)
    assert scoped.sampled and _ids(scoped) <= _tier_ids(
        county, box, tier=1, where=f"village_code = '{village}'"
    )
    assert incident_points(box, area="990101999999", cap=5, db=county).count == 0


def test_the_route_says_when_it_answers_a_sample(
    client: Any, county: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers and Server-Timing carry the share, the estimated total and the points sent (the
    page's notice reads them); the notice's text names the share and the total."""
    lon, lat, _ = _busiest(county)
    box = points.snap(Box.parse(_bbox(lon, lat)))
    first = _tier_ids(county, box, tier=0)
    monkeypatch.setattr(points, "CAP", len(first))
    response = client.get(f"{points.ROUTE}?bbox={_bbox(lon, lat)}")
    assert {f["properties"]["id"] for f in _features(response)} == first
    headers = response.headers
    assert headers["X-Pingan-Sample"] == "0.01" and headers["X-Pingan-Truncated"] == "0"
    assert headers["X-Pingan-Total"] == str(100 * len(first))
    timing = headers["Server-Timing"]
    assert f'sample;desc="0.01", total;desc="{100 * len(first)}"' in timing
    assert f'count;desc="{len(first)}"' in timing and "truncated" not in timing
    again = client.get(f"{points.ROUTE}?bbox={_bbox(lon, lat)}")  # the cache keeps all of it
    assert again.headers["Server-Timing"].startswith("cache")
    assert again.headers["X-Pingan-Total"] == headers["X-Pingan-Total"]
    # A box with fewer incidents than the cap: every one, no sample named.
    monkeypatch.setattr(points, "CAP", points.DEFAULT_CAP)
    whole = client.get(f"{points.ROUTE}?bbox={_bbox(lon, lat)}")
    assert (
        whole.headers["X-Pingan-Sample"] == "1" and "sample" not in whole.headers["Server-Timing"]
    )
    templates = points.build().hideout["sampled"]
    assert "{share}" in templates["en"] and "{total}" in templates["en"]
    assert "{shown}" in templates["zh"] and "随机抽样" in templates["zh"]
    assert "sample" in templates["en"] and "zoom in" in templates["en"]


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
