"""总览 Overview: the chosen area's figures for a month, its risk-grade map (蓝黄橙红) with the
breakdown behind a clicked grade, and the open key areas.

The month list is the months with risk grades (``pingan analyze risk``); the figures come from
:func:`layers.kpis`, the grades from :func:`layers.read_risk_grades`, the key areas from
:func:`layers.read_key_areas`, all read with the area scope of the township and village
chosen. Shaping lives in :mod:`dashboard._analysis_data`. Component ids start with
``overview-``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, State, callback, dcc, html, no_update
from dash_extensions.javascript import Namespace

from dashboard import _analysis_data as ad
from dashboard import _data
from dashboard.app import choose_language as _lang
from dashboard.components import legend
from dashboard.components.analysis_map import analysis_map
from dashboard.components.area_picker import area_labels, area_picker
from dashboard.components.key_area_views import open_list
from dashboard.components.kpi_tiles import kpi_tiles
from dashboard.components.risk_panel import risk_panel
from gis.messages import t

dash.register_page(
    __name__,
    path="/overview",
    name="overview",
    title="平安网格 · 总览",
    order=0.1,  # after the map (0), before the data page (1)
    label_key="dashboard.nav.overview",
)

ns = Namespace("pingan", "analysis")

_LABELS = {
    "overview-label-area": "dashboard.overview.area",
    "overview-label-month": "dashboard.overview.month",
    "overview-label-level": "dashboard.overview.level",
    "overview-map-title": "dashboard.overview.map_title",
    "overview-open-title": "dashboard.overview.open_title",
    "overview-open-all": "dashboard.overview.open_all",
}

LEVELS = ("grid", "village", "township")


def _text(ident: str, tag: Any = html.Div, **kwargs: Any) -> Any:
    return tag(t(_LABELS[ident], language="zh"), id=ident, **kwargs)


def _controls() -> html.Aside:
    return html.Aside(
        [
            _text("overview-label-area", className="section-title"),
            *area_picker("overview"),
            _text("overview-label-month", html.Label),
            dcc.Dropdown(id="overview-month", clearable=False),
            _text("overview-label-level", html.Label),
            dcc.RadioItems(id="overview-level", value="grid", className="radio-list"),
            html.Div(id="overview-legend"),
            html.Div(id="overview-empty", className="notice"),
        ],
        className="map-filters analysis-controls",
    )


def layout(**_: Any) -> html.Div:
    """The page: controls on the left; the figures on top of the grade map; the clicked
    unit's breakdown and the open key areas on the right."""
    bounds = _data.bounds_of(_data.load_admin_units())
    return html.Div(
        [
            dcc.Store(id="overview-selected"),
            dcc.Store(id="overview-fitted"),  # the area scope the map was last fitted to
            _controls(),
            html.Main(
                [
                    html.Div(id="overview-kpis", className="kpi-holder"),
                    html.Div(
                        [
                            _text("overview-map-title", className="card-title"),
                            analysis_map(
                                "overview-map",
                                [
                                    (
                                        "overview-grades",
                                        dl.GeoJSON(
                                            id="overview-grades",
                                            style=ns("gradeStyle"),
                                            hideout={"colours": ad.GRADE_COLOURS, "selected": None},
                                            hoverStyle={"weight": 3, "color": "#111"},
                                        ),
                                    )
                                ],
                                view=ad.map_view(bounds),
                            ),
                        ],
                        className="card map-card",
                    ),
                ],
                className="analysis-main",
            ),
            html.Aside(
                [
                    html.Div(id="overview-panel"),
                    html.Div(
                        [
                            _text("overview-open-title", html.H4),
                            html.Div(id="overview-open"),
                            dcc.Link(
                                t(_LABELS["overview-open-all"], language="zh"),
                                href="/key-areas",
                                id="overview-open-all",
                                className="more-link",
                            ),
                        ],
                        className="panel open-areas",
                    ),
                ],
                className="map-panel analysis-side",
            ),
        ],
        className="analysis-page overview-page",
    )


# -- callbacks ----------------------------------------------------------------------------


@callback(
    *[Output(ident, "children") for ident in _LABELS],
    Output("overview-label-township", "children"),
    Output("overview-label-village", "children"),
    Output("overview-township", "placeholder"),
    Output("overview-village", "placeholder"),
    Output("overview-level", "options"),
    Input("app-lang", "data"),
)
def translate(lang: str | None) -> tuple[Any, ...]:
    """Every label of the page in the chosen language."""
    language = _lang(lang)
    township, village, everywhere = area_labels(language)
    levels = [
        {"label": t(f"dashboard.overview.level_{lv}", language=language), "value": lv}
        for lv in LEVELS
    ]
    return (
        *[t(key, language=language) for key in _LABELS.values()],
        township,
        village,
        everywhere,
        everywhere,
        levels,
    )


@callback(
    Output("overview-township", "options"),
    Output("overview-village", "options"),
    Output("overview-village", "value"),
    Input("overview-township", "value"),
    State("overview-village", "value"),
)
def area_options(township: str | None, village: str | None) -> tuple[Any, ...]:
    """Townships; the villages of the chosen township (a village elsewhere is cleared)."""
    return _data.area_options(township, village)


@callback(
    Output("overview-month", "options"),
    Output("overview-month", "value"),
    Input("app-lang", "data"),
    State("overview-month", "value"),
)
def months(_language: str | None, month: str | None) -> tuple[Any, Any]:
    """The graded months, newest first; the newest is chosen."""
    options = ad.month_options(ad.load_months())
    values = [o["value"] for o in options]
    return options, month if month in values else (values[0] if values else None)


@callback(
    Output("overview-kpis", "children"),
    Input("overview-township", "value"),
    Input("overview-village", "value"),
    Input("overview-month", "value"),
    Input("app-lang", "data"),
)
def show_kpis(
    township: str | None, village: str | None, month: str | None, lang: str | None
) -> Any:
    """The area's figures for the month."""
    language = _lang(lang)
    if not month:
        return html.P(t("dashboard.overview.no_months", language=language), className="data-hint")
    kpis = ad.load_kpis(ad.scope_of(township, village), month)
    return kpi_tiles(ad.kpi_tiles(kpis, language=language), language=language)


@callback(
    Output("overview-grades", "data"),
    Output("overview-map-boundaries", "data"),
    Output("overview-legend", "children"),
    Output("overview-empty", "children"),
    Output("overview-map", "viewport"),
    Output("overview-fitted", "data"),
    Input("overview-township", "value"),
    Input("overview-village", "value"),
    Input("overview-month", "value"),
    Input("overview-level", "value"),
    Input("app-lang", "data"),
    State("overview-fitted", "data"),
)
def show_grades(  # noqa: PLR0917 - Dash passes a callback's values by position
    township: str | None,
    village: str | None,
    month: str | None,
    level: str | None,
    lang: str | None,
    fitted: str | None,
) -> tuple[Any, ...]:
    """The grade map of the level and month in the area, with the legend of the four grades;
    the map is fitted to the area once per area (a month or level change keeps the view)."""
    language = _lang(lang)
    scope = ad.scope_of(township, village)
    units = _data.load_admin_units()
    outline = units[units["code"].astype(str).str.startswith(scope)] if scope else units
    boundaries = _data.feature_collection(outline, ["code", "name", "level"])
    if not month:
        empty = _data.feature_collection(outline.iloc[0:0])
        return empty, boundaries, None, None, no_update, no_update
    grades = ad.load_grades(scope, month, level or "grid")
    counts = ad.grade_counts(grades)
    title = t("dashboard.overview.legend", language=language, month=month[:7])
    bounds = _data.bounds_of(grades) if fitted != scope else None
    return (
        ad.grade_features(grades, language=language),
        boundaries,
        legend(title, ad.grade_legend(counts, language=language)),
        t("dashboard.overview.no_grades", language=language) if grades.empty else None,
        {"bounds": bounds, "transition": "flyToBounds"} if bounds else no_update,
        scope if bounds else no_update,
    )


@callback(
    Output("overview-selected", "data"),
    Input("overview-grades", "clickData"),
    prevent_initial_call=True,
)
def select(feature: dict[str, Any] | None) -> Any:
    """The clicked unit's code."""
    code = ((feature or {}).get("properties") or {}).get("code")
    return code or no_update


@callback(
    Output("overview-panel", "children"),
    Output("overview-grades", "hideout"),
    Input("overview-selected", "data"),
    Input("overview-township", "value"),
    Input("overview-village", "value"),
    Input("overview-month", "value"),
    Input("overview-level", "value"),
    Input("app-lang", "data"),
)
def show_panel(  # noqa: PLR0917 - Dash passes a callback's values by position
    code: str | None,
    township: str | None,
    village: str | None,
    month: str | None,
    level: str | None,
    lang: str | None,
) -> tuple[Any, dict[str, Any]]:
    """The clicked unit's grade with its factor breakdown and explanation."""
    language = _lang(lang)
    hideout = {"colours": ad.GRADE_COLOURS, "selected": code}
    hint = html.P(t("dashboard.overview.click_hint", language=language), id="overview-panel-hint")
    if not code or not month:
        return hint, hideout
    grades = ad.load_grades(ad.scope_of(township, village), month, level or "grid")
    row = ad.grade_row(grades, code)
    if row is None:
        return hint, {**hideout, "selected": None}
    panel = risk_panel(
        row,
        ad.factor_rows(row.get("factors"), language=language),
        explanation=ad.explanation(row.get("explanation"), language=language),
        language=language,
    )
    return panel, hideout


@callback(
    Output("overview-open", "children"),
    Input("overview-township", "value"),
    Input("overview-village", "value"),
    Input("app-lang", "data"),
)
def show_open(township: str | None, village: str | None, lang: str | None) -> Any:
    """The area's open key areas, overdue first."""
    language = _lang(lang)
    areas = ad.open_areas(ad.load_key_areas(ad.scope_of(township, village)))
    return open_list(ad.register_rows(areas, language=language), language=language)
