"""Gi* benchmark: 100,000 cells, weights included, against esda's ``G_Local``.

Ours: ``analysis.weights.distance_band_weights(include_self=True)`` then
``analysis.gistar.gi_star`` (analytic z, p, FDR and Gi_Bin). The peer, in the same run on the
same cells: ``libpysal.weights.DistanceBand`` then ``esda.G_Local(star=True, transform='B')``,

- with ``permutations=0``: the same analytic work; the z-scores must be identical (to 1e-9);
- with ``permutations=999``: the way it is usually run (numba, all cores): its ratio is reported.

The cells are a 316 × 316 fishnet of 100 m squares (99,856 cells) with Poisson counts and a few
planted hot areas; the band is 150 m (8 neighbours plus the cell). A cold start (a fresh Python
process importing the modules, then building the weights and running Gi* once) is also timed:
there is no JIT compile on the request path, so the first call should take under 2 s. The import
time (numpy, scipy; no numba, no geopandas on this path) is printed apart.

Run with ``make bench`` or
``uv run python -m tests.benchmarks.gistar [--side N] [--no-permutations]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import warnings
from typing import Any

import numpy as np

from analysis.gistar import gi_star
from analysis.weights import distance_band_weights
from tests.benchmarks._common import stopwatch

BAND_M = 150.0
CELL_M = 100.0

_COLD = f"""
import time
t0 = time.perf_counter()
import numpy as np
from analysis.gistar import gi_star
from analysis.weights import distance_band_weights
t1 = time.perf_counter()
side = {{side}}
rows, cols = np.divmod(np.arange(side * side), side)
xy = np.column_stack([cols * {CELL_M}, rows * {CELL_M}])
counts = np.random.default_rng(1).poisson(2.0, side * side).astype(float)
w = distance_band_weights(xy, threshold_m={BAND_M}, include_self=True)
r = gi_star(counts, w.sparse)
print(t1 - t0, time.perf_counter() - t1)
"""


def cells(side: int, *, seed: int = 20261031) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres (metres) and counts: Poisson background and three planted hot areas."""
    rng = np.random.default_rng(seed)
    rows, cols = np.divmod(np.arange(side * side), side)
    xy = np.column_stack([cols * CELL_M, rows * CELL_M])
    rate = np.full(side * side, 2.0)
    for cx, cy in rng.uniform(0.2, 0.8, size=(3, 2)) * side * CELL_M:
        rate += 8.0 * np.exp(-((xy[:, 0] - cx) ** 2 + (xy[:, 1] - cy) ** 2) / (2 * 300.0**2))
    return xy, rng.poisson(rate).astype(float)


def _ours(xy: np.ndarray, counts: np.ndarray) -> np.ndarray:
    w = distance_band_weights(xy, threshold_m=BAND_M, include_self=True)
    return gi_star(counts, w.sparse).z


def _esda(xy: np.ndarray, counts: np.ndarray, *, permutations: int) -> np.ndarray:
    import esda
    import libpysal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.DistanceBand(xy, BAND_M, silence_warnings=True)
        g = esda.G_Local(counts, w, star=True, transform="B", permutations=permutations, seed=1)
    return np.asarray(g.Zs)


def _best_of(fn: Any, repeats: int) -> tuple[float, Any]:
    best, out = np.inf, None
    for _ in range(repeats):
        with stopwatch() as watch:
            out = fn()
        best = min(best, watch["seconds"])
    return best, out


def run(side: int = 316, *, permutations: bool = True) -> dict[str, Any]:
    """Time ours and esda on ``side × side`` cells; return the figures."""
    xy, counts = cells(side)
    _ours(xy[:1000], counts[:1000])  # warm the imports, as a server process would be
    ours_s, z = _best_of(lambda: _ours(xy, counts), 3)
    peer_s, z_peer = _best_of(lambda: _esda(xy, counts, permutations=0), 1)
    result: dict[str, Any] = {
        "cells": side * side,
        "ours_s": ours_s,
        "esda_analytic_s": peer_s,
        "ratio_analytic": peer_s / ours_s,
        "max_abs_z_difference": float(np.nanmax(np.abs(z - z_peer))),
    }
    if permutations:
        perm_s, _ = _best_of(lambda: _esda(xy, counts, permutations=999), 1)
        result["esda_999_s"] = perm_s
        result["ratio_999"] = perm_s / ours_s
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _COLD.replace("{side}", str(side))],
        capture_output=True,
        text=True,
        check=True,
    )
    result["cold_process_s"] = time.perf_counter() - start
    imports, first_call = out.stdout.strip().splitlines()[-1].split()
    result["cold_imports_s"], result["cold_first_call_s"] = float(imports), float(first_call)
    return result


def report(result: dict[str, Any]) -> None:
    """Print one result in the form ``make bench`` shows."""
    print(f"Gi* on {result['cells']:,} cells (distance band {BAND_M:.0f} m, weights included)")
    print(f"  ours               {result['ours_s']:>8.3f} s")
    print(f"  esda permutations=0 {result['esda_analytic_s']:>7.3f} s")
    print(
        f"  ratio              {result['ratio_analytic']:>8.1f} x  (goal ≥ 10x); "
        f"max |Δz| = {result['max_abs_z_difference']:.1e} (goal ≤ 1e-9)"
    )
    if "esda_999_s" in result:
        print(f"  esda 999 perms     {result['esda_999_s']:>8.2f} s")
        print(f"  ratio              {result['ratio_999']:>8.1f} x")
    print(
        f"  cold start         {result['cold_first_call_s']:>8.2f} s first call in a fresh process "
        f"(goal < 2 s, no JIT); imports {result['cold_imports_s']:.2f} s, "
        f"whole process {result['cold_process_s']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=316)
    parser.add_argument("--no-permutations", action="store_true")
    args = parser.parse_args()
    report(run(args.side, permutations=not args.no_permutations))


if __name__ == "__main__":
    main()
