"""Header synonyms: map a file's own column headers to canonical column names.

The synonyms ship in ``data/headers.toml``. A header matches a synonym when both are equal
after :func:`normalise_header`. A user mapping (file header -> canonical name) overrides the
synonyms; :func:`load_mapping` reads one from TOML, JSON or a two-column CSV.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gis.errors import InputFileError
from gis.messages import both

HEADERS_FILE = Path(__file__).resolve().parents[1] / "data" / "headers.toml"

#: Canonical names from which tabular readers build geometry.
GEOMETRY_SOURCES = ("lon", "lat", "wkt")

_STRIP = re.compile(r"[\s_\-*:：\ufeff]+")


def normalise_header(header: object) -> str:
    """Return ``header`` as it is compared with synonyms.

    NFKC (full-width letters and digits become half-width), case folding, and removal of
    white space, ``_``, ``-``, ``*`` (the "required" mark of Chinese templates) and colons.
    """
    text = unicodedata.normalize("NFKC", str(header))
    return _STRIP.sub("", text).casefold()


@cache
def synonyms() -> dict[str, tuple[str, ...]]:
    """Return ``{canonical: synonyms}`` from ``data/headers.toml``, in file order."""
    with HEADERS_FILE.open("rb") as fh:
        table = tomllib.load(fh)
    return {name: (name, *map(str, values)) for name, values in table.items()}


@cache
def _index() -> dict[str, tuple[str, ...]]:
    """Normalised synonym -> canonical names that list it, in file order."""
    index: dict[str, list[str]] = {}
    for canonical, words in synonyms().items():
        for word in words:
            names = index.setdefault(normalise_header(word), [])
            if canonical not in names:
                names.append(canonical)
    return {key: tuple(value) for key, value in index.items()}


def known_canonical() -> tuple[str, ...]:
    """Return every canonical name that ``data/headers.toml`` knows."""
    return tuple(synonyms())


def match_header(header: object, allowed: Collection[str] | None = None) -> str | None:
    """Return the canonical name ``header`` is a synonym of, or ``None``.

    ``allowed`` restricts the canonical names that may match (the layer's own columns).
    """
    for canonical in _index().get(normalise_header(header), ()):
        if allowed is None or canonical in allowed:
            return canonical
    return None


def header_score(cells: Sequence[object], allowed: Collection[str] | None = None) -> int:
    """Count the cells of a candidate header row that are known synonyms."""
    return sum(
        1 for cell in cells if cell not in (None, "") and match_header(cell, allowed) is not None
    )


def find_header_row(rows: Sequence[Sequence[object]], allowed: Collection[str] | None) -> int:
    """Return the index in ``rows`` of the header: the first row with the most known synonyms.

    With no known synonym anywhere, the first row that is not empty is the header.
    """
    best, best_score = None, 0
    for i, row in enumerate(rows):
        score = header_score(row, allowed)
        if score > best_score:
            best, best_score = i, score
    if best is not None:
        return best
    for i, row in enumerate(rows):
        if any(cell not in (None, "") for cell in row):
            return i
    return 0


def unique_headers(headers: Sequence[object]) -> tuple[list[str], list[str]]:
    """Make headers usable as column names: blank ones named, repeated ones numbered.

    Returns the names and the warnings (catalogue text) saying what was renamed.
    """
    names: list[str] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for position, header in enumerate(headers, start=1):
        text = "" if header is None else str(header).replace("\ufeff", "").strip()
        if not text:
            text = f"column_{position}"
            warnings.append(both("io.blank_header", position=position, name=text))
        name, n = text, 1
        while name in seen:
            name = f"{text}.{n}"
            n += 1
        if name != text:
            warnings.append(both("io.duplicate_header", header=text, name=name))
        seen.add(name)
        names.append(name)
    return names, warnings


@dataclass
class HeaderMap:
    """The outcome of mapping a file's headers."""

    mapped: dict[str, str] = field(default_factory=dict)  # original header -> canonical
    warnings: list[str] = field(default_factory=list)


def map_headers(
    headers: Iterable[str],
    *,
    mapping: Mapping[str, str] | None = None,
    allowed: Collection[str] | None = None,
    exclude: Collection[str] = (),
) -> HeaderMap:
    """Decide which header becomes which canonical column.

    Parameters
    ----------
    headers
        The file's headers, in file order (already unique).
    mapping
        User mapping, file header -> canonical name; overrides the synonyms. Keys match a
        header exactly, or else after :func:`normalise_header`.
    allowed
        Canonical names the synonyms may produce (``None``: all). A user mapping is not
        restricted by it.
    exclude
        Canonical names never produced by synonyms (the geometry sources of a file that
        has its own geometry).

    Returns
    -------
    HeaderMap
        ``mapped`` holds original header -> canonical name. When two headers mean the same
        canonical name the first is kept and a warning says so.
    """
    headers = list(headers)
    result = HeaderMap()
    taken: dict[str, str] = {}  # canonical -> header
    if mapping:
        by_norm = {normalise_header(h): h for h in reversed(headers)}
        for key, canonical in mapping.items():
            header = key if key in headers else by_norm.get(normalise_header(key))
            if header is None:
                result.warnings.append(both("io.mapping_unused", header=key))
                continue
            if canonical in taken:
                result.warnings.append(
                    both(
                        "io.duplicate_canonical",
                        canonical=canonical,
                        kept=taken[canonical],
                        ignored=header,
                    )
                )
                continue
            result.mapped[header] = canonical
            taken[canonical] = header
    for header in headers:
        if header in result.mapped:
            continue
        synonym = match_header(header, allowed)
        if synonym is None or synonym in exclude or header == "geometry":
            continue
        if synonym in taken:
            result.warnings.append(
                both(
                    "io.duplicate_canonical",
                    canonical=synonym,
                    kept=taken[synonym],
                    ignored=header,
                )
            )
            continue
        result.mapped[header] = synonym
        taken[synonym] = header
    return result


def load_mapping(path: str | Path) -> dict[str, str]:
    """Read a user column mapping: file header -> canonical column name.

    Parameters
    ----------
    path
        A ``.toml`` file (``header = "canonical"`` pairs, at the top level or in a
        ``[columns]`` table), a ``.json`` object (flat, or with a ``"columns"`` object), or a
        ``.csv``/``.txt`` file with two columns ``header,canonical`` (a first row whose second
        cell is not a canonical name is taken as the CSV's own header and skipped).

    Returns
    -------
    dict
        The mapping. Every target must be a canonical name of ``data/headers.toml``.

    Raises
    ------
    InputFileError
        The file cannot be read, or maps a header to an unknown canonical name.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError("io.mapping_unreadable", path=str(path), detail=str(exc)) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    suffix = path.suffix.lower()
    known = set(known_canonical())
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
            if rows and (len(rows[0]) < 2 or rows[0][1].strip() not in known):
                rows = rows[1:]
            data = {r[0].strip(): (r[1].strip() if len(r) > 1 else "") for r in rows}
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise InputFileError("io.mapping_unreadable", path=str(path), detail=str(exc)) from exc
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InputFileError(
            "io.mapping_unreadable", path=str(path), detail="expected header -> name pairs"
        )
    mapping = {str(k): v.strip() for k, v in data.items() if v.strip()}
    check_mapping(mapping)
    return mapping


def check_mapping(mapping: Mapping[str, str], extra: Collection[str] = ()) -> None:
    """Raise ``InputFileError`` if ``mapping`` targets a name that is not canonical."""
    known = set(known_canonical()) | set(extra)
    for header, canonical in mapping.items():
        if canonical not in known:
            raise InputFileError(
                "io.mapping_unknown_canonical",
                header=header,
                canonical=canonical,
                known=", ".join(sorted(known)),
            )
