"""The TOML files under ``data/`` that configure a method: the key-area rules
(``data/key_areas.toml``) and the risk grading (``data/risk.toml``).

Both are read the same way, and a value that cannot be used is refused with a message that names
the file, the entry, the value and what was expected.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from gis.errors import InputFileError, ValidationError

__all__ = ["bad_entry", "read_rule_file"]


def read_rule_file(path: str | Path | None, *, default: Path) -> tuple[Path, dict[str, Any]]:
    """The file read (``path``, or ``default`` when ``None``) and its TOML tables.

    Raises
    ------
    gis.errors.InputFileError
        The file is missing or is not TOML.
    """
    source = Path(path) if path is not None else default
    try:
        return source, tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError("key_areas.rules_missing", path=str(source)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError("key_areas.rules_unreadable", path=str(source), error=exc) from None


def bad_entry(path: Path, entry: str, value: Any, expected: str) -> ValidationError:
    """The error for ``entry`` of the file ``path`` holding ``value`` instead of ``expected``."""
    return ValidationError(
        "key_areas.bad_rule", path=str(path), entry=entry, value=value, expected=expected
    )
