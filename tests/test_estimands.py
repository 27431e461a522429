"""ATT and ATC as first-class estimands: CATE estimators and MSM bounds (with robustness)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from knowable.bounds import MSMBounds
from knowable.effects import TARNet
from knowable.models import GaussianNoise, Posterior

SIGMA = 0.5


def _m(x: np.ndarray, arm: int) -> np.ndarray:
    """True E[Y | x, T = arm] of the simulator below (no hidden confounding)."""
    return x[:, 0] + arm * (1.0 + 2.0 * x[:, 0])


def _simulate(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Treated units sit at large x, where the effect 1 + 2x is large: ATT > ATE."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1))
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * x[:, 0]))).astype(int)
    y = np.where(t == 1, _m(x, 1), _m(x, 0)) + SIGMA * rng.normal(size=n)
    return x, t, y


class OracleOutcome(BaseEstimator):
    """The true Gaussian density of Y | x for one arm (which arm is learned from the fit data)."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        x = np.asarray(X, float)
        resid = {arm: np.abs(y - _m(x, arm)).mean() for arm in (0, 1)}
        self.arm_ = min(resid, key=resid.get)
        return self

    def posterior(self, X):
        x = np.asarray(X, float)
        draws = np.stack([_m(x, self.arm_)[:, None]] * 2)  # two identical "members"
        return Posterior(draws, GaussianNoise(np.asarray(SIGMA)))


@pytest.fixture(scope="module")
def oracle_bounds():
    x, t, y = _simulate()
    est = MSMBounds(
        OracleOutcome(), LogisticRegression(), estimator="analytic", random_state=0
    ).fit(x, t, y)
    return est, x, t


def _cf_excess(lam: float) -> float:
    """Closed form: sup of E[Y(0) | x, T=1] − μ₀(x) for a N(μ₀, σ²) control density (Dorn–Guo)."""
    tau = lam / (1 + lam)
    cvar_excess = SIGMA * stats.norm.pdf(stats.norm.ppf(tau)) / (1 - tau)
    return (1 - 1 / lam) * cvar_excess


def test_att_bounds_match_the_closed_form_and_contain_the_truth(oracle_bounds):
    est, x, t = oracle_bounds
    treated = x[t == 1]
    true_att = float(np.mean(_m(treated, 1) - _m(treated, 0)))
    true_ate = float(np.mean(_m(x, 1) - _m(x, 0)))
    assert true_att - true_ate > 0.5  # the estimands differ on this simulator
    b1 = est.ate_bounds(1.0, estimand="att")
    assert float(b1.lower) == pytest.approx(true_att, abs=1e-9)
    assert float(b1.upper) == pytest.approx(true_att, abs=1e-9)
    for lam in (1.5, 3.0):
        b = est.ate_bounds(lam, estimand="att")
        excess = _cf_excess(lam)
        # the treated arm is observed: only the counterfactual control mean moves
        assert float(b.lower) == pytest.approx(true_att - excess, abs=1e-6)
        assert float(b.upper) == pytest.approx(true_att + excess, abs=1e-6)
    # the ATT bound is narrower than the CATE bounds averaged over the treated
    cate_on_treated = est.ate_bounds(2.0, X=treated)
    att = est.ate_bounds(2.0, estimand="att")
    assert float(att.upper - att.lower) < float(cate_on_treated.upper - cate_on_treated.lower)


def test_atc_bounds_mirror_the_att(oracle_bounds):
    est, x, t = oracle_bounds
    control = x[t == 0]
    true_atc = float(np.mean(_m(control, 1) - _m(control, 0)))
    b = est.ate_bounds(2.0, estimand="atc")
    assert float(b.lower) == pytest.approx(true_atc - _cf_excess(2.0), abs=1e-6)
    assert float(b.upper) == pytest.approx(true_atc + _cf_excess(2.0), abs=1e-6)
    # explicit X and t give the same numbers as the training default
    again = est.ate_bounds(2.0, X=x, t=t, estimand="atc")
    assert float(again.lower) == pytest.approx(float(b.lower), abs=1e-12)


def test_att_robustness_solves_the_closed_form(oracle_bounds):
    est, x, t = oracle_bounds
    treated = x[t == 1]
    true_att = float(np.mean(_m(treated, 1) - _m(treated, 0)))
    expected = optimize.brentq(lambda lam: true_att - _cf_excess(lam), 1.0 + 1e-9, 1e6)
    rob = est.robustness(estimand="att", lam_max=1e6, tol=1e-8)
    assert rob.ate == pytest.approx(expected, rel=1e-5)
    assert rob.unit.shape == (int(t.sum()),)


def test_estimand_errors(oracle_bounds):
    est, x, _ = oracle_bounds
    with pytest.raises(ValueError, match="needs the treatment t"):
        est.ate_bounds(2.0, X=x, estimand="att")
    with pytest.raises(ValueError, match="estimand"):
        est.ate_bounds(2.0, estimand="att ")
    with pytest.raises(ValueError, match="no treated"):
        est.ate_bounds(2.0, X=x, t=np.zeros(len(x), int), estimand="att")


@pytest.fixture(scope="module")
def tiny_tarnet():
    x, t, y = _simulate(120, seed=1)
    est = TARNet("ensemble", n_members=2, max_epochs=2, hidden_size=8, random_state=0)
    return est.fit(x, t, y), x, t


def test_cate_att_is_the_mean_effect_over_the_treated(tiny_tarnet, tmp_path):
    est, x, t = tiny_tarnet
    assert est.att() == pytest.approx(float(est.effect(x[t == 1]).mean()), abs=1e-12)
    assert est.atc() == pytest.approx(float(est.effect(x[t == 0]).mean()), abs=1e-12)
    assert est.att(x, t) == est.ate(x, t=t, estimand="att") == est.att()
    lo, hi = est.ate_interval(estimand="att")
    assert lo <= est.att() <= hi
    assert (lo, hi) == est.ate_interval(x[t == 1])
    est.save(tmp_path / "m")
    loaded = type(est).load(tmp_path / "m")
    assert loaded.att() == est.att()


def test_cate_estimand_errors(tiny_tarnet):
    est, x, t = tiny_tarnet
    with pytest.raises(ValueError, match="pass their treatment t"):
        est.ate(x, estimand="att")
    with pytest.raises(ValueError, match="estimand"):
        est.ate(estimand="ATT")
    with pytest.raises(ValueError, match="rows"):
        est.att(x, t[:-1])
