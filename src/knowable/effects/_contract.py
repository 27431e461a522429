"""The CATE contract: three methods to implement, the effect API derived once.

A subclass of :class:`CATEBase` implements ``fit(X, t, y)`` (setting ``X_fit_``),
``predict_outcomes(X)`` (a :class:`~knowable.models.Posterior` over ``mu0, mu1``)
and ``propensity(X)``; ``effect``, ``effect_samples``, ``effect_var``,
``effect_interval``, ``ate`` and ``ate_interval`` come from the draws of
``predict_outcomes``. A model with exact moments (DUE's GP) overrides the two
hooks ``_effect_moments`` and ``_ate_moments``, nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from scipy import stats

from .._validation import check_is_fitted, check_real
from ..models import Posterior

__all__ = ["CATEBase"]


class CATEBase(ABC):
    """Abstract base of the CATE estimators: implement ``fit``, ``predict_outcomes``, ``propensity``.

    Conventions (EconML vocabulary, scikit-learn contract): ``fit(X, t, y)``
    returns ``self`` and stores the training covariates as ``X_fit_`` (the
    default population of :meth:`ate`); before ``fit`` every method raises
    :class:`~knowable.exceptions.NotFittedError`. The conformance kit
    (:func:`knowable.testing.check_estimator`) checks estimators with
    ``_estimator_kind = "cate"``.
    """

    _estimator_kind = "cate"

    @abstractmethod
    def fit(self, X: Any, t: Any, y: Any) -> CATEBase:
        """Fit on covariates ``X`` (n, d), binary treatment ``t`` (n,) and outcome ``y`` (n,)."""

    @abstractmethod
    def predict_outcomes(self, X: Any) -> Posterior:
        """Posterior over ``(mu0, mu1)`` at ``X``: draws of shape ``(S, n, 2)``."""

    @abstractmethod
    def propensity(self, X: Any) -> np.ndarray:
        """Estimated ``P(t = 1 | x)``, shape ``(n,)``."""

    # ------------------------------------------------------------- derived
    def effect_samples(self, X: Any) -> np.ndarray:
        """Posterior draws of the CATE ``mu1(x) - mu0(x)``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (S, n)
            Draw ``s`` is one ensemble member, dropout mask or GP function
            for every unit (DUE: each unit's ``(mu0, mu1)`` block has the exact
            joint posterior; the residual correlation between units comes from
            random features, see :meth:`ate_interval` for the exact ATE).
        """
        draws = self.predict_outcomes(X).draws
        return draws[..., 1] - draws[..., 0]

    def effect(self, X: Any) -> np.ndarray:
        """Point estimate of the CATE (posterior mean of ``mu1 - mu0``).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        return self._effect_moments(X)[0]

    def effect_var(self, X: Any) -> np.ndarray:
        """Epistemic variance of the CATE: ``Var mu1 + Var mu0 - 2 Cov(mu0, mu1)``.

        The draws' variance (``ddof=1``); exact where the model overrides
        ``_effect_moments`` (DUE: from the GP's joint posterior).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        return self._effect_moments(X)[1]

    def _effect_moments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the CATE at ``X``, each (n,), from the draws."""
        check_is_fitted(self)
        draws = self.predict_outcomes(X).draws
        tau = draws[..., 1] - draws[..., 0]
        ddof = 1 if tau.shape[0] > 1 else 0
        return tau.mean(0), tau.var(0, ddof=ddof)

    def effect_interval(self, X: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Central ``1 - alpha`` epistemic interval of the CATE.

        A normal interval ``effect ± z_{1-alpha/2} sqrt(effect_var)``: with a
        5-member ensemble, empirical quantiles of 5 draws would be too coarse.
        It describes model uncertainty only; its coverage of the true CATE is
        measured in the benchmark, not guaranteed.

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
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        mean, var = self._effect_moments(X)
        half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(var)
        return mean - half, mean + half

    def _ate_X(self, X: Any) -> Any:
        check_is_fitted(self)
        return self.X_fit_ if X is None else X  # type: ignore[attr-defined]

    def ate(self, X: Any = None) -> float:
        """Average treatment effect: the mean CATE over ``X`` (default: the training units).

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units to average over.

        Returns
        -------
        float
        """
        return float(self.effect(self._ate_X(X)).mean())

    def _ate_moments(self, X: Any) -> tuple[float, float]:
        """Centre and standard deviation of the ATE over ``X``: one ATE per draw."""
        ates = self.effect_samples(X).mean(1)
        sd = ates.std(ddof=1) if ates.size > 1 else 0.0
        return self.ate(X), sd

    def ate_interval(self, X: Any = None, alpha: float = 0.05) -> tuple[float, float]:
        """Epistemic ``1 - alpha`` interval of the ATE over ``X`` (default: the training units).

        A normal interval. For ensembles and MC dropout each draw (one member
        or dropout mask for every unit) gives one ATE and the standard
        deviation is theirs. For DUE the mean and variance are exact under the
        GP's joint posterior over all units, including the covariance between
        units that the inducing points do not explain, with no Monte Carlo
        error. That costs ``O(n²)`` kernel evaluations (tens of seconds on
        one CPU core at tens of thousands of units).

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units to average over.
        alpha : float
            Miscoverage level in (0, 1).

        Returns
        -------
        lower, upper : float
        """
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        centre, sd = self._ate_moments(self._ate_X(X))
        half = float(stats.norm.ppf(1 - alpha / 2) * sd)
        return centre - half, centre + half
