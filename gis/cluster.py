"""The managed local PostgreSQL + PostGIS cluster.

With no database configured, Pingan Grid runs its own PostgreSQL cluster in its home
directory and talks to it over a Unix socket only (``listen_addresses = ''``)::

    home/pgdata              the data directory (initdb, UTF8, C collation, data checksums)
    home/run                 the socket directory (mode 0700)
    home/cluster.lock        flock(2) lock: init/start/stop/reset from several processes are safe
    home/logs/postgres.log   the server log

A Unix socket path may not be longer than about 100 bytes. When ``home/run`` would be too
long, the socket directory is ``/tmp/pingan-<hash8>`` instead, where ``hash8`` is the first
8 hex digits of the SHA-256 of the resolved home path (so each home has its own).

PostgreSQL refuses to run as root. When this process is root, ``initdb``, ``pg_ctl`` and the
server run as the ``postgres`` system user (or ``run_as``); the data, socket and log
directories are given to that user, and every parent directory of the home must be
traversable by it (root's home ``/root`` is not, which is why the default home for root is
``/var/lib/pingan``). Local socket connections use ``trust`` authentication; the socket
directory is mode 0700, so only the server's user and root can connect.

Server settings (see :func:`default_settings`) suit a local analytics app that bulk-loads
data yet stays crash-safe: ``fsync`` and ``full_page_writes`` stay on (and cannot be turned
off here). ``synchronous_commit = off`` means a crash of the machine may lose the last few
hundred milliseconds of commits (at most ``3 × wal_writer_delay``), but never corrupts the
database. ``wal_level = minimal`` lets ``COPY`` into a table created in the same transaction
skip the WAL; it rules out streaming replication and ``pg_basebackup`` (use ``pg_dump``).

A crash leaves a stale ``postmaster.pid`` behind (for example after ``kill -9`` of the
postmaster, or when its pid now belongs to another program, as after a container restart).
:meth:`LocalCluster.start` detects that the pid is not a live postmaster of this data
directory, waits for orphaned server processes to exit, removes the stale pid file and the
stale socket lock file, and starts the server.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from gis._pgbin import PgInstall, RunAs, find_pg_install, require_postgis
from gis.errors import ClusterError

__all__ = ["ClusterStatus", "LocalCluster", "default_settings"]

SOCKET_PATH_LIMIT = 100
STOP_MODES = ("smart", "fast", "immediate")
_SETTINGS_FILE = "pingan.conf"
_SETTING_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.")
_NEVER_OFF = ("fsync", "full_page_writes")
_OFF_VALUES = frozenset({"off", "false", "no", "0", "f", "n"})


def _memory_bytes() -> int:
    """Physical memory, or the cgroup limit when that is smaller."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            total = min(total, int(Path(limit_file).read_text().strip()))
    return total


def _small_dev_shm() -> bool:
    """Whether ``/dev/shm`` is too small for parallel query (Docker's default is 64MB)."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return True
    return st.f_blocks * st.f_frsize < 512 * 1024 * 1024


def default_settings() -> dict[str, str]:
    """The server settings Pingan Grid uses, before the caller's own and the socket settings.

    ``shared_buffers`` is an eighth of memory within 128MB–1GB and ``effective_cache_size``
    half of it; the rest is fixed, except that ``dynamic_shared_memory_type`` is ``mmap``
    (files in the data directory) when ``/dev/shm`` is under 512MB, as in a default Docker
    container, where parallel hash joins would otherwise fail. Durability stays on (``fsync``,
    ``full_page_writes``); ``synchronous_commit = off`` may lose the last few hundred ms of
    commits in a crash but never corrupts data.
    """
    mb = _memory_bytes() // (1024 * 1024)
    settings = {
        "max_connections": "100",
        "shared_buffers": f"{min(max(mb // 8, 128), 1024)}MB",
        "effective_cache_size": f"{max(mb // 2, 512)}MB",
        "work_mem": "64MB",
        "maintenance_work_mem": "512MB",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "wal_compression": "on",
        "max_wal_size": "4GB",
        "min_wal_size": "256MB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        "synchronous_commit": "off",
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        "jit": "off",
        "log_timezone": "UTC",
        "log_line_prefix": "%m [%p] %q%u@%d ",
        "log_min_duration_statement": "10s",
    }
    if _small_dev_shm():
        settings["dynamic_shared_memory_type"] = "mmap"
    return settings


@dataclass(frozen=True)
class ClusterStatus:
    """What :meth:`LocalCluster.status` found.

    Attributes
    ----------
    initialised
        The data directory holds a cluster (``PG_VERSION`` exists).
    running
        A live postmaster serves this data directory.
    pid
        The postmaster's pid when running, else ``None``.
    socket_dir, port
        Where clients connect (``host=socket_dir port=port``).
    data_dir
        The data directory.
    version
        The cluster's major version (from ``PG_VERSION``), or ``None`` before ``init``.
    """

    initialised: bool
    running: bool
    pid: int | None
    socket_dir: Path
    port: int
    data_dir: Path
    version: str | None


def _proc_field(pid: int, name: str) -> str | None:
    try:
        if name == "cwd":
            return str(Path(f"/proc/{pid}/cwd").readlink())
        return Path(f"/proc/{pid}/{name}").read_text()
    except OSError:
        return None


def _is_postgres(pid: int) -> bool:
    stat = _proc_field(pid, "stat")
    if stat is None or stat.rpartition(")")[2].split()[:1] == ["Z"]:
        return False  # gone, or a zombie nobody reaped
    return (_proc_field(pid, "comm") or "").strip() in {"postgres", "postmaster"}


def _serves(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a live postgres process whose working directory is ``data_dir``."""
    if pid <= 0 or not _is_postgres(pid):
        return False
    cwd = _proc_field(pid, "cwd")
    return cwd is None or Path(cwd) == data_dir.resolve()


def _pid_in(path: Path) -> int | None:
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.lstrip("-").isdigit() else None


def _orphans(data_dir: Path) -> list[int]:
    """Live postgres processes still working in ``data_dir`` (children of a dead postmaster)."""
    found = []
    target = str(data_dir.resolve())
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and _proc_field(pid, "cwd") == target and _is_postgres(pid):
            found.append(pid)
    return found


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class LocalCluster:
    """A PostgreSQL + PostGIS cluster that Pingan Grid manages in ``home``.

    Parameters
    ----------
    home
        The app's home directory; the cluster uses ``home/pgdata``, ``home/run``,
        ``home/logs`` and ``home/cluster.lock``.
    port
        The port number; with Unix sockets only, it just names the socket file.
    superuser
        The database superuser created by ``initdb``.
    run_as
        The system user that runs the server. Default: ``postgres`` when this process is
        root, else the current user. Only root may name another user.
    settings
        Extra server settings, overriding :func:`default_settings`. ``fsync`` and
        ``full_page_writes`` may not be turned off.
    bindir
        The directory of the server programs. Default: ``$PINGAN_PG_BINDIR``, else
        ``pg_config --bindir``, else the newest ``/usr/lib/postgresql/N/bin``.
    lock_timeout
        Seconds to wait for another process holding ``home/cluster.lock``.

    Examples
    --------
    >>> cluster = LocalCluster(Path("/var/lib/pingan"))
    >>> cluster.ensure_running()
    >>> psycopg.connect(cluster.conninfo())  # doctest: +SKIP
    """

    def __init__(
        self,
        home: Path | str,
        *,
        port: int = 5544,
        superuser: str = "pingan",
        run_as: str | None = None,
        settings: Mapping[str, str] | None = None,
        bindir: Path | str | None = None,
        lock_timeout: float = 120.0,
    ) -> None:
        self.home = Path(home).absolute()
        self.port = int(port)
        self.superuser = superuser
        self.data_dir = self.home / "pgdata"
        self.log_path = self.home / "logs" / "postgres.log"
        self.lock_path = self.home / "cluster.lock"
        self.socket_dir = self._choose_socket_dir()
        self.lock_timeout = lock_timeout
        self._user = RunAs.resolve(run_as)
        self._extra = dict(settings or {})
        self._bindir = bindir
        self._install: PgInstall | None = None
        self._check_settings(self.server_settings())
        self._mutex = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"LocalCluster({str(self.home)!r}, port={self.port})"

    # -- paths, settings and binaries -------------------------------------------------------------

    def _choose_socket_dir(self) -> Path:
        preferred = self.home / "run"
        socket = preferred / f".s.PGSQL.{self.port}"
        if len(os.fsencode(socket)) < SOCKET_PATH_LIMIT:
            return preferred
        digest = hashlib.sha256(os.fsencode(self.home.resolve())).hexdigest()[:8]
        return Path("/tmp") / f"pingan-{digest}"

    def server_settings(self) -> dict[str, str]:
        """The settings the server runs with: defaults, then the caller's, then the socket.

        Returns
        -------
        dict
            Setting name to value (as written to ``pgdata/pingan.conf``), for reports.
        """
        merged = default_settings()
        merged.update({str(k): str(v) for k, v in self._extra.items()})
        merged.update(
            {
                "listen_addresses": "",
                "port": str(self.port),
                "unix_socket_directories": str(self.socket_dir),
                "unix_socket_permissions": "0700",
            }
        )
        return merged

    @staticmethod
    def _check_settings(settings: Mapping[str, str]) -> None:
        for name, value in settings.items():
            if not name or set(name) - _SETTING_NAME_CHARS or "\n" in value or "\r" in value:
                raise ClusterError("cluster.bad_setting", name=name, value=value)
            if name in _NEVER_OFF and value.strip().lower() in _OFF_VALUES:
                raise ClusterError("cluster.unsafe_setting", name=name, value=value)

    def _binaries(self) -> PgInstall:
        if self._install is None:
            major = self._data_version()
            self._install = find_pg_install(
                self._bindir, major=int(major) if major and major.isdigit() else None
            )
        return self._install

    def _data_version(self) -> str | None:
        try:
            return (self.data_dir / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    # -- locking and directories ------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold ``home/cluster.lock`` (re-entrant within this object)."""
        with self._mutex:
            if self._depth == 0:
                self.home.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                deadline = time.monotonic() + self.lock_timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            os.close(fd)
                            raise ClusterError(
                                "cluster.lock_timeout",
                                path=str(self.lock_path),
                                seconds=self.lock_timeout,
                            ) from None
                        time.sleep(0.05)
                self._lock_fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                    os.close(self._lock_fd)
                    self._lock_fd = None

    def _owned_dir(self, path: Path, mode: int) -> None:
        """Create ``path`` for the server's user with ``mode``, refusing a foreign one."""
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise ClusterError("cluster.socket_dir_unsafe", path=str(path), user=self._user.name)
        path.mkdir(mode=mode, parents=True, exist_ok=True)
        st = path.stat()
        if st.st_uid not in (self._user.uid, os.geteuid()):
            raise ClusterError("cluster.socket_dir_unsafe", path=str(path), user=self._user.name)
        self._user.chown(path)
        path.chmod(mode)

    def _prepare_dirs(self) -> None:
        """Create home, logs and socket directories, reachable by the server's user."""
        self.home.mkdir(mode=0o755, parents=True, exist_ok=True)
        if self._user.switch:
            home_mode = self.home.stat().st_mode & 0o7777
            if not self._user.can_traverse(self.home):
                self.home.chmod(home_mode | 0o011)
            for parent in [self.socket_dir.parent, *self.home.parents]:
                if not self._user.can_traverse(parent):
                    raise ClusterError(
                        "cluster.parent_not_traversable", path=str(parent), user=self._user.name
                    )
        self._owned_dir(self.log_path.parent, 0o750)
        self._owned_dir(self.socket_dir, 0o700)

    def _write_settings(self, data_dir: Path) -> None:
        settings = self.server_settings()
        self._check_settings(settings)
        lines = [
            "# Written by Pingan Grid (gis/cluster.py) at every start; edits are overwritten.",
            "# Use ALTER SYSTEM or LocalCluster(settings=...) instead.",
        ]
        lines += [f"{name} = {_quote(value)}" for name, value in sorted(settings.items())]
        target = data_dir / _SETTINGS_FILE
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._user.chown(target)
        target.chmod(0o600)

    # -- lifecycle --------------------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        """Report whether the cluster is initialised and running, without changing anything."""
        pid = _pid_in(self.data_dir / "postmaster.pid")
        running = pid is not None and _serves(pid, self.data_dir)
        return ClusterStatus(
            initialised=self._data_version() is not None,
            running=running,
            pid=pid if running else None,
            socket_dir=self.socket_dir,
            port=self.port,
            data_dir=self.data_dir,
            version=self._data_version(),
        )

    def init(self) -> bool:
        """Create the cluster with ``initdb`` unless it exists.

        ``initdb`` runs into ``home/pgdata.initdb`` which is renamed to ``home/pgdata`` only
        when complete, so an interrupted init leaves no half-made cluster.

        Returns
        -------
        bool
            ``True`` if a new cluster was created, ``False`` if it already existed.

        Raises
        ------
        SystemPackageError
            PostgreSQL server programs or PostGIS are not installed.
        ClusterError
            ``initdb`` failed, or ``home/pgdata`` exists but holds no cluster.
        """
        with self._locked():
            if self._data_version() is not None:
                return False
            install = self._binaries()
            require_postgis(install)
            if self.data_dir.exists() and any(self.data_dir.iterdir()):
                raise ClusterError("cluster.data_dir_not_empty", path=str(self.data_dir))
            self._prepare_dirs()
            staging = self.home / "pgdata.initdb"
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(mode=0o700)
            self._user.chown(staging)
            args = [
                install.program("initdb"),
                f"--pgdata={staging}",
                f"--username={self.superuser}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                # Byte-order collation: text keys (codes, ids) compare with memcmp, which makes
                # index builds several times faster; UTF-8 character classes are kept.
                "--lc-collate=C",
                "--auth-local=trust",
                "--auth-host=reject",
                "--data-checksums",
                "--no-instructions",
            ]
            done = self._user.run(args, cwd=self.home, timeout=300)
            if done.returncode != 0:
                shutil.rmtree(staging, ignore_errors=True)
                raise ClusterError(
                    "cluster.initdb_failed",
                    path=str(self.data_dir),
                    output=(done.stdout + done.stderr).strip()[-2000:],
                )
            conf = staging / "postgresql.conf"
            with conf.open("a", encoding="utf-8") as fh:
                fh.write(f"\n# Pingan Grid settings\ninclude = '{_SETTINGS_FILE}'\n")
            self._write_settings(staging)
            if self.data_dir.exists():
                self.data_dir.rmdir()
            staging.rename(self.data_dir)
            return True

    def _clear_stale(self) -> None:
        """Remove a stale ``postmaster.pid`` and socket lock file left by a crash."""
        pid_file = self.data_dir / "postmaster.pid"
        pid = _pid_in(pid_file)
        if pid_file.exists() and (pid is None or not _serves(pid, self.data_dir)):
            deadline = time.monotonic() + 10
            while (orphans := _orphans(self.data_dir)) and time.monotonic() < deadline:
                time.sleep(0.1)
            if orphans:
                raise ClusterError(
                    "cluster.orphan_processes",
                    data_dir=str(self.data_dir),
                    pids=" ".join(map(str, orphans)),
                )
            pid_file.unlink(missing_ok=True)
        lock_file = self.socket_dir / f".s.PGSQL.{self.port}.lock"
        lock_pid = _pid_in(lock_file)
        if lock_file.exists() and (lock_pid is None or not _is_postgres(lock_pid)):
            lock_file.unlink(missing_ok=True)
            (self.socket_dir / f".s.PGSQL.{self.port}").unlink(missing_ok=True)

    def start(self, *, timeout: float = 30) -> bool:
        """Start the server unless it is running.

        Parameters
        ----------
        timeout
            Seconds to wait for the server to accept connections.

        Returns
        -------
        bool
            ``True`` if this call started the server, ``False`` if it was already running.

        Raises
        ------
        ClusterError
            The cluster is not initialised, its version does not match the server programs,
            or the server did not start (the message carries the end of the server log).
        """
        with self._locked():
            if self.status().running:
                return False
            version = self._data_version()
            if version is None:
                raise ClusterError("cluster.not_initialised", path=str(self.data_dir))
            install = self._binaries()
            if version != str(install.major):
                raise ClusterError(
                    "cluster.version_mismatch",
                    data_dir=str(self.data_dir),
                    data_version=version,
                    bin_version=install.version,
                )
            self._prepare_dirs()
            self._clear_stale()
            self._write_settings(self.data_dir)
            args = [
                install.program("pg_ctl"),
                "start",
                f"--pgdata={self.data_dir}",
                f"--log={self.log_path}",
                "--wait",
                f"--timeout={max(1, round(timeout))}",
                "--silent",
            ]
            done = self._user.run(args, cwd=self.home, timeout=timeout + 30)
            if done.returncode != 0 or not self.status().running:
                raise ClusterError(
                    "cluster.start_failed",
                    data_dir=str(self.data_dir),
                    log_path=str(self.log_path),
                    log_tail=_tail(self.log_path) or (done.stdout + done.stderr).strip(),
                )
            return True

    def stop(self, *, mode: str = "fast") -> bool:
        """Stop the server if it is running.

        Parameters
        ----------
        mode
            ``"smart"`` (wait for clients to disconnect), ``"fast"`` (roll back open
            transactions) or ``"immediate"`` (abort; recovery runs at the next start).

        Returns
        -------
        bool
            ``True`` if this call stopped the server, ``False`` if it was not running.
        """
        if mode not in STOP_MODES:
            raise ClusterError("cluster.bad_stop_mode", mode=mode, modes=", ".join(STOP_MODES))
        with self._locked():
            if not self.status().running:
                return False
            args = [
                self._binaries().program("pg_ctl"),
                "stop",
                f"--pgdata={self.data_dir}",
                f"--mode={mode}",
                "--wait",
                "--timeout=120",
                "--silent",
            ]
            done = self._user.run(args, cwd=self.home, timeout=150)
            if done.returncode != 0 and self.status().running:
                raise ClusterError(
                    "cluster.stop_failed",
                    data_dir=str(self.data_dir),
                    log_path=str(self.log_path),
                    log_tail=_tail(self.log_path) or (done.stdout + done.stderr).strip(),
                )
            return True

    def reset(self) -> None:
        """Stop the server and delete the data directory (all data is lost).

        The log and socket directories are kept. Callers that face a person (the CLI) ask
        for confirmation first; this method does not.
        """
        with self._locked():
            self.stop(mode="fast")
            for path in (self.data_dir, self.home / "pgdata.initdb"):
                if path.exists():
                    shutil.rmtree(path)

    def ensure_running(self, *, timeout: float = 30) -> None:
        """Initialise the cluster if needed, then start it if needed."""
        with self._locked():
            require_postgis(self._binaries())
            self.init()
            self.start(timeout=timeout)

    # -- clients ----------------------------------------------------------------------------------

    def conninfo(self, dbname: str = "pingan") -> str:
        """Return the libpq connection string for database ``dbname`` over the Unix socket."""
        return make_conninfo(
            host=str(self.socket_dir), port=str(self.port), user=self.superuser, dbname=dbname
        )

    def create_database(
        self, name: str, *, template: str | None = None, extensions: Sequence[str] = ("postgis",)
    ) -> bool:
        """Create database ``name`` and the ``extensions`` in it.

        Parameters
        ----------
        name
            The new database.
        template
            Clone this database (``CREATE DATABASE … TEMPLATE``); it must have no open
            connections. Default: ``template1``.
        extensions
            Extensions to create (``IF NOT EXISTS``), also when the database already exists.

        Returns
        -------
        bool
            ``True`` if the database was created, ``False`` if it existed.
        """
        if not self.status().running:
            raise ClusterError("cluster.not_running", data_dir=str(self.data_dir))
        if any(ext.startswith("postgis") for ext in extensions):
            require_postgis(self._binaries())
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        created = True
        try:
            with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
                try:
                    conn.execute(statement)
                except psycopg.errors.DuplicateDatabase:
                    created = False
            with psycopg.connect(self.conninfo(name), autocommit=True) as conn:
                for ext in extensions:
                    conn.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext))
                    )
        except psycopg.Error as exc:
            raise ClusterError("cluster.create_database_failed", name=name, error=str(exc)) from exc
        return created
