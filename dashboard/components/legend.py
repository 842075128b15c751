"""The colour legend of a choropleth."""

from __future__ import annotations

from dash import html


def legend(title: str, rows: list[tuple[str, str]]) -> html.Div:
    """A small legend box: a title, then one swatch and label per class."""
    return html.Div(
        [
            html.Div(title, className="legend-title"),
            *[
                html.Div(
                    [html.Span(className="legend-swatch", style={"background": colour}), label],
                    className="legend-row",
                )
                for colour, label in rows
            ],
        ],
        className="legend",
    )
