"""Weights of the binary marginal sensitivity model (internal, unvalidated helpers).

For arm t with nominal propensity e_t = P(T = t | x) and Λ ≥ 1 (Tan 2006):

    α_t = 1/(Λ e_t) + 1 − 1/Λ  ≤  1/π_t(x, u)  ≤  β_t = Λ/e_t + 1 − Λ,
    α'_t = α_t / (β_t − α_t),   β_t − α_t = (Λ − 1/Λ)(1/e_t − 1).

At Λ = 1 (or e_t = 1) β = α and α' = +∞: every bound collapses to the mean.
"""

from __future__ import annotations

import numpy as np

__all__ = ["alpha_beta", "alpha_prime_from", "arm_propensity", "tail_mass", "tau_level"]


def arm_propensity(propensity: np.ndarray, arm: int) -> np.ndarray:
    """P(T = arm | x) from the nominal propensity e = P(T = 1 | x)."""
    return propensity if arm == 1 else 1.0 - propensity


def alpha_beta(e_t: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(α_t, β_t) for broadcastable arrays ``e_t`` and ``lam``."""
    alpha = 1.0 / (lam * e_t) + 1.0 - 1.0 / lam
    beta = lam / e_t + 1.0 - lam
    return alpha, beta


def alpha_prime_from(e_t: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """α'_t = α_t / (β_t − α_t), +∞ where Λ = 1; β − α is formed without cancellation."""
    alpha = 1.0 / (lam * e_t) + 1.0 - 1.0 / lam
    gap = (lam - 1.0 / lam) * (1.0 / e_t - 1.0)
    with np.errstate(divide="ignore"):
        return np.where(gap > 0, alpha / np.where(gap > 0, gap, 1.0), np.inf)


def tau_level(lam: np.ndarray) -> np.ndarray:
    """Quantile level τ_Λ = Λ / (1 + Λ) of the sharp bound."""
    return lam / (1.0 + lam)


def tail_mass(lam: np.ndarray) -> np.ndarray:
    """1 − τ_Λ = 1 / (1 + Λ), formed directly: ``1 - tau_level`` rounds to 0 for Λ ≳ 1e16."""
    return 1.0 / (1.0 + lam)
