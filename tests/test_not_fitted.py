"""One fitted-check: every estimator used before ``fit`` raises knowable's NotFittedError."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import sklearn.exceptions

import knowable.bounds
import knowable.effects
import knowable.models
from knowable._validation import check_is_fitted
from knowable.bounds import (
    BetaPropensity,
    BLearner,
    ContinuousMSMBounds,
    CrossValidatedBoosting,
    KernelAPOBounds,
    MSMBounds,
    SensitivityReport,
)
from knowable.effects import ConformalCATE, DoseResponse, DragonNet, TARNet, TreatmentDensity
from knowable.exceptions import LegacyNotFittedError, NotFittedError
from knowable.models import UncertainClassifier, UncertainRegressor

X = np.zeros((3, 2))
T = np.array([0.0, 1.0, 0.0])

# (class, the calls that need a fitted estimator)
CALLS = {
    UncertainRegressor: ["posterior(X)", "predict(X)", "save('unused')"],
    UncertainClassifier: ["posterior(X)", "predict(X)", "predict_proba(X)"],
    TARNet: ["predict_outcomes(X)", "effect(X)", "effect_interval(X)", "ate()", "propensity(X)"],
    DragonNet: ["effect(X)", "effect_samples(X)", "ate_interval()"],
    ConformalCATE: ["effect(X)", "effect_interval(X)", "counterfactual_interval(X)", "ate()"],
    DoseResponse: ["apo(X, T)", "dose_response([0.5])", "apo_samples(X, T)"],
    TreatmentDensity: ["log_density(X, T)", "flag_low_support(X, T)", "posterior(X)"],
    MSMBounds: ["bounds(X, 2.0)", "ate_bounds(2.0)", "effect(X)", "robustness(X)"],
    BLearner: ["bounds(X, 2.0)", "ate_bounds(2.0)", "effect(X)", "robustness(X)"],
    CrossValidatedBoosting: ["predict(X)"],
    BetaPropensity: ["log_density(X, T)", "beta_params(X)"],
    KernelAPOBounds: ["dose_response([0.5], 2.0)"],
    SensitivityReport: ["to_frame()"],
}


def _public_estimators():
    found = set()
    for module in (knowable.models, knowable.effects, knowable.bounds):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and hasattr(obj, "fit") and not inspect.isabstract(obj):
                found.add(obj)
    return found


# a public CATE estimator not listed above is checked on the calls of the CATE contract, so a new
# one (one library file, see docs/extending.md) needs no line here
CATE_CALLS = ["predict_outcomes(X)", "effect(X)", "effect_interval(X)", "ate()", "propensity(X)"]
for _cls in sorted(_public_estimators(), key=lambda c: c.__name__):
    if issubclass(_cls, knowable.effects.CATEBase) and _cls not in CALLS:
        CALLS[_cls] = CATE_CALLS


def test_every_public_estimator_is_listed():
    missing = {c.__name__ for c in _public_estimators()} - {c.__name__ for c in CALLS}
    # CATEEstimator is the shared base of TARNet and DragonNet
    assert missing <= {"CATEEstimator"}, f"add {sorted(missing)} to CALLS"


@pytest.mark.parametrize(
    ("cls", "call"),
    [(cls, call) for cls, calls in CALLS.items() for call in calls],
    ids=lambda v: v if isinstance(v, str) else v.__name__,
)
def test_use_before_fit_raises_not_fitted(cls, call):
    est = cls()
    with pytest.raises(NotFittedError, match=rf"This {cls.__name__} is not fitted yet; call fit\("):
        eval(f"est.{call}", {"est": est, "X": X, "T": T})


def test_the_error_is_sklearns_and_both_value_and_attribute_error():
    assert NotFittedError is sklearn.exceptions.NotFittedError
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


@pytest.mark.parametrize("cls", [MSMBounds, BLearner, CrossValidatedBoosting])
def test_bounds_classes_keep_runtime_error_for_one_release(cls):
    with pytest.raises(RuntimeError) as info:
        cls().effect(X) if hasattr(cls, "effect") else cls().predict(X)
    assert isinstance(info.value, LegacyNotFittedError)


def test_continuous_bounds_on_an_unfitted_model():
    with pytest.raises(NotFittedError, match="This DoseResponse is not fitted yet"):
        ContinuousMSMBounds(DoseResponse()).dose_response([0.5], 2.0)


def test_check_is_fitted_rules():
    class Plain:
        def fit(self, X, y, sample_weight=None):
            self.coef_ = 1.0
            return self

    est = Plain()
    with pytest.raises(NotFittedError, match=r"call fit\(X, y\) first"):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        check_is_fitted(est.fit(X, T), ["coef_", "intercept_"])
    check_is_fitted(est)
    check_is_fitted(est, "coef_")
    with pytest.raises(TypeError, match="not an estimator"):
        check_is_fitted(Plain)
    with pytest.raises(TypeError, match="not an estimator"):
        check_is_fitted(object())


def test_sklearn_check_is_fitted_agrees():
    from sklearn.utils.validation import check_is_fitted as sk_check

    for cls in CALLS:
        with pytest.raises(sklearn.exceptions.NotFittedError):
            sk_check(cls())
