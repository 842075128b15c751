"""The dashboard shell: the Dash app, the navbar from the page registry, the language switch.

Pages live in ``dashboard/pages/`` (one module each, registering itself with
``dash.register_page`` and a ``label_key`` for the navbar); reusable widgets in
``dashboard/components/``. Every asset is served by the app itself (``serve_locally``), so
the dashboard works on a network with no internet.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import dash
from dash import Dash, Input, Output, dcc, html

from dashboard import _data, incident_points
from dashboard.components import navbar
from gis.db import Database
from gis.errors import DatabaseError
from gis.messages import Language, t

HERE = Path(__file__).resolve().parent


def create_app(db: Database | None = None) -> Dash:
    """Build the Dash app; it reads ``db`` (default: the configured database, opened lazily).

    Page modules are (re-)imported by Dash here, so each app gets its own callbacks.
    """
    _data.use_database(db)
    app = Dash(
        "dashboard",
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        serve_locally=True,
        external_stylesheets=[],
        external_scripts=[],
        title=t("dashboard.title", language="zh"),
        update_title=None,
    )
    app.layout = _layout
    app.callback(Output("app-lang", "data"), Input("app-lang-switch", "value"))(choose_language)
    app.callback(
        Output("app-title", "children"),
        Output("app-nav", "children"),
        Output("app-lang-label", "children"),
        Input("app-lang", "data"),
    )(translate_shell)
    incident_points.register(app)
    _serialise_first_request(app)
    return app


def _serialise_first_request(app: Dash) -> None:
    """Run Dash's first-request set-up under a lock, so that the other threads wait for it.

    Dash registers the script bundles, copies the pages' callbacks, adds the page router and
    builds the validation layout (every page's layout: database reads) in ``before_request``
    hooks that mark themselves done *before* doing the work (plotly/dash#3971). A second
    request on another thread of the same process (gunicorn's gthread worker, the dev
    server) then got a 500 on a bundle ("is not a registered library"), a callback list
    without the router (an empty page), or an index without the validation layout ("ID not
    found in layout" for every page's callbacks).
    """
    hooks = app.server.before_request_funcs.setdefault(None, [])
    dash_hooks = tuple(hooks)
    lock = threading.Lock()
    done = threading.Event()

    def first_request_setup() -> None:
        if done.is_set():
            return
        with lock:
            if not done.is_set():
                for hook in dash_hooks:
                    hook()
                done.set()

    hooks[:] = [first_request_setup]


def warm_up(app: Dash) -> None:
    """Do the first request's set-up now: serve the index once, in this thread.

    ``pingan serve`` calls it in each gunicorn worker before the worker accepts connections,
    so no visitor waits for the set-up, and a worker whose pages cannot be built stops with
    an error instead of answering 500.

    Raises
    ------
    DatabaseError
        The index did not answer 200 (the cause is in the log: most often the database).
    """
    with app.server.test_client() as client:
        status = client.get(app.config.requests_pathname_prefix).status_code
    if status != 200:
        raise DatabaseError("dashboard.serve.not_ready", status=status)


def _layout() -> html.Div:
    return html.Div(
        [
            dcc.Store(id="app-lang", data="zh"),
            html.Header(
                [
                    html.Span(t("dashboard.title", language="zh"), id="app-title"),
                    html.Nav(navbar(dash.page_registry.values(), language="zh"), id="app-nav"),
                    html.Div(
                        [
                            html.Span(t("dashboard.language", language="zh"), id="app-lang-label"),
                            dcc.RadioItems(
                                id="app-lang-switch",
                                options=[
                                    {"label": "中文", "value": "zh"},
                                    {"label": "English", "value": "en"},
                                ],
                                value="zh",
                                inline=True,
                                persistence=True,
                                persistence_type="local",
                            ),
                        ],
                        className="app-lang",
                    ),
                ],
                className="app-header",
            ),
            dash.page_container,
        ],
        className="app",
    )


def choose_language(value: str | None) -> Language:
    """The language switch feeds the shared store every page reads."""
    return "en" if value == "en" else "zh"


def translate_shell(lang: str | None) -> tuple[Any, ...]:
    """The shell's labels in the chosen language."""
    language: Language = "en" if lang == "en" else "zh"
    return (
        t("dashboard.title", language=language),
        navbar(dash.page_registry.values(), language=language),
        t("dashboard.language", language=language),
    )
