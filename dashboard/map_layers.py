"""The map's layers, registered in one place.

Every layer of the 地图 Map page is one :class:`MapLayer` in :data:`LAYERS`. The page builds
from this tuple, and from nothing else:

- the layer checklist (one row per layer, labelled from the catalogue by ``label_key``);
- the Leaflet panes (``map-<name>``, z-index ``z``) and the components inside them;
- the ↑↓ ordering of the panes (the user's order changes the panes' z-index);
- the ``hideout`` of each layer's component, recomputed when the checklist or the filter's
  counts change (a switch or a re-colouring never sends geometry again).

To add a layer (hotspots, risk grades, patrol routes, …): write its ``build`` (and, if it is
styled or switched through ``hideout``, its ``hideout`` function) and append a ``MapLayer``
to :data:`LAYERS`; add its label to the catalogue. The layer's own data callbacks live with
it (its module), reading the filter from the ``map-filter`` store. See ``docs/dashboard.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_leaflet as dl
from dash_extensions.javascript import Namespace

from dashboard import _data, incident_points
from dashboard.components import key_area_layer

ns = Namespace("pingan", "map")

EMPTY = {"type": "FeatureCollection", "features": []}
"""An empty FeatureCollection, the data of a layer before its callback fills it."""


@dataclass(frozen=True)
class MapState:
    """What a layer's ``hideout`` may depend on.

    Attributes
    ----------
    shown
        Names of the layers ticked in the checklist.
    counts
        The ``map-counts`` store: ``{"counts": {grid code: n}, "classes": [...], "total": n}``.
    selected
        Code of the grid whose panel is open (drawn highlighted), or ``None``.
    """

    shown: frozenset[str] = frozenset()
    counts: Mapping[str, Any] = field(default_factory=dict)
    selected: str | None = None


@dataclass(frozen=True)
class MapLayer:
    """One layer of the map.

    Attributes
    ----------
    name
        Short name: the checklist value and the pane ``map-<name>``.
    label_key
        Catalogue key of the checklist label.
    z
        Default z-index of the layer's pane (Leaflet's overlay panes sit between 400 and 500:
        keep to 401–499). ``None`` makes the layer a *switch* without a pane or component of
        its own, read by another layer's ``hideout``; it is listed and moved with the layer
        before it in :data:`LAYERS`.
    build
        Returns the Dash component(s) drawn in the pane (``None`` for a switch). Give the
        main component the id :attr:`component_id`.
    hideout
        ``MapState -> dict``: the component's ``hideout`` (``None``: the layer is not styled
        through ``hideout``, and its checkbox is read by its own callbacks).
    component_id
        Id of the component that receives the hideout; default ``map-<name>``.
    shown
        Ticked when the page opens.
    """

    name: str
    label_key: str
    z: int | None
    build: Callable[[], Any] | None = None
    hideout: Callable[[MapState], dict[str, Any]] | None = None
    component_id: str | None = None
    shown: bool = True

    @property
    def pane(self) -> str:
        """Name of the layer's Leaflet pane (its CSS class is ``leaflet-<pane>-pane``)."""
        return f"map-{self.name}"

    @property
    def ident(self) -> str:
        """Id of the component that receives the hideout."""
        return self.component_id or f"map-{self.name}"


def geojson(ident: str, **options: Any) -> dl.GeoJSON:
    """An empty GeoJSON layer ``ident``, filled later by a callback."""
    return dl.GeoJSON(id=ident, data=EMPTY, **options)


# -- the base layers --------------------------------------------------------------------------


def _grids() -> Any:
    return geojson(
        "map-grids",
        style=ns("gridStyle"),
        filter=ns("gridVisible"),
        hideout=_grid_hideout(MapState(frozenset({"grids", "incidents"}))),
        hoverStyle={"weight": 3, "color": "#0868ac"},
    )


def _grid_hideout(state: MapState) -> dict[str, Any]:
    counts = state.counts or {}
    classes = list(counts.get("classes") or [0])
    return {
        "counts": counts.get("counts") or {},
        "classes": classes,
        "colours": _data.colours_for(classes),
        "outline": "grids" in state.shown,
        "fill": "incidents" in state.shown,
        "selected": state.selected,
    }


def _boundaries() -> Any:
    return geojson(
        "map-boundaries",
        style=ns("boundaryStyle"),
        filter=ns("visible"),
        hideout={"show": True},
        interactive=False,
    )


def _places() -> Any:
    return geojson(
        "map-places",
        pointToLayer=ns("placePoint"),
        style=ns("placeStyle"),
        filter=ns("visible"),
        hideout={"show": True, "pane": "map-places"},
    )


def _cameras() -> list[Any]:
    return [
        # The field of view of the clicked camera, under the camera dots.
        geojson("map-camera-view", style=ns("viewStyle"), interactive=False),
        geojson(
            "map-cameras",
            pointToLayer=ns("cameraPoint"),
            filter=ns("visible"),
            hideout=_camera_hideout(MapState(frozenset({"cameras"}))),
        ),
    ]


def _camera_hideout(state: MapState) -> dict[str, Any]:
    return {
        "show": "cameras" in state.shown,
        "colours": _data.STATUS_COLOURS,
        "pane": "map-cameras",
    }


def _shown(name: str) -> Callable[[MapState], dict[str, Any]]:
    def hideout(state: MapState) -> dict[str, Any]:
        return {"show": name in state.shown, "pane": f"map-{name}"}

    return hideout


LAYERS: tuple[MapLayer, ...] = (
    MapLayer("grids", "dashboard.map.layer_grids", 410, _grids, _grid_hideout),
    MapLayer("incidents", "dashboard.map.layer_incidents", None),  # the grids' fill
    MapLayer(
        "boundaries", "dashboard.map.layer_boundaries", 420, _boundaries, _shown("boundaries")
    ),
    MapLayer("places", "dashboard.map.layer_places", 430, _places, _shown("places")),
    MapLayer("cameras", "dashboard.map.layer_cameras", 440, _cameras, _camera_hideout),
    # Street-zoom incident points; its own callbacks read its checkbox (dashboard/incident_points).
    MapLayer("points", "dashboard.map.layer_points", 450, incident_points.build),
    # The open key areas of the register (重点地区 page), drawn over the boundaries; off until
    # ticked.
    MapLayer(
        "keyareas",
        "dashboard.map.layer_keyareas",
        425,
        key_area_layer.build,
        key_area_layer.hideout,
        shown=False,
    ),
)
"""Every layer of the map, bottom first. Append new layers here."""


# -- order and panes ----------------------------------------------------------------------------


def by_name(name: str, registry: Sequence[MapLayer] = LAYERS) -> MapLayer:
    """The registered layer called ``name``."""
    for layer in registry:
        if layer.name == name:
            return layer
    raise KeyError(name)


def default_order(registry: Sequence[MapLayer] = LAYERS) -> list[str]:
    """Names of the layers with a pane, top first (highest default z first)."""
    paned = [layer for layer in registry if layer.z is not None]
    return [layer.name for layer in sorted(paned, key=lambda layer: -(layer.z or 0))]


def normalise_order(
    order: Iterable[str] | None, registry: Sequence[MapLayer] = LAYERS
) -> list[str]:
    """``order`` with unknown names dropped and missing paned layers put back where their
    default z places them."""
    known = default_order(registry)
    kept = [name for name in dict.fromkeys(order or ()) if name in known]
    for name in known:
        if name not in kept:
            z = by_name(name, registry).z or 0
            at = next((i for i, n in enumerate(kept) if (by_name(n, registry).z or 0) < z), None)
            kept.insert(len(kept) if at is None else at, name)
    return kept


def move(order: Sequence[str], name: str, step: int) -> list[str]:
    """``order`` (top first) with ``name`` moved ``step`` places (``-1`` = up, drawn higher)."""
    names = list(order)
    if name not in names:
        return names
    i = names.index(name)
    j = max(0, min(len(names) - 1, i + step))
    names.insert(j, names.pop(i))
    return names


def pane_z(order: Sequence[str], *, base: int = 410, step: int = 10) -> dict[str, int]:
    """Pane name → z-index for ``order`` (top first): the bottom layer gets ``base``."""
    return {f"map-{name}": base + step * i for i, name in enumerate(reversed(list(order)))}


def rows(order: Sequence[str], registry: Sequence[MapLayer] = LAYERS) -> list[MapLayer]:
    """Checklist rows: the paned layers in ``order``, each followed by its switches."""
    switches: dict[str, list[MapLayer]] = {}
    host = None
    for layer in registry:
        if layer.z is None and host is not None:
            switches.setdefault(host, []).append(layer)
        elif layer.z is not None:
            host = layer.name
    out: list[MapLayer] = []
    for name in order:
        out.append(by_name(name, registry))
        out.extend(switches.get(name, []))
    return out


def panes(registry: Sequence[MapLayer] = LAYERS) -> list[dl.Pane]:
    """One Leaflet pane per paned layer, holding what its ``build`` returns."""
    out = []
    for layer in registry:
        if layer.z is None or layer.build is None:
            continue
        built = layer.build()
        out.append(
            dl.Pane(
                built if isinstance(built, list) else [built],
                name=layer.pane,
                id=f"{layer.pane}-pane",
                style={"zIndex": layer.z},
            )
        )
    return out


def styled(registry: Sequence[MapLayer] = LAYERS) -> list[MapLayer]:
    """The layers whose component takes a ``hideout``, in registry order."""
    return [layer for layer in registry if layer.hideout is not None]


def hideouts(state: MapState, registry: Sequence[MapLayer] = LAYERS) -> list[dict[str, Any]]:
    """The ``hideout`` of every :func:`styled` layer for ``state``."""
    return [layer.hideout(state) for layer in styled(registry) if layer.hideout]
