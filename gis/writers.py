"""Writing layers to files: GeoPackage, GeoJSON, CSV and XLSX, chosen by the file suffix.

CSV and XLSX carry points as ``lon``/``lat`` columns and other geometries as WKT, so that the
files open in Excel, where Chinese grid staff read them. CSV is written as UTF-8 with a BOM,
which Excel needs to show Chinese text. GeoJSON is always written in EPSG:4326 (RFC 7946).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from gis.errors import InputFileError

SUFFIXES = (".gpkg", ".geojson", ".csv", ".xlsx")


def _tabular(frame: pd.DataFrame) -> pd.DataFrame:
    """Geometry as lon/lat (points) or WKT (anything else); tz-aware times as ISO text."""
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame:
        geoms = frame.geometry
        if len(geoms) and (geoms.geom_type == "Point").all():
            out["lon"] = geoms.x.round(7)
            out["lat"] = geoms.y.round(7)
        else:
            out["wkt"] = shapely.to_wkt(geoms.array, rounding_precision=7)
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda v: v.isoformat() if pd.notna(v) else None)
        elif out[column].dtype == object and len(out) and isinstance(out[column].iloc[0], bytes):
            out[column] = out[column].map(lambda v: v.hex() if isinstance(v, bytes) else v)
    return out


def write_table(frame: pd.DataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write ``frame`` to ``path`` in the format its suffix names.

    Parameters
    ----------
    frame
        A GeoDataFrame (with a CRS) or a plain DataFrame.
    layer
        Layer name inside a GeoPackage; default the file's stem.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputFileError("io.unsupported_export", path=str(path), formats=", ".join(SUFFIXES))
    path.parent.mkdir(parents=True, exist_ok=True)
    spatial = isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame.columns
    if suffix == ".geojson" and not spatial:
        raise InputFileError("io.export_needs_geometry", path=str(path))
    if suffix == ".gpkg" and not spatial:
        # A GeoPackage holds plain attribute tables too (grid staff, patrol teams).
        pyogrio.write_dataframe(_tabular(frame), path, layer=layer or path.stem, driver="GPKG")
    elif suffix in (".gpkg", ".geojson"):
        data = frame.copy()
        for column in data.columns:
            if isinstance(data[column].dtype, pd.DatetimeTZDtype):
                data[column] = data[column].map(lambda v: v.isoformat() if pd.notna(v) else None)
        if suffix == ".geojson":
            data.to_crs(4326).to_file(path, driver="GeoJSON", engine="pyogrio")
        else:
            data.to_file(path, layer=layer or path.stem, driver="GPKG", engine="pyogrio")
    elif suffix == ".xlsx":
        _tabular(frame).to_excel(path, index=False, sheet_name=(layer or path.stem)[:31])
    else:
        _tabular(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path
