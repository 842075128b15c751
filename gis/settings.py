"""Typed settings, read from ``PINGAN_*`` environment variables.

Every setting is documented here and in ``docs/settings.md``; a meta-test checks that the two
agree. Read them with :func:`get_settings`; tests build their own :class:`Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gis.crs import STORAGE_SRIDS
from gis.errors import SettingsError


def _default_home() -> Path:
    # PostgreSQL refuses to run as root, so the server runs as `postgres`; root's home is
    # closed to that user, hence a system-wide default for root.
    if os.geteuid() == 0:
        return Path("/var/lib/pingan")
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "pingan"


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise SettingsError("settings.invalid", name=name, value=raw, expected="integer") from None


def _parse_srid(name: str, raw: str) -> int:
    srid = _parse_int(name, raw.upper().removeprefix("EPSG:"))
    if srid not in STORAGE_SRIDS:
        raise SettingsError("settings.unknown_srid", srid=srid)
    return srid


def _parse_timezone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            "settings.invalid", name=name, value=raw, expected="IANA time zone, e.g. Asia/Shanghai"
        ) from None
    return raw


def _parse_language(name: str, raw: str) -> str:
    if raw not in ("zh", "en"):
        raise SettingsError("settings.invalid", name=name, value=raw, expected="zh or en")
    return raw


DASHBOARD_ROLES = ("viewer", "staff", "admin")
"""Roles of a dashboard user, least privileged first."""


def _parse_role(name: str, raw: str) -> str:
    if raw not in DASHBOARD_ROLES:
        raise SettingsError(
            "settings.invalid", name=name, value=raw, expected=" | ".join(DASHBOARD_ROLES)
        )
    return raw


def _setting(
    env: str, doc: str, parse: Callable[[str, str], Any] | None = None, **kwargs: Any
) -> Any:
    return field(metadata={"env": env, "doc": doc, "parse": parse}, **kwargs)


@dataclass(frozen=True)
class Settings:
    """The settings of one Pingan Grid process.

    Each field names its environment variable in ``metadata["env"]`` and explains itself in
    ``metadata["doc"]``.
    """

    home: Path = _setting(
        "PINGAN_HOME",
        "Data directory of the app: the managed PostgreSQL cluster, logs and exports. Default "
        "`~/.local/share/pingan`, or `/var/lib/pingan` when running as root.",
        lambda _n, raw: Path(raw).expanduser(),
        default_factory=_default_home,
    )
    database_url: str | None = _setting(
        "PINGAN_DATABASE_URL",
        "Connect to this existing PostgreSQL + PostGIS server instead of the managed cluster "
        "(a libpq URL or conninfo). The standard `PGHOST`/`PGDATABASE`/... variables are used "
        "when `PGHOST` or `PGDATABASE` is set and this is not.",
        default=None,
    )
    database_name: str = _setting(
        "PINGAN_DATABASE_NAME", "Database name inside the managed cluster.", default="pingan"
    )
    port: int = _setting(
        "PINGAN_PORT",
        "Port number of the managed cluster's Unix socket (no TCP listener is opened).",
        _parse_int,
        default=5544,
    )
    storage_srid: int = _setting(
        "PINGAN_STORAGE_SRID",
        "Storage SRID chosen at `pingan db init`: 4490 (CGCS2000, default) or 4326 (WGS 84). "
        "An existing database keeps the SRID it was created with.",
        _parse_srid,
        default=4490,
    )
    timezone: str = _setting(
        "PINGAN_TIMEZONE",
        "Deployment time zone: decides which day and month an incident belongs to.",
        _parse_timezone,
        default="Asia/Shanghai",
    )
    language: str = _setting(
        "PINGAN_LANG",
        "Language of messages: `zh` (default) or `en`.",
        _parse_language,
        default="zh",
    )
    pg_bindir: Path | None = _setting(
        "PINGAN_PG_BINDIR",
        "Directory of the PostgreSQL server programs (`initdb`, `pg_ctl`). Default: found "
        "through `pg_config --bindir` or `/usr/lib/postgresql/N/bin`.",
        lambda _n, raw: Path(raw),
        default=None,
    )
    pool_min: int = _setting(
        "PINGAN_POOL_MIN", "Minimum connections kept open by the pool.", _parse_int, default=1
    )
    pool_max: int = _setting(
        "PINGAN_POOL_MAX", "Maximum connections of the pool.", _parse_int, default=8
    )
    tile_url: str | None = _setting(
        "PINGAN_TILE_URL",
        "Optional raster tile URL template for the map (Tianditu with a key, or an internal "
        "tile server). Default: none, the map draws only the app's own data.",
        default=None,
    )
    dashboard_role: str = _setting(
        "PINGAN_DASHBOARD_ROLE",
        "Role of every dashboard user until logins exist: `viewer` (default; phones of grid "
        "staff are masked, `139****5678`), `staff` or `admin` (full phone numbers).",
        _parse_role,
        default="viewer",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``); unset ones keep defaults."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            parse = f.metadata["parse"]
            values[f.name] = parse(f.metadata["env"], raw) if parse else raw
        return cls(**values)

    @property
    def uses_managed_cluster(self) -> bool:
        """True when no external server is configured."""
        return self.database_url is None and not (
            os.environ.get("PGHOST") or os.environ.get("PGDATABASE")
        )


@cache
def get_settings() -> Settings:
    """Return the process settings, read once from the environment."""
    return Settings.from_env()


def documented_settings() -> list[tuple[str, str, str]]:
    """Return ``(env var, default, doc)`` for every setting, for ``docs/settings.md``."""
    rows = []
    for f in fields(Settings):
        default = f.default if f.default_factory is MISSING else "(computed)"
        rows.append((f.metadata["env"], str(default), f.metadata["doc"]))
    return rows
