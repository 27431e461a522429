"""Observation models: the aleatoric part of a Posterior.

A Posterior holds epistemic draws of function values; its observation model says
how an observed ``y`` scatters around one draw. Three are supported:

* :class:`GaussianNoise` -- ``y ~ N(f, scale**2)`` per draw (homo- or heteroscedastic);
* :class:`Categorical` -- the draws are class probabilities, ``y ~ Cat(f)``;
* :class:`GaussianMixture` -- a mixture density per draw, input and output (the
  draws are the analytic mixture means).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

__all__ = ["Categorical", "GaussianMixture", "GaussianNoise", "ObservationModel"]

_LOG_2PI_E = float(np.log(2 * np.pi * np.e))


@dataclass(frozen=True)
class GaussianNoise:
    """Gaussian observation noise ``y = f + scale * eps``.

    Parameters
    ----------
    scale : numpy.ndarray
        Noise standard deviation, broadcastable to the draws' shape ``(S, n, k)``
        (a scalar for homoscedastic noise shared by all draws).
    """

    scale: np.ndarray

    def __post_init__(self) -> None:
        scale = np.asarray(self.scale, dtype=float)
        if not np.isfinite(scale).all() or (scale <= 0).any():
            raise ValueError("GaussianNoise.scale must be finite and strictly positive.")
        object.__setattr__(self, "scale", scale)

    def variance(self, shape: tuple[int, ...]) -> np.ndarray:
        """Aleatoric variance per draw, broadcast to ``shape`` ``(S, n, k)``."""
        return np.broadcast_to(self.scale**2, shape)

    def entropy(self, shape: tuple[int, ...]) -> np.ndarray:
        """Differential entropy (nats) of ``N(f, scale**2)`` per draw, shape ``(S, n, k)``."""
        return np.broadcast_to(0.5 * _LOG_2PI_E + np.log(self.scale), shape)

    def log_prob(self, draws: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Log density of ``y`` (shape ``(n, k)``) under each draw, shape ``(S, n, k)``."""
        return stats.norm.logpdf(y[None], loc=draws, scale=self.scale)

    def sample(self, draws: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Observations, shape ``(S, n_samples, n, k)``."""
        scale = np.broadcast_to(self.scale, draws.shape)
        eps = rng.standard_normal((draws.shape[0], n_samples, *draws.shape[1:]))
        return draws[:, None] + scale[:, None] * eps

    def take(self, index: np.ndarray | slice, shape: tuple[int, ...]) -> GaussianNoise:
        """Restrict to a subset of inputs (axis 1 of the draws)."""
        scale = self.scale
        if scale.ndim >= 2 and scale.shape[1] == shape[1] and shape[1] != 1:
            scale = scale[:, index]
        return GaussianNoise(scale)


@dataclass(frozen=True)
class Categorical:
    """Categorical observations: each draw is a vector of class probabilities."""

    def entropy_of(self, probs: np.ndarray) -> np.ndarray:
        """Entropy (nats) along the last axis of ``probs``."""
        return -special.xlogy(probs, probs).sum(axis=-1)

    def log_prob(self, draws: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Log probability of integer labels ``y`` (shape ``(n,)``) per draw, shape ``(S, n)``."""
        picked = np.take_along_axis(draws, y.astype(int)[None, :, None], axis=2)[..., 0]
        with np.errstate(divide="ignore"):
            return np.log(picked)

    def sample(self, draws: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Class labels, shape ``(S, n_samples, n)``."""
        cum = np.cumsum(draws, axis=-1)
        u = rng.random((draws.shape[0], n_samples, draws.shape[1], 1))
        labels = (u > cum[:, None]).sum(axis=-1)
        return np.minimum(labels, draws.shape[-1] - 1)

    def take(self, index: np.ndarray | slice, shape: tuple[int, ...]) -> Categorical:
        """Restrict to a subset of inputs (nothing to slice)."""
        return self


@dataclass(frozen=True)
class GaussianMixture:
    """A Gaussian mixture density per draw, input and output.

    Parameters
    ----------
    logits : numpy.ndarray of shape (S, n, k, C)
        Unnormalised log mixture weights of the C components.
    loc : numpy.ndarray of shape (S, n, k, C)
        Component means.
    scale : numpy.ndarray of shape (S, n, k, C)
        Component standard deviations (> 0).
    """

    logits: np.ndarray
    loc: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        shapes = {np.shape(self.logits), np.shape(self.loc), np.shape(self.scale)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 4:
            raise ValueError(
                "GaussianMixture logits, loc and scale must share one shape (S, n, k, C)."
            )
        if (np.asarray(self.scale) <= 0).any():
            raise ValueError("GaussianMixture.scale must be strictly positive.")

    @property
    def weights(self) -> np.ndarray:
        """Normalised mixture weights, shape ``(S, n, k, C)``."""
        return special.softmax(self.logits, axis=-1)

    def mean(self) -> np.ndarray:
        """Analytic mixture mean, shape ``(S, n, k)``."""
        return (self.weights * self.loc).sum(-1)

    def variance(self, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Analytic mixture variance, shape ``(S, n, k)``."""
        w = self.weights
        m = (w * self.loc).sum(-1)
        return (w * (self.scale**2 + self.loc**2)).sum(-1) - m**2

    def log_prob(self, draws: np.ndarray | None, y: np.ndarray) -> np.ndarray:
        """Log density of ``y`` (shape ``(n, k)``) per draw, shape ``(S, n, k)``."""
        log_w = special.log_softmax(self.logits, axis=-1)
        comp = stats.norm.logpdf(y[None, :, :, None], loc=self.loc, scale=self.scale)
        return special.logsumexp(log_w + comp, axis=-1)

    def cdf(self, y: np.ndarray) -> np.ndarray:
        """CDF at ``y`` (broadcastable to ``(S, n, k)``), shape ``(S, n, k)``."""
        return (
            self.weights * special.ndtr((np.asarray(y)[..., None] - self.loc) / self.scale)
        ).sum(-1)

    def quantile(self, q: float, *, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
        """The ``q``-quantile per draw, input and output, by vectorised bisection.

        Parameters
        ----------
        q : float
            Level in (0, 1).
        tol : float
            Absolute tolerance on the quantile.
        max_iter : int
            Bisection steps at most.

        Returns
        -------
        numpy.ndarray of shape (S, n, k)
        """
        if not 0 < q < 1:
            raise ValueError(f"q must lie in (0, 1), got {q}.")
        # The mixture's q-quantile lies between the smallest and the largest
        # component q-quantile: there every component CDF is <= q, resp. >= q.
        component_q = self.loc + special.ndtri(q) * self.scale
        lo, hi = component_q.min(-1), component_q.max(-1)
        for _ in range(max_iter):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < q
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
            if np.max(hi - lo) < tol:
                break
        return 0.5 * (lo + hi)

    def sample(
        self, draws: np.ndarray | None, n_samples: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Observations, shape ``(S, n_samples, n, k)``."""
        w = self.weights
        s, n, k, c = w.shape
        cum = np.cumsum(w, axis=-1)
        u = rng.random((s, n_samples, n, k, 1))
        comp = np.minimum((u > cum[:, None]).sum(-1), c - 1)  # (S, m, n, k)
        loc = np.take_along_axis(
            np.broadcast_to(self.loc[:, None], (s, n_samples, n, k, c)), comp[..., None], -1
        )[..., 0]
        scale = np.take_along_axis(
            np.broadcast_to(self.scale[:, None], (s, n_samples, n, k, c)), comp[..., None], -1
        )[..., 0]
        return loc + scale * rng.standard_normal(loc.shape)

    def take(self, index: np.ndarray | slice, shape: tuple[int, ...]) -> GaussianMixture:
        """Restrict to a subset of inputs."""
        return GaussianMixture(self.logits[:, index], self.loc[:, index], self.scale[:, index])


ObservationModel = GaussianNoise | Categorical | GaussianMixture
