"""地图 Map: the workspace. Base layers of the chosen area, incidents counted per grid for the
filter, and a side panel for the clicked grid.

The layout is a static skeleton; the callbacks below fill it, each in a few lines, with the
data shaping in :mod:`dashboard._data` and the widgets in :mod:`dashboard.components`.
Component ids start with ``map-``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash_extensions.javascript import Namespace

from dashboard import _data
from dashboard.components import grid_panel, legend
from gis.messages import Language, t
from gis.settings import get_settings

dash.register_page(
    __name__, path="/", name="map", title="平安网格", order=0, label_key="dashboard.nav.map"
)

ns = Namespace("pingan", "map")

LAYERS = ("boundaries", "grids", "incidents", "cameras", "places")
"""The map's switchable layers, in the order of the checklist."""

# Panes fix the drawing order: grids at the bottom, then boundaries, places and cameras.
PANES = {"grids": 410, "boundaries": 420, "places": 430, "cameras": 440}

_EMPTY = {"type": "FeatureCollection", "features": []}
_LABELS = {
    "map-label-dates": "dashboard.map.dates",
    "map-label-category": "dashboard.map.category",
    "map-label-township": "dashboard.map.township",
    "map-label-village": "dashboard.map.village",
    "map-label-layers": "dashboard.map.layers",
    "map-group-button": "dashboard.map.group_button",
}


def _lang(value: Any) -> Language:
    return "en" if value == "en" else "zh"


def _pane(name: str, layer: Any) -> dl.Pane:
    return dl.Pane(layer, name=f"map-{name}", style={"zIndex": PANES[name]})


def _layer(name: str, **options: Any) -> dl.Pane:
    """A GeoJSON layer ``map-<name>`` in its own pane, empty until a callback fills it."""
    return _pane(name, dl.GeoJSON(id=f"map-{name}", data=_EMPTY, **options))


def _initial_view(bounds: list[list[float]] | None) -> dict[str, Any]:
    """Centre and zoom, plus the bounds to fit when there is data (react-leaflet needs a centre)."""
    if not bounds:
        return {"center": [30.0, 120.0], "zoom": 11}
    (south, west), (north, east) = bounds
    return {"center": [(south + north) / 2, (west + east) / 2], "zoom": 11, "bounds": bounds}


def _base_map(bounds: list[list[float]] | None) -> dl.Map:
    tile_url = get_settings().tile_url
    children: list[Any] = [dl.TileLayer(url=tile_url, attribution="")] if tile_url else []
    children += [
        _layer(
            "grids",
            style=ns("gridStyle"),
            filter=ns("gridVisible"),
            hideout={"counts": {}, "classes": [0], "colours": ["#f7f7f7"]},
            hoverStyle={"weight": 3, "color": "#0868ac"},
        ),
        _layer(
            "boundaries",
            style=ns("boundaryStyle"),
            filter=ns("visible"),
            hideout={"show": True},
            interactive=False,
        ),
        _layer(
            "places",
            pointToLayer=ns("placePoint"),
            style=ns("placeStyle"),
            filter=ns("visible"),
            hideout={"show": True, "pane": "map-places"},
        ),
        _layer(
            "cameras",
            pointToLayer=ns("cameraPoint"),
            filter=ns("visible"),
            hideout={"show": True, "colours": _data.STATUS_COLOURS, "pane": "map-cameras"},
        ),
        dl.ScaleControl(position="bottomleft", imperial=False),
    ]
    return dl.Map(
        id="map-map",
        # The county's extent from the first frame: no fit has to wait for a callback.
        **_initial_view(bounds),
        children=children,
        className="map-canvas",
        # Sized inline: Leaflet measures its container once, when it is created, which can be
        # before the stylesheet has arrived; a later fit would then use the wrong size.
        style={"flex": "1", "height": "calc(100vh - 40px)"},
        attributionControl=False,
    )


def _filters() -> html.Aside:
    def label(ident: str) -> html.Label:
        return html.Label(t(_LABELS[ident], language="zh"), id=ident)

    return html.Aside(
        [
            label("map-label-township"),
            dcc.Dropdown(id="map-township", clearable=True),
            label("map-label-village"),
            dcc.Dropdown(id="map-village", clearable=True),
            label("map-label-dates"),
            dcc.DatePickerRange(
                id="map-dates", display_format="YYYY-MM-DD", clearable=True, first_day_of_week=1
            ),
            label("map-label-category"),
            dcc.Dropdown(id="map-category", multi=True),
            html.Button(t(_LABELS["map-group-button"], language="zh"), id="map-group-button"),
            label("map-label-layers"),
            dcc.Checklist(id="map-layers", value=list(LAYERS), className="layer-list"),
            html.Div(id="map-summary", className="summary"),
            html.Div(id="map-legend"),
            html.Div(id="map-empty", className="notice"),
        ],
        className="map-filters",
    )


def layout(**_: Any) -> html.Div:
    """The page: filters on the left, the map, the grid panel on the right."""
    return html.Div(
        [
            dcc.Store(id="map-counts"),
            _filters(),
            _base_map(_data.bounds_of(_data.load_admin_units())),
            html.Aside(id="map-panel", className="map-panel"),
        ],
        className="map-page",
    )


# -- callbacks ----------------------------------------------------------------------------


@callback(
    *[Output(ident, "children") for ident in _LABELS],
    Output("map-category", "options"),
    Output("map-category", "placeholder"),
    Output("map-layers", "options"),
    Output("map-township", "placeholder"),
    Output("map-village", "placeholder"),
    Input("app-lang", "data"),
)
def translate(lang: str | None) -> tuple[Any, ...]:
    """Every label of the page in the chosen language."""
    language = _lang(lang)
    labels = [t(key, language=language) for key in _LABELS.values()]
    layer_options = [
        {"label": t(f"dashboard.map.layer_{name}", language=language), "value": name}
        for name in LAYERS
    ]
    return (
        *labels,
        _data.category_options(language=language),
        t("dashboard.map.category_all", language=language),
        layer_options,
        t("dashboard.map.all_areas", language=language),
        t("dashboard.map.all_areas", language=language),
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
    units = _data.load_admin_units()
    villages = _data.admin_options(units, level="village", parent=township) if township else []
    keep = village if village in {v["value"] for v in villages} else None
    # Only a real change of the village re-triggers the map (and its fit to the area).
    return (
        _data.admin_options(units, level="township"),
        villages,
        keep if keep != village else no_update,
    )


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
    Output("map-counts", "data"),
    Input("map-township", "value"),
    Input("map-village", "value"),
    Input("map-dates", "start_date"),
    Input("map-dates", "end_date"),
    Input("map-category", "value"),
)
def count_incidents(
    township: str | None,
    village: str | None,
    start: str | None,
    end: str | None,
    categories: list[str] | None,
) -> dict[str, Any]:
    """Incidents of the filter counted per grid (only the counts go to the browser)."""
    flt = _data.parse_filter(township, village, start, end, categories)
    counts, total = _data.load_counts(flt)
    return {"counts": counts, "total": total, "classes": _data.count_classes(counts)}


@callback(
    Output("map-grids", "hideout"),
    Output("map-boundaries", "hideout"),
    Output("map-cameras", "hideout"),
    Output("map-places", "hideout"),
    Input("map-layers", "value"),
    Input("map-counts", "data"),
)
def style_layers(shown: list[str] | None, counts: dict[str, Any] | None) -> tuple[Any, ...]:
    """Which layers are drawn, and the grids' colours: switching only changes ``hideout``."""
    on = set(shown or ())
    counts = counts or {"counts": {}, "classes": [0]}
    grids = {
        "counts": counts["counts"],
        "classes": counts["classes"],
        "colours": _data.colours_for(counts["classes"]),
        "outline": "grids" in on,
        "fill": "incidents" in on,
    }
    return (
        grids,
        {"show": "boundaries" in on},
        {"show": "cameras" in on, "colours": _data.STATUS_COLOURS, "pane": "map-cameras"},
        {"show": "places" in on, "pane": "map-places"},
    )


@callback(
    Output("map-summary", "children"),
    Output("map-legend", "children"),
    Input("map-counts", "data"),
    Input("app-lang", "data"),
)
def describe(counts: dict[str, Any] | None, lang: str | None) -> tuple[Any, Any]:
    """The filter's totals and the legend of the grid colours."""
    if not counts:
        return None, None
    language = _lang(lang)
    in_grids = sum(counts["counts"].values())
    summary = t(
        "dashboard.map.summary", language=language, total=counts["total"], in_grids=in_grids
    )
    rows = _data.legend_rows(counts["classes"])
    return summary, legend(t("dashboard.map.legend", language=language), rows)


@callback(
    Output("map-category", "value"),
    Input("map-group-button", "n_clicks"),
    prevent_initial_call=True,
)
def choose_group(_clicks: int | None) -> list[str]:
    """One click selects the whole 两抢一盗 group."""
    return [_data.GROUP]


@callback(
    Output("map-panel", "children"),
    Input("map-grids", "clickData"),
    Input("map-counts", "data"),
    Input("app-lang", "data"),
)
def show_grid(
    feature: dict[str, Any] | None, counts: dict[str, Any] | None, lang: str | None
) -> Any:
    """The clicked grid's panel, or a hint while none is clicked."""
    language = _lang(lang)
    if not feature or "code" not in feature.get("properties", {}):
        return html.P(t("dashboard.map.click_hint", language=language), id="map-panel-hint")
    code = feature["properties"]["code"]
    details = _data.grid_details(
        feature["properties"], _data.load_staff(code), (counts or {}).get("counts", {})
    )
    return grid_panel(details, language=language)
