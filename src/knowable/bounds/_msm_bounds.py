"""CATE bounds from an ensemble of outcome-density models and a propensity model."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._random import check_random_state, spawn_seeds
from .._validation import (
    check_binary_treatment,
    check_in_options,
    check_is_fitted,
    check_positive_int,
    check_real,
)
from ..exceptions import LegacyNotFittedError
from ._closed_form import kallus_mixture_upper, sharp_mixture_upper
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
from ._robustness import robustness_value
from ._sweep import cvar_excess, sweep_lower, sweep_upper
from ._weights import alpha_prime_from, tail_mass

__all__ = ["MSMBounds", "default_outcome_model"]

_METHODS = ("kallus", "sharp")
_COMPUTATIONS = ("samples", "analytic")
_ESTIMANDS = ("ate", "att", "atc")
# e_t of the arm bound's e_t -> 0 limit: the bound on the counterfactual mean
# E[Y(arm) | x, T != arm] alone (relative error of order 1e-12)
_COUNTERFACTUAL_E = 1e-12
_CHUNK = 4096  # units per chunk when drawing samples
# units whose sorted draws bounds() and ate_bounds() hold at once (computation="samples"):
# 2 arms x S members x 8,192 units x n_draws float64 (about 200 MB at S = 5, 300 draws)
_UNITS_PER_PASS = 8192


def default_outcome_model() -> Any:
    """Mixture-density deep ensemble used when ``outcome_model`` is None.

    Returns
    -------
    knowable.models.UncertainRegressor
        Unfitted; change e.g. ``max_epochs`` with ``set_params`` and pass it as
        ``MSMBounds(outcome_model=...)``.
    """
    from knowable.models import UncertainRegressor

    return UncertainRegressor(
        "ensemble",
        likelihood="mixture",
        n_components=5,
        n_members=5,
        hidden_size=64,
        depth=2,
        batch_size=128,
        learning_rate=2e-3,
        patience=15,
        device="cpu",
    )


@dataclass
class _ArmDensity:
    """Per-member Gaussian-mixture density of one arm at some inputs, shape (S, n, C)."""

    weights: np.ndarray
    loc: np.ndarray
    scale: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return (self.weights * self.loc).sum(-1)

    def sample(self, m: int, unit_seeds: list[np.random.SeedSequence]) -> np.ndarray:
        """Draws of shape (S, n, m), unit ``i``'s from its own ``unit_seeds[i]``.

        One stream per unit makes a unit's draws (and so its bounds) the same
        whatever other units share the batch.
        """
        cum = np.cumsum(self.weights, -1)
        n_members, n = self.loc.shape[:2]
        out = np.empty((n_members, n, m))
        for start in range(0, n, _CHUNK):
            sl = slice(start, min(start + _CHUNK, n))
            uniform = np.empty((n_members, sl.stop - start, m, 1))
            normal = np.empty((n_members, sl.stop - start, m))
            for j, seq in enumerate(unit_seeds[sl]):
                rng = np.random.default_rng(seq)
                uniform[:, j] = rng.random((n_members, m, 1))
                normal[:, j] = rng.standard_normal((n_members, m))
            comp = np.minimum((uniform > cum[:, sl, None, :]).sum(-1), cum.shape[-1] - 1)
            loc = np.take_along_axis(self.loc[:, sl], comp, -1)
            scale = np.take_along_axis(self.scale[:, sl], comp, -1)
            out[:, sl] = loc + scale * normal
        return out


def _row_keys(x: np.ndarray) -> list[int]:
    """A 64-bit key per row from its bytes (stable across processes, unlike ``hash``)."""
    rows = np.ascontiguousarray(x, dtype=np.float64)
    return [
        int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little")
        for row in rows
    ]


def _density_from_posterior(post: Any) -> _ArmDensity:
    """Per-member mixture components of a single-output Posterior."""
    from knowable.models import GaussianMixture, GaussianNoise

    obs = post.observation
    if isinstance(obs, GaussianMixture):
        return _ArmDensity(obs.weights[:, :, 0], obs.loc[:, :, 0], obs.scale[:, :, 0])
    if isinstance(obs, GaussianNoise):
        draws = post.draws[:, :, :1]
        scale = np.broadcast_to(obs.scale, post.draws.shape)[:, :, :1]
        return _ArmDensity(np.ones_like(draws), np.array(draws), np.array(scale))
    raise TypeError(
        "outcome_model must return a Posterior with a GaussianMixture or GaussianNoise "
        f"observation model (a density); got {type(obs).__name__}. Use "
        "UncertainRegressor(likelihood='mixture')."
    )


class _Prepared:
    """Densities, propensities and (for ``computation='samples'``) sorted draws at some X."""

    def __init__(self, d1: _ArmDensity, d0: _ArmDensity, e: np.ndarray, dev: dict | None) -> None:
        self.d1, self.d0, self.e = d1, d0, e
        self.dev = dev  # {arm: sorted draws minus mean, (S, n, m)}

    def arm_bounds(
        self, arm: int, lam: np.ndarray, method: str, counterfactual: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(upper, lower) on E[Y(arm) | x] per member, shape (S, n); ``lam`` broadcasts to (n,).

        ``counterfactual=True``: on E[Y(arm) | x, T ≠ arm] instead, the e_t → 0
        limit (all the mass of the arm unobserved): the MSM weights of the
        observed arm's outcome density then range over [1/Λ, Λ].
        """
        dens = self.d1 if arm == 1 else self.d0
        e_t = self.e if arm == 1 else 1.0 - self.e
        if counterfactual:
            e_t = np.full_like(self.e, _COUNTERFACTUAL_E)
        mu = dens.mean
        lam_b = np.broadcast_to(lam, mu.shape)
        e_b = np.broadcast_to(e_t, mu.shape)
        if self.dev is None:
            fn = kallus_mixture_upper if method == "kallus" else sharp_mixture_upper
            up = fn(dens.weights, dens.loc, dens.scale, e_b, lam_b)
            low = -fn(dens.weights, -dens.loc, dens.scale, e_b, lam_b)
            return up, low
        dev = self.dev[arm]
        if method == "kallus":
            a_prime = alpha_prime_from(e_b, lam_b)
            up, low = mu + sweep_upper(dev, a_prime), mu + sweep_lower(dev, a_prime)
        else:
            tail = tail_mass(lam_b)
            factor = (1.0 - e_b) * (1.0 - 1.0 / lam_b)
            up = mu + factor * cvar_excess(dev, tail, "upper")
            low = mu + factor * cvar_excess(dev, tail, "lower")
        collapsed = lam_b == 1.0
        return np.where(collapsed, mu, up), np.where(collapsed, mu, low)

    def member_cate_bounds(self, lam: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-member CATE bounds (S, n): τ⁻ = μ⁻₁ − μ⁺₀, τ⁺ = μ⁺₁ − μ⁻₀."""
        up1, low1 = self.arm_bounds(1, lam, method)
        up0, low0 = self.arm_bounds(0, lam, method)
        return low1 - up0, up1 - low0

    def member_bounds(
        self, lam: np.ndarray, method: str, estimand: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-member bounds (S, n) on the unit-level effect of ``estimand``.

        ``"ate"``: the CATE E[Y(1) − Y(0) | x]. ``"att"``: E[Y(1) − Y(0) | x, T = 1]
        = μ₁(x) − E[Y(0) | x, T = 1], where only the counterfactual mean is
        bounded. ``"atc"``: E[Y(1) | x, T = 0] − μ₀(x).
        """
        if estimand == "ate":
            return self.member_cate_bounds(lam, method)
        if estimand == "att":
            up0, low0 = self.arm_bounds(0, lam, method, counterfactual=True)
            mu1 = self.d1.mean
            return mu1 - up0, mu1 - low0
        up1, low1 = self.arm_bounds(1, lam, method, counterfactual=True)
        mu0 = self.d0.mean
        return low1 - mu0, up1 - mu0


def _mean_spread(a: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    n = a.shape[axis]
    spread = a.std(axis=axis, ddof=1) if n > 1 else np.zeros_like(a.mean(axis=axis))
    return a.mean(axis=axis), spread


class MSMBounds(BaseEstimator):
    """CATE bounds under the marginal sensitivity model from outcome-density ensembles.

    One outcome-density model is fitted per arm (a mixture-density deep
    ensemble by default) and one nominal-propensity model on all units. For
    each ensemble member the bounds on E[Y(1) | x] and E[Y(0) | x] are computed
    from that member's density, combined into CATE bounds
    τ⁻ = μ⁻₁ − μ⁺₀, τ⁺ = μ⁺₁ − μ⁻₀, and then averaged over members; the
    standard deviation of each bound across members is kept as its epistemic
    spread (Quince widens by the members' spread of the point CATE instead).

    Two bound estimators:

    * ``method="kallus"`` — the ratio bound of Kallus, Mao & Zhou / Quince:
      **valid (conservative)**, never narrower than the sharp bound.
    * ``method="sharp"`` — the quantile/CVaR bound of Dorn & Guo: **sharp**.

    Parameters
    ----------
    outcome_model : estimator, optional
        Regressor with ``fit(X, y)`` and ``posterior(X)`` returning a
        :class:`~knowable.models.Posterior` with a Gaussian-mixture (or
        Gaussian) observation model; cloned once per arm, or a pair
        ``(model for t = 0, model for t = 1)``. Default: a
        5-member ensemble of 5-component mixture-density networks.
        Why one model per arm: the bounds need p(y | x, t) for each arm, and
        the two arms' densities can differ in shape (under hidden confounding
        they mix the hidden strata in different proportions); separate models
        never smear one arm's density into the other's.
    propensity_model : classifier, optional
        Anything with ``fit(X, t)`` and ``predict_proba(X)``; default a
        standardised logistic regression.
    method : {"sharp", "kallus"}
        The bound (as ``method`` of :class:`ContinuousMSMBounds`): ``"sharp"``
        (Dorn–Guo) or ``"kallus"`` (ratio bound, valid but conservative). The
        ``method`` argument of :meth:`bounds`, :meth:`ate_bounds` and
        :meth:`robustness` overrides it for one call.
    n_draws : int
        Draws per unit, arm and member for ``computation="samples"`` (Quince: 300).
    computation : {"samples", "analytic"}
        How the bounds are computed. ``"samples"``: the sorting estimator
        (Kallus) and empirical quantile/CVaR (sharp) on ``n_draws`` draws, with
        the analytic density mean, as in Quince. ``"analytic"``: exact values
        for the mixture density (Dinkelbach for Kallus, bisection quantile +
        closed-form CVaR for sharp).
    estimator : {"samples", "analytic"}, optional
        Deprecated name of ``computation`` (scikit-learn uses ``estimator``
        for a sub-model); it warns, wins over ``computation`` when given, and
        goes in the next release.
    propensity_clip : float
        Predicted propensities are clipped to [clip, 1 − clip].
    random_state : None, int or numpy.random.Generator
        Seeds the models (those with an unset ``random_state``) and the draws.

    Attributes
    ----------
    outcome_models_ : list of two fitted estimators
        ``[model for t = 0, model for t = 1]``.
    propensity_model_ : fitted classifier
    n_features_in_ : int
    """

    _estimator_kind = "bounds"  # checked by knowable.testing (bounds kind)
    _bounds_collapse_to_effect = True  # bounds(X, 1) == effect(X): the kit checks it

    def __init__(
        self,
        outcome_model: Any = None,
        propensity_model: Any = None,
        *,
        method: str = "sharp",
        n_draws: int = 300,
        computation: str = "samples",
        estimator: str | None = None,
        propensity_clip: float = 1e-3,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.outcome_model = outcome_model
        self.propensity_model = propensity_model
        self.method = method
        self.n_draws = n_draws
        self.computation = computation
        self.estimator = estimator
        self.propensity_clip = propensity_clip
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, t: Any, y: Any) -> MSMBounds:
        """Fit the per-arm outcome-density models and the propensity model.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates (numpy or pandas).
        t : array-like of shape (n,)
            Binary treatment, 0/1.
        y : array-like of shape (n,)
            Outcome.

        Returns
        -------
        self
        """
        check_positive_int(self.n_draws, "n_draws", minimum=2)
        self._computation()
        self._method(None)
        check_clip(self.propensity_clip)
        x, t_arr, y_arr = check_fit_inputs(X, t, y)
        rng = check_random_state(self.random_state)
        seeds = spawn_seeds(rng, 4)
        base = self.outcome_model if self.outcome_model is not None else default_outcome_model()
        if isinstance(base, list | tuple):
            if len(base) != 2:
                raise ValueError(
                    "outcome_model must be one estimator or a pair (model for t=0, model for t=1); "
                    f"got {len(base)} models."
                )
            per_arm = list(base)
        else:
            per_arm = [base, base]
        models = []
        for arm in (0, 1):
            mask = t_arr == arm
            model = clone_seeded(per_arm[arm], seeds[arm])
            if not hasattr(model, "posterior"):
                raise TypeError(
                    "outcome_model needs a posterior(X) method returning a density "
                    "(e.g. knowable.models.UncertainRegressor(likelihood='mixture'))."
                )
            models.append(model.fit(x[mask], y_arr[mask]))
        prop = (
            self.propensity_model
            if self.propensity_model is not None
            else default_propensity_model()
        )
        self.propensity_model_ = clone_seeded(prop, seeds[2]).fit(x, t_arr)
        self.outcome_models_ = models
        self.n_features_in_ = x.shape[1]
        record_feature_names(self, X)
        self._draw_seed = seeds[3]
        self._x_train = x
        self._t_train = t_arr
        self._prepared_cache: tuple[int, _Prepared] | None = None
        return self

    # ------------------------------------------------------------------ internals
    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once ``fit`` has built the outcome models (read by ``check_is_fitted``)."""
        return hasattr(self, "outcome_models_")

    def _computation(self) -> str:
        if self.estimator is not None:
            warnings.warn(
                "MSMBounds(estimator=...) is renamed MSMBounds(computation=...); "
                "estimator goes in the next release.",
                DeprecationWarning,
                stacklevel=4,
            )
            return check_in_options(self.estimator, "estimator", _COMPUTATIONS)
        return check_in_options(self.computation, "computation", _COMPUTATIONS)

    def _method(self, method: str | None) -> str:
        return check_in_options(self.method if method is None else method, "method", _METHODS)

    def _prepare(self, X: Any) -> _Prepared:
        check_is_fitted(self, error=LegacyNotFittedError)
        return self._prepare_rows(check_predict_X(X, self.n_features_in_, self))

    def _prepare_rows(self, x: np.ndarray, *, cache: bool = True) -> _Prepared:
        """Densities, propensities and (``"samples"``) sorted draws at validated rows ``x``."""
        # the settings read here belong in the key: set_params may change them after fit
        computation = self._computation()
        settings = (computation, int(self.n_draws), float(self.propensity_clip))
        key = hash((x.shape, x.tobytes(), settings))
        if cache and self._prepared_cache is not None and self._prepared_cache[0] == key:
            return self._prepared_cache[1]
        d0 = _density_from_posterior(self.outcome_models_[0].posterior(x))
        d1 = _density_from_posterior(self.outcome_models_[1].posterior(x))
        if d0.loc.shape[0] != d1.loc.shape[0]:
            raise ValueError(
                f"the two arms' models have {d0.loc.shape[0]} and {d1.loc.shape[0]} members; "
                "use the same ensemble size for both."
            )
        e = predict_propensity(self.propensity_model_, x, self.propensity_clip)
        dev = None
        if computation == "samples":
            keys = _row_keys(x)
            dev = {}
            for arm, dens in ((0, d0), (1, d1)):
                seeds = [np.random.SeedSequence([self._draw_seed, arm, k]) for k in keys]
                draws = dens.sample(int(self.n_draws), seeds)
                dev[arm] = np.sort(draws, axis=-1) - dens.mean[..., None]
        prepared = _Prepared(d1, d0, e, dev)
        if cache:
            self._prepared_cache = (key, prepared)
        return prepared

    def _unit_member_bounds(
        self, X: Any, lams: np.ndarray, method: str, estimand: str = "ate"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-unit bounds of every member, ``(L, S, n)``.

        With sample draws and more than ``_UNITS_PER_PASS`` units, the units are
        taken in passes, so the draws held at once do not grow with ``n``; each
        unit's draws come from its own stream, so the bounds are the same.
        """
        check_is_fitted(self, error=LegacyNotFittedError)
        x = check_predict_X(X, self.n_features_in_, self)
        if self._computation() != "samples" or x.shape[0] <= _UNITS_PER_PASS:
            return self._member_bounds(self._prepare_rows(x), lams, method, estimand)
        parts = [
            self._member_bounds(
                self._prepare_rows(x[i : i + _UNITS_PER_PASS], cache=False),
                lams,
                method,
                estimand,
            )
            for i in range(0, x.shape[0], _UNITS_PER_PASS)
        ]
        return (
            np.concatenate([low for low, _ in parts], axis=-1),
            np.concatenate([up for _, up in parts], axis=-1),
        )

    def _member_bounds(
        self, prepared: _Prepared, lams: np.ndarray, method: str, estimand: str = "ate"
    ) -> tuple[np.ndarray, np.ndarray]:
        lows, ups = [], []
        for lv in lams:
            low, up = prepared.member_bounds(np.asarray(lv), method, estimand)
            lows.append(low)
            ups.append(up)
        return np.stack(lows), np.stack(ups)  # (L, S, n)

    # ------------------------------------------------------------------ API
    def bounds(self, X: Any, lam: Any, method: str | None = None) -> Bounds:
        """CATE bounds at ``X`` for one or several Λ.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        lam : float or array-like of shape (L,)
            Sensitivity parameter(s) Λ ≥ 1.
        method : {"sharp", "kallus"}, optional
            ``"sharp"`` (Dorn–Guo, sharp) or ``"kallus"`` (ratio bound, valid
            but conservative); default the estimator's ``method``.

        Returns
        -------
        Bounds
            ``lower``/``upper`` of shape (n,) for a scalar ``lam``, else
            (L, n): the mean over ensemble members; ``lower_spread`` /
            ``upper_spread``: their standard deviation across members.
        """
        method = self._method(method)
        lams, scalar = check_lam_grid(lam)
        low, up = self._unit_member_bounds(X, lams, method)
        lo_m, lo_s = _mean_spread(low, 1)
        up_m, up_s = _mean_spread(up, 1)
        if scalar:
            lo_m, lo_s, up_m, up_s = lo_m[0], lo_s[0], up_m[0], up_s[0]
        return Bounds(lo_m, up_m, lams[0] if scalar else lams, method, lo_s, up_s)

    def _population(self, X: Any, t: Any, estimand: str) -> Any:
        """The units an average is over: ``X`` (default training), or its treated/control rows."""
        estimand = check_in_options(estimand, "estimand", _ESTIMANDS)
        if X is None:
            X = self._x_train
            if t is None:
                t = self._t_train
        if estimand == "ate":
            return X
        if t is None:
            raise ValueError(
                f"estimand={estimand!r} needs the treatment t of the units in X, shape (n,)."
            )
        t_arr = check_binary_treatment(t, "t")
        if t_arr.shape[0] != len(X):
            raise ValueError(f"t has {t_arr.shape[0]} entries but X has {len(X)} rows.")
        rows = np.flatnonzero(t_arr == (1 if estimand == "att" else 0))
        if rows.size == 0:
            arm = "treated" if estimand == "att" else "control"
            raise ValueError(f"estimand={estimand!r}: t has no {arm} units.")
        return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]

    def ate_bounds(
        self,
        lam: Any,
        method: str | None = None,
        X: Any = None,
        *,
        t: Any = None,
        estimand: str = "ate",
    ) -> Bounds:
        """Bounds on the average effect over ``X`` (default: the training covariates).

        Under the MSM the sharp bound on an average is the average of the
        per-unit sharp bounds (the confounding may differ across x).

        With ``estimand="att"`` the average is over the treated units and each
        unit's effect is E[Y(1) − Y(0) | x, T = 1] = μ₁(x) − E[Y(0) | x, T = 1]:
        the treated arm's mean is observed, and only the counterfactual mean
        E[Y(0) | x, T = 1] is bounded, by reweighting the control outcome
        density with MSM weights in [1/Λ, Λ]. ``"atc"`` is the mirror image.
        These are narrower than averaging the CATE bounds over the treated.

        Parameters
        ----------
        lam : float or array-like of shape (L,)
            Sensitivity parameter(s) Λ ≥ 1.
        method : {"sharp", "kallus"}, optional
            The bound; default the estimator's ``method``.
        X : array-like of shape (n, d), optional
            Population to average over (default: the training covariates).
        t : array-like of shape (n,), optional
            Treatment of the units of ``X`` (default: the training treatments
            when ``X`` is None); needed for ``"att"``/``"atc"``.
        estimand : {"ate", "att", "atc"}
            All units, the treated or the controls.

        Returns
        -------
        Bounds
            Shape () or (L,); spreads across ensemble members.
        """
        check_is_fitted(self, error=LegacyNotFittedError)
        method = self._method(method)
        lams, scalar = check_lam_grid(lam)
        low, up = self._unit_member_bounds(self._population(X, t, estimand), lams, method, estimand)
        lo_m, lo_s = _mean_spread(low.mean(-1), 1)
        up_m, up_s = _mean_spread(up.mean(-1), 1)
        if scalar:
            lo_m, lo_s, up_m, up_s = lo_m[0], lo_s[0], up_m[0], up_s[0]
        return Bounds(lo_m, up_m, lams[0] if scalar else lams, method, lo_s, up_s)

    def effect(self, X: Any) -> np.ndarray:
        """Point CATE estimate E[Y | x, t=1] − E[Y | x, t=0] (ensemble mean), the Λ = 1 bound.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        prepared = self._prepare(X)
        return (prepared.d1.mean - prepared.d0.mean).mean(0)

    def robustness(
        self,
        X: Any = None,
        method: str | None = None,
        *,
        lam_max: float = 100.0,
        widen: float = 0.0,
        tol: float = 1e-4,
        t: Any = None,
        estimand: str = "ate",
    ) -> Robustness:
        """Smallest Λ at which the CATE (and the ATE) bound interval contains zero.

        The number a user reads as "how much hidden confounding would be needed
        to flip this conclusion". Vectorised bisection on log Λ.

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units (default: the training covariates); the ATE is their average.
        method : {"sharp", "kallus"}, optional
            The bound; default the estimator's ``method``.
        lam_max : float
            Search up to this Λ; ``inf`` is returned beyond it.
        widen : float
            Widen each interval by ``widen`` epistemic spreads (0: off).
        tol : float
            Tolerance on log Λ.
        t : array-like of shape (n,), optional
            Treatment of the units (default: the training treatments when ``X``
            is None); needed for ``"att"``/``"atc"``.
        estimand : {"ate", "att", "atc"}
            With ``"att"`` (``"atc"``) the units are the treated (control) ones
            and both the per-unit and the average values refer to the effect on
            them (see :meth:`ate_bounds`); ``Robustness.ate`` then holds the
            ATT's (ATC's) robustness value.

        Returns
        -------
        Robustness
        """
        check_is_fitted(self, error=LegacyNotFittedError)
        method = self._method(method)
        widen = check_real(widen, "widen", low=0.0)
        prepared = self._prepare(self._population(X, t, estimand))
        n = prepared.e.shape[0]

        def unit_interval(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            low, up = prepared.member_bounds(lam, method, estimand)
            lo_m, lo_s = _mean_spread(low, 0)
            up_m, up_s = _mean_spread(up, 0)
            return lo_m - widen * lo_s, up_m + widen * up_s

        def ate_interval(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            low, up = prepared.member_bounds(np.full(n, lam[0]), method, estimand)
            lo_m, lo_s = _mean_spread(low.mean(-1), 0)
            up_m, up_s = _mean_spread(up.mean(-1), 0)
            return np.atleast_1d(lo_m - widen * lo_s), np.atleast_1d(up_m + widen * up_s)

        unit = robustness_value(unit_interval, n, lam_max=lam_max, tol=tol)
        ate = robustness_value(ate_interval, 1, lam_max=lam_max, tol=tol)[0]
        return Robustness(unit, float(ate), float(lam_max), method)
