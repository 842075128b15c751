"""H3 cells for incidents and aggregation maps, vectorised.

Every incident gets H3 cells at resolutions 7, 9 and 10 at ingest (see ``DESIGN.md`` §3).
Cells are held as **signed int64**, which is what PostgreSQL ``bigint`` stores: a valid H3
index never sets bit 63, so the signed and unsigned values are equal. The null cell is
``0`` (H3's own ``H3_NULL``): it stands for missing or invalid coordinates (NaN, infinite,
|lat| > 90, |lon| > 180), which never raise.

Points go through h3ronpy (Rust, vectorised); parents are derived with numpy bit operations
on the H3 index layout, so the finest resolution is computed once.

H3 index layout (bit 63 is the highest):

======  =========================================================
bits    meaning
======  =========================================================
63      reserved, 0
59-62   mode (1 for a cell)
56-58   reserved, 0 for cells
52-55   resolution 0-15
45-51   base cell 0-121
0-44    15 digits of 3 bits; digit r at bits 3*(15-r) .. 3*(15-r)+2,
        digits finer than the resolution are 7
======  =========================================================
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely
from h3ronpy import vector as h3v
from numpy.typing import ArrayLike, NDArray

from gis.errors import ValidationError

__all__ = [
    "H3_NULL",
    "H3_RESOLUTIONS",
    "cell_parent",
    "cell_resolution",
    "cell_to_str",
    "cells_to_polygons",
    "points_to_cell_columns",
    "points_to_cells",
    "str_to_cell",
]

H3_RESOLUTIONS: tuple[int, ...] = (7, 9, 10)
H3_NULL = 0

IntArray = NDArray[np.int64]

_RES_SHIFT = 52
_RES_MASK = np.int64(0xF) << np.int64(_RES_SHIFT)
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_CHARS = 15  # every valid cell index is exactly 15 hex digits (bit 59 set, bits 60-63 clear)


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise ValidationError("crs.h3_resolution", resolution=repr(resolution))
    if not 0 <= int(resolution) <= 15:
        raise ValidationError("crs.h3_resolution", resolution=int(resolution))
    return int(resolution)


def points_to_cells(lon: ArrayLike, lat: ArrayLike, resolution: int) -> IntArray:
    """Index longitude/latitude points to H3 cells.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (EPSG:4326 or EPSG:4490; H3 is defined on WGS 84 and
        CGCS2000 differs by centimetres). Any shape; the result has the same shape.
    resolution
        H3 resolution, 0-15.

    Returns
    -------
    numpy.ndarray of int64
        The cells; :data:`H3_NULL` (0) where a coordinate is missing or out of range.
    """
    res = _check_resolution(resolution)
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    shape = np.broadcast_shapes(lon_a.shape, lat_a.shape)
    lon_f = np.broadcast_to(lon_a, shape).ravel()
    lat_f = np.broadcast_to(lat_a, shape).ravel()
    ok = (np.abs(lat_f) <= 90) & (np.abs(lon_f) <= 180)  # False for NaN and infinities
    if ok.all():  # the usual case: no masked copies
        cells = h3v.coordinates_to_cells(
            np.ascontiguousarray(lat_f), np.ascontiguousarray(lon_f), res
        )
        return np.asarray(cells, dtype=np.uint64).view(np.int64).reshape(shape)
    out = np.zeros(lon_f.size, dtype=np.int64)
    if ok.any():
        cells = h3v.coordinates_to_cells(
            np.ascontiguousarray(lat_f[ok]), np.ascontiguousarray(lon_f[ok]), res
        )
        out[ok] = np.asarray(cells, dtype=np.uint64).view(np.int64)
    return out.reshape(shape)


def cell_resolution(cells: ArrayLike) -> NDArray[np.int8]:
    """Return the resolution (0-15) of each cell; -1 for :data:`H3_NULL`."""
    c = np.asarray(cells, dtype=np.int64)
    res = ((c & _RES_MASK) >> np.int64(_RES_SHIFT)).astype(np.int8)
    return np.where(c == H3_NULL, np.int8(-1), res).astype(np.int8)


def cell_parent(cells: ArrayLike, resolution: int) -> IntArray:
    """Return the parent of each cell at a coarser (or equal) resolution.

    Pure numpy bit operations: set the resolution field and fill the digits finer than
    ``resolution`` with 7. Equals ``h3.cell_to_parent`` for valid cells.

    Parameters
    ----------
    cells
        H3 cells as int64 (or uint64); :data:`H3_NULL` stays null.
    resolution
        Target resolution, 0-15, not finer than any cell's own.

    Returns
    -------
    numpy.ndarray of int64

    Raises
    ------
    ValidationError
        If ``resolution`` is invalid or finer than some cell's resolution.
    """
    res = _check_resolution(resolution)
    c = np.asarray(cells)
    c = c.view(np.int64) if c.dtype == np.uint64 else c.astype(np.int64, copy=False)
    own = cell_resolution(c)
    finer = (c != H3_NULL) & (own < res)
    if finer.any():
        example = int(c[finer].ravel()[0])
        raise ValidationError(
            "crs.h3_parent_finer",
            resolution=res,
            count=int(finer.sum()),
            example=f"{example:x}",
        )
    return _parent(c, res)


def _parent(cells: IntArray, res: int) -> IntArray:
    """:func:`cell_parent` without its checks, for cells known to be at ``res`` or finer."""
    unused_digits = np.int64((1 << (3 * (15 - res))) - 1)
    parent = (cells & ~_RES_MASK) | (np.int64(res) << np.int64(_RES_SHIFT)) | unused_digits
    return np.where(cells == H3_NULL, np.int64(H3_NULL), parent)


def points_to_cell_columns(
    lon: ArrayLike, lat: ArrayLike, *, resolutions: tuple[int, ...] = H3_RESOLUTIONS
) -> dict[str, IntArray]:
    """Compute the H3 cell columns of points, the finest once and its parents by bit operations.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (EPSG:4326 / EPSG:4490).
    resolutions
        The resolutions wanted; default :data:`H3_RESOLUTIONS` (7, 9, 10).

    Returns
    -------
    dict
        ``{"h3_r7": ..., "h3_r9": ..., "h3_r10": ...}``: int64 arrays, 0 for missing points.

    Notes
    -----
    The coarser columns are the *parents* of the finest cell, so counts per r10 cell roll up
    exactly into r9 and r7. H3 cells do not nest perfectly, so for a few percent of points the
    r7 parent differs from ``points_to_cells(lon, lat, 7)``; the hierarchy is the consistent
    choice for aggregation.
    """
    wanted = sorted({_check_resolution(r) for r in resolutions})
    finest = points_to_cells(lon, lat, wanted[-1])
    columns = {f"h3_r{wanted[-1]}": finest}
    for res in wanted[:-1]:
        columns[f"h3_r{res}"] = _parent(finest, res)
    return {f"h3_r{res}": columns[f"h3_r{res}"] for res in wanted}


def cells_to_polygons(cells: ArrayLike) -> NDArray[np.object_]:
    """Return the boundary polygon of each cell, for aggregation maps.

    Parameters
    ----------
    cells
        H3 cells as int64 or uint64 (1-d).

    Returns
    -------
    numpy.ndarray of shapely.Polygon
        Polygons in longitude/latitude degrees (EPSG:4326); ``None`` for :data:`H3_NULL`.
    """
    c = np.asarray(cells)
    c = c.view(np.int64) if c.dtype == np.uint64 else c.astype(np.int64, copy=False)
    c = c.ravel()
    out = np.full(c.size, None, dtype=object)
    valid = c != H3_NULL
    if valid.any():
        wkb = h3v.cells_to_wkb_polygons(pa.array(c[valid].view(np.uint64)))
        out[valid] = shapely.from_wkb(np.asarray(pa.array(wkb).to_pylist(), dtype=object))
    return out


def cell_to_str(cells: ArrayLike) -> NDArray[np.str_]:
    """Format cells as H3's lowercase hexadecimal strings (e.g. ``"8a31aa428657fff"``).

    Vectorised; :data:`H3_NULL` gives ``""``.
    """
    c = np.asarray(cells)
    c = c.view(np.int64) if c.dtype == np.uint64 else c.astype(np.int64, copy=False)
    flat = c.ravel().view(np.uint64)
    shifts = np.arange(4 * (_HEX_CHARS - 1), -1, -4, dtype=np.uint64)
    nibbles = (flat[:, None] >> shifts[None, :]) & np.uint64(0xF)
    chars = np.ascontiguousarray(_HEX_DIGITS[nibbles.astype(np.intp)])
    text = chars.view(f"S{_HEX_CHARS}").ravel().astype(f"U{_HEX_CHARS}")
    text[flat == 0] = ""
    return text.reshape(c.shape)


def str_to_cell(text: ArrayLike) -> IntArray:
    """Parse H3 hexadecimal strings to int64 cells, vectorised.

    Upper or lower case, with or without a ``0x`` prefix; empty strings give
    :data:`H3_NULL`.

    Raises
    ------
    ValidationError
        If a string is not hexadecimal or longer than 16 digits.
    """
    arr = np.asarray(text, dtype=str)
    flat = np.char.lower(np.char.strip(arr.ravel()))
    flat = np.where(np.char.startswith(flat, "0x"), np.char.replace(flat, "0x", "", count=1), flat)
    lengths = np.char.str_len(flat)
    width = 16
    bad_length = lengths > width
    padded = np.char.rjust(np.where(bad_length, "", flat), width, "0")
    codes = np.frombuffer(
        np.ascontiguousarray(np.char.encode(padded, "ascii", "replace"))
        .astype(f"S{width}")
        .tobytes(),
        dtype=np.uint8,
    ).reshape(-1, width)
    values = np.full(codes.shape, 255, dtype=np.uint8)
    digit = (codes >= ord("0")) & (codes <= ord("9"))
    letter = (codes >= ord("a")) & (codes <= ord("f"))
    values[digit] = codes[digit] - ord("0")
    values[letter] = codes[letter] - ord("a") + 10
    bad = bad_length | (values == 255).any(axis=1)
    if bad.any():
        raise ValidationError(
            "crs.h3_invalid_string", count=int(bad.sum()), example=str(arr.ravel()[bad][0])
        )
    shifts = np.arange(4 * (width - 1), -1, -4, dtype=np.uint64)
    result = np.bitwise_or.reduce(values.astype(np.uint64) << shifts[None, :], axis=1)
    return result.view(np.int64).reshape(arr.shape)
