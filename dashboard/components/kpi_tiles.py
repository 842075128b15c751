"""The KPI tiles of the overview: a figure, its label and a change line, in one row."""

from __future__ import annotations

from collections.abc import Sequence

from dash import html

from dashboard._analysis_data import Tile
from gis.messages import Language, t


def kpi_tiles(tiles: Sequence[Tile], *, language: Language) -> html.Div:
    """One tile per :class:`~dashboard._analysis_data.Tile`; ``tone`` ``up`` (worse) paints
    the change red, ``down`` green."""
    return html.Div(
        [
            html.Div(
                [
                    html.Div(t(tile.key, language=language), className="kpi-label"),
                    html.Div(tile.value, className="kpi-value", id=tile.ident),
                    html.Div(tile.change or "", className=f"kpi-change {tile.tone}".strip()),
                ],
                className="kpi-tile",
            )
            for tile in tiles
        ],
        className="kpi-row",
    )
