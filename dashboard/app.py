"""The dashboard shell: the Dash app, the navbar from the page registry, the language switch.

Pages live in ``dashboard/pages/`` (one module each, registering itself with
``dash.register_page`` and a ``label_key`` for the navbar); reusable widgets in
``dashboard/components/``. Every asset is served by the app itself (``serve_locally``), so
the dashboard works on a network with no internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash
from dash import Dash, Input, Output, dcc, html

from dashboard import _data, incident_points
from dashboard.components import navbar
from gis.db import Database
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
    return app


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
