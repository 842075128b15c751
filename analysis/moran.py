"""Global Moran's I with its analytic moments, and an optional seeded permutation test.

For values ``x`` with deviations ``z = x - x̄`` and weights ``W`` (row-standardised by default,
as GeoDa and ``esda.Moran`` use them) ::

    I = n / S0 · (zᵀ W z) / (zᵀ z),          E[I] = -1 / (n - 1)

with ``S0 = Σ_ij w_ij``. The variance under the normality assumption (Cliff and Ord 1981) is ::

    V_N[I] = (n² S1 - n S2 + 3 S0²) / ((n² - 1) S0²) - E[I]²

with ``S1 = ½ Σ_ij (w_ij + w_ji)²`` and ``S2 = Σ_i (Σ_j w_ij + Σ_j w_ji)²``; the randomisation
variance ``V_R[I]`` also uses the sample kurtosis. ``z = (I - E[I]) / sqrt(V)`` and p is
two-sided. These equal ``esda.Moran``'s ``I``, ``EI``, ``VI_norm``/``z_norm`` and
``VI_rand``/``z_rand``.

Reference figure: Columbus ``CRIME`` with queen contiguity, row-standardised, gives
I = 0.500189, E[I] = -0.020833, z_norm = 5.6303 (GeoDa, PySAL).

References
----------
Moran, P. A. P. (1950). Notes on continuous stochastic phenomena. *Biometrika* 37, 17–23.
Cliff, A. D. and Ord, J. K. (1981). *Spatial Processes: Models and Applications*. Pion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from analysis._significance import check_values, two_sided_p
from analysis.weights import SpatialWeights
from gis.errors import ValidationError

__all__ = ["MoranResult", "moran"]

_PERMUTATION_CHUNK_VALUES = 4_000_000  # values per block of permutations, about 32 MB


@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I of one variable under one set of weights.

    Attributes
    ----------
    i
        Moran's I (dimensionless; about −1 … 1 for row-standardised weights).
    expected
        E[I] = −1 / (n − 1).
    variance_norm, z_norm, p_norm
        Variance, z-score and two-sided p-value under the normality assumption.
    variance_rand, z_rand, p_rand
        The same under the randomisation assumption.
    n
        Number of units.
    s0
        Sum of all weights.
    permutations
        Number of random permutations run (0: none).
    p_sim
        Pseudo p-value ``(extreme + 1) / (permutations + 1)`` of the one-sided test in the
        direction of the observed I (esda's convention), or ``None``.
    seed
        The seed of the permutations, or ``None``.
    """

    i: float
    expected: float
    variance_norm: float
    z_norm: float
    p_norm: float
    variance_rand: float
    z_rand: float
    p_rand: float
    n: int
    s0: float
    permutations: int = 0
    p_sim: float | None = None
    seed: int | None = None


def _matrix(weights: SpatialWeights | sp.csr_array | sp.csr_matrix) -> sp.csr_array:
    if isinstance(weights, SpatialWeights):
        return weights.sparse
    return sp.csr_array(weights, dtype=np.float64)


def moran(
    values: ArrayLike,
    weights: SpatialWeights | sp.csr_array | sp.csr_matrix,
    *,
    permutations: int = 0,
    seed: int | None = None,
) -> MoranResult:
    """Global Moran's I with analytic z under normality and randomisation.

    Parameters
    ----------
    values
        One finite value per unit, shape ``(n,)``.
    weights
        :class:`analysis.weights.SpatialWeights` or a sparse ``(n, n)`` matrix, used as given:
        build them with ``transform="R"`` for the classic (GeoDa, esda default) statistic and
        without the focal unit.
    permutations
        Number of random permutations for a pseudo p-value (0: none, the default; the
        analytic z is the project's default test).
    seed
        Seed of the permutations (required with ``permutations > 0`` so runs repeat).

    Returns
    -------
    MoranResult

    Raises
    ------
    gis.errors.ValidationError
        Fewer than 4 units, non-finite or constant values, mismatched weights, or
        permutations without a seed.
    """
    x = check_values(values, minimum=4)
    w = _matrix(weights)
    n = x.size
    if w.shape != (n, n):
        raise ValidationError("analysis.weights_shape", shape=tuple(w.shape), expected=(n, n))
    if permutations and seed is None:
        raise ValidationError("analysis.permutations_need_seed", permutations=permutations)

    z = x - x.mean()
    zz = float(z @ z)
    s0 = float(w.sum())
    i = n / s0 * float(z @ (w @ z)) / zz
    expected = -1.0 / (n - 1)

    wt = w.T.tocsr()
    sym = w + wt
    s1 = 0.5 * float((sym.multiply(sym)).sum())
    row = np.asarray(w.sum(axis=1)).ravel()
    col = np.asarray(w.sum(axis=0)).ravel()
    s2 = float(((row + col) ** 2).sum())
    n2 = n * n
    variance_norm = (n2 * s1 - n * s2 + 3 * s0 * s0) / ((n2 - 1) * s0 * s0) - expected**2
    kurtosis = n * float((z**4).sum()) / zz**2
    variance_rand = (
        n * ((n2 - 3 * n + 3) * s1 - n * s2 + 3 * s0**2)
        - kurtosis * ((n2 - n) * s1 - 2 * n * s2 + 6 * s0**2)
    ) / ((n - 1) * (n - 2) * (n - 3) * s0**2) - expected**2
    z_norm = (i - expected) / np.sqrt(variance_norm)
    z_rand = (i - expected) / np.sqrt(variance_rand)

    p_sim = None
    if permutations:
        simulated = _permuted_i(z, w, permutations=permutations, seed=int(seed or 0), s0=s0)
        above = int((simulated >= i).sum())
        extreme = min(above, permutations - above)
        p_sim = (extreme + 1) / (permutations + 1)
    return MoranResult(
        i=i,
        expected=expected,
        variance_norm=float(variance_norm),
        z_norm=float(z_norm),
        p_norm=float(two_sided_p(z_norm)),
        variance_rand=float(variance_rand),
        z_rand=float(z_rand),
        p_rand=float(two_sided_p(z_rand)),
        n=n,
        s0=s0,
        permutations=int(permutations),
        p_sim=p_sim,
        seed=seed if permutations else None,
    )


def _permuted_i(
    z: NDArray[np.float64], w: sp.csr_array, *, permutations: int, seed: int, s0: float
) -> NDArray[np.float64]:
    """Moran's I of ``permutations`` random orderings of ``z``, in blocks that bound memory."""
    rng = np.random.default_rng(seed)
    n = z.size
    zz = float(z @ z)
    out = np.empty(permutations)
    block = max(1, _PERMUTATION_CHUNK_VALUES // n)
    for start in range(0, permutations, block):
        stop = min(start + block, permutations)
        shuffled = rng.permuted(np.broadcast_to(z, (stop - start, n)), axis=1).T  # (n, b)
        lag = w @ shuffled
        out[start:stop] = n / s0 * np.einsum("ij,ij->j", shuffled, lag) / zz
    return out
