"""Widgets of the key-area register (重点地区): the table, the short list of the overview,
the workflow bar 发现 → 挂牌 → 整治中 → 摘牌, the history and the evidence figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from dashboard._analysis_data import STATUS_COLOURS, Step
from gis.messages import Language, t

PICK = "keyareas-pick"
"""Type of the register's row buttons: ``{"type": PICK, "id": key area id}``."""


def status_badge(status: str, label: str) -> html.Span:
    """The status as a small coloured badge."""
    return html.Span(
        label,
        className=f"ka-status ka-{status}",
        style={
            "borderColor": STATUS_COLOURS.get(status, "#999"),
            "color": STATUS_COLOURS.get(status, "#333"),
        },
    )


def register_table(
    rows: Sequence[Mapping[str, Any]], *, selected: int | None, language: Language
) -> html.Div | html.Table:
    """The register: rule, name (a button that opens the area), reason, status, deadline,
    responsible unit; overdue rows highlighted (class ``overdue``) with an 逾期 mark."""
    if not rows:
        return html.P(
            t("dashboard.keyareas.empty", language=language), className="muted empty-note"
        )
    cols = ("rule", "name", "reason", "status", "deadline", "unit")
    head = html.Tr([html.Th(t(f"dashboard.keyareas.col_{c}", language=language)) for c in cols])
    body = []
    for r in rows:
        deadline: Any = r["deadline"] or "—"
        if r["overdue"]:
            deadline = html.Span(
                [
                    deadline,
                    html.Span(
                        t("dashboard.keyareas.overdue", language=language), className="overdue-mark"
                    ),
                ]
            )
        classes = " ".join(
            c
            for c in ("overdue" if r["overdue"] else "", "selected" if r["id"] == selected else "")
            if c
        )
        body.append(
            html.Tr(
                [
                    html.Td(r["rule"], className="nowrap"),
                    html.Td(
                        [
                            html.Button(
                                r["name"], id={"type": PICK, "id": r["id"]}, className="link-button"
                            ),
                            html.Span(f"#{r['id']}", className="ka-id"),
                        ],
                        className="nowrap",
                    ),
                    html.Td(r["reason"], className="reason"),
                    html.Td(status_badge(r["status"], r["status_label"])),
                    html.Td(deadline, className="nowrap"),
                    html.Td(r["unit"] or "—"),
                ],
                id=f"keyareas-row-{r['id']}",
                className=classes or None,
            )
        )
    return html.Table(
        [html.Thead(head), html.Tbody(body)],
        className="analysis-table register-table",
        id="keyareas-table",
    )


def open_list(
    rows: Sequence[Mapping[str, Any]], *, language: Language, limit: int = 12
) -> html.Div:
    """The overview's list of open key areas (overdue first), each linking to the register."""
    if not rows:
        return html.P(t("dashboard.overview.no_open", language=language), className="muted")
    items = [
        html.Li(
            [
                dcc.Link(r["name"], href=f"/key-areas?id={r['id']}", className="ka-link"),
                status_badge(r["status"], r["status_label"]),
                html.Span(
                    t("dashboard.keyareas.overdue", language=language), className="overdue-mark"
                )
                if r["overdue"]
                else None,
                html.Div(r["reason"], className="muted small ka-reason"),
            ],
            className="ka-item overdue" if r["overdue"] else "ka-item",
        )
        for r in rows[:limit]
    ]
    more = (
        html.P(
            t("dashboard.overview.more_open", language=language, n=len(rows) - limit),
            className="muted small",
        )
        if len(rows) > limit
        else None
    )
    return html.Div([html.Ul(items, className="ka-list", id="overview-open-list"), more])


def workflow_bar(steps: Sequence[Step]) -> html.Ol:
    """发现 → 挂牌 → 整治中 → 摘牌, the current step marked."""
    return html.Ol(
        [html.Li(s.label, className=f"wf-step wf-{s.state}") for s in steps],
        className="wf-bar",
        id="keyareas-workflow",
    )


def history_table(rows: Sequence[Mapping[str, Any]], *, language: Language) -> html.Table | html.P:
    """The workflow history, newest first."""
    if not rows:
        return html.P(t("dashboard.keyareas.no_history", language=language), className="muted")
    cols = ("at", "actor", "move", "deadline", "unit", "note")
    return html.Table(
        [
            html.Thead(
                html.Tr([html.Th(t(f"dashboard.keyareas.h_{c}", language=language)) for c in cols])
            ),
            html.Tbody([html.Tr([html.Td(r[c]) for c in cols]) for r in rows]),
        ],
        className="analysis-table history-table",
        id="keyareas-history",
    )


def evidence_table(rows: Sequence[tuple[str, str]]) -> html.Table:
    """The evidence figures as a two-column table."""
    return html.Table(
        [html.Tr([html.Th(label), html.Td(value)]) for label, value in rows],
        className="facts evidence-facts",
        id="keyareas-evidence",
    )
