"""Deferral under ignorance: defer the units whose Λ-bounds straddle zero.

Under the marginal sensitivity model a unit's CATE is only known to lie in
``[lower(Λ), upper(Λ)]``. If that interval contains zero, the data cannot say
whether to treat, whatever the sample size: the decision is deferred. Units
whose interval excludes zero get the interval's sign. Sweeping Λ upward gives
the error rate versus Λ (and versus the share deferred); ranking units by the
smallest Λ at which their interval first contains zero gives a deferral order
(Quince's "sensitivity" policy; with bounds widened by the epistemic spread,
its "ignorance" policy).

Bounds are passed as arrays, ``lower``/``upper`` of shape (n,) at one Λ or
(L, n) on a grid of Λ, optionally with spreads of the same shape (e.g. the
ensemble standard deviations of :class:`knowable.bounds.Bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_array, check_lambda, check_real

__all__ = [
    "IgnoranceCurve",
    "error_rate_vs_lambda",
    "ignorance_defer_mask",
    "ignorance_recommendation",
    "ignorance_scores",
]


def _check_bounds(
    lower: Any,
    upper: Any,
    lower_spread: Any,
    upper_spread: Any,
    k: Any,
    ndim: int | tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and widen the bounds: ``lower - k * lower_spread``, ``upper + k * upper_spread``."""
    lo = check_array(lower, "lower", ndim=ndim)
    up = check_array(upper, "upper", ndim=ndim)
    if lo.shape != up.shape:
        raise ValueError(f"lower {lo.shape} and upper {up.shape} must share one shape.")
    # Separately fitted bounds (B-Learner) can cross in finite samples: use the hull.
    lo, up = np.minimum(lo, up), np.maximum(lo, up)
    k = check_real(k, "k", low=0.0)
    if (lower_spread is None) != (upper_spread is None):
        raise ValueError("give both lower_spread and upper_spread, or neither.")
    if lower_spread is not None:
        lo_s = check_array(lower_spread, "lower_spread", ndim=ndim)
        up_s = check_array(upper_spread, "upper_spread", ndim=ndim)
        if lo_s.shape != lo.shape or up_s.shape != lo.shape:
            raise ValueError(
                f"spreads must have the bounds' shape {lo.shape}; got {lo_s.shape}, {up_s.shape}."
            )
        if (lo_s < 0).any() or (up_s < 0).any():
            raise ValueError("spreads must be non-negative.")
        lo, up = lo - k * lo_s, up + k * up_s
    elif k > 0:
        raise ValueError("k > 0 widens by the spreads: give lower_spread and upper_spread.")
    return lo, up


def ignorance_defer_mask(
    lower: Any,
    upper: Any,
    *,
    lower_spread: Any = None,
    upper_spread: Any = None,
    k: float = 0.0,
) -> np.ndarray:
    """Defer where the (optionally widened) bound interval contains zero.

    Parameters
    ----------
    lower, upper : array-like of shape (n,) or (L, n)
        CATE bounds at one Λ or on a grid of Λ.
    lower_spread, upper_spread : array-like of the same shape, optional
        Epistemic spreads; the interval becomes
        ``[lower - k * lower_spread, upper + k * upper_spread]``.
    k : float
        Number of spreads to widen by (≥ 0; > 0 needs the spreads).

    Returns
    -------
    numpy.ndarray of bool, same shape as ``lower``
        True = defer.
    """
    lo, up = _check_bounds(lower, upper, lower_spread, upper_spread, k, ndim=(1, 2))
    return (lo <= 0.0) & (up >= 0.0)


def ignorance_recommendation(lower: Any, upper: Any) -> np.ndarray:
    """Treatment recommendation from a bound interval: +1 treat, −1 do not, 0 defer.

    Parameters
    ----------
    lower, upper : array-like of shape (n,) or (L, n)
        CATE bounds (already widened if wanted).

    Returns
    -------
    numpy.ndarray of int, same shape
        +1 where ``lower > 0``, −1 where ``upper < 0``, 0 where the interval
        contains zero.
    """
    lo, up = _check_bounds(lower, upper, None, None, 0.0, ndim=(1, 2))
    return np.where(lo > 0.0, 1, np.where(up < 0.0, -1, 0))


def ignorance_scores(
    lower: Any,
    upper: Any,
    lam: Any,
    *,
    lower_spread: Any = None,
    upper_spread: Any = None,
    k: float = 0.0,
) -> np.ndarray:
    """Deferral scores from bounds on a Λ grid: units that flip at a smaller Λ come first.

    With Λ_i the first grid value at which unit i's interval contains zero
    (intervals are treated as nested: once zero is inside it stays inside),
    the score is ``1 + 1/Λ_i`` ∈ (1, 2]. Units whose interval excludes zero on
    the whole grid score ``1 / (1 + m_i)`` ∈ (0, 1], with m_i = min(|lower|,
    |upper|) at the largest Λ (the nearest bound's distance from zero), so
    they come last, least-robust first (Quince's ordering). Higher = defer
    first; use with :func:`knowable.decide.deferral_curve`.

    Parameters
    ----------
    lower, upper : array-like of shape (L, n)
        Bounds on the grid ``lam``.
    lam : array-like of shape (L,)
        Strictly increasing Λ ≥ 1.
    lower_spread, upper_spread : array-like of shape (L, n), optional
        Epistemic spreads (for the "ignorance" intervals).
    k : float
        Number of spreads to widen by.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    lo, up = _check_bounds(lower, upper, lower_spread, upper_spread, k, ndim=2)
    grid = _check_grid(lam, lo.shape[0])
    inside = np.maximum.accumulate((lo <= 0.0) & (up >= 0.0), axis=0)
    ever = inside.any(0)
    first = np.argmax(inside, axis=0)
    margin = np.minimum(np.abs(lo[-1]), np.abs(up[-1]))
    return np.where(ever, 1.0 + 1.0 / grid[first], 1.0 / (1.0 + margin))


def _check_grid(lam: Any, n_lam: int) -> np.ndarray:
    grid = check_lambda(lam, "lam")
    if grid.ndim != 1 or grid.size != n_lam:
        raise ValueError(f"lam must have shape ({n_lam},) to match the bounds; got {grid.shape}.")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("lam must be strictly increasing.")
    return grid


@dataclass(frozen=True)
class IgnoranceCurve:
    """Decisions at each Λ: defer where the interval straddles zero, else follow its sign.

    Attributes
    ----------
    lam : numpy.ndarray of shape (L,)
        The Λ grid.
    deferred_fraction : numpy.ndarray of shape (L,)
        Share of units deferred at each Λ.
    error_rate : numpy.ndarray of shape (L,)
        Kept units whose recommended sign is wrong, divided by ``n_total``
        (all units, deferred ones included).
    n_total : int
        Number of units.
    """

    lam: np.ndarray
    deferred_fraction: np.ndarray
    error_rate: np.ndarray
    n_total: int

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON."""
        return {
            "lam": self.lam.tolist(),
            "deferred_fraction": self.deferred_fraction.tolist(),
            "error_rate": self.error_rate.tolist(),
            "n_total": self.n_total,
        }


def error_rate_vs_lambda(
    lower: Any,
    upper: Any,
    lam: Any,
    truth: Any,
    *,
    lower_spread: Any = None,
    upper_spread: Any = None,
    k: float = 0.0,
) -> IgnoranceCurve:
    """Recommendation error rate and deferred share as Λ grows.

    At each Λ a unit is deferred if its (widened) interval contains zero;
    otherwise it is recommended treatment if ``lower > 0`` and no treatment if
    ``upper < 0``. A kept unit is wrong when that sign disagrees with the true
    CATE's (a true CATE of 0 counts as "do not treat", as in
    :func:`knowable.effects.metrics.recommendation_error_rate`). The error rate
    divides by all units.

    Parameters
    ----------
    lower, upper : array-like of shape (L, n)
        Bounds on the grid ``lam``.
    lam : array-like of shape (L,)
        Strictly increasing Λ ≥ 1.
    truth : array-like of shape (n,)
        True CATE.
    lower_spread, upper_spread : array-like of shape (L, n), optional
        Epistemic spreads.
    k : float
        Number of spreads to widen by.

    Returns
    -------
    IgnoranceCurve
    """
    lo, up = _check_bounds(lower, upper, lower_spread, upper_spread, k, ndim=2)
    grid = _check_grid(lam, lo.shape[0])
    tru = check_array(truth, "truth", ndim=1)
    if tru.shape[0] != lo.shape[1]:
        raise ValueError(f"truth has {tru.shape[0]} units, the bounds {lo.shape[1]}.")
    rec = ignorance_recommendation(lo, up)
    wrong = (rec != 0) & ((rec > 0) != (tru > 0)[None, :])
    n = tru.shape[0]
    return IgnoranceCurve(grid, (rec == 0).mean(1), wrong.sum(1) / n, n)
