"""Exact Bayesian oracles: CGMs that are posterior predictives with p(f | D) in closed form.

All three satisfy the martingale property exactly, so the Doob (predictive resampling)
estimators of :mod:`knowable.generative` converge to closed-form targets on them. Queries are
drawn from a fixed p(x) that does not depend on f (uniform on a box, or uniform over input
categories), as in the papers' Bayesian reading. The conjugate updates are hand-written
(a few lines each; no well-kept library offers batched conjugate states).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._validation import check_positive_int, check_real
from ._cgm import (
    BayesianOracle,
    CategoricalMechanism,
    GaussianMechanism,
    sample_categorical,
    student_t_cdf,
)

__all__ = [
    "BayesianPolynomialRegression",
    "BetaBernoulli",
    "DirichletCategorical",
    "GaussianProcessRegression",
]


def _check_context(x: np.ndarray, y: np.ndarray, d: int) -> None:
    if x.ndim != 3 or y.ndim != 2 or x.shape[:2] != y.shape or x.shape[2] != d:
        raise ValueError(
            f"context x must have shape (B, n, {d}) and y shape (B, n); "
            f"got {x.shape} and {y.shape}."
        )


def _with_samples(params: tuple[np.ndarray, ...], n_samples: int | None) -> tuple[np.ndarray, ...]:
    """Give per-query parameters (B, q) a trailing axis when K samples per query are asked."""
    return params if n_samples is None else tuple(p[..., None] for p in params)


def _match(params: tuple[np.ndarray, ...], y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-query parameters (B, q) aligned with responses (B, q) or (B, q, K)."""
    return params if np.ndim(y) == 2 else tuple(p[..., None] for p in params)


def _uniform_box(rng: np.random.Generator, shape: tuple[int, ...], low: float, high: float):
    return low + (high - low) * rng.random(shape)


class _UniformBoxQueries:
    """Queries ``x ~ Uniform[x_low, x_high]^d`` with ``d = input_dim``, shared by the regressions."""

    input_dim: int
    x_low: float
    x_high: float

    @property
    def n_features(self) -> int:
        """Input dimension d."""
        return int(self.input_dim)

    def _check_box(self) -> None:
        if not check_real(self.x_low, "x_low") < check_real(self.x_high, "x_high"):
            raise ValueError(f"x_low must be < x_high, got {self.x_low} and {self.x_high}.")


# --------------------------------------------------------------------------------------
# Normal-Inverse-Gamma linear / polynomial regression
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NIGState:
    precision: np.ndarray  # (B, p, p)  Lambda_n = Lambda_0 + Phi^T Phi
    h: np.ndarray  # (B, p)  Phi^T y   (prior mean 0)
    yy: np.ndarray  # (B,)  y^T y
    count: np.ndarray  # (B,)  n


class BayesianPolynomialRegression(_UniformBoxQueries, BayesianOracle):
    """Conjugate Normal-Inverse-Gamma regression on polynomial (or linear) features.

    ``y = phi(x)^T beta + noise``, ``noise ~ N(0, sigma^2)``, ``beta | sigma^2 ~
    N(0, sigma^2 coef_scale^2 I)``, ``sigma^2 ~ InvGamma(noise_shape, noise_rate)``;
    ``x ~ Uniform[x_low, x_high]^d``. Features are ``[1, x, x^2, ..., x^degree]`` for
    ``input_dim = 1`` and ``[1, x_1, ..., x_d]`` (``degree = 1``) otherwise. The mechanism f
    is ``(beta, sigma)``; the predictive is Student-t with ``2 a_n`` degrees of freedom.

    Parameters
    ----------
    degree : int
        Polynomial degree (1 = linear regression).
    coef_scale : float
        Prior standard deviation of each coefficient, in units of the noise scale sigma.
    noise_shape, noise_rate : float
        Inverse-Gamma prior on sigma^2 (``noise_shape > 1`` gives a finite prior mean
        ``noise_rate / (noise_shape - 1)``).
    x_low, x_high : float
        Box of the query distribution p(x).
    input_dim : int
        Input dimension d (> 1 only with ``degree = 1``).
    """

    n_classes = None

    def __init__(
        self,
        degree: int = 3,
        *,
        coef_scale: float = 3.0,
        noise_shape: float = 5.0,
        noise_rate: float = 0.36,
        x_low: float = -1.0,
        x_high: float = 1.0,
        input_dim: int = 1,
    ) -> None:
        self.degree = degree
        self.coef_scale = coef_scale
        self.noise_shape = noise_shape
        self.noise_rate = noise_rate
        self.x_low = x_low
        self.x_high = x_high
        self.input_dim = input_dim

    def _check(self) -> None:
        check_positive_int(self.degree, "degree")
        check_positive_int(self.input_dim, "input_dim")
        if self.input_dim > 1 and self.degree != 1:
            raise ValueError("polynomial features need input_dim = 1; use degree=1 for d > 1.")
        check_real(self.coef_scale, "coef_scale", low=0.0, low_inclusive=False)
        check_real(self.noise_shape, "noise_shape", low=0.0, low_inclusive=False)
        check_real(self.noise_rate, "noise_rate", low=0.0, low_inclusive=False)
        self._check_box()

    def features(self, x: np.ndarray) -> np.ndarray:
        """Feature map ``phi(x)``: ``x`` of shape (..., d) -> (..., p)."""
        if self.input_dim == 1:
            return np.power(x, np.arange(self.degree + 1))
        return np.concatenate([np.ones((*x.shape[:-1], 1)), x], axis=-1)

    def condition(self, x: np.ndarray, y: np.ndarray) -> _NIGState:
        """Sufficient statistics of B contexts, ``x`` (B, n, d), ``y`` (B, n)."""
        self._check()
        _check_context(x, y, self.n_features)
        phi = self.features(x)
        p = phi.shape[-1]
        prec0 = np.eye(p) / self.coef_scale**2
        return _NIGState(
            precision=prec0 + np.einsum("bni,bnj->bij", phi, phi),
            h=np.einsum("bni,bn->bi", phi, y),
            yy=np.einsum("bn,bn->b", y, y),
            count=np.full(x.shape[0], float(x.shape[1])),
        )

    def extend(self, state: _NIGState, x: np.ndarray, y: np.ndarray) -> _NIGState:
        """Add ``x`` (B, k, d), ``y`` (B, k) to the sufficient statistics."""
        phi = self.features(x)
        return _NIGState(
            precision=state.precision + np.einsum("bni,bnj->bij", phi, phi),
            h=state.h + np.einsum("bni,bn->bi", phi, y),
            yy=state.yy + np.einsum("bn,bn->b", y, y),
            count=state.count + x.shape[1],
        )

    def posterior(self, state: _NIGState) -> dict[str, np.ndarray]:
        """Posterior parameters: ``mean`` (B, p), ``cov_unit`` (B, p, p), ``a``, ``b`` (B,).

        ``beta | sigma^2, D ~ N(mean, sigma^2 cov_unit)``, ``sigma^2 | D ~ InvGamma(a, b)``.
        """
        cov_unit = np.linalg.inv(state.precision)
        mean = np.einsum("bij,bj->bi", cov_unit, state.h)
        a = self.noise_shape + state.count / 2.0
        b = self.noise_rate + 0.5 * (state.yy - np.einsum("bi,bi->b", mean, state.h))
        return {"mean": mean, "cov_unit": cov_unit, "a": a, "b": np.maximum(b, 1e-300)}

    def _predictive(self, state: _NIGState, x: np.ndarray):
        post = self.posterior(state)
        phi = self.features(x)
        loc = np.einsum("bqi,bi->bq", phi, post["mean"])
        lev = np.einsum("bqi,bij,bqj->bq", phi, post["cov_unit"], phi)
        scale = np.sqrt((post["b"] / post["a"])[:, None] * (1.0 + lev))
        df = np.broadcast_to((2.0 * post["a"])[:, None], loc.shape)
        return df, loc, scale

    def sample_x(self, state: _NIGState, n: int, rng: np.random.Generator) -> np.ndarray:
        """Queries from p(x), shape (B, n, d)."""
        b = state.count.shape[0]
        return _uniform_box(rng, (b, n, self.n_features), self.x_low, self.x_high)

    def sample_y(
        self,
        state: _NIGState,
        x: np.ndarray,
        rng: np.random.Generator,
        n_samples: int | None = None,
    ) -> np.ndarray:
        """Student-t predictive draws, shape (B, q) or (B, q, K)."""
        df, loc, scale = _with_samples(self._predictive(state, x), n_samples)
        shape = loc.shape if n_samples is None else (*loc.shape[:-1], n_samples)
        return loc + scale * rng.standard_t(np.broadcast_to(df, shape))

    def log_prob_y(self, state: _NIGState, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Student-t predictive log density, shape of ``y``."""
        df, loc, scale = _match(self._predictive(state, x), y)
        return stats.t.logpdf(y, df, loc, scale)

    def predictive_cdf(self, state: _NIGState, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Predictive CDF at ``y`` (B, S, q) for inputs ``x`` (B, q, d)."""
        df, loc, scale = self._predictive(state, x)
        return student_t_cdf(y, df[:, None], loc[:, None], scale[:, None])

    def sample_mechanism(
        self, state: _NIGState, x: np.ndarray, n_draws: int, rng: np.random.Generator
    ) -> GaussianMechanism:
        """Draws of ``(beta, sigma) ~ p(f | D)`` evaluated at ``x`` (B, q, d): loc, scale (B, S, q)."""
        post = self.posterior(state)
        bsz, p = post["mean"].shape
        sigma2 = post["b"][:, None] / rng.gamma(post["a"][:, None], size=(bsz, n_draws))
        chol = np.linalg.cholesky(post["cov_unit"])
        z = rng.standard_normal((bsz, n_draws, p))
        beta = post["mean"][:, None] + np.sqrt(sigma2)[..., None] * np.einsum(
            "bij,bsj->bsi", chol, z
        )
        loc = np.einsum("bqi,bsi->bsq", self.features(x), beta)
        scale = np.broadcast_to(np.sqrt(sigma2)[..., None], loc.shape)
        return GaussianMechanism(loc=loc, scale=scale)


# --------------------------------------------------------------------------------------
# Gaussian-process regression with fixed hyper-parameters
# --------------------------------------------------------------------------------------


class _GPBuffer:
    """Growable storage shared by the states of one completion chain.

    The Cholesky factor of ``K + noise^2 I`` only gains rows when examples are appended, so a
    state of n examples reads the leading n rows; appending to the newest state writes in place
    (O(n^2) per example instead of copying the factor), any other append copies.
    """

    def __init__(self, batch: int, capacity: int, d: int) -> None:
        import torch

        # identity beyond the used rows, so triangular solves may run on the whole buffer
        self.chol = torch.eye(capacity, dtype=torch.float64).repeat(batch, 1, 1)
        self.x = np.zeros((batch, capacity, d))
        self.y = np.zeros((batch, capacity))
        self.w = torch.zeros(batch, capacity, dtype=torch.float64)  # L^-1 y
        self.used = 0

    @property
    def capacity(self) -> int:
        return self.x.shape[1]


@dataclass(frozen=True)
class _GPState:
    buf: _GPBuffer
    n: int

    @property
    def x(self) -> np.ndarray:
        return self.buf.x[:, : self.n]

    @property
    def y(self) -> np.ndarray:
        return self.buf.y[:, : self.n]


class GaussianProcessRegression(_UniformBoxQueries, BayesianOracle):
    """GP regression with an RBF kernel and known hyper-parameters.

    ``f ~ GP(0, signal_scale^2 exp(-|x - x'|^2 / (2 lengthscale^2)))``, ``y = f(x) + N(0,
    noise_scale^2)``, ``x ~ Uniform[x_low, x_high]^d``. The state keeps the Cholesky factor of
    the kernel matrix and appends examples by a block update (O(n^2) per example; batched
    triangular solves from torch).

    Parameters
    ----------
    lengthscale, signal_scale, noise_scale : float
        Kernel and noise hyper-parameters.
    x_low, x_high : float
        Box of the query distribution p(x).
    input_dim : int
        Input dimension d.
    """

    n_classes = None

    def __init__(
        self,
        lengthscale: float = 0.3,
        *,
        signal_scale: float = 1.0,
        noise_scale: float = 0.1,
        x_low: float = -1.0,
        x_high: float = 1.0,
        input_dim: int = 1,
    ) -> None:
        self.lengthscale = lengthscale
        self.signal_scale = signal_scale
        self.noise_scale = noise_scale
        self.x_low = x_low
        self.x_high = x_high
        self.input_dim = input_dim

    def _check(self) -> None:
        for name in ("lengthscale", "signal_scale", "noise_scale"):
            check_real(getattr(self, name), name, low=0.0, low_inclusive=False)
        check_positive_int(self.input_dim, "input_dim")
        self._check_box()

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """RBF kernel matrix between ``a`` (B, n, d) and ``b`` (B, m, d): (B, n, m)."""
        sq = np.sum((a[:, :, None, :] - b[:, None, :, :]) ** 2, axis=-1)
        return self.signal_scale**2 * np.exp(-0.5 * sq / self.lengthscale**2)

    def condition(self, x: np.ndarray, y: np.ndarray) -> _GPState:
        """Cholesky state of B contexts, ``x`` (B, n, d), ``y`` (B, n)."""
        self._check()
        _check_context(x, y, self.n_features)
        buf = _GPBuffer(x.shape[0], max(2 * x.shape[1], 32), self.n_features)
        return self.extend(_GPState(buf, 0), x, y)

    def extend(self, state: _GPState, x: np.ndarray, y: np.ndarray) -> _GPState:
        """Append ``x`` (B, k, d), ``y`` (B, k) by a block Cholesky update."""
        import torch

        n, k = state.n, x.shape[1]
        if k == 0:
            return state
        buf = state.buf
        if n != buf.used or n + k > buf.capacity:  # another state grew this buffer: copy
            buf = self._copy(state, max(3 * (n + k) // 2, 32))
        k12 = torch.from_numpy(self.kernel(buf.x[:, :n], x))  # (B, n, k)
        k22 = torch.from_numpy(self.kernel(x, x) + self.noise_scale**2 * np.eye(k))
        l21t = self._lsolve(buf, n, k12)  # (B, n, k)
        l22 = torch.linalg.cholesky(k22 - l21t.transpose(1, 2) @ l21t)
        y2 = torch.from_numpy(np.ascontiguousarray(y, dtype=float))
        rhs = y2 - (l21t.transpose(1, 2) @ buf.w[:, :n, None])[..., 0]
        w2 = torch.linalg.solve_triangular(l22, rhs[..., None], upper=False)[..., 0]
        buf.chol[:, n : n + k, :n] = l21t.transpose(1, 2)
        buf.chol[:, n : n + k, n : n + k] = l22
        buf.w[:, n : n + k] = w2
        buf.x[:, n : n + k], buf.y[:, n : n + k] = x, y
        buf.used = n + k
        return _GPState(buf, n + k)

    def _copy(self, state: _GPState, capacity: int) -> _GPBuffer:
        n, old = state.n, state.buf
        buf = _GPBuffer(old.x.shape[0], capacity, self.n_features)
        buf.chol[:, :n, :n] = old.chol[:, :n, :n]
        buf.x[:, :n], buf.y[:, :n] = old.x[:, :n], old.y[:, :n]
        buf.w[:, :n] = old.w[:, :n]
        buf.used = n
        return buf

    def reserve(self, state: _GPState, n_more: int) -> _GPState:
        """A copy of ``state`` with room for ``n_more`` appended examples (no regrowth)."""
        return _GPState(self._copy(state, state.n + max(n_more, 1)), state.n)

    def context_of(self, state: _GPState) -> tuple[np.ndarray, np.ndarray]:
        """The raw context ``(x, y)``."""
        return state.x.copy(), state.y.copy()

    @staticmethod
    def _lsolve(buf: _GPBuffer, n: int, rhs: Any):
        """``L_n^-1 rhs`` for ``rhs`` (B, n, q), solved on the contiguous buffer.

        Forward substitution reads only the rows above, so the leading n entries of the
        solution on the padded system are those of the n x n system.
        """
        import torch

        if n == 0:
            return rhs
        pad = torch.zeros(rhs.shape[0], buf.capacity, rhs.shape[2], dtype=torch.float64)
        pad[:, :n] = rhs
        return torch.linalg.solve_triangular(buf.chol, pad, upper=False)[:, :n]

    def _solve(self, state: _GPState, x: np.ndarray):
        """``V = L^-1 K(X, x)`` (B, n, q) as a torch tensor."""
        import torch

        return self._lsolve(state.buf, state.n, torch.from_numpy(self.kernel(state.x, x)))

    def _latent(self, state: _GPState, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = self._solve(state, x)
        mean = (v.transpose(1, 2) @ state.buf.w[:, : state.n, None])[..., 0].numpy()
        var = self.signal_scale**2 - (v * v).sum(dim=1).numpy()
        return mean, np.maximum(var, 0.0)

    def sample_x(self, state: _GPState, n: int, rng: np.random.Generator) -> np.ndarray:
        """Queries from p(x), shape (B, n, d)."""
        return _uniform_box(rng, (state.x.shape[0], n, self.n_features), self.x_low, self.x_high)

    def sample_y(
        self, state: _GPState, x: np.ndarray, rng: np.random.Generator, n_samples: int | None = None
    ) -> np.ndarray:
        """Gaussian predictive draws, shape (B, q) or (B, q, K)."""
        mean, var = self._latent(state, x)
        mean, sd = _with_samples((mean, np.sqrt(var + self.noise_scale**2)), n_samples)
        shape = mean.shape if n_samples is None else (*mean.shape[:-1], n_samples)
        return mean + sd * rng.standard_normal(shape)

    def log_prob_y(self, state: _GPState, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Gaussian predictive log density, shape of ``y``."""
        mean, var = self._latent(state, x)
        mean, sd = _match((mean, np.sqrt(var + self.noise_scale**2)), y)
        return stats.norm.logpdf(y, mean, sd)

    def predictive_cdf(self, state: _GPState, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Predictive CDF at ``y`` (B, S, q) for inputs ``x`` (B, q, d)."""
        mean, var = self._latent(state, x)
        return stats.norm.cdf(y, mean[:, None], np.sqrt(var + self.noise_scale**2)[:, None])

    def sample_mechanism(
        self, state: _GPState, x: np.ndarray, n_draws: int, rng: np.random.Generator
    ) -> GaussianMechanism:
        """Joint draws of ``f(x) ~ p(f | D)`` at ``x`` (B, q, d): loc, scale (B, S, q)."""
        v = self._solve(state, x)
        mean = (v.transpose(1, 2) @ state.buf.w[:, : state.n, None])[..., 0].numpy()
        cov = self.kernel(x, x) - (v.transpose(1, 2) @ v).numpy()
        cov = cov + 1e-9 * self.signal_scale**2 * np.eye(x.shape[1])
        chol = np.linalg.cholesky(cov)
        z = rng.standard_normal((x.shape[0], n_draws, x.shape[1]))
        loc = mean[:, None] + np.einsum("bqr,bsr->bsq", chol, z)
        return GaussianMechanism(loc=loc, scale=np.full(loc.shape, float(self.noise_scale)))


# --------------------------------------------------------------------------------------
# Dirichlet-categorical (a lookup-table classifier) and Beta-Bernoulli
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CountState:
    counts: np.ndarray  # (B, n_inputs, C)


class DirichletCategorical(BayesianOracle):
    """Labels ``y in {0..C-1}`` with an independent Dirichlet prior per input category.

    Inputs are categories ``x in {0, ..., n_inputs - 1}`` (shape (..., 1), coded as floats),
    drawn uniformly; ``f`` is a table of label probabilities, ``f[x] ~ Dirichlet(concentration)``.
    ``n_inputs = 1`` is the plain Dirichlet-categorical model.

    Parameters
    ----------
    n_classes : int
        Number of labels C (>= 2).
    n_inputs : int
        Number of input categories.
    concentration : float
        Symmetric Dirichlet concentration (> 0).
    """

    def __init__(self, n_classes: int = 3, *, n_inputs: int = 1, concentration: float = 1.0):
        self.n_classes = n_classes
        self.n_inputs = n_inputs
        self.concentration = concentration

    @property
    def n_features(self) -> int:
        """Input dimension (1: the input category)."""
        return 1

    def _alpha(self) -> np.ndarray:
        n_classes = check_positive_int(self.n_classes, "n_classes", minimum=2)
        check_positive_int(self.n_inputs, "n_inputs")
        c = check_real(self.concentration, "concentration", low=0.0, low_inclusive=False)
        return np.full(n_classes, c)

    def _n_labels(self) -> int:
        return int(self.n_classes or 0)

    def _codes(self, x: np.ndarray) -> np.ndarray:
        codes = np.rint(x[..., 0]).astype(np.int64)
        if codes.size and (
            np.any(np.abs(x[..., 0] - codes) > 1e-9)
            or codes.min() < 0
            or codes.max() >= self.n_inputs
        ):
            raise ValueError(
                f"inputs must be category codes 0..{self.n_inputs - 1}; got range "
                f"[{x.min()}, {x.max()}]."
            )
        return codes

    def _labels(self, y: np.ndarray) -> np.ndarray:
        labels = np.rint(y).astype(np.int64)
        if labels.size and (
            np.any(np.abs(y - labels) > 1e-9) or labels.min() < 0 or labels.max() >= self.n_classes
        ):
            raise ValueError(
                f"labels must be integers 0..{self._n_labels() - 1}; got range "
                f"[{y.min()}, {y.max()}]."
            )
        return labels

    def _add(self, counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        b = x.shape[0]
        flat = (np.arange(b)[:, None] * self.n_inputs + self._codes(x)) * self.n_classes
        flat = flat + self._labels(y)
        add = np.bincount(flat.ravel(), minlength=counts.size).reshape(counts.shape)
        return counts + add

    def condition(self, x: np.ndarray, y: np.ndarray) -> _CountState:
        """Label counts per input category, (B, n_inputs, C)."""
        self._alpha()
        _check_context(x, y, 1)
        zero = np.zeros((x.shape[0], self.n_inputs, self._n_labels()))
        return _CountState(counts=self._add(zero, x, y))

    def extend(self, state: _CountState, x: np.ndarray, y: np.ndarray) -> _CountState:
        """Add ``x`` (B, k, 1), ``y`` (B, k) to the counts."""
        return _CountState(counts=self._add(state.counts, x, y))

    def predictive_probs(self, state: _CountState, x: np.ndarray) -> np.ndarray:
        """``p(y = c | x, D)``, shape (B, q, C)."""
        post = state.counts + self._alpha()
        probs = post / post.sum(axis=-1, keepdims=True)
        idx = self._codes(x)
        return np.take_along_axis(probs, idx[..., None], axis=1)

    def sample_x(self, state: _CountState, n: int, rng: np.random.Generator) -> np.ndarray:
        """Input categories, uniform, shape (B, n, 1)."""
        b = state.counts.shape[0]
        return rng.integers(0, self.n_inputs, size=(b, n, 1)).astype(float)

    def sample_y(
        self,
        state: _CountState,
        x: np.ndarray,
        rng: np.random.Generator,
        n_samples: int | None = None,
    ) -> np.ndarray:
        """Labels from the predictive, shape (B, q) or (B, q, K)."""
        probs = self.predictive_probs(state, x)
        if n_samples is not None:
            probs = np.broadcast_to(
                probs[:, :, None], (*probs.shape[:2], n_samples, *probs.shape[2:])
            )
        return sample_categorical(probs, rng).astype(float)

    def log_prob_y(self, state: _CountState, y: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Predictive log probability of labels ``y`` (B, q) or (B, q, K)."""
        logp = np.log(self.predictive_probs(state, x))
        labels = self._labels(y)
        if labels.ndim == 3:
            return np.take_along_axis(logp, labels, axis=-1)
        return np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]

    def label_log_probs(self, state: _CountState, x: np.ndarray) -> np.ndarray:
        """``log p(y = c | x, D)`` for all labels, shape (B, q, C)."""
        return np.log(self.predictive_probs(state, x))

    def sample_mechanism(
        self, state: _CountState, x: np.ndarray, n_draws: int, rng: np.random.Generator
    ) -> CategoricalMechanism:
        """Posterior draws of the probability table, evaluated at ``x``: probs (B, S, q, C)."""
        post = state.counts + self._alpha()
        g = rng.gamma(np.broadcast_to(post[:, None], (post.shape[0], n_draws, *post.shape[1:])))
        table = g / g.sum(axis=-1, keepdims=True)  # (B, S, n_inputs, C)
        idx = np.broadcast_to(self._codes(x)[:, None, :], (*table.shape[:2], x.shape[1]))
        probs = np.take_along_axis(table, idx[..., None], axis=2)
        return CategoricalMechanism(probs=probs)


class BetaBernoulli(DirichletCategorical):
    """Binary labels with a Beta(a, b) prior per input category (Dirichlet-categorical, C = 2).

    Parameters
    ----------
    a, b : float
        Beta prior on ``p(y = 1 | x)`` (> 0).
    n_inputs : int
        Number of input categories.
    """

    def __init__(self, a: float = 1.0, b: float = 1.0, *, n_inputs: int = 1) -> None:
        self.a = a
        self.b = b
        self.n_inputs = n_inputs

    @property
    def n_classes(self) -> int:  # type: ignore[override]
        """Two labels."""
        return 2

    @n_classes.setter
    def n_classes(self, value: Any) -> None:  # pragma: no cover - fixed at 2
        if value != 2:
            raise ValueError("BetaBernoulli has two labels.")

    def _alpha(self) -> np.ndarray:
        check_positive_int(self.n_inputs, "n_inputs")
        a = check_real(self.a, "a", low=0.0, low_inclusive=False)
        b = check_real(self.b, "b", low=0.0, low_inclusive=False)
        return np.array([b, a])
