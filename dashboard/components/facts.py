"""A two-column table of labelled facts, the body of the map's side panels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dash import html

from gis.messages import Language, t


def facts_table(rows: Iterable[tuple[str, Any, str]], *, language: Language) -> html.Table:
    """One row per ``(label key, value, id)``; a missing value shows as ``—``."""
    return html.Table(
        [
            html.Tr(
                [
                    html.Th(t(key, language=language)),
                    html.Td("—" if value is None or value == "" else value, id=ident),
                ]
            )
            for key, value, ident in rows
        ],
        className="facts",
    )
