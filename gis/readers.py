"""Read input files into a :class:`RawTable`: a frame with canonical column names, the row
numbers a user sees, the rows as read (for quarantine) and the problems found per row.

Formats, chosen by suffix:

========================  ===============================================================
``.csv``, ``.txt``        delimited text; UTF-8 (BOM or not), UTF-16 with BOM, GB18030/GBK
``.xlsx``                 one sheet of a workbook (openpyxl, read-only)
``.geojson``, ``.json``   GeoJSON (GDAL through pyogrio)
``.gpkg``                 a GeoPackage layer
``.shp``                  a shapefile with its ``.shx``/``.dbf`` (``.prj``, ``.cpg`` optional)
``.kml``                  KML placemarks
``.zip``                  an archive holding one of the above (a zipped shapefile, mostly)
========================  ===============================================================

The readers do not judge values: they neither reproject nor range-check coordinates, and
they leave type conversion to the layer. Tabular files are read as text (empty cells are
``""``); vector files keep the types GDAL gives. A tabular file yields points from its
``lon``/``lat`` columns, or shapes from a ``wkt`` column, with ``crs=None`` (not declared: the
layer importer detects or asks). A vector file's own geometry and CRS are kept; its ``lon``,
``lat`` and ``wkt`` synonyms are then left unmapped. A file with a header but no data rows
is an error (:class:`~gis.errors.InputFileError`, ``io.no_rows``), so that an empty export
is noticed rather than imported as "nothing happened".

Known limit: in CSV files, line numbers count ``\\n``; files with old Mac ``\\r``-only line
ends are read, but their row numbers are record numbers.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gis import _tabular
from gis._headers import (
    GEOMETRY_SOURCES,
    check_mapping,
    load_mapping,
    map_headers,
)
from gis.errors import InputFileError, RowIssue
from gis.messages import both

__all__ = ["SUPPORTED_SUFFIXES", "RawTable", "file_sha256", "load_mapping", "read_table"]

_TABULAR = (".csv", ".txt", ".xlsx")
_VECTOR = (".geojson", ".json", ".gpkg", ".shp", ".kml")
SUPPORTED_SUFFIXES: tuple[str, ...] = (*_TABULAR, *_VECTOR, ".zip")
_SUPPORTED_TEXT = ".csv, .txt, .xlsx, .geojson, .json, .gpkg, .shp, .kml, .zip"
_WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass
class RawTable:
    """One input file as read, before any layer rule is applied.

    Attributes
    ----------
    path
        The file given to :func:`read_table` (the archive, for a ``.zip``).
    frame
        The rows, index ``0..n-1``. Columns whose header is a known synonym (or is named in
        the user mapping) are renamed to their canonical name; other columns keep their
        header. ``geometry`` holds the shapes in :attr:`crs` (``None`` where a row's geometry
        could not be built or the file has none). Tabular values are ``str``. Built on first
        access from :attr:`attributes` (the same columns without geometry) and
        :attr:`geometry` or :attr:`lonlat`.
    row_numbers
        For each frame row, the number a user sees: the line in a CSV (the first line of the
        file is 1, so with a header on line 1 the first data row is 2), the sheet row of a
        workbook, the 1-based feature number of a vector file.
    raw_rows
        Each row as read, with the file's own headers, as a JSON-able dict (geometry as WKT,
        dates as ISO 8601, NaN as ``None``). A lazy sequence: dicts are built on access.
    row_issues
        Problems found while reading, by frame position (empty or unparseable coordinates,
        bad WKT, ragged CSV rows). The row stays in the frame.
    crs
        The CRS the file declares (``.prj``, GeoPackage SRS, GeoJSON/KML = EPSG:4326);
        ``None`` when the file declares none (CSV, XLSX, a shapefile without ``.prj``).
    columns_mapped
        Original header -> canonical name, for the columns that were renamed.
    encoding
        The text encoding used (CSV; a DBF read with a guessed encoding), else ``None``.
    header_row
        CSV: the line of the header; XLSX: its sheet row (rows above it, a title, are
        skipped). ``None`` for vector files.
    layer_name
        The layer, sheet or member file that was read.
    format
        ``"csv"``, ``"xlsx"``, ``"geojson"``, ``"gpkg"``, ``"shp"`` or ``"kml"``.
    warnings
        File-level remarks, "中文 / English" (no ``.prj``, two headers meaning one column,
        a skipped title row, several layers ...).
    geometry
        The shapes, or ``None`` when the file has none or they come from ``lon``/``lat``.
    lonlat
        A tabular file's ``lon``/``lat`` columns parsed to floats (NaN where missing, the row
        then has an issue), when they are its only geometry source; else ``None``.
    """

    path: Path
    attributes: pd.DataFrame
    row_numbers: np.ndarray
    raw_rows: Sequence[dict[str, Any]]
    row_issues: dict[int, list[RowIssue]]
    crs: pyproj.CRS | None
    columns_mapped: dict[str, str]
    encoding: str | None = None
    header_row: int | None = None
    layer_name: str | None = None
    format: str = ""
    warnings: list[str] = field(default_factory=list)
    geometry: np.ndarray | None = None
    lonlat: tuple[np.ndarray, np.ndarray] | None = None
    _frame: gpd.GeoDataFrame | None = field(default=None, repr=False)

    @property
    def frame(self) -> gpd.GeoDataFrame:
        """:attr:`attributes` with the ``geometry`` column, built on first access (a file of
        lon/lat columns keeps only :attr:`lonlat` until then)."""
        if self._frame is None:
            geometry = self.geometry
            if geometry is None and self.lonlat is not None:
                lon, lat = self.lonlat
                geometry = np.asarray(shapely.points(lon, lat), dtype=object)
                geometry[np.isnan(lon) | np.isnan(lat)] = None
            if geometry is None:
                geometry = np.full(len(self.attributes), None, dtype=object)
            series = gpd.GeoSeries(geometry, index=self.attributes.index)
            self._frame = gpd.GeoDataFrame(self.attributes, geometry=series, crs=self.crs)
        return self._frame

    @property
    def frame_built(self) -> bool:
        """Whether :attr:`frame` was built (and may since have been edited by the caller)."""
        return self._frame is not None

    def __len__(self) -> int:
        return len(self.attributes)


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 of a file's bytes, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(
    path: str | Path,
    *,
    mapping: Mapping[str, str] | str | Path | None = None,
    layer: str | None = None,
    sheet: str | int | None = None,
    canonical: Iterable[str] | None = None,
) -> RawTable:
    """Read a tabular or vector file into a :class:`RawTable`.

    Parameters
    ----------
    path
        The file; its suffix chooses the reader (see the module docstring).
    mapping
        File header -> canonical column name, overriding the synonyms of
        ``data/headers.toml``; or the path of a mapping file (see :func:`load_mapping`).
    layer
        GeoPackage/KML layer to read, or, in a ``.zip``, the member file (name or stem).
        Default: the first, with a warning when there are several.
    sheet
        Workbook sheet, by name or 0-based position. Default: the first sheet.
    canonical
        The canonical names the synonyms may produce (the layer's own columns). ``lon``,
        ``lat`` and ``wkt`` are always allowed. Default: every name in ``data/headers.toml``.

    Returns
    -------
    RawTable
        Geometry in the file's declared CRS (``crs``), or ``None`` when undeclared; units
        are the file's own (degrees for lon/lat, metres or feet for projected files).

    Raises
    ------
    InputFileError
        The file is missing, empty, has no data rows, has an unsupported format, is
        truncated or corrupt, or has an encoding that cannot be told.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("io.file_not_found", path=str(path))
    if not path.is_file():
        raise InputFileError("io.not_a_file", path=str(path))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputFileError(
            "io.unsupported_format", path=str(path), suffix=suffix or "?", supported=_SUPPORTED_TEXT
        )
    if path.stat().st_size == 0:
        raise InputFileError("io.empty_file", path=str(path))
    allowed = None if canonical is None else {*canonical, *GEOMETRY_SOURCES}
    if isinstance(mapping, str | Path):
        user_map = load_mapping(mapping)
    else:
        user_map = dict(mapping or {})
        check_mapping(user_map, extra=allowed or ())
    options = _Options(user_map, allowed, layer, sheet)
    if suffix == ".zip":
        return _read_zip(path, options)
    table = _read_file(path, str(path), options)
    table.path = path
    return table


@dataclass
class _Options:
    mapping: dict[str, str]
    allowed: set[str] | None
    layer: str | None
    sheet: str | int | None


def _read_file(path: Path, display: str, options: _Options) -> RawTable:
    suffix = path.suffix.lower()
    if suffix in _TABULAR:
        if suffix == ".xlsx":
            text = _tabular.read_xlsx(path, sheet=options.sheet, allowed=options.allowed)
        else:
            text = _tabular.read_csv(path, allowed=options.allowed)
        if text.frame.empty:
            raise InputFileError("io.no_rows", path=display)
        return _finish(
            path,
            text.frame,
            geometry=None,
            crs=None,
            row_numbers=text.row_numbers,
            issues=text.row_issues,
            warnings=text.warnings,
            options=options,
            encoding=text.encoding,
            header_row=text.header_row,
            layer_name=text.layer_name,
            fmt="xlsx" if suffix == ".xlsx" else "csv",
        )
    return _read_vector(path, display, options)


def _read_vector(path: Path, display: str, options: _Options) -> RawTable:
    suffix = path.suffix.lower()
    warnings: list[str] = []
    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        layer = options.layer
        if layer is not None and layer not in layers:
            raise InputFileError(
                "io.layer_not_found", path=display, layer=layer, layers=", ".join(layers)
            )
        if layer is None and layers:
            layer = layers[0]
            if len(layers) > 1:
                warnings.append(
                    both("io.several_layers", path=display, layers=", ".join(layers), layer=layer)
                )
        encoding = _dbf_encoding(path) if suffix == ".shp" else None
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except InputFileError:
        raise
    except Exception as exc:  # pyogrio.errors.DataSourceError, DataLayerError, OSError ...
        if suffix in (".geojson", ".json"):
            _raise_if_bad_json(path, display)
        raise InputFileError("io.unreadable_file", path=display, detail=str(exc)) from exc
    if len(frame) == 0:
        raise InputFileError("io.no_rows", path=display)
    crs: pyproj.CRS | None = None
    geometry: np.ndarray | None = None
    if isinstance(frame, gpd.GeoDataFrame):
        crs = frame.crs
        geometry = np.asarray(frame.geometry.array, dtype=object)
        if pd.isna(geometry).all():
            geometry = None
        attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    else:
        attributes = pd.DataFrame(frame)
    if crs is None and suffix in (".geojson", ".json", ".kml") and geometry is not None:
        crs = _WGS84  # RFC 7946 and KML fix WGS 84 longitude/latitude
    if suffix == ".shp" and not _sidecar(path, ".prj"):
        warnings.append(both("io.no_prj", path=display))
    raw = attributes.copy()
    if geometry is not None:
        raw["geometry"] = geometry
    table = _finish(
        path,
        attributes,
        geometry=geometry,
        crs=crs,
        row_numbers=np.arange(1, len(frame) + 1, dtype=np.int64),
        issues={},
        warnings=warnings,
        options=options,
        encoding=encoding,
        header_row=None,
        layer_name=layer,
        fmt={".json": "geojson", ".geojson": "geojson"}.get(suffix, suffix.lstrip(".")),
        raw=raw,
    )
    return table


def _finish(
    path: Path,
    frame: pd.DataFrame,
    *,
    geometry: np.ndarray | None,
    crs: pyproj.CRS | None,
    row_numbers: np.ndarray,
    issues: dict[int, list[RowIssue]],
    warnings: list[str],
    options: _Options,
    encoding: str | None,
    header_row: int | None,
    layer_name: str | None,
    fmt: str,
    raw: pd.DataFrame | None = None,
) -> RawTable:
    """Map headers, build geometry from columns where the file has none, assemble."""
    frame = frame.reset_index(drop=True)
    headers = [str(c) for c in frame.columns]
    result = map_headers(
        headers,
        mapping=options.mapping,
        allowed=options.allowed,
        exclude=GEOMETRY_SOURCES if geometry is not None else (),
    )
    warnings = [*warnings, *result.warnings]
    lonlat = None
    if geometry is None:
        sources = {c: h for h, c in result.mapped.items() if c in GEOMETRY_SOURCES}
        lonlat = _tabular.lonlat_columns(frame, sources, issues)
        if lonlat is None:
            geometry = _tabular.build_geometry(frame, sources, issues)
    # A kept header equal to a canonical target (or to "geometry") would clash: suffix it.
    taken = {*result.mapped.values(), "geometry"}
    renames = dict(result.mapped)
    for header in headers:
        if header not in renames and header in taken:
            renames[header] = f"{header}_raw"
    out = frame.rename(columns=renames)
    return RawTable(
        path=path,
        attributes=out,
        geometry=geometry,
        lonlat=lonlat,
        row_numbers=np.asarray(row_numbers, dtype=np.int64),
        raw_rows=_tabular.RawRows(frame if raw is None else raw.reset_index(drop=True)),
        row_issues=issues,
        crs=crs,
        columns_mapped=dict(result.mapped),
        encoding=encoding,
        header_row=header_row,
        layer_name=layer_name,
        format=fmt,
        warnings=warnings,
    )


def _sidecar(shp: Path, suffix: str) -> Path | None:
    """The file next to ``shp`` with ``suffix``, in any letter case."""
    for candidate in shp.parent.glob(f"{shp.stem}.*"):
        if candidate.suffix.lower() == suffix and candidate.stem == shp.stem:
            return candidate
    return None


def _dbf_encoding(shp: Path) -> str | None:
    """Guess the encoding of a DBF that declares none (no ``.cpg``, no language driver byte).

    GDAL would read such a file as ISO-8859-1, which garbles Chinese attributes. Returns
    ``"UTF-8"`` or ``"GB18030"`` when the text bytes decode as such, else ``None`` (GDAL's
    choice).
    """
    dbf = _sidecar(shp, ".dbf")
    if dbf is None or _sidecar(shp, ".cpg") is not None:
        return None
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32 or head[29] != 0:
            return None
        header_length = int.from_bytes(head[8:10], "little")
        fh.seek(header_length)
        sample = fh.read(1 << 20)
    if sample.isascii():
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding.upper()
    return None


def _raise_if_bad_json(path: Path, display: str) -> None:
    """Raise ``io.truncated_geojson`` with the position, if the file is not valid JSON."""
    if path.stat().st_size > 1 << 29:
        return
    try:
        json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", "?")
        column = getattr(exc, "colno", "?")
        detail = getattr(exc, "msg", str(exc))
        raise InputFileError(
            "io.truncated_geojson", path=display, line=line, column=column, detail=detail
        ) from exc


_ZIP_PREFERENCE = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".csv", ".txt", ".xlsx")


def _read_zip(path: Path, options: _Options) -> RawTable:
    """Read the data file inside an archive (a zipped shapefile, GeoPackage, GeoJSON ...)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                m.filename
                for m in archive.infolist()
                if not m.is_dir()
                and "__MACOSX" not in m.filename
                and not Path(m.filename).name.startswith(".")
            ]
            data = [m for m in members if Path(m).suffix.lower() in _ZIP_PREFERENCE]
            if not data:
                raise InputFileError("io.zip_no_data", path=str(path), supported=_SUPPORTED_TEXT)
            chosen = _choose_member(data, options.layer)
            inner_options = options
            if chosen is None:
                data.sort(key=lambda m: _ZIP_PREFERENCE.index(Path(m).suffix.lower()))
                chosen = data[0]
            else:
                inner_options = _Options(options.mapping, options.allowed, None, options.sheet)
            with tempfile.TemporaryDirectory(prefix="pingan-zip-") as tmp:
                archive.extractall(tmp)
                inner = Path(tmp) / chosen
                display = f"{path}!{chosen}"
                if inner.suffix.lower() == ".shp":
                    for needed in (".shx", ".dbf"):
                        if _sidecar(inner, needed) is None:
                            raise InputFileError(
                                "io.zip_shapefile_incomplete",
                                path=str(path),
                                shp=chosen,
                                missing=needed,
                            )
                table = _read_file(inner, display, inner_options)
    except zipfile.BadZipFile as exc:
        raise InputFileError("io.bad_zip", path=str(path), detail=str(exc)) from exc
    if len(data) > 1 and inner_options is options:
        table.warnings.insert(
            0, both("io.several_files_in_zip", path=str(path), files=", ".join(data), chosen=chosen)
        )
    table.path = path
    table.layer_name = table.layer_name or Path(chosen).stem
    return table


def _choose_member(data: list[str], layer: str | None) -> str | None:
    """The member named by ``layer`` (its name or stem), if any."""
    if layer is None:
        return None
    for member in data:
        if layer in (member, Path(member).name, Path(member).stem):
            return member
    return None
