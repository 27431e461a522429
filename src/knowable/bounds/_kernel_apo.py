"""Sharp and doubly robust APO bounds under the CMSM (Baitairian et al. 2024, arXiv 2411.02231).

Under the continuous MSM Λ⁻¹ ≤ p(t | x) / p(t | x, u) ≤ Λ the sharp bound on
the conditional average potential outcome is (method notes §2.1)

    CAPO⁺(x, t) = μ + ((Λ − 1)/Λ)·E[Y − μ | Y > Q_τ],   τ = Λ / (1 + Λ),
    CAPO⁻(x, t) = μ + ((Λ − 1)/Λ)·E[Y − μ | Y < Q_{1−τ}],

with μ = E[Y | x, t] and Q the conditional quantiles; the APO bound averages
it over x. The two estimators below follow the authors' public code (§2.2;
the paper itself could not be read, so any correction term it has beyond the
code is not here):

* ``method="plugin"`` ("SAIPW-QB" in the code): with the Epanechnikov kernel
  K_h and the floored GPS p̂, k_i = K_h(T_i − t₀) / p̂(T_i | X_i) and

      θ̂⁺(t₀) = mean_i μ̂(X_i, t₀) + ((Λ−1)/Λ)·Σ_{i∈U} k_i (Y_i − μ̂(X_i, T_i)) / Σ_{i∈U} k_i,

  U = {Y_i > Q̂_τ(X_i, T_i)} (L = {Y_i ≤ Q̂_{1−τ}} for θ̂⁻).
* ``method="dr"``: pseudo-outcomes Z± with E[Z± | x, t] = CAPO± (exact
  quantiles), regressed on (X, T) ⇒ ξ̂±. Three forms (``centre=``):

  - ``"quantile"`` (default): Z⁺ = Q̂_τ + (Y − Q̂_τ)·Λ^{sign(Y − Q̂_τ)},
    Z⁻ = Q̂_{1−τ} + (Y − Q̂_{1−τ})·Λ^{−sign(Y − Q̂_{1−τ})}, the
    Rockafellar–Uryasev form that the library's B-Learner also uses
    (algebraically Y/Λ + (1 − 1/Λ)(Q + (Y − Q)₊/(1 − τ))). Its mean is
    stationary in Q̂ and *minimised* (upper side; maximised, lower side) at
    the true quantile, so quantile errors enter at second order and only
    ever widen the bounds;
  - ``"mean"``: Z = μ̂ + (Y − μ̂)·Λ^{±sign(...)} — first order in the quantile
    error, with either sign (measured in benchmark B);
  - ``"none"``: Y·Λ^{±sign(...)}, the authors' public code — first order and
    proportional to the level of Y (not shift-equivariant).

  Then

      θ̂±(t₀) = mean_i ξ̂±(X_i, t₀) + Σ_i k_i (Z±_i − ξ̂±(X_i, T_i)) / Σ_i k_i,

  which stays consistent if either ξ̂ or the GPS is right (given the quantiles;
  with ``centre="quantile"`` quantile errors only widen it, at second order).

Every nuisance is cross-fitted (``n_folds``, default 2 as in the code's 50/50
split): a unit's predictions come from models that did not see it. The GPS
is Gaussian with the treatment model's mean and the out-of-fold residual
variance, floored at its own ``gps_floor`` sample quantile (the code floors
at the 10 % quantile) before the kernel weights are formed. Conditional
quantiles are μ̂ + σ̂ Φ⁻¹(level) (Gaussian residuals) unless a
``quantile_model`` is given. The bandwidth defaults to Silverman's rule for
the Epanechnikov kernel, 2.34·sd(T)·n^{−1/5} (the code's bootstrap-variance
selection over 40 values is not reproduced).

Confidence intervals: a nonparametric bootstrap of the final stage with the
cross-fitted nuisance predictions held fixed (the code also reuses its
quantiles and only warm-starts the networks); CI = [α/2 quantile of θ̂⁻_b,
1 − α/2 quantile of θ̂⁺_b]. It does not include nuisance-refit variability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

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
from ._blearner import _with_level
from ._common import clone_seeded

__all__ = [
    "APOBounds",
    "KernelAPOBounds",
    "epanechnikov",
    "kernel_apo_bound",
    "sharp_pseudo_outcomes",
]

METHODS = ("dr", "plugin")
CENTRES = ("quantile", "mean", "none")


def epanechnikov(u: Any) -> np.ndarray:
    """K(u) = 0.75 (1 − u²) 1{|u| ≤ 1}, elementwise."""
    u = np.asarray(u, dtype=np.float64)
    return np.where(np.abs(u) <= 1.0, 0.75 * (1.0 - u**2), 0.0)


def sharp_pseudo_outcomes(
    y: Any, q_upper: Any, q_lower: Any, lam: float, centre: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pseudo-outcomes of the sharp CMSM bounds: Z⁻ = Y·Λ^{−sign(Y − Q_{1−τ})}, Z⁺ = Y·Λ^{sign(Y − Q_τ)}.

    Parameters
    ----------
    y : array-like of shape (n,)
        Outcomes.
    q_upper, q_lower : array-like of shape (n,)
        Conditional τ- and (1 − τ)-quantiles of Y at (X_i, T_i), τ = Λ/(1 + Λ).
    lam : float
        Λ ≥ 1.
    centre : "quantile", array-like of shape (n,), or None
        ``"quantile"``: each side centred at its own quantile,
        Z = Q + (Y − Q)·Λ^{±sign(Y − Q)} (first-order insensitive to quantile
        errors, which then only widen the bounds). An array c = μ̂(X_i, T_i):
        Z = c + (Y − c)·Λ^{±sign(...)}. None: the code's Y·Λ^{±sign(...)}.
        All have the same conditional mean with exact quantiles
        (E[Λ^{±sign}] = 1); with a quantile error the array and None forms
        move by (E[w] − 1)·(μ − c) (c = 0 for None), either way.

    Returns
    -------
    z_lower, z_upper : numpy.ndarray of shape (n,)
    """
    lam = float(check_lambda(lam, "lam"))
    y = check_array(y, "y", ndim=1)
    ql, qu = np.asarray(q_lower, np.float64), np.asarray(q_upper, np.float64)
    c_lo: Any
    c_hi: Any
    if isinstance(centre, str):
        check_in_options(centre, "centre", ("quantile",))
        c_lo, c_hi = ql, qu
    else:
        c_lo = c_hi = 0.0 if centre is None else np.asarray(centre, np.float64)
    return (
        c_lo + (y - c_lo) * lam ** (-np.sign(y - ql)),
        c_hi + (y - c_hi) * lam ** np.sign(y - qu),
    )


def _kernel_weights(t: np.ndarray, t0: float, gps: np.ndarray, h: float) -> np.ndarray:
    return epanechnikov((t - t0) / h) / h / gps


def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    s = den.sum()
    return float(num.sum() / s) if s > 0 else float("nan")


def kernel_apo_bound(
    y: Any,
    t: Any,
    t0: float,
    lam: float,
    *,
    gps: Any,
    bandwidth: float,
    mu_obs: Any = None,
    mu_t0: Any = None,
    q_upper: Any = None,
    q_lower: Any = None,
    xi_obs: Any = None,
    xi_t0: Any = None,
    method: str = "dr",
    centre: str = "quantile",
) -> tuple[float, float]:
    """Sharp CMSM bounds on APO(t₀) from nuisance predictions (plug-in or doubly robust).

    Parameters
    ----------
    y, t : array-like of shape (n,)
        Outcomes and treatments.
    t0 : float
        Dose.
    lam : float
        Λ ≥ 1.
    gps : array-like of shape (n,)
        p̂(T_i | X_i) (> 0; floor it before).
    bandwidth : float
        Kernel bandwidth h > 0.
    mu_obs, mu_t0 : array-like of shape (n,)
        μ̂(X_i, T_i) and μ̂(X_i, t₀) (``method="plugin"``; ``mu_obs`` also for
        ``method="dr", centre="mean"``).
    q_upper, q_lower : array-like of shape (n,)
        Q̂_τ(X_i, T_i) and Q̂_{1−τ}(X_i, T_i).
    xi_obs, xi_t0 : array-like of shape (2, n)
        ξ̂⁻, ξ̂⁺ at (X_i, T_i) and at (X_i, t₀) (``method="dr"``).
    method : {"dr", "plugin"}
        Which estimator.
    centre : {"quantile", "mean", "none"}
        Form of the DR pseudo-outcomes (see :func:`sharp_pseudo_outcomes`):
        centred at each side's quantile (default), at ``mu_obs``, or not at
        all (the authors' code).

    Returns
    -------
    lower, upper : float
    """
    method = check_in_options(method, "method", METHODS)
    centre = check_in_options(centre, "centre", CENTRES)
    lam = float(check_lambda(lam, "lam"))
    h = check_real(bandwidth, "bandwidth", low=0.0, low_inclusive=False)
    y = check_array(y, "y", ndim=1)
    t = check_array(t, "t", ndim=1)
    g = check_array(gps, "gps", ndim=1)
    check_consistent_length(y=y, t=t, gps=g)
    if (g <= 0).any():
        raise ValueError("gps must be strictly positive; floor the density before.")
    k = _kernel_weights(t, float(t0), g, h)
    if method == "plugin":
        mu_obs, mu_t0 = np.asarray(mu_obs, np.float64), np.asarray(mu_t0, np.float64)
        c = (lam - 1.0) / lam
        base = float(mu_t0.mean())
        if c == 0.0:
            return base, base
        up = y > np.asarray(q_upper, np.float64)
        lo = y <= np.asarray(q_lower, np.float64)
        r = y - mu_obs
        return (
            base + c * _ratio((k * r)[lo], k[lo]),
            base + c * _ratio((k * r)[up], k[up]),
        )
    if centre == "mean" and mu_obs is None:
        raise ValueError("centre='mean' needs mu_obs, the outcome mean at (X_i, T_i).")
    c_arg = {"quantile": "quantile", "mean": mu_obs, "none": None}[centre]
    z_lo, z_hi = sharp_pseudo_outcomes(y, q_upper, q_lower, lam, centre=c_arg)
    xo, xt = np.asarray(xi_obs, np.float64), np.asarray(xi_t0, np.float64)
    return (
        float(xt[0].mean()) + _ratio(k * (z_lo - xo[0]), k),
        float(xt[1].mean()) + _ratio(k * (z_hi - xo[1]), k),
    )


@dataclass(frozen=True)
class APOBounds:
    """Sharp CMSM bounds on a dose-response curve with bootstrap confidence intervals.

    Parameters
    ----------
    t : numpy.ndarray of shape (g,)
        Doses.
    lam : numpy.ndarray of shape (L,)
        Sensitivity parameters Λ.
    lower, upper : numpy.ndarray of shape (L, g)
        Point estimates of the bounds.
    ci_lower, ci_upper : numpy.ndarray of shape (L, g)
        Bootstrap confidence interval for the identified set (NaN without bootstrap).
    point : numpy.ndarray of shape (g,)
        The estimate at Λ = 1.
    method : str
        ``"dr"`` or ``"plugin"``.
    bandwidth : float
        Kernel bandwidth used.
    """

    t: np.ndarray
    lam: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    point: np.ndarray
    method: str
    bandwidth: float


def _default_regressor() -> Any:
    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, min_samples_leaf=20)


class KernelAPOBounds(BaseEstimator):
    """Kernel-weighted sharp APO bounds under the CMSM, plug-in or doubly robust.

    Parameters
    ----------
    outcome_model : scikit-learn regressor, optional
        μ̂(x, t) on ``[X, t]``; default gradient boosting.
    treatment_model : scikit-learn regressor, optional
        E[T | x] of the Gaussian GPS; default linear regression.
    pseudo_model : scikit-learn regressor, optional
        ξ̂± on ``[X, t]`` (``method="dr"``); default gradient boosting.
    quantile_model : scikit-learn quantile regressor, optional
        Conditional quantiles on ``[X, t]`` (level set through ``quantile`` or
        ``alpha``); default μ̂ + σ̂ Φ⁻¹(level) with the out-of-fold residual sd.
    method : {"dr", "plugin"}
        Doubly robust pseudo-outcome estimator (default) or the plug-in.
    centre : {"quantile", "mean", "none"}
        Form of the DR pseudo-outcomes: centred at each side's cross-fitted
        quantile (default; quantile errors only widen the bounds, at second
        order), at the cross-fitted μ̂, or the authors' code's Y·Λ^{±sign}.
    bandwidth : float, optional
        Kernel bandwidth; default 2.34·sd(T)·n^{−1/5}.
    n_folds : int
        Cross-fitting folds (≥ 2).
    gps_floor : float
        Sample quantile in [0, 1) at which the GPS is floored (0: no floor).
    n_bootstrap : int
        Bootstrap resamples of the final stage (0: no intervals).
    alpha : float
        Miscoverage of the bootstrap interval.
    random_state : None or int
        Seeds folds, models and the bootstrap.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); t = X[:, 0] + rng.normal(size=500)
    >>> y = t + X.sum(1) + rng.normal(size=500)
    >>> b = KernelAPOBounds(n_bootstrap=0, random_state=0).fit(X, t, y)
    >>> b.dose_response([0.0, 0.5], [1.0, 2.0]).lower.shape
    (2, 2)
    """

    def __init__(
        self,
        outcome_model: Any = None,
        treatment_model: Any = None,
        pseudo_model: Any = None,
        quantile_model: Any = None,
        *,
        method: str = "dr",
        centre: str = "quantile",
        bandwidth: float | None = None,
        n_folds: int = 2,
        gps_floor: float = 0.1,
        n_bootstrap: int = 100,
        alpha: float = 0.05,
        random_state: int | None = None,
    ) -> None:
        self.outcome_model = outcome_model
        self.treatment_model = treatment_model
        self.pseudo_model = pseudo_model
        self.quantile_model = quantile_model
        self.method = method
        self.centre = centre
        self.bandwidth = bandwidth
        self.n_folds = n_folds
        self.gps_floor = gps_floor
        self.n_bootstrap = n_bootstrap
        self.alpha = alpha
        self.random_state = random_state

    def _seed(self, k: int) -> int:
        base = 0 if self.random_state is None else int(self.random_state)
        return (base * 1_000_003 + k) % (2**32)

    def fit(self, X: Any, t: Any, y: Any) -> KernelAPOBounds:
        """Cross-fit the outcome mean and the GPS.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Continuous treatment.
        y : array-like of shape (n,)
            Outcome.

        Returns
        -------
        self
        """
        check_in_options(self.method, "method", METHODS)
        check_in_options(self.centre, "centre", CENTRES)
        x = check_array(X, "X", ndim=2)
        t_arr = check_array(t, "t", ndim=1)
        y_arr = check_array(y, "y", ndim=1)
        check_consistent_length(X=x, t=t_arr, y=y_arr)
        k = check_positive_int(self.n_folds, "n_folds", minimum=2)
        floor_q = check_real(self.gps_floor, "gps_floor", low=0.0, high=1.0, high_inclusive=False)
        if np.ptp(t_arr) == 0:
            raise ValueError("t is constant; kernel APO bounds need a treatment that varies.")
        n = x.shape[0]
        folds = list(KFold(k, shuffle=True, random_state=self._seed(0)).split(np.arange(n)))
        xt = np.column_stack([x, t_arr])
        out_model = _default_regressor() if self.outcome_model is None else self.outcome_model
        tr_model = LinearRegression() if self.treatment_model is None else self.treatment_model
        mu_obs = np.empty(n)
        t_hat = np.empty(n)
        self.outcome_models_ = []
        for j, (train, test) in enumerate(folds):
            m = clone_seeded(out_model, self._seed(10 + j)).fit(xt[train], y_arr[train])
            mu_obs[test] = m.predict(xt[test])
            self.outcome_models_.append(m)
            g = clone_seeded(tr_model, self._seed(20 + j)).fit(x[train], t_arr[train])
            t_hat[test] = g.predict(x[test])
        sd_t = float(np.std(t_arr - t_hat))
        gps = stats.norm.pdf(t_arr, t_hat, max(sd_t, 1e-12))
        if floor_q > 0:
            gps = np.maximum(gps, np.quantile(gps, floor_q))
        self.folds_ = folds
        self.X_, self.t_, self.y_ = x, t_arr, y_arr
        self.mu_obs_ = mu_obs
        self.sigma_ = float(np.std(y_arr - mu_obs))
        self.gps_ = gps
        self.bandwidth_ = (
            2.34 * float(np.std(t_arr)) * n ** (-0.2)
            if self.bandwidth is None
            else check_real(self.bandwidth, "bandwidth", low=0.0, low_inclusive=False)
        )
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(self, "gps_")

    def _mu_at(self, t0: float) -> np.ndarray:
        """Cross-fitted μ̂(X_i, t₀), shape (n,)."""
        out = np.empty(self.y_.size)
        for m, (_, test) in zip(self.outcome_models_, self.folds_, strict=True):
            out[test] = m.predict(np.column_stack([self.X_[test], np.full(test.size, t0)]))
        return out

    def _quantiles(self, lam: float) -> tuple[np.ndarray, np.ndarray]:
        tau = lam / (1.0 + lam)
        if self.quantile_model is None:
            z = stats.norm.ppf(tau)
            return self.mu_obs_ + self.sigma_ * z, self.mu_obs_ - self.sigma_ * z
        xt = np.column_stack([self.X_, self.t_])
        qs = []
        for level in (tau, 1.0 - tau):
            q = np.empty(self.y_.size)
            for j, (train, test) in enumerate(self.folds_):
                m = _with_level(self.quantile_model, level, self._seed(30 + j))
                q[test] = m.fit(xt[train], self.y_[train]).predict(xt[test])
            qs.append(q)
        return qs[0], qs[1]

    def _xi(self, z: np.ndarray, grid: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Cross-fitted ξ̂ at (X_i, T_i) (n,) and at (X_i, t₀) for every grid value (g, n)."""
        model = _default_regressor() if self.pseudo_model is None else self.pseudo_model
        xt = np.column_stack([self.X_, self.t_])
        obs = np.empty(z.size)
        at = np.empty((grid.size, z.size))
        for j, (train, test) in enumerate(self.folds_):
            m = clone_seeded(model, self._seed(40 + 2 * j + side)).fit(xt[train], z[train])
            obs[test] = m.predict(xt[test])
            for gi, t0 in enumerate(grid):
                at[gi, test] = m.predict(np.column_stack([self.X_[test], np.full(test.size, t0)]))
        return obs, at

    def dose_response(self, t_grid: Any, lam: Any) -> APOBounds:
        """Sharp CMSM bounds on APO(t) on a grid, for every Λ, with bootstrap intervals.

        Parameters
        ----------
        t_grid : array-like of shape (g,)
            Doses inside the observed treatment range.
        lam : float or array-like of shape (L,)
            Λ ≥ 1.

        Returns
        -------
        APOBounds
        """
        self._check_fitted()
        method = check_in_options(self.method, "method", METHODS)
        centre = check_in_options(self.centre, "centre", CENTRES)
        lams = np.atleast_1d(check_lambda(lam, "lam"))
        grid = check_array(t_grid, "t_grid", ndim=1)
        lo_t, hi_t = float(self.t_.min()), float(self.t_.max())
        if ((grid < lo_t) | (grid > hi_t)).any():
            raise ValueError(
                f"t_grid has values outside the observed treatment range [{lo_t:.6g}, "
                f"{hi_t:.6g}]; kernel estimates there have no data."
            )
        b = check_positive_int(self.n_bootstrap, "n_bootstrap", minimum=0)
        alpha = check_real(self.alpha, "alpha", low=0.0, high=1.0, low_inclusive=False)
        n, h = self.y_.size, self.bandwidth_
        rng = check_random_state(self._seed(99))
        boots = [rng.integers(0, n, n) for _ in range(b)]
        mu_t0 = np.stack([self._mu_at(float(t0)) for t0 in grid])  # (g, n)
        shape = (lams.size, grid.size)
        lower, upper = np.empty(shape), np.empty(shape)
        ci_lo, ci_hi = np.full(shape, np.nan), np.full(shape, np.nan)
        xi_one = self._xi(self.y_, grid, 0) if method == "dr" else None
        point = np.empty(grid.size)
        for li, lam_v in enumerate(lams):
            q_up, q_lo = self._quantiles(float(lam_v))
            if method == "dr":
                assert xi_one is not None
                if lam_v == 1.0:
                    xi_obs = np.stack([xi_one[0], xi_one[0]])
                    xi_at = np.stack([xi_one[1], xi_one[1]])
                else:
                    c_arg = {"quantile": "quantile", "mean": self.mu_obs_, "none": None}[centre]
                    z_lo, z_hi = sharp_pseudo_outcomes(self.y_, q_up, q_lo, float(lam_v), c_arg)
                    (o0, a0), (o1, a1) = self._xi(z_lo, grid, 0), self._xi(z_hi, grid, 1)
                    xi_obs, xi_at = np.stack([o0, o1]), np.stack([a0, a1])
            for gi, t0 in enumerate(grid):
                nuis: dict[str, Any] = {"q_upper": q_up, "q_lower": q_lo}
                if method == "dr":
                    nuis.update(xi_obs=xi_obs, xi_t0=xi_at[:, gi])
                    if centre == "mean":
                        nuis.update(mu_obs=self.mu_obs_)
                else:
                    nuis.update(mu_obs=self.mu_obs_, mu_t0=mu_t0[gi])

                def est(idx: Any, t0: float = float(t0), lam_v: float = float(lam_v), nuis=nuis):
                    kw = {k: v[..., idx] for k, v in nuis.items()}
                    return kernel_apo_bound(
                        self.y_[idx],
                        self.t_[idx],
                        t0,
                        lam_v,
                        gps=self.gps_[idx],
                        bandwidth=h,
                        method=method,
                        centre=centre,
                        **kw,
                    )

                lower[li, gi], upper[li, gi] = est(slice(None))
                if b:
                    draws = np.array([est(idx) for idx in boots])
                    ci_lo[li, gi] = np.nanquantile(draws[:, 0], alpha / 2)
                    ci_hi[li, gi] = np.nanquantile(draws[:, 1], 1 - alpha / 2)
        for gi, t0 in enumerate(grid):
            if method == "plugin":
                point[gi] = mu_t0[gi].mean()
            else:
                assert xi_one is not None
                k = _kernel_weights(self.t_, float(t0), self.gps_, h)
                point[gi] = xi_one[1][gi].mean() + _ratio(k * (self.y_ - xi_one[0]), k)
        return APOBounds(grid, lams, lower, upper, ci_lo, ci_hi, point, method, h)
