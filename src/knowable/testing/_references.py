"""Slow, obviously correct references that the fast numerics are tested against.

They are part of the testing kit, not of the library's API: each one spells a
definition out by brute force, so that a test (or a benchmark's exactness
check) compares the vectorised estimator with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from knowable._validation import check_array, check_broadcast, check_in_options
from knowable.bounds.msm import msm_weights

__all__ = ["bound_from_samples_bruteforce"]


def bound_from_samples_bruteforce(
    y_draws: Any,
    propensity: Any,
    lam: Any,
    side: str = "upper",
    mean: Any = None,
    *,
    arm: int = 1,
) -> np.ndarray:
    """All-thresholds O(m²) reference for :func:`knowable.bounds.msm.bound_from_samples`.

    For every draw y_i as threshold, with h_j = 1{y_j ≥ y_i} (upper) or
    1{y_j ≤ y_i} (lower), evaluates μ̂ + mean_j h_j (y_j − μ̂) / (mean_j h_j + α')
    and takes the max (min) together with the empty threshold set (μ̂).

    Parameters
    ----------
    y_draws : array-like of shape (..., m)
        Draws from p(y | x, t), m ≥ 2 per unit along the last axis.
    propensity : array-like broadcastable to ``y_draws.shape[:-1]``
        Nominal propensity e(x), strictly inside (0, 1).
    lam : float or array-like of shape (L,)
        Sensitivity parameter(s) Λ ≥ 1.
    side : {"upper", "lower"}
        Which end of the interval.
    mean : array-like broadcastable to ``y_draws.shape[:-1]``, optional
        Mean of the density; default the sample mean of the draws.
    arm : {0, 1}
        Arm t; arm 0 uses 1 − e in the weights.

    Returns
    -------
    numpy.ndarray
        Shape ``y_draws.shape[:-1]`` for a scalar ``lam``, else ``(L,) + that``.
    """
    side = check_in_options(side, "side", ("upper", "lower"))
    y = check_array(y_draws, "y_draws", ndim=(1, 2, 3, 4))
    if y.shape[-1] < 2:
        raise ValueError(f"y_draws needs at least 2 draws per unit (last axis), got {y.shape}.")
    batch = y.shape[:-1]
    mu = (
        y.mean(-1)
        if mean is None
        else check_broadcast(check_array(mean, "mean", ndim=(0, 1, 2, 3)), batch, "mean")
    )
    e = check_broadcast(np.asarray(propensity, dtype=np.float64), batch, "propensity")
    lams = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    # α' per (Λ, unit) from the public weights (which check propensity, Λ and arm)
    a_prime = np.asarray(msm_weights(e, lams, arm=arm)[2]).reshape(lams.size, -1)
    flat_y = y.reshape(-1, y.shape[-1])
    flat_mu = np.asarray(mu).reshape(-1)
    out = np.empty((lams.size, flat_y.shape[0]))
    for u in range(flat_y.shape[0]):
        d = flat_y[u][None, :] - flat_y[u][:, None]  # d[i, j] = y_j − y_i
        h = (d >= 0) if side == "upper" else (d <= 0)
        frac = h.mean(1)
        part = (h * (flat_y[u] - flat_mu[u])[None, :]).mean(1)
        for li, lv in enumerate(lams):
            a = float(a_prime[li, u])
            if lv == 1.0 or not np.isfinite(a):
                out[li, u] = flat_mu[u]
                continue
            vals = np.append(part / (frac + a), 0.0)
            out[li, u] = flat_mu[u] + (vals.max() if side == "upper" else vals.min())
    result = out.reshape((lams.size, *batch))
    return result[0] if np.ndim(lam) == 0 else result
