"""Result containers: :class:`Bounds` and :class:`Robustness`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_array

__all__ = ["Bounds", "Robustness"]


@dataclass(frozen=True)
class Bounds:
    """Lower and upper bounds on an effect under the marginal sensitivity model.

    Parameters
    ----------
    lower, upper : numpy.ndarray of shape (n,) or (n_lam, n)
        Bounds per unit; a leading axis indexes ``lam`` when several Λ were asked for.
        For an ATE, shape ``()`` or ``(n_lam,)``.
    lam : numpy.ndarray of shape () or (n_lam,)
        The sensitivity parameter(s) Λ.
    method : str
        ``"kallus"`` (valid, conservative), ``"sharp"`` or ``"blearner"``.
    lower_spread, upper_spread : numpy.ndarray, optional
        Epistemic spread (standard deviation across ensemble members) of the
        bounds, same shape as ``lower``/``upper``.
    """

    lower: np.ndarray
    upper: np.ndarray
    lam: np.ndarray
    method: str
    lower_spread: np.ndarray | None = None
    upper_spread: np.ndarray | None = None

    def __post_init__(self) -> None:
        lower, upper = np.asarray(self.lower, float), np.asarray(self.upper, float)
        if lower.shape != upper.shape:
            raise ValueError(f"lower {lower.shape} and upper {upper.shape} shapes differ.")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "lam", np.asarray(self.lam, float))
        for name in ("lower_spread", "upper_spread"):
            value = getattr(self, name)
            if value is not None:
                arr = np.asarray(value, float)
                if arr.shape != lower.shape:
                    raise ValueError(f"{name} has shape {arr.shape}, expected {lower.shape}.")
                object.__setattr__(self, name, arr)

    @property
    def width(self) -> np.ndarray:
        """``upper - lower``, same shape as the bounds."""
        return self.upper - self.lower

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``lower``/``upper``."""
        return self.lower.shape

    def widened(self, k: float = 2.0) -> Bounds:
        """Bounds widened by ``k`` epistemic spreads of the bounds on each side.

        Quince's "ignorance" interval widens by the spread of the members' point
        CATE estimates instead; this widens each bound by its own spread
        (``lower_spread``, ``upper_spread``: across ensemble members for
        :class:`MSMBounds`, across bootstrap refits for :class:`BLearner`).

        Parameters
        ----------
        k : float
            Number of spreads; the bounds are returned unchanged when no spread is held.

        Returns
        -------
        Bounds
        """
        if self.lower_spread is None or self.upper_spread is None:
            return self
        return Bounds(
            self.lower - k * self.lower_spread,
            self.upper + k * self.upper_spread,
            self.lam,
            self.method,
            self.lower_spread,
            self.upper_spread,
        )

    def contains(self, values: Any) -> np.ndarray:
        """Whether ``lower <= values <= upper``, elementwise.

        Parameters
        ----------
        values : array-like broadcastable to the bounds' shape
            E.g. the true CATE of shape (n,) against bounds of shape (n_lam, n),
            or 0 for a sign check.

        Returns
        -------
        numpy.ndarray of bool
        """
        v = check_array(values, "values", ndim=(0, 1, 2))
        return (self.lower <= v) & (v <= self.upper)

    def to_frame(self) -> pd.DataFrame:
        """Long table with one row per (Λ, unit).

        Returns
        -------
        pandas.DataFrame
            Columns ``unit``, ``lam``, ``lower``, ``upper`` and, when held,
            ``lower_spread``, ``upper_spread``.
        """
        lower = np.atleast_1d(self.lower)
        lams = np.atleast_1d(self.lam)
        if self.lam.ndim == 0:
            lower = lower[None]
        n_lam, n = lower.shape[0], lower.shape[-1] if lower.ndim > 1 else 1
        lower = lower.reshape(n_lam, n)

        def flat(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else np.asarray(a).reshape(n_lam, n).ravel()

        data: dict[str, Any] = {
            "unit": np.tile(np.arange(n), n_lam),
            "lam": np.repeat(lams, n),
            "lower": lower.ravel(),
            "upper": flat(self.upper),
        }
        if self.lower_spread is not None:
            data["lower_spread"] = flat(self.lower_spread)
            data["upper_spread"] = flat(self.upper_spread)
        return pd.DataFrame(data)

    def __repr__(self) -> str:
        return (
            f"Bounds(method={self.method!r}, shape={self.shape}, "
            f"lam={np.round(self.lam, 4).tolist()}, spread={self.lower_spread is not None})"
        )


@dataclass(frozen=True)
class Robustness:
    """The smallest Λ at which the bound interval contains zero.

    Parameters
    ----------
    unit : numpy.ndarray of shape (n,)
        Per unit; ``inf`` when the interval excludes zero for every Λ ≤ ``lam_max``,
        1 when the point estimate is already zero.
    ate : float
        The same for the average effect.
    lam_max : float
        Upper end of the search.
    method : str
        Bound estimator used.
    """

    unit: np.ndarray
    ate: float
    lam_max: float
    method: str
