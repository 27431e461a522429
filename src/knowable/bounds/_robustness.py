"""Robustness values: the smallest Λ at which a bound interval contains zero."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_array, check_lambda, check_positive_int, check_real

__all__ = ["robustness_from_grid", "robustness_value"]

IntervalFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _contains_zero(fn: IntervalFn, lam: np.ndarray) -> np.ndarray:
    """Whether ``fn(lam)`` contains zero, per unit; the interval must be finite, one per unit."""
    n = lam.shape[0]
    out = fn(lam)
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise TypeError(
            "interval_fn(lam) must return a pair (lower, upper) of arrays of shape (n,)."
        )
    ends = []
    for value, name in zip(out, ("lower", "upper"), strict=True):
        arr = check_array(
            value, f"interval_fn's {name}", ndim=1, allow_nonfinite=True
        )  # refused below, naming Λ
        if arr.shape != (n,):
            raise ValueError(
                f"interval_fn's {name} has shape {arr.shape}, expected ({n},): one value per unit "
                "for the n units."
            )
        if not np.isfinite(arr).all():
            raise ValueError(
                f"interval_fn's {name} has {int(np.isnan(arr).sum())} NaN and "
                f"{int(np.isinf(arr).sum())} infinite value(s) (at Λ up to "
                f"{float(lam.max()):.6g}); a robustness value needs a finite interval."
            )
        ends.append(arr)
    return (ends[0] <= 0.0) & (ends[1] >= 0.0)


def robustness_value(
    interval_fn: IntervalFn,
    n: int,
    *,
    lam_max: float = 100.0,
    tol: float = 1e-4,
    max_iter: int = 60,
) -> np.ndarray:
    """Smallest Λ in [1, Λ_max] at which ``interval_fn`` contains zero, by vectorised bisection.

    Bisection runs on log Λ, all units at once (each unit has its own Λ at
    every step). It relies on the bounds nesting as Λ grows, which holds for
    the MSM bounds.

    Parameters
    ----------
    interval_fn : callable
        ``interval_fn(lam)`` with ``lam`` of shape (n,) (one Λ per unit) returns
        ``(lower, upper)``, each of shape (n,).
    n : int
        Number of units.
    lam_max : float
        Upper end of the search (> 1).
    tol : float
        Tolerance on log Λ.
    max_iter : int
        Bisection steps at most.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``inf`` where the interval excludes zero even at Λ_max; 1 where it
        already contains zero at Λ = 1.
    """
    n = check_positive_int(n, "n")
    lam_max = check_real(lam_max, "lam_max", low=1.0, low_inclusive=False)
    tol = check_real(tol, "tol", low=0.0, low_inclusive=False)
    at_one = _contains_zero(interval_fn, np.ones(n))
    at_max = _contains_zero(interval_fn, np.full(n, lam_max))
    lo = np.zeros(n)  # log Λ where zero is excluded
    hi = np.full(n, np.log(lam_max))  # log Λ where zero is included
    active = ~at_one & at_max
    for _ in range(max_iter):
        if not active.any() or np.max((hi - lo)[active]) < tol:
            break
        mid = 0.5 * (lo + hi)
        inside = _contains_zero(interval_fn, np.exp(np.where(active, mid, hi)))
        hi = np.where(active & inside, mid, hi)
        lo = np.where(active & ~inside, mid, lo)
    out = np.exp(hi)
    out[at_one] = 1.0
    out[~at_one & ~at_max] = np.inf
    return out


def robustness_from_grid(lower: Any, upper: Any, lam: Any) -> np.ndarray:
    """Smallest Λ at which an interval contains zero, from bounds on a grid of Λ.

    Between the last grid value that excludes zero and the first that
    includes it, the crossing is found by linear interpolation of the
    violated bound in log Λ. Used where bounds cannot be evaluated at a
    per-unit Λ cheaply (the B-Learner refits per Λ).

    Parameters
    ----------
    lower, upper : array-like of shape (n_lam, n)
        Bounds at each grid value (rows follow ``lam``).
    lam : array-like of shape (n_lam,)
        Increasing grid of Λ ≥ 1.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``inf`` where no grid value contains zero; ``lam[0]`` where the first does.
        Crossed bounds (lower > upper) count as their hull.
    """
    lo = check_array(lower, "lower", ndim=2)
    up = check_array(upper, "upper", ndim=2)
    grid = check_lambda(lam, "lam")
    if grid.ndim != 1 or grid.size != lo.shape[0] or lo.shape != up.shape:
        raise ValueError(
            f"lower/upper must have shape (len(lam), n); got {lo.shape}, {up.shape}, lam {grid.shape}."
        )
    if np.any(np.diff(grid) <= 0):
        raise ValueError("lam must be strictly increasing.")
    # Separately fitted bounds (B-Learner) can cross in finite samples: use the hull, as
    # knowable.decide does, so both say the same about where a unit flips.
    lo, up = np.minimum(lo, up), np.maximum(lo, up)
    inside = (lo <= 0) & (up >= 0)
    # Force monotonicity: once zero is inside, it stays inside (bounds nest).
    inside = np.maximum.accumulate(inside, axis=0)
    first = np.argmax(inside, axis=0)
    out = np.full(lo.shape[1], np.inf)
    ever = inside.any(0)
    out[ever] = grid[first[ever]]
    log_g = np.log(grid)
    for j in np.flatnonzero(ever & (first > 0)):
        k = first[j]
        # which bound crossed zero: the one that was on the wrong side at k-1
        series = lo[:, j] if lo[k - 1, j] > 0 else up[:, j]
        a, b = series[k - 1], series[k]
        frac = a / (a - b) if a != b else 1.0
        out[j] = float(np.exp(log_g[k - 1] + np.clip(frac, 0.0, 1.0) * (log_g[k] - log_g[k - 1])))
    return out
