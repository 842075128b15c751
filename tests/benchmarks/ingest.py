"""Ingest benchmark: 1,000,000 incidents from CSV into PostGIS with grid and H3 assignment.

Ours: ``layers.import_file("incidents", csv)`` end to end (read, validate, deduplicate, assign
village, grid and H3 cells, binary COPY, index builds, commit), with its time per phase and the
machine's load average next to it. The peer, measured in the same run
on the same server, does the same assignment work: geopandas ``read_csv`` → ``points_from_xy`` →
``sjoin`` with the grids → H3 cells at resolutions 7, 9 and 10 (the same vectorised h3ronpy call
ours makes) → ``to_postgis`` (which also builds the GiST index geoalchemy2 declares). It does not
validate, deduplicate, keep an idempotency key or build the btree indexes, so the ratio is
conservative. Also measured: a binary COPY of the points alone into an unindexed table, the
ceiling of any loader on this machine.

Each way runs in a fresh Python process of its own (with the C allocator set as ``pingan``
sets it), timed from the start of its work to its end, as a user's command would run it. The
two ways take turns, ``--repeat`` times (3 by default; the incident tables are emptied before
each of ours), and the medians are compared: on a shared virtual machine one run of either
way can be off by several tenths of a second.

Run with ``make bench`` (all benchmarks) or ``uv run python -m tests.benchmarks.ingest --rows N``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from psycopg import sql
from sqlalchemy import create_engine

from gis._allocator import keep_freed_memory
from gis.db import open_database
from gis.h3cells import points_to_cell_columns
from gis.settings import Settings
from layers import import_file, import_frame, read
from layers._store import copy_frame, ewkb
from layers.demo import build_demo_county
from tests.benchmarks._common import in_fresh_process, scratch_database, stopwatch


def write_incident_csv(path: Path, *, rows: int, seed: int) -> None:
    """A ledger-like CSV (Chinese headers) of the demo county's incidents, ``rows`` long."""
    county = build_demo_county(seed=seed, incidents=rows)
    inc = county.incidents.iloc[:rows]
    frame = pd.DataFrame(
        {
            "警情编号": inc["source_id"].to_numpy(),
            "案件类别": inc["category"].to_numpy(),
            "发案时间": inc["occurred_from"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            "结束时间": inc["occurred_to"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            "发案地址": inc["address"].to_numpy(),
            "经度": np.round(inc.geometry.x.to_numpy(), 7),
            "纬度": np.round(inc.geometry.y.to_numpy(), 7),
        }
    )
    frame.to_csv(path, index=False)


def ours(path: Path, conninfo: str) -> dict[str, Any]:
    """Our way, ``layers.import_file``: seconds, and the import's counts and phases."""
    keep_freed_memory()
    db = open_database(Settings(database_url=conninfo, pool_min=1, pool_max=2))
    try:
        with stopwatch() as watch:
            summary = import_file("incidents", path, db=db)
    finally:
        db.close()
    return {
        "seconds": watch["seconds"],
        "inserted": summary.inserted,
        "quarantined": summary.quarantined,
        "phases": summary.phases,
    }


def peer_geopandas(path: Path, grids: gpd.GeoDataFrame, url: str) -> float:
    """The peer way: read_csv → sjoin → to_postgis; returns seconds."""
    keep_freed_memory()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with stopwatch() as watch:
        frame = pd.read_csv(path)
        points = gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(frame["经度"], frame["纬度"]), crs=grids.crs
        )
        joined = gpd.sjoin(
            points, grids[["code", "village_code", "geometry"]], how="left", predicate="within"
        )
        joined = joined.drop(columns="index_right").rename(columns={"code": "grid_code"})
        for name, cells in points_to_cell_columns(joined["经度"], joined["纬度"]).items():
            joined[name] = cells
        joined.to_postgis("incident_peer", engine, if_exists="replace", index=False)
    engine.dispose()
    return watch["seconds"]


def peer_indexes(db: Any) -> list[str]:
    """The indexes ``to_postgis`` left on the peer's table (geoalchemy2 declares a GiST one)."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'incident_peer' ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def copy_points_only(db: Any, path: Path) -> float:
    """The ceiling: binary COPY of (id, point) rows into an ordinary (logged, unindexed) table,
    with no parsing, checks or assignment."""
    frame = pd.read_csv(path, usecols=["经度", "纬度"])
    geoms = gpd.points_from_xy(frame["经度"], frame["纬度"])
    data = {"id": np.arange(len(frame), dtype=np.int64), "geom": ewkb(geoms, db.storage_srid)}
    with db.connection() as conn, stopwatch() as watch:
        conn.execute(
            sql.SQL("CREATE TABLE points_only (id bigint, geom geometry(Point, {}))").format(
                sql.Literal(int(db.storage_srid))
            )
        )
        conn.commit()
        copy_frame(conn, "points_only", (("id", "int8"), ("geom", "bytea")), data, len(frame))
        conn.commit()
    return watch["seconds"]


def run(
    rows: int, *, repeat: int = 3, seed: int = 20261031, workdir: Path | None = None
) -> dict[str, Any]:
    allocator = keep_freed_memory()  # as `pingan` does (and each way's process, and this one)
    workdir = workdir or Path("/tmp/pingan-bench-data")
    workdir.mkdir(parents=True, exist_ok=True)
    csv_path = workdir / f"incidents_{rows}.csv"
    if not csv_path.exists():
        write_incident_csv(csv_path, rows=rows, seed=seed)
    with scratch_database(name="bench_ingest") as (db, cluster):
        county = build_demo_county(seed=seed, incidents=1000)
        for layer in ("admin_units", "grids"):
            import_frame(layer, getattr(county, layer), source="demo", db=db)
        grids = read("grids", db=db)
        url = db.conninfo if "://" in db.conninfo else _url_from_conninfo(db.conninfo)
        load_before = os.getloadavg()[0]
        ours_runs: list[dict[str, Any]] = []
        peer_runs: list[float] = []
        for turn in range(max(1, repeat)):
            if turn:
                with db.connection() as conn:
                    conn.execute("TRUNCATE incident, incident_key")
            ours_runs.append(in_fresh_process(ours, csv_path, db.conninfo))
            if not turn:
                with db.connection() as conn:
                    assigned = conn.execute(
                        "SELECT count(*) FILTER (WHERE grid_code IS NOT NULL) FROM incident"
                    ).fetchone()
            peer_runs.append(in_fresh_process(peer_geopandas, csv_path, grids, url))
        load_after = os.getloadavg()[0]
        ours_run = sorted(ours_runs, key=lambda r: r["seconds"])[len(ours_runs) // 2]
        peer_s = float(np.median(peer_runs))
        indexes = peer_indexes(db)
        ceiling_s = copy_points_only(db, csv_path)
        settings = cluster.server_settings()
    result = {
        "rows": rows,
        "inserted": ours_run["inserted"],
        "quarantined": ours_run["quarantined"],
        "grid_assigned": int(assigned[0]),
        "ours_s": round(ours_run["seconds"], 2),
        "ours_rows_per_s": round(rows / ours_run["seconds"]),
        "peer_geopandas_s": round(peer_s, 2),
        "peer_rows_per_s": round(rows / peer_s),
        "ratio_vs_geopandas": round(peer_s / ours_run["seconds"], 2),
        "ours_runs_s": [round(r["seconds"], 2) for r in ours_runs],
        "peer_runs_s": [round(p, 2) for p in peer_runs],
        "copy_points_only_rows_per_s": round(rows / ceiling_s),
        "phases_s": ours_run["phases"],
        "load_average": [round(load_before, 1), round(load_after, 1)],
        "peer_indexes": indexes,
        "server_settings": settings,
        "allocator_tuned": allocator,
    }
    return result


def _url_from_conninfo(conninfo: str) -> str:
    """``host=/sock port=5 user=u dbname=d`` → ``postgresql://u@/d?host=/sock&port=5``."""
    parts = dict(item.split("=", 1) for item in conninfo.split())
    user, dbname = parts.get("user", ""), parts["dbname"]
    return f"postgresql://{user}@/{dbname}?host={parts['host']}&port={parts['port']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.rows, repeat=args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    report(result)


def _seconds(runs: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in runs) + " s"


def report(result: dict[str, Any]) -> None:
    """Print one result in the form ``make bench`` shows."""
    print(f"ingest {result['rows']:,} incidents (CSV → PostGIS, grid + H3 assignment)")
    print(
        f"  ours        {result['ours_s']:>8.2f} s  {result['ours_rows_per_s']:>10,} rows/s"
        f"  (median; runs {_seconds(result['ours_runs_s'])})"
    )
    print(
        f"  geopandas   {result['peer_geopandas_s']:>8.2f} s  "
        f"{result['peer_rows_per_s']:>10,} rows/s  (median; runs {_seconds(result['peer_runs_s'])})"
    )
    print(
        f"  ratio       {result['ratio_vs_geopandas']:>8.2f} x  of the medians "
        "(goal ≥ 3x; goal 250,000 rows/s)"
    )
    print(
        "  ceiling     binary COPY of points alone: "
        f"{result['copy_points_only_rows_per_s']:,} rows/s"
    )
    print(
        "  our phases  (median run) "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in result["phases_s"].items())
        + " s (keys: loaded on the server during rows)"
    )
    before, after = result["load_average"]
    print(f"  load average {before} before ours, {after} at the end (2 cores; shared machine)")
    print(
        f"  stored {result['inserted']:,}, quarantined {result['quarantined']:,}, "
        f"in a grid {result['grid_assigned']:,}"
    )
    print(f"  peer's table got {len(result['peer_indexes'])} index(es): {result['peer_indexes']}")
    print(
        "  server settings: " + ", ".join(f"{k}={v}" for k, v in result["server_settings"].items())
    )
    if result["allocator_tuned"]:
        print(
            "  each way in a fresh process; allocator: glibc mmap and trim thresholds 1 GiB, "
            "as `pingan` sets them"
        )


if __name__ == "__main__":
    main()
