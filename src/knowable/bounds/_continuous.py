"""Bounds on dose-response curves under the continuous marginal sensitivity model (CMSM).

The CMSM of Jesson et al. (2022, "Overcast") bounds the ratio of the nominal
and complete generalised propensity densities, Λ⁻¹ ≤ p(t | x) / p(t | x, u) ≤ Λ.
The bound on the CAPO E[Y(t) | x] then has the same form as the binary ratio
bound with α' = 1 / (Λ² − 1), independent of x and of the propensity density,
so it is computed by the same sorting estimator as
:func:`knowable.bounds.msm.bound_from_samples` (its sweep is reused here).

Two estimators of the CAPO bound, both from the same draws of p̂(y | x, t):

* ``method="overcast"`` — the ratio bound of Jesson et al. (2022), the
  reference estimator: **valid (conservative)**. It maximises the
  self-normalised E[wY] / E[w] over weights w ∈ [Λ⁻¹, Λ] and ignores the
  constraint E[w | x, t] = 1.
* ``method="sharp"`` — the same weight class *with* E[w | x, t] = 1 (the
  weights are w = p(t | x) / p(t | x, u), whose mean over u | x, t is 1). The
  optimum puts w = Λ on the top 1/(1 + Λ) of the outcome distribution, so

      μ⁺ = Λ⁻¹ μ + (1 − Λ⁻¹) E[Y | Y ≥ q_τ],   τ = Λ / (1 + Λ),

  the Dorn–Guo quantile/CVaR form with e_t = 0 (derived in the method notes,
  §0.5; computed with the shared tail-mean numerics of
  :func:`knowable.bounds.msm.sharp_bound_from_samples`). On the same draws it
  is never wider than the Overcast bound (the ratio sweep maximises over all
  thresholds, the sharp value is one interpolated threshold of the same
  objective).

The APO / dose-response bound is the average of CAPO bounds over units. It is
computed per ensemble member and then averaged; the members' spread is
reported, and the Overcast band (the α/2 quantile of member lower bounds and
the 1 − α/2 quantile of member upper bounds) is available.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import (
    check_array,
    check_in_options,
    check_is_fitted,
    check_lambda,
    check_positive_int,
    check_real,
)
from ._sweep import (
    bound_over_lambda,
    cvar_excess,
    sweep_lower,
    sweep_upper,
)
from ._weights import tail_mass

__all__ = [
    "ContinuousMSMBounds",
    "DoseResponseBounds",
    "capo_bound_from_samples",
    "cmsm_alpha_prime",
]

METHODS = ("overcast", "sharp")


def cmsm_alpha_prime(lam: Any) -> np.ndarray | float:
    """α' = 1 / (Λ² − 1) of the continuous MSM (+∞ at Λ = 1).

    Parameters
    ----------
    lam : float or array-like
        Sensitivity parameter(s) Λ ≥ 1.

    Returns
    -------
    float or numpy.ndarray
    """
    out = _cmsm_alpha_prime(check_lambda(lam, "lam"))
    return float(out) if out.ndim == 0 else out


def _cmsm_alpha_prime(lam: np.ndarray) -> np.ndarray:
    """1 / ((Λ − 1)(Λ + 1)): no cancellation near Λ = 1, tends to 0 (not NaN) for huge Λ."""
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(lam == 1.0, np.inf, 1.0 / ((lam - 1.0) * (lam + 1.0)))


def _cmsm_offset(
    dev: np.ndarray, e_t: np.ndarray | None, lam_b: np.ndarray, side: str
) -> np.ndarray:
    del e_t  # the CMSM bound does not depend on the propensity density
    a_prime = _cmsm_alpha_prime(lam_b)
    return sweep_upper(dev, a_prime) if side == "upper" else sweep_lower(dev, a_prime)


def _cmsm_sharp_offset(
    dev: np.ndarray, e_t: np.ndarray | None, lam_b: np.ndarray, side: str
) -> np.ndarray:
    del e_t
    return (1.0 - 1.0 / lam_b) * cvar_excess(dev, tail_mass(lam_b), side)


_OFFSETS = {"overcast": _cmsm_offset, "sharp": _cmsm_sharp_offset}


def capo_bound_from_samples(
    y_draws: Any,
    lam: Any,
    side: str = "upper",
    mean: Any = None,
    *,
    method: str = "overcast",
) -> np.ndarray:
    """CMSM bound on E[Y(t) | x] from draws of p(y | x, t).

    ``method="overcast"`` (valid, conservative): the sorting estimator of
    :func:`knowable.bounds.msm.bound_from_samples` with α' = 1 / (Λ² − 1).
    ``method="sharp"``: μ̂ + (1 − Λ⁻¹)(CVaR_τ − μ̂) with τ = Λ / (1 + Λ), the
    empirical tail mean taken with a fractional draw at the cut. On the same
    draws and mean, sharp ⊆ overcast. At Λ = 1 both are the mean exactly.

    Parameters
    ----------
    y_draws : array-like of shape (..., m)
        Draws from p(y | x, t), m ≥ 2 per unit along the last axis.
    lam : float or array-like of shape (L,)
        Λ ≥ 1.
    side : {"upper", "lower"}
        Which end of the interval.
    mean : array-like broadcastable to ``y_draws.shape[:-1]``, optional
        Analytic mean of the density; default the draws' sample mean.
    method : {"overcast", "sharp"}
        Which estimator.

    Returns
    -------
    numpy.ndarray
        Shape ``y_draws.shape[:-1]`` for a scalar ``lam``, else ``(L,) + that``.
    """
    method = check_in_options(method, "method", METHODS)
    return bound_over_lambda(
        y_draws, None, lam, side, mean, 1, _OFFSETS[method], needs_propensity=False
    )


def checked_dose_response(model: Any, who: str) -> Any:
    """``model`` if it is a fitted dose-response density model, else a TypeError.

    Duck-typed, as bounds do not import effects.

    Parameters
    ----------
    model : object
        The outcome model given to a bounds class.
    who : str
        The bounds class, for the message.

    Returns
    -------
    object
        ``model``.
    """
    needed = ("outcome_draws", "_check_X", "_check_t_values")
    if model is None or not all(hasattr(type(model), a) for a in needed):
        raise TypeError(
            f"{who} needs a knowable.effects.DoseResponse (a conditional outcome density of y "
            f"given (x, t)); got {type(model).__name__}."
        )
    check_is_fitted(model)
    return model


def dose_outcome_draws(
    model: Any, x: np.ndarray, t: Any, n_samples: Any, rng: np.random.Generator, allow: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Outcome samples ``(S, n, m)`` and means ``(S, n)`` of a DoseResponse at ``(x, t)``.

    Parameters
    ----------
    model : DoseResponse
        Fitted outcome model.
    x : numpy.ndarray of shape (n, d)
        Covariates.
    t : float or array-like of shape (n,)
        Doses.
    n_samples : int
        Outcome samples per draw and unit (``m >= 2``).
    rng : numpy.random.Generator
        Source of the samples.
    allow : bool
        Allow doses outside the observed range.

    Returns
    -------
    samples, means : numpy.ndarray
    """
    return model.outcome_draws(
        x,
        t,
        check_positive_int(n_samples, "n_samples", minimum=2),
        rng,
        return_mean=True,
        allow_extrapolation=allow,
    )


@dataclass(frozen=True)
class DoseResponseBounds:
    """CMSM bounds on a dose-response curve.

    Parameters
    ----------
    t : numpy.ndarray of shape (g,)
        Treatment grid.
    lam : numpy.ndarray of shape (L,)
        Sensitivity parameters Λ.
    lower, upper : numpy.ndarray of shape (L, g)
        Bounds averaged over the draws (ensemble members / dropout masks).
    member_lower, member_upper : numpy.ndarray of shape (S, L, g)
        Bounds of every draw.
    point : numpy.ndarray of shape (g,)
        The point curve (mean over draws), equal to the bounds at Λ = 1.
    method : str
        ``"overcast"``: the average of CAPO ratio bounds (valid, conservative);
        ``"sharp"``: the average of sharp CAPO bounds (quantile/CVaR form).
    """

    t: np.ndarray
    lam: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    member_lower: np.ndarray
    member_upper: np.ndarray
    point: np.ndarray
    method: str = "overcast"

    @property
    def label(self) -> str:
        """``"valid (conservative)"`` for the Overcast estimator, ``"sharp"`` for the sharp one."""
        return {"overcast": "valid (conservative)", "sharp": "sharp"}.get(self.method, self.method)

    @property
    def lower_spread(self) -> np.ndarray:
        """Standard deviation of the lower bound across draws, shape (L, g)."""
        return _spread(self.member_lower)

    @property
    def upper_spread(self) -> np.ndarray:
        """Standard deviation of the upper bound across draws, shape (L, g)."""
        return _spread(self.member_upper)

    def band(self, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Overcast's band: α/2 quantile of member lower bounds, 1 − α/2 of member upper bounds.

        Parameters
        ----------
        alpha : float
            Miscoverage level in (0, 1).

        Returns
        -------
        lower, upper : numpy.ndarray of shape (L, g)
        """
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        return (
            np.quantile(self.member_lower, alpha / 2, axis=0),
            np.quantile(self.member_upper, 1 - alpha / 2, axis=0),
        )


def _chunk_offsets(
    y: np.ndarray, mu: np.ndarray, lams: np.ndarray, methods: tuple[str, ...]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Lower and upper CAPO bound offsets ``(L, S, c)`` from draws ``(S, c, m)`` and means ``(S, c)``.

    The values of ``_OFFSETS[method](sorted_deviations(y, mu), None, Λ, side)``
    (the same operations in the same order: sequential head and tail sums, the
    same denominators), with the draws laid out as ``(m, S·c)`` so that every step
    is a vector operation over units, one cumulative sum shared by every method,
    side and Λ, and Λ = 1 (offset 0) skipped.
    """
    s, c, m = y.shape
    rows = s * c
    dev = np.empty((m, rows))
    np.subtract(np.sort(y, axis=-1).reshape(rows, m).T, mu.reshape(1, rows), out=dev)
    head = np.empty_like(dev)  # head[k] = d_0 + ... + d_k (np.cumsum's order)
    tail = np.empty_like(dev)  # tail[k] = d_{m-1} + ... + d_k (cumsum of the reversed draws)
    head[0], tail[m - 1] = dev[0], dev[m - 1]
    for k in range(1, m):
        np.add(head[k - 1], dev[k], out=head[k])
        np.add(tail[m - k], dev[m - 1 - k], out=tail[m - 1 - k])
    out = {meth: (np.zeros((lams.size, rows)), np.zeros((lams.size, rows))) for meth in methods}
    k_lo = np.arange(1, m + 1, dtype=np.float64)[:, None]
    k_up = np.arange(m, dtype=np.float64)[:, None]
    buf = np.empty_like(dev)
    for i, lam in enumerate(lams):
        if lam == 1.0:  # both estimators collapse to the mean
            continue
        if "overcast" in out:
            a = float(_cmsm_alpha_prime(np.asarray(lam)))
            if np.isfinite(a):
                lo, up = out["overcast"]
                np.divide(head, m * a + k_lo, out=buf)
                lo[i] = np.minimum(buf.min(0), 0.0)
                np.divide(tail, m * a + (m - k_up), out=buf)
                up[i] = np.maximum(buf.max(0), 0.0)
        if "sharp" in out:
            mass = m * tail_mass(np.asarray(lam, dtype=np.float64))
            whole = int(np.floor(mass))
            frac = mass - whole
            cut = min(whole, m - 1)
            zero = np.zeros(rows)
            lo_total = head[whole - 1] if whole > 0 else zero
            up_total = tail[m - whole] if whole > 0 else zero
            scale = 1.0 - 1.0 / lam
            lo, up = out["sharp"]
            lo[i] = scale * ((lo_total + frac * dev[cut]) / mass)
            up[i] = scale * ((up_total + frac * dev[m - 1 - cut]) / mass)
    return {meth: (lo.reshape(-1, s, c), up.reshape(-1, s, c)) for meth, (lo, up) in out.items()}


def _spread(a: np.ndarray) -> np.ndarray:
    return a.std(0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1:])


class ContinuousMSMBounds:
    """CAPO and dose-response bounds under the CMSM from a fitted :class:`~knowable.effects.DoseResponse`.

    Parameters
    ----------
    model : knowable.effects.DoseResponse
        A fitted outcome-density model.
    method : {"overcast", "sharp"}
        ``"overcast"`` (default): the reference ratio estimator of Jesson et
        al. (2022), valid but conservative. ``"sharp"``: the quantile/CVaR
        bound under the same sensitivity model (never wider on the same draws).
    n_samples : int
        Draws of y per unit, draw and treatment value (Overcast uses 100).
    chunk_size : int
        Units evaluated at once; memory is O(chunk_size · S · n_samples)
        whatever the number of units, plus, for an ensemble, its members'
        extractor features of every unit, computed once and reused for every
        grid value (float32, n · S · hidden_size: 77 MB at 100,000 units, 3
        members of width 64). The y draws are taken per grid value, then per
        chunk, so another chunk_size gives other (equally valid) draws.
    random_state : None, int or numpy.random.Generator
        Seed of the y draws.

    Examples
    --------
    >>> from knowable.data import simulate_dose_response
    >>> from knowable.effects import DoseResponse
    >>> ds = simulate_dose_response(n=300, random_state=0)
    >>> model = DoseResponse(n_members=2, max_epochs=3, random_state=0).fit(ds.x, ds.t, ds.y)
    >>> b = ContinuousMSMBounds(model, random_state=0).dose_response([0.3, 0.6], [1.0, 2.0])
    >>> b.lower.shape
    (2, 2)
    """

    def __init__(
        self,
        model: Any,
        *,
        method: str = "overcast",
        n_samples: int = 100,
        chunk_size: int = 2048,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.model = model
        self.method = method
        self.n_samples = n_samples
        self.chunk_size = chunk_size
        self.random_state = random_state

    def _checked_model(self) -> Any:
        return checked_dose_response(self.model, type(self).__name__)

    def _draws(self, x: np.ndarray, t: Any, rng: np.random.Generator, allow: bool):
        return dose_outcome_draws(self.model, x, t, self.n_samples, rng, allow)

    def _grid_draws(
        self, model: Any, x: np.ndarray, grid: np.ndarray, rng: np.random.Generator, chunk: int
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """``(j, samples (S, c, m), means (S, c))`` for every grid value, then chunk of units.

        The model's vectorised ``_grid_outcome_draws`` when it has one (the same
        random numbers as calling :meth:`_draws` in that loop), else :meth:`_draws`.
        """
        m = check_positive_int(self.n_samples, "n_samples", minimum=2)
        fast = getattr(model, "_grid_outcome_draws", None)
        if fast is not None:
            for j, _, y, mu in fast(x, grid, m, rng, chunk):
                yield j, y, mu
            return
        for j, tv in enumerate(grid):
            for i in range(0, x.shape[0], chunk):
                y, mu = self._draws(x[i : i + chunk], float(tv), rng, True)  # range checked
                yield j, y, mu

    def capo(
        self, X: Any, t: Any, lam: Any, *, allow_extrapolation: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw CAPO bounds at the pairs ``(x_i, t_i)``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : float or array-like of shape (n,)
            One treatment per unit (a scalar is broadcast).
        lam : float or array-like of shape (L,)
            Λ ≥ 1.
        allow_extrapolation : bool
            Allow treatment values outside the observed range.

        Returns
        -------
        lower, upper : numpy.ndarray of shape (S, n) for a scalar ``lam``, else (S, L, n)
        """
        method = check_in_options(self.method, "method", METHODS)
        self._checked_model()
        lam_arr = check_lambda(lam, "lam")
        rng = check_random_state(self.random_state)
        y, mu = self._draws(X, t, rng, allow_extrapolation)
        lo = capo_bound_from_samples(y, lam_arr, "lower", mu, method=method)
        hi = capo_bound_from_samples(y, lam_arr, "upper", mu, method=method)
        if lam_arr.ndim == 1:  # (L, S, n) -> (S, L, n)
            lo, hi = np.moveaxis(lo, 0, 1), np.moveaxis(hi, 0, 1)
        return lo, hi

    def dose_response(
        self,
        t_grid: Any,
        lam: Any,
        X: Any = None,
        *,
        allow_extrapolation: bool = False,
    ) -> DoseResponseBounds:
        """Bounds on APO(t) = mean_i E[Y(t) | x_i] on a grid, for every Λ.

        Each draw's bound is the mean of its CAPO bounds over the units
        (chunked over units, bounded memory); the reported bound is the mean
        over draws. At Λ = 1 it equals the point curve exactly.

        Parameters
        ----------
        t_grid : array-like of shape (g,)
            Treatment values.
        lam : float or array-like of shape (L,)
            Λ ≥ 1.
        X : array-like of shape (n, d), optional
            Population; default the model's training covariates.
        allow_extrapolation : bool
            Allow grid values outside the observed treatment range (with a warning).

        Returns
        -------
        DoseResponseBounds
        """
        method = check_in_options(self.method, "method", METHODS)
        return self.dose_response_all(
            t_grid, lam, X, methods=(method,), allow_extrapolation=allow_extrapolation
        )[method]

    def dose_response_all(
        self,
        t_grid: Any,
        lam: Any,
        X: Any = None,
        *,
        methods: tuple[str, ...] = METHODS,
        allow_extrapolation: bool = False,
    ) -> dict[str, DoseResponseBounds]:
        """Dose-response bounds of several estimators from one set of draws.

        Parameters
        ----------
        t_grid, lam, X, allow_extrapolation
            As in :meth:`dose_response`.
        methods : tuple of {"overcast", "sharp"}
            Estimators to compute; they share the y draws (so, on the same
            seed, sharp ⊆ overcast for every draw, Λ and grid value).

        Returns
        -------
        dict of str to DoseResponseBounds
        """
        methods = tuple(check_in_options(m, "methods", METHODS) for m in methods)
        if not methods:
            raise ValueError("methods must name at least one of 'overcast', 'sharp'.")
        model = self._checked_model()
        lams = np.atleast_1d(check_lambda(lam, "lam"))
        grid = check_array(t_grid, "t_grid", ndim=1)
        chunk = check_positive_int(self.chunk_size, "chunk_size")
        model._check_t_values(grid, "t_grid", allow_extrapolation)
        if X is None and getattr(model, "X_fit_", None) is None:
            raise ValueError(
                "the model was saved without its training covariates "
                "(include_training_data=False); pass X explicitly."
            )
        x = model._check_X(model.X_fit_ if X is None else X)
        rng = check_random_state(self.random_state)
        n = x.shape[0]
        sums: dict[str, list[np.ndarray]] = {}
        sums_mu = None
        for j, y, mu in self._grid_draws(model, x, grid, rng, chunk):
            if sums_mu is None:
                s = mu.shape[0]
                sums_mu = np.zeros((s, grid.size))
                for m in methods:
                    sums[m] = [np.zeros((s, lams.size, grid.size)) for _ in range(2)]
            mu_sum = mu.sum(-1)
            sums_mu[:, j] += mu_sum
            offsets = _chunk_offsets(y, mu, lams, methods)  # one sort for every method, side, Λ
            for m in methods:
                for k in range(2):
                    sums[m][k][:, :, j] += offsets[m][k].sum(-1).T + mu_sum[:, None]
        member_mu = sums_mu / n
        point = member_mu.mean(0)
        at_one = lams == 1.0
        out = {}
        for m in methods:
            member_lo, member_hi = sums[m][0] / n, sums[m][1] / n
            lower, upper = member_lo.mean(0), member_hi.mean(0)
            lower[at_one], upper[at_one] = point, point
            out[m] = DoseResponseBounds(grid, lams, lower, upper, member_lo, member_hi, point, m)
        return out
