"""Exact, memory-bounded DBSCAN on planar points: a grid of cells of side ``eps/√2``.

scikit-learn's DBSCAN first materialises every point's ε-neighbourhood, so memory grows with
the number of neighbour pairs: a dense cluster of 100,000 points within ε holds 10¹⁰ pairs and
exhausts any machine. This implementation never lists neighbourhoods. It follows the grid
approach of Gunawan (2013) and de Berg, Gunawan and Roeloffzen (2017):

1. Points are bucketed into square cells of side ``eps/√2``; any two points of one cell are
   closer than ``eps``. A point can only have neighbours in its own cell and the 20 cells
   around it (the 5×5 block without its corners).
2. **Core points.** Every point of a cell holding ``min_samples`` points or more is core. For
   the others, neighbours are counted cell by cell (a neighbour cell lying wholly inside the
   ε-disk counts whole), stopping as soon as ``min_samples`` is reached.
3. **Clusters.** The core points of one cell are mutually reachable, so union-find runs over
   *cells*: two neighbour cells are joined when some core point of one lies within ``eps`` of
   some core point of the other (a bounding-box filter first, then an early-exit scan).
4. **Labels** are numbered in the order of each cluster's lowest core-point index, and a border
   point takes the smallest label among the clusters with a core point within ``eps``.

Step 4 reproduces scikit-learn's ``dbscan_inner`` exactly, ties included: scikit-learn expands
clusters one at a time starting from the lowest-index unlabelled core point, and a border point
keeps the label of the first cluster that reaches it, which is the cluster with the smallest
label. So the labels equal scikit-learn's, not only up to a permutation. The one possible
difference is a pair at a distance within floating-point rounding of ``eps``: here the test is
``dx² + dy² <= eps²``.

Memory is O(n): a handful of arrays of one value per point and per occupied cell (about 60 bytes
per point). Work is done in chunks of cells so that a caller can report progress.

References
----------
Ester, M., Kriegel, H.-P., Sander, J. and Xu, X. (1996). A density-based algorithm for
discovering clusters in large spatial databases with noise. *KDD-96*, 226–231.
Gunawan, A. (2013). *A faster algorithm for DBSCAN*. Master's thesis, TU Eindhoven.
de Berg, M., Gunawan, A. and Roeloffzen, M. (2017). Faster DB-scan and HDB-scan in low-dimensional
Euclidean spaces. *ISAAC 2017*, 25:1–25:13.
"""

# numba kernels take their arrays positionally (njit has no keyword-only parameters).
# ruff: noqa: PLR0917

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
from numpy.typing import NDArray

import analysis._numba_cache  # noqa: F401  (sets numba's cache folder before numba loads)

__all__ = ["grid_dbscan"]

Progress = Callable[[int, int], None]

# The 20 neighbour offsets of a cell (5×5 block without the centre and the four corners).
_OFFSETS = np.array(
    [
        (dx, dy)
        for dx in range(-2, 3)
        for dy in range(-2, 3)
        if (dx, dy) != (0, 0) and not (abs(dx) == 2 and abs(dy) == 2)
    ],
    dtype=np.int64,
)
_CHUNK_CELLS = 20_000


@numba.njit(cache=True, nogil=True)
def _find_cell(keys, key):
    i = np.searchsorted(keys, key)
    if i < keys.shape[0] and keys[i] == key:
        return i
    return -1


@numba.njit(cache=True, nogil=True)
def _count_core(xs, ys, keys, start, ny, origin, offsets, eps, min_samples, c_from, c_to, core):
    eps2 = eps * eps
    # the whole-cell shortcut is taken only with a margin, so rounding never over-counts
    whole2 = eps2 * (1.0 - 1e-9)
    side = eps / np.sqrt(2.0)
    for c in range(c_from, c_to):
        lo, hi = start[c], start[c + 1]
        size = hi - lo
        if size >= min_samples:
            core[lo:hi] = True
            continue
        cx, cy = keys[c] // ny, keys[c] % ny
        for p in range(lo, hi):
            px, py = xs[p], ys[p]
            count = size
            for k in range(offsets.shape[0]):
                if count >= min_samples:
                    break
                nx, nyy = cx + offsets[k, 0], cy + offsets[k, 1]
                nb = _find_cell(keys, nx * ny + nyy)
                if nb < 0:
                    continue
                nlo, nhi = start[nb], start[nb + 1]
                x0 = origin[0] + nx * side
                y0 = origin[1] + nyy * side
                fx = max(abs(px - x0), abs(px - x0 - side))
                fy = max(abs(py - y0), abs(py - y0 - side))
                if fx * fx + fy * fy <= whole2:
                    count += nhi - nlo
                    continue
                for q in range(nlo, nhi):
                    dx, dy = xs[q] - px, ys[q] - py
                    if dx * dx + dy * dy <= eps2:
                        count += 1
                        if count >= min_samples:
                            break
            core[p] = count >= min_samples


@numba.njit(cache=True, nogil=True)
def _core_first(order, xs, ys, core, start, n_core, box):
    """Move each cell's core points to its front; record their count and bounding box."""
    for c in range(start.shape[0] - 1):
        lo, hi = start[c], start[c + 1]
        w = lo
        for p in range(lo, hi):
            if core[p]:
                if p != w:
                    order[p], order[w] = order[w], order[p]
                    xs[p], xs[w] = xs[w], xs[p]
                    ys[p], ys[w] = ys[w], ys[p]
                    core[p], core[w] = core[w], core[p]
                w += 1
        n_core[c] = w - lo
        if w > lo:
            box[c, 0] = xs[lo:w].min()
            box[c, 1] = ys[lo:w].min()
            box[c, 2] = xs[lo:w].max()
            box[c, 3] = ys[lo:w].max()


@numba.njit(cache=True, nogil=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True, nogil=True)
def _box_gap2(px, py, box, c):
    dx = max(box[c, 0] - px, 0.0, px - box[c, 2])
    dy = max(box[c, 1] - py, 0.0, py - box[c, 3])
    return dx * dx + dy * dy


@numba.njit(cache=True, nogil=True)
def _cells_touch(xs, ys, start, n_core, box, a, b, eps2):
    for p in range(start[a], start[a] + n_core[a]):
        if _box_gap2(xs[p], ys[p], box, b) > eps2:
            continue
        for q in range(start[b], start[b] + n_core[b]):
            dx, dy = xs[q] - xs[p], ys[q] - ys[p]
            if dx * dx + dy * dy <= eps2:
                return True
    return False


@numba.njit(cache=True, nogil=True)
def _merge_cells(xs, ys, keys, start, ny, offsets, eps, n_core, box, parent, c_from, c_to):
    eps2 = eps * eps
    for c in range(c_from, c_to):
        if n_core[c] == 0:
            continue
        cx, cy = keys[c] // ny, keys[c] % ny
        for k in range(offsets.shape[0]):
            nb = _find_cell(keys, (cx + offsets[k, 0]) * ny + cy + offsets[k, 1])
            if nb <= c or n_core[nb] == 0:  # each pair once
                continue
            ra, rb = _find(parent, c), _find(parent, nb)
            if ra == rb:
                continue
            if n_core[c] <= n_core[nb]:
                touch = _cells_touch(xs, ys, start, n_core, box, c, nb, eps2)
            else:
                touch = _cells_touch(xs, ys, start, n_core, box, nb, c, eps2)
            if touch:
                if ra < rb:
                    parent[rb] = ra
                else:
                    parent[ra] = rb


@numba.njit(cache=True, nogil=True)
def _cell_labels(parent, order, start, n_core, cell_label):
    """Number the clusters by their lowest core-point index, as scikit-learn's expansion does."""
    n_cells = n_core.shape[0]
    big = np.iinfo(np.int64).max
    low = np.full(n_cells, big, dtype=np.int64)
    root = np.full(n_cells, -1, dtype=np.int64)
    for c in range(n_cells):
        if n_core[c] == 0:
            continue
        r = _find(parent, c)
        root[c] = r
        m = order[start[c] : start[c] + n_core[c]].min()
        low[r] = min(low[r], m)
    roots = np.flatnonzero(low < big)
    rank = np.full(n_cells, -1, dtype=np.int64)
    by_low = np.argsort(low[roots], kind="mergesort")
    for k in range(by_low.shape[0]):
        rank[roots[by_low[k]]] = k
    for c in range(n_cells):
        if root[c] >= 0:
            cell_label[c] = rank[root[c]]
    return roots.shape[0]


@numba.njit(cache=True, nogil=True)
def _label_border(
    xs, ys, keys, start, ny, offsets, eps, n_core, box, cell_label, c_from, c_to, labels
):
    eps2 = eps * eps
    big = np.iinfo(np.int64).max
    for c in range(c_from, c_to):
        lo, hi = start[c], start[c + 1]
        own = cell_label[c] if n_core[c] > 0 else big
        for p in range(lo, lo + n_core[c]):
            labels[p] = own
        cx, cy = keys[c] // ny, keys[c] % ny
        for p in range(lo + n_core[c], hi):
            best = own
            for k in range(offsets.shape[0]):
                nb = _find_cell(keys, (cx + offsets[k, 0]) * ny + cy + offsets[k, 1])
                if nb < 0 or n_core[nb] == 0 or cell_label[nb] >= best:
                    continue
                if _box_gap2(xs[p], ys[p], box, nb) > eps2:
                    continue
                for q in range(start[nb], start[nb] + n_core[nb]):
                    dx, dy = xs[q] - xs[p], ys[q] - ys[p]
                    if dx * dx + dy * dy <= eps2:
                        best = cell_label[nb]
                        break
            labels[p] = best if best != big else -1


def grid_dbscan(
    xy: NDArray[np.float64],
    *,
    eps: float,
    min_samples: int,
    progress: Progress | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """DBSCAN labels and core flags of planar points (see the module docstring).

    Parameters
    ----------
    xy
        ``(n, 2)`` finite coordinates in a metric CRS (metres).
    eps
        Neighbourhood radius in the units of ``xy``; a pair at distance ``<= eps`` are neighbours.
    min_samples
        Neighbours (the point itself included) that make a point core, as in scikit-learn.
    progress
        Called as ``progress(done, total)`` in work units (occupied cells, three passes).

    Returns
    -------
    labels, core
        ``labels[i]`` is the cluster of point ``i`` (0, 1, … in the order of each cluster's
        lowest core-point index, as scikit-learn numbers them) or -1 for noise; ``core[i]``
        says whether point ``i`` is a core point.
    """
    n = xy.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)
    side = eps / np.sqrt(2.0)
    # grid origin two cells below the data, so that neighbour offsets never wrap
    origin = xy.min(axis=0) - 2.0 * side
    ix = np.floor((xy[:, 0] - origin[0]) / side).astype(np.int64)
    iy = np.floor((xy[:, 1] - origin[1]) / side).astype(np.int64)
    ny = int(iy.max()) + 3
    key = ix * ny + iy
    del ix, iy
    order = np.argsort(key, kind="stable")
    key = key[order]
    keys, first = np.unique(key, return_index=True)
    del key
    start = np.append(first, n).astype(np.int64)
    xs = np.ascontiguousarray(xy[order, 0], dtype=np.float64)
    ys = np.ascontiguousarray(xy[order, 1], dtype=np.float64)
    n_cells = keys.shape[0]
    total = 3 * n_cells
    report = progress or (lambda _done, _total: None)
    report(0, total)
    chunks = [(c0, min(c0 + _CHUNK_CELLS, n_cells)) for c0 in range(0, n_cells, _CHUNK_CELLS)]

    core = np.zeros(n, dtype=np.bool_)
    for c0, c1 in chunks:
        _count_core(xs, ys, keys, start, ny, origin, _OFFSETS, eps, min_samples, c0, c1, core)
        report(c1, total)

    n_core = np.zeros(n_cells, dtype=np.int64)
    box = np.zeros((n_cells, 4), dtype=np.float64)
    _core_first(order, xs, ys, core, start, n_core, box)
    parent = np.arange(n_cells, dtype=np.int64)
    for c0, c1 in chunks:
        _merge_cells(xs, ys, keys, start, ny, _OFFSETS, eps, n_core, box, parent, c0, c1)
        report(n_cells + c1, total)

    cell_label = np.full(n_cells, -1, dtype=np.int64)
    _cell_labels(parent, order, start, n_core, cell_label)
    sorted_labels = np.empty(n, dtype=np.int64)
    for c0, c1 in chunks:
        _label_border(
            xs, ys, keys, start, ny, _OFFSETS, eps, n_core, box, cell_label, c0, c1, sorted_labels
        )
        report(2 * n_cells + c1, total)

    labels = np.empty(n, dtype=np.int64)
    labels[order] = sorted_labels
    core_out = np.empty(n, dtype=bool)
    core_out[order] = core
    return labels, core_out
