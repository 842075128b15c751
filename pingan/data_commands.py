"""CLI commands that move data: ``import``, ``export``, ``batches`` and ``quarantine``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gis.db import get_database
from gis.errors import ValidationError
from gis.messages import both, t
from gis.queries import fetch_all, fetch_one
from gis.writers import write_table
from layers import BASE_LAYERS, import_file, read
from layers._importer import ImportSummary
from layers.ingest import layer_def
from pingan._console import JsonOption, console, print_json, progress_bar, table

AreaOption = Annotated[str | None, typer.Option("--area", help=both("cli.opt.area"))]

export_app = typer.Typer(help=both("cli.export.help"), no_args_is_help=True)
quarantine_app = typer.Typer(help=both("cli.quarantine.help"), no_args_is_help=True)


def print_summary(summary: ImportSummary) -> None:
    """The counts of one import batch as a table, then its warnings."""
    rows = [
        (t("cli.summary.rows"), summary.rows),
        (t("cli.summary.inserted"), summary.inserted),
        (t("cli.summary.updated"), summary.updated),
        (t("cli.summary.unchanged"), summary.unchanged),
        (t("cli.summary.merged"), summary.merged),
        (t("cli.summary.quarantined"), summary.quarantined),
        (t("cli.summary.other_category"), summary.other_category),
        (t("cli.summary.crs"), summary.source_crs),
        (t("cli.summary.seconds"), summary.seconds),
    ]
    table(
        "cli.summary.title",
        ("cli.col.item", "cli.col.value"),
        [
            (t("cli.summary.batch"), f"{summary.batch_id} ({summary.layer}, {summary.source})"),
            *rows,
        ],
    )
    for warning in summary.warnings:
        console.print(f"[yellow]! {warning}[/]")
    if summary.quarantined:
        console.print(t("cli.summary.see_quarantine", batch=summary.batch_id))


def _base_layer(name: str) -> str:
    """Check the layer before the file, so that an unknown layer is named in the error."""
    layer_def(name)
    return name


def import_command(
    layer: Annotated[
        str,
        typer.Argument(
            callback=_base_layer, help=both("cli.arg.layer", layers=", ".join(BASE_LAYERS))
        ),
    ],
    path: Annotated[Path, typer.Argument(help=both("cli.arg.path"))],
    source: Annotated[str | None, typer.Option("--source", help=both("cli.opt.source"))] = None,
    crs: Annotated[str | None, typer.Option("--crs", help=both("cli.opt.crs"))] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help=both("cli.opt.mapping"))] = None,
    swap_axes: Annotated[bool, typer.Option("--swap-axes", help=both("cli.opt.swap_axes"))] = False,
    gpkg_layer: Annotated[
        str | None, typer.Option("--layer-name", help=both("cli.opt.layer_name"))
    ] = None,
    as_json: JsonOption = False,
) -> None:
    with progress_bar("cli.import.progress", layer=layer, file=path.name) as update:
        summary = import_file(
            layer,
            path,
            source=source,
            crs=crs,
            mapping=mapping,
            swap_axes=swap_axes,
            sheet_layer=gpkg_layer,
            progress=update,
        )
    if as_json:
        print_json(summary.as_dict())
    else:
        print_summary(summary)


@export_app.command("layer", help=both("cli.help.export_layer"))
def export_layer(
    layer: Annotated[
        str, typer.Argument(help=both("cli.arg.layer", layers=", ".join(BASE_LAYERS)))
    ],
    path: Annotated[Path, typer.Argument(help=both("cli.arg.export_path"))],
    area: AreaOption = None,
) -> None:
    frame = read(layer, area=area)
    written = write_table(frame, path, layer=layer)
    console.print(t("cli.export.done", rows=len(frame), path=written))


def batches_command(
    layer: Annotated[str | None, typer.Option("--layer", help=both("cli.opt.layer"))] = None,
    limit: Annotated[int, typer.Option("--limit", help=both("cli.opt.limit"))] = 20,
    as_json: JsonOption = False,
) -> None:
    with get_database().connection() as conn:
        rows = fetch_all(conn, "list_import_batches", layer=layer, limit=limit)
    if as_json:
        print_json(rows)
        return
    table(
        "cli.batches.title",
        (
            "cli.col.batch",
            "cli.col.layer",
            "cli.col.source",
            "cli.col.file",
            "cli.col.started",
            "cli.summary.inserted",
            "cli.summary.updated",
            "cli.summary.unchanged",
            "cli.summary.quarantined",
        ),
        [
            (
                r["id"],
                r["layer"],
                r["source"],
                r["file_name"],
                f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
                r["counts"].get("inserted"),
                r["counts"].get("updated"),
                r["counts"].get("unchanged"),
                r["counts"].get("quarantined"),
            )
            for r in rows
        ],
    )


@quarantine_app.command("list", help=both("cli.help.quarantine_list"))
def quarantine_list(
    limit: Annotated[int, typer.Option("--limit", help=both("cli.opt.limit"))] = 20,
    as_json: JsonOption = False,
) -> None:
    with get_database().connection() as conn:
        rows = fetch_all(conn, "quarantine_summary", limit=limit)
    if as_json:
        print_json(rows)
        return
    table(
        "cli.quarantine.list_title",
        (
            "cli.col.batch",
            "cli.col.layer",
            "cli.col.source",
            "cli.col.file",
            "cli.col.started",
            "cli.col.rows",
        ),
        [
            (
                r["batch_id"],
                r["layer"],
                r["source"],
                r["file_name"],
                f"{r['started_at']:%Y-%m-%d %H:%M:%S}",
                r["rows"],
            )
            for r in rows
        ],
    )


@quarantine_app.command("show", help=both("cli.help.quarantine_show"))
def quarantine_show(
    batch: Annotated[int, typer.Argument(help=both("cli.arg.batch"))],
    limit: Annotated[int, typer.Option("--limit", help=both("cli.opt.limit"))] = 200,
    as_json: JsonOption = False,
) -> None:
    with get_database().connection() as conn:
        rows = fetch_all(conn, "quarantine_rows", batch_id=batch, limit=limit)
        known = fetch_one(conn, "import_batch_exists", batch_id=batch)
    if not known or not known["exists"]:
        raise ValidationError("cli.no_such_batch", batch=batch)
    if as_json:
        print_json(rows)
        return
    language = "zh" if t("cli.lang_code") == "zh" else "en"
    table(
        "cli.quarantine.show_title",
        ("cli.col.row", "cli.col.source_id", "cli.col.reasons"),
        [
            (
                r["row_number"],
                r["source_id"],
                "; ".join(reason[language] for reason in r["reasons"]),
            )
            for r in rows
        ],
    )


def register(app: typer.Typer) -> None:
    app.command("import", help=both("cli.help.import"))(import_command)
    app.command("batches", help=both("cli.help.batches"))(batches_command)
    app.add_typer(export_app, name="export")
    app.add_typer(quarantine_app, name="quarantine")
