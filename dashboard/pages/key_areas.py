"""重点地区 Key areas: the register, and for one area its workflow 发现 → 挂牌 → 整治中 → 摘牌
(deadline, responsible unit, notes), its history and its evidence map and figures.

The register is :func:`layers.read_key_areas` in the chosen area; a move is
:func:`layers.transition_key_area`, which enforces the workflow (a refused move shows the
layer's message in both languages). ``/key-areas?id=7`` opens area 7 (the overview links
there). Component ids start with ``keyareas-``.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash_extensions.javascript import Namespace

from dashboard import _analysis_data as ad
from dashboard import _data
from dashboard.app import choose_language as _lang
from dashboard.components.analysis_map import analysis_map
from dashboard.components.area_picker import area_labels, area_picker
from dashboard.components.key_area_views import (
    PICK,
    evidence_table,
    history_table,
    register_table,
    workflow_bar,
)
from gis.errors import PinganError
from gis.messages import t

dash.register_page(
    __name__,
    path="/key-areas",
    name="key_areas",
    title="平安网格 · 重点地区",
    order=0.3,  # after the hotspots, before the data page (1)
    label_key="dashboard.nav.key_areas",
)

ns = Namespace("pingan", "analysis")

_LABELS = {
    "keyareas-label-area": "dashboard.keyareas.area",
    "keyareas-label-status": "dashboard.keyareas.status_filter",
    "keyareas-register-title": "dashboard.keyareas.register_title",
    "keyareas-map-title": "dashboard.keyareas.map_title",
    "keyareas-label-to": "dashboard.keyareas.move_to",
    "keyareas-label-deadline": "dashboard.keyareas.deadline",
    "keyareas-label-unit": "dashboard.keyareas.unit",
    "keyareas-label-note": "dashboard.keyareas.note",
    "keyareas-label-actor": "dashboard.keyareas.actor",
    "keyareas-submit": "dashboard.keyareas.submit",
    "keyareas-form-title": "dashboard.keyareas.form_title",
    "keyareas-evidence-title": "dashboard.keyareas.evidence_title",
    "keyareas-history-title": "dashboard.keyareas.history_title",
}


def _text(ident: str, tag: Any = html.Label, **kwargs: Any) -> Any:
    return tag(t(_LABELS[ident], language="zh"), id=ident, **kwargs)


def _selected_id(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _controls() -> html.Aside:
    return html.Aside(
        [
            _text("keyareas-label-area", html.Div, className="section-title"),
            *area_picker("keyareas"),
            _text("keyareas-label-status", html.Div, className="section-title"),
            dcc.Checklist(
                id="keyareas-status",
                value=["found", "listed", "remediating"],
                className="radio-list",
            ),
            dcc.Checklist(id="keyareas-overdue", value=[], className="radio-list overdue-only"),
            html.Div(id="keyareas-counts", className="summary"),
        ],
        className="map-filters analysis-controls",
    )


def _form() -> html.Div:
    return html.Div(
        [
            _text("keyareas-form-title", html.H4),
            html.Div(
                [
                    html.Div(
                        [
                            _text("keyareas-label-to"),
                            dcc.Dropdown(id="keyareas-to", clearable=False),
                        ]
                    ),
                    html.Div(
                        [
                            _text("keyareas-label-deadline"),
                            # The browser's own date field: ISO dates, typed or picked.
                            dcc.Input(id="keyareas-deadline", type="date", className="text-input"),
                        ]
                    ),
                ],
                className="option-grid two",
            ),
            _text("keyareas-label-unit"),
            dcc.Input(id="keyareas-unit", type="text", className="text-input"),
            _text("keyareas-label-note"),
            dcc.Textarea(id="keyareas-note", className="text-input note-input"),
            _text("keyareas-label-actor"),
            dcc.Input(id="keyareas-actor", type="text", className="text-input"),
            _text("keyareas-submit", html.Button, className="primary-button"),
            html.Div(id="keyareas-message"),
        ],
        id="keyareas-form",
        className="ka-form",
    )


def layout(id: Any = None, **_: Any) -> html.Div:
    """The page: controls on the left; the register over the evidence map; the chosen area's
    workflow, form, evidence and history on the right."""
    bounds = _data.bounds_of(_data.load_admin_units())
    return html.Div(
        [
            dcc.Store(id="keyareas-selected", data=_selected_id(id)),
            dcc.Store(id="keyareas-refresh", data=0),
            _controls(),
            html.Main(
                [
                    html.Div(
                        [
                            _text("keyareas-register-title", html.Div, className="card-title"),
                            html.Div(id="keyareas-register", className="register-scroll"),
                        ],
                        className="card register-card",
                    ),
                    html.Div(
                        [
                            _text("keyareas-map-title", html.Div, className="card-title"),
                            analysis_map(
                                "keyareas-map",
                                [
                                    (
                                        "keyareas-areas",
                                        dl.GeoJSON(
                                            id="keyareas-areas",
                                            style=ns("keyAreaStyle"),
                                            hideout={
                                                "colours": ad.STATUS_COLOURS,
                                                "selected": None,
                                            },
                                        ),
                                    ),
                                    (
                                        "keyareas-incidents",
                                        dl.GeoJSON(
                                            id="keyareas-incidents",
                                            pointToLayer=ns("incidentPoint"),
                                            hideout={"pane": "keyareas-incidents"},
                                        ),
                                    ),
                                    (
                                        "keyareas-place",
                                        dl.GeoJSON(
                                            id="keyareas-place",
                                            pointToLayer=ns("placePoint"),
                                            hideout={"pane": "keyareas-place"},
                                        ),
                                    ),
                                ],
                                view=ad.map_view(bounds),
                            ),
                        ],
                        className="card map-card keyareas-map-card",
                    ),
                ],
                className="analysis-main",
            ),
            html.Aside(
                [
                    html.Div(id="keyareas-detail"),
                    html.Div(_form(), id="keyareas-form-holder"),
                    _text("keyareas-evidence-title", html.H4),
                    html.Div(id="keyareas-evidence-holder"),
                    _text("keyareas-history-title", html.H4),
                    html.Div(id="keyareas-history-holder"),
                ],
                className="map-panel analysis-side panel",
            ),
        ],
        className="analysis-page keyareas-page",
    )


# -- labels and the register --------------------------------------------------------------------


@callback(
    *[Output(ident, "children") for ident in _LABELS],
    Output("keyareas-label-township", "children"),
    Output("keyareas-label-village", "children"),
    Output("keyareas-township", "placeholder"),
    Output("keyareas-village", "placeholder"),
    Output("keyareas-status", "options"),
    Output("keyareas-overdue", "options"),
    Output("keyareas-to", "options"),
    Output("keyareas-unit", "placeholder"),
    Input("app-lang", "data"),
)
def translate(lang: str | None) -> tuple[Any, ...]:
    """Every label of the page in the chosen language."""
    language = _lang(lang)
    township, village, everywhere = area_labels(language)
    statuses = [{"label": ad.status_label(s, language=language), "value": s} for s in ad.STATUSES]
    return (
        *[t(key, language=language) for key in _LABELS.values()],
        township,
        village,
        everywhere,
        everywhere,
        statuses,
        [{"label": t("dashboard.keyareas.overdue_only", language=language), "value": "overdue"}],
        statuses,
        t("dashboard.keyareas.unit_placeholder", language=language),
    )


@callback(
    Output("keyareas-township", "options"),
    Output("keyareas-village", "options"),
    Output("keyareas-village", "value"),
    Input("keyareas-township", "value"),
    State("keyareas-village", "value"),
)
def area_options(township: str | None, village: str | None) -> tuple[Any, ...]:
    """Townships; the villages of the chosen township (a village elsewhere is cleared)."""
    return _data.area_options(township, village)


@callback(
    Output("keyareas-register", "children"),
    Output("keyareas-counts", "children"),
    Output("keyareas-areas", "data"),
    Output("keyareas-map-boundaries", "data"),
    Output("keyareas-map", "viewport", allow_duplicate=True),
    Input("keyareas-township", "value"),
    Input("keyareas-village", "value"),
    Input("keyareas-status", "value"),
    Input("keyareas-overdue", "value"),
    Input("keyareas-refresh", "data"),
    Input("keyareas-selected", "data"),
    Input("app-lang", "data"),
    prevent_initial_call="initial_duplicate",
)
def show_register(  # noqa: PLR0917 - Dash passes a callback's values by position
    township: str | None,
    village: str | None,
    statuses: list[str] | None,
    overdue: list[str] | None,
    _refresh: int | None,
    selected: int | None,
    lang: str | None,
) -> tuple[Any, ...]:
    """The register of the area, filtered by status (overdue rows first and highlighted),
    the counts per status, and the areas on the evidence map."""
    language = _lang(lang)
    every = ad.load_key_areas(ad.scope_of(township, village))
    shown = ad.filter_register(every, statuses=statuses, overdue_only=bool(overdue))
    rows = ad.register_rows(shown, language=language)
    counts = every["status"].value_counts() if len(every) else {}
    n_overdue = int(every["overdue"].fillna(False).astype(bool).sum()) if len(every) else 0
    summary = [
        html.Div(
            f"{ad.status_label(s, language=language)}: {int(counts.get(s, 0))}",
            className=f"count-line ka-{s}",
        )
        for s in ad.STATUSES
    ]
    summary.append(
        html.Div(
            t("dashboard.keyareas.overdue_count", language=language, n=n_overdue),
            className="count-line overdue-count" if n_overdue else "count-line",
            id="keyareas-overdue-count",
        )
    )
    units = _data.load_admin_units()
    # Fitted to the area's key areas when the page opens (unless one is chosen) and when the
    # area changes.
    opening = ctx.triggered_id is None and selected is None
    refit = opening or ctx.triggered_id in ("keyareas-township", "keyareas-village")
    bounds = (_data.bounds_of(every) or _data.bounds_of(units)) if refit else None
    return (
        register_table(rows, selected=selected, language=language),
        summary,
        ad.key_area_features(shown, language=language),
        _data.feature_collection(units, ["code", "name", "level"]),
        {"bounds": bounds, "transition": "fitBounds"} if bounds else no_update,
    )


@callback(
    Output("keyareas-selected", "data", allow_duplicate=True),
    Input({"type": PICK, "id": ALL}, "n_clicks"),
    Input("keyareas-areas", "clickData"),
    prevent_initial_call=True,
)
def pick(_clicks: list[int | None], feature: dict[str, Any] | None) -> Any:
    """The area whose name was clicked in the register, or on the map."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        # Re-drawn buttons report n_clicks=None: only a real click chooses.
        return trigger["id"] if ctx.triggered[0]["value"] else no_update
    ident = ((feature or {}).get("properties") or {}).get("id")
    return int(ident) if ident is not None else no_update


# -- one area -----------------------------------------------------------------------------------


@callback(
    Output("keyareas-detail", "children"),
    Output("keyareas-form", "style"),
    Output("keyareas-to", "value"),
    Output("keyareas-deadline", "value"),
    Output("keyareas-unit", "value"),
    Output("keyareas-evidence-holder", "children"),
    Output("keyareas-history-holder", "children"),
    Output("keyareas-incidents", "data"),
    Output("keyareas-place", "data"),
    Output("keyareas-areas", "hideout"),
    Output("keyareas-map", "viewport"),
    Input("keyareas-selected", "data"),
    Input("keyareas-refresh", "data"),
    Input("app-lang", "data"),
    State("keyareas-township", "value"),
    State("keyareas-village", "value"),
)
def show_area(
    selected: int | None,
    _refresh: int | None,
    lang: str | None,
    township: str | None,
    village: str | None,
) -> tuple[Any, ...]:
    """The chosen area: name, reason, workflow bar, the form's defaults (the next status, the
    current deadline and unit), its evidence figures and map, and its history."""
    language = _lang(lang)
    hideout = {"colours": ad.STATUS_COLOURS, "selected": selected}
    empty = {"type": "FeatureCollection", "features": []}
    areas = ad.load_key_areas(ad.scope_of(township, village)) if selected is not None else None
    mine = areas[areas["id"] == selected] if areas is not None and len(areas) else None
    if mine is None or mine.empty:
        hint = html.P(t("dashboard.keyareas.pick_hint", language=language), id="keyareas-hint")
        return (
            hint,
            {"display": "none"},
            None,
            None,
            None,
            None,
            None,
            empty,
            empty,
            hideout,
            no_update,
        )
    area = mine.iloc[0]
    evidence = area.get("evidence") or {}
    reason = area.get("reason_en" if language == "en" else "reason_zh") or area.get("reason_zh")
    detail = html.Div(
        [
            html.H3(area.get("name") or f"#{selected}", id="keyareas-detail-name"),
            html.P(
                [ad.rule_label(area.get("rule"), language=language), " · ", reason],
                className="muted",
            ),
            html.Div(
                t(
                    "dashboard.keyareas.overdue_banner",
                    language=language,
                    deadline=ad.date_text(area.get("deadline")),
                ),
                className="overdue-banner",
            )
            if bool(area.get("overdue"))
            else None,
            workflow_bar(ad.workflow_steps(area["status"], language=language)),
        ]
    )
    scope = _evidence_scope(area.geometry)
    incidents = ad.load_evidence_incidents(area.geometry, scope, evidence)
    place = _place_of(evidence, scope)
    history = ad.history_rows(ad.load_history(selected), language=language)
    bounds = _data.bounds_of(mine)
    return (
        detail,
        {"display": "none"} if area["status"] == "delisted" else {},
        ad.next_status(area["status"]) or area["status"],
        ad.date_text(area.get("deadline")),
        ad.clean(area.get("responsible_unit")),
        evidence_table(ad.evidence_facts(evidence, language=language)),
        history_table(history, language=language),
        _data.feature_collection(incidents, ["id", "category"]),
        _data.feature_collection(place, ["name", "kind"]) if place is not None else empty,
        hideout,
        {"bounds": bounds, "transition": "fitBounds"} if bounds else no_update,
    )


def _evidence_scope(geometry: Any) -> str:
    """The narrowest admin scope around an area: the common prefix of the grids it touches."""
    grids = _data.load_area("").grids
    if grids.empty or geometry is None:
        return ""
    touching = grids[grids.intersects(geometry)]
    return ad.common_scope(touching["code"].astype(str))


def _place_of(evidence: dict[str, Any], scope: str) -> Any:
    source_id = evidence.get("place_source_id")
    if not source_id:
        return None
    places = _data.load_area(scope).places
    if places.empty:
        return None
    return places[places["source_id"].astype(str) == str(source_id)]


@callback(
    Output("keyareas-message", "children"),
    Output("keyareas-refresh", "data"),
    Output("keyareas-note", "value"),
    Input("keyareas-submit", "n_clicks"),
    State("keyareas-selected", "data"),
    State("keyareas-to", "value"),
    State("keyareas-deadline", "value"),
    State("keyareas-unit", "value"),
    State("keyareas-note", "value"),
    State("keyareas-actor", "value"),
    State("keyareas-refresh", "data"),
    State("app-lang", "data"),
    prevent_initial_call=True,
)
def submit(  # noqa: PLR0917 - Dash passes a callback's values by position
    clicks: int | None,
    selected: int | None,
    to_status: str | None,
    deadline: str | None,
    unit: str | None,
    note: str | None,
    actor: str | None,
    refresh: int | None,
    lang: str | None,
) -> tuple[Any, Any, Any]:
    """Move the area; a refused move shows the layer's message in both languages."""
    language = _lang(lang)
    if not clicks or selected is None or not to_status:
        return no_update, no_update, no_update
    try:
        ad.move_key_area(
            selected, to_status=to_status, deadline=deadline, unit=unit, note=note, actor=actor
        )
    except PinganError as exc:
        return _refusal(exc.zh, exc.en, language), no_update, no_update
    done = t(
        "dashboard.keyareas.moved",
        language=language,
        status=ad.status_label(to_status, language=language),
    )
    return html.Div(done, className="ka-ok", id="keyareas-ok"), (refresh or 0) + 1, ""


def _refusal(zh: str, en: str, language: str) -> html.Div:
    first, second = (en, zh) if language == "en" else (zh, en)
    return html.Div(
        [html.Div(first), html.Div(second, className="second-language")],
        className="data-error",
        id="keyareas-error",
    )
