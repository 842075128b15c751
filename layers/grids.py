"""Grids (网格): the 15-digit grid code, kind, households, population and boundary.

A grid code is its village's 12-digit code plus a 3-digit sequence. 综合 grids tile their
village without gaps or overlaps; 专属 grids (a school, a hospital) lie over them and are exempt.
:func:`tiling_violations` checks the rule in PostGIS and the importer reports what it finds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import psycopg

from gis.errors import RowIssue
from gis.messages import both
from gis.queries import fetch_all
from layers._importer import ImportContext
from layers._spec import Field, IssueCollector, LayerSpec

KINDS = ("综合", "专属")

SPEC = LayerSpec(
    name="grids",
    table="grid",
    fields=(
        Field("code", required=True, pattern=r"\d{15}"),
        Field("name"),
        Field(
            "kind",
            choices=KINDS,
            aliases={
                "comprehensive": "综合",
                "dedicated": "专属",
                "专属网格": "专属",
                "综合网格": "综合",
            },
        ),
        Field("village_code", pattern=r"\d{12}"),
        Field("households", "int", minimum=0),
        Field("population", "int", minimum=0),
    ),
    geometry="polygon",
    key="code",
    stored=(
        ("code", "text"),
        ("name", "text"),
        ("kind", "text"),
        ("village_code", "text"),
        ("households", "int4"),
        ("population", "int4"),
    ),
    conflict=("code",),
)


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    """Default the kind to 综合 and the village to the code's first 12 digits; they must agree."""
    typed["kind"] = typed["kind"].fillna("综合")
    prefix = typed["code"].str.slice(0, 12)
    typed["village_code"] = typed["village_code"].fillna(prefix)
    mismatch = (typed["code"].notna() & (prefix != typed["village_code"])).fillna(False).to_numpy()
    issues.add(
        np.flatnonzero(mismatch),
        lambda r: RowIssue(
            "layers.grid_village_mismatch",
            column="village_code",
            code=str(typed["code"].iloc[r]),
            village=str(typed["village_code"].iloc[r]),
        ),
    )
    typed["source_id"] = typed["code"]
    return typed


def tiling_violations(conn: psycopg.Connection[Any], *, scope: str = "") -> list[dict[str, Any]]:
    """Villages whose 综合 grids leave gaps or overlap, and grids outside their village.

    Areas are in square metres, measured on the spheroid (``geography``).
    """
    return fetch_all(conn, "grid_tiling_violations", scope=scope)


def tiling_warnings(conn: psycopg.Connection[Any], *, scope: str = "") -> list[str]:
    """The violations as bilingual sentences for the import summary."""
    return [
        both(
            "layers.grid_tiling",
            village=row["village_code"],
            gap_m2=round(row["gap_m2"]),
            overlap_m2=round(row["overlap_m2"]),
            outside_m2=round(row["outside_m2"]),
        )
        for row in tiling_violations(conn, scope=scope)
    ]
