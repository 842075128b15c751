"""Data shaping of the 数据 Data page: uploads, the preview and import jobs, batch tables.

Uploads are kept on disk in one folder per page session under :data:`UPLOAD_ROOT` (the
system's temporary folder), because the gunicorn worker that receives a file is not always
the one that previews or imports it. A new upload replaces the session's previous file, a
committed file is deleted, and session folders untouched for :data:`SESSION_HOURS` hours are
swept away when the next file arrives.

The pure functions (everything but :func:`load_batches` and :func:`load_quarantine`, and the
work that the jobs run) take plain values, so unit tests call them without a database.
"""

from __future__ import annotations

import base64
import binascii
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import layers
from dashboard._data import database
from dashboard._jobs import Progress, Work
from gis.errors import ValidationError
from gis.messages import Language, t
from gis.queries import fetch_all
from gis.readers import SUPPORTED_SUFFIXES
from layers.preview import preview_file

MAX_UPLOAD_MB = 50
"""The largest file the page accepts; larger files go through ``pingan import``."""
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
UPLOAD_ROOT = Path(tempfile.gettempdir()) / "pingan-uploads"
SESSION_HOURS = 12
BATCHES_SHOWN = 50
QUARANTINE_SHOWN = 200

CRS_CHOICES = ("gcj02", "bd09", "EPSG:4490", "EPSG:4326", "EPSG:4549")
"""Offered in the CRS box (any EPSG code may be typed)."""

_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_SESSION = re.compile(r"^[0-9a-f]{32}$")


# -- uploads ------------------------------------------------------------------------------


def new_session() -> str:
    """A fresh id for one page session's upload folder."""
    return uuid.uuid4().hex


def session_folder(session: str, *, root: Path | None = None) -> Path:
    """The upload folder of ``session`` (an id from :func:`new_session`)."""
    if not isinstance(session, str) or not _SESSION.match(session):
        raise ValidationError("dashboard.data.bad_session", session=str(session)[:40])
    return (root or UPLOAD_ROOT) / session


def safe_file_name(name: str) -> str:
    """The file name without any folder part, with a supported suffix, or a clear error."""
    base = Path(str(name).replace("\\", "/")).name.strip()
    if not base or base.startswith("."):
        raise ValidationError("dashboard.data.bad_file_name", name=name)
    if Path(base).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise ValidationError(
            "dashboard.data.unsupported",
            name=base,
            supported=" ".join(SUPPORTED_SUFFIXES),
        )
    return base


def decode_upload(contents: str, *, name: str, max_bytes: int = MAX_UPLOAD_BYTES) -> bytes:
    """The bytes of a ``dcc.Upload`` data URL, refusing files over ``max_bytes``."""
    _header, _, encoded = contents.partition(",")
    # Checked before decoding: base64 carries 3 bytes in 4 characters.
    if len(encoded) * 3 // 4 > max_bytes + 2:
        raise ValidationError(
            "dashboard.data.too_large",
            name=name,
            size_mb=round(len(encoded) * 3 / 4 / 1024 / 1024, 1),
            limit_mb=round(max_bytes / 1024 / 1024, 1),
        )
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("dashboard.data.bad_upload", name=name) from None


@dataclass(frozen=True)
class Upload:
    """A file kept for one session: its name (as uploaded) and size in bytes."""

    name: str
    size: int


def save_upload(
    session: str,
    name: str,
    contents: str,
    *,
    root: Path | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Upload:
    """Keep an uploaded file in the session's folder (replacing the previous one).

    The file keeps its own name, which the import records as the batch's file name and
    from which the default source name is derived.
    """
    folder = session_folder(session, root=root)
    base = safe_file_name(name)
    data = decode_upload(contents, name=base, max_bytes=max_bytes)
    sweep(root or UPLOAD_ROOT, keep=folder)
    discard_uploads(folder)
    (folder / "files").mkdir(parents=True, exist_ok=True)
    (folder / "files" / base).write_bytes(data)
    return Upload(name=base, size=len(data))


def upload_path(session: str, name: str, *, root: Path | None = None) -> Path:
    """Where the session's file ``name`` is kept, or a clear error if it is gone."""
    path = session_folder(session, root=root) / "files" / safe_file_name(name)
    if not path.is_file():
        raise ValidationError("dashboard.data.upload_gone", name=name)
    return path


def discard_uploads(folder: Path) -> None:
    """Delete the files kept in a session folder (job states stay)."""
    shutil.rmtree(folder / "files", ignore_errors=True)


def sweep(root: Path, *, keep: Path | None = None, hours: float = SESSION_HOURS) -> list[Path]:
    """Delete session folders not touched for ``hours``; return what was deleted."""
    if not root.is_dir():
        return []
    cutoff = time.time() - hours * 3600
    gone = []
    for folder in root.iterdir():
        if folder == keep or not folder.is_dir() or not _SESSION.match(folder.name):
            continue
        newest = max((p.stat().st_mtime for p in folder.rglob("*")), default=0.0)
        if max(newest, folder.stat().st_mtime) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone


# -- the jobs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    """What the form says about the file: the options of ``pingan import``."""

    layer: str
    file_name: str
    crs: str | None = None
    swap_axes: bool = False
    sheet_layer: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_options(
    layer: str | None,
    file_name: str,
    crs: str | None,
    swap: list[str] | bool | None,
    sheet: str | None,
) -> ImportOptions:
    """The form's values as :class:`ImportOptions` (blank text means "not given")."""
    if not layer:
        raise ValidationError(
            "layers.unknown_layer", layer="", layers=", ".join(layers.BASE_LAYERS)
        )
    return ImportOptions(
        layer=layer,
        file_name=file_name,
        crs=(crs or "").strip() or None,
        swap_axes=bool(swap),
        sheet_layer=(sheet or "").strip() or None,
    )


def preview_work(session: str, options: ImportOptions) -> Work:
    """The job of a validation preview: nothing is written to the database."""

    def work(progress: Progress) -> dict[str, Any]:
        preview = preview_file(
            options.layer,
            upload_path(session, options.file_name),
            crs=options.crs,
            swap_axes=options.swap_axes,
            sheet_layer=options.sheet_layer,
            db=database(),
            progress=progress,
        )
        return {"options": options.as_dict(), "preview": preview.as_dict()}

    return work


def commit_work(session: str, options: ImportOptions, source: str | None) -> Work:
    """The job of an import: the same call as ``pingan import``; the file is deleted after."""

    def work(progress: Progress) -> dict[str, Any]:
        path = upload_path(session, options.file_name)
        progress(t("layers.stage_read"), 0.02)
        summary = layers.import_file(
            options.layer,
            path,
            source=(source or "").strip() or None,
            crs=options.crs,
            swap_axes=options.swap_axes,
            sheet_layer=options.sheet_layer,
            db=database(),
            progress=progress,
        )
        discard_uploads(session_folder(session))
        return summary.as_dict()

    return work


# -- shaping ------------------------------------------------------------------------------


def one_language(text: str, language: Language) -> str:
    """One side of a "中文 / English" text (as ``gis.messages.both`` makes them).

    The split is the first " / " after which no Chinese is left, so a " / " inside either
    side (``WGS 84 / CGCS2000``) stays; text that cannot be split is returned whole.
    """
    start = 0
    while (at := text.find(" / ", start)) >= 0:
        zh, en = text[:at], text[at + 3 :]
        if _CJK.search(zh) and not _CJK.search(en):
            return zh if language == "zh" else en
        start = at + 3
    return text


def raw_text(raw: Mapping[str, Any] | None, *, limit: int = 200) -> str:
    """A rejected row's values as read, ``header: value`` joined, cut to ``limit`` characters."""
    if not raw:
        return ""
    text = " · ".join(f"{k}: {'' if v is None else v}" for k, v in raw.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reasons_text(reasons: list[Mapping[str, Any]], *, language: Language) -> str:
    """The reasons of a rejected row in ``language``, ``; ``-joined."""
    return "; ".join(str(r.get(language) or r.get("zh") or r.get("key")) for r in reasons)


def layer_options(*, language: Language) -> list[dict[str, str]]:
    """The base layers a file can be imported as, labelled in ``language`` with the name
    ``pingan import`` takes when that differs."""
    options = []
    for name in layers.BASE_LAYERS:
        label = t(f"layer.{name}", language=language)
        options.append({"label": label if label == name else f"{label} ({name})", "value": name})
    return options


def size_text(size: int) -> str:
    """A file size for people: ``812 B``, ``3.4 KB``, ``12.5 MB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def batch_rows(rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``list_import_batches`` as table rows (JSON-ready, counts flattened)."""
    out = []
    for r in rows:
        counts = r.get("counts") or {}
        started = r.get("started_at")
        out.append(
            {
                "id": int(r["id"]),
                "layer": r["layer"],
                "source": r["source"],
                "file_name": r.get("file_name"),
                "started": f"{started:%Y-%m-%d %H:%M}" if started is not None else "",
                **{
                    k: counts.get(k)
                    for k in ("rows", "inserted", "updated", "unchanged", "quarantined")
                },
            }
        )
    return out


# -- reading (the only functions that touch the database) ---------------------------------


def load_batches(*, layer: str | None = None, limit: int = BATCHES_SHOWN) -> list[dict[str, Any]]:
    """The latest import batches (of ``layer`` if given), newest first."""
    with database().connection() as conn:
        return batch_rows(fetch_all(conn, "list_import_batches", layer=layer, limit=limit))


def load_quarantine(batch_id: int, *, limit: int = QUARANTINE_SHOWN) -> list[dict[str, Any]]:
    """The quarantined rows of one batch, in file order."""
    with database().connection() as conn:
        return fetch_all(conn, "quarantine_rows", batch_id=batch_id, limit=limit)
