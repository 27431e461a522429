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

from collections.abc import Callable

import numpy as np
from scipy import special

from ._weights import alpha_prime_from, tail_mass

__all__ = [
    "kallus_mixture_upper",
    "mixture_isf",
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


def _bisect(
    lo: np.ndarray,
    hi: np.ndarray,
    root_above: Callable[[np.ndarray], np.ndarray],
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """Elementwise bisection on [lo, hi]; ``root_above(mid)`` is True where the root is > mid."""
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        above = root_above(mid)
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
        if np.max(hi - lo, initial=0.0) < tol:
            break
    return 0.5 * (lo + hi)


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
    return _bisect(
        comp.min(-1),
        comp.max(-1),
        lambda mid: (w * special.ndtr((mid[..., None] - loc) / scale)).sum(-1) < q,
        tol,
        max_iter,
    )


def mixture_isf(
    w: np.ndarray,
    loc: np.ndarray,
    scale: np.ndarray,
    s: np.ndarray,
    *,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> np.ndarray:
    """The upper-tail quantile h with P(Y ≥ h) = s of a Gaussian mixture, by bisection.

    Working with the tail mass ``s`` (not the level 1 − s) keeps tiny tails
    (s ≈ 1e-300, Λ ≈ 1e300) representable.

    Parameters
    ----------
    w, loc, scale : numpy.ndarray of shape (..., C)
        Normalised weights, means and standard deviations.
    s : numpy.ndarray of shape (...)
        Tail masses strictly inside (0, 1).
    tol : float
        Absolute tolerance.
    max_iter : int
        Bisection steps at most.

    Returns
    -------
    numpy.ndarray of shape (...)
    """
    comp = loc - special.ndtri(s)[..., None] * scale  # every component's own isf
    return _bisect(
        comp.min(-1),
        comp.max(-1),
        lambda mid: (w * special.ndtr((loc - mid[..., None]) / scale)).sum(-1) > s,
        tol,
        max_iter,
    )


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
    The supremum V solves α'(V − μ) = E[(Y − V)₊] (increasing minus
    decreasing in V), so it is first bracketed by bisection on the sign of
    that difference, with E[(Y − V)₊] from the scaled Mills ratio (no
    cancellation far out in the tail), and then polished by Dinkelbach's
    iteration. Started at the mean, Dinkelbach alone needs O(z²) steps to
    reach a bound z standard deviations out (huge Λ).

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
        +∞ where α' underflows to 0 (the supremum of a Gaussian's support).
    """
    mu = (w * loc).sum(-1)
    a_prime = alpha_prime_from(e_t, lam)
    collapsed = lam == 1.0
    unbounded = a_prime == 0.0
    a_safe = np.where(collapsed | unbounded, 1.0, a_prime)
    # bracket: at V = μ the difference is <= 0; 40 sd above every component E[(Y − V)₊]
    # underflows to 0 (α' >= 5e-324), so there it is > 0
    lo, hi = mu.copy(), np.maximum((loc + 40.0 * scale).max(-1), mu + 1.0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        below = a_safe * (mid - mu) < _mixture_stop_loss(w, loc, scale, mid)
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    partial, surv = mixture_upper_tail_mean(w, loc, scale, lo, mu)
    h = np.maximum(mu + partial / (a_safe + surv), lo)  # any threshold's value is <= V
    for _ in range(max_iter):
        partial, surv = mixture_upper_tail_mean(w, loc, scale, h, mu)
        new = np.maximum(mu + partial / (a_safe + surv), h)
        moved = np.max(np.abs(new - h), initial=0.0)
        h = new
        if moved < tol:
            break
    return np.where(collapsed, mu, np.where(unbounded, np.inf, h))


def _mixture_stop_loss(
    w: np.ndarray, loc: np.ndarray, scale: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """E[(Y − v)₊] of a Gaussian mixture: Σ_c w_c σ_c (φ(z_c) − z_c Φ̄(z_c)), z_c = (v − μ_c)/σ_c.

    For z > 0 the difference is formed as φ(z)(1 − z R(z)) with the Mills ratio
    R(z) = Φ̄(z)/φ(z) = √(π/2) erfcx(z/√2), which does not cancel to 0 in the tail.
    """
    z = (v[..., None] - loc) / scale
    zp = np.maximum(z, 0.0)
    mills = np.sqrt(np.pi / 2.0) * special.erfcx(zp / np.sqrt(2.0))
    tail = _phi(zp) * np.maximum(1.0 - zp * mills, 0.0)
    body = _phi(z) - z * special.ndtr(-z)
    return (w * scale * np.where(z > 0, tail, body)).sum(-1)


def sharp_mixture_upper(
    w: np.ndarray,
    loc: np.ndarray,
    scale: np.ndarray,
    e_t: np.ndarray,
    lam: np.ndarray,
) -> np.ndarray:
    """Sharp (Dorn–Guo) upper bound ψ⁺ = μ + (1 − e_t)(1 − Λ⁻¹)(CVaR⁺_τ − μ).

    The tail mass 1 − τ = 1/(1 + Λ) is formed directly, so the bound stays
    finite and continuous up to Λ ≈ 1e308 (it grows without limit, as the
    support of a Gaussian does).

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
    collapsed = lam == 1.0
    tail = np.where(collapsed, 0.25, tail_mass(lam))
    if loc.shape[-1] == 1:  # Gaussian: the quantile in closed form
        q = loc[..., 0] - special.ndtri(tail) * scale[..., 0]
    else:
        q = mixture_isf(w, loc, scale, tail)
    partial, _ = mixture_upper_tail_mean(w, loc, scale, q, mu)
    cvar_excess = partial / tail  # CVaR⁺_τ − μ
    bound = mu + (1.0 - e_t) * (1.0 - 1.0 / lam) * cvar_excess
    return np.where(collapsed, mu, bound)
