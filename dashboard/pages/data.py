"""数据 Data: upload a file for a base layer, check the validation preview, commit it, and
browse the import batches and their quarantined rows.

The preview and the import run as background jobs (:mod:`dashboard._jobs`) polled by two
``dcc.Interval`` components; the page keeps only small stores (the session id, the file's
name, job ids). The import is :func:`layers.import_file`, the call behind ``pingan import``,
made with the options that were previewed. Component ids start with ``data-``.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import _imports, _jobs
from dashboard.app import choose_language as _lang
from dashboard.components import (
    batch_table,
    commit_summary,
    error_box,
    preview_panel,
    progress_bar,
    quarantine_panel,
)
from gis.errors import PinganError
from gis.messages import t
from layers.preview import default_source

dash.register_page(
    __name__,
    path="/data",
    name="data",
    title="平安网格 · 数据",
    order=1,
    label_key="dashboard.nav.data",
)

POLL_MS = 400
"""How often a running job's progress is asked for (milliseconds)."""

_LABELS = {
    "data-form-title": "dashboard.data.form_title",
    "data-label-layer": "dashboard.data.layer",
    "data-label-crs": "dashboard.data.crs",
    "data-label-sheet": "dashboard.data.sheet",
    "data-label-source": "dashboard.data.source",
    "data-upload-prompt": "dashboard.data.upload_prompt",
    "data-commit-button": "dashboard.data.commit_button",
    "data-commit-hint": "dashboard.data.commit_hint",
    "data-batches-title": "dashboard.data.batches_title",
    "data-batches-hint": "dashboard.data.batches_hint",
}


def _label(ident: str, tag: Any = html.Label, **kwargs: Any) -> Any:
    return tag(t(_LABELS[ident], language="zh"), id=ident, **kwargs)


def _form() -> html.Aside:
    """The file and its options: those of ``pingan import``."""
    return html.Aside(
        [
            _label("data-form-title", html.H3),
            _label("data-label-layer"),
            dcc.Dropdown(
                id="data-layer",
                options=_imports.layer_options(language="zh"),
                value="incidents",
                clearable=False,
            ),
            dcc.Upload(
                [
                    _label("data-upload-prompt", html.Div),
                    html.Div(
                        t("dashboard.data.upload_formats", limit_mb=_imports.MAX_UPLOAD_MB),
                        id="data-upload-formats",
                        className="data-muted",
                    ),
                ],
                id="data-upload",
                className="data-upload",
                className_active="data-upload active",
            ),
            html.Div(id="data-upload-status"),
            _label("data-label-crs"),
            dcc.Input(id="data-crs", list="data-crs-choices", debounce=True, type="text"),
            html.Datalist(
                [html.Option(value=c) for c in _imports.CRS_CHOICES], id="data-crs-choices"
            ),
            dcc.Checklist(id="data-swap", value=[], className="data-check"),
            _label("data-label-sheet"),
            dcc.Input(id="data-sheet", debounce=True, type="text"),
            _label("data-label-source"),
            dcc.Input(id="data-source", type="text"),
        ],
        className="data-form",
    )


def layout(**_: Any) -> html.Div:
    """The page: the form on the left; the preview, the import and the batches on the right."""
    return html.Div(
        [
            dcc.Store(id="data-session", data=_imports.new_session()),
            dcc.Store(id="data-file"),
            dcc.Store(id="data-preview-job"),
            dcc.Store(id="data-commit-job"),
            dcc.Store(id="data-refresh"),
            dcc.Store(id="data-batch"),
            dcc.Interval(id="data-preview-poll", interval=POLL_MS, disabled=True),
            dcc.Interval(id="data-commit-poll", interval=POLL_MS, disabled=True),
            _form(),
            html.Main(
                [
                    html.Section(html.Div(id="data-preview"), className="data-section"),
                    html.Section(
                        [
                            html.Div(
                                [
                                    html.Button(
                                        t(_LABELS["data-commit-button"], language="zh"),
                                        id="data-commit-button",
                                        disabled=True,
                                    ),
                                    _label("data-commit-hint", html.Span, className="data-muted"),
                                ],
                                className="data-commit-bar",
                            ),
                            html.Div(id="data-commit"),
                        ],
                        className="data-section",
                    ),
                    html.Section(
                        [
                            html.Div(
                                [
                                    _label("data-batches-title", html.H3),
                                    dcc.Dropdown(id="data-batches-layer", className="data-filter"),
                                ],
                                className="data-batches-head",
                            ),
                            _label("data-batches-hint", html.P, className="data-muted"),
                            html.Div(id="data-batches"),
                            html.Div(id="data-quarantine"),
                        ],
                        className="data-section",
                    ),
                ],
                className="data-main",
            ),
        ],
        className="data-page",
    )


# -- callbacks ----------------------------------------------------------------------------


@callback(
    *[Output(ident, "children") for ident in _LABELS],
    Output("data-layer", "options"),
    Output("data-batches-layer", "options"),
    Output("data-batches-layer", "placeholder"),
    Output("data-upload-formats", "children"),
    Output("data-crs", "placeholder"),
    Output("data-swap", "options"),
    Output("data-sheet", "placeholder"),
    Input("app-lang", "data"),
)
def translate(lang: str | None) -> tuple[Any, ...]:
    """Every label of the page in the chosen language."""
    language = _lang(lang)
    options = _imports.layer_options(language=language)
    return (
        *[t(key, language=language) for key in _LABELS.values()],
        options,
        options,
        t("dashboard.data.all_layers", language=language),
        t("dashboard.data.upload_formats", language=language, limit_mb=_imports.MAX_UPLOAD_MB),
        t("dashboard.data.crs_placeholder", language=language),
        [{"label": t("dashboard.data.swap", language=language), "value": "swap"}],
        t("dashboard.data.sheet_placeholder", language=language),
    )


@callback(
    Output("data-file", "data"),
    Output("data-upload", "contents"),
    Input("data-upload", "contents"),
    State("data-upload", "filename"),
    State("data-session", "data"),
    prevent_initial_call=True,
)
def receive_upload(contents: str | None, filename: str | None, session: str) -> tuple[Any, Any]:
    """Keep the uploaded file in the session's folder; the browser's copy is let go, so the
    same file can be chosen again."""
    if not contents:
        return no_update, no_update
    try:
        upload = _imports.save_upload(session, filename or "", contents)
    except PinganError as exc:
        return {"error": {"zh": exc.zh, "en": exc.en}}, None
    return {"name": upload.name, "size": upload.size}, None


@callback(
    Output("data-upload-status", "children"),
    Output("data-source", "placeholder"),
    Input("data-file", "data"),
    Input("app-lang", "data"),
)
def describe_file(file: dict[str, Any] | None, lang: str | None) -> tuple[Any, str]:
    """The kept file (name and size), or why it was refused; the default source name."""
    language = _lang(lang)
    if file and "error" in file:
        return error_box(file["error"], language=language, ident="data-upload-error"), ""
    if not file:
        return None, t("dashboard.data.source_placeholder", language=language)
    kept = t(
        "dashboard.data.file_kept",
        language=language,
        name=file["name"],
        size=_imports.size_text(file["size"]),
    )
    return (
        html.P(kept, id="data-upload-name", className="data-muted"),
        t("dashboard.data.source_default", language=language, source=default_source(file["name"])),
    )


@callback(
    Output("data-preview-job", "data"),
    Output("data-preview-poll", "disabled"),
    Input("data-file", "data"),
    Input("data-layer", "value"),
    Input("data-crs", "value"),
    Input("data-swap", "value"),
    Input("data-sheet", "value"),
    State("data-session", "data"),
    State("app-lang", "data"),
)
def start_preview(  # noqa: PLR0917 - Dash passes a callback's values by position
    file: dict[str, Any] | None,
    layer: str | None,
    crs: str | None,
    swap: list[str] | None,
    sheet: str | None,
    session: str,
    lang: str | None,
) -> tuple[Any, bool]:
    """Check the file again whenever it or one of its options changes (in the background)."""
    if not file or "error" in file:
        return None, True
    options = _imports.parse_options(layer, file["name"], crs, swap, sheet)
    work = _imports.preview_work(session, options)
    folder = _imports.session_folder(session)
    job = _jobs.start(folder, work, language=_lang(lang), kind="preview")
    return {"id": job, "options": options.as_dict()}, False


@callback(
    Output("data-preview", "children"),
    Output("data-preview-poll", "disabled", allow_duplicate=True),
    Output("data-commit-button", "disabled"),
    Input("data-preview-poll", "n_intervals"),
    Input("data-preview-job", "data"),
    Input("data-commit-job", "data"),
    Input("app-lang", "data"),
    State("data-session", "data"),
    prevent_initial_call="initial_duplicate",
)
def show_preview(
    _n: int | None,
    job: dict[str, Any] | None,
    commit: dict[str, Any] | None,
    lang: str | None,
    session: str,
) -> tuple[Any, bool, bool]:
    """The preview job's progress, then its result; the import may start once it is done."""
    language = _lang(lang)
    state = _jobs.status(_imports.session_folder(session), job["id"]) if job else None
    if state is None:
        return (
            html.P(t("dashboard.data.no_file", language=language), className="data-hint"),
            True,
            True,
        )
    if state["state"] == _jobs.RUNNING:
        return (
            progress_bar(state["stage"], state["fraction"], ident="data-preview-progress"),
            False,
            True,
        )
    if state["state"] == _jobs.FAILED:
        return error_box(state["error"], language=language, ident="data-preview-error"), True, True
    committed = bool(commit) and commit["preview"] == job["id"]  # type: ignore[index]
    empty = state["result"]["preview"]["rows"] == 0
    return preview_panel(state["result"], language=language), True, committed or empty


@callback(
    Output("data-commit-job", "data"),
    Output("data-commit-poll", "disabled"),
    Input("data-commit-button", "n_clicks"),
    State("data-preview-job", "data"),
    State("data-source", "value"),
    State("data-session", "data"),
    State("app-lang", "data"),
    prevent_initial_call=True,
)
def start_commit(
    _clicks: int | None,
    job: dict[str, Any] | None,
    source: str | None,
    session: str,
    lang: str | None,
) -> tuple[Any, Any]:
    """Import the previewed file with the previewed options (in the background)."""
    folder = _imports.session_folder(session)
    state = _jobs.status(folder, job["id"]) if job else None
    if not job or not state or state["state"] != _jobs.DONE:
        return no_update, no_update
    options = _imports.ImportOptions(**job["options"])
    work = _imports.commit_work(session, options, source)
    commit = _jobs.start(folder, work, language=_lang(lang), kind="import")
    return {"id": commit, "preview": job["id"]}, False


@callback(
    Output("data-commit", "children"),
    Output("data-commit-poll", "disabled", allow_duplicate=True),
    Output("data-refresh", "data"),
    Input("data-commit-poll", "n_intervals"),
    Input("data-commit-job", "data"),
    Input("app-lang", "data"),
    State("data-refresh", "data"),
    State("data-session", "data"),
    prevent_initial_call="initial_duplicate",
)
def show_commit(
    _n: int | None, job: dict[str, Any] | None, lang: str | None, shown: Any, session: str
) -> tuple[Any, bool, Any]:
    """The import's progress, then its summary; the new batch is listed and selected."""
    language = _lang(lang)
    state = _jobs.status(_imports.session_folder(session), job["id"]) if job else None
    if state is None:
        return None, True, no_update
    if state["state"] == _jobs.RUNNING:
        return (
            progress_bar(state["stage"], state["fraction"], ident="data-commit-progress"),
            False,
            no_update,
        )
    if state["state"] == _jobs.FAILED:
        return (
            error_box(state["error"], language=language, ident="data-commit-error"),
            True,
            no_update,
        )
    batch = state["result"]["batch_id"]
    return (
        commit_summary(state["result"], language=language),
        True,
        batch if batch != shown else no_update,
    )


@callback(
    Output("data-batch", "data"),
    Input("data-refresh", "data"),
    Input({"type": "data-batch-link", "batch": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def choose_batch(refresh: int | None, _clicks: list[int | None]) -> Any:
    """The batch whose quarantine is shown: the one clicked, or the one just imported."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        # Re-drawn buttons report n_clicks=None: only a real click chooses.
        return trigger["batch"] if ctx.triggered[0]["value"] else no_update
    return refresh if refresh is not None else no_update


@callback(
    Output("data-batches", "children"),
    Input("data-refresh", "data"),
    Input("data-batches-layer", "value"),
    Input("data-batch", "data"),
    Input("app-lang", "data"),
)
def show_batches(_refresh: Any, layer: str | None, selected: int | None, lang: str | None) -> Any:
    """The latest import batches (of one layer if chosen)."""
    rows = _imports.load_batches(layer=layer or None)
    return batch_table(rows, selected=selected, language=_lang(lang))


@callback(
    Output("data-quarantine", "children"),
    Input("data-batch", "data"),
    Input("app-lang", "data"),
)
def show_quarantine(batch: int | None, lang: str | None) -> Any:
    """The quarantined rows of the chosen batch, with their reasons."""
    if batch is None:
        return None
    rows = _imports.load_quarantine(int(batch))
    return quarantine_panel(int(batch), rows, shown=_imports.QUARANTINE_SHOWN, language=_lang(lang))


@callback(
    Output("data-crs", "value"),
    Output("data-swap", "value"),
    Input({"type": "data-fix", "fix": ALL}, "n_clicks"),
    State("data-swap", "value"),
    prevent_initial_call=True,
)
def apply_fix(_clicks: list[int | None], swap: list[str] | None) -> tuple[Any, Any]:
    """A suggested fix sets its option, which checks the file again."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered[0]["value"]:
        return no_update, no_update
    if trigger["fix"] == "swap_axes":
        return no_update, [] if swap else ["swap"]
    return trigger["fix"], no_update
