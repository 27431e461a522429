"""Greedy BatchBALD: the batch whose labels share the most information with the model.

``a(x_1..x_b) = I[y_1..y_b; w] = H[y_1..y_b] - sum_i E_w H[y_i | x_i, w]``
(Kirsch, van Amersfoort & Gal, NeurIPS 2019). The objective is monotone
submodular, so the greedy batch is within ``1 - 1/e`` of the best one.

Classification. With draws ``p[k, n, c]`` (``K`` draws consistent across
inputs) and ``A`` the inputs picked so far, ``P[m, k] = prod_{a in A} p[k, a, y_a^(m)]``
over configurations ``m`` of ``y_A``; the joint of ``y_A`` and a candidate
``y_n`` is ``p(m, c) = 1/K sum_k P[m, k] p[k, n, c]``.

* **Exact** while ``C^|A| <= n_configurations``: ``P`` holds every configuration
  and ``H = -sum_{m, c} p log p``.
* **Importance-sampled** after: ``M = (n_configurations // K) * K`` configurations
  are drawn afresh for each pick, ``n_configurations // K`` from each draw ``w_k``
  (so from ``q(y_A) = 1/K sum_k P(y_A | w_k)``), and
  ``H ≈ 1/M sum_m sum_c -p(m, c) log p(m, c) / q(m)``.

Regression (``GaussianNoise``): the same greedy on the closed form
``I = 1/2 log det(I + D^-1 Sigma_B)`` with ``Sigma`` the epistemic covariance of
the draws and ``D`` the noise variances, by a pivoted rank-one (Cholesky) update.

Everything runs in float64 with torch, chunked over the pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._random import check_random_state, torch_generator
from .._validation import check_positive_int
from ..models._observation import Categorical, GaussianNoise
from ..models._posterior import Posterior
from ._inputs import check_batch_size, check_posterior

__all__ = ["BatchResult", "batchbald", "joint_entropy_exact", "joint_entropy_sampled"]

_ELEMENT_BUDGET = 2**22  # float64 numbers per chunk temporary (32 MiB)
_TINY = torch.finfo(torch.float64).tiny


@dataclass(frozen=True)
class BatchResult:
    """A greedily built batch.

    Attributes
    ----------
    indices : numpy.ndarray of shape (b,)
        Pool indices in the order picked.
    scores : numpy.ndarray of shape (b,)
        BatchBALD value ``I[y_{1..i}; w]`` of the first ``i`` picks (nats).
    exact : numpy.ndarray of shape (b,) of bool
        Whether pick ``i`` used the exact joint entropy (else sampled).
    """

    indices: np.ndarray
    scores: np.ndarray
    exact: np.ndarray

    @property
    def gains(self) -> np.ndarray:
        """Marginal gains of the picks, shape ``(b,)`` (non-increasing up to sampling noise)."""
        return np.diff(self.scores, prepend=0.0)


def _conditional_entropy(probs: torch.Tensor) -> torch.Tensor:
    """``E_w H[y_n | w]`` for ``probs (n, K, C)``, shape ``(n,)``."""
    return -torch.special.xlogy(probs, probs).sum(-1).mean(-1)


def _joint_terms(
    P: torch.Tensor, probs: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    """``sum_{m,c} w_m (-p log p)`` of ``p(m, c) = 1/K sum_k P[m,k] probs[n,k,c]``, per n."""
    M, K = P.shape
    n, _, C = probs.shape
    step = max(1, _ELEMENT_BUDGET // max(1, M * C))
    out = torch.empty(n, dtype=torch.float64, device=probs.device)
    for start in range(0, n, step):
        chunk = probs[start : start + step]  # (nc, K, C)
        nc = chunk.shape[0]
        joint = (P @ chunk.permute(1, 0, 2).reshape(K, nc * C)).reshape(M, nc, C) / K
        log_joint = joint.clamp_min(_TINY).log_()
        h = -log_joint.mul_(joint).sum(-1)  # (M, nc): -sum_c p log p, with 0 log 0 = 0
        out[start : start + nc] = (h if weights is None else h * weights[:, None]).sum(0)
    return out


def joint_entropy_exact(probs_selected: Any, probs_candidates: Any) -> np.ndarray:
    """Exact ``H[y_A, y_n]`` for every candidate ``n``, enumerating ``C^|A|`` configurations.

    Parameters
    ----------
    probs_selected : array-like of shape (K, |A|, C)
        Probability draws of the selected inputs.
    probs_candidates : array-like of shape (K, n, C)
        Probability draws of the candidates.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    sel = torch.as_tensor(np.asarray(probs_selected, dtype=np.float64)).permute(1, 0, 2)
    cand = torch.as_tensor(np.asarray(probs_candidates, dtype=np.float64)).permute(1, 0, 2)
    P = _exact_configurations(sel)
    return _joint_terms(P, cand, None).numpy()


def _exact_configurations(sel: torch.Tensor) -> torch.Tensor:
    """``P[m, k]`` over all configurations of the selected ``sel (|A|, K, C)``."""
    K = sel.shape[1]
    P = torch.ones(1, K, dtype=torch.float64, device=sel.device)
    for a in range(sel.shape[0]):
        P = (P[:, None, :] * sel[a].T[None, :, :]).reshape(-1, K)
    return P


def _sampled_configurations(
    sel: torch.Tensor, n_configurations: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampled ``P[m, k]`` and importance weights ``1 / (M q(m))`` for ``sel (|A|, K, C)``."""
    n_sel, K, _ = sel.shape
    per_draw = max(1, n_configurations // K)
    log_P = torch.zeros(K * per_draw, K, dtype=torch.float64, device=sel.device)
    tiny = torch.finfo(torch.float64).tiny
    for a in range(n_sel):
        # configurations m = (k, j): y_a drawn from p(y_a | w_k), per_draw times per k
        labels = torch.multinomial(sel[a], per_draw, replacement=True, generator=gen)  # (K, j)
        picked = sel[a][:, labels.reshape(-1)]  # (K', K * per_draw)
        log_P += torch.log(picked.clamp_min(tiny)).T
    P = torch.exp(log_P)
    q = P.mean(1)
    weights = torch.where(q > 0, 1.0 / (q * P.shape[0]), torch.zeros_like(q))
    return P, weights


def joint_entropy_sampled(
    probs_selected: Any,
    probs_candidates: Any,
    n_configurations: int,
    random_state: Any = None,
) -> np.ndarray:
    """Importance-sampled ``H[y_A, y_n]`` for every candidate ``n``.

    Parameters
    ----------
    probs_selected : array-like of shape (K, |A|, C)
        Probability draws of the selected inputs.
    probs_candidates : array-like of shape (K, n, C)
        Probability draws of the candidates.
    n_configurations : int
        Sampled configurations ``M`` (rounded down to a multiple of ``K``, at least ``K``).
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    rng = check_random_state(random_state)
    gen = torch_generator(int(rng.integers(2**63 - 1)))
    sel = torch.as_tensor(np.asarray(probs_selected, dtype=np.float64)).permute(1, 0, 2)
    cand = torch.as_tensor(np.asarray(probs_candidates, dtype=np.float64)).permute(1, 0, 2)
    P, w = _sampled_configurations(
        sel, check_positive_int(n_configurations, "n_configurations"), gen
    )
    return _joint_terms(P, cand, w).numpy()


def _argmax_free(values: torch.Tensor, taken: torch.Tensor) -> int:
    v = values.cpu().numpy().copy()
    v[taken.cpu().numpy()] = -np.inf
    return int(np.argmax(v))


def _batchbald_categorical(
    post: Posterior, b: int, n_configurations: int, rng: np.random.Generator, device: str
) -> BatchResult:
    probs = torch.as_tensor(
        np.ascontiguousarray(post.draws.transpose(1, 0, 2)), dtype=torch.float64
    )
    probs = probs.to(device)  # (n, K, C)
    n, K, C = probs.shape
    cond = _conditional_entropy(probs)
    taken = torch.zeros(n, dtype=torch.bool)
    gen = torch_generator(int(rng.integers(2**63 - 1)), device=device)
    picks: list[int] = []
    scores, exact = np.empty(b), np.zeros(b, dtype=bool)
    P = torch.ones(1, K, dtype=torch.float64, device=device)
    cond_sum = 0.0
    for i in range(b):
        if i > 0:
            cond_sum += float(cond[picks[-1]])
        if C**i <= n_configurations:
            if i > 0:
                P = (P[:, None, :] * probs[picks[-1]].T[None, :, :]).reshape(-1, K)
            h = _joint_terms(P, probs, None)
            exact[i] = True
        else:
            P_s, w = _sampled_configurations(probs[picks].contiguous(), n_configurations, gen)
            h = _joint_terms(P_s, probs, w)
        value = h - cond - cond_sum
        pick = _argmax_free(value, taken)
        picks.append(pick)
        taken[pick] = True
        scores[i] = float(value[pick])
    return BatchResult(np.asarray(picks, dtype=np.int64), scores, exact)


def _batchbald_gaussian(post: Posterior, b: int) -> BatchResult:
    if post.n_outputs != 1:
        raise ValueError(
            f"Gaussian BatchBALD supports one output (k = 1), got k = {post.n_outputs}; "
            "slice the Posterior's draws to one output first."
        )
    f = post.draws[..., 0].astype(np.float64)  # (S, n)
    phi = (f - f.mean(0, keepdims=True)).T / np.sqrt(f.shape[0])  # (n, S): Sigma = phi phi^T
    noise = np.asarray(post.observation.variance(post.shape), dtype=np.float64).mean(0)[:, 0]  # type: ignore[union-attr]
    var = (phi**2).sum(1)  # conditional epistemic variance of every f_n given the picks
    us: list[np.ndarray] = []
    taken = np.zeros(len(var), dtype=bool)
    picks, scores, total = [], np.empty(b), 0.0
    for i in range(b):
        gain = 0.5 * np.log1p(np.maximum(var, 0.0) / noise)
        gain[taken] = -np.inf
        a = int(np.argmax(gain))
        total += float(gain[a])
        picks.append(a)
        scores[i] = total
        taken[a] = True
        col = phi @ phi[a]
        for u in us:
            col -= u * u[a]
        u = col / np.sqrt(col[a] + noise[a])
        us.append(u)
        var = var - u**2
    return BatchResult(np.asarray(picks, dtype=np.int64), scores, np.ones(b, dtype=bool))


def batchbald(
    posterior: Posterior,
    batch_size: int,
    *,
    n_configurations: int = 10_000,
    random_state: Any = None,
    device: str = "cpu",
) -> BatchResult:
    """Greedy BatchBALD batch: exact joint entropies while feasible, importance-sampled after.

    Parameters
    ----------
    posterior : Posterior
        Draws over the pool, consistent across inputs, with a ``Categorical``
        (probability draws) or ``GaussianNoise`` observation model.
    batch_size : int
        Batch size ``b`` (at most the pool size).
    n_configurations : int
        Classification: the exact joint over the ``|A|`` picks is used while
        ``C^|A| <= n_configurations``; after that, ``n_configurations``
        (rounded down to a multiple of ``S``, at least ``S``) configurations
        are sampled for each pick. Cost per pick ``O(n * M * S * C)``.
    random_state : None, int or numpy.random.Generator
        Seed of the sampled configurations.
    device : str
        Torch device for the classification computation.

    Returns
    -------
    BatchResult
        ``indices``, cumulative ``scores`` and which picks were ``exact``.
    """
    post = check_posterior(posterior, observation=(Categorical, GaussianNoise), purpose="BatchBALD")
    b = check_batch_size(batch_size, post.n_inputs)
    m = check_positive_int(n_configurations, "n_configurations")
    rng = check_random_state(random_state)
    if isinstance(post.observation, GaussianNoise):
        return _batchbald_gaussian(post, b)
    return _batchbald_categorical(post, b, m, rng, device)
