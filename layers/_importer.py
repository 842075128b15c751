"""The import pipeline every base layer shares: read → validate → deduplicate → persist.

:func:`prepare` is pure (no database): it turns a reader's :class:`~gis.readers.RawTable` or an
analyst's GeoDataFrame into clean rows in the storage CRS plus rejects with reasons.
:func:`layers.ingest.import_table` then writes one batch in one transaction
(see :mod:`layers._store`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from gis.errors import RowIssue
from gis.readers import RawTable, file_sha256, read_table
from layers._geometry import prepare_geometry, prepare_points, resolve_declared_crs
from layers._spec import (
    IssueCollector,
    LayerSpec,
    as_python,
    column_hashes,
    combine_hashes,
    validate_columns,
)

Progress = Callable[[str, float], None]


@dataclass
class ImportContext:
    """What validation needs to know about the database, gathered once per batch."""

    storage_srid: int
    timezone: str
    area_bounds: tuple[float, float, float, float] | None = None
    reference_lonlat: tuple[np.ndarray, np.ndarray] | None = None
    known_grid_codes: frozenset[str] = frozenset()


@dataclass
class Prepared:
    """Clean rows ready to store, and the rejected rows with their reasons.

    Attributes
    ----------
    clean
        Canonical columns plus ``source_id``, ``row_number``, ``merged_rows``, ``row_hash`` and
        ``geometry`` in the storage CRS: a GeoDataFrame; with ``prepare(points_as_arrays=True)``
        a DataFrame whose points are the float columns ``lon`` and ``lat`` instead.
    rejects
        One dict per quarantined row: ``row_number``, ``source_id``, ``raw``, ``reasons``.
    counts
        ``rows``, ``merged``, ``quarantined`` and layer-specific counts (``other_category``).
    """

    spec: LayerSpec
    clean: pd.DataFrame
    rejects: list[dict[str, Any]]
    counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    source_crs: str | None = None


@dataclass
class ImportSummary:
    """What one import batch did; ``pingan import`` prints it and ``--json`` returns it."""

    batch_id: int
    layer: str
    source: str
    file_name: str | None
    rows: int
    inserted: int
    updated: int
    unchanged: int
    merged: int
    quarantined: int
    other_category: int = 0
    warnings: list[str] = field(default_factory=list)
    source_crs: str | None = None
    seconds: float = 0.0
    # Seconds per phase (read, validate, assign, write, keys, rows, indexes, commit ...).
    phases: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_source(path: str | Path) -> str:
    """Source name derived from a file name: ``incidents_2026-10.csv`` → ``incidents_2026-10``."""
    name = Path(path).name
    for suffix in (".geojson", ".gpkg", ".xlsx", ".csv", ".json", ".zip", ".shp", ".kml", ".txt"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def _raw_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Non-geometry columns as they were read (strings, datetimes kept as datetimes)."""
    return frame.drop(columns=[c for c in ("geometry",) if c in frame.columns])


def prepare(
    table: RawTable | gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    context: ImportContext,
    crs: str | None = None,
    swap_axes: bool = False,
    refine: Callable[[pd.DataFrame, IssueCollector, ImportContext], pd.DataFrame] | None = None,
    points_as_arrays: bool = False,
) -> Prepared:
    """Validate raw rows of ``spec``'s layer; see the module docstring.

    Parameters
    ----------
    table
        A reader's raw table, or a GeoDataFrame with canonical columns (its CRS is declared).
    crs
        The user's ``--crs`` (``EPSG:xxxx``, ``gcj02``, ``bd09``); overrides the file's CRS.
    refine
        Layer-specific rules run on the typed columns (e.g. incident categories and windows).
    points_as_arrays
        For a point layer read from lon/lat columns, give ``clean`` float columns ``lon`` and
        ``lat`` (storage CRS, degrees) instead of a geometry column: no geometry object is
        made per row (the incident store writes EWKB straight from the arrays).
    """
    lonlat = None
    if isinstance(table, RawTable):
        # Coordinate arrays unless the caller has built (and perhaps edited) the frame.
        frame = table.frame if table.frame_built else table.attributes
        if not table.frame_built and spec.geometry in ("point", "point_or_polygon"):
            lonlat = table.lonlat
        row_numbers = np.asarray(table.row_numbers, dtype=np.int64)
        raw_rows = table.raw_rows
        file_crs = table.crs
        file_name = table.path.name
        issues = IssueCollector()
        issues.extend(table.row_issues)
        warnings = list(getattr(table, "warnings", []) or [])
    else:
        frame = table.reset_index(drop=True)
        row_numbers = np.arange(1, len(frame) + 1, dtype=np.int64)
        raw_rows = None
        has_geometry = isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame.columns
        file_crs = frame.crs if has_geometry else None
        file_name = "<GeoDataFrame>"
        issues = IssueCollector()
        warnings = []
    n = len(frame)

    typed = validate_columns(frame, spec, timezone=context.timezone, issues=issues)
    if spec.key == "source_id" and "source_id" not in spec.columns:
        typed["source_id"] = frame["source_id"].astype("string") if "source_id" in frame else pd.NA
    if refine is not None:
        typed = refine(typed, issues, context)
    for check in spec.extra_checks:
        issues.extend(check(typed))

    source_crs = None
    x = y = None
    geometry: gpd.GeoSeries | None
    if spec.geometry is not None and lonlat is not None:
        points = prepare_points(
            *lonlat,
            declared=resolve_declared_crs(crs, file_crs, file_name=file_name),
            storage_srid=context.storage_srid,
            issues=issues,
            area_bounds=context.area_bounds,
            reference_lonlat=context.reference_lonlat,
            swap_axes=swap_axes,
            file_name=file_name,
        )
        warnings.extend(points.warnings)
        source_crs = points.source_crs
        x, y = points.lon, points.lat
        geometry = None
    elif spec.geometry is not None:
        declared = resolve_declared_crs(crs, file_crs, file_name=file_name)
        if isinstance(table, RawTable):
            geometry_in = table.frame.geometry
        else:
            geometry_in = frame.geometry if "geometry" in frame else gpd.GeoSeries([None] * n)
        result = prepare_geometry(
            geometry_in,
            kind=spec.geometry,
            declared=declared,
            storage_srid=context.storage_srid,
            issues=issues,
            area_bounds=context.area_bounds,
            reference_lonlat=context.reference_lonlat,
            swap_axes=swap_axes,
            file_name=file_name,
        )
        warnings.extend(result.warnings)
        source_crs = result.source_crs
        geometry = result.geometry.reset_index(drop=True)
    else:
        geometry = gpd.GeoSeries([None] * n, crs=f"EPSG:{context.storage_srid}")

    typed = typed.reset_index(drop=True)
    content = typed[[c for c in typed.columns if not c.endswith("__date_only")]].copy()
    if x is not None and y is not None:
        # The same content as the geometry path hashes, so stored row hashes still match.
        if not (np.isnan(x) | np.isnan(y)).any():
            content["__x"], content["__y"] = x, y
        else:
            content["__wkb"] = point_wkb_hex(x, y)
    elif (
        spec.geometry is not None
        and geometry is not None
        and len(geometry)
        and (shapely.get_type_id(geometry.array) == 0).all()
    ):
        content["__x"], content["__y"] = (
            shapely.get_x(geometry.array),
            shapely.get_y(geometry.array),
        )
    elif spec.geometry is not None and geometry is not None:
        content["__wkb"] = geometry.to_wkb(hex=True)
    hashed = column_hashes(content)
    hashes = combine_hashes(hashed, n)
    key = (
        typed[spec.key].astype("string")
        if spec.key in typed
        else pd.Series([pd.NA] * n, dtype="string")
    )
    missing_key = key.isna().to_numpy()
    if missing_key.any():
        # No identifier in the file: the row's content is its identity, so re-import is idempotent.
        key = key.copy()
        key[missing_key] = ["h:" + bytes(h).hex() for h in hashes[missing_key]]
        key_hashes = column_hashes(key.to_frame())[0]
    else:  # the key column was hashed with the content
        key_hashes = hashed[list(content.columns).index(spec.key)]
    typed["source_id"] = key

    merged_into, merged = _dedupe(key, hashes, issues, row_numbers, key_hashes=key_hashes)

    bad = issues.bad_mask(n)
    keep = ~bad & ~merged
    if x is not None and y is not None:
        if points_as_arrays:
            typed["lon"], typed["lat"] = x, y
        else:
            made = np.asarray(shapely.points(x, y), dtype=object)
            made[np.isnan(x) | np.isnan(y)] = None
            geometry = gpd.GeoSeries(made, crs=f"EPSG:{context.storage_srid}")
    clean: pd.DataFrame
    if geometry is None:  # coordinates as columns: a plain frame, no geometry column
        clean = typed if keep.all() else typed.loc[keep].reset_index(drop=True)
    elif keep.all():  # the common case: no filtering copy of every column
        clean = gpd.GeoDataFrame(typed, geometry=geometry)
    else:
        clean = gpd.GeoDataFrame(
            typed.loc[keep].reset_index(drop=True), geometry=geometry[keep].reset_index(drop=True)
        )
    clean["row_number"] = row_numbers[keep]
    clean["merged_rows"] = np.bincount(merged_into, minlength=n)[keep] + 1
    clean["row_hash"] = hash_column(hashes[keep])

    headers = {canon: original for original, canon in getattr(table, "columns_mapped", {}).items()}
    rejects = []
    raw_frame = None if raw_rows is not None else _raw_strings(frame)
    for row in sorted(issues.by_row):
        raw = (
            raw_rows[row]
            if raw_rows is not None
            else {
                k: as_python(v)
                for k, v in raw_frame.iloc[row].items()  # type: ignore[union-attr]
            }
        )
        if raw_rows is None and spec.geometry is not None:
            g = frame.geometry.iloc[row] if "geometry" in frame else None
            raw["geometry"] = g.wkt if g is not None else None
        rejects.append(
            {
                "row_number": int(row_numbers[row]),
                "source_id": None if pd.isna(key.iloc[row]) else str(key.iloc[row]),
                "raw": json.loads(json.dumps(raw, default=str)),
                "reasons": [_reason(issue, headers) for issue in issues.by_row[row]],
            }
        )
    counts = {
        "rows": n,
        "merged": int(merged.sum()),
        "quarantined": len(rejects),
        "other_category": int(typed.get("__other_category", pd.Series(dtype=bool)).loc[keep].sum())
        if "__other_category" in typed
        else 0,
    }
    clean = clean.drop(columns=[c for c in clean.columns if c.startswith("__")])
    return Prepared(spec, clean, rejects, counts, warnings, source_crs)


def point_wkb_hex(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ISO WKB (little-endian, 2D point) of each ``(x, y)`` as upper-case hex, ``None`` where a
    coordinate is NaN: what ``GeoSeries.to_wkb(hex=True)`` gives for the same points."""
    block = np.empty(len(x), dtype=[("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
    block["order"], block["type"], block["x"], block["y"] = 1, 1, x, y
    raw = block.view(np.uint8).reshape(len(x), -1)
    digits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    text = np.empty((len(x), raw.shape[1] * 2), dtype=np.uint8)
    text[:, 0::2], text[:, 1::2] = digits[raw >> 4], digits[raw & 15]
    out = np.ascontiguousarray(text).view(f"S{text.shape[1]}").ravel().astype(str).astype(object)
    out[np.isnan(x) | np.isnan(y)] = None
    return out


def _reason(issue: RowIssue, headers: dict[str, str]) -> dict[str, Any]:
    """An issue as stored, naming the file's own header too: 发案时间 (occurred_from)."""
    original = headers.get(issue.column or "")
    if original and original != issue.column:
        issue = RowIssue(issue.key, column=f"{original} ({issue.column})", **issue.params)
    return issue.as_json()


def hash_column(hashes: np.ndarray) -> pd.arrays.ArrowExtensionArray:
    """``(n, 8)`` uint8 row hashes as an Arrow ``fixed_size_binary(8)`` column (values are
    ``bytes``), built without a Python object per row."""
    block = np.ascontiguousarray(hashes, dtype=np.uint8)
    arrow = pa.Array.from_buffers(pa.binary(8), len(block), [None, pa.py_buffer(block)])
    return pd.arrays.ArrowExtensionArray(arrow)


def _dedupe(
    keys: pd.Series,
    hashes: np.ndarray,
    issues: IssueCollector,
    row_numbers: np.ndarray,
    *,
    key_hashes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Merge exact repeats of a key; quarantine later rows whose content differs.

    ``key_hashes`` holds a hash of each key (equal keys, equal hashes). Returns
    ``(merged_into, merged)``: for each merged row the position of the row it was merged into,
    and the mask of merged rows. Rows already rejected take no part.
    """
    n = len(keys)
    positions = np.flatnonzero(~issues.bad_mask(n))
    in_order = np.sort(key_hashes[positions])
    if not (in_order[1:] == in_order[:-1]).any():  # every key once: nothing to merge
        return np.empty(0, dtype=np.int64), np.zeros(n, dtype=bool)
    # Arrow-backed keys are factorized by Arrow's hash table, without a Python object per key.
    codes, _ = pd.factorize(keys.iloc[positions] if len(positions) < n else keys)
    codes = np.asarray(codes)
    # Codes number the keys in order of appearance: a row is its key's first where its code
    # is above every code before it, and the k-th such row is key k's.
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    first_of_key = positions[np.flatnonzero(first)][codes]
    row_hash = hashes.view(">u8").ravel()
    repeat = positions != first_of_key
    same = row_hash[positions] == row_hash[first_of_key]
    merged = np.zeros(n, dtype=bool)
    merged[positions[repeat & same]] = True
    merged_into = first_of_key[repeat & same]
    conflicts = positions[repeat & ~same]
    firsts = first_of_key[repeat & ~same]
    for row, first in zip(conflicts.tolist(), firsts.tolist(), strict=True):
        issues.by_row[row].append(
            RowIssue(
                "layers.conflicting_duplicate",
                source_id=str(keys.iloc[row]),
                first_row=int(row_numbers[first]),
            )
        )
    return merged_into.astype(np.int64), merged


def read_for_import(
    path: str | Path,
    *,
    mapping: str | Path | None,
    canonical: list[str],
    layer_name: str | None = None,
) -> tuple[RawTable, str]:
    """Read a file for import and return it with its SHA-256.

    ``layer_name`` names the layer of a GeoPackage or KML, or the sheet of a workbook.
    """
    workbook = Path(path).suffix.lower() == ".xlsx"
    # The digest is taken on a second thread while the file is parsed (hashlib releases the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(file_sha256, Path(path))
        table = read_table(
            Path(path),
            mapping=Path(mapping) if mapping else None,
            canonical=canonical,
            layer=None if workbook else layer_name,
            sheet=layer_name if workbook else None,
        )
        return table, digest.result()
