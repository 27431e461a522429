"""The B-Learner (Oprescu et al. 2023): sharp CATE bounds from cross-fitted pseudo-outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold

from .._random import check_random_state, spawn_seeds
from .._validation import (
    check_array,
    check_consistent_length,
    check_in_options,
    check_is_fitted,
    check_positive_int,
    check_real,
)
from ..exceptions import LegacyNotFittedError
from ._common import (
    check_clip,
    check_fit_inputs,
    check_lam_grid,
    check_predict_X,
    clone_seeded,
    default_propensity_model,
    predict_propensity,
    record_feature_names,
)
from ._result import Bounds, Robustness
from ._robustness import robustness_from_grid
from ._weights import tail_mass, tau_level

__all__ = ["BLearner", "CrossValidatedBoosting"]


def _default_quantile_model() -> Any:
    return HistGradientBoostingRegressor(
        loss="quantile", quantile=0.5, max_iter=100, learning_rate=0.1, min_samples_leaf=20
    )


def _default_regressor() -> Any:
    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, min_samples_leaf=20)


def _default_final_model() -> Any:
    # The pseudo-outcomes are noisy (inverse-propensity terms, tail excesses): the
    # number of boosting rounds is chosen by cross-validated squared error on them
    # (an unbiased risk estimate up to a constant), not by a single noisy hold-out.
    return CrossValidatedBoosting()


class CrossValidatedBoosting(RegressorMixin, BaseEstimator):
    """Gradient boosting whose number of rounds is chosen by K-fold cross-validation.

    The default final stage of :class:`BLearner`. Each fold fits a
    ``HistGradientBoostingRegressor`` with ``max_iter`` rounds on the other
    folds; the held-out squared error of every intermediate round
    (``staged_predict``) is summed over folds and the best round count kept.
    Predictions average the K fold models at that round (no refit).

    Squared error on a pseudo-outcome φ with E[φ | X] = g(X) estimates the risk
    E[(f − g)²] up to a constant, so the selection targets the bound itself
    even though φ is very noisy. A single early-stopping hold-out on such data
    stops at an almost random round.

    Parameters
    ----------
    learning_rate : float
        Boosting shrinkage.
    max_iter : int
        Largest number of rounds considered.
    max_leaf_nodes : int
        Leaves per tree.
    min_samples_leaf : int
        Smallest leaf.
    cv : int
        Number of folds (≥ 2).
    random_state : None or int
        Seeds the folds and the trees; None draws a seed from fresh OS entropy
        (not reproducible), never from numpy's global random state.

    Attributes
    ----------
    n_iter_ : int
        Selected number of rounds.
    cv_risk_ : numpy.ndarray of shape (max_iter,)
        Mean held-out squared error after each round.
    estimators_ : list of HistGradientBoostingRegressor
        The K fold models.
    """

    def __init__(
        self,
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 8,
        min_samples_leaf: int = 20,
        cv: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> CrossValidatedBoosting:
        """Fit the fold models and choose the number of rounds.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        y : array-like of shape (n,)
            Targets (e.g. pseudo-outcomes).

        Returns
        -------
        self
        """
        x = check_array(X, "X", ndim=2)
        target = check_array(y, "y", ndim=1)
        check_consistent_length(X=x, y=target)
        cv = check_positive_int(self.cv, "cv", minimum=2)
        max_iter = check_positive_int(self.max_iter, "max_iter")
        if self.random_state is None:  # fresh OS entropy, never numpy's global RNG
            seed = int(spawn_seeds(check_random_state(None), 1)[0]) % (2**32)
        else:
            seed = int(self.random_state) % (2**32)
        folds = KFold(n_splits=cv, shuffle=True, random_state=seed)
        risk = np.zeros(max_iter)
        models = []
        for tr, te in folds.split(x):
            model = HistGradientBoostingRegressor(
                learning_rate=self.learning_rate,
                max_iter=max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                early_stopping=False,
                random_state=seed,
            ).fit(x[tr], target[tr])
            staged = list(model.staged_predict(x[te]))
            risk[: len(staged)] += [np.sum((p - target[te]) ** 2) for p in staged]
            risk[len(staged) :] = np.inf  # a fold that stopped early (constant target)
            models.append(model)
        self.cv_risk_ = risk / len(x)
        self.n_iter_ = int(np.argmin(self.cv_risk_)) + 1
        self.estimators_ = models
        self.n_features_in_ = x.shape[1]
        record_feature_names(self, X)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Average of the fold models after ``n_iter_`` rounds.

        Parameters
        ----------
        X : array-like of shape (m, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (m,)
        """
        check_is_fitted(self, "estimators_", error=LegacyNotFittedError)
        x = check_predict_X(X, self.n_features_in_, self)
        out = np.zeros(len(x))
        for model in self.estimators_:
            *_, pred = islice(model.staged_predict(x), self.n_iter_)
            out += pred
        return out / len(self.estimators_)


def _bootstrap_model(final: Any, seed: int) -> Any:
    """An unfitted copy of a fitted final-stage model for one bootstrap refit.

    The default :class:`CrossValidatedBoosting` is copied as one boosting model
    with the number of rounds its cross-validation chose (re-running the
    cross-validation on every resample would cost ``cv`` times as much);
    any other regressor is cloned as is.
    """
    if isinstance(final, CrossValidatedBoosting):
        return HistGradientBoostingRegressor(
            learning_rate=final.learning_rate,
            max_iter=final.n_iter_,
            max_leaf_nodes=final.max_leaf_nodes,
            min_samples_leaf=final.min_samples_leaf,
            early_stopping=False,
            random_state=seed % (2**32),
        )
    return clone_seeded(final, seed)


def _with_level(model: Any, level: float, seed: int) -> Any:
    """Clone a quantile regressor and set its quantile level."""
    fresh = clone_seeded(model, seed)
    params = fresh.get_params(deep=False)
    if "quantile" in params:
        # HistGradientBoostingRegressor has `quantile` whatever its loss; only one loss uses it
        if "loss" in params and params["loss"] != "quantile":
            raise TypeError(
                f"quantile_model has loss={params['loss']!r}, so it fits the conditional mean, "
                "not a quantile; set loss='quantile'."
            )
        return fresh.set_params(quantile=level)
    if params.get("loss") == "quantile" and "alpha" in params:
        return fresh.set_params(alpha=level)
    raise TypeError(
        "quantile_model must expose its level as a `quantile` parameter (e.g. "
        "HistGradientBoostingRegressor(loss='quantile'), QuantileRegressor) or as `alpha` "
        "with loss='quantile' (GradientBoostingRegressor)."
    )


_ESTIMANDS = ("ate", "att", "atc")


@dataclass
class _LamStage:
    """Everything fitted for one Λ: pseudo-outcomes and the final-stage models.

    ``targets[(a, s)]`` and ``rho[(a, s)]`` are the cross-fitted pseudo-targets R±_a
    and their regressions ρ±_a (s in {"upper", "lower"}); the ATT and ATC use them.
    The final-stage models are fitted on first use (averages need only φ±, R±, ρ±).
    """

    phi_lower: np.ndarray
    phi_upper: np.ndarray
    targets: dict[tuple[int, str], np.ndarray]
    rho: dict[tuple[int, str], np.ndarray]
    final_lower: Any = None
    final_upper: Any = None
    boot_lower: list[Any] = field(default_factory=list)  # filled on first use of the band
    boot_upper: list[Any] = field(default_factory=list)


class BLearner(BaseEstimator):
    """B-Learner: **sharp** CATE bounds under the MSM from doubly-robust pseudo-outcomes.

    For each Λ, with τ = Λ/(1+Λ) and K-fold cross-fitting (nuisances fitted on
    the other folds, predicted on the held-out fold):

    * nominal propensity e(x);
    * per arm a, on units with A = a: the τ- and (1−τ)-quantiles q±_a, and
      ρ±_a = E[R±_a | x, A = a] by regressing the pseudo-targets
      R⁺_a = Y/Λ + (1−1/Λ)[q⁺_a + (Y − q⁺_a)₊/(1−τ)],
      R⁻_a = Y/Λ + (1−1/Λ)[q⁻_a + (Y − q⁻_a)₋/(1−τ)]
      built from *out-of-fold* quantiles (pass 1 cross-fits q̂±, pass 2 fits
      ρ̂± on the other folds' targets), i.e. the same R± that enter φ±. The
      reference code uses in-sample quantile predictions here, so ρ̂ targets a
      different quantity and the bounds lose their double validity (a wrong
      propensity then moves them at first order);
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
        Final-stage regressor of φ± on X; default :class:`CrossValidatedBoosting`
        (boosting rounds chosen by 5-fold cross-validated squared error on the
        very noisy pseudo-outcomes).
    cv : int
        Number of cross-fitting folds (≥ 2).
    n_bootstrap : int
        Number of bootstrap refits of the final stage (0: none). With B > 1 the
        bounds carry ``lower_spread``/``upper_spread``: the standard deviation of
        the final-stage predictions over B resamples of the units with their
        pseudo-outcomes held fixed, so ``Bounds.widened(k)`` gives a pointwise
        confidence band. Holding the cross-fitted nuisances fixed is what the
        pseudo-outcomes' Neyman orthogonality justifies (nuisance errors enter
        the final stage at second order); the band still ignores that
        second-order term, the final stage's bias, and (for the default final
        model) the choice of the number of rounds.
    propensity_clip : float
        Propensities are clipped to [clip, 1 − clip].
    random_state : None, int or numpy.random.Generator
        Seeds the folds, the bootstrap resamples and every model with an unset
        ``random_state``.

    Attributes
    ----------
    propensity_ : numpy.ndarray of shape (n,)
        Cross-fitted propensities of the training units.
    n_features_in_ : int
    """

    _estimator_kind = "bounds"  # checked by knowable.testing (bounds kind)

    def __init__(
        self,
        propensity_model: Any = None,
        quantile_model: Any = None,
        cvar_model: Any = None,
        outcome_model: Any = None,
        final_model: Any = None,
        *,
        cv: int = 5,
        n_bootstrap: int = 0,
        propensity_clip: float = 1e-3,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.propensity_model = propensity_model
        self.quantile_model = quantile_model
        self.cvar_model = cvar_model
        self.outcome_model = outcome_model
        self.final_model = final_model
        self.cv = cv
        self.n_bootstrap = n_bootstrap
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
        n_boot = check_positive_int(self.n_bootstrap, "n_bootstrap", minimum=0)
        if n_boot == 1:
            raise ValueError("n_bootstrap must be 0 (no band) or at least 2, got 1.")
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
        record_feature_names(self, X)
        self._x, self._t, self._y = x, t_arr, y_arr
        self._stages: dict[float, _LamStage] = {}
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once ``fit`` has built the nuisance models (read by ``check_is_fitted``)."""
        return hasattr(self, "propensity_")

    # ------------------------------------------------------------------ per-Λ stage
    def _pseudo_targets(self, y: np.ndarray, q: np.ndarray, lam: float, side: str) -> np.ndarray:
        tail = float(tail_mass(np.asarray(lam)))  # 1 − τ, formed without cancellation
        excess = np.maximum(y - q, 0.0) if side == "upper" else np.minimum(y - q, 0.0)
        return y / lam + (1.0 - 1.0 / lam) * (q + excess / tail)

    def _stage(self, lam: float) -> _LamStage:
        if lam in self._stages:
            return self._stages[lam]
        x, t, y, e = self._x, self._t, self._y, self.propensity_
        n = len(y)
        smallest = min(int((t[tr] == a).sum()) for tr, _ in self._folds for a in (0, 1))
        if lam > 1.0 and float(tail_mass(np.asarray(lam))) * smallest < 1.0:
            raise ValueError(
                f"Λ = {lam:.6g} is too large for the B-Learner on these data: its bounds need "
                f"the top 1/(1 + Λ) of y in each arm, and the smallest arm of a training fold "
                f"has {smallest} units; use Λ <= {smallest - 1} (or more data)."
            )
        tau = float(tau_level(np.asarray(lam)))
        qmodel = (
            self.quantile_model if self.quantile_model is not None else _default_quantile_model()
        )
        rmodel = self.cvar_model if self.cvar_model is not None else _default_regressor()
        sides = (("upper", tau), ("lower", 1.0 - tau))
        rho = {(a, s): np.empty(n) for a in (0, 1) for s in ("upper", "lower")}
        big_r = {(a, s): np.empty(n) for a in (0, 1) for s in ("upper", "lower")}
        if lam == 1.0:  # R± = Y: one regression per arm and fold serves both sides
            for k, (tr, te) in enumerate(self._folds):
                for a in (0, 1):
                    tr_a = tr[t[tr] == a]
                    model = clone_seeded(rmodel, self._seeds[3] + 10 * k + a)
                    pred = model.fit(x[tr_a], y[tr_a]).predict(x[te])
                    for s in ("upper", "lower"):
                        rho[(a, s)][te] = pred
                        big_r[(a, s)][te] = y[te]
        else:
            # Pass 1: cross-fitted quantiles, so that every pseudo-target R± is built
            # from a quantile fitted WITHOUT its own unit. (The reference code regresses
            # ρ on R± built from in-sample quantile predictions; an overfitted q̂ is
            # pulled towards each y_i, which biases R± and hence ρ̂ towards the mean.)
            for k, (tr, te) in enumerate(self._folds):
                for a in (0, 1):
                    tr_a = tr[t[tr] == a]
                    for j, (s, level) in enumerate(sides):
                        seed = self._seeds[3] + 100 * k + 10 * a + j
                        qm = _with_level(qmodel, level, seed).fit(x[tr_a], y[tr_a])
                        big_r[(a, s)][te] = self._pseudo_targets(y[te], qm.predict(x[te]), lam, s)
            # Pass 2: ρ±_a for fold k regresses those out-of-fold targets on the
            # other folds' units of arm a.
            for k, (tr, te) in enumerate(self._folds):
                for a in (0, 1):
                    tr_a = tr[t[tr] == a]
                    for j, (s, _) in enumerate(sides):
                        seed = self._seeds[5] + 100 * k + 10 * a + j
                        rm = clone_seeded(rmodel, seed).fit(x[tr_a], big_r[(a, s)][tr_a])
                        rho[(a, s)][te] = rm.predict(x[te])

        def phi(a: int, s: str) -> np.ndarray:
            ind = t if a == 1 else 1.0 - t
            e_a = e if a == 1 else 1.0 - e
            r, p = big_r[(a, s)], rho[(a, s)]
            return p + ind / e_a * (r - p) + ind * y - ind * r

        phi_upper = phi(1, "upper") - phi(0, "lower")
        phi_lower = phi(1, "lower") - phi(0, "upper")
        stage = _LamStage(phi_lower, phi_upper, big_r, rho)
        self._stages[lam] = stage
        return stage

    def _final_stage(self, lam: float) -> _LamStage:
        """The stage of ``lam`` with its final-stage regressions of φ± on X fitted."""
        stage = self._stage(lam)
        if stage.final_upper is None:
            x = self._x
            fmodel = self.final_model if self.final_model is not None else _default_final_model()
            stage.final_upper = clone_seeded(fmodel, self._seeds[4]).fit(x, stage.phi_upper)
            stage.final_lower = (
                stage.final_upper
                if lam == 1.0
                else clone_seeded(fmodel, self._seeds[4]).fit(x, stage.phi_lower)
            )
        return stage

    def _fit_band(self, stage: _LamStage) -> None:
        """Final-stage refits on resamples of (x, φ±), once per Λ; the same resamples for every Λ."""
        if stage.boot_upper or self.n_bootstrap == 0:
            return
        rng = np.random.default_rng(self._seeds[6])
        n = len(self._y)
        for b in range(int(self.n_bootstrap)):
            idx = rng.integers(0, n, n)
            seed = self._seeds[7] + b
            up = _bootstrap_model(stage.final_upper, seed).fit(self._x[idx], stage.phi_upper[idx])
            low = (
                up
                if stage.final_lower is stage.final_upper
                else _bootstrap_model(stage.final_lower, seed).fit(
                    self._x[idx], stage.phi_lower[idx]
                )
            )
            stage.boot_lower.append(low)
            stage.boot_upper.append(up)

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
            Shape (n,) for a scalar ``lam``, else (L, n). With ``n_bootstrap`` ≥ 2,
            ``lower_spread``/``upper_spread`` hold the bootstrap standard deviations
            of the final stage (see the class docstring); otherwise none.
        """
        return self._bounds(X, lam, band=True)

    def _bounds(self, X: Any, lam: Any, *, band: bool) -> Bounds:
        check_is_fitted(self, error=LegacyNotFittedError)
        x = check_predict_X(X, self.n_features_in_, self)
        lams, scalar = check_lam_grid(lam)
        low, up, low_sd, up_sd = [], [], [], []
        for lv in lams:
            stage = self._final_stage(float(lv))
            low.append(stage.final_lower.predict(x))
            up.append(stage.final_upper.predict(x))
            if band and self.n_bootstrap:
                self._fit_band(stage)
                low_sd.append(np.std([m.predict(x) for m in stage.boot_lower], axis=0, ddof=1))
                up_sd.append(np.std([m.predict(x) for m in stage.boot_upper], axis=0, ddof=1))
        lo_a, up_a = np.asarray(low), np.asarray(up)
        lo_s = np.asarray(low_sd) if low_sd else None
        up_s = np.asarray(up_sd) if up_sd else None
        if scalar:
            first = (None, None) if lo_s is None or up_s is None else (lo_s[0], up_s[0])
            return Bounds(lo_a[0], up_a[0], lams[0], "blearner", *first)
        return Bounds(lo_a, up_a, lams, "blearner", lo_s, up_s)

    def ate_bounds(self, lam: Any, *, estimand: str = "ate", subset: Any = None) -> Bounds:
        """Doubly-robust bounds on the ATE, ATT or ATC of the training units.

        ``"ate"``: the means of the pseudo-outcomes φ∓ (sharp: the average of the
        per-unit sharp CATE bounds).

        ``"att"``: E[Y(1) − Y(0) | T = 1] = E[Y | T = 1] − E[Y(0) | T = 1]. The
        treated arm's mean is observed; under the MSM the counterfactual mean
        E[Y(0) | x, T = 1] lies in [ρ⁻₀(x), ρ⁺₀(x)] (Dorn & Guo's bound on the
        unobserved arm, the part of ψ±₀ that the propensity multiplies), so

            ATT⁻ = E[Y | T = 1] − E[ρ⁺₀(X) | T = 1],  ATT⁺ = E[Y | T = 1] − E[ρ⁻₀(X) | T = 1],

        with each E[ρ±₀(X) | T = 1] estimated doubly robustly,
        Σ[T ρ̂ + (1 − T) ê/(1 − ê) (R± − ρ̂)] / ΣT, from the same cross-fitted
        R±₀, ρ̂±₀ and ê as the CATE bounds. The bounds are sharp (the worst case
        may differ across x) and, at Λ = 1, equal the doubly-robust ATT estimate.
        They are narrower than the ATE-style average of the CATE bounds over the
        treated, which moreover bounds E[Y(1) − Y(0) | X] (not the effect on the
        treated) and is not a valid ATT bound in general. ``"atc"`` is the mirror
        image (E[Y(1) | T = 0] bounded by ρ±₁, weights (1 − ê)/ê on the treated).

        Parameters
        ----------
        lam : float or array-like of shape (L,)
            Sensitivity parameter(s) Λ ≥ 1.
        estimand : {"ate", "att", "atc"}
            All units, the treated or the controls (of ``subset``).
        subset : array-like of bool of shape (n_train,), optional
            Training units to average over (e.g. a covariate-defined group);
            default all. Combined with ``estimand``: the ATT over the treated
            units of the subset.

        Returns
        -------
        Bounds
            Shape () or (L,); the spreads hold the standard errors of the
            averages (influence-function, nuisances held fixed).
        """
        check_is_fitted(self, error=LegacyNotFittedError)
        estimand = check_in_options(estimand, "estimand", _ESTIMANDS)
        keep = self._subset(subset)
        lams, scalar = check_lam_grid(lam)
        rows = [self._average(self._stage(float(lv)), estimand, keep) for lv in lams]
        lo, up, lo_se, up_se = (np.array(col) for col in zip(*rows, strict=True))
        if scalar:
            return Bounds(lo[0], up[0], lams[0], "blearner", lo_se[0], up_se[0])
        return Bounds(lo, up, lams, "blearner", lo_se, up_se)

    def _subset(self, subset: Any) -> np.ndarray:
        n = len(self._y)
        if subset is None:
            return np.ones(n, dtype=bool)
        keep = np.asarray(subset)
        if keep.shape != (n,) or keep.dtype != bool:
            raise ValueError(
                f"subset must be a boolean array of shape ({n},) (one flag per training "
                f"unit), got dtype {keep.dtype} and shape {keep.shape}."
            )
        if not keep.any():
            raise ValueError("subset selects no training unit.")
        return keep

    def _average(
        self, stage: _LamStage, estimand: str, keep: np.ndarray
    ) -> tuple[float, float, float, float]:
        """(lower, upper, se lower, se upper) of the estimand over the ``keep`` units."""
        t, y, e = self._t, self._y, self.propensity_
        k = keep.astype(float)
        if estimand == "ate":
            num = {"lower": k * stage.phi_lower, "upper": k * stage.phi_upper}
            den = k
        elif estimand == "att":
            den = k * t
            if not den.any():
                raise ValueError("estimand='att': no treated unit in the subset.")

            def counterfactual0(s: str) -> np.ndarray:  # T ρ₀ + (1−T) e/(1−e) (R₀ − ρ₀)
                r, p = stage.targets[(0, s)], stage.rho[(0, s)]
                return t * p + (1.0 - t) * e / (1.0 - e) * (r - p)

            # the upper ATT bound subtracts the lower bound on the counterfactual mean
            num = {
                "lower": k * (t * y - counterfactual0("upper")),
                "upper": k * (t * y - counterfactual0("lower")),
            }
        else:
            den = k * (1.0 - t)
            if not den.any():
                raise ValueError("estimand='atc': no control unit in the subset.")

            def counterfactual1(s: str) -> np.ndarray:  # (1−T) ρ₁ + T (1−e)/e (R₁ − ρ₁)
                r, p = stage.targets[(1, s)], stage.rho[(1, s)]
                return (1.0 - t) * p + t * (1.0 - e) / e * (r - p)

            num = {
                "lower": k * (counterfactual1("lower") - (1.0 - t) * y),
                "upper": k * (counterfactual1("upper") - (1.0 - t) * y),
            }
        out = []
        n, share = len(y), den.mean()
        for side in ("lower", "upper"):
            value = num[side].sum() / den.sum()
            influence = (num[side] - value * den) / share  # ratio-of-means influence function
            out.append((float(value), float(influence.std(ddof=1) / np.sqrt(n))))
        (lo, lo_se), (up, up_se) = out
        return lo, up, lo_se, up_se

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
        check_is_fitted(self, error=LegacyNotFittedError)
        x = check_predict_X(X, self.n_features_in_, self)
        return self.outcome_models_[1].predict(x) - self.outcome_models_[0].predict(x)

    def robustness(
        self,
        X: Any = None,
        *,
        lam_max: float = 20.0,
        n_grid: int = 16,
        estimand: str = "ate",
        subset: Any = None,
    ) -> Robustness:
        """Smallest Λ at which the bound interval contains zero, per unit and for the average.

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
        estimand : {"ate", "att", "atc"}
            The average whose robustness is ``Robustness.ate`` (see :meth:`ate_bounds`);
            the per-unit values always refer to the CATE.
        subset : array-like of bool of shape (n_train,), optional
            Training units the average is over (default all).

        Returns
        -------
        Robustness
        """
        check_is_fitted(self, error=LegacyNotFittedError)
        estimand = check_in_options(estimand, "estimand", _ESTIMANDS)
        self._subset(subset)  # fail before the Λ grid is fitted
        lam_max = check_real(lam_max, "lam_max", low=1.0, low_inclusive=False)
        n_grid = check_positive_int(n_grid, "n_grid", minimum=2)
        grid = np.exp(np.linspace(0.0, np.log(lam_max), n_grid))
        b = self._bounds(self._x if X is None else X, grid, band=False)  # no band needed
        unit = robustness_from_grid(b.lower, b.upper, grid)
        a = self.ate_bounds(grid, estimand=estimand, subset=subset)
        ate = robustness_from_grid(a.lower[:, None], a.upper[:, None], grid)[0]
        return Robustness(unit, float(ate), float(lam_max), "blearner")
