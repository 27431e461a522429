"""The conformance kit must fail on estimators that break the contract."""

import numpy as np
import pytest

from knowable._persistence import register_persistable
from knowable.models import UncertainRegressor
from knowable.testing import check_estimator, estimator_checks, make_check_data
from knowable.testing._checks import (
    check_bad_inputs,
    check_fit_returns_self,
    check_reproducible,
    check_save_load_round_trip,
)

FAST = dict(n_members=2, hidden_size=8, depth=1, max_epochs=2, random_state=0)


class ReturnsNone(UncertainRegressor):
    def fit(self, X, y):
        super().fit(X, y)


class Unseeded(UncertainRegressor):
    def fit(self, X, y):
        self.set_params(random_state=None)
        return super().fit(X, y)


class AcceptsNaN(UncertainRegressor):
    def fit(self, X, y):
        X = (
            np.nan_to_num(np.asarray(X, dtype=float))
            if not isinstance(X, np.ndarray) or X.dtype.kind == "f"
            else X
        )
        return super().fit(X, y)


@register_persistable
class ForgetsWeights(UncertainRegressor):
    def _restore_fitted(self, meta, tensors):
        super()._restore_fitted(
            meta,
            {
                k: v * 0 + 0.01 if k.startswith("member") and v.is_floating_point() else v
                for k, v in tensors.items()
            },
        )


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (ReturnsNone(**FAST), check_fit_returns_self),
        (Unseeded(**FAST), check_reproducible),
        (AcceptsNaN(**FAST), check_bad_inputs),
        (ForgetsWeights(**FAST), check_save_load_round_trip),
    ],
)
def test_kit_catches_contract_breaks(broken, check):
    with pytest.raises(AssertionError):
        check(broken, make_check_data("regressor"))


def test_check_estimator_passes_and_rejects_unknown_kinds():
    check_estimator(UncertainRegressor(**FAST))
    with pytest.raises(TypeError, match="_estimator_kind"):
        estimator_checks(object())


# ------------------------------------------------------------- kinds and pre-bound checks
def test_checks_are_pre_bound_to_their_kinds_data():
    from knowable.testing import BoundCheck

    checks = estimator_checks(UncertainRegressor(**FAST))
    assert all(isinstance(c, BoundCheck) and c.kind == "regressor" for c in checks)
    assert checks[0].data.t is None and checks[0].data.X.shape == (60, 3)
    assert "check_fit_returns_self" in [c.__name__ for c in checks]
    next(c for c in checks if c.__name__ == "check_fit_returns_self")(UncertainRegressor(**FAST))
    with pytest.raises(AssertionError):
        next(c for c in checks if c.__name__ == "check_fit_returns_self")(ReturnsNone(**FAST))


def test_every_public_estimator_has_a_kind_or_a_stated_reason():
    import inspect

    import knowable.bounds
    import knowable.effects
    import knowable.models
    from knowable.testing import ESTIMATOR_KINDS

    assert set(ESTIMATOR_KINDS) == {"regressor", "classifier", "cate", "dose_response", "bounds"}
    not_covered = {
        # a scikit-learn regressor without a Posterior: sklearn's own check_estimator applies
        "CrossValidatedBoosting",
        # a density of a continuous treatment with fit(X, t): no kind of that shape yet
        "BetaPropensity",
        # dose-response bounds, dose_response(t_grid, lam): no kind of that shape yet
        "KernelAPOBounds",
        # a report over a fitted effect, not an estimator of one
        "SensitivityReport",
        # a calibration wrapper: intervals for individual effects Y(1) - Y(0), no Posterior
        # over (mu0, mu1); its contract is tested in test_effects_conformal.py
        "ConformalCATE",
    }
    for module in (knowable.models, knowable.effects, knowable.bounds):
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) and hasattr(obj, "fit")) or inspect.isabstract(obj):
                continue
            kind = getattr(obj, "_estimator_kind", None)
            assert kind in ESTIMATOR_KINDS or name in not_covered, f"{name}: kind {kind!r}"
            assert not (kind in ESTIMATOR_KINDS and name in not_covered), name


def _small_msm(cls):
    from knowable.models import UncertainRegressor as UR

    return cls(
        UR(likelihood="mixture", n_components=2, n_members=2, hidden_size=8, depth=1, max_epochs=2),
        n_draws=30,
        random_state=0,
    )


def _broken_bounds():
    from types import SimpleNamespace

    from knowable.bounds import MSMBounds

    class BoundsNoneFit(MSMBounds):
        def fit(self, X, t, y):
            super().fit(X, t, y)

    class Swapped(MSMBounds):
        def bounds(self, X, lam, method=None):
            b = super().bounds(X, lam, method)
            return SimpleNamespace(lower=b.upper + 0.1, upper=b.lower)

    class ClipsLambda(MSMBounds):
        def bounds(self, X, lam, method=None):
            return super().bounds(X, np.maximum(np.asarray(lam, float), 1.0), method)

    class ShiftedEffect(MSMBounds):
        def effect(self, X):
            return super().effect(X) + 0.5

    class Narrowing(MSMBounds):
        def ate_bounds(self, lam, *args, **kw):
            b = super().ate_bounds(lam, *args, **kw)
            mid = (b.lower + b.upper) / 2
            w = 1.0 / np.asarray(b.lam)  # shrinks as lam grows
            return SimpleNamespace(lower=mid - w, upper=mid + w, lam=b.lam)

    class Unseeded(MSMBounds):
        def fit(self, X, t, y):
            self.set_params(random_state=None)
            return super().fit(X, t, y)

    return [
        (BoundsNoneFit, "check_fit_xty_returns_self"),
        (Swapped, "check_bounds_ordered"),
        (ClipsLambda, "check_bounds_bad_lambda"),
        (ShiftedEffect, "check_bounds_collapse_at_one"),
        (Narrowing, "check_bounds_nest"),
        (Unseeded, "check_bounds_reproducible"),
    ]


@pytest.mark.parametrize(("cls", "name"), _broken_bounds(), ids=lambda v: getattr(v, "__name__", v))
def test_bounds_kit_catches_contract_breaks(cls, name):
    broken = _small_msm(cls)
    check = next(c for c in estimator_checks(broken) if c.__name__ == name)
    with pytest.raises(AssertionError):
        check(broken)
    from knowable.bounds import MSMBounds

    check(_small_msm(MSMBounds))  # the intact estimator passes the same check
