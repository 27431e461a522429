"""BootstrapTLearner: a scikit-learn CATE estimator on the CATE contract, through the kit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, Ridge

from knowable.effects import BootstrapTLearner, CATEBase
from knowable.exceptions import NotFittedError
from knowable.testing import parametrize_with_checks


@parametrize_with_checks(
    [
        BootstrapTLearner(n_boot=5, random_state=0),
        BootstrapTLearner(RandomForestRegressor(n_estimators=5, max_depth=3), n_boot=3),
    ]
)
def test_conformance(estimator, check):
    check(estimator)


def _linear_data(n=400, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    t = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    cate = 1.0 + X[:, 1]
    y = X[:, 0] + t * cate + 0.3 * rng.normal(size=n)
    return X, t, y, cate


def test_recovers_a_linear_effect_and_its_average():
    X, t, y, cate = _linear_data()
    est = BootstrapTLearner(n_boot=30, random_state=0).fit(X, t, y)
    assert np.sqrt(np.mean((est.effect(X) - cate) ** 2)) < 0.1
    lo, hi = est.ate_interval()
    assert lo < cate.mean() < hi and hi - lo < 0.3
    assert est.att() == pytest.approx(float(cate[t == 1].mean()), abs=0.1)
    assert est.atc() == pytest.approx(float(cate[t == 0].mean()), abs=0.1)


def test_the_draws_are_bootstrap_refits_of_the_given_regressor():
    X, t, y, _ = _linear_data(n=200)
    est = BootstrapTLearner(Ridge(alpha=3.0), n_boot=4, random_state=0).fit(X, t, y)
    assert len(est.models_) == 4
    assert all(isinstance(m, Ridge) and m.alpha == 3.0 for pair in est.models_ for m in pair)
    draws = est.predict_outcomes(X[:5]).draws
    assert draws.shape == (4, 5, 2)
    assert np.all(draws.std(0) > 0), "bootstrap draws should differ"
    # draw 0's mu1 is its treated-arm model's prediction
    np.testing.assert_allclose(draws[0, :, 1], est.models_[0][1].predict(X[:5]))
    # an unfitted regressor passed in is left unfitted (clones are fitted)
    reg = LinearRegression()
    BootstrapTLearner(reg, n_boot=2, random_state=0).fit(X, t, y)
    assert not hasattr(reg, "coef_")


def test_more_data_narrows_the_interval():
    X, t, y, _ = _linear_data(n=2000, seed=2)
    widths = []
    for n in (100, 2000):
        lo, hi = (
            BootstrapTLearner(n_boot=30, random_state=0).fit(X[:n], t[:n], y[:n]).ate_interval()
        )
        widths.append(hi - lo)
    assert widths[1] < 0.5 * widths[0]


def test_seeds_the_regressors_clones():
    X, t, y, _ = _linear_data(n=150)
    forest = RandomForestRegressor(n_estimators=3, max_depth=2)
    a = BootstrapTLearner(forest, n_boot=2, random_state=3).fit(X, t, y).effect_samples(X)
    b = BootstrapTLearner(forest, n_boot=2, random_state=3).fit(X, t, y).effect_samples(X)
    np.testing.assert_array_equal(a, b)
    assert forest.get_params()["random_state"] is None


def test_propensity_is_clipped_into_the_open_interval():
    X, t, y, _ = _linear_data(n=200)
    t = (X[:, 0] > 0).astype(int)  # perfectly separable: logistic probabilities reach 0 and 1
    p = BootstrapTLearner(n_boot=2, random_state=0).fit(X * 50, t, y).propensity(X * 50)
    assert np.all((p > 0) & (p < 1))


def test_derives_the_effect_api_from_the_base():
    assert issubclass(BootstrapTLearner, CATEBase)
    for name in ("effect", "effect_samples", "effect_interval", "ate", "ate_interval", "att"):
        assert name not in vars(BootstrapTLearner), f"{name} is derived in CATEBase"


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_boot": 1}, ValueError, "n_boot"),
        ({"n_boot": 2.5}, TypeError, "n_boot"),
        ({"regressor": "ridge"}, TypeError, "regressor must be a scikit-learn estimator"),
        ({"classifier": LinearRegression()}, TypeError, "predict_proba"),
        ({"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_bad_parameters(params, error, match):
    X, t, y, _ = _linear_data(n=50)
    with pytest.raises(error, match=match):
        BootstrapTLearner(**params).fit(X, t, y)


def test_errors_before_fit_and_on_wrong_width():
    X, t, y, _ = _linear_data(n=50)
    with pytest.raises(NotFittedError):
        BootstrapTLearner().propensity(X)
    est = BootstrapTLearner(n_boot=2, random_state=0).fit(X, t, y)
    with pytest.raises(ValueError, match="X has 1 features, but this estimator was fitted with 2"):
        est.effect(X[:, :1])
