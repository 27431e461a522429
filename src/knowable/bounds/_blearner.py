"""The B-Learner (Oprescu et al. 2023): sharp CATE bounds from cross-fitted pseudo-outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold

from .._random import check_random_state, spawn_seeds
from .._validation import check_positive_int, check_real
from ._common import (
    check_clip,
    check_fit_inputs,
    check_lam_grid,
    check_predict_X,
    clone_seeded,
    default_propensity_model,
    predict_propensity,
)
from ._result import Bounds, Robustness
from ._robustness import robustness_from_grid
from ._weights import tau_level

__all__ = ["BLearner"]


def _default_quantile_model() -> Any:
    return HistGradientBoostingRegressor(
        loss="quantile", quantile=0.5, max_iter=150, learning_rate=0.05, min_samples_leaf=20
    )


def _default_regressor() -> Any:
    return HistGradientBoostingRegressor(max_iter=150, learning_rate=0.05, min_samples_leaf=20)


def _default_final_model() -> Any:
    # The pseudo-outcomes are noisy (inverse-propensity terms): regularise and stop early.
    return HistGradientBoostingRegressor(
        max_iter=300,
        learning_rate=0.05,
        max_leaf_nodes=8,
        min_samples_leaf=40,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=20,
    )


def _with_level(model: Any, level: float, seed: int) -> Any:
    """Clone a quantile regressor and set its quantile level."""
    fresh = clone_seeded(model, seed)
    params = fresh.get_params(deep=False)
    if "quantile" in params:
        return fresh.set_params(quantile=level)
    if params.get("loss") == "quantile" and "alpha" in params:
        return fresh.set_params(alpha=level)
    raise TypeError(
        "quantile_model must expose its level as a `quantile` parameter (e.g. "
        "HistGradientBoostingRegressor(loss='quantile'), QuantileRegressor) or as `alpha` "
        "with loss='quantile' (GradientBoostingRegressor)."
    )


@dataclass
class _LamStage:
    """Everything fitted for one Λ: pseudo-outcomes and the final-stage models."""

    phi_lower: np.ndarray
    phi_upper: np.ndarray
    final_lower: Any
    final_upper: Any


class BLearner(BaseEstimator):
    """B-Learner: **sharp** CATE bounds under the MSM from doubly-robust pseudo-outcomes.

    For each Λ, with τ = Λ/(1+Λ) and K-fold cross-fitting (nuisances fitted on
    the other folds, predicted on the held-out fold):

    * nominal propensity e(x);
    * per arm a, on units with A = a: the τ- and (1−τ)-quantiles q±_a, and
      ρ±_a = E[R±_a | x, A = a] by regressing the pseudo-targets
      R⁺_a = Y/Λ + (1−1/Λ)[q⁺_a + (Y − q⁺_a)₊/(1−τ)],
      R⁻_a = Y/Λ + (1−1/Λ)[q⁻_a + (Y − q⁻_a)₋/(1−τ)]
      (built from in-sample quantile predictions, as in the reference code);
    * pseudo-outcomes φ±₁ = ρ±₁ + (A/e)(R±₁ − ρ±₁) + A·Y − A·R±₁ (and the
      mirror for arm 0 with 1 − A, 1 − e), φ⁺ = φ⁺₁ − φ⁻₀, φ⁻ = φ⁻₁ − φ⁺₀,
      whose conditional means are the sharp bounds ψ⁺₁ − ψ⁻₀ and ψ⁻₁ − ψ⁺₀;
    * final stage: regress φ± on X.

    At Λ = 1 the pseudo-targets equal Y, both bounds share one fit and the
    B-Learner reduces to the DR-learner (the bounds coincide exactly).

    Λ-independent parts (folds, propensities) are fitted in :meth:`fit`; the
    Λ-dependent stages are fitted on first use of each Λ and cached.

    Parameters
    ----------
    propensity_model : classifier, optional
        ``fit``/``predict_proba``; default standardised logistic regression.
    quantile_model : regressor, optional
        Quantile regressor whose level is a ``quantile`` parameter (or ``alpha``
        with ``loss="quantile"``); default ``HistGradientBoostingRegressor(loss="quantile")``.
    cvar_model : regressor, optional
        Regressor of the pseudo-targets R± (gives ρ±); default gradient boosting.
    outcome_model : regressor, optional
        Per-arm mean regressor used only by :meth:`effect` (point CATE); default
        gradient boosting.
    final_model : regressor, optional
        Final-stage regressor of φ± on X; default gradient boosting with early
        stopping (the pseudo-outcomes are noisy).
    cv : int
        Number of cross-fitting folds (≥ 2).
    propensity_clip : float
        Propensities are clipped to [clip, 1 − clip].
    random_state : None, int or numpy.random.Generator
        Seeds the folds and every model with an unset ``random_state``.

    Attributes
    ----------
    propensity_ : numpy.ndarray of shape (n,)
        Cross-fitted propensities of the training units.
    n_features_in_ : int
    """

    def __init__(
        self,
        propensity_model: Any = None,
        quantile_model: Any = None,
        cvar_model: Any = None,
        outcome_model: Any = None,
        final_model: Any = None,
        *,
        cv: int = 5,
        propensity_clip: float = 1e-3,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.propensity_model = propensity_model
        self.quantile_model = quantile_model
        self.cvar_model = cvar_model
        self.outcome_model = outcome_model
        self.final_model = final_model
        self.cv = cv
        self.propensity_clip = propensity_clip
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, t: Any, y: Any) -> BLearner:
        """Cross-fit the propensity and store the data for the Λ-dependent stages.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Binary treatment, 0/1.
        y : array-like of shape (n,)
            Outcome.

        Returns
        -------
        self
        """
        cv = check_positive_int(self.cv, "cv", minimum=2)
        clip = check_clip(self.propensity_clip)
        x, t_arr, y_arr = check_fit_inputs(X, t, y, min_per_arm=2 * cv)
        rng = check_random_state(self.random_state)
        self._seeds = spawn_seeds(rng, 8)
        folds = KFold(n_splits=cv, shuffle=True, random_state=self._seeds[0] % (2**32))
        self._folds = [(tr, te) for tr, te in folds.split(x)]
        prop = (
            self.propensity_model
            if self.propensity_model is not None
            else default_propensity_model()
        )
        e = np.empty(len(x))
        for k, (tr, te) in enumerate(self._folds):
            model = clone_seeded(prop, self._seeds[1] + k).fit(x[tr], t_arr[tr])
            e[te] = predict_propensity(model, x[te], clip)
        self.propensity_ = e
        outcome = self.outcome_model if self.outcome_model is not None else _default_regressor()
        self.outcome_models_ = [
            clone_seeded(outcome, self._seeds[2] + arm).fit(x[t_arr == arm], y_arr[t_arr == arm])
            for arm in (0, 1)
        ]
        self.n_features_in_ = x.shape[1]
        self._x, self._t, self._y = x, t_arr, y_arr
        self._stages: dict[float, _LamStage] = {}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "propensity_"):
            raise RuntimeError("BLearner is not fitted yet; call fit(X, t, y) first.")

    # ------------------------------------------------------------------ per-Λ stage
    def _pseudo_targets(self, y: np.ndarray, q: np.ndarray, lam: float, side: str) -> np.ndarray:
        tau = float(tau_level(np.asarray(lam)))
        excess = np.maximum(y - q, 0.0) if side == "upper" else np.minimum(y - q, 0.0)
        return y / lam + (1.0 - 1.0 / lam) * (q + excess / (1.0 - tau))

    def _stage(self, lam: float) -> _LamStage:
        if lam in self._stages:
            return self._stages[lam]
        x, t, y, e = self._x, self._t, self._y, self.propensity_
        n = len(y)
        tau = float(tau_level(np.asarray(lam)))
        qmodel = (
            self.quantile_model if self.quantile_model is not None else _default_quantile_model()
        )
        rmodel = self.cvar_model if self.cvar_model is not None else _default_regressor()
        rho = {(a, s): np.empty(n) for a in (0, 1) for s in ("upper", "lower")}
        big_r = {(a, s): np.empty(n) for a in (0, 1) for s in ("upper", "lower")}
        for k, (tr, te) in enumerate(self._folds):
            for a in (0, 1):
                tr_a = tr[t[tr] == a]
                seed = self._seeds[3] + 10 * k + a
                if lam == 1.0:  # R± = Y: one regression serves both sides
                    model = clone_seeded(rmodel, seed).fit(x[tr_a], y[tr_a])
                    pred = model.predict(x[te])
                    for s in ("upper", "lower"):
                        rho[(a, s)][te] = pred
                        big_r[(a, s)][te] = y[te]
                    continue
                for s, level in (("upper", tau), ("lower", 1.0 - tau)):
                    qm = _with_level(qmodel, level, seed).fit(x[tr_a], y[tr_a])
                    r_train = self._pseudo_targets(y[tr_a], qm.predict(x[tr_a]), lam, s)
                    rm = clone_seeded(rmodel, seed).fit(x[tr_a], r_train)
                    rho[(a, s)][te] = rm.predict(x[te])
                    big_r[(a, s)][te] = self._pseudo_targets(y[te], qm.predict(x[te]), lam, s)

        def phi(a: int, s: str) -> np.ndarray:
            ind = t if a == 1 else 1.0 - t
            e_a = e if a == 1 else 1.0 - e
            r, p = big_r[(a, s)], rho[(a, s)]
            return p + ind / e_a * (r - p) + ind * y - ind * r

        phi_upper = phi(1, "upper") - phi(0, "lower")
        phi_lower = phi(1, "lower") - phi(0, "upper")
        fmodel = self.final_model if self.final_model is not None else _default_final_model()
        final_upper = clone_seeded(fmodel, self._seeds[4]).fit(x, phi_upper)
        final_lower = (
            final_upper if lam == 1.0 else clone_seeded(fmodel, self._seeds[4]).fit(x, phi_lower)
        )
        stage = _LamStage(phi_lower, phi_upper, final_lower, final_upper)
        self._stages[lam] = stage
        return stage

    # ------------------------------------------------------------------ API
    def bounds(self, X: Any, lam: Any) -> Bounds:
        """Sharp CATE bounds at ``X`` (final-stage predictions) for one or several Λ.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        lam : float or array-like of shape (L,)
            Sensitivity parameter(s) Λ ≥ 1.

        Returns
        -------
        Bounds
            Shape (n,) for a scalar ``lam``, else (L, n); no epistemic spread.
        """
        self._check_fitted()
        x = check_predict_X(X, self.n_features_in_)
        lams, scalar = check_lam_grid(lam)
        low, up = [], []
        for lv in lams:
            stage = self._stage(float(lv))
            low.append(stage.final_lower.predict(x))
            up.append(stage.final_upper.predict(x))
        lo_a, up_a = np.asarray(low), np.asarray(up)
        if scalar:
            return Bounds(lo_a[0], up_a[0], lams[0], "blearner")
        return Bounds(lo_a, up_a, lams, "blearner")

    def ate_bounds(self, lam: Any) -> Bounds:
        """Doubly-robust bounds on the ATE: the means of the pseudo-outcomes φ∓.

        Parameters
        ----------
        lam : float or array-like of shape (L,)
            Sensitivity parameter(s) Λ ≥ 1.

        Returns
        -------
        Bounds
            Shape () or (L,); the spreads hold the standard errors of the means.
        """
        self._check_fitted()
        lams, scalar = check_lam_grid(lam)
        stages = [self._stage(float(lv)) for lv in lams]
        n = len(self._y)
        lo = np.array([s.phi_lower.mean() for s in stages])
        up = np.array([s.phi_upper.mean() for s in stages])
        lo_se = np.array([s.phi_lower.std(ddof=1) / np.sqrt(n) for s in stages])
        up_se = np.array([s.phi_upper.std(ddof=1) / np.sqrt(n) for s in stages])
        if scalar:
            return Bounds(lo[0], up[0], lams[0], "blearner", lo_se[0], up_se[0])
        return Bounds(lo, up, lams, "blearner", lo_se, up_se)

    def effect(self, X: Any) -> np.ndarray:
        """Point CATE from the per-arm outcome regressions (T-learner).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        self._check_fitted()
        x = check_predict_X(X, self.n_features_in_)
        return self.outcome_models_[1].predict(x) - self.outcome_models_[0].predict(x)

    def robustness(self, X: Any = None, *, lam_max: float = 20.0, n_grid: int = 16) -> Robustness:
        """Smallest Λ at which the bound interval contains zero, per unit and for the ATE.

        The B-Learner refits its Λ-dependent stages per Λ, so the search runs on a
        log-spaced grid of ``n_grid`` values in [1, Λ_max] with log-linear
        interpolation between the bracketing grid points (not a per-unit bisection).

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units (default: the training covariates).
        lam_max : float
            Largest Λ searched; ``inf`` beyond it.
        n_grid : int
            Grid size (≥ 2).

        Returns
        -------
        Robustness
        """
        self._check_fitted()
        lam_max = check_real(lam_max, "lam_max", low=1.0, low_inclusive=False)
        n_grid = check_positive_int(n_grid, "n_grid", minimum=2)
        grid = np.exp(np.linspace(0.0, np.log(lam_max), n_grid))
        b = self.bounds(self._x if X is None else X, grid)
        unit = robustness_from_grid(b.lower, b.upper, grid)
        a = self.ate_bounds(grid)
        ate = robustness_from_grid(a.lower[:, None], a.upper[:, None], grid)[0]
        return Robustness(unit, float(ate), float(lam_max), "blearner")
