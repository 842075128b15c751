"""The demo county's road network, in metres (EPSG:4549).

The network is noded by construction: every road is a LineString whose two ends are
network nodes, and a new road always ends on a node that already exists. So it is one
connected component:

* a street lattice in the county town (主街 ``secondary``, 街巷 ``residential``);
* main roads between township seats (``primary`` from the county town, else ``secondary``),
  a minimum spanning tree plus one loop, split at a node every ~900 m;
* a road from every village centre (``unclassified``) and community centre
  (``residential``) to the nearest node;
* a ``service`` road from every place to the nearest node.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from shapely.geometry import LineString

from layers.demo._base import Part, Sizes, records, rng_for
from layers.demo._geography import Geography

_EW = ["解放", "人民", "中山", "建设", "文化", "溪滨", "桂花", "振兴", "工业", "朝阳", "育才"]
_NS = ["府前", "城隍", "鼓楼", "太平", "学前", "仓前", "水门", "东升", "西湖", "环城", "青石"]


class _Network:
    def __init__(self) -> None:
        self.nodes: list[tuple[float, float]] = []
        self.rows: list[dict[str, object]] = []

    def node(self, p: tuple[float, float]) -> tuple[float, float]:
        self.nodes.append(p)
        return p

    def nearest(self, p: tuple[float, float]) -> tuple[float, float]:
        arr = np.asarray(self.nodes)
        i = int(np.argmin(np.hypot(arr[:, 0] - p[0], arr[:, 1] - p[1])))
        return self.nodes[i]

    def add(self, coords: list[tuple[float, float]], *, name: str, kind: str, oneway: bool) -> None:
        self.rows.append(
            {"name": name, "kind": kind, "oneway": oneway, "geometry": LineString(coords)}
        )


def _lattice(
    net: _Network, rng: np.random.Generator, centre: tuple[float, float], sizes: Sizes
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Lay the town's street lattice; return (all nodes, border nodes)."""
    n, s = sizes.street_lattice, sizes.street_spacing_m
    half = n // 2
    rot = rng.uniform(-0.25, 0.25)
    c, sn = np.cos(rot), np.sin(rot)
    grid: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(-half, half + 1):
        for j in range(-half, half + 1):
            dx, dy = j * s, -i * s
            grid[(i, j)] = net.node((centre[0] + c * dx - sn * dy, centre[1] + sn * dx + c * dy))
    ew = list(rng.choice(_EW, n, replace=False))
    ns = list(rng.choice(_NS, n, replace=False))
    for i in range(-half, half + 1):
        for j in range(-half, half):
            kind = "secondary" if i == 0 else "residential"
            net.add(
                [grid[(i, j)], grid[(i, j + 1)]],
                name=f"{ew[i + half]}路",
                kind=kind,
                oneway=abs(i) == half - 1 and half > 1,
            )
    for j in range(-half, half + 1):
        for i in range(-half, half):
            kind = "secondary" if j == 0 else "residential"
            net.add(
                [grid[(i, j)], grid[(i + 1, j)]], name=f"{ns[j + half]}街", kind=kind, oneway=False
            )
    border = [p for (i, j), p in grid.items() if half in (abs(i), abs(j))]
    return list(grid.values()), border


def _polyline(
    net: _Network,
    rng: np.random.Generator,
    a: tuple[float, float],
    b: tuple[float, float],
    *,
    step_m: float,
) -> list[tuple[float, float]]:
    """Intermediate nodes of a gently winding road from ``a`` to ``b`` (ends included)."""
    ax, ay = a
    bx, by = b
    length = float(np.hypot(bx - ax, by - ay))
    k = max(2, int(np.ceil(length / step_m)))
    t = np.linspace(0.0, 1.0, k + 1)
    amp = rng.uniform(-0.06, 0.06) * length
    nx, ny = -(by - ay) / length, (bx - ax) / length
    off = amp * np.sin(np.pi * t) + rng.normal(0, 0.01 * length, k + 1) * np.sin(np.pi * t)
    pts = [a]
    for ti, oi in zip(t[1:-1], off[1:-1], strict=True):
        pts.append(net.node((ax + ti * (bx - ax) + oi * nx, ay + ti * (by - ay) + oi * ny)))
    pts.append(b)
    return pts


def build_roads(seed: int, sizes: Sizes, geo: Geography, places: pd.DataFrame) -> pd.DataFrame:
    """Draw the road network (stream ``ROADS``), metric LineStrings, canonical columns."""
    rng = rng_for(seed, Part.ROADS)
    net = _Network()
    towns = geo.townships
    town = towns[towns["is_town"]].iloc[0]
    _, border = _lattice(net, rng, (float(town.centre_x), float(town.centre_y)), sizes)

    seats: dict[str, tuple[float, float]] = {}
    for t in records(towns):
        if not t.is_town:
            seats[str(t.code)] = net.node((float(t.centre_x), float(t.centre_y)))
    # main roads: Kruskal MST over township seats, plus the shortest remaining edge
    codes = list(towns["code"])
    pos = {str(t.code): (float(t.centre_x), float(t.centre_y)) for t in records(towns, index=True)}
    edges = sorted(
        (float(np.hypot(pos[a][0] - pos[b][0], pos[a][1] - pos[b][1])), a, b)
        for i, a in enumerate(codes)
        for b in codes[i + 1 :]
    )
    parent = {c: c for c in codes}

    def find(c: str) -> str:
        while parent[c] != c:
            c = parent[c]
        return c

    chosen, spare = [], []
    for e in edges:
        ra, rb = find(e[1]), find(e[2])
        if ra != rb:
            parent[ra] = rb
            chosen.append(e)
        else:
            spare.append(e)
    chosen += spare[:1]
    names = dict(zip(towns["code"], towns["name"], strict=True))
    town_code = str(town.code)
    for _, a, b in chosen:
        ends = []
        for c, other in ((a, b), (b, a)):
            if c == town_code:
                target = pos[other]
                bd = np.asarray(border)
                ends.append(
                    border[int(np.argmin(np.hypot(bd[:, 0] - target[0], bd[:, 1] - target[1])))]
                )
            else:
                ends.append(seats[c])
        name = f"{str(names[a])[0]}{str(names[b])[0]}线"
        kind = "primary" if town_code in (a, b) else "secondary"
        pts = _polyline(net, rng, ends[0], ends[1], step_m=900.0)
        for p, q in itertools.pairwise(pts):
            net.add([p, q], name=name, kind=kind, oneway=False)

    # village and community roads, nearest villages first so later ones can chain on them
    vills = geo.villages.assign(_d=0.0)
    order = np.argsort(np.asarray(vills["dist_town"]), kind="stable")
    for idx in order:
        v = vills.iloc[int(idx)]
        centre = (float(v["centre_x"]), float(v["centre_y"]))
        target = net.nearest(centre)
        if target == centre:
            continue
        net.node(centre)
        mid = (
            (centre[0] + target[0]) / 2 + rng.normal(0, 60),
            (centre[1] + target[1]) / 2 + rng.normal(0, 60),
        )
        if v["is_community"]:
            net.add(
                [centre, target], name=f"{str(v['name'])[:-2]}巷", kind="residential", oneway=False
            )
        else:
            net.add(
                [centre, mid, target],
                name=f"{v['name']}通村公路",
                kind="unclassified",
                oneway=False,
            )

    for p in records(places):
        xy = (float(p.geometry.x), float(p.geometry.y))
        target = net.nearest(xy)
        net.node(xy)
        net.add([xy, target], name=f"{p.name}进出道路", kind="service", oneway=False)

    out = pd.DataFrame(net.rows)
    out.insert(0, "source_id", [f"DEMO-RD-{i:05d}" for i in range(1, len(out) + 1)])
    return out
