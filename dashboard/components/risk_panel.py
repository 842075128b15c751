"""The side panel of one graded unit: its grade, score, explanation and factor breakdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import html

from dashboard._analysis_data import GRADE_COLOURS, FactorRow
from gis.messages import Language, t


def grade_badge(grade: str, *, language: Language, ident: str | None = None) -> html.Span:
    """A coloured 蓝/黄/橙/红 badge."""
    kwargs = {"id": ident} if ident else {}
    return html.Span(
        t(f"risk.grade_{grade}", language=language),
        className=f"grade-badge grade-{grade}",
        style={"background": GRADE_COLOURS.get(grade, "#999")},
        **kwargs,
    )


def risk_panel(
    row: Mapping[str, Any],
    factors: Sequence[FactorRow],
    *,
    explanation: str,
    language: Language,
) -> html.Div:
    """The unit's name and code, its grade and score, the explanation, and one table row per
    indicator (value, score 0–100, weight and the points it adds to the grade score, with a
    bar)."""
    total = sum(max(f.points, 0.0) for f in factors) or 1.0
    body = [
        html.Tr(
            [
                html.Td(f.label),
                html.Td(f.value, className="num"),
                html.Td(f.score, className="num"),
                html.Td(f.weight, className="num"),
                html.Td(
                    html.Div(
                        [
                            html.Div(
                                className="factor-bar-fill",
                                style={"width": f"{100 * max(f.points, 0) / total:.0f}%"},
                            ),
                            html.Span(f"{f.points:.1f}"),
                        ],
                        className="factor-bar",
                    )
                ),
            ],
            title=f.note or None,
            className="factor-na" if f.note else None,
        )
        for f in factors
    ]
    head = html.Tr(
        [
            html.Th(t(f"dashboard.overview.col_{c}", language=language))
            for c in ("indicator", "value", "score", "weight", "points")
        ]
    )
    notes = [html.Li(f"{f.label}: {f.note}") for f in factors if f.note]
    return html.Div(
        [
            html.H3(f"{row.get('name') or row.get('area_code')}", id="overview-panel-name"),
            html.Div(
                [
                    grade_badge(
                        str(row.get("grade")), language=language, ident="overview-panel-grade"
                    ),
                    html.Span(
                        t(
                            "dashboard.overview.score",
                            language=language,
                            score=f"{float(row.get('score') or 0):.1f}",
                        ),
                        className="grade-score",
                    ),
                    html.Span(str(row.get("area_code")), className="muted code"),
                ],
                className="grade-line",
            ),
            html.P(explanation, id="overview-panel-explanation", className="explanation"),
            html.H4(t("dashboard.overview.breakdown", language=language)),
            html.Table(
                [html.Thead(head), html.Tbody(body)],
                className="analysis-table factor-table",
                id="overview-panel-factors",
            ),
            html.Ul(notes, className="factor-notes") if notes else None,
        ],
        className="panel risk-panel",
    )
