"""The incident taxonomy: category codes, names, groups and the mapping of foreign names.

The taxonomy is data, shipped in ``data/taxonomy/``:

``categories.csv``
    The hierarchy: ``code, parent_code, level, name_zh, name_en,
    group_two_robberies_one_theft, kind``. Codes are text with two digits per level
    (``01`` 刑事案件 → ``0103`` 盗窃 → ``010301`` 入室盗窃). ``kind`` is one of
    :data:`KINDS`. The 两抢一盗 (two robberies, one theft) flag is a column of this file,
    never a list in code.
``foreign_mapping.csv``
    ``source_name, category_code, note``: names used by other systems (Chicago's
    ``Primary Type``, San Francisco's ``Category``/``Descript``) and Chinese synonyms
    (偷窃, 抢包 …), matched case-insensitively. Deployments may edit it.

A raw name resolves to a code when, after normalisation (Unicode NFKC, so full-width
becomes half-width; case folding; runs of white space collapsed), it equals a code, a
Chinese or English category name, or a ``source_name`` of the mapping. Anything else
becomes :data:`OTHER_CODE` (其他); the caller keeps the original name.

Examples
--------
>>> tax = Taxonomy.load()
>>> codes, known = tax.resolve(["ROBBERY", "偷窃", "no such thing"])
>>> list(codes), list(known)
(['0101', '0103', '99'], [True, True, False])
>>> sorted(tax.expand("两抢一盗"))[:3]
['0101', '0102', '010201']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from gis.errors import InputFileError, ValidationError
from gis.messages import Language, current_language
from layers._spec import FALSE_WORDS, TRUE_WORDS

__all__ = [
    "DATA_DIR",
    "GROUP_ALIASES",
    "KINDS",
    "OTHER_CODE",
    "TAXONOMY_DIR",
    "Taxonomy",
    "default_taxonomy",
    "normalise_name",
]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
TAXONOMY_DIR = DATA_DIR / "taxonomy"

OTHER_CODE = "99"
"""The code of 其他 (other): where every unknown name goes."""

KINDS: tuple[str, ...] = ("criminal", "public_order", "dispute", "fire", "safety", "other")
"""Kinds of category: 刑事, 治安, 矛盾纠纷, 消防, 安全 (生产/交通等), 其他."""

GROUP_FLAG = "group_two_robberies_one_theft"

GROUP_ALIASES: frozenset[str] = frozenset(
    {"两抢一盗", "two_robberies_one_theft", "two robberies one theft", "two-robberies-one-theft"}
)
"""Names that :meth:`Taxonomy.expand` reads as the 两抢一盗 group (normalised on use)."""

_CATEGORY_COLUMNS = ("code", "parent_code", "level", "name_zh", "name_en", GROUP_FLAG, "kind")
_MAPPING_COLUMNS = ("source_name", "category_code", "note")
_SPACES = re.compile(r"\s+")
_CODE = re.compile(r"^\d{2}(\d{2}){0,2}$")


def normalise_name(name: Any) -> str:
    """Return the matching key of a raw category name or code.

    Unicode NFKC (full-width letters, digits and spaces become half-width), case folding,
    leading/trailing white space removed and inner runs collapsed to one space. ``None``
    and NaN give ``""``.
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    text = unicodedata.normalize("NFKC", str(name)).casefold().strip()
    return _SPACES.sub(" ", text)


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError("taxonomy.file_missing", path=str(path))
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFileError("taxonomy.missing_columns", path=str(path), missing=", ".join(missing))
    return frame.loc[:, list(columns)].apply(lambda col: col.str.strip())


def _parse_flag(value: str, *, path: Path, row: int) -> bool:
    key = value.casefold()
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise ValidationError(
        "taxonomy.bad_flag", path=str(path), row=row, column=GROUP_FLAG, value=value
    )


def _validate_categories(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Check the hierarchy; return it with ``level`` as int and the flag as bool."""
    seen: set[str] = set()
    flags: list[bool] = []
    levels: list[int] = []
    for i, rec in enumerate(frame.itertuples(index=False), start=2):  # row 1 is the header
        code, parent, level = str(rec.code), str(rec.parent_code), str(rec.level)
        if not _CODE.match(code):
            raise ValidationError("taxonomy.bad_code", path=str(path), row=i, code=code)
        if code in seen:
            raise ValidationError("taxonomy.duplicate_code", path=str(path), row=i, code=code)
        expected_level = len(code) // 2
        if level != str(expected_level):
            raise ValidationError(
                "taxonomy.bad_level",
                path=str(path),
                row=i,
                code=code,
                level=level,
                expected=expected_level,
            )
        if expected_level == 1 and parent:
            raise ValidationError(
                "taxonomy.bad_parent", path=str(path), row=i, code=code, parent=parent
            )
        if expected_level > 1 and (parent != code[:-2] or parent not in seen):
            raise ValidationError(
                "taxonomy.bad_parent", path=str(path), row=i, code=code, parent=parent
            )
        if rec.kind not in KINDS:
            raise ValidationError(
                "taxonomy.bad_kind",
                path=str(path),
                row=i,
                kind=rec.kind,
                expected=", ".join(KINDS),
            )
        if not rec.name_zh or not rec.name_en:
            raise ValidationError("taxonomy.missing_name", path=str(path), row=i, code=code)
        seen.add(code)
        levels.append(expected_level)
        flags.append(_parse_flag(str(getattr(rec, GROUP_FLAG)), path=path, row=i))
    if OTHER_CODE not in seen:
        raise ValidationError("taxonomy.no_other", path=str(path), code=OTHER_CODE)
    out = frame.copy()
    out["level"] = np.asarray(levels, dtype=np.int64)
    out[GROUP_FLAG] = np.asarray(flags, dtype=bool)
    return out.set_index("code", drop=False)


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """The incident category hierarchy and the lookup of raw names.

    Use :meth:`load` rather than the constructor.

    Attributes
    ----------
    categories
        One row per category, indexed by ``code``, with the columns of ``categories.csv``
        (``level`` as int, the 两抢一盗 flag as bool).
    mapping
        The foreign-name table (``source_name, category_code, note``).
    """

    categories: pd.DataFrame
    mapping: pd.DataFrame
    _lookup: dict[str, str] = field(repr=False)
    _children: dict[str, tuple[str, ...]] = field(repr=False)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Read the taxonomy from a folder holding ``categories.csv`` and ``foreign_mapping.csv``.

        Parameters
        ----------
        path
            The folder; default ``data/taxonomy`` of the application.

        Raises
        ------
        InputFileError
            A file is missing or lacks a column.
        ValidationError
            A code, level, parent, kind or flag is wrong, or the mapping names an unknown
            code or maps one name to two codes; the message names the file and row.
        """
        folder = Path(path) if path is not None else TAXONOMY_DIR
        cat_path = folder / "categories.csv"
        map_path = folder / "foreign_mapping.csv"
        categories = _validate_categories(_read_csv(cat_path, _CATEGORY_COLUMNS), cat_path)
        mapping = _read_csv(map_path, _MAPPING_COLUMNS)

        lookup: dict[str, str] = {}
        for rec in categories.itertuples(index=False):
            for key in (rec.code, rec.name_zh, rec.name_en):
                lookup.setdefault(normalise_name(key), str(rec.code))
        for i, rec in enumerate(mapping.itertuples(index=False), start=2):
            key, code = normalise_name(rec.source_name), str(rec.category_code)
            if not key:
                continue
            if code not in categories.index:
                raise ValidationError(
                    "taxonomy.mapping_unknown_code", path=str(map_path), row=i, code=code
                )
            if key in lookup and lookup[key] != code:
                raise ValidationError(
                    "taxonomy.mapping_conflict",
                    path=str(map_path),
                    row=i,
                    name=rec.source_name,
                    code=code,
                    other=lookup[key],
                )
            lookup[key] = code

        children: dict[str, list[str]] = {}
        for code, parent in zip(categories["code"], categories["parent_code"], strict=True):
            if parent:
                children.setdefault(str(parent), []).append(str(code))
        return cls(
            categories=categories,
            mapping=mapping,
            _lookup=lookup,
            _children={k: tuple(v) for k, v in children.items()},
        )

    # -- lookups ----------------------------------------------------------------------------

    @property
    def codes(self) -> tuple[str, ...]:
        """All category codes, in file order."""
        return tuple(self.categories["code"])

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self.categories.index

    def _code_of(self, raw: Any) -> str | None:
        key = normalise_name(raw)
        code = self._lookup.get(key)
        if code is None and key.isdigit() and len(key) % 2 == 1:
            # Spreadsheets drop the leading zero of codes such as 0103.
            code = self._lookup.get("0" + key)
        return code

    def resolve(self, names: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Map raw names or codes to category codes, vectorised over the distinct values.

        Parameters
        ----------
        names
            Array-like of raw names (any language, any case) or codes.

        Returns
        -------
        codes
            Object array of code strings, same length as ``names``; unknown or empty names
            give :data:`OTHER_CODE`.
        known
            Bool array, ``False`` where the name was not recognised (the caller keeps the
            original name, e.g. in the incident description or the import summary).
        """
        values = pd.Series(list(names) if not isinstance(names, pd.Series) else names)
        if values.empty:
            return np.empty(0, dtype=object), np.empty(0, dtype=bool)
        positions, unique_codes, unique_known = self._resolve_distinct(values)
        return unique_codes[positions], unique_known[positions]

    def resolve_column(self, names: pd.Series) -> tuple[pd.Series, np.ndarray]:
        """:meth:`resolve` for a text column: the codes come back as a text column (pandas'
        ``str``, Arrow-backed, on the index of ``names``), made without a Python string per
        row. An empty column gives an empty object column, as pandas makes one from no values.
        """
        if names.empty:
            return pd.Series(np.empty(0, dtype=object), index=names.index), np.empty(0, bool)
        positions, unique_codes, unique_known = self._resolve_distinct(names)
        slots = np.where(positions < 0, len(unique_codes) - 1, positions)
        codes = pa.array(unique_codes.tolist(), type=pa.large_string()).take(slots)
        text = pd.arrays.ArrowStringArray(codes, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
        return pd.Series(text, index=names.index), unique_known[positions]

    def _resolve_distinct(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each value's position among the distinct values (-1 if missing), and the code and
        known flag of each distinct value, with a last slot (unknown) for the missing ones."""
        positions, uniques = pd.factorize(values, use_na_sentinel=True)
        resolved = [self._code_of(u) for u in uniques]
        unique_known = np.array([c is not None for c in resolved] + [False], dtype=bool)
        unique_codes = np.array([c or OTHER_CODE for c in resolved] + [OTHER_CODE], dtype=object)
        # na_sentinel -1 indexes the extra last slot (unknown).
        return np.asarray(positions), unique_codes, unique_known

    def name(self, code: str, language: Language | None = None) -> str:
        """Return the name of ``code`` in ``language`` (default: the current language)."""
        row = self._row(code)
        return str(row["name_en" if (language or current_language()) == "en" else "name_zh"])

    def kind(self, code: str) -> str:
        """Return the kind (:data:`KINDS`) of ``code``."""
        return str(self._row(code)["kind"])

    def parent(self, code: str) -> str | None:
        """Return the parent code of ``code``, or ``None`` at level 1."""
        return str(self._row(code)["parent_code"]) or None

    def descendants(self, code: str, *, include_self: bool = True) -> frozenset[str]:
        """Return the codes below ``code`` at any depth (and ``code`` itself by default)."""
        self._row(code)
        out: set[str] = {code} if include_self else set()
        stack = list(self._children.get(code, ()))
        while stack:
            child = stack.pop()
            out.add(child)
            stack.extend(self._children.get(child, ()))
        return frozenset(out)

    def two_robberies_one_theft_codes(self) -> frozenset[str]:
        """Return the codes flagged 两抢一盗 in ``categories.csv`` (抢劫, 抢夺, 盗窃 and below)."""
        flagged = self.categories.loc[self.categories[GROUP_FLAG], "code"]
        return frozenset(str(c) for c in flagged)

    def is_two_robberies_one_theft(self, codes: Iterable[Any]) -> np.ndarray:
        """Return a bool array: is each code in the 两抢一盗 group?"""
        group = self.two_robberies_one_theft_codes()
        values = pd.Series(list(codes) if not isinstance(codes, pd.Series) else codes)
        return values.isin(group).to_numpy(dtype=bool)

    def expand(self, categories: str | Iterable[str]) -> frozenset[str]:
        """Expand codes, names or group aliases to the set of codes they cover.

        A code or name covers itself and all its descendants (``盗窃`` covers 入室盗窃 …);
        ``两抢一盗`` / ``two_robberies_one_theft`` covers the flagged group.

        Raises
        ------
        ValidationError
            A name is neither a category, a mapped name nor a group alias.
        """
        items = [categories] if isinstance(categories, str) else list(categories)
        aliases = {normalise_name(a) for a in GROUP_ALIASES}
        out: set[str] = set()
        for item in items:
            if normalise_name(item) in aliases:
                out |= self.two_robberies_one_theft_codes()
                continue
            code = self._code_of(item)
            if code is None:
                raise ValidationError("taxonomy.unknown_category", name=str(item))
            out |= self.descendants(code)
        return frozenset(out)

    def _row(self, code: str) -> pd.Series:
        try:
            row = self.categories.loc[code]
        except KeyError:
            raise ValidationError("taxonomy.unknown_code", code=str(code)) from None
        assert isinstance(row, pd.Series)
        return row


@cache
def default_taxonomy() -> Taxonomy:
    """Return the application's taxonomy (``data/taxonomy``), read once per process."""
    return Taxonomy.load()
