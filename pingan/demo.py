"""``pingan demo``: generate the synthetic demo county and import it through the real importers.

The county is deterministic by seed. Running the command again with the same options finds the
recorded run in ``pingan_meta`` and returns at once; other options replace the demo rows.
The planted ground truth is written to ``$PINGAN_HOME/demo/truth.json`` for tests and analysts.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

import layers
from gis.db import Database, get_database
from gis.messages import both, t
from gis.queries import execute, fetch_one
from gis.settings import get_settings
from layers import counts
from layers.demo import DEMO_SOURCE, build_demo_county
from layers.demo.loading import DEMO_LAYERS, import_demo_county
from pingan._console import console, print_json, progress_bar, table


def _recorded(db: Database) -> dict[str, Any] | None:
    with db.connection() as conn:
        row = fetch_one(conn, "get_meta", key="demo")
    return json.loads(row["value"]) if row else None


def run_demo(
    *,
    seed: int,
    incidents: int | None,
    small: bool,
    end: str,
    db: Database | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Build and import the demo county unless the same one is already there.

    Returns a report: per layer the rows read, stored and quarantined, and the seconds taken.
    """
    db = db or get_database()
    options = {"seed": seed, "incidents": incidents, "small": small, "end": end}
    recorded = _recorded(db)
    report: dict[str, Any] = {"options": options, "reused": False, "layers": {}}
    update = progress or (lambda _stage, _fraction: None)
    if recorded and recorded.get("options") == options:
        report.update(reused=True, layers=recorded["layers"], truth=recorded.get("truth"))
        # A county imported before the derived layers existed gets them once.
        if _analyses_wanted(incidents) and layers.latest_run("risk", db=db) is None:
            report["seconds_analyses"] = _refresh_analyses(db, update)
        return report
    started = time.perf_counter()
    # Whatever an earlier run left (also one that was killed half way and recorded nothing)
    # goes first, so that two counties never mix.
    with db.connection() as conn:
        execute(conn, "purge_source", source=DEMO_SOURCE)
    county = build_demo_county(
        seed=seed,
        end=end,
        incidents=incidents,
        small=small,
        progress=lambda stage, fraction: update(
            t("cli.demo.stage_build", stage=stage), 0.3 * fraction
        ),
    )
    report["seconds_build"] = round(time.perf_counter() - started, 2)
    summaries = import_demo_county(
        county,
        source=DEMO_SOURCE,
        db=db,
        on_layer=lambda layer, i: update(t(f"layer.{layer}"), 0.3 + 0.7 * i / len(DEMO_LAYERS)),
    )
    for layer, summary in summaries.items():
        report["layers"][layer] = {
            "rows": summary.rows,
            "stored": summary.inserted + summary.updated + summary.unchanged,
            "merged": summary.merged,
            "quarantined": summary.quarantined,
            "seconds": summary.seconds,
            "warnings": summary.warnings,
        }
    truth_path = get_settings().home / "demo" / "truth.json"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    county.truth.write(truth_path)
    report["truth"] = str(truth_path)
    report["seconds"] = round(time.perf_counter() - started, 2)
    with db.connection() as conn:
        execute(
            conn,
            "set_meta",
            key="demo",
            value=json.dumps(
                {"options": options, "layers": report["layers"], "truth": report["truth"]},
                ensure_ascii=False,
            ),
        )
    if _analyses_wanted(incidents):
        report["seconds_analyses"] = _refresh_analyses(db, update)
    update(t("cli.demo.done_stage"), 1.0)
    return report


ANALYSED_UP_TO = 100_000
"""Counties up to this many incidents get their derived layers from ``pingan demo``; the
benchmark counties (``--incidents 1000000``) are left to ``pingan analyze``."""


def _analyses_wanted(incidents: int | None) -> bool:
    return incidents is None or incidents <= ANALYSED_UP_TO


def _refresh_analyses(db: Database, update: Any) -> float:
    """The derived layers the overview and key-area pages show, as ``pingan analyze`` makes
    them: Gi* hot spots of 两抢一盗, the key areas, and the risk grades of every month."""
    started = time.perf_counter()
    update(t("cli.demo.stage_analyses"), 0.95)
    layers.refresh_hotspots(categories=["两抢一盗"], db=db)
    layers.refresh_key_areas(db=db)
    layers.refresh_risk(db=db)
    return round(time.perf_counter() - started, 2)


def demo_command(
    seed: Annotated[int, typer.Option("--seed", help=both("cli.opt.seed"))] = 20261031,
    incidents: Annotated[
        int | None, typer.Option("--incidents", help=both("cli.opt.incidents"))
    ] = None,
    small: Annotated[bool, typer.Option("--small", help=both("cli.opt.small"))] = False,
    end: Annotated[str, typer.Option("--end", help=both("cli.opt.end"))] = "2026-10-31",
    as_json: Annotated[bool, typer.Option("--json", help=both("cli.opt.json"))] = False,
) -> None:
    started = time.perf_counter()
    with progress_bar("cli.demo.progress") as update:
        report = run_demo(seed=seed, incidents=incidents, small=small, end=end, progress=update)
    report["seconds_total"] = round(time.perf_counter() - started, 2)
    report["database"] = counts()
    if as_json:
        print_json(report)
        return
    rows = [
        (
            t(f"layer.{layer}"),
            info["rows"],
            info["stored"],
            info["merged"],
            info["quarantined"],
            info["seconds"],
        )
        for layer, info in report["layers"].items()
    ]
    layers_info = report["layers"].values()
    rows.append(
        (
            t("cli.col.total"),
            sum(i["rows"] for i in layers_info),
            sum(i["stored"] for i in layers_info),
            sum(i["merged"] for i in layers_info),
            sum(i["quarantined"] for i in layers_info),
            report["seconds_total"],
        )
    )
    table(
        "cli.demo.title",
        (
            "cli.col.layer",
            "cli.col.rows_read",
            "cli.col.stored",
            "cli.summary.merged",
            "cli.summary.quarantined",
            "cli.col.seconds",
        ),
        rows,
    )
    console.print(
        t(
            "cli.demo.reused" if report["reused"] else "cli.demo.built",
            seconds=report["seconds_total"],
            truth=report.get("truth"),
        )
    )


def register(app: typer.Typer) -> None:
    app.command("demo", help=both("cli.help.demo"))(demo_command)


__all__ = ["register", "run_demo"]
