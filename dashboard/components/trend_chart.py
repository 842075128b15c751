"""A small monthly bar chart (plotly through ``dcc.Graph``; plotly.js is served by the app)."""

from __future__ import annotations

from collections.abc import Sequence

from dash import dcc, html

from gis.messages import Language, t

BAR_COLOUR = "#2c7fb8"


def trend_chart(
    months: Sequence[tuple[str, int]], *, ident: str, language: Language
) -> dcc.Graph | html.P:
    """Bars of ``[("2025-07", 3), …]``; a note when there is no month at all."""
    if not months:
        return html.P(t("dashboard.grid.trend_empty", language=language), className="muted")
    labels = [m for m, _ in months]
    figure = {
        "data": [
            {
                "type": "bar",
                "x": labels,
                "y": [n for _, n in months],
                "marker": {"color": BAR_COLOUR},
                "hovertemplate": "%{x}: %{y}<extra></extra>",
            }
        ],
        "layout": {
            "height": 150,
            "margin": {"l": 30, "r": 6, "t": 6, "b": 40},
            "bargap": 0.25,
            "xaxis": {"type": "category", "tickangle": -60, "tickfont": {"size": 9}},
            "yaxis": {"rangemode": "tozero", "tickfont": {"size": 9}, "gridcolor": "#eee"},
            "plot_bgcolor": "#ffffff",
            "paper_bgcolor": "rgba(0,0,0,0)",
            "font": {"family": "Noto Sans CJK SC, sans-serif", "size": 10},
        },
    }
    return dcc.Graph(
        id=ident,
        figure=figure,
        config={"displayModeBar": False, "responsive": True},
        style={"height": "150px"},
        className="trend-chart",
    )
