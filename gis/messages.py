"""The one message catalogue: every user-facing string, Chinese first, with English.

Messages live in ``gis/catalogue/*.toml``, one file per domain, all in one namespace::

    ["crs.swapped_axes"]
    zh = "第 {row} 行: 经纬度疑似颠倒 (lat={lat}, lon={lon})"
    en = "row {row}: latitude and longitude look swapped; pass --swap-axes or fix the file"

A key may appear in only one file. :func:`t` renders in the current language and
:func:`both` renders "中文 / English", which is what errors and quarantine reasons carry.
"""

from __future__ import annotations

import contextvars
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

_CATALOGUE_DIR = Path(__file__).with_name("catalogue")
_language: contextvars.ContextVar[Language] = contextvars.ContextVar(
    "pingan_language", default="zh"
)


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Return the whole catalogue as ``{key: {"zh": ..., "en": ...}}``.

    Raises ``RuntimeError`` if a key is defined in two files, so a clash is found at once.
    """
    merged: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    for path in sorted(_CATALOGUE_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            entries = tomllib.load(fh)
        for key, entry in entries.items():
            if key in merged:
                raise RuntimeError(
                    f"message key {key!r} is defined in both {origin[key]} and {path.name}"
                )
            merged[key] = {lang: str(entry.get(lang, "")) for lang in LANGUAGES}
            origin[key] = path.name
    return merged


def set_language(language: str) -> None:
    """Set the language of :func:`t` for the current context ("zh" or "en")."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    _language.set(language)


def current_language() -> Language:
    """Return the language :func:`t` renders in."""
    return _language.get()


def _render(key: str, language: Language, params: dict[str, Any]) -> str:
    entry = catalogue().get(key)
    if entry is None:
        raise KeyError(f"message key {key!r} is not in the catalogue (gis/catalogue/*.toml)")
    template = entry[language] or entry["zh"]
    try:
        return template.format(**params)
    except (KeyError, IndexError) as exc:
        raise KeyError(f"message {key!r} needs parameter {exc}") from None


def t(key: str, /, *, language: Language | None = None, **params: Any) -> str:
    """Render message ``key`` in ``language`` (default: the current language)."""
    return _render(key, language or current_language(), params)


def both(key: str, /, **params: Any) -> str:
    """Render message ``key`` as "中文 / English"."""
    zh = _render(key, "zh", params)
    en = _render(key, "en", params)
    return zh if zh == en else f"{zh} / {en}"
