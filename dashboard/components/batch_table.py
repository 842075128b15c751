"""The import batches and the quarantined rows of one batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html

from dashboard.components.import_preview import rejects_table
from gis.messages import Language, t

_COLUMNS = (
    ("col_batch", "id"),
    ("col_layer", "layer"),
    ("col_source", "source"),
    ("col_file", "file_name"),
    ("col_started", "started"),
    ("count_rows", "rows"),
    ("col_inserted", "inserted"),
    ("col_updated", "updated"),
    ("col_unchanged", "unchanged"),
    ("col_quarantined", "quarantined"),
)


def _cell(row: Mapping[str, Any], name: str, *, language: Language) -> Any:
    value = row.get(name)
    if name == "id":
        return html.Button(
            f"#{value}", id={"type": "data-batch-link", "batch": value}, className="data-link"
        )
    if name == "layer":
        return t(f"layer.{value}", language=language)
    if name == "quarantined" and value:
        return html.Span(str(value), className="data-bad")
    return "—" if value is None or value == "" else str(value)


def batch_table(
    rows: list[Mapping[str, Any]], *, selected: int | None, language: Language
) -> html.Div:
    """The batches, newest first; each batch number is a button that shows its quarantine."""
    if not rows:
        return html.P(t("dashboard.data.batches_empty", language=language), className="data-muted")
    header = html.Tr(
        [html.Th(t(f"dashboard.data.{key}", language=language)) for key, _ in _COLUMNS]
    )
    body = [
        html.Tr(
            [html.Td(_cell(row, name, language=language)) for _, name in _COLUMNS],
            id=f"data-batch-{row['id']}",
            className="selected" if row["id"] == selected else None,
        )
        for row in rows
    ]
    return html.Table([html.Thead(header), html.Tbody(body)], className="data-table data-batches")


def quarantine_panel(
    batch_id: int, rows: list[Mapping[str, Any]], *, shown: int, language: Language
) -> html.Div:
    """The quarantined rows of ``batch_id`` with their reasons and values as read."""
    title = html.H4(t("dashboard.data.quarantine_title", language=language, batch=batch_id))
    if not rows:
        empty = t("dashboard.data.quarantine_empty", language=language, batch=batch_id)
        return html.Div([title, html.P(empty, className="data-muted")])
    note = (
        html.P(
            t("dashboard.data.quarantine_more", language=language, shown=shown),
            className="data-muted",
        )
        if len(rows) >= shown
        else None
    )
    return html.Div(
        [title, rejects_table(rows, language=language, ident="data-quarantine-rows"), note]
    )
