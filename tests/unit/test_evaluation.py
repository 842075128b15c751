"""PAI, PEI, PEI*, hit rates and RRI on hand-built cells whose answers are worked out by hand.

The definitions are those of analysis/evaluation.py: Chainey, Tompson and Uhlig (2008) for PAI,
Hunt (2016) for PEI*, Levine (2008) for the RRI; tied or partly taken cells count in proportion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.evaluation import (
    CURVE_COVERAGES,
    evaluate,
    hit_rate,
    hit_rate_curve,
    pai,
    pei,
    pei_star,
    recapture_rate_index,
)
from gis.errors import ValidationError

OBSERVED = [5, 3, 2, 0]  # N = 10 incidents in four cells of equal area


def test_perfect_forecast() -> None:
    # the top quarter of the area is cell 0 with 5 of 10 incidents: hit 0.5, PAI 0.5 / 0.25 = 2
    scores = [4, 3, 2, 1]
    assert hit_rate(scores, OBSERVED, coverage=0.25) == pytest.approx(0.5)
    assert pai(scores, OBSERVED, coverage=0.25) == pytest.approx(2.0)
    assert pei(scores, OBSERVED, coverage=0.25) == pytest.approx(1.0)
    assert pei_star(scores, OBSERVED, coverage=0.25) == pytest.approx(1.0)
    # half the area: cells 0 and 1 hold 8 of 10
    assert pai(scores, OBSERVED, coverage=0.5) == pytest.approx(0.8 / 0.5)


def test_reversed_forecast() -> None:
    scores = [1, 2, 3, 4]  # ranks the empty cell first
    assert pai(scores, OBSERVED, coverage=0.25) == 0.0
    assert pei_star(scores, OBSERVED, coverage=0.25) == 0.0
    # half the area: cells 3 and 2 capture 2 incidents; the oracle captures 8 there
    result = evaluate(scores, OBSERVED, coverages=[0.5])
    assert result.at(0.5, "hit_rate") == pytest.approx(0.2)
    assert result.at(0.5, "pai") == pytest.approx(0.4)
    assert result.at(0.5, "pei") == pytest.approx(2 / 8)
    # the oracle needs 2/5 of its best cell (5 incidents) to capture 2: a* = 0.1 of the area,
    # so PEI* = a* / a = 0.1 / 0.5
    assert result.at(0.5, "pei_star") == pytest.approx(0.2)
    assert result.at(0.5, "cells_needed") == pytest.approx(0.4)


def test_ties_count_in_proportion() -> None:
    # four tied cells: a quarter of the area captures a quarter of the incidents, whatever
    # the order of the cells (the expected value of a random tie-break)
    assert pai([1, 1, 1, 1], [4, 0, 0, 0], coverage=0.25) == pytest.approx(1.0)
    assert pai([1, 1, 1, 1], [0, 0, 0, 4], coverage=0.25) == pytest.approx(1.0)
    # ties only below the top cell: cell 0 whole, then a third of the three tied cells
    assert hit_rate([9, 1, 1, 1], [2, 3, 0, 0], coverage=0.5) == pytest.approx((2 + 3 / 3) / 5)


def test_order_of_cells_does_not_matter() -> None:
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 4, 200).astype(float)
    observed = rng.poisson(1.0, 200)
    area = rng.uniform(1, 3, 200)
    perm = rng.permutation(200)
    a = evaluate(scores, observed, area=area, coverages=[0.01, 0.05, 0.2])
    b = evaluate(scores[perm], observed[perm], area=area[perm], coverages=[0.01, 0.05, 0.2])
    assert np.allclose(a.table.to_numpy(), b.table.to_numpy())
    assert np.allclose(a.curve.to_numpy(), b.curve.to_numpy())


def test_unequal_areas() -> None:
    # cell 0 of area 1 with 2 incidents, cell 1 of area 3 with 2; A = 4
    area = [1.0, 3.0]
    assert pai([2, 1], [2, 2], coverage=0.25, area=area) == pytest.approx(0.5 / 0.25)
    # half the area: cell 0 and a third of cell 1 (area 1 of its 3): n = 2 + 2/3
    assert hit_rate([2, 1], [2, 2], coverage=0.5, area=area) == pytest.approx((2 + 2 / 3) / 4)


def test_hit_rate_curve() -> None:
    rng = np.random.default_rng(3)
    observed = rng.poisson(0.5, 500)
    curve = hit_rate_curve(observed + rng.uniform(0, 0.1, 500), observed)
    assert list(curve.index) == list(CURVE_COVERAGES)
    assert len(curve) == 20
    assert (np.diff(curve.to_numpy()) >= -1e-12).all()
    # ranking by the observed counts themselves is the oracle: PEI 1 everywhere
    best = evaluate(observed.astype(float), observed, coverages=CURVE_COVERAGES)
    assert np.allclose(best.table["pei"], 1.0)
    assert np.allclose(best.table["pei_star"], 1.0)


def test_recapture_rate_index() -> None:
    before = [5, 3, 2, 0]
    # the top quarter (cell 0) held 5 of 10; next period it holds 2 of 10: (2/5) / (10/10)
    assert recapture_rate_index(before, before, [2, 2, 4, 2], coverage=0.25) == pytest.approx(0.4)
    # everything doubles: the hot spot keeps its share, RRI = 1
    assert recapture_rate_index(before, before, [10, 6, 4, 0], coverage=0.25) == pytest.approx(1.0)
    assert math.isnan(recapture_rate_index([1, 2], [0, 0], [1, 1], coverage=0.5))


def test_no_incidents_gives_nan() -> None:
    result = evaluate([1, 2, 3], [0, 0, 0])
    assert result.total == 0
    assert result.table[["hit_rate", "pai", "pei", "pei_star"]].isna().all().all()


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValidationError, match="NaN"):
        pai([1, np.nan], [1, 1], coverage=0.5)
    with pytest.raises(ValidationError, match="observed"):
        pai([1, 2, 3], [1, 1], coverage=0.5)
    with pytest.raises(ValidationError, match=r"0\.01"):
        pai([1, 2], [1, 1], coverage=0.0)
    with pytest.raises(ValidationError):
        pai([1, 2], [1, -1], coverage=0.5)
    with pytest.raises(ValidationError):
        pai([1, 2], [1, 1], coverage=0.5, area=[1, 0])
