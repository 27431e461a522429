"""Shared helpers of the bound estimators: input checks, cloning, propensities."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._validation import (
    check_array,
    check_binary_treatment,
    check_consistent_length,
    check_feature_names,
    check_magnitude,
    check_real,
    feature_names_of,
)

__all__ = [
    "check_fit_inputs",
    "check_lam_grid",
    "clone_seeded",
    "default_propensity_model",
    "predict_propensity",
]


def default_propensity_model() -> Any:
    """Standardised logistic regression, the default nominal-propensity model."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def clone_seeded(model: Any, seed: int) -> Any:
    """Clone ``model`` and give it ``seed`` when it has an unset ``random_state``."""
    fresh = clone(model)
    params = fresh.get_params(deep=False) if hasattr(fresh, "get_params") else {}
    if "random_state" in params and params["random_state"] is None:
        fresh.set_params(random_state=int(seed) % (2**32))
    return fresh


def check_fit_inputs(
    X: Any, t: Any, y: Any, *, min_per_arm: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (X, t, y) for a binary-treatment bound estimator.

    Returns
    -------
    x : numpy.ndarray of shape (n, d)
    t : numpy.ndarray of shape (n,), values 0/1
    y : numpy.ndarray of shape (n,)
    """
    x = check_array(X, "X", ndim=2, ensure_2d=True)
    t_arr = check_binary_treatment(t, "t")
    y_arr = check_array(y, "y", ndim=(1, 2))
    if y_arr.ndim == 2:
        if y_arr.shape[1] != 1:
            raise ValueError(f"y must be a single outcome column, got shape {y_arr.shape}.")
        y_arr = y_arr[:, 0]
    check_consistent_length(X=x, t=t_arr, y=y_arr)
    check_magnitude(y_arr, "y")
    for arm in (0, 1):
        count = int((t_arr == arm).sum())
        if count < min_per_arm:
            raise ValueError(
                f"arm t={arm} has {count} unit(s); each arm needs at least {min_per_arm} to fit "
                "its outcome model."
            )
    return x, t_arr, y_arr


def record_feature_names(estimator: Any, X: Any) -> None:
    """Set ``estimator.feature_names_in_`` from a DataFrame's string columns (else remove it)."""
    names = feature_names_of(X)
    if names is not None:
        estimator.feature_names_in_ = names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


def check_predict_X(X: Any, n_features: int, estimator: Any = None) -> np.ndarray:
    """Validate covariates at prediction time against the fitted width (and column names).

    With ``estimator``, a DataFrame must carry the columns of ``estimator.feature_names_in_``
    in the fitted order (columns are matched by position).
    """
    if estimator is not None:
        check_feature_names(
            X, getattr(estimator, "feature_names_in_", None), f"this {type(estimator).__name__}"
        )
    x = check_array(X, "X", ndim=2, ensure_2d=True)
    if x.shape[1] != n_features:
        raise ValueError(
            f"X has {x.shape[1]} feature(s), but the estimator was fitted with {n_features}."
        )
    return x


def predict_propensity(model: Any, x: np.ndarray, clip: float) -> np.ndarray:
    """P(T = 1 | x) from a fitted classifier, clipped to [clip, 1 − clip].

    Warns when units fall outside the clip range: there one arm is (almost)
    never observed, and their bounds rest on the clipped value, not on data.
    """
    proba = np.asarray(model.predict_proba(x), dtype=float)
    p1 = proba[:, 1] if proba.ndim == 2 else proba
    outside = int(((p1 < clip) | (p1 > 1.0 - clip)).sum())
    if outside:
        warnings.warn(
            f"{outside} of {len(p1)} units have an estimated propensity outside "
            f"[{clip:g}, {1 - clip:g}] (no overlap): their bounds use the clipped propensity and "
            "say little; restrict the analysis to the overlap region or defer those units.",
            UserWarning,
            stacklevel=3,
        )
    return np.clip(p1, clip, 1.0 - clip)


def check_clip(clip: Any) -> float:
    """Propensity clipping level in (0, 0.5)."""
    return check_real(
        clip, "propensity_clip", low=0.0, high=0.5, low_inclusive=False, high_inclusive=False
    )


def check_lam_grid(lam: Any) -> tuple[np.ndarray, bool]:
    """Validated Λ values as a 1-d array, plus whether the input was a scalar."""
    from .._validation import check_lambda

    arr = check_lambda(lam, "lam")
    return np.atleast_1d(arr), arr.ndim == 0
