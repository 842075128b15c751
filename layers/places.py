"""Places (重点场所): schools, kindergartens, markets, docks, warehouses and other venues.

The kinds come from ``data/place_kinds.csv`` with their Chinese and English names; a place is a
point or a polygon.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pandas as pd

from layers._importer import ImportContext
from layers._spec import ASSIGNED_COLUMNS, Field, IssueCollector, LayerSpec

PLACE_KINDS_FILE = Path(__file__).resolve().parents[1] / "data" / "place_kinds.csv"


@cache
def place_kinds() -> dict[str, dict[str, str]]:
    """The place kinds by code, with ``name_zh`` and ``name_en``."""
    with PLACE_KINDS_FILE.open(encoding="utf-8") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def _kind_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for code, row in place_kinds().items():
        aliases[row["name_zh"]] = code
        aliases[row["name_en"]] = code
    aliases.update(
        {
            "学校": "school",
            "小学": "school",
            "中学": "school",
            "幼儿园": "kindergarten",
            "农贸市场": "market",
            "菜市场": "market",
            "码头": "dock",
            "仓库": "warehouse",
            "医院": "hospital",
            "车站": "station",
            "网吧": "internet_cafe",
        }
    )
    return aliases


SPEC = LayerSpec(
    name="places",
    table="place",
    fields=(
        Field("source_id"),
        Field("name"),
        Field("kind", required=True, choices=tuple(place_kinds()), aliases=_kind_aliases()),
        Field("address"),
    ),
    geometry="point_or_polygon",
    assign_areas=True,
    stored=(
        ("name", "text"),
        ("kind", "text"),
        ("address", "text"),
        *ASSIGNED_COLUMNS,
    ),
)


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    return typed
