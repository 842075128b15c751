"""Widgets of an import: the progress bar, the validation preview and the commit summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dash import html

from dashboard._imports import one_language, raw_text, reasons_text
from gis.messages import Language, t


def progress_bar(stage: str, fraction: float, *, ident: str) -> html.Div:
    """A bar filled to ``fraction`` (0-1) with the stage's name under it."""
    percent = max(0, min(100, round(100 * float(fraction or 0))))
    return html.Div(
        [
            html.Div(html.Div(className="data-bar-fill", style={"width": f"{percent}%"})),
            html.Div(f"{stage or '…'} · {percent}%", className="data-bar-label"),
        ],
        className="data-bar",
        id=ident,
    )


def error_box(error: Mapping[str, str], *, language: Language, ident: str) -> html.Div:
    """A failed job's message in ``language``."""
    return html.Div(error.get(language) or error.get("zh"), className="data-error", id=ident)


def _count(label: str, value: Any, ident: str, *, tone: str = "") -> html.Div:
    return html.Div(
        [html.Div(str(value), className="data-count-value", id=ident), html.Div(label)],
        className=f"data-count {tone}".strip(),
    )


def _fix(fix: str, *, language: Language) -> html.Button | html.P:
    """A button that applies a suggested fix (an option of the form), or a hint."""
    if fix == "crs":
        return html.P(t("dashboard.data.fix_crs", language=language), className="data-fix-hint")
    return html.Button(
        t(f"dashboard.data.fix_{fix}", language=language),
        id={"type": "data-fix", "fix": fix},
        className="data-fix",
    )


def _table(headers: list[str], rows: list[list[Any]], *, ident: str) -> html.Table:
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in headers])),
            html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows]),
        ],
        className="data-table",
        id=ident,
    )


def rejects_table(
    rejects: list[Mapping[str, Any]], *, language: Language, ident: str
) -> html.Table:
    """Rejected rows: row number, id, reasons in ``language`` and the values as read."""
    return _table(
        [
            t("dashboard.data.col_row", language=language),
            t("dashboard.data.col_id", language=language),
            t("dashboard.data.col_reasons", language=language),
            t("dashboard.data.col_raw", language=language),
        ],
        [
            [
                r["row_number"],
                r.get("source_id") or "—",
                html.Span(
                    reasons_text(r["reasons"], language=language),
                    title=reasons_text(r["reasons"], language="en" if language == "zh" else "zh"),
                ),
                html.Span(raw_text(r.get("raw")), className="data-raw"),
            ]
            for r in rejects
        ],
        ident=ident,
    )


def preview_panel(result: Mapping[str, Any], *, language: Language) -> html.Div:
    """The validation preview of a file: counts, CRS, warnings with fixes, the first rejects."""
    p = result["preview"]
    layer = t(f"layer.{p['layer']}", language=language)
    counts = [
        _count(t("dashboard.data.count_rows", language=language), p["rows"], "data-preview-rows"),
        _count(
            t("dashboard.data.count_accepted", language=language),
            p["accepted"],
            "data-preview-accepted",
            tone="good",
        ),
        _count(
            t("dashboard.data.count_merged", language=language), p["merged"], "data-preview-merged"
        ),
        _count(
            t("dashboard.data.count_quarantined", language=language),
            p["quarantined"],
            "data-preview-quarantined",
            tone="bad" if p["quarantined"] else "",
        ),
    ]
    if p.get("other_category"):
        counts.append(
            _count(
                t("dashboard.data.count_other", language=language),
                p["other_category"],
                "data-preview-other",
            )
        )
    children: list[Any] = [
        html.H3(
            t("dashboard.data.preview_title", language=language, file=p["file_name"], layer=layer)
        ),
        html.P(t("dashboard.data.preview_note", language=language), className="data-muted"),
        html.Div(counts, className="data-counts"),
        html.P(
            [
                html.Span(t("dashboard.data.crs_detected", language=language)),
                html.Code(p.get("source_crs") or "—", id="data-preview-crs"),
            ],
            className="data-crs",
        ),
    ]
    if p["warnings"] or p["suggestions"]:
        children.append(
            html.Div(
                [
                    html.H4(t("dashboard.data.warnings_title", language=language)),
                    html.Ul([html.Li(one_language(w, language)) for w in p["warnings"]]),
                    html.Div([_fix(f, language=language) for f in p["suggestions"]]),
                ],
                className="data-warnings",
                id="data-preview-warnings",
            )
        )
    if p["reason_counts"]:
        children += [
            html.H4(t("dashboard.data.reasons_title", language=language)),
            _table(
                [
                    t("dashboard.data.col_rows", language=language),
                    t("dashboard.data.col_example", language=language),
                ],
                [[r["rows"], r.get(language) or r["zh"]] for r in p["reason_counts"]],
                ident="data-preview-reasons",
            ),
            html.H4(
                t(
                    "dashboard.data.rejects_title",
                    language=language,
                    shown=len(p["rejects"]),
                    total=p["quarantined"],
                )
            ),
            rejects_table(p["rejects"], language=language, ident="data-rejects"),
        ]
    return html.Div(children, className="data-preview")


def commit_summary(summary: Mapping[str, Any], *, language: Language) -> html.Div:
    """What an import batch did: the counts of the CLI's summary, as tiles."""

    def count(key: str, name: str, tone: str = "") -> html.Div:
        return _count(
            t(key, language=language), summary.get(name, 0), f"data-summary-{name}", tone=tone
        )

    tiles = [
        count("dashboard.data.count_rows", "rows"),
        count("dashboard.data.col_inserted", "inserted", "good"),
        count("dashboard.data.col_updated", "updated"),
        count("dashboard.data.col_unchanged", "unchanged"),
        count("dashboard.data.count_merged", "merged"),
        count(
            "dashboard.data.col_quarantined", "quarantined", "bad" if summary["quarantined"] else ""
        ),
    ]
    if summary.get("other_category"):
        tiles.append(count("dashboard.data.count_other", "other_category"))
    warnings = summary.get("warnings") or []
    detail = t(
        "dashboard.data.summary_detail",
        language=language,
        crs=summary.get("source_crs") or "—",
        seconds=summary.get("seconds"),
    )
    return html.Div(
        [
            html.H3(
                t("dashboard.data.summary_title", language=language, batch=summary["batch_id"]),
                id="data-summary-title",
            ),
            html.P(
                [
                    t("dashboard.data.col_source", language=language),
                    ": ",
                    html.Code(summary["source"], id="data-summary-source"),
                    " · ",
                    detail,
                ],
                className="data-muted",
            ),
            html.Div(tiles, className="data-counts"),
            html.Div(
                [html.P(one_language(w, language)) for w in warnings], className="data-warnings"
            )
            if warnings
            else None,
        ],
        className="data-summary",
    )
