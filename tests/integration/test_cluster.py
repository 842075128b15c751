"""The managed local PostgreSQL + PostGIS cluster (gis/cluster.py), against real servers.

Each test that needs a server makes its own throw-away cluster under a base directory in
/tmp with mode 0755: when the tests run as root, the server runs as the ``postgres`` user,
which cannot enter pytest's own ``/tmp/pytest-of-root`` (mode 0700).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from gis._pgbin import RunAs, find_pg_install, require_postgis
from gis.cluster import LocalCluster
from gis.errors import ClusterError, SystemPackageError

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MakeCluster = Callable[..., LocalCluster]


@pytest.fixture(scope="module")
def base() -> Iterator[Path]:
    """A base directory every user can traverse, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="pingan-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_cluster(base: Path, request: pytest.FixtureRequest) -> Iterator[MakeCluster]:
    """Build clusters in fresh homes; stop them and delete their homes afterwards."""
    made: list[LocalCluster] = []

    def make(name: str | None = None, **options: object) -> LocalCluster:
        home = base / (name or f"{request.node.name}-{len(made)}")
        cluster = LocalCluster(home, **options)  # type: ignore[arg-type]
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        with contextlib.suppress(ClusterError):
            cluster.stop(mode="immediate")
        shutil.rmtree(cluster.home, ignore_errors=True)
        if not cluster.socket_dir.is_relative_to(cluster.home):
            shutil.rmtree(cluster.socket_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def running(base: Path) -> Iterator[LocalCluster]:
    """One running cluster shared by the client tests of this module."""
    cluster = LocalCluster(base / "shared")
    cluster.ensure_running()
    yield cluster
    cluster.stop()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def _unused_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid -= 1
    return pid


# -- binaries and packages ------------------------------------------------------------------------


def test_missing_server_binaries_name_the_package(tmp_path: Path) -> None:
    empty = tmp_path / "postgresql" / "15" / "bin"
    empty.mkdir(parents=True)
    cluster = LocalCluster(tmp_path / "home", bindir=empty)
    with pytest.raises(SystemPackageError) as info:
        cluster.init()
    text = str(info.value)
    assert "postgresql-15" in text
    assert "apt-get install" in text
    assert str(empty) in text
    assert "initdb" in info.value.zh and "initdb" in info.value.en


def test_missing_binaries_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_PG_BINDIR", str(tmp_path))
    with pytest.raises(SystemPackageError) as info:
        LocalCluster(tmp_path / "home").ensure_running()
    assert "postgresql" in str(info.value)
    assert "apt-get install" in str(info.value)


def test_missing_postgis_names_the_package(tmp_path: Path) -> None:
    install = find_pg_install()
    assert install.has_postgis
    require_postgis(install)
    without = dataclasses.replace(install, sharedir=tmp_path)
    with pytest.raises(SystemPackageError) as info:
        require_postgis(without)
    assert f"postgresql-{install.major}-postgis-3" in str(info.value)


def test_binaries_are_server_binaries() -> None:
    install = find_pg_install()
    for name in ("initdb", "pg_ctl", "postgres"):
        assert os.access(install.program(name), os.X_OK)
    assert install.version.startswith(str(install.major))


# -- settings and options -------------------------------------------------------------------------


def test_unsafe_settings_are_refused(base: Path) -> None:
    for name in ("fsync", "full_page_writes"):
        with pytest.raises(ClusterError) as info:
            LocalCluster(base / "unsafe", settings={name: "off"})
        assert info.value.key == "cluster.unsafe_setting"
    with pytest.raises(ClusterError):
        LocalCluster(base / "unsafe", settings={"work_mem": "1MB\nfsync = off"})


def test_server_settings_keep_durability_and_take_extras(base: Path) -> None:
    cluster = LocalCluster(base / "settings", settings={"work_mem": "128MB"}, port=6001)
    settings = cluster.server_settings()
    assert "fsync" not in settings and "full_page_writes" not in settings
    assert settings["work_mem"] == "128MB"
    assert settings["synchronous_commit"] == "off"
    assert settings["listen_addresses"] == ""
    assert settings["unix_socket_directories"] == str(cluster.socket_dir)
    assert settings["port"] == "6001"
    assert cluster.conninfo("x") == f"host={cluster.socket_dir} port=6001 user=pingan dbname=x"


def test_bad_stop_mode(base: Path) -> None:
    with pytest.raises(ClusterError) as info:
        LocalCluster(base / "mode").stop(mode="abrupt")
    assert "immediate" in str(info.value)


def test_unreachable_parent_is_reported(base: Path) -> None:
    closed = base / "closed"
    closed.mkdir(mode=0o700)
    if os.geteuid() == 0:
        cluster = LocalCluster(closed / "home")
        with pytest.raises(ClusterError) as info:
            cluster.init()
        assert info.value.key == "cluster.parent_not_traversable"
        assert str(closed) in str(info.value)
    else:
        with pytest.raises(ClusterError) as info:
            RunAs.resolve("root")
        assert info.value.key in {"cluster.run_as_root", "cluster.cannot_switch_user"}


# -- lifecycle ------------------------------------------------------------------------------------


def test_lifecycle_is_idempotent(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    before = cluster.status()
    assert not before.initialised and not before.running and before.pid is None
    assert cluster.init() is True
    assert cluster.init() is False
    assert cluster.status().version == str(find_pg_install().major)
    assert cluster.start() is True
    assert cluster.start() is False
    status = cluster.status()
    assert status.running and status.pid is not None
    assert (status.socket_dir / f".s.PGSQL.{status.port}").is_socket()
    assert cluster.stop() is True
    assert cluster.stop() is False
    assert not cluster.status().running
    assert cluster.start() is True
    assert cluster.stop(mode="immediate") is True
    assert cluster.start() is True  # recovers after an immediate stop
    assert "ready to accept connections" in cluster.log_path.read_text()


def test_failed_start_reports_the_log(make_cluster: MakeCluster) -> None:
    cluster = make_cluster(settings={"work_mem": "lots"})
    cluster.init()
    with pytest.raises(ClusterError) as info:
        cluster.start(timeout=10)
    assert info.value.key == "cluster.start_failed"
    assert "work_mem" in str(info.value)
    assert str(cluster.log_path) in str(info.value)


def test_start_before_init_is_an_error(make_cluster: MakeCluster) -> None:
    with pytest.raises(ClusterError) as info:
        make_cluster().start()
    assert info.value.key == "cluster.not_initialised"


def test_reset_deletes_the_data(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    cluster.ensure_running()
    cluster.reset()
    status = cluster.status()
    assert not status.initialised and not status.running
    assert not cluster.data_dir.exists()
    cluster.reset()  # nothing to do is fine
    cluster.ensure_running()
    assert cluster.status().running


def test_long_home_uses_a_short_socket_dir(make_cluster: MakeCluster) -> None:
    cluster = make_cluster("h" * 90)
    assert str(cluster.socket_dir).startswith("/tmp/pingan-")
    assert len(os.fsencode(cluster.socket_dir / ".s.PGSQL.5544")) < 100
    cluster.ensure_running()
    with psycopg.connect(cluster.conninfo("postgres")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


# -- crashes and concurrency ----------------------------------------------------------------------


def test_concurrent_ensure_running_gives_one_server(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    script = (
        "import sys\nfrom gis.cluster import LocalCluster\n"
        "c = LocalCluster(sys.argv[1])\nc.ensure_running()\nprint(c.status().pid)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(cluster.home)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], results
    pids = {out.strip() for out, _ in results}
    assert pids == {str(cluster.status().pid)}
    assert cluster.log_path.read_text().count("ready to accept connections") == 1


def test_recovers_after_kill_9(make_cluster: MakeCluster) -> None:
    cluster = make_cluster()
    cluster.ensure_running()
    pid = cluster.status().pid
    assert pid is not None
    victims = [pid, *_children(pid)]
    for victim in victims:
        os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not all(map(_gone, victims)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (cluster.data_dir / "postmaster.pid").exists()
    assert not cluster.status().running
    assert cluster.start() is True
    status = cluster.status()
    assert status.running and status.pid != pid
    with psycopg.connect(cluster.conninfo("postgres")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("kind", ["missing", "not_postgres"])
def test_recovers_from_a_stale_pid_file(make_cluster: MakeCluster, kind: str) -> None:
    cluster = make_cluster()
    cluster.init()
    stale = _unused_pid() if kind == "missing" else os.getpid()
    pid_file = cluster.data_dir / "postmaster.pid"
    pid_file.write_text(f"{stale}\n{cluster.data_dir}\n0\n{cluster.port}\n")
    lock_file = cluster.socket_dir / f".s.PGSQL.{cluster.port}.lock"
    cluster.socket_dir.mkdir(parents=True, exist_ok=True)
    lock_file.write_text(f"{stale}\n{cluster.data_dir}\n")
    assert not cluster.status().running
    assert cluster.start() is True
    status = cluster.status()
    assert status.running and status.pid != stale


# -- clients --------------------------------------------------------------------------------------


def test_connect_and_use_postgis(running: LocalCluster) -> None:
    assert running.create_database("pingan") is True
    assert running.create_database("pingan") is False
    with psycopg.connect(running.conninfo()) as conn:
        version = conn.execute("SELECT postgis_full_version()").fetchone()
        assert version is not None and "POSTGIS=" in version[0]
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync', 'full_page_writes', 'synchronous_commit', 'listen_addresses',"
                " 'server_encoding', 'lc_collate')"
            ).fetchall()
        )
    assert settings == {
        "fsync": "on",
        "full_page_writes": "on",
        "synchronous_commit": "off",
        "listen_addresses": "",
        "server_encoding": "UTF8",
        "lc_collate": "C",  # byte-order collation (gis/cluster.py, initdb --lc-collate=C)
    }


def test_create_extension_and_clone_a_template(running: LocalCluster) -> None:
    running.create_database("plain", extensions=())
    with psycopg.connect(running.conninfo("plain"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
        point = conn.execute("SELECT ST_AsText(ST_SetSRID(ST_Point(121.5, 31.2), 4490))")
        assert point.fetchone() == ("POINT(121.5 31.2)",)
        conn.execute("CREATE TABLE marker (id int)")
    assert running.create_database("clone", template="plain", extensions=()) is True
    with psycopg.connect(running.conninfo("clone")) as conn:
        found = conn.execute("SELECT to_regclass('marker') IS NOT NULL, postgis_version()")
        row = found.fetchone()
        assert row is not None and row[0] is True


def test_create_database_needs_a_running_server(make_cluster: MakeCluster) -> None:
    with pytest.raises(ClusterError) as info:
        make_cluster().create_database("x")
    assert info.value.key == "cluster.not_running"
