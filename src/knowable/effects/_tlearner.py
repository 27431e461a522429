"""A CATE estimator without torch: any scikit-learn regressor per arm, bootstrapped.

It implements the three methods of :class:`~knowable.effects.CATEBase` and
nothing else; the effect API (``effect``, ``effect_samples``,
``effect_interval``, ``ate``, ``ate_interval``, ``att``, ``atc``) comes from the
base, and the conformance kit checks it by its ``_estimator_kind``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LinearRegression, LogisticRegression

from .._random import check_random_state
from .._validation import check_array, check_is_fitted, check_positive_int
from ..models import GaussianNoise, Posterior
from ._contract import CATEBase

__all__ = ["BootstrapTLearner"]

_CLIP = 1e-6  # propensities are clipped to [_CLIP, 1 - _CLIP]: the contract wants (0, 1)


class BootstrapTLearner(CATEBase, BaseEstimator):
    """T-learner: one regressor per arm, with a bootstrap posterior over ``(mu0, mu1)``.

    Each of ``n_boot`` draws resamples the units of each arm with replacement
    (stratified, so both arms keep their size), fits a clone of ``regressor``
    on each arm's resample, and predicts ``mu0(x), mu1(x)``. The draws are a
    bootstrap approximation of the epistemic posterior: they describe the
    estimator's sampling variability, not its bias.

    Parameters
    ----------
    regressor : scikit-learn regressor, optional
        Outcome model per arm (cloned per arm and draw); default
        ``LinearRegression()``. A ``random_state`` parameter, if it has one,
        is set per clone from ``random_state``.
    classifier : scikit-learn classifier, optional
        Propensity model with ``predict_proba``, fitted once on all units;
        default ``LogisticRegression()``.
    n_boot : int
        Bootstrap draws ``S`` (at least 2).
    random_state : int, numpy.random.Generator or None
        Seed of the resampling and of the clones' seeds.

    Attributes
    ----------
    models_ : list of (regressor, regressor)
        The fitted ``(mu0, mu1)`` models of each draw.
    noise_scale_ : numpy.ndarray of shape (n_boot, 1, 2)
        Residual standard deviation of each draw's arm models on their resample.
    propensity_model_ : classifier
        The fitted propensity model.
    X_fit_, t_fit_ : numpy.ndarray
        Training covariates ``(n, d)`` and treatments ``(n,)`` (default units of
        :meth:`ate`, :meth:`att`, :meth:`atc`).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.effects import BootstrapTLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); t = rng.integers(0, 2, 200)
    >>> y = X[:, 0] + t * (1 + X[:, 1]) + 0.1 * rng.normal(size=200)
    >>> est = BootstrapTLearner(n_boot=20, random_state=0).fit(X, t, y)
    >>> est.effect_samples(X[:4]).shape
    (20, 4)
    >>> bool(abs(est.ate() - (1 + X[:, 1]).mean()) < 0.1)  # the sample ATE
    True
    """

    def __init__(
        self,
        regressor: Any = None,
        classifier: Any = None,
        *,
        n_boot: int = 50,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.regressor = regressor
        self.classifier = classifier
        self.n_boot = n_boot
        self.random_state = random_state

    def fit(self, X: Any, t: Any, y: Any) -> BootstrapTLearner:
        """Fit ``n_boot`` pairs of arm models and the propensity model.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Binary treatment (0/1); each arm needs at least 2 units.
        y : array-like of shape (n,)
            Real-valued outcome.

        Returns
        -------
        self
        """
        n_boot = check_positive_int(self.n_boot, "n_boot", minimum=2)
        regressor = LinearRegression() if self.regressor is None else self.regressor
        classifier = LogisticRegression() if self.classifier is None else self.classifier
        for name, model, method in (
            ("regressor", regressor, "predict"),
            ("classifier", classifier, "predict_proba"),
        ):
            if not (hasattr(model, "fit") and hasattr(model, method)):
                raise TypeError(
                    f"{name} must be a scikit-learn estimator with fit and {method}, "
                    f"got {type(model).__name__}."
                )
        x, t_arr, y_arr = self._check_fit_inputs(X, t, y, dtype=np.float64)
        x = np.ascontiguousarray(x)
        rng = check_random_state(self.random_state)
        arms = [np.flatnonzero(t_arr == a) for a in (0, 1)]
        models, scales = [], np.empty((n_boot, 1, 2))
        for b in range(n_boot):
            pair = []
            for a, rows in enumerate(arms):
                pick = rows[rng.integers(rows.size, size=rows.size)]
                model = _seeded_clone(regressor, rng).fit(x[pick], y_arr[pick])
                resid = y_arr[pick] - model.predict(x[pick])
                scales[b, 0, a] = max(float(np.std(resid)), 1e-12)
                pair.append(model)
            models.append((pair[0], pair[1]))
        self.propensity_model_ = _seeded_clone(classifier, rng).fit(x, t_arr.astype(np.int64))
        self.models_ = models
        self.noise_scale_ = scales
        self.X_fit_ = x
        self.t_fit_ = t_arr.astype(np.int8)
        self.n_features_in_ = int(x.shape[1])
        return self

    def _check_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "models_")
        # C order: a DataFrame converts to Fortran order, and BLAS may then round differently
        x = np.ascontiguousarray(check_array(X, "X", ndim=2))
        if x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {x.shape[1]} features, but this estimator was fitted with "
                f"{self.n_features_in_}."
            )
        return x

    def predict_outcomes(self, X: Any) -> Posterior:
        """Bootstrap posterior over ``(mu0, mu1)`` at ``X``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        Posterior
            Draws of shape ``(n_boot, n, 2)`` (outputs ``mu0, mu1``) with a
            :class:`~knowable.models.GaussianNoise` of each draw's residual
            standard deviation per arm.
        """
        x = self._check_X(X)
        draws = np.stack([np.stack([m0.predict(x), m1.predict(x)], -1) for m0, m1 in self.models_])
        return Posterior(
            draws.astype(np.float64),
            GaussianNoise(self.noise_scale_),
            output_names=["mu0", "mu1"],
        )

    def propensity(self, X: Any) -> np.ndarray:
        """Estimated ``P(t = 1 | x)`` from ``classifier``, clipped to ``[1e-6, 1 - 1e-6]``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        x = self._check_X(X)
        model = self.propensity_model_
        column = list(model.classes_).index(1)
        return np.clip(model.predict_proba(x)[:, column], _CLIP, 1 - _CLIP)


def _seeded_clone(model: Any, rng: np.random.Generator) -> Any:
    """An unfitted clone; its ``random_state`` (if it has one) drawn from ``rng``."""
    twin = clone(model)
    if "random_state" in twin.get_params(deep=False):
        twin.set_params(random_state=int(rng.integers(2**31 - 1)))
    return twin
