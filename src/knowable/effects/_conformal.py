"""Split-conformal (and weighted split-conformal) intervals for individual treatment effects.

Lei & Candès (2021), "Conformal inference of counterfactuals and individual
treatment effects" (JRSS-B): calibrate an interval for each potential outcome
``Y(t)`` on held-out units of arm ``t``, reweighting them by the inverse
propensity so that they stand for the whole population, and combine the two
arms into an interval for ``Y(1) - Y(0)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

from .._random import check_random_state
from .._validation import (
    check_array,
    check_binary_treatment,
    check_consistent_length,
    check_in_options,
    check_is_fitted,
    check_real,
)
from ._estimators import TARNet

__all__ = ["ConformalCATE"]

WEIGHTINGS = ("propensity", "none")
_MIN_CALIBRATION = 2


def conformal_quantile(
    scores: np.ndarray, level: float, weights: np.ndarray | None = None, test_weights: Any = None
) -> np.ndarray:
    """The (weighted) split-conformal quantile of calibration scores.

    Unweighted: the ``ceil((m + 1) * level)``-th smallest of the ``m`` scores
    (``inf`` when that exceeds ``m``). Weighted (Tibshirani et al. 2019): the
    ``level`` quantile of ``sum_i p_i delta(s_i) + p_test delta(inf)`` with
    ``p_i = w_i / (sum_j w_j + w_test)``, one quantile per test weight.

    Parameters
    ----------
    scores : numpy.ndarray of shape (m,)
        Calibration non-conformity scores.
    level : float
        Coverage level in (0, 1).
    weights : numpy.ndarray of shape (m,), optional
        Positive calibration weights (likelihood ratios target / calibration).
    test_weights : numpy.ndarray of shape (k,), optional
        Weights of the test points (required with ``weights``).

    Returns
    -------
    numpy.ndarray
        Shape ``()`` unweighted, ``(k,)`` weighted; ``inf`` where the level
        cannot be reached.
    """
    order = np.argsort(scores, kind="stable")
    s = np.asarray(scores, dtype=float)[order]
    m = s.size
    if weights is None:
        k = math.ceil((m + 1) * level)
        return np.asarray(np.inf if k > m else s[k - 1])
    w = np.asarray(weights, dtype=float)[order]
    wt = np.asarray(test_weights, dtype=float)
    cum = np.cumsum(w)
    idx = np.searchsorted(cum, level * (cum[-1] + wt), side="left")
    out = np.full(wt.shape, np.inf)
    ok = idx < m
    out[ok] = s[idx[ok]]
    return out


class ConformalCATE(BaseEstimator):
    """Conformal intervals for individual effects ``Y(1) - Y(0)`` around any CATE estimator.

    ``fit`` holds out ``calibration_fraction`` of each arm, fits a clone of
    ``estimator`` on the rest, and records on the held-out units of arm ``t``
    the scores ``|y - mu_t(x)| / s_t(x)``, where ``mu_t`` and ``s_t`` are the
    posterior mean and predictive standard deviation (epistemic and noise) of
    the estimator's ``predict_outcomes``. :meth:`counterfactual_interval` is
    ``mu_t(x) ± q_t(x) s_t(x)`` with ``q_t`` the conformal quantile of those
    scores; :meth:`effect_interval` combines the two arms at level
    ``1 - alpha/2`` each (Bonferroni), as in Lei & Candès (2021), §4.

    **What is guaranteed.** With ``weighting="propensity"``, calibration unit
    ``i`` of arm ``t`` is weighted by ``1 / e_t(x_i)`` (the density ratio of
    the population to arm ``t``), so that if the propensity were exact and
    there were no hidden confounding, ``P(Y(t) in C_t(X)) >= 1 - alpha/2`` and
    ``P(Y(1) - Y(0) in C(X)) >= 1 - alpha`` for a new unit drawn from the
    population, marginally over units (not for every ``x``). The propensity is
    the estimator's own, fitted on the training part, so the weighted
    guarantee is approximate. ``weighting="none"`` is exact only when the
    treatment was randomised with a constant propensity. The CATE ``E[Y(1) -
    Y(0) | x]`` is never observed, so no interval can be calibrated for it
    without assumptions: an interval that covers the individual effect is wide
    (it holds the outcome noise of both arms) and in practice covers the CATE
    too, but that is not a guarantee.

    **Cost.** One fit of ``estimator`` on ``1 - calibration_fraction`` of the
    units (the point estimate loses those units), one prediction on the
    calibration units, and a sort; each interval costs one prediction plus a
    binary search per test unit.

    Parameters
    ----------
    estimator : estimator, optional
        An unfitted CATE estimator with ``fit(X, t, y)``, ``predict_outcomes``
        (a :class:`~knowable.models.Posterior` over ``mu0, mu1`` with an
        observation model) and ``propensity``; default the library's default
        ``TARNet()``. It is cloned.
    calibration_fraction : float
        Share of each arm held out for calibration, in (0, 1).
    weighting : {"propensity", "none"}
        Weighted split conformal with inverse-propensity weights, or plain
        split conformal.
    propensity_clip : float
        Propensities are clipped to ``[clip, 1 - clip]`` before weighting.
    random_state : int, numpy.random.Generator or None
        Seed of the calibration split.

    Attributes
    ----------
    estimator_ : estimator
        The clone fitted on the training part.
    scores_ : list of numpy.ndarray
        Calibration scores of arm 0 and arm 1.
    weights_ : list of numpy.ndarray or None
        Their weights (``None`` with ``weighting="none"``).
    n_calibration_ : tuple of int
        Calibration units per arm.

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.effects import ConformalCATE, TARNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); t = rng.integers(0, 2, 300)
    >>> y = X[:, 0] + t * (1 + X[:, 1]) + 0.1 * rng.normal(size=300)
    >>> est = TARNet("ensemble", n_members=2, max_epochs=5, random_state=0)
    >>> cc = ConformalCATE(est, random_state=0).fit(X, t, y)
    >>> lo, hi = cc.effect_interval(X[:4])
    >>> lo.shape
    (4,)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        calibration_fraction: float = 0.25,
        weighting: str = "propensity",
        propensity_clip: float = 0.01,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.estimator = estimator
        self.calibration_fraction = calibration_fraction
        self.weighting = weighting
        self.propensity_clip = propensity_clip
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, t: Any, y: Any) -> ConformalCATE:
        """Split, fit the estimator on the training part and calibrate on the rest.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Binary treatment.
        y : array-like of shape (n,)
            Outcome.

        Returns
        -------
        self
        """
        base: Any = TARNet() if self.estimator is None else self.estimator
        for attr in ("fit", "predict_outcomes", "propensity"):
            if not callable(getattr(base, attr, None)):
                raise TypeError(
                    f"estimator must have fit, predict_outcomes and propensity (a knowable CATE "
                    f"estimator such as TARNet); {type(base).__name__} has no {attr}."
                )
        frac = check_real(
            self.calibration_fraction,
            "calibration_fraction",
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        weighting = check_in_options(self.weighting, "weighting", WEIGHTINGS)
        clip = check_real(
            self.propensity_clip, "propensity_clip", low=0.0, high=0.5, high_inclusive=False
        )
        x = check_array(X, "X", ndim=2)
        t_arr = check_binary_treatment(t, "t").astype(np.int64)
        y_arr = check_array(y, "y", ndim=1)
        check_consistent_length(X=x, t=t_arr, y=y_arr)
        rng = check_random_state(self.random_state)
        cal = np.zeros(len(x), dtype=bool)
        for arm in (0, 1):
            rows = np.flatnonzero(t_arr == arm)
            m = round(frac * rows.size)
            if m < _MIN_CALIBRATION or rows.size - m < _MIN_CALIBRATION:
                raise ValueError(
                    f"arm {arm} has {rows.size} units: too few to hold out "
                    f"calibration_fraction={frac} of them (need at least {_MIN_CALIBRATION} "
                    "for calibration and for training)."
                )
            cal[rng.permutation(rows)[:m]] = True
        self.estimator_ = clone(base).fit(x[~cal], t_arr[~cal], y_arr[~cal])
        mean, sd = self._moments(x[cal])
        t_cal, y_cal = t_arr[cal], y_arr[cal]
        e = self._propensity(x[cal], clip) if weighting == "propensity" else None
        self.scores_, self.weights_ = [], []
        for arm in (0, 1):
            rows = t_cal == arm
            self.scores_.append(np.abs(y_cal[rows] - mean[rows, arm]) / sd[rows, arm])
            self.weights_.append(None if e is None else 1.0 / np.where(arm, e, 1 - e)[rows])
        self.n_calibration_ = (int((t_cal == 0).sum()), int((t_cal == 1).sum()))
        self.n_features_in_ = int(x.shape[1])
        self._clip = clip
        return self

    def _moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        post = self.estimator_.predict_outcomes(x)
        sd = np.sqrt(post.predictive_var() if post.observation is not None else post.var())
        return post.mean(), np.maximum(sd, 1e-12)

    def _propensity(self, x: np.ndarray, clip: float) -> np.ndarray:
        return np.clip(np.asarray(self.estimator_.propensity(x), dtype=float), clip, 1 - clip)

    def _check_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        x = check_array(X, "X", ndim=2)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {x.shape[1]} columns but the model was fitted on {self.n_features_in_}."
            )
        return x

    @staticmethod
    def _check_alpha(alpha: float) -> float:
        return check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )

    # ------------------------------------------------------------- intervals
    def _arm_quantiles(self, x: np.ndarray, level: float) -> np.ndarray:
        """Conformal quantile ``(n, 2)`` of each arm's scores at each unit of ``x``."""
        q = np.empty((len(x), 2))
        e = self._propensity(x, self._clip) if self.weights_[0] is not None else None
        for arm in (0, 1):
            if e is None:
                q[:, arm] = conformal_quantile(self.scores_[arm], level)
            else:
                w_test = 1.0 / (e if arm else 1 - e)
                q[:, arm] = conformal_quantile(self.scores_[arm], level, self.weights_[arm], w_test)
        return q

    def counterfactual_interval(self, X: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Conformal ``1 - alpha`` intervals for both potential outcomes ``Y(0), Y(1)``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        alpha : float
            Miscoverage level in (0, 1), per arm.

        Returns
        -------
        lower, upper : numpy.ndarray of shape (n, 2)
            Column ``t`` bounds ``Y(t)``; ``±inf`` where the calibration set is
            too small (or its weights too uneven) for the level.
        """
        alpha = self._check_alpha(alpha)
        x = self._check_X(X)
        mean, sd = self._moments(x)
        half = self._arm_quantiles(x, 1 - alpha) * sd
        return mean - half, mean + half

    def effect_interval(self, X: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Conformal ``1 - alpha`` interval for the individual effect ``Y(1) - Y(0)``.

        Each arm is calibrated at ``1 - alpha/2`` and the intervals are
        combined as ``[lo1 - hi0, hi1 - lo0]``; see the class docstring for
        what this covers (the individual effect, marginally; not the CATE).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        alpha : float
            Miscoverage level in (0, 1).

        Returns
        -------
        lower, upper : numpy.ndarray of shape (n,)
        """
        alpha = self._check_alpha(alpha)
        lo, hi = self.counterfactual_interval(X, alpha / 2)
        return lo[:, 1] - hi[:, 0], hi[:, 1] - lo[:, 0]

    # ------------------------------------------------- the estimator's own API
    def effect(self, X: Any) -> np.ndarray:
        """The fitted estimator's CATE point estimate, shape ``(n,)``."""
        x = self._check_X(X)
        return np.asarray(self.estimator_.effect(x))

    def ate(self, X: Any = None) -> float:
        """The fitted estimator's average effect over ``X`` (default: its training units)."""
        check_is_fitted(self, "estimator_")
        return float(self.estimator_.ate(None if X is None else self._check_X(X)))

    def ate_interval(self, X: Any = None, alpha: float = 0.05) -> tuple[float, float]:
        """The fitted estimator's own (epistemic, not conformalised) ATE interval."""
        check_is_fitted(self, "estimator_")
        lo, hi = self.estimator_.ate_interval(None if X is None else self._check_X(X), alpha)
        return float(lo), float(hi)
