"""Importing base layers: from a file or a GeoDataFrame into PostGIS, in one batch.

>>> from layers import import_file
>>> summary = import_file("incidents", "台账_2026-10.xlsx")          # doctest: +SKIP
>>> summary.inserted, summary.quarantined                               # doctest: +SKIP

Each call is one batch in one transaction: the ``import_batch`` record, the rows, the
quarantine and the audit entry commit together or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg

from gis.db import Database, get_database
from gis.errors import ValidationError
from gis.messages import t
from gis.queries import execute, execute_many, fetch_all, fetch_one
from gis.readers import RawTable
from layers import (
    addresses,
    admin_units,
    cameras,
    grids,
    incidents,
    patrols,
    places,
    roads,
    staff,
)
from layers._assign import AreaIndex, h3_columns
from layers._importer import (
    ImportContext,
    ImportSummary,
    Prepared,
    Progress,
    default_source,
    prepare,
    read_for_import,
)
from layers._spec import LayerSpec
from layers._store import begin_batch, finish_batch, upsert, write_quarantine

Store = Callable[..., dict[str, int]]


@dataclass(frozen=True)
class LayerDef:
    """A base layer: its spec, its layer-specific rules and how its rows are stored."""

    spec: LayerSpec
    refine: Callable[..., pd.DataFrame]
    store: Store | None = None  # None: the generic upsert on spec.conflict
    # The store assigns areas itself, chunk by chunk while the server loads (incidents).
    assigns_in_store: bool = False


def _define(module: ModuleType) -> LayerDef:
    return LayerDef(
        spec=module.SPEC,
        refine=module.refine,
        store=getattr(module, "store", None),
        assigns_in_store=getattr(module, "ASSIGNS_IN_STORE", False),
    )


BASE_LAYERS: dict[str, LayerDef] = {
    d.spec.name: d
    for d in map(
        _define,
        (admin_units, grids, staff, cameras, places, addresses, incidents, roads, patrols),
    )
}


def layer_def(name: str) -> LayerDef:
    """The base layer called ``name`` (``incidents``, ``grids`` ...), or a clear error."""
    try:
        return BASE_LAYERS[name]
    except KeyError:
        raise ValidationError(
            "layers.unknown_layer", layer=name, layers=", ".join(BASE_LAYERS)
        ) from None


def load_context(conn: psycopg.Connection[Any], db: Database, spec: LayerSpec) -> ImportContext:
    """Gather what validation needs from the database: area extent, reference points, grid codes."""
    context = ImportContext(storage_srid=db.storage_srid, timezone=db.timezone)
    if spec.geometry in ("point", "point_or_polygon"):
        bounds = fetch_one(conn, "area_bounds")
        if bounds:
            context.area_bounds = (bounds["xmin"], bounds["ymin"], bounds["xmax"], bounds["ymax"])
        reference = fetch_all(conn, "reference_points", limit=5000)
        if len(reference) >= 10:
            context.reference_lonlat = (
                np.array([r["lon"] for r in reference]),
                np.array([r["lat"] for r in reference]),
            )
    if spec.name == "grid_staff":
        context.known_grid_codes = frozenset(r["code"] for r in fetch_all(conn, "grid_codes"))
    return context


def sync_taxonomy(conn: psycopg.Connection[Any]) -> None:
    """Copy the category table of ``data/taxonomy`` into ``incident_category``."""
    rows = [
        {
            "code": rec.code,
            "parent_code": rec.parent_code or None,
            "level": int(rec.level),
            "name_zh": rec.name_zh,
            "name_en": rec.name_en,
            "kind": rec.kind,
            "flag": bool(rec.group_two_robberies_one_theft),
        }
        for rec in incidents.taxonomy().categories.itertuples(index=False)
    ]
    execute_many(conn, "upsert_category", rows)


def _assign(prepared: Prepared, areas: AreaIndex) -> None:
    clean = prepared.clean
    if clean.empty:
        return
    geoms = np.asarray(clean.geometry.array, dtype=object)
    village, grid = areas.assign(geoms)
    clean["village_code"] = village
    clean["grid_code"] = grid
    if prepared.spec.geometry in ("point", "point_or_polygon"):
        for name, values in h3_columns(geoms).items():
            clean[name] = values


def import_table(
    layer: str,
    table: RawTable | gpd.GeoDataFrame,
    *,
    source: str,
    db: Database | None = None,
    crs: str | None = None,
    swap_axes: bool = False,
    file_hash: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Validate and store one batch of ``layer``; see the module docstring.

    Parameters
    ----------
    table
        A reader's raw table, or a GeoDataFrame with canonical columns and a CRS.
    source
        Name of the source system or file; with ``source_id`` it identifies a row.
    crs
        ``EPSG:xxxx``, ``gcj02`` or ``bd09``: the CRS of the coordinates, if the file does not say.
    swap_axes
        The file has latitude and longitude the wrong way round.
    """
    started = time.perf_counter()
    definition = layer_def(layer)
    spec = definition.spec
    db = db or get_database()
    report = progress or (lambda _stage, _fraction: None)
    file_name = table.path.name if isinstance(table, RawTable) else None
    phases: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        phases[name] = round(phases.get(name, 0.0) + now - clock[0], 3)
        clock[0] = now

    with db.connection() as conn:
        context = load_context(conn, db, spec)
        report(t("layers.stage_validate"), 0.1)
        prepared = prepare(
            table,
            spec,
            context=context,
            crs=crs,
            swap_axes=swap_axes,
            refine=definition.refine,
            points_as_arrays=definition.assigns_in_store,
        )
        lap("validate")
        report(t("layers.stage_assign"), 0.4)
        areas = AreaIndex.load(conn) if spec.assign_areas else None
        extra: dict[str, Any] = {}
        if definition.assigns_in_store:
            extra.update(areas=areas, phases=phases, timezone=db.timezone, conninfo=db.conninfo)
        elif areas is not None:
            _assign(prepared, areas)
        lap("assign")
        report(t("layers.stage_write"), 0.6)
        with conn.transaction():
            batch_id = begin_batch(
                conn,
                layer=layer,
                source=source,
                file_name=file_name,
                file_hash=file_hash,
                options={"crs": crs, "swap_axes": swap_axes},
                crs=prepared.source_crs,
            )
            if layer == "incidents":
                sync_taxonomy(conn)
            if spec.geometry == "line" and not prepared.clean.empty:
                prepared.clean["length_m"] = _lengths_m(prepared.clean)
            store = definition.store or (lambda c, clean, **kw: upsert(c, spec, clean, **kw))
            counts = store(
                conn,
                prepared.clean,
                source=source,
                batch_id=batch_id,
                srid=db.storage_srid,
                **extra,
            )
            write_quarantine(conn, batch_id, layer, prepared.rejects)
            warnings = list(prepared.warnings)
            if layer in ("grids", "admin_units"):
                warnings.extend(grids.tiling_warnings(conn))
            all_counts = {**prepared.counts, **counts}
            finish_batch(conn, batch_id, counts=all_counts, warnings=warnings)
            execute(
                conn,
                "audit_import",
                layer=layer,
                batch_id=batch_id,
                detail=json.dumps({"source": source, "counts": all_counts}, ensure_ascii=False),
            )
            clock[0] += sum(phases.get(k, 0.0) for k in _STORE_PHASES)
            lap("write")
        lap("commit")
        report(t("layers.stage_done"), 1.0)
    return ImportSummary(
        batch_id=batch_id,
        layer=layer,
        source=source,
        file_name=file_name,
        rows=all_counts["rows"],
        inserted=all_counts["inserted"],
        updated=all_counts["updated"],
        unchanged=all_counts["unchanged"],
        merged=all_counts["merged"],
        quarantined=all_counts["quarantined"],
        other_category=all_counts.get("other_category", 0),
        warnings=warnings,
        source_crs=prepared.source_crs,
        seconds=round(time.perf_counter() - started, 3),
        phases=phases,
    )


# Phases a store that assigns (incidents) times itself, within "write" ("keys" is not one of
# them: the key table is loaded while the rows are prepared, within "rows").
_STORE_PHASES = ("rows", "indexes")


def _lengths_m(clean: gpd.GeoDataFrame) -> np.ndarray:
    """Geodesic length of each line in metres (WGS 84 / CGCS2000 ellipsoids agree to < 1 mm/km)."""
    geod = clean.crs.get_geod()
    return np.array([geod.geometry_length(g) for g in clean.geometry], dtype=float)


def import_file(
    layer: str,
    path: str | Path,
    *,
    source: str | None = None,
    db: Database | None = None,
    crs: str | None = None,
    mapping: str | Path | None = None,
    swap_axes: bool = False,
    sheet_layer: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Read ``path`` and import it as ``layer``; the source defaults to the file's name.

    Parameters
    ----------
    mapping
        A file mapping the file's headers to canonical names (TOML, JSON or CSV), overriding
        the built-in synonyms.
    sheet_layer
        The layer of a GeoPackage to read.
    """
    spec = layer_def(layer).spec
    canonical = [*spec.columns, "source_id", "lon", "lat", "wkt"]
    started = time.perf_counter()
    table, digest = read_for_import(
        path, mapping=mapping, canonical=canonical, layer_name=sheet_layer
    )
    read_s = round(time.perf_counter() - started, 3)
    summary = import_table(
        layer,
        table,
        source=source or default_source(path),
        db=db,
        crs=crs,
        swap_axes=swap_axes,
        file_hash=digest,
        progress=progress,
    )
    summary.phases = {"read": read_s, **summary.phases}
    return summary


def import_frame(
    layer: str,
    frame: gpd.GeoDataFrame | pd.DataFrame,
    *,
    source: str,
    db: Database | None = None,
    crs: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a frame that already has the canonical columns.

    Parameters
    ----------
    frame
        A GeoDataFrame (its CRS is used), or a DataFrame with ``lon``/``lat`` columns for a point
        layer, or a DataFrame for a layer without geometry.
    crs
        The CRS of ``lon``/``lat`` (e.g. ``EPSG:4490``, ``gcj02``); default: taken as lon/lat.
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        if {"lon", "lat"} <= set(frame.columns):
            points = gpd.points_from_xy(
                pd.to_numeric(frame["lon"], errors="coerce"),
                pd.to_numeric(frame["lat"], errors="coerce"),
            )
            frame = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=points)
        else:
            frame = gpd.GeoDataFrame(frame)
    return import_table(layer, frame, source=source, db=db, crs=crs, progress=progress)
