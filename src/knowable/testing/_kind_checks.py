"""Conformance checks of the dose-response and the bounds estimator kinds.

Dose response (``_estimator_kind = "dose_response"``): ``fit(X, t, y)`` with a
continuous ``t``, ``apo_samples``/``apo``/``dose_response``. Bounds
(``_estimator_kind = "bounds"``): ``fit(X, t, y)`` with a binary ``t``,
``bounds(X, lam)`` and ``ate_bounds(lam)`` returning
:class:`~knowable.bounds.Bounds`, and ``effect(X)``, the point estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone

from ._checks import (
    CheckData,
    expect_errors,
    expect_not_fitted,
    expect_predict_rejects,
    save_and_load,
)

__all__ = ["BOUNDS_CHECKS", "DOSE_RESPONSE_CHECKS"]

_LAMS = np.array([1.0, 1.5, 2.0, 4.0])


def _fit(estimator: Any, data: CheckData) -> Any:
    return clone(estimator).fit(data.X, data.t, data.y)


def check_fit_xty_returns_self(estimator: Any, data: CheckData) -> None:
    """``fit(X, t, y)`` returns the estimator itself."""
    est = clone(estimator)
    assert est.fit(data.X, data.t, data.y) is est, "fit must return self"


# ------------------------------------------------------------------ dose response
def check_dose_response_not_fitted(estimator: Any, data: CheckData) -> None:
    """``apo``, ``apo_samples`` and ``dose_response`` before ``fit`` raise ``NotFittedError``."""
    t0 = float(np.median(data.treatment))
    calls = {
        "apo_samples": lambda est: est.apo_samples(data.X, t0),
        "apo": lambda est: est.apo(data.X, t0),
        "dose_response": lambda est: est.dose_response([t0]),
    }
    expect_not_fitted(estimator, calls)


def check_dose_response_outputs(estimator: Any, data: CheckData) -> None:
    """Shapes of ``apo_samples``/``apo``/``dose_response``; the mean lies in its band."""
    est = _fit(estimator, data)
    X = data.X[:7]
    grid = np.quantile(data.treatment, [0.25, 0.5, 0.75])
    draws = est.apo_samples(X, grid[1])
    assert draws.ndim == 2 and draws.shape[1] == 7, f"apo_samples shape {draws.shape}"
    on_grid = est.apo_samples(X, grid, grid=True)
    assert on_grid.shape == (draws.shape[0], 7, 3), f"apo_samples(grid=True) {on_grid.shape}"
    # float32 networks evaluated on blocks of different row counts: equal up to float32 rounding
    # of the curve's scale (an absolute term, so values near 0 are not held to a relative 1e-6)
    scale = float(np.abs(draws).max()) or 1.0
    np.testing.assert_allclose(
        on_grid[:, :, 1],
        draws,
        rtol=1e-6,
        atol=1e-6 * scale,
        err_msg="grid and pointwise APO differ",
    )
    mean, lower, upper = est.apo(X, grid[1], alpha=0.1)
    assert mean.shape == lower.shape == upper.shape == (7,)
    assert np.all(lower <= mean + 1e-9) and np.all(mean <= upper + 1e-9), "apo outside its band"
    curve = est.dose_response(grid)
    for name in ("mean", "lower", "upper"):
        assert np.shape(getattr(curve, name)) == (3,), f"dose_response {name} shape"
    assert np.all(curve.lower <= curve.mean + 1e-9) and np.all(curve.mean <= curve.upper + 1e-9)
    np.testing.assert_allclose(
        curve.mean[1],
        est.apo_samples(data.X, grid[1]).mean(1).mean(),
        rtol=1e-6,
        err_msg="the curve is not the mean APO over the training units",
    )


def check_dose_response_reproducible(estimator: Any, data: CheckData) -> None:
    """Same integer seed gives bit-identical APO draws; another seed gives different ones."""
    est = clone(estimator).set_params(random_state=7)
    t0 = float(np.median(data.treatment))
    a = _fit(est, data).apo_samples(data.X, t0)
    b = _fit(est, data).apo_samples(data.X, t0)
    np.testing.assert_array_equal(a, b, err_msg="same seed gave different outputs")
    c = _fit(clone(est).set_params(random_state=8), data).apo_samples(data.X, t0)
    assert not np.array_equal(a, c), "different seeds gave identical outputs"


def check_dose_response_bad_inputs(estimator: Any, data: CheckData) -> None:
    """Constant t, NaN, strings, shapes and mismatches raise clear errors."""
    X, t, y = data.X, data.treatment, data.y
    bad_X = X.copy()
    bad_X[0, 0] = np.nan
    expect_errors(
        [
            ("constant t", lambda: clone(estimator).fit(X, np.ones_like(t), y), ValueError),
            (
                "NaN in t",
                lambda: clone(estimator).fit(X, np.where(t > 0, np.nan, t), y),
                ValueError,
            ),
            ("NaN in X", lambda: clone(estimator).fit(bad_X, t, y), ValueError),
            ("strings in X", lambda: clone(estimator).fit(X.astype(str), t, y), TypeError),
            ("1-d X", lambda: clone(estimator).fit(X[:, 0], t, y), ValueError),
            ("length mismatch", lambda: clone(estimator).fit(X, t[:-1], y), ValueError),
            ("two outcome columns", lambda: clone(estimator).fit(X, t, np.c_[y, y]), ValueError),
        ]
    )
    fitted = _fit(estimator, data)
    t0 = float(np.median(t))
    expect_predict_rejects(lambda Xp: fitted.apo_samples(Xp, t0), X, bad_X)


def check_dose_response_save_load_round_trip(estimator: Any, data: CheckData) -> None:
    """``save`` then ``load`` gives identical APO draws, from safetensors + JSON only."""
    est = _fit(estimator, data)
    t0 = float(np.median(data.treatment))
    loaded = save_and_load(est)
    np.testing.assert_array_equal(
        loaded.apo_samples(data.X, t0), est.apo_samples(data.X, t0), err_msg="load changed draws"
    )


# ------------------------------------------------------------------------ bounds
def check_bounds_not_fitted(estimator: Any, data: CheckData) -> None:
    """``bounds``, ``ate_bounds`` and ``effect`` before ``fit`` raise ``NotFittedError``."""
    calls = {
        "bounds": lambda est: est.bounds(data.X, 2.0),
        "ate_bounds": lambda est: est.ate_bounds(2.0),
        "effect": lambda est: est.effect(data.X),
    }
    expect_not_fitted(estimator, calls)


def check_bounds_ordered(estimator: Any, data: CheckData) -> None:
    """Shapes; ``lower <= upper`` at every Λ; a scalar Λ gives the grid's row; ATE likewise."""
    est = _fit(estimator, data)
    X = data.X[:9]
    b = est.bounds(X, _LAMS)
    assert np.shape(b.lower) == np.shape(b.upper) == (len(_LAMS), 9), (
        f"bounds shape {b.lower.shape}"
    )
    assert np.all(np.isfinite(b.lower)) and np.all(np.isfinite(b.upper)), "non-finite bounds"
    assert np.all(b.lower <= b.upper + 1e-8), "bounds(X, lam): lower > upper"
    one = est.bounds(X, float(_LAMS[2]))
    assert np.shape(one.lower) == (9,), f"scalar lam gave shape {np.shape(one.lower)}"
    np.testing.assert_allclose(one.lower, b.lower[2], err_msg="scalar lam differs from the grid")
    np.testing.assert_allclose(one.upper, b.upper[2], err_msg="scalar lam differs from the grid")
    a = est.ate_bounds(_LAMS)
    assert np.shape(a.lower) == (len(_LAMS),), f"ate_bounds shape {np.shape(a.lower)}"
    assert np.all(a.lower <= a.upper + 1e-8), "ate_bounds: lower > upper"


def check_bounds_nest(estimator: Any, data: CheckData) -> None:
    """The ATE bounds widen as Λ grows (the MSM sets nest), up to a small tolerance."""
    est = _fit(estimator, data)
    a = est.ate_bounds(_LAMS)
    width = np.asarray(a.upper) - np.asarray(a.lower)
    tol = 1e-6 + 0.02 * float(np.ptp(data.y))
    assert np.all(np.diff(width) >= -tol), f"ATE bound width shrank as lam grew: {width}"


def check_bounds_collapse_at_one(estimator: Any, data: CheckData) -> None:
    """At Λ = 1 (no hidden confounding) the bounds meet; where the estimator says so, at ``effect``.

    Lower and upper must coincide at Λ = 1 for every bounds estimator. They must
    also equal ``effect(X)`` when the class sets ``_bounds_collapse_to_effect =
    True`` (MSMBounds: both come from the same outcome densities); BLearner's
    Λ = 1 bound is a final-stage regression of a doubly robust pseudo-outcome,
    another estimator of the CATE than its T-learner ``effect``.
    """
    est = _fit(estimator, data)
    X = data.X[:9]
    b = est.bounds(X, 1.0)
    tol = 1e-6 * (1.0 + float(np.abs(data.y).max()))
    np.testing.assert_allclose(b.lower, b.upper, atol=tol, err_msg="bounds at lam=1 do not meet")
    if getattr(estimator, "_bounds_collapse_to_effect", False):
        np.testing.assert_allclose(
            b.lower, est.effect(X), atol=tol, err_msg="bounds at lam=1 are not effect(X)"
        )


def check_bounds_bad_lambda(estimator: Any, data: CheckData) -> None:
    """Λ < 1, NaN, inf, strings and an empty grid are refused with ``ValueError``/``TypeError``."""
    est = _fit(estimator, data)
    X = data.X[:3]
    expect_errors(
        [
            ("lam < 1", lambda: est.bounds(X, 0.5), ValueError),
            ("lam grid with 0.9", lambda: est.bounds(X, [1.0, 0.9]), ValueError),
            ("ate lam < 1", lambda: est.ate_bounds(0.99), ValueError),
            ("NaN lam", lambda: est.bounds(X, float("nan")), ValueError),
            ("inf lam", lambda: est.bounds(X, float("inf")), ValueError),
            ("string lam", lambda: est.bounds(X, "two"), TypeError),
        ]
    )


def check_bounds_reproducible(estimator: Any, data: CheckData) -> None:
    """The same integer seed gives identical bounds."""
    est = clone(estimator).set_params(random_state=7)
    a = _fit(est, data).bounds(data.X, 2.0)
    b = _fit(est, data).bounds(data.X, 2.0)
    np.testing.assert_array_equal(a.lower, b.lower, err_msg="same seed gave different bounds")
    np.testing.assert_array_equal(a.upper, b.upper, err_msg="same seed gave different bounds")


def check_bounds_bad_inputs(estimator: Any, data: CheckData) -> None:
    """Non-binary t, NaN, strings and mismatched lengths raise clear errors."""
    X, t, y = data.X, data.treatment, data.y
    bad_X = X.copy()
    bad_X[0, 0] = np.nan
    expect_errors(
        [
            ("non-binary t", lambda: clone(estimator).fit(X, t * 2.0, y), ValueError),
            ("NaN in X", lambda: clone(estimator).fit(bad_X, t, y), ValueError),
            (
                "NaN in y",
                lambda: clone(estimator).fit(X, t, np.where(np.arange(len(y)) == 0, np.nan, y)),
                ValueError,
            ),
            ("strings in X", lambda: clone(estimator).fit(X.astype(str), t, y), TypeError),
            ("length mismatch", lambda: clone(estimator).fit(X, t[:-1], y), ValueError),
        ]
    )
    fitted = _fit(estimator, data)
    expect_errors([("wrong n_features", lambda: fitted.bounds(X[:, :-1], 2.0), ValueError)])


DOSE_RESPONSE_CHECKS: list[Callable[[Any, CheckData], None]] = [
    check_dose_response_not_fitted,
    check_fit_xty_returns_self,
    check_dose_response_outputs,
    check_dose_response_reproducible,
    check_dose_response_bad_inputs,
    check_dose_response_save_load_round_trip,
]
BOUNDS_CHECKS: list[Callable[[Any, CheckData], None]] = [
    check_bounds_not_fitted,
    check_fit_xty_returns_self,
    check_bounds_ordered,
    check_bounds_nest,
    check_bounds_collapse_at_one,
    check_bounds_bad_lambda,
    check_bounds_reproducible,
    check_bounds_bad_inputs,
]
