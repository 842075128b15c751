"""Rich output for the CLI: tables, progress bars, JSON, and errors as bilingual panels."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gis.messages import both, t

# The --json option every reporting command takes.
JsonOption = Annotated[bool, typer.Option("--json", help=both("cli.opt.json"))]

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (for scripts: ``--json``)."""
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def table(title_key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table whose title and column headers are catalogue keys."""
    out = Table(title=t(title_key), show_lines=False)
    for key in columns:
        out.add_column(t(key))
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    console.print(out)


@contextmanager
def progress_bar(description_key: str, **params: Any) -> Iterator[Any]:
    """A progress bar; yields ``update(stage, fraction)`` for the long work to call."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(t(description_key, **params), total=1.0, stage="")

        def update(stage: str, fraction: float) -> None:
            progress.update(task, completed=fraction, stage=stage)

        yield update
        progress.update(task, completed=1.0)
