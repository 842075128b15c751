"""Emerging hot spots on 100,000 cells × 52 weeks (target: under 15 s).

Ours: :func:`analysis.cube.space_time_cube` from 1,000,000 incidents, then
:func:`analysis.emerging.emerging_hot_spots` (space-time Gi* with one previous week, FDR over
all 5.2 million bins, Mann–Kendall on the z and count series of every cell, the 17 patterns).
The peer, measured in the same run: the straightforward way, one location at a time in
Python (``scipy.stats.kendalltau`` for the trend and the rules as per-series functions, as
sfdep and PyEhsa do), timed on a sample of cells and scaled to 100,000; the space-time Gi*
is shared, so the ratio is about the trend and classification stage.

Run with ``make bench`` or ``uv run python -m tests.benchmarks.emerging``.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from analysis.cube import space_time_cube
from analysis.emerging import emerging_hot_spots
from tests.benchmarks._common import stopwatch


def grid_weights(nx: int, ny: int) -> sp.csr_array:
    """Queen contiguity of an ``nx × ny`` grid, the focal cell included (binary)."""
    idx = np.arange(nx * ny).reshape(nx, ny)
    rows, cols = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            a = idx[max(dx, 0) : nx + min(dx, 0), max(dy, 0) : ny + min(dy, 0)]
            b = idx[max(-dx, 0) : nx + min(-dx, 0), max(-dy, 0) : ny + min(-dy, 0)]
            rows.append(a.ravel())
            cols.append(b.ravel())
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_array((np.ones(r.size), (r, c)), shape=(nx * ny, nx * ny))


def synthetic_incidents(n_cells: int, n: int, seed: int) -> tuple[np.ndarray, pd.Series]:
    """Incidents over a year: a smooth risk surface plus one emerging area."""
    rng = np.random.default_rng(seed)
    risk = rng.gamma(0.5, 1.0, n_cells)
    cells = rng.choice(n_cells, n, p=risk / risk.sum())
    start = pd.Timestamp("2025-11-01", tz="Asia/Shanghai")
    days = rng.uniform(0, 365, n)
    late = cells < 2000  # an area that heats up over the last quarter
    days[late] = rng.uniform(270, 365, late.sum())
    return cells, pd.Series(start + pd.to_timedelta(days, unit="D"))


def _peer_location(z_row: np.ndarray, hot_row: np.ndarray, cold_row: np.ndarray) -> str:
    tau = stats.kendalltau(np.arange(z_row.size), z_row)
    n = z_row.size
    nh, nc = int(hot_row.sum()), int(cold_row.sum())
    if hot_row[-1] and 10 * nh >= 9 * n:
        if tau.pvalue < 0.05:
            return "intensifying" if tau.statistic > 0 else "diminishing"
        return "persistent"
    if hot_row[-1]:
        if nc:
            return "oscillating"
        return "new" if nh == 1 else "sporadic"
    return "historical" if 10 * nh >= 9 * n else "none"


def run(*, n_cells: int = 100_000, steps: int = 52, incidents: int = 1_000_000, sample: int = 2000):
    nx = int(np.sqrt(n_cells))
    ny = n_cells // nx
    n_cells = nx * ny
    cells, times = synthetic_incidents(n_cells, incidents, seed=1)
    weights = grid_weights(nx, ny)
    with stopwatch() as cube_time:
        cube = space_time_cube(
            cells, times, end="2026-10-31", step="week", steps=steps, cells=np.arange(n_cells)
        )
    with stopwatch() as ours:
        result = emerging_hot_spots(cube, weights, time_step_window=1)
    pick = np.random.default_rng(2).choice(n_cells, sample, replace=False)
    z = np.nan_to_num(result.z)
    with stopwatch() as peer:
        for k in pick:
            _peer_location(z[k], result.hot[k], result.cold[k])
    return {
        "cells": n_cells,
        "steps": steps,
        "incidents": incidents,
        "cube_s": cube_time["seconds"],
        "emerging_s": ours["seconds"],
        "peer_s": peer["seconds"] * n_cells / sample,
        "sample": sample,
        "summary": result.summary(),
    }


def report(r: dict) -> None:
    total = r["cube_s"] + r["emerging_s"]
    print(
        f"emerging hot spots, {r['cells']:,} cells × {r['steps']} weeks "
        f"({r['incidents']:,} incidents):"
    )
    print(
        f"  cube {r['cube_s']:.2f} s + analysis {r['emerging_s']:.2f} s = {total:.2f} s "
        f"(target < 15 s: {'ok' if total < 15 else 'MISSED'})"
    )
    print(
        f"  per-location loop (trend + rules only), {r['sample']:,} cells scaled to all: "
        f"{r['peer_s']:.1f} s; ratio {r['peer_s'] / r['emerging_s']:.1f}× in favour of ours"
    )
    print(f"  patterns: {r['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=52)
    args = parser.parse_args()
    report(run(n_cells=args.cells, steps=args.steps))


if __name__ == "__main__":
    main()
