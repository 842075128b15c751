"""Admin units (行政区划): county, township and village/community boundaries with their codes.

A statistical division code is text: 6 digits for a county, 12 for a township (9 + ``000``)
or a village. Data from outside China brings its own codes (Chicago community-area numbers)
or none; such rows keep a null code, and their ``source_id`` identifies them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis.errors import RowIssue
from layers._importer import ImportContext
from layers._spec import Field, IssueCollector, LayerSpec

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
