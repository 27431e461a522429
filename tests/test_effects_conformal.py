"""ConformalCATE: split and weighted split-conformal intervals for individual effects."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from knowable.effects import ConformalCATE, TARNet
from knowable.effects._conformal import conformal_quantile
from knowable.exceptions import NotFittedError
from knowable.models import GaussianNoise, Posterior


class ArmMeans:
    """A deliberately misspecified CATE model: one constant mean and noise sd per arm,
    with a (well-specified) logistic propensity. Fast, so coverage can be measured."""

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def get_params(self, deep: bool = True) -> dict:
        return {"shift": self.shift}

    def set_params(self, **params) -> ArmMeans:
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def fit(self, X, t, y) -> ArmMeans:
        self.mean_ = np.array([y[t == a].mean() for a in (0, 1)]) + self.shift
        self.sd_ = np.array([y[t == a].std() for a in (0, 1)])
        self.prop_ = LogisticRegression().fit(X, t)
        return self

    def predict_outcomes(self, X) -> Posterior:
        draws = np.broadcast_to(self.mean_, (1, len(X), 2)).copy()
        return Posterior(draws, GaussianNoise(self.sd_.reshape(1, 1, 2)))

    def propensity(self, X) -> np.ndarray:
        return self.prop_.predict_proba(X)[:, 1]

    def effect(self, X) -> np.ndarray:
        return np.full(len(X), self.mean_[1] - self.mean_[0])


def confounded(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Noise grows with x and treatment is likelier at small x: arm 1's units are quiet."""
    x = rng.normal(size=(n, 1))
    e = 1 / (1 + np.exp(2.0 * x[:, 0]))
    t = (rng.random(n) < e).astype(int)
    scale = np.exp(x[:, 0])
    y0 = x[:, 0] + scale * rng.normal(size=n)
    y1 = x[:, 0] + 1.0 + scale * rng.normal(size=n)
    return x, t, np.where(t == 1, y1, y0), y0, y1


# ---------------------------------------------------------------- quantile
def test_weighted_quantile_with_equal_weights_is_the_split_quantile():
    rng = np.random.default_rng(0)
    s = rng.normal(size=37)
    for level in (0.5, 0.8, 0.9, 0.95):
        plain = conformal_quantile(s, level)
        weighted = conformal_quantile(s, level, np.ones(37), np.ones(3))
        assert np.all(weighted == plain)
        assert plain == np.sort(s)[math.ceil(38 * level) - 1]


def test_quantile_is_infinite_when_the_level_is_out_of_reach():
    s = np.arange(5.0)
    assert conformal_quantile(s, 0.9) == np.inf  # ceil(6 * 0.9) = 6 > 5
    # a test point carrying most of the weight cannot be covered by finite scores
    assert conformal_quantile(s, 0.9, np.ones(5), np.array([100.0]))[0] == np.inf


# ---------------------------------------------------------------- coverage
def test_weighted_conformal_covers_counterfactuals_under_confounding():
    rng = np.random.default_rng(1)
    x, t, y, _, _ = confounded(8000, rng)
    xt, _, _, y0t, y1t = confounded(20000, rng)
    alpha = 0.1
    cover = {}
    for weighting in ("propensity", "none"):
        cc = ConformalCATE(
            ArmMeans(), weighting=weighting, calibration_fraction=0.5, random_state=0
        ).fit(x, t, y)
        lo, hi = cc.counterfactual_interval(xt, alpha)
        cover[weighting] = [
            np.mean((y0t >= lo[:, 0]) & (y0t <= hi[:, 0])),
            np.mean((y1t >= lo[:, 1]) & (y1t <= hi[:, 1])),
        ]
    # about 1000-3000 calibration units per arm: sd of the conditional coverage <= 0.01
    for c in cover["propensity"]:
        assert abs(c - (1 - alpha)) < 0.03, cover
    # without weights arm 1's quiet calibration units under-cover the population
    assert cover["none"][1] < 1 - alpha - 0.05, cover


def test_split_conformal_covers_ite_in_a_randomised_trial():
    rng = np.random.default_rng(2)

    def trial(n):
        x = rng.normal(size=(n, 2))
        t = rng.integers(0, 2, n)
        y0 = x[:, 0] + rng.normal(size=n)
        y1 = y0 + 1 + x[:, 1]  # the effect varies: a constant-mean model is wrong
        return x, t, np.where(t == 1, y1, y0), y1 - y0

    x, t, y, _ = trial(6000)
    xt, _, _, ite = trial(20000)
    cc = ConformalCATE(ArmMeans(), weighting="none", random_state=3).fit(x, t, y)
    lo, hi = cc.effect_interval(xt, alpha=0.2)
    cover = np.mean((ite >= lo) & (ite <= hi))
    assert cover >= 0.8 - 0.02  # Bonferroni: at least 1 - alpha, conservative


def test_a_biased_model_is_repaired_by_calibration():
    rng = np.random.default_rng(4)
    x, t, y, _, _ = confounded(6000, rng)
    xt, _, _, y0t, _ = confounded(20000, rng)
    model = ArmMeans(shift=5.0).fit(x, t, y)  # far off: its own 90 % interval misses
    post = model.predict_outcomes(xt)
    half = 1.645 * np.sqrt(post.predictive_var())
    raw = np.mean(np.abs(y0t - post.mean()[:, 0]) <= half[:, 0])
    lo, hi = (
        ConformalCATE(ArmMeans(shift=5.0), random_state=0)
        .fit(x, t, y)
        .counterfactual_interval(xt, 0.1)
    )
    fixed = np.mean((y0t >= lo[:, 0]) & (y0t <= hi[:, 0]))
    assert raw < 0.6 and abs(fixed - 0.9) < 0.04, (raw, fixed)


# ---------------------------------------------------------------- contract
def test_with_tarnet_and_the_sklearn_contract():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3))
    t = rng.integers(0, 2, 160)
    y = X[:, 0] + t * (1 + X[:, 1]) + 0.1 * rng.normal(size=160)
    est = TARNet("ensemble", n_members=2, max_epochs=2, device="cpu", random_state=0)
    cc = ConformalCATE(est, random_state=0)
    assert clone(cc).get_params()["calibration_fraction"] == 0.25
    assert cc.fit(X, t, y) is cc
    assert cc.estimator is est and not hasattr(est, "members_")  # the clone was fitted
    lo, hi = cc.effect_interval(X[:7])
    assert lo.shape == hi.shape == (7,) and np.all(lo <= hi)
    assert cc.effect(X[:7]).shape == (7,)
    a, b = cc.ate_interval(X)
    assert a <= cc.ate(X) <= b
    assert sum(cc.n_calibration_) == len(cc.scores_[0]) + len(cc.scores_[1]) == 40
    # same seed, same split and same intervals
    lo2, _ = ConformalCATE(est, random_state=0).fit(X, t, y).effect_interval(X[:7])
    np.testing.assert_allclose(lo, lo2)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"calibration_fraction": 0.0}, ValueError, "calibration_fraction"),
        ({"calibration_fraction": 1.5}, ValueError, "calibration_fraction"),
        ({"weighting": "uniform"}, ValueError, "weighting"),
        ({"propensity_clip": 0.7}, ValueError, "propensity_clip"),
    ],
)
def test_bad_parameters(params, error, match):
    rng = np.random.default_rng(0)
    x, t, y, _, _ = confounded(200, rng)
    with pytest.raises(error, match=match):
        ConformalCATE(ArmMeans(), **params).fit(x, t, y)


def test_bad_inputs():
    rng = np.random.default_rng(0)
    x, t, y, _, _ = confounded(200, rng)
    with pytest.raises(TypeError, match="predict_outcomes"):
        ConformalCATE(LogisticRegression()).fit(x, t, y)
    with pytest.raises(NotFittedError):
        ConformalCATE(ArmMeans()).effect_interval(x)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        ConformalCATE(ArmMeans()).fit(bad, t, y)
    with pytest.raises(ValueError):
        ConformalCATE(ArmMeans()).fit(x, t[:-1], y)
    with pytest.raises(ValueError):
        ConformalCATE(ArmMeans()).fit(x, np.full(200, 2), y)
    few = np.zeros(200, dtype=int)
    few[:3] = 1
    with pytest.raises(ValueError, match="too few"):
        ConformalCATE(ArmMeans()).fit(x, few, y)
    cc = ConformalCATE(ArmMeans(), random_state=0).fit(x, t, y)
    with pytest.raises(ValueError, match="columns"):
        cc.effect_interval(np.ones((3, 2)))
    with pytest.raises(ValueError, match="alpha"):
        cc.effect_interval(x, alpha=1.0)
