"""Dose-response bounds under the infinitesimal marginal sensitivity model (δMSM).

Marmarelis, Haddad, Jesson, Jahanshad, Galstyan and Ver Steeg (UAI 2023,
"Partial identification of dose responses with hidden confounders"). The
δMSM with parameter Γ ≥ 1 bounds the *rate per unit dose* at which the
complete and nominal generalised propensities may drift apart,

    | ∂/∂τ log[ p(τ | y_t, x) / p(τ | x) ] | ≤ log Γ    for every τ, t, x, y_t,

and an anchor makes one dose unconfounded. With the anchor a (Assumption 2
of the paper: a = 0) the ratio Λ(τ) = p(τ | y_t, x) / p(τ | x) lies in
[Γ^−|τ−a|, Γ^|τ−a|]; so at dose t the δMSM implies the continuous MSM with
Λ = Γ^|t−a| (method notes §1.1). The **Balanced** variant on a treatment
domain [lo, hi] anchors at ``lo`` with probability s = (t − lo)/(hi − lo)
and at ``hi`` otherwise, d_bal = s·d_lo + (1 − s)·d_hi (the form the notes
give for the benchmarked Balanced Beta model).

The bound (Eq. 7–8 of the paper): with a trust window w_t(τ) (w_t(t) = 1)
and the compound density q(τ | t, x) ∝ w_t(τ) p(τ | x), the density of the
potential outcome is p(y | t, x) / d with d ∈ [d̲, d̄],

    d̲ = E_q[Γ^−|τ−a|] − log Γ · Γ^|t−a| · |E_q[τ − t]| − c · ½ log²Γ · Γ^|t−a| · E_q[(τ − t)²]
    d̄ = E_q[Γ^+|τ−a|] + log Γ · Γ^|t−a| · |E_q[τ − t]| + ½ log²Γ · Γ^|t−a| · E_q[(τ − t)²]

``correction="symmetric"`` (default, c = 1) keeps the second-order Taylor
term on both sides, as the notes recommend (by Eq. 7 and Assumption 3 it
lies in ±½ log²Γ·Γ^|t|·E_q[(τ−t)²]); ``correction="paper"`` (c = 0) is Eq. 8
as printed; ``correction="code2022"`` is the authors' 2022 Julia code (no
second-order term in d̄, log²Γ·Γ^|t|·E_q[(τ−t)²] without ½ subtracted from
d̲). At Γ = 1 all give d̲ = d̄ = 1.

``correction="window_free"`` is the zero-width limit of the window, with no
Taylor step: by Bayes and consistency p(y_t | x) = p(y | t, x) / Λ(t | y_t, x)
exactly, and the anchor gives Λ(t) ∈ [Γ^−|t−a|, Γ^|t−a|], so d̲ = Γ^−|t−a|,
d̄ = Γ^|t−a| (the Balanced mixture of the two anchors likewise). The anchored
window-free bound *is* the CMSM bound with Λ = Γ^|t−a|. Every finite window
gives d̄/d̲ ≥ Γ^{2|t−a|} (d̄ ≥ Γ^|t−a| is one line: Γ^|u| ≥ Γ^u and
e^x ≥ 1 + x; the ratio was checked numerically, see the tests), so the
Taylor-window bounds contain the window-free ones computed on the same
draws: the window buys dependence on the propensity, never width.

For one unit, d̲ and d̄ do not depend on y, so the CAPO bound is the
Overcast/Kallus sorting estimator with α' = d̲ / (d̄ − d̲) (equivalently the
CMSM with Λ_eff = sqrt(d̄ / d̲)); it is computed by the same sweep as
:class:`~knowable.bounds.ContinuousMSMBounds`. The APO bound is by default
the mean of CAPO bounds (``apo="average"``, as for the CMSM here); the
paper's Algorithm 1, which optimises one self-normalised weighting over the
pooled draws of all units, is ``apo="pooled"`` (:func:`pooled_box_bound`).

Compound densities in closed form (Table 1 of the paper, with the erratum
of the notes applied):

* Beta propensity Beta(ᾱ, β̄) on [0, 1] with a Beta-shaped window of
  precision r: q = Beta(ᾱ + r t, β̄ + r(1 − t)), E_q[Γ^±τ] = ₁F₁(A; A+B; ±log Γ).
  Default r = ᾱ + β̄ − 2 (the nominal precision, the notes' heuristic).
* Gaussian-mixture propensity (:class:`~knowable.effects.TreatmentDensity`)
  with a Gaussian window of scale σ_w: q is a Gaussian mixture, and
  E[Γ^±|τ−a|] for τ ~ N(μ, σ²) is the corrected closed form
  ½e^{σ²log²Γ/2}[Γ^{±μ}(1 + erf((μ ± σ²logΓ)/(√2σ))) + Γ^{∓μ}(1 − erf((μ ∓ σ²logΓ)/(√2σ)))]
  (the printed row lacks the factor ½). Default σ_w = the propensity's
  standard deviation at x (precision 1/σ, the same heuristic).

Γ is "per unit dose": its meaning depends on the scale of t.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special
from sklearn.base import BaseEstimator

from .._random import check_random_state
from .._validation import (
    check_array,
    check_consistent_length,
    check_in_options,
    check_is_fitted,
    check_lambda,
    check_positive_int,
    check_real,
)
from ._continuous import DoseResponseBounds, checked_dose_response, dose_outcome_draws
from ._sweep import sorted_deviations, sweep_lower, sweep_upper

__all__ = [
    "BetaPropensity",
    "DeltaMSMBounds",
    "GammaBenchmark",
    "delta_msm_factors",
    "delta_msm_factors_beta",
    "delta_msm_factors_gaussian",
    "gamma_from_covariates",
    "gaussian_abs_power_moment",
    "pooled_box_bound",
]

CORRECTIONS = ("symmetric", "paper", "code2022", "window_free")
VARIANTS = ("anchored", "balanced")
APO_MODES = ("average", "pooled")
_D_FLOOR = 1e-8  # the authors' code returns NaN once d̲ falls below this


def _check_gamma(gamma: Any) -> np.ndarray:
    return check_lambda(gamma, "gamma")


# --------------------------------------------------------------------------- kernels
def gaussian_abs_power_moment(mu: Any, sd: Any, log_gamma: Any, sign: int = 1) -> np.ndarray:
    """E[Γ^{±|τ|}] for τ ~ N(μ, σ²), in closed form (the notes' corrected Table-1 row).

    Parameters
    ----------
    mu, sd : array-like, broadcastable
        Mean and standard deviation (> 0) of τ.
    log_gamma : array-like, broadcastable
        log Γ ≥ 0.
    sign : {1, -1}
        +1 for E[Γ^|τ|], −1 for E[Γ^−|τ|].

    Returns
    -------
    numpy.ndarray
        Broadcast shape of the inputs; exactly 1 at log Γ = 0.
    """
    mu, sd, lg = (np.asarray(v, dtype=np.float64) for v in (mu, sd, log_gamma))
    if sign not in (1, -1):
        raise ValueError(f"sign must be 1 or -1, got {sign!r}.")
    c = sign * lg
    var = sd**2
    # E[e^{cτ} 1{τ>0}] + E[e^{−cτ} 1{τ<0}], each in log space for stability
    a = c * mu + 0.5 * c**2 * var + special.log_ndtr((mu + c * var) / sd)
    b = -c * mu + 0.5 * c**2 * var + special.log_ndtr((c * var - mu) / sd)
    return np.exp(np.logaddexp(a, b))


def delta_msm_factors(
    e_minus: Any,
    e_plus: Any,
    m1: Any,
    m2: Any,
    t_minus_anchor: Any,
    gamma: Any,
    correction: str = "symmetric",
) -> tuple[np.ndarray, np.ndarray]:
    """The δMSM density-ratio bounds d̲, d̄ (Eq. 8) from the compound moments.

    Parameters
    ----------
    e_minus, e_plus : array-like
        E_q[Γ^−|τ−a|] and E_q[Γ^|τ−a|].
    m1, m2 : array-like
        E_q[τ − t] and E_q[(τ − t)²].
    t_minus_anchor : array-like
        t − a.
    gamma : array-like
        Γ ≥ 1 (broadcast against the others).
    correction : {"symmetric", "paper", "code2022", "window_free"}
        Second-order term: on both sides (default), as printed in the paper
        (upper only, ½), or as in the authors' 2022 code (lower only, no ½);
        ``"window_free"`` ignores the moments and returns Γ^∓|t−a| (the
        zero-width-window limit, no Taylor step).

    Returns
    -------
    d_lower, d_upper : numpy.ndarray
        Broadcast shape; d̲ ≤ 1 ≤ d̄ in the usual case, both 1 at Γ = 1.
    """
    correction = check_in_options(correction, "correction", CORRECTIONS)
    lg = np.log(np.asarray(gamma, dtype=np.float64))
    g_t = np.exp(lg * np.abs(np.asarray(t_minus_anchor, dtype=np.float64)))
    first = lg * g_t * np.abs(np.asarray(m1, dtype=np.float64))
    second = 0.5 * lg**2 * g_t * np.asarray(m2, dtype=np.float64)
    if correction == "window_free":
        shape = np.broadcast_shapes(*(np.shape(v) for v in (e_minus, e_plus, m1, m2, g_t)))
        return np.broadcast_to(1.0 / g_t, shape).copy(), np.broadcast_to(g_t, shape).copy()
    lo = np.asarray(e_minus, dtype=np.float64) - first
    hi = np.asarray(e_plus, dtype=np.float64) + first
    if correction == "symmetric":
        lo, hi = lo - second, hi + second
    elif correction == "paper":
        hi = hi + second
    else:  # code2022
        lo = lo - 2.0 * second
    return lo, hi


def delta_msm_factors_beta(
    alpha: Any,
    beta: Any,
    t: Any,
    gamma: Any,
    *,
    precision: Any = None,
    variant: str = "anchored",
    correction: str = "symmetric",
) -> tuple[np.ndarray, np.ndarray]:
    """d̲, d̄ for a Beta(ᾱ, β̄) propensity on [0, 1] and a Beta-shaped trust window.

    q = Beta(A, B) with A = ᾱ + r t, B = β̄ + r(1 − t); E_q[Γ^±τ] = ₁F₁(A; A+B; ±log Γ).
    ``variant="anchored"`` anchors at dose 0; ``"balanced"`` mixes the anchors
    0 (weight t) and 1 (weight 1 − t).

    Parameters
    ----------
    alpha, beta : array-like of shape (n,) or scalars
        Beta propensity parameters (> 0) of each unit.
    t : float or array-like broadcastable to (n,)
        Dose in [0, 1].
    gamma : float or array-like of shape (L,)
        Γ ≥ 1.
    precision : float or array-like, optional
        Window precision r > 0 (finite); default ᾱ + β̄ − 2 (floored at 1e-6).
    variant : {"anchored", "balanced"}
        Anchor at dose 0, or the Balanced mixture of the anchors 0 and 1.
    correction : {"symmetric", "paper", "code2022", "window_free"}
        Second-order term (see :func:`delta_msm_factors`).

    Returns
    -------
    d_lower, d_upper : numpy.ndarray of shape (n,), or (L, n) for an array ``gamma``
    """
    variant = check_in_options(variant, "variant", VARIANTS)
    gam = _check_gamma(gamma)
    a, b = np.asarray(alpha, np.float64), np.asarray(beta, np.float64)
    t_arr = np.asarray(t, np.float64)
    if ((t_arr < 0) | (t_arr > 1)).any():
        raise ValueError(
            "t lies outside [0, 1], the support of the Beta propensity; rescale the treatment "
            "to [0, 1] or pass doses inside it."
        )
    r = np.maximum(a + b - 2.0, 1e-6) if precision is None else np.asarray(precision, np.float64)
    if (~np.isfinite(r)).any() or (r <= 0).any():
        raise ValueError(
            "the trust window has zero width (precision must be finite and > 0); pass a "
            "finite positive precision, or correction='window_free' for the zero-width limit itself."
        )
    A, B = a + r * t_arr, b + r * (1.0 - t_arr)
    lg = np.log(gam)[..., None] if gam.ndim else np.log(gam)
    mean = A / (A + B)
    m1 = mean - t_arr
    m2 = A * B / ((A + B) ** 2 * (A + B + 1.0)) + m1**2
    g_b = gam[..., None] if gam.ndim else gam
    # anchored at 0: E_q[Γ^±τ]; anchored at 1: E_q[Γ^±(1−τ)], 1 − τ ~ Beta(B, A)
    lo0, hi0 = delta_msm_factors(
        special.hyp1f1(A, A + B, -lg), special.hyp1f1(A, A + B, lg), m1, m2, t_arr, g_b, correction
    )
    if variant == "anchored":
        return lo0, hi0
    lo1, hi1 = delta_msm_factors(
        special.hyp1f1(B, A + B, -lg),
        special.hyp1f1(B, A + B, lg),
        m1,
        m2,
        t_arr - 1.0,
        g_b,
        correction,
    )
    return t_arr * lo0 + (1 - t_arr) * lo1, t_arr * hi0 + (1 - t_arr) * hi1


def _gaussian_q(
    weights: np.ndarray, loc: np.ndarray, scale: np.ndarray, t: np.ndarray, window: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compound mixture q ∝ N(τ; t, σ_w²)·Σ_k π_k N(τ; m_k, s_k²): weights, means, sds (n, K)."""
    s2, w2 = scale**2, (window**2)[:, None]
    tt = t[:, None]
    log_pi = np.log(np.maximum(weights, 1e-300)) - 0.5 * (
        np.log(s2 + w2) + (tt - loc) ** 2 / (s2 + w2)
    )
    pi = special.softmax(log_pi, axis=-1)
    mu_q = (loc * w2 + tt * s2) / (s2 + w2)
    sd_q = np.sqrt(s2 * w2 / (s2 + w2))
    return pi, mu_q, sd_q


def delta_msm_factors_gaussian(
    weights: Any,
    loc: Any,
    scale: Any,
    t: Any,
    gamma: Any,
    *,
    window_scale: Any = None,
    anchor: float = 0.0,
    domain: tuple[float, float] | None = None,
    variant: str = "anchored",
    correction: str = "symmetric",
) -> tuple[np.ndarray, np.ndarray]:
    """d̲, d̄ for a Gaussian-mixture propensity and a Gaussian trust window.

    Parameters
    ----------
    weights, loc, scale : array-like of shape (n, K)
        Mixture weights (rows sum to 1), means and standard deviations (> 0)
        of p(τ | x_i). A single Gaussian is K = 1.
    t : float or array-like of shape (n,)
        Dose.
    gamma : float or array-like of shape (L,)
        Γ ≥ 1.
    window_scale : float or array-like of shape (n,), optional
        σ_w > 0 of the window exp(−(τ − t)²/(2σ_w²)); default the standard
        deviation of p(τ | x_i) (precision 1/σ, the notes' heuristic).
    anchor : float
        The unconfounded dose a (``variant="anchored"``).
    domain : (float, float), optional
        [lo, hi] of the treatment (``variant="balanced"`` only).
    variant : {"anchored", "balanced"}
        Anchor at ``anchor``, or the Balanced mixture of the anchors lo and hi.
    correction : {"symmetric", "paper", "code2022", "window_free"}
        Second-order term (see :func:`delta_msm_factors`).

    Returns
    -------
    d_lower, d_upper : numpy.ndarray of shape (n,), or (L, n) for an array ``gamma``
    """
    variant = check_in_options(variant, "variant", VARIANTS)
    gam = _check_gamma(gamma)
    w = check_array(weights, "weights", ndim=2)
    loc_a = check_array(loc, "loc", ndim=2)
    sc = check_array(scale, "scale", ndim=2)
    if not (w.shape == loc_a.shape == sc.shape):
        raise ValueError("weights, loc and scale must share one shape (n, K).")
    if (sc <= 0).any():
        raise ValueError("scale must be strictly positive.")
    n = w.shape[0]
    t_arr = np.broadcast_to(np.asarray(t, np.float64), (n,)).astype(np.float64)
    if window_scale is None:
        mean = (w * loc_a).sum(-1)
        sig = np.sqrt(np.maximum((w * (sc**2 + loc_a**2)).sum(-1) - mean**2, 0.0))
    else:
        sig = np.broadcast_to(np.asarray(window_scale, np.float64), (n,)).astype(np.float64)
    if (~np.isfinite(sig)).any() or (sig <= 0).any():
        raise ValueError(
            "the trust window has zero width (window_scale must be finite and > 0); pass a "
            "positive window_scale, or correction='window_free' for the zero-width limit itself."
        )
    pi, mu_q, sd_q = _gaussian_q(w, loc_a, sc, t_arr, sig)
    m1 = (pi * mu_q).sum(-1) - t_arr
    m2 = (pi * (sd_q**2 + (mu_q - t_arr[:, None]) ** 2)).sum(-1)
    lg = np.log(gam)
    lg_b = lg.reshape(-1, 1, 1) if gam.ndim else lg
    g_b = gam[:, None] if gam.ndim else gam

    def anchored(a: float) -> tuple[np.ndarray, np.ndarray]:
        e_minus = (pi * gaussian_abs_power_moment(mu_q - a, sd_q, lg_b, -1)).sum(-1)
        e_plus = (pi * gaussian_abs_power_moment(mu_q - a, sd_q, lg_b, 1)).sum(-1)
        return delta_msm_factors(e_minus, e_plus, m1, m2, t_arr - a, g_b, correction)

    if variant == "anchored":
        return anchored(float(anchor))
    if domain is None:
        raise ValueError("variant='balanced' needs domain=(lo, hi), the treatment's range.")
    lo_d, hi_d = float(domain[0]), float(domain[1])
    if not hi_d > lo_d:
        raise ValueError(f"domain must satisfy lo < hi, got {domain!r}.")
    s = np.clip((t_arr - lo_d) / (hi_d - lo_d), 0.0, 1.0)
    lo0, hi0 = anchored(lo_d)
    lo1, hi1 = anchored(hi_d)
    return s * lo0 + (1 - s) * lo1, s * hi0 + (1 - s) * hi1


def pooled_box_bound(y: Any, w_lower: Any, w_upper: Any, side: str = "upper") -> float:
    """max (or min) of Σ w_i y_i / Σ w_i over box weights w_i ∈ [w̲_i, w̄_i].

    Algorithm 1 of Marmarelis et al. (2023): the optimum is a threshold in y
    (upper weights above it, lower below), so one sort and cumulative sums
    over all N + 1 thresholds give it in O(N log N) (hand-written: no
    library solves this fractional box programme).

    Parameters
    ----------
    y : array-like of shape (N,)
        Values (pooled draws of all units).
    w_lower, w_upper : array-like of shape (N,)
        Weight bounds, 0 ≤ w̲ ≤ w̄, with Σ w̲ > 0.
    side : {"upper", "lower"}
        Maximise or minimise.

    Returns
    -------
    float
    """
    side = check_in_options(side, "side", ("upper", "lower"))
    f = check_array(y, "y", ndim=1)
    lo = check_array(w_lower, "w_lower", ndim=1)
    hi = check_array(w_upper, "w_upper", ndim=1)
    check_consistent_length(y=f, w_lower=lo, w_upper=hi)
    if (lo < 0).any() or (hi < lo).any() or lo.sum() <= 0:
        raise ValueError("weights must satisfy 0 <= w_lower <= w_upper with sum(w_lower) > 0.")
    if side == "lower":
        return -pooled_box_bound(-f, lo, hi, "upper")
    order = np.argsort(f, kind="stable")
    f, lo, hi = f[order], lo[order], hi[order]
    # threshold k: lower weights on f[:k], upper on f[k:]
    num = np.concatenate([[0.0], np.cumsum(lo * f)]) + np.concatenate(
        [np.cumsum((hi * f)[::-1])[::-1], [0.0]]
    )
    den = np.concatenate([[0.0], np.cumsum(lo)]) + np.concatenate(
        [np.cumsum(hi[::-1])[::-1], [0.0]]
    )
    return float((num / den).max())


# --------------------------------------------------------------------------- propensity
class BetaPropensity(BaseEstimator):
    """Linear Beta regression for a treatment in [0, 1]: T | x ~ Beta(a(x), b(x)).

    a(x) = a_max·sigmoid(x·w_a + c_a), b(x) likewise (parameters in (0, a_max),
    the paper's (0, 10²)), fitted by maximum likelihood (L-BFGS on the
    standardised covariates, analytic gradient).

    Parameters
    ----------
    a_max : float
        Upper limit of both Beta parameters.
    l2 : float
        Ridge penalty on the slopes.
    max_iter : int
        L-BFGS iterations at most.

    Attributes
    ----------
    coef_ : numpy.ndarray of shape (2, d + 1)
        Slopes and intercept of a and of b (standardised covariates).
    t_range_ : tuple of float
        Observed treatment range.
    """

    def __init__(self, a_max: float = 100.0, l2: float = 1e-4, max_iter: int = 500) -> None:
        self.a_max = a_max
        self.l2 = l2
        self.max_iter = max_iter

    def _design(self, X: Any) -> np.ndarray:
        x = check_array(X, "X", ndim=2)
        if x.shape[1] != self.mean_.size:
            raise ValueError(
                f"X has {x.shape[1]} columns; the model was fitted on {self.mean_.size}."
            )
        return np.column_stack([(x - self.mean_) / self.scale_, np.ones(x.shape[0])])

    def _ab(self, z: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, ...]:
        amax = float(self.a_max)
        sa, sb = special.expit(z @ coef[0]), special.expit(z @ coef[1])
        return amax * sa + 1e-6, amax * sb + 1e-6, sa, sb

    def fit(self, X: Any, t: Any) -> BetaPropensity:
        """Fit by maximum likelihood.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Treatment in [0, 1] (clipped to [1e-6, 1 − 1e-6]).

        Returns
        -------
        self
        """
        x = check_array(X, "X", ndim=2)
        t_arr = check_array(t, "t", ndim=1)
        check_consistent_length(X=x, t=t_arr)
        if ((t_arr < 0) | (t_arr > 1)).any():
            raise ValueError("t must lie in [0, 1] for a Beta propensity; rescale it first.")
        self.mean_ = x.mean(0)
        sd = x.std(0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        z = self._design(x)
        tc = np.clip(t_arr, 1e-6, 1 - 1e-6)
        lt, l1t = np.log(tc), np.log1p(-tc)
        d = z.shape[1]
        l2 = float(self.l2)
        amax = float(self.a_max)

        def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
            coef = theta.reshape(2, d)
            a, b, sa, sb = self._ab(z, coef)
            ll = (a - 1) * lt + (b - 1) * l1t - special.betaln(a, b)
            dab = special.digamma(a + b)
            ga = (lt - special.digamma(a) + dab) * amax * sa * (1 - sa)
            gb = (l1t - special.digamma(b) + dab) * amax * sb * (1 - sb)
            pen = 0.5 * l2 * (coef[:, :-1] ** 2).sum()
            grad = -np.stack([ga @ z, gb @ z]) / len(tc)
            grad[:, :-1] += l2 * coef[:, :-1]
            return float(-ll.mean() + pen), grad.ravel()

        # start at the method-of-moments fit of one Beta
        m, v = tc.mean(), max(tc.var(), 1e-6)
        k = max(m * (1 - m) / v - 1, 0.1)
        start = np.zeros((2, d))
        for row, val in enumerate((m * k, (1 - m) * k)):
            p = np.clip(val / amax, 1e-4, 1 - 1e-4)
            start[row, -1] = special.logit(p)
        res = optimize.minimize(
            nll,
            start.ravel(),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": check_positive_int(self.max_iter, "max_iter")},
        )
        self.coef_ = res.x.reshape(2, d)
        self.t_range_ = (0.0, 1.0)
        self.n_features_in_ = x.shape[1]
        return self

    def beta_params(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Beta parameters (a(x), b(x)), each of shape (n,)."""
        check_is_fitted(self, "coef_")
        a, b, _, _ = self._ab(self._design(X), self.coef_)
        return a, b

    def log_density(self, X: Any, t: Any) -> np.ndarray:
        """log p(t | x), shape (n,)."""
        a, b = self.beta_params(X)
        tc = np.clip(np.asarray(t, np.float64), 1e-12, 1 - 1e-12)
        return (a - 1) * np.log(tc) + (b - 1) * np.log1p(-tc) - special.betaln(a, b)


def _mixture_params(propensity: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictive Gaussian mixture (n, S·C) of a fitted TreatmentDensity (mean of the draws)."""
    obs = propensity.posterior(x).observation
    if not all(hasattr(obs, k) for k in ("weights", "loc", "scale")):
        raise TypeError(
            "propensity must be a fitted TreatmentDensity (Gaussian-mixture head) or a "
            "BetaPropensity."
        )
    w, loc, sc = obs.weights[:, :, 0], obs.loc[:, :, 0], obs.scale[:, :, 0]  # (S, n, C)
    s = w.shape[0]
    to_nk = lambda a: np.moveaxis(a, 0, 1).reshape(a.shape[1], -1)  # noqa: E731
    return to_nk(w) / s, to_nk(loc), to_nk(sc)


# --------------------------------------------------------------------------- estimator
class DeltaMSMBounds(BaseEstimator):
    """CAPO and dose-response bounds under the δMSM from a :class:`~knowable.effects.DoseResponse`.

    Parameters
    ----------
    model : knowable.effects.DoseResponse
        A fitted outcome-density model p̂(y | x, t).
    propensity : knowable.effects.TreatmentDensity or BetaPropensity
        A fitted nominal propensity p̂(τ | x). A TreatmentDensity's
        predictive mixture (mean over its draws) is used with a Gaussian
        window; a BetaPropensity (t in [0, 1]) with a Beta window.
    variant : {"anchored", "balanced"}
        Anchored at ``anchor`` (default dose 0, the paper's Assumption 2), or
        Balanced (anchors at both ends of the propensity's treatment range).
    anchor : float
        The unconfounded dose of the anchored variant.
    correction : {"symmetric", "paper", "code2022", "window_free"}
        Second-order Taylor term (see the module docstring); default the
        symmetric widening. ``"window_free"`` is the zero-width-window limit
        (d ∈ [Γ^−|t−a|, Γ^|t−a|], no Taylor step): anchored, it equals the
        CMSM bound with Λ = Γ^|t−a| on the same draws.
    window_scale : float, optional
        Gaussian window σ_w > 0 (TreatmentDensity); default the propensity's
        standard deviation at each x.
    precision : float, optional
        Beta window precision r > 0 (BetaPropensity); default ᾱ + β̄ − 2.
    apo : {"average", "pooled"}
        APO bound as the mean of CAPO bounds (default, as for the CMSM), or
        the paper's Algorithm 1 over the pooled draws of all units.
    n_samples : int
        Draws of y per unit, draw and dose.
    chunk_size : int
        Units evaluated at once (``apo="average"``).
    random_state : None, int or numpy.random.Generator
        Seed of the y draws.

    Examples
    --------
    >>> from knowable.data import simulate_dose_response
    >>> from knowable.effects import DoseResponse, TreatmentDensity
    >>> ds = simulate_dose_response(n=300, random_state=0)
    >>> model = DoseResponse(n_members=2, max_epochs=3, random_state=0).fit(ds.x, ds.t, ds.y)
    >>> gps = TreatmentDensity(n_members=2, max_epochs=3, random_state=0).fit(ds.x, ds.t)
    >>> b = DeltaMSMBounds(model, gps, random_state=0).dose_response([0.3, 0.6], [1.0, 1.5])
    >>> b.lower.shape
    (2, 2)
    """

    def __init__(
        self,
        model: Any,
        propensity: Any,
        *,
        variant: str = "anchored",
        anchor: float = 0.0,
        correction: str = "symmetric",
        window_scale: float | None = None,
        precision: float | None = None,
        apo: str = "average",
        n_samples: int = 100,
        chunk_size: int = 2048,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.model = model
        self.propensity = propensity
        self.variant = variant
        self.anchor = anchor
        self.correction = correction
        self.window_scale = window_scale
        self.precision = precision
        self.apo = apo
        self.n_samples = n_samples
        self.chunk_size = chunk_size
        self.random_state = random_state

    # ------------------------------------------------------------ checks
    def _check_support(self, t: np.ndarray) -> None:
        lo, hi = getattr(self.propensity, "t_range_", (-np.inf, np.inf))
        bad = (t < lo) | (t > hi)
        if bad.any():
            v = float(np.asarray(t)[bad].ravel()[0])
            raise ValueError(
                f"treatment {v!r} lies outside the support of the fitted propensity density "
                f"[{lo:.6g}, {hi:.6g}]; the δMSM bound needs p(t | x) there. Pass doses inside "
                "that range."
            )

    def factors(self, X: Any, t: Any, gamma: Any) -> tuple[np.ndarray, np.ndarray]:
        """d̲, d̄ for every unit at dose(s) ``t``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : float or array-like of shape (n,)
            Dose(s).
        gamma : float or array-like of shape (L,)
            Γ ≥ 1.

        Returns
        -------
        d_lower, d_upper : numpy.ndarray of shape (n,), or (L, n) for an array ``gamma``
        """
        variant = check_in_options(self.variant, "variant", VARIANTS)
        correction = check_in_options(self.correction, "correction", CORRECTIONS)
        _check_gamma(gamma)
        x = check_array(X, "X", ndim=2)
        t_arr = np.broadcast_to(check_array(t, "t", ndim=(0, 1)), (x.shape[0],))
        self._check_support(t_arr)
        if hasattr(self.propensity, "beta_params"):
            a, b = self.propensity.beta_params(x)
            return delta_msm_factors_beta(
                a,
                b,
                t_arr,
                gamma,
                precision=self.precision,
                variant=variant,
                correction=correction,
            )
        if self.window_scale is not None:
            check_real(self.window_scale, "window_scale")
        w, loc, sc = _mixture_params(self.propensity, x)
        return delta_msm_factors_gaussian(
            w,
            loc,
            sc,
            t_arr,
            gamma,
            window_scale=self.window_scale,
            anchor=float(self.anchor),
            domain=getattr(self.propensity, "t_range_", None),
            variant=variant,
            correction=correction,
        )

    @staticmethod
    def _alpha_prime(d_lo: np.ndarray, d_hi: np.ndarray) -> np.ndarray:
        if (d_lo <= _D_FLOOR).any():
            warnings.warn(
                "the δMSM lower density ratio d̲ fell to <= 1e-8 for some units (Γ too large "
                "for the trust window); their weights are unbounded above and the bound is the "
                "extreme draw. Lower Γ or narrow the window.",
                RuntimeWarning,
                stacklevel=3,
            )
        d_lo = np.maximum(d_lo, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            a_prime = np.where(d_hi > d_lo, d_lo / (d_hi - d_lo), np.inf)
        return np.maximum(a_prime, 1e-12)  # α' = 0 (unbounded weights): the extreme draw

    def _draws(self, x: np.ndarray, t: Any, rng: np.random.Generator, allow: bool):
        return dose_outcome_draws(self.model, x, t, self.n_samples, rng, allow)

    def capo(
        self, X: Any, t: Any, gamma: Any, *, allow_extrapolation: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw CAPO bounds at the pairs ``(x_i, t_i)``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : float or array-like of shape (n,)
            One dose per unit (a scalar is broadcast).
        gamma : float or array-like of shape (L,)
            Γ ≥ 1.
        allow_extrapolation : bool
            Allow doses outside the outcome model's observed range.

        Returns
        -------
        lower, upper : numpy.ndarray of shape (S, n) for a scalar ``gamma``, else (S, L, n)
        """
        gam = _check_gamma(gamma)
        x = check_array(X, "X", ndim=2)
        d_lo, d_hi = self.factors(x, t, np.atleast_1d(gam))  # (L, n)
        a_prime = self._alpha_prime(d_lo, d_hi)
        rng = check_random_state(self.random_state)
        y, mu = self._draws(x, t, rng, allow_extrapolation)  # (S, n, m), (S, n)
        dev = sorted_deviations(y, mu)
        ap = a_prime[:, None, :]  # (L, 1, n)
        lo = mu + sweep_lower(dev, ap)
        hi = mu + sweep_upper(dev, ap)
        at_one = np.atleast_1d(gam) == 1.0
        lo[at_one], hi[at_one] = mu, mu
        lo, hi = np.moveaxis(lo, 0, 1), np.moveaxis(hi, 0, 1)  # (S, L, n)
        if gam.ndim == 0:
            return lo[:, 0], hi[:, 0]
        return lo, hi

    def dose_response(
        self, t_grid: Any, gamma: Any, X: Any = None, *, allow_extrapolation: bool = False
    ) -> DoseResponseBounds:
        """δMSM bounds on APO(t) = mean_i E[Y(t) | x_i] on a grid, for every Γ.

        Parameters
        ----------
        t_grid : array-like of shape (g,)
            Doses (inside the propensity's support).
        gamma : float or array-like of shape (L,)
            Γ ≥ 1.
        X : array-like of shape (n, d), optional
            Population; default the outcome model's training covariates.
        allow_extrapolation : bool
            Allow doses outside the outcome model's observed range.

        Returns
        -------
        DoseResponseBounds
            ``lam`` holds the Γ values and ``method`` is ``"delta_msm"``.
        """
        apo = check_in_options(self.apo, "apo", APO_MODES)
        model = checked_dose_response(self.model, type(self).__name__)
        gams = np.atleast_1d(_check_gamma(gamma))
        grid = check_array(t_grid, "t_grid", ndim=1)
        self._check_support(grid)
        model._check_t_values(grid, "t_grid", allow_extrapolation)
        x = model._check_X(model.X_fit_ if X is None else X)
        chunk = check_positive_int(self.chunk_size, "chunk_size")
        rng = check_random_state(self.random_state)
        n = x.shape[0]
        sums = None
        for j, tv in enumerate(grid):
            parts = range(0, n, chunk) if apo == "average" else [0]
            for i in parts:
                xi = x[i : i + chunk] if apo == "average" else x
                d_lo, d_hi = self.factors(xi, float(tv), gams)  # (L, c)
                y, mu = self._draws(xi, float(tv), rng, True)  # (S, c, m)
                if sums is None:
                    s = mu.shape[0]
                    sums = np.zeros((3, s, gams.size, grid.size))
                sums[2, :, :, j] += mu.sum(-1)[:, None]
                if apo == "average":
                    dev = sorted_deviations(y, mu)
                    ap = self._alpha_prime(d_lo, d_hi)[:, None, :]
                    sums[0, :, :, j] += (mu + sweep_lower(dev, ap)).sum(-1).T
                    sums[1, :, :, j] += (mu + sweep_upper(dev, ap)).sum(-1).T
                else:
                    lo_w = np.repeat(1.0 / d_hi, y.shape[-1], axis=-1)  # (L, c·m)
                    with np.errstate(divide="ignore"):
                        hi_w = np.repeat(1.0 / np.maximum(d_lo, 0.0), y.shape[-1], axis=-1)
                    hi_w = np.minimum(hi_w, 1e12)
                    for si in range(y.shape[0]):
                        flat = y[si].ravel()
                        for li in range(gams.size):
                            for k, side in enumerate(("lower", "upper")):
                                sums[k, si, li, j] += n * pooled_box_bound(
                                    flat, lo_w[li], hi_w[li], side
                                )
        assert sums is not None
        member_lo, member_hi, member_mu = sums[0] / n, sums[1] / n, sums[2, :, 0] / n
        point = member_mu.mean(0)
        lower, upper = member_lo.mean(0), member_hi.mean(0)
        at_one = gams == 1.0
        lower[at_one], upper[at_one] = point, point
        member_lo[:, at_one], member_hi[:, at_one] = member_mu[:, None], member_mu[:, None]
        return DoseResponseBounds(
            grid, gams, lower, upper, member_lo, member_hi, point, "delta_msm"
        )


# --------------------------------------------------------------------------- choosing Γ
@dataclass(frozen=True)
class GammaBenchmark:
    """Covariate-benchmarked sensitivity parameters.

    Parameters
    ----------
    per_covariate : numpy.ndarray of shape (d,)
        Γ̂_j (δMSM) or Λ̂_j (CMSM) when covariate j is treated as hidden.
    value : float
        The largest of them (the informal-benchmarking choice).
    model : str
        ``"delta"`` or ``"cmsm"``.
    """

    per_covariate: np.ndarray
    value: float
    model: str


def gamma_from_covariates(
    X: Any, t: Any, *, model: str = "delta", clip: float = 0.1, quantile: float = 1.0
) -> GammaBenchmark:
    """Choose Γ (or Λ) by dropping one observed covariate at a time ("informal benchmarking").

    The rule of Baitairian et al.'s public code (method notes §2.3): for each
    covariate j, compare the nominal propensity p̂(t | x) with p̂(t | x₋ⱼ)
    fitted without it. For the CMSM (``model="cmsm"``), r_i = p̂(t_i | x_i) /
    p̂(t_i | x_{i,−j}) with both densities floored at ``clip`` and Λ̂_j =
    max(max r, 1 / min r). For the δMSM (``model="delta"``, our transfer of
    the rule to the δMSM's definition), log Γ̂_j = max_i |∂/∂τ log[p̂(τ | x_i)
    / p̂(τ | x_{i,−j})]| at τ = t_i. Both propensities are linear-Gaussian
    (ordinary least squares with a constant residual variance), so the
    derivative is exact: −(τ − m)/s² + (τ − m₋ⱼ)/s₋ⱼ². ``quantile < 1``
    replaces the max over units by that quantile (robust to outliers).

    Parameters
    ----------
    X : array-like of shape (n, d)
        Observed covariates (d ≥ 2).
    t : array-like of shape (n,)
        Continuous treatment.
    model : {"delta", "cmsm"}
        Which sensitivity parameter to benchmark.
    clip : float
        Density floor of the CMSM rule.
    quantile : float
        Level in (0, 1] of the statistic over units.

    Returns
    -------
    GammaBenchmark
    """
    model = check_in_options(model, "model", ("delta", "cmsm"))
    x = check_array(X, "X", ndim=2)
    t_arr = check_array(t, "t", ndim=1)
    check_consistent_length(X=x, t=t_arr)
    q = check_real(quantile, "quantile", low=0.0, high=1.0, low_inclusive=False)
    if x.shape[1] < 2:
        raise ValueError("gamma_from_covariates needs at least 2 covariates (one is dropped).")

    def ols(z: np.ndarray) -> tuple[np.ndarray, float]:
        design = np.column_stack([z, np.ones(len(z))])
        coef, *_ = np.linalg.lstsq(design, t_arr, rcond=None)
        m = design @ coef
        return m, float(max(np.mean((t_arr - m) ** 2), 1e-12))

    m_full, v_full = ols(x)
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        m_j, v_j = ols(np.delete(x, j, axis=1))
        if model == "delta":
            slope = -(t_arr - m_full) / v_full + (t_arr - m_j) / v_j
            out[j] = float(np.exp(np.quantile(np.abs(slope), q)))
        else:
            dens = lambda m, v: np.maximum(  # noqa: E731
                np.exp(-0.5 * (t_arr - m) ** 2 / v) / np.sqrt(2 * np.pi * v), clip
            )
            r = dens(m_full, v_full) / dens(m_j, v_j)
            out[j] = float(max(np.quantile(r, q), 1.0 / np.quantile(r, 1 - q if q < 1 else 0.0)))
    return GammaBenchmark(out, float(out.max()), model)
