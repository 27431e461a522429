"""Decisions from effect estimates: treat, do not treat, or defer to a human.

Deferral policies turn a per-unit score into a mask (or ranking) of units to
defer; :func:`deferral_curve` measures √PEHE and the recommendation error rate
(denominator: all units) on the kept units at each deferral rate.
"""

from ._curves import DEFAULT_RATES, DeferralCurve, deferral_curve
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
    "defer_mask",
    "deferral_curve",
    "deferral_ranking",
    "overlap_scores",
    "random_defer_mask",
    "sign_scores",
    "variance_scores",
]
