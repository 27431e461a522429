"""Scores of effect estimates against known truth (simulators, semi-synthetic benchmarks).

All functions are small and pure; shapes are ``(n,)`` per unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_array, check_binary_treatment, check_consistent_length

__all__ = ["ate_error", "pehe", "policy_risk", "recommendation_error_rate", "sqrt_pehe"]


def _pair(estimate: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    est = check_array(estimate, "estimate", ndim=1)
    tru = check_array(truth, "truth", ndim=1)
    check_consistent_length(estimate=est, truth=tru)
    return est, tru


def _mask(keep: Any, n: int) -> np.ndarray:
    if keep is None:
        return np.ones(n, dtype=bool)
    arr = np.asarray(keep)
    if arr.dtype != bool or arr.shape != (n,):
        raise ValueError(
            f"keep must be a boolean mask of shape ({n},), got {arr.dtype} {arr.shape}."
        )
    return arr


def pehe(estimate: Any, truth: Any, keep: Any = None) -> float:
    """Precision in estimating heterogeneous effects: ``mean_kept (tau_hat - tau)^2``.

    Parameters
    ----------
    estimate, truth : array-like of shape (n,)
        Estimated and true CATE.
    keep : array-like of bool of shape (n,), optional
        Units to score (the retained ones after deferral); default all. The
        mean is over the kept units.

    Returns
    -------
    float
        NaN when no unit is kept.
    """
    est, tru = _pair(estimate, truth)
    m = _mask(keep, len(est))
    return float(np.mean((est[m] - tru[m]) ** 2)) if m.any() else float("nan")


def sqrt_pehe(estimate: Any, truth: Any, keep: Any = None) -> float:
    """√PEHE = ``sqrt(mean_kept (tau_hat - tau)^2)``; see :func:`pehe`.

    Parameters
    ----------
    estimate, truth : array-like of shape (n,)
        Estimated and true CATE.
    keep : array-like of bool of shape (n,), optional
        Units to score; default all.

    Returns
    -------
    float
    """
    return float(np.sqrt(pehe(estimate, truth, keep)))


def ate_error(estimate: Any, truth: Any) -> float:
    """Absolute ATE error ``|mean(tau_hat) - mean(tau)|`` over the same units.

    Parameters
    ----------
    estimate, truth : array-like of shape (n,)
        Estimated and true CATE (or a scalar ATE each, as arrays of length 1).

    Returns
    -------
    float
    """
    est, tru = _pair(np.atleast_1d(estimate), np.atleast_1d(truth))
    return float(abs(est.mean() - tru.mean()))


def recommendation_error_rate(estimate: Any, truth: Any, keep: Any = None) -> float:
    """Wrong-sign recommendations among kept units divided by ALL ``n`` units.

    ``#{i kept : sign(tau_hat_i) != sign(tau_i)} / n``. The denominator is
    the total number of units, deferred ones included (as in the ucate and
    Quince code), so the rate falls to 0 when every unit is deferred. A unit
    is recommended treatment when ``tau_hat > 0``; a true ``tau = 0`` counts
    as "do not treat".

    Parameters
    ----------
    estimate, truth : array-like of shape (n,)
        Estimated and true CATE.
    keep : array-like of bool of shape (n,), optional
        Units the model decides on (not deferred); default all.

    Returns
    -------
    float
    """
    est, tru = _pair(estimate, truth)
    m = _mask(keep, len(est))
    wrong = (est > 0) != (tru > 0)
    return float(np.sum(wrong & m) / len(est))


def policy_risk(estimate: Any, t: Any, y: Any) -> float:
    """Policy risk of "treat when ``tau_hat > 0``" on randomised data (Shalit et al. 2017).

    ``R = 1 - [E(y | t=1, pi=1) p(pi=1) + E(y | t=0, pi=0) p(pi=0)]``, with
    the conditional means taken over units whose observed treatment agrees
    with the policy. Higher outcomes are better. A group that is empty
    contributes 0.

    Parameters
    ----------
    estimate : array-like of shape (n,)
        Estimated CATE.
    t : array-like of shape (n,)
        Binary observed treatment.
    y : array-like of shape (n,)
        Observed outcome.

    Returns
    -------
    float
    """
    est = check_array(estimate, "estimate", ndim=1)
    t_arr = check_binary_treatment(t)
    y_arr = check_array(y, "y", ndim=1)
    check_consistent_length(estimate=est, t=t_arr, y=y_arr)
    policy = est > 0
    p_treat = float(policy.mean())
    treat_agree = policy & (t_arr == 1)
    control_agree = ~policy & (t_arr == 0)
    v1 = float(y_arr[treat_agree].mean()) if treat_agree.any() else 0.0
    v0 = float(y_arr[control_agree].mean()) if control_agree.any() else 0.0
    return 1.0 - (v1 * p_treat + v0 * (1.0 - p_treat))
