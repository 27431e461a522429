"""Generalised propensity p(t | x) of a continuous treatment: :class:`TreatmentDensity`.

Overlap diagnostics for dose-response curves and their bounds: where the model
has seen few units like x treated near t, the curves rest on extrapolation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._params import store_params
from .._persistence import register_persistable
from .._validation import (
    check_array,
    check_is_fitted,
    check_real,
)
from ..models._regressor import UncertainRegressor
from ..models.uncertainty import get_uncertainty
from ._dose_response import DoseResponse

__all__ = ["TreatmentDensity"]


@register_persistable
class TreatmentDensity(UncertainRegressor):
    """Generalised propensity p(t | x) of a continuous treatment, for overlap diagnostics.

    A mixture-density :class:`~knowable.models.UncertainRegressor` of t on x
    (ensemble or MC dropout). The density used for diagnostics is the
    predictive one, mean over draws of each draw's mixture density. A pair
    (x, t) is flagged as having little support when log p̂(t | x) is below the
    ``support_quantile`` quantile of log p̂(t_i | x_i) over the training pairs
    (stored as ``threshold_``): the model has seen few units like x treated
    near t, so curves and bounds there rest on extrapolation.

    Parameters
    ----------
    uncertainty : {"ensemble", "dropout"}
        How epistemic uncertainty is represented.
    n_components : int
        Gaussian-mixture components of the treatment density.
    support_quantile : float
        Level in (0, 1) of the flagging threshold (default 0.01: flag pairs
        less supported than 99 % of the observed pairs).
    n_members, n_draws, extractor, hidden_size, depth, activation, dropout,
    max_epochs, batch_size, learning_rate, weight_decay, patience,
    validation_fraction, min_steps_per_epoch, device, random_state, verbose, n_samples
        As in :class:`knowable.models.UncertainRegressor`.

    Attributes
    ----------
    threshold_ : float
        Log-density threshold below which a pair is flagged.
    t_range_ : tuple of float
        Observed treatment range.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, (400, 1)); t = X[:, 0] + 0.1 * rng.standard_normal(400)
    >>> td = TreatmentDensity(n_members=2, max_epochs=5, random_state=0).fit(X, t)
    >>> td.flag_low_support([[0.1], [0.5]], [0.9, 0.5]).shape
    (2,)
    """

    _estimator_kind = "regressor"  # a regressor of t on x: the conformance kit applies
    # parameters beyond the base class (stored by store_params)
    support_quantile: float
    # fixed for this model, not parameters: one mixture-density network, no GP head
    likelihood = "mixture"
    heteroscedastic = True
    spectral_coeff = None
    n_inducing = 50
    kernel = "rbf"

    def __init__(
        self,
        uncertainty: str = "ensemble",
        *,
        n_components: int = 5,
        support_quantile: float = 0.01,
        n_members: int = 5,
        n_draws: int = 100,
        extractor: str | None = None,
        hidden_size: int = 64,
        depth: int = 2,
        activation: str = "elu",
        dropout: float | None = None,
        max_epochs: int = 200,
        batch_size: int = 64,
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        patience: int = 20,
        validation_fraction: float = 0.2,
        min_steps_per_epoch: int = 0,
        device: str = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: bool = False,
        n_samples: int | None = None,
    ) -> None:
        store_params(self, locals())

    def _resolved(self) -> dict[str, Any]:
        if get_uncertainty(self.uncertainty).gp_head:
            raise NotImplementedError(
                f"TreatmentDensity needs a mixture-density head; uncertainty={self.uncertainty!r} "
                "(Gaussian GP head) is not supported. Use a network method such as 'ensemble' "
                "or 'dropout'."
            )
        return super()._resolved()

    def fit(self, X: Any, t: Any) -> TreatmentDensity:  # type: ignore[override]
        """Fit the conditional treatment density.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Continuous treatment (must vary).

        Returns
        -------
        self
        """
        q = check_real(
            self.support_quantile,
            "support_quantile",
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )
        t_arr = DoseResponse._check_1d(t, "t")
        if t_arr.size and np.ptp(t_arr) == 0:
            raise ValueError(
                f"t is constant ({t_arr[0]!r}); a treatment density needs a treatment that varies."
            )
        super().fit(X, t_arr)
        self.t_range_ = (float(t_arr.min()), float(t_arr.max()))
        self.threshold_ = float(np.quantile(self.log_density(X, t_arr), q))
        return self

    def log_density(self, X: Any, t: Any, *, grid: bool = False) -> np.ndarray:
        """Predictive log density log mean_s p_s(t | x).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : float or array-like
            With ``grid=False``: a scalar or one value per unit ``(n,)``.
            With ``grid=True``: a grid ``(g,)`` evaluated for every unit.
        grid : bool
            Evaluate every unit at every grid value.

        Returns
        -------
        numpy.ndarray of shape (n,) or, with ``grid=True``, (n, g)
        """
        post = self.posterior(X)  # the mixture depends on x only
        n = post.n_inputs
        t_arr = check_array(t, "t", ndim=(0, 1))
        if grid:
            cols = [post.log_likelihood(np.full(n, tv))[:, 0] for tv in np.atleast_1d(t_arr)]
            return np.stack(cols, -1)
        if t_arr.ndim == 0:
            t_arr = np.full(n, float(t_arr))
        elif t_arr.shape[0] != n:
            raise ValueError(
                f"t has {t_arr.shape[0]} value(s) but X has {n} row(s); pass one t per unit, "
                "a scalar, or use grid=True."
            )
        return post.log_likelihood(t_arr)[:, 0]

    def flag_low_support(self, X: Any, t: Any, *, grid: bool = False) -> np.ndarray:
        """True where log p̂(t | x) < ``threshold_`` (little support for the pair).

        Parameters
        ----------
        X, t, grid
            As in :meth:`log_density`.

        Returns
        -------
        numpy.ndarray of bool of shape (n,) or (n, g)
        """
        check_is_fitted(self)
        return self.log_density(X, t, grid=grid) < self.threshold_

    def support_fraction(self, t_grid: Any, X: Any) -> np.ndarray:
        """Fraction of the units in ``X`` that are *not* flagged at each grid value.

        A curve point whose fraction is small is an average over units the
        data say little about.

        Parameters
        ----------
        t_grid : array-like of shape (g,)
            Treatment values.
        X : array-like of shape (n, d)
            Population.

        Returns
        -------
        numpy.ndarray of shape (g,)
        """
        grid = check_array(t_grid, "t_grid", ndim=1)
        return 1.0 - self.flag_low_support(X, grid, grid=True).mean(0)

    def _extra_meta(self) -> dict[str, Any]:
        meta = super()._extra_meta()
        meta.update(threshold=self.threshold_, t_range=list(self.t_range_))
        return meta

    def _restore_extra(self, meta: dict[str, Any]) -> None:
        super()._restore_extra(meta)
        self.threshold_ = float(meta["threshold"])
        self.t_range_ = (float(meta["t_range"][0]), float(meta["t_range"][1]))
