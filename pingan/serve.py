"""``pingan serve``: the dashboard, behind gunicorn (or the Dash dev server with ``--debug``).

The database is prepared (managed cluster started, migrations applied) once in this process;
each gunicorn worker then imports ``dashboard.wsgi`` after the fork, opens its own pool and
serves the index once to itself (:func:`dashboard.app.warm_up`) before it accepts a
connection: until then the other workers take them, so no browser meets a half-started worker.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from typing import Annotated, Any

import typer

from gis.db import prepare_database
from gis.messages import both, t
from gis.settings import get_settings
from pingan._console import console

WSGI_APP = "dashboard.wsgi:server"

_WARM_UP = "from analysis.clusters import warm_up; warm_up()"


def start_jit_warm_up() -> subprocess.Popen[bytes]:
    """Fill the numba cache of the clustering code in a child process at the lowest priority.

    The first compile takes a minute or two on a small machine. Done here, in the background
    while the server starts, no clustering run started from the dashboard waits for it: the
    workers load the compiled code from the cache (``analysis._numba_cache``). With the cache
    already filled the child only checks it and exits. It is stopped with the server.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _WARM_UP],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.nice(19),  # noqa: PLW1509 - only nice(), before exec
    )
    atexit.register(child.terminate)
    return child


def gunicorn_options(*, host: str, port: int, workers: int) -> dict[str, Any]:
    """gunicorn settings of ``pingan serve``."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 120,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "pingan-dashboard",
    }


def run_gunicorn(options: dict[str, Any]) -> None:
    """Serve :data:`WSGI_APP` with gunicorn until interrupted."""
    from gunicorn.app.base import BaseApplication

    class _Dashboard(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            # In the worker, before it accepts connections (there is no --preload).
            from dashboard.app import warm_up
            from dashboard.wsgi import app, server

            warm_up(app)
            return server

    _Dashboard().run()


def serve_command(
    host: Annotated[str, typer.Option("--host", help=both("cli.opt.host"))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help=both("cli.opt.port"))] = 8050,
    workers: Annotated[int, typer.Option("--workers", help=both("cli.opt.workers"))] = 2,
    debug: Annotated[bool, typer.Option("--debug", help=both("cli.opt.debug"))] = False,
) -> None:
    settings = get_settings()
    prepare_database(settings)
    os.environ.setdefault("PINGAN_HOME", str(settings.home))  # the JIT cache lives there
    start_jit_warm_up()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    console.print(t("dashboard.serve.address", url=f"http://{shown_host}:{port}"))
    if debug:
        from dashboard.app import create_app

        console.print(t("dashboard.serve.debug"))
        # The version check would call plotly's server from the browser: never, we are offline.
        create_app().run(host=host, port=port, debug=True, dev_tools_disable_version_check=True)
        return
    run_gunicorn(gunicorn_options(host=host, port=port, workers=workers))


def register(app: typer.Typer) -> None:
    app.command("serve", help=both("cli.help.serve"))(serve_command)


__all__ = ["gunicorn_options", "register", "run_gunicorn"]
