"""The map's layer list: a checkbox per layer, with ↑↓ buttons that change the drawing order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dash import html

from gis.messages import Language, t

MOVE = "map-layer-move"
"""Type of the ↑↓ buttons' pattern-matching ids: ``{"type": MOVE, "layer": name, "step": ±1}``."""


def layer_options(rows: Sequence[Any], *, language: Language) -> list[dict[str, Any]]:
    """``dcc.Checklist`` options for ``rows`` (:func:`dashboard.map_layers.rows`, top first).

    Layers with a pane get ↑ (drawn higher) and ↓ buttons; a switch without a pane is
    indented under the layer it belongs to. The buttons sit inside the checkbox's label, and
    a click on a button inside a label does not toggle the checkbox.
    """
    paned = [layer.name for layer in rows if layer.z is not None]
    options = []
    for layer in rows:
        text = html.Span(t(layer.label_key, language=language), className="layer-name")
        if layer.z is None:
            label: Any = html.Span(text, className="layer-row layer-switch")
        else:
            i = paned.index(layer.name)
            label = html.Span(
                [
                    text,
                    html.Span(
                        [
                            _button(layer.name, -1, "↑", disabled=i == 0, language=language),
                            _button(
                                layer.name, 1, "↓", disabled=i == len(paned) - 1, language=language
                            ),
                        ],
                        className="layer-move",
                    ),
                ],
                className="layer-row",
            )
        options.append({"label": label, "value": layer.name})
    return options


def _button(name: str, step: int, text: str, *, disabled: bool, language: Language) -> html.Button:
    key = "dashboard.map.layer_up" if step < 0 else "dashboard.map.layer_down"
    return html.Button(
        text,
        id={"type": MOVE, "layer": name, "step": step},
        title=t(key, language=language),
        disabled=disabled,
        className="layer-move-button",
        n_clicks=0,
    )
