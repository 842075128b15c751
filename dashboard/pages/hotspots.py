"""热点 Hotspots: run an analysis in the background, or choose an earlier run, and read it:
the cells coloured by Gi_Bin (or by emerging category), the clusters as polygons, the run
log, the hour × weekday heat table and the near-repeat (Knox) table.

A run is one background job (:mod:`dashboard._jobs`, the Data page's registry) that calls
``layers.refresh_hotspots`` (or ``refresh_emerging``), then ``refresh_clusters``,
``refresh_profile`` and ``refresh_near_repeat`` for the same area, period and categories,
and returns their run ids. An earlier run is shown with the runs of the other kinds made for
the same area, period and categories (:func:`dashboard._analysis_data.companion_runs`).
Component ids start with ``hotspots-``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash_extensions.javascript import Namespace

from dashboard import _data, _jobs
from dashboard import _hotspot_data as ad
from dashboard._analysis_data import map_view, scope_of
from dashboard.app import choose_language as _lang
from dashboard.components import error_box, legend, progress_bar
from dashboard.components.analysis_map import analysis_map
from dashboard.components.analysis_views import heat_graph, knox_view, run_log
from dashboard.components.area_picker import area_labels, area_picker
from dashboard.components.facts import facts_table
from gis.messages import t

dash.register_page(
    __name__,
    path="/hotspots",
    name="hotspots",
    title="平安网格 · 热点",
    order=0.2,  # after the overview, before the data page (1)
    label_key="dashboard.nav.hotspots",
)

ns = Namespace("pingan", "analysis")

POLL_MS = 500
"""How often a running analysis is asked for its progress (milliseconds)."""

_LABELS = {
    "hotspots-label-area": "dashboard.hotspots.area",
    "hotspots-label-run": "dashboard.hotspots.new_run",
    "hotspots-label-dates": "dashboard.map.dates",
    "hotspots-label-category": "dashboard.map.category",
    "hotspots-label-method": "dashboard.hotspots.method",
    "hotspots-label-unit": "dashboard.hotspots.unit",
    "hotspots-label-resolution": "dashboard.hotspots.resolution",
    "hotspots-label-cell": "dashboard.hotspots.cell_size",
    "hotspots-label-alpha": "dashboard.hotspots.alpha",
    "hotspots-run-button": "dashboard.hotspots.run_button",
    "hotspots-label-earlier": "dashboard.hotspots.earlier",
    "hotspots-log-title": "dashboard.hotspots.log_title",
    "hotspots-heat-title": "dashboard.hotspots.heat_title",
    "hotspots-knox-title": "dashboard.hotspots.knox_title",
}

METHODS = ("gi", "optimized", "emerging")
UNITS = ("grid", "h3", "fishnet")


def _text(ident: str, tag: Any = html.Label, **kwargs: Any) -> Any:
    return tag(t(_LABELS[ident], language="zh"), id=ident, **kwargs)


def _controls() -> html.Aside:
    return html.Aside(
        [
            _text("hotspots-label-area", html.Div, className="section-title"),
            *area_picker("hotspots"),
            _text("hotspots-label-run", html.Div, className="section-title"),
            _text("hotspots-label-dates"),
            dcc.DatePickerRange(
                id="hotspots-dates",
                display_format="YYYY-MM-DD",
                clearable=True,
                first_day_of_week=1,
            ),
            _text("hotspots-label-category"),
            # Options from the start, so that the default value is never dropped as unknown.
            dcc.Dropdown(
                id="hotspots-category",
                multi=True,
                options=_data.category_options(language="zh"),
                value=[_data.GROUP],
            ),
            _text("hotspots-label-method"),
            dcc.RadioItems(id="hotspots-method", value="gi", className="radio-list"),
            _text("hotspots-label-unit"),
            dcc.RadioItems(id="hotspots-unit", value="grid", className="radio-list inline"),
            html.Div(
                [
                    html.Div(
                        [
                            _text("hotspots-label-resolution"),
                            dcc.Dropdown(
                                id="hotspots-resolution",
                                options=[{"label": str(r), "value": r} for r in range(7, 11)],
                                value=9,
                                clearable=False,
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            _text("hotspots-label-cell"),
                            dcc.Input(
                                id="hotspots-cell", type="number", min=50, step=50, debounce=True
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            _text("hotspots-label-alpha"),
                            dcc.Dropdown(
                                id="hotspots-alpha",
                                options=[{"label": str(a), "value": a} for a in (0.1, 0.05, 0.01)],
                                value=0.05,
                                clearable=False,
                            ),
                        ]
                    ),
                ],
                className="option-grid",
            ),
            _text("hotspots-run-button", html.Button, className="primary-button"),
            html.Div(id="hotspots-progress"),
            _text("hotspots-label-earlier", html.Div, className="section-title"),
            dcc.Dropdown(id="hotspots-run", clearable=True),
        ],
        className="map-filters analysis-controls",
    )


def layout(**_: Any) -> html.Div:
    """The page: controls on the left; the map over the heat and Knox tables; the run's facts
    and log on the right."""
    bounds = _data.bounds_of(_data.load_admin_units())
    return html.Div(
        [
            dcc.Store(id="hotspots-job"),
            dcc.Store(id="hotspots-runs"),  # {kind: run id} of the analysis shown
            dcc.Store(id="hotspots-finished"),  # the cells run of the job that just ended
            dcc.Interval(id="hotspots-poll", interval=POLL_MS, disabled=True),
            _controls(),
            html.Main(
                [
                    html.Div(
                        [
                            analysis_map(
                                "hotspots-map",
                                [
                                    (
                                        "hotspots-cells",
                                        dl.GeoJSON(
                                            id="hotspots-cells",
                                            style=ns("cellStyle"),
                                            hideout={"kind": "hotspots"},
                                            hoverStyle={"weight": 2, "color": "#111"},
                                        ),
                                    ),
                                    (
                                        "hotspots-clusters",
                                        dl.GeoJSON(
                                            id="hotspots-clusters", style=ns("clusterStyle")
                                        ),
                                    ),
                                ],
                                view=map_view(bounds),
                            ),
                            html.Div(id="hotspots-legend", className="map-legend-box"),
                        ],
                        className="card map-card hotspots-map-card",
                    ),
                    html.Div(
                        [
                            html.Div(
                                [
                                    _text("hotspots-heat-title", html.Div, className="card-title"),
                                    html.Div(id="hotspots-heat"),
                                ],
                                className="card heat-card",
                            ),
                            html.Div(
                                [
                                    _text("hotspots-knox-title", html.Div, className="card-title"),
                                    html.Div(id="hotspots-knox"),
                                ],
                                className="card knox-card",
                            ),
                        ],
                        className="card-row",
                    ),
                ],
                className="analysis-main",
            ),
            html.Aside(
                [
                    html.Div(id="hotspots-facts"),
                    _text("hotspots-log-title", html.H4),
                    html.Div(id="hotspots-log"),
                ],
                className="map-panel analysis-side panel",
            ),
        ],
        className="analysis-page hotspots-page",
    )


# -- labels and choices -------------------------------------------------------------------------


@callback(
    *[Output(ident, "children") for ident in _LABELS],
    Output("hotspots-label-township", "children"),
    Output("hotspots-label-village", "children"),
    Output("hotspots-township", "placeholder"),
    Output("hotspots-village", "placeholder"),
    Output("hotspots-category", "options"),
    Output("hotspots-method", "options"),
    Output("hotspots-run", "placeholder"),
    Output("hotspots-cell", "placeholder"),
    Input("app-lang", "data"),
)
def translate(lang: str | None) -> tuple[Any, ...]:
    """Every label of the page in the chosen language."""
    language = _lang(lang)
    township, village, everywhere = area_labels(language)

    def options(prefix: str, values: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"label": t(f"{prefix}{v}", language=language), "value": v} for v in values]

    return (
        *[t(key, language=language) for key in _LABELS.values()],
        township,
        village,
        everywhere,
        everywhere,
        _data.category_options(language=language),
        options("dashboard.hotspots.method_", METHODS),
        t("dashboard.hotspots.earlier_placeholder", language=language),
        t("dashboard.hotspots.cell_auto", language=language),
    )


@callback(
    Output("hotspots-township", "options"),
    Output("hotspots-village", "options"),
    Output("hotspots-village", "value"),
    Input("hotspots-township", "value"),
    State("hotspots-village", "value"),
)
def area_options(township: str | None, village: str | None) -> tuple[Any, ...]:
    """Townships; the villages of the chosen township (a village elsewhere is cleared)."""
    return _data.area_options(township, village)


@callback(
    Output("hotspots-resolution", "disabled"),
    Output("hotspots-cell", "disabled"),
    Output("hotspots-unit", "options"),
    Input("hotspots-method", "value"),
    Input("hotspots-unit", "value"),
    Input("app-lang", "data"),
)
def method_options(method: str | None, unit: str | None, lang: str | None) -> tuple[Any, ...]:
    """The unit choices; the H3 resolution applies to H3 cells and the cell size to a
    fishnet (the optimised mode chooses its own)."""
    language = _lang(lang)
    units = [
        {
            "label": t(f"dashboard.hotspots.unit_{u}", language=language),
            "value": u,
        }
        for u in UNITS
    ]
    return unit != "h3", unit != "fishnet" or method == "optimized", units


@callback(
    Output("hotspots-run", "options"),
    Output("hotspots-run", "value"),
    Input("hotspots-township", "value"),
    Input("hotspots-village", "value"),
    Input("hotspots-finished", "data"),
    Input("app-lang", "data"),
    State("hotspots-run", "value"),
)
def run_choices(
    township: str | None,
    village: str | None,
    finished: int | None,
    lang: str | None,
    chosen: Any,
) -> tuple[Any, Any]:
    """Earlier runs in the area, newest first; the newest is chosen until the user picks, and
    a run just finished here is chosen."""
    options = ad.run_options(ad.load_runs(scope_of(township, village)), language=_lang(lang))
    values = [o["value"] for o in options]
    if ctx.triggered_id == "hotspots-finished" and finished in values:
        return options, finished
    if chosen in values:
        return options, no_update
    return options, values[0] if values else None


# -- running an analysis ------------------------------------------------------------------------


@callback(
    Output("hotspots-job", "data"),
    Output("hotspots-poll", "disabled"),
    Input("hotspots-run-button", "n_clicks"),
    State("hotspots-township", "value"),
    State("hotspots-village", "value"),
    State("hotspots-dates", "start_date"),
    State("hotspots-dates", "end_date"),
    State("hotspots-category", "value"),
    State("hotspots-method", "value"),
    State("hotspots-unit", "value"),
    State("hotspots-resolution", "value"),
    State("hotspots-cell", "value"),
    State("hotspots-alpha", "value"),
    State("app-lang", "data"),
    prevent_initial_call=True,
)
def start_run(  # noqa: PLR0917 - Dash passes a callback's values by position
    clicks: int | None,
    township: str | None,
    village: str | None,
    start: str | None,
    end: str | None,
    categories: list[str] | None,
    method: str | None,
    unit: str | None,
    resolution: Any,
    cell: Any,
    alpha: Any,
    lang: str | None,
) -> tuple[Any, Any]:
    """Start the analysis in the background and poll it."""
    if not clicks:
        return no_update, no_update
    options = ad.parse_analysis(
        township, village, start, end, categories,
        method=method, unit=unit, resolution=resolution, cell_size_m=cell, alpha=alpha,
    )  # fmt: skip
    job = _jobs.start(
        ad.JOB_FOLDER, ad.analysis_work(options), language=_lang(lang), kind="analysis"
    )
    return {"id": job, "options": options.as_dict()}, False


@callback(
    Output("hotspots-progress", "children"),
    Output("hotspots-poll", "disabled", allow_duplicate=True),
    Output("hotspots-runs", "data"),
    Output("hotspots-run-button", "disabled"),
    Output("hotspots-finished", "data"),
    Input("hotspots-poll", "n_intervals"),
    Input("hotspots-job", "data"),
    Input("app-lang", "data"),
    prevent_initial_call=True,
)
def poll_run(_n: int | None, job: dict[str, Any] | None, lang: str | None) -> tuple[Any, ...]:
    """The running analysis's progress; when it is done, its runs are shown."""
    language = _lang(lang)
    state = _jobs.status(ad.JOB_FOLDER, job["id"]) if job else None
    if state is None:
        return None, True, no_update, False, no_update
    if state["state"] == _jobs.RUNNING:
        bar = progress_bar(state["stage"], state["fraction"], ident="hotspots-progress-bar")
        return bar, False, no_update, True, no_update
    if state["state"] == _jobs.FAILED:
        error = error_box(state["error"], language=language, ident="hotspots-error")
        return error, True, no_update, False, no_update
    done = html.P(
        t("dashboard.hotspots.done", language=language, id=state["result"]["cells"]),
        className="muted small",
        id="hotspots-done",
    )
    return done, True, state["result"], False, state["result"]["cells"]


# -- showing a run ----------------------------------------------------------------------------


@callback(
    Output("hotspots-runs", "data", allow_duplicate=True),
    Input("hotspots-run", "value"),
    State("hotspots-runs", "data"),
    prevent_initial_call="initial_duplicate",
)
def choose_run(run_id: int | None, shown: dict[str, Any] | None) -> Any:
    """An earlier run, with the clusters, profile and near-repeat runs made alongside it."""
    if run_id is None or (shown and shown.get("cells") == run_id):
        return no_update
    run = ad.run_record(ad.load_run(run_id))
    companions = ad.companion_runs(ad.load_runs(run["area_code"]), run)
    return {"cells": run_id, run["kind"]: run_id, **companions}


@callback(
    Output("hotspots-cells", "data"),
    Output("hotspots-cells", "hideout"),
    Output("hotspots-clusters", "data"),
    Output("hotspots-map-boundaries", "data"),
    Output("hotspots-legend", "children"),
    Output("hotspots-facts", "children"),
    Output("hotspots-log", "children"),
    Output("hotspots-map", "viewport"),
    Input("hotspots-runs", "data"),
    Input("app-lang", "data"),
)
def show_run(runs: dict[str, Any] | None, lang: str | None) -> tuple[Any, ...]:
    """The cells (by Gi_Bin or emerging category), the clusters, the legend, the run's
    parameters and summary, and its log."""
    language = _lang(lang)
    units = _data.load_admin_units()
    boundaries = _data.feature_collection(units, ["code", "name", "level"])
    empty = _data.feature_collection(units.iloc[0:0])
    if not runs or not runs.get("cells"):
        hint = html.P(t("dashboard.hotspots.no_run", language=language), className="data-hint")
        return empty, {"kind": "hotspots"}, empty, boundaries, None, hint, None, no_update
    run = ad.load_run(runs["cells"])
    cells = ad.load_cells(run.id)
    clusters = ad.load_clusters(runs["clusters"]) if runs.get("clusters") else None
    kind = "emerging" if run.kind == "emerging" else "hotspots"
    title = t(f"dashboard.hotspots.legend_{kind}", language=language)
    rows = ad.cell_legend(cells, kind=kind, language=language)
    if clusters is not None and len(clusters):
        rows.append(
            (
                "transparent",
                t("dashboard.hotspots.legend_cluster", language=language, n=len(clusters)),
            )
        )
    facts = [
        (
            "dashboard.hotspots.f_run",
            ad.run_label(ad.run_record(run), language=language),
            "hotspots-f-run",
        ),
        ("dashboard.hotspots.f_cells", str(len(cells)), "hotspots-f-cells"),
        (
            "dashboard.hotspots.f_hot",
            str(int((cells["bin"].fillna(0) > 0).sum()) if len(cells) else 0),
            "hotspots-f-hot",
        ),
        (
            "dashboard.hotspots.f_clusters",
            str(len(clusters)) if clusters is not None else "—",
            "hotspots-f-clusters",
        ),
    ]
    children = [
        html.H3(t(f"dashboard.hotspots.kind_{run.kind}", language=language)),
        facts_table(facts, language=language),
    ]
    bounds = _data.bounds_of(cells)
    return (
        ad.cell_features(cells, kind=kind, language=language),
        {"kind": kind},
        ad.cluster_features(clusters, language=language) if clusters is not None else empty,
        boundaries,
        legend(title, rows),
        children,
        run_log(ad.log_lines(run.log, language=language), ident="hotspots-log-lines"),
        {"bounds": bounds, "transition": "flyToBounds"} if bounds else no_update,
    )


@callback(
    Output("hotspots-heat", "children"),
    Output("hotspots-knox", "children"),
    Input("hotspots-runs", "data"),
    Input("app-lang", "data"),
)
def show_tables(runs: dict[str, Any] | None, lang: str | None) -> tuple[Any, Any]:
    """The hour × weekday heat table and the Knox table of the shown analysis."""
    language = _lang(lang)
    none = html.P(t("dashboard.hotspots.no_table", language=language), className="muted")
    heat: Any = none
    knox: Any = none
    if runs and runs.get("profile"):
        result = ad.load_run(runs["profile"]).result
        table = ad.profile_table(result)
        if table is not None:
            peak = ad.peak_text(result, language=language)
            heat = [
                heat_graph(
                    ad.profile_figure(table, language=language), ident="hotspots-heat-graph"
                ),
                html.P(peak, className="muted small", id="hotspots-peak") if peak else None,
            ]
    if runs and runs.get("near_repeat"):
        run = ad.load_run(runs["near_repeat"])
        table = ad.knox_table(
            run.result,
            language=language,
            permutations=(run.params or {}).get("permutations"),
            n_incidents=(run.summary or {}).get("incidents"),
        )
        if table is not None:
            knox = knox_view(table, language=language)
    return heat, knox
