"""A dry run of an import: what a file would give, before anything is written.

>>> from layers.preview import preview_file
>>> p = preview_file("incidents", "台账_2026-10.csv")                     # doctest: +SKIP
>>> p.rows, p.accepted, p.quarantined, p.source_crs, p.suggestions       # doctest: +SKIP

The preview runs the same reader and the same validation as :func:`layers.import_file`
(:func:`layers._importer.read_for_import` and :func:`layers._importer.prepare`), with the
same context read from the database (area extent and reference points for the coordinate
checks, grid codes for staff). It only reads: no batch, row, quarantine or audit entry is
written. What it cannot know without writing is left out: whether a clean row would be new,
updated or unchanged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gis.db import Database, get_database
from gis.messages import t
from gis.readers import RawTable
from layers._importer import Prepared, Progress, default_source, prepare, read_for_import
from layers.ingest import layer_def, load_context

__all__ = [
    "REJECTS_SHOWN",
    "ImportPreview",
    "default_source",
    "preview_file",
    "preview_table",
    "suggested_fixes",
]

REJECTS_SHOWN = 20
"""How many rejected rows a preview carries by default (all are counted)."""

# Coordinate warnings of gis.crs.detect_coordinate_problems name the option that fixes them
# (crs.gcj02_offset / crs.bd09_offset end with "--crs gcj02" / "--crs bd09" in both
# languages); the preview turns that into a suggestion the dashboard can apply.
_OFFSET_HINTS = {"gcj02": "--crs gcj02", "bd09": "--crs bd09"}
# Above this share of rows with swapped axes, swapping the whole file is the likely fix.
_SWAP_FILE_SHARE = 0.5


@dataclass
class ImportPreview:
    """What importing a file would do, as far as it is known without writing.

    Attributes
    ----------
    rows
        Data rows read from the file.
    accepted
        Distinct records that would be stored (rows less merged repeats and rejects).
    merged
        Exact repeats of an earlier row's key and content, merged into it.
    quarantined
        Rows that would go to the quarantine; the first :data:`REJECTS_SHOWN` are in
        ``rejects`` (``row_number``, ``source_id``, ``raw``, ``reasons`` with ``key``,
        ``column``, ``zh`` and ``en``), all are counted by reason in ``reason_counts``.
    source_crs
        The CRS the coordinates were read in (``EPSG:4326 (assumed)`` when neither the user
        nor the file named one).
    warnings
        File-level warnings, each "中文 / English" (a GCJ-02 offset, an assumed CRS ...).
    suggestions
        Fixes the findings point to: ``gcj02`` or ``bd09`` (pass that CRS), ``swap_axes``
        (most rows have latitude and longitude swapped), ``crs`` (rows hold projected
        numbers: name their EPSG code).
    """

    layer: str
    file_name: str
    source: str
    rows: int
    accepted: int
    merged: int
    quarantined: int
    other_category: int = 0
    source_crs: str | None = None
    warnings: list[str] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    reason_counts: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The preview as JSON-ready values."""
        return dict(self.__dict__)


def preview_file(
    layer: str,
    path: str | Path,
    *,
    crs: str | None = None,
    swap_axes: bool = False,
    mapping: str | Path | None = None,
    sheet_layer: str | None = None,
    db: Database | None = None,
    limit: int = REJECTS_SHOWN,
    progress: Progress | None = None,
) -> ImportPreview:
    """Read and validate ``path`` as ``layer`` the way :func:`layers.import_file` would.

    Parameters
    ----------
    layer
        A base layer name (``incidents``, ``grids`` ...; see ``layers.BASE_LAYERS``).
    crs
        ``EPSG:xxxx``, ``gcj02`` or ``bd09``: the CRS of the coordinates, if the file does
        not say; as ``pingan import --crs``.
    swap_axes, mapping, sheet_layer
        As for :func:`layers.import_file`.
    db
        The database whose context (area extent, reference points, grid codes) the checks
        use; it is only read.
    limit
        How many rejected rows to return in full.
    progress
        Called with a stage name and the fraction done (0-1).

    Raises
    ------
    InputFileError, CRSError, ValidationError
        As the import would: the file cannot be read, its CRS is unusable, the layer is unknown.
    """
    spec = layer_def(layer).spec
    report = progress or (lambda _stage, _fraction: None)
    report(t("layers.stage_read"), 0.05)
    canonical = [*spec.columns, "source_id", "lon", "lat", "wkt"]
    table, _digest = read_for_import(
        path, mapping=mapping, canonical=canonical, layer_name=sheet_layer
    )
    return preview_table(
        layer,
        table,
        crs=crs,
        swap_axes=swap_axes,
        db=db,
        limit=limit,
        progress=report,
    )


def preview_table(
    layer: str,
    table: RawTable,
    *,
    crs: str | None = None,
    swap_axes: bool = False,
    db: Database | None = None,
    limit: int = REJECTS_SHOWN,
    progress: Progress | None = None,
) -> ImportPreview:
    """Validate a reader's table as ``layer`` without writing; see :func:`preview_file`."""
    definition = layer_def(layer)
    report = progress or (lambda _stage, _fraction: None)
    db = db or get_database()
    with db.connection() as conn:
        context = load_context(conn, db, definition.spec)
    report(t("layers.stage_validate"), 0.3)
    prepared = prepare(
        table,
        definition.spec,
        context=context,
        crs=crs,
        swap_axes=swap_axes,
        refine=definition.refine,
    )
    report(t("layers.stage_done"), 1.0)
    return _summarise(layer, table.path, prepared, limit=limit)


def _summarise(layer: str, path: Path, prepared: Prepared, *, limit: int) -> ImportPreview:
    counts = prepared.counts
    by_key = Counter(r["key"] for reject in prepared.rejects for r in reject["reasons"])
    examples: dict[str, dict[str, Any]] = {}
    for reject in prepared.rejects:
        for reason in reject["reasons"]:
            examples.setdefault(reason["key"], reason)
    reason_counts = [
        {"key": key, "rows": n, "zh": examples[key]["zh"], "en": examples[key]["en"]}
        for key, n in by_key.most_common()
    ]
    return ImportPreview(
        layer=layer,
        file_name=path.name,
        source=default_source(path),
        rows=counts["rows"],
        accepted=len(prepared.clean),
        merged=counts["merged"],
        quarantined=counts["quarantined"],
        other_category=counts.get("other_category", 0),
        source_crs=prepared.source_crs,
        warnings=list(prepared.warnings),
        rejects=prepared.rejects[:limit],
        reason_counts=reason_counts,
        suggestions=suggested_fixes(prepared.warnings, by_key, rows=counts["rows"]),
    )


def suggested_fixes(warnings: list[str], reasons: Counter[str], *, rows: int) -> list[str]:
    """The fixes that the warnings and the rejects' reasons point to (see
    :attr:`ImportPreview.suggestions`), most likely first."""
    fixes = [fix for fix, hint in _OFFSET_HINTS.items() if any(hint in w for w in warnings)]
    if rows and reasons["layers.swapped_axes"] > _SWAP_FILE_SHARE * rows:
        fixes.append("swap_axes")
    if reasons["layers.projected_without_crs"]:
        fixes.append("crs")
    return fixes
