"""Closed-form MSM bounds for Gaussian and Gaussian-mixture outcome densities.

Both bounds on E[Y(t) | x] under the binary marginal sensitivity model are
computed exactly (to floating-point tolerance) when Y | x, t is a Gaussian or
a finite Gaussian mixture:

* the ratio bound of Kallus, Mao & Zhou (2019) used by Quince — *valid
  (conservative)* — by Dinkelbach's iteration, which is exact for this
  fractional programme because the inner maximisation over the threshold has
  the closed-form solution "threshold = current value";
* the sharp bound of Dorn & Guo (2022) from the mixture's τ_Λ-quantile (by
  vectorised bisection) and its tail expectation (closed form).

The lower bounds follow from the upper ones by reflection, Y -> -Y.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._weights import alpha_prime_from, tau_level

__all__ = [
    "kallus_mixture_upper",
    "mixture_quantile",
    "mixture_upper_tail_mean",
    "sharp_mixture_upper",
]

_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / _SQRT_2PI


def mixture_upper_tail_mean(
    w: np.ndarray, loc: np.ndarray, scale: np.ndarray, h: np.ndarray, centre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """E[(Y − centre)·1{Y ≥ h}] and P(Y ≥ h) for a Gaussian mixture.

    Parameters
    ----------
    w, loc, scale : numpy.ndarray of shape (..., C)
        Normalised weights, means and standard deviations of the components.
    h, centre : numpy.ndarray of shape (...)
        Threshold and centring constant.

    Returns
    -------
    partial : numpy.ndarray of shape (...)
    survival : numpy.ndarray of shape (...)
    """
    z = (h[..., None] - loc) / scale
    sf = special.ndtr(-z)
    partial = (w * ((loc - centre[..., None]) * sf + scale * _phi(z))).sum(-1)
    return partial, (w * sf).sum(-1)


def mixture_quantile(
    w: np.ndarray,
    loc: np.ndarray,
    scale: np.ndarray,
    q: np.ndarray,
    *,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> np.ndarray:
    """The q-quantile of a Gaussian mixture by vectorised bisection.

    Parameters
    ----------
    w, loc, scale : numpy.ndarray of shape (..., C)
        Normalised weights, means and standard deviations.
    q : numpy.ndarray of shape (...)
        Levels strictly inside (0, 1).
    tol : float
        Absolute tolerance.
    max_iter : int
        Bisection steps at most.

    Returns
    -------
    numpy.ndarray of shape (...)
    """
    # The mixture quantile lies between the smallest and largest component quantiles.
    comp = loc + special.ndtri(q)[..., None] * scale
    lo, hi = comp.min(-1), comp.max(-1)
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        below = (w * special.ndtr((mid[..., None] - loc) / scale)).sum(-1) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.max(hi - lo, initial=0.0) < tol:
            break
    return 0.5 * (lo + hi)


def kallus_mixture_upper(
    w: np.ndarray,
    loc: np.ndarray,
    scale: np.ndarray,
    e_t: np.ndarray,
    lam: np.ndarray,
    *,
    tol: float = 1e-13,
    max_iter: int = 200,
) -> np.ndarray:
    """Ratio (Kallus/Quince) upper bound sup_h μ + E[(Y−μ)1{Y≥h}] / (α' + P(Y≥h)).

    Dinkelbach's iteration h <- g(h) is exact here: for the current value λ,
    the inner problem max_h E[(Y − λ)·1{Y ≥ h}] is solved by h = λ, so the
    iterates increase monotonically to the global supremum (superlinearly).

    Parameters
    ----------
    w, loc, scale : numpy.ndarray of shape (..., C)
        Mixture components (already broadcast against ``e_t`` and ``lam``).
    e_t : numpy.ndarray of shape (...)
        Nominal propensity of the arm, P(T = t | x).
    lam : numpy.ndarray of shape (...)
        Sensitivity parameter Λ ≥ 1.
    tol : float
        Stop when no iterate moves by more than ``tol``.
    max_iter : int
        Iterations at most.

    Returns
    -------
    numpy.ndarray of shape (...)
    """
    mu = (w * loc).sum(-1)
    a_prime = alpha_prime_from(e_t, lam)
    collapsed = lam == 1.0
    a_safe = np.where(collapsed, 1.0, a_prime)
    h = mu.copy()
    for _ in range(max_iter):
        partial, surv = mixture_upper_tail_mean(w, loc, scale, h, mu)
        new = mu + partial / (a_safe + surv)
        moved = np.max(np.abs(new - h), initial=0.0)
        h = new
        if moved < tol:
            break
    return np.where(collapsed, mu, h)


def sharp_mixture_upper(
    w: np.ndarray,
    loc: np.ndarray,
    scale: np.ndarray,
    e_t: np.ndarray,
    lam: np.ndarray,
) -> np.ndarray:
    """Sharp (Dorn–Guo) upper bound ψ⁺ = μ + (1 − e_t)(1 − Λ⁻¹)(CVaR⁺_τ − μ).

    Parameters
    ----------
    w, loc, scale : numpy.ndarray of shape (..., C)
        Mixture components (already broadcast against ``e_t`` and ``lam``).
    e_t : numpy.ndarray of shape (...)
        Nominal propensity of the arm.
    lam : numpy.ndarray of shape (...)
        Sensitivity parameter Λ ≥ 1.

    Returns
    -------
    numpy.ndarray of shape (...)
    """
    mu = (w * loc).sum(-1)
    tau = tau_level(lam)
    collapsed = lam == 1.0
    tau_safe = np.where(collapsed, 0.75, tau)
    if loc.shape[-1] == 1:  # Gaussian: z_τ in closed form
        q = loc[..., 0] + special.ndtri(tau_safe) * scale[..., 0]
    else:
        q = mixture_quantile(w, loc, scale, tau_safe)
    partial, _ = mixture_upper_tail_mean(w, loc, scale, q, mu)
    cvar_excess = partial / (1.0 - tau_safe)  # CVaR⁺_τ − μ
    bound = mu + (1.0 - e_t) * (1.0 - 1.0 / lam) * cvar_excess
    return np.where(collapsed, mu, bound)
