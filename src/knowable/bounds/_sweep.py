"""Private numerics shared by the MSM bound estimators: input checks, the O(m log m) sweeps.

The sorting estimator of the ratio (Kallus/Quince) bound and the empirical
quantile/CVaR of the sharp (Dorn-Guo) bound both work on the draws sorted per
unit minus the density mean; :func:`bound_over_lambda` validates the inputs once
and evaluates a bound over chunks of Λ values. The public faces are
:mod:`knowable.bounds.msm` (binary MSM) and :mod:`knowable.bounds._continuous`
(continuous MSM); :class:`~knowable.bounds.MSMBounds` calls the sweeps on
cached sorted draws.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_broadcast,
    check_in_options,
    check_lambda,
    check_probability_array,
)
from ._weights import arm_propensity

SIDES = ("upper", "lower")
MAX_ELEMENTS = 2**24  # working-set size of one vectorised chunk over Λ


# ------------------------------------------------------------------ validation
def check_arm(arm: Any) -> int:
    if isinstance(arm, bool) or arm not in (0, 1):
        raise ValueError(f"arm must be 0 or 1, got {arm!r}.")
    return int(arm)


def check_lam(lam: Any) -> tuple[np.ndarray, bool]:
    arr = check_lambda(lam, "lam")
    return np.atleast_1d(arr), arr.ndim == 0


def broadcast_to_batch(value: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    return check_broadcast(value, shape, name)


def check_draws(y_draws: Any) -> np.ndarray:
    y = check_array(y_draws, "y_draws", ndim=(1, 2, 3, 4))
    if y.shape[-1] < 2:
        raise ValueError(f"y_draws needs at least 2 draws per unit (last axis), got {y.shape}.")
    return y


def check_mean(mean: Any, y: np.ndarray) -> np.ndarray:
    if mean is None:
        return y.mean(-1)
    m = check_array(mean, "mean", ndim=(0, 1, 2, 3))
    return np.array(broadcast_to_batch(m, y.shape[:-1], "mean"))


def finish(out: np.ndarray, scalar: bool) -> np.ndarray:
    return out[0] if scalar else out


# ------------------------------------------------------------------ sweeps
def sorted_deviations(y: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Sorted draws minus the mean, shape (..., m)."""
    return np.sort(y, axis=-1) - mean[..., None]


def sweep_upper(dev: np.ndarray, alpha_prime: np.ndarray) -> np.ndarray:
    """max_k Σ_{j≥k} d_(j) / (mα' + (m − k)) over k = 0..m, for sorted deviations d.

    ``alpha_prime`` broadcasts against ``dev.shape[:-1]`` (extra leading axes
    are allowed); +∞ gives 0 (the collapsed bound). The denominator is formed
    as ``mα' + (m − k)``, never ``m(α' + 1) − k``, which rounds to 0 at k = m
    once α' < 1e-16 (Λ ≳ 1e16): as α' → 0 the bound tends to the largest draw.
    The empty tail (k = m) contributes 0.
    """
    m = dev.shape[-1]
    tail = np.cumsum(dev[..., ::-1], axis=-1)[..., ::-1]  # k = 0..m-1, every tail non-empty
    k = np.arange(m, dtype=np.float64)
    a = np.asarray(alpha_prime)[..., None]
    finite = np.isfinite(a)
    denom = m * np.where(finite, a, 1.0) + (m - k)  # >= 1
    best = np.maximum((tail / denom).max(-1), 0.0)
    return np.where(finite[..., 0], best, 0.0)


def sweep_lower(dev: np.ndarray, alpha_prime: np.ndarray) -> np.ndarray:
    """min_k Σ_{j<k} d_(j) / (mα' + k) over k = 0..m (k = 0: the empty head, 0).

    As α' → 0 the bound tends to the smallest draw.
    """
    m = dev.shape[-1]
    head = np.cumsum(dev, axis=-1)  # k = 1..m, every head non-empty
    k = np.arange(1, m + 1, dtype=np.float64)
    a = np.asarray(alpha_prime)[..., None]
    finite = np.isfinite(a)
    denom = m * np.where(finite, a, 1.0) + k  # >= 1
    best = np.minimum((head / denom).min(-1), 0.0)
    return np.where(finite[..., 0], best, 0.0)


def cvar_excess(dev: np.ndarray, tail: np.ndarray, side: str) -> np.ndarray:
    """Tail mean of the top (upper) or bottom (lower) fraction ``tail`` = 1 − τ of the
    empirical distribution of sorted ``dev``, minus the centring constant.

    ``tail`` (e.g. :func:`~knowable.bounds._weights.tail_mass`, 1/(1+Λ)) broadcasts against
    ``dev.shape[:-1]``; it is passed directly, not as τ, so that it stays positive for huge Λ,
    where the tail mean tends to the largest (smallest) draw.
    """
    m = dev.shape[-1]
    mass = m * np.asarray(tail)  # number of draws in the tail, fractional, > 0
    whole = np.floor(mass).astype(np.int64)
    frac = mass - whole
    ordered = dev[..., ::-1] if side == "upper" else dev
    csum = np.concatenate([np.zeros((*dev.shape[:-1], 1)), np.cumsum(ordered, axis=-1)], -1)
    shape = np.broadcast_shapes(csum.shape[:-1], whole.shape)
    csum_b = np.broadcast_to(csum, (*shape, m + 1))
    ord_b = np.broadcast_to(ordered, (*shape, m))
    whole_b = np.broadcast_to(whole, shape)
    total = np.take_along_axis(csum_b, whole_b[..., None], -1)[..., 0]
    nxt = np.take_along_axis(ord_b, np.minimum(whole_b, m - 1)[..., None], -1)[..., 0]
    return (total + frac * nxt) / mass


def lam_chunks(n_lam: int, per_lam: int) -> list[slice]:
    step = max(1, MAX_ELEMENTS // max(per_lam, 1))
    return [slice(i, min(i + step, n_lam)) for i in range(0, n_lam, step)]


# --------------------------------------------------------------------------- from samples
def bound_over_lambda(
    y_draws: Any,
    propensity: Any,
    lam: Any,
    side: str,
    mean: Any,
    arm: Any,
    offset: Callable[[np.ndarray, np.ndarray | None, np.ndarray, str], np.ndarray],
    *,
    needs_propensity: bool = True,
) -> np.ndarray:
    """Validate the inputs once, then ``mean + offset(...)`` for chunks of Λ values.

    ``offset(dev, e_t, lam_b, side)`` gets the sorted deviations from the mean
    ``(..., m)``, the arm's propensity ``(...)`` (``None`` with
    ``needs_propensity=False``, as in the continuous MSM, whose weights do not
    depend on it) and a
    column of Λ values ``(L, 1, ...)``; at Λ = 1 the bound is set to the mean exactly.
    """
    side = check_in_options(side, "side", SIDES)
    arm = check_arm(arm)
    y = check_draws(y_draws)
    batch = y.shape[:-1]
    e_t = None
    if needs_propensity:
        e = broadcast_to_batch(
            check_probability_array(propensity, "propensity"), batch, "propensity"
        )
        e_t = arm_propensity(e, arm)
    mu = check_mean(mean, y)
    lams, scalar = check_lam(lam)
    dev = sorted_deviations(y, mu)
    out = np.empty((lams.size, *batch))
    for sl in lam_chunks(lams.size, y.size):
        lam_b = lams[sl].reshape((-1,) + (1,) * len(batch))
        out[sl] = mu + offset(dev, e_t, lam_b, side)
    out[lams == 1.0] = mu
    return finish(out, scalar)
