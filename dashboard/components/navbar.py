"""The navbar: one link per registered page, labelled from the message catalogue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dash import dcc

from gis.messages import Language, t


def navbar(pages: Iterable[Mapping[str, Any]], *, language: Language) -> list[Any]:
    """Links to ``pages`` (entries of ``dash.page_registry``) in the registry's order.

    A page names its label with ``label_key`` (a catalogue key) when it registers itself;
    a page without one shows its ``name``.
    """
    links = []
    for page in pages:
        key = page.get("label_key")
        text = t(key, language=language) if key else page["name"]
        links.append(
            dcc.Link(
                text,
                href=page["relative_path"],
                className="app-nav-link",
                id=f"app-nav-{page['module'].rpartition('.')[2]}",
            )
        )
    return links
