"""Incident points at street zoom: a Flask route of the Dash server and the map layer it feeds.

Below :data:`MIN_ZOOM` the map shows incidents as per-grid counts; from :data:`MIN_ZOOM` on,
the layer ``map-incidents-points`` (dash-leaflet ``GeoJSON``, ``format="geobuf"``,
``cluster=True``) fetches the incidents of the viewport from :data:`ROUTE`::

    GET /api/incident-points?bbox=119.87,29.79,119.91,29.82&area=990101001
        &start=2026-01-01&end=2026-02-01&category=两抢一盗

- ``bbox``: west,south,east,north in degrees (storage CRS); snapped outward to the tiles of
  zoom :data:`BLOCK_ZOOM`, so that small pans keep the same URL (no new request) and
  neighbouring users share cached answers;
- ``area`` (admin-code prefix), ``start`` (first day), ``end`` (day after the last),
  ``category`` (repeatable; ``两抢一盗`` = the group), ``hours`` (``22,6`` = 22:00–06:00): the
  map's :class:`~dashboard._data.IncidentFilter`, written by :func:`filter_query` and read
  back by :func:`parse_query`; the area scope always applies.

The answer is geobuf (``application/x-protobuf``) made by PostGIS, at most :data:`CAP`
points: every matching incident of the box, or when more match, a 10% or 1% random sample of
them (:func:`layers.incident_points.incident_points`). Headers: ``X-Pingan-Count`` (points
sent), ``X-Pingan-Sample`` (the share sent: ``1``, ``0.1`` or ``0.01``), ``X-Pingan-Total``
(matching incidents in the box, estimated from the sample when sampled),
``X-Pingan-Truncated`` (``1`` when even the 1% sample held more than :data:`CAP`: its latest
were kept) and ``Server-Timing`` (``db`` = the query, ``cache`` = a hit; when sampled or
truncated also ``sample``, ``total`` and ``count`` with the values as ``desc``, and
``truncated``: the page reads them there). Bad input gets a 400 with a bilingual JSON
message. Answers are kept :data:`CACHE_SECONDS` in files that every gunicorn worker reads
(:class:`_Cache`). When the answer is a sample, the page says so under the filters
(``map-points-notice``): the share, the estimated total, and that the numbers on clusters
count the points drawn.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import dash_leaflet as dl
from dash import ClientsideFunction, Dash, Input, Output, State
from dash_extensions.javascript import Namespace
from flask import Response, request

from dashboard import _data
from gis.errors import PinganError, ValidationError
from gis.messages import t
from gis.settings import get_settings
from layers.access import area_scope, hour_filter
from layers.incident_points import DEFAULT_CAP, Box, IncidentPoints, incident_points

ROUTE = "/api/incident-points"
MIN_ZOOM = 15
"""Street zoom: from this Leaflet zoom on, the map shows incident points."""
BLOCK_ZOOM = 15
"""Boxes are snapped outward to the Web Mercator tiles of this zoom (about 1 km)."""
CAP = DEFAULT_CAP
CACHE_SECONDS = 60.0
CACHE_BYTES = 64 * 2**20
PARAMETERS = ("bbox", "area", "start", "end", "category", "hours")

LAYER_ID = "map-incidents-points"
NOTICE_ID = "map-points-notice"
"""The page's element that says when the points of the view were capped."""

ns = Namespace("pingan", "points")


# -- the query string ---------------------------------------------------------------------------


def filter_query(flt: _data.IncidentFilter) -> str:
    """The filter part of a :data:`ROUTE` URL (empty values left out)."""
    pairs: list[tuple[str, str]] = []
    if flt.area:
        pairs.append(("area", flt.area))
    if flt.start:
        pairs.append(("start", flt.start.isoformat()))
    if flt.end:
        pairs.append(("end", flt.end.isoformat()))
    pairs += [("category", c) for c in flt.categories or ()]
    hours = getattr(flt, "hours", None)
    if hours:
        pairs.append(("hours", f"{hours[0]},{hours[1]}"))
    return urlencode(pairs)


@dataclass(frozen=True)
class PointsQuery:
    """A parsed request: the snapped box and the filter (as :func:`layers.incident_counts`
    takes it)."""

    box: Box
    area: str = ""
    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] | None = None
    hours: tuple[int, int] | None = None


def _date(args: Mapping[str, Any], name: str) -> date | None:
    value = args.get(name) or None
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError("points.bad_date", name=name, value=str(value)) from None


def _hours(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    parts = value.split(",")
    try:
        first, last = (int(p) for p in parts)
    except ValueError:
        raise ValidationError("layers.bad_hours", hours=value) from None
    if hour_filter((first, last))["hour_from"] is None:
        return None  # the whole day
    return first, last


def parse_query(args: Any) -> PointsQuery:
    """The request's arguments (a werkzeug ``MultiDict``), checked, with the box snapped.

    Raises
    ------
    ValidationError
        An unknown parameter, a bad box, date, hours or area.
    """
    unknown = sorted(set(args) - set(PARAMETERS))
    if unknown:
        raise ValidationError(
            "points.bad_parameter", names=", ".join(unknown), known=", ".join(PARAMETERS)
        )
    categories = tuple(c for c in args.getlist("category") if c)
    return PointsQuery(
        box=snap(Box.parse(args.get("bbox", ""))),
        area=area_scope(args.get("area", "")),
        start=_date(args, "start"),
        end=_date(args, "end"),
        categories=categories or None,
        hours=_hours(args.get("hours")),
    )


# -- tiles: the same arithmetic as pingan.points.snap in assets/pingan_points.js ----------------


def _tile_x(lon: float, z: int) -> float:
    return (lon + 180.0) / 360.0 * 2**z


def _tile_y(lat: float, z: int) -> float:
    r = math.radians(max(-85.0511, min(85.0511, lat)))
    return (1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0 * 2**z


def _lon(x: float, z: int) -> float:
    return round(x / 2**z * 360.0 - 180.0, 6)


def _lat(y: float, z: int) -> float:
    return round(math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / 2**z)))), 6)


def tile_block(box: Box, *, z: int = BLOCK_ZOOM) -> tuple[int, int, int, int]:
    """Tile columns and rows ``(x0, y0, x1, y1)`` (x1, y1 exclusive) at zoom ``z`` that cover
    ``box``; a box already on tile edges (to 1e-6°) maps to its own tiles."""
    eps = 1e-4  # in tiles: about 0.1 m, more than the 1e-6° rounding of an edge
    x0 = math.floor(_tile_x(box.west, z) + eps)
    x1 = math.ceil(_tile_x(box.east, z) - eps)
    y0 = math.floor(_tile_y(box.north, z) + eps)
    y1 = math.ceil(_tile_y(box.south, z) - eps)
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def snap(box: Box, *, z: int = BLOCK_ZOOM) -> Box:
    """``box`` grown to the edges of the zoom-``z`` tiles it touches (degrees, 1e-6)."""
    x0, y0, x1, y1 = tile_block(box, z=z)
    return Box(_lon(x0, z), _lat(y1, z), _lon(x1, z), _lat(y0, z))


# -- the answers, cached ------------------------------------------------------------------------


@dataclass
class _Cache:
    """Answers kept as files, shared by every gunicorn worker of the server (each worker is a
    process of its own: a per-process cache missed whenever a repeat reached the other one).

    One file per answer, named by a hash of its key, in ``directory`` (default
    ``$PINGAN_HOME/cache/points``): a first line ``count,truncated,fraction,total`` and the
    geobuf. An answer
    older than ``max_age`` seconds is a miss; a file is written under a temporary name and
    renamed, so a reader never sees half of one. After about an eighth of ``max_bytes`` has
    been written, expired files are removed and then the oldest until the rest fit.
    """

    max_bytes: int = CACHE_BYTES
    max_age: float = CACHE_SECONDS
    directory: Path | None = None

    def __post_init__(self) -> None:
        self._written = 0
        self._lock = threading.Lock()

    def folder(self) -> Path:
        return self.directory or get_settings().home / "cache" / "points"

    def _path(self, key: Any) -> Path:
        return self.folder() / hashlib.sha256(repr(key).encode()).hexdigest()

    def get(self, key: Any) -> IncidentPoints | None:
        path = self._path(key)
        try:
            if time.time() - path.stat().st_mtime > self.max_age:
                return None
            data = path.read_bytes()
        except FileNotFoundError:  # never asked, or removed by a prune
            return None
        head, _, body = data.partition(b"\n")
        count, truncated, fraction, total = head.split(b",")
        return IncidentPoints(
            geobuf=body,
            count=int(count),
            truncated=truncated == b"1",
            fraction=float(fraction),
            total=int(total),
        )

    def put(self, key: Any, value: IncidentPoints) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        head = f"{value.count},{value.truncated:d},{value.fraction!r},{value.total}\n"
        temporary.write_bytes(head.encode() + value.geobuf)
        temporary.replace(path)
        with self._lock:
            self._written += len(value.geobuf)
            if self._written < self.max_bytes // 8:
                return
            self._written = 0
        self.prune()

    def prune(self) -> None:
        """Remove expired answers, then the oldest until the rest fit in ``max_bytes``."""
        now = time.time()
        files = []
        for path in self.folder().glob("[0-9a-f]*"):  # not the files being written
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed by another worker meanwhile
                continue
            if now - stat.st_mtime > self.max_age:
                path.unlink(missing_ok=True)
            else:
                files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size

    def clear(self) -> None:
        for path in self.folder().glob("[0-9a-f]*"):
            path.unlink(missing_ok=True)


CACHE = _Cache()


def points_for(query: PointsQuery) -> tuple[IncidentPoints, bool]:
    """The answer to a parsed request, and whether it came from the cache."""
    db = _data.database()
    key = (db.conninfo, CAP, tile_block(query.box), *(getattr(query, f) for f in _FILTER_FIELDS))
    hit = CACHE.get(key)
    if hit is not None:
        return hit, True
    found = incident_points(
        query.box,
        area=query.area,
        start=query.start,
        end=query.end,
        categories=list(query.categories) if query.categories else None,
        hours=query.hours,
        cap=CAP,
        db=db,
    )
    CACHE.put(key, found)
    return found, False


_FILTER_FIELDS = ("area", "start", "end", "categories", "hours")


def serve_points() -> Response:
    """The Flask view of :data:`ROUTE`."""
    started = time.perf_counter()
    try:
        found, cached = points_for(parse_query(request.args))
    except ValidationError as exc:
        return _bad_request(exc)
    elapsed = (time.perf_counter() - started) * 1000
    response = Response(found.geobuf, mimetype="application/x-protobuf")
    response.headers["X-Pingan-Count"] = str(found.count)
    response.headers["X-Pingan-Sample"] = f"{found.fraction:g}"
    response.headers["X-Pingan-Total"] = str(found.total)
    response.headers["X-Pingan-Truncated"] = "1" if found.truncated else "0"
    timing = [f"{'cache' if cached else 'db'};dur={elapsed:.1f}"]
    if found.sampled or found.truncated:
        timing += [
            f'sample;desc="{found.fraction:g}"',
            f'total;desc="{found.total}"',
            f'count;desc="{found.count}"',
        ]
    if found.truncated:
        timing.append("truncated")
    response.headers["Server-Timing"] = ", ".join(timing)
    response.headers["Cache-Control"] = f"private, max-age={int(CACHE_SECONDS)}"
    return response


def _bad_request(exc: PinganError) -> Response:
    body = {"error": str(exc), "zh": exc.zh, "en": exc.en}
    return Response(json.dumps(body, ensure_ascii=False), status=400, mimetype="application/json")


# -- the map layer ------------------------------------------------------------------------------


_PLACEHOLDERS = {name: "{" + name + "}" for name in ("share", "total", "shown")}


def build() -> dl.GeoJSON:
    """The layer: clustered geobuf points, empty until the map is at street zoom. Its
    ``hideout`` carries what the browser needs to build the URL."""
    return dl.GeoJSON(
        id=LAYER_ID,
        format="geobuf",
        cluster=True,
        zoomToBoundsOnClick=True,
        superClusterOptions={"radius": 60, "maxZoom": 17},
        pointToLayer=ns("point"),
        hideout={
            "pane": "map-points",
            "route": ROUTE,
            "min_zoom": MIN_ZOOM,
            "block_zoom": BLOCK_ZOOM,
            # Notice templates; the browser fills {share}, {total} and {shown} from the answer.
            "sampled": {
                lang: t("dashboard.map.points_capped", language=lang, **_PLACEHOLDERS)
                for lang in ("zh", "en")
            },
            "cut": {
                lang: t("dashboard.map.points_sample_cut", language=lang, cap=f"{CAP:,}")
                for lang in ("zh", "en")
            },
        },
    )


def register(app: Dash) -> None:
    """Add :data:`ROUTE` to the app's server, and the browser-side callbacks that point the
    layer at the viewport and the ``map-filter`` store (no server round trip when the map
    moves; the filter's meaning stays in :func:`dashboard._data.parse_filter`) and fill
    :data:`NOTICE_ID` when the answer is a sample."""
    app.server.add_url_rule(ROUTE, "incident_points", serve_points)
    app.clientside_callback(
        ClientsideFunction(namespace="pingan_points", function_name="url"),
        Output(LAYER_ID, "url"),
        Input("map-map", "bounds"),
        Input("map-map", "zoom"),
        Input("map-filter", "data"),
        Input("map-layers", "value"),
        State(LAYER_ID, "hideout"),
    )
    # Whether the answer is a sample, and of how many: the Server-Timing of the layer's own
    # request.
    app.clientside_callback(
        ClientsideFunction(namespace="pingan_points", function_name="notice"),
        Output(NOTICE_ID, "children"),
        Input(LAYER_ID, "url"),
        Input("app-lang", "data"),
        State(LAYER_ID, "hideout"),
    )


__all__ = ["ROUTE", "PointsQuery", "build", "filter_query", "parse_query", "register", "snap"]
