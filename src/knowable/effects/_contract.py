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

from .._validation import (
    check_array,
    check_binary_treatment,
    check_consistent_length,
    check_in_options,
    check_is_fitted,
    check_real,
)
from ..models import Posterior

ESTIMANDS = ("ate", "att", "atc")
_ARM_WORD = {"att": "treated", "atc": "control"}
NO_TRAINING_DATA = (
    "this model was saved without its training covariates (include_training_data=False); "
    "pass X explicitly."
)

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

    # ---------------------------------------------------------------- inputs
    @staticmethod
    def _check_xty(
        X: Any, t: Any, y: Any, suffix: str = "", *, dtype: Any = np.float32
    ) -> tuple[np.ndarray, ...]:
        """Covariates ``(n, d)`` as ``dtype``, binary treatment ``(n,)`` and one outcome
        column ``(n,)``, named ``X{suffix}`` etc. in errors."""
        names = {k: f"{k}{suffix}" for k in ("X", "t", "y")}
        x = check_array(X, names["X"], ndim=2, dtype=dtype)
        t_arr = check_binary_treatment(t, names["t"])
        y_arr = check_array(y, names["y"], ndim=(1, 2))
        if y_arr.ndim == 2:
            if y_arr.shape[1] != 1:
                raise ValueError(
                    f"{names['y']} must be one outcome column, got shape {y_arr.shape}."
                )
            y_arr = y_arr[:, 0]
        check_consistent_length(**{names["X"]: x, names["t"]: t_arr, names["y"]: y_arr})
        return x, t_arr, y_arr

    def _check_fit_inputs(
        self, X: Any, t: Any, y: Any, *, dtype: Any = np.float32
    ) -> tuple[np.ndarray, ...]:
        """The checks of ``fit(X, t, y)``: :meth:`_check_xty` plus at least 2 units per arm."""
        x, t_arr, y_arr = self._check_xty(X, t, y, dtype=dtype)
        counts = np.bincount(t_arr.astype(np.int64), minlength=2)
        if counts.min() < 2:
            raise ValueError(
                f"both arms need at least 2 units to estimate effects; got {counts[0]} control "
                f"and {counts[1]} treated."
            )
        return x, t_arr, y_arr

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
        half = stats.norm.isf(alpha / 2) * np.sqrt(var)
        return mean - half, mean + half

    def _ate_moments(self, X: Any) -> tuple[float, float]:
        """Centre and standard deviation of the ATE over ``X``: one ATE per draw."""
        ates = self.effect_samples(X).mean(1)
        sd = ates.std(ddof=1) if ates.size > 1 else 0.0
        return self.ate(X), sd

    def _ate_X(self, X: Any, t: Any = None, estimand: str = "ate") -> Any:
        """The units an average effect is over: ``X`` (default the training units), or
        its treated (``"att"``) or control (``"atc"``) rows."""
        estimand = check_in_options(estimand, "estimand", ESTIMANDS)
        check_is_fitted(self)
        if X is None:
            if getattr(self, "X_fit_", None) is None:
                raise ValueError(NO_TRAINING_DATA)
            X = self.X_fit_  # type: ignore[attr-defined]
            if t is None and estimand != "ate":
                t = getattr(self, "t_fit_", None)
                if t is None:
                    raise ValueError(
                        f"estimand={estimand!r}: this model was saved without its training "
                        "treatments; pass X and t."
                    )
        if estimand == "ate":
            return X
        if t is None:
            raise ValueError(
                f"estimand={estimand!r} averages over the {_ARM_WORD[estimand]} units of X; "
                "pass their treatment t, shape (n,)."
            )
        t_arr = check_binary_treatment(t, "t")
        n = len(X)
        if t_arr.shape[0] != n:
            raise ValueError(f"t has {t_arr.shape[0]} entries but X has {n} rows.")
        rows = np.flatnonzero(t_arr == (1 if estimand == "att" else 0))
        if rows.size == 0:
            raise ValueError(f"estimand={estimand!r}: t has no {_ARM_WORD[estimand]} units.")
        return X.iloc[rows] if hasattr(X, "iloc") else X[rows]

    def ate(self, X: Any = None, *, t: Any = None, estimand: str = "ate") -> float:
        """Average effect: the mean CATE over ``X`` (default: the training units).

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units to average over.
        t : array-like of shape (n,), optional
            Their binary treatment; needed for ``estimand="att"``/``"atc"`` when
            ``X`` is given (the training treatments are used when ``X`` is None).
        estimand : {"ate", "att", "atc"}
            ``"ate"``: all units of ``X``; ``"att"``: the treated ones (t = 1);
            ``"atc"``: the controls (t = 0). The ATT is estimated as the mean CATE
            over the treated units' covariates (exact without hidden confounding;
            see :meth:`knowable.bounds.MSMBounds.ate_bounds` for bounds with it).

        Returns
        -------
        float
        """
        return float(self.effect(self._ate_X(X, t, estimand)).mean())

    def att(self, X: Any = None, t: Any = None) -> float:
        """Average effect on the treated: ``ate(X, t=t, estimand="att")``.

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units (default: the training units, with their treatments).
        t : array-like of shape (n,), optional
            Their treatment (required when ``X`` is given).

        Returns
        -------
        float
        """
        return self.ate(X, t=t, estimand="att")

    def atc(self, X: Any = None, t: Any = None) -> float:
        """Average effect on the controls: ``ate(X, t=t, estimand="atc")``.

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units (default: the training units, with their treatments).
        t : array-like of shape (n,), optional
            Their treatment (required when ``X`` is given).

        Returns
        -------
        float
        """
        return self.ate(X, t=t, estimand="atc")

    def ate_interval(
        self, X: Any = None, alpha: float = 0.05, *, t: Any = None, estimand: str = "ate"
    ) -> tuple[float, float]:
        """Epistemic ``1 - alpha`` interval of the average effect over ``X`` (default: training units).

        Model uncertainty only: not a confidence interval under hidden
        confounding (for that, see :mod:`knowable.bounds`).

        A normal interval. For ensembles and MC dropout each draw (one member
        or dropout mask for every unit) gives one ATE and the standard
        deviation is theirs. For DUE the mean and variance are exact under the
        GP's joint posterior over all units, including the covariance between
        units that the inducing points do not explain, with no Monte Carlo
        error, up to 4,096 units. Above that, the part of the variance from
        pairs of distinct units that the inducing points do not explain is
        estimated without bias from 4,096 units drawn with the model's
        prediction seed, so the cost grows as ``n``, not ``n²`` (see
        :meth:`knowable.models._gp.VariationalGP.weighted_sum_moments`).

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units to average over.
        alpha : float
            Miscoverage level in (0, 1).
        t : array-like of shape (n,), optional
            Treatment of the units (for ``estimand="att"``/``"atc"`` with ``X``).
        estimand : {"ate", "att", "atc"}
            All units, the treated or the controls; see :meth:`ate`.

        Returns
        -------
        lower, upper : float
        """
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        centre, sd = self._ate_moments(self._ate_X(X, t, estimand))
        half = float(stats.norm.isf(alpha / 2) * sd)
        return centre - half, centre + half
