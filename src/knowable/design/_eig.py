"""Expected information gain of interventions, by nested Monte Carlo over particles.

For a posterior of weighted particles ``Phi_l`` (weights ``w_l``) and a batch
of designs ``xi = (xi_1, ..., xi_B)``, each an intervention mask and values,

``EIG(xi) = sum_o w_o E_{y ~ p(y | xi, Phi_o)} [ log p(y | xi, Phi_o)
            - log sum_k w_k p(y | xi, Phi_k) ]``

estimated with ``S`` outer samples ``y`` per outer particle (outer particles
drawn by weight when there are more than ``n_outer``) and the inner sum over
*all* particles, including the outer one (the PCE / BALD form of CBED). With a
finite particle posterior the inner sum is exact, so the only error is the
outer Monte Carlo average. ``y`` for a batch is a set of independent draws, one
per design, given the same particle, and
``log p(y | xi, Phi) = sum_b sum_{j not in targets(xi_b)} log N(y_bj | f_j(y_b), sigma_j)``:
the intervened node's mechanism is dropped.

Tensors are float64 torch so that the differentiable design can take
gradients through the sampled outcomes (straight-through for masks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._random import check_random_state
from ._posterior import ParticlePosterior

__all__ = ["ParticleTensors", "eig", "eig_from_loglik", "loglik_matrix", "simulate"]

_LOG2PI = math.log(2 * math.pi)


def _phi(x: torch.Tensor, basis: str) -> torch.Tensor:
    if basis == "linear":
        return x
    return torch.cat([x, torch.tanh(0.5 * x), torch.tanh(x), torch.tanh(2.0 * x)], dim=-1)


def _depth(graphs: np.ndarray) -> int:
    """Longest path length (edges) + 1 over a stack of DAGs."""
    a = graphs.astype(np.int64)
    level = np.zeros(a.shape[:2], dtype=np.int64)
    for _ in range(a.shape[1]):
        nxt = np.max(np.where(a == 1, level[:, :, None] + 1, 0), axis=1)
        if np.array_equal(nxt, level):
            break
        level = nxt
    return int(level.max()) + 1


@dataclass
class ParticleTensors:
    """Torch view of a :class:`ParticlePosterior`.

    Attributes
    ----------
    coef : torch.Tensor of shape (L, n_basis * d, d)
        Coefficients ordered basis-major (all nodes' ``phi_0``, then ``phi_1``...).
    bias, noise_std : torch.Tensor of shape (L, d)
    log_weights : torch.Tensor of shape (L,)
    depth : int
        Longest directed path + 1 (fixed-point iterations needed to sample).
    basis : str
    """

    coef: torch.Tensor
    bias: torch.Tensor
    noise_std: torch.Tensor
    log_weights: torch.Tensor
    depth: int
    basis: str

    @classmethod
    def from_posterior(cls, post: ParticlePosterior) -> ParticleTensors:
        """Convert a particle posterior (float64)."""
        L, d, nb, _ = post.coef.shape
        coef = np.transpose(post.coef, (0, 2, 1, 3)).reshape(L, nb * d, d)
        return cls(
            torch.as_tensor(coef, dtype=torch.float64),
            torch.as_tensor(post.bias, dtype=torch.float64),
            torch.as_tensor(post.noise_std, dtype=torch.float64),
            torch.as_tensor(post.log_weights, dtype=torch.float64),
            _depth(post.graphs),
            post.basis,
        )

    def subset(self, idx: np.ndarray) -> ParticleTensors:
        """Particles ``idx`` (log weights renormalised)."""
        i = torch.as_tensor(idx, dtype=torch.long)
        lw = self.log_weights[i]
        return ParticleTensors(
            self.coef[i],
            self.bias[i],
            self.noise_std[i],
            lw - torch.logsumexp(lw, 0),
            self.depth,
            self.basis,
        )


def simulate(
    pt: ParticleTensors, mask: torch.Tensor, values: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """Samples of every particle under every design (differentiable in mask and values).

    Parameters
    ----------
    pt : ParticleTensors
        ``L`` particles.
    mask : torch.Tensor of shape (B, d)
        Intervention masks (0/1, or straight-through relaxed).
    values : torch.Tensor of shape (B, d)
        Intervention values.
    eps : torch.Tensor of shape (B, L, S, d)
        Standard normal noise.

    Returns
    -------
    torch.Tensor of shape (B, L, S, d)
    """
    m = mask[:, None, None, :]
    v = values[:, None, None, :]
    noise = pt.noise_std[None, :, None, :] * eps
    x = m * v + (1 - m) * (pt.bias[None, :, None, :] + noise)
    for _ in range(pt.depth - 1):
        mean = torch.einsum("blsf,lfj->blsj", _phi(x, pt.basis), pt.coef)
        x = m * v + (1 - m) * (mean + pt.bias[None, :, None, :] + noise)
    return x


def loglik_matrix(pt: ParticleTensors, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-likelihood of every outer sample under every (inner) particle.

    Parameters
    ----------
    pt : ParticleTensors
        ``K`` inner particles.
    x : torch.Tensor of shape (B, O, S, d)
        Samples (design b, outer particle o, sample s).
    mask : torch.Tensor of shape (B, d)
        Intervention masks; intervened nodes contribute nothing.

    Returns
    -------
    torch.Tensor of shape (B, K, O, S)
    """
    mean = torch.einsum("bosf,kfj->bkosj", _phi(x, pt.basis), pt.coef)
    mean = mean + pt.bias[None, :, None, None, :]
    sd = pt.noise_std[None, :, None, None, :]
    z = (x[:, None] - mean) / sd
    lp = -0.5 * z**2 - torch.log(sd) - 0.5 * _LOG2PI
    keep = (1 - mask)[:, None, None, None, :]
    return (lp * keep).sum(-1)


def eig_from_loglik(
    lp: torch.Tensor,
    outer_idx: torch.Tensor,
    inner_log_weights: torch.Tensor,
    outer_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """EIG from a (joint) log-likelihood tensor.

    Parameters
    ----------
    lp : torch.Tensor of shape (..., K, O, S)
        ``log p(y_os | Phi_k)`` summed over the designs of a batch.
    outer_idx : torch.Tensor of shape (O,), long
        Inner index of each outer particle.
    inner_log_weights : torch.Tensor of shape (K,)
        Normalised log weights of the inner particles.
    outer_weights : torch.Tensor of shape (O,), optional
        Weights of the outer particles (default uniform).

    Returns
    -------
    torch.Tensor of shape (...)
        Weighted mean over outer particles of the mean over samples.
    """
    o = torch.arange(lp.shape[-2])
    own = lp[..., outer_idx, o, :]  # (..., O, S)
    marg = torch.logsumexp(lp + inner_log_weights[:, None, None], dim=-3)
    per_outer = (own - marg).mean(dim=-1)
    if outer_weights is None:
        return per_outer.mean(dim=-1)
    return (per_outer * outer_weights).sum(dim=-1)


def outer_particles(
    post: ParticlePosterior, n_outer: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Outer particles and their weights.

    With ``n_outer`` None or at least the number of particles: every particle
    with its posterior weight (exact outer expectation over particles).
    Otherwise a systematic resample of size ``n_outer`` by weight, duplicates
    merged into counts (an unbiased estimate of the weighted average).

    Returns
    -------
    idx : numpy.ndarray of shape (O,), int64
    weights : numpy.ndarray of shape (O,)
        Sum to 1.
    """
    w = post.weights()
    if n_outer is None or int(n_outer) >= len(w):
        return np.arange(len(w)), w
    n = int(n_outer)
    u = (rng.random() + np.arange(n)) / n
    draws = np.minimum(np.searchsorted(np.cumsum(w), u), len(w) - 1)
    idx, counts = np.unique(draws, return_counts=True)
    return idx.astype(np.int64), counts / n


def eig(
    posterior: ParticlePosterior,
    mask: Any,
    values: Any,
    n_samples: int = 16,
    n_outer: int | None = 64,
    joint: bool = True,
    random_state: Any = None,
) -> np.ndarray | float:
    """Expected information gain of a design, or of each of several designs.

    Parameters
    ----------
    posterior : ParticlePosterior
        Posterior over SCMs.
    mask : array-like of shape (B, d)
        Intervention masks.
    values : array-like of shape (B, d)
        Intervention values.
    n_samples : int
        Outer samples ``y`` per outer particle.
    n_outer : int or None
        Outer particles (systematic resample by weight, duplicates merged);
        ``None``: every particle with its weight.
    joint : bool
        True: the EIG of the whole batch (one float); False: the EIG of each
        design on its own (array of shape ``(B,)``).
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).

    Returns
    -------
    float or numpy.ndarray of shape (B,)
        In nats.
    """
    rng = check_random_state(random_state)
    pt = ParticleTensors.from_posterior(posterior)
    oidx, ow = outer_particles(posterior, n_outer, rng)
    outer = pt.subset(oidx)
    owt = torch.as_tensor(ow)
    m = torch.as_tensor(np.asarray(mask, dtype=float))
    v = torch.as_tensor(np.asarray(values, dtype=float))
    eps = torch.as_tensor(rng.standard_normal((m.shape[0], len(oidx), n_samples, m.shape[1])))
    with torch.no_grad():
        x = simulate(outer, m, v, eps)
        lp = loglik_matrix(pt, x, m)  # (B, K, O, S)
        oi = torch.as_tensor(oidx, dtype=torch.long)
        if joint:
            return float(eig_from_loglik(lp.sum(0), oi, pt.log_weights, owt))
        return eig_from_loglik(lp, oi, pt.log_weights, owt).numpy()
