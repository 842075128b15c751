"""The ``pingan`` command line: the composition root of the application.

Every command works with no options on the whole database; reporting commands take ``--json``.
Errors of the application print as one bilingual message and exit with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gis._allocator import keep_freed_memory
from gis.cluster import LocalCluster
from gis.db import open_database
from gis.errors import PinganError, SettingsError
from gis.messages import LANGUAGES, both, set_language, t
from gis.settings import get_settings
from pingan import analyze_commands, data_commands, demo, serve
from pingan._console import JsonOption, console, err_console, print_json, table

app = typer.Typer(
    name="pingan",
    help=both("cli.help"),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help=both("cli.db.help"), no_args_is_help=True)
app.add_typer(db_app, name="db")
data_commands.register(app)
analyze_commands.register(app)
demo.register(app)
serve.register(app)


@app.callback()
def _root(
    lang: Annotated[str | None, typer.Option("--lang", help=both("cli.opt.lang"))] = None,
) -> None:
    if lang is not None and lang not in LANGUAGES:
        raise SettingsError("settings.invalid", name="--lang", value=lang, expected="zh or en")
    set_language(lang or get_settings().language)


def _cluster() -> LocalCluster:
    settings = get_settings()
    return LocalCluster(settings.home, port=settings.port, bindir=settings.pg_bindir)


def _external_notice() -> bool:
    settings = get_settings()
    if settings.uses_managed_cluster:
        return False
    console.print(t("cli.db.external"))
    return True


@db_app.command("init", help=both("cli.help.db_init"))
def db_init() -> None:
    settings = get_settings()
    if settings.uses_managed_cluster:
        created = _cluster().init()
        console.print(t("cli.db.initialised" if created else "cli.db.already_initialised"))
    database = open_database(settings)
    # What the database was created with, which a later PINGAN_* setting does not change.
    console.print(t("cli.db.ready", srid=database.storage_srid, timezone=database.timezone))
    database.close()


@db_app.command("start", help=both("cli.help.db_start"))
def db_start() -> None:
    if _external_notice():
        return
    cluster = _cluster()
    cluster.ensure_running()
    status = cluster.status()
    console.print(t("cli.db.running", pid=status.pid, socket=status.socket_dir))


@db_app.command("stop", help=both("cli.help.db_stop"))
def db_stop() -> None:
    if _external_notice():
        return
    stopped = _cluster().stop()
    console.print(t("cli.db.stopped" if stopped else "cli.db.not_running"))


@db_app.command("status", help=both("cli.help.db_status"))
def db_status(as_json: JsonOption = False) -> None:
    settings = get_settings()
    info: dict[str, object] = {"managed": settings.uses_managed_cluster}
    if settings.uses_managed_cluster:
        status = _cluster().status()
        info.update(
            home=str(settings.home),
            data_dir=str(status.data_dir),
            initialised=status.initialised,
            running=status.running,
            pid=status.pid,
            socket_dir=str(status.socket_dir),
            port=status.port,
            version=status.version,
        )
    else:
        info["database_url"] = settings.database_url or "PG*"
    if not settings.uses_managed_cluster or info.get("running"):
        import layers

        database = open_database(settings)
        info.update(storage_srid=database.storage_srid, timezone=database.timezone)
        info["layers"] = layers.counts(db=database)
        database.close()
    if as_json:
        print_json(info)
        return
    rows = [
        (t(f"cli.status.{k}") if f"cli.status.{k}" in _status_keys() else k, _shown(v))
        for k, v in info.items()
        if k != "layers"
    ]
    table("cli.db.status_title", ("cli.col.item", "cli.col.value"), rows)
    if "layers" in info:
        counts = info["layers"]
        assert isinstance(counts, dict)
        table(
            "cli.counts_title",
            ("cli.col.layer", "cli.col.rows"),
            [(t(f"layer.{k}"), v) for k, v in counts.items()],
        )


def _shown(value: object) -> object:
    """Yes/no in the user's language; everything else as it is."""
    if isinstance(value, bool):
        return t("cli.yes" if value else "cli.no")
    return value


def _status_keys() -> set[str]:
    from gis.messages import catalogue

    return {k for k in catalogue() if k.startswith("cli.status.")}


@db_app.command("reset", help=both("cli.help.db_reset"))
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help=both("cli.opt.yes"))] = False,
) -> None:
    if _external_notice():
        return
    cluster = _cluster()
    if not yes and not typer.confirm(t("cli.db.confirm_reset", data_dir=cluster.data_dir)):
        raise typer.Abort()
    cluster.reset()
    console.print(t("cli.db.reset_done"))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning application errors into a message and exit status 2."""
    keep_freed_memory()  # imports and analyses allocate and free big columns again and again
    try:
        app(args=argv, standalone_mode=False)
    except PinganError as exc:
        err_console.print(f"[bold red]✗[/] {exc.zh}\n  {exc.en}")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print(t("cli.aborted"))
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # Usage errors (click's, or those of the click that typer vendors) print themselves
        # and carry their own exit code; anything else is a bug and keeps its traceback.
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if not callable(show) or not isinstance(exit_code, int):
            raise
        show()
        sys.exit(exit_code)


if __name__ == "__main__":
    main()


__all__ = ["Path", "app", "main"]
