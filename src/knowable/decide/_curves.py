"""Error versus deferral rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_array, check_consistent_length
from ..effects.metrics import recommendation_error_rate, sqrt_pehe
from ._policies import defer_mask

__all__ = ["DeferralCurve", "deferral_curve"]

DEFAULT_RATES = tuple(np.round(np.arange(0.0, 1.0, 0.05), 2))


@dataclass(frozen=True)
class DeferralCurve:
    """Errors on the retained units at each deferral rate.

    Attributes
    ----------
    rates : numpy.ndarray of shape (r,)
        Requested deferral rates.
    deferred_fraction : numpy.ndarray of shape (r,)
        Share of units actually deferred (differs from ``rates`` when the
        thresholds come from training scores).
    sqrt_pehe : numpy.ndarray of shape (r,)
        √PEHE over the kept units (denominator: number kept; NaN if none kept).
    error_rate : numpy.ndarray of shape (r,)
        Wrong-sign recommendations among kept units divided by ``n_total``.
    n_total : int
        Number of units scored (the error-rate denominator).
    """

    rates: np.ndarray
    deferred_fraction: np.ndarray
    sqrt_pehe: np.ndarray
    error_rate: np.ndarray
    n_total: int

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON."""
        return {
            "rates": self.rates.tolist(),
            "deferred_fraction": self.deferred_fraction.tolist(),
            "sqrt_pehe": self.sqrt_pehe.tolist(),
            "error_rate": self.error_rate.tolist(),
            "n_total": self.n_total,
        }


def deferral_curve(
    estimate: Any,
    truth: Any,
    scores: Any = "random",
    rates: Any = DEFAULT_RATES,
    *,
    train_scores: Any = None,
    random_state: Any = None,
) -> DeferralCurve:
    """√PEHE and recommendation error rate of the kept units at each deferral rate.

    The recommendation error rate is ``#{kept units whose estimated CATE has
    the wrong sign} / N_total``: the denominator counts ALL units, deferred
    ones included, so it falls to 0 at 100 % deferral (ucate / Quince
    convention). √PEHE averages over the kept units only.

    Parameters
    ----------
    estimate, truth : array-like of shape (n,)
        Estimated and true CATE of the units to decide on (test units).
    scores : array-like of shape (n,) or "random"
        Deferral scores of those units (higher = defer first), e.g. from
        :func:`variance_scores`, :func:`sign_scores` or
        :func:`overlap_scores`; ``"random"`` defers ``round(r * n)`` units
        without replacement (one permutation shared by all rates, so the
        deferred sets are nested).
    rates : array-like of shape (r,)
        Deferral rates in [0, 1]; default 0, 0.05, ..., 0.95.
    train_scores : array-like of shape (m,), optional
        Scores of the *training* units: thresholds are their ``1 - r``
        quantiles, applied to the test scores. Without them, the top
        ``round(r * n)`` test units are deferred.
    random_state : int, numpy.random.Generator or None
        Seed of the random policy.

    Returns
    -------
    DeferralCurve
    """
    est = check_array(estimate, "estimate", ndim=1)
    tru = check_array(truth, "truth", ndim=1)
    n = check_consistent_length(estimate=est, truth=tru)
    r_arr = check_array(rates, "rates", ndim=1)
    if ((r_arr < 0) | (r_arr > 1)).any():
        raise ValueError("rates must lie in [0, 1].")
    if isinstance(scores, str):
        if scores != "random":
            raise ValueError(f"scores must be an array of shape (n,) or 'random', got {scores!r}.")
        order = check_random_state(random_state).permutation(n)
        masks = []
        for r in r_arr:
            m = np.zeros(n, dtype=bool)
            m[order[: round(r * n)]] = True
            masks.append(m)
    else:
        s = check_array(scores, "scores", ndim=1)
        check_consistent_length(estimate=est, scores=s)
        masks = [defer_mask(s, float(r), train_scores) for r in r_arr]
    pehe, err, frac = [], [], []
    for deferred in masks:
        keep = ~deferred
        pehe.append(sqrt_pehe(est, tru, keep) if keep.any() else float("nan"))
        err.append(recommendation_error_rate(est, tru, keep))
        frac.append(float(deferred.mean()))
    return DeferralCurve(r_arr, np.asarray(frac), np.asarray(pehe), np.asarray(err), n)
