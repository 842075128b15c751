"""Widgets of the hotspots page: the run's facts and log, the hour × weekday heat table and
the near-repeat (Knox) table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import dcc, html

from dashboard._analysis_data import p_text
from dashboard._hotspot_data import KnoxTable, ratio_colour
from gis.messages import Language, t


def run_log(lines: Sequence[str], *, ident: str) -> html.Ol:
    """A run's log, one choice per line."""
    return html.Ol([html.Li(line) for line in lines], className="run-log", id=ident)


def heat_graph(figure: dict[str, Any], *, ident: str) -> dcc.Graph:
    """The hour × weekday heat map (plotly, served by the app)."""
    return dcc.Graph(
        id=ident,
        figure=figure,
        config={"displayModeBar": False, "responsive": True},
        style={"height": f"{figure['layout']['height']}px"},
        className="heat-graph",
    )


def knox_view(knox: KnoxTable, *, language: Language) -> html.Div:
    """The Knox table: distance bands down, time bands across; each cell the Knox ratio
    (coloured: red above 1, blue below), the observed pairs and p; significant cells bold."""
    head = html.Tr(
        [html.Th(t("dashboard.hotspots.knox_corner", language=language))]
        + [
            html.Th(short, title=label)
            for short, label in zip(knox.time_short, knox.time_labels, strict=True)
        ]
    )
    body = []
    rows = zip(knox.distance_short, knox.distance_labels, knox.cells, strict=True)
    for short, label, row in rows:
        tds: list[Any] = [html.Th(short, title=label, className="band")]
        for cell in row:
            ratio = cell["ratio"]
            text = "—" if ratio is None else f"{float(ratio):.2f}"
            observed = "—" if cell["observed"] is None else cell["observed"]
            p = p_text(cell["p"])
            tds.append(
                html.Td(
                    [
                        html.Div(text, className="knox-ratio"),
                        html.Div(f"p {p}", className="knox-sub"),
                    ],
                    title=f"n={observed} · p={p}",
                    className="knox-cell sig" if cell["significant"] else "knox-cell",
                    style={"background": ratio_colour(ratio)},
                )
            )
        body.append(html.Tr(tds))
    note = t(
        "dashboard.hotspots.knox_note",
        language=language,
        permutations=knox.permutations if knox.permutations is not None else "—",
        n=knox.n_incidents if knox.n_incidents is not None else "—",
    )
    return html.Div(
        [
            html.Table(
                [html.Thead(head), html.Tbody(body)],
                className="knox-table",
                id="hotspots-knox-table",
            ),
            html.P(note, className="muted small"),
        ]
    )
