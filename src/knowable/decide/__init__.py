"""Decisions from effect estimates: treat, do not treat, or defer to a human.

Deferral policies turn a per-unit score into a mask (or ranking) of units to
defer; :func:`deferral_curve` measures √PEHE and the recommendation error rate
(denominator: all units) on the kept units at each deferral rate. Under
hidden confounding, :func:`ignorance_defer_mask` defers where the Λ-bounds
straddle zero, :func:`ignorance_scores` ranks units by the Λ at which they
flip, and :func:`error_rate_vs_lambda` traces errors and deferrals as Λ grows.
"""

from ._curves import DEFAULT_RATES, DeferralCurve, deferral_curve
from ._ignorance import (
    IgnoranceCurve,
    error_rate_vs_lambda,
    ignorance_defer_mask,
    ignorance_recommendation,
    ignorance_scores,
)
from ._policies import (
    defer_mask,
    deferral_ranking,
    overlap_scores,
    random_defer_mask,
    sign_scores,
    variance_scores,
)

__all__ = [
    "DEFAULT_RATES",
    "DeferralCurve",
    "IgnoranceCurve",
    "defer_mask",
    "deferral_curve",
    "deferral_ranking",
    "error_rate_vs_lambda",
    "ignorance_defer_mask",
    "ignorance_recommendation",
    "ignorance_scores",
    "overlap_scores",
    "random_defer_mask",
    "sign_scores",
    "variance_scores",
]
