"""The error classes of Pingan Grid.

Each class subclasses the builtin that fits, so callers may catch ``ValueError`` or
``RuntimeError`` as they would elsewhere. Every message comes from the catalogue and says
what the input was, what was expected and what to do, in Chinese and English.
"""

from __future__ import annotations

from typing import Any

from gis.messages import both, t


class PinganError(Exception):
    """Base class. ``key`` names the catalogue message and ``params`` fill it."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(both(key, **params))

    @property
    def zh(self) -> str:
        return t(self.key, language="zh", **self.params)

    @property
    def en(self) -> str:
        return t(self.key, language="en", **self.params)


class SettingsError(PinganError, ValueError):
    """A ``PINGAN_*`` setting has a value that cannot be used."""


class SystemPackageError(PinganError, RuntimeError):
    """A system program (PostgreSQL, PostGIS, fonts, Chromium) is missing."""


class DatabaseError(PinganError, RuntimeError):
    """The database could not be reached or refused the work."""


class ClusterError(DatabaseError):
    """The managed local PostgreSQL cluster could not be initialised, started or stopped."""


class MigrationError(DatabaseError):
    """A schema migration failed or the recorded schema does not match the files."""


class QueryError(PinganError, LookupError):
    """A named SQL query is unknown or was called with the wrong parameters."""


class CRSError(PinganError, ValueError):
    """A coordinate reference system is missing, unknown or does not match."""


class InputFileError(PinganError, ValueError):
    """An input file cannot be read at all (format, encoding, truncation, missing parts)."""


class ValidationError(PinganError, ValueError):
    """Input values break a rule of the layer they are meant for."""


class RowIssue:
    """One reason why an input row cannot be used as it is.

    Readers and layer specs collect these per row; the importer writes them to the
    quarantine table, so that no input row is ever dropped without a stated reason.

    Parameters
    ----------
    key
        Catalogue key of the message, e.g. ``"io.empty_coordinates"``.
    column
        The input column the problem is in, or ``None`` for the whole row.
    params
        Values for the message template.
    """

    __slots__ = ("column", "key", "params")

    def __init__(self, key: str, /, *, column: str | None = None, **params: Any) -> None:
        self.key = key
        self.column = column
        self.params = params

    def __repr__(self) -> str:
        return f"RowIssue({self.key!r}, column={self.column!r}, params={self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowIssue) and (self.key, self.column, self.params) == (
            other.key,
            other.column,
            other.params,
        )

    def __hash__(self) -> int:
        return hash((self.key, self.column, tuple(sorted(map(str, self.params.items())))))

    @property
    def text(self) -> str:
        """The reason as "中文 / English"."""
        return both(self.key, column=self.column, **self.params)

    def as_json(self) -> dict[str, Any]:
        """The reason as stored in ``quarantine.reasons``."""
        return {
            "key": self.key,
            "column": self.column,
            "zh": t(self.key, language="zh", column=self.column, **self.params),
            "en": t(self.key, language="en", column=self.column, **self.params),
        }
