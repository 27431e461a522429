"""The CATE contract: a subclass implements fit, predict_outcomes and propensity, and gets the
effect API (effect, effect_samples, effect_var, effect_interval, ate, ate_interval) derived."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression

from knowable.effects import CATEBase, CATEEstimator, TARNet
from knowable.exceptions import NotFittedError
from knowable.models import Posterior


class MinimalTLearner(CATEBase, BaseEstimator):
    """A non-torch CATE estimator: linear regression per arm on bootstrap resamples."""

    def __init__(self, n_boot: int = 20, random_state: int = 0) -> None:
        self.n_boot = n_boot
        self.random_state = random_state

    def fit(self, X, t, y):
        rng = np.random.default_rng(self.random_state)
        X, t, y = np.asarray(X, float), np.asarray(t), np.asarray(y, float)
        self.models_ = []
        for _ in range(self.n_boot):
            idx = rng.integers(len(y), size=len(y))
            xb, tb, yb = X[idx], t[idx], y[idx]
            self.models_.append([LinearRegression().fit(xb[tb == a], yb[tb == a]) for a in (0, 1)])
        self.propensity_model_ = LogisticRegression().fit(X, t)
        self.X_fit_ = X
        return self

    def predict_outcomes(self, X):
        if not hasattr(self, "models_"):
            raise NotFittedError("This MinimalTLearner is not fitted yet; call fit(X, t, y).")
        X = np.asarray(X, float)
        draws = np.stack([np.stack([m.predict(X) for m in pair], -1) for pair in self.models_])
        return Posterior(draws, output_names=["mu0", "mu1"])

    def propensity(self, X):
        return self.propensity_model_.predict_proba(np.asarray(X, float))[:, 1]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    t = (rng.random(300) < 0.5).astype(int)
    y = X[:, 0] + t * (1.0 + X[:, 1]) + rng.normal(size=300) * 0.5
    return MinimalTLearner().fit(X, t, y), X


def test_the_effect_api_is_derived_from_predict_outcomes(fitted):
    est, X = fitted
    draws = est.predict_outcomes(X[:10]).draws
    tau = draws[..., 1] - draws[..., 0]
    np.testing.assert_array_equal(est.effect_samples(X[:10]), tau)
    np.testing.assert_allclose(est.effect(X[:10]), tau.mean(0))
    np.testing.assert_allclose(est.effect_var(X[:10]), tau.var(0, ddof=1))
    lo, hi = est.effect_interval(X[:10], alpha=0.1)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(hi - lo, 2 * z * tau.std(0, ddof=1))
    assert est.ate() == pytest.approx(float(est.effect(X).mean()))
    ates = est.effect_samples(X).mean(1)
    lo, hi = est.ate_interval(alpha=0.05)
    assert hi - lo == pytest.approx(2 * stats.norm.ppf(0.975) * ates.std(ddof=1))
    assert 0.5 < est.ate() < 1.5  # the true ATE is 1


def test_unfitted_and_incomplete_subclasses():
    with pytest.raises(NotFittedError):
        MinimalTLearner().ate()
    with pytest.raises(NotFittedError):
        MinimalTLearner().effect(np.zeros((2, 2)))

    class NoPropensity(CATEBase):
        def fit(self, X, t, y):
            return self

        def predict_outcomes(self, X):
            return None

    with pytest.raises(TypeError, match="abstract"):
        NoPropensity()


def test_the_neural_estimators_implement_the_contract():
    assert issubclass(CATEEstimator, CATEBase) and isinstance(TARNet(), CATEBase)
    for name in ("effect", "effect_samples", "effect_interval", "ate", "ate_interval"):
        assert name not in vars(CATEEstimator), f"{name} is derived in CATEBase"


def test_dragonnet_is_tarnet_with_three_pieces_overridden():
    """No flag on TARNet: DragonNet subclasses it and swaps in its head and DUE module and
    overrides the loss; its modules train the propensity jointly and hold epsilon, TARNet's detach."""
    import torch

    from knowable.effects import DragonNet
    from knowable.effects._modules import CATEHead, CausalDeepKernel, DragonDeepKernel, DragonHead

    assert issubclass(DragonNet, TARNet)
    assert {"_head_type", "_deep_kernel_type", "_total_loss"} <= set(vars(DragonNet))
    assert not any(hasattr(cls, "_dragon") for cls in (TARNet, DragonNet, CATEEstimator))
    assert issubclass(DragonHead, CATEHead) and issubclass(DragonDeepKernel, CausalDeepKernel)
    features = torch.randn(5, 4, requires_grad=True)
    for head, joint in (
        (CATEHead(4, 3, 1, "elu", 0.0, False), False),
        (DragonHead(4, 3, 1, "elu", 0.0, False), True),
    ):
        logit = head(features).logit
        grad = torch.autograd.grad(logit.sum(), features, allow_unused=True)[0]
        assert (grad is not None and bool(grad.abs().sum() > 0)) == joint
        assert hasattr(head, "epsilon") == joint
