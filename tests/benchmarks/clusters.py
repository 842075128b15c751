"""Clustering benchmark: our exact grid DBSCAN and fast_hdbscan against scikit-learn.

Every run is a fresh subprocess (``python -m tests.benchmarks.clusters worker …``) so that its
peak memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own; the time is that of the
clustering call alone, with the numba code already compiled or loaded from its cache (a warm-up
call runs first). The data: a million points in a 30 km square, half spread uniformly and half
in two dense clusters (σ = 30 m and σ = 300 m), as a county's incidents pile up at a market and
in a town centre; eps = 50 m, min_samples = 10.

scikit-learn's DBSCAN lists every point's neighbourhood, which the dense cluster makes
enormous: at a million points it is run under an address-space limit (``resource.setrlimit``,
:data:`SKLEARN_MEMORY_LIMIT_GB`) and a time limit, and the failure is reported; the comparison is
then made at the largest subsample it survives. scikit-learn's HDBSCAN is compared at 100,000
points; ours also runs alone at a million.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

SKLEARN_MEMORY_LIMIT_GB = 4.0
SKLEARN_TIMEOUT_S = 120.0
EPS_M = 50.0
MIN_SAMPLES = 10


def points(n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` points (metres) of the benchmark's layout; a prefix of the million-point set."""
    rng = np.random.default_rng(seed)
    big = 1_000_000
    xy = np.concatenate(
        [
            rng.uniform(0, 30_000, (big // 2, 2)),
            rng.normal(12_000, 30, (big // 4, 2)),
            rng.normal(20_000, 300, (big // 4, 2)),
        ]
    )
    return xy[rng.permutation(big)[:n]] if n < big else xy


def _worker(algo: str, n: int, limit_gb: float) -> None:
    if limit_gb > 0:
        cap = int(limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    xy = points(n)
    if algo == "ours_dbscan":
        from analysis.clusters import dbscan_labels, warm_up

        warm_up()
        run: Any = lambda: dbscan_labels(xy, eps_m=EPS_M, min_samples=MIN_SAMPLES)[0]  # noqa: E731
    elif algo == "sklearn_dbscan":
        from sklearn.cluster import DBSCAN

        run = lambda: DBSCAN(eps=EPS_M, min_samples=MIN_SAMPLES).fit(xy).labels_  # noqa: E731
    elif algo == "ours_hdbscan":
        from analysis.clusters import hdbscan_labels, warm_up

        warm_up()
        run = lambda: hdbscan_labels(xy, min_cluster_size=50, min_samples=MIN_SAMPLES)[0]  # noqa: E731
    else:
        from sklearn.cluster import HDBSCAN

        run = lambda: HDBSCAN(min_cluster_size=50, min_samples=MIN_SAMPLES).fit(xy).labels_  # noqa: E731
    began = time.perf_counter()
    try:
        labels = run()
    except MemoryError:
        print(json.dumps({"error": "MemoryError"}))
        return
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    clusters = int(np.max(labels)) + 1 if len(labels) else 0
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "clusters": clusters}))


def measure(algo: str, n: int, *, limit_gb: float = 0.0, timeout: float | None = None) -> dict:
    """Run one clustering in a subprocess; ``{"seconds", "peak_mb", "clusters"}`` or ``error``."""
    cmd = [sys.executable, "-m", "tests.benchmarks.clusters", "worker", algo, str(n), str(limit_gb)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail[:120]}"}
    return json.loads(lines[-1])


def run(n: int = 1_000_000) -> dict[str, Any]:
    """Every measurement of the benchmark."""
    out: dict[str, Any] = {"n": n}
    out["ours_dbscan"] = measure("ours_dbscan", n)
    out["sklearn_dbscan"] = measure(
        "sklearn_dbscan", n, limit_gb=SKLEARN_MEMORY_LIMIT_GB, timeout=SKLEARN_TIMEOUT_S
    )
    if "error" in out["sklearn_dbscan"]:
        for size in (n // 10, n // 20):
            got = measure(
                "sklearn_dbscan", size, limit_gb=SKLEARN_MEMORY_LIMIT_GB, timeout=SKLEARN_TIMEOUT_S
            )
            if "error" not in got:
                out["survived"] = size
                out["sklearn_dbscan_small"] = got
                out["ours_dbscan_small"] = measure("ours_dbscan", size)
                break
    small = min(n, 100_000)
    out["hdbscan_n"] = small
    out["ours_hdbscan_small"] = measure("ours_hdbscan", small)
    out["sklearn_hdbscan_small"] = measure("sklearn_hdbscan", small, timeout=600)
    out["ours_hdbscan"] = measure("ours_hdbscan", n)
    return out


def _fmt(m: dict) -> str:
    if "error" in m:
        return f"failed ({m['error']})"
    return f"{m['seconds']:.2f} s, peak {m['peak_mb']:.0f} MB, {m['clusters']} clusters"


def _ratio(ours: dict, peer: dict) -> str:
    if "error" in ours or "error" in peer:
        return "n/a"
    return (
        f"sklearn/ours: time {peer['seconds'] / ours['seconds']:.1f}x, "
        f"peak memory {peer['peak_mb'] / ours['peak_mb']:.1f}x"
    )


def report(result: dict[str, Any]) -> None:
    """Print the measurements and the ratios to scikit-learn."""
    n = result["n"]
    print(f"clusters: DBSCAN eps={EPS_M:g} m, min_samples={MIN_SAMPLES} (peak = process maxrss)")
    print(f"  ours    DBSCAN  n={n:,}: {_fmt(result['ours_dbscan'])}")
    sk = result["sklearn_dbscan"]
    limit = f"{SKLEARN_MEMORY_LIMIT_GB:g} GB address-space limit, {SKLEARN_TIMEOUT_S:g} s"
    print(f"  sklearn DBSCAN  n={n:,} ({limit}): {_fmt(sk)}")
    if "error" not in sk:
        print(f"  ratio at n={n:,}: {_ratio(result['ours_dbscan'], sk)}")
    elif "survived" in result:
        size = result["survived"]
        ours_s, peer_s = result["ours_dbscan_small"], result["sklearn_dbscan_small"]
        print(f"  sklearn DBSCAN  n={size:,} (largest it survived): {_fmt(peer_s)}")
        print(f"  ours    DBSCAN  n={size:,}: {_fmt(ours_s)}")
        print(f"  ratio at n={size:,}: {_ratio(ours_s, peer_s)}")
    else:
        print("  sklearn DBSCAN failed at every size tried")
    h = result["hdbscan_n"]
    print(f"  ours    HDBSCAN n={h:,}: {_fmt(result['ours_hdbscan_small'])}")
    print(f"  sklearn HDBSCAN n={h:,}: {_fmt(result['sklearn_hdbscan_small'])}")
    ours_h, peer_h = result["ours_hdbscan_small"], result["sklearn_hdbscan_small"]
    print(f"  ratio at n={h:,}: {_ratio(ours_h, peer_h)}")
    print(f"  ours    HDBSCAN n={n:,}: {_fmt(result['ours_hdbscan'])}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        _worker(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    report(run(n))


if __name__ == "__main__":
    main()
