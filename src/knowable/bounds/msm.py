"""Numerics of the binary marginal sensitivity model (MSM): pure, vectorised NumPy.

Notation: e = P(T = 1 | x) is the nominal propensity; arm t uses e_t = e for
t = 1 and e_t = 1 − e for t = 0. Λ ≥ 1 bounds the odds ratio between the
complete propensity π(x, u) and e(x). Two bounds on E[Y(t) | x] are offered:

* ``method="kallus"`` — the ratio bound of Kallus, Mao & Zhou (2019) as
  computed by Quince/Overcast: **valid (conservative)**; it ignores the
  constraint E[1/π | x, t] = 1/e_t and is never narrower than the sharp one.
* ``method="sharp"`` — the quantile/CVaR bound of Dorn & Guo (2022) used by
  the B-Learner: **sharp** (the tightest valid bound under the MSM).

Each is available from Monte-Carlo draws of p(y | x, t) (the sorting
estimator, O(m log m) per unit) and in closed form for Gaussian and
Gaussian-mixture densities. CATE bounds combine the arms as
τ⁺ = μ⁺₁ − μ⁻₀ and τ⁻ = μ⁻₁ − μ⁺₀.

Shapes: ``lam`` may be a scalar (results have the batch shape of the units)
or a 1-d array of L values (results gain a leading axis of length L).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_in_options,
    check_probability_array,
)
from ._closed_form import kallus_mixture_upper, sharp_mixture_upper
from ._sweep import (
    SIDES,
    bound_over_lambda,
    broadcast_to_batch,
    check_arm,
    check_lam,
    cvar_excess,
    finish,
    sweep_lower,
    sweep_upper,
)
from ._weights import alpha_beta, alpha_prime_from, arm_propensity, tail_mass

__all__ = [
    "bound_from_samples",
    "cate_bounds",
    "kallus_bound_gaussian",
    "kallus_bound_mixture",
    "msm_weights",
    "sharp_bound_from_samples",
    "sharp_bound_gaussian",
    "sharp_bound_mixture",
]


# --------------------------------------------------------------------------- weights
def msm_weights(
    propensity: Any, lam: Any, *, arm: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MSM bounds α ≤ 1/π_t ≤ β on the inverse complete propensity, and α'.

    Parameters
    ----------
    propensity : array-like of shape (n,) or scalar
        Nominal propensity e(x) = P(T = 1 | x), strictly inside (0, 1).
    lam : float or array-like of shape (L,)
        Sensitivity parameter(s) Λ ≥ 1.
    arm : {0, 1}
        Arm t; arm 0 uses e_0 = 1 − e.

    Returns
    -------
    alpha, beta, alpha_prime : numpy.ndarray
        Shape of ``propensity`` for a scalar ``lam``, else ``(L,) + shape``.
        α = 1/(Λe_t) + 1 − 1/Λ, β = Λ/e_t + 1 − Λ, α' = α/(β − α)
        (+∞ at Λ = 1, where every bound collapses to the mean).
    """
    arm = check_arm(arm)
    e = check_probability_array(propensity, "propensity")
    lams, scalar = check_lam(lam)
    e_t = arm_propensity(e, arm)[None]
    lam_b = lams.reshape((-1,) + (1,) * e.ndim)
    alpha, beta = alpha_beta(e_t, lam_b)
    a_prime = alpha_prime_from(e_t, lam_b)
    return finish(alpha, scalar), finish(beta, scalar), finish(a_prime, scalar)


def bound_from_samples(
    y_draws: Any,
    propensity: Any,
    lam: Any,
    side: str = "upper",
    mean: Any = None,
    *,
    arm: int = 1,
) -> np.ndarray:
    """Ratio (Kallus/Quince) bound on E[Y(t) | x] from draws: **valid (conservative)**.

    The sorting estimator: with the draws sorted, y_(0) ≤ … ≤ y_(m−1), and μ̂
    the mean of the density,

        μ⁺ = μ̂ + max_k Σ_{j≥k} (y_(j) − μ̂) / (m(α'+1) − k),   k = 0..m,
        μ⁻ = μ̂ + min_k Σ_{j<k} (y_(j) − μ̂) / (mα' + k),       k = 0..m,

    one sort and one cumulative sum per unit (O(m log m)), vectorised over
    units and over an array of Λ values. At Λ = 1 the bound is μ̂ exactly.

    Parameters
    ----------
    y_draws : array-like of shape (..., m)
        Draws from p(y | x, t), m ≥ 2 per unit along the last axis; the
        leading axes (e.g. ``(n,)`` or ``(S, n)``) index units.
    propensity : array-like broadcastable to ``y_draws.shape[:-1]``
        Nominal propensity e(x) = P(T = 1 | x), strictly inside (0, 1).
    lam : float or array-like of shape (L,)
        Sensitivity parameter(s) Λ ≥ 1.
    side : {"upper", "lower"}
        Which end of the interval.
    mean : array-like broadcastable to ``y_draws.shape[:-1]``, optional
        Analytic mean of the density (recommended, as in Quince); default
        the sample mean of the draws.
    arm : {0, 1}
        Arm t; arm 0 uses 1 − e in the weights.

    Returns
    -------
    numpy.ndarray
        Shape ``y_draws.shape[:-1]`` for a scalar ``lam``, else ``(L,) + that``.
    """

    def ratio_offset(
        dev: np.ndarray, e_t: np.ndarray | None, lam_b: np.ndarray, side: str
    ) -> np.ndarray:
        if e_t is None:  # bound_over_lambda passes it (needs_propensity=True)
            raise ValueError("the ratio bound needs the propensity.")
        sweep = sweep_upper if side == "upper" else sweep_lower
        return sweep(dev, alpha_prime_from(e_t, lam_b))

    return bound_over_lambda(y_draws, propensity, lam, side, mean, arm, ratio_offset)


def bound_from_samples_bruteforce(*args: Any, **kwargs: Any) -> np.ndarray:
    """Deprecated: use :func:`knowable.testing.bound_from_samples_bruteforce`.

    The O(m²) reference of :func:`bound_from_samples` moved to the testing kit;
    this alias warns and forwards, and goes in the next release.
    """
    warnings.warn(
        "knowable.bounds.msm.bound_from_samples_bruteforce moved to "
        "knowable.testing.bound_from_samples_bruteforce; this alias goes in the next release.",
        DeprecationWarning,
        stacklevel=2,
    )
    from ..testing import bound_from_samples_bruteforce as reference  # the deprecated path only

    return reference(*args, **kwargs)


def sharp_bound_from_samples(
    y_draws: Any,
    propensity: Any,
    lam: Any,
    side: str = "upper",
    mean: Any = None,
    *,
    arm: int = 1,
) -> np.ndarray:
    """Sharp (Dorn–Guo) bound on E[Y(t) | x] from draws: **sharp**.

    With τ = Λ/(1+Λ) and the empirical tail means CVaR⁺_τ = E[Y | Y ≥ q_τ],
    CVaR⁻ = E[Y | Y ≤ q_{1−τ}] (fractional draws at the cut, so the estimate
    is exact for the empirical distribution),

        ψ± = e_t μ + (1 − e_t) ρ±,   ρ± = μ/Λ + (1 − 1/Λ) CVaR±,

    written as ψ± = μ + (1 − e_t)(1 − 1/Λ)(CVaR± − μ), which is μ exactly at Λ = 1.

    Parameters
    ----------
    y_draws, propensity, lam, side, mean, arm
        As in :func:`bound_from_samples`.

    Returns
    -------
    numpy.ndarray
        Shape ``y_draws.shape[:-1]`` for a scalar ``lam``, else ``(L,) + that``.
    """

    def sharp_offset(
        dev: np.ndarray, e_t: np.ndarray | None, lam_b: np.ndarray, side: str
    ) -> np.ndarray:
        if e_t is None:  # bound_over_lambda passes it (needs_propensity=True)
            raise ValueError("the sharp bound needs the propensity.")
        excess = cvar_excess(dev, tail_mass(lam_b), side)
        return (1.0 - e_t) * (1.0 - 1.0 / lam_b) * excess

    return bound_over_lambda(y_draws, propensity, lam, side, mean, arm, sharp_offset)


# --------------------------------------------------------------------------- closed forms
def _check_mixture(weights: Any, loc: Any, scale: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    loc_a = check_array(loc, "loc", ndim=(1, 2, 3, 4))
    scale_a = check_array(scale, "scale", ndim=(1, 2, 3, 4))
    w_a = check_array(weights, "weights", ndim=(1, 2, 3, 4))
    if not (w_a.shape == loc_a.shape == scale_a.shape):
        raise ValueError(
            f"weights, loc and scale must share one shape (..., C); got {w_a.shape}, "
            f"{loc_a.shape}, {scale_a.shape}."
        )
    if (scale_a <= 0).any():
        raise ValueError("scale must be strictly positive.")
    if (w_a < 0).any() or not np.allclose(w_a.sum(-1), 1.0, atol=1e-8):
        raise ValueError("weights must be non-negative and sum to 1 over the last axis.")
    return w_a, loc_a, scale_a


def _closed_form(
    kind: str,
    w: np.ndarray,
    loc: np.ndarray,
    scale: np.ndarray,
    propensity: Any,
    lam: Any,
    side: str,
    arm: int,
) -> np.ndarray:
    side = check_in_options(side, "side", SIDES)
    arm = check_arm(arm)
    batch = loc.shape[:-1]
    e = broadcast_to_batch(check_probability_array(propensity, "propensity"), batch, "propensity")
    lams, scalar = check_lam(lam)
    e_t = arm_propensity(e, arm)
    sign = 1.0 if side == "upper" else -1.0
    upper = kallus_mixture_upper if kind == "kallus" else sharp_mixture_upper
    shape = (lams.size, *batch)
    lam_b = np.broadcast_to(lams.reshape((-1,) + (1,) * len(batch)), shape)
    bcast = lambda a: np.broadcast_to(a[None], (*shape, a.shape[-1]))  # noqa: E731
    out = sign * upper(
        bcast(w), bcast(sign * loc), bcast(scale), np.broadcast_to(e_t, shape), lam_b
    )
    return finish(out, scalar)


def kallus_bound_mixture(
    weights: Any,
    loc: Any,
    scale: Any,
    propensity: Any,
    lam: Any,
    side: str = "upper",
    *,
    arm: int = 1,
) -> np.ndarray:
    """Ratio (Kallus/Quince) bound for a Gaussian-mixture density, in closed form:
    **valid (conservative)**.

    μ⁺ = sup_h μ + E[(Y − μ)1{Y ≥ h}] / (α' + P(Y ≥ h)), solved exactly by
    Dinkelbach's iteration (at the optimum the threshold equals the bound).

    Parameters
    ----------
    weights, loc, scale : array-like of shape (..., C)
        Mixture weights (summing to 1), component means and standard deviations.
    propensity : array-like broadcastable to ``loc.shape[:-1]``
        Nominal propensity e(x), strictly inside (0, 1).
    lam : float or array-like of shape (L,)
        Sensitivity parameter(s) Λ ≥ 1.
    side : {"upper", "lower"}
        Which end of the interval.
    arm : {0, 1}
        Arm t; arm 0 uses 1 − e.

    Returns
    -------
    numpy.ndarray
        Shape ``loc.shape[:-1]`` for a scalar ``lam``, else ``(L,) + that``.
    """
    w, loc_a, scale_a = _check_mixture(weights, loc, scale)
    return _closed_form("kallus", w, loc_a, scale_a, propensity, lam, side, arm)


def sharp_bound_mixture(
    weights: Any,
    loc: Any,
    scale: Any,
    propensity: Any,
    lam: Any,
    side: str = "upper",
    *,
    arm: int = 1,
) -> np.ndarray:
    """Sharp (Dorn–Guo) bound for a Gaussian-mixture density, in closed form: **sharp**.

    The τ_Λ-quantile is found by vectorised bisection (to 1e-12) and the tail
    mean in closed form, E[Y·1{Y ≥ q}] = Σ_c w_c (μ_c Φ̄(z_c) + σ_c φ(z_c)).

    Parameters
    ----------
    weights, loc, scale, propensity, lam, side, arm
        As in :func:`kallus_bound_mixture`.

    Returns
    -------
    numpy.ndarray
        Shape ``loc.shape[:-1]`` for a scalar ``lam``, else ``(L,) + that``.
    """
    w, loc_a, scale_a = _check_mixture(weights, loc, scale)
    return _closed_form("sharp", w, loc_a, scale_a, propensity, lam, side, arm)


def _gaussian_components(
    mu: Any, sigma: Any, propensity: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mu_a = check_array(mu, "mu", ndim=(0, 1, 2, 3))
    sigma_a = check_array(sigma, "sigma", ndim=(0, 1, 2, 3))
    if (sigma_a <= 0).any():
        raise ValueError("sigma must be strictly positive.")
    e_a = check_probability_array(propensity, "propensity")
    try:
        mu_b, sigma_b, e_b = np.broadcast_arrays(mu_a, sigma_a, e_a)
    except ValueError:
        raise ValueError(
            f"mu {mu_a.shape}, sigma {sigma_a.shape} and propensity {e_a.shape} do not broadcast."
        ) from None
    return np.ones((*mu_b.shape, 1)), mu_b[..., None], sigma_b[..., None], e_b


def kallus_bound_gaussian(
    mu: Any, sigma: Any, propensity: Any, lam: Any, side: str = "upper", *, arm: int = 1
) -> np.ndarray:
    """Ratio (Kallus/Quince) bound for Y | x, t ~ N(μ, σ²): **valid (conservative)**.

    μ⁺ = μ + σ · max_z φ(z) / (α' + Φ̄(z)), solved exactly (Dinkelbach); the
    maximising threshold equals the bound.

    Parameters
    ----------
    mu, sigma : array-like of shape (n,) or scalar
        Mean and standard deviation (> 0) of the outcome density.
    propensity : array-like
        Nominal propensity e(x), strictly inside (0, 1); ``mu``, ``sigma``
        and ``propensity`` broadcast together.
    lam : float or array-like of shape (L,)
        Sensitivity parameter(s) Λ ≥ 1.
    side : {"upper", "lower"}
        Which end of the interval.
    arm : {0, 1}
        Arm t; arm 0 uses 1 − e.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of the inputs for a scalar ``lam``, else ``(L,) + that``.
    """
    w, loc, scale, e = _gaussian_components(mu, sigma, propensity)
    return _closed_form("kallus", w, loc, scale, e, lam, side, arm)


def sharp_bound_gaussian(
    mu: Any, sigma: Any, propensity: Any, lam: Any, side: str = "upper", *, arm: int = 1
) -> np.ndarray:
    """Sharp (Dorn–Guo) bound for Y | x, t ~ N(μ, σ²), in closed form: **sharp**.

    ψ± = μ ± (1 − e_t)(1 − 1/Λ) σ φ(z_τ) / (1 − τ_Λ), τ_Λ = Λ/(1+Λ), z_τ = Φ⁻¹(τ_Λ).

    Parameters
    ----------
    mu, sigma, propensity, lam, side, arm
        As in :func:`kallus_bound_gaussian`.

    Returns
    -------
    numpy.ndarray
        Broadcast shape of the inputs for a scalar ``lam``, else ``(L,) + that``.
    """
    w, loc, scale, e = _gaussian_components(mu, sigma, propensity)
    return _closed_form("sharp", w, loc, scale, e, lam, side, arm)


# --------------------------------------------------------------------------- CATE assembly
def cate_bounds(
    upper1: Any, lower1: Any, upper0: Any, lower0: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Combine per-arm bounds into CATE bounds: τ⁻ = μ⁻₁ − μ⁺₀, τ⁺ = μ⁺₁ − μ⁻₀.

    Parameters
    ----------
    upper1, lower1 : array-like
        Upper and lower bounds on E[Y(1) | x].
    upper0, lower0 : array-like
        Upper and lower bounds on E[Y(0) | x] (computed with 1 − e).

    Returns
    -------
    lower, upper : numpy.ndarray
        Broadcast shape of the inputs.
    """
    arrays = [
        check_array(a, name, ndim=(0, 1, 2, 3))
        for a, name in (
            (upper1, "upper1"),
            (lower1, "lower1"),
            (upper0, "upper0"),
            (lower0, "lower0"),
        )
    ]
    u1, l1, u0, l0 = np.broadcast_arrays(*arrays)
    return l1 - u0, u1 - l0
