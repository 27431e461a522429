"""B-Learner ATT/ATC bounds (issue 17, finding 1): closed form, double robustness, subsets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from knowable.bounds import BLearner

SIGMA0, SIGMA1 = 1.0, 2.0  # arm-specific noise: the ATT and ATC bounds then differ in width


def _simulate(n: int, seed: int):
    """No hidden confounding is generated; the truth is the sharp bound (Dorn & Guo)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 2))
    e = 1 / (1 + np.exp(-0.75 * x[:, 0]))
    t = (rng.uniform(size=n) < e).astype(int)
    mu0, mu1 = x[:, 0], x[:, 0] + 1 + x[:, 1]
    y = np.where(t == 1, mu1 + SIGMA1 * rng.normal(size=n), mu0 + SIGMA0 * rng.normal(size=n))
    return x, t, y, mu1 - mu0, e


def _excess(lam: float, sigma: float) -> float:
    """sup E[Y(a) | x, T = 1 − a] − μ_a(x) for a N(μ_a, σ²) arm: (1 − 1/Λ) σ φ(z_τ)/(1 − τ)."""
    tau = lam / (1 + lam)
    return (1 - 1 / lam) * sigma * stats.norm.pdf(stats.norm.ppf(tau)) / (1 - tau)


@pytest.fixture(scope="module")
def fitted():
    x, t, y, tau, e = _simulate(2000, 0)
    # the averages never use the final stage; a linear one keeps the CATE bounds cheap
    est = BLearner(final_model=LinearRegression(), cv=3, random_state=0).fit(x, t, y)
    return est, x, t, tau, e


def _close(bounds, i, lo, hi, slack=0.08):
    """Within 3 standard errors plus a small allowance for the nuisances' finite-sample bias."""
    lower, upper = np.atleast_1d(bounds.lower)[i], np.atleast_1d(bounds.upper)[i]
    lo_se, up_se = np.atleast_1d(bounds.lower_spread)[i], np.atleast_1d(bounds.upper_spread)[i]
    assert abs(lower - lo) < 3 * lo_se + slack, (lower, lo, lo_se)
    assert abs(upper - hi) < 3 * up_se + slack, (upper, hi, up_se)


def test_att_and_atc_bounds_match_the_closed_form(fitted):
    est, _, t, tau, _ = fitted
    treated = t == 1
    att, atc = tau[treated].mean(), tau[~treated].mean()
    for estimand, truth, sigma in (("att", att, SIGMA0), ("atc", atc, SIGMA1)):
        b = est.ate_bounds([1.0, 2.0], estimand=estimand)
        assert b.lower[0] == pytest.approx(b.upper[0], abs=1e-12)  # Λ = 1: the DR estimate
        _close(b, 0, truth, truth)
        # only the counterfactual arm is bounded: ATT by the control arm's tail (σ₀),
        # ATC by the treated arm's (σ₁)
        c = _excess(2.0, sigma)
        _close(b, 1, truth - c, truth + c)
        assert b.lower[1] < b.lower[0] < b.upper[1]


def test_att_bounds_are_not_the_cate_bounds_averaged_over_the_treated(fitted):
    """That average bounds E[τ(X) | T = 1] with both arms unobserved: wider, and not the ATT."""
    est, x, t, _, e = fitted
    treated = t == 1
    att = est.ate_bounds(2.0, estimand="att")
    cate = est.bounds(x[treated], 2.0)
    width_att = float(att.upper - att.lower)
    width_cate = float(cate.upper.mean() - cate.lower.mean())
    c0, c1 = _excess(2.0, SIGMA0), _excess(2.0, SIGMA1)
    assert width_att == pytest.approx(2 * c0, abs=0.15)
    expected_cate = 2 * np.mean(e[treated] * c0 + (1 - e[treated]) * c1)  # ψ⁺₁ − ψ⁻₀ − (ψ⁻₁ − ψ⁺₀)
    assert width_cate == pytest.approx(expected_cate, abs=0.2)
    assert width_cate - width_att > 0.3


def test_att_is_doubly_robust_to_a_constant_rho():
    """A wrong ρ̂ (a constant) with the right propensity: the e/(1−e) correction repairs it."""
    x, t, y, tau, _ = _simulate(2000, 1)
    est = BLearner(
        propensity_model=LogisticRegression(), cvar_model=DummyRegressor(), cv=3, random_state=0
    ).fit(x, t, y)
    truth = tau[t == 1].mean()
    c = _excess(2.0, SIGMA0)
    b = est.ate_bounds([1.0, 2.0], estimand="att")
    _close(b, 0, truth, truth, slack=0.1)
    _close(b, 1, truth - c, truth + c, slack=0.1)
    # the plug-in E[Y | T = 1] − mean of the constant ρ̂ over the treated is far off here:
    # the treated have larger x₀, so larger μ₀ than the controls the constant was fitted on
    plug_in = y[t == 1].mean() - y[t == 0].mean()
    assert abs(plug_in - truth) > 0.5


def test_subset_restricts_the_average(fitted):
    est, x, t, tau, _ = fitted
    keep = x[:, 1] > 0
    truth = tau[keep & (t == 1)].mean()
    b = est.ate_bounds(1.0, estimand="att", subset=keep)
    _close(b, 0, truth, truth)
    whole = est.ate_bounds(1.0, estimand="att")
    assert float(b.lower) - float(whole.lower) > 0.5  # the effect 1 + x₁ is larger there
    ate = est.ate_bounds(1.0, subset=keep)
    _close(ate, 0, tau[keep].mean(), tau[keep].mean())


def test_att_robustness_uses_the_att_bounds(fitted):
    est, *_ = fitted
    grid = np.exp(np.linspace(0.0, np.log(9.0), 3))  # 1, 3, 9
    rob_att = est.robustness(lam_max=9.0, n_grid=3, estimand="att")
    rob_ate = est.robustness(lam_max=9.0, n_grid=3)
    a = est.ate_bounds(grid, estimand="att")
    crossed = np.flatnonzero(a.lower <= 0)
    assert crossed.size  # the ATT (about 1) is explained away within the grid
    assert grid[crossed[0] - 1] <= rob_att.ate <= grid[crossed[0]]
    assert rob_att.ate != rob_ate.ate
    np.testing.assert_array_equal(rob_att.unit, rob_ate.unit)  # per unit: the CATE


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimand": "late"}, "estimand"),
        ({"subset": np.ones(5, dtype=bool)}, "boolean array of shape (2000,)"),
        ({"subset": np.ones(2000)}, "boolean array"),
        ({"subset": np.zeros(2000, dtype=bool)}, "selects no training unit"),
    ],
)
def test_bad_estimand_or_subset(fitted, kwargs, message):
    est, *_ = fitted
    with pytest.raises(ValueError, match="estimand" if message == "estimand" else None) as info:
        est.ate_bounds(1.0, **kwargs)
    assert message in str(info.value)


def test_att_needs_treated_units_in_the_subset(fitted):
    est, _, t, *_ = fitted
    with pytest.raises(ValueError, match="no treated unit"):
        est.ate_bounds(1.0, estimand="att", subset=t == 0)
    with pytest.raises(ValueError, match="no control unit"):
        est.ate_bounds(1.0, estimand="atc", subset=t == 1)
