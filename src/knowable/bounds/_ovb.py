"""ATE-level sensitivity summaries: omitted-variable bias (OLS and "long story short"), E-value.

Three families of ATE summaries that users of DoubleML, sensemakr and DoWhy
know, computed from knowable's own numbers so that they sit beside the
marginal sensitivity model's Λ in one :class:`~knowable.bounds.SensitivityReport`.

* **OLS omitted-variable bias** (Cinelli & Hazlett 2020, what ``sensemakr``
  reports): for the regression Y ~ 1 + D + X, the partial R² of the treatment,
  the robustness values RV_q and RV_{q,α}, and the bias bound
  |bias| ≤ se·sqrt(dof)·sqrt(R²_{Y~Z|D,X}·R²_{D~Z|X} / (1 − R²_{D~Z|X})) with the
  confounder's strength benchmarked as ``kd``/``ky`` times an observed
  covariate's (:func:`ols_sensitivity`). Closed forms, hand-written on NumPy
  least squares (the peer package exits the interpreter on bad input and
  needs statsmodels).
* **Long story short** (Chernozhukov, Cinelli, Newey, Sharma & Syrgkanis
  2022, what DoubleML reports): for the AIPW ATE with cross-fitted g₀, g₁, m,
  |θ_long − θ_short| ≤ |ρ|·sqrt(cf_y·cf_d / (1 − cf_d))·sqrt(σ²ν²), with σ² the
  outcome residual variance and ν² the second moment of the Riesz
  representer; robustness values RV (bound reaches the null) and RVa (its
  one-sided confidence bound reaches it), and the gain statistics of an
  observed covariate set as benchmarks (:func:`lss_sensitivity`,
  :func:`lss_benchmark`). The estimators mirror DoubleML's IRM ATE exactly
  (same score, same influence functions, same one-sided ``level``), so on the
  same nuisance predictions they agree to rounding.
* **E-value** (VanderWeele & Ding 2017) of a risk ratio (:func:`e_value`).

How they relate to Λ: see ``docs/sensitivity.md``. In short, Λ bounds the
odds ratio of treatment with and without the hidden confounder, at every x;
cf_d bounds the *average* gain in the Riesz representer's variance (for a
binary treatment a function of 1/(e(1 − e))) and cf_y the share of outcome
residual variance the confounder explains. The E-value is a risk-ratio
strength of association with both treatment and outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._validation import check_array, check_consistent_length, check_real

__all__ = [
    "LSSBenchmark",
    "LSSResult",
    "OLSSensitivity",
    "e_value",
    "lss_benchmark",
    "lss_bias_bound",
    "lss_robustness_value",
    "lss_sensitivity",
    "ols_sensitivity",
    "rv_from_ratio",
]


# --------------------------------------------------------------------------- shared
def rv_from_ratio(a: Any) -> np.ndarray:
    """Root r ∈ [0, 1) of r² / (1 − r) = a²: r = ½(sqrt(a⁴ + 4a²) − a²).

    The robustness value of both frameworks: with f the estimate over its
    bias scale (OLS: Cohen's f = t / sqrt(dof); long story short:
    |θ − θ₀| / sqrt(σ²ν²)) it is the equal strength cf_y = cf_d (or
    R²_{Y~Z|D,X} = R²_{D~Z|X}) of a confounder that moves the estimate to θ₀.

    Parameters
    ----------
    a : float or array-like
        Non-negative ratio.

    Returns
    -------
    numpy.ndarray
    """
    a = np.abs(np.asarray(a, dtype=np.float64))
    return 0.5 * (np.sqrt(a**4 + 4 * a**2) - a**2)


def e_value(rr: Any) -> np.ndarray:
    """E-value of a risk ratio (VanderWeele & Ding 2017): RR* + sqrt(RR*(RR* − 1)), RR* = max(RR, 1/RR).

    For a confidence limit pass the limit closer to 1; a limit on the other
    side of 1 gives 1.

    Parameters
    ----------
    rr : float or array-like
        Risk ratio(s) > 0.

    Returns
    -------
    numpy.ndarray
    """
    rr = np.asarray(rr, dtype=np.float64)
    if (rr <= 0).any():
        raise ValueError("rr must be > 0 (a risk ratio).")
    r = np.maximum(rr, 1.0 / rr)
    return r + np.sqrt(r * (r - 1.0))


# --------------------------------------------------------------------------- OLS
@dataclass(frozen=True)
class OLSSensitivity:
    """Cinelli–Hazlett sensitivity statistics of the treatment coefficient in Y ~ 1 + D + X.

    Parameters
    ----------
    estimate, se : float
        OLS coefficient of D and its standard error.
    dof : int
        Residual degrees of freedom n − p.
    t_stat : float
        estimate / se.
    partial_r2 : float
        R²_{Y~D|X} = t² / (t² + dof).
    rv_q, rv_qa : float
        Robustness values: to bring the estimate to (1 − q)·estimate, and to
        make the (1 − α) interval reach it.
    benchmarks : pandas.DataFrame
        One row per benchmark covariate: ``r2dz_x``, ``r2yz_dx``,
        ``adjusted_estimate``, ``adjusted_se``, ``adjusted_lower_CI``,
        ``adjusted_upper_CI`` (the ``sensemakr.ovb_bounds`` columns).
    q, alpha : float
        The levels used.
    """

    estimate: float
    se: float
    dof: int
    t_stat: float
    partial_r2: float
    rv_q: float
    rv_qa: float
    benchmarks: pd.DataFrame = field(repr=False)
    q: float = 1.0
    alpha: float = 0.05

    def bias(self, r2dz_x: Any, r2yz_dx: Any) -> np.ndarray:
        """|bias| ≤ se·sqrt(dof)·sqrt(R²_{Y~Z|D,X}·R²_{D~Z|X} / (1 − R²_{D~Z|X})).

        Parameters
        ----------
        r2dz_x, r2yz_dx : float or array-like
            Partial R² of the confounder with the treatment and with the outcome.

        Returns
        -------
        numpy.ndarray
        """
        r2d, r2y = np.asarray(r2dz_x, float), np.asarray(r2yz_dx, float)
        return self.se * np.sqrt(self.dof) * np.sqrt(r2y * r2d / (1 - r2d))

    def adjusted_estimate(self, r2dz_x: Any, r2yz_dx: Any) -> np.ndarray:
        """The estimate moved towards zero by the bias bound (sensemakr's ``reduce=True``).

        Parameters
        ----------
        r2dz_x, r2yz_dx : float or array-like
            Partial R² of the confounder with the treatment and with the outcome.

        Returns
        -------
        numpy.ndarray
        """
        return np.sign(self.estimate) * (abs(self.estimate) - self.bias(r2dz_x, r2yz_dx))


def _ols(y: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Coefficients, standard errors and residual dof of OLS."""
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    dof = design.shape[0] - np.linalg.matrix_rank(design)
    s2 = resid @ resid / dof
    cov = s2 * np.linalg.pinv(design.T @ design)
    return coef, np.sqrt(np.diag(cov)), int(dof)


def _rv(t_stat: float, dof: int, q: float, alpha: float | None) -> float:
    fq = q * abs(t_stat / np.sqrt(dof))
    if alpha is None:
        return float(rv_from_ratio(fq))
    f_crit = abs(stats.t.ppf(alpha / 2, dof - 1)) / np.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa < 0:
        return 0.0
    if fq > 1 / f_crit:  # the constraint R² ≤ 1 does not bind
        return float((fq**2 - f_crit**2) / (1 + fq**2))
    return float(rv_from_ratio(fqa))


def ols_sensitivity(
    y: Any,
    d: Any,
    X: Any,
    *,
    benchmark: Any = None,
    kd: float = 1.0,
    ky: float | None = None,
    q: float = 1.0,
    alpha: float = 0.05,
    feature_names: Any = None,
) -> OLSSensitivity:
    """Sensemakr's statistics for the treatment coefficient of Y ~ 1 + D + X.

    Parameters
    ----------
    y : array-like of shape (n,)
        Outcome.
    d : array-like of shape (n,)
        Treatment (any numeric coding).
    X : array-like of shape (n, p)
        Observed covariates (no constant column: one is added).
    benchmark : int, str or sequence of them, optional
        Covariate(s) (index or name) used one at a time as benchmarks.
    kd, ky : float
        The hidden confounder is ``kd`` times as strong as the benchmark with
        the treatment and ``ky`` (default ``kd``) times with the outcome.
    q : float
        Fraction of the estimate to explain away (RV_q).
    alpha : float
        Significance level of RV_{q,α} and of the adjusted intervals.
    feature_names : sequence of str, optional
        Names of the columns of ``X``.

    Returns
    -------
    OLSSensitivity
    """
    y = check_array(y, "y", ndim=1)
    d = check_array(d, "d", ndim=1)
    x = check_array(X, "X", ndim=2)
    check_consistent_length(y=y, d=d, X=x)
    q = check_real(q, "q", low=0.0, low_inclusive=False)
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    ky = kd if ky is None else ky
    n, p = x.shape
    names = (
        [f"x{j}" for j in range(p)] if feature_names is None else [str(s) for s in feature_names]
    )
    ones = np.ones((n, 1))
    coef, se, dof = _ols(y, np.hstack([ones, d[:, None], x]))
    est, se_d = float(coef[1]), float(se[1])
    t_stat = est / se_d
    rows = []
    if benchmark is not None:
        bench = [benchmark] if isinstance(benchmark, (int, str, np.integer)) else list(benchmark)
        coef_d, se_dx, dof_d = _ols(d, np.hstack([ones, x]))
        se_mult = abs(stats.t.ppf(alpha / 2, dof))
        for b in bench:
            j = names.index(b) if isinstance(b, str) else int(b)
            t_y = coef[2 + j] / se[2 + j]
            t_d = coef_d[1 + j] / se_dx[1 + j]
            r2yxj = t_y**2 / (t_y**2 + dof)
            r2dxj = t_d**2 / (t_d**2 + dof_d)
            r2dz = kd * r2dxj / (1 - r2dxj)
            if r2dz >= 1:
                raise ValueError(
                    f"kd={kd} implies R²_(D~Z|X) >= 1 for benchmark {names[j]!r}; lower kd."
                )
            r2zxj = kd * r2dxj**2 / ((1 - kd * r2dxj) * (1 - r2dxj))
            if r2zxj >= 1:
                raise ValueError(f"kd={kd} is impossible for benchmark {names[j]!r}; lower kd.")
            r2yz = min(
                ((np.sqrt(ky) + np.sqrt(r2zxj)) / np.sqrt(1 - r2zxj)) ** 2 * r2yxj / (1 - r2yxj),
                1.0,
            )
            bias = se_d * np.sqrt(dof) * np.sqrt(r2yz * r2dz / (1 - r2dz))
            adj = np.sign(est) * (abs(est) - bias)
            adj_se = np.sqrt((1 - r2yz) / (1 - r2dz)) * se_d * np.sqrt(dof / (dof - 1))
            rows.append(
                {
                    "benchmark": names[j],
                    "kd": kd,
                    "ky": ky,
                    "r2dz_x": r2dz,
                    "r2yz_dx": r2yz,
                    "adjusted_estimate": adj,
                    "adjusted_se": adj_se,
                    "adjusted_lower_CI": adj - se_mult * adj_se,
                    "adjusted_upper_CI": adj + se_mult * adj_se,
                }
            )
    return OLSSensitivity(
        estimate=est,
        se=se_d,
        dof=dof,
        t_stat=t_stat,
        partial_r2=t_stat**2 / (t_stat**2 + dof),
        rv_q=_rv(t_stat, dof, q, None),
        rv_qa=_rv(t_stat, dof, q, alpha),
        benchmarks=pd.DataFrame(rows),
        q=q,
        alpha=alpha,
    )


# --------------------------------------------------------------------------- long story short
@dataclass(frozen=True)
class LSSResult:
    """AIPW ATE with the "long story short" sensitivity elements (DoubleML's IRM ATE).

    Parameters
    ----------
    theta, se : float
        AIPW estimate and its standard error.
    sigma2, nu2 : float
        Outcome residual variance and second moment of the Riesz representer.
    psi : numpy.ndarray of shape (n,)
        Influence function of θ (ψ_b − θ).
    psi_sigma2, psi_nu2 : numpy.ndarray of shape (n,)
        Influence functions of σ² and ν².
    y_var : float
        Variance of the outcome (for the nonparametric R²).
    mu1, mu0 : float
        AIPW means of the potential outcomes.
    psi_mu1, psi_mu0 : numpy.ndarray of shape (n,), optional
        Their influence functions.
    """

    theta: float
    se: float
    sigma2: float
    nu2: float
    psi: np.ndarray = field(repr=False)
    psi_sigma2: np.ndarray = field(repr=False)
    psi_nu2: np.ndarray = field(repr=False)
    y_var: float = float("nan")
    mu1: float = float("nan")
    mu0: float = float("nan")
    psi_mu1: np.ndarray | None = field(default=None, repr=False)
    psi_mu0: np.ndarray | None = field(default=None, repr=False)

    @property
    def max_bias(self) -> float:
        """sqrt(σ²ν²): the bias scale S."""
        return float(np.sqrt(self.sigma2 * self.nu2))

    def bounds(
        self, cf_y: float, cf_d: float, rho: float = 1.0, level: float = 0.95
    ) -> dict[str, float]:
        """θ bounds and their one-sided confidence bounds (DoubleML's ``sensitivity_analysis``).

        Parameters
        ----------
        cf_y, cf_d : float
            Confounding strengths in [0, 1).
        rho : float
            Adversity in [−1, 1].
        level : float
            One-sided confidence level of the bounds (DoubleML: 0.95 → z = 1.645).

        Returns
        -------
        dict
            ``theta_lower``, ``theta_upper``, ``ci_lower``, ``ci_upper``, ``bias``.
        """
        for v, name in ((cf_y, "cf_y"), (cf_d, "cf_d")):
            check_real(v, name, low=0.0, high=1.0, high_inclusive=False)
        check_real(abs(rho), "|rho|", low=0.0, high=1.0)
        level = check_real(
            level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        cs = abs(rho) * np.sqrt(cf_y * cf_d / (1.0 - cf_d))
        mb = self.max_bias
        psi_mb = (self.sigma2 * self.psi_nu2 + self.nu2 * self.psi_sigma2) / (2.0 * mb)
        n = self.psi.size
        scaled = -self.psi  # DoubleML scales ψ by mean(∂ψ/∂θ) = −1
        s_lo = np.sqrt(np.mean((scaled - cs * psi_mb) ** 2) / n)
        s_hi = np.sqrt(np.mean((scaled + cs * psi_mb) ** 2) / n)
        z = stats.norm.ppf(level)
        lo, hi = self.theta - cs * mb, self.theta + cs * mb
        return {
            "theta_lower": float(lo),
            "theta_upper": float(hi),
            "ci_lower": float(lo - z * s_lo),
            "ci_upper": float(hi + z * s_hi),
            "bias": float(cs * mb),
        }


def lss_bias_bound(sigma2: Any, nu2: Any, cf_y: Any, cf_d: Any, rho: Any = 1.0) -> np.ndarray:
    """|ρ|·sqrt(cf_y·cf_d / (1 − cf_d))·sqrt(σ²ν²), elementwise.

    Parameters
    ----------
    sigma2, nu2 : float or array-like
        Residual variance and Riesz-representer second moment.
    cf_y, cf_d : float or array-like
        Confounding strengths in [0, 1).
    rho : float or array-like
        Adversity in [−1, 1].

    Returns
    -------
    numpy.ndarray
    """
    cf_y, cf_d = np.asarray(cf_y, float), np.asarray(cf_d, float)
    return np.abs(rho) * np.sqrt(cf_y * cf_d / (1 - cf_d)) * np.sqrt(np.asarray(sigma2) * nu2)


def lss_sensitivity(y: Any, d: Any, g0: Any, g1: Any, m: Any, *, clip: float = 0.01) -> LSSResult:
    """The AIPW ATE and its long-story-short sensitivity elements from nuisance predictions.

    Score, Riesz representer and influence functions as in DoubleML's
    ``DoubleMLIRM(score="ATE")``: ψ_b = g₁ − g₀ + D(Y − g₁)/m − (1 − D)(Y − g₀)/(1 − m),
    σ² = mean((Y − D g₁ − (1 − D) g₀)²), α = D/m − (1 − D)/(1 − m),
    ν² = mean(2(1/m + 1/(1 − m)) − α²).

    Parameters
    ----------
    y : array-like of shape (n,)
        Outcome.
    d : array-like of shape (n,)
        Binary treatment (0/1).
    g0, g1 : array-like of shape (n,)
        Cross-fitted outcome regressions E[Y | X, D = 0] and E[Y | X, D = 1].
    m : array-like of shape (n,)
        Cross-fitted propensity P(D = 1 | X).
    clip : float
        Propensities are clipped to [clip, 1 − clip] (DoubleML's default 0.01).

    Returns
    -------
    LSSResult
    """
    y = check_array(y, "y", ndim=1)
    d = check_array(d, "d", ndim=1)
    g0, g1, m = (check_array(v, k, ndim=1) for v, k in ((g0, "g0"), (g1, "g1"), (m, "m")))
    check_consistent_length(y=y, d=d, g0=g0, g1=g1, m=m)
    if not np.isin(d, (0.0, 1.0)).all():
        raise ValueError("d must be a binary 0/1 treatment for the long-story-short ATE.")
    clip = check_real(clip, "clip", low=0.0, high=0.5, high_inclusive=False)
    m = np.clip(m, clip, 1 - clip)
    psi_b = g1 - g0 + d * (y - g1) / m - (1 - d) * (y - g0) / (1 - m)
    theta = float(psi_b.mean())
    psi = psi_b - theta
    s_el = (y - d * g1 - (1 - d) * g0) ** 2
    rr = d / m - (1 - d) / (1 - m)
    nu_el = 2.0 * (1 / m + 1 / (1 - m)) - rr**2
    phi1 = g1 + d * (y - g1) / m
    phi0 = g0 + (1 - d) * (y - g0) / (1 - m)
    mu1, mu0 = float(phi1.mean()), float(phi0.mean())
    if nu_el.mean() <= 0:
        raise ValueError(
            "the estimate of ν² (Riesz representer second moment) is <= 0: the propensities are "
            "too extreme or badly calibrated; use a smoother propensity model or a larger clip."
        )
    return LSSResult(
        theta=theta,
        se=float(np.sqrt(np.mean(psi**2) / y.size)),
        sigma2=float(s_el.mean()),
        nu2=float(nu_el.mean()),
        psi=psi,
        psi_sigma2=s_el - s_el.mean(),
        psi_nu2=nu_el - nu_el.mean(),
        y_var=float(np.var(y)),
        mu1=mu1,
        mu0=mu0,
        psi_mu1=phi1 - mu1,
        psi_mu0=phi0 - mu0,
    )


def lss_robustness_value(
    res: LSSResult, *, null: float = 0.0, rho: float = 1.0, level: float = 0.95
) -> tuple[float, float]:
    """RV and RVa: the equal strength cf_y = cf_d at which the bound (its confidence bound) reaches ``null``.

    RV has the closed form :func:`rv_from_ratio` (|θ − null| / (|ρ|·S)); RVa
    is found by root bracketing on the one-sided confidence bound (DoubleML
    minimises the squared gap with a bounded scalar search, so the two agree
    to its tolerance).

    Parameters
    ----------
    res : LSSResult
        Estimate and sensitivity elements.
    null : float
        The null value θ₀.
    rho : float
        Adversity in (0, 1].
    level : float
        One-sided confidence level.

    Returns
    -------
    rv, rva : float
    """
    side = "upper" if null > res.theta else "lower"
    rv = float(rv_from_ratio(abs(res.theta - null) / (abs(rho) * res.max_bias)))

    def gap(v: float) -> float:
        b = res.bounds(v, v, rho, level)
        return b[f"ci_{side}"] - null

    hi = 0.9999
    g0 = gap(0.0)
    if (side == "lower" and g0 <= 0) or (side == "upper" and g0 >= 0):
        return rv, 0.0
    if np.sign(gap(hi)) == np.sign(g0):
        return rv, hi
    return rv, float(optimize.brentq(gap, 0.0, hi, xtol=1e-12))


@dataclass(frozen=True)
class LSSBenchmark:
    """Gain statistics of an observed covariate set (DoubleML's ``sensitivity_benchmark``).

    Parameters
    ----------
    name : str
        The benchmark covariate(s).
    cf_y, cf_d, rho : float
        Strengths and adversity the omitted set shows.
    delta_theta : float
        θ_short − θ_long.
    """

    name: str
    cf_y: float
    cf_d: float
    rho: float
    delta_theta: float


def lss_benchmark(long: LSSResult, short: LSSResult, name: str = "benchmark") -> LSSBenchmark:
    """cf_y, cf_d, ρ of an observed covariate set from the long fit and the fit without it.

    cf_y = (R²_long − R²_short)/(1 − R²_long) with R² = 1 − σ²/Var(Y);
    cf_d = (1 − ν²_short/ν²_long)/(ν²_short/ν²_long); ρ = sign(Δθ)·min(1,
    |Δθ| / sqrt((σ²_short − σ²_long)(ν²_long − ν²_short))). Strengths are
    clipped to [0, 1].

    Parameters
    ----------
    long, short : LSSResult
        Fits with all covariates and without the benchmark set.
    name : str
        Label.

    Returns
    -------
    LSSBenchmark
    """
    r2_long = 1.0 - long.sigma2 / long.y_var
    r2_short = 1.0 - short.sigma2 / long.y_var
    r2_riesz = short.nu2 / long.nu2
    cf_y = float(np.clip((r2_long - r2_short) / (1.0 - r2_long), 0, 1))
    cf_d = float(np.clip((1.0 - r2_riesz) / r2_riesz, 0, 1))
    delta = short.theta - long.theta
    var_g, var_r = short.sigma2 - long.sigma2, long.nu2 - short.nu2
    denom = np.sqrt(var_g * var_r) if (var_g > 0 and var_r > 0) else 0.0
    rho = float(np.sign(delta) * (np.clip(abs(delta) / denom, 0, 1) if denom != 0 else 1.0))
    return LSSBenchmark(name, cf_y, cf_d, rho, float(delta))
