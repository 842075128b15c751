"""Find the PostgreSQL server programs and PostGIS, and run them as the right user.

The managed cluster (:mod:`gis.cluster`) never relies on ``PATH`` for ``initdb``, ``pg_ctl``
or ``postgres``. The server programs are looked up in this order:

1. the ``bindir`` argument, or the ``PINGAN_PG_BINDIR`` environment variable, used as given
   (no fallback: a wrong value is an error that says so);
2. ``pg_config --bindir`` of the ``pg_config`` on ``PATH``, if that directory holds ``initdb``
   (Debian's ``/usr/bin/pg_config`` comes with ``libpq-dev`` and may name a directory that holds
   only client programs);
3. the newest ``/usr/lib/postgresql/N/bin`` that holds ``initdb`` (the Debian layout); when the
   data directory already exists, its own major version is preferred.

PostGIS is found through ``<sharedir>/extension/postgis.control``; ``sharedir`` comes from
``<bindir>/pg_config --sharedir``, else ``/usr/share/postgresql/N``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gis.errors import ClusterError, SystemPackageError

__all__ = ["PgInstall", "RunAs", "find_pg_install", "require_postgis"]

BINDIR_ENV = "PINGAN_PG_BINDIR"
DEBIAN_ROOT = Path("/usr/lib/postgresql")
SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class PgInstall:
    """One PostgreSQL server installation.

    Attributes
    ----------
    bindir
        Directory holding ``initdb``, ``pg_ctl`` and ``postgres``.
    sharedir
        PostgreSQL's share directory (extensions live in ``sharedir/extension``).
    version
        Full server version, e.g. ``"15.20"``.
    major
        Major version, e.g. ``15``.
    """

    bindir: Path
    sharedir: Path
    version: str
    major: int

    def program(self, name: str) -> str:
        """Return the absolute path of server program ``name`` as a string."""
        return str(self.bindir / name)

    @property
    def has_postgis(self) -> bool:
        """Whether the PostGIS extension is installed for this server."""
        return (self.sharedir / "extension" / "postgis.control").is_file()


def _server_package(major: int | None) -> str:
    return f"postgresql-{major}" if major else "postgresql"


def _install_command(major: int | None) -> str:
    if major:
        return f"apt-get install -y postgresql-{major} postgresql-{major}-postgis-3"
    return "apt-get install -y postgresql postgis"


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in SERVER_PROGRAMS)


def _major_from_path(path: Path) -> int | None:
    for part in reversed(path.parts):
        if part.isdigit():
            return int(part)
    return None


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return Path(text) if text else None


def _debian_bindirs() -> list[tuple[int, Path]]:
    found: list[tuple[int, Path]] = []
    if DEBIAN_ROOT.is_dir():
        for child in DEBIAN_ROOT.iterdir():
            if child.name.isdigit() and _has_server(child / "bin"):
                found.append((int(child.name), child / "bin"))
    return sorted(found, reverse=True)


def _server_version(bindir: Path) -> tuple[str, int]:
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ClusterError(
            "cluster.command_failed", command=f"{bindir / 'postgres'} --version", output=str(exc)
        ) from exc
    match = _VERSION_RE.search(out.stdout)
    if match is None:
        raise ClusterError(
            "cluster.command_failed",
            command=f"{bindir / 'postgres'} --version",
            output=out.stdout.strip(),
        )
    major = int(match.group(1))
    version = f"{major}.{match.group(2)}" if match.group(2) else str(major)
    return version, major


def _sharedir(bindir: Path, major: int) -> Path:
    pg_config = bindir / "pg_config"
    if os.access(pg_config, os.X_OK):
        try:
            out = subprocess.run(
                [str(pg_config), "--sharedir"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            if out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    return Path(f"/usr/share/postgresql/{major}")


def find_pg_install(bindir: Path | str | None = None, *, major: int | None = None) -> PgInstall:
    """Find the PostgreSQL server programs.

    Parameters
    ----------
    bindir
        Use this directory and no other. Default: ``$PINGAN_PG_BINDIR``, else the search
        described in the module docstring.
    major
        Prefer this major version (the version of an existing data directory) when searching
        the Debian layout.

    Returns
    -------
    PgInstall

    Raises
    ------
    SystemPackageError
        When no directory with ``initdb``, ``pg_ctl`` and ``postgres`` is found; the message
        names the Debian package and the ``apt-get`` command to install it.
    """
    explicit = bindir if bindir is not None else os.environ.get(BINDIR_ENV) or None
    if explicit is not None:
        candidates = [Path(explicit)]
    else:
        candidates = []
        debian = _debian_bindirs()
        if major is not None:
            candidates += [path for found, path in debian if found == major]
        from_pg_config = _pg_config_bindir()
        if from_pg_config is not None:
            candidates.append(from_pg_config)
        candidates += [path for _, path in debian]
    for candidate in candidates:
        if _has_server(candidate):
            version, found_major = _server_version(candidate)
            return PgInstall(
                bindir=candidate,
                sharedir=_sharedir(candidate, found_major),
                version=version,
                major=found_major,
            )
    hint = major or next((m for m in map(_major_from_path, candidates) if m), None)
    searched = ", ".join(dict.fromkeys(str(c) for c in candidates)) or str(DEBIAN_ROOT)
    raise SystemPackageError(
        "cluster.missing_package",
        component="PostgreSQL server (initdb, pg_ctl, postgres)",
        package=_server_package(hint),
        command=_install_command(hint),
        searched=searched,
    )


def require_postgis(install: PgInstall) -> None:
    """Raise :class:`SystemPackageError` naming ``postgresql-N-postgis-3`` if PostGIS is missing."""
    if not install.has_postgis:
        raise SystemPackageError(
            "cluster.missing_package",
            component="PostGIS",
            package=f"postgresql-{install.major}-postgis-3",
            command=f"apt-get install -y postgresql-{install.major}-postgis-3",
            searched=str(install.sharedir / "extension" / "postgis.control"),
        )


@dataclass(frozen=True)
class RunAs:
    """The system user the server programs run as.

    PostgreSQL refuses to run as root, so a root process runs them as another user
    (``postgres`` by default); any other process runs them as itself.

    Attributes
    ----------
    name, uid, gid, home
        The user's name, ids and home directory.
    switch
        Whether commands must drop privileges to this user (only when we are root).
    """

    name: str
    uid: int
    gid: int
    home: str
    switch: bool

    @classmethod
    def resolve(cls, name: str | None) -> RunAs:
        """Choose the user for ``name`` (``None``: ``postgres`` when root, else ourselves)."""
        euid = os.geteuid()
        current = pwd.getpwuid(euid).pw_name
        if name is None:
            name = "postgres" if euid == 0 else current
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ClusterError("cluster.unknown_user", user=name) from None
        if entry.pw_uid == 0:
            raise ClusterError("cluster.run_as_root", user=name)
        if euid not in (entry.pw_uid, 0):
            raise ClusterError("cluster.cannot_switch_user", user=name, current=current)
        return cls(
            name=name,
            uid=entry.pw_uid,
            gid=entry.pw_gid,
            home=entry.pw_dir,
            switch=entry.pw_uid != euid,
        )

    def can_traverse(self, path: Path) -> bool:
        """Whether this user may pass through directory ``path`` (by its mode bits)."""
        try:
            st = path.stat()
        except OSError:
            return False
        if st.st_uid == self.uid:
            return bool(st.st_mode & 0o100)
        if st.st_gid == self.gid or st.st_gid in os.getgrouplist(self.name, self.gid):
            return bool(st.st_mode & 0o010)
        return bool(st.st_mode & 0o001)

    def chown(self, path: Path) -> None:
        """Give ``path`` to this user, when commands run as another user."""
        if self.switch:
            os.chown(path, self.uid, self.gid)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A clean environment for server programs (no ``PG*`` variables leak in)."""
        env = {"PATH": _CLEAN_PATH, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        env["HOME"] = self.home if self.switch else os.environ.get("HOME", self.home)
        env["USER"] = env["LOGNAME"] = self.name
        if "TZ" in os.environ:
            env["TZ"] = os.environ["TZ"]
        env.update(extra or {})
        return env

    def run(
        self, args: Sequence[str], *, cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` as this user; output is captured, a non-zero exit is not raised."""
        return subprocess.run(
            list(args),
            cwd=cwd,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            user=self.uid if self.switch else None,
            group=self.gid if self.switch else None,
            extra_groups=[] if self.switch else None,
        )
