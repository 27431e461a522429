"""The true dose-response curve of a simulated sample, kept in a Dataset's truth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_array

__all__ = ["SampleAverageAPO"]

Outcome = Callable[[np.ndarray, Any, np.ndarray, float], np.ndarray]


class SampleAverageAPO:
    """APO(t) = mean_i g(x_i, t, u_i) over a sample's units; sliced along with the Dataset.

    Parameters
    ----------
    outcome : callable
        The noise-free outcome ``g(x, t, u, gamma_y)`` of the simulator, vectorised
        over units (a module-level function, so the Dataset pickles).
    x : numpy.ndarray of shape (n, ...)
        The units' covariates as ``outcome`` takes them.
    u : numpy.ndarray of shape (n,)
        The units' hidden confounder.
    gamma_y : float
        The confounder's effect on the outcome.
    label : str
        Shown in the repr.
    positive_t : bool
        Treatment values must be > 0 (e.g. aerosol optical depth).
    """

    def __init__(
        self,
        outcome: Outcome,
        x: np.ndarray,
        u: np.ndarray,
        gamma_y: float,
        label: str = "",
        positive_t: bool = False,
    ) -> None:
        self._outcome = outcome
        self._x = x
        self._u = u
        self._gamma_y = gamma_y
        self._label = label
        self._positive_t = positive_t

    def __call__(self, t_grid: Any) -> np.ndarray:
        """Average potential outcome over the units at each treatment value.

        Parameters
        ----------
        t_grid : array-like of shape (g,)
            Treatment values.

        Returns
        -------
        numpy.ndarray of shape (g,)
        """
        grid = check_array(t_grid, "t_grid", ndim=1)
        if self._positive_t and (grid <= 0).any():
            raise ValueError("t_grid must be > 0.")
        return np.array([self._outcome(self._x, tv, self._u, self._gamma_y).mean() for tv in grid])

    def _subset(self, index: np.ndarray) -> SampleAverageAPO:
        return SampleAverageAPO(
            self._outcome,
            self._x[index],
            self._u[index],
            self._gamma_y,
            self._label,
            self._positive_t,
        )

    def __repr__(self) -> str:
        suffix = f" ({self._label})" if self._label else ""
        return f"apo(t_grid) over {len(self._u)} units{suffix}"
