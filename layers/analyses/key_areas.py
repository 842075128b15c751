"""The key-area register (重点地区): refreshed from the rules, moved through its workflow.

:func:`refresh_key_areas` runs :func:`analysis.key_areas.key_areas` on the scope's incidents
with every input the rules of ``data/key_areas.toml`` read: the villages as reference units,
the 综合 grids' population, the places, the 两抢一盗 hot cells (Gi* on H3 r9 cells, FDR) and
the 两抢一盗 DBSCAN clusters. Each key area is upserted by a stable **fingerprint**: the rule
and the place's source id for place rules, the rule and the H3 resolution-8 cell (about
0.7 km²) of the area's centroid for hot cells and clusters. A later refresh that finds the same
area again updates its reason, evidence and polygon and leaves its workflow alone.

The workflow (:func:`transition_key_area`): 发现 ``found`` → 挂牌 ``listed`` → 整治中
``remediating`` → 摘牌 ``delisted``, one step at a time; listing needs a deadline and a
responsible unit; ``delisted`` is final. A move to the status an area already has updates its
deadline, unit or notes (a deadline extended, say). Every move is one ``key_area_event``. An
area is *overdue* when its deadline (a local date) has passed and it is not delisted.
"""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from analysis.key_areas import AREA_COLUMNS, HotCells, KeyAreaResult, key_areas, load_rules
from gis.db import Database, get_database
from gis.errors import PinganError, ValidationError
from gis.queries import execute, fetch_all, fetch_one
from layers.access import area_scope
from layers.analyses._runs import (
    AnalysisRun,
    Inputs,
    TimeLike,
    frame_of,
    read_run,
    store_geometries,
    to_json,
)
from layers.analyses._units import count_cells, tiling_grids
from layers.analyses.clusters import cluster_areas
from layers.analyses.hotspots import hot_cells

__all__ = [
    "STATUSES",
    "key_area_history",
    "read_key_areas",
    "refresh_key_areas",
    "transition_key_area",
]

STATUSES = ("found", "listed", "remediating", "delisted")
NEXT = {"found": "listed", "listed": "remediating", "remediating": "delisted"}
FINGERPRINT_RESOLUTION = 8
STAGE_COLUMNS = (
    ("fingerprint", "text"),
    ("rule", "text"),
    ("area_code", "text"),
    ("name", "text"),
    ("reason", "jsonb"),
    ("evidence", "jsonb"),
)
# what the register keeps as an area's evidence: every column but its id and its reason
EVIDENCE = tuple(c for c in AREA_COLUMNS if c not in ("area_id", "reason_zh", "reason_en"))


def _hot_cells(inputs: Inputs, group: gpd.GeoDataFrame) -> HotCells | None:
    """Gi* of the 两抢一盗 counts on H3 r9 cells, or ``None`` (logged) when it cannot run."""
    try:
        cells = count_cells(inputs, group, unit="h3", resolution=9)
        frame, result = hot_cells(cells)
    except PinganError as exc:
        inputs.log.say("analyses.log_no_hot_cells", reason=exc.en)
        return None
    return HotCells(cells=frame, bins=result.bins, z=result.z, p=result.p)


def _clusters(inputs: Inputs, group: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    if len(group) < 10:
        return None
    result = cluster_areas(
        group, method="dbscan", eps_m=150.0, min_samples=10, min_cluster_size=None
    )
    inputs.log.say("analyses.log_key_area_clusters", clusters=result.n_clusters)
    return result.clusters if result.n_clusters else None


def _reference(inputs: Inputs) -> gpd.GeoDataFrame:
    units = inputs.layer("admin_units")
    for level in ("village", "township", "county"):
        chosen = units[units["level"] == level]
        if len(chosen):
            return chosen.reset_index(drop=True)
    raise ValidationError("analyses.no_reference_units", area=inputs.area or "*")


def fingerprints(areas: gpd.GeoDataFrame) -> list[str]:
    """Stable keys of key areas: ``rule:place_source_id`` for places, else ``rule:h3r8`` of
    the centroid; a second area of the same rule in the same cell gets ``#2`` and so on."""
    keys = []
    centroids = shapely.centroid(np.asarray(areas.to_crs(4326).geometry.values, dtype=object))
    for rule, place, point in zip(areas["rule"], areas["place_source_id"], centroids, strict=True):
        if isinstance(place, str) and place:
            keys.append(f"{rule}:place:{place}")
        else:
            cell = h3.latlng_to_cell(point.y, point.x, FINGERPRINT_RESOLUTION)
            keys.append(f"{rule}:h3:{cell}")
    seen: dict[str, int] = {}
    out = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return out


def _stage(result: KeyAreaResult, reference: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    areas = result.areas.reset_index(drop=True)
    ref = reference.to_crs(areas.crs)
    centre = gpd.GeoDataFrame(geometry=areas.geometry.representative_point(), crs=areas.crs)
    joined = gpd.sjoin(centre, ref[["code", "name", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")].reindex(areas.index)
    place = areas["place_name"].where(areas["place_name"].notna(), None)
    name = [
        p if isinstance(p, str) and p else v for p, v in zip(place, joined["name"], strict=True)
    ]
    evidence = [to_json({k: row[k] for k in EVIDENCE}) for _, row in areas.iterrows()]
    return gpd.GeoDataFrame(
        {
            "fingerprint": fingerprints(areas),
            "rule": areas["rule"].astype(str),
            "area_code": joined["code"].fillna("").astype(str).to_numpy(),
            "name": name,
            "reason": [
                to_json({"zh": zh, "en": en})
                for zh, en in zip(areas["reason_zh"], areas["reason_en"], strict=True)
            ],
            "evidence": evidence,
        },
        geometry=areas.geometry.values,
        crs=areas.crs,
    )


def refresh_key_areas(
    *,
    area: str | None = None,
    start: TimeLike = None,
    end: TimeLike = None,
    actor: str | None = None,
    db: Database | None = None,
) -> AnalysisRun:
    """Flag the key areas of a period and upsert them into the register.

    Parameters
    ----------
    area
        Admin-code prefix (digits; default everything).
    start, end
        The period in the deployment time zone (a date ``end`` is inclusive); default the
        first and last incident.
    actor
        Who refreshed (the history of new areas); default the database user.

    Returns
    -------
    AnalysisRun
        Kind ``key_areas``: ``summary`` counts the areas found, new and updated, by rule;
        ``result["tests"]`` has every place-zone test. The register via :func:`read_key_areas`.
    """
    inputs = Inputs.resolve(area=area, start=start, end=end, db=db)
    assert inputs.start is not None and inputs.end is not None
    incidents = inputs.incidents(minimum=1)
    group = incidents[incidents["two_robberies_one_theft"].to_numpy(dtype=bool)]
    reference = _reference(inputs)
    population = tiling_grids(inputs.layer("grids"))
    places = inputs.layer("places")
    rules = load_rules()
    result = key_areas(
        incidents,
        reference=reference,
        start=inputs.start,
        end=inputs.end,
        places=places if len(places) else None,
        population=population if len(population) else None,
        hot_cells=_hot_cells(inputs, group) if len(group) >= 3 else None,
        clusters=_clusters(inputs, group),
        rules=rules,
        timezone=inputs.timezone,
        out_crs=inputs.srid,
    )
    inputs.log.extend(result.log)
    staged = _stage(result, reference)
    by_rule = {str(k): int(v) for k, v in staged["rule"].value_counts().items()}
    with inputs.db.connection() as conn:
        run_id = inputs.save(
            conn,
            "key_areas",
            params={"rules": "data/key_areas.toml", "reference": str(reference["level"].iloc[0])},
            summary={"found": len(staged), "by_rule": by_rule},
            result={"tests": result.tests.to_dict(orient="records")},
        )
        execute(conn, "create_key_area_stage")
        store_geometries(conn, "stage_key_area", STAGE_COLUMNS, staged, srid=inputs.srid)
        counts = fetch_one(conn, "upsert_key_areas", run_id=run_id, actor=actor, note=None)
        assert counts is not None
        execute(
            conn,
            "add_to_run_summary",
            run_id=run_id,
            summary=to_json({"inserted": counts["inserted"], "updated": counts["updated"]}),
        )
    return read_run(run_id, db=inputs.db)


def read_key_areas(
    *, area: str | None = None, status: str | None = None, db: Database | None = None
) -> gpd.GeoDataFrame:
    """The register inside ``area``: ``id``, ``rule``, ``area_code``, ``name``, ``reason_zh``,
    ``reason_en``, ``evidence`` (dict), ``status``, ``deadline``, ``responsible_unit``,
    ``notes``, ``overdue``, ``run_id``, ``created_at``, ``updated_at`` and the polygon (storage
    CRS); open areas first, oldest first."""
    if status is not None and status not in STATUSES:
        raise ValidationError("analyses.bad_status", status=status, statuses=", ".join(STATUSES))
    db = db or get_database()
    with db.connection() as conn:
        rows = fetch_all(conn, "read_key_areas", scope=area_scope(area), status=status)
    columns = [
        "id",
        "rule",
        "area_code",
        "name",
        "reason_zh",
        "reason_en",
        "evidence",
        "status",
        "deadline",
        "responsible_unit",
        "notes",
        "overdue",
        "run_id",
        "created_at",
        "updated_at",
    ]
    return frame_of(rows, srid=db.storage_srid, columns=columns)


def key_area_history(key_area_id: int, *, db: Database | None = None) -> pd.DataFrame:
    """The workflow history of one key area, oldest first: ``at``, ``actor``, ``from_status``,
    ``to_status``, ``deadline``, ``responsible_unit``, ``note``."""
    db = db or get_database()
    with db.connection() as conn:
        rows = fetch_all(conn, "key_area_history", key_area_id=int(key_area_id))
    columns = ["at", "actor", "from_status", "to_status", "deadline", "responsible_unit", "note"]
    return pd.DataFrame(rows, columns=columns)


def _date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return pd.Timestamp(value).date()
    except ValueError:
        raise ValidationError("analyses.bad_deadline", value=value) from None


def transition_key_area(
    key_area_id: int,
    *,
    to_status: str,
    deadline: str | date | None = None,
    responsible_unit: str | None = None,
    note: str | None = None,
    actor: str | None = None,
    db: Database | None = None,
) -> None:
    """Move a key area one step on: found → listed → remediating → delisted.

    Parameters
    ----------
    key_area_id
        The area's ``id``.
    to_status
        The next status, or the current one to change only the deadline, unit or notes.
    deadline
        A local date (``"2026-12-31"``); needed to list (kept from before when not given).
    responsible_unit
        The unit in charge (责任单位); needed to list (kept when not given).
    note
        A note for the history (and the area's notes).
    actor
        Who made the move; default the database user.

    Raises
    ------
    gis.errors.ValidationError
        An unknown area or status, a step that skips or goes back, a move from ``delisted``,
        or listing without a deadline or a responsible unit.
    """
    if to_status not in STATUSES:
        raise ValidationError("analyses.bad_status", status=to_status, statuses=", ".join(STATUSES))
    db = db or get_database()
    with db.connection() as conn:
        row = fetch_one(conn, "lock_key_area", key_area_id=int(key_area_id))
        if row is None:
            raise ValidationError("analyses.no_such_key_area", key_area_id=key_area_id)
        current = row["status"]
        if current == "delisted":
            raise ValidationError("analyses.key_area_closed", key_area_id=key_area_id)
        if to_status != current and NEXT.get(current) != to_status:
            raise ValidationError(
                "analyses.bad_transition",
                key_area_id=key_area_id,
                current=current,
                wanted=to_status,
                allowed=NEXT[current],
            )
        new_deadline = _date(deadline) or row["deadline"]
        unit = responsible_unit or row["responsible_unit"]
        if to_status == "listed" and (new_deadline is None or not unit):
            raise ValidationError("analyses.listing_needs", key_area_id=key_area_id)
        execute(
            conn,
            "move_key_area",
            key_area_id=int(key_area_id),
            from_status=current,
            to_status=to_status,
            deadline=new_deadline,
            responsible_unit=unit,
            note=note,
            actor=actor,
        )
