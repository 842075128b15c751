"""Data shaping for the 热点 Hotspots page: analysis options, the background work of a run,
earlier runs, hot-spot cells and clusters as GeoJSON, the run log, the hour × weekday table
and the near-repeat (Knox) table.

Run objects and frames from the derived layers (:func:`layers.read_run`,
:func:`layers.read_hotspot_cells`, :func:`layers.read_clusters`, :func:`layers.list_runs`)
come in; JSON-ready structures go out. The pure functions are unit-tested without a
database; the ``load_*`` functions and :func:`analysis_work` read and write, always with an
area scope. Geometries are sent as stored (EPSG:4490 by default), rounded to 6 decimals.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

import layers
from analysis.emerging import PATTERNS
from analysis.near_repeat import band_labels
from dashboard._analysis_data import category_name, clean, date_text, number_text, scope_of
from dashboard._data import database, feature_collection
from gis.messages import Language, t

GI_BIN_COLOURS = {
    3: "#d62f27",
    2: "#ed7551",
    1: "#fab984",
    0: "#f2f0e6",
    -1: "#c0ccbe",
    -2: "#849eba",
    -3: "#4575b5",
}
"""Gi_Bin → colour, ArcGIS's hot-spot ramp (hot reds, cold blues, a pale not-significant)."""

PATTERN_COLOURS = {
    "new_hot": "#fdd49e",
    "consecutive_hot": "#fdbb84",
    "intensifying_hot": "#b30000",
    "persistent_hot": "#e34a33",
    "diminishing_hot": "#fc8d59",
    "sporadic_hot": "#f768a1",
    "oscillating_hot": "#c51b8a",
    "historical_hot": "#bcbddc",
    "new_cold": "#c6dbef",
    "consecutive_cold": "#9ecae1",
    "intensifying_cold": "#08519c",
    "persistent_cold": "#3182bd",
    "diminishing_cold": "#6baed6",
    "sporadic_cold": "#a1d99b",
    "oscillating_cold": "#41ab5d",
    "historical_cold": "#d9d9d9",
    "no_pattern": "#f2f0e6",
}
"""Emerging hot-spot category → colour: warm for hot, cool for cold, pale for no pattern."""

JOB_FOLDER = Path(tempfile.gettempdir()) / "pingan-analysis-jobs"
"""Where the state files of the analysis jobs go (seen by every gunicorn worker)."""

RUN_KINDS = ("hotspots", "emerging")
"""Runs whose cells the hotspots page draws."""


# -- 热点 Hotspots ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisOptions:
    """What the hotspots page asks for; the keywords of the ``layers.refresh_*`` calls.

    ``method``: ``gi`` (Gi* at a chosen unit), ``optimized`` (the scale chosen from the data)
    or ``emerging`` (space-time categories over the 12 months ending at ``end``). ``start``
    and ``end`` are local dates, both included (as ``layers.refresh_hotspots`` reads a date
    ``end``).
    """

    area: str = ""
    start: str | None = None
    end: str | None = None
    categories: tuple[str, ...] | None = None
    method: str = "gi"
    unit: str = "grid"
    resolution: int = 9
    cell_size_m: float | None = None
    alpha: float = 0.05

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "categories": list(self.categories) if self.categories else None,
        }


def parse_analysis(
    township: str | None,
    village: str | None,
    start: str | None,
    end: str | None,
    categories: Iterable[str] | None,
    *,
    method: str | None,
    unit: str | None,
    resolution: Any = None,
    cell_size_m: Any = None,
    alpha: Any = None,
) -> AnalysisOptions:
    """The page's control values as :class:`AnalysisOptions` (the picked end day included)."""
    chosen = tuple(c for c in (categories or ()) if c)
    cell = float(cell_size_m) if cell_size_m not in (None, "") else None
    return AnalysisOptions(
        area=scope_of(township, village),
        start=start[:10] if start else None,
        end=end[:10] if end else None,
        categories=chosen or None,
        method=method if method in ("gi", "optimized", "emerging") else "gi",
        unit=unit if unit in ("grid", "h3", "fishnet") else "grid",
        resolution=int(resolution) if resolution not in (None, "") else 9,
        cell_size_m=cell if cell and cell > 0 else None,
        alpha=float(alpha) if alpha not in (None, "") else 0.05,
    )


Progress = Callable[[str, float], None]


def analysis_work(options: AnalysisOptions, db: Any = None) -> Callable[[Progress], dict[str, Any]]:
    """The background work of one analysis: the hot spots (or emerging categories), then
    the clusters, the hour × weekday profile and the near-repeat table for the same area,
    period and categories. Returns ``{kind: run id}``."""

    def work(progress: Progress) -> dict[str, Any]:
        db_ = db or database()
        common = {
            "area": options.area or None,
            "categories": list(options.categories) if options.categories else None,
            "db": db_,
        }
        period = {"start": options.start, "end": options.end}
        runs: dict[str, Any] = {}
        progress(t("dashboard.hotspots.stage_hotspots"), 0.05)
        if options.method == "emerging":
            run = layers.refresh_emerging(
                end=options.end,
                unit=options.unit,
                resolution=options.resolution,
                cell_size_m=options.cell_size_m,
                **common,
            )
            runs["emerging"] = run.id
        else:
            run = layers.refresh_hotspots(
                unit=options.unit,
                resolution=options.resolution,
                cell_size_m=options.cell_size_m,
                optimized=options.method == "optimized",
                alpha=options.alpha,
                **period,
                **common,
            )
            runs["hotspots"] = run.id
        runs["cells"] = run.id

        def cluster_progress(done: int, total: int) -> None:
            fraction = done / total if total else 0.0
            progress(t("dashboard.hotspots.stage_clusters"), 0.45 + 0.2 * fraction)

        progress(t("dashboard.hotspots.stage_clusters"), 0.45)
        runs["clusters"] = layers.refresh_clusters(progress=cluster_progress, **period, **common).id
        progress(t("dashboard.hotspots.stage_profile"), 0.7)
        runs["profile"] = layers.refresh_profile(**period, **common).id
        progress(t("dashboard.hotspots.stage_near_repeat"), 0.8)
        runs["near_repeat"] = layers.refresh_near_repeat(**period, **common).id
        return runs

    return work


def _period_text(start: Any, end: Any) -> str:
    start, end = date_text(start), date_text(end)
    if not start and not end:
        return "—"
    return f"{start or '…'} – {end or '…'}"


def run_label(run: Mapping[str, Any], *, language: Language) -> str:
    """``#12 热点 · 2026-01-01 – 2026-04-01 · 990101001``."""
    kind = t(f"dashboard.hotspots.kind_{run.get('kind')}", language=language)
    area = run.get("area_code") or t("dashboard.analysis.whole_county", language=language)
    period = _period_text(run.get("period_from"), run.get("period_to"))
    return f"#{run['id']} {kind} · {period} · {area}"


def run_options(runs: pd.DataFrame, *, language: Language) -> list[dict[str, Any]]:
    """Dropdown options of the earlier runs that have cells, newest first."""
    if runs.empty:
        return []
    frame = runs[runs["kind"].isin(RUN_KINDS)].sort_values("id", ascending=False)
    return [
        {"label": run_label(r, language=language), "value": int(r["id"])}
        for r in frame.to_dict("records")
    ]


def companion_runs(runs: pd.DataFrame, chosen: Mapping[str, Any]) -> dict[str, int]:
    """For a chosen hot-spot run, the clusters, profile and near-repeat runs made for the same
    area, period and categories (the latest of each kind that is not older than it, else
    the latest older one); ``{kind: id}``."""
    if runs.empty:
        return {}
    key = (
        chosen.get("area_code") or "",
        date_text(chosen.get("period_from")),
        date_text(chosen.get("period_to")),
    )
    out: dict[str, int] = {}
    for kind in ("clusters", "profile", "near_repeat"):
        same = [
            r
            for r in runs[runs["kind"] == kind].to_dict("records")
            if (
                r.get("area_code") or "",
                date_text(r.get("period_from")),
                date_text(r.get("period_to")),
            )
            == key
            and sorted(r.get("categories") or []) == sorted(chosen.get("categories") or [])
        ]
        if not same:
            continue
        later = [r for r in same if int(r["id"]) > int(chosen["id"])]
        pick = (
            min(later, key=lambda r: int(r["id"]))
            if later
            else max(same, key=lambda r: int(r["id"]))
        )
        out[kind] = int(pick["id"])
    return out


def _bin_of(value: Any) -> int:
    value = clean(value)
    return 0 if value is None else int(value)


def cell_features(cells: gpd.GeoDataFrame, *, kind: str, language: Language) -> dict[str, Any]:
    """Hot-spot cells as GeoJSON with ``cell_id``, ``count``, ``z``, ``p``, ``bin`` and
    ``pattern``, the ``colour`` to draw (by Gi_Bin, or by emerging category for an
    ``emerging`` run) and a ``tooltip``. Not-significant cells are drawn pale, never hidden."""
    frame = cells.copy()
    if frame.empty:
        return feature_collection(frame)
    bins = [_bin_of(b) for b in frame["bin"]]
    frame["bin"] = bins
    if kind == "emerging":
        patterns = [str(clean(p) or "no_pattern") for p in frame["pattern"]]
        frame["colour"] = [PATTERN_COLOURS.get(p, PATTERN_COLOURS["no_pattern"]) for p in patterns]
        frame["tooltip"] = [
            f"{c} · {t(f'emerging.pattern.{p}', language=language)}"
            for c, p in zip(frame["cell_id"], patterns, strict=True)
        ]
    else:
        frame["colour"] = [GI_BIN_COLOURS.get(b, GI_BIN_COLOURS[0]) for b in bins]
        frame["tooltip"] = [
            f"{c} · n={number_text(n, 1)} · z={number_text(z)} · {bin_label(b, language=language)}"
            for c, n, z, b in zip(frame["cell_id"], frame["count"], frame["z"], bins, strict=True)
        ]
    return feature_collection(
        frame, ["cell_id", "count", "z", "p", "bin", "pattern", "colour", "tooltip"]
    )


def bin_label(value: int, *, language: Language) -> str:
    """``热点 (99%)``, ``冷点 (95%)``, ``不显著``."""
    if value == 0:
        return t("dashboard.hotspots.bin_none", language=language)
    confidence = {1: 90, 2: 95, 3: 99}[min(abs(value), 3)]
    key = "dashboard.hotspots.bin_hot" if value > 0 else "dashboard.hotspots.bin_cold"
    return t(key, language=language, confidence=confidence)


def cell_legend(cells: pd.DataFrame, *, kind: str, language: Language) -> list[tuple[str, str]]:
    """``(colour, label)`` rows with the number of cells of each class present (and, for
    Gi*, every bin, so the ramp reads the same on every run)."""
    if kind == "emerging":
        counts = cells["pattern"].fillna("no_pattern").value_counts() if len(cells) else pd.Series()
        names = [PATTERNS[c] for c in sorted(PATTERNS, key=lambda c: (c <= 0, abs(c) if c else 99))]
        return [
            (
                PATTERN_COLOURS[n],
                f"{t(f'emerging.pattern.{n}', language=language)} ({int(counts[n])})",
            )
            for n in names
            if n in counts.index
        ]
    bins = pd.Series([_bin_of(b) for b in cells["bin"]]) if len(cells) else pd.Series(dtype=int)
    counts = bins.value_counts()
    return [
        (GI_BIN_COLOURS[b], f"{bin_label(b, language=language)} ({int(counts.get(b, 0))})")
        for b in (3, 2, 1, 0, -1, -2, -3)
    ]


def cluster_features(clusters: gpd.GeoDataFrame, *, language: Language) -> dict[str, Any]:
    """Cluster polygons with ``cluster_id``, ``n``, the dominant category and a ``tooltip``."""
    frame = clusters.copy()
    if frame.empty:
        return feature_collection(frame)
    dominant = []
    for value in frame["categories"]:
        cats = value if isinstance(value, Mapping) else {}
        dominant.append(max(cats.items(), key=lambda kv: kv[1])[0] if cats else "")
    frame["dominant"] = dominant
    frame["tooltip"] = [
        t(
            "dashboard.hotspots.cluster_tip",
            language=language,
            id=i,
            n=int(n),
            category=category_name(d, language=language) if d else "—",
        )
        for i, n, d in zip(frame["cluster_id"], frame["n"], dominant, strict=True)
    ]
    return feature_collection(frame, ["cluster_id", "n", "dominant", "tooltip"])


def log_lines(log: Sequence[Mapping[str, Any]] | None, *, language: Language) -> list[str]:
    """A run's log in ``language`` (each entry has ``zh`` and ``en``)."""
    return [str(e.get(language) or e.get("zh") or "") for e in (log or [])]


def profile_table(result: Mapping[str, Any] | None) -> list[list[float]] | None:
    """The 7 × 24 table of a profile run (row 0 = Monday, column h = h:00–h+1:00), or
    ``None`` when the run holds none."""
    if not result:
        return None
    table = result.get("table")
    if table is None:
        return None
    rows = [[float(clean(v) or 0.0) for v in row] for row in table]
    if len(rows) != 7 or any(len(r) != 24 for r in rows):
        return None
    return rows


def profile_figure(table: list[list[float]], *, language: Language) -> dict[str, Any]:
    """A plotly heatmap (as a dict) of the hour × weekday table, Monday on top."""
    days = [t(f"profile.weekday_{d}", language=language) for d in range(7)]
    return {
        "data": [
            {
                "type": "heatmap",
                "z": table,
                "x": [f"{h:02d}" for h in range(24)],
                "y": days,
                "colorscale": "YlOrRd",
                "reversescale": True,  # plotly's YlOrRd runs from red; few incidents are pale
                "xgap": 1,
                "ygap": 1,
                "colorbar": {"thickness": 10, "len": 0.9, "tickfont": {"size": 9}},
                "hovertemplate": "%{y} %{x}:00 · %{z:.1f}<extra></extra>",
            }
        ],
        "layout": {
            "height": 230,
            "margin": {"l": 44, "r": 8, "t": 6, "b": 28},
            "yaxis": {"autorange": "reversed", "tickfont": {"size": 10}},
            "xaxis": {"tickfont": {"size": 9}, "dtick": 2},
            "plot_bgcolor": "#ffffff",
            "paper_bgcolor": "rgba(0,0,0,0)",
            "font": {"family": "Noto Sans CJK SC, sans-serif", "size": 10},
        },
    }


def peak_text(result: Mapping[str, Any] | None, *, language: Language) -> str | None:
    """The profile run's peak bands in words, if it stored them."""
    if not result:
        return None
    text = result.get(f"describe_{language}") or result.get("describe")
    if isinstance(text, Mapping):
        text = text.get(language) or text.get("zh")
    return str(text) if text else None


@dataclass(frozen=True)
class KnoxTable:
    """The near-repeat table ready to draw: band labels, and per cell the observed pairs,
    the Knox ratio, p and whether it is significant."""

    distance_labels: list[str]
    time_labels: list[str]
    cells: list[list[dict[str, Any]]]
    distance_short: list[str]
    time_short: list[str]
    permutations: int | None
    n_incidents: int | None


def knox_table(
    result: Mapping[str, Any] | None,
    *,
    language: Language,
    permutations: int | None = None,
    n_incidents: int | None = None,
    alpha: float = 0.05,
) -> KnoxTable | None:
    """The Knox table of a near-repeat run's ``result`` (``observed``, ``expected``,
    ``ratio``, ``p`` as distance × time lists, and the band edges in metres and days), or
    ``None``. A cell is significant when ``p <= alpha`` and its ratio is above 1."""
    if not result or "ratio" not in result:
        return None
    d_edges = result.get("distance_edges_m") or []
    t_edges = result.get("time_edges_days") or []
    d_labels = (
        band_labels(d_edges, unit="m", language=language)
        if d_edges
        else [str(i) for i in range(len(result["ratio"]))]
    )
    t_labels = (
        band_labels(t_edges, unit="days", language=language)
        if t_edges
        else [str(i) for i in range(len(result["ratio"][0]))]
    )
    cells = []
    for i, row in enumerate(result["ratio"]):
        out = []
        for j, value in enumerate(row):
            ratio = clean(value)
            p = clean(result.get("p", [[None]])[i][j]) if result.get("p") else None
            observed = clean(result["observed"][i][j]) if result.get("observed") else None
            significant = (
                ratio is not None and p is not None and float(p) <= alpha and float(ratio) > 1
            )
            out.append({"ratio": ratio, "p": p, "observed": observed, "significant": significant})
        cells.append(out)
    return KnoxTable(
        distance_labels=d_labels,
        time_labels=t_labels,
        cells=cells,
        distance_short=(
            short_bands(d_edges, unit=t("near_repeat.unit_m", language=language))
            if d_edges
            else d_labels
        ),
        time_short=(
            short_bands(t_edges, unit=t("near_repeat.unit_days", language=language))
            if t_edges
            else t_labels
        ),
        permutations=permutations,
        n_incidents=n_incidents,
    )


def short_bands(edges: Sequence[float], *, unit: str) -> list[str]:
    """Compact band headers, ``0–100 m``, …, ``≥500 m`` (each band holds its lower edge and
    not its upper one; the full wording is :func:`analysis.near_repeat.band_labels`)."""
    values = [float(e) for e in edges]
    out = [f"{lo:g}–{hi:g} {unit}" for lo, hi in itertools.pairwise(values)]
    return [*out, f"≥{values[-1]:g} {unit}"]


def ratio_colour(ratio: Any) -> str:
    """A cell colour for a Knox ratio: white at 1, reds above (full at 2), blues below."""
    ratio = clean(ratio)
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "#ffffff"
    r = float(ratio)
    if r >= 1:
        k = min(1.0, (r - 1.0))
        return _mix("#ffffff", "#de2d26", k)
    return _mix("#ffffff", "#3182bd", min(1.0, (1.0 - r) * 2))


def _mix(a: str, b: str, k: float) -> str:
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * k):02x}" for x, y in zip(ca, cb, strict=True))


# -- reading (the only functions that touch the database) --------------------------------


def load_runs(area: str, db: Any = None, *, limit: int = 100) -> pd.DataFrame:
    """The latest analysis runs of every kind in ``area`` (:func:`layers.list_runs`)."""
    return layers.list_runs(area=area or None, limit=limit, db=db or database())  # type: ignore[no-any-return]


def load_run(run_id: int, db: Any = None) -> Any:
    """One run with its parameters, log, summary and result (:func:`layers.read_run`)."""
    return layers.read_run(int(run_id), db=db or database())


def run_record(run: Any) -> dict[str, Any]:
    """The fields of an ``AnalysisRun`` that :func:`run_label` and :func:`companion_runs`
    read."""
    return {
        "id": run.id,
        "kind": run.kind,
        "area_code": run.area_code,
        "period_from": run.period_from,
        "period_to": run.period_to,
        "categories": list(run.categories or []),
    }


def load_cells(run_id: int, db: Any = None) -> gpd.GeoDataFrame:
    """The cells of a hot-spot or emerging run (:func:`layers.read_hotspot_cells`)."""
    return layers.read_hotspot_cells(int(run_id), db=db or database())  # type: ignore[no-any-return]


def load_clusters(run_id: int, db: Any = None) -> gpd.GeoDataFrame:
    """The cluster polygons of a clusters run (:func:`layers.read_clusters`)."""
    return layers.read_clusters(int(run_id), db=db or database())  # type: ignore[no-any-return]
