"""Grid staff (网格员): people and their roles in grids.

A person (name + phone) may serve several grids, e.g. a community police officer (社区民警).
Each row of an import is one assignment: grid code, name, role, phone, badge. A grid code that
the database does not know is quarantined, so assignments never point at nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import psycopg

from gis.errors import RowIssue
from gis.queries import execute
from layers._importer import ImportContext
from layers._spec import PHONE_PATTERN, Field, IssueCollector, LayerSpec
from layers._store import NOTHING_WRITTEN, copy_frame, upsert_counts

ROLES = ("网格长", "专职网格员", "兼职网格员", "网格指导员", "社区民警")
_ROLE_ALIASES = {
    "grid head": "网格长",
    "grid leader": "网格长",
    "full-time": "专职网格员",
    "full-time grid worker": "专职网格员",
    "part-time": "兼职网格员",
    "part-time grid worker": "兼职网格员",
    "instructor": "网格指导员",
    "community police": "社区民警",
    "police": "社区民警",
    "民警": "社区民警",
    "网格员": "专职网格员",
}


def mask_phone(phone: str | None) -> str | None:
    """Mask the middle of a phone number for viewers who may not see it: ``139****5678``."""
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_phones(staff: pd.DataFrame) -> pd.DataFrame:
    """A copy of a grid-staff frame with every phone masked (for read-only and public views)."""
    out = staff.copy()
    out["phone"] = out["phone"].map(mask_phone)
    return out


SPEC = LayerSpec(
    name="grid_staff",
    table="grid_assignment",
    fields=(
        Field("grid_code", required=True, pattern=r"\d{15}"),
        Field("name", required=True),
        Field("role", required=True, choices=ROLES, aliases=_ROLE_ALIASES),
        Field("phone", pattern=PHONE_PATTERN),
        Field("badge"),
    ),
    geometry=None,
)


def refine(typed: pd.DataFrame, issues: IssueCollector, context: ImportContext) -> pd.DataFrame:
    """Quarantine assignments to unknown grids; the row's id is grid|name|role."""
    unknown = typed["grid_code"].notna() & ~typed["grid_code"].isin(context.known_grid_codes)
    issues.add(
        np.flatnonzero(unknown.to_numpy()),
        lambda r: RowIssue(
            "layers.unknown_grid", column="grid_code", code=str(typed["grid_code"].iloc[r])
        ),
    )
    typed["source_id"] = (
        typed["grid_code"].fillna("")
        + "|"
        + typed["name"].fillna("")
        + "|"
        + typed["role"].fillna("")
    )
    return typed


def store(
    conn: psycopg.Connection[Any], clean: pd.DataFrame, *, source: str, batch_id: int, srid: int
) -> dict[str, int]:
    """Upsert the people, then the assignments; counts are of assignments."""
    n = len(clean)
    if n == 0:
        return dict(NOTHING_WRITTEN)
    conn.execute(
        "CREATE TEMP TABLE stage_staff (grid_code text, name text, role text, phone text,"
        " badge text,"
        " source_id text, row_hash bytea) ON COMMIT DROP"
    )
    columns = (
        ("grid_code", "text"),
        ("name", "text"),
        ("role", "text"),
        ("phone", "text"),
        ("badge", "text"),
        ("source_id", "text"),
        ("row_hash", "bytea"),
    )
    data = {name: clean[name].to_numpy(dtype=object) for name, _ in columns}
    copy_frame(conn, "stage_staff", columns, data, n)
    execute(conn, "upsert_staff_people")
    returned = execute(
        conn, "upsert_staff_assignments", source=source, batch_id=batch_id
    ).fetchall()
    return upsert_counts(returned, n)
