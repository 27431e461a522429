"""The sample bounds against an independent oracle: the MSM weight problem solved as a linear programme.

On m draws y of Y | x, t with nominal propensity e_t, the MSM allows inverse
complete-propensity weights w_i in [alpha, beta] (alpha = 1/(Λ e_t) + 1 - 1/Λ,
beta = Λ/e_t + 1 - Λ). The ratio (Kallus) bound is max sum(w y) / sum(w); the
sharp bound adds the normalisation mean(w) = 1/e_t and is e_t * mean(w y).
The first is linear-fractional (Charnes-Cooper turns it into an LP); the
second is an LP. Neither solver shares code with the sorting estimators.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from knowable.bounds import msm


def _weight_range(e_t: float, lam: float) -> tuple[float, float]:
    return 1 / (lam * e_t) + 1 - 1 / lam, lam / e_t + 1 - lam


def _lp_sharp(y: np.ndarray, e_t: float, lam: float, sign: float) -> float:
    m = len(y)
    lo, hi = _weight_range(e_t, lam)
    res = linprog(
        -sign * y / m,
        A_eq=np.full((1, m), 1 / m),
        b_eq=[1 / e_t],
        bounds=[(lo, hi)] * m,
        method="highs",
    )
    assert res.success
    return float(e_t * (y @ res.x) / m)


def _lp_ratio(y: np.ndarray, e_t: float, lam: float, sign: float) -> float:
    # variables (v, s) with v = s w, sum v = 1, lo s <= v <= hi s
    m = len(y)
    lo, hi = _weight_range(e_t, lam)
    eye = np.eye(m)
    a_ub = np.block([[eye, -hi * np.ones((m, 1))], [-eye, lo * np.ones((m, 1))]])
    res = linprog(
        np.append(-sign * y, 0.0),
        A_ub=a_ub,
        b_ub=np.zeros(2 * m),
        A_eq=np.append(np.ones(m), 0.0)[None],
        b_eq=[1.0],
        bounds=[(0, None)] * (m + 1),
        method="highs",
    )
    assert res.success
    return float(y @ res.x[:m])


def _cases(n: int = 40):
    rng = np.random.default_rng(20261126)
    for case in range(n):
        m = int(rng.integers(2, 25))
        # every other case discrete, with ties
        y = rng.integers(0, 3, m).astype(float) if case % 2 else rng.standard_normal(m)
        e = float(rng.uniform(0.02, 0.98))
        lam = float(np.exp(rng.uniform(0.0, 3.0)))
        arm = int(rng.integers(0, 2))
        yield y, e, lam, arm


@pytest.mark.parametrize("side", ["upper", "lower"])
def test_sample_bounds_equal_the_linear_programme(side: str) -> None:
    sign = 1.0 if side == "upper" else -1.0
    for y, e, lam, arm in _cases():
        e_t = e if arm == 1 else 1 - e
        sharp = float(msm.sharp_bound_from_samples(y, e, lam, side, arm=arm))
        ratio = float(msm.bound_from_samples(y, e, lam, side, arm=arm))
        assert sharp == pytest.approx(_lp_sharp(y, e_t, lam, sign), abs=1e-9)
        assert ratio == pytest.approx(_lp_ratio(y, e_t, lam, sign), abs=1e-9)
