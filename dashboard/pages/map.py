"""地图 Map: the workspace. Base layers of the chosen area, incidents counted per grid for the
filter, and a side panel for the clicked grid, camera or incident.

The layout is a static skeleton; the callbacks below fill it, each in a few lines, with the
data shaping in :mod:`dashboard._data`, the layers in :mod:`dashboard.map_layers` and the
widgets in :mod:`dashboard.components`. Component ids start with ``map-``.

Stores other layers may read: ``map-filter`` (the filter, :meth:`IncidentFilter.to_json`),
``map-counts`` (per-grid counts), ``map-order`` (layer names, top first), ``map-selection``
(what the panel shows: ``{"kind": "grid"|"camera"|"incident", ...}``).
"""

from __future__ import annotations

import math
from typing import Any

import dash
import dash_leaflet as dl
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

from dashboard import _data, map_layers
from dashboard.components import camera_panel, grid_panel, incident_panel, layer_options, legend
from dashboard.components.layer_list import MOVE
from gis.messages import Language, t
from gis.settings import get_settings

dash.register_page(
    __name__, path="/", name="map", title="平安网格", order=0, label_key="dashboard.nav.map"
)

_LABELS = {
    "map-label-dates": "dashboard.map.dates",
    "map-label-hours": "dashboard.map.hours",
    "map-label-category": "dashboard.map.category",
    "map-label-township": "dashboard.map.township",
    "map-label-village": "dashboard.map.village",
    "map-label-grid": "dashboard.map.grid",
    "map-label-layers": "dashboard.map.layers",
    "map-label-area": "dashboard.map.area",
    "map-label-filter": "dashboard.map.filter",
    "map-group-button": "dashboard.map.group_button",
    "map-label-coords-mouse": "dashboard.map.coords_mouse",
    "map-label-coords-click": "dashboard.map.coords_click",
}


def _lang(value: Any) -> Language:
    return "en" if value == "en" else "zh"


def _initial_view(bounds: list[list[float]] | None) -> dict[str, Any]:
    """Centre and zoom, plus the bounds to fit when there is data (react-leaflet needs a centre).

    The zoom is the one that fits ``bounds`` into a map of about 780 × 760 px (the map's size
    between the side panels on a laptop screen), so the first frame is already close.
    """
    if not bounds:
        return {"center": [30.0, 120.0], "zoom": 11}
    (south, west), (north, east) = bounds
    return {
        "center": [(south + north) / 2, (west + east) / 2],
        "zoom": fit_zoom(bounds, width_px=780, height_px=760),
        "bounds": bounds,
    }


def fit_zoom(bounds: list[list[float]], *, width_px: int, height_px: int) -> int:
    """The largest Web Mercator zoom (of 256 px tiles) at which ``bounds`` fit the size."""
    (south, west), (north, east) = bounds

    def y(lat: float) -> float:  # Web Mercator y in turns (0..1), for tile arithmetic only
        rad = math.radians(max(-85.0, min(85.0, lat)))
        return math.log(math.tan(math.pi / 4 + rad / 2)) / (2 * math.pi)

    span_x = max((east - west) / 360.0, 1e-9)
    span_y = max(y(north) - y(south), 1e-9)
    zoom = math.floor(min(math.log2(width_px / 256 / span_x), math.log2(height_px / 256 / span_y)))
    return max(3, min(18, zoom))


def _base_map(bounds: list[list[float]] | None) -> html.Div:
    tile_url = get_settings().tile_url
    children: list[Any] = [dl.TileLayer(url=tile_url, attribution="")] if tile_url else []
    children += [
        *map_layers.panes(),
        dl.ScaleControl(position="bottomleft", imperial=False),
    ]
    return html.Div(
        [
            dl.Map(
                id="map-map",
                # The county's extent from the first frame: no fit has to wait for a callback.
                **_initial_view(bounds),
                children=children,
                className="map-canvas",
                # Sized inline: Leaflet measures its container once, when it is created, which
                # can be before the stylesheet has arrived; a later fit would use the wrong size.
                style={"width": "100%", "height": "calc(100vh - 40px)"},
                attributionControl=False,
                eventHandlers={
                    "mousemove": map_layers.ns("showPosition"),
                    "click": map_layers.ns("pinPosition"),
                },
            ),
            # Filled by pingan.map.showPosition / pinPosition (lon, lat to 6 decimals).
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(id="map-label-coords-mouse", className="coords-label"),
                            html.Span("—", id="map-coords-mouse"),
                        ]
                    ),
                    html.Div(
                        [
                            html.Span(id="map-label-coords-click", className="coords-label"),
                            html.Span("—", id="map-coords-click"),
                        ]
                    ),
                ],
                id="map-coords",
                className="map-coords",
            ),
        ],
        className="map-wrap",
    )


def _filters() -> html.Aside:
    def label(ident: str) -> html.Label:
        return html.Label(t(_LABELS[ident], language="zh"), id=ident)

    def heading(ident: str) -> html.Div:
        return html.Div(t(_LABELS[ident], language="zh"), id=ident, className="section-title")

    return html.Aside(
        [
            heading("map-label-area"),
            label("map-label-township"),
            dcc.Dropdown(id="map-township", clearable=True),
            label("map-label-village"),
            dcc.Dropdown(id="map-village", clearable=True),
            label("map-label-grid"),
            dcc.Dropdown(id="map-grid", clearable=True),
            heading("map-label-filter"),
            label("map-label-dates"),
            dcc.DatePickerRange(
                id="map-dates", display_format="YYYY-MM-DD", clearable=True, first_day_of_week=1
            ),
            html.Div(
                [label("map-label-hours"), html.Span(id="map-hours-text", className="hours-text")],
                className="label-row",
            ),
            dcc.RangeSlider(
                id="map-hours",
                min=0,
                max=24,
                step=1,
                value=[0, 24],
                marks={h: f"{h}" for h in range(0, 25, 6)},
                allowCross=False,
                pushable=1,
                updatemode="mouseup",
            ),
            dcc.Checklist(id="map-hours-wrap", value=[], className="hours-wrap"),
            label("map-label-category"),
            dcc.Dropdown(id="map-category", multi=True),
            html.Button(t(_LABELS["map-group-button"], language="zh"), id="map-group-button"),
            heading("map-label-layers"),
            dcc.Checklist(
                id="map-layers",
                value=[layer.name for layer in map_layers.LAYERS if layer.shown],
                className="layer-list",
            ),
            html.Div(id="map-summary", className="summary"),
            html.Div(id="map-legend"),
            html.Div(id="map-empty", className="notice"),
            html.Div(id="map-points-notice", className="notice"),  # dashboard.incident_points
        ],
        className="map-filters",
    )


def layout(**_: Any) -> html.Div:
    """The page: filters on the left, the map, the side panel on the right."""
    return html.Div(
        [
            dcc.Store(id="map-counts"),
            dcc.Store(id="map-filter", data=_data.IncidentFilter().to_json()),
            dcc.Store(id="map-order", data=map_layers.default_order()),
            dcc.Store(id="map-order-applied"),
            dcc.Store(id="map-selection"),
            _filters(),
            _base_map(_data.bounds_of(_data.load_admin_units())),
            html.Aside(id="map-panel", className="map-panel"),
        ],
        className="map-page",
    )


# -- labels, areas and the filter -----------------------------------------------------------


@callback(
    *[Output(ident, "children") for ident in _LABELS],
    Output("map-category", "options"),
    Output("map-category", "placeholder"),
    Output("map-township", "placeholder"),
    Output("map-village", "placeholder"),
    Output("map-grid", "placeholder"),
    Output("map-hours-wrap", "options"),
    Input("app-lang", "data"),
)
def translate(lang: str | None) -> tuple[Any, ...]:
    """Every label of the page in the chosen language."""
    language = _lang(lang)
    labels = [t(key, language=language) for key in _LABELS.values()]
    everywhere = t("dashboard.map.all_areas", language=language)
    return (
        *labels,
        _data.category_options(language=language),
        t("dashboard.map.category_all", language=language),
        everywhere,
        everywhere,
        t("dashboard.map.all_grids", language=language),
        [{"label": t("dashboard.map.hours_wrap", language=language), "value": "wrap"}],
    )


@callback(
    Output("map-township", "options"),
    Output("map-village", "options"),
    Output("map-village", "value"),
    Input("map-township", "value"),
    State("map-village", "value"),
)
def area_options(township: str | None, village: str | None) -> tuple[Any, ...]:
    """Townships of the database; villages of the chosen township (the village is kept only
    if it lies in it)."""
    return _data.area_options(township, village)


@callback(
    Output("map-grid", "options"),
    Output("map-grid", "value"),
    Input("map-village", "value"),
    State("map-grid", "value"),
)
def grid_options(village: str | None, grid: str | None) -> tuple[Any, Any]:
    """The grids of the chosen village (the grid is kept only if it lies in it)."""
    options = _data.grid_options(_data.load_area(village).grids, village) if village else []
    keep = grid if grid in {o["value"] for o in options} else None
    return options, keep if keep != grid else no_update


@callback(
    output=(Output("map-filter", "data"), Output("map-hours-text", "children")),
    inputs={
        "township": Input("map-township", "value"),
        "village": Input("map-village", "value"),
        "grid": Input("map-grid", "value"),
        "start": Input("map-dates", "start_date"),
        "end": Input("map-dates", "end_date"),
        "categories": Input("map-category", "value"),
        "hours": Input("map-hours", "value"),
        "wrap": Input("map-hours-wrap", "value"),
        "lang": Input("app-lang", "data"),
    },
)
def set_filter(
    *,
    township: str | None,
    village: str | None,
    grid: str | None,
    start: str | None,
    end: str | None,
    categories: list[str] | None,
    hours: list[int] | None,
    wrap: list[str] | None,
    lang: str | None,
) -> tuple[dict[str, Any], str]:
    """The filter of every control, in the ``map-filter`` store, and the hours in words."""
    band = _data.hour_band(hours, "wrap" in (wrap or ()))
    flt = _data.parse_filter(township, village, start, end, categories, grid=grid, hours=band)
    return flt.to_json(), _data.hour_label(band, language=_lang(lang))


@callback(Output("map-counts", "data"), Input("map-filter", "data"))
def count_incidents(flt: dict[str, Any] | None) -> dict[str, Any]:
    """Incidents of the filter counted per grid (only the counts go to the browser)."""
    counts, total = _data.load_counts(_data.IncidentFilter.from_json(flt))
    return {"counts": counts, "total": total, "classes": _data.count_classes(counts)}


@callback(
    Output("map-category", "value"),
    Input("map-group-button", "n_clicks"),
    prevent_initial_call=True,
)
def choose_group(_clicks: int | None) -> list[str]:
    """One click selects the whole 两抢一盗 group."""
    return [_data.GROUP]


# -- the layers -------------------------------------------------------------------------------


@callback(
    Output("map-boundaries", "data"),
    Output("map-grids", "data"),
    Output("map-cameras", "data"),
    Output("map-places", "data"),
    Output("map-map", "viewport"),
    Output("map-empty", "children"),
    Input("map-township", "value"),
    Input("map-village", "value"),
    Input("app-lang", "data"),
)
def show_area(township: str | None, village: str | None, lang: str | None) -> tuple[Any, ...]:
    """The base layers of the chosen area, and the map fitted to its grids."""
    language = _lang(lang)
    area = _data.load_area(_data.area_scope(township, village))
    bounds = _data.bounds_of(area.grids) or _data.bounds_of(area.admin_units)
    # The first call finds the map already fitted to the county by the layout.
    refit = ctx.triggered_id not in (None, "app-lang") and bounds is not None
    return (
        _data.feature_collection(area.admin_units, ["code", "name", "level"]),
        _data.grid_features(area.grids, area.villages),
        _data.camera_features(area.cameras, language=language),
        _data.place_features(area.places, kind_names=_data.place_kind_names(language=language)),
        {"bounds": bounds, "transition": "fitBounds"} if refit else no_update,
        t("dashboard.map.empty", language=language) if area.grids.empty else None,
    )


@callback(
    Output("map-map", "viewport", allow_duplicate=True),
    Input("map-grid", "value"),
    prevent_initial_call=True,
)
def zoom_to_grid(grid: str | None) -> Any:
    """Choosing a grid fits the map to it (clearing it leaves the view alone)."""
    if not grid:
        return no_update
    area = _data.load_area(grid)
    bounds = _data.bounds_of(area.grids)
    return {"bounds": bounds, "transition": "flyToBounds"} if bounds else no_update


@callback(
    *[Output(layer.ident, "hideout") for layer in map_layers.styled()],
    Input("map-layers", "value"),
    Input("map-counts", "data"),
    Input("map-selection", "data"),
)
def style_layers(
    shown: list[str] | None, counts: dict[str, Any] | None, selection: dict[str, Any] | None
) -> tuple[Any, ...]:
    """Which layers are drawn, and the grids' colours: switching only changes ``hideout``."""
    selected = (selection or {}).get("code") if (selection or {}).get("kind") == "grid" else None
    state = map_layers.MapState(frozenset(shown or ()), counts or {}, selected)
    return tuple(map_layers.hideouts(state))


@callback(
    Output("map-layers", "options"),
    Input("map-order", "data"),
    Input("app-lang", "data"),
)
def list_layers(order: list[str] | None, lang: str | None) -> list[dict[str, Any]]:
    """The layer checklist, top layer first, with ↑↓ buttons."""
    rows = map_layers.rows(map_layers.normalise_order(order))
    return layer_options(rows, language=_lang(lang))


@callback(
    Output("map-order", "data"),
    Input({"type": MOVE, "layer": ALL, "step": ALL}, "n_clicks"),
    State("map-order", "data"),
    prevent_initial_call=True,
)
def move_layer(clicks: list[int | None], order: list[str] | None) -> Any:
    """↑ or ↓ moves a layer one place in the drawing order."""
    moved = ctx.triggered_id
    if not moved or not any(c for c in clicks or ()) or not ctx.triggered[0].get("value"):
        return no_update
    return map_layers.move(map_layers.normalise_order(order), moved["layer"], int(moved["step"]))


# The panes' z-index follows the order (in the browser: Leaflet's panes are plain divs).
clientside_callback(
    ClientsideFunction(namespace="pingan_map", function_name="orderPanes"),
    Output("map-order-applied", "data"),
    Input("map-order", "data"),
    prevent_initial_call=True,
)


@callback(
    Output("map-summary", "children"),
    Output("map-legend", "children"),
    Input("map-counts", "data"),
    Input("map-filter", "data"),
    Input("app-lang", "data"),
)
def describe(
    counts: dict[str, Any] | None, flt: dict[str, Any] | None, lang: str | None
) -> tuple[Any, Any]:
    """The filter's totals and the legend of the grid colours."""
    if not counts:
        return None, None
    language = _lang(lang)
    in_grids = sum(counts["counts"].values())
    summary = [
        html.Div(
            t("dashboard.map.summary", language=language, total=counts["total"], in_grids=in_grids)
        )
    ]
    hours = _data.IncidentFilter.from_json(flt).hours
    if hours:
        summary.append(
            html.Div(t("dashboard.map.hours_rule", language=language), className="muted small")
        )
    rows = _data.legend_rows(counts["classes"])
    return summary, legend(t("dashboard.map.legend", language=language), rows)


# -- the side panel -------------------------------------------------------------------------------


CAMERA_ZOOM = 17
"""Clicking a camera below this zoom flies to it, so that its field of view is visible."""


@callback(
    Output("map-selection", "data"),
    Output("map-map", "viewport", allow_duplicate=True),
    Input("map-grids", "clickData"),
    Input("map-cameras", "clickData"),
    Input("map-grid", "value"),
    State("map-map", "zoom"),
    prevent_initial_call=True,
)
def select(
    grid_feature: dict[str, Any] | None,
    camera_feature: dict[str, Any] | None,
    grid: str | None,
    zoom: float | None,
) -> tuple[Any, Any]:
    """What the side panel shows: the clicked grid or camera, or the grid chosen above."""
    trigger = ctx.triggered_id
    if trigger == "map-cameras" and camera_feature:
        lon, lat = camera_feature["geometry"]["coordinates"][:2]
        fly = {"center": [lat, lon], "zoom": CAMERA_ZOOM, "transition": "flyTo"}
        return {"kind": "camera", "feature": camera_feature}, (
            fly if (zoom or 0) < CAMERA_ZOOM - 1 else no_update
        )
    if trigger == "map-grids" and grid_feature:
        return {"kind": "grid", "code": grid_feature["properties"]["code"]}, no_update
    if trigger == "map-grid" and grid:
        return {"kind": "grid", "code": grid}, no_update
    return no_update, no_update


@callback(
    Output("map-selection", "data", allow_duplicate=True),
    Input("map-incidents-points", "clickData"),
    prevent_initial_call=True,
)
def select_incident(feature: dict[str, Any] | None) -> Any:
    """A clicked incident point (the street-zoom layer; its features carry ``id``)."""
    incident_id = ((feature or {}).get("properties") or {}).get("id")
    if incident_id is None:
        return no_update  # a cluster, not an incident
    return {"kind": "incident", "id": int(incident_id)}


@callback(
    Output("map-panel", "children"),
    Output("map-camera-view", "data"),
    Input("map-selection", "data"),
    Input("map-filter", "data"),
    Input("map-counts", "data"),
    Input("app-lang", "data"),
)
def show_panel(
    selection: dict[str, Any] | None,
    flt: dict[str, Any] | None,
    counts: dict[str, Any] | None,
    lang: str | None,
) -> tuple[Any, Any]:
    """The selected grid's, camera's or incident's panel (and the camera's field of view)."""
    language = _lang(lang)
    kind = (selection or {}).get("kind")
    if kind == "camera":
        feature = selection["feature"]  # type: ignore[index]
        view, shape = _data.camera_view(feature, srid=_data.database().storage_srid)
        return camera_panel(feature["properties"], shape=shape, language=language), view
    if kind == "incident":
        row = _data.load_incident(selection["id"])  # type: ignore[index]
        facts = _data.incident_facts(row, language=language) if row else None
        return incident_panel(facts, language=language), map_layers.EMPTY
    if kind == "grid":
        return _grid_panel(selection["code"], flt, counts, language), map_layers.EMPTY  # type: ignore[index]
    hint = html.P(t("dashboard.map.click_hint", language=language), id="map-panel-hint")
    return hint, map_layers.EMPTY


def _grid_panel(
    code: str, flt: dict[str, Any] | None, counts: dict[str, Any] | None, language: Language
) -> Any:
    properties = _data.load_grid(code)
    if properties is None:
        return html.P(t("dashboard.grid.unknown", language=language, code=code))
    incident_filter = _data.IncidentFilter.from_json(flt)
    details = _data.grid_details(
        properties,
        _data.load_staff(code),
        (counts or {}).get("counts", {}),
        _data.load_trend(code, incident_filter),
    )
    return grid_panel(details, language=language)
