"""Admin units (行政区划): county, township and village/community boundaries with their codes.

A statistical division code is text: 6 digits for a county, 12 for a township (9 + ``000``)
or a village. Data from outside China brings its own codes (Chicago community-area numbers)
or none; such rows keep a null code, and their ``source_id`` identifies them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from gis.errors import RowIssue
from layers._importer import ImportContext
from layers._spec import Field, IssueCollector, LayerSpec
from layers._store import upsert

LEVELS = ("province", "city", "county", "township", "village")
_LEVEL_ALIASES = {
    "省": "province",
    "市": "city",
    "县": "county",
    "区": "county",
    "县级": "county",
    "乡": "township",
    "镇": "township",
    "街道": "township",
    "乡镇": "township",
    "乡镇街道": "township",
    "村": "village",
    "社区": "village",
    "村社区": "village",
    "村(社区)": "village",
}
# Digits a code of each level has: national codes pad to 12 below county level.
_CODE_LENGTH = {
    "province": (2, 12),
    "city": (4, 12),
    "county": (6, 12),
    "township": (9, 12),
    "village": (12,),
}

SPEC = LayerSpec(
    name="admin_units",
    table="admin_unit",
    fields=(
        Field("code"),
        Field("name", required=True),
        Field("level", required=True, choices=LEVELS, aliases=_LEVEL_ALIASES),
        Field("parent_code"),
        Field("source_id"),
    ),
    geometry="polygon",
    key="source_id",
    stored=(("code", "text"), ("name", "text"), ("level", "text"), ("parent_code", "text")),
)


CODED = dataclasses.replace(SPEC, conflict=("code",))


def store(
    conn: psycopg.Connection[Any], clean: pd.DataFrame, *, source: str, batch_id: int, srid: int
) -> dict[str, int]:
    """Units with a division code are matched on the code, whichever source brings them; units
    without one (from outside China) on their source and id."""
    coded = clean["code"].notna().to_numpy()
    with_code = upsert(conn, CODED, clean[coded], source=source, batch_id=batch_id, srid=srid)
    without = upsert(conn, SPEC, clean[~coded], source=source, batch_id=batch_id, srid=srid)
    return {key: with_code[key] + without[key] for key in with_code}


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    """A Chinese division code must have the digits of its level; its id defaults to the code."""
    code = typed["code"]
    # Plain bool arrays: comparing an all-missing text column yields NA, not False.
    chinese = (code.notna() & code.str.fullmatch(r"\d+").fillna(False)).to_numpy(dtype=bool)
    lengths = code.str.len()
    for level, allowed in _CODE_LENGTH.items():
        of_level = (typed["level"] == level).fillna(False).to_numpy(dtype=bool)
        bad = chinese & of_level & ~lengths.isin(allowed).to_numpy(dtype=bool)
        issues.add(
            np.flatnonzero(bad),
            lambda r, level=level, allowed=allowed: RowIssue(
                "layers.bad_admin_code",
                column="code",
                value=str(code.iloc[r]),
                level=level,
                digits="/".join(map(str, allowed)),
            ),
        )
    typed["source_id"] = typed["source_id"].fillna(code)
    return typed
