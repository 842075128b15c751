"""``pingan analyze …``: run an analysis, store it as a derived layer, print and export it.

Every sub-command takes ``--area``, ``--from``/``--to`` (local dates; ``--to`` inclusive),
``--categories`` (codes or names, comma-separated, ``两抢一盗`` allowed), its method options,
``--json`` (the stored run, result included) and ``--out FILE`` (the run's cells, clusters,
key areas, grades or table; GeoPackage, GeoJSON, CSV or XLSX by the suffix).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import geopandas as gpd
import pandas as pd
import typer
from rich.table import Table

import layers
from gis.errors import ValidationError
from gis.messages import both, current_language, t
from gis.writers import write_table
from pingan._console import JsonOption, console, err_console, print_json, progress_bar, table

if TYPE_CHECKING:
    from layers.analyses import AnalysisRun

analyze_app = typer.Typer(help=both("analyze.help"), no_args_is_help=True)

AreaOption = Annotated[str | None, typer.Option("--area", help=both("cli.opt.area"))]
FromOption = Annotated[str | None, typer.Option("--from", help=both("analyze.opt.from"))]
ToOption = Annotated[str | None, typer.Option("--to", help=both("analyze.opt.to"))]
CategoriesOption = Annotated[
    str | None, typer.Option("--categories", help=both("analyze.opt.categories"))
]
OutOption = Annotated[Path | None, typer.Option("--out", help=both("analyze.opt.out"))]
UnitOption = Annotated[str, typer.Option("--unit", help=both("analyze.opt.unit"))]
ResolutionOption = Annotated[int, typer.Option("--resolution", help=both("analyze.opt.resolution"))]
CellOption = Annotated[
    float | None, typer.Option("--cell-size", help=both("analyze.opt.cell_size"))
]


def _list(text: str | None) -> list[str] | None:
    """A comma-separated option as a list (``None`` when empty)."""
    items = [part.strip() for part in (text or "").replace("，", ",").split(",") if part.strip()]
    return items or None


def _numbers(text: str, option: str) -> list[float]:
    try:
        return [float(v) for v in _list(text) or []]
    except ValueError:
        raise ValidationError("analyze.bad_numbers", option=option, value=text) from None


@contextmanager
def _working(kind: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for one run; yields ``progress(done, total)``."""
    with progress_bar("analyze.progress", kind=t(f"analyze.kind.{kind}")) as update:
        stage = t("analyze.stage_running")
        update(stage, 0.0)

        def progress(done: int, total: int) -> None:
            update(stage, done / total if total else 1.0)

        yield progress
        update(t("analyze.stage_stored"), 1.0)


def _for_file(frame: pd.DataFrame) -> pd.DataFrame:
    """Dict and list columns as JSON text, so every format can hold them."""
    out = frame.copy()
    for column in out.columns:
        if column == "geometry":
            continue
        values = out[column]
        if values.dtype == object and values.map(lambda v: isinstance(v, (dict, list))).any():
            out[column] = values.map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
            )
    return out


def _export(out: Path | None, frame: pd.DataFrame, layer: str, *, as_json: bool) -> None:
    """Write ``frame`` to ``out``; with ``--json`` the note goes to stderr, so stdout stays JSON."""
    if out is None:
        return
    written = write_table(_for_file(frame), out, layer=layer)
    (err_console if as_json else console).print(
        t("analyze.exported", rows=len(frame), path=written)
    )


def _report(run: AnalysisRun, as_json: bool, rows: list[tuple[str, Any]]) -> bool:
    """Print the run (JSON, or its headline table and log); ``True`` when JSON was printed."""
    if as_json:
        print_json(run.as_dict())
        return True
    language = current_language()
    head = [
        (t("analyze.row.run"), f"{run.id} ({t(f'analyze.kind.{run.kind}')})"),
        (t("analyze.row.area"), run.area_code or "*"),
    ]
    if run.period_from is not None and run.period_to is not None:
        last = pd.Timestamp(run.period_to) - pd.Timedelta(seconds=1)
        head.append(
            (
                t("analyze.row.period"),
                f"{pd.Timestamp(run.period_from).date()} – {last.date()}",
            )
        )
    table("analyze.summary_title", ("cli.col.item", "cli.col.value"), [*head, *rows])
    for line in run.log_text(language=language):
        console.print(f"[dim]· {line}[/]")
    return False


def _labelled_table(
    title_key: str, first_key: str, headers: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """A table whose first column header is a catalogue key and the others are labels."""
    out = Table(title=t(title_key))
    out.add_column(t(first_key))
    for label in headers:
        out.add_column(label, justify="right")
    for row in rows:
        out.add_row(*map(str, row))
    console.print(out)


@analyze_app.command("hotspots", help=both("analyze.help.hotspots"))
def hotspots_command(
    area: AreaOption = None,
    start: FromOption = None,
    end: ToOption = None,
    categories: CategoriesOption = None,
    unit: UnitOption = "grid",
    resolution: ResolutionOption = 9,
    cell_size: CellOption = None,
    band: Annotated[float | None, typer.Option("--band", help=both("analyze.opt.band"))] = None,
    optimized: Annotated[
        bool, typer.Option("--optimized", help=both("analyze.opt.optimized"))
    ] = False,
    alpha: Annotated[float, typer.Option("--alpha", help=both("analyze.opt.alpha"))] = 0.05,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    with _working("hotspots"):
        run = layers.refresh_hotspots(
            area=area,
            start=start,
            end=end,
            categories=_list(categories),
            unit=unit,
            resolution=resolution,
            cell_size_m=cell_size,
            band_m=band,
            optimized=optimized,
            alpha=alpha,
        )
    s = run.summary
    if not _report(
        run,
        as_json,
        [
            (t("analyze.row.unit"), s["unit"]),
            (t("analyze.row.cells"), s["cells"]),
            (t("analyze.row.hot"), s["hot"]),
            (t("analyze.row.cold"), s["cold"]),
        ],
    ):
        table(
            "analyze.top_cells_title",
            ("analyze.col.cell", "analyze.col.count", "analyze.col.z", "analyze.col.bin"),
            [(c["cell_id"], f"{c['count']:g}", f"{c['z']:.2f}", c["bin"]) for c in s["top"]],
        )
    _export(out, layers.read_hotspot_cells(run.id), "hotspot_cells", as_json=as_json)


@analyze_app.command("emerging", help=both("analyze.help.emerging"))
def emerging_command(
    area: AreaOption = None,
    end: ToOption = None,
    categories: CategoriesOption = None,
    steps: Annotated[int, typer.Option("--steps", help=both("analyze.opt.steps"))] = 12,
    step: Annotated[str, typer.Option("--step", help=both("analyze.opt.step"))] = "month",
    unit: UnitOption = "h3",
    resolution: ResolutionOption = 9,
    cell_size: CellOption = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    with _working("emerging"):
        run = layers.refresh_emerging(
            area=area,
            end=end,
            steps=steps,
            step=step,
            categories=_list(categories),
            unit=unit,
            resolution=resolution,
            cell_size_m=cell_size,
        )
    s = run.summary
    if not _report(
        run, as_json, [(t("analyze.row.cells"), s["cells"]), (t("analyze.row.steps"), s["steps"])]
    ):
        table(
            "analyze.patterns_title",
            ("analyze.col.pattern", "analyze.col.cells"),
            [(t(f"emerging.pattern.{name}"), n) for name, n in s["patterns"].items()],
        )
    _export(out, layers.read_hotspot_cells(run.id), "emerging_cells", as_json=as_json)


@analyze_app.command("clusters", help=both("analyze.help.clusters"))
def clusters_command(
    area: AreaOption = None,
    start: FromOption = None,
    end: ToOption = None,
    categories: CategoriesOption = None,
    method: Annotated[str, typer.Option("--method", help=both("analyze.opt.method"))] = "dbscan",
    eps: Annotated[float, typer.Option("--eps", help=both("analyze.opt.eps"))] = 150.0,
    min_samples: Annotated[
        int, typer.Option("--min-samples", help=both("analyze.opt.min_samples"))
    ] = 10,
    min_cluster_size: Annotated[
        int | None, typer.Option("--min-cluster-size", help=both("analyze.opt.min_cluster_size"))
    ] = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    with _working("clusters") as progress:
        run = layers.refresh_clusters(
            area=area,
            start=start,
            end=end,
            categories=_list(categories),
            method=method,
            eps_m=eps,
            min_samples=min_samples,
            min_cluster_size=min_cluster_size,
            progress=progress,
        )
    s = run.summary
    clusters = layers.read_clusters(run.id)
    if not _report(
        run,
        as_json,
        [
            (t("analyze.row.clusters"), s["clusters"]),
            (t("analyze.row.clustered"), f"{s['clustered']} / {s['incidents']}"),
        ],
    ):
        top = clusters.sort_values("n", ascending=False).head(10)
        table(
            "analyze.clusters_title",
            (
                "analyze.col.cluster",
                "analyze.col.count",
                "analyze.col.categories",
                "analyze.col.peak",
            ),
            [
                (
                    r.cluster_id,
                    r.n,
                    ", ".join(f"{k} {v}" for k, v in r.categories.items()),
                    _peak(r.profile),
                )
                for r in top.itertuples()
            ],
        )
    _export(out, clusters, "clusters", as_json=as_json)


def _peak(profile: dict[str, Any]) -> str:
    hour, day = profile.get("peak_hour"), profile.get("peak_weekday")
    if hour is None or day is None:
        return ""
    return t("analyze.peak", day=t(f"analyze.weekday.{int(day)}"), hour=f"{int(hour):02d}")


@analyze_app.command("near-repeat", help=both("analyze.help.near_repeat"))
def near_repeat_command(
    area: AreaOption = None,
    start: FromOption = None,
    end: ToOption = None,
    categories: CategoriesOption = None,
    distance_bands: Annotated[
        str, typer.Option("--distance-bands", help=both("analyze.opt.distance_bands"))
    ] = "0,100,200,300,400,500",
    time_bands: Annotated[
        str, typer.Option("--time-bands", help=both("analyze.opt.time_bands"))
    ] = "0,7,14,21,28,35",
    permutations: Annotated[
        int, typer.Option("--permutations", help=both("analyze.opt.permutations"))
    ] = 99,
    seed: Annotated[int, typer.Option("--seed", help=both("analyze.opt.seed"))] = 0,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    with _working("near_repeat"):
        run = layers.refresh_near_repeat(
            area=area,
            start=start,
            end=end,
            categories=_list(categories),
            distance_bands_m=_numbers(distance_bands, "--distance-bands"),
            time_bands_days=_numbers(time_bands, "--time-bands"),
            permutations=permutations,
            seed=seed,
        )
    frame = _knox_frame(run)
    s = run.summary
    if not _report(
        run,
        as_json,
        [
            (t("analyze.row.incidents"), s["incidents"]),
            (t("analyze.row.significant"), len(s["significant"])),
            (t("analyze.row.p_floor"), f"{s['p_floor']:.3g}"),
        ],
    ):
        assert run.result is not None
        language = current_language()
        rows = []
        for i, label in enumerate(run.result["distance_labels"][language]):
            cells = []
            for j in range(len(run.result["time_labels"][language])):
                ratio, p = run.result["ratio"][i][j], run.result["p"][i][j]
                mark = "*" if run.result["significant"][i][j] else ""
                cells.append("-" if ratio is None else f"{ratio:.2f}{mark} (p={p:.2f})")
            rows.append((label, *cells))
        _labelled_table(
            "analyze.knox_title",
            "analyze.col.distance",
            run.result["time_labels"][language],
            rows,
        )
    _export(out, frame, "near_repeat", as_json=as_json)


def _knox_frame(run: AnalysisRun) -> pd.DataFrame:
    """The Knox table as long rows: one per distance band × time band."""
    assert run.result is not None
    r = run.result
    language = current_language()
    rows = []
    for i, d_label in enumerate(r["distance_labels"][language]):
        for j, t_label in enumerate(r["time_labels"][language]):
            rows.append(
                {
                    "distance_band": d_label,
                    "time_band": t_label,
                    "observed": r["observed"][i][j],
                    "expected": r["expected"][i][j],
                    "ratio": r["ratio"][i][j],
                    "p": r["p"][i][j],
                    "significant": r["significant"][i][j],
                }
            )
    return pd.DataFrame(rows)


@analyze_app.command("profile", help=both("analyze.help.profile"))
def profile_command(
    area: AreaOption = None,
    start: FromOption = None,
    end: ToOption = None,
    categories: CategoriesOption = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    with _working("profile"):
        run = layers.refresh_profile(area=area, start=start, end=end, categories=_list(categories))
    assert run.result is not None
    language = current_language()
    days = [t(f"analyze.weekday.{d}") for d in range(7)]
    frame = pd.DataFrame(run.result["table"], index=days, columns=[f"{h:02d}" for h in range(24)])
    if not _report(
        run,
        as_json,
        [
            (t("analyze.row.incidents"), run.summary["incidents"]),
            (t("analyze.row.peaks"), run.result["describe"][language]),
        ],
    ):
        _labelled_table(
            "analyze.profile_title",
            "analyze.col.day",
            [f"{h:02d}" for h in range(24)],
            [
                (day, *(f"{v:.0f}" for v in row))
                for day, row in zip(days, run.result["table"], strict=True)
            ],
        )
    _export(out, frame.reset_index(names="weekday"), "profile", as_json=as_json)


@analyze_app.command("key-areas", help=both("analyze.help.key_areas"))
def key_areas_command(
    area: AreaOption = None,
    start: FromOption = None,
    end: ToOption = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    with _working("key_areas"):
        run = layers.refresh_key_areas(area=area, start=start, end=end)
    register = layers.read_key_areas(area=area)
    s = run.summary
    if not _report(
        run,
        as_json,
        [
            (t("analyze.row.found"), s["found"]),
            (t("analyze.row.new"), s.get("inserted", 0)),
            (t("analyze.row.updated"), s.get("updated", 0)),
        ],
    ):
        language = current_language()
        table(
            "analyze.key_areas_title",
            (
                "analyze.col.id",
                "analyze.col.rule",
                "analyze.col.name",
                "analyze.col.status",
                "analyze.col.reason",
            ),
            [
                (
                    r.id,
                    r.rule,
                    r.name or "",
                    t(f"analyze.status.{r.status}") + (t("analyze.overdue") if r.overdue else ""),
                    r.reason_zh if language == "zh" else r.reason_en,
                )
                for r in register.itertuples()
            ],
        )
    _export(out, register, "key_areas", as_json=as_json)


@analyze_app.command("risk", help=both("analyze.help.risk"))
def risk_command(
    area: AreaOption = None,
    months: Annotated[str | None, typer.Option("--months", help=both("analyze.opt.months"))] = None,
    start: FromOption = None,
    end: ToOption = None,
    hotspot_run: Annotated[
        int | None, typer.Option("--hotspot-run", help=both("analyze.opt.hotspot_run"))
    ] = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    chosen = _list(months)
    if chosen is None and (start or end):
        if not (start and end):
            raise ValidationError("analyze.risk_needs_both")
        chosen = [str(p) for p in pd.period_range(start[:7], end[:7], freq="M")]
    with _working("risk"):
        run = layers.refresh_risk(area=area, months=chosen, hotspot_run=hotspot_run)
    s = run.summary
    last = s["months"][-1]
    if not _report(
        run,
        as_json,
        [
            (t("analyze.row.months"), f"{s['months'][0]} – {last}"),
            *[(t(f"analyze.level.{lvl}"), n) for lvl, n in s["units"].items()],
        ],
    ):
        grades = ("blue", "yellow", "orange", "red")
        table(
            "analyze.grades_title",
            ("analyze.col.level", *[f"analyze.grade.{g}" for g in grades]),
            [
                (t(f"analyze.level.{lvl}"), *(counts.get(g, 0) for g in grades))
                for lvl, counts in s["grades"].items()
            ],
        )
    if out is not None:
        frames = [
            layers.read_risk_grades(area=area, month=m, level=lvl)
            for m in run.params["months"]
            for lvl in s["units"]
        ]
        _export(
            out,
            gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs),
            "risk_grades",
            as_json=as_json,
        )


@analyze_app.command("backtest", help=both("analyze.help.backtest"))
def backtest_command(
    area: AreaOption = None,
    end: ToOption = None,
    categories: CategoriesOption = None,
    windows: Annotated[int, typer.Option("--windows", help=both("analyze.opt.windows"))] = 6,
    unit: UnitOption = "grid",
    resolution: ResolutionOption = 9,
    cell_size: CellOption = None,
    methods: Annotated[
        str | None, typer.Option("--methods", help=both("analyze.opt.methods"))
    ] = None,
    as_json: JsonOption = False,
    out: OutOption = None,
) -> None:
    with _working("backtest") as progress:
        run = layers.run_backtest(
            area=area,
            end=end,
            windows=windows,
            unit=unit,
            methods=_list(methods),
            categories=_list(categories),
            resolution=resolution,
            cell_size_m=cell_size,
            progress=progress,
        )
    assert run.result is not None
    s = run.summary
    if not _report(
        run,
        as_json,
        [
            (t("analyze.row.windows"), f"{s['first_month']} – {s['last_month']}"),
            (t("analyze.row.cells"), s["cells"]),
        ],
    ):
        console.print(run.result["table"][current_language()])
    _export(out, pd.DataFrame(run.result["windows"]), "backtest", as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(analyze_app, name="analyze")


__all__ = ["analyze_app", "register"]
